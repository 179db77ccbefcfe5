//! Layer 2: integration of gradient flows with diffsol (the only module that names diffsol types).
//!
//! [`integrate`] solves ẏ = F(y), y(0) = y0 for any [`VectorField`] and reports the state at the
//! requested times, with solver statistics. Methods ([`Method`]): diffsol's variable-order BDF,
//! the SDIRK methods ESDIRK34 and TR-BDF2 (implicit, Newton with the field's analytic Jacobian
//! assembled by [`VectorField::jacobian_inplace`], LU factorisations reused across steps), and
//! the explicit Tsitouras 5(4) pair. Dense output at the requested times comes from each
//! method's own interpolant, evaluated inside the step that covers the time.
//!
//! [`integrate_switched`] integrates a piecewise-smooth [`SwitchedField`] with its switching
//! surfaces located as events (diffsol root finding) and the method restarted at each switch.
//!
//! Tolerances are diffsol's mixed error test |e_i| ≤ atol + rtol·|y_i| per step; the *global*
//! error of the solution is not bounded by them (see `verification/README.md` for the bounds
//! the catalog promises and why).

mod equations;
pub mod imex;
pub mod kinks;
pub mod landing;

use crate::models::{SwitchedField, VectorField};
use crate::num::{TimeError, check_times};
use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, Vector, VectorCommon};
use equations::FieldEquations;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Integration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Variable-order BDF (stiff).
    Bdf,
    /// ESDIRK34 (stiff, L-stable SDIRK).
    Esdirk34,
    /// TR-BDF2 (stiff, SDIRK).
    TrBdf2,
    /// Tsitouras 5(4) explicit Runge–Kutta (non-stiff).
    Tsit45,
}

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 4] = [Method::Bdf, Method::Esdirk34, Method::TrBdf2, Method::Tsit45];

    /// CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Bdf => "bdf",
            Method::Esdirk34 => "esdirk34",
            Method::TrBdf2 => "tr-bdf2",
            Method::Tsit45 => "tsit45",
        }
    }
    /// Classical order of the method's solution (BDF: maximal order of its variable-order family).
    pub fn order(self) -> u32 {
        match self {
            Method::Bdf => 5,
            Method::Esdirk34 => 3,
            Method::TrBdf2 => 2,
            Method::Tsit45 => 5,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| FlowError::UnknownMethod { name: s.to_string() })
    }
}

/// Options of one integration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowOptions {
    /// Method.
    pub method: Method,
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (> 0).
    pub atol: f64,
    /// Give up after this many steps.
    pub max_steps: usize,
}

impl FlowOptions {
    /// Default tolerances rtol = 1e-8, atol = 1e-10 and a 10⁶-step limit.
    pub fn new(method: Method) -> Self {
        FlowOptions {
            method,
            rtol: 1e-8,
            atol: 1e-10,
            max_steps: 1_000_000,
        }
    }
    /// With tolerances.
    pub fn with_tol(mut self, rtol: f64, atol: f64) -> Self {
        self.rtol = rtol;
        self.atol = atol;
        self
    }
}

/// Solver statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlowStats {
    /// Accepted steps.
    pub steps: usize,
    /// Steps rejected by the local error test.
    pub rejected_steps: usize,
    /// Newton iterations (implicit methods).
    pub newton_iterations: usize,
    /// Newton convergence failures.
    pub newton_failures: usize,
    /// Right-hand-side evaluations.
    pub rhs_evals: usize,
    /// Jacobian-vector products.
    pub jac_vec_products: usize,
    /// Jacobian matrix evaluations.
    pub jac_evals: usize,
    /// LU factorisations.
    pub lu_factorizations: usize,
}

/// States at the requested times.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Output times.
    pub times: Vec<f64>,
    /// State at each time.
    pub states: Vec<Vec<f64>>,
    /// Solver statistics.
    pub stats: FlowStats,
    /// Located events (restarts); 0 without surfaces.
    pub events: usize,
    /// Surfaces crossed (≥ events: crossings closer than the root finder's resolution are
    /// switched together).
    pub switches: usize,
    /// Sliding (Filippov) segments entered; 0 without surfaces.
    pub sliding_segments: usize,
    /// Time of the first sliding entry (0 if the state starts sliding), if any.
    pub first_sliding: Option<f64>,
}

