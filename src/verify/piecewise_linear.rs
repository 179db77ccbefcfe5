//! Two-layer piecewise-linear (ReLU / leaky) checks (P1 §5; `docs/theory.md` §3). Ids (stable; see
//! `verification/README.md`):
//!
//! - `PL-CONS`: δ_k = η_w a_k² − η_a‖w_k‖² conserved along event-located flows. Reference: the
//!   exact δ_k(0) of the decimal inputs in ball arithmetic (rigorous: the exact flow conserves
//!   δ_k, a polynomial identity), the drift evaluated in balls (certified). Bound: on nets with
//!   P ≤ [`MAX_ENCLOSED_PARAMS`] (full catalog) proven, max |δ(sim) − δ(V)| over the validated
//!   enclosure V; above, an estimate (the accumulated local error through the quadratic form).
//! - `PL-EVENT`: event-located flow (switches located as roots of w_kᵀx_i, restart at each)
//!   vs the reference, across switches. With V: rigorous reference, proven bound |θ − V|, the
//!   accumulated-local-error estimate as the promise it must meet; without: estimates.
//! - `PL-PLAIN`: the same problem integrated by the same method at the same tolerance WITHOUT
//!   events (the live, kinked field), next to the event-located run. The claim: event location is
//!   at least as accurate as the plain run (event error ≤ f·plain error, f from
//!   [`plain_factor`]). With V the claim is proven: the proven upper bound on the event-located
//!   error (its `PL-EVENT` bound) ≤ f × a proven lower bound on the plain error (the distance from
//!   θ_plain to V, rounded down); the plain run's error itself is certified against V. Without V
//!   both errors are measured against the Tsit45 reference (an estimate).
//! - `PL-SLIDE`: cases whose reference enters a sliding (Filippov) mode: over the full horizon,
//!   the event-located flow with sliding (equivalent control c_ki ∈ [γ, 1], see
//!   `models::piecewise_linear::FrozenPatternFlow`) vs the reference, within the same
//!   accumulated-error bound (estimates: the validated integrator stops at a sliding entry), and
//!   δ_k conserved through sliding (a second row, quantity δ_k): on a sliding surface
//!   w_kᵀx_i = 0, so sample i adds c_ki·(w_kᵀx_i)·g_i = 0 to dδ_k/dt = −2η_aη_w a_k Σ_i g_i
//!   (σ(z_ki) − c_ki z_ki) for every slope c_ki ∈ [γ, 1], and σ(z) = σ'(z)z elsewhere: δ_k is
//!   conserved exactly by the Filippov flow. That row's reference δ_k(0) is therefore rigorous and
//!   its drift certified; its bound is the estimate.
//!   PL-EVENT/PL-PLAIN/PL-CONS stop at 0.9× the first sliding entry (plain integration chatters
//!   on a sliding surface, so its comparison there is not about kinks).
//! - `PL-SYM`: the symmetrised initialisation gives f(x_i; θ0) = 0 on the training set: exact
//!   when the units pair up bitwise as (w, a), (w, −a) (checked); the f64 value's distance to 0 is
//!   bounded by a proof, |f64 − F| rounded up with F = f(x_i; θ0) in balls at the same binary64
//!   θ0, and must meet the rounding analysis of the sum Σ_k a_kσ(z_ki) (the promise).
//! - `PL-EQ9`: P1 eq. (9) β̇_k = −M_kξ_k and eq. (10) (μ̇_k, dβ̂_k/dt) equal the chain rule of the
//!   parameter flow (β̇ = ȧw + aẇ; μ̇ = ȧ‖w‖ + a ŵᵀẇ; dβ̂/dt = (I − ŵŵᵀ)ẇ/‖w‖) at every output
//!   state of the reference trajectory: both sides in balls at [`IDENTITY_PREC`] bits at the same
//!   binary64 state (the chain rule is the rigorous reference, eq. 9/10 in balls proves the bound
//!   on the f64 eq. 9/10 values), the rounding tolerance [`EQ_REL_TOL`] as the promise.
//!
//! **Reference of the trajectories without an enclosure.** The problem has no closed form, so
//! the reference is the event-located Tsit45 flow at rtol = [`REF_RTOL`], atol = [`REF_ATOL`].
//! Its own error is estimated (not bounded) by its distance to the same integration at 10× looser
//! tolerance ([`REF_CHECK_RTOL`]) — a Richardson-style estimate valid when the error decreases
//! with the tolerance (it does here: Tsit45 is 5th order between switches and the events are
//! located to ~100ε in time).

use super::{Certified, Fallback, Mode, Row, abs_down, ratio};
use crate::case::{Case, PiecewiseLinearCase};
use crate::flow::{FlowError, FlowOptions, Method, Trajectory, integrate, integrate_switched};
use crate::metrics::enclosed::piecewise_deltas;
use crate::metrics::max_abs;
use crate::models::piecewise_linear::{FrozenPatternFlow, LossScale, PiecewiseLinear, SphericalFlow, scaled_init};
use crate::models::{GradientFlowModel, ParameterFlow, VectorField};
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::taylor::TaylorScalar;
use crate::taylor::cases;
use crate::taylor::validated::ValidatedOptions;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Reference tolerances (event-located Tsit45).
pub const REF_RTOL: f64 = 1e-13;
/// Reference absolute tolerance.
pub const REF_ATOL: f64 = 1e-15;
/// The looser run that estimates the reference's error.
pub const REF_CHECK_RTOL: f64 = 1e-12;
/// Pointwise identities (eq. 9–10, chain rule): both sides are a few dozen flops from the same
/// state; 1e-11 relative to the size of the terms is ≈ 5·10⁴ ulp, far above rounding and far below
/// any formula error (which would be O(1)).
pub const EQ_REL_TOL: f64 = 1e-11;

/// Why the accumulated-error bound.
pub const ACC_BOUND_WHY: &str = "accumulated local error e = N_steps·√P·(atol + rtol·max|θ|) (diffsol's RMS local \
     error test per step, no amplification assumed; events restart the method, their location error is that of the \
     interpolant, ≈ the local error)";

/// A catalog entry.
#[derive(Debug, Clone)]
pub struct PlCase {
    /// Name.
    pub name: String,
    /// Leaky slope (0 = ReLU).
    pub gamma: f64,
    /// δ of every neuron.
    pub delta: f64,
    /// Scale τ (|a|‖w‖ = τ²).
    pub tau: f64,
    /// Input dimension.
    pub d: usize,
    /// Hidden width (even: symmetrised).
    pub h: usize,
    /// Samples.
    pub n: usize,
    /// Rates.
    pub eta_a: f64,
    /// Rate of W.
    pub eta_w: f64,
    /// Final time.
    pub t_end: f64,
    /// Seed of data, teacher and directions.
    pub seed: u64,
    /// In the quick catalog.
    pub quick: bool,
}

#[allow(clippy::too_many_arguments)]
fn pc(name: &str, gamma: f64, delta: f64, d: usize, h: usize, n: usize, t_end: f64, seed: u64, quick: bool) -> PlCase {
    PlCase {
        name: name.into(),
        gamma,
        delta,
        tau: 0.5,
        d,
        h,
        n,
        eta_a: 0.8,
        eta_w: 1.25,
        t_end,
        seed,
        quick,
    }
}

