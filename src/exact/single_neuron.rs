//! Single-neuron closed form in f64 (`docs/theory.md` §1.4, derived there and verified to 50 digits):
//! the f64 instantiation of [`super::single_neuron_generic`], where the equations and the
//! overflow-free evaluation are written once for f64, MPFR and balls.
//!
//! Assumes whitened data, XᵀX = I_d, so that β* = Xᵀy. With s = ‖β*‖, p0 = w0ᵀβ*,
//! δ = η_w a0² − η_a‖w0‖², K = √(δ² + 4η_aη_w s²), λ± = (δ ± K)/2 and g(t) = √(1 + 2η_w I2(t)):
//!
//! ```text
//! A(t)  = c₊ e^{λ₊t} + c₋ e^{λ₋t},   c₊ = (η_a p0 + a0 λ₊)/K,  c₋ = −(η_a p0 + a0 λ₋)/K
//! I1(t) = ∫₀ᵗ A,   I2(t) = ∫₀ᵗ A²
//! a(t)  = A/g,     w(t) = (w0 + η_w I1 β*)/g
//! ```
//!
//! valid for every δ (including 0) and through sign changes of a. Every (e^{λt} − 1)/λ is
//! written through `expm1` (or t·φ₁(λt) where λ = 0), and for λ₊t > 200 every term is divided by
//! e^{λ₊t}, so nothing overflows (the "overflow-free evaluation" of §1.4). λ± are computed
//! without the cancellation of δ ± K (λ₊λ₋ = −η_aη_w s²).
//!
//! # Accuracy (measured, see `tests/it/exact_single_neuron.rs`)
//! Against 256-bit MPFR evaluated on the same binary64 inputs, the error of (a, w) is at most
//! [`F64_ULP_BOUND`] · κ ulp of max|θ(t)|, in every regime (downstream, balanced, upstream,
//! |δ| from 1e-4 to 50, t up to 20 and beyond): ≤ 1.5 ulp on the catalog, at most 22.3·κ ulp
//! over a 2,700-case random sweep (downstream δ = −50). The cancellation of η_w a0² − η_a‖w0‖² is in the
//! *inputs* (it fixes δ; the formula never forms it again), and λ± are formed without
//! cancellation. The one amplification is κ = [`ClosedForm::condition`], the cancellation in
//! c± = ∓(η_a p0 + a0 λ±)/K: it is large only near the separating surface of the two basins
//! (`docs/theory.md` §1.3), where the exact solution itself is that sensitive to its inputs (the
//! time spent near the saddle depends on c₊), so no evaluation in binary64 can do better.

use super::ExactError;
use super::single_neuron_generic::{GenericClosedForm, Inputs};
use crate::models::single_neuron::SingleNeuron;
use crate::num::tol;

/// Accuracy of the f64 closed form: max error ≤ `F64_ULP_BOUND · κ` ulp of max|θ(t)|, with κ
/// the conditioning of c± ([`ClosedForm::condition`]). Measured against 256-bit MPFR on exactly
/// the same binary64 inputs (`tests/it/single_neuron_generic.rs`, `f64_worst_ulps_sweep`): ≤ 1.5 ulp
/// on the catalog (κ ≈ 1); over 2,700 seeded random cases (δ ∈ {±50, ±20, ±2, ±1e-3, 0},
/// d ∈ {2, 4, 16}, random η, t ≤ 20) the worst was 22.3·κ ulp, downstream δ = −50. The bound
/// keeps the margin set for the former f64-only evaluation (worst 30.6·κ ulp on its sweep).
pub const F64_ULP_BOUND: f64 = 64.0;

/// The t → ∞ limit of the flow (`docs/theory.md` §1.4) and its basin.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// sgn(c₊): which branch of the hyperbola of minima the flow reaches (0 on the separatrix).
    pub sign: f64,
    /// a∞.
    pub a: f64,
    /// w∞.
    pub w: Vec<f64>,
}

/// The single-neuron closed form in f64.
#[derive(Debug, Clone)]
pub struct ClosedForm {
    g: GenericClosedForm<f64>,
}

impl ClosedForm {
    /// Set up the closed form for `model` (whitened) from (a0, w0).
    ///
    /// # Errors
    /// [`ExactError::NotWhitened`] when max|XᵀX − I| exceeds [`tol::WHITENING_TOL`];
    /// [`ExactError::Model`] for a w0 of the wrong length or non-finite values.
    pub fn new(model: &SingleNeuron, a0: f64, w0: &[f64]) -> Result<Self, ExactError> {
        let defect = model.whitening_defect();
        if defect > tol::WHITENING_TOL {
            return Err(ExactError::NotWhitened {
                defect,
                tol: tol::WHITENING_TOL,
            });
        }
        model.theta(a0, w0)?;
        let g = GenericClosedForm::new(Inputs {
            eta_a: model.eta_a(),
            eta_w: model.eta_w(),
            bstar: model.xty().to_vec(),
            a0,
            w0: w0.to_vec(),
            resid0: 0.0,
        })
        .map_err(ExactError::from_real)?;
        Ok(ClosedForm { g })
    }

    /// The conserved quantity δ.
    pub fn delta(&self) -> f64 {
        self.g.delta
    }

    /// Conditioning of the coefficients c± = ∓(η_a p0 + a0 λ±)/K:
    /// κ = max over ± of (|η_a p0| + |a0 λ±|)/|η_a p0 + a0 λ±| (≥ 1; 1 when nothing cancels).
    /// Large only near the separating surface c₊ = 0 (or its mirror c₋ = 0).
    pub fn condition(&self) -> f64 {
        self.g.condition()
    }

    /// (a(t), w(t)) packed as θ = (a, w) into `theta` (length d + 1); NaN where the evaluation
    /// fails (non-finite intermediate values).
    pub fn theta_at_inplace(&self, t: f64, theta: &mut [f64]) {
        match self.g.core(&t) {
            Ok((a, e, ginv)) => {
                theta[0] = a;
                self.g.w_inplace(&e, &ginv, &mut theta[1..]);
            }
            Err(_) => theta.iter_mut().for_each(|v| *v = f64::NAN),
        }
    }

    /// θ(t) as a new vector.
    pub fn theta_at(&self, t: f64) -> Vec<f64> {
        let mut th = vec![0.0; self.g.w0.len() + 1];
        self.theta_at_inplace(t, &mut th);
        th
    }

    /// The t → ∞ limit (requires β* ≠ 0).
    pub fn limit(&self) -> Option<Limit> {
        let (sign, a, w) = self.g.limit().ok()??;
        Some(Limit { sign, a, w })
    }

    /// a0 (for reference).
    pub fn a0(&self) -> f64 {
        self.g.a0
    }
}
