//! Two-layer piecewise-linear network f(x) = aᵀσ(Wx), σ(z) = max(z, γz) (P1 §5; `docs/theory.md` §3).
//!
//! ReLU is γ = 0, leaky ReLU 0 < γ < 1. W ∈ R^{h×d}, a ∈ R^h, no biases; data X ∈ R^{n×d}
//! (rows x_i), targets y ∈ R^n.
//!
//! - **Parameters.** θ = (W row-major, then a): θ[k·d + j] = W_kj, θ[h·d + k] = a_k, the same
//!   order as [`super::two_layer_linear`] (first layer first). Rates: η_w on W, η_a on a.
//! - **Loss.** L(θ) = c·Σ_i (f(x_i) − y_i)² with the normalisation c of [`LossScale`]: ½ (P1's
//!   theory, `docs/theory.md` §5.1), 1/(2n) (issue 6's problem R), or 1/n (the seed code's
//!   `fit_nn_gd`, `docs/theory.md` §3.2, whose time runs ×2/n relative to ½Σ).
//! - **Activation matrix** C ∈ R^{h×n}, c_ki = σ'(w_kᵀx_i) ∈ {γ, 1} (P1 §5). At the kink
//!   z = 0 we take σ'(0) = γ (the "inactive" side; c_ki = 1 iff w_kᵀx_i > 0). Inside a fixed
//!   pattern σ(z) = c·z is linear, so L is a polynomial in θ there: the gradient is continuous
//!   across switches for 0 < γ (and for γ = 0), the Hessian is piecewise constant in the pattern
//!   (`docs/theory.md` §3.1) and jumps across a surface w_kᵀx_i = 0.
//! - **Gradient** with g = ∂L/∂f = 2c(f − y) ∈ R^n, S = σ(XWᵀ), E_ik = g_i a_k c_ki:
//!   ∇_a L = Sᵀg, ∇_W L = EᵀX. Two GEMMs of 2·n·h·d flops each (faer, sequential: the
//!   caller owns parallelism), element-wise work O(nh), no allocation (scratch reused).
//! - **Hessian-vector product** in direction (V, u), with P = XVᵀ: df = Su + (C∘P)ᵀ·a per
//!   sample, q = 2c·df, then (∇²L·v)_a = Sᵀq + Σ_i g_i c_ki P_ik and
//!   (∇²L·v)_W = ((q aᵀ + g uᵀ)∘Cᵀ)ᵀX (Gauss–Newton part plus the a_k–w_k cross term of ∇²f;
//!   σ is linear within a pattern, so there is no other curvature).
//! - **Conserved** per neuron (Du et al. 2018; `docs/theory.md` §3.1): δ_k = η_w a_k² − η_a‖w_k‖².
//!   It holds for the gradient flow through any pattern switch: σ(z) = σ'(z)·z on both sides
//!   of the kink, so a_k ∂L/∂a_k = w_kᵀ∇_{w_k}L for every pattern and dδ_k/dt = 0.
//! - **Eq. 9–10 forms** (P1 eqs. (9)–(10), `docs/theory.md` §3.1): β_k = a_k w_k,
//!   β̇_k = −M_k ξ_k with M_k = η_w a_k² I + η_a w_k w_kᵀ, ξ_k = Σ_i c_ki x_i g_i (P1 writes
//!   g_i = f(x_i) − y_i for its ½Σ loss; here g is ∂L/∂f for the chosen [`LossScale`]).
//!   μ_k = a_k‖w_k‖ = sgn(a_k)‖β_k‖, β̂_k = w_k/‖w_k‖, and
//!   μ̇_k = −√(δ_k² + 4η_aη_w μ_k²) β̂_kᵀξ_k,
//!   dβ̂_k/dt = −(√(δ_k² + 4η_aη_w μ_k²) + δ_k)/(2μ_k)·(I − β̂_kβ̂_kᵀ)ξ_k.
//!   Because σ is positively homogeneous, f(x) = Σ_k μ_k σ(β̂_kᵀx), so (μ, β̂) with the
//!   constants δ_k is a closed system: [`SphericalFlow`] integrates it independently of the
//!   parameter flow (singular at μ_k = 0 when δ_k > 0 and at w_k = 0).
//! - **Frozen patterns.** [`FrozenPatternFlow`] is the parameter flow with C held fixed (a
//!   smooth polynomial field, the smooth extension of one piece across its boundary); the
//!   event-located integrator in `flow` integrates it between switches (roots of w_kᵀx_i).
//!   Where both one-sided fields push into a surface it follows the Filippov sliding motion
//!   (equivalent control c_ki ∈ [γ, 1]; derivation and δ_k conservation in its doc).
//! - **Mode choice at events.** At every event the modes (sliding, active, inactive) of the
//!   on-surface samples of the neuron concerned are chosen together as the solution of a box
//!   complementarity problem in their slopes ([`super::box_lcp`]; unique when a_k g_i > 0 for all
//!   of them and their inputs are independent, checked by brute force otherwise, and an error
//!   naming the neuron and samples when not unique). Sign tests are exact: a relative noise
//!   threshold on the normal velocities misclassified the graze that follows every exit from
//!   sliding (the exited sample's normal velocity starts at 0), and left the catalog case
//!   `relu_d5h16n30_up` unconverged (rtol 1e-13 vs 1e-12: 3.0e-4; now 3.5e-13; see
//!   `verification/README.md`, "Sliding modes").

use super::box_lcp::{BoxLcp, BoxMode, gauss_solve};
use super::deep_linear::check_matrix;
use super::{
    GradientFlowModel, ModelError, ParameterFlow, StiffModes, StiffSplit, SwitchedField, VectorField, check_finite,
    check_rate,
};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use serde::Serialize;
use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

/// Normalisation c of the loss L = c·Σ_i (f(x_i) − y_i)² (`docs/theory.md` §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossScale {
    /// c = ½: P1's theory (eqs. 9–10 as printed).
    #[default]
    HalfSum,
    /// c = 1/(2n): issue 6's problem R.
    HalfMean,
    /// c = 1/n: the seed code's `fit_nn_gd` objective (P1 Fig. 1).
    Mean,
}

impl LossScale {
    /// Every scale, in documentation order.
    pub const ALL: [LossScale; 3] = [LossScale::HalfSum, LossScale::HalfMean, LossScale::Mean];
    /// The factor c for n samples.
    pub fn factor(self, n: usize) -> f64 {
        match self {
            LossScale::HalfSum => 0.5,
            LossScale::HalfMean => 0.5 / n as f64,
            LossScale::Mean => 1.0 / n as f64,
        }
    }
    /// Case-file / CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            LossScale::HalfSum => "half-sum",
            LossScale::HalfMean => "half-mean",
            LossScale::Mean => "mean",
        }
    }
}

impl fmt::Display for LossScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LossScale {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LossScale::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ModelError::Shape {
                what: "loss".into(),
                expected: "one of \"half-sum\" (½Σ), \"half-mean\" (1/(2n)Σ), \"mean\" (1/nΣ)".into(),
                found: format!("\"{s}\""),
            })
    }
}

/// Check a leaky slope γ ∈ [0, 1).
///
/// # Errors
/// [`ModelError::Shape`] naming the admissible range.
pub fn check_gamma(gamma: f64) -> Result<f64, ModelError> {
    if gamma.is_finite() && (0.0..1.0).contains(&gamma) {
        Ok(gamma)
    } else {
        Err(ModelError::Shape {
            what: "gamma".into(),
            expected: "a leaky slope 0 ≤ γ < 1 (γ = 0 is ReLU)".into(),
            found: format!("{gamma}"),
        })
    }
}

/// σ(z) = max(z, γz) for 0 ≤ γ < 1.
#[inline(always)]
pub fn sigma(gamma: f64, z: f64) -> f64 {
    if z > 0.0 { z } else { gamma * z }
}

/// The second element-wise pass of the gradient over one neuron's row z_k· (length n): returns
/// ∂L/∂a_k = Σ_i σ(z_ki) g_i (as σ'(z)·z) and overwrites z_ki with e_ki = g_i a_k σ'(z_ki);
/// `slope(i, z)` gives σ'. The sum runs in [`BACKWARD_LANES`] interleaved partial sums (added
/// pairwise at the end), so that the loop does not wait on one add chain (problem R, one
/// thread: gradient 13.79 → 11.53 ms, criterion medians of 2026-12-06).
#[inline(always)]
fn backward_pass(zk: &mut [f64], g: &[f64], ak: f64, slope: impl Fn(usize, f64) -> f64) -> f64 {
    const L: usize = BACKWARD_LANES;
    let n = zk.len();
    let g = &g[..n];
    let mut acc = [0.0f64; L];
    let mut base = 0;
    let mut zc = zk.chunks_exact_mut(L);
    for (zs, gs) in (&mut zc).zip(g.chunks_exact(L)) {
        for l in 0..L {
            let z = zs[l];
            let c = slope(base + l, z);
            acc[l] += c * z * gs[l];
            zs[l] = gs[l] * ak * c;
        }
        base += L;
    }
    let mut tail = 0.0;
    for (l, z) in zc.into_remainder().iter_mut().enumerate() {
        let (i, zv) = (base + l, *z);
        let c = slope(i, zv);
        tail += c * zv * g[i];
        *z = g[i] * ak * c;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The forward element-wise pass of the gradient on a band of Z's rows (all of them, or one
/// per thread: [`PiecewiseLinear::grad_bands`]): f = Σ_k a_k σ(z_k·) over the band, into
/// `f` (zeroed first); σ(z) = σ'(z)·z with σ' from the sign of z (`pattern` `None`, the live
/// pattern) or from a frozen pattern's band (1 on its active entries, γ elsewhere). A pulp
/// operation: `with_simd` is inlined into pulp's `#[target_feature]` entry point, so the loops
/// are compiled for the detected SIMD level (a closure would stay baseline SSE2).
struct ForwardRows<'a> {
    z: &'a [f64],
    f: &'a mut [f64],
    a: &'a [f64],
    pattern: Option<&'a [bool]>,
    gamma: f64,
}

impl pulp::WithSimd for ForwardRows<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let (n, gamma, f) = (self.f.len(), self.gamma, self.f);
        f.iter_mut().for_each(|o| *o = 0.0);
        match self.pattern {
            None => {
                for (zk, &ak) in self.z.chunks_exact(n).zip(self.a) {
                    for (fi, &zi) in f.iter_mut().zip(zk) {
                        *fi += ak * (sigma_prime(gamma, zi) * zi);
                    }
                }
            }
            Some(p) => {
                for ((zk, &ak), pk) in self.z.chunks_exact(n).zip(self.a).zip(p.chunks_exact(n)) {
                    for ((fi, &zi), &on) in f.iter_mut().zip(zk).zip(pk) {
                        *fi += ak * (frozen_slope(on, gamma) * zi);
                    }
                }
            }
        }
    }
}

/// The backward element-wise pass on a band of Z's rows (as [`ForwardRows`]), given
/// g = ∂L/∂f: z_ki ← g_i a_k σ'(z_ki) (E, overwriting Z) and ∂L/∂a_k = Σ_i σ(z_ki) g_i.
struct BackwardRows<'a> {
    z: &'a mut [f64],
    g: &'a [f64],
    ga: &'a mut [f64],
    a: &'a [f64],
    pattern: Option<&'a [bool]>,
    gamma: f64,
}

impl pulp::WithSimd for BackwardRows<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let (n, gamma, g) = (self.g.len(), self.gamma, self.g);
        let rows = self.z.chunks_exact_mut(n).zip(self.a).zip(self.ga.iter_mut());
        match self.pattern {
            None => {
                for ((zk, &ak), gak) in rows {
                    *gak = backward_pass(zk, g, ak, |_, zz| sigma_prime(gamma, zz));
                }
            }
            Some(p) => {
                for (((zk, &ak), gak), pk) in rows.zip(p.chunks_exact(n)) {
                    *gak = backward_pass_frozen(zk, g, pk, ak, gamma);
                }
            }
        }
    }
}

/// f = Σ_k a_k σ(z_k·) for a frozen pattern `p` with the entries of `sl` on their surfaces
/// (σ = 0 there), as a pulp operation (compiled for the detected SIMD level; see
/// [`ForwardRows`]).
struct FrozenOutputs<'a> {
    z: &'a [f64],
    f: &'a mut [f64],
    a: &'a [f64],
    p: &'a [bool],
    sl: &'a [bool],
    gamma: f64,
}

impl pulp::WithSimd for FrozenOutputs<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let (n, gamma, f) = (self.f.len(), self.gamma, self.f);
        f.iter_mut().for_each(|o| *o = 0.0);
        let rows = self.z.chunks_exact(n).zip(self.a).zip(self.p.chunks_exact(n));
        for (((zk, &ak), pk), slk) in rows.zip(self.sl.chunks_exact(n)) {
            for (((fi, &zi), &on), &slide) in f.iter_mut().zip(zk).zip(pk).zip(slk) {
                *fi += ak * (frozen_slope(on, gamma) * zi * f64::from(u8::from(!slide)));
            }
        }
    }
}

/// The entries outside a piece (see [`FrozenPatternFlow::outside_piece`]), as a pulp
/// operation: each block of [`OUTSIDE_BLOCK`] entries is tested with one vectorised OR and
/// scanned only when it holds one (they are few).
struct OutsidePiece<'a> {
    s: &'a [f64],
    p: &'a [bool],
    sl: &'a [bool],
    out: &'a mut Vec<usize>,
}

/// Block length of [`OutsidePiece`].
const OUTSIDE_BLOCK: usize = 256;

impl pulp::WithSimd for OutsidePiece<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        // off the sliding set: (z > 0) ≠ active; on it: slope distance ≤ 0
        let outside = |v: f64, on: bool, slide: bool| (slide & (v <= 0.0)) | (!slide & ((v > 0.0) != on));
        let blocks = self.s.chunks(OUTSIDE_BLOCK).zip(self.p.chunks(OUTSIDE_BLOCK));
        for (b, ((sb, pb), slb)) in blocks.zip(self.sl.chunks(OUTSIDE_BLOCK)).enumerate() {
            let any = sb
                .iter()
                .zip(pb)
                .zip(slb)
                .fold(false, |acc, ((&v, &on), &slide)| acc | outside(v, on, slide));
            if any {
                for (j, ((&v, &on), &slide)) in sb.iter().zip(pb).zip(slb).enumerate() {
                    if outside(v, on, slide) {
                        self.out.push(b * OUTSIDE_BLOCK + j);
                    }
                }
            }
        }
    }
}

