//! Catalog for λ-balanced two-layer linear networks (P2; `docs/theory.md` §4). Check ids:
//!
//! - `LB-SIM`: Tsit45 simulation of the parameter flow at rtol 1e-12 vs the validated enclosure of
//!   the exact flow of the decimal inputs ([`ENCLOSURE_PREC`]): QQᵀ(t), proven bound
//!   |sim − V|, verdict also on the promise [`SIM_REL_TOL`] (normwise relative).
//! - `LB-CF`: the f64 closed form QQᵀ(t) (of the whitened, λ-balanced idealisation) vs the same
//!   enclosure: the theory predicts the exact flow of the inputs as given, proven error, promise
//!   [`SIM_REL_TOL`].
//! - `LB-DRIFT`: max|W2ᵀW2 − W1W1ᵀ − C(0)| along that simulation, C(0) in balls from the same θ0,
//!   proven bound through the enclosure, promise [`DRIFT_TOL`].
//!
//!   Without an enclosure (the validated integrator fails), LB-SIM compares the closed form with
//!   the simulation and LB-DRIFT uses the f64 initial value, with estimated bounds.
//! - `LB-F64`: the f64 closed form QQᵀ(t) vs the same enclosure: proven error, promise
//!   [`F64_MP_REL_TOL`] (normwise relative; it is tighter than LB-CF's, the f64 evaluation's
//!   rounding plus the inputs' ≈ 1e-16 defects). The note keeps the distance to the 128-bit MPFR
//!   closed form of the idealisation, the row's reference before the enclosure. Without an
//!   enclosure the row falls back to that MPFR reference and its `bound_why` says it is an
//!   estimate and why.
//! - `LB-RICCATI`: residual of the Riccati ODE for the 256-bit closed form (bound
//!   [`RICCATI_TOL`], an estimate: a central difference of MPFR evaluations). Its reference, 0, is
//!   checked in ball arithmetic: the closed form's one-shot formula with its product-rule time
//!   derivative ([`crate::exact::riccati::residual_enclosure`]) leaves a residual ball around 0,
//!   and its P(t) overlaps the semigroup enclosure of P(t).
//!
//! The enclosures are made once per case in [`run`] and shared with `LB-TAYLOR`
//! ([`experiments`]).
//!
//! Cases: (d_i, h, d_o) ∈ {(3,3,3), (4,3,2), (2,3,3)} × λ ∈ {−20, −2, 0, 2, 20} where feasible
//! (the quick catalog keeps (3,3,3) and (4,3,2), enclosed at local tolerance
//! [`QUICK_ENCLOSURE_TOL`]). Whitened data X = √P·(orthonormal rows), P = 2d_i+2, random
//! λ-balanced init (Algorithm 1, σ = 0.4), τ = 1.25, seeds fixed.

pub mod applications;
pub mod experiments;
pub mod reference;

