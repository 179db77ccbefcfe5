//! Taylor-integrator checks of the general (non-aligned) wide and deep linear flows
//! ([`crate::taylor::linear::LinearJet`]; P1 §4, App. B; `docs/theory.md` §2.1, §2.6). Ids (stable;
//! see `verification/README.md`):
//!
//! - `WL-TAYLOR` / `DL-TAYLOR`: Taylor in f64 (tol 1e-14) on the parameters θ(t), wide
//!   (isotropic Δ = δI_h, every δ regime, η_a ≠ η_w) and deep (small nonzero δ_l of both signs,
//!   unequal rates). On nets with P ≤ 30 the reference is the validated enclosure V of the
//!   parameter flow of the decimal inputs (rigorous) and the bound |θ − V| rounded up is proven;
//!   the Taylor run's own per-step error estimate (plus one rounding per step) is the promise it
//!   must meet. Larger nets: vs diffsol Tsit45 (rtol 1e-12, atol 1e-14), the bound the sum of both
//!   accumulated local error estimates (diffsol: N·√p·(atol + rtol·max|θ|); Taylor: its own
//!   per-step estimate), no amplification assumed.
//! - `WL-TAYLOR-MP` / `DL-TAYLOR-MP` (quantity `conserved`): MPFR Taylor at [`MP_PREC`] bits,
//!   tol [`MP_TOL`]: drift of every conserved matrix (an independent conservation law), measured
//!   in balls against the matrices of the decimal inputs (rigorous reference, certified drift),
//!   within the Taylor error estimate propagated through the quadratic form, ≈ 1e-70 (an
//!   estimate).
//! - `WL-TAYLOR-MP` (quantity `beta`): MPFR Taylor vs the MPFR per-mode closed form
//!   ([`crate::exact::mirror_modes`]) on a whitened, task-aligned case whose decimal inputs are
//!   *exactly* whitened and aligned ([`exact_aligned_case`]), within the closed form's
//!   two-precision bound plus the Taylor estimate propagated through β = WᵀA.

use super::deep_linear as dl;
use super::wide_linear::{self as wl, LinearEnclosure, base_row, failed_row, regime};
use super::{Certified, Fallback, Mode, Row};
use crate::case::{Case, TwoLayerLinearCase};
use crate::flow::{FlowOptions, Method, integrate};
use crate::metrics::enclosed::linear_conserved;
use crate::metrics::max_abs;
use crate::models::ParameterFlow;
use crate::models::deep_linear::DeepLinear;
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::taylor::linear::LinearJet;
use crate::taylor::{TaylorOptions, integrate as taylor};
use rug::Float;

/// Taylor tolerance of the f64 comparisons.
pub const F64_TOL: f64 = 1e-14;
/// diffsol tolerances of the f64 comparisons.
pub const FLOW_RTOL: f64 = 1e-12;
/// Absolute diffsol tolerance.
pub const FLOW_ATOL: f64 = 1e-14;
/// Precision of the MPFR checks.
pub const MP_PREC: u32 = 256;
/// Taylor tolerance at [`MP_PREC`] bits (2^-256 ≈ 1e-77 leaves 7 digits for rounding).
pub const MP_TOL: f64 = 1e-70;

fn times(t_end: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|k| t_end * k as f64 / n as f64).collect()
}

