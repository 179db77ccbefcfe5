//! Single-neuron closed form in f64 (`docs/theory.md` §1.4, derived there and verified to 50 digits).
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
//! valid for every δ (including 0) and through sign changes of a. For large t every term grows
//! like e^{λ₊t}; the evaluation divides A, I1 and g by e^{λ₊t} and writes every
//! (e^{λt} − 1)/λ through `expm1`, so nothing overflows and nothing cancels (the "overflow-free
//! evaluation" of §1.4). λ± are computed without the cancellation of δ ± K
//! (λ₊λ₋ = −η_aη_w s²).
//!
//! # Accuracy (measured, see `tests/exact_single_neuron.rs`)
//! Against 256-bit MPFR evaluated on the same binary64 inputs, the error of (a, w) is at most
//! [`F64_ULP_BOUND`] · κ ulp of max|θ(t)| (64·κ), in every regime (downstream, balanced, upstream,
//! |δ| from 1e-4 to 50, t up to 20 and beyond): a few ulp in most cases (≤ 2.5 on the catalog),
//! up to ~31 ulp observed for downstream δ = −50, growing with t (see the constant's doc). The
//! cancellation of η_w a0² − η_a‖w0‖² is in the *inputs* (it fixes δ; the formula never forms it
//! again), and λ± are formed without cancellation. The one amplification is
//! κ = [`ClosedForm::condition`], the cancellation in c± = ∓(η_a p0 + a0 λ±)/K: it is large
//! only near the separating surface of the two basins (`docs/theory.md` §1.3), where the exact
//! solution itself is that sensitive to its inputs (the time spent near the saddle depends on
//! c₊), so no evaluation in binary64 can do better.

use super::ExactError;
use crate::models::single_neuron::SingleNeuron;
use crate::num::tol;

/// Accuracy of the f64 closed form: max error ≤ `F64_ULP_BOUND · κ` ulp of max|θ(t)|, with κ
/// the conditioning of c± ([`ClosedForm::condition`]). Measured against 256-bit MPFR on exactly
/// the same binary64 inputs: ≤ 2.5 ulp on the catalog (κ ≈ 1); over a sweep of 2,700 seeded
/// random cases (δ ∈ {±50, ±20, ±2, ±1e-3, 0}, d ∈ {2, 4, 16}, random η, t ≤ 20) the worst was
/// 30.6·κ ulp, in the downstream large-|δ| regime (δ = −50, d = 16), where the error grows with
/// t during the slow alignment phase — not yet explained by the cancellation factors the
/// evaluation measures, so the bound is set from the measurement with a 2× margin.
pub const F64_ULP_BOUND: f64 = 64.0;

/// (e^{λt} − 1)/λ, equal to t at λ = 0, accurate for small |λt|.
#[inline]
pub(crate) fn em(lambda: f64, t: f64) -> f64 {
    if lambda == 0.0 {
        t
    } else {
        (lambda * t).exp_m1() / lambda
    }
}

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
    eta_a: f64,
    eta_w: f64,
    bstar: Vec<f64>,
    w0: Vec<f64>,
    a0: f64,
    p0: f64,
    s2: f64,
    delta: f64,
    k: f64,
    lp: f64,
    lm: f64,
    cp: f64,
    cm: f64,
}