/// The relative tolerances the adaptive solvers accept: above 0.1 a step may carry an error of
/// the solution's own size (rtol 2 gave a(20) = 0.855 against the exact 1.0 without a word);
/// below 1e-15 (≈ 4.5 f64 ulps) f64 arithmetic cannot meet the request.
pub const RTOL_RANGE: (f64, f64) = (1e-15, 0.1);

/// Errors from integration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// Unknown method name.
    #[error("unknown method \"{name}\": use one of bdf, esdirk34, tr-bdf2, tsit45")]
    UnknownMethod {
        /// The name given.
        name: String,
    },
    /// Bad tolerance.
    #[error("{name} = {value} must be a finite number > 0 (e.g. --rtol 1e-8 --atol 1e-10)")]
    BadTolerance {
        /// rtol or atol.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// A relative tolerance outside [`RTOL_RANGE`].
    #[error(
        "rtol = {value:e} is outside {:e} … {}: above, the solver may return errors of the solution's own \
         size; below, f64 cannot deliver it — pass an rtol in that range (e.g. --rtol 1e-8)",
        RTOL_RANGE.0,
        RTOL_RANGE.1
    )]
    RtolRange {
        /// The value.
        value: f64,
    },
    /// Bad times.
    #[error(transparent)]
    Times(#[from] TimeError),
    /// Initial state of the wrong size or non-finite.
    #[error("initial state: {0}")]
    InitialState(String),
    /// diffsol failed.
    #[error("{method} failed at t = {t:.6e}: {detail}")]
    Solver {
        /// Method.
        method: Method,
        /// Time reached.
        t: f64,
        /// diffsol's message.
        detail: String,
    },
    /// Step limit reached.
    #[error(
        "{method} took more than {max_steps} steps before t = {t:.6e} (the problem may be stiff \
         for an explicit method: try --method bdf, or loosen --rtol)"
    )]
    TooManySteps {
        /// Method.
        method: Method,
        /// Time reached.
        t: f64,
        /// Limit.
        max_steps: usize,
    },
    /// Event location chatters on one surface: a sliding mode.
    #[error(
        "{method}: surface {surface} was crossed {count} times in a row within Δt = {span:.3e} before t = {t:.6e}: \
         the flow slides along it (a Filippov sliding mode: the field points into the surface from both sides), \
         which this field's event location does not integrate; use --events off (plain adaptive integration) or a \
         shorter time span"
    )]
    Sliding {
        /// Method.
        method: Method,
        /// Time.
        t: f64,
        /// Surface index.
        surface: usize,
        /// Consecutive crossings.
        count: usize,
        /// Time they spanned.
        span: f64,
    },
    /// The switched field failed (e.g. a singular sliding system).
    #[error("{method} at t = {t:.6e}: {detail}")]
    Field {
        /// Method.
        method: Method,
        /// Time.
        t: f64,
        /// The field's message.
        detail: String,
    },
    /// The solution blew up.
    #[error("{method}: the state became non-finite at t = {t:.6e}")]
    NonFinite {
        /// Method.
        method: Method,
        /// Time.
        t: f64,
    },
}

/// Integrate ẏ = F(y) from y(0) = `y0` and return the state at each of `times` (≥ 0, sorted).
///
/// # Errors
/// [`FlowError`] for bad options or inputs, solver failure, a non-finite state or the step limit.
pub fn integrate<F: VectorField + ?Sized>(
    field: &F,
    y0: &[f64],
    times: &[f64],
    opts: &FlowOptions,
) -> Result<Trajectory, FlowError> {
    integrate_inner(field, None, y0, times, opts)
}