/// The catalog: ReLU and leaky, downstream / balanced / upstream δ.
pub fn catalog() -> Vec<PlCase> {
    vec![
        pc("relu_d3h8n12_down", 0.0, -1.0, 3, 8, 12, 10.0, 601, true),
        pc("relu_d3h8n12_bal", 0.0, 0.0, 3, 8, 12, 10.0, 602, true),
        pc("relu_d3h8n12_up", 0.0, 1.0, 3, 8, 12, 10.0, 603, true),
        pc("leaky_d3h8n12_bal", 0.2, 0.0, 3, 8, 12, 10.0, 604, true),
        pc("leaky_d3h8n12_up", 0.2, 1.0, 3, 8, 12, 10.0, 605, false),
        pc("leaky_d3h8n12_down", 0.2, -1.0, 3, 8, 12, 10.0, 606, false),
        pc("relu_d5h16n30_up", 0.0, 2.0, 5, 16, 30, 10.0, 607, false),
    ]
}

/// Unit-sphere data X (n×d row-major), targets from a 2-neuron ReLU teacher (unit w, a = ±1),
/// and the student's m = h/2 unit directions with random signs.
pub fn data(c: &PlCase) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let mut unit_rows = |m: usize| -> Vec<f64> {
        let mut out = Vec::with_capacity(m * c.d);
        for _ in 0..m {
            let v: Vec<f64> = (0..c.d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            out.extend(v.iter().map(|x| x / nrm));
        }
        out
    };
    let x = unit_rows(c.n);
    let tw = unit_rows(2);
    let dirs = unit_rows(c.h / 2);
    let ta = [1.0, -1.0];
    let y: Vec<f64> = (0..c.n)
        .map(|i| {
            (0..2)
                .map(|k| {
                    let z: f64 = (0..c.d).map(|j| tw[k * c.d + j] * x[i * c.d + j]).sum();
                    ta[k] * z.max(0.0)
                })
                .sum()
        })
        .collect();
    let signs: Vec<f64> = (0..c.h / 2).map(|k| if k % 2 == 0 { 1.0 } else { -1.0 }).collect();
    (x, y, dirs, signs)
}

/// Model and θ0 of a case (½Σ loss, P1's theory).
///
/// # Errors
/// A message when the model or the initialisation cannot be built.
pub fn build(c: &PlCase) -> Result<(PiecewiseLinear, Vec<f64>), String> {
    let (x, y, dirs, signs) = data(c);
    let m = PiecewiseLinear::new(x, c.n, c.d, y, c.h, c.gamma, c.eta_a, c.eta_w, LossScale::HalfSum)
        .map_err(|e| e.to_string())?;
    let (w, a) = scaled_init(&dirs, c.d, &signs, c.tau, c.delta, c.eta_a, c.eta_w, true).map_err(|e| e.to_string())?;
    let th = m.pack(&w, &a);
    Ok((m, th))
}

/// The case file of a catalog entry at times `ts` (`"model": "piecewise_linear"`, ½Σ loss): the
/// binary64 data and θ0 of [`build`], each taken exactly as a decimal.
///
/// # Errors
/// As [`build`].
pub fn to_case(c: &PlCase, ts: &[f64]) -> Result<PiecewiseLinearCase, String> {
    let (m, th0) = build(c)?;
    let (x, y, _, _) = data(c);
    let num = |v: &f64| Num::from_f64(*v).map_err(|e| format!("{v}: {e}"));
    let rows = |v: &[f64], k: usize| -> Result<Vec<Vec<Num>>, String> {
        v.chunks(k).map(|r| r.iter().map(num).collect()).collect()
    };
    let (w, a) = th0.split_at(m.h() * m.d());
    Ok(PiecewiseLinearCase {
        x: rows(&x, c.d)?,
        y: y.iter().map(num).collect::<Result<_, _>>()?,
        a0: a.iter().map(num).collect::<Result<_, _>>()?,
        w0: rows(w, c.d)?,
        gamma: num(&c.gamma)?,
        eta_a: num(&c.eta_a)?,
        eta_w: num(&c.eta_w)?,
        times: ts.iter().map(num).collect::<Result<_, _>>()?,
        loss: "half-sum".into(),
    })
}

/// Precision of the validated enclosures behind the certified rows: 53 bits (widths ≈ 1e-11 on
/// the catalog through its switches, below the errors at the rows' rtol ≥ 1e-10; 128 bits gives
/// no narrower boxes there, the switch crossings dominate, at twice the cost).
pub const ENCLOSURE_PREC: u32 = 53;
/// Largest net enclosed (P = h(d + 1)); larger ones keep estimated bounds.
pub const MAX_ENCLOSED_PARAMS: usize = 40;

/// What the per-case rows need of a case: the name and regime columns, the model and θ0 (the
/// binary64 values the solvers run on), the decimal inputs (the exact problem the enclosures and
/// δ_k(0) are computed for) and the output grid of the full horizon.
#[derive(Debug, Clone)]
pub struct PlSetup {
    /// The rows' `case` column.
    pub name: String,
    /// The rows' `regime` column (relu/leaky and the δ regime).
    pub regime: String,
    /// The model (data, γ, rates, loss scale).
    pub model: PiecewiseLinear,
    /// θ0 = (W0 row-major, a0).
    pub th0: Vec<f64>,
    /// The decimal inputs (their `times` are ignored: each enclosure sets its own).
    pub inputs: PiecewiseLinearCase,
    /// Output times of the full horizon.
    pub grid: Vec<f64>,
}

impl PlSetup {
    /// The setup of a catalog entry: [`build`], [`to_case`], the grid [`times`]`(t_end)`.
    ///
    /// # Errors
    /// As [`build`].
    pub fn of_catalog(c: &PlCase) -> Result<PlSetup, String> {
        let (model, th0) = build(c)?;
        let grid = times(c.t_end);
        Ok(PlSetup {
            name: c.name.clone(),
            regime: format!(
                "{} {}",
                if c.gamma == 0.0 { "relu" } else { "leaky" },
                super::single_neuron::regime(c.delta)
            ),
            model,
            th0,
            inputs: to_case(c, &grid)?,
            grid,
        })
    }

    /// The setup of a case file named `name`: the model of its binary64 roundings, its own times
    /// as the grid, the regime from its δ_k (their common regime, or "mixed δ_k").
    ///
    /// # Errors
    /// Inputs the model refuses (shapes, γ, rates, loss scale, times): the model's message.
    pub fn of_case(name: &str, c: &PiecewiseLinearCase) -> Result<PlSetup, String> {
        use crate::case::f64_vec;
        let grid = f64_vec(&c.times);
        crate::num::check_times(&grid).map_err(|e| e.to_string())?;
        let (model, th0) = PiecewiseLinear::from_case(c).map_err(|e| e.to_string())?;
        let regimes: Vec<String> = model
            .deltas(&th0)
            .into_iter()
            .map(super::single_neuron::regime)
            .collect();
        let delta_regime = match regimes.first() {
            Some(r0) if regimes.iter().all(|r| r == r0) => r0.clone(),
            _ => "mixed δ_k".into(),
        };
        Ok(PlSetup {
            name: name.into(),
            regime: format!("{} {delta_regime}", if model.gamma() == 0.0 { "relu" } else { "leaky" }),
            model,
            th0,
            inputs: c.clone(),
            grid,
        })
    }