/// Taylor f64 on θ(t) against the validated enclosure V of the parameter flow of the case's
/// decimal inputs at the same times (P ≤ [`wl::MAX_ENCLOSED_PARAMS`]): rigorous reference,
/// proven bound max |θ − V| rounded up, the Taylor run's own error estimate (plus one rounding
/// per step) as the promise it must meet. Without an enclosure: vs diffsol Tsit45, estimates.
#[allow(clippy::too_many_arguments)]
fn f64_row(
    check: &str,
    fam: &str,
    name: &str,
    reg: String,
    m: &DeepLinear,
    th0: &[f64],
    ts: &[f64],
    enclosure: &Result<LinearEnclosure, Fallback>,
) -> Row {
    let mut field = LinearJet::from_model(m);
    let tay = match taylor(&mut field, th0, ts, &TaylorOptions::new(F64_TOL)) {
        Ok(t) => t,
        Err(e) => return failed_row(fam, name, reg, check, "taylor_f64", Some(F64_TOL), e.to_string()),
    };
    let e_tay = tay.stats.err_estimate;
    let p = th0.len() as f64;
    if let Ok(enc) = enclosure {
        let mut r = base_row(fam, name, reg, check, "taylor_f64", Some(F64_TOL), "theta");
        if enc.states.len() != tay.states.len() {
            r.note = format!("enclosure has {} times, the run {}", enc.states.len(), tay.states.len());
            return r;
        }
        let mut acc = Certified::default();
        for (th, vb) in tay.states.iter().zip(&enc.states) {
            for (x, b) in th.iter().zip(vb) {
                acc.add_value(*x, b);
            }
        }
        let th_max = tay.states.iter().map(|s| max_abs(s)).fold(0.0, f64::max);
        // The Taylor estimate covers truncation; the f64 state update adds about one rounding
        // per component and step (RMS over the p components).
        let promise = e_tay + tay.stats.steps as f64 * p.sqrt() * f64::EPSILON * th_max;
        r.abs_err = acc.err;
        r.rel_err = acc.err / th_max.max(f64::MIN_POSITIVE);
        r.ref_bound = acc.rb;
        r.ref_method = format!(
            "validated enclosure V of the parameter flow of the decimal inputs ({}-bit Taylor in ball arithmetic, tol \
             {:e}, Lohner's QR method): a proof",
            wl::ENCLOSURE_PREC,
            wl::ENCLOSURE_TOL
        );
        r.ref_rigorous = acc.margin.is_finite();
        r.bound = acc.bound;
        r.bound_rigorous = acc.margin.is_finite();
        r.bound_why = format!(
            "proven: max |θ − V| rounded up; also required ≤ the promise = Taylor's summed per-step error estimate + \
             N_steps·√p·ε·max|θ| (f64 rounding of the updates) = {promise:.3e} (an estimate)"
        );
        r.margin = acc.margin;
        r.pass = acc.margin.is_finite() && acc.margin <= 1.0 && acc.bound <= promise;
        r.note = format!(
            "dims={:?} taylor steps={} order={} est={e_tay:.2e}; certified error / promise = {:.3e}",
            m.dims(),
            tay.stats.steps,
            tay.stats.order,
            acc.bound / promise
        );
        return r;
    }
    let opts = FlowOptions::new(Method::Tsit45).with_tol(FLOW_RTOL, FLOW_ATOL);
    let flow = match integrate(&ParameterFlow(m), th0, ts, &opts) {
        Ok(t) => t,
        Err(e) => return failed_row(fam, name, reg, check, "taylor_f64", Some(F64_TOL), e.to_string()),
    };
    let th_max = flow.states.iter().map(|s| max_abs(s)).fold(0.0, f64::max);
    let e_flow = flow.stats.steps.max(1) as f64 * p.sqrt() * (FLOW_ATOL + FLOW_RTOL * th_max);
    let mut err: f64 = 0.0;
    for (a, b) in flow.states.iter().zip(&tay.states) {
        for (x, y) in a.iter().zip(b) {
            err = err.max((x - y).abs());
        }
    }
    let why = enclosure
        .as_ref()
        .err()
        .map_or_else(|| "-".to_string(), Fallback::to_string);
    let mut r = base_row(fam, name, reg, check, "taylor_f64", Some(F64_TOL), "theta");
    r.abs_err = err;
    r.rel_err = err / th_max.max(f64::MIN_POSITIVE);
    r.ref_method = format!("diffsol tsit45 rtol {FLOW_RTOL:e} atol {FLOW_ATOL:e} (an estimate)");
    r.ref_bound = e_flow;
    r.bound = e_tay;
    r.bound_why = format!(
        "an estimate ({why}): Taylor per-step error estimate summed, plus diffsol's accumulated local error \
         N·√p·(atol + rtol·max|θ|) as ref_bound; no amplification assumed"
    );
    r.margin = err / (e_tay + e_flow);
    r.pass = r.margin.is_finite() && r.margin <= 1.0;
    // No wall-clock time in the note: the tables must be identical run to run.
    r.note = format!(
        "dims={:?} taylor steps={} order={} est={e_tay:.2e}; tsit45 steps={}; bound is an estimate: {why}",
        m.dims(),
        tay.stats.steps,
        tay.stats.order,
        flow.stats.steps,
    );
    r
}

/// max |x| of a state at f64.
fn max_abs_mp(v: &[Float]) -> f64 {
    v.iter().map(|x| x.to_f64().abs()).fold(0.0, f64::max)
}

/// States of an MPFR Taylor run and its error estimate.
type MpRun = (Vec<Vec<Float>>, f64);

