//! Layer 2: Taylor-series integration of polynomial vector fields, in f64 or in MPFR at any
//! precision (53 … ≥ 4096 bits). Beside [`crate::flow`]; it names no diffsol type.
//!
//! **Method** (Jorba & Zou 2005, "A software package for the numerical integration of ODEs by
//! means of high-order Taylor methods", Exp. Math. 14): for ẋ = F(x) with F polynomial, the
//! normalised Taylor coefficients x_k = x^{(k)}(t_n)/k! satisfy x_{k+1} = F_k/(k + 1), where F_k
//! is the k-th coefficient of F(x(t)); for polynomials F_k follows from x_0 … x_k by Cauchy
//! products (a·b)_k = Σ_{j≤k} a_j b_{k−j} ("automatic differentiation" recurrences). A model
//! plugs in by implementing [`JetField`]: given the jets x_0..x_k, write F_k.
//!
//! **Order and step** from the tolerance ε (Jorba–Zou; the rule heyoka uses): order
//! N = ⌈−ln ε / 2⌉ + 1 (the cost ∝ N²/h is minimal for an error ε), the radius of convergence
//! estimated from the last two coefficients, ρ = min_{m∈{N−1,N}} (s/‖x_m‖∞)^{1/m} with
//! s = max(1, ‖x_0‖∞) (absolute error below 1, relative above), and the step
//! h = ρ·e^{−2}·e^{−0.7/(N−1)} ([`STEP_SAFETY_EXPONENT`]). In the geometric model
//! ‖x_m‖ ≈ s·ρ^{−m} the terms shrink by q = h/ρ = e^{−2−0.7/(N−1)} per order, so the last
//! computed term is ≤ s·q^N ≤ ε·s·e^{−2} and the omitted remainder ≈ s·q^{N+1}/(1 − q)
//! ([`TaylorOptions::modelled_local_error`]: 3.5e-13 at ε = 1e-10, N = 13). The earlier rule
//! h = 0.9·min_m (ε·s/‖x_m‖)^{1/m} took 4–20 % longer steps at ε = 1e-10, q larger by that
//! factor in each of the N + 1 powers: on the problem-L anchor it gave 1.5e-12 at t = 20 where
//! this rule gives 1.25e-13 (32 steps instead of 30; heyoka at the same ε: 1.2e-13, 32 steps).
//!
//! **Kernels.** A field may compute a whole step at once ([`JetField::step_coeffs`]); the
//! single-neuron field does for f64 and d ≤ 16 (order-major jets padded to 4…16 lanes, the
//! component loop innermost, fused multiply-adds, SIMD level chosen at run time), the span
//! reduction for r = 2. On the anchor (d = 10, ε = 1e-10) the whole-step kernel takes ≈ ¼ of the
//! order-by-order time under the same rule (`benches/taylor.rs`, `taylor/problem_L_anchor`).
//! A field may go further and keep its f64 jets in its own layout for the whole solve
//! ([`JetField::stepper_f64`], [`StepperF64`]): the integrator then only asks it for the
//! coefficients' norms, Horner evaluations and the move to the step's end, with the same
//! arithmetic as the generic path (bit-identical results). The single-neuron kernel does
//! (anchor: 20.6 → 16.6 µs in one run; 14.8 µs with its AVX-512 build).
//!
//! **Error estimate** (not a proof; [`TaylorStats::err_estimate`]): per step,
//! ‖x_{N−1}‖h^{N−1} + ‖x_N‖h^N (≥ the modelled remainder: the last two computed terms bound the
//! omitted ones when the series decays at least geometrically with ratio q ≤ e^{−2}) plus the
//! rounding of the N-term evaluation, 2N·u·s with u = 2^{1−p}; summed over the steps (no
//! amplification is assumed: along gradient flows near a minimum errors contract; through a
//! saddle they can grow, which the tests measure). It is conservative by orders of magnitude
//! (the first term alone is ≈ ε·s·e^{−0.7} per step).
//!
//! **Dense output**: a requested time inside a step is evaluated from that step's Taylor
//! polynomial (Horner), at the same accuracy as the step's end.
//!
//! **Proven enclosures** instead of estimates: [`validated`] runs the same [`JetField`]s in ball
//! arithmetic (Lohner's method), and [`cases`] builds every model's field from a case's decimal
//! inputs in any scalar.

