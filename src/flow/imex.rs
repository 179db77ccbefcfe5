//! Additive (IMEX) Runge–Kutta integration with a low-rank implicit part, for flows whose
//! stiffness sits in a few known directions.
//!
//! **Equation.** ẏ = F(y) split exactly as F(y) = L y + N(y), N(y) = F(y) − L y, with
//! L = −Σ_j μ_j v_j v_jᵀ (v_j orthonormal, μ_j ≥ 0; [`StiffModes`], supplied and refreshed by the
//! field through [`StiffSplit::stiff_modes`]). The explicit tableau integrates N, the
//! L-stable ESDIRK tableau integrates L y (Kennedy & Carpenter, "Additive Runge–Kutta schemes
//! for convection–diffusion–reaction equations", Appl. Numer. Math. 44 (2003) 139–181: the
//! ARK5(4)8L\[2\]SA and ARK4(3)6L\[2\]SA pairs). Stage i solves
//!
//! (I − hγL) Yᵢ = y_n + h Σ_{j<i} (a^E_ij N_j + a^I_ij L Y_j),
//!
//! which for this L is a closed form: (I + hγ μ v vᵀ)⁻¹ = I − hγμ/(1 + hγμ)·v vᵀ per mode, no
//! factorisation and no Newton iteration. Because both tableaux share b, the step is
//! y_{n+1} = y_n + h Σ bᵢ F(Yᵢ) and the embedded error estimate h Σ (bᵢ − b̂ᵢ) F(Yᵢ): only the
//! vectors F(Yᵢ) and the scalars vᵀYᵢ are stored (N_j = F_j + Σ μ (vᵀY_j) v).
//!
//! **Why.** An explicit method's step is bounded by the largest |eigenvalue| of ∂F/∂y. When that
//! bound comes from a few modes (problem R, issue 6: λ₁ ≈ 160 for the output layer's
//! feature-mean direction, the rest ≤ 5.4), moving them into L leaves N with the small
//! eigenvalues only, and the step is set by accuracy. The split is exact for every L: modes
//! that are off only make N stiffer (shorter steps), they never change what is solved.
//!
//! **Error control** as in the crate's diffsol runs: weighted RMS norm of the embedded
//! difference with weights atol + rtol·max(|y_n,i|, |y_{n+1},i|), step factor
//! 0.9·err^{−1/(p̂+1)} (p̂ the embedded order) clamped to [0.2, 5] (≤ 1 after a rejection).
//! Output times are hit by shortening the step that would pass them (no interpolation).
//! The modes are refreshed at the start and every [`ImexOptions::refresh_every`] accepted steps.
//!
//! **Adaptive implicit subspace** ([`ImexOptions::adaptive`], CLI `ark548-lanczos`). A fixed
//! rank-one split assumes one stiff mode; when training stiffens more modes (the peers' problem
//! R: rank 9 by t = 15), the explicit part runs at its stability limit, the step is set by
//! stability and the controller oscillates. The adaptive split re-estimates the subspace at
//! every refresh by Lanczos with Hessian-vector products (`num::lanczos`, through
//! [`StiffSplit::stiff_modes_above`]; never a dense Jacobian) and keeps implicit every mode
//! with decay rate μ ≥ [`STABILITY_SAFETY`]·S/h, S the explicit tableau's real stability
//! interval ([`ArkTableau::explicit_stability`]) and h the largest step the controller asked for
//! since the last refresh; when the rate left explicit still bounds that step, the next
//! refresh sizes the subspace for 4h, so the rank grows until accuracy sets the step. The stage
//! solve stays closed-form (orthonormal Ritz vectors). Refreshes come every
//! [`ImexOptions::refresh_every`] accepted steps, or after 3 rejections.
//!
//! *Why this method* (over Rosenbrock–Krylov, exponential-Krylov or BDF + GMRES): it reuses
//! the pair, its error control and its closed-form stage solve, adds only m ≈ 2k + 16 HVPs per
//! refresh (k the rank), and on a Hessian with a few separated stiff modes the Krylov
//! subspace that a Rosenbrock–Krylov or BDF–GMRES step would build each step is essentially
//! these k vectors, so estimating them once every 20 steps is the cheapest of the candidates.
//! Measured (peers' problem R, rtol 1e-8, t ∈ [0, 50]): 214 steps (75 rejected), 2,238
//! gradients, rank up to 34, against the rank-one split's 2,606 gradients and tsit45's 15,188
//! — but its final θ is 4.8e-6 (max-abs) from tsit45's, so on these data it does **not** meet
//! a 1e-6 target: stability was not the cause of the rank-one split's miss. On a small ReLU
//! flow with no stiff mode at all (rank 0, `tests/it/stiff_krylov.rs`) both this pair and tsit45
//! end 18–150× their tolerance from a tight reference: the embedded estimates under-read
//! steps that cross activation kinks (F is only piecewise smooth). It is therefore not the
//! default of `bench-problem-r`.
//!
//! **Jump-corrected steps** ([`integrate_imex_jumps`], CLI `ark548-kinks`). Measured on reduced
//! ReLU problems (subsamples of the peers' data, d = 100, h = 30…100, n = 40…100, t ∈ [0, 1],
//! against tsit45 at rtol 1e-10 and an event-located reference): with only 2–3 surface
//! crossings in the whole run, tsit45 and this pair already end 17–50× their tolerance at rtol
//! 1e-8, and the failing steps are those that straddle a crossing, whose stages (ARK548's
//! explicit stages sit far off the trajectory) land on either side of the kink in no time
//! order. The miss is the first-order quadrature error of the jump in F, not stiffness and not
//! the controller. [`super::kinks`] computes that error per crossed (or stage-straddled)
//! surface from the stages' recorded activation patterns; the step adds it to y₁ and counts it
//! in the error norm, so a step is accepted only when the correction itself is within the
//! tolerance. On those problems the end error fell to 0.1–0.9 × tol (rtol 1e-6, 1e-8) at
//! 10–40 % more steps; `tests/it/stiff_krylov.rs` asserts ≤ 10 × tol at rtol 1e-6 … 1e-10 against
//! the event-located reference (measured 0.12–0.23 ×; the plain pair 9.7–51 ×, tsit45
//! 4.8–18.7 ×). Correcting without counting the correction as error, or counting without
//! correcting, did worse (up to 39 × and 1.6 × tol respectively). But counting the whole
//! correction makes every step resolve every crossing: on the reduced peers' problem R (the
//! first h = n = 200 rows of the peers' data, t ∈ [0, 10], rtol 1e-8) it had not finished after
//! 110 s CPU (the plain pair: 1.1 s). [`ImexOptions::jump_error`] = [`JumpError::Remainder`]
//! (CLI `ark548-kinks-rem`) counts only an O(h²) estimate of what the correction leaves (module
//! doc of [`super::kinks`]): on that reduced problem 0.86 s CPU, 107 steps (59 rejected), 1,270
//! gradients, against the plain pair's 155 steps and 1,808 gradients; on the small test problem
//! it ends at 0.09 / 2.1 / 5.3 × tol at rtol 1e-6 / 1e-8 / 1e-10, on a reduced problem R with
//! h = 100 at 0.03 / 1.04 / 0.05 × tol (`tests/it/stiff_krylov.rs`). On the full peers' problem R
//! at rtol 1e-8 (251 steps, 2,947 gradients, 364 crossings) its final θ is 2.8e-6 (max-abs)
//! from tsit45 at rtol 1e-10: better than the plain pairs, still 2.8× short of a 1e-6 target
//! (measured once, cause not isolated; the stage term the estimate leaves out is a candidate).
//!
//! **Landing on switches** ([`integrate_imex_landing`], CLI `ark436-events` — the default of
//! `bench-problem-r` — and `ark548-events`). The pair integrates one frozen activation pattern
//! at a time (`FrozenPatternFlow`, a polynomial field: its stages never see a kink, so the
//! embedded estimate is valid), and a step that passes the error test but leaves the pattern is
//! retaken to end on the first surface it crossed, where the field switches pieces — crossing,
//! or Filippov sliding (module doc of [`super::landing`]). The rank-one split stays: with no
//! kinks inside steps the controller rejects almost nothing, and the Lanczos subspace only adds
//! cost (measured: rank up to 64, 77.7 s against 37.3 s for rank one, same load). On the peers'
//! problem R (t ∈ [0, 50]) the independent reference is the event-located Tsit45
//! (`integrate_switched`) at rtol 1e-12: 2,566 steps, 272 switches, 22 sliding segments;
//! Tsit45 at 1e-10 the same way is 1.4e-11 from it, while the plain Tsit45 at 1e-10 (153,524
//! gradients) is 4.9e-8 from it and `ark548-kinks-rem` at 1e-8 2.8e-6. There the switches, not
//! the accuracy, set the steps (269 of the 400–427 steps at rtol 1e-8 end on a switch, and each
//! switch costs a retaken step), so the six-stage ARK4(3)6L\[2\]SA beats the eight-stage
//! ARK5(4)8L\[2\]SA: at rtol 1e-8, 427 steps, 0 rejected, 3,908 gradients, final θ **3.9e-10**
//! from the reference, against 400 steps, 5,084 gradients, **6.8e-10** (max-abs, max |θ| 4.6);
//! at rtol 1e-10, 12,068 gradients and **4.1e-12**, against 12,220 and 4.5e-11. Measured on
//! this project's 2-core VM (one thread, idle, 2026-12-07): 25.2 s against 33.6 s at rtol 1e-8.
//! On the catalog's `problem_r`, where accuracy sets the steps (34 landings), the pairs cost
//! 978 and 1,237 gradients (5.9 s and 7.5 s) against 873 for the plain ark548 (4.5 s), whose
//! kinks inside steps go unseen by its estimate.
//!
//! **Fixed splits warn.** Without `adaptive`, every 200 accepted steps the integrator asks the
//! field what its modes leave explicit; when that decay rate μ_rest makes h·μ_rest exceed
//! [`STABILITY_SAFETY`]·S, [`ImexTrajectory::warnings`] says so (the split's assumption is
//! broken). [`ImexStats::max_explicit_stiffness`] records max h·μ_rest/S.
//!
//! **Stiff-limit order reduction.** Where the stiff component is driven by the explicit part
//! (u′ = −μu + g(t)), for hμ ≫ 1 the pairs are only about first order in the stiff component:
//! stage 2's explicit row cannot meet the stage-order condition its implicit row meets
//! (ARK548: Σ_j a^E_2j c_j = 0, Σ_j a^I_2j c_j = c₂²/2 = 0.084), so μU₂ misses g by O(h g′) and
//! stage 3 passes that on. The (raw, unfiltered) embedded estimate sees it and the step is then
//! set by accuracy; `tests/it/imex.rs` measures it (1344 steps at rtol 1e-6 for μ = 1e4, within
//! tolerance) and shows that an unforced stiff mode costs few steps (28).

