//! Wide two-layer linear checks (P1 §4, App. B; `docs/theory.md` §2.1–2.4). Ids (stable; see
//! `verification/README.md`):
//!
//! - `WL-CONS`: Δ = η_w AAᵀ − η_a WWᵀ is conserved along diffsol parameter flows (every
//!   method). Reference: Δ(0) of the decimal inputs in ball arithmetic (rigorous: the exact flow
//!   conserves Δ, a polynomial identity certified by `lazyrich prove`), the drift evaluated in
//!   balls (certified). Bound: on nets with P ≤ [`MAX_ENCLOSED_PARAMS`] proven (|Q(sim) − Q(V)|
//!   over the validated enclosure V), the accumulated-local-error estimate through the quadratic
//!   form as the promise; on larger nets that estimate is the bound.
//! - `WL-T42`: Theorem 4.2's β flow (Tsit45 and BDF with the analytic Fréchet Jacobian) vs the
//!   parameter flow's β = WᵀA, both at rtol 1e-12, relative error ≤ [`THM42_REL_TOL`], whitened
//!   and non-whitened X, every δ regime, η_a ≠ η_w. On nets with P ≤ [`MAX_ENCLOSED_PARAMS`] the
//!   parameter flow side is the validated enclosure (a proof) and the bound is proven.
//! - `WL-MIRROR`: the mirror-flow identity on singular values (Thm B.6, general η) at every state
//!   of a simulated parameter flow, relative error ≤ [`MIRROR_REL_TOL`].
//! - `WL-CTRL`: negative controls: the same β flow when the width condition is violated
//!   (δ < 0 with h < d, δ > 0 with h < c) must miss the parameter flow by ≥ [`CONTROL_MIN_MISMATCH`],
//!   and the checked constructor `Theorem42Flow::new` must refuse it, naming the condition.

use super::{Certified, Fallback, Mode, Row};
use crate::case::{Case, TwoLayerLinearCase};
use crate::flow::{FlowOptions, Method, Trajectory, integrate};
use crate::metrics::enclosed::linear_conserved;
use crate::metrics::max_abs;
use crate::models::ParameterFlow;
use crate::models::deep_linear::{DeepLinear, LinearData};
use crate::models::two_layer_linear::{Theorem42Flow, TwoLayerLinear, isotropic_init};
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::taylor::cases;
use crate::taylor::validated::ValidatedOptions;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::Arc;

/// Theorem 4.2 flow vs parameter flow at rtol 1e-12 (atol 1e-14): the promise, 1e-9
/// relative to max|β|. Both solutions carry a global error of roughly N_steps·rtol ≈ 1e-10
/// (a few hundred steps), so 1e-9 holds with margin when the theorem is right, and a wrong
/// theorem (or a wrong square root) would show at O(1) (see the controls).
pub const THM42_REL_TOL: f64 = 1e-9;
/// Tolerances of the Theorem 4.2 comparison.
pub const THM42_RTOL: f64 = 1e-12;
/// Absolute tolerance of the Theorem 4.2 comparison.
pub const THM42_ATOL: f64 = 1e-14;
/// A violated width condition must change β(t) by at least this, relative to max|β|
/// (`docs/theory.md` §2.4 reports ≈ 1e-1 for its controls).
pub const CONTROL_MIN_MISMATCH: f64 = 1e-3;

/// Why the conservation bound.
pub const CONS_BOUND_WHY: &str = "accumulated local error e = N_steps·√p·(atol + rtol·max|θ|) (diffsol's RMS local error test, \
     no amplification assumed), through the quadratic form: |δQ_ij| ≤ 2·η_max·m·max|θ|·e + η_max·m·e², m = \
     inner dimension (c, d or the hidden width)";

/// A catalog entry.
#[derive(Debug, Clone)]
pub struct WideCase {
    /// Name.
    pub name: String,
    /// Input dimension.
    pub d: usize,
    /// Output dimension.
    pub c: usize,
    /// Hidden width.
    pub h: usize,
    /// Samples.
    pub n: usize,
    /// δ of the isotropic initialisation Δ = δI_h.
    pub delta: f64,
    /// η_a.
    pub eta_a: f64,
    /// η_w.
    pub eta_w: f64,
    /// Seed of the data and initialisation.
    pub seed: u64,
    /// X with orthonormal columns (n ≥ d) or a Gaussian X.
    pub whitened: bool,
    /// Final time.
    pub t_end: f64,
    /// In the quick catalog.
    pub quick: bool,
}

#[allow(clippy::too_many_arguments)]
fn wc(
    name: &str,
    d: usize,
    c: usize,
    h: usize,
    delta: f64,
    eta_a: f64,
    eta_w: f64,
    seed: u64,
    whitened: bool,
    quick: bool,
) -> WideCase {
    WideCase {
        name: name.into(),
        d,
        c,
        h,
        n: if whitened { d + 2 } else { d + 4 },
        delta,
        eta_a,
        eta_w,
        seed,
        whitened,
        t_end: 5.0,
        quick,
    }
}