/// σ' of a frozen entry, 1 if active, γ if not, written as arithmetic on the flag (γ + (1 − γ)·on,
/// exact for both values) so that the loops over a pattern row vectorise.
#[inline(always)]
fn frozen_slope(on: bool, gamma: f64) -> f64 {
    gamma + (1.0 - gamma) * f64::from(u8::from(on))
}

/// [`backward_pass`] with σ' from a frozen pattern row `pk` (1 where active, γ elsewhere),
/// lane by lane over fixed-size chunks so that no index is bounds-checked.
#[inline(always)]
fn backward_pass_frozen(zk: &mut [f64], g: &[f64], pk: &[bool], ak: f64, gamma: f64) -> f64 {
    const L: usize = BACKWARD_LANES;
    let n = zk.len();
    let (g, pk) = (&g[..n], &pk[..n]);
    let mut acc = [0.0f64; L];
    let mut zc = zk.chunks_exact_mut(L);
    let (gc, pc) = (g.chunks_exact(L), pk.chunks_exact(L));
    let (gr, pr) = (gc.remainder(), pc.remainder());
    for ((zs, gs), ps) in (&mut zc).zip(gc).zip(pc) {
        for l in 0..L {
            let c = frozen_slope(ps[l], gamma);
            let z = zs[l];
            acc[l] += c * z * gs[l];
            zs[l] = gs[l] * ak * c;
        }
    }
    let mut tail = 0.0;
    for ((z, &gv), &on) in zc.into_remainder().iter_mut().zip(gr).zip(pr) {
        let c = frozen_slope(on, gamma);
        tail += c * *z * gv;
        *z = gv * ak * c;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Partial sums of [`backward_pass`] (its final pairwise sum is written for 8).
const BACKWARD_LANES: usize = 8;
const _: () = assert!(BACKWARD_LANES == 8);

/// σ'(z) with the convention σ'(0) = γ.
#[inline(always)]
pub fn sigma_prime(gamma: f64, z: f64) -> f64 {
    if z > 0.0 { 1.0 } else { gamma }
}

/// Z = X·Wᵀ stored as h×n row-major (z[k·n + i] = w_kᵀx_i), by one sequential faer GEMM.
/// `x` is m×d row-major, `w` h×d row-major, `z` has length h·m.
pub fn preactivations_inplace(w: &[f64], h: usize, d: usize, x: &[f64], m: usize, z: &mut [f64]) {
    preactivations_par(w, h, d, x, m, z, Par::Seq);
}

/// [`preactivations_inplace`] with the GEMM's parallelism.
fn preactivations_par(w: &[f64], h: usize, d: usize, x: &[f64], m: usize, z: &mut [f64], par: Par) {
    let dst = MatMut::from_column_major_slice_mut(&mut z[..h * m], m, h);
    let xm = MatRef::from_row_major_slice(&x[..m * d], m, d);
    let wt = MatRef::from_row_major_slice(&w[..h * d], h, d).transpose();
    matmul(dst, Accum::Replace, xm, wt, 1.0, par);
}

/// f(x_j) = Σ_k a_k σ(w_kᵀx_j) for the m rows of `x` (m×d row-major) into `out` (length m);
/// `z` is scratch of length h·m.
#[allow(clippy::too_many_arguments)]
pub fn network_output_inplace(
    w: &[f64],
    a: &[f64],
    gamma: f64,
    d: usize,
    x: &[f64],
    m: usize,
    z: &mut [f64],
    out: &mut [f64],
) {
    let h = a.len();
    preactivations_inplace(w, h, d, x, m, z);
    out[..m].iter_mut().for_each(|o| *o = 0.0);
    for (k, &ak) in a.iter().enumerate() {
        let zk = &z[k * m..(k + 1) * m];
        for (o, &zz) in out.iter_mut().zip(zk) {
            *o += ak * sigma(gamma, zz);
        }
    }
}

/// How the activation pattern is chosen inside a gradient or HVP evaluation.
#[derive(Debug, Clone, Copy)]
enum Pattern<'p> {
    /// c_ki from the sign of w_kᵀx_i (the true, piecewise-smooth flow).
    Live,
    /// c_ki = 1 where the entry (h×n row-major) is true, γ elsewhere.
    Frozen(&'p [bool]),
    /// As `Frozen`, except the entries marked in the second mask slide (Filippov): σ(z_ki) = 0
    /// and c_ki is the equivalent control solved from d(w_kᵀx_j)/dt = 0 for the sliding j.
    Slide(&'p [bool], &'p [bool]),
}

/// Reused buffers (all h×n row-major unless noted).
#[derive(Debug, Clone)]
struct Scratch {
    z: Vec<f64>,
    /// σ(z).
    s: Vec<f64>,
    /// c = σ'(z) (or frozen).
    c: Vec<f64>,
    /// E (h×n) for the W-gradient.
    e: Vec<f64>,
    /// P = XVᵀ for HVPs.
    p: Vec<f64>,
    /// f (n), g = ∂L/∂f (n), q (n).
    f: Vec<f64>,
    g: Vec<f64>,
    q: Vec<f64>,
    /// Unit vector and column buffer for the full Hessian (P).
    unit: Vec<f64>,
    /// Equivalent-control solve: matrix (≤ n×n), right-hand side / Σ_j g_j c_kj x_j (≤ max(n, d)),
    /// sliding indices of one neuron (≤ n). Sized on first use (only sliding flows need them).
    lin: Vec<f64>,
    rhs: Vec<f64>,
    vd: Vec<f64>,
    sidx: Vec<usize>,
    /// The frozen pattern with the sliding entries inactive (h×n; sized on first use).
    active: Vec<bool>,
    /// A failed equivalent-control solve (singular system), reported by the flow.
    fault: Option<String>,
    /// Z kept by [`PiecewiseLinear::preactivations_cached`] and the W it belongs to (sized on
    /// first use): a switched flow evaluates its surfaces at a state and then switches, restarts
    /// and evaluates the gradient at that same state, each of which needs Z.
    zc: Vec<f64>,
    zc_w: Vec<f64>,
    /// Partial f of each neuron band of the multi-threaded gradient (sized on first use).
    fpart: Vec<f64>,
}

/// The two-layer piecewise-linear network with its data (see the module doc).
#[derive(Debug, Clone)]
pub struct PiecewiseLinear {
    x: Vec<f64>,
    y: Vec<f64>,
    n: usize,
    d: usize,
    h: usize,
    gamma: f64,
    eta_a: f64,
    eta_w: f64,
    scale: LossScale,
    c: f64,
    /// Parallelism of the gradient's GEMMs (sequential unless [`PiecewiseLinear::with_threads`]).
    par: Par,
    /// Threads of the gradient (GEMMs and element-wise passes); 1 = sequential.
    threads: usize,
    scratch: RefCell<Scratch>,
}

impl PiecewiseLinear {
    /// Build from X (n×d row-major, flat), y (n), width h ≥ 1, slope γ ∈ [0, 1), rates and the
    /// loss normalisation.
    ///
    /// # Errors
    /// [`ModelError`] for wrong lengths, n, d or h = 0, non-finite data, γ outside [0, 1) or
    /// rates that are not positive.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        x: Vec<f64>,
        n: usize,
        d: usize,
        y: Vec<f64>,
        h: usize,
        gamma: f64,
        eta_a: f64,
        eta_w: f64,
        scale: LossScale,
    ) -> Result<Self, ModelError> {
        if n == 0 || d == 0 || x.len() != n * d {
            return Err(ModelError::Shape {
                what: "x".into(),
                expected: "n×d with n, d ≥ 1".into(),
                found: format!("{} entries for n = {n}, d = {d}", x.len()),
            });
        }
        if y.len() != n {
            return Err(ModelError::Shape {
                what: "y".into(),
                expected: format!("{n} entries (one per row of x)"),
                found: format!("{}", y.len()),
            });
        }
        if h == 0 {
            return Err(ModelError::Shape {
                what: "hidden width h".into(),
                expected: "h ≥ 1".into(),
                found: "0".into(),
            });
        }
        check_finite("x", &x)?;
        check_finite("y", &y)?;
        let gamma = check_gamma(gamma)?;
        let eta_a = check_rate("eta_a", eta_a)?;
        let eta_w = check_rate("eta_w", eta_w)?;
        let hn = h * n;
        let scratch = Scratch {
            z: vec![0.0; hn],
            s: vec![0.0; hn],
            c: vec![0.0; hn],
            e: vec![0.0; hn],
            p: vec![0.0; hn],
            f: vec![0.0; n],
            g: vec![0.0; n],
            q: vec![0.0; n],
            unit: vec![0.0; h * d + h],
            lin: Vec::new(),
            rhs: Vec::new(),
            vd: Vec::new(),
            sidx: Vec::new(),
            active: Vec::new(),
            fault: None,
            zc: Vec::new(),
            zc_w: Vec::new(),
            fpart: Vec::new(),
        };
        Ok(PiecewiseLinear {
            x,
            y,
            n,
            d,
            h,
            gamma,
            eta_a,
            eta_w,
            scale,
            c: scale.factor(n),
            par: Par::Seq,
            threads: 1,
            scratch: RefCell::new(scratch),
        })
    }

    /// Run the gradient on `threads` threads (1 = sequential, the default). For the live and
    /// frozen patterns each thread takes a band of neurons through both GEMMs and both
    /// element-wise passes (two fork-joins per gradient); the sliding path splits its GEMMs
    /// only (faer over rayon). Results are identical up to the
    /// summation order of f's sum over neurons and of the GEMMs (a few ulp).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self.par = if threads <= 1 { Par::Seq } else { Par::rayon(threads) };
        self
    }

    /// [`Self::from_init`] on a case file's decimals (read through f64) and its loss scale.
    ///
    /// # Errors
    /// As [`Self::from_init`]; an unknown `loss`.
    pub fn from_case(c: &crate::case::PiecewiseLinearCase) -> Result<(Self, Vec<f64>), ModelError> {
        use crate::case::{f64_rows, f64_vec};
        let scale: LossScale = c.loss.parse()?;
        Self::from_init(
            &f64_rows(&c.x),
            &f64_vec(&c.y),
            &f64_vec(&c.a0),
            &f64_rows(&c.w0),
            c.gamma.to_f64(),
            c.eta_a.to_f64(),
            c.eta_w.to_f64(),
            scale,
        )
    }

    /// Build from rows of X, y, a0 (h) and W0 (h rows of length d); returns the model and
    /// θ0 = (W0, a0).
    ///
    /// # Errors
    /// [`ModelError`] as in [`PiecewiseLinear::new`], plus shape mismatches between x, a0, w0.
    #[allow(clippy::too_many_arguments)]
    pub fn from_init(
        x: &[Vec<f64>],
        y: &[f64],
        a0: &[f64],
        w0: &[Vec<f64>],
        gamma: f64,
        eta_a: f64,
        eta_w: f64,
        scale: LossScale,
    ) -> Result<(Self, Vec<f64>), ModelError> {
        let (n, d) = check_matrix("x", x)?;
        let (hw, dw) = check_matrix("w0", w0)?;
        if dw != d {
            return Err(ModelError::Shape {
                what: "w0".into(),
                expected: format!("h×{d} (columns = columns of x)"),
                found: format!("{hw}×{dw}"),
            });
        }
        if a0.len() != hw {
            return Err(ModelError::Shape {
                what: "a0".into(),
                expected: format!("{hw} entries (one per row of w0)"),
                found: format!("{}", a0.len()),
            });
        }
        check_finite("a0", a0)?;
        let m = PiecewiseLinear::new(
            x.iter().flatten().copied().collect(),
            n,
            d,
            y.to_vec(),
            hw,
            gamma,
            eta_a,
            eta_w,
            scale,
        )?;
        let mut th: Vec<f64> = w0.iter().flatten().copied().collect();
        check_finite("w0", &th)?;
        th.extend_from_slice(a0);
        Ok((m, th))
    }

    /// Samples n.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input dimension d.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Hidden width h.
    pub fn h(&self) -> usize {
        self.h
    }
    /// Leaky slope γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// η_a.
    pub fn eta_a(&self) -> f64 {
        self.eta_a
    }
    /// η_w.
    pub fn eta_w(&self) -> f64 {
        self.eta_w
    }
    /// The loss normalisation.
    pub fn loss_scale(&self) -> LossScale {
        self.scale
    }
    /// The factor c of L = c·Σ(f − y)².
    pub fn loss_factor(&self) -> f64 {
        self.c
    }
    /// X (n×d row-major).
    pub fn x(&self) -> &[f64] {
        &self.x
    }
    /// y (n).
    pub fn y(&self) -> &[f64] {
        &self.y
    }
    /// W (h×d row-major) inside θ.
    pub fn w<'t>(&self, theta: &'t [f64]) -> &'t [f64] {
        &theta[..self.h * self.d]
    }
    /// a (h) inside θ.
    pub fn a<'t>(&self, theta: &'t [f64]) -> &'t [f64] {
        &theta[self.h * self.d..self.h * self.d + self.h]
    }
    /// Pack W (h×d row-major) and a into θ.
    pub fn pack(&self, w: &[f64], a: &[f64]) -> Vec<f64> {
        let mut th = w.to_vec();
        th.extend_from_slice(a);
        th
    }

    /// Pre-activations z_ki = w_kᵀx_i on the training set, h×n row-major. These are the
    /// switching surfaces: the pattern changes where one of them crosses 0.
    pub fn preactivations_into(&self, theta: &[f64], z: &mut [f64]) {
        preactivations_inplace(self.w(theta), self.h, self.d, &self.x, self.n, z);
    }
    /// [`Self::preactivations_into`], keeping Z for the next evaluations at the same W (the
    /// gradient, the forward pass and this function reuse it instead of repeating the GEMM).
    /// Costs one copy of Z beyond the GEMM; pays when the state is evaluated again.
    pub fn preactivations_cached(&self, theta: &[f64], z: &mut [f64]) {
        let (h, d, n) = (self.h, self.d, self.n);
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        let w = self.w(theta);
        if s.zc_w.as_slice() != w {
            s.zc.resize(h * n, 0.0);
            preactivations_inplace(w, h, d, &self.x, n, &mut s.zc);
            s.zc_w.clear();
            s.zc_w.extend_from_slice(w);
        }
        z[..h * n].copy_from_slice(&s.zc);
    }
    /// Z = X·Wᵀ into `s.z` (h×n), copied from the kept Z when W is the one it belongs to;
    /// otherwise computed, and kept when `keep`.
    fn preactivations_scratch(&self, theta: &[f64], s: &mut Scratch, par: Par, keep: bool) {
        let (h, d, n) = (self.h, self.d, self.n);
        let w = self.w(theta);
        if s.zc_w.as_slice() == w {
            s.z[..h * n].copy_from_slice(&s.zc);
            return;
        }
        preactivations_par(w, h, d, &self.x, n, &mut s.z, par);
        if keep {
            s.zc.clear();
            s.zc.extend_from_slice(&s.z[..h * n]);
            s.zc_w.clear();
            s.zc_w.extend_from_slice(w);
        }
    }
    /// [`Self::preactivations_scratch`] for a pass that overwrites Z (the gradient's): the kept
    /// Z is moved into `s.z`, not copied, and is no longer kept.
    fn preactivations_taken(&self, theta: &[f64], s: &mut Scratch, par: Par) {
        let (h, d, n) = (self.h, self.d, self.n);
        let w = self.w(theta);
        if s.zc_w.as_slice() == w && s.z.len() == s.zc.len() {
            std::mem::swap(&mut s.z, &mut s.zc);
            s.zc_w.clear();
            return;
        }
        preactivations_par(w, h, d, &self.x, n, &mut s.z, par);
    }
    /// [`Self::preactivations_into`], allocating.
    pub fn preactivations(&self, theta: &[f64]) -> Vec<f64> {
        let mut z = vec![0.0; self.h * self.n];
        self.preactivations_into(theta, &mut z);
        z
    }
    /// Activation pattern (h×n row-major): true where w_kᵀx_i > 0.
    pub fn activation_pattern(&self, theta: &[f64]) -> Vec<bool> {
        self.preactivations(theta).iter().map(|&z| z > 0.0).collect()
    }
    /// Activation matrix C (h×n row-major), c_ki = σ'(w_kᵀx_i) ∈ {γ, 1} (σ'(0) = γ).
    pub fn activation_matrix(&self, theta: &[f64]) -> Vec<f64> {
        self.preactivations(theta)
            .iter()
            .map(|&z| sigma_prime(self.gamma, z))
            .collect()
    }
    /// f(x_i) on the training set.
    pub fn outputs(&self, theta: &[f64]) -> Vec<f64> {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        network_output_inplace(
            self.w(theta),
            self.a(theta),
            self.gamma,
            self.d,
            &self.x,
            self.n,
            &mut s.z,
            &mut s.f,
        );
        s.f.clone()
    }
    /// f on other inputs `x` (m×d row-major).
    pub fn predict(&self, theta: &[f64], x: &[f64]) -> Vec<f64> {
        let m = x.len() / self.d;
        let mut z = vec![0.0; self.h * m];
        let mut out = vec![0.0; m];
        network_output_inplace(self.w(theta), self.a(theta), self.gamma, self.d, x, m, &mut z, &mut out);
        out
    }

    /// δ_k = η_w a_k² − η_a‖w_k‖² into `out` (length h).
    pub fn deltas_inplace(&self, theta: &[f64], out: &mut [f64]) {
        let (w, a, d) = (self.w(theta), self.a(theta), self.d);
        for (k, o) in out[..self.h].iter_mut().enumerate() {
            let wn2: f64 = w[k * d..(k + 1) * d].iter().map(|v| v * v).sum();
            *o = self.eta_w * a[k] * a[k] - self.eta_a * wn2;
        }
    }
    /// δ_k for every neuron.
    pub fn deltas(&self, theta: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.h];
        self.deltas_inplace(theta, &mut out);
        out
    }
    /// Scale of δ_k for relative drift: η_w a_k² + η_a‖w_k‖² (each δ_k is a difference of these
    /// two non-negative terms, so its rounding is ~ε times this).
    pub fn delta_scales(&self, theta: &[f64]) -> Vec<f64> {
        let (w, a, d) = (self.w(theta), self.a(theta), self.d);
        (0..self.h)
            .map(|k| {
                let wn2: f64 = w[k * d..(k + 1) * d].iter().map(|v| v * v).sum();
                self.eta_w * a[k] * a[k] + self.eta_a * wn2
            })
            .collect()
    }
    /// max_k |δ_k(θ) − δ_k(θ0)| / (1 + scale_k(θ0)): the relative conservation defect.
    pub fn delta_drift(&self, theta0: &[f64], theta: &[f64]) -> f64 {
        let d0 = self.deltas(theta0);
        let sc = self.delta_scales(theta0);
        let d1 = self.deltas(theta);
        d0.iter()
            .zip(&d1)
            .zip(&sc)
            .map(|((a, b), s)| (a - b).abs() / (1.0 + s))
            .fold(0.0, f64::max)
    }

    /// Forward pass into the scratch: z, s = σ(z), c, f, g = ∂L/∂f, and for a sliding pattern
    /// the equivalent control; returns L.
    fn forward(&self, theta: &[f64], pat: Pattern<'_>, s: &mut Scratch) -> f64 {
        let loss = self.forward_raw(theta, pat, s);
        if let Pattern::Slide(_, sl) = pat {
            if let Err(e) = self.solve_sliding(sl, s) {
                s.fault.get_or_insert(e);
            }
        }
        loss
    }

    /// [`Self::forward`] without the equivalent-control solve (sliding entries keep the slope
    /// of their frozen side in `s.c`; σ = 0 on them all the same).
    fn forward_raw(&self, theta: &[f64], pat: Pattern<'_>, s: &mut Scratch) -> f64 {
        let (n, h) = (self.n, self.h);
        let a = self.a(theta);
        self.preactivations_scratch(theta, s, Par::Seq, false);
        s.f.iter_mut().for_each(|o| *o = 0.0);
        for (k, &ak) in a.iter().enumerate().take(h) {
            let rows = k * n..(k + 1) * n;
            let (zk, sk, ck) = (&s.z[rows.clone()], &mut s.s[rows.clone()], &mut s.c[rows.clone()]);
            match pat {
                Pattern::Live => {
                    for i in 0..n {
                        let c = sigma_prime(self.gamma, zk[i]);
                        ck[i] = c;
                        sk[i] = c * zk[i];
                    }
                }
                Pattern::Frozen(p) => {
                    for (((c, sv), &z), &on) in ck.iter_mut().zip(sk.iter_mut()).zip(zk).zip(&p[rows]) {
                        *c = frozen_slope(on, self.gamma);
                        *sv = *c * z;
                    }
                }
                Pattern::Slide(p, sl) => {
                    let (pk, slk) = (&p[rows.clone()], &sl[rows]);
                    for ((((c, sv), &z), &on), &slide) in ck.iter_mut().zip(sk.iter_mut()).zip(zk).zip(pk).zip(slk) {
                        // on the surface z_ki = 0: σ(z_ki) = 0 exactly (rounding in z ignored);
                        // c_ki is solved below, once g is known.
                        *c = frozen_slope(on, self.gamma);
                        *sv = *c * z * f64::from(u8::from(!slide));
                    }
                }
            }
            for (f, sv) in s.f.iter_mut().zip(sk.iter()) {
                *f += ak * sv;
            }
        }
        let mut loss = 0.0;
        for i in 0..n {
            let r = s.f[i] - self.y[i];
            loss += r * r;
            s.g[i] = 2.0 * self.c * r;
        }
        self.c * loss
    }

    /// Filippov equivalent control (Utkin): for each neuron k with sliding set S_k (entries of
    /// `sliding`), solve Σ_{j∈S_k} g_j (x_iᵀx_j) c_kj = −Σ_{j∉S_k} g_j c_kj (x_iᵀx_j), i ∈ S_k,
    /// i.e. x_iᵀẇ_k = 0 (ẇ_k = −η_w a_k Σ_j g_j c_kj x_j), into `s.c`. f, g and ȧ do not depend
    /// on these c_kj because σ(z_kj) = 0 on the surface. Gaussian elimination with partial
    /// pivoting on preallocated buffers (|S_k| is small; no allocation after the first call).
    ///
    /// # Errors
    /// A message when a system is singular (a residual g_j = 0 or linearly dependent x_j):
    /// the sliding motion is then not unique; the c_kj are set to NaN.
    fn solve_sliding(&self, sliding: &[bool], s: &mut Scratch) -> Result<(), String> {
        let (n, d, h) = (self.n, self.d, self.h);
        if s.sidx.len() < n {
            s.sidx.resize(n, 0);
            s.rhs.resize(n.max(d), 0.0);
            s.vd.resize(d, 0.0);
        }
        let mut result = Ok(());
        for k in 0..h {
            let slk = &sliding[k * n..(k + 1) * n];
            // (a vectorised OR over the row first: most rows have no sliding entry)
            if !slk.iter().fold(false, |acc, &b| acc | b) {
                continue;
            }
            let mut m = 0;
            for (i, &on) in slk.iter().enumerate() {
                if on {
                    s.sidx[m] = i;
                    m += 1;
                }
            }
            if m == 0 {
                continue;
            }
            if s.lin.len() < m * m {
                s.lin.resize(m * m, 0.0);
            }
            // v = Σ_{j∉S} g_j c_kj x_j
            s.vd.iter_mut().for_each(|v| *v = 0.0);
            for (j, _) in slk.iter().enumerate().filter(|(_, on)| !**on) {
                let w = s.g[j] * s.c[k * n + j];
                for (v, xv) in s.vd.iter_mut().zip(&self.x[j * d..(j + 1) * d]) {
                    *v += w * xv;
                }
            }
            let mut amax: f64 = 0.0;
            for r in 0..m {
                let xi = &self.x[s.sidx[r] * d..(s.sidx[r] + 1) * d];
                s.rhs[r] = -xi.iter().zip(&s.vd).map(|(p, q)| p * q).sum::<f64>();
                for q in 0..m {
                    let j = s.sidx[q];
                    let xj = &self.x[j * d..(j + 1) * d];
                    let v = s.g[j] * xi.iter().zip(xj).map(|(p, q)| p * q).sum::<f64>();
                    s.lin[r * m + q] = v;
                    amax = amax.max(v.abs());
                }
            }
            match gauss_solve(&mut s.lin[..m * m], &mut s.rhs[..m], m, amax) {
                Ok(()) => {
                    for r in 0..m {
                        s.c[k * n + s.sidx[r]] = s.rhs[r];
                    }
                }
                Err(piv) => {
                    for r in 0..m {
                        s.c[k * n + s.sidx[r]] = f64::NAN;
                    }
                    if result.is_ok() {
                        let set: Vec<usize> = s.sidx[..m].to_vec();
                        result = Err(format!(
                            "sliding on neuron {k} along samples {set:?}: the equivalent-control system \
                             Σ_j g_j (x_iᵀx_j) c_kj = −Σ_(j∉S) g_j c_kj (x_iᵀx_j) is singular (pivot {piv:.2e} of \
                             max entry {amax:.2e}: a residual g_j = 0 or linearly dependent inputs), so the \
                             Filippov sliding motion is not unique; integrate with --events off or perturb the data"
                        ));
                    }
                }
            }
        }
        result
    }

    /// Gradient given the forward pass in `s` (the sliding pattern's path; the others take the
    /// fused [`Self::grad_pattern`]).
    fn backward(&self, theta: &[f64], grad: &mut [f64], s: &mut Scratch) {
        let (n, h, d) = (self.n, self.h, self.d);
        let a = self.a(theta);
        let (gw, ga) = grad.split_at_mut(h * d);
        for k in 0..h {
            let rows = k * n..(k + 1) * n;
            let (sk, ck, ek) = (&s.s[rows.clone()], &s.c[rows.clone()], &mut s.e[rows]);
            let ak = a[k];
            let mut acc = 0.0;
            for (((e, &sv), &c), &g) in ek.iter_mut().zip(sk).zip(ck).zip(&s.g[..n]) {
                acc += sv * g;
                *e = g * ak * c;
            }
            ga[k] = acc;
        }
        // ∇_W L = E X, E h×n row-major.
        let dst = MatMut::from_row_major_slice_mut(gw, h, d);
        let em = MatRef::from_row_major_slice(&s.e, h, n);
        let xm = MatRef::from_row_major_slice(&self.x, n, d);
        matmul(dst, Accum::Replace, em, xm, 1.0, Par::Seq);
    }

    /// L and ∇L in two GEMMs and two fused element-wise passes over Z (h×n): the first forms
    /// f = Σ_k a_k σ(z_k·), the second overwrites Z in place with E (e_ki = g_i a_k σ'(z_ki))
    /// while accumulating ∂L/∂a_k = Σ_i σ(z_ki) g_i. Only Z is touched (no σ or σ' arrays), so
    /// the element-wise work streams one h·n array twice instead of six times (problem R: the
    /// two GEMMs are 4e8 flop, the element-wise part 1e6 entries per pass).
    fn grad_pattern(&self, theta: &[f64], pat: Pattern<'_>, grad: &mut [f64]) -> f64 {
        self.grad_pattern_rec(theta, pat, grad, None)
    }

    /// [`Self::grad_pattern`], optionally recording the live signs (z_ki > 0, h×n row-major) and
    /// g = ∂L/∂f (n) of this evaluation.
    fn grad_pattern_rec(
        &self,
        theta: &[f64],
        pat: Pattern<'_>,
        grad: &mut [f64],
        rec: Option<(&mut [bool], &mut [f64])>,
    ) -> f64 {
        let (n, h, d) = (self.n, self.h, self.d);
        let gamma = self.gamma;
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        match pat {
            Pattern::Live | Pattern::Frozen(_) => {}
            Pattern::Slide(..) if gamma != 0.0 => {
                // Sliding entries need g before their slopes (equivalent control), so σ and σ'
                // are kept as arrays: forward, solve, backward.
                let l = self.forward(theta, pat, s);
                self.backward(theta, grad, s);
                return l;
            }
            Pattern::Slide(p, sl) => return self.grad_sliding_relu(theta, p, sl, grad, s),
        };
        let pattern = match pat {
            Pattern::Frozen(p) => Some(p),
            _ => None,
        };
        if self.threads > 1 {
            return self.grad_bands(theta, pattern, grad, rec, s);
        }
        let a = self.a(theta);
        self.preactivations_taken(theta, s, self.par);
        let mut rec = rec;
        if let Some((signs, _)) = rec.as_mut() {
            signs.iter_mut().zip(&s.z[..h * n]).for_each(|(o, z)| *o = *z > 0.0);
        }
        let (gw, ga) = grad.split_at_mut(h * d);
        let loss = self.elementwise(a, pattern, ga, s);
        if let Some((_, gout)) = rec {
            gout.copy_from_slice(&s.g[..n]);
        }
        // ∇_W L = E X, E h×n row-major (now in the Z buffer).
        let dst = MatMut::from_row_major_slice_mut(gw, h, d);
        let em = MatRef::from_row_major_slice(&s.z, h, n);
        let xm = MatRef::from_row_major_slice(&self.x, n, d);
        matmul(dst, Accum::Replace, em, xm, 1.0, self.par);
        self.c * loss
    }

    /// [`Self::grad_pattern_rec`] on `self.threads` threads: each thread takes a band of the
    /// neurons (rows of W, Z and E) through both halves of the gradient — its rows of Z by a
    /// GEMM (or the kept Z), its partial f; then, after f and g are formed in order, its
    /// backward pass and its rows of ∇_W L by a second GEMM — so a band's Z is produced and
    /// consumed on one core, and a gradient costs two fork-joins instead of four.
    fn grad_bands(
        &self,
        theta: &[f64],
        pattern: Option<&[bool]>,
        grad: &mut [f64],
        mut rec: Option<(&mut [bool], &mut [f64])>,
        s: &mut Scratch,
    ) -> f64 {
        let (n, h, d, gamma) = (self.n, self.h, self.d, self.gamma);
        let (w, a, x) = (self.w(theta), self.a(theta), &self.x[..n * d]);
        let kept = s.zc_w.as_slice() == w && s.z.len() == s.zc.len();
        if kept {
            std::mem::swap(&mut s.z, &mut s.zc);
            s.zc_w.clear();
        }
        let band = h.div_ceil(self.threads);
        let parts = h.div_ceil(band);
        s.fpart.resize(parts * n, 0.0);
        let rows = |b: usize| b * band..((b + 1) * band).min(h);
        let pat = |b: usize| pattern.map(|p| &p[rows(b).start * n..rows(b).end * n]);
        // (rayon's indexed iterators split by join: no job is boxed, nothing allocated)
        let (z, fpart) = (&mut s.z[..h * n], &mut s.fpart);
        z.par_chunks_mut(band * n)
            .zip(fpart.par_chunks_mut(n))
            .enumerate()
            .for_each(|(b, (zb, fb))| {
                let r = rows(b);
                if !kept {
                    preactivations_inplace(&w[r.start * d..r.end * d], r.len(), d, x, n, zb);
                }
                pulp::Arch::new().dispatch(ForwardRows {
                    z: zb,
                    f: fb,
                    a: &a[r],
                    pattern: pat(b),
                    gamma,
                });
            });
        if let Some((signs, _)) = rec.as_mut() {
            signs.iter_mut().zip(&s.z[..h * n]).for_each(|(o, z)| *o = *z > 0.0);
        }
        let f = &mut s.f[..n];
        f.copy_from_slice(&s.fpart[..n]);
        for fb in s.fpart[n..parts * n].chunks(n) {
            f.iter_mut().zip(fb).for_each(|(o, v)| *o += v);
        }
        let loss = self.residual(s);
        if let Some((_, gout)) = rec {
            gout.copy_from_slice(&s.g[..n]);
        }
        let (gw, ga) = grad.split_at_mut(h * d);
        let (z, g) = (&mut s.z[..h * n], &s.g[..n]);
        z.par_chunks_mut(band * n)
            .zip(ga.par_chunks_mut(band))
            .zip(gw.par_chunks_mut(band * d))
            .enumerate()
            .for_each(|(b, ((zb, gab), gwb))| {
                let r = rows(b);
                let m = r.len();
                pulp::Arch::new().dispatch(BackwardRows {
                    z: &mut *zb,
                    g,
                    ga: gab,
                    a: &a[r],
                    pattern: pat(b),
                    gamma,
                });
                // its rows of ∇_W L = E X
                let dst = MatMut::from_row_major_slice_mut(gwb, m, d);
                let em = MatRef::from_row_major_slice(zb, m, n);
                let xm = MatRef::from_row_major_slice(x, n, d);
                matmul(dst, Accum::Replace, em, xm, 1.0, Par::Seq);
            });
        self.c * loss
    }

    /// g = 2c(f − y) into `s.g` from f in `s.f`; returns Σ(f − y)².
    fn residual(&self, s: &mut Scratch) -> f64 {
        let n = self.n;
        let mut loss = 0.0;
        for ((gi, &fi), &yi) in s.g[..n].iter_mut().zip(&s.f[..n]).zip(&self.y[..n]) {
            let r = fi - yi;
            loss += r * r;
            *gi = 2.0 * self.c * r;
        }
        loss
    }

    /// The element-wise part of the gradient, from Z in `s.z`: f = Σ_k a_k σ(z_k·) into `s.f`,
    /// g = 2c(f − y) into `s.g`, ∂L/∂a_k into `ga`, and E (e_ki = g_i a_k σ'(z_ki)) over Z;
    /// returns Σ(f − y)². Only Z is touched (no σ or σ' arrays), streamed twice. Sequential
    /// (the multi-threaded gradient splits these passes by neuron bands, [`Self::grad_bands`]).
    fn elementwise(&self, a: &[f64], pattern: Option<&[bool]>, ga: &mut [f64], s: &mut Scratch) -> f64 {
        let (n, h, gamma) = (self.n, self.h, self.gamma);
        let z = &mut s.z[..h * n];
        let f = &mut s.f[..n];
        pulp::Arch::new().dispatch(ForwardRows {
            z,
            f,
            a,
            pattern,
            gamma,
        });
        let loss = self.residual(s);
        let (z, g) = (&mut s.z[..h * n], &s.g[..n]);
        pulp::Arch::new().dispatch(BackwardRows {
            z,
            g,
            ga,
            a,
            pattern,
            gamma,
        });
        loss
    }

    /// The equivalent controls of the sliding entries at γ = 0 into `s.c` (g in `s.g`): the rows
    /// with sliding entries get their frozen slopes first (`solve_sliding` reads the others'),
    /// a failed solve is kept as the flow's fault.
    fn solve_sliding_relu(&self, p: &[bool], sl: &[bool], s: &mut Scratch) {
        let n = self.n;
        for k in 0..self.h {
            let rows = k * n..(k + 1) * n;
            if sl[rows.clone()].iter().fold(false, |acc, &b| acc | b) {
                s.c[rows.clone()]
                    .iter_mut()
                    .zip(&p[rows])
                    .for_each(|(c, &on)| *c = frozen_slope(on, 0.0));
            }
        }
        if let Err(e) = self.solve_sliding(sl, s) {
            s.fault.get_or_insert(e);
        }
    }

    /// Z and, for the rows with sliding entries, the slopes C (frozen off the sliding set, the
    /// equivalent controls on it) for γ = 0: what [`Self::forward`] leaves in `s.z` and `s.c`
    /// on those rows, without its σ and σ' arrays (f needs σ = 0 on sliding entries, which the
    /// pattern with them inactive gives when γ = 0).
    fn sliding_slopes_relu(&self, theta: &[f64], p: &[bool], sl: &[bool], s: &mut Scratch) {
        self.outputs_frozen(theta, p, sl, s, true);
        self.solve_sliding_relu(p, sl, s);
    }

    /// Z into `s.z` ([`Self::preactivations_scratch`], kept when `keep`), then f = Σ_k a_k σ(z_k·)
    /// and g = ∂L/∂f into `s.f`, `s.g` for the frozen pattern `p` with the entries of `sl` on
    /// their surfaces (σ = 0 there, whatever their side): [`Self::forward_raw`]'s f and g
    /// (same rounding) without its σ and σ′ arrays.
    fn outputs_frozen(&self, theta: &[f64], p: &[bool], sl: &[bool], s: &mut Scratch, keep: bool) {
        let (n, h, gamma) = (self.n, self.h, self.gamma);
        let a = self.a(theta);
        self.preactivations_scratch(theta, s, Par::Seq, keep);
        let f = &mut s.f[..n];
        pulp::Arch::new().dispatch(FrozenOutputs {
            z: &s.z[..h * n],
            f: &mut *f,
            a: &a[..h],
            p: &p[..h * n],
            sl: &sl[..h * n],
            gamma,
        });
        for ((g, &fi), &yi) in s.g[..n].iter_mut().zip(f.iter()).zip(&self.y[..n]) {
            *g = 2.0 * self.c * (fi - yi);
        }
    }

    /// ∇L with sliding entries for γ = 0: σ(z) = 0 on a sliding entry, which is what an
    /// inactive entry gives when γ = 0, so the fused frozen pass with the sliding entries taken
    /// as inactive computes f, g, ∂L/∂a and E exactly except E on the sliding entries; those
    /// are patched with the solved equivalent controls (`solve_sliding`, which needs the frozen
    /// slopes of the sliding neurons' rows only) before the GEMM E·X. Same values as
    /// forward + backward, in one streaming pass over Z instead of five.
    fn grad_sliding_relu(&self, theta: &[f64], p: &[bool], sl: &[bool], grad: &mut [f64], s: &mut Scratch) -> f64 {
        let (n, h, d) = (self.n, self.h, self.d);
        let a = self.a(theta);
        self.preactivations_taken(theta, s, self.par);
        s.active.resize(h * n, false);
        s.active
            .iter_mut()
            .zip(p)
            .zip(sl)
            .for_each(|((o, &on), &slide)| *o = on & !slide);
        let (gw, ga) = grad.split_at_mut(h * d);
        // (γ = 0 here: the sliding entries taken as inactive have σ = σ' = 0)
        let active = std::mem::take(&mut s.active);
        let loss = self.elementwise(a, Some(&active), ga, s);
        s.active = active;
        self.solve_sliding_relu(p, sl, s);
        for (j, _) in sl.iter().enumerate().filter(|(_, on)| **on) {
            let (k, i) = (j / n, j % n);
            s.z[j] = s.g[i] * a[k] * s.c[j];
        }
        let dst = MatMut::from_row_major_slice_mut(gw, h, d);
        let em = MatRef::from_row_major_slice(&s.z[..h * n], h, n);
        let xm = MatRef::from_row_major_slice(&self.x, n, d);
        matmul(dst, Accum::Replace, em, xm, 1.0, self.par);
        self.c * loss
    }

    /// L(θ) and ∇L(θ) in one pass (no allocation).
    pub fn loss_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        self.grad_pattern(theta, Pattern::Live, grad)
    }

    /// L(θ) and ∇L(θ) (live pattern) recording, for the jump-corrected integrators of
    /// `flow::kinks`, the signs z_ki > 0 (h×n row-major, the activation pattern this evaluation
    /// used) and g = ∂L/∂f (n). Costs one pass over Z more than [`Self::loss_grad`].
    ///
    /// # Panics
    /// If `signs` is not h·n long or `g` not n long.
    pub fn loss_grad_recording(&self, theta: &[f64], grad: &mut [f64], signs: &mut [bool], g: &mut [f64]) -> f64 {
        assert!(
            signs.len() == self.h * self.n && g.len() == self.n,
            "loss_grad_recording: buffers of length h·n and n"
        );
        self.grad_pattern_rec(theta, Pattern::Live, grad, Some((signs, g)))
    }

    /// ∇L with the activation pattern frozen to `pattern` (h×n row-major, true = slope 1): the
    /// gradient of the polynomial that equals L on that pattern's region.
    pub fn grad_frozen(&self, theta: &[f64], pattern: &[bool], grad: &mut [f64]) -> f64 {
        self.grad_pattern(theta, Pattern::Frozen(pattern), grad)
    }

    /// ∇²L·v with the given pattern; the forward pass must be in `s`.
    fn hvp_prepared(&self, theta: &[f64], v: &[f64], out: &mut [f64], s: &mut Scratch) {
        let (n, h, d) = (self.n, self.h, self.d);
        let a = self.a(theta);
        let (vw, u) = v.split_at(h * d);
        preactivations_inplace(vw, h, d, &self.x, n, &mut s.p);
        // df_i = Σ_k u_k s_ki + a_k c_ki p_ki ; q = 2c df
        s.q.iter_mut().for_each(|o| *o = 0.0);
        for k in 0..h {
            let rows = k * n..(k + 1) * n;
            let (sk, ck, pk) = (&s.s[rows.clone()], &s.c[rows.clone()], &s.p[rows]);
            for i in 0..n {
                s.q[i] += u[k] * sk[i] + a[k] * ck[i] * pk[i];
            }
        }
        s.q.iter_mut().for_each(|o| *o *= 2.0 * self.c);
        let (ow, oa) = out.split_at_mut(h * d);
        for k in 0..h {
            let rows = k * n..(k + 1) * n;
            let (sk, ck, pk, ek) = (
                &s.s[rows.clone()],
                &s.c[rows.clone()],
                &s.p[rows.clone()],
                &mut s.e[rows],
            );
            let mut acc = 0.0;
            for i in 0..n {
                acc += s.q[i] * sk[i] + s.g[i] * ck[i] * pk[i];
                ek[i] = (s.q[i] * a[k] + s.g[i] * u[k]) * ck[i];
            }
            oa[k] = acc;
        }
        let dst = MatMut::from_row_major_slice_mut(ow, h, d);
        let em = MatRef::from_row_major_slice(&s.e, h, n);
        let xm = MatRef::from_row_major_slice(&self.x, n, d);
        matmul(dst, Accum::Replace, em, xm, 1.0, Par::Seq);
    }

    fn hvp_pattern(&self, theta: &[f64], pat: Pattern<'_>, v: &[f64], out: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.forward(theta, pat, s);
        self.hvp_prepared(theta, v, out, s);
    }

    /// ∇²L·v with the pattern frozen (see [`Self::grad_frozen`]).
    pub fn hvp_frozen(&self, theta: &[f64], pattern: &[bool], v: &[f64], out: &mut [f64]) {
        self.hvp_pattern(theta, Pattern::Frozen(pattern), v, out)
    }

    /// Full Hessian (column-major P×P) by P Hessian-vector products. Small problems only: it
    /// is P² numbers (81 GB for problem R).
    fn hessian_pattern(&self, theta: &[f64], pat: Pattern<'_>, hess: &mut [f64]) {
        let p = self.n_params();
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.forward(theta, pat, s);
        let mut unit = std::mem::take(&mut s.unit);
        unit.iter_mut().for_each(|u| *u = 0.0);
        for j in 0..p {
            unit[j] = 1.0;
            self.hvp_prepared(theta, &unit, &mut hess[j * p..(j + 1) * p], s);
            unit[j] = 0.0;
        }
        s.unit = unit;
    }

    /// ξ_k = Σ_i c_ki x_i g_i (h×d row-major), g = ∂L/∂f (eq. 9 of P1 with this loss scale).
    pub fn xi(&self, theta: &[f64]) -> Vec<f64> {
        let (n, h, d) = (self.n, self.h, self.d);
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.forward(theta, Pattern::Live, s);
        for k in 0..h {
            for i in 0..n {
                s.e[k * n + i] = s.g[i] * s.c[k * n + i];
            }
        }
        let mut out = vec![0.0; h * d];
        let dst = MatMut::from_row_major_slice_mut(&mut out, h, d);
        matmul(
            dst,
            Accum::Replace,
            MatRef::from_row_major_slice(&s.e, h, n),
            MatRef::from_row_major_slice(&self.x, n, d),
            1.0,
            Par::Seq,
        );
        out
    }

    /// β_k = a_k w_k (h×d row-major).
    pub fn betas(&self, theta: &[f64]) -> Vec<f64> {
        let (w, a, d) = (self.w(theta), self.a(theta), self.d);
        (0..self.h * d).map(|j| a[j / d] * w[j]).collect()
    }

    /// P1 eq. (9): β̇_k = −M_k ξ_k with M_k = η_w a_k² I + η_a w_k w_kᵀ (h×d row-major).
    pub fn beta_dot_eq9(&self, theta: &[f64]) -> Vec<f64> {
        let (w, a, d) = (self.w(theta), self.a(theta), self.d);
        let xi = self.xi(theta);
        let mut out = vec![0.0; self.h * d];
        for k in 0..self.h {
            let wk = &w[k * d..(k + 1) * d];
            let xk = &xi[k * d..(k + 1) * d];
            let wx: f64 = wk.iter().zip(xk).map(|(p, q)| p * q).sum();
            for j in 0..d {
                out[k * d + j] = -(self.eta_w * a[k] * a[k] * xk[j] + self.eta_a * wk[j] * wx);
            }
        }
        out
    }

    /// Signed spherical coordinates (μ_k = a_k‖w_k‖, β̂_k = w_k/‖w_k‖): the state of
    /// [`SphericalFlow`], laid out (μ (h), β̂ (h×d row-major)).
    pub fn to_spherical(&self, theta: &[f64]) -> Vec<f64> {
        let (w, a, d, h) = (self.w(theta), self.a(theta), self.d, self.h);
        let mut out = vec![0.0; h + h * d];
        for k in 0..h {
            let wk = &w[k * d..(k + 1) * d];
            let nrm = wk.iter().map(|v| v * v).sum::<f64>().sqrt();
            out[k] = a[k] * nrm;
            for j in 0..d {
                out[h + k * d + j] = wk[j] / nrm;
            }
        }
        out
    }
}