/// Integrate a piecewise-smooth field with its switching surfaces located as events.
///
/// Between switches the field's current smooth piece is integrated (its trial stages never
/// see a kink). diffsol evaluates the n_surfaces root functions at every step end; a sign
/// change inside an accepted step is located by its Illinois secant search on the step's
/// interpolant to ~100 ε·t in time, so the event time is as accurate as the interpolant
/// (≈ the local tolerance). The integrator is then moved back to the event
/// (`state_mut_back`), [`SwitchedField::switch`] selects the next piece, ẏ is re-evaluated
/// there (ẏ jumps across a ReLU kink) and the method restarts (BDF at order 1; the explicit
/// and SDIRK methods keep their step size). [`Trajectory::events`] counts restarts and
/// [`Trajectory::switches`] the surface crossings.
///
/// Limits (be aware): two crossings of one surface inside a single step (cross and return)
/// produce no sign change at the step ends and go unnoticed, as in CVODE; the cost is one
/// evaluation of all surfaces per step plus ~5–10 per event. For a ReLU network that is
/// h·n surfaces; when switches are dense in time every step ends at an event. On the peers'
/// problem R (10⁶ surfaces, t ∈ [0, 50]) they are not: Tsit45 at rtol 1e-10 located 272 switches
/// in 2,454 steps (16,580 evaluations, against 153,524 for the same method without events,
/// whose steps shrink at every kink). `flow::landing` does the same for the IMEX pairs.
///
/// Sliding modes: where the field points into a surface from both sides (for ReLU networks
/// this happens when a_k·g_i has the sign that makes neuron k's own sample i push z_ki back),
/// the true (Filippov) flow stays on the surface. A field that integrates the sliding motion
/// ([`SwitchedField::switch`] decides entry, and its surface functions change meaning on the
/// sliding set so that the exit is located as a root, e.g. `FrozenPatternFlow`) reports the
/// segments ([`Trajectory::sliding_segments`], [`Trajectory::first_sliding`]); a failure of
/// the sliding system ([`SwitchedField::fault`]) is [`FlowError::Field`]. Chattering that is
/// left (a field without sliding support: [`SLIDING_EVENTS`] consecutive crossings of one
/// surface within [`SLIDING_SPAN`]) is still reported as [`FlowError::Sliding`].
///
/// # Errors
/// As [`integrate`].
pub fn integrate_switched<F: SwitchedField + ?Sized>(
    field: &F,
    y0: &[f64],
    times: &[f64],
    opts: &FlowOptions,
) -> Result<Trajectory, FlowError> {
    let eval = |y: &[f64], s: &mut [f64]| field.surfaces_inplace(y, s);
    let first = std::cell::Cell::new((field.sliding_segments() > 0).then_some(0.0));
    let switch = |y: &[f64], idx: usize, t: f64| {
        let before = field.sliding_segments();
        let count = field.switch(y, idx);
        if field.sliding_segments() > before && first.get().is_none() {
            first.set(Some(t));
        }
        count
    };
    let fault = || field.fault();
    let mut tr = integrate_inner(
        field,
        Some((field.n_surfaces(), &eval, &switch, &fault)),
        y0,
        times,
        opts,
    )?;
    tr.sliding_segments = field.sliding_segments();
    tr.first_sliding = first.get();
    Ok(tr)
}

/// Sliding detection: this many consecutive events on one surface ...
pub const SLIDING_EVENTS: usize = 8;
/// ... within this time span relative to 1 + |t| mean the flow slides along the surface (a
/// genuine re-crossing takes O(1) time; chattering recrosses within a few step sizes).
pub const SLIDING_SPAN: f64 = 1e-6;

/// Surfaces: count, evaluator, switch handler, fault report.
type Events<'e> = (
    usize,
    &'e dyn Fn(&[f64], &mut [f64]),
    &'e dyn Fn(&[f64], usize, f64) -> usize,
    &'e dyn Fn() -> Option<String>,
);