pub mod cases;
pub mod enclose;
pub mod lambda_balanced;
pub mod linear;
pub mod piecewise_linear;
pub mod single_neuron;
pub mod single_neuron_span;
pub mod validated;

use std::fmt::Debug;

/// A scalar the Taylor recurrences run on: f64, `rug::Float` at the precision of its values,
/// [`crate::num::ball::Ball`] (rigorous enclosures) or [`enclose::Dual`] (first derivatives); see
/// [`enclose`]. The non-rigorous [`integrate`] also needs an order (`PartialOrd`), which balls lack.
///
/// Operations are in place so that the inner loops allocate nothing.
pub trait TaylorScalar: Clone + Debug + PartialEq {
    /// A zero with the same precision as `self`.
    fn zero_like(&self) -> Self;
    /// The f64 `v` at the precision of `self` (exact for p ≥ 53).
    fn like_f64(&self, v: f64) -> Self;
    /// self = 0.
    fn set_zero(&mut self);
    /// self = x.
    fn assign_from(&mut self, x: &Self);
    /// self += x.
    fn add_assign_ref(&mut self, x: &Self);
    /// self −= x.
    fn sub_assign_ref(&mut self, x: &Self);
    /// self += a·b.
    fn mul_add_assign(&mut self, a: &Self, b: &Self);
    /// self += a·b with a caller-provided scratch value: MPFR rounds a·b into `tmp` and adds
    /// (two roundings, ≤ 1 ulp, but 1.5–2× cheaper than the fused `mpfr_fma`, which forms the
    /// exact 2p-bit product); f64 ignores `tmp`.
    fn mul_add_assign_tmp(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        let _ = tmp;
        self.mul_add_assign(a, b);
    }
    /// self += Σ_j a_j·b_{n−1−j} (n = min(len a, len b), b's last n read backwards): one
    /// coefficient of a Cauchy product. The default is a loop of
    /// [`Self::mul_add_assign_tmp`]; a ball type may sum the radius once for the whole dot.
    fn add_dot_rev(&mut self, a: &[Self], b: &[Self], tmp: &mut Self) {
        let n = a.len().min(b.len());
        self.add_dot(a[..n].iter().zip(b[b.len() - n..].iter().rev()), tmp);
    }
    /// self += Σ a·b over the pairs of `pairs` (a dot product; see [`Self::add_dot_rev`]).
    fn add_dot<'a>(&mut self, pairs: impl Iterator<Item = (&'a Self, &'a Self)>, tmp: &mut Self)
    where
        Self: 'a,
    {
        for (x, y) in pairs {
            self.mul_add_assign_tmp(x, y, tmp);
        }
    }
    /// self += a·b where only an enclosure is needed whose radius is dominated by propagated
    /// widths (the forward-mode derivatives of the validated integrator's Jacobian part): a
    /// hardware ball may bound the roundings instead of taking them exactly
    /// ([`crate::num::ball_f64::BallF64::add_mul_loose`]); the default is
    /// [`Self::mul_add_assign`].
    fn mul_add_assign_loose(&mut self, a: &Self, b: &Self) {
        self.mul_add_assign(a, b);
    }
    /// self += Σ a·b over the pairs of `pairs` as a loop of [`Self::mul_add_assign`] (MPFR: one
    /// fused rounding per term), except that a ball runs [`Self::add_dot`] (no allocation, the
    /// radius summed once; the same midpoints at one precision): for recurrences written with
    /// `mul_add_assign`, whose f64 and MPFR values must not change.
    fn add_dot_fused<'a>(&mut self, pairs: impl Iterator<Item = (&'a Self, &'a Self)>, tmp: &mut Self)
    where
        Self: 'a,
    {
        let _ = tmp;
        for (x, y) in pairs {
            self.mul_add_assign(x, y);
        }
    }
    /// self *= x.
    fn mul_assign_ref(&mut self, x: &Self);
    /// self /= k.
    fn div_u32_assign(&mut self, k: u32);
    /// self /= k, given `inv_k` = fl(1/k): f64 multiplies by it (≤ 1.5 ulp instead of 0.5, but
    /// off the latency chain of a division); MPFR divides exactly as [`Self::div_u32_assign`].
    fn div_u32_assign_inv(&mut self, k: u32, inv_k: f64) {
        let _ = inv_k;
        self.div_u32_assign(k);
    }
    /// self = −self.
    fn neg_assign(&mut self);
    /// self /= x (set-up code such as Gram–Schmidt, not the per-order recurrences).
    fn div_assign_ref(&mut self, x: &Self);
    /// self = √self.
    fn sqrt_assign(&mut self);
    /// self ·= 2^e (exact unless it over/underflows).
    fn mul_pow2_assign(&mut self, e: i32);
    /// Nearest f64.
    fn to_f64(&self) -> f64;
    /// Precision in bits (53 for f64).
    fn prec_bits(&self) -> u32;
    /// Whether the value is proven > 0 (`positive`) or proven < 0 (not `positive`): for a ball,
    /// of every point in it; for a plain number, of the number itself.
    fn sign_is(&self, positive: bool) -> bool {
        let v = self.to_f64();
        if positive { v > 0.0 } else { v < 0.0 }
    }
    /// For a ball: the ball widened by r ≥ 0; a plain number has no radius and returns itself
    /// (callers that need the widening must run on balls).
    fn widened(&self, r: f64) -> Self {
        let _ = r;
        self.clone()
    }
    /// The values themselves as f64 when `Self` is f64, `None` for every other scalar (the
    /// default): lets a generic [`JetField`] run an f64-only kernel (e.g. SIMD over padded
    /// components) without specialisation; the generic path stays the reference.
    fn as_f64_slice(v: &[Self]) -> Option<&[f64]> {
        let _ = v;
        None
    }
    /// Mutable form of [`Self::as_f64_slice`].
    fn as_f64_slice_mut(v: &mut [Self]) -> Option<&mut [f64]> {
        let _ = v;
        None
    }
}