use super::Certified;
use super::Row;
use crate::case::{Case, LambdaBalancedCase};
use crate::exact::lambda_balanced::{ClosedForm, q_matrix};
use crate::exact::lambda_balanced_mp::ClosedFormMp;
use crate::exact::riccati::residual_enclosure;
use crate::flow::{FlowOptions, Method, integrate};
use crate::metrics::enclosed::{lambda_balanced_balance, lambda_balanced_qqt};
use crate::models::ParameterFlow;
use crate::models::lambda_balanced::{LinearNetwork, check_feasible, random_init, whitened_task};
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::taylor::cases;
use crate::taylor::validated::ValidatedOptions;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Closed form vs simulation at rtol 1e-12, atol 1e-14 over t ≤ 10 (≤ 160 time constants for
/// |λ| ≤ 20): the global error of Tsit45 stays below 1e-9 of the solution's scale (the issue's
/// acceptance level; measured ≲ 1e-11).
pub const SIM_REL_TOL: f64 = 1e-9;
/// λ-balance drift along a simulation at rtol 1e-12: per-step local errors 1e-12 relative
/// accumulate over ≤ 10⁴ steps to ≲ 1e-9 of ‖W‖² scale.
pub const DRIFT_TOL: f64 = 1e-9;
/// f64 stepping vs 128-bit: ≈ (number of steps)·ε·scale ≤ 1e3·1e-16 (t ≤ 10, max|f|·t/τ ≤ 200).
pub const F64_MP_REL_TOL: f64 = 1e-12;
/// Riccati residual at 256 bits with difference step 2⁻⁶⁴: truncation ~2⁻¹²⁸·|P'''| ≈ 1e-38·|P'''|,
/// rounding ~2⁻¹⁹² ≈ 1e-58; |P'''| ≤ (max|f| + ‖P‖)³ ≲ 1e4 here, so ≤ 1e-30 with margin.
pub const RICCATI_TOL: f64 = 1e-30;

const TIMES: [f64; 6] = [0.0, 0.5, 1.0, 2.0, 4.0, 10.0];

/// One catalog case.
#[derive(Debug, Clone)]
pub struct LbCase {
    /// Name.
    pub name: String,
    /// λ.
    pub lambda: f64,
    /// The case.
    pub case: LambdaBalancedCase,
}

/// The catalog's cases (those that build; [`catalog_entries`] keeps the failures).
pub fn catalog(quick: bool) -> Vec<LbCase> {
    catalog_entries(quick).into_iter().filter_map(Result::ok).collect()
}

/// A catalog case that could not be built: its name, λ and why.
#[derive(Debug, Clone)]
pub struct LbBuildError {
    /// Name the case would have had.
    pub name: String,
    /// λ.
    pub lambda: f64,
    /// What failed.
    pub why: String,
}

/// Every catalog case, or why it could not be built (a failed row in [`run`], never a dropped
/// case). Infeasible (d_i, h, d_o, λ) combinations are not cases (P2's balance condition excludes
/// them) and are skipped by design.
pub fn catalog_entries(quick: bool) -> Vec<Result<LbCase, LbBuildError>> {
    let dims: &[(usize, usize, usize)] = if quick {
        &[(3, 3, 3), (4, 3, 2)]
    } else {
        &[(3, 3, 3), (4, 3, 2), (2, 3, 3)]
    };
    let mut out = Vec::new();
    for (k, &(d_i, h, d_o)) in dims.iter().enumerate() {
        for lambda in [-20.0, -2.0, 0.0, 2.0, 20.0] {
            if check_feasible(d_i, h, d_o, lambda).is_err() {
                continue;
            }
            let name = format!("lb_{d_i}_{h}_{d_o}_lambda{lambda:+}");
            let mut rng = ChaCha8Rng::seed_from_u64(100 + k as u64);
            let built = whitened_task(d_i, d_o, 2 * d_i + 2, &mut rng)
                .map_err(|e| format!("whitened task: {e}"))
                .and_then(|(x, y)| {
                    let (w1, w2) =
                        random_init(d_i, h, d_o, lambda, 0.4, &mut rng).map_err(|e| format!("λ-balanced init: {e}"))?;
                    LambdaBalancedCase::from_f64(&x, &y, &w1, &w2, 1.25, &TIMES).map_err(|e| format!("case: {e}"))
                });
            out.push(match built {
                Ok(case) => Ok(LbCase { name, lambda, case }),
                Err(why) => Err(LbBuildError { name, lambda, why }),
            });
        }
    }
    out
}

fn regime(lambda: f64) -> String {
    let side = if lambda > 0.0 {
        "upstream"
    } else if lambda < 0.0 {
        "downstream"
    } else {
        "balanced"
    };
    let size = if lambda.abs() >= 10.0 { "large" } else { "order1" };
    format!("{side}/{size}")
}

#[allow(clippy::too_many_arguments)]
fn row(
    check: &str,
    c: &LbCase,
    method: &str,
    tolerance: Option<f64>,
    quantity: &str,
    abs_err: f64,
    scale: f64,
    bound: f64,
    bound_why: &str,
    ref_method: &str,
    drift: Option<f64>,
    note: String,
) -> Row {
    row_named(
        check, &c.name, c.lambda, method, tolerance, quantity, abs_err, scale, bound, bound_why, ref_method, drift,
        note,
    )
}

#[allow(clippy::too_many_arguments)]
fn row_named(
    check: &str,
    name: &str,
    lambda: f64,
    method: &str,
    tolerance: Option<f64>,
    quantity: &str,
    abs_err: f64,
    scale: f64,
    bound: f64,
    bound_why: &str,
    ref_method: &str,
    drift: Option<f64>,
    note: String,
) -> Row {
    let margin = if bound > 0.0 { abs_err / bound } else { f64::INFINITY };
    Row {
        check: check.into(),
        family: "lambda_balanced".into(),
        case: name.into(),
        regime: regime(lambda),
        method: method.into(),
        tolerance,
        quantity: quantity.into(),
        abs_err,
        rel_err: abs_err / scale.max(f64::MIN_POSITIVE),
        ref_bound: 0.0,
        ref_method: ref_method.into(),
        ref_rigorous: false,
        bound_rigorous: false,
        drift,
        bound,
        bound_why: bound_why.into(),
        margin,
        pass: margin.is_finite() && margin <= 1.0,
        note,
    }
}

fn failed(check: &str, c: &LbCase, why: String) -> Row {
    failed_named(check, &c.name, c.lambda, why)
}

fn failed_named(check: &str, name: &str, lambda: f64, why: String) -> Row {
    let mut r = row_named(
        check,
        name,
        lambda,
        "-",
        None,
        "qqt",
        f64::NAN,
        1.0,
        0.0,
        "",
        "none",
        None,
        why,
    );
    r.pass = false;
    r.margin = f64::INFINITY;
    r
}

pub(super) fn mats(c: &LbCase) -> Result<(LinearNetwork, DMatrix<f64>, DMatrix<f64>), String> {
    let m = |rows: &[Vec<Num>], f: &str| LambdaBalancedCase::matrix_f64(rows, f).map_err(|e| e.to_string());
    let x = m(&c.case.x, "x")?;
    let y = m(&c.case.y, "y")?;
    let w1 = m(&c.case.w1_0, "w1_0")?;
    let w2 = m(&c.case.w2_0, "w2_0")?;
    let net = LinearNetwork::new(&x, &y, w1.nrows(), c.case.tau.to_f64()).map_err(|e| e.to_string())?;
    Ok((net, w1, w2))
}

/// A case's validated enclosure at its times, or why there is none.
pub(crate) type CaseEnclosure = Result<Vec<Vec<Ball>>, String>;

fn check_case(c: &LbCase, enclosure: &CaseEnclosure, tol: f64, rows: &mut Vec<Row>) {
    let (net, w1, w2) = match mats(c) {
        Ok(v) => v,
        Err(e) => return rows.push(failed("LB-SIM", c, e)),
    };
    let times = c.case.times_f64();
    let cf = match ClosedForm::new(&net, &w1, &w2) {
        Ok(cf) => cf,
        Err(e) => return rows.push(failed("LB-SIM", c, e.to_string())),
    };
    let pts = match cf.evaluate(&times) {
        Ok(p) => p,
        Err(e) => return rows.push(failed("LB-SIM", c, e.to_string())),
    };
    let scale = pts.iter().map(|p| p.qqt.amax()).fold(0.0, f64::max);
    // Simulation.
    let opts = FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14);
    let th0 = match net.theta(&w1, &w2) {
        Ok(t) => t,
        Err(e) => return rows.push(failed("LB-SIM", c, e.to_string())),
    };
    let dims = (w1.ncols(), w1.nrows(), w2.nrows());
    match integrate(&ParameterFlow(&net), &th0, &times, &opts) {
        Ok(tr) => match enclosure {
            Ok(v) => certified_rows(c, &pts, &tr.states, v, dims, scale, &th0, &cf, tol, rows),
            Err(why) => estimate_rows(c, &net, &pts, &tr, &w1, &w2, scale, why, &cf, rows),
        },
        Err(e) => rows.push(failed("LB-SIM", c, e.to_string())),
    }
    // The f64 closed form vs the enclosure (proven), with its distance to the 128-bit MPFR
    // closed form of the idealisation in the note.
    match ClosedFormMp::new(&c.case, 128).and_then(|m| m.evaluate(&c.case.times)) {
        Ok(mp_pts) => {
            let err_mp = pts
                .iter()
                .zip(&mp_pts)
                .map(|(p, m)| (&p.qqt - m.to_f64()).amax())
                .fold(0.0, f64::max);
            let promise_why = "steps·ε rounding of the exact semigroup stepping; the inputs' whitening and balance \
                               defects (≈ 1e-16) are below it";
            match enclosure {
                Ok(v) => {
                    let qqt_cf: Vec<Vec<f64>> = pts.iter().map(|p| p.qqt.transpose().as_slice().to_vec()).collect();
                    let qqt_v: Vec<Vec<Ball>> = v.iter().map(|th| lambda_balanced_qqt(dims, th)).collect();
                    rows.push(certified_row(
                        "LB-F64",
                        c,
                        "closed_form_f64",
                        None,
                        "qqt",
                        certified_compare(&qqt_cf, &qqt_v),
                        scale,
                        F64_MP_REL_TOL * scale,
                        promise_why,
                        format!("|f64 − 128-bit MPFR closed form of the idealisation| = {err_mp:.3e}"),
                        tol,
                    ));
                }
                Err(why) => rows.push(row(
                    "LB-F64",
                    c,
                    "closed_form_f64",
                    None,
                    "qqt",
                    err_mp,
                    scale,
                    F64_MP_REL_TOL * scale,
                    &format!("{promise_why}; an estimate: no validated enclosure ({why})"),
                    "closed_form_mp128",
                    None,
                    String::new(),
                )),
            }
        }
        Err(e) => rows.push(failed("LB-F64", c, e.to_string())),
    }
    // Riccati residual at 256 bits, t = 2; the reference 0 is checked in balls (module doc).
    let t = Num::from_f64(2.0).expect("finite");
    match ClosedFormMp::new(&c.case, 256).and_then(|m| m.riccati_residual(&t)) {
        Ok(res) => {
            let r = row(
                "LB-RICCATI",
                c,
                "closed_form_mp256",
                None,
                "τ dP/dt − (FP+PF−P²)",
                res,
                scale,
                RICCATI_TOL,
                "central difference 2⁻⁶⁴ at 256 bits: truncation ≲ 1e-34 (an estimate: no enclosure of P''' on \
                 the stencil)",
                "riccati_ode",
                None,
                String::new(),
            );
            rows.push(riccati_reference(r, &c.case, &t));
        }
        Err(e) => rows.push(failed("LB-RICCATI", c, e.to_string())),
    }
}