/// λ₊, λ₋ and K for δ and e·s² = η_aη_w s², without cancellation.
pub(crate) fn rates(delta: f64, es2: f64) -> (f64, f64, f64) {
    let k = delta.hypot(2.0 * es2.sqrt());
    if delta >= 0.0 {
        let lp = 0.5 * (delta + k);
        let lm = if lp > 0.0 { -es2 / lp } else { 0.0 };
        (lp, lm, k)
    } else {
        let lm = 0.5 * (delta - k);
        (-es2 / lm, lm, k)
    }
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
        let theta0 = model.theta(a0, w0)?;
        let bstar = model.xty().to_vec();
        let (eta_a, eta_w) = (model.eta_a(), model.eta_w());
        let s2: f64 = bstar.iter().map(|b| b * b).sum();
        let p0: f64 = w0.iter().zip(&bstar).map(|(w, b)| w * b).sum();
        let delta = model.delta(&theta0);
        let (lp, lm, k) = rates(delta, eta_a * eta_w * s2);
        let (cp, cm) = if k > 0.0 {
            ((eta_a * p0 + a0 * lp) / k, -(eta_a * p0 + a0 * lm) / k)
        } else {
            // δ = 0 and β* = 0: A(t) ≡ a0.
            (a0, 0.0)
        };
        Ok(ClosedForm {
            eta_a,
            eta_w,
            bstar,
            w0: w0.to_vec(),
            a0,
            p0,
            s2,
            delta,
            k,
            lp,
            lm,
            cp,
            cm,
        })
    }

    /// The conserved quantity δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// Conditioning of the coefficients c± = ∓(η_a p0 + a0 λ±)/K:
    /// κ = max over ± of (|η_a p0| + |a0 λ±|)/|η_a p0 + a0 λ±| (≥ 1; 1 when nothing cancels).
    /// Large only near the separating surface c₊ = 0 (or its mirror c₋ = 0).
    pub fn condition(&self) -> f64 {
        let ep = self.eta_a * self.p0;
        let k = |l: f64| {
            let s = ep.abs() + (self.a0 * l).abs();
            let c = (ep + self.a0 * l).abs();
            if s == 0.0 {
                1.0
            } else if c == 0.0 {
                f64::INFINITY
            } else {
                (s / c).max(1.0)
            }
        };
        k(self.lp).max(k(self.lm))
    }

    /// (a(t), w(t)) packed as θ = (a, w) into `theta` (length d + 1).
    pub fn theta_at_inplace(&self, t: f64, theta: &mut [f64]) {
        self.theta_at_cond_inplace(t, theta);
    }

    /// As [`ClosedForm::theta_at_inplace`], returning the evaluation's condition number: the
    /// largest cancellation factor Σ|terms|/|Σ terms| among the sums it forms (A, I1, g²), and
    /// [`ClosedForm::condition`]. A and I1 cancel when A(t) changes sign (c₊, c₋ of opposite
    /// signs, i.e. near the zero of a(t) or the separatrix). The f64 error is ≤ 8·κ ulp of
    /// max|θ(t)| ([`F64_ULP_BOUND`]).
    pub fn theta_at_cond_inplace(&self, t: f64, theta: &mut [f64]) -> f64 {
        let (lp, lm, cp, cm) = (self.lp, self.lm, self.cp, self.cm);
        let eps = (-lp * t).exp(); // e^{−λ₊t}
        let ekt = (-self.k * t).exp(); // e^{−Kt}
        let a_s = cp + cm * ekt;
        let (u1, u2) = (cp * em(-lp, t), cm * eps * em(lm, t));
        let i1_s = u1 + u2;
        let cancel = |s: f64, m: f64| {
            if s == 0.0 {
                if m == 0.0 { 1.0 } else { f64::INFINITY }
            } else {
                (m / s.abs()).max(1.0)
            }
        };
        let cond_a = cancel(a_s, cp.abs() + (cm * ekt).abs());
        let cond_i1 = cancel(i1_s, u1.abs() + u2.abs());
        let cross = if self.delta >= 0.0 {
            ekt * em(-self.delta, t)
        } else {
            eps * eps * em(self.delta, t)
        };
        let (t1, t2, t3) = (
            cp * cp * em(-2.0 * lp, t),
            2.0 * cp * cm * cross,
            cm * cm * eps * eps * em(2.0 * lm, t),
        );
        // g² = 1 + 2η_w I2. The expansion of I2 = ∫A² cancels when A(t) changes sign (c₊, c₋ of
        // opposite signs); the conservation law gives a second formula, δ·g² = η_w A² − η_a‖v‖²
        // with v = w0 + η_w I1 β* (from η_a‖w‖² = η_w a² − δ), which cancels only when |δ| is
        // small against those terms. Take whichever cancels less (their condition numbers).
        let g2_i2 = eps * eps + 2.0 * self.eta_w * (t1 + t2 + t3);
        let cond_i2 = (eps * eps + 2.0 * self.eta_w * (t1.abs() + t2.abs() + t3.abs())) / g2_i2.abs();
        let mut vn2 = 0.0;
        for (i, w) in theta[1..].iter_mut().enumerate() {
            *w = eps * self.w0[i] + self.eta_w * i1_s * self.bstar[i];
            vn2 += *w * *w;
        }
        let (pa, pw) = (self.eta_w * a_s * a_s, self.eta_a * vn2);
        let cond_delta = if self.delta != 0.0 {
            (pa + pw) / (pa - pw).abs()
        } else {
            f64::INFINITY
        };
        let g2 = if cond_delta < cond_i2 {
            (pa - pw) / self.delta
        } else {
            g2_i2
        };
        let g_s = g2.sqrt();
        theta[0] = a_s / g_s;
        for w in theta[1..].iter_mut() {
            *w /= g_s;
        }
        // I1 matters through v = w0 + η_w I1 β*: weigh its cancellation by that term's share.
        let share = if vn2 > 0.0 {
            (self.eta_w * i1_s).abs() * self.s2.sqrt() / vn2.sqrt()
        } else {
            0.0
        };
        self.condition()
            .max(cond_a.min(1e300))
            .max(1.0 + share * (cond_i1 - 1.0))
            .max(cond_i2.min(cond_delta))
    }

    /// θ(t) as a new vector.
    pub fn theta_at(&self, t: f64) -> Vec<f64> {
        let mut th = vec![0.0; self.w0.len() + 1];
        self.theta_at_inplace(t, &mut th);
        th
    }

    /// The t → ∞ limit (requires β* ≠ 0).
    pub fn limit(&self) -> Option<Limit> {
        if self.s2 == 0.0 {
            return None;
        }
        let sign = if self.cp > 0.0 {
            1.0
        } else if self.cp < 0.0 {
            -1.0
        } else {
            0.0
        };
        let s = self.s2.sqrt();
        let a = sign * (self.lp / self.eta_w).sqrt();
        let wn = sign * (-self.lm / self.eta_a).sqrt() / s;
        Some(Limit {
            sign,
            a,
            w: self.bstar.iter().map(|b| wn * b).collect(),
        })
    }

    /// a0 (for reference).
    pub fn a0(&self) -> f64 {
        self.a0
    }
}