    /// The validated enclosure of the decimal inputs' flow at `ts` (through its activation
    /// switches), or why there is none: not attempted above [`MAX_ENCLOSED_PARAMS`] parameters,
    /// failed when the enclosure errs or stops before the last time.
    fn enclose(&self, ts: &[f64]) -> Enclosure {
        let p = self.model.n_params();
        if p > MAX_ENCLOSED_PARAMS {
            return Err(Fallback::NotAttempted(format!(
                "no validated enclosure: P = {p} parameters, above {MAX_ENCLOSED_PARAMS}"
            )));
        }
        let num = |v: &f64| Num::from_f64(*v).map_err(|e| Fallback::Failed(format!("time {v}: {e}")));
        let mut inputs = self.inputs.clone();
        inputs.times = ts.iter().map(num).collect::<Result<_, _>>()?;
        let case = Case::PiecewiseLinear(inputs);
        let tr = cases::enclose_case(&case, &ValidatedOptions::new(ENCLOSURE_PREC))
            .map_err(|e| Fallback::Failed(format!("validated enclosure: {e}")))?;
        match tr.stopped {
            Some(st) => Err(Fallback::Failed(format!(
                "the validated enclosure stopped before the last time: {st:?}"
            ))),
            None => Ok(tr.states),
        }
    }
}

/// A validated enclosure of a run's output times, or why the rows fall back to estimates.
type Enclosure = Result<Vec<Vec<Ball>>, Fallback>;

const ENCLOSURE_METHOD: &str = "validated enclosure of the parameter flow of the decimal inputs through its activation \
                                switches (53-bit Taylor in ball arithmetic, Lohner's QR method): a proof";

/// Output times of a case.
pub fn times(t_end: f64) -> Vec<f64> {
    (0..=20).map(|k| t_end * k as f64 / 20.0).collect()
}

/// Event-located integration.
///
/// # Errors
/// The flow's error.
pub fn run_events(m: &PiecewiseLinear, th0: &[f64], ts: &[f64], opts: &FlowOptions) -> Result<Trajectory, FlowError> {
    let field = FrozenPatternFlow::new(m, th0);
    integrate_switched(&field, th0, ts, opts)
}

/// Plain adaptive integration of the live (kinked) field.
///
/// # Errors
/// The flow's error.
pub fn run_plain(m: &PiecewiseLinear, th0: &[f64], ts: &[f64], opts: &FlowOptions) -> Result<Trajectory, String> {
    integrate(&ParameterFlow(m), th0, ts, opts).map_err(|e| e.to_string())
}

/// max over the grid of max_i|θ_i − θ_ref,i| and max|θ_ref|.
pub fn traj_error(a: &Trajectory, r: &Trajectory) -> (f64, f64) {
    let mut err = 0.0f64;
    let mut scale = 0.0f64;
    for (x, y) in a.states.iter().zip(&r.states) {
        err = err.max(crate::metrics::max_abs_diff(x, y));
        scale = scale.max(max_abs(y));
    }
    (err, scale)
}

fn acc_bound(tr: &Trajectory, opts: &FlowOptions, p: usize, th_max: f64) -> f64 {
    tr.stats.steps.max(1) as f64 * (p as f64).sqrt() * (opts.atol + opts.rtol * th_max)
}

/// A row of θ(t) along `tr` against `reference` with the accumulated-local-error bound. With an
/// enclosure, the reference is the enclosure (rigorous), the bound is proven (|θ − V| rounded up)
/// and the accumulated-error estimate is the promise the proven error must meet.
#[allow(clippy::too_many_arguments)]
fn acc_row(
    c: &PlSetup,
    check: &str,
    quantity: &str,
    method: Method,
    rtol: f64,
    opts: &FlowOptions,
    tr: &Trajectory,
    reference: &Trajectory,
    (ref_bound, th_scale, ref_method): (f64, f64, &str),
    enclosure: &Enclosure,
) -> Row {
    let p = tr.states.first().map_or(0, Vec::len);
    let th_max = tr.states.iter().map(|s| max_abs(s)).fold(0.0, f64::max);
    let promise = acc_bound(tr, opts, p, th_max);
    let mut r = row(c, check, method.as_str(), Some(rtol), quantity);
    if let Ok(v) = enclosure {
        if v.len() != tr.states.len() {
            // An enclosure that does not match the run is a failure, never a silent fallback.
            r.note = format!("enclosure has {} times, the run {}", v.len(), tr.states.len());
            return r;
        }
        let mut acc = Certified::default();
        for (th, vb) in tr.states.iter().zip(v) {
            for (x, b) in th.iter().zip(vb) {
                acc.add_value(*x, b);
            }
        }
        let Certified { err, rb, bound, margin } = acc;
        r.abs_err = err;
        r.rel_err = err / th_scale;
        r.ref_bound = rb;
        r.ref_method = ENCLOSURE_METHOD.into();
        r.ref_rigorous = margin.is_finite();
        r.bound = bound;
        r.bound_rigorous = margin.is_finite();
        r.bound_why = format!(
            "proven: max |θ − V| rounded up over the validated enclosure V; also required ≤ the promise {ACC_BOUND_WHY} \
             = {promise:.3e} (an estimate)"
        );
        r.margin = margin;
        r.pass = margin.is_finite() && margin <= 1.0 && bound <= promise;
        r.note = format!("certified error / promise = {:.3e}", bound / promise);
        return r;
    }
    let (err, _) = traj_error(tr, reference);
    r.abs_err = err;
    r.rel_err = err / th_scale;
    r.ref_bound = ref_bound;
    r.ref_method = ref_method.into();
    r.bound = promise;
    let why = enclosure
        .as_ref()
        .err()
        .map_or_else(|| "-".to_string(), Fallback::to_string);
    r.bound_why = format!("an estimate ({why}): {ACC_BOUND_WHY}");
    r.margin = err / (promise + ref_bound);
    r.pass = r.margin.is_finite() && r.margin <= 1.0;
    r.note = format!("bound is an estimate: {why}");
    r
}

fn row(c: &PlSetup, check: &str, method: &str, tol: Option<f64>, quantity: &str) -> Row {
    Row::pending(
        check,
        "piecewise_linear",
        &c.name,
        c.regime.clone(),
        method,
        tol,
        quantity,
    )
}

fn failed(c: &PlSetup, check: &str, method: &str, note: String) -> Row {
    let mut r = row(c, check, method, None, "-");
    r.note = note;
    r
}

/// `PL-PLAIN`'s factor: 1 for explicit Runge–Kutta (a 5th-order step across a kink loses the
/// most: the catalog measures plain/events error ratios 8–950 for tsit45 at rtol 1e-8), 2 for the
/// implicit methods, whose own global error at the same tolerance is comparable to the kink
/// error (BDF drops to low order and small steps near a kink whether or not it is located;
/// measured ratios 0.93–3.7 for bdf at rtol 1e-8).
pub fn plain_factor(method: Method) -> f64 {
    if method == Method::Tsit45 { 1.0 } else { 2.0 }
}