/// Precision of the ball check behind `LB-RICCATI`'s reference (plus the one-shot form's extra
/// bits, [`residual_enclosure`]).
const RICCATI_BALL_PREC: u32 = 128;

/// `LB-RICCATI`'s reference: 0, the residual of the exact Riccati solution, checked in ball
/// arithmetic — the one-shot formula's product-rule derivative minus FP + PF − P² encloses 0 with
/// radius `ref_bound`, and the one-shot P(t) overlaps the semigroup enclosure. A residual ball
/// that excludes 0, or routes that do not overlap, fail the row; a check that cannot run leaves
/// the reference an estimate (said in `ref_method`).
fn riccati_reference(mut r: Row, case: &LambdaBalancedCase, t: &Num) -> Row {
    match residual_enclosure(case, t, RICCATI_BALL_PREC) {
        Ok(enc) => {
            let zero = enc.residual.entries().iter().all(Ball::contains_zero);
            let size = enc.residual.max_abs_up();
            r.ref_bound = size;
            r.ref_rigorous = zero && enc.routes_overlap;
            r.ref_method = format!(
                "0, the residual of the exact Riccati solution: in ball arithmetic at {} bits the one-shot formula's \
                 product-rule derivative minus FP + PF − P² {} 0 (every entry within {size:.1e}) and its P(t) {} the \
                 semigroup enclosure — {}",
                enc.prec_used,
                if zero { "contains" } else { "does NOT contain" },
                if enc.routes_overlap {
                    "overlaps"
                } else {
                    "does NOT overlap"
                },
                if r.ref_rigorous { "a proof" } else { "the check failed" },
            );
            if !r.ref_rigorous {
                r.pass = false;
            }
        }
        Err(e) => r.ref_method = format!("riccati_ode (0; the ball check could not run: {e})"),
    }
    r.margin = r.abs_err / (r.bound + r.ref_bound);
    r.pass = r.pass && r.margin.is_finite() && r.margin <= 1.0;
    r
}