impl TaylorScalar for f64 {
    fn zero_like(&self) -> Self {
        0.0
    }
    fn like_f64(&self, v: f64) -> Self {
        v
    }
    fn set_zero(&mut self) {
        *self = 0.0;
    }
    fn assign_from(&mut self, x: &Self) {
        *self = *x;
    }
    fn add_assign_ref(&mut self, x: &Self) {
        *self += *x;
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        *self -= *x;
    }
    #[inline]
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        *self += *a * *b;
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        *self *= *x;
    }
    fn div_u32_assign(&mut self, k: u32) {
        *self /= f64::from(k);
    }
    #[inline]
    fn div_u32_assign_inv(&mut self, _k: u32, inv_k: f64) {
        *self *= inv_k;
    }
    fn neg_assign(&mut self) {
        *self = -*self;
    }
    fn div_assign_ref(&mut self, x: &Self) {
        *self /= *x;
    }
    fn sqrt_assign(&mut self) {
        *self = self.sqrt();
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        // Two factors so that 2^e itself does not overflow for |e| up to ≈ 2000.
        let h = e / 2;
        *self = *self * 2f64.powi(h) * 2f64.powi(e - h);
    }
    fn to_f64(&self) -> f64 {
        *self
    }
    fn prec_bits(&self) -> u32 {
        53
    }
    fn as_f64_slice(v: &[Self]) -> Option<&[f64]> {
        Some(v)
    }
    fn as_f64_slice_mut(v: &mut [Self]) -> Option<&mut [f64]> {
        Some(v)
    }
}