/// Methods and tolerances of the catalog rows.
pub fn methods(mode: Mode) -> Vec<(Method, f64)> {
    let mut v = vec![(Method::Tsit45, 1e-8), (Method::Bdf, 1e-8)];
    if mode == Mode::Full {
        v.extend([
            (Method::Tsit45, 1e-6),
            (Method::Esdirk34, 1e-8),
            (Method::Tsit45, 1e-10),
        ]);
    }
    v
}

/// All rows of one catalog entry: `PL-SYM` (the catalog's init is symmetrised) and
/// [`setup_rows`].
pub fn case_rows(c: &PlCase, mode: Mode) -> Vec<Row> {
    let s = match PlSetup::of_catalog(c) {
        Ok(s) => s,
        Err(e) => {
            let mut r = Row::pending("PL-EVENT", "piecewise_linear", &c.name, "-".into(), "-", None, "-");
            r.note = e;
            return vec![r];
        }
    };
    let mut rows = vec![sym_row(&s, &s.model, &s.th0)];
    rows.extend(setup_rows(&s, mode).0);
    rows
}

/// `PL-SYM` on a setup when its units pair up bitwise as (w, a), (w, −a), else `None` (the
/// check's assumption is not met: f(x; θ0) = 0 is then not exact).
pub fn sym_row_if_paired(s: &PlSetup) -> Option<Row> {
    exactly_paired(&s.model, &s.th0).then(|| sym_row(s, &s.model, &s.th0))
}

/// The trajectory rows of a setup (`PL-EQ9`, `PL-EVENT`, `PL-CONS`, `PL-PLAIN`, and `PL-SLIDE`
/// when the reference enters a sliding mode), and the time of the first sliding entry (`None`:
/// no `PL-SLIDE` rows). Without sliding the rows run on the setup's grid; with sliding
/// PL-EVENT/PL-PLAIN/PL-CONS run on 21 evenly spaced times up to 0.9× the first sliding entry
/// and PL-SLIDE on the grid.
pub fn setup_rows(c: &PlSetup, mode: Mode) -> (Vec<Row>, Option<f64>) {
    let mut rows = Vec::new();
    let (m, th0) = (&c.model, c.th0.as_slice());
    let ref_opts = FlowOptions::new(Method::Tsit45).with_tol(REF_RTOL, REF_ATOL);
    let chk_opts = FlowOptions::new(Method::Tsit45).with_tol(REF_CHECK_RTOL, REF_CHECK_RTOL / 100.0);
    // PL-EVENT / PL-PLAIN / PL-CONS end before the first sliding mode (plain integration
    // chatters there, so the events-vs-plain comparison is about kinks only); PL-SLIDE covers
    // the full horizon, sliding included.
    let full = match run_events(m, th0, &c.grid, &ref_opts) {
        Ok(tr) => tr,
        Err(e) => return (vec![failed(c, "PL-EVENT", "tsit45", format!("reference: {e}"))], None),
    };
    let first_sliding = full.first_sliding;
    let (reference, ts, horizon_note, full) = match full.first_sliding {
        Some(t_s) if t_s > 0.0 => {
            let t_end = 0.9 * t_s;
            let ts = times(t_end);
            match run_events(m, th0, &ts, &ref_opts) {
                Ok(tr) => (
                    tr,
                    ts,
                    format!(" horizon {t_end:.3e} (0.9× the first sliding entry, t = {t_s:.4e})"),
                    Some(full),
                ),
                Err(e) => {
                    return (
                        vec![failed(c, "PL-EVENT", "tsit45", format!("reference: {e}"))],
                        first_sliding,
                    );
                }
            }
        }
        Some(_) => {
            return (
                vec![failed(c, "PL-EVENT", "tsit45", "the initial state slides".into())],
                first_sliding,
            );
        }
        None => (full, c.grid.clone(), String::new(), None),
    };
    let ref_chk = match run_events(m, th0, &ts, &chk_opts) {
        Ok(tr) => tr,
        Err(e) => {
            return (
                vec![failed(c, "PL-EVENT", "tsit45", format!("reference check: {e}"))],
                first_sliding,
            );
        }
    };
    let (ref_bound, th_scale) = traj_error(&ref_chk, &reference);
    let ref_method = format!(
        "event-located tsit45 rtol {REF_RTOL:.0e} ({} switches, {} steps); bound = distance to rtol {REF_CHECK_RTOL:.0e};{horizon_note}",
        reference.switches, reference.stats.steps
    );
    rows.push(eq9_row(c, m, &reference));
    // The enclosures (≈ 3 s a net through its switches) in the full catalog; the quick one keeps
    // the reference integration and the estimates.
    let enclosure = match mode {
        Mode::Full => c.enclose(&ts),
        Mode::Quick => Err(Fallback::NotAttempted(
            "quick catalog: no validated enclosure (the full catalog has one)".into(),
        )),
    };
    for (method, rtol) in methods(mode) {
        let opts = FlowOptions::new(method).with_tol(rtol, rtol / 100.0);
        let ev = run_events(m, th0, &ts, &opts);
        let pl = run_plain(m, th0, &ts, &opts);
        let ev = ev.map_err(|e| e.to_string());
        let ev_err = match &ev {
            Ok(tr) => {
                let mut r = acc_row(
                    c,
                    "PL-EVENT",
                    "θ = (W, a)",
                    method,
                    rtol,
                    &opts,
                    tr,
                    &reference,
                    (ref_bound, th_scale, &ref_method),
                    &enclosure,
                );
                let extra = std::mem::take(&mut r.note);
                r.note = format!(
                    "steps={} rejected={} rhs={} events={} switches={} sliding_segments={}; {extra}",
                    tr.stats.steps,
                    tr.stats.rejected_steps,
                    tr.stats.rhs_evals,
                    tr.events,
                    tr.switches,
                    tr.sliding_segments
                );
                let err = EventsError {
                    err: r.abs_err,
                    bound: r.bound,
                    ref_bound: r.ref_bound,
                    ref_method: r.ref_method.clone(),
                    ref_rigorous: r.ref_rigorous,
                    bound_rigorous: r.bound_rigorous,
                };
                rows.push(r);
                rows.push(cons_row(c, m, th0, tr, &opts, &enclosure));
                Some(err)
            }
            Err(e) => {
                rows.push(failed(c, "PL-EVENT", method.as_str(), e.clone()));
                None
            }
        };
        match (&pl, &ev_err, &enclosure) {
            (Ok(tr), Some(ev), Ok(v)) if ev.bound_rigorous => {
                rows.push(plain_row_certified(c, method, rtol, tr, v, ev, th_scale));
            }
            (Ok(tr), _, _) => {
                let (err, _) = traj_error(tr, &reference);
                let mut r = row(c, "PL-PLAIN", method.as_str(), Some(rtol), "θ = (W, a), no events");
                r.abs_err = err;
                r.rel_err = err / th_scale;
                r.ref_bound = ref_bound;
                r.ref_method = ref_method.clone();
                r.bound = err;
                let factor = plain_factor(method);
                let why = match (&ev_err, &enclosure) {
                    (_, Err(w)) => w.to_string(),
                    (None, _) => "the event-located run failed".into(),
                    (Some(_), Ok(_)) => "the event-located row is not certified".into(),
                };
                r.bound_why = format!(
                    "an estimate ({why}): claim event-located error ≤ {factor}·(plain error + ref bound), both errors \
                     measured against the tsit45 reference; margin = events error / that"
                );
                if let Some(ev) = &ev_err {
                    r.margin = ev.err / (factor * (err + ref_bound));
                    r.pass = r.margin <= 1.0;
                    r.note = format!(
                        "plain/events error ratio = {:.2e}; plain steps={} rejected={} rhs={}",
                        err / ev.err,
                        tr.stats.steps,
                        tr.stats.rejected_steps,
                        tr.stats.rhs_evals
                    );
                } else {
                    r.note = "event-located run failed".into();
                }
                rows.push(r);
            }
            (Err(e), _, _) => {
                // The plain solver breaking down at a kink (e.g. implicit Newton failures) while the
                // event-located run of the same method reached the end is the strongest form of
                // the claim; it passes with the failure recorded. Both failing is a failure.
                let mut r = failed(c, "PL-PLAIN", method.as_str(), String::new());
                r.tolerance = Some(rtol);
                r.quantity = "θ = (W, a), no events".into();
                r.bound_why = "claim: event-located run no worse than plain; the plain run failed, so the row \
                               holds the event-located run's error against its own bound (PL-EVENT's)"
                    .into();
                match &ev_err {
                    // The plain solver breaking down where the event-located run reaches the end
                    // is the claim in its strongest form; the numbers shown are the finite,
                    // measured ones of the event-located run (a row never passes on a NaN), and
                    // they are as proven as that run's PL-EVENT row.
                    Some(ev) => {
                        let ev_err = ev.err;
                        r.abs_err = ev_err;
                        r.rel_err = ev_err / th_scale;
                        r.bound = ev.bound;
                        r.ref_bound = ev.ref_bound;
                        r.ref_method = ev.ref_method.clone();
                        r.ref_rigorous = ev.ref_rigorous;
                        r.bound_rigorous = ev.bound_rigorous;
                        r.margin = ratio(ev_err, ev.bound, ev.ref_bound);
                        r.pass = r.margin.is_finite() && r.margin <= 1.0;
                        r.note = format!("plain run failed ({e}); event-located run succeeded, error {ev_err:.2e}");
                    }
                    None => r.note = format!("plain run failed ({e}) and the event-located run failed too"),
                }
                rows.push(r);
            }
        }
    }
    if let Some(full) = full {
        rows.extend(slide_rows(c, &full, mode));
    }
    (rows, first_sliding)
}