/// Precision and tolerance of the validated enclosures behind the certified rows: 128 bits at
/// tol 1e-24 (widths ≈ 1e-21 on the catalog, far below the errors measured — 1e-15 for the f64
/// closed form — so the proven bounds are the errors; 0.4–1.3 s a case). 53 bits would be 3×
/// faster but its widths (≈ 1e-12) would be 1000× the closed form's error.
pub const ENCLOSURE_PREC: u32 = 128;
/// See [`ENCLOSURE_PREC`].
pub const ENCLOSURE_TOL: f64 = 1e-24;
/// Local tolerance of the catalog cases' enclosures in the quick catalog (same precision): radii
/// ≈ 1e-21…1e-18 instead of ≈ 1e-21, still three orders below the smallest error they certify
/// (≈ 1e-15, LB-TAYLOR; the f64 closed form ≈ 3e-15), so the proven bounds stay the errors, at
/// order 26 instead of 29 and longer steps.
pub const QUICK_ENCLOSURE_TOL: f64 = 1e-21;

/// The local tolerance of the catalog cases' enclosures: [`QUICK_ENCLOSURE_TOL`] in the quick
/// catalog, [`ENCLOSURE_TOL`] in the full one.
pub(crate) fn enclosure_tol(quick: bool) -> f64 {
    if quick { QUICK_ENCLOSURE_TOL } else { ENCLOSURE_TOL }
}