impl GradientFlowModel for PiecewiseLinear {
    fn n_params(&self) -> usize {
        self.h * self.d + self.h
    }
    fn rate(&self, i: usize) -> f64 {
        if i < self.h * self.d { self.eta_w } else { self.eta_a }
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        let mut s = self.scratch.borrow_mut();
        self.forward(theta, Pattern::Live, &mut s)
    }
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]) {
        self.grad_pattern(theta, Pattern::Live, grad);
    }
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]) {
        self.hessian_pattern(theta, Pattern::Live, hess)
    }
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        self.hvp_pattern(theta, Pattern::Live, v, out)
    }
}

impl PiecewiseLinear {
    /// The top eigenpair of the output layer's block of the flow Jacobian, −η_a·∂²L/∂a² =
    /// −η_a·2c·ΦΦᵀ with Φ = σ(WX) (h×n features; L = c·Σ_i r_i²; exact, since f is linear in
    /// a), by power iteration warm-started from `v` (length h; all zeros or empty → the
    /// feature-mean direction Φ·1). Returns μ = η_a·2c·λ_max(ΦΦᵀ) and leaves the unit vector
    /// in `v`. Stops when μ changes by < 1e-6 relatively (at most `max_iter` iterations).
    ///
    /// Why this block: with many neurons the features share a mean of order one, so ΦΦᵀ has
    /// one eigenvalue ≈ h·E[σ(z)]² far above the rest. On problem R (h = 1000) it is 160.19,
    /// the full Hessian's top eigenvalue (HVP power iteration), and removing it leaves a
    /// spectral radius of 5.40 (measured at t = 0, 2 and 10 along the flow). Cost: one
    /// h×d×n product for Φ plus 4hn flop per iteration (each ≈ ½% of a gradient).
    pub fn output_top_mode(&self, theta: &[f64], v: &mut Vec<f64>, max_iter: usize) -> f64 {
        let (n, h, d) = (self.n, self.h, self.d);
        let mut sc = self.scratch.borrow_mut();
        let s = &mut *sc;
        preactivations_par(self.w(theta), h, d, &self.x, n, &mut s.z, self.par);
        let gamma = self.gamma;
        s.z.iter_mut().for_each(|z| *z = sigma(gamma, *z));
        let phi = &s.z;
        if v.len() != h || v.iter().all(|x| *x == 0.0) {
            v.clear();
            v.extend((0..h).map(|k| phi[k * n..(k + 1) * n].iter().sum::<f64>()));
        }
        let scale = self.eta_a * 2.0 * self.c;
        let mut u = vec![0.0; h];
        let mut mu = f64::NAN;
        for _ in 0..max_iter.max(1) {
            let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if !(nv > 0.0 && nv.is_finite()) {
                return 0.0;
            }
            v.iter_mut().for_each(|x| *x /= nv);
            // q = Φᵀv, u = Φq
            s.q.iter_mut().for_each(|x| *x = 0.0);
            for (k, &vk) in v.iter().enumerate() {
                for (q, p) in s.q.iter_mut().zip(&phi[k * n..(k + 1) * n]) {
                    *q += vk * p;
                }
            }
            for (k, uk) in u.iter_mut().enumerate() {
                *uk = phi[k * n..(k + 1) * n].iter().zip(&s.q).map(|(p, q)| p * q).sum();
            }
            let new = scale * v.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>();
            std::mem::swap(v, &mut u);
            let done = (new - mu).abs() <= 1e-6 * new.abs();
            mu = new;
            if done {
                break;
            }
        }
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= nv);
        mu
    }
}