/// The error of the event-located run of one method, as its `PL-EVENT` row states it.
struct EventsError {
    err: f64,
    bound: f64,
    ref_bound: f64,
    ref_method: String,
    ref_rigorous: bool,
    bound_rigorous: bool,
}

/// A proven lower bound on |sv − x| over every x in the ball `v`: |sv − mid| − rad, rounded
/// down, ≥ 0 (NaN for a non-finite sv).
fn dist_down(sv: f64, v: &Ball) -> f64 {
    if !sv.is_finite() {
        return f64::NAN;
    }
    let d = Ball::from_f64(v.prec(), sv).sub(v);
    crate::num::ball::down1(abs_down(d.mid()) - d.rad()).max(0.0)
}

/// `PL-PLAIN` against the validated enclosure V (P ≤ [`MAX_ENCLOSED_PARAMS`]): the plain run's
/// error is certified (against V), and the claim "event-located error ≤ f·plain error" is proven
/// when the proven upper bound on the event-located run's error (its `PL-EVENT` row's
/// max |θ_ev − V| rounded up) is ≤ f times the proven lower bound on the plain run's error
/// (max over the grid of the distance from θ_plain to V, rounded down): margin = upper / that.
fn plain_row_certified(
    c: &PlSetup,
    method: Method,
    rtol: f64,
    tr: &Trajectory,
    v: &[Vec<Ball>],
    ev: &EventsError,
    th_scale: f64,
) -> Row {
    let mut r = row(c, "PL-PLAIN", method.as_str(), Some(rtol), "θ = (W, a), no events");
    if v.len() != tr.states.len() {
        r.note = format!("enclosure has {} times, the run {}", v.len(), tr.states.len());
        return r;
    }
    let mut acc = Certified::default();
    let mut lower = 0.0f64;
    let mut finite = true;
    for (th, vb) in tr.states.iter().zip(v) {
        for (x, b) in th.iter().zip(vb) {
            acc.add_value(*x, b);
            let l = dist_down(*x, b);
            finite &= l.is_finite();
            lower = lower.max(l);
        }
    }
    let factor = plain_factor(method);
    let bound = factor * lower;
    let margin = if finite && acc.margin.is_finite() {
        ratio(ev.bound, bound, 0.0)
    } else {
        f64::NAN
    };
    r.abs_err = acc.err;
    r.rel_err = acc.err / th_scale;
    r.ref_bound = acc.rb;
    r.ref_method = ENCLOSURE_METHOD.into();
    r.ref_rigorous = margin.is_finite();
    r.bound = bound;
    r.bound_rigorous = margin.is_finite();
    r.bound_why = format!(
        "proven claim: event-located error ≤ {factor}·plain error. bound = {factor}× a proven lower bound on the plain \
         run's error (max distance from θ_plain to the validated enclosure V, rounded down); margin = the proven upper \
         bound on the event-located run's error (PL-EVENT's max |θ_ev − V| rounded up, {:.3e}) / bound",
        ev.bound
    );
    r.margin = margin;
    r.pass = margin.is_finite() && margin <= 1.0;
    r.note = format!(
        "certified plain error ∈ [{lower:.3e}, {:.3e}], event-located ≤ {:.3e}; plain steps={} rejected={} rhs={}",
        acc.bound, ev.bound, tr.stats.steps, tr.stats.rejected_steps, tr.stats.rhs_evals
    );
    r
}