/// The cases satisfying Theorem 4.2's width condition (every δ regime; η_a ≠ η_w).
pub fn catalog() -> Vec<WideCase> {
    vec![
        wc("w3x2_down_h3", 3, 2, 3, -1.5, 0.5, 2.0, 101, false, true),
        wc("w3x2_up_h2", 3, 2, 2, 1.2, 2.0, 0.5, 102, false, true),
        wc("w3x2_bal_h4", 3, 2, 4, 0.0, 1.0, 1.5, 103, false, true),
        wc("w3x2_bal_h2_white", 3, 2, 2, 0.0, 1.0, 1.0, 104, true, true),
        wc("w3x2_up_small_h2", 3, 2, 2, 1e-4, 1.0, 1.0, 105, false, true),
        wc("w3x2_down_large_h3", 3, 2, 3, -25.0, 1.0, 1.0, 106, true, true),
        wc("w3x2_up_large_h2", 3, 2, 2, 25.0, 0.7, 1.3, 107, false, false),
        wc("w20x10_down_h20", 20, 10, 20, -1.0, 1.0, 1.5, 108, false, true),
        wc("w20x10_up_h10", 20, 10, 10, 1.0, 1.5, 1.0, 109, false, false),
        wc("w20x10_bal_h15_white", 20, 10, 15, 0.0, 1.0, 1.0, 110, true, false),
    ]
}

/// Negative controls: isotropic initialisations whose width violates Theorem 4.2's condition.
pub fn controls() -> Vec<WideCase> {
    vec![
        wc("ctrl_w3x2_down_h2", 3, 2, 2, -1.0, 1.0, 1.0, 121, false, true),
        wc("ctrl_w3x2_up_h1", 3, 2, 1, 1.0, 1.0, 1.0, 122, false, true),
        wc("ctrl_w20x10_down_h15", 20, 10, 15, -1.0, 1.0, 1.0, 123, false, false),
    ]
}

/// Seeded data: X (n×d, orthonormal columns when `whitened`, else Gaussian/√n), Y (n×c).
pub fn data_rows(n: usize, d: usize, c: usize, seed: u64, whitened: bool) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut gauss = |r: usize, k: usize| DMatrix::<f64>::from_fn(r, k, |_, _| StandardNormal.sample(&mut rng));
    let x = if whitened {
        gauss(n, n).qr().q().columns(0, d).into_owned()
    } else {
        gauss(n, d) * (1.0 / (n as f64).sqrt()) * 1.5
    };
    let y = gauss(n, c);
    let rows = |m: &DMatrix<f64>| (0..m.nrows()).map(|i| m.row(i).iter().copied().collect()).collect();
    (rows(&x), rows(&y))
}

/// Model, θ0 = (W0, A0) with Δ = δI_h, and the data of a case.
///
/// # Errors
/// A message when the initialisation or the model cannot be built.
pub fn build(w: &WideCase) -> Result<(TwoLayerLinear, Vec<f64>, LinearData), String> {
    let (x, y) = data_rows(w.n, w.d, w.c, w.seed, w.whitened);
    let data = LinearData::new(&x, &y).map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(w.seed ^ 0xBEEF);
    let beta0: Vec<f64> = (0..w.d * w.c)
        .map(|_| 0.3 * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng) / (w.d as f64).sqrt())
        .collect::<Vec<f64>>();
    let (wm, am) =
        isotropic_init(&beta0, w.d, w.c, w.h, w.delta, w.eta_a, w.eta_w, Some(w.seed)).map_err(|e| e.to_string())?;
    let m = TwoLayerLinear::new(data.clone(), w.h, w.eta_a, w.eta_w).map_err(|e| e.to_string())?;
    let th = m.pack(&wm, &am);
    Ok((m, th, data))
}

/// The case file of a catalog entry (CLI contract, `"model": "two_layer_linear"`).
///
/// # Errors
/// As [`build`].
pub fn to_case(w: &WideCase) -> Result<TwoLayerLinearCase, String> {
    let (m, th, _) = build(w)?;
    let (x, y) = data_rows(w.n, w.d, w.c, w.seed, w.whitened);
    let num = |v: f64| Num::from_f64(v).expect("finite");
    let mat = |rows: &[Vec<f64>]| rows.iter().map(|r| r.iter().map(|v| num(*v)).collect()).collect();
    let split =
        |s: &[f64], r: usize, k: usize| -> Vec<Vec<f64>> { (0..r).map(|i| s[i * k..(i + 1) * k].to_vec()).collect() };
    let wlen = w.h * w.d;
    Ok(TwoLayerLinearCase {
        x: mat(&x),
        y: mat(&y),
        a0: mat(&split(&th[wlen..], w.h, w.c)),
        w0: mat(&split(&th[..wlen], w.h, w.d)),
        eta_a: num(m.eta_a()),
        eta_w: num(m.eta_w()),
        times: (0..=10).map(|k| num(w.t_end * k as f64 / 10.0)).collect(),
    })
}

/// Regime label of δ, as for the single neuron.
pub fn regime(delta: f64) -> String {
    super::single_neuron::regime(delta)
}

fn times(t_end: f64) -> Vec<f64> {
    (0..=10).map(|k| t_end * k as f64 / 10.0).collect()
}

