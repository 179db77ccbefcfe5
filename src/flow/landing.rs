//! Switch landing for the IMEX pairs: integrate one smooth piece of a piecewise-smooth field and
//! end a step exactly where the trajectory leaves it, instead of letting a step straddle the
//! switching surfaces.
//!
//! **Equation.** A field that is smooth on pieces bounded by surfaces s_K(y) = 0 (the ReLU
//! gradient flow: K = (k, i), s_K = w_kᵀx_i, the piece fixed by the activation pattern;
//! [`FrozenPatternFlow`], P1 §5), integrated as ẏ = F_P(y) with the piece P frozen: F_P is a
//! polynomial field, so a Runge–Kutta step on it keeps its order and its embedded error
//! estimate means what it says — the stages never see a kink, wherever they land.
//!
//! **Landing.** After a trial step that passes the error test, the surfaces are evaluated at
//! its end (one h×d×n GEMM, half a gradient; the model keeps that Z, so the switch, the restart
//! and the next step's first gradient at the same state reuse it). If the end lies outside P on some surface
//! K that was inside at the start, the crossing fraction τ_K ∈ (0, 1) is the root of the cubic
//! Hermite interpolant of s_K along the step (s at both ends, ṡ = ∇s_K·F from the first and
//! last stages; linear interpolation when the field has no rate for K), and the step is retaken
//! with length τ·h, τ = min_K τ_K: it ends on the first surface crossed, to the accuracy of
//! the interpolant. There [`SwitchedField::switch`] chooses the next piece (for the ReLU flow:
//! cross, slide — Filippov — or stay, from the normal velocities), and the next step starts on
//! it. The controller's step size is kept across a landing (the short step does not shrink the
//! next one).
//!
//! **Cost.** One retaken step per crossing (its stages are recomputed: no dense output for the
//! ARK pairs is used: an interpolant of lower order than the step would leave its own error at
//! every landing) plus one surface evaluation per trial. On a flow whose crossings are rare
//! compared with its steps this is a few tens of per cent; on one where every step crosses many
//! surfaces (the regime `flow::integrate_switched`'s docs warn of) it degenerates into one step
//! per crossing, as event location does.
//!
//! **What is left.** The landing point is off the true crossing by the interpolant's error in
//! time, δt ≈ |s_K(y_e)|/|ṡ_K| (recorded as [`super::imex::ImexStats::max_landing_offset`]),
//! which leaves an error ≈ |U_K|·δt in the state (U_K the jump of F across K); the cubic
//! Hermite interpolant is exact to O(h⁴) in s. Surfaces outside P at both ends of a step
//! (already outside at its start: a landing that stopped just short and whose switch flipped
//! the piece) are not crossings of that step.
//!
//! **Assumptions.** The field's surfaces are those it reports through [`LandingField`];
//! double crossings of one surface inside a step (out and back) are not seen, as in any event
//! location on step ends.

use super::kinks::hermite_root;
use crate::models::piecewise_linear::FrozenPatternFlow;
use crate::models::{ParameterFlow, StiffModes, StiffSplit, SwitchedField};

/// A [`SwitchedField`] whose pieces an IMEX pair can integrate with landing.
pub trait LandingField: StiffSplit + SwitchedField {
    /// Push onto `out` the surfaces whose values `s` (from [`SwitchedField::surfaces_inplace`])
    /// put the state outside the current piece.
    fn outside(&self, s: &[f64], out: &mut Vec<usize>);
    /// ṡ_K = ∇s_K·f for a field value f, when s_K is linear in y (`None` otherwise: the
    /// crossing time is then interpolated linearly).
    fn surface_rate(&self, idx: usize, f: &[f64]) -> Option<f64>;
}

/// The output layer's top Hessian mode of the live pattern (as [`ParameterFlow`]): the piece's
/// Hessian differs only on the surfaces, and the modes decide step lengths, not what is solved.
impl StiffSplit for FrozenPatternFlow<'_> {
    fn stiff_modes(&self, y: &[f64], modes: &mut StiffModes) {
        ParameterFlow(self.model()).stiff_modes(y, modes);
    }
    fn stiff_modes_above(&self, y: &[f64], cut: f64, modes: &mut StiffModes) -> Option<f64> {
        ParameterFlow(self.model()).stiff_modes_above(y, cut, modes)
    }
}