impl TaylorScalar for rug::Float {
    fn zero_like(&self) -> Self {
        rug::Float::new(self.prec())
    }
    fn like_f64(&self, v: f64) -> Self {
        rug::Float::with_val(self.prec(), v)
    }
    fn set_zero(&mut self) {
        use rug::Assign;
        self.assign(0u32);
    }
    fn assign_from(&mut self, x: &Self) {
        use rug::Assign;
        self.assign(x);
    }
    fn add_assign_ref(&mut self, x: &Self) {
        *self += x;
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        *self -= x;
    }
    #[inline]
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        *self += a * b;
    }
    #[inline]
    fn mul_add_assign_tmp(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        use rug::Assign;
        tmp.assign(a * b);
        *self += &*tmp;
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        *self *= x;
    }
    fn div_u32_assign(&mut self, k: u32) {
        *self /= k;
    }
    fn neg_assign(&mut self) {
        rug::ops::NegAssign::neg_assign(self);
    }
    fn div_assign_ref(&mut self, x: &Self) {
        *self /= x;
    }
    fn sqrt_assign(&mut self) {
        self.sqrt_mut();
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        *self <<= e;
    }
    fn to_f64(&self) -> f64 {
        rug::Float::to_f64(self)
    }
    fn prec_bits(&self) -> u32 {
        self.prec()
    }
}

/// A polynomial vector field ẋ = F(x) given by its Taylor-coefficient recurrences.
pub trait JetField<S: TaylorScalar> {
    /// State dimension.
    fn dim(&self) -> usize;
    /// Make room for jets up to order `order` (may allocate; called before stepping, not per step).
    fn reserve(&mut self, order: usize);
    /// With `x[i][0..=k]` the normalised Taylor coefficients of the state, write into `out[i]` the
    /// k-th coefficient of F_i(x(t)). Called for k = 0, 1, 2, … in order within a step, so the
    /// field may keep the coefficients of its intermediate products from earlier k.
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]);
    /// `None` when the field is the flow on the whole box `x` (the default: polynomial fields
    /// are the flow everywhere); otherwise why not — e.g. a piecewise field whose region the box
    /// may leave. The validated integrator asks it of every a-priori box.
    fn region_holds(&self, x: &[S]) -> Option<String> {
        let _ = x;
        None
    }
    /// For a piecewise field: the piece that holds on the whole box `x` (one flag per region
    /// constraint), or why none is proven. The default (one piece) is the empty choice.
    fn decide_region(&self, x: &[S]) -> Result<Vec<bool>, String> {
        let _ = x;
        Ok(Vec::new())
    }
    /// Select the piece `choice` (from [`Self::decide_region`]); `relaxed` marks constraints
    /// whose piece is not decided, for which the field must enclose every piece's value (the
    /// hull). The default (one piece) ignores both.
    fn set_region(&mut self, choice: &[bool], relaxed: &[bool]) {
        let _ = (choice, relaxed);
    }
    /// Whether the region constraint `idx` is undecided on the box `x` (default: never).
    fn constraint_open(&self, x: &[S], idx: usize) -> bool {
        let _ = (x, idx);
        false
    }
    /// Optional fast path: given `x[i][0]`, write every normalised coefficient
    /// `x[i][1..=inv_k.len()]` of one step at once (`inv_k[k]` = fl(1/(k+1))) and return true.
    /// The default returns false and the integrator calls [`Self::coeff`] order by order. A field
    /// that overrides it must produce the same coefficients as [`Self::coeff`] up to rounding.
    fn step_coeffs(&mut self, x: &mut [Vec<S>], inv_k: &[f64]) -> bool {
        let _ = (x, inv_k);
        false
    }
    /// Optional f64 path for whole solves: an engine that keeps the jets in its own layout
    /// between the steps ([`StepperF64`]), so the integrator never copies them out. `None` (the
    /// default) unless the field runs on f64 and has been [reserved](Self::reserve) for `order`;
    /// [`integrate`] then goes through [`Self::step_coeffs`] / [`Self::coeff`]. An engine must
    /// produce the same coefficients as [`Self::step_coeffs`].
    fn stepper_f64(&mut self, order: usize) -> Option<&mut dyn StepperF64> {
        let _ = order;
        None
    }
}