/// MPFR Taylor at [`MP_PREC`] bits: conserved-matrix drift row, and the states (for callers
/// comparing with a closed form).
fn mp_conservation(
    check: &str,
    fam: &str,
    name: &str,
    reg: String,
    field: &mut LinearJet<Float>,
    th0: &[Float],
    case: &Case,
) -> (Row, Option<MpRun>) {
    let ts: &[Num] = match case {
        Case::TwoLayerLinear(c) => &c.times,
        Case::DeepLinear(c) => &c.times,
        _ => &[],
    };
    let method = format!("taylor_mp{MP_PREC}");
    let times: Vec<Float> = ts.iter().map(|t| t.to_mp(MP_PREC)).collect();
    let tr = match taylor(field, th0, &times, &TaylorOptions::new(MP_TOL)) {
        Ok(t) => t,
        Err(e) => {
            return (
                failed_row(fam, name, reg, check, &method, Some(MP_TOL), e.to_string()),
                None,
            );
        }
    };
    let e = tr.stats.err_estimate;
    let th_max = tr.states.iter().map(|s| max_abs_mp(s)).fold(0.0, f64::max);
    let m = field.dims().iter().copied().max().unwrap_or(1) as f64;
    let eta_max = field.etas_f64().into_iter().fold(0.0, f64::max);
    let unit = 2f64.powi(1 - MP_PREC as i32);
    let bound = 2.0 * eta_max * m * th_max * e + eta_max * m * e * e + 4.0 * m * eta_max * th_max * th_max * unit;
    // The drift measured in balls (the MPFR states taken exactly) against the conserved matrices
    // of the decimal inputs (exact: the flow conserves them), so the error is certified; the
    // bound is Taylor's error estimate, not a proof.
    let (dims, etas, th0_exact) = match wl::exact_start(case, MP_PREC) {
        Ok(v) => v,
        Err(err) => return (failed_row(fam, name, reg, check, &method, Some(MP_TOL), err), None),
    };
    let conserved = |th: &[Ball]| linear_conserved(&dims, &etas, th);
    let q0 = conserved(&th0_exact);
    let mut acc = Certified::default();
    for s in &tr.states {
        let sb: Vec<Ball> = s.iter().map(|x| Ball::exact(x.clone())).collect();
        for (q, z) in conserved(&sb).iter().zip(&q0) {
            acc.add_measured(q, z, bound);
        }
    }
    let drift = acc.err;
    let mut r = base_row(fam, name, reg, check, &method, Some(MP_TOL), "conserved");
    r.abs_err = drift;
    r.rel_err = drift / (eta_max * th_max * th_max).max(f64::MIN_POSITIVE);
    r.ref_bound = acc.rb;
    r.ref_method = wl::EXACT_Q0_METHOD.into();
    r.ref_rigorous = acc.margin.is_finite();
    r.drift = Some(drift);
    r.bound = bound;
    r.bound_why = "an estimate (no validated enclosure at this precision): Taylor error estimate e through the \
                   quadratic form: 2·η_max·m·max|θ|·e + η_max·m·e², plus 4·m·η_max·max|θ|²·2^(1−p) rounding of the \
                   Gram products"
        .into();
    r.margin = acc.margin;
    r.pass = acc.margin.is_finite() && acc.margin <= 1.0;
    r.note = format!(
        "dims={:?} steps={} order={} est={e:.2e}",
        field.dims(),
        tr.stats.steps,
        tr.stats.order,
    );
    (r, Some((tr.states, e)))
}

/// A whitened, task-aligned two-layer case whose decimal inputs are exact as decimals: X = I_2,
/// Y = diag(1.5, 0.7) (so β* = XᵀY has u_i = v_i = e_i), W0 = R diag(w), A0 = R diag(a) with the
/// rational rotation R = [[0.6, −0.8], [0.8, 0.6]], rates (η_a, η_w) = (0.5, 2) and per-mode
/// (a_i, w_i) with η_w a_i² − η_a w_i² = δ exactly: δ = 0.16 from (0.3, 0.2), (0.45, 0.7) when
/// `upstream`, δ = −0.16 from (0.1, 0.6), (0.35, 0.9) otherwise. Parsed at p bits the defects
/// are ~2⁻ᵖ, so the closed form describes the flow of the parsed numbers to working precision.
pub fn exact_aligned_case(upstream: bool, ts: &[f64]) -> TwoLayerLinearCase {
    let n = |s: &str| Num::parse(s).expect("literal");
    // Per-mode values in hundredths.
    let (a, w): ([i64; 2], [i64; 2]) = if upstream {
        ([30, 45], [20, 70])
    } else {
        ([10, 35], [60, 90])
    };
    // R in tenths; entry R[i][j]·v_j = (R·10)(v·100)/1000, written as an exact decimal.
    let r = [[6i64, -8], [8, 6]];
    let dec = |num: i64| -> Num {
        let sign = if num < 0 { "-" } else { "" };
        n(&format!("{sign}{}.{:03}", num.abs() / 1000, num.abs() % 1000))
    };
    let mat =
        |v: [i64; 2]| -> Vec<Vec<Num>> { (0..2).map(|i| (0..2).map(|j| dec(r[i][j] * v[j])).collect()).collect() };
    TwoLayerLinearCase {
        x: vec![vec![n("1"), n("0")], vec![n("0"), n("1")]],
        y: vec![vec![n("1.5"), n("0")], vec![n("0"), n("0.7")]],
        a0: mat(a),
        w0: mat(w),
        eta_a: n("0.5"),
        eta_w: n("2"),
        times: ts.iter().map(|t| Num::from_f64(*t).expect("finite")).collect(),
    }
}