/// K = k·n + i, s_K = w_kᵀx_i off the sliding set (ṡ_K = x_iᵀẇ_k); sliding entries' surface
/// functions are their slopes' distance to a bound (no linear rate).
impl LandingField for FrozenPatternFlow<'_> {
    fn outside(&self, s: &[f64], out: &mut Vec<usize>) {
        self.outside_piece(s, out);
    }
    fn surface_rate(&self, idx: usize, f: &[f64]) -> Option<f64> {
        if self.is_sliding(idx) {
            return None;
        }
        let m = self.model();
        let (n, d) = (m.n(), m.d());
        let (k, i) = (idx / n, idx % n);
        let xi = &m.x()[i * d..(i + 1) * d];
        Some(f[k * d..(k + 1) * d].iter().zip(xi).map(|(a, b)| a * b).sum())
    }
}

/// Buffers and bookkeeping of a landing integration.
#[derive(Debug)]
pub(crate) struct LandingState {
    /// Surface values at the step start.
    pub s0: Vec<f64>,
    /// Surface values at the trial end.
    pub s1: Vec<f64>,
    /// Surfaces outside the piece at the step start (sorted): not crossings of this step.
    pub out0: Vec<usize>,
    /// Surfaces crossed by the trial.
    pub out: Vec<usize>,
}

impl LandingState {
    /// Surface values at `y`, and which of them are already outside the piece.
    pub fn new(f: &dyn LandingField, y: &[f64]) -> Self {
        let m = f.n_surfaces();
        let mut st = LandingState {
            s0: vec![0.0; m],
            s1: vec![0.0; m],
            out0: Vec::new(),
            out: Vec::new(),
        };
        st.restart(f, y);
        st
    }

    /// After an accepted step (and any switch): surface values at the new start.
    pub fn restart(&mut self, f: &dyn LandingField, y: &[f64]) {
        f.surfaces_inplace(y, &mut self.s0);
        self.out0.clear();
        f.outside(&self.s0, &mut self.out0);
    }

    /// After an accepted step without a switch: its end values (from [`LandingState::crossed`])
    /// start the next step.
    pub fn advance(&mut self, f: &dyn LandingField) {
        std::mem::swap(&mut self.s0, &mut self.s1);
        self.out0.clear();
        f.outside(&self.s0, &mut self.out0);
    }

    /// The surfaces the trial ending at `y1` crossed (outside the piece at `y1`, inside at the
    /// start), into `self.out`; returns whether there are any.
    pub fn crossed(&mut self, f: &dyn LandingField, y1: &[f64]) -> bool {
        f.surfaces_inplace(y1, &mut self.s1);
        self.out.clear();
        f.outside(&self.s1, &mut self.out);
        let out0 = &self.out0;
        self.out.retain(|k| out0.binary_search(k).is_err());
        !self.out.is_empty()
    }

    /// The earliest crossing of `self.out` as (fraction τ of the step `h`, surface), from the
    /// cubic Hermite interpolant of each s_K with rates from `f0` = F(y₀) and `f1` ≈ F(y₁).
    pub fn first_crossing(&self, f: &dyn LandingField, f0: &[f64], f1: &[f64], h: f64) -> (f64, usize) {
        let mut best = (f64::INFINITY, usize::MAX);
        for &k in &self.out {
            let (a, b) = (self.s0[k], self.s1[k]);
            let lin = if a == b { 1.0 } else { (a / (a - b)).clamp(0.0, 1.0) };
            let tau = match (f.surface_rate(k, f0), f.surface_rate(k, f1)) {
                (Some(d0), Some(d1)) => hermite_root(a, b, d0 * h, d1 * h, lin).unwrap_or(lin),
                _ => lin,
            };
            if tau < best.0 {
                best = (tau, k);
            }
        }
        best
    }

    /// |s_K(y₁)|/|ṡ_K|: how far in time the trial's end `y₁` (surface values in `self.s1`, from
    /// [`LandingState::crossed`]) is from surface K, by its rate along `fy` ≈ F(y₁); `None`
    /// without a rate.
    pub fn offset(&self, f: &dyn LandingField, k: usize, fy: &[f64]) -> Option<f64> {
        let r = f.surface_rate(k, fy)?;
        (r != 0.0).then(|| (self.s1[k] / r).abs())
    }
}
