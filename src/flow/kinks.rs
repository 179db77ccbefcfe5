//! Jump quadrature for fields with switched terms: the correction that lets a Runge–Kutta step
//! cross many activation kinks of a ReLU gradient flow without losing its order to them.
//!
//! **Equation.** A field of the form F(y) = F̃(y) + Σ_K c_K(y)·U_K(y)·e_K, with c_K = 1 where the
//! surface value s_K(y) > 0 and 0 elsewhere, F̃ and the scalars U_K smooth, e_K fixed directions.
//! For the two-layer piecewise-linear network (`models::piecewise_linear`, P1 §5) with
//! θ̇ = −η∇L: K = (k, i), s_K = w_kᵀx_i, e_K = x_i in the block of w_k and
//! U_K = −η_w (1 − γ) a_k g_i (g = ∂L/∂f), because ẇ_k = −η_w a_k Σ_i g_i σ′(z_ki) x_i and σ′
//! jumps from γ to 1 across z_ki = 0; ȧ and f are continuous there.
//!
//! **The error it removes.** A step y₁ = y₀ + h Σ_j b_j F(Y_j) integrates the jump term of a
//! surface crossed at t₀ + τh with weight Σ_{j: c_K(Y_j) ≠ c_K(y₀)} b_j instead of the time
//! 1 − τ the solution spends on the far side: a local error of order h·|U_K| for every crossing,
//! whatever the order of the pair (first order in h globally, since the number of crossings on
//! [0, T] does not depend on h). The embedded estimate sees only Σ (b_j − b̂_j) of it. On a
//! ReLU flow with h·n surfaces, crossings are dense in time: this is why tsit45 and the ARK
//! pairs end 18–150× their tolerance on a flow with no stiff mode (`tests/it/stiff_krylov.rs`).
//!
//! **The correction** (added to y₁ for every K whose switch state differs between any stage
//! and y₀, or between y₀ and y₁): ω_K e_K with
//!
//! ω_K = h·[(c₁ − c₀)·∫_τ^1 U_K − Σ_j b_j (c_K(Y_j) − c₀) U_K(Y_j)],
//!
//! τ = s₀/(s₀ − s₁) from the surface values at the step ends (linear in t), ∫_τ^1 U_K from U_K
//! linear between y₀ (stage 1) and the last stage (c = 1). It replaces the stages' wrong
//! quadrature of the jump by the time actually spent past it; what is left is of order
//! h²·|U_K|·(|U̇_K/U_K| + ‖∂F/∂y‖) per crossing (the stages after the jump are themselves off by
//! O(h·U), τ is exact to O(h²)). A surface crossed twice inside one step goes unseen at the
//! ends; its stages are still corrected back to the end state's side.
//!
//! **What is counted as error** ([`JumpError`]). `Full` adds every ω_K to the embedded error:
//! a step passes only when h·|U_K| per crossing is within the tolerance, so with dense
//! crossings the step shrinks until it resolves each one (the reduced peers' problem R, h = n =
//! 200, t ∈ [0, 10], rtol 1e-8: not finished after 110 s CPU, against 1.1 s for the plain
//! pair). `Remainder` counts what the correction leaves instead: (i) the embedded difference
//! h Σ (b_j − b̂_j) F(Y_j) minus its jump part h Σ_j (b_j − b̂_j)(c_K(Y_j) − c₀)U_K(Y_j) (both
//! solutions of the pair receive the same crossing integral, so that part is not an error of
//! the step); (ii) per crossing, h·|∫_τ^1 U − ∫_τ′^1 U| between the linear crossing time τ′ and
//! the root τ of the cubic Hermite interpolant of s_K (s and ṡ = ∇s_K·F at y₀ and at the last
//! stage, node 1), which is used for ω; (iii) h·½(1 − τ)(1 + τ)|U_K(1) − U_K(0)|, the variation
//! of U_K across the rest of the step. (ii) and (iii) are O(h²) per crossing. Not estimated: the
//! O(h²·‖∂F/∂y‖·|U_K|) change of the later stages by the jump (it would need one Jacobian
//! product per step). When Newton on the Hermite cubic does not settle in [0, 1], the whole ω_K
//! is counted (`hermite_fallbacks`). The surface values at the step start are re-evaluated at
//! the corrected state (one h×n GEMM per accepted step).
//!
//! **Assumptions.** Transversal crossings (no sliding: a surface on which both sides push into
//! it is crossed back and forth; the correction then only undoes the stages' quadrature, it does
//! not integrate the Filippov motion). One evaluation of the surfaces (one h×n GEMM, a quarter of
//! a gradient) per step trial, one pass over the recorded switch states per step.

use crate::models::piecewise_linear::PiecewiseLinear;
use crate::models::{ParameterFlow, StiffSplit};
use serde::Serialize;

