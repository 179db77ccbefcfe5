//! Layer 2: integration of gradient flows with diffsol (the only module that names diffsol types).
//!
//! [`integrate`] solves ẏ = F(y), y(0) = y0 for any [`VectorField`] and reports the state at the
//! requested times, with solver statistics. Methods ([`Method`]): diffsol's variable-order BDF,
//! the SDIRK methods ESDIRK34 and TR-BDF2 (implicit, Newton with the field's analytic Jacobian
//! assembled by [`VectorField::jacobian_inplace`], LU factorisations reused across steps), and
//! the explicit Tsitouras 5(4) pair. Dense output at the requested times comes from each
//! method's own interpolant, evaluated inside the step that covers the time.
//!
//! Tolerances are diffsol's mixed error test |e_i| ≤ atol + rtol·|y_i| per step; the *global*
//! error of the solution is not bounded by them (see `verification/README.md` for the bounds
//! the catalog promises and why).

mod equations;

use crate::models::VectorField;
use crate::num::{TimeError, check_times};
use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, VectorCommon};
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
}

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
    for (name, value) in [("rtol", opts.rtol), ("atol", opts.atol)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(FlowError::BadTolerance { name, value });
        }
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
    let eqn = FieldEquations::new(field, y0);
    let t_end = *times.last().expect("checked non-empty");
    let problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(opts.rtol)
        .atol([opts.atol])
        .build_from_eqn(eqn)
        .map_err(|e| solver_err(opts.method, 0.0, e))?;
    type Ls = NalgebraLU<f64>;
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
                    let reason = s.step().map_err(|e| solver_err(opts.method, t_now, e))?;
                    steps += 1;
                    let t = s.state().t;
                    if s.state().y.inner().iter().any(|v| !v.is_finite()) {
                        return Err(FlowError::NonFinite { method: opts.method, t });
                    }
                    while k < times.len() && times[k] <= t {
                        let y = s.interpolate(times[k]).map_err(|e| solver_err(opts.method, t, e))?;
                        out.push(y.inner().as_slice().to_vec());
                        k += 1;
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
