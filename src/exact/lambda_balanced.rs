//! Closed form of QQᵀ(t) for λ-balanced two-layer linear networks, in f64 (P2 Lemma 4.1 /
//! Thm 4.3; `docs/theory.md` §4.3–4.4, the F⁻¹-free generic form).
//!
//! With Q = [W1ᵀ; W2] ∈ R^{(d_i+d_o)×h}, whitened data (Σ̃_xx = XXᵀ/P = I) and
//! W2ᵀW2 − W1W1ᵀ = λI_h, QQᵀ solves the matrix Riccati equation
//! τ d(QQᵀ)/dt = F·QQᵀ + QQᵀ·F − (QQᵀ)², F = [[−λ/2·I, Σ̃_yxᵀ], [Σ̃_yx, λ/2·I]], whose solution is
//!
//! QQᵀ(t) = e^{Fs} Q0 [I_h + Q0ᵀ J(s) Q0]⁻¹ Q0ᵀ e^{Fs},  s = t/τ,  J(s) = ∫₀ˢ e^{2Fu} du
//!
//! (`docs/theory.md` §4.4 [R: thesis Thm 2.2.4; D: F⁻¹-free]). F is symmetric: F = V diag(f) Vᵀ once,
//! so e^{Fs} = V diag(e^{f s}) Vᵀ and J(s) = V diag(expm1(2fs)/(2f)) Vᵀ (= s for f = 0: λ = 0 and
//! d_i ≠ d_o make F singular, which this form does not mind).
//!
//! **Stable evaluation \[D\].** Evaluated in one shot, the bracket's condition number grows like
//! e^{2 max|f| s} and digits are lost for long t (P2's "numerically unstable for long t"). The
//! solution depends on Q0 only through Q0Q0ᵀ, and the Riccati flow is autonomous, so it is a
//! semigroup: QQᵀ(s1 + s2) is the same formula applied for time s2 to a factor of QQᵀ(s1). With
//! Q̂ = VᵀQ, one step of length δ is
//!
//! L Lᵀ = I_h + Q̂ᵀ diag(j) Q̂ (Cholesky; the matrix is SPD with eigenvalues ≥ 1),
//! Q̂ ← diag(e^{fδ}) Q̂ L⁻ᵀ,
//!
//! which is exact (no truncation error), and with max|f|·δ ≤ [`STEP_SPAN`] every step is
//! well-conditioned: the error grows linearly, not exponentially, with t (≈ ε per step, with
//! ⌈max|f|·s⌉ steps). Only rounding error remains; its size is estimated by the MPFR version
//! ([`super::lambda_balanced_mp`]).

use crate::models::lambda_balanced::{LinearNetwork, measure_lambda};
use crate::models::{ModelError, check_finite};
use crate::num::mp::PrecError;
use crate::num::tol::WHITENING_TOL;
use crate::num::{TimeError, check_times};
use nalgebra::DMatrix;

/// Largest max|f|·δ per semigroup step: e^{fδ} ≤ e, so a step amplifies nothing by more than e
/// and the bracket I + Q̂ᵀJQ̂ has condition ≤ 1 + ‖Q‖²·(e²−1)/(2 min|f|) (≤ 1 + ‖Q‖²·δ·e² in
/// general). Smaller spans cost more steps for no gain in accuracy (measured: the f64 error is
/// at the 1e-15 level for spans 0.25–2).
pub const STEP_SPAN: f64 = 1.0;

/// Relative λ-balance test: the closed form needs W2ᵀW2 − W1W1ᵀ = λI. Accept
/// max|W2ᵀW2 − W1W1ᵀ − λI| ≤ this × (1 + ‖W1‖²_max + ‖W2‖²_max), which allows initialisations
/// written with ~15 digits and products accumulated in f64, while rejecting pairs that are merely
/// close to balanced (the closed form would then be wrong at that level).
pub const LAMBDA_BALANCE_TOL: f64 = 1e-12;