/// An f64 engine for whole steps whose jets stay in the engine's own layout (e.g. order-major
/// rows of padded SIMD lanes), from [`JetField::stepper_f64`]. [`integrate`] drives it: the
/// state in, then per step the coefficients with their norms, Horner evaluations for the
/// output times inside the step, and the move to the step's end.
pub trait StepperF64 {
    /// Set the state x_0 (length [`JetField::dim`]).
    fn set_state(&mut self, x: &[f64]);
    /// Every normalised coefficient x_1 … x_N of the step from x_0 (N = `inv_k.len()`,
    /// `inv_k[k]` = fl(1/(k+1)), N at most the reserved order) and the ∞-norms
    /// [‖x_0‖, ‖x_{N−1}‖, ‖x_N‖].
    fn step(&mut self, inv_k: &[f64]) -> [f64; 3];
    /// x(τ) = Σ_k x_k τ^k into `out` by Horner's rule, acc·τ + x_k (a product, then a sum: the
    /// same roundings as the generic path).
    fn eval(&self, tau: f64, out: &mut [f64]);
    /// Replace x_0 by x(τ) (the next step starts there).
    fn advance(&mut self, tau: f64);
}

/// Errors from the Taylor integrator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TaylorError {
    /// The tolerance is not in (0, 1).
    #[error("Taylor tolerance {tol:e} must be a number in (0, 1), e.g. 1e-10 (f64) or 1e-100 (--prec 400)")]
    BadTolerance {
        /// The value.
        tol: f64,
    },
    /// The state has the wrong length.
    #[error("initial state has {found} entries, the field has dimension {expected}")]
    Shape {
        /// Field dimension.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// Output times invalid.
    #[error(transparent)]
    Times(#[from] crate::num::TimeError),
    /// The step size collapsed or the state blew up.
    #[error(
        "Taylor integration stopped at t = {t:e}: {why}; the solution may blow up in finite time, or \
         the tolerance is below what the precision can deliver (use --prec ≥ 3.4·digits)"
    )]
    Failed {
        /// Time reached.
        t: f64,
        /// What happened.
        why: String,
    },
}

/// The safety exponent of the step rule: h = ρ·e^{−2}·e^{−c/(N−1)} with c = 0.7 (the factor
/// Jorba & Zou's rule is used with in heyoka; it shrinks the step by ≈ 6 % at N = 13 and keeps
/// the two last terms' bound e^{−2m} of the geometric model from being met with equality).
pub const STEP_SAFETY_EXPONENT: f64 = 0.7;

/// Options of the Taylor integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaylorOptions {
    /// Local error tolerance ε (absolute below 1, relative above).
    pub tol: f64,
    /// Maximum number of steps.
    pub max_steps: usize,
}

impl TaylorOptions {
    /// Options with tolerance `tol` and a generous step limit.
    pub fn new(tol: f64) -> Self {
        TaylorOptions {
            tol,
            max_steps: 1_000_000,
        }
    }
    /// Jorba–Zou order N = ⌈−ln ε / 2⌉ + 1 (at least 2).
    pub fn order(&self) -> usize {
        ((-self.tol.ln() / 2.0).ceil() as usize + 1).max(2)
    }

