//! Layer 1: the mathematics of each network, in f64, with no I/O.
//!
//! A model is a loss L(θ) with one learning rate per parameter; its gradient flow is
//! θ̇ = −η ⊙ ∇L(θ) (P1 §3, `docs/theory.md` §1.1). Models provide the gradient and an analytic
//! Hessian so that implicit solvers get an exact Jacobian J = −diag(η) ∇²L.
//!
//! - [`GradientFlowModel`]: loss, gradient, Hessian and Hessian-vector product, rates.
//! - [`VectorField`]: any autonomous ODE ẏ = F(y) with its Jacobian; [`ParameterFlow`] turns a
//!   model into one. The `flow` layer integrates any `VectorField`.
//! - [`single_neuron`]: f(x) = a·wᵀx (P1 §3) and its function-space flow (P1 eqs. 3–4).
//! - [`lambda_balanced`]: two-layer linear network W2W1 (P2) and λ-balanced initialisation.
//! - [`lambda_balanced_exact`]: exact decimal inputs (whitened X, λ-balanced init, tasks) for it,
//!   and the exact check of the closed form's assumptions (rational arithmetic).
//! - [`two_layer_linear`], [`deep_linear`]: f(x) = AᵀW_L⋯W_1x (P1 §4, App. B) and the
//!   Theorem 4.2 β flow.
//! - [`piecewise_linear`]: f(x) = aᵀσ(Wx) with σ(z) = max(z, γz) (P1 §5), frozen-pattern and
//!   eq. (10) fields.
//! - [`box_lcp`]: small box-constrained linear complementarity problems (the choice of
//!   sliding samples at an event of the piecewise-linear flow).
//! - [`teacher_student`]: data (ReLU teacher, XOR-like clusters) and the symmetrised student
//!   initialisation of P1 Fig. 1 (f(x; θ0) ≡ 0).

pub mod box_lcp;
pub mod deep_linear;
pub mod lambda_balanced;
pub mod lambda_balanced_exact;
pub mod linalg;
pub mod piecewise_linear;
pub mod samples;
pub mod single_neuron;
pub mod teacher_student;
pub mod two_layer_aligned;
pub mod two_layer_linear;

/// Errors from building a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An array has the wrong shape.
    #[error("{what} has the wrong shape: expected {expected}, found {found}")]
    Shape {
        /// Which input.
        what: String,
        /// Expected shape.
        expected: String,
        /// Found shape.
        found: String,
    },
    /// A value is NaN or infinite.
    #[error("{what} is not finite ({value}): every input number must be finite")]
    NonFinite {
        /// Which entry.
        what: String,
        /// The value.
        value: f64,
    },
    /// A learning rate is not positive.
    #[error("learning rate {name} = {value} must be > 0 (gradient flow needs positive rates)")]
    NonPositiveRate {
        /// Rate name.
        name: &'static str,
        /// The value.
        value: f64,
    },
}

/// Check that every entry is finite.
///
/// # Errors
/// [`ModelError::NonFinite`] naming `what[index]`.
pub fn check_finite(what: &str, values: &[f64]) -> Result<(), ModelError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(ModelError::NonFinite {
            what: format!("{what}[{i}]"),
            value: values[i],
        }),
        None => Ok(()),
    }
}

/// Check a learning rate.
///
/// # Errors
/// [`ModelError::NonPositiveRate`] when `value` is not a finite positive number.
pub fn check_rate(name: &'static str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::NonPositiveRate { name, value })
    }
}

/// A loss with per-parameter learning rates, whose gradient flow is θ̇ = −η ⊙ ∇L(θ).
pub trait GradientFlowModel {
    /// Number of parameters.
    fn n_params(&self) -> usize;
    /// Learning rate η_i of parameter `i`.
    fn rate(&self, i: usize) -> f64;
    /// The loss L(θ).
    fn loss(&self, theta: &[f64]) -> f64;
    /// ∇L(θ) into `grad` (no allocation).
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]);
    /// ∇²L(θ) into `hess`, column-major `n × n` (symmetric).
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]);
    /// ∇²L(θ)·v into `out` (no allocation).
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]);
}

/// An autonomous ODE ẏ = F(y) with analytic Jacobian.
pub trait VectorField {
    /// State dimension.
    fn dim(&self) -> usize;
    /// F(y) into `dy` (no allocation).
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]);
    /// ∂F/∂y into `jac`, column-major `dim × dim`.
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]);
    /// (∂F/∂y)·v into `out` (no allocation).
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]);
}