use super::kinks::{JumpError, JumpField, JumpState};
use super::landing::{LandingField, LandingState};
use crate::models::{StiffModes, StiffSplit};
use crate::num::{TimeError, check_times};
use serde::Serialize;

/// An additive Runge–Kutta pair: explicit tableau a^E, ESDIRK tableau a^I (a^I_11 = 0, equal
/// diagonal γ after), shared b and c, embedded b̂.
#[derive(Debug, Clone, Copy)]
pub struct ArkTableau {
    /// Name (Kennedy–Carpenter's).
    pub name: &'static str,
    /// Stages s.
    pub stages: usize,
    /// Order of b.
    pub order: u32,
    /// Order of b̂.
    pub embedded_order: u32,
    /// a^E, s×s row-major (strictly lower).
    pub ae: &'static [f64],
    /// a^I, s×s row-major (lower, diagonal γ from stage 2).
    pub ai: &'static [f64],
    /// b (shared).
    pub b: &'static [f64],
    /// Embedded b̂.
    pub bhat: &'static [f64],
    /// Nodes c.
    pub c: &'static [f64],
    /// Real stability interval of the explicit tableau with b: |R(z)| ≤ 1 for z ∈ [−S, 0]
    /// (R(z) = 1 + z bᵀ(I − zA^E)⁻¹1; computed by bisection on R, checked by a unit test).
    pub explicit_stability: f64,
}

/// ARK4(3)6L\[2\]SA (Kennedy & Carpenter 2003, Table 5 of the paper's appendix): 6 stages,
/// order 4, embedded order 3, γ = 1/4, stiffly accurate L-stable implicit part.
pub const ARK436: ArkTableau = ArkTableau {
    name: "ark436",
    stages: 6,
    order: 4,
    embedded_order: 3,
    ae: &ARK436_AE,
    ai: &ARK436_AI,
    b: &ARK436_B,
    bhat: &ARK436_BHAT,
    c: &[0.0, 0.5, 83.0 / 250.0, 31.0 / 50.0, 17.0 / 20.0, 1.0],
    explicit_stability: 4.234,
};