impl PiecewiseLinear {
    /// Run `body` with a Hessian-vector product ∇²L(θ)·v → out at a fixed θ (live pattern): the
    /// forward pass is done once, so each product costs two GEMMs (one gradient) instead of
    /// three. For Krylov methods (Lanczos) that need many products at one point.
    pub fn with_hvp_at<R>(&self, theta: &[f64], body: impl FnOnce(&mut dyn FnMut(&[f64], &mut [f64])) -> R) -> R {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.forward(theta, Pattern::Live, s);
        let mut hvp = |v: &[f64], out: &mut [f64]| self.hvp_prepared(theta, v, out, s);
        body(&mut hvp)
    }
}

/// Largest number of implicit modes [`StiffSplit::stiff_modes_above`] returns for the ReLU
/// flow: the IMEX stage solve costs 4·P flop per mode (≈ 0.1 % of a gradient each on
/// problem R), the Lanczos basis P·8 bytes per vector.
pub const MAX_IMPLICIT_MODES: usize = 64;

/// Stiff mode of the plain parameter flow (activation pattern live): the output layer's top
/// mode ([`PiecewiseLinear::output_top_mode`]), embedded in θ = (W, a) with zeros on W.
///
/// [`StiffSplit::stiff_modes_above`]: every Hessian mode with η·λ ≥ `cut`, by Lanczos with
/// Hessian-vector products at θ ([`crate::num::lanczos::lanczos_top`], warm-started from the
/// previous modes), at most [`MAX_IMPLICIT_MODES`]. Needs η_a = η_w (then −∂F/∂y = η∇²L is
/// symmetric); with unequal rates it falls back to the rank-one output-layer mode, no estimate.
impl StiffSplit for ParameterFlow<'_, PiecewiseLinear> {
    fn stiff_modes_above(&self, y: &[f64], cut: f64, modes: &mut StiffModes) -> Option<f64> {
        let m = self.0;
        if m.eta_a != m.eta_w || cut.is_nan() || cut <= 0.0 {
            self.stiff_modes(y, modes);
            return None;
        }
        let eta = m.eta_a;
        let p = m.n_params();
        let k_prev = modes.v.len();
        // Start: the previous modes weighted by their rates plus the output layer's feature-mean
        // direction (the rank-one mode's seed), so the known stiff subspace is found first.
        let mut start = vec![0.0; p];
        for (v, mu) in modes.v.iter().zip(&modes.mu) {
            if v.len() == p {
                start
                    .iter_mut()
                    .zip(v)
                    .for_each(|(s, vi)| *s += mu.sqrt().max(1.0) * vi);
            }
        }
        if k_prev == 0 {
            let mut a = Vec::new();
            m.output_top_mode(y, &mut a, 1);
            start[m.h * m.d..].copy_from_slice(&a);
        }
        // Enough steps to resolve the k_prev known modes and a few more.
        let steps = (2 * k_prev + 16).min(2 * MAX_IMPLICIT_MODES).min(p);
        let ritz = m.with_hvp_at(y, |hvp| {
            crate::num::lanczos::lanczos_top(
                |v, o| {
                    hvp(v, o);
                    o.iter_mut().for_each(|x| *x *= eta);
                },
                p,
                &start,
                steps,
                |v| v >= cut,
            )
        });
        Some(modes.take_ritz(ritz, cut, MAX_IMPLICIT_MODES))
    }

    fn stiff_modes(&self, y: &[f64], modes: &mut StiffModes) {
        let m = self.0;
        let hd = m.h * m.d;
        let mut v: Vec<f64> = modes.v.first().map(|v| v[hd..].to_vec()).unwrap_or_default();
        let mu = m.output_top_mode(y, &mut v, 50);
        let mut full = vec![0.0; hd + m.h];
        full[hd..].copy_from_slice(&v);
        modes.mu = vec![mu];
        modes.v = vec![full];
    }
}