    /// −ln of the step's fraction of the estimated radius of convergence ρ at order N:
    /// h = ρ·e^{−2}·e^{−0.7/(N−1)} (see the module doc), so this is 2 + 0.7/(N − 1).
    pub fn ln_step_safety(order: usize) -> f64 {
        2.0 + STEP_SAFETY_EXPONENT / (order.max(2) - 1) as f64
    }

    /// Modelled local truncation error of one step, relative to s = max(1, ‖x‖∞): with
    /// ‖x_m‖ ≈ s·ρ^{−m} (geometric decay at the estimated radius ρ) and q = h/ρ =
    /// e^{−2−0.7/(N−1)}, the remainder Σ_{m>N} ‖x_m‖h^m ≈ s·q^{N+1}/(1 − q). At ε = 1e-10
    /// (N = 13) this is 3.5e-13.
    pub fn modelled_local_error(&self) -> f64 {
        let n = self.order();
        let q = (-Self::ln_step_safety(n)).exp();
        q.powi(n as i32 + 1) / (1.0 - q)
    }
}

/// Step statistics.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TaylorStats {
    /// Number of steps.
    pub steps: usize,
    /// Taylor order N.
    pub order: usize,
    /// Smallest step.
    pub min_step: f64,
    /// Largest step.
    pub max_step: f64,
    /// Jet right-hand-side evaluations (one per order per step).
    pub coeff_evals: usize,
    /// Sum over steps of the estimated local errors (truncation + rounding), in the ∞-norm.
    pub err_estimate: f64,
}

/// States at the requested times.
#[derive(Debug, Clone)]
pub struct TaylorTrajectory<S> {
    /// One state per requested time.
    pub states: Vec<Vec<S>>,
    /// Statistics.
    pub stats: TaylorStats,
}

/// Integrate ẋ = F(x), x(0) = `x0`, reporting the state at each of `times` (sorted, ≥ 0).
///
/// # Errors
/// [`TaylorError`] for a tolerance outside (0, 1), a state of the wrong length, invalid times, or
/// a step that collapses / a state that stops being finite.
pub fn integrate<S: TaylorScalar + PartialOrd, F: JetField<S>>(
    field: &mut F,
    x0: &[S],
    times: &[S],
    opts: &TaylorOptions,
) -> Result<TaylorTrajectory<S>, TaylorError> {
    if !(opts.tol > 0.0 && opts.tol < 1.0) {
        return Err(TaylorError::BadTolerance { tol: opts.tol });
    }
    let n = field.dim();
    if x0.len() != n {
        return Err(TaylorError::Shape {
            expected: n,
            found: x0.len(),
        });
    }
    crate::num::check_times(&times.iter().map(S::to_f64).collect::<Vec<_>>())?;
    let order = opts.order();
    field.reserve(order);
    let zero = x0[0].zero_like();
    let prec = x0[0].prec_bits();
    let inv_k: Vec<f64> = (1..=order).map(|k| 1.0 / k as f64).collect();
    // The f64 engine when the field has one (jets in its own layout), else the jets here.
    if let Some(x0f) = S::as_f64_slice(x0)
        && let Some(engine) = field.stepper_f64(order)
    {
        engine.set_state(x0f);
        let mut jets = EngineJets {
            engine,
            buf: vec![0.0; n],
        };
        return run_steps(&mut jets, x0, times, opts, &inv_k, prec);
    }
    let jets: Vec<Vec<S>> = x0
        .iter()
        .map(|v| {
            let mut j = vec![zero.clone(); order + 1];
            j[0].assign_from(v);
            j
        })
        .collect();
    let mut jets = GenericJets {
        field,
        jets,
        out: vec![zero.clone(); n],
        // One Horner accumulator per component (the dense output copies them out).
        accs: vec![zero; n],
    };
    run_steps(&mut jets, x0, times, opts, &inv_k, prec)
}