/// The `ref_method` of rows whose reference is a case's enclosure at local tolerance `tol`.
fn enclosure_method(tol: f64) -> String {
    format!(
        "validated enclosure of the parameter flow of the decimal inputs ({ENCLOSURE_PREC}-bit Taylor in ball \
         arithmetic, tol {tol:e}, Lohner's QR method): a proof"
    )
}

/// The validated enclosure of a case's parameter flow at its times at local tolerance `tol`, or
/// why there is none.
fn enclose(case: &LambdaBalancedCase, tol: f64) -> CaseEnclosure {
    enclose_with(case, ENCLOSURE_PREC, tol)
}

/// As [`enclose`] at `prec` bits and local tolerance `tol`, computed once per process for each
/// (case, `prec`, `tol`) and shared (a process that runs both catalogs, as the test binaries do,
/// encloses the quick catalog's cases once: they are the full catalog's first entries). The
/// enclosure is deterministic, so sharing changes no value; a second caller of a case being
/// enclosed waits for it instead of enclosing it again.
fn enclose_with(case: &LambdaBalancedCase, prec: u32, tol: f64) -> CaseEnclosure {
    static CACHE: super::Memo<CaseEnclosure> = super::Memo::new();
    CACHE.get(format!("{prec} {tol:e} {case:?}"), || enclose_uncached(case, prec, tol))
}

/// [`enclose_with`] without the sharing.
fn enclose_uncached(case: &LambdaBalancedCase, prec: u32, tol: f64) -> CaseEnclosure {
    let mut opts = ValidatedOptions::new(prec);
    opts.tol = Some(tol);
    let tr = cases::enclose_case(&Case::LambdaBalanced(case.clone()), &opts).map_err(|e| e.to_string())?;
    match tr.stopped {
        Some(st) => Err(format!("the validated enclosure stopped early: {st:?}")),
        None => Ok(tr.states),
    }
}

/// Certified comparison of f64 values (one list per time) with enclosures (one list per time):
/// (max error vs the enclosure's midpoint, max radius, max proven bound, worst margin). A
/// mismatch in the number of times or of components gives NaN figures (the row fails).
fn certified_compare(values: &[Vec<f64>], enclosures: &[Vec<Ball>]) -> (f64, f64, f64, f64) {
    if values.len() != enclosures.len() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let mut acc = Certified::default();
    for (vs, bs) in values.iter().zip(enclosures) {
        if vs.len() != bs.len() {
            return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
        }
        for (v, ball) in vs.iter().zip(bs) {
            acc.add_value(*v, ball);
        }
    }
    (acc.err, acc.rb, acc.bound, acc.margin)
}

/// A certified row: reference and bound from the case's enclosure at local tolerance `tol`,
/// verdict also on the promise.
#[allow(clippy::too_many_arguments)]
fn certified_row(
    check: &str,
    c: &LbCase,
    method: &str,
    tolerance: Option<f64>,
    quantity: &str,
    figures: (f64, f64, f64, f64),
    scale: f64,
    promise: f64,
    promise_why: &str,
    note: String,
    tol: f64,
) -> Row {
    let mut r = certified_row_named(
        check,
        &c.name,
        c.lambda,
        method,
        tolerance,
        quantity,
        figures,
        scale,
        promise,
        promise_why,
        note,
    );
    r.ref_method = enclosure_method(tol);
    r
}