/// A low-rank symmetric negative semi-definite operator L = −Σ_j μ_j v_j v_jᵀ (v_j orthonormal,
/// μ_j ≥ 0): the stiff part of a field's Jacobian that an IMEX method treats implicitly
/// (`flow::imex`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StiffModes {
    /// Decay rates μ_j ≥ 0.
    pub mu: Vec<f64>,
    /// Orthonormal directions v_j (each of the field's dimension).
    pub v: Vec<Vec<f64>>,
}

impl StiffModes {
    /// Replace the modes by the Ritz pairs with value ≥ `cut` (at most `max` of them, in the
    /// order given) and return the stiffness left to the explicit part: the largest value not
    /// taken, or the residual of a taken pair (an inexact Ritz vector leaves up to its residual
    /// of stiffness behind), whichever is larger.
    pub fn take_ritz(&mut self, ritz: Vec<crate::num::lanczos::RitzPair>, cut: f64, max: usize) -> f64 {
        self.mu.clear();
        self.v.clear();
        let mut rest: f64 = 0.0;
        for r in ritz {
            if r.value >= cut && self.v.len() < max {
                rest = rest.max(r.residual);
                self.mu.push(r.value);
                self.v.push(r.vector);
            } else {
                rest = rest.max(r.value);
            }
        }
        rest
    }
}

/// A [`VectorField`] that can name its stiff directions. The IMEX split F(y) = L y + (F(y) − L y)
/// is exact for *any* L, so the modes only decide how long the steps can be, never what is
/// solved: a poor estimate costs steps, not accuracy.
pub trait StiffSplit: VectorField {
    /// Estimate the stiff modes at `y` into `modes`, warm-started from what `modes` holds (empty
    /// on the first call). May allocate (it runs once every many steps, not per evaluation).
    fn stiff_modes(&self, y: &[f64], modes: &mut StiffModes);

    /// The modes of −∂F/∂y at `y` with decay rate μ ≥ `cut` (an integrator sizes its implicit
    /// part so that what is left is explicitly stable at its step), into `modes` (warm-started
    /// from what it holds). Returns an estimate of the largest decay rate left out, `None` when
    /// the field cannot estimate it. The default ignores `cut` and returns
    /// [`StiffSplit::stiff_modes`] with no estimate.
    fn stiff_modes_above(&self, y: &[f64], cut: f64, modes: &mut StiffModes) -> Option<f64> {
        let _ = cut;
        self.stiff_modes(y, modes);
        None
    }
}

/// A [`VectorField`] that is smooth between switching surfaces s_j(y) = 0 (e.g. the
/// activation-pattern boundaries w_kᵀx_i = 0 of a ReLU network). Between switches it evaluates
/// one smooth piece (frozen across the surface, so an integrator's trial stages never see a
/// kink); at a located crossing the integrator calls [`SwitchedField::switch`] and restarts.
pub trait SwitchedField: VectorField {
    /// Number of surfaces.
    fn n_surfaces(&self) -> usize;
    /// s_j(y) for every surface into `s` (no allocation).
    fn surfaces_inplace(&self, y: &[f64], s: &mut [f64]);
    /// Move to the piece beyond surface `idx`, crossed at state `y` (other surfaces whose sign
    /// at `y` disagrees with the current piece are switched too); returns how many surfaces
    /// were switched.
    fn switch(&self, y: &[f64], idx: usize) -> usize;
    /// How many sliding (Filippov) segments were entered so far (0 for fields without sliding).
    fn sliding_segments(&self) -> usize {
        0
    }
    /// A failure inside the field that makes the solution meaningless (e.g. a singular
    /// sliding system), reported by the integrator as an error.
    fn fault(&self) -> Option<String> {
        None
    }
}

/// The gradient flow θ̇ = −η ⊙ ∇L(θ) of a model, as a [`VectorField`].
#[derive(Debug, Clone, Copy)]
pub struct ParameterFlow<'a, M: ?Sized>(pub &'a M);

impl<M: GradientFlowModel + ?Sized> VectorField for ParameterFlow<'_, M> {
    fn dim(&self) -> usize {
        self.0.n_params()
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        self.0.grad_inplace(y, dy);
        for (i, g) in dy.iter_mut().enumerate() {
            *g *= -self.0.rate(i);
        }
    }
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]) {
        let n = self.0.n_params();
        self.0.hessian_inplace(y, jac);
        for j in 0..n {
            for i in 0..n {
                jac[i + j * n] *= -self.0.rate(i);
            }
        }
    }
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        self.0.hvp_inplace(y, v, out);
        for (i, o) in out.iter_mut().enumerate() {
            *o *= -self.0.rate(i);
        }
    }
}