/// The jets of one step as the stepping loop ([`run_steps`]) sees them: computed from x_0,
/// evaluated at τ inside the step, and moved to the step's end.
trait StepJets<S: TaylorScalar> {
    /// Every coefficient of the step from x_0; the ∞-norms [‖x_0‖, ‖x_{N−1}‖, ‖x_N‖].
    fn coeffs(&mut self, inv_k: &[f64]) -> [f64; 3];
    /// x(τ), a new state.
    fn eval(&mut self, tau: &S) -> Vec<S>;
    /// x_0 ← x(τ).
    fn advance(&mut self, tau: &S);
}

/// Jets as one `Vec` per component, filled by [`JetField::step_coeffs`] or order by order.
struct GenericJets<'a, S, F> {
    field: &'a mut F,
    jets: Vec<Vec<S>>,
    out: Vec<S>,
    accs: Vec<S>,
}

impl<S: TaylorScalar, F: JetField<S>> StepJets<S> for GenericJets<'_, S, F> {
    fn coeffs(&mut self, inv_k: &[f64]) -> [f64; 3] {
        if !self.field.step_coeffs(&mut self.jets, inv_k) {
            for (k, &inv) in inv_k.iter().enumerate() {
                self.field.coeff(&self.jets, k, &mut self.out);
                for (j, o) in self.jets.iter_mut().zip(self.out.iter()) {
                    j[k + 1].assign_from(o);
                    j[k + 1].div_u32_assign_inv((k + 1) as u32, inv);
                }
            }
        }
        // ‖x_0‖∞, ‖x_{N−1}‖∞, ‖x_N‖∞ in one pass over the components.
        let mut norms = [0.0f64; 3];
        for j in &self.jets {
            if let [x0, .., x_nm1, x_n] = &j[..] {
                norms[0] = norms[0].max(x0.to_f64().abs());
                norms[1] = norms[1].max(x_nm1.to_f64().abs());
                norms[2] = norms[2].max(x_n.to_f64().abs());
            }
        }
        norms
    }
    fn eval(&mut self, tau: &S) -> Vec<S> {
        horner_all(&self.jets, tau, &mut self.accs);
        self.accs.clone()
    }
    fn advance(&mut self, tau: &S) {
        horner_all(&self.jets, tau, &mut self.accs);
        for (j, acc) in self.jets.iter_mut().zip(&self.accs) {
            j[0].assign_from(acc);
        }
    }
}

/// Jets kept by a field's [`StepperF64`] (S is f64 here: every value passes through
/// [`TaylorScalar::to_f64`] / [`TaylorScalar::like_f64`] exactly).
struct EngineJets<'a> {
    engine: &'a mut dyn StepperF64,
    buf: Vec<f64>,
}

impl<S: TaylorScalar> StepJets<S> for EngineJets<'_> {
    fn coeffs(&mut self, inv_k: &[f64]) -> [f64; 3] {
        self.engine.step(inv_k)
    }
    fn eval(&mut self, tau: &S) -> Vec<S> {
        self.engine.eval(tau.to_f64(), &mut self.buf);
        self.buf.iter().map(|&v| tau.like_f64(v)).collect()
    }
    fn advance(&mut self, tau: &S) {
        self.engine.advance(tau.to_f64());
    }
}