/// MPFR Taylor β vs the MPFR per-mode closed form.
fn mp_closed_form_row(name: &str, reg: String, case: &TwoLayerLinearCase, states: &[Vec<Float>], e: f64) -> Row {
    let fam = "wide_linear";
    let method = format!("taylor_mp{MP_PREC}");
    let pts = match crate::exact::mirror_modes::evaluate_with_bounds(case, MP_PREC) {
        Ok((_, p)) => p,
        Err(err) => return failed_row(fam, name, reg, "WL-TAYLOR-MP", &method, Some(MP_TOL), err.to_string()),
    };
    let (field, _) = LinearJet::from_two_layer_case(case, MP_PREC);
    let mut err: f64 = 0.0;
    let mut scale: f64 = 0.0;
    let mut cf_bound: f64 = 0.0;
    let mut th_max: f64 = 0.0;
    for (st, p) in states.iter().zip(&pts) {
        th_max = th_max.max(max_abs_mp(st));
        let beta = field.beta(st);
        for ((b, c), cb) in beta.iter().zip(&p.beta).zip(&p.beta_bounds) {
            err = err.max(Float::with_val(MP_PREC, b - c).abs().to_f64());
            scale = scale.max(c.to_f64().abs());
            cf_bound = cf_bound.max(cb.to_f64());
        }
    }
    let m = field.dims().iter().copied().max().unwrap_or(1) as f64;
    let unit = 2f64.powi(1 - MP_PREC as i32);
    let bound = m * (2.0 * th_max * e + e * e) + 2.0 * m * th_max * th_max * unit;
    let mut r = base_row(fam, name, reg, "WL-TAYLOR-MP", &method, Some(MP_TOL), "beta");
    r.abs_err = err;
    r.rel_err = err / scale.max(f64::MIN_POSITIVE);
    r.ref_method = format!("per-mode closed form at {MP_PREC} bits, two-precision bound (p, p + 64)");
    r.ref_bound = cf_bound;
    r.bound = bound;
    r.bound_why = "Taylor error estimate e through β = WᵀA: m·(2·max|θ|·e + e²), plus 2·m·max|θ|²·2^(1−p) \
                   rounding of the product"
        .into();
    r.margin = err / (bound + cf_bound);
    r.pass = r.margin.is_finite() && r.margin <= 1.0;
    r.note = format!("est={e:.2e}");
    r
}