/// `PL-SLIDE`: over the full horizon, through the sliding segments, the event-located flow with
/// Filippov sliding vs the reference (the same at rtol 1e-13; estimate = distance to rtol 1e-12),
/// and δ_k conserved through sliding (dδ_k/dt = 0 for any slope c ∈ [γ, 1]).
fn slide_rows(c: &PlSetup, reference: &Trajectory, mode: Mode) -> Vec<Row> {
    let (m, th0) = (&c.model, c.th0.as_slice());
    let ts = c.grid.clone();
    let chk_opts = FlowOptions::new(Method::Tsit45).with_tol(REF_CHECK_RTOL, REF_CHECK_RTOL / 100.0);
    let ref_chk = match run_events(m, th0, &ts, &chk_opts) {
        Ok(tr) => tr,
        Err(e) => return vec![failed(c, "PL-SLIDE", "tsit45", format!("reference check: {e}"))],
    };
    let (ref_bound, th_scale) = traj_error(&ref_chk, reference);
    let ref_method = format!(
        "event-located tsit45 with Filippov sliding, rtol {REF_RTOL:.0e} ({} switches, {} sliding segments, first at \
         t = {:.4e}); bound = distance to rtol {REF_CHECK_RTOL:.0e}",
        reference.switches,
        reference.sliding_segments,
        reference.first_sliding.unwrap_or(f64::NAN)
    );
    let mut rows = Vec::new();
    // The validated integrator stops where the next pattern cannot be proven (sliding): these
    // rows keep the reference integration and the estimate.
    let no_enclosure: Enclosure = Err(Fallback::NotAttempted(
        "no validated enclosure through a sliding mode (the validated integrator stops there)".into(),
    ));
    for (method, rtol) in methods(mode) {
        let opts = FlowOptions::new(method).with_tol(rtol, rtol / 100.0);
        match run_events(m, th0, &ts, &opts) {
            Ok(tr) => {
                let mut r = acc_row(
                    c,
                    "PL-SLIDE",
                    "θ = (W, a) through sliding",
                    method,
                    rtol,
                    &opts,
                    &tr,
                    reference,
                    (ref_bound, th_scale, &ref_method),
                    &no_enclosure,
                );
                r.pass = r.pass && tr.sliding_segments > 0;
                r.note = format!(
                    "steps={} rhs={} events={} switches={} sliding_segments={}",
                    tr.stats.steps, tr.stats.rhs_evals, tr.events, tr.switches, tr.sliding_segments
                );
                rows.push(r);
                let mut cr = cons_row(c, m, th0, &tr, &opts, &no_enclosure);
                cr.check = "PL-SLIDE".into();
                cr.quantity = "δ_k through sliding".into();
                cr.note = format!("{} sliding_segments={}", cr.note, tr.sliding_segments);
                rows.push(cr);
            }
            Err(e) => rows.push(failed(c, "PL-SLIDE", method.as_str(), e.to_string())),
        }
    }
    rows
}

/// `PL-CONS` for one trajectory. With an enclosure: δ_k of the simulated states in balls against
/// δ_k(0) of the decimal inputs, proven bound max|δ(sim) − δ(V)| (the exact flow conserves δ_k,
/// so δ(V) contains δ(0)), the estimate kept as the promise.
fn cons_row(
    c: &PlSetup,
    m: &PiecewiseLinear,
    th0: &[f64],
    tr: &Trajectory,
    opts: &FlowOptions,
    enclosure: &Enclosure,
) -> Row {
    let p = m.n_params();
    let th_max = tr.states.iter().map(|s| max_abs(s)).fold(0.0, f64::max);
    let e = acc_bound(tr, opts, p, th_max);
    let eta_max = m.eta_a().max(m.eta_w());
    // δ_k = η_w a² − η_a‖w‖²: |Δδ_k| ≤ 2η_max(|a||e_a| + ‖w‖‖e_w‖) + η_max‖e‖² with ‖e‖ ≤ √(d+1)·e.
    let dd = ((m.d() + 1) as f64).sqrt();
    let promise = 2.0 * eta_max * dd * th_max * dd * e + eta_max * dd * dd * e * e;
    let mut r = row(c, "PL-CONS", opts.method.as_str(), Some(opts.rtol), "δ_k");
    r.rel_err = tr.states.last().map_or(f64::NAN, |s| m.delta_drift(th0, s));
    r.note = format!("steps={} switches={}", tr.stats.steps, tr.switches);
    let why = format!("{ACC_BOUND_WHY}, through δ_k = η_w a_k² − η_a‖w_k‖²");
    let b = |x: &f64| Ball::from_f64(ENCLOSURE_PREC, *x);
    let (eta_a, eta_w) = (b(&m.eta_a()), b(&m.eta_w()));
    let dims = (m.h(), m.d());
    let deltas = |th: &[Ball]| piecewise_deltas(dims, &eta_a, &eta_w, th);
    let d0 = deltas(&th0.iter().map(b).collect::<Vec<_>>());
    match enclosure {
        Ok(v) if v.len() != tr.states.len() => {
            // An enclosure that does not match the run fails the row, never a silent fallback.
            r.note.push_str(&format!(
                "; enclosure has {} times, the run {}",
                v.len(),
                tr.states.len()
            ));
        }
        Ok(v) => {
            let Certified {
                err: drift,
                rb,
                bound,
                margin,
            } = Certified::conserved_along(deltas, &d0, &tr.states, v, ENCLOSURE_PREC);
            r.abs_err = drift;
            r.ref_bound = rb;
            r.ref_method = DELTA0_METHOD.into();
            r.ref_rigorous = margin.is_finite();
            r.drift = Some(drift);
            r.bound = bound;
            r.bound_rigorous = margin.is_finite();
            r.bound_why = format!(
                "proven: max |δ(sim) − δ(V)| rounded up, V the validated enclosure; also required ≤ the promise {why} \
                 (an estimate)"
            );
            r.margin = margin;
            r.pass = margin.is_finite() && margin <= 1.0 && bound <= promise;
            r.note
                .push_str(&format!("; certified drift / promise = {:.3e}", bound / promise));
        }
        Err(no_enc) => {
            // No enclosure: the drift is still measured in balls against the exact δ_k(0) (the
            // exact flow conserves δ_k, through sliding too), so the reference and the error are
            // certified; the bound is the accumulated-error estimate.
            let mut acc = Certified::default();
            for th in &tr.states {
                for (s, z) in deltas(&th.iter().map(b).collect::<Vec<_>>()).iter().zip(&d0) {
                    acc.add_measured(s, z, promise);
                }
            }
            r.abs_err = acc.err;
            r.ref_bound = acc.rb;
            r.ref_method = DELTA0_METHOD.into();
            r.ref_rigorous = acc.margin.is_finite();
            r.drift = Some(acc.err);
            r.bound = promise;
            r.bound_why = format!("an estimate ({no_enc}): {why}");
            r.margin = acc.margin;
            r.pass = acc.margin.is_finite() && acc.margin <= 1.0;
            r.note.push_str(&format!("; bound is an estimate: {no_enc}"));
        }
    }
    r
}

/// The reference of the δ_k rows (`PL-CONS`, `PL-SLIDE` δ_k).
const DELTA0_METHOD: &str = "exact: δ_k(0) of the decimal inputs in ball arithmetic (the exact flow conserves δ_k on \
     every activation pattern and through Filippov sliding, for every slope c ∈ [γ, 1]: a polynomial identity); the \
     drift |δ(sim) − δ(0)| is evaluated in balls, so the error is certified";

/// Precision of the ball evaluations of the pointwise identities (`PL-SYM`, `PL-EQ9`): the
/// binary64 states are taken exactly and the identities evaluated with radii ≈ 2⁻¹²⁸ relative,
/// far below the f64 values' rounding that the rows bound.
pub const IDENTITY_PREC: u32 = 128;

/// The forward pass of the net at a binary64 state θ, in balls at `prec` (θ and the data taken
/// exactly): z_ki = w_kᵀx_i (h×n), σ(z_ki) (the hull of z and γz where the sign of z is not
/// proven: it contains σ(z) either way), σ'(z_ki) where the sign is proven (`None` where it is
/// not: the field is not differentiable there), and f_i = Σ_k a_kσ(z_ki).
struct BallForward {
    sigma: Vec<Ball>,
    slope: Vec<Option<Ball>>,
    f: Vec<Ball>,
}