const ARK436_B: [f64; 6] = [
    82889.0 / 524892.0,
    0.0,
    15625.0 / 83664.0,
    69875.0 / 102672.0,
    -2260.0 / 8211.0,
    0.25,
];
const ARK436_BHAT: [f64; 6] = [
    4586570599.0 / 29645900160.0,
    0.0,
    178811875.0 / 945068544.0,
    814220225.0 / 1159782912.0,
    -3700637.0 / 11593932.0,
    61727.0 / 225920.0,
];
#[rustfmt::skip]
const ARK436_AE: [f64; 36] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
    13861.0 / 62500.0, 6889.0 / 62500.0, 0.0, 0.0, 0.0, 0.0,
    -116923316275.0 / 2393684061468.0, -2731218467317.0 / 15368042101831.0,
    9408046702089.0 / 11113171139209.0, 0.0, 0.0, 0.0,
    -451086348788.0 / 2902428689909.0, -2682348792572.0 / 7519795681897.0,
    12662868775082.0 / 11960479115383.0, 3355817975965.0 / 11060851509271.0, 0.0, 0.0,
    647845179188.0 / 3216320057751.0, 73281519250.0 / 8382639484533.0,
    552539513391.0 / 3454668386233.0, 3354512671639.0 / 8306763924573.0, 4040.0 / 17871.0, 0.0,
];
#[rustfmt::skip]
const ARK436_AI: [f64; 36] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.25, 0.25, 0.0, 0.0, 0.0, 0.0,
    8611.0 / 62500.0, -1743.0 / 31250.0, 0.25, 0.0, 0.0, 0.0,
    5012029.0 / 34652500.0, -654441.0 / 2922500.0, 174375.0 / 388108.0, 0.25, 0.0, 0.0,
    15267082809.0 / 155376265600.0, -71443401.0 / 120774400.0, 730878875.0 / 902184768.0,
    2285395.0 / 8070912.0, 0.25, 0.0,
    82889.0 / 524892.0, 0.0, 15625.0 / 83664.0, 69875.0 / 102672.0, -2260.0 / 8211.0, 0.25,
];

/// ARK5(4)8L\[2\]SA (Kennedy & Carpenter 2003): 8 stages, order 5, embedded order 4,
/// γ = 41/200, stiffly accurate L-stable implicit part.
pub const ARK548: ArkTableau = ArkTableau {
    name: "ark548",
    stages: 8,
    order: 5,
    embedded_order: 4,
    ae: &ARK548_AE,
    ai: &ARK548_AI,
    b: &ARK548_B,
    bhat: &ARK548_BHAT,
    c: &[
        0.0,
        41.0 / 100.0,
        2935347310677.0 / 11292855782101.0,
        1426016391358.0 / 7196633302097.0,
        92.0 / 100.0,
        24.0 / 100.0,
        3.0 / 5.0,
        1.0,
    ],
    explicit_stability: 3.827,
};

const ARK548_B: [f64; 8] = [
    -872700587467.0 / 9133579230613.0,
    0.0,
    0.0,
    22348218063261.0 / 9555858737531.0,
    -1143369518992.0 / 8141816002931.0,
    -39379526789629.0 / 19018526304540.0,
    32727382324388.0 / 42900044865799.0,
    41.0 / 200.0,
];
const ARK548_BHAT: [f64; 8] = [
    -975461918565.0 / 9796059967033.0,
    0.0,
    0.0,
    78070527104295.0 / 32432590147079.0,
    -548382580838.0 / 3424219808633.0,
    -33438840321285.0 / 15594753105479.0,
    3629800801594.0 / 4656183773603.0,
    4035322873751.0 / 18575991585200.0,
];
#[rustfmt::skip]
const ARK548_AE: [f64; 64] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    41.0 / 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    367902744464.0 / 2072280473677.0, 677623207551.0 / 8224143866563.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1268023523408.0 / 10340822734521.0, 0.0, 1029933939417.0 / 13636558850479.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    14463281900351.0 / 6315353703477.0, 0.0, 66114435211212.0 / 5879490589093.0,
    -54053170152839.0 / 4284798021562.0, 0.0, 0.0, 0.0, 0.0,
    14090043504691.0 / 34967701212078.0, 0.0, 15191511035443.0 / 11219624916014.0,
    -18461159152457.0 / 12425892160975.0, -281667163811.0 / 9011619295870.0, 0.0, 0.0, 0.0,
    19230459214898.0 / 13134317526959.0, 0.0, 21275331358303.0 / 2942455364971.0,
    -38145345988419.0 / 4862620318723.0, -1.0 / 8.0, -1.0 / 8.0, 0.0, 0.0,
    -19977161125411.0 / 11928030595625.0, 0.0, -40795976796054.0 / 6384907823539.0,
    177454434618887.0 / 12078138498510.0, 782672205425.0 / 8267701900261.0,
    -69563011059811.0 / 9646580694205.0, 7356628210526.0 / 4942186776405.0, 0.0,
];
#[rustfmt::skip]
const ARK548_AI: [f64; 64] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    41.0 / 200.0, 41.0 / 200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    41.0 / 400.0, -567603406766.0 / 11931857230679.0, 41.0 / 200.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    683785636431.0 / 9252920307686.0, 0.0, -110385047103.0 / 1367015193373.0, 41.0 / 200.0,
    0.0, 0.0, 0.0, 0.0,
    3016520224154.0 / 10081342136671.0, 0.0, 30586259806659.0 / 12414158314087.0,
    -22760509404356.0 / 11113319521817.0, 41.0 / 200.0, 0.0, 0.0, 0.0,
    218866479029.0 / 1489978393911.0, 0.0, 638256894668.0 / 5436446318841.0,
    -1179710474555.0 / 5321154724896.0, -60928119172.0 / 8023461067671.0, 41.0 / 200.0, 0.0, 0.0,
    1020004230633.0 / 5715676835656.0, 0.0, 25762820946817.0 / 25263940353407.0,
    -2161375909145.0 / 9755907335909.0, -211217309593.0 / 5846859502534.0,
    -4269925059573.0 / 7827059040749.0, 41.0 / 200.0, 0.0,
    -872700587467.0 / 9133579230613.0, 0.0, 0.0, 22348218063261.0 / 9555858737531.0,
    -1143369518992.0 / 8141816002931.0, -39379526789629.0 / 19018526304540.0,
    32727382324388.0 / 42900044865799.0, 41.0 / 200.0,
];

impl ArkTableau {
    /// By CLI name (`ark548`, `ark436`).
    pub fn by_name(name: &str) -> Option<&'static ArkTableau> {
        [&ARK548, &ARK436].into_iter().find(|t| t.name == name)
    }
    /// a^E_ij.
    pub fn ae(&self, i: usize, j: usize) -> f64 {
        self.ae[i * self.stages + j]
    }
    /// a^I_ij.
    pub fn ai(&self, i: usize, j: usize) -> f64 {
        self.ai[i * self.stages + j]
    }
}