/// Run the Taylor checks of the linear models.
pub fn run(mode: Mode) -> Vec<Row> {
    use rayon::prelude::*;
    let full = mode == Mode::Full;
    // The four kinds of rows run in parallel; they come back in this order.
    type Section<'a> = Box<dyn Fn() -> Vec<Row> + Send + Sync + 'a>;
    let sections: Vec<Section> = vec![
        Box::new(|| {
            let mut out = Vec::new();
            // WL-TAYLOR (f64).
            let wide_quick = ["w3x2_down_h3", "w3x2_up_small_h2"];
            let wide_full = ["w3x2_bal_h4", "w3x2_up_h2", "w3x2_down_large_h3"];
            for w in wl::catalog() {
                let name = w.name.as_str();
                if !(wide_quick.contains(&name) || (full && wide_full.contains(&name))) {
                    continue;
                }
                match wl::build(&w) {
                    Ok((m, th0, _)) => {
                        // The case file's times are the rows' (t_end·k/10).
                        let enclosure = match wl::to_case(&w) {
                            Ok(c) => wl::enclose_shared(&Case::TwoLayerLinear(c)),
                            Err(e) => std::sync::Arc::new(Err(Fallback::Failed(format!("case file: {e}")))),
                        };
                        out.push(f64_row(
                            "WL-TAYLOR",
                            "wide_linear",
                            name,
                            regime(w.delta),
                            m.deep(),
                            &th0,
                            &times(w.t_end, 10),
                            &enclosure,
                        ));
                    }
                    Err(e) => out.push(failed_row(
                        "wide_linear",
                        name,
                        "-".into(),
                        "WL-TAYLOR",
                        "taylor_f64",
                        None,
                        e,
                    )),
                }
            }
            out
        }),
        Box::new(|| {
            let mut out = Vec::new();
            // DL-TAYLOR (f64).
            let deep_quick = ["deep3_up_small", "deep3_down_small"];
            let deep_full = ["deep4_mixed_small", "deep4_down_small", "deep3_up"];
            for c in dl::catalog() {
                let name = c.name.as_str();
                if !(deep_quick.contains(&name) || (full && deep_full.contains(&name))) {
                    continue;
                }
                match dl::build(&c) {
                    Ok((m, th0)) => {
                        let reg = regime(dl::delta_top(&m, &th0));
                        let ts = dl::taylor_times_for(mode);
                        // Shared with DL-CONS where this catalog runs the case's DL-CONS rows
                        // (their grid and this one, enclosed once); otherwise (a quick-catalog
                        // DL-TAYLOR case without quick DL-CONS rows) on this grid alone, to its
                        // end instead of DL-CONS's: the same proof at the rows' times.
                        let enclosure = if full || c.quick {
                            dl::enclosure_at(&c, &ts, mode)
                        } else {
                            dl::enclosure_on(&c, &ts)
                        };
                        out.push(f64_row(
                            "DL-TAYLOR",
                            "deep_linear",
                            name,
                            reg,
                            &m,
                            &th0,
                            &ts,
                            &enclosure,
                        ));
                    }
                    Err(e) => out.push(failed_row(
                        "deep_linear",
                        name,
                        "-".into(),
                        "DL-TAYLOR",
                        "taylor_f64",
                        None,
                        e,
                    )),
                }
            }
            out
        }),
        Box::new(|| {
            let mut out = Vec::new();
            // WL-TAYLOR-MP: conservation and closed form on exactly aligned decimal cases.
            let ups: &[bool] = if full { &[true, false] } else { &[true] };
            for &up in ups {
                let ts = times(4.0, 8);
                let case = exact_aligned_case(up, &ts);
                let name = if up { "aligned_exact_up" } else { "aligned_exact_down" };
                let reg = regime(if up { 0.16 } else { -0.16 });
                let (mut field, th0) = LinearJet::from_two_layer_case(&case, MP_PREC);
                let (row, st) = mp_conservation(
                    "WL-TAYLOR-MP",
                    "wide_linear",
                    name,
                    reg.clone(),
                    &mut field,
                    &th0,
                    &Case::TwoLayerLinear(case.clone()),
                );
                out.push(row);
                if let Some((states, e)) = st {
                    out.push(mp_closed_form_row(name, reg, &case, &states, e));
                }
            }
            out
        }),
        Box::new(|| {
            let mut out = Vec::new();
            // DL-TAYLOR-MP: conservation on decimal deep cases (small δ of each sign).
            let deep_mp: &[&str] = if full {
                &["deep3_up_small", "deep3_down_small", "deep4_mixed_small"]
            } else {
                &["deep3_up_small"]
            };
            for c in dl::catalog().into_iter().filter(|c| deep_mp.contains(&c.name.as_str())) {
                let reg = regime(c.deltas.as_ref().and_then(|d| d.last().copied()).unwrap_or(0.0));
                match dl::to_case(&c) {
                    Ok(mut case) => {
                        // Quick: a short span (a few steps of order 82 at 256 bits, < 1 s); full: t ≤ 2.
                        let span = if full { times(2.0, 4) } else { times(0.1, 1) };
                        case.times = span.into_iter().map(|t| Num::from_f64(t).expect("finite")).collect();
                        let (mut field, th0) = LinearJet::from_deep_case(&case, MP_PREC);
                        out.push(
                            mp_conservation(
                                "DL-TAYLOR-MP",
                                "deep_linear",
                                &c.name,
                                reg,
                                &mut field,
                                &th0,
                                &Case::DeepLinear(case),
                            )
                            .0,
                        );
                    }
                    Err(e) => out.push(failed_row(
                        "deep_linear",
                        &c.name,
                        reg,
                        "DL-TAYLOR-MP",
                        "taylor_mp",
                        None,
                        e,
                    )),
                }
            }
            out
        }),
    ];
    sections.par_iter().map(|f| f()).collect::<Vec<_>>().concat()
}