/// Errors from the λ-balanced closed form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LbError {
    /// Data not whitened.
    #[error(
        "the closed form assumes whitened data (XXᵀ/P = I) but max|XXᵀ/P − I| = {defect:.3e} \
         (tolerance {tol:.0e}): whiten X (d_i×P with orthogonal rows of norm √P), or use \
         `simulate`, which works for any X"
    )]
    NotWhitened {
        /// Measured defect.
        defect: f64,
        /// Tolerance.
        tol: f64,
    },
    /// Initialisation not λ-balanced.
    #[error(
        "the initialisation is not λ-balanced: W2ᵀW2 − W1W1ᵀ is λI with λ = {lambda:.6e} only up \
         to max|W2ᵀW2 − W1W1ᵀ − λI| = {defect:.3e} (tolerance {tol:.3e}): build w1_0, w2_0 with \
         P2 Algorithm 1 (λ-balanced init), or use `simulate`, which works for any init"
    )]
    NotBalanced {
        /// λ = tr(W2ᵀW2 − W1W1ᵀ)/h.
        lambda: f64,
        /// Measured defect.
        defect: f64,
        /// Tolerance (absolute, already scaled).
        tol: f64,
    },
    /// Bad model input.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Bad times.
    #[error(transparent)]
    Times(#[from] TimeError),
    /// Bad precision.
    #[error(transparent)]
    Prec(#[from] PrecError),
    /// The eigensolver did not converge (MPFR Jacobi).
    #[error("symmetric eigensolver did not converge after {sweeps} sweeps (off-diagonal {off:.3e})")]
    Eigen {
        /// Sweeps done.
        sweeps: usize,
        /// Remaining off-diagonal norm.
        off: f64,
    },
}

/// The F matrix of `docs/theory.md` §4.3 (size (d_i+d_o)², symmetric).
pub fn f_matrix(syx: &DMatrix<f64>, lambda: f64) -> DMatrix<f64> {
    let (d_o, d_i) = (syx.nrows(), syx.ncols());
    let n = d_i + d_o;
    DMatrix::from_fn(n, n, |i, j| match (i < d_i, j < d_i) {
        (true, true) => {
            if i == j {
                -lambda / 2.0
            } else {
                0.0
            }
        }
        (false, false) => {
            if i == j {
                lambda / 2.0
            } else {
                0.0
            }
        }
        (true, false) => syx[(j - d_i, i)],
        (false, true) => syx[(i - d_i, j)],
    })
}

/// Q = [W1ᵀ; W2] ((d_i+d_o)×h).
pub fn q_matrix(w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> DMatrix<f64> {
    let (h, d_i, d_o) = (w1.nrows(), w1.ncols(), w2.nrows());
    DMatrix::from_fn(d_i + d_o, h, |i, a| if i < d_i { w1[(a, i)] } else { w2[(i - d_i, a)] })
}

/// ∫₀^δ e^{2fu} du = expm1(2fδ)/(2f), = δ at f = 0.
pub fn int_exp(f: f64, delta: f64) -> f64 {
    if f == 0.0 {
        delta
    } else {
        (2.0 * f * delta).exp_m1() / (2.0 * f)
    }
}

/// QQᵀ at one time, with accessors for its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct QqtPoint {
    /// Time t.
    pub t: f64,
    /// QQᵀ(t), (d_i+d_o)×(d_i+d_o).
    pub qqt: DMatrix<f64>,
    /// d_i.
    pub d_i: usize,
}

impl QqtPoint {
    /// W2W1(t) (d_o×d_i), the network function.
    pub fn w2w1(&self) -> DMatrix<f64> {
        let n = self.qqt.nrows();
        self.qqt.view((self.d_i, 0), (n - self.d_i, self.d_i)).into_owned()
    }
    /// W1ᵀW1(t) (d_i×d_i), the input-side representation.
    pub fn w1tw1(&self) -> DMatrix<f64> {
        self.qqt.view((0, 0), (self.d_i, self.d_i)).into_owned()
    }
    /// W2W2ᵀ(t) (d_o×d_o), the output-side representation.
    pub fn w2w2t(&self) -> DMatrix<f64> {
        let n = self.qqt.nrows();
        let d_o = n - self.d_i;
        self.qqt.view((self.d_i, self.d_i), (d_o, d_o)).into_owned()
    }
}

/// The f64 closed form for one initial condition.
#[derive(Debug, Clone)]
pub struct ClosedForm {
    d_i: usize,
    tau: f64,
    lambda: f64,
    lambda_defect: f64,
    eig: Vec<f64>,
    basis: DMatrix<f64>,
    q0_hat: DMatrix<f64>,
}

impl ClosedForm {
    /// Check the assumptions (whitened data, λ-balanced init) and diagonalise F.
    ///
    /// # Errors
    /// [`LbError::NotWhitened`], [`LbError::NotBalanced`] (naming the λ found), or
    /// [`LbError::Model`] for wrong shapes.
    pub fn new(net: &LinearNetwork, w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> Result<Self, LbError> {
        net.theta(w1, w2)?; // shape and finiteness
        let wd = net.whitening_defect();
        if wd > WHITENING_TOL {
            return Err(LbError::NotWhitened {
                defect: wd,
                tol: WHITENING_TOL,
            });
        }
        check_balanced(w1, w2)?;
        Ok(Self::unchecked(&net.syx(), net.tau(), w1, w2))
    }

    /// Diagonalise F without checking the assumptions (the formula then describes the Riccati
    /// equation, not necessarily the network's flow).
    pub fn unchecked(syx: &DMatrix<f64>, tau: f64, w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> Self {
        let (lambda, lambda_defect) = measure_lambda(w1, w2);
        let f = f_matrix(syx, lambda);
        let se = f.symmetric_eigen();
        let q0 = q_matrix(w1, w2);
        let q0_hat = se.eigenvectors.transpose() * q0;
        ClosedForm {
            d_i: syx.ncols(),
            tau,
            lambda,
            lambda_defect,
            eig: se.eigenvalues.as_slice().to_vec(),
            basis: se.eigenvectors,
            q0_hat,
        }
    }

    /// λ measured from the initialisation.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
    /// max|W2ᵀW2 − W1W1ᵀ − λI| of the initialisation.
    pub fn lambda_defect(&self) -> f64 {
        self.lambda_defect
    }
    /// Eigenvalues of F.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.eig
    }
    /// Number of semigroup steps used to reach time t from 0.
    pub fn steps_to(&self, t: f64) -> usize {
        n_steps(&self.eig, t / self.tau)
    }

    /// QQᵀ at each of `times` (≥ 0, non-decreasing).
    ///
    /// # Errors
    /// [`LbError::Times`] for bad times.
    pub fn evaluate(&self, times: &[f64]) -> Result<Vec<QqtPoint>, LbError> {
        Ok(self
            .evaluate_factors(times)?
            .into_iter()
            .zip(times)
            .map(|(full, &t)| QqtPoint {
                t,
                qqt: &full * full.transpose(),
                d_i: self.d_i,
            })
            .collect())
    }

    /// A factor Q̃(t) = Q(t)·O ((d_i+d_o)×h, O orthogonal h×h) of QQᵀ(t) at each of `times`:
    /// its top d_i rows transposed and its bottom d_o rows are a λ-balanced pair (W̃1, W̃2) =
    /// (OᵀW1(t), W2(t)O) with the same network function, representations and λ as the network
    /// at time t (the closed form depends on Q only through QQᵀ). This is what restarting the
    /// closed form on a new task needs ([`ClosedForm::from_factor`]).
    ///
    /// # Errors
    /// [`LbError::Times`] for bad times.
    pub fn evaluate_factors(&self, times: &[f64]) -> Result<Vec<DMatrix<f64>>, LbError> {
        check_times(times)?;
        let h = self.q0_hat.ncols();
        let n = self.eig.len();
        let mut q = self.q0_hat.clone();
        let mut s_now = 0.0;
        let mut out = Vec::with_capacity(times.len());
        let mut ev = vec![0.0; n];
        let mut jv = vec![0.0; n];
        let mut m = DMatrix::<f64>::zeros(h, h);
        for &t in times {
            let s = t / self.tau;
            let span = s - s_now;
            let k = n_steps(&self.eig, span);
            if k > 0 {
                let delta = span / k as f64;
                for (i, &f) in self.eig.iter().enumerate() {
                    ev[i] = (f * delta).exp();
                    jv[i] = int_exp(f, delta);
                }
                for _ in 0..k {
                    // M = I + Q̂ᵀ diag(j) Q̂
                    for a in 0..h {
                        for b in 0..=a {
                            let mut acc = if a == b { 1.0 } else { 0.0 };
                            for i in 0..n {
                                acc += q[(i, a)] * jv[i] * q[(i, b)];
                            }
                            m[(a, b)] = acc;
                            m[(b, a)] = acc;
                        }
                    }
                    let l = m.clone().cholesky().expect("I + Q̂ᵀ diag(j) Q̂ is SPD (j > 0)").l();
                    // Q̂ ← diag(e) Q̂ L⁻ᵀ: solve L Z = Q̂ᵀ, Q̂ = diag(e) Zᵀ.
                    let mut z = q.transpose();
                    l.solve_lower_triangular_mut(&mut z);
                    for i in 0..n {
                        for a in 0..h {
                            q[(i, a)] = ev[i] * z[(a, i)];
                        }
                    }
                }
            }
            s_now = s;
            out.push(&self.basis * &q);
        }
        Ok(out)
    }

    /// The closed form for task Σ̃_yx (d_o×d_i) and τ, started from a factor `q` of QQᵀ
    /// ((d_i+d_o)×h, e.g. from [`ClosedForm::evaluate_factors`] of another task): W1 = (top d_i
    /// rows)ᵀ, W2 = bottom d_o rows. Assumes whitened inputs for the new task (not checked here).
    pub fn from_factor(syx: &DMatrix<f64>, tau: f64, q: &DMatrix<f64>) -> Self {
        let (d_i, d_o) = (syx.ncols(), syx.nrows());
        let w1 = q.rows(0, d_i).transpose();
        let w2 = q.rows(d_i, d_o).into_owned();
        Self::unchecked(syx, tau, &w1, &w2)
    }
}

/// f(X) for a symmetric positive semi-definite X via its eigen-decomposition (eigenvalues
/// clamped at 0 against rounding).
fn sym_fn(x: &DMatrix<f64>, f: impl Fn(f64) -> f64) -> DMatrix<f64> {
    let se = x.clone().symmetric_eigen();
    let d = DMatrix::from_diagonal(&se.eigenvalues.map(|v| f(v.max(0.0))));
    &se.eigenvectors * d * se.eigenvectors.transpose()
}

/// (W1ᵀW1, W2W2ᵀ) as functions of the network function W = W2W1 alone, for d_i = h = d_o
/// (`docs/theory.md` §4.5, thesis Thm 4.1.1): W1ᵀW1 = (√(λ²I + 4WᵀW) − λI)/2 and
/// W2W2ᵀ = (√(λ²I + 4WWᵀ) + λI)/2. The smaller branch is evaluated as 2x/(√(λ²+4x) + |λ|) on
/// eigenvalues x, free of cancellation for large |λ|.
///
/// Assumption: square λ-balanced network (h = d_i = d_o); with h < d_i or h < d_o the extra
/// directions carry ±λ only on the hidden range and this formula does not apply.
pub fn representations_of_function(w: &DMatrix<f64>, lambda: f64) -> (DMatrix<f64>, DMatrix<f64>) {
    let l = lambda.abs();
    // small(x) = (√(λ²+4x) − |λ|)/2 = 2x/(√(λ²+4x) + |λ|); large(x) = small(x) + |λ|.
    let small = move |x: f64| {
        if x > 0.0 {
            2.0 * x / ((l * l + 4.0 * x).sqrt() + l)
        } else {
            0.0
        }
    };
    let wtw = w.transpose() * w;
    let wwt = w * w.transpose();
    let (m_add, b_add) = if lambda >= 0.0 { (0.0, l) } else { (l, 0.0) };
    (
        sym_fn(&wtw, move |x| small(x) + m_add),
        sym_fn(&wwt, move |x| small(x) + b_add),
    )
}

/// Converged representations (thesis Thm 4.1.2, `docs/theory.md` §4.5): W2W1 → Σ̃_yx, so
/// W1ᵀW1 → (√(λ²I + 4Σ̃ᵀΣ̃) − λI)/2 and W2W2ᵀ → (√(λ²I + 4Σ̃Σ̃ᵀ) + λI)/2 (square networks,
/// see [`representations_of_function`]).
pub fn converged_representations(syx: &DMatrix<f64>, lambda: f64) -> (DMatrix<f64>, DMatrix<f64>) {
    representations_of_function(syx, lambda)
}

/// The shallow (linear-regression) limit |λ| → ∞ with time rescaled by |λ| (thesis Thm 4.2.3,
/// `docs/theory.md` §4.5): W(t) = Σ̃_yx + (W(0) − Σ̃_yx)·e^{−|λ|t/τ}.
///
/// Deviation of the λ-balanced square network from it \[D\]: τẆ = B(WWᵀ)G + GB(WᵀW) + |λ|G with
/// G = Σ̃_yx − W and 0 ≤ B(X) = (√(λ²I + 4X) − |λ|I)/2 ≤ X/|λ|, so E = W − W_shallow obeys
/// τĖ = −|λ|E + R with ‖R‖₂ ≤ 2‖W‖₂²‖G‖₂/|λ|, hence ‖E(t)‖₂ ≤ 2·max‖W‖₂²·max‖G‖₂/λ²
/// ([`shallow_limit_bound`]): the limit is approached at rate 1/λ² uniformly in t.
pub fn shallow_limit(w0: &DMatrix<f64>, syx: &DMatrix<f64>, lambda: f64, t: f64, tau: f64) -> DMatrix<f64> {
    syx + (w0 - syx) * (-lambda.abs() * t / tau).exp()
}

/// The bound 2·w_max²·g_max/λ² of [`shallow_limit`] on ‖W(t) − W_shallow(t)‖₂, given
/// w_max ≥ max_t ‖W(t)‖₂ and g_max ≥ max_t ‖Σ̃_yx − W(t)‖₂.
pub fn shallow_limit_bound(w_max: f64, g_max: f64, lambda: f64) -> f64 {
    2.0 * w_max * w_max * g_max / (lambda * lambda)
}

/// Number of steps with max|f|·δ ≤ [`STEP_SPAN`] covering a span (0 for an empty span).
pub fn n_steps(eig: &[f64], span: f64) -> usize {
    if span <= 0.0 {
        return 0;
    }
    let fmax = eig.iter().fold(0.0f64, |a, f| a.max(f.abs()));
    ((fmax * span / STEP_SPAN).ceil() as usize).max(1)
}

/// Check W2ᵀW2 − W1W1ᵀ = λI to [`LAMBDA_BALANCE_TOL`] (relative); returns λ.
///
/// # Errors
/// [`LbError::NotBalanced`] naming λ and the defect.
pub fn check_balanced(w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> Result<f64, LbError> {
    check_finite("w1_0", w1.as_slice())?;
    check_finite("w2_0", w2.as_slice())?;
    let (lambda, defect) = measure_lambda(w1, w2);
    let scale = 1.0 + w1.norm_squared().max(w2.norm_squared());
    let tol = LAMBDA_BALANCE_TOL * scale;
    if defect > tol {
        Err(LbError::NotBalanced { lambda, defect, tol })
    } else {
        Ok(lambda)
    }
}

/// Strength a(t) of one task-aligned mode (`docs/theory.md` §4.5, thesis Thm 3.2.1): with
/// W1 = R diag(c) Ṽᵀ, W2 = Ũ diag(d) Rᵀ, the mode a = c·d obeys τȧ = √(λ² + 4a²)(s − a), the
/// P1 single-neuron flow with φ ≡ 1. Its closed form is `docs/theory.md` §1.4 with d = 1, a0 → d(0),
/// w0 → c(0), β* → s, δ → λ, η = 1, time t/τ \[D\], evaluated overflow-free by dividing by
/// e^{λ₊ t} (λ₊ = (λ + K)/2 > 0, K = √(λ² + 4s²)).
///
/// Inputs: task singular value `s` > 0, λ, initial factors `c0`, `d0` (d0² − c0² = λ), time `t`
/// and τ. Returns NaN for s ≤ 0 or non-finite input.
pub fn mode_strength(s: f64, lambda: f64, c0: f64, d0: f64, t: f64, tau: f64) -> f64 {
    if !(s > 0.0 && lambda.is_finite() && c0.is_finite() && d0.is_finite() && t >= 0.0 && tau > 0.0) {
        return f64::NAN;
    }
    let u = t / tau;
    let k = lambda.hypot(2.0 * s);
    let lp = (lambda + k) / 2.0;
    let lm = (lambda - k) / 2.0;
    let p0 = c0 * s;
    let cp = (p0 + d0 * lp) / k;
    let cm = (d0 * (k - lambda) / 2.0 - p0) / k;
    // E(μ, u) = (e^{μu} − 1)/μ, scaled by e^{−m u}: (e^{(μ−m)u} − e^{−mu})/μ, = u·e^{−mu} at μ = 0.
    let e_scaled = |mu: f64, m: f64| -> f64 {
        if mu == 0.0 {
            u * (-m * u).exp()
        } else {
            ((mu - m) * u).exp() * (-(-mu * u).exp_m1()) / mu
        }
    };
    let inv_x = (-lp * u).exp();
    let a_hat = cp + cm * (-k * u).exp();
    let i1_hat = cp * e_scaled(lp, lp) + cm * e_scaled(lm, lp);
    let i2_hat = cp * cp * e_scaled(2.0 * lp, 2.0 * lp)
        + 2.0 * cp * cm * e_scaled(lambda, 2.0 * lp)
        + cm * cm * e_scaled(2.0 * lm, 2.0 * lp);
    a_hat * (c0 * inv_x + i1_hat * s) / (inv_x * inv_x + 2.0 * i2_hat)
}