/// Options of one IMEX integration.
#[derive(Debug, Clone, Copy)]
pub struct ImexOptions {
    /// The pair.
    pub tableau: &'static ArkTableau,
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (> 0).
    pub atol: f64,
    /// Give up after this many steps (accepted + rejected).
    pub max_steps: usize,
    /// Refresh the stiff modes every this many accepted steps (≥ 1).
    pub refresh_every: usize,
    /// Size the implicit subspace to the step ([`StiffSplit::stiff_modes_above`] with cut
    /// [`STABILITY_SAFETY`]·S/h): rank k grows when more modes stiffen. `false`: the field's
    /// own modes ([`StiffSplit::stiff_modes`], rank one for the ReLU flow).
    pub adaptive: bool,
    /// Give up after this many rejections in a row (the controller cannot make progress).
    pub max_consecutive_rejections: usize,
    /// What a jump-corrected step ([`integrate_imex_jumps`]) counts as error.
    pub jump_error: JumpError,
}

impl ImexOptions {
    /// ARK5(4)8L\[2\]SA, rtol 1e-8, atol 1e-10, 10⁶ steps, modes refreshed every 20 steps.
    pub fn new() -> Self {
        ImexOptions {
            tableau: &ARK548,
            rtol: 1e-8,
            atol: 1e-10,
            max_steps: 1_000_000,
            refresh_every: 20,
            adaptive: false,
            max_consecutive_rejections: 30,
            jump_error: JumpError::Full,
        }
    }
    /// With the implicit subspace sized to the step (see [`ImexOptions::adaptive`]).
    pub fn with_adaptive(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }
    /// With the jump-error mode of [`integrate_imex_jumps`].
    pub fn with_jump_error(mut self, mode: JumpError) -> Self {
        self.jump_error = mode;
        self
    }
    /// With tolerances.
    pub fn with_tol(mut self, rtol: f64, atol: f64) -> Self {
        self.rtol = rtol;
        self.atol = atol;
        self
    }
    /// With another pair.
    pub fn with_tableau(mut self, t: &'static ArkTableau) -> Self {
        self.tableau = t;
        self
    }
}

impl Default for ImexOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Statistics of one IMEX integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ImexStats {
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps.
    pub rejected_steps: usize,
    /// Evaluations of F.
    pub rhs_evals: usize,
    /// Stiff-mode refreshes.
    pub mode_refreshes: usize,
    /// Largest decay rate μ seen.
    pub max_mu: f64,
    /// Smallest accepted step.
    pub min_step: f64,
    /// Largest accepted step.
    pub max_step: f64,
    /// Largest number of implicit modes used.
    pub max_rank: usize,
    /// Largest h·μ_rest/S seen at a refresh: the explicit part's stiffness (μ_rest, the largest
    /// decay rate left out of the implicit modes, as estimated by the field) relative to the
    /// explicit tableau's stability limit S at the step h. Above 1 the explicit part runs at
    /// its stability limit; 0 when the field gives no estimate.
    pub max_explicit_stiffness: f64,
    /// Jump-quadrature terms applied over all step trials ([`integrate_imex_jumps`]; 0 otherwise).
    pub jump_terms: usize,
    /// Switching surfaces crossed between the ends of accepted steps ([`integrate_imex_jumps`]).
    pub crossings: usize,
    #[serde(skip)]
    crossings_last: usize,
    /// Largest single jump correction |ω| applied.
    pub max_jump_correction: f64,
    /// Crossings whose cubic-Hermite crossing time failed and whose whole correction was
    /// counted as error ([`JumpError::Remainder`]).
    pub hermite_fallbacks: usize,
    /// Steps retaken to end on the first surface they crossed ([`integrate_imex_landing`]).
    pub landings: usize,
    /// Surfaces switched at step ends ([`integrate_imex_landing`]).
    pub switches: usize,
    /// Largest time offset |s_K|/|ṡ_K| between a landing point and the surface it aimed at
    /// ([`integrate_imex_landing`]; the module doc of [`super::landing`]).
    pub max_landing_offset: f64,
}

/// States at the requested times with statistics.
#[derive(Debug, Clone)]
pub struct ImexTrajectory {
    /// Output times.
    pub times: Vec<f64>,
    /// State at each time.
    pub states: Vec<Vec<f64>>,
    /// Statistics.
    pub stats: ImexStats,
    /// Warnings (e.g. the explicit part beyond its stability limit), at most a few.
    pub warnings: Vec<String>,
}

/// The implicit subspace is sized so that the largest decay rate left in the explicit part
/// times the step is at most this fraction of the explicit stability interval S: the step can
/// then grow 1/0.5 = 2× before the explicit part meets its limit, and the controller (factor
/// ≤ 5 per step, modes refreshed every few steps) sees accuracy, not stability.
pub const STABILITY_SAFETY: f64 = 0.5;

/// A fixed (non-adaptive) split checks what it leaves explicit every this many accepted steps.
const PROBE_EVERY: usize = 200;

/// Errors of [`integrate_imex`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImexError {
    /// Bad tolerance or option.
    #[error("{name} = {value} must be a finite number > 0 (e.g. --rtol 1e-8)")]
    BadOption {
        /// Which option.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// Bad times.
    #[error(transparent)]
    Times(#[from] TimeError),
    /// A relative tolerance outside [`super::RTOL_RANGE`] (the same refusal as the other solvers).
    #[error(transparent)]
    Rtol(super::FlowError),
    /// Initial state of the wrong size or non-finite.
    #[error("initial state: {0}")]
    InitialState(String),
    /// Step limit reached.
    #[error("{method} took more than {max_steps} steps before t = {t:.6e} (loosen --rtol)")]
    TooManySteps {
        /// Pair.
        method: &'static str,
        /// Time reached.
        t: f64,
        /// Limit.
        max_steps: usize,
    },
    /// The controller rejected too many steps in a row.
    #[error(
        "{method} cannot make progress at t = {t:.6e}: {rejections} steps rejected in a row, the last of size {h:.3e} ({why})"
    )]
    Stalled {
        /// Pair.
        method: &'static str,
        /// Time reached.
        t: f64,
        /// Last step size tried.
        h: f64,
        /// Rejections in a row.
        rejections: usize,
        /// Likely cause.
        why: String,
    },
    /// The step size underflowed or the state became non-finite.
    #[error("{method} failed at t = {t:.6e}: {why}")]
    Failed {
        /// Pair.
        method: &'static str,
        /// Time reached.
        t: f64,
        /// What happened.
        why: String,
    },
}

/// Weighted RMS norm of `e` with weights atol + rtol·max(|a_i|, |b_i|).
fn wrms(e: &[f64], a: &[f64], b: &[f64], rtol: f64, atol: f64) -> f64 {
    let mut s = 0.0;
    for ((ei, ai), bi) in e.iter().zip(a).zip(b) {
        let w = atol + rtol * ai.abs().max(bi.abs());
        let r = ei / w;
        s += r * r;
    }
    (s / e.len().max(1) as f64).sqrt()
}