/// [`certified_row`] for a case given by name and λ.
#[allow(clippy::too_many_arguments)]
fn certified_row_named(
    check: &str,
    name: &str,
    lambda: f64,
    method: &str,
    tolerance: Option<f64>,
    quantity: &str,
    (err, rb, bound, margin): (f64, f64, f64, f64),
    scale: f64,
    promise: f64,
    promise_why: &str,
    note: String,
) -> Row {
    let mut r = row_named(
        check,
        name,
        lambda,
        method,
        tolerance,
        quantity,
        err,
        scale,
        bound,
        &format!(
            "proven: max over the grid of |value − V| rounded up, V the validated enclosure; the row also requires it \
             ≤ the promise {promise:.3e} ({promise_why}; an estimate)"
        ),
        &enclosure_method(ENCLOSURE_TOL),
        None,
        format!(
            "{note}{}certified error / promise = {:.3e}",
            if note.is_empty() { "" } else { "; " },
            bound / promise
        ),
    );
    r.ref_bound = rb;
    r.margin = margin;
    r.ref_rigorous = margin.is_finite();
    r.bound_rigorous = margin.is_finite();
    r.pass = margin.is_finite() && margin <= 1.0 && bound <= promise;
    r
}

/// LB-SIM, LB-CF and LB-DRIFT against the validated enclosure.
#[allow(clippy::too_many_arguments)]
fn certified_rows(
    c: &LbCase,
    pts: &[crate::exact::lambda_balanced::QqtPoint],
    sim: &[Vec<f64>],
    v: &[Vec<Ball>],
    dims: (usize, usize, usize),
    scale: f64,
    th0: &[f64],
    cf: &ClosedForm,
    tol: f64,
    rows: &mut Vec<Row>,
) {
    let qqt_v: Vec<Vec<Ball>> = v.iter().map(|th| lambda_balanced_qqt(dims, th)).collect();
    let qqt_sim: Vec<Vec<f64>> = sim.iter().map(|th| lambda_balanced_qqt(dims, th)).collect();
    let qqt_cf: Vec<Vec<f64>> = pts.iter().map(|p| p.qqt.transpose().as_slice().to_vec()).collect();
    let sim_note = format!("semigroup steps {}", cf.steps_to(10.0));
    rows.push(certified_row(
        "LB-SIM",
        c,
        "tsit45",
        Some(1e-12),
        "qqt",
        certified_compare(&qqt_sim, &qqt_v),
        scale,
        SIM_REL_TOL * scale,
        "promise: ≤ 1e-9 relative at rtol 1e-12",
        String::new(),
        tol,
    ));
    rows.push(certified_row(
        "LB-CF",
        c,
        "closed_form_f64",
        None,
        "qqt",
        certified_compare(&qqt_cf, &qqt_v),
        scale,
        SIM_REL_TOL * scale,
        "the closed form of the whitened, λ-balanced idealisation predicts the exact flow of the decimal inputs to \
         1e-9 relative: their whitening and balance defects are ≈ 1e-15",
        sim_note,
        tol,
    ));
    // LB-DRIFT: the balance matrix of the simulation vs its exact initial value (balls from the
    // same binary64 θ0 the simulation starts from), bound by the enclosure's balance matrix
    // (which contains the exact flow's, equal to the initial one).
    let balance = |th: &[Ball]| lambda_balanced_balance(dims, th);
    let b0 = balance(
        &th0.iter()
            .map(|x| Ball::from_f64(ENCLOSURE_PREC, *x))
            .collect::<Vec<_>>(),
    );
    let Certified {
        err: drift,
        rb,
        bound,
        margin,
    } = Certified::conserved_along(balance, &b0, sim, v, ENCLOSURE_PREC);
    let wscale = 1.0 + b0.iter().map(|x| x.mid().to_f64().abs()).fold(0.0, f64::max) + scale;
    let mut r = certified_row(
        "LB-DRIFT",
        c,
        "tsit45",
        Some(1e-12),
        "W2ᵀW2 − W1W1ᵀ",
        (drift, rb, bound, margin),
        wscale,
        DRIFT_TOL * wscale,
        "conservation law (docs/theory.md §4.2); local errors 1e-12 accumulated",
        String::new(),
        tol,
    );
    r.drift = Some(drift);
    r.ref_method = format!(
        "{}; reference: the initial balance matrix in balls",
        enclosure_method(tol)
    );
    rows.push(r);
}