/// A [`StiffSplit`] field with switched terms (see the module doc): its evaluations record the
/// switch states and what the jump scalars U_K need.
pub trait JumpField: StiffSplit {
    /// Number of switching surfaces K.
    fn n_switches(&self) -> usize;
    /// Length of one evaluation's record of what U_K needs.
    fn aux_len(&self) -> usize;
    /// F(y) into `dy`, the switch states c_K(y) (s_K(y) > 0) into `on` and the record into `aux`.
    fn eval_recording(&self, y: &[f64], dy: &mut [f64], on: &mut [bool], aux: &mut [f64]);
    /// Surface values s_K(y) into `s`.
    fn switch_values(&self, y: &[f64], s: &mut [f64]);
    /// U_K from one evaluation's record.
    fn jump_scalar(&self, k: usize, aux: &[f64]) -> f64;
    /// ṡ_K = ∇s_K·F for a field value `f` = F(y) (s_K linear in y: ∇s_K is y-independent).
    fn switch_rate(&self, k: usize, f: &[f64]) -> f64;
    /// out += Σ ω e_K over the (K, ω) given.
    fn add_jump_directions(&self, terms: &[(usize, f64)], out: &mut [f64]);
}

/// K = k·n + i; record = (a (h), g (n)).
impl JumpField for ParameterFlow<'_, PiecewiseLinear> {
    fn n_switches(&self) -> usize {
        self.0.h() * self.0.n()
    }
    fn aux_len(&self) -> usize {
        self.0.h() + self.0.n()
    }
    fn eval_recording(&self, y: &[f64], dy: &mut [f64], on: &mut [bool], aux: &mut [f64]) {
        let m = self.0;
        let (a, g) = aux.split_at_mut(m.h());
        a.copy_from_slice(m.a(y));
        m.loss_grad_recording(y, dy, on, g);
        let hd = m.h() * m.d();
        let (ew, ea) = (m.eta_w(), m.eta_a());
        dy[..hd].iter_mut().for_each(|v| *v *= -ew);
        dy[hd..].iter_mut().for_each(|v| *v *= -ea);
    }
    fn switch_values(&self, y: &[f64], s: &mut [f64]) {
        self.0.preactivations_into(y, s);
    }
    fn jump_scalar(&self, k: usize, aux: &[f64]) -> f64 {
        let m = self.0;
        let (h, n) = (m.h(), m.n());
        -m.eta_w() * (1.0 - m.gamma()) * aux[k / n] * aux[h + k % n]
    }
    fn switch_rate(&self, k: usize, f: &[f64]) -> f64 {
        let m = self.0;
        let (n, d) = (m.n(), m.d());
        let (neuron, i) = (k / n, k % n);
        let xi = &m.x()[i * d..(i + 1) * d];
        f[neuron * d..(neuron + 1) * d].iter().zip(xi).map(|(a, b)| a * b).sum()
    }
    fn add_jump_directions(&self, terms: &[(usize, f64)], out: &mut [f64]) {
        let m = self.0;
        let (n, d) = (m.n(), m.d());
        let x = m.x();
        for &(k, w) in terms {
            let (neuron, i) = (k / n, k % n);
            let xi = &x[i * d..(i + 1) * d];
            out[neuron * d..(neuron + 1) * d]
                .iter_mut()
                .zip(xi)
                .for_each(|(o, v)| *o += w * v);
        }
    }
}

/// What a jump-corrected step counts as error (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JumpError {
    /// The whole correction ω_K is added to the embedded error: a step is accepted only when
    /// the jump terms it fixes are themselves within the tolerance (h·|U_K| ≲ tol per crossing).
    #[default]
    Full,
    /// The embedded difference with the jumps' stage quadrature removed (both solutions of the
    /// pair get the same crossing integral), plus an estimate of what the correction leaves:
    /// the change of ω_K between the linear and the cubic-Hermite crossing time, and the
    /// variation of U_K across the step (both O(h²) per crossing).
    Remainder,
}

/// Work space and counters of the jump correction inside one integration.
#[derive(Debug, Default)]
pub(crate) struct JumpState {
    /// Switch states per stage.
    pub on: Vec<Vec<bool>>,
    /// Records per stage.
    pub aux: Vec<Vec<f64>>,
    /// Surface values at the step start and at the trial end.
    pub s0: Vec<f64>,
    pub s1: Vec<f64>,
    /// (K, ω) of the last trial: added to y₁.
    pub terms: Vec<(usize, f64)>,
    /// (K, ε) of the last trial: added to the embedded error vector.
    pub err_terms: Vec<(usize, f64)>,
    /// Crossings whose cubic-Hermite crossing time did not converge (counted in full).
    pub hermite_fallbacks: usize,
}