/// The parameter flow θ̇ = −η ⊙ ∇L(θ) with the activation pattern frozen (a smooth polynomial
/// vector field), plus Filippov sliding: entries (k, i) marked sliding stay on their surface
/// z_ki = w_kᵀx_i = 0 with the equivalent-control slope c_ki ∈ [γ, 1] (see
/// [`SwitchedField::switch`] below for entry and exit, `flow::integrate_switched` for the
/// integration). [`FrozenPatternFlow::set_pattern_from`] re-freezes it at a state.
///
/// **Sliding (derivation).** On z_ki = 0, σ(z_ki) = 0 whatever the slope, so f, the residual g
/// and ȧ_k = −η_a Σ_j g_j σ(z_kj) do not depend on c_ki (any Clarke subgradient c ∈ [γ, 1]);
/// only ẇ_k = −η_w a_k Σ_j g_j c_kj x_j does, affinely. Hence the Filippov set (convex hull of
/// the one-sided fields) is {F(c) : c ∈ [γ, 1]^S}, and holding z_kj = 0 for the sliding set S_k
/// (ż_ki = x_iᵀẇ_k = 0) gives the linear system Σ_{j∈S_k} g_j (x_iᵀx_j) c_kj =
/// −Σ_{j∉S_k} g_j c_kj (x_iᵀx_j), i ∈ S_k (Utkin's equivalent control; independent of a_k).
/// δ_k stays conserved: dδ_k/dt = 2η_w a_k ȧ_k − 2η_a w_kᵀẇ_k =
/// −2η_aη_w a_k Σ_j g_j (σ(z_kj) − c_kj z_kj) = 0, because σ(z) = c·z off the surface and both
/// terms vanish on it (z_kj = 0), for every c_kj ∈ [γ, 1] — indeed for any c.
///
/// **Choosing the sliding set.** A neuron's on-surface samples C (those sliding, the event's
/// sample, and any whose frozen side disagrees with the sign of z) are coupled through ẇ_k, so
/// their modes are one decision: each i ∈ C is inactive (c_ki = γ, ż_ki ≤ 0), active (c_ki = 1,
/// ż_ki ≥ 0) or sliding (c_ki ∈ [γ, 1], ż_ki = 0), with ż_ki affine in the slopes c_kC. That is a
/// box-constrained linear complementarity problem with matrix sgn(a_k)·G_CC·diag(g_C)
/// (G = XXᵀ), solved by `resolve_neuron` with [`super::box_lcp::BoxLcp`]. A rule that decides one
/// sample at a time can pick an inconsistent set: releasing the sample whose equivalent control
/// is furthest outside [γ, 1] first may leave it active with ż < 0 (unit test
/// `complementarity_choice_matches_brute_force` in `tests/it/piecewise_linear.rs`).
///
/// The Jacobian on a sliding piece holds the solved c at its current value (it neglects
/// ∂c/∂θ): implicit methods then run Newton with an approximate Jacobian (accuracy is set by
/// their error test, not by the Jacobian).
#[derive(Debug)]
pub struct FrozenPatternFlow<'m> {
    model: &'m PiecewiseLinear,
    pattern: RefCell<Vec<bool>>,
    sliding: RefCell<Vec<bool>>,
    segments: std::cell::Cell<usize>,
    fault: RefCell<Option<String>>,
    modes: RefCell<ModeScratch>,
}