fn ball_forward(m: &PiecewiseLinear, th: &[f64], prec: u32) -> BallForward {
    let (n, h, d) = (m.n(), m.h(), m.d());
    let b = |x: f64| Ball::from_f64(prec, x);
    let (w, a, x) = (m.w(th), m.a(th), m.x());
    let gamma = b(m.gamma());
    let (mut sigma, mut slope) = (Vec::with_capacity(h * n), Vec::with_capacity(h * n));
    let mut f = vec![b(0.0); n];
    for k in 0..h {
        for (i, fi) in f.iter_mut().enumerate() {
            let z = (0..d).fold(b(0.0), |acc, j| acc.add(&b(w[k * d + j]).mul(&b(x[i * d + j]))));
            let (s, c) = if z.sign_is(true) {
                (z, Some(b(1.0)))
            } else if z.sign_is(false) {
                (z.mul(&gamma), Some(gamma.clone()))
            } else {
                (z.hull(&z.mul(&gamma)), None)
            };
            *fi = fi.add(&b(a[k]).mul(&s));
            sigma.push(s);
            slope.push(c);
        }
    }
    BallForward { sigma, slope, f }
}

/// Whether the hidden units come in exact pairs (w, a), (w, −a) (bitwise): then
/// f(x; θ) = Σ_pairs (a − a)σ(wᵀx) = 0 exactly, for every x.
fn exactly_paired(m: &PiecewiseLinear, th: &[f64]) -> bool {
    let (h, d) = (m.h(), m.d());
    let (w, a) = (m.w(th), m.a(th));
    let mut used = vec![false; h];
    for k in 0..h {
        if used[k] {
            continue;
        }
        used[k] = true;
        let partner = (k + 1..h).find(|&l| {
            !used[l]
                && a[l].to_bits() == (-a[k]).to_bits()
                && (0..d).all(|j| w[l * d + j].to_bits() == w[k * d + j].to_bits())
        });
        match partner {
            Some(l) => used[l] = true,
            None => return false,
        }
    }
    true
}