/// LB-SIM and LB-DRIFT with estimated bounds (no enclosure could be made: the reason in the note).
#[allow(clippy::too_many_arguments)]
fn estimate_rows(
    c: &LbCase,
    net: &LinearNetwork,
    pts: &[crate::exact::lambda_balanced::QqtPoint],
    tr: &crate::flow::Trajectory,
    w1: &DMatrix<f64>,
    w2: &DMatrix<f64>,
    scale: f64,
    why: &str,
    cf: &ClosedForm,
    rows: &mut Vec<Row>,
) {
    let c0 = w2.transpose() * w2 - w1 * w1.transpose();
    let (mut err, mut drift): (f64, f64) = (0.0, 0.0);
    for (p, th) in pts.iter().zip(&tr.states) {
        let (a1, a2) = net.unpack(th);
        let q = q_matrix(&a1, &a2);
        err = err.max((&p.qqt - &q * q.transpose()).amax());
        drift = drift.max((a2.transpose() * &a2 - &a1 * a1.transpose() - &c0).amax());
    }
    rows.push(row(
        "LB-SIM",
        c,
        "tsit45",
        Some(1e-12),
        "qqt",
        err,
        scale,
        SIM_REL_TOL * scale,
        "promise: ≤ 1e-9 relative at rtol 1e-12",
        "closed_form_f64",
        Some(drift),
        format!(
            "steps {}, semigroup steps {}; bound is an estimate: {why}",
            tr.stats.steps,
            cf.steps_to(10.0)
        ),
    ));
    let wscale = 1.0 + c0.amax() + w1.norm_squared().max(w2.norm_squared());
    rows.push(row(
        "LB-DRIFT",
        c,
        "tsit45",
        Some(1e-12),
        "W2ᵀW2 − W1W1ᵀ",
        drift,
        wscale,
        DRIFT_TOL * wscale,
        "conservation law (docs/theory.md §4.2); local errors 1e-12 accumulated",
        "initial value",
        Some(drift),
        String::new(),
    ));
}

/// The rows of one λ-balanced case named `name` with the init's λ: its validated enclosure, then
/// [`check_case`] exactly as the catalog ([`run`]) runs it (`LB-SIM`, `LB-CF`, `LB-DRIFT`, `LB-F64`,
/// `LB-RICCATI`). For `lazyrich verify --case`.
pub(super) fn case_rows(name: &str, lambda: f64, case: &LambdaBalancedCase) -> Vec<Row> {
    let c = LbCase {
        name: name.into(),
        lambda,
        case: case.clone(),
    };
    let v = enclose(&c.case, ENCLOSURE_TOL);
    let mut rows = Vec::new();
    check_case(&c, &v, ENCLOSURE_TOL, &mut rows);
    rows
}

/// Run the λ-balanced catalog.
pub fn run(quick: bool) -> Vec<Row> {
    use rayon::prelude::*;
    // The cases run in parallel (rows in catalog order); the enclosures are made once and
    // shared with the Taylor rows of `experiments`.
    type CaseOutput = (Vec<Row>, Option<(String, CaseEnclosure)>);
    let per_case: Vec<CaseOutput> = catalog_entries(quick)
        .into_par_iter()
        .map(|entry| match entry {
            Ok(c) => {
                let tol = enclosure_tol(quick);
                let v = enclose(&c.case, tol);
                let mut rows = Vec::new();
                check_case(&c, &v, tol, &mut rows);
                (rows, Some((c.name.clone(), v)))
            }
            Err(e) => {
                let why = format!("the catalog case could not be built: {}", e.why);
                (vec![failed_named("LB-SIM", &e.name, e.lambda, why)], None)
            }
        })
        .collect();
    let mut rows = Vec::new();
    let mut enclosures: Vec<(String, CaseEnclosure)> = Vec::new();
    for (r, e) in per_case {
        rows.extend(r);
        enclosures.extend(e);
    }
    let (experiment_rows, application_rows) =
        rayon::join(|| experiments::run(quick, &enclosures), || applications::run(quick));
    rows.extend(experiment_rows);
    rows.extend(application_rows);
    rows
}