/// Root in [0, 1] of the cubic Hermite interpolant of s with s(0) = `s0`, s(1) = `s1`,
/// s′(0) = `d0`, s′(1) = `d1` (derivatives in units of the step), by Newton from `start`;
/// `None` when Newton leaves [0, 1] or does not settle to 1e-12 in 8 iterations.
pub(crate) fn hermite_root(s0: f64, s1: f64, d0: f64, d1: f64, start: f64) -> Option<f64> {
    let mut t = start;
    for _ in 0..8 {
        let (t2, t3) = (t * t, t * t * t);
        let p =
            (2.0 * t3 - 3.0 * t2 + 1.0) * s0 + (t3 - 2.0 * t2 + t) * d0 + (3.0 * t2 - 2.0 * t3) * s1 + (t3 - t2) * d1;
        let dp = (6.0 * t2 - 6.0 * t) * (s0 - s1) + (3.0 * t2 - 4.0 * t + 1.0) * d0 + (3.0 * t2 - 2.0 * t) * d1;
        if dp == 0.0 || !dp.is_finite() {
            return None;
        }
        let step = p / dp;
        t -= step;
        if !(0.0..=1.0).contains(&t) {
            return None;
        }
        if step.abs() <= 1e-12 {
            return Some(t);
        }
    }
    None
}

impl JumpState {
    pub fn new<F: JumpField + ?Sized>(f: &F, stages: usize) -> Self {
        let ns = f.n_switches();
        JumpState {
            on: vec![vec![false; ns]; stages],
            aux: vec![vec![0.0; f.aux_len()]; stages],
            s0: vec![0.0; ns],
            s1: vec![0.0; ns],
            terms: Vec::new(),
            err_terms: Vec::new(),
            hermite_fallbacks: 0,
        }
    }

    /// The corrections ω (into `terms`) and error terms (into `err_terms`, per `mode`) of a step
    /// of size `h` whose stages are recorded here, whose trial end has surface values `s1`, with
    /// weights `b`, embedded weights `bhat`, F at the step start `f0` and at the last stage
    /// (node c = 1) `f1`; returns the number of surfaces crossed between the step ends.
    #[allow(clippy::too_many_arguments)]
    pub fn corrections<F: JumpField + ?Sized>(
        &mut self,
        f: &F,
        h: f64,
        b: &[f64],
        bhat: &[f64],
        f0: &[f64],
        f1: &[f64],
        mode: JumpError,
    ) -> usize {
        self.terms.clear();
        self.err_terms.clear();
        let s = self.on.len();
        let mut crossed = 0;
        for k in 0..self.s0.len() {
            let c0 = self.on[0][k];
            let c1 = self.s1[k] > 0.0;
            if c1 == c0 && (1..s).all(|j| self.on[j][k] == c0) {
                continue;
            }
            let sign = if c0 { -1.0 } else { 1.0 };
            let (mut q, mut qe) = (0.0, 0.0);
            for j in (1..s).filter(|&j| self.on[j][k] != c0) {
                let u = sign * f.jump_scalar(k, &self.aux[j]);
                q += b[j] * u;
                qe += (b[j] - bhat[j]) * u;
            }
            let mut exact = 0.0;
            let mut rem = 0.0;
            if c1 != c0 {
                crossed += 1;
                let den = self.s0[k] - self.s1[k];
                let tau_lin = if den != 0.0 {
                    (self.s0[k] / den).clamp(0.0, 1.0)
                } else {
                    0.5
                };
                let u0 = f.jump_scalar(k, &self.aux[0]);
                let u1 = f.jump_scalar(k, &self.aux[s - 1]);
                let integral = |tau: f64| sign * (1.0 - tau) * (u0 + 0.5 * (1.0 + tau) * (u1 - u0));
                match mode {
                    JumpError::Full => exact = integral(tau_lin),
                    JumpError::Remainder => {
                        let (d0, d1) = (h * f.switch_rate(k, f0), h * f.switch_rate(k, f1));
                        match hermite_root(self.s0[k], self.s1[k], d0, d1, tau_lin) {
                            Some(tau) => {
                                exact = integral(tau);
                                rem = (exact - integral(tau_lin)).abs()
                                    + 0.5 * (1.0 - tau) * (1.0 + tau) * (u1 - u0).abs();
                            }
                            None => {
                                self.hermite_fallbacks += 1;
                                exact = integral(tau_lin);
                                rem = exact.abs();
                            }
                        }
                    }
                }
            }
            let w = h * (exact - q);
            self.terms.push((k, w));
            match mode {
                JumpError::Full => self.err_terms.push((k, w)),
                JumpError::Remainder => {
                    let e = -h * qe + (h * rem).copysign(w);
                    if e != 0.0 {
                        self.err_terms.push((k, e));
                    }
                }
            }
        }
        crossed
    }
}

/// Largest |ω| over the terms (a diagnostic).
pub(crate) fn largest(terms: &[(usize, f64)]) -> f64 {
    terms.iter().fold(0.0, |m, t| m.max(t.1.abs()))
}