/// Buffers of the per-event mode choice (`FrozenPatternFlow::resolve_neuron`): candidate
/// samples of one neuron, the complementarity matrix and vector, the first guess, and the
/// disagreeing entries of the other neurons. Grown on first use, reused afterwards.
#[derive(Debug, Default)]
struct ModeScratch {
    cand: Vec<usize>,
    mat: Vec<f64>,
    q: Vec<f64>,
    start: Vec<BoxMode>,
    others: Vec<usize>,
    chol: Vec<f64>,
    /// Per candidate: g_i, b_i; candidates with g_i ≠ 0 (positions in `cand`) and their first
    /// guess.
    gc: Vec<f64>,
    bc: Vec<f64>,
    act: Vec<usize>,
    sub_start: Vec<BoxMode>,
    lcp: BoxLcp,
}

/// Whether the symmetric m×m row-major `a` (overwritten) is positive definite beyond rounding:
/// Cholesky pivots above 1e-12 of the largest diagonal entry (the same singularity scale as
/// [`gauss_solve`]).
fn positive_definite(a: &mut [f64], m: usize) -> bool {
    let dmax = (0..m).map(|i| a[i * m + i]).fold(0.0, f64::max);
    for j in 0..m {
        let mut piv = a[j * m + j];
        for l in 0..j {
            piv -= a[j * m + l] * a[j * m + l];
        }
        // also false for NaN
        if piv.is_nan() || piv <= 1e-12 * dmax {
            return false;
        }
        let piv = piv.sqrt();
        a[j * m + j] = piv;
        for i in j + 1..m {
            let mut v = a[i * m + j];
            for l in 0..j {
                v -= a[i * m + l] * a[j * m + l];
            }
            a[i * m + j] = v / piv;
        }
    }
    true
}

impl<'m> FrozenPatternFlow<'m> {
    /// Frozen at the pattern of θ. Entries with z_ki = 0 exactly (θ starts on a surface) are
    /// classified per neuron by the complementarity problem of [`SwitchedField::switch`]
    /// (sliding, active or inactive); a failure (non-unique choice) is reported as the field's
    /// fault at the first step.
    pub fn new(model: &'m PiecewiseLinear, theta: &[f64]) -> Self {
        let f = FrozenPatternFlow {
            model,
            pattern: RefCell::new(model.activation_pattern(theta)),
            sliding: RefCell::new(vec![false; model.h * model.n]),
            segments: std::cell::Cell::new(0),
            fault: RefCell::new(None),
            modes: RefCell::new(ModeScratch::default()),
        };
        let z = model.preactivations(theta);
        let n = model.n;
        for k in 0..model.h {
            let on: Vec<usize> = (0..n).filter(|&i| z[k * n + i] == 0.0).collect();
            if !on.is_empty() {
                f.resolve_neuron(theta, k, None, &on);
            }
        }
        f.take_fault();
        f
    }

    /// Choose the modes of neuron k's on-surface samples at y: the samples sliding now plus
    /// `extra` (samples on or just across their surface), with `forced` = (sample, active)
    /// leaving its surface to the given side first (an exit whose slope reached a bound).
    ///
    /// With C the candidates, G_ij = x_iᵀx_j and b_i = Σ_{j∉C} g_j c_kj G_ij, the normal
    /// velocities are ż_ki = −η_w a_k (Σ_{j∈C} G_ij g_j c_j + b_i), and a consistent choice is
    /// a solution of the box complementarity problem ([`super::box_lcp`]) in c ∈ [γ, 1]^C with
    /// w = −ż/(η_w|a_k|), M = sgn(a_k)·G·diag(g), q = sgn(a_k)·b: c_i = γ (inactive) needs
    /// ż_ki ≤ 0, c_i = 1 (active) needs ż_ki ≥ 0, γ ≤ c_i ≤ 1 (sliding) needs ż_ki = 0. g does
    /// not depend on the c_j (σ(z_kj) = 0 on the surfaces). M is a P-matrix, so the choice is
    /// unique, exactly when a_k g_j > 0 for every candidate (each one's own field pushes back)
    /// and G_CC is positive definite; otherwise every assignment is tried and a non-unique
    /// choice is a fault naming the neuron and samples. Returns how many entries changed mode.
    fn resolve_neuron(&self, y: &[f64], k: usize, forced: Option<(usize, bool)>, extra: &[usize]) -> usize {
        let m = self.model;
        let (n, d) = (m.n, m.d);
        let mut changed = 0;
        if let Some((i, side)) = forced {
            self.sliding.borrow_mut()[k * n + i] = false;
            self.pattern.borrow_mut()[k * n + i] = side;
            changed += 1;
        }
        let mut ms = self.modes.borrow_mut();
        let ms = &mut *ms;
        ms.cand.clear();
        {
            let sl = self.sliding.borrow();
            ms.cand.extend((0..n).filter(|&i| sl[k * n + i]));
        }
        for &i in extra {
            if !ms.cand.contains(&i) && forced.is_none_or(|(j, _)| j != i) {
                ms.cand.push(i);
            }
        }
        ms.cand.sort_unstable();
        let nc = ms.cand.len();
        let ak = m.a(y)[k];
        if nc == 0 || ak == 0.0 {
            // a_k = 0: ẇ_k = 0 whatever the slopes, so no choice is needed now.
            return changed;
        }
        // g with σ = 0 on every candidate (they are on their surfaces).
        let mut sc = m.scratch.borrow_mut();
        {
            let p = self.pattern.borrow();
            let mut sl = self.sliding.borrow_mut();
            ms.start.clear();
            for &i in &ms.cand {
                ms.start.push(if sl[k * n + i] {
                    BoxMode::Free
                } else if p[k * n + i] {
                    BoxMode::Upper
                } else {
                    BoxMode::Lower
                });
                sl[k * n + i] = true;
            }
            m.outputs_frozen(y, &p, &sl, &mut sc, false);
            for (&i, st) in ms.cand.iter().zip(&ms.start) {
                sl[k * n + i] = *st == BoxMode::Free;
            }
        }
        // c_kj off the candidates (none of them sliding: every sliding sample of k is one).
        let p = self.pattern.borrow();
        let slope = |j: usize| frozen_slope(p[k * n + j], m.gamma);
        let sgn = ak.signum();
        let x = |i: usize| &m.x[i * d..(i + 1) * d];
        let dot = |i: usize, j: usize| x(i).iter().zip(x(j)).map(|(p, q)| p * q).sum::<f64>();
        // Per candidate: g_i and b_i = Σ_{j∉C} g_j c_kj G_ij. Candidates with g_i = 0 exactly
        // (e.g. a sample every neuron ignores, with y_i = 0) are passengers: their slope
        // multiplies g_i in ẇ_k, so it changes nothing, and their side follows from ż_ki alone.
        ms.gc.clear();
        ms.bc.clear();
        for &i in &ms.cand {
            let b: f64 = (0..n)
                .filter(|j| ms.cand.binary_search(j).is_err())
                .map(|j| sc.g[j] * slope(j) * dot(i, j))
                .sum();
            ms.gc.push(sc.g[i]);
            ms.bc.push(b);
        }
        drop(sc);
        drop(p);
        ms.act.clear();
        ms.act.extend((0..nc).filter(|&r| ms.gc[r] != 0.0));
        let na = ms.act.len();
        ms.mat.resize(na * na, 0.0);
        ms.q.resize(na, 0.0);
        ms.sub_start.clear();
        let mut p_matrix = true;
        for (r, &ra) in ms.act.iter().enumerate() {
            let i = ms.cand[ra];
            ms.q[r] = sgn * ms.bc[ra];
            for (col, &ca) in ms.act.iter().enumerate() {
                ms.mat[r * na + col] = sgn * dot(i, ms.cand[ca]) * ms.gc[ca];
            }
            p_matrix &= sgn * ms.gc[ra] > 0.0;
            ms.sub_start.push(ms.start[ra]);
        }
        if p_matrix {
            ms.chol.resize(na * na, 0.0);
            for (r, &ra) in ms.act.iter().enumerate() {
                for (col, &ca) in ms.act.iter().enumerate() {
                    ms.chol[r * na + col] = dot(ms.cand[ra], ms.cand[ca]);
                }
            }
            p_matrix = positive_definite(&mut ms.chol, na);
        }
        let res = ms.lcp.solve(na, &ms.mat, &ms.q, m.gamma, 1.0, p_matrix, &ms.sub_start);
        if let Err(e) = res {
            let act: Vec<usize> = ms.act.iter().map(|&r| ms.cand[r]).collect();
            self.fault.borrow_mut().get_or_insert(format!(
                "neuron {k}, samples {act:?} on their surfaces w_kᵀx_i = 0: the choice of sliding / active / \
                 inactive samples is not unique ({e}; linearly dependent inputs, or samples whose own field \
                 points away from the surface, a_k g_i < 0, met tangentially), so the Filippov motion is not \
                 unique; integrate with --events off or perturb the data"
            ));
            return changed;
        }
        // modes of all candidates: solved ones, then passengers from w_i = sgn(a_k)(Σ G_ij g_j c_j + b_i)
        ms.start.clear();
        for r in 0..nc {
            let mode = match ms.act.iter().position(|&ra| ra == r) {
                Some(pos) => ms.lcp.modes()[pos],
                None => {
                    let i = ms.cand[r];
                    let w = sgn
                        * (ms.bc[r]
                            + ms.act
                                .iter()
                                .zip(ms.lcp.c())
                                .map(|(&ca, &c)| dot(i, ms.cand[ca]) * ms.gc[ca] * c)
                                .sum::<f64>());
                    // ż_ki = −η_w|a_k|·w: w < 0 moves z up (active); w = 0 keeps σ'(0) = γ.
                    if w < 0.0 { BoxMode::Upper } else { BoxMode::Lower }
                }
            };
            ms.start.push(mode);
        }
        let mut p = self.pattern.borrow_mut();
        let mut sl = self.sliding.borrow_mut();
        for (&i, mode) in ms.cand.iter().zip(&ms.start) {
            let e = k * n + i;
            let before = (sl[e], p[e]);
            match mode {
                BoxMode::Free => {
                    if !sl[e] {
                        self.segments.set(self.segments.get() + 1);
                    }
                    sl[e] = true;
                }
                BoxMode::Upper => (sl[e], p[e]) = (false, true),
                BoxMode::Lower => (sl[e], p[e]) = (false, false),
            }
            if (sl[e], p[e]) != before {
                changed += 1;
            }
        }
        changed
    }
    /// The model.
    pub fn model(&self) -> &'m PiecewiseLinear {
        self.model
    }
    /// Re-freeze at the pattern of θ (and stop all sliding); returns how many entries changed.
    pub fn set_pattern_from(&self, theta: &[f64]) -> usize {
        let fresh = self.model.activation_pattern(theta);
        let mut p = self.pattern.borrow_mut();
        let changed = p.iter().zip(&fresh).filter(|(a, b)| a != b).count();
        *p = fresh;
        self.sliding.borrow_mut().iter_mut().for_each(|s| *s = false);
        changed
    }
    /// Push onto `out` the entries whose surface value in `s` ([`SwitchedField::surfaces_inplace`]
    /// at some state) lies outside the current piece: off the sliding set, z_ki > 0 on an
    /// inactive entry or z_ki ≤ 0 on an active one; on it, a slope that has reached a bound
    /// (s ≤ 0). No allocation beyond `out`'s growth.
    pub fn outside_piece(&self, s: &[f64], out: &mut Vec<usize>) {
        let (p, sl) = (self.pattern.borrow(), self.sliding.borrow());
        pulp::Arch::new().dispatch(OutsidePiece { s, p: &p, sl: &sl, out });
    }
    /// Whether entry `idx` is on the sliding set.
    pub fn is_sliding(&self, idx: usize) -> bool {
        self.sliding.borrow()[idx]
    }
    /// The frozen pattern (h×n row-major; for sliding entries the side last visited).
    pub fn pattern(&self) -> Vec<bool> {
        self.pattern.borrow().clone()
    }
    /// The sliding entries (h×n row-major).
    pub fn sliding(&self) -> Vec<bool> {
        self.sliding.borrow().clone()
    }
    /// Activation slopes C at θ (h×n row-major): γ or 1 off the sliding set, the solved
    /// equivalent control on it.
    pub fn slopes(&self, y: &[f64]) -> Vec<f64> {
        let (p, sl) = (self.pattern.borrow(), self.sliding.borrow());
        let mut s = self.model.scratch.borrow_mut();
        self.model.forward(y, Pattern::Slide(&p, &sl), &mut s);
        s.c.clone()
    }
    fn take_fault(&self) {
        let mut s = self.model.scratch.borrow_mut();
        if let Some(e) = s.fault.take() {
            self.fault.borrow_mut().get_or_insert(e);
        }
    }
}

impl VectorField for FrozenPatternFlow<'_> {
    fn dim(&self) -> usize {
        self.model.n_params()
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        let (p, sl) = (self.pattern.borrow(), self.sliding.borrow());
        // Without sliding entries the frozen pattern's fused, vectorised pass does the same.
        // (an OR over the flags without early exit: one vectorised pass)
        let pat = if sl.iter().fold(false, |acc, &b| acc | b) {
            Pattern::Slide(&p, &sl)
        } else {
            Pattern::Frozen(&p)
        };
        self.model.grad_pattern(y, pat, dy);
        scale_by_rates(self.model, dy);
        self.take_fault();
    }
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]) {
        let (p, sl) = (self.pattern.borrow(), self.sliding.borrow());
        let np = self.model.n_params();
        self.model.hessian_pattern(y, Pattern::Slide(&p, &sl), jac);
        for j in 0..np {
            scale_by_rates(self.model, &mut jac[j * np..(j + 1) * np]);
        }
        self.take_fault();
    }
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        let (p, sl) = (self.pattern.borrow(), self.sliding.borrow());
        self.model.hvp_pattern(y, Pattern::Slide(&p, &sl), v, out);
        scale_by_rates(self.model, out);
        self.take_fault();
    }
}