fn integrate_inner<F: VectorField + ?Sized>(
    field: &F,
    events: Option<Events<'_>>,
    y0: &[f64],
    times: &[f64],
    opts: &FlowOptions,
) -> Result<Trajectory, FlowError> {
    for (name, value) in [("rtol", opts.rtol), ("atol", opts.atol)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(FlowError::BadTolerance { name, value });
        }
    }
    if !(RTOL_RANGE.0..=RTOL_RANGE.1).contains(&opts.rtol) {
        return Err(FlowError::RtolRange { value: opts.rtol });
    }
    check_times(times)?;
    if y0.len() != field.dim() {
        return Err(FlowError::InitialState(format!(
            "length {} but the model has {} parameters",
            y0.len(),
            field.dim()
        )));
    }
    if let Some(i) = y0.iter().position(|v| !v.is_finite()) {
        return Err(FlowError::InitialState(format!("entry {i} is {}", y0[i])));
    }
    let mut eqn = FieldEquations::new(field, y0);
    if let Some((n, eval, _, _)) = events {
        eqn = eqn.with_surfaces(n, eval);
    }
    let t_end = *times.last().expect("checked non-empty");
    let problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(opts.rtol)
        .atol([opts.atol])
        .build_from_eqn(eqn)
        .map_err(|e| solver_err(opts.method, 0.0, e))?;
    type Ls = NalgebraLU<f64>;
    let (mut n_events, mut n_switches) = (0usize, 0usize);
    // (surface, consecutive count, time of the first of the run) for sliding detection.
    let mut last_event: (usize, usize, f64) = (usize::MAX, 0, 0.0);
    macro_rules! run {
        ($solver:expr) => {{
            let mut s = $solver.map_err(|e| solver_err(opts.method, 0.0, e))?;
            let mut out: Vec<Vec<f64>> = Vec::with_capacity(times.len());
            let mut k = 0;
            while k < times.len() && times[k] <= 0.0 {
                out.push(y0.to_vec());
                k += 1;
            }
            if k < times.len() {
                s.set_stop_time(t_end).map_err(|e| solver_err(opts.method, 0.0, e))?;
                let mut steps = 0usize;
                loop {
                    let t_now = s.state().t;
                    let fault = |t: f64| {
                        events.and_then(|e| (e.3)()).map(|detail| FlowError::Field {
                            method: opts.method,
                            t,
                            detail,
                        })
                    };
                    let reason = match s.step() {
                        Ok(r) => r,
                        Err(e) => return Err(fault(t_now).unwrap_or_else(|| solver_err(opts.method, t_now, e))),
                    };
                    steps += 1;
                    let t = s.state().t;
                    if let Some(e) = fault(t) {
                        return Err(e);
                    }
                    if s.state().y.inner().iter().any(|v| !v.is_finite()) {
                        return Err(FlowError::NonFinite { method: opts.method, t });
                    }
                    // Outputs are read inside the accepted step, up to the event if there is one.
                    let t_out = match reason {
                        OdeSolverStopReason::RootFound(tr, _) => tr,
                        _ => t,
                    };
                    while k < times.len() && times[k] <= t_out {
                        let y = s.interpolate(times[k]).map_err(|e| solver_err(opts.method, t, e))?;
                        out.push(y.inner().as_slice().to_vec());
                        k += 1;
                    }
                    if let (OdeSolverStopReason::RootFound(tr, idx), Some((_, _, switch, _))) = (&reason, events) {
                        if last_event.0 == *idx {
                            last_event.1 += 1;
                        } else {
                            last_event = (*idx, 1, *tr);
                        }
                        let span = *tr - last_event.2;
                        if last_event.1 >= SLIDING_EVENTS && span <= SLIDING_SPAN * (1.0 + tr.abs()) {
                            return Err(FlowError::Sliding {
                                method: opts.method,
                                t: *tr,
                                surface: *idx,
                                count: last_event.1,
                                span,
                            });
                        }
                        s.state_mut_back(*tr).map_err(|e| solver_err(opts.method, *tr, e))?;
                        let st = s.state_mut();
                        n_switches += switch(st.y.inner().as_slice(), *idx, *tr);
                        n_events += 1;
                        field.eval_inplace(st.y.inner().as_slice(), st.dy.inner_mut().as_mut_slice());
                    }
                    if k == times.len() || matches!(reason, OdeSolverStopReason::TstopReached) {
                        break;
                    }
                    if steps >= opts.max_steps {
                        return Err(FlowError::TooManySteps {
                            method: opts.method,
                            t,
                            max_steps: opts.max_steps,
                        });
                    }
                }
            }
            let st = s.get_statistics().clone();
            (out, st)
        }};
    }
    let (states, st) = match opts.method {
        Method::Bdf => run!(problem.bdf::<Ls>()),
        Method::Esdirk34 => run!(problem.esdirk34::<Ls>()),
        Method::TrBdf2 => run!(problem.tr_bdf2::<Ls>()),
        Method::Tsit45 => run!(problem.tsit45()),
    };
    let op = problem.eqn.rhs_statistics();
    Ok(Trajectory {
        times: times.to_vec(),
        states,
        events: n_events,
        switches: n_switches,
        sliding_segments: 0,
        first_sliding: None,
        stats: FlowStats {
            steps: st.number_of_steps,
            rejected_steps: st.number_of_error_test_failures,
            newton_iterations: st.number_of_nonlinear_solver_iterations,
            newton_failures: st.number_of_nonlinear_solver_fails,
            rhs_evals: op.number_of_calls,
            jac_vec_products: op.number_of_jac_muls,
            jac_evals: op.number_of_matrix_evals,
            lu_factorizations: st.number_of_linear_solver_setups,
        },
    })
}

fn solver_err(method: Method, t: f64, e: impl fmt::Display) -> FlowError {
    FlowError::Solver {
        method,
        t,
        detail: e.to_string(),
    }
}