pub(super) fn base_row(
    family: &str,
    case: &str,
    regime: String,
    check: &str,
    method: &str,
    tol: Option<f64>,
    quantity: &str,
) -> Row {
    Row::pending(check, family, case, regime, method, tol, quantity)
}

/// A row for a check that could not run.
pub(super) fn failed_row(
    family: &str,
    case: &str,
    regime: String,
    check: &str,
    method: &str,
    tol: Option<f64>,
    note: String,
) -> Row {
    let mut r = base_row(family, case, regime, check, method, tol, "-");
    r.note = note;
    r
}

/// The reference of every conservation row: the conserved matrices at t = 0.
pub(super) const EXACT_Q0_METHOD: &str = "exact: the value at t = 0 from the decimal inputs, in ball arithmetic (the exact \
     flow conserves it: a polynomial identity, certified by `lazyrich prove`); the drift |Q(sim) − Q(θ0)| is evaluated \
     in balls, so the error is certified";

/// Largest linear net whose conservation rows get a validated enclosure (cost per step grows as
/// P³; the catalog's nets up to this size take ≲ 1 s at [`ENCLOSURE_PREC`]).
pub const MAX_ENCLOSED_PARAMS: usize = 30;
/// Precision of the validated enclosures behind the conservation rows' proven bounds.
pub const ENCLOSURE_PREC: u32 = 128;
/// Tolerance of those enclosures: widths ≈ 1e-17, far below the drifts measured (≥ 1e-12 at the
/// rows' rtol 1e-10), at a third of the cost of tol 1e-22.
pub const ENCLOSURE_TOL: f64 = 1e-18;

/// The validated enclosure of a linear net's parameter flow at the case's times, with the
/// layer sizes, rates and θ0 as balls: the proof behind the conservation rows' bounds.
pub(super) struct LinearEnclosure {
    dims: Vec<usize>,
    etas: Vec<Ball>,
    theta0: Vec<Ball>,
    /// The case's times (binary64 values of its decimals).
    times: Vec<f64>,
    /// The enclosures of θ at those times.
    pub(super) states: Vec<Vec<Ball>>,
    /// β = B_0⋯B_{K−1} (d×c, row-major) over each state, by the Taylor field's own formula.
    pub(super) beta: Vec<Vec<Ball>>,
}

impl LinearEnclosure {
    /// Enclose `case` (two-layer or deep linear) at its times.
    ///
    /// # Errors
    /// The net is above [`MAX_ENCLOSED_PARAMS`], or the validated integrator fails or stops.
    pub(super) fn new(case: &Case) -> Result<Self, Fallback> {
        let (dims, etas, theta0) =
            exact_start(case, ENCLOSURE_PREC).map_err(|e| Fallback::Failed(format!("exact inputs: {e}")))?;
        if theta0.len() > MAX_ENCLOSED_PARAMS {
            return Err(Fallback::NotAttempted(format!(
                "P = {} parameters, above {MAX_ENCLOSED_PARAMS} (cost per step ∝ P³)",
                theta0.len()
            )));
        }
        let mut opts = ValidatedOptions::new(ENCLOSURE_PREC);
        opts.tol = Some(ENCLOSURE_TOL);
        let tr = cases::enclose_case(case, &opts).map_err(|e| Fallback::Failed(format!("validated enclosure: {e}")))?;
        if let Some(st) = tr.stopped {
            return Err(Fallback::Failed(format!(
                "the validated enclosure stopped early: {st:?}"
            )));
        }
        let b = |v: &Num| cases::ball_of(v, ENCLOSURE_PREC);
        let jet = match case {
            Case::TwoLayerLinear(c) => cases::two_layer_linear(c, &b).0,
            Case::DeepLinear(c) => cases::deep_linear(c, &b).0,
            _ => return Err(Fallback::Failed("not a linear network".into())),
        };
        let beta = tr.states.iter().map(|th| jet.beta(th)).collect();
        let times = match case {
            Case::TwoLayerLinear(c) => c.times.iter().map(Num::to_f64).collect(),
            Case::DeepLinear(c) => c.times.iter().map(Num::to_f64).collect(),
            _ => Vec::new(),
        };
        Ok(LinearEnclosure {
            dims,
            etas,
            theta0,
            times,
            states: tr.states,
            beta,
        })
    }
}