impl SwitchedField for FrozenPatternFlow<'_> {
    fn n_surfaces(&self) -> usize {
        self.model.h * self.model.n
    }
    /// z_ki off the sliding set; on it min(c_ki − γ, 1 − c_ki) of the solved equivalent control
    /// (positive while the sliding motion is admissible, crossing 0 where it must end).
    fn surfaces_inplace(&self, y: &[f64], s: &mut [f64]) {
        let sl = self.sliding.borrow();
        if !sl.iter().fold(false, |acc, &b| acc | b) {
            self.model.preactivations_cached(y, s);
            return;
        }
        let p = self.pattern.borrow();
        let mut sc = self.model.scratch.borrow_mut();
        if self.model.gamma == 0.0 {
            self.model.sliding_slopes_relu(y, &p, &sl, &mut sc);
        } else {
            self.model.forward(y, Pattern::Slide(&p, &sl), &mut sc);
        }
        let (g, n) = (self.model.gamma, self.model.n);
        s.copy_from_slice(&sc.z[..s.len()]);
        // (rows with a sliding entry found by a vectorised OR per row: they are few)
        for (k, slk) in sl.chunks(n).enumerate() {
            if slk.iter().fold(false, |acc, &b| acc | b) {
                for (i, _) in slk.iter().enumerate().filter(|(_, on)| **on) {
                    let c = sc.c[k * n + i];
                    s[k * n + i] = (c - g).min(1.0 - c);
                }
            }
        }
        drop(sc);
        self.take_fault();
    }
    /// At a root of surface `idx` = (k, i), the modes of neuron k's on-surface samples are
    /// chosen together ([`FrozenPatternFlow`]'s complementarity problem):
    /// - a sliding entry whose slope reached a bound leaves its surface to that side (1:
    ///   active, γ: inactive); the other sliding samples of k are re-solved with it fixed;
    /// - a non-sliding entry joins k's sliding samples as a candidate; the problem decides
    ///   whether it slides (both one-sided fields push into the surface), crosses to the
    ///   side its normal velocity points to, or stays, and which of the coupled sliding
    ///   samples leave.
    ///
    /// Entries whose pattern disagrees with the sign of z at `y` (crossings closer together
    /// than the root finder's time resolution, or a sample just released from sliding that has
    /// drifted by rounding) are candidates of their neuron's problem too: they sit on their
    /// surface to working precision, so the sign of z says nothing; the normal velocities
    /// decide.
    fn switch(&self, y: &[f64], idx: usize) -> usize {
        let m = self.model;
        let n = m.n;
        let (k, i) = (idx / n, idx % n);
        let forced = if self.sliding.borrow()[idx] {
            let c = self.slopes(y)[idx];
            Some((i, c > 0.5 * (1.0 + m.gamma)))
        } else {
            None
        };
        // entries (all neurons) whose frozen side disagrees with the sign of z at y
        let mut others = std::mem::take(&mut self.modes.borrow_mut().others);
        others.clear();
        {
            let mut sc = m.scratch.borrow_mut();
            m.preactivations_scratch(y, &mut sc, Par::Seq, false);
            let p = self.pattern.borrow();
            let sl = self.sliding.borrow();
            others.extend((0..p.len()).filter(|&j| j != idx && !sl[j] && (sc.z[j] > 0.0) != p[j]));
        }
        // neuron k: the event sample (unless forced out) and k's disagreeing samples
        let mut extra: Vec<usize> = others.iter().filter(|&&j| j / n == k).map(|&j| j % n).collect();
        if forced.is_none() {
            extra.push(i);
        }
        // the located surface counts as one switch even when its mode is unchanged (a graze)
        let mut count = self.resolve_neuron(y, k, forced, &extra).max(1);
        let mut start = 0;
        while start < others.len() {
            let kk = others[start] / n;
            let end = start + others[start..].iter().take_while(|&&j| j / n == kk).count();
            if kk != k {
                let extra: Vec<usize> = others[start..end].iter().map(|&j| j % n).collect();
                count += self.resolve_neuron(y, kk, None, &extra);
            }
            start = end;
        }
        self.modes.borrow_mut().others = others;
        self.take_fault();
        count
    }
    fn sliding_segments(&self) -> usize {
        self.segments.get()
    }
    fn fault(&self) -> Option<String> {
        self.fault.borrow().clone()
    }
}

/// v ← −η ⊙ v.
fn scale_by_rates(m: &PiecewiseLinear, v: &mut [f64]) {
    let hd = m.h * m.d;
    v[..hd].iter_mut().for_each(|x| *x *= -m.eta_w);
    v[hd..].iter_mut().for_each(|x| *x *= -m.eta_a);
}

/// P1 eq. (10) as a closed [`VectorField`] on (μ (h), β̂ (h×d)) with the constants δ_k
/// (see the module doc). The Jacobian is by central differences of the right-hand side
/// (this field is a cross-check, integrated with explicit methods; it allocates nothing but
/// is not fast). Singular at μ_k = 0 when δ_k > 0.
#[derive(Debug)]
pub struct SphericalFlow<'m> {
    model: &'m PiecewiseLinear,
    deltas: Vec<f64>,
    scratch: RefCell<SphericalScratch>,
}

/// Buffers of [`SphericalFlow`]: pre-activations (h·n), residual (n), ξ (h·d), spare (h + h·d).
type SphericalScratch = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

impl<'m> SphericalFlow<'m> {
    /// The eq. (10) flow with δ_k taken from θ0.
    pub fn new(model: &'m PiecewiseLinear, theta0: &[f64]) -> Self {
        let (h, d, n) = (model.h, model.d, model.n);
        SphericalFlow {
            model,
            deltas: model.deltas(theta0),
            scratch: RefCell::new((vec![0.0; h * n], vec![0.0; n], vec![0.0; h * d], vec![0.0; h + h * d])),
        }
    }
    /// δ_k.
    pub fn deltas(&self) -> &[f64] {
        &self.deltas
    }
}

impl VectorField for SphericalFlow<'_> {
    fn dim(&self) -> usize {
        self.model.h * (self.model.d + 1)
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        let m = self.model;
        let (n, h, d) = (m.n, m.h, m.d);
        let mut sc = self.scratch.borrow_mut();
        let (z, g, xi, _) = &mut *sc;
        let (mu, bh) = y.split_at(h);
        // f = Σ_k μ_k σ(β̂_kᵀx) ; g = 2c(f − y)
        network_output_inplace(bh, mu, m.gamma, d, &m.x, n, z, g);
        for (gi, yi) in g.iter_mut().zip(&m.y).take(n) {
            *gi = 2.0 * m.c * (*gi - yi);
        }
        // ξ_k = Σ_i c_ki x_i g_i, c from the sign of β̂_kᵀx_i
        for k in 0..h {
            for i in 0..n {
                z[k * n + i] = g[i] * sigma_prime(m.gamma, z[k * n + i]);
            }
        }
        let dst = MatMut::from_row_major_slice_mut(xi, h, d);
        matmul(
            dst,
            Accum::Replace,
            MatRef::from_row_major_slice(&z[..h * n], h, n),
            MatRef::from_row_major_slice(&m.x, n, d),
            1.0,
            Par::Seq,
        );
        let eta = m.eta_a * m.eta_w;
        let (dmu, dbh) = dy.split_at_mut(h);
        for k in 0..h {
            let dk = self.deltas[k];
            let root = (dk * dk + 4.0 * eta * mu[k] * mu[k]).sqrt();
            let b = &bh[k * d..(k + 1) * d];
            let x = &xi[k * d..(k + 1) * d];
            let bx: f64 = b.iter().zip(x).map(|(p, q)| p * q).sum();
            dmu[k] = -root * bx;
            // (√(δ²+4ημ²) + δ)/(2μ), written cancellation-free for δ < 0: = 2ημ/(√… − δ).
            let coef = if dk >= 0.0 {
                (root + dk) / (2.0 * mu[k])
            } else {
                2.0 * eta * mu[k] / (root - dk)
            };
            for j in 0..d {
                dbh[k * d + j] = -coef * (x[j] - b[j] * bx);
            }
        }
    }
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]) {
        let nd = self.dim();
        let mut yp = y.to_vec();
        let mut fp = vec![0.0; nd];
        let mut fm = vec![0.0; nd];
        for j in 0..nd {
            let step = 1e-6 * (1.0 + y[j].abs());
            yp[j] = y[j] + step;
            self.eval_inplace(&yp, &mut fp);
            yp[j] = y[j] - step;
            self.eval_inplace(&yp, &mut fm);
            yp[j] = y[j];
            for i in 0..nd {
                jac[i + j * nd] = (fp[i] - fm[i]) / (2.0 * step);
            }
        }
    }
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        let nd = self.dim();
        let vn = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if vn == 0.0 {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        let step = 1e-6 / vn;
        let mut sc = self.scratch.borrow_mut();
        let mut yp = std::mem::take(&mut sc.3);
        drop(sc);
        let mut fm = vec![0.0; nd];
        for j in 0..nd {
            yp[j] = y[j] + step * v[j];
        }
        self.eval_inplace(&yp, out);
        for j in 0..nd {
            yp[j] = y[j] - step * v[j];
        }
        self.eval_inplace(&yp, &mut fm);
        for j in 0..nd {
            out[j] = (out[j] - fm[j]) / (2.0 * step);
        }
        self.scratch.borrow_mut().3 = yp;
    }
}

/// P1's student initialisation (App. D.1, `docs/theory.md` §3.2) generalised to rates η: neuron k
/// gets w_k = ‖w‖·u_k (u_k the unit rows of `dirs`, m×d) and a_k = s_k|a| with
/// |a|·‖w‖ = τ² and η_w a² − η_a‖w‖² = δ, i.e. a² = (δ + √(δ² + 4η_aη_wτ⁴))/(2η_w) (at η = 1:
/// |a| = ατ, ‖w‖ = τ/α, δ = τ²(α² − α⁻²), the paper's α, not the seed code's 1/α). With
/// `symmetrize`, the m neurons are followed by copies with negated a (h = 2m), so
/// f(x; θ0) ≡ 0 and every δ_k = δ. Returns (W h×d row-major, a).
///
/// # Errors
/// [`ModelError`] for non-finite inputs, τ ≤ 0, rates that are not positive, or `dirs`/`signs`
/// of inconsistent lengths.
#[allow(clippy::too_many_arguments)]
pub fn scaled_init(
    dirs: &[f64],
    d: usize,
    signs: &[f64],
    tau: f64,
    delta: f64,
    eta_a: f64,
    eta_w: f64,
    symmetrize: bool,
) -> Result<(Vec<f64>, Vec<f64>), ModelError> {
    check_rate("eta_a", eta_a)?;
    check_rate("eta_w", eta_w)?;
    check_finite("dirs", dirs)?;
    check_finite("tau, delta", &[tau, delta])?;
    let m = signs.len();
    if d == 0 || dirs.len() != m * d || tau <= 0.0 {
        return Err(ModelError::Shape {
            what: "dirs / signs / tau".into(),
            expected: format!("dirs of length {}·d, τ > 0", m),
            found: format!("length {}, d = {d}, τ = {tau}", dirs.len()),
        });
    }
    let root = delta.hypot(2.0 * (eta_a * eta_w).sqrt() * tau * tau);
    // cancellation-free: the larger of a², ‖w‖² from the sum, the other from a·‖w‖ = τ².
    let (amag, wmag) = if delta >= 0.0 {
        let a = ((delta + root) / (2.0 * eta_w)).sqrt();
        (a, tau * tau / a)
    } else {
        let w = ((root - delta) / (2.0 * eta_a)).sqrt();
        (tau * tau / w, w)
    };
    let copies = if symmetrize { 2 } else { 1 };
    let mut w = Vec::with_capacity(copies * m * d);
    let mut a = Vec::with_capacity(copies * m);
    for c in 0..copies {
        for k in 0..m {
            let u = &dirs[k * d..(k + 1) * d];
            let nrm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            w.extend(u.iter().map(|v| wmag * v / nrm));
            let s = if signs[k] < 0.0 { -1.0 } else { 1.0 };
            a.push(if c == 0 { s * amag } else { -s * amag });
        }
    }
    Ok((w, a))
}