/// `PL-SYM`: f(x_i; θ0) = 0 for the symmetrised init. The reference 0 is exact when the units
/// pair up bitwise ([`exactly_paired`]); the f64 value's error is bounded by a proof: the ball
/// evaluation F of f(x_i; θ0) at the same binary64 θ0 contains the exact value 0, so
/// |f64 − 0| ≤ |f64 − F| rounded up. The rounding analysis of the sum is kept as the promise.
fn sym_row(c: &PlSetup, m: &PiecewiseLinear, th0: &[f64]) -> Row {
    let f = m.outputs(th0);
    // Σ_k a_kσ(z_ki) over h terms: |rounding| ≤ h·u·Σ_k|a_kσ(z_ki)| (+ the same for z itself).
    let (a, z) = (m.a(th0), m.preactivations(th0));
    let n = m.n();
    let mag = (0..n)
        .map(|i| (0..m.h()).map(|k| (a[k] * z[k * n + i]).abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let promise = 2.0 * (m.h() + m.d()) as f64 * f64::EPSILON * mag;
    let mut r = row(c, "PL-SYM", "-", None, "f(x_i; θ0)");
    if !exactly_paired(m, th0) {
        r.note = "the initial units do not pair up exactly as (w, a), (w, −a): f(x; θ0) = 0 is not exact".into();
        return r;
    }
    let fb = ball_forward(m, th0, IDENTITY_PREC).f;
    let zero = Ball::from_f64(IDENTITY_PREC, 0.0);
    let mut acc = Certified::default();
    for (v, e) in f.iter().zip(&fb) {
        acc.add_against(*v, &zero, e);
    }
    r.abs_err = acc.err;
    r.rel_err = acc.err / mag.max(f64::MIN_POSITIVE);
    r.ref_bound = acc.rb;
    r.ref_method = "exact: 0 (the units pair up bitwise as (w, a), (w, −a), checked)".into();
    r.ref_rigorous = acc.margin.is_finite();
    r.bound = acc.bound;
    r.bound_rigorous = acc.margin.is_finite();
    r.bound_why = format!(
        "proven: max_i |f64 − F_i| rounded up, F_i = f(x_i; θ0) in ball arithmetic at {IDENTITY_PREC} bits at the \
         same binary64 θ0 (F_i ∋ 0); also required ≤ the rounding promise 2(h + d)·ε·max_i Σ_k|a_k z_ki| = \
         {promise:.3e}"
    );
    r.margin = acc.margin;
    r.pass = acc.margin.is_finite() && acc.margin <= 1.0 && acc.bound <= promise;
    r
}

/// Eq. (9) and (10) and the chain rule at one binary64 state θ, both in balls at `prec`: for
/// every unit k, (β̇_k by eq. 9, by the chain rule), (μ̇_k by eq. 10, by the chain rule),
/// (dβ̂_k/dt by eq. 10, by the chain rule), flattened in the order of the f64 checks of
/// [`eq9_row`] (eq. 9 h×d, then μ̇ h, then dβ̂/dt h×d), δ_k taken at θ itself.
///
/// # Errors
/// A pre-activation whose sign is not proven (the field is not differentiable there), or a
/// division by a ball containing 0.
fn eq9_balls(m: &PiecewiseLinear, th: &[f64], prec: u32) -> Result<Vec<(Ball, Ball)>, String> {
    let (n, h, d) = (m.n(), m.h(), m.d());
    let b = |x: f64| Ball::from_f64(prec, x);
    let fw = ball_forward(m, th, prec);
    let (w, a, x, y) = (m.w(th), m.a(th), m.x(), m.y());
    let (eta_a, eta_w) = (b(m.eta_a()), b(m.eta_w()));
    let eta = eta_a.mul(&eta_w);
    let two_c = b(2.0 * m.loss_factor());
    let g: Vec<Ball> = fw.f.iter().zip(y).map(|(f, yi)| f.sub(&b(*yi)).mul(&two_c)).collect();
    let err = |e: crate::num::ball::BallError| e.to_string();
    let mut eq9 = Vec::with_capacity(h * d);
    let mut mu = Vec::with_capacity(h);
    let mut dir = Vec::with_capacity(h * d);
    for k in 0..h {
        let ak = b(a[k]);
        let wk: Vec<Ball> = (0..d).map(|j| b(w[k * d + j])).collect();
        // ξ_k = Σ_i σ'(z_ki) g_i x_i and Σ_i σ(z_ki) g_i.
        let mut xi = vec![b(0.0); d];
        let mut sg = b(0.0);
        for i in 0..n {
            let c = fw.slope[k * n + i]
                .as_ref()
                .ok_or_else(|| format!("the sign of w_{k}ᵀx_{i} is not proven at this state"))?;
            let cg = c.mul(&g[i]);
            for (j, v) in xi.iter_mut().enumerate() {
                *v = v.add(&cg.mul(&b(x[i * d + j])));
            }
            sg = sg.add(&fw.sigma[k * n + i].mul(&g[i]));
        }
        // The parameter flow: ȧ_k = −η_a Σ_i σ(z_ki)g_i, ẇ_k = −η_w a_k ξ_k.
        let adot = eta_a.mul(&sg).neg();
        let wdot: Vec<Ball> = xi.iter().map(|v| eta_w.mul(&ak).mul(v).neg()).collect();
        let dot = |u: &[Ball], v: &[Ball]| u.iter().zip(v).fold(b(0.0), |s, (p, q)| s.add(&p.mul(q)));
        let wxi = dot(&wk, &xi);
        let a2 = ak.sqr();
        // Eq. 9: β̇_k = −(η_w a_k² ξ_k + η_a w_k w_kᵀξ_k); chain rule ȧ_k w_k + a_k ẇ_k.
        for j in 0..d {
            let e9 = eta_w.mul(&a2).mul(&xi[j]).add(&eta_a.mul(&wk[j]).mul(&wxi)).neg();
            let ch = adot.mul(&wk[j]).add(&ak.mul(&wdot[j]));
            eq9.push((e9, ch));
        }
        // Eq. 10 with δ_k = η_w a_k² − η_a‖w_k‖² at this state.
        let wn2 = dot(&wk, &wk);
        let wn = wn2.sqrt().map_err(err)?;
        let what: Vec<Ball> = wk.iter().map(|v| v.div(&wn)).collect::<Result<_, _>>().map_err(err)?;
        let muk = ak.mul(&wn);
        let delta = eta_w.mul(&a2).sub(&eta_a.mul(&wn2));
        let root = delta.sqr().add(&eta.mul(&muk.sqr()).mul_u32(4)).sqrt().map_err(err)?;
        let bx = dot(&what, &xi);
        let bwdot = dot(&what, &wdot);
        mu.push((root.mul(&bx).neg(), adot.mul(&wn).add(&ak.mul(&bwdot))));
        // (√(δ² + 4ημ²) + δ)/(2μ), cancellation-free for δ < 0 as 2ημ/(√… − δ): equal wherever
        // both are defined, so the branch only chooses the tighter enclosure.
        let coef = if !delta.mid().is_sign_negative() {
            root.add(&delta).div(&muk.mul_u32(2)).map_err(err)?
        } else {
            eta.mul(&muk).mul_u32(2).div(&root.sub(&delta)).map_err(err)?
        };
        for j in 0..d {
            let e10 = coef.mul(&xi[j].sub(&what[j].mul(&bx))).neg();
            let ch = wdot[j].sub(&what[j].mul(&bwdot)).div(&wn).map_err(err)?;
            dir.push((e10, ch));
        }
    }
    eq9.extend(mu);
    eq9.extend(dir);
    Ok(eq9)
}

/// `PL-EQ9`: eq. (9) and (10) vs the chain rule of the parameter flow along `tr`. At every
/// state (binary64, taken exactly) both sides are evaluated in balls ([`eq9_balls`]): the
/// chain rule is the reference, eq. 9/10 in balls the proof of the bound on the f64 eq. 9/10
/// values (|f64 − E| rounded up), so margin ≤ 1 proves that the f64 values are within the bound
/// of the chain rule; an identity that failed would show as an O(1) margin.
fn eq9_row(c: &PlSetup, m: &PiecewiseLinear, tr: &Trajectory) -> Row {
    let (h, d) = (m.h(), m.d());
    let p = m.n_params();
    let mut dth = vec![0.0; p];
    let Some(th_first) = tr.states.first() else {
        return failed(c, "PL-EQ9", "-", "empty trajectory".into());
    };
    let sph = SphericalFlow::new(m, th_first);
    let mut dsph = vec![0.0; sph.dim()];
    let mut scale = 0.0f64;
    let mut acc = Certified::default();
    let mut r = row(c, "PL-EQ9", "-", None, "β̇_k (eq. 9), μ̇_k and dβ̂_k/dt (eq. 10)");
    for (ti, th) in tr.states.iter().enumerate() {
        ParameterFlow(m).eval_inplace(th, &mut dth);
        // The f64 values, in the order of `eq9_balls`.
        let mut vals = m.beta_dot_eq9(th);
        let sp = m.to_spherical(th);
        sph.eval_inplace(&sp, &mut dsph);
        vals.extend_from_slice(&dsph[..h]);
        vals.extend_from_slice(&dsph[h..h + h * d]);
        // The size of the terms (for the rounding promise).
        for k in 0..h {
            let (ak, dak) = (th[h * d + k], dth[h * d + k]);
            let wk = &th[k * d..(k + 1) * d];
            let dwk = &dth[k * d..(k + 1) * d];
            let wn = wk.iter().map(|v| v * v).sum::<f64>().sqrt();
            for j in 0..d {
                scale = scale
                    .max((dak * wk[j]).abs())
                    .max((ak * dwk[j]).abs())
                    .max((dwk[j] / wn).abs());
            }
            scale = scale.max((dak * wn).abs());
        }
        let balls = match eq9_balls(m, th, IDENTITY_PREC) {
            Ok(v) => v,
            Err(e) => {
                r.note = format!("state {ti}: {e}");
                return r;
            }
        };
        if balls.len() != vals.len() {
            r.note = format!("state {ti}: {} ball values, {} f64 values", balls.len(), vals.len());
            return r;
        }
        for (v, (e, ch)) in vals.iter().zip(&balls) {
            acc.add_against(*v, ch, e);
        }
    }
    let promise = EQ_REL_TOL * scale;
    r.abs_err = acc.err;
    r.rel_err = acc.err / scale.max(f64::MIN_POSITIVE);
    r.ref_bound = acc.rb;
    r.ref_method = format!(
        "chain rule of the parameter flow (β̇ = ȧw + aẇ; μ̇ = ȧ‖w‖ + aŵᵀẇ; dβ̂/dt = (I − ŵŵᵀ)ẇ/‖w‖) at the reference \
         states (binary64, taken exactly), in ball arithmetic at {IDENTITY_PREC} bits: a proof at each state"
    );
    r.ref_rigorous = acc.margin.is_finite();
    r.bound = acc.bound;
    r.bound_rigorous = acc.margin.is_finite();
    r.bound_why = format!(
        "proven: max |v − E| rounded up, v the f64 eq. 9/10 values, E eq. 9/10 in balls at the same state (δ_k at that \
         state; the f64 eq. 10 takes δ_k(θ0), its drift is inside the bound); also required ≤ the promise \
         EQ_REL_TOL·largest term = {promise:.3e} (rounding only)"
    );
    r.margin = acc.margin;
    r.pass = acc.margin.is_finite() && acc.margin <= 1.0 && acc.bound <= promise;
    r.note = format!("{} states", tr.states.len());
    r
}

/// Rows of the family.
pub fn run(mode: Mode) -> Vec<Row> {
    use rayon::prelude::*;
    // One case per thread (the order of the rows is the catalog's: `collect` keeps it).
    let cases: Vec<PlCase> = catalog()
        .into_iter()
        .filter(|c| mode == Mode::Full || c.quick)
        .collect();
    let rows: Vec<Vec<Row>> = cases.par_iter().map(|c| case_rows(c, mode)).collect();
    rows.into_iter().flatten().collect()
}
