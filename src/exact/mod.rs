//! Layer 2: closed-form solutions, in f64 and at arbitrary precision (MPFR via `rug`).
//!
//! - [`single_neuron`]: the single-neuron closed form in f64, overflow-free for large t.
//! - [`single_neuron_mp`]: the same solution at any precision by two routes — the linearised
//!   closed form and the paper's route (Riccati ν, Bernoulli a, hyperbolic coordinates) — each
//!   value with an error bound.
//! - [`single_neuron_ball`]: the linearised closed form in ball arithmetic: rigorous enclosures.
//! - [`single_neuron_generic`]: the single-neuron formulas themselves, written once over
//!   [`crate::num::real::Real`]; the three modules above instantiate them.
//! - [`implicit_bias`]: the interpolant the flow converges to on low-rank data (P1 Thm 3.1, Thm B.10):
//!   Newton on the KKT system in f64 and MPFR, with bounds; the δ → ±∞ limits.
//! - [`mirror_modes`]: wide linear nets with whitened X and task-aligned init: per-mode closed form
//!   (f64, MPFR) and the hyperbolic entropy q_δ at any precision.
//! - [`lambda_balanced`]: QQᵀ(t) of λ-balanced two-layer linear networks (P2), f64, stable for long t.
//! - [`lambda_balanced_mp`]: the same at any precision (MPFR Jacobi eigensolver), with bounds.
//! - [`riccati`]: the λ-balanced Riccati solution written once over f64, MPFR and balls.

pub mod implicit_bias;
pub mod lambda_balanced;
pub mod lambda_balanced_mp;
pub mod mirror_modes;
pub mod riccati;
pub mod single_neuron;
pub mod single_neuron_ball;
pub mod single_neuron_generic;
pub mod single_neuron_mp;

use crate::models::ModelError;
use crate::num::TimeError;
use crate::num::ball::BallError;
use crate::num::mp::PrecError;
use crate::num::real::RealError;

/// Errors from setting up or evaluating a closed form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExactError {
    /// The closed form assumes whitened data.
    #[error(
        "the closed form assumes whitened data (XᵀX = I) but max|XᵀX − I| = {defect:.3e} \
         (tolerance {tol:.0e}): whiten X (orthonormal columns, n ≥ d), or use `simulate`, \
         which works for any X"
    )]
    NotWhitened {
        /// Measured max|XᵀX − I|.
        defect: f64,
        /// Tolerance.
        tol: f64,
    },
    /// Invalid model input.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Invalid precision.
    #[error(transparent)]
    Prec(#[from] PrecError),
    /// A formula is singular at this input.
    #[error("{form} form is singular here: {why}; use --form linearised, which has no singular points")]
    Singular {
        /// Which form.
        form: &'static str,
        /// Why.
        why: String,
    },
    /// The rigorous closed form needs XᵀX = I exactly, and it could not be proved.
    #[error(
        "rigorous enclosures need XᵀX = I exactly for the decimal inputs, but XᵀX − I has an entry \
         of size {defect:.3e} (exact rational arithmetic): use data whose decimals are exactly \
         whitened (e.g. the identity, a Hadamard matrix scaled by 1/√n with n a power of 4, or rows \
         such as (0.6, 0.8), (−0.8, 0.6)), or drop --rigorous: `exact` then bounds the closed form \
         against a validated enclosure of the inputs' own flow"
    )]
    NotExactlyWhitened {
        /// Largest |entry| of XᵀX − I (exact, rounded up).
        defect: f64,
    },
    /// A ball operation left its domain in the rigorous closed form.
    #[error("rigorous closed form: {0}")]
    Rigorous(#[from] BallError),
    /// Invalid output times.
    #[error(transparent)]
    Times(#[from] TimeError),
    /// An f64 or MPFR evaluation gave a non-finite value.
    #[error("closed form: {0}")]
    NonFinite(RealError),
}

impl ExactError {
    /// The error of a failed [`crate::num::real::Real`] operation: a ball's as
    /// [`ExactError::Rigorous`], a precision's as [`ExactError::Prec`], otherwise
    /// [`ExactError::NonFinite`].
    pub fn from_real(e: RealError) -> Self {
        match e {
            RealError::Ball(b) => ExactError::Rigorous(b),
            RealError::Prec(p) => ExactError::Prec(p),
            other => ExactError::NonFinite(other),
        }
    }
}