/// Issue 6's performance problem R (sizes as arguments; the issue's are d = 100, h = 1000,
/// n = 1000): x_i ~ N(0, I_d/d); a 3-neuron ReLU teacher with unit w (normalised Gaussian) and
/// a = ±1 (random signs) gives y; the student (γ = 0, η_a = η_w = 1, loss (1/2n)Σ) starts at
/// W_kj ~ N(0, 1), a_k ~ N(0, 1/h). The issue does not state the student's initialisation;
/// this one has z_ki ~ N(0, 1), so the a-block of the Hessian, SᵀS/n, has top eigenvalue
/// ≈ h·E[relu(z)]² = h/(2π) ≈ 159 for h = 1000, matching the issue's "≈ 161".
/// Returns the model and θ0.
///
/// # Errors
/// [`ModelError`] only if a size is 0.
pub fn problem_r(d: usize, h: usize, n: usize, seed: u64) -> Result<(PiecewiseLinear, Vec<f64>), ModelError> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut gauss = |k: usize, s: f64| -> Vec<f64> {
        (0..k)
            .map(|_| {
                let v: f64 = StandardNormal.sample(&mut rng);
                s * v
            })
            .collect::<Vec<f64>>()
    };
    let x = gauss(n * d, 1.0 / (d as f64).sqrt());
    let mut tw = gauss(3 * d, 1.0);
    for k in 0..3 {
        let r = &mut tw[k * d..(k + 1) * d];
        let nrm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        r.iter_mut().for_each(|v| *v /= nrm);
    }
    let ta: Vec<f64> = gauss(3, 1.0)
        .iter()
        .map(|v| if *v < 0.0 { -1.0 } else { 1.0 })
        .collect();
    let mut z = vec![0.0; 3 * n];
    let mut y = vec![0.0; n];
    network_output_inplace(&tw, &ta, 0.0, d, &x, n, &mut z, &mut y);
    let w0 = gauss(h * d, 1.0);
    let a0 = gauss(h, 1.0 / (h as f64).sqrt());
    let m = PiecewiseLinear::new(x, n, d, y, h, 0.0, 1.0, 1.0, LossScale::HalfMean)?;
    let th = m.pack(&w0, &a0);
    Ok((m, th))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gauss(rng: &mut ChaCha8Rng, k: usize) -> Vec<f64> {
        (0..k).map(|_| StandardNormal.sample(rng)).collect()
    }

    fn small(gamma: f64, scale: LossScale) -> (PiecewiseLinear, Vec<f64>) {
        let (n, d, h) = (7, 3, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = gauss(&mut rng, n * d);
        let y = gauss(&mut rng, n);
        let m = PiecewiseLinear::new(x, n, d, y, h, gamma, 0.7, 1.3, scale).unwrap();
        let th = gauss(&mut rng, h * d + h);
        (m, th)
    }

    /// Loss against a direct per-sample loop (independent of the GEMM path).
    #[test]
    fn loss_matches_naive_loop() {
        for scale in LossScale::ALL {
            let (m, th) = small(0.2, scale);
            let (n, d, h) = (m.n(), m.d(), m.h());
            let (w, a) = (m.w(&th), m.a(&th));
            let mut l = 0.0;
            for i in 0..n {
                let mut f = 0.0;
                for k in 0..h {
                    let z: f64 = (0..d).map(|j| w[k * d + j] * m.x()[i * d + j]).sum();
                    f += a[k] * z.max(0.2 * z);
                }
                l += (f - m.y()[i]).powi(2);
            }
            let want = scale.factor(n) * l;
            // a handful of flops per term: 1e-14 relative is ~50 ulp of margin.
            assert!((m.loss(&th) - want).abs() <= 1e-14 * want.abs(), "{scale}");
        }
    }

    /// The fused sliding gradient at γ = 0 (`grad_sliding_relu`) against the separate passes
    /// (forward with the equivalent-control solve, then backward), and the light slopes pass
    /// (`sliding_slopes_relu`) against `forward`'s slopes: the same products summed in another
    /// order, so they agree to rounding (a few ulp of the largest term: 1e-13 relative). Random
    /// pattern and sliding set (seed 11 for the model, 12 for the masks).
    #[test]
    fn fused_sliding_gradient_matches_separate_passes() {
        let (m, th) = small(0.0, LossScale::HalfSum);
        let (n, h) = (m.n(), m.h());
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let u: Vec<f64> = gauss(&mut rng, 2 * h * n);
        let p: Vec<bool> = u[..h * n].iter().map(|v| *v > 0.0).collect();
        // two sliding entries in distinct neurons (a solvable 1×1 system each)
        let mut sl = vec![false; h * n];
        sl[n + 2] = true;
        sl[3 * n + 5] = true;
        let mut s = m.scratch.borrow_mut();
        let mut want = vec![0.0; m.n_params()];
        let lw = m.forward(&th, Pattern::Slide(&p, &sl), &mut s);
        m.backward(&th, &mut want, &mut s);
        let c_want = s.c.clone();
        assert!(s.fault.take().is_none());
        let mut got = vec![0.0; m.n_params()];
        let lg = m.grad_sliding_relu(&th, &p, &sl, &mut got, &mut s);
        let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        assert!((lg - lw).abs() <= 1e-13 * lw.abs());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-13 * scale, "{g} vs {w}");
        }
        m.sliding_slopes_relu(&th, &p, &sl, &mut s);
        for j in [n + 2, 3 * n + 5] {
            assert!(
                (s.c[j] - c_want[j]).abs() <= 1e-13 * c_want[j].abs().max(1.0),
                "slope {j}"
            );
        }
    }

    /// The kept Z (`preactivations_cached`) is used only at its own W: after keeping Z at θ,
    /// gradients at a θ with another W (miss), at θ with another a (hit: Z depends on W only;
    /// the gradient takes the kept Z) and at θ again (miss) equal those of a fresh copy of the
    /// model that never kept anything, bit for bit; the kept Z equals the plain GEMM's. Seed 21
    /// for the perturbations.
    #[test]
    fn kept_preactivations_serve_only_their_own_w() {
        let (m, th) = small(0.0, LossScale::HalfSum);
        let (h, d) = (m.h(), m.d());
        let fresh = |t: &[f64]| {
            let m2 = m.clone();
            m2.scratch.borrow_mut().zc_w.clear();
            let mut g = vec![0.0; m2.n_params()];
            let l = m2.loss_grad(t, &mut g);
            (l, g)
        };
        let mut z = vec![0.0; h * m.n()];
        m.preactivations_cached(&th, &mut z);
        assert_eq!(z, m.preactivations(&th));
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let du: Vec<f64> = gauss(&mut rng, m.n_params());
        let mut other_a = th.clone();
        other_a[h * d..]
            .iter_mut()
            .zip(&du[h * d..])
            .for_each(|(t, u)| *t += 0.1 * u);
        let mut other_w = th.clone();
        other_w[..h * d].iter_mut().zip(&du).for_each(|(t, u)| *t += 0.1 * u);
        let grad_is_fresh = |t: &[f64]| {
            let mut g = vec![0.0; m.n_params()];
            let l = m.loss_grad(t, &mut g);
            assert_eq!((l, g), fresh(t));
        };
        let kept_w = || m.scratch.borrow().zc_w.clone();
        // a miss leaves the kept Z; a hit (same W, other a) takes it; then θ itself misses
        grad_is_fresh(&other_w);
        assert_eq!(kept_w(), m.w(&th));
        grad_is_fresh(&other_a);
        assert!(kept_w().is_empty());
        grad_is_fresh(&th);
        // keeping at another W replaces it; asking again is served from it
        for _ in 0..2 {
            m.preactivations_cached(&other_w, &mut z);
            assert_eq!(z, m.preactivations(&other_w));
            assert_eq!(kept_w(), m.w(&other_w));
        }
        grad_is_fresh(&other_w);
    }

    /// The vectorised passes of the landing flow against their scalar definitions on a random
    /// model, pattern and sliding set (seed 13), γ ∈ {0, 0.3}: `outputs_frozen`'s f and g equal
    /// `forward_raw`'s (the same expression per entry, bit for bit), and `outside_piece` lists
    /// exactly the entries with (z > 0) ≠ active off the sliding set and s ≤ 0 on it, in order
    /// (block boundaries included: h·n is not a multiple of the block).
    #[test]
    fn vectorised_landing_passes_match_their_definitions() {
        for gamma in [0.0, 0.3] {
            // h·n = 740: two whole blocks and a partial one
            let (n, d, h) = (37, 3, 20);
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let x = gauss(&mut rng, n * d);
            let y = gauss(&mut rng, n);
            let m = PiecewiseLinear::new(x, n, d, y, h, gamma, 0.7, 1.3, LossScale::HalfSum).unwrap();
            let th = gauss(&mut rng, h * d + h);
            assert!(h * n > 2 * OUTSIDE_BLOCK && (h * n) % OUTSIDE_BLOCK != 0);
            let u: Vec<f64> = gauss(&mut rng, 2 * h * n);
            let p: Vec<bool> = u[..h * n].iter().map(|v| *v > 0.0).collect();
            let sl: Vec<bool> = u[h * n..].iter().map(|v| *v > 1.5).collect();
            let mut s = m.scratch.borrow_mut();
            m.forward_raw(&th, Pattern::Slide(&p, &sl), &mut s);
            let (f_want, g_want) = (s.f.clone(), s.g.clone());
            m.outputs_frozen(&th, &p, &sl, &mut s, false);
            assert_eq!((&s.f, &s.g), (&f_want, &g_want), "γ = {gamma}");
            drop(s);
            let flow = FrozenPatternFlow::new(&m, &th);
            *flow.pattern.borrow_mut() = p.clone();
            *flow.sliding.borrow_mut() = sl.clone();
            let vals: Vec<f64> = u[..h * n].iter().zip(&u[h * n..]).map(|(a, b)| a * b).collect();
            let mut got = Vec::new();
            flow.outside_piece(&vals, &mut got);
            let want: Vec<usize> = (0..h * n)
                .filter(|&j| if sl[j] { vals[j] <= 0.0 } else { (vals[j] > 0.0) != p[j] })
                .collect();
            assert!(!want.is_empty());
            assert_eq!(got, want, "γ = {gamma}");
        }
    }

    /// The multi-threaded gradient (bands of neurons on 2 and 3 threads, one band shorter)
    /// against the sequential one, live (also recording) and frozen patterns (seed 14),
    /// γ ∈ {0, 0.3}: the same
    /// products, only f's sum over neurons grouped by band (and the GEMMs split), so they
    /// agree to rounding — ROUNDING = 1e-13 relative to the largest entry (h = 37 terms of
    /// one sign-mixed sum: ≤ 2·37·2⁻⁵³ ≈ 8e-15 of the sum of magnitudes, which is within a
    /// factor 10 of the largest entry on this data).
    #[test]
    fn threaded_gradient_matches_sequential() {
        const ROUNDING: f64 = 1e-13;
        for gamma in [0.0, 0.3] {
            let (n, d, h) = (50, 5, 37);
            let mut rng = ChaCha8Rng::seed_from_u64(14);
            let x = gauss(&mut rng, n * d);
            let y = gauss(&mut rng, n);
            let m = PiecewiseLinear::new(x, n, d, y, h, gamma, 0.7, 1.3, LossScale::HalfSum).unwrap();
            let th = gauss(&mut rng, h * d + h);
            let p: Vec<bool> = gauss(&mut rng, h * n).iter().map(|v| *v > 0.0).collect();
            let mut want = vec![0.0; m.n_params()];
            let mut got = vec![0.0; m.n_params()];
            for threads in [2, 3] {
                let mt = m.clone().with_threads(threads);
                for frozen in [false, true] {
                    let (lw, lg) = if frozen {
                        (m.grad_frozen(&th, &p, &mut want), mt.grad_frozen(&th, &p, &mut got))
                    } else {
                        (m.loss_grad(&th, &mut want), mt.loss_grad(&th, &mut got))
                    };
                    let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    assert!(
                        (lg - lw).abs() <= ROUNDING * lw.abs(),
                        "{threads} threads: loss {lg} vs {lw}"
                    );
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= ROUNDING * scale,
                            "{threads} threads, frozen {frozen}, γ {gamma}: {g} vs {w}"
                        );
                    }
                }
                // the recording variant: the same signs (the same Z), g to rounding
                let (mut s1, mut s2) = (vec![false; h * n], vec![false; h * n]);
                let (mut g1, mut g2) = (vec![0.0; n], vec![0.0; n]);
                m.loss_grad_recording(&th, &mut want, &mut s1, &mut g1);
                mt.loss_grad_recording(&th, &mut got, &mut s2, &mut g2);
                assert_eq!(s1, s2, "{threads} threads: recorded signs");
                let gs = g1.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                assert!(g1.iter().zip(&g2).all(|(p, q)| (p - q).abs() <= ROUNDING * gs));
            }
        }
    }

    /// Frozen at the live pattern, the frozen gradient equals the live one exactly.
    #[test]
    fn frozen_at_live_pattern_is_live() {
        let (m, th) = small(0.0, LossScale::HalfMean);
        let p = m.activation_pattern(&th);
        let mut g1 = vec![0.0; m.n_params()];
        let mut g2 = vec![0.0; m.n_params()];
        m.grad_inplace(&th, &mut g1);
        m.grad_frozen(&th, &p, &mut g2);
        assert_eq!(g1, g2);
    }

    /// The η-weighted time derivative of δ_k along the flow is zero: dδ_k/dt =
    /// 2η_w a_k ȧ_k − 2η_a w_kᵀẇ_k = −2η_aη_w(a_k ∂_{a_k}L − w_kᵀ∇_{w_k}L), and
    /// a_k ∂_{a_k}L = w_kᵀ∇_{w_k}L by positive homogeneity (Σ_i g_i a_k σ(z_ki) both).
    #[test]
    fn delta_rate_vanishes() {
        for gamma in [0.0, 0.3] {
            let (m, th) = small(gamma, LossScale::HalfSum);
            let mut g = vec![0.0; m.n_params()];
            m.grad_inplace(&th, &mut g);
            let (h, d) = (m.h(), m.d());
            for k in 0..h {
                let lhs = th[h * d + k] * g[h * d + k];
                let rhs: f64 = (0..d).map(|j| th[k * d + j] * g[k * d + j]).sum();
                assert!((lhs - rhs).abs() <= 1e-13 * (1.0 + lhs.abs()), "k {k}: {lhs} vs {rhs}");
            }
        }
    }

    /// Eq. (9) β̇_k equals ȧ_k w_k + a_k ẇ_k from the parameter flow (chain rule).
    #[test]
    fn eq9_matches_chain_rule() {
        let (m, th) = small(0.1, LossScale::Mean);
        let mut dth = vec![0.0; m.n_params()];
        ParameterFlowLike(&m).eval(&th, &mut dth);
        let (h, d) = (m.h(), m.d());
        let b9 = m.beta_dot_eq9(&th);
        for k in 0..h {
            for j in 0..d {
                let want = dth[h * d + k] * th[k * d + j] + th[h * d + k] * dth[k * d + j];
                assert!((b9[k * d + j] - want).abs() <= 1e-13 * (1.0 + want.abs()));
            }
        }
    }

    struct ParameterFlowLike<'a>(&'a PiecewiseLinear);
    impl ParameterFlowLike<'_> {
        fn eval(&self, th: &[f64], out: &mut [f64]) {
            self.0.grad_inplace(th, out);
            scale_by_rates(self.0, out);
        }
    }

    /// Bad inputs are errors naming the problem.
    #[test]
    fn bad_inputs() {
        let e = PiecewiseLinear::new(vec![1.0; 5], 2, 3, vec![0.0; 2], 1, 0.0, 1.0, 1.0, LossScale::HalfSum);
        assert!(e.unwrap_err().to_string().contains("x"));
        let e = PiecewiseLinear::new(vec![1.0; 6], 2, 3, vec![0.0; 2], 1, 1.0, 1.0, 1.0, LossScale::HalfSum);
        assert!(e.unwrap_err().to_string().contains("γ"));
        let e = PiecewiseLinear::new(
            vec![1.0; 6],
            2,
            3,
            vec![f64::NAN; 2],
            1,
            0.0,
            1.0,
            1.0,
            LossScale::HalfSum,
        );
        assert!(e.unwrap_err().to_string().contains("not finite"));
        let e = PiecewiseLinear::new(vec![1.0; 6], 2, 3, vec![0.0; 2], 1, 0.0, 0.0, 1.0, LossScale::HalfSum);
        assert!(e.unwrap_err().to_string().contains("eta_a"));
        assert!("quarter".parse::<LossScale>().is_err());
    }
}