impl LinearEnclosure {
    /// The enclosure at the times `ts`, each one of its own times exactly.
    ///
    /// # Errors
    /// A time that is not one of the enclosure's.
    pub(super) fn at_times(&self, ts: &[f64]) -> Result<LinearEnclosure, Fallback> {
        let idx = ts
            .iter()
            .map(|t| {
                self.times
                    .iter()
                    .position(|u| u == t)
                    .ok_or_else(|| Fallback::Failed(format!("t = {t} is not one of the enclosure's times")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LinearEnclosure {
            dims: self.dims.clone(),
            etas: self.etas.clone(),
            theta0: self.theta0.clone(),
            times: ts.to_vec(),
            states: idx.iter().map(|&i| self.states[i].clone()).collect(),
            beta: idx.iter().map(|&i| self.beta[i].clone()).collect(),
        })
    }
}

/// An enclosure shared by the rows that need it.
pub(super) type SharedEnclosure = Arc<Result<LinearEnclosure, Fallback>>;

/// [`LinearEnclosure::new`], computed once per process for each case (the same decimal inputs
/// and times give the same enclosure): `WL-TAYLOR` reuses the one behind `WL-CONS`/`WL-T42`.
pub(super) fn enclose_shared(case: &Case) -> SharedEnclosure {
    static CACHE: super::Memo<SharedEnclosure> = super::Memo::new();
    CACHE.get(format!("{case:?}"), || Arc::new(LinearEnclosure::new(case)))
}

/// Layer sizes, rates and θ0 of a linear case ([`exact_start`]).
pub(super) type ExactStart = (Vec<usize>, Vec<Ball>, Vec<Ball>);

/// The layer sizes \[d, h_1, …, c\], the rates (in the order of
/// [`linear_conserved`]) and θ0 of a linear case, the decimals enclosed in balls at `prec`.
///
/// # Errors
/// Not a linear network.
pub(super) fn exact_start(case: &Case, prec: u32) -> Result<ExactStart, String> {
    let (dims, etas, theta0): (Vec<usize>, Vec<&Num>, Vec<&Num>) = match case {
        Case::TwoLayerLinear(c) => (
            vec![
                c.x.first().map_or(0, Vec::len),
                c.w0.len(),
                c.y.first().map_or(0, Vec::len),
            ],
            vec![&c.eta_w, &c.eta_a],
            c.w0.iter().chain(&c.a0).flatten().collect(),
        ),
        Case::DeepLinear(c) => {
            let mut dims = vec![c.x.first().map_or(0, Vec::len)];
            dims.extend(c.weights0[..c.weights0.len().saturating_sub(1)].iter().map(Vec::len));
            dims.push(c.y.first().map_or(0, Vec::len));
            (
                dims,
                c.etas.iter().collect(),
                c.weights0.iter().flatten().flatten().collect(),
            )
        }
        _ => return Err("not a linear network".into()),
    };
    let b = |v: &Num| cases::ball_of(v, prec);
    Ok((
        dims,
        etas.into_iter().map(b).collect(),
        theta0.into_iter().map(b).collect(),
    ))
}

/// A `*-CONS` row: drift of all conserved matrices along a parameter trajectory. With an
/// enclosure, the drift is measured exactly (in balls, from the same binary64 states) against the
/// initial matrices from the decimal inputs, and bounded by a proof: the enclosure contains the
/// exact flow, whose conserved matrices are the initial ones, so |Q(sim) − Q(θ0)| ≤ |Q(sim) −
/// Q(V)|; the accumulated-error estimate stays as the promise the drift must meet.
#[allow(clippy::too_many_arguments)]
pub(super) fn conservation_row(
    family: &str,
    case: &str,
    regime: String,
    check: &str,
    deep: &DeepLinear,
    theta0: &[f64],
    tr: &Trajectory,
    opts: &FlowOptions,
    enclosure: &Result<LinearEnclosure, Fallback>,
) -> Row {
    let p = theta0.len() as f64;
    let th_max = tr.states.iter().map(|s| max_abs(s)).fold(0.0, f64::max);
    let e = tr.stats.steps.max(1) as f64 * p.sqrt() * (opts.atol + opts.rtol * th_max);
    let eta_max = deep.etas().iter().copied().fold(0.0, f64::max);
    let m = deep.dims().iter().copied().max().unwrap_or(1) as f64;
    let promise = 2.0 * eta_max * m * th_max * e + eta_max * m * e * e;
    let scale = deep.conserved_scale(theta0).max(f64::MIN_POSITIVE);
    let mut r = base_row(
        family,
        case,
        regime,
        check,
        opts.method.as_str(),
        Some(opts.rtol),
        "conserved matrices",
    );
    r.note = format!("steps={} max|θ|={th_max:.3e}", tr.stats.steps);
    match enclosure {
        Ok(enc) if enc.states.len() != tr.states.len() => {
            // An enclosure that does not match the run fails the row (pending: NaN, pass false).
            r.note.push_str(&format!(
                "; enclosure has {} times, the run {}",
                enc.states.len(),
                tr.states.len()
            ));
            return r;
        }
        Ok(enc) => {
            let conserved = |th: &[Ball]| linear_conserved(&enc.dims, &enc.etas, th);
            let q0 = conserved(&enc.theta0);
            let Certified {
                err: drift,
                rb,
                bound,
                margin,
            } = Certified::conserved_along(conserved, &q0, &tr.states, &enc.states, ENCLOSURE_PREC);
            r.abs_err = drift;
            r.rel_err = drift / scale;
            r.ref_bound = rb;
            r.ref_method = EXACT_Q0_METHOD.into();
            r.ref_rigorous = margin.is_finite();
            r.drift = Some(drift);
            r.bound = bound;
            r.bound_rigorous = margin.is_finite();
            r.bound_why = format!(
                "proven: max |Q(sim) − Q(V)| rounded up, V the validated enclosure of the parameter flow of the decimal \
                 inputs ({ENCLOSURE_PREC}-bit Taylor in ball arithmetic, tol {ENCLOSURE_TOL:e}); the drift must also \
                 meet the promise {CONS_BOUND_WHY} (an estimate)"
            );
            r.margin = margin;
            r.pass = margin.is_finite() && margin <= 1.0 && bound <= promise;
            r.note
                .push_str(&format!("; certified drift / promise = {:.3e}", bound / promise));
        }
        Err(why) => {
            // No enclosure: the drift is still measured exactly, in
            // balls, against the exact initial value (the exact flow conserves it: a polynomial
            // identity, `lazyrich prove`), so the reference and the error are certified; the
            // bound stays the accumulated-error estimate.
            let b = |x: &f64| Ball::from_f64(ENCLOSURE_PREC, *x);
            let etas: Vec<Ball> = deep.etas().iter().map(b).collect();
            let dims = deep.dims().to_vec();
            let conserved = |th: &[Ball]| linear_conserved(&dims, &etas, th);
            let q0 = conserved(&theta0.iter().map(b).collect::<Vec<_>>());
            let mut acc = Certified::default();
            for th in &tr.states {
                let qs = conserved(&th.iter().map(b).collect::<Vec<_>>());
                for (s, z) in qs.iter().zip(&q0) {
                    acc.add_measured(s, z, promise);
                }
            }
            r.abs_err = acc.err;
            r.rel_err = acc.err / scale;
            r.ref_bound = acc.rb;
            r.ref_method = EXACT_Q0_METHOD.into();
            r.ref_rigorous = acc.margin.is_finite();
            r.drift = Some(acc.err);
            r.bound = promise;
            r.bound_why = format!("an estimate ({why}): {CONS_BOUND_WHY}");
            r.margin = acc.margin;
            r.pass = acc.margin.is_finite() && acc.margin <= 1.0;
        }
    }
    r
}

/// max|β_param − β_thm| and max|β_param| over the time grid.
fn beta_mismatch(m: &TwoLayerLinear, tp: &Trajectory, tb: &Trajectory) -> (f64, f64) {
    let (mut err, mut scale) = (0.0f64, 0.0f64);
    for (th, b) in tp.states.iter().zip(&tb.states) {
        let bp = m.deep().beta(th);
        for (x, y) in bp.iter().zip(b) {
            err = err.max((x - y).abs());
            scale = scale.max(x.abs());
        }
    }
    (err, scale)
}

/// Mirror-flow identity on the singular values (P1 Thm B.6, `docs/theory.md` §2.5, general η):
/// λ̇_i = −√(δ² + 4η_aη_w λ_i²) ∂L/∂λ_i with ∂L/∂λ_i = u_iᵀ G v_i, i.e. λ̇ = −(∇²Φ_δ)⁻¹∇_λL
/// with q_δ'' = 1/√(δ² + 4η_aη_w x²). Checked at every state of a simulated parameter flow:
/// λ̇_i = u_iᵀ β̇ v_i (first-order perturbation of a simple singular value), with β̇ = ẆᵀA + WᵀȦ
/// from the parameter flow's own right-hand side. Relative tolerance: [`MIRROR_REL_TOL`].
pub const MIRROR_REL_TOL: f64 = 1e-8;

/// The `WL-MIRROR` row of one case along its parameter trajectory `tp`.
pub fn mirror_row(w: &WideCase, m: &TwoLayerLinear, data: &LinearData, tp: &Trajectory, reg: String) -> Row {
    use crate::models::VectorField;
    let (d, c) = (w.d, w.c);
    let eta = w.eta_a * w.eta_w;
    let (mut err, mut scale, mut min_gap) = (0.0f64, 0.0f64, f64::INFINITY);
    let mut thdot = vec![0.0; tp.states[0].len()];
    let (mut r, mut g) = (vec![0.0; data.n * c], vec![0.0; d * c]);
    let wlen = w.h * d;
    for th in &tp.states {
        ParameterFlow(m).eval_inplace(th, &mut thdot);
        // β̇ = ẆᵀA + WᵀȦ (β is bilinear in (W, A)).
        let mut mixed = thdot[..wlen].to_vec();
        mixed.extend_from_slice(&th[wlen..]);
        let mut bdot = m.deep().beta(&mixed);
        let mut mixed2 = th[..wlen].to_vec();
        mixed2.extend_from_slice(&thdot[wlen..]);
        for (x, y) in bdot.iter_mut().zip(m.deep().beta(&mixed2)) {
            *x += y;
        }
        let beta = m.deep().beta(th);
        data.residual_grad(&beta, &mut r, &mut g);
        let svd = DMatrix::from_row_slice(d, c, &beta).svd(true, true);
        let (u, vt) = (svd.u.expect("requested"), svd.v_t.expect("requested"));
        let sv = &svd.singular_values;
        let bd = DMatrix::from_row_slice(d, c, &bdot);
        let gm = DMatrix::from_row_slice(d, c, &g);
        for i in 0..sv.len() {
            let gap = (0..sv.len())
                .filter(|&j| j != i)
                .map(|j| (sv[i] - sv[j]).abs())
                .fold(sv[i], f64::min);
            min_gap = min_gap.min(gap);
            let lhs = (u.column(i).transpose() * &bd * vt.row(i).transpose())[(0, 0)];
            let dl = (u.column(i).transpose() * &gm * vt.row(i).transpose())[(0, 0)];
            let rhs = -(w.delta * w.delta + 4.0 * eta * sv[i] * sv[i]).sqrt() * dl;
            err = err.max((lhs - rhs).abs());
            scale = scale.max(lhs.abs());
        }
    }
    let mut row = base_row(
        "wide_linear",
        &w.name,
        reg,
        "WL-MIRROR",
        "tsit45",
        Some(THM42_RTOL),
        "singular-value velocities",
    );
    row.abs_err = err;
    row.rel_err = err / scale;
    row.ref_method = "−√(δ² + 4η_aη_w λ²)·u_iᵀGv_i at the same simulated state".into();
    row.bound = MIRROR_REL_TOL * scale;
    row.bound_why = "identity at each state, exact when Δ = δI: f64 rounding of the SVD (≈ ε/gap) plus the drift of Δ                      (≤ 1e-10 relative, WL-CONS); 1e-8 relative leaves ≥ 100×"
        .into();
    row.margin = err / row.bound;
    row.pass = row.margin.is_finite() && row.margin <= 1.0;
    row.note = format!("min singular-value gap (or σ_min) along the flow = {min_gap:.3e}");
    row
}

/// The rows of one two-layer linear case `w` (its model `m`, θ0 and data at the times `ts`):
/// `WL-CONS` for every method (tsit45, plus BDF in the full catalog, on nets with d·c > 50), and
/// with `t42` (Δ = δI_h and Theorem 4.2's width condition hold) `WL-MIRROR` and `WL-T42`.
/// The catalog ([`run`]) and `lazyrich verify --case` both call it.
#[allow(clippy::too_many_arguments)]
pub(super) fn case_rows(
    w: &WideCase,
    m: &TwoLayerLinear,
    th0: &[f64],
    data: &LinearData,
    ts: &[f64],
    enclosure: &Result<LinearEnclosure, Fallback>,
    mode: Mode,
    t42: bool,
    out: &mut Vec<Row>,
) {
    let fam = "wide_linear";
    let reg = regime(w.delta);
    let opts_ref = FlowOptions::new(Method::Tsit45).with_tol(THM42_RTOL, THM42_ATOL);
    let big = w.d * w.c > 50;
    // WL-CONS: every method on the small nets; on the large ones (p = h(d+c) ≥ 300 parameters,
    // where each implicit step assembles a p×p Hessian) tsit45, plus BDF in the full catalog.
    let methods: &[Method] = match (big, mode) {
        (false, _) => &Method::ALL,
        (true, Mode::Quick) => &[Method::Tsit45],
        (true, Mode::Full) => &[Method::Tsit45, Method::Bdf],
    };
    for &method in methods {
        let opts = FlowOptions::new(method).with_tol(1e-10, 1e-12);
        match integrate(&ParameterFlow(m), th0, ts, &opts) {
            Ok(tr) => out.push(conservation_row(
                fam,
                &w.name,
                reg.clone(),
                "WL-CONS",
                m.deep(),
                th0,
                &tr,
                &opts,
                enclosure,
            )),
            Err(e) => out.push(failed_row(
                fam,
                &w.name,
                reg.clone(),
                "WL-CONS",
                method.as_str(),
                Some(1e-10),
                e.to_string(),
            )),
        }
    }
    if !t42 {
        return;
    }
    // WL-T42: reference parameter flow at rtol 1e-12.
    let tp = match integrate(&ParameterFlow(m), th0, ts, &opts_ref) {
        Ok(t) => t,
        Err(e) => {
            out.push(failed_row(
                fam,
                &w.name,
                reg,
                "WL-T42",
                "reference",
                None,
                e.to_string(),
            ));
            return;
        }
    };
    let field = match Theorem42Flow::new(data.clone(), w.eta_a, w.eta_w, w.delta, w.h) {
        Ok(f) => f,
        Err(e) => {
            out.push(failed_row(fam, &w.name, reg, "WL-T42", "-", None, e.to_string()));
            return;
        }
    };
    out.push(mirror_row(w, m, data, &tp, reg.clone()));
    let beta0 = m.deep().beta(th0);
    let t42_methods: &[Method] = if big && mode == Mode::Quick {
        &[Method::Tsit45]
    } else {
        &[Method::Tsit45, Method::Bdf]
    };
    for &method in t42_methods {
        let opts = FlowOptions::new(method).with_tol(THM42_RTOL, THM42_ATOL);
        let tb = match integrate(&field, &beta0, ts, &opts) {
            Ok(t) => t,
            Err(e) => {
                out.push(failed_row(
                    fam,
                    &w.name,
                    reg.clone(),
                    "WL-T42",
                    method.as_str(),
                    Some(THM42_RTOL),
                    e.to_string(),
                ));
                continue;
            }
        };
        let (err, scale) = beta_mismatch(m, &tp, &tb);
        let mut r = base_row(
            fam,
            &w.name,
            reg.clone(),
            "WL-T42",
            method.as_str(),
            Some(THM42_RTOL),
            "beta",
        );
        // Against the validated enclosure of the parameter flow (small nets): the
        // theorem's β flow vs the exact flow's β, proven bound, the promise as the verdict.
        if let Ok(enc) = enclosure {
            if enc.beta.len() != tb.states.len() {
                r.note = format!("enclosure has {} times, the run {}", enc.beta.len(), tb.states.len());
                out.push(r);
                continue;
            }
            let mut acc = Certified::default();
            for (b, vb) in tb.states.iter().zip(&enc.beta) {
                for (x, v) in b.iter().zip(vb) {
                    acc.add_value(*x, v);
                }
            }
            let promise = THM42_REL_TOL * scale;
            r.abs_err = acc.err;
            r.rel_err = acc.err / scale;
            r.ref_bound = acc.rb;
            r.ref_method = format!(
                "β = WᵀA over the validated enclosure of the parameter flow θ = (W, A) of the decimal inputs \
                     ({ENCLOSURE_PREC}-bit Taylor in ball arithmetic, tol {ENCLOSURE_TOL:e}): a proof"
            );
            r.ref_rigorous = acc.margin.is_finite();
            r.bound = acc.bound;
            r.bound_rigorous = acc.margin.is_finite();
            r.bound_why = format!(
                "proven: max |β_thm − β_V| rounded up; also required ≤ the promise 1e-9·max|β| = \
                     {promise:.3e} (an estimate: both flows' global errors ≈ N_steps·rtol)"
            );
            r.margin = acc.margin;
            r.pass = acc.margin.is_finite() && acc.margin <= 1.0 && acc.bound <= promise;
            r.note = format!(
                "h={} d={} c={} whitened={} steps beta={} whitening_defect={:.1e}; certified error / promise = \
                     {:.3e}",
                w.h,
                w.d,
                w.c,
                w.whitened,
                tb.stats.steps,
                data.whitening_defect(),
                acc.bound / promise
            );
            out.push(r);
            continue;
        }
        r.abs_err = err;
        r.rel_err = err / scale;
        r.ref_method = "parameter flow θ = (W, A), tsit45 rtol 1e-12 atol 1e-14, β = WᵀA".into();
        r.ref_bound = tp.stats.steps as f64 * THM42_RTOL * scale;
        r.drift = Some(
            tp.states
                .iter()
                .map(|s| m.deep().conserved_drift(th0, s))
                .fold(0.0, f64::max),
        );
        r.bound = THM42_REL_TOL * scale;
        r.bound_why = "promise: ≤ 1e-9·max|β| at rtol 1e-12 (both flows' global errors ≈ N_steps·rtol)".into();
        r.margin = err / r.bound;
        r.pass = r.margin.is_finite() && r.margin <= 1.0;
        r.note = format!(
            "h={} d={} c={} eta_a={} eta_w={} whitened={} steps param={} beta={} whitening_defect={:.1e}",
            w.h,
            w.d,
            w.c,
            w.eta_a,
            w.eta_w,
            w.whitened,
            tp.stats.steps,
            tb.stats.steps,
            data.whitening_defect()
        );
        if let Err(why) = enclosure {
            r.note.push_str(&format!("; bound is an estimate: {why}"));
        }
        out.push(r);
    }
}

/// Run the wide-linear checks.
pub fn run(mode: Mode) -> Vec<Row> {
    let fam = "wide_linear";
    use rayon::prelude::*;
    let opts_ref = FlowOptions::new(Method::Tsit45).with_tol(THM42_RTOL, THM42_ATOL);
    // The cases run in parallel; their rows come back in catalog order.
    let entries: Vec<_> = catalog()
        .into_iter()
        .filter(|w| mode == Mode::Full || w.quick)
        .collect();
    let per_case: Vec<Vec<Row>> = entries.par_iter().map(|w| entry_rows(w, mode)).collect();
    let mut out = per_case.concat();
    // WL-CTRL: negative controls.
    for w in controls().into_iter().filter(|w| mode == Mode::Full || w.quick) {
        let reg = regime(w.delta);
        let res = (|| -> Result<Row, String> {
            let (m, th0, data) = build(&w)?;
            let ts = times(w.t_end);
            let tp = integrate(&ParameterFlow(&m), &th0, &ts, &opts_ref).map_err(|e| e.to_string())?;
            let refused = Theorem42Flow::new(data.clone(), w.eta_a, w.eta_w, w.delta, w.h)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "NOT refused".into());
            let field = Theorem42Flow::new_unchecked(data, w.eta_a, w.eta_w, w.delta).map_err(|e| e.to_string())?;
            let tb = integrate(&field, &m.deep().beta(&th0), &ts, &opts_ref).map_err(|e| e.to_string())?;
            let (err, scale) = beta_mismatch(&m, &tp, &tb);
            let mut r = base_row(
                "wide_linear",
                &w.name,
                reg.clone(),
                "WL-CTRL",
                "tsit45",
                Some(THM42_RTOL),
                "beta mismatch (must be large)",
            );
            r.abs_err = err;
            r.rel_err = err / scale;
            r.ref_method = "parameter flow, tsit45 rtol 1e-12".into();
            r.bound = CONTROL_MIN_MISMATCH;
            r.bound_why = "negative control: the relative mismatch must be ≥ 1e-3 (margin = 1e-3 / mismatch)".into();
            r.margin = CONTROL_MIN_MISMATCH / r.rel_err;
            r.pass = r.margin.is_finite() && r.margin <= 1.0 && refused.contains("Theorem 4.2 needs");
            r.note = format!("h={} d={} c={}; checked constructor: {refused}", w.h, w.d, w.c);
            Ok(r)
        })();
        out.push(res.unwrap_or_else(|e| failed_row(fam, &w.name, reg, "WL-CTRL", "tsit45", None, e)));
    }
    out
}

/// The catalog's rows of one of its entries in `mode` (what [`run`] writes for it, before the
/// negative controls).
pub fn entry_rows(w: &WideCase, mode: Mode) -> Vec<Row> {
    let reg = regime(w.delta);
    let (m, th0, data) = match build(w) {
        Ok(v) => v,
        Err(e) => return vec![failed_row("wide_linear", &w.name, reg, "WL-T42", "-", None, e)],
    };
    let ts = times(w.t_end);
    let enclosure = match to_case(w) {
        Ok(c) => enclose_shared(&Case::TwoLayerLinear(c)),
        Err(e) => Arc::new(Err(Fallback::Failed(format!("case file: {e}")))),
    };
    let mut out = Vec::new();
    case_rows(w, &m, &th0, &data, &ts, &enclosure, mode, true, &mut out);
    out
}

/// Rows [t, σ_1, …] of one curve.
pub type SvRows = Vec<Vec<f64>>;

/// Data of the Theorem 4.2 figure: for each case (label, δ), time series of the singular values
/// of β from the Theorem 4.2 flow (`theory`) and from the parameter flow (`sim`), rows
/// [t, σ_1, …, σ_min(d,c)].
pub struct Thm42FigData {
    /// (case label, theory rows, simulation rows).
    pub curves: Vec<(String, SvRows, SvRows)>,
}

/// Singular values of β (d×c), descending.
fn singular_values(beta: &[f64], d: usize, c: usize) -> Vec<f64> {
    let mut s: Vec<f64> = DMatrix::from_row_slice(d, c, beta)
        .singular_values()
        .iter()
        .copied()
        .collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Tolerance of both flows in [`thm42_fig_data`] (Tsit45, atol = rtol·1e-2): the WL-T42 rows'.
pub const THM42_FIG_RTOL: f64 = 1e-12;

/// Case names of the three panels of [`thm42_fig_data`], in order (the WL-T42 rows' `case`).
pub const THM42_FIG_CASES: [&str; 3] = ["w3x2_down_h3", "w3x2_bal_h4", "w3x2_up_h2"];

/// Integrate the three d = 3, c = 2 regimes (δ < 0, δ = 0, δ > 0) both ways (Tsit45 at
/// [`THM42_FIG_RTOL`]): the Theorem 4.2 β flow on a 401-point grid, the parameter flow on every
/// 10th of those times.
///
/// # Errors
/// A message when a case cannot be built or integrated.
pub fn thm42_fig_data() -> Result<Thm42FigData, String> {
    let mut curves = Vec::new();
    let opts = FlowOptions::new(Method::Tsit45).with_tol(THM42_FIG_RTOL, THM42_FIG_RTOL * 1e-2);
    for name in THM42_FIG_CASES {
        let w = catalog().into_iter().find(|w| w.name == name).ok_or("missing case")?;
        let (m, th0, data) = build(&w)?;
        // The β flow on a fine grid (a smooth line), the parameter flow on every 10th of its
        // times (the same expression, so the same t).
        let ts: Vec<f64> = (0..=400).map(|k| w.t_end * k as f64 / 400.0).collect();
        let ts_sim: Vec<f64> = (0..=400).step_by(10).map(|k| w.t_end * k as f64 / 400.0).collect();
        let field = Theorem42Flow::new(data, w.eta_a, w.eta_w, w.delta, w.h).map_err(|e| e.to_string())?;
        let tb = integrate(&field, &m.deep().beta(&th0), &ts, &opts).map_err(|e| e.to_string())?;
        let tp = integrate(&ParameterFlow(&m), &th0, &ts_sim, &opts).map_err(|e| e.to_string())?;
        let rows = |bs: Vec<Vec<f64>>, ts: &[f64]| -> Vec<Vec<f64>> {
            bs.iter()
                .zip(ts)
                .map(|(b, t)| {
                    let mut r = vec![*t];
                    r.extend(singular_values(b, w.d, w.c));
                    r
                })
                .collect()
        };
        let theory = rows(tb.states, &ts);
        let sim = rows(tp.states.iter().map(|th| m.deep().beta(th)).collect(), &ts_sim);
        curves.push((
            format!("δ = {}, h = {}, η_a = {}, η_w = {}", w.delta, w.h, w.eta_a, w.eta_w),
            theory,
            sim,
        ));
    }
    Ok(Thm42FigData { curves })
}