/// The stepping loop of [`integrate`]: step rule, dense output, statistics.
fn run_steps<S: TaylorScalar + PartialOrd, J: StepJets<S>>(
    jets: &mut J,
    x0: &[S],
    times: &[S],
    opts: &TaylorOptions,
    inv_k: &[f64],
    prec: u32,
) -> Result<TaylorTrajectory<S>, TaylorError> {
    let order = inv_k.len();
    let zero = x0[0].zero_like();
    let unit = 2f64.powi(1 - prec as i32);
    let ln_step_safety = TaylorOptions::ln_step_safety(order);
    let mut states = Vec::with_capacity(times.len());
    let mut t = zero.clone();
    let mut tau = zero.clone();
    let mut h_s = zero.clone();
    let mut t_next = zero;
    let mut stats = TaylorStats {
        steps: 0,
        order,
        min_step: f64::INFINITY,
        max_step: 0.0,
        coeff_evals: 0,
        err_estimate: 0.0,
    };
    let mut next = 0;
    // Times equal to 0 (or to the current t) before any step.
    while next < times.len() && times[next] <= t {
        states.push(x0.to_vec());
        next += 1;
    }
    while next < times.len() {
        if stats.steps >= opts.max_steps {
            return Err(TaylorError::Failed {
                t: t.to_f64(),
                why: format!("the step limit {} was reached", opts.max_steps),
            });
        }
        // Taylor coefficients by the recurrences, and ‖x_0‖∞, ‖x_{N−1}‖∞, ‖x_N‖∞.
        let norms = jets.coeffs(inv_k);
        stats.coeff_evals += order;
        let scale = norms[0].max(1.0);
        // ρ = min_{m∈{N−1,N}} (s/‖x_m‖)^{1/m} and h = ρ·e^{−2}·e^{−0.7/(N−1)}, as
        // exp(min_m (ln s − ln c_m)/m − 2 − 0.7/(N−1)): at most three logarithms, one
        // exponential.
        // ln s is 0 for s = 1 (states below 1 in size): skip that logarithm.
        let ln_scale = if scale > 1.0 { scale.ln() } else { 0.0 };
        let mut ln_rho = f64::INFINITY;
        let c_last = [norms[1], norms[2]];
        for (c, inv_m) in [(c_last[0], inv_k[order - 2]), (c_last[1], inv_k[order - 1])] {
            if c > 0.0 {
                ln_rho = ln_rho.min((ln_scale - c.ln()) * inv_m);
            }
        }
        let mut h = (ln_rho - ln_step_safety).exp();
        let t_f = t.to_f64();
        let t_end = times[times.len() - 1].to_f64();
        let mut last = false;
        if !h.is_finite() || t_f + h >= t_end {
            h = t_end - t_f;
            last = true;
        }
        if h.is_nan() || h <= 0.0 || !scale.is_finite() {
            return Err(TaylorError::Failed {
                t: t_f,
                why: format!("step size {h:e} with state norm {scale:e}"),
            });
        }
        if last {
            t_next.assign_from(&times[times.len() - 1]);
        } else {
            h_s = h_s.like_f64(h);
            t_next.assign_from(&t);
            t_next.add_assign_ref(&h_s);
        }
        let h_pow = h.powi(order as i32 - 1);
        let trunc = (c_last[0] + c_last[1] * h) * h_pow;
        stats.err_estimate += trunc + 2.0 * order as f64 * unit * scale;
        stats.steps += 1;
        stats.min_step = stats.min_step.min(h);
        stats.max_step = stats.max_step.max(h);
        // Dense output inside (t, t_next].
        while next < times.len() && times[next] <= t_next {
            tau.assign_from(&times[next]);
            tau.sub_assign_ref(&t);
            states.push(jets.eval(&tau));
            next += 1;
        }
        if last {
            break;
        }
        // Advance to t_next.
        tau.assign_from(&t_next);
        tau.sub_assign_ref(&t);
        jets.advance(&tau);
        t.assign_from(&t_next);
    }
    Ok(TaylorTrajectory { states, stats })
}

/// accs[i] = Σ_k jets[i][k] τ^k by Horner's rule for every component i (no allocation; the
/// components' chains are independent, so they overlap in the CPU).
fn horner_all<S: TaylorScalar>(jets: &[Vec<S>], tau: &S, accs: &mut [S]) {
    for (acc, c) in accs.iter_mut().zip(jets) {
        let Some((top, rest)) = c.split_last() else {
            continue;
        };
        acc.assign_from(top);
        for ck in rest.iter().rev() {
            acc.mul_assign_ref(tau);
            acc.add_assign_ref(ck);
        }
    }
}