/// Data of the P2 Fig. 2-style figure: for λ ∈ {−2, 0, 2}, rows `[t, loss, m(t), S(0,t)]` from
/// the f64 closed form (theory) and from Tsit45 at rtol 1e-10 (simulation), where
/// m(t) = ⟨W2W1(t), Σ̃_yx⟩_F/‖Σ̃_yx‖²_F is the network function projected on the task.
/// Setup (`docs/theory.md` §4.6, S5 notebook sizes): d_i = h = d_o = 3, P = 10 whitened points,
/// τ = 1, small random λ-balanced init (σ = 0.05), t ∈ [0, 12].
///
/// The λ = −2 and λ = 2 curves coincide \[D\]: for d_i = h = d_o, W2W2ᵀ = B(WWᵀ) + λ₊I and
/// W1ᵀW1 = B(WᵀW) + λ₋I with B(X) = (√(λ²I + 4X) − |λ|)/2, λ± = max(±λ, 0) (`docs/theory.md` §4.5),
/// so τẆ = B(WWᵀ)G + GB(WᵀW) + |λ|G with G = Σ̃_yx − W depends on |λ| only, and so does S (the
/// NTK inner product is symmetric under M ↔ B for square whitened data). With h < d_i or h < d_o
/// the identity terms live only on the h-dimensional ranges and the symmetry breaks (checked:
/// O(1) difference for (4,2,3)). Both signs start from the same W2W1(0) (same seed). Tested in
/// `tests/it/lambda_balanced.rs`.
#[derive(Debug, Clone)]
pub struct Fig2Data {
    /// (λ, theory rows, simulation rows).
    pub curves: Vec<Fig2Curve>,
}

/// One λ of [`Fig2Data`]: (λ, theory rows `[t, loss, m, S]`, simulation rows).
pub type Fig2Curve = (f64, Vec<[f64; 4]>, Vec<[f64; 4]>);

/// Compute [`Fig2Data`].
///
/// # Errors
/// A message if any closed-form or simulation step fails.
pub fn fig2_data() -> Result<Fig2Data, String> {
    use crate::metrics::lambda_balanced::{kernel_distance, loss};
    let mut curves = Vec::new();
    for lambda in [-2.0, 0.0, 2.0] {
        let mut rng = ChaCha8Rng::seed_from_u64(2025);
        let (x, y) = whitened_task(3, 3, 10, &mut rng).map_err(|e| e.to_string())?;
        let (w1, w2) = random_init(3, 3, 3, lambda, 0.05, &mut rng).map_err(|e| e.to_string())?;
        let net = LinearNetwork::new(&x, &y, 3, 1.0).map_err(|e| e.to_string())?;
        let syx = net.syx();
        let s2 = syx.norm_squared();
        let m0 = w1.transpose() * &w1;
        let b0 = &w2 * w2.transpose();
        let row = |t: f64, w: &DMatrix<f64>, m: &DMatrix<f64>, b: &DMatrix<f64>| -> [f64; 4] {
            [
                t,
                loss(&x, &y, w),
                w.dot(&syx) / s2,
                kernel_distance(&x, &m0, &b0, m, b),
            ]
        };
        // t ≤ 30: λ = 0 has reached its limit, the saddle of its wrong-sign mode (see the caption and
        // `tests/it/lambda_balanced_experiments.rs`, fig2_lambda0_converges_to_the_saddle_of_the_wrong_sign_mode).
        let theory_t: Vec<f64> = (0..=600).map(|k| k as f64 * 0.05).collect();
        let cf = ClosedForm::new(&net, &w1, &w2).map_err(|e| e.to_string())?;
        let theory = cf
            .evaluate(&theory_t)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|p| row(p.t, &p.w2w1(), &p.w1tw1(), &p.w2w2t()))
            .collect();
        let sim_t: Vec<f64> = (0..=60).map(|k| k as f64 * 0.5).collect();
        let th0 = net.theta(&w1, &w2).map_err(|e| e.to_string())?;
        let tr = integrate(
            &ParameterFlow(&net),
            &th0,
            &sim_t,
            &FlowOptions::new(Method::Tsit45).with_tol(1e-10, 1e-12),
        )
        .map_err(|e| e.to_string())?;
        let sim = tr
            .states
            .iter()
            .zip(&sim_t)
            .map(|(th, &t)| {
                let (a1, a2) = net.unpack(th);
                row(t, &(&a2 * &a1), &(a1.transpose() * &a1), &(&a2 * a2.transpose()))
            })
            .collect();
        curves.push((lambda, theory, sim));
    }
    Ok(Fig2Data { curves })
}