/// Entries per block of [`combine`]: the block of the output and one of each term stay in L1
/// (512 · 8 B = 4 KiB each).
const COMBINE_BLOCK: usize = 512;

/// out = base + Σ_j c_j v_j (terms with c_j = 0 skipped), block by block: each vector is read
/// once instead of once per term (the stage vectors of a large flow do not fit in cache).
/// Same rounding as the term-by-term sum (per entry, the terms are added in order).
fn combine(out: &mut [f64], base: &[f64], c: &[f64], v: &[Vec<f64>]) {
    for (b, (o, y)) in out
        .chunks_mut(COMBINE_BLOCK)
        .zip(base.chunks(COMBINE_BLOCK))
        .enumerate()
    {
        o.copy_from_slice(y);
        let (lo, len) = (b * COMBINE_BLOCK, o.len());
        for (&cj, vj) in c.iter().zip(v) {
            if cj != 0.0 {
                o.iter_mut().zip(&vj[lo..lo + len]).for_each(|(o, f)| *o += cj * f);
            }
        }
    }
}

/// [`combine`] for the step's end and its error estimate: out = base + Σ_j c_j v_j and
/// err = Σ_j e_j v_j in one blocked pass.
fn combine_with_error(out: &mut [f64], err: &mut [f64], base: &[f64], c: &[f64], e: &[f64], v: &[Vec<f64>]) {
    let blocks = out
        .chunks_mut(COMBINE_BLOCK)
        .zip(err.chunks_mut(COMBINE_BLOCK))
        .zip(base.chunks(COMBINE_BLOCK));
    for (b, ((o, er), y)) in blocks.enumerate() {
        o.copy_from_slice(y);
        er.iter_mut().for_each(|x| *x = 0.0);
        let (lo, len) = (b * COMBINE_BLOCK, o.len());
        for ((&cj, &ej), vj) in c.iter().zip(e).zip(v) {
            let vb = &vj[lo..lo + len];
            for ((oi, ei), f) in o.iter_mut().zip(er.iter_mut()).zip(vb) {
                *oi += cj * f;
                *ei += ej * f;
            }
        }
    }
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Integrate ẏ = F(y) from y(times\[0\]) = y0 with an ARK pair, the field's stiff modes implicit,
/// and report the state at every requested time.
///
/// # Errors
/// [`ImexError`] for bad options, times or initial state, when the step limit is reached, when
/// [`ImexOptions::max_consecutive_rejections`] steps in a row are rejected
/// ([`ImexError::Stalled`], naming t, the step and the likely cause), or when the step size
/// underflows / the state becomes non-finite.
pub fn integrate_imex<F: StiffSplit + ?Sized>(
    field: &F,
    y0: &[f64],
    times: &[f64],
    opts: &ImexOptions,
) -> Result<ImexTrajectory, ImexError> {
    imex_core(field, None, None, y0, times, opts)
}

/// [`integrate_imex`] with the jump quadrature of `flow::kinks` applied to every step (a field
/// with switched terms, e.g. the ReLU gradient flow): the steps' first-order error at the
/// switching surfaces they cross is corrected (see [`super::kinks`]).
///
/// # Errors
/// As [`integrate_imex`].
pub fn integrate_imex_jumps<F: JumpField>(
    field: &F,
    y0: &[f64],
    times: &[f64],
    opts: &ImexOptions,
) -> Result<ImexTrajectory, ImexError> {
    imex_core(field, Some(field as &dyn JumpField), None, y0, times, opts)
}

/// [`integrate_imex`] on one smooth piece of a switched field at a time: every step that
/// leaves the piece is retaken to end on the first surface it crosses, where the field switches
/// pieces (see [`super::landing`]).
///
/// # Errors
/// As [`integrate_imex`], and [`ImexError::Failed`] when the field reports a fault (e.g. a
/// sliding system without a unique solution).
pub fn integrate_imex_landing<F: LandingField>(
    field: &F,
    y0: &[f64],
    times: &[f64],
    opts: &ImexOptions,
) -> Result<ImexTrajectory, ImexError> {
    imex_core(field, None, Some(field as &dyn LandingField), y0, times, opts)
}

fn imex_core<F: StiffSplit + ?Sized>(
    field: &F,
    jumps: Option<&dyn JumpField>,
    events: Option<&dyn LandingField>,
    y0: &[f64],
    times: &[f64],
    opts: &ImexOptions,
) -> Result<ImexTrajectory, ImexError> {
    let tab = opts.tableau;
    let method = tab.name;
    for (name, value) in [("rtol", opts.rtol), ("atol", opts.atol)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(ImexError::BadOption { name, value });
        }
        if !(super::RTOL_RANGE.0..=super::RTOL_RANGE.1).contains(&opts.rtol) {
            return Err(ImexError::Rtol(super::FlowError::RtolRange { value: opts.rtol }));
        }
    }
    if opts.refresh_every == 0 {
        return Err(ImexError::BadOption {
            name: "refresh_every",
            value: 0.0,
        });
    }
    check_times(times)?;
    let n = field.dim();
    if y0.len() != n {
        return Err(ImexError::InitialState(format!(
            "has {} entries, the field has dimension {n}",
            y0.len()
        )));
    }
    if y0.iter().any(|v| !v.is_finite()) {
        return Err(ImexError::InitialState("contains NaN or ∞".into()));
    }
    let s = tab.stages;
    let (rtol, atol) = (opts.rtol, opts.atol);
    let mut stats = ImexStats {
        min_step: f64::INFINITY,
        ..Default::default()
    };
    let mut modes = StiffModes::default();
    let mut warnings: Vec<String> = Vec::new();
    let s_e = tab.explicit_stability;
    // Refresh the modes at y for steps up to `h_hi`; returns the field's estimate of the largest
    // decay rate left explicit.
    // `last_rest`: the previous refresh's estimate. When it shows the step bounded by the
    // explicit part's stability (h·μ_rest > 0.8·safety·S), the subspace is sized for 4× that
    // step, so the rank grows until accuracy, not stability, sets the step.
    let refresh =
        |y: &[f64], h_hi: f64, last_rest: Option<f64>, modes: &mut StiffModes, stats: &mut ImexStats| -> Option<f64> {
            let bound = last_rest.is_some_and(|r| h_hi * r > 0.8 * STABILITY_SAFETY * s_e);
            let h_target = if bound { 4.0 * h_hi } else { h_hi };
            let rest = if opts.adaptive {
                field.stiff_modes_above(y, STABILITY_SAFETY * s_e / h_target, modes)
            } else {
                field.stiff_modes(y, modes);
                None
            };
            stats.mode_refreshes += 1;
            stats.max_rank = stats.max_rank.max(modes.v.len());
            for m in &modes.mu {
                stats.max_mu = stats.max_mu.max(*m);
            }
            if let Some(r) = rest {
                stats.max_explicit_stiffness = stats.max_explicit_stiffness.max(h_hi * r / s_e);
            }
            rest
        };
    let mut y = y0.to_vec();
    let mut ynew = vec![0.0; n];
    let mut err = vec![0.0; n];
    let mut ys = vec![0.0; n];
    let mut fs: Vec<Vec<f64>> = vec![vec![0.0; n]; s];
    // Stage weights h·a_ij, h·b_j and h·(b_j − b̂_j) of the combination being formed.
    let (mut wts, mut wts_err) = (vec![0.0; s], vec![0.0; s]);
    let mut t = times[0];
    let mut states = vec![y.clone()];
    let mut js = jumps.map(|f| JumpState::new(f, s));
    let mut ls = events.map(|f| LandingState::new(f, &y));
    // A step being retaken to land on a surface: (its length, the surface).
    let mut land: Option<(f64, usize)> = None;
    // F(Y_i) into fs[i], recording switch states when jumps are corrected.
    let eval = |yv: &[f64], i: usize, fs: &mut [Vec<f64>], js: &mut Option<JumpState>| match (jumps, js.as_mut()) {
        (Some(f), Some(st)) => f.eval_recording(yv, &mut fs[i], &mut st.on[i], &mut st.aux[i]),
        _ => field.eval_inplace(yv, &mut fs[i]),
    };
    if let (Some(f), Some(st)) = (jumps, js.as_mut()) {
        f.switch_values(&y, &mut st.s0);
    }
    // Initial step (Hairer–Nørsett–Wanner II.4): h0 from ‖y‖/‖F‖, one Euler trial for ‖F′‖.
    eval(&y, 0, &mut fs, &mut js);
    stats.rhs_evals += 1;
    let mut f0_valid = true;
    let zero = vec![0.0; n];
    let d0 = wrms(&y, &y, &zero, rtol, atol);
    let d1 = wrms(&fs[0], &y, &zero, rtol, atol);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
    for i in 0..n {
        ys[i] = y[i] + h0 * fs[0][i];
    }
    field.eval_inplace(&ys, &mut err);
    stats.rhs_evals += 1;
    for i in 0..n {
        err[i] = (err[i] - fs[0][i]) / h0;
    }
    let d2 = wrms(&err, &y, &zero, rtol, atol);
    let p1 = f64::from(tab.embedded_order + 1);
    let h1 = if d1.max(d2) <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(1.0 / p1)
    };
    let mut h = (100.0 * h0).min(h1);
    let mut last_rest = refresh(&y, h, None, &mut modes, &mut stats);
    // vᵀY_j per mode and stage.
    let mut proj = vec![0.0; modes.v.len() * s];
    // First nonzero entry of each mode: the products below skip the leading zeros (the ReLU
    // flow's rank-one mode lives on the output layer, 1 % of θ on problem R). Same sums: the
    // skipped terms are zeros.
    let support = |modes: &StiffModes| -> Vec<usize> {
        modes
            .v
            .iter()
            .map(|v| v.iter().position(|x| *x != 0.0).unwrap_or(v.len()))
            .collect()
    };
    let mut lo = support(&modes);
    let mut since_refresh = 0;
    // Largest step the controller asked for since the last refresh (the adaptive cut).
    let mut h_hi = h;
    let mut rejected_in_row = 0usize;
    let mut rejected_since_refresh = 0usize;
    let mut next_probe = 2 * opts.refresh_every;
    for &t_out in &times[1..] {
        while t < t_out {
            if stats.steps + stats.rejected_steps >= opts.max_steps {
                return Err(ImexError::TooManySteps {
                    method,
                    t,
                    max_steps: opts.max_steps,
                });
            }
            // Stretch a step by ≤ 1 % rather than leave a sliver before t_out.
            let (last, hs) = match land {
                Some((hl, _)) => (false, hl),
                None if t + 1.01 * h >= t_out => (true, t_out - t),
                None => (false, h),
            };
            if hs.is_nan() || hs <= 0.0 || hs < 1e-14 * t.abs().max(1.0) {
                return Err(ImexError::Failed {
                    method,
                    t,
                    why: format!("step size {hs:.3e} underflowed"),
                });
            }
            // Stage 1: Y₁ = y_n (explicit), F(y_n) kept across rejections.
            if !f0_valid {
                eval(&y, 0, &mut fs, &mut js);
                stats.rhs_evals += 1;
                f0_valid = true;
            }
            for (m, v) in modes.v.iter().enumerate() {
                proj[m * s] = dot(&v[lo[m]..], &y[lo[m]..]);
            }
            for i in 1..s {
                // R = y + h Σ_j a^E_ij F_j + h Σ_m μ_m v_m Σ_j (a^E_ij − a^I_ij) (v_mᵀY_j)
                for (j, w) in wts.iter_mut().enumerate().take(i) {
                    *w = hs * tab.ae(i, j);
                }
                combine(&mut ys, &y, &wts[..i], &fs[..i]);
                let gamma = tab.ai(i, i);
                for (m, v) in modes.v.iter().enumerate() {
                    let mu = modes.mu[m];
                    let mut c = 0.0;
                    for j in 0..i {
                        c += (tab.ae(i, j) - tab.ai(i, j)) * proj[m * s + j];
                    }
                    c *= hs * mu;
                    // (I + hγμ vvᵀ)⁻¹ on R + c v: vᵀ(R + c v) = vᵀR + c, scaled by 1/(1 + hγμ).
                    let l = lo[m];
                    let vr = dot(&v[l..], &ys[l..]) + c;
                    let shrink = hs * gamma * mu / (1.0 + hs * gamma * mu);
                    let coef = c - shrink * vr;
                    ys[l..].iter_mut().zip(&v[l..]).for_each(|(o, vi)| *o += coef * vi);
                    proj[m * s + i] = vr * (1.0 - shrink);
                }
                eval(&ys, i, &mut fs, &mut js);
                stats.rhs_evals += 1;
            }
            // y_{n+1} = y + h Σ b F_j, error h Σ (b − b̂) F_j.
            for j in 0..s {
                wts[j] = hs * tab.b[j];
                wts_err[j] = hs * (tab.b[j] - tab.bhat[j]);
            }
            combine_with_error(&mut ynew, &mut err, &y, &wts[..s], &wts_err[..s], &fs);
            if let (Some(f), Some(st)) = (jumps, js.as_mut()) {
                f.switch_values(&ynew, &mut st.s1);
                let crossed = st.corrections(f, hs, tab.b, tab.bhat, &fs[0], &fs[s - 1], opts.jump_error);
                // Correct y₁ and add the error terms of the mode (module doc of `flow::kinks`).
                f.add_jump_directions(&st.terms, &mut ynew);
                f.add_jump_directions(&st.err_terms, &mut err);
                stats.hermite_fallbacks = st.hermite_fallbacks;
                stats.jump_terms += st.terms.len();
                stats.crossings_last = crossed;
                stats.max_jump_correction = stats.max_jump_correction.max(super::kinks::largest(&st.terms));
            }
            let en = wrms(&err, &y, &ynew, rtol, atol);
            let accepted = en <= 1.0 && ynew.iter().all(|v| v.is_finite());
            if accepted && land.is_none() {
                if let (Some(ev), Some(st)) = (events, ls.as_mut()) {
                    if st.crossed(ev, &ynew) {
                        let (tau, k) = st.first_crossing(ev, &fs[0], &fs[s - 1], hs);
                        if tau < 1.0 && tau * hs > 1e-12 * t.abs().max(1.0) {
                            // Retake the step to end on the first surface crossed.
                            land = Some((tau * hs, k));
                            stats.landings += 1;
                            continue;
                        }
                    }
                }
            }
            if accepted {
                rejected_in_row = 0;
                std::mem::swap(&mut y, &mut ynew);
                if let (Some(f), Some(st)) = (jumps, js.as_mut()) {
                    // s₁ was taken before the correction moved y₁: the next step's surface
                    // values must match the (corrected) state its stage 1 records.
                    f.switch_values(&y, &mut st.s0);
                    stats.crossings += stats.crossings_last;
                }
                let landed = land.take();
                if let (Some(ev), Some(st)) = (events, ls.as_mut()) {
                    // A landing step switches at its aimed surface whichever side it stopped
                    // on (the field decides from the velocities); any other surface the step
                    // crossed is switched too.
                    if let Some((_, k)) = landed {
                        st.crossed(ev, &y);
                        if let Some(off) = st.offset(ev, k, &fs[s - 1]) {
                            stats.max_landing_offset = stats.max_landing_offset.max(off);
                        }
                    }
                    let first = landed.map(|(_, k)| k).or_else(|| st.out.first().copied());
                    if first.is_none() {
                        // No switch: the end's surface values start the next step.
                        st.advance(ev);
                    }
                    if let Some(k) = first {
                        let crossed = std::mem::take(&mut st.out);
                        stats.switches += ev.switch(&y, k);
                        st.restart(ev, &y);
                        // Entries the first switch left outside (sliding exits are switched one
                        // by one).
                        let mut again = false;
                        for &j in &crossed {
                            if j != k && st.out0.binary_search(&j).is_ok() {
                                stats.switches += ev.switch(&y, j);
                                again = true;
                            }
                        }
                        if again {
                            st.restart(ev, &y);
                        }
                        // (the buffer back, for the next step's crossings)
                        st.out = crossed;
                    }
                    // A fault of the field (e.g. a singular sliding system, in a switch or in an
                    // evaluation) ends the run with its reason.
                    if let Some(why) = ev.fault() {
                        return Err(ImexError::Failed { method, t, why });
                    }
                }
                t = if last { t_out } else { t + hs };
                f0_valid = false;
                stats.steps += 1;
                stats.min_step = stats.min_step.min(hs);
                stats.max_step = stats.max_step.max(hs);
                let fac = 0.9 * en.max(1e-10).powf(-1.0 / p1);
                // A step shortened to hit t_out or to land on a surface does not shrink the next one.
                h = if last {
                    h.max(hs)
                } else if landed.is_some() {
                    h
                } else {
                    hs * fac.clamp(0.2, 5.0)
                };
                h_hi = h_hi.max(h);
                since_refresh += 1;
            } else {
                land = None;
                stats.rejected_steps += 1;
                rejected_in_row += 1;
                rejected_since_refresh += 1;
                // A non-finite trial is a hard rejection: shrink by 5.
                let fac = if en.is_finite() {
                    0.9 * en.max(1e-10).powf(-1.0 / p1)
                } else {
                    0.2
                };
                h = hs * fac.clamp(0.2, 1.0);
                if rejected_in_row >= opts.max_consecutive_rejections {
                    let why = if en.is_finite() {
                        format!(
                            "error estimate {en:.2e} × tolerance; the explicit part may be unstable at every step tried (largest stiff rate {:.3e}, rank {})",
                            stats.max_mu,
                            modes.v.len()
                        )
                    } else {
                        "the trial state became non-finite".to_string()
                    };
                    return Err(ImexError::Stalled {
                        method,
                        t,
                        h: hs,
                        rejections: rejected_in_row,
                        why,
                    });
                }
            }
            // Refresh on schedule, or early (adaptive) when rejections pile up: the step the
            // controller wants may need more implicit modes.
            let early = opts.adaptive && rejected_since_refresh >= 3;
            if since_refresh >= opts.refresh_every || early {
                let rest = refresh(&y, h_hi, last_rest, &mut modes, &mut stats);
                last_rest = rest;
                proj.resize(modes.v.len() * s, 0.0);
                lo = support(&modes);
                if let Some(r) = rest {
                    if h_hi * r > s_e && warnings.len() < 3 {
                        warnings.push(format!(
                            "{method}: at t = {t:.4e} the explicit part keeps a decay rate ≈ {r:.3e} with {} implicit modes: steps near {h_hi:.3e} are at its stability limit {:.3e}",
                            modes.v.len(),
                            s_e / r
                        ));
                    }
                }
                // A fixed split: estimate now and then (every PROBE_EVERY accepted steps, ≈ 1–2 %
                // of the work) what it leaves explicit, and warn when that is past the explicit
                // stability limit at the step the controller asks for.
                if !opts.adaptive && warnings.is_empty() && stats.steps >= next_probe {
                    next_probe = stats.steps + PROBE_EVERY;
                    let mut probe = modes.clone();
                    let top = modes.mu.iter().copied().fold(0.0, f64::max);
                    if let Some(r) = field.stiff_modes_above(&y, 0.99 * top, &mut probe) {
                        stats.max_explicit_stiffness = stats.max_explicit_stiffness.max(h_hi * r / s_e);
                        if h_hi * r > STABILITY_SAFETY * s_e {
                            warnings.push(format!(
                                "{method} (rank-{} implicit split): at t = {t:.4e}, {} of {} steps rejected; the explicit part keeps a mode with decay rate ≈ {r:.3e}, so steps above {:.3e} are explicitly unstable (steps near {h_hi:.3e} are taken): the split's stiffness assumption is broken, the step is set by stability and the error estimate is less reliable — use an adaptive split (--method ark548-lanczos) or tsit45",
                                modes.v.len(),
                                stats.rejected_steps,
                                stats.steps + stats.rejected_steps,
                                s_e / r
                            ));
                        }
                    }
                }
                since_refresh = 0;
                rejected_since_refresh = 0;
                h_hi = h;
            }
        }
        states.push(y.clone());
    }
    if stats.steps == 0 {
        stats.min_step = 0.0;
    }
    Ok(ImexTrajectory {
        times: times.to_vec(),
        states,
        stats,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Residual allowed in an order condition evaluated in f64. The coefficients are rationals
    /// rounded to f64 (relative 2⁻⁵³); a condition sums ≤ 8⁴ products of ≤ 4 of them, each
    /// ≤ 15 in size (largest |a^E_ij| of ARK548: 14.7), so its rounding is < 1e-13. In exact
    /// rational arithmetic the published coefficients leave residuals ≤ 3e-26 (checked once
    /// with Python fractions), so 1e-12 flags any coefficient whose effect is off by more.
    const ORDER_CONDITION_TOL: f64 = 1e-12;

    /// The rooted-tree order conditions of additive RK methods (every internal A of a tree is
    /// a^E or a^I, independently; b and c shared) up to order `p`, as (value, 1/γ(tree)).
    fn conditions(t: &ArkTableau, b: &[f64], p: u32) -> Vec<(u32, f64, f64)> {
        let s = t.stages;
        let ae: Vec<Vec<f64>> = (0..s).map(|i| (0..s).map(|j| t.ae(i, j)).collect()).collect();
        let ai: Vec<Vec<f64>> = (0..s).map(|i| (0..s).map(|j| t.ai(i, j)).collect()).collect();
        let c = t.c.to_vec();
        let mv = |a: &Vec<Vec<f64>>, v: &[f64]| -> Vec<f64> {
            a.iter().map(|r| r.iter().zip(v).map(|(x, y)| x * y).sum()).collect()
        };
        let mul = |u: &[f64], v: &[f64]| -> Vec<f64> { u.iter().zip(v).map(|(x, y)| x * y).collect() };
        let bd = |v: &[f64]| -> f64 { b.iter().zip(v).map(|(x, y)| x * y).sum() };
        let pw = |k: i32| -> Vec<f64> { c.iter().map(|x| x.powi(k)).collect() };
        let both = [&ae, &ai];
        let mut out = vec![
            (1, bd(&vec![1.0; s]), 1.0),
            (2, bd(&c), 0.5),
            (3, bd(&pw(2)), 1.0 / 3.0),
        ];
        for a in both {
            out.push((3, bd(&mv(a, &c)), 1.0 / 6.0));
            out.push((4, bd(&mul(&c, &mv(a, &c))), 1.0 / 8.0));
            out.push((4, bd(&mv(a, &pw(2))), 1.0 / 12.0));
            out.push((5, bd(&mul(&pw(2), &mv(a, &c))), 1.0 / 10.0));
            out.push((5, bd(&mul(&c, &mv(a, &pw(2)))), 1.0 / 15.0));
            out.push((5, bd(&mv(a, &pw(3))), 1.0 / 20.0));
            for bm in both {
                out.push((4, bd(&mv(a, &mv(bm, &c))), 1.0 / 24.0));
                out.push((5, bd(&mul(&c, &mv(a, &mv(bm, &c)))), 1.0 / 30.0));
                out.push((5, bd(&mul(&mv(a, &c), &mv(bm, &c))), 1.0 / 20.0));
                out.push((5, bd(&mv(a, &mul(&c, &mv(bm, &c)))), 1.0 / 40.0));
                out.push((5, bd(&mv(a, &mv(bm, &pw(2)))), 1.0 / 60.0));
                for cm in both {
                    out.push((5, bd(&mv(a, &mv(bm, &mv(cm, &c)))), 1.0 / 120.0));
                }
            }
        }
        out.push((4, bd(&pw(3)), 0.25));
        out.push((5, bd(&pw(4)), 0.2));
        out.retain(|(o, _, _)| *o <= p);
        out
    }

    /// `explicit_stability` is the real stability interval of (a^E, b): |R(−x)| ≤ 1 on
    /// [0, 0.999·S] (sampled every S/1000) and > 1 at 1.005·S (the constants are rounded to 3
    /// decimals of the bisection).
    #[test]
    fn explicit_stability_interval_is_the_published_constant() {
        for t in [&ARK548, &ARK436] {
            let r = |z: f64| {
                let mut k = Vec::with_capacity(t.stages);
                for i in 0..t.stages {
                    let yi = 1.0 + z * (0..i).map(|j| t.ae(i, j) * k[j]).sum::<f64>();
                    k.push(yi);
                }
                1.0 + z * t.b.iter().zip(&k).map(|(b, k)| b * k).sum::<f64>()
            };
            let s = t.explicit_stability;
            for i in 0..=999 {
                let x = s * f64::from(i) / 1000.0;
                assert!(r(-x).abs() <= 1.0 + 1e-12, "{}: |R({})| > 1", t.name, -x);
            }
            assert!(r(-1.005 * s).abs() > 1.0, "{}: stable beyond S", t.name);
        }
    }

    #[test]
    fn tableaux_satisfy_the_additive_order_conditions() {
        for t in [&ARK548, &ARK436] {
            let s = t.stages;
            for i in 0..s {
                let (re, ri): (f64, f64) = ((0..s).map(|j| t.ae(i, j)).sum(), (0..s).map(|j| t.ai(i, j)).sum());
                assert!(
                    (re - t.c[i]).abs() < ORDER_CONDITION_TOL,
                    "{} row {i}: Σa^E = {re} ≠ c",
                    t.name
                );
                assert!(
                    (ri - t.c[i]).abs() < ORDER_CONDITION_TOL,
                    "{} row {i}: Σa^I = {ri} ≠ c",
                    t.name
                );
                assert_eq!(
                    t.ai(s - 1, i),
                    t.b[i],
                    "{}: stiffly accurate (last row of a^I = b)",
                    t.name
                );
                for j in i..s {
                    assert_eq!(t.ae(i, j), 0.0, "{}: a^E strictly lower", t.name);
                }
            }
            for (bb, p, what) in [(t.b, t.order, "b"), (t.bhat, t.embedded_order, "b̂")] {
                let conds = conditions(t, bb, p);
                for (o, v, want) in &conds {
                    assert!(
                        (v - want).abs() < ORDER_CONDITION_TOL,
                        "{} {what}: an order-{o} condition gives {v}, not {want}",
                        t.name
                    );
                }
                // …and the next order is NOT met (the order is sharp, so the error estimate
                // b − b̂ is of order p̂ + 1).
                let next = conditions(t, bb, p + 1);
                if p < 5 {
                    assert!(
                        next.iter()
                            .filter(|(o, _, _)| *o == p + 1)
                            .any(|(_, v, w)| (v - w).abs() > 1e-6),
                        "{} {what}: order {} too?",
                        t.name,
                        p + 1
                    );
                }
            }
        }
    }
}
