//! Mid-rad ball arithmetic over MPFR: rigorous enclosures with directed rounding.
//!
//! A [`Ball`] `[m ± r]` is the set {x : |x − m| ≤ r}. The midpoint `m` is an MPFR `Float` at the
//! working precision p (rounded to nearest); the radius `r` is an `f64` that is only ever rounded
//! **up**. Every operation returns a ball that provably contains f(x) for every x in the input
//! balls (the "enclosure property"), by:
//!
//! - the rounding error of the midpoint: MPFR rounds correctly and reports whether the result is
//!   exact (its ternary value); when it is not, half an ulp of the result, 2^(e−p−1) for
//!   m = ±0.f·2^e, is added to the radius;
//! - the propagation of the input radii: exact formulas for +, −, ×, ÷; for the elementary
//!   functions the mean-value theorem |f(x) − f(m)| ≤ r · max_{|ξ−m|≤r} |f′(ξ)| with an
//!   upper bound of |f′| on the whole ball written in terms of the computed value (e.g.
//!   |eˣ − eᵐ| = eᵐ|e^ξ − 1| ≤ eᵐ(eʳ − 1); cosh m ≤ 1 + |sinh m|; |tanh′| ≤ 1);
//! - radius arithmetic in f64 rounded upward: each f64 result `v` computed to nearest is replaced
//!   by the next f64 above `v`, which is ≥ the exact value (the rounding error is at most half an ulp of
//!   `v`). Products with a zero factor are 0 (never `0·∞ = NaN`).
//!
//! **Why an f64 radius** (Arb uses a 30-bit mantissa with an unbounded exponent): the radius only
//! needs a few correct bits, and f64 arithmetic costs a nanosecond and allocates nothing, whereas a
//! low-precision MPFR radius would double the allocations of every operation. The price is the
//! f64 exponent range: a radius below 2⁻¹⁰⁷⁴ is rounded up to the smallest subnormal (so balls
//! around values smaller than ~1e-290 are wider, relative to their value, than 2^−p), and a
//! radius above 1.8e308 becomes +∞ (an infinite ball, which is a true but useless enclosure).
//! Neither can produce a wrong finite ball. All values of the closed forms in this crate lie well
//! inside the f64 range.
//!
//! **Domain errors.** Division by a ball that contains 0, `ln` of a ball that reaches 0 or below
//! and `sqrt` of a ball that reaches below 0 return a [`BallError`] naming the operation and the
//! ball; they never return a finite ball that could be wrong.

use crate::num::decimal::Num;
use crate::num::mp::{self, PrecError};
use rug::Float;
use rug::float::Round;
use rug::ops::{AddAssignRound, AssignRound, DivAssignRound, MulAssignRound, SubAssignRound};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;

thread_local! {
    /// Scratch for the second product of [`Ball::mul_add_mul`] (its precision follows the call).
    static PRODUCT_SCRATCH: RefCell<Float> = RefCell::new(Float::new(64));
}

/// Errors from ball operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BallError {
    /// An operation's argument ball leaves the function's domain.
    #[error(
        "{op} of the ball [{mid:e} ± {rad:e}], which {why}: no finite enclosure exists; raise the \
         precision if the ball is only wide because of rounding, or avoid the singular input"
    )]
    Domain {
        /// Operation name (`"division"`, `"ln"`, `"sqrt"`).
        op: &'static str,
        /// Midpoint (as f64, for the message).
        mid: f64,
        /// Radius.
        rad: f64,
        /// What is wrong.
        why: &'static str,
    },
    /// Invalid working precision.
    #[error(transparent)]
    Prec(#[from] PrecError),
}

/// A ball [mid ± rad]: an MPFR midpoint and an upward-rounded f64 radius.
#[derive(Clone, PartialEq)]
pub struct Ball {
    mid: Float,
    rad: f64,
}

impl fmt::Debug for Ball {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} ± {:e}]", self.mid.to_string_radix(10, Some(20)), self.rad)
    }
}

/// 2^e as an f64, rounded up (the smallest subnormal below the f64 range, +∞ above it).
pub fn pow2_up(e: i64) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e >= -1074 {
        f64::from_bits(1u64 << (e + 1074))
    } else {
        f64::from_bits(1)
    }
}

/// The next f64 above x (x itself for +∞ and NaN); `f64::next_up` without needing Rust 1.86.
#[inline]
pub(crate) fn up1(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// The next f64 below x.
#[inline]
pub(crate) fn down1(x: f64) -> f64 {
    -up1(-x)
}

/// a + b rounded up.
#[inline]
pub(crate) fn add_up(a: f64, b: f64) -> f64 {
    let s = a + b;
    // A sum that rounds to 0 is exactly 0 (gradual underflow); otherwise step up one ulp.
    if s.is_nan() {
        f64::INFINITY
    } else if s == 0.0 {
        0.0
    } else {
        up1(s)
    }
}

/// a·b rounded up, for a, b ≥ 0 (0 if either is 0, even when the other is +∞).
#[inline]
pub(crate) fn mul_up(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 { 0.0 } else { up1(a * b) }
}

/// a/b rounded up, for a ≥ 0, b > 0.
#[inline]
pub(crate) fn div_up(a: f64, b: f64) -> f64 {
    if a == 0.0 { 0.0 } else { up1(a / b) }
}

/// a − b rounded down.
#[inline]
fn sub_down(a: f64, b: f64) -> f64 {
    down1(a - b)
}

/// An f64 ≥ |x|, read from the top 53 bits of the significand without an MPFR call (this is
/// on every product's radius path): for x = ±0.b₁b₂…·2^e with h = b₁…b₅₃ as an integer (the
/// top limb shifted right by 11), |x| < (h + 1)·2^(e−53), and h + 1 ≤ 2⁵³ is an exact f64 (a
/// signed conversion, one instruction). For −958 ≤ e ≤ 1023 the factor 2^(e−53) and the product
/// (in [2^(e−1), 2^e]) are normal f64, so the scaling is exact: the bound is at most one unit in
/// the 53rd bit (≤ ε|x|) above |x| and needs no further rounding. Zero, ∞, NaN and other
/// exponents take MPFR's rounded conversion.
#[inline]
pub(crate) fn abs_up(x: &Float) -> f64 {
    if let Some((e @ -958..=1023, top)) = exp_top(x) {
        if top >> 63 == 1 {
            let h = ((top >> 11) + 1) as i64 as f64;
            return h * f64::from_bits(((e - 53 + 1023) as u64) << 52);
        }
    }
    if x.is_sign_negative() {
        -x.to_f64_round(Round::Down)
    } else {
        x.to_f64_round(Round::Up)
    }
}

/// An upper bound of the exact sum S of `m` non-negative terms, from their sum `s` computed in
/// f64 round-to-nearest (any order), where `np` of the terms are products of two f64 rounded to
/// nearest and the others exact f64 values. One raise instead of an upward rounding per
/// operation (the radius path of every product and sum).
///
/// Why it bounds S (u = 2⁻⁵³, m·u ≤ ½): a product rounds to p̃ = ab(1 + δ) + η with |δ| ≤ u and
/// |η| ≤ 2⁻¹⁰⁷⁵ (η only on underflow), a sum of non-negative floats to (x + y)(1 + δ) (exact in
/// the subnormal range). Every term passes through at most m roundings, so
/// S ≤ s(1 − u)⁻ᵐ + np·2⁻¹⁰⁷⁵/(1 − u) ≤ s(1 + 2mu) + np·2⁻¹⁰⁷⁵(1 + 2u). The result is
/// R = RN(A + T), A = RN(s·C), with C = 1 + 2(m + 3)u and T = (np + 1)·2⁻¹⁰⁷⁴ both exact;
/// A ≥ sC(1 − u) − 2⁻¹⁰⁷⁵ and R ≥ (A + T)(1 − u) (R = A + T exactly when below 2⁻¹⁰²¹), so
/// R ≥ sC(1 − u)² + (2np + 1)(1 − u)·2⁻¹⁰⁷⁵ ≥ s(1 + 2mu) + np·2⁻¹⁰⁷⁵(1 + 2u) ≥ S.
/// For s = 0 with `np` = 0 every term is 0 and 0 is returned (a product that underflowed to 0
/// may still hide a positive term: callers take their slow path on s = 0). A non-finite s gives
/// +∞ or NaN, which the callers handle.
#[inline]
pub(crate) fn sum_up(s: f64, m: u32, np: u32) -> f64 {
    if s == 0.0 && np == 0 {
        return 0.0;
    }
    s * (1.0 + f64::from(m + 3) * f64::EPSILON) + f64::from(np + 1) * f64::from_bits(1)
}

/// The exponent e (|x| ∈ [2^(e−1), 2^e)) and the most significant 64-bit limb of a regular
/// (finite, non-zero) MPFR number, read from its `mpfr_t` without a library call; `None` for 0,
/// ∞, NaN, and on targets whose limbs are not 64-bit.
#[inline]
pub(crate) fn exp_top(x: &Float) -> Option<(i64, u64)> {
    #[cfg(target_pointer_width = "64")]
    {
        let raw = x.as_raw();
        // SAFETY: `raw` points at the initialised mpfr_t owned by `x`, alive for this call. For
        // a regular number (`regular_p`) its significand `d` holds ⌈prec/64⌉ limbs (limb_t is u64
        // on 64-bit targets), the most significant last and normalised (top bit set).
        unsafe {
            if gmp_mpfr_sys::mpfr::regular_p(raw) == 0 {
                return None;
            }
            let limbs = ((*raw).prec as usize).div_ceil(64);
            let top = *(*raw).d.as_ptr().add(limbs - 1);
            #[allow(clippy::useless_conversion)]
            Some((i64::from((*raw).exp), u64::from(top)))
        }
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        let _ = x;
        None
    }
}

/// An f64 ≤ |x| (≥ 0): the largest one (MPFR's conversion rounded toward zero), read from the
/// top limb for −958 ≤ e ≤ 1023 as in [`abs_up`]: h·2^(e−53) with h = b₁…b₅₃, exact.
#[inline]
pub(crate) fn abs_down(x: &Float) -> f64 {
    if let Some((e @ -958..=1023, top)) = exp_top(x) {
        if top >> 63 == 1 {
            let h = (top >> 11) as i64 as f64;
            return h * f64::from_bits(((e - 53 + 1023) as u64) << 52);
        }
    }
    if x.is_sign_negative() {
        -x.to_f64_round(Round::Up)
    } else {
        x.to_f64_round(Round::Down)
    }
}

/// Half an ulp of `x` at its precision if `ord` says the value was rounded, else 0.
#[inline]
pub(crate) fn round_err(x: &Float, ord: Ordering) -> f64 {
    if ord == Ordering::Equal {
        return 0.0;
    }
    match x.get_exp() {
        Some(e) => pow2_up(i64::from(e) - i64::from(x.prec()) - 1),
        // Underflow to zero (|true value| below MPFR's smallest number) or overflow to ∞.
        None if x.is_zero() => f64::from_bits(1),
        None => f64::INFINITY,
    }
}

/// A lower bound of |m| − r, or a tiny positive stand-in (1 smallest subnormal) when |m| − r is
/// positive but below the f64 range; ≤ 0 when the ball [m ± r] may contain 0.
fn den_down(m: &Float, r: f64) -> f64 {
    if m.is_zero() {
        return -1.0;
    }
    let d = sub_down(abs_down(m), r);
    if d > f64::MIN_POSITIVE {
        return d;
    }
    // Slow path near the bottom of the f64 range: decide with MPFR's exponent range.
    let lo = Float::with_val_round(64, m.abs_ref(), Round::Down).0;
    let lo = Float::with_val_round(64, &lo - r, Round::Down).0;
    if lo > 0 { f64::from_bits(1) } else { -1.0 }
}

/// An upper bound of num/(|m| − r) given `den` = [`den_down`](m, r) > 0; computed in MPFR when
/// `den` is the tiny stand-in.
fn ratio_up(num: f64, m: &Float, r: f64, den: f64) -> f64 {
    if num == 0.0 {
        return 0.0;
    }
    if den > f64::MIN_POSITIVE {
        return div_up(num, den);
    }
    let lo = Float::with_val_round(64, m.abs_ref(), Round::Down).0;
    let lo = Float::with_val_round(64, &lo - r, Round::Down).0;
    Float::with_val_round(64, num / &lo, Round::Up)
        .0
        .to_f64_round(Round::Up)
}

/// An upper bound of eʳ − 1 for r ≥ 0.
pub(crate) fn expm1_up(r: f64) -> f64 {
    if r == 0.0 {
        0.0
    } else if r <= 0.5 {
        // eʳ − 1 = r + r²Σ_{k≥2} r^{k−2}/k! ≤ r + r²(e − 2) ≤ r + r² for r ≤ 1.
        add_up(r, mul_up(r, r))
    } else {
        let mut x = Float::with_val(53, r);
        x.exp_m1_round(Round::Up);
        x.to_f64_round(Round::Up)
    }
}

/// |m_x| r_y + |m_y| r_x + r_x r_y rounded up operation by operation, from upper bounds
/// `ax` ≥ |m_x|, `ay` ≥ |m_y| (a term with a zero radius is 0, even when the other factor is ∞).
fn mul_prop_slow(ax: f64, rx: f64, ay: f64, ry: f64) -> f64 {
    let mx_ry = if ry == 0.0 { 0.0 } else { mul_up(ax, ry) };
    let my_rx = if rx == 0.0 { 0.0 } else { mul_up(ay, rx) };
    add_up(add_up(mx_ry, my_rx), mul_up(rx, ry))
}

/// The radius of a product: |m_x| r_y + |m_y| r_x + r_x r_y + e (e the midpoint's rounding)
/// bounded from above, from `ax` ≥ |m_x| and `ay` ≥ |m_y|: one raise of the round-to-nearest
/// sum ([`sum_up`], 4 terms, 3 products); the operation-by-operation bound when that sum is 0,
/// ∞ or NaN (an underflow, an overflow or 0·∞).
#[inline]
fn mul_rad(ax: f64, rx: f64, ay: f64, ry: f64, e: f64) -> f64 {
    if rx == 0.0 && ry == 0.0 {
        return e;
    }
    let s = ((ax * ry + ay * rx) + rx * ry) + e;
    if s.is_finite() && s > 0.0 {
        sum_up(s, 4, 3)
    } else {
        add_up(mul_prop_slow(ax, rx, ay, ry), e)
    }
}

/// The radius of a sum or difference: r_x + r_y + e bounded from above ([`sum_up`], 3 exact
/// terms; +∞ for a NaN sum of radii).
#[inline]
fn add_rad(rx: f64, ry: f64, e: f64) -> f64 {
    let s = (rx + ry) + e;
    if s.is_nan() { f64::INFINITY } else { sum_up(s, 3, 0) }
}

impl Ball {
    /// The exact value `x` (radius 0), at `x`'s own precision.
    pub fn exact(x: Float) -> Self {
        Ball { mid: x, rad: 0.0 }
    }

    /// A ball from a midpoint and a radius (the radius must be ≥ 0; NaN becomes +∞).
    pub fn with_rad(mid: Float, rad: f64) -> Self {
        let rad = if rad.is_nan() { f64::INFINITY } else { rad.abs() };
        Ball { mid, rad }
    }

    /// The exact binary64 value `x` at `prec` ≥ 53 bits (radius 0).
    pub fn from_f64(prec: u32, x: f64) -> Self {
        let (mid, ord) = Float::with_val_round(prec, x, Round::Nearest);
        let rad = round_err(&mid, ord);
        Ball { mid, rad }
    }

    /// The integer `k`, exact at `prec` bits.
    pub fn from_u32(prec: u32, k: u32) -> Self {
        let (mid, ord) = Float::with_val_round(prec, k, Round::Nearest);
        let rad = round_err(&mid, ord);
        Ball { mid, rad }
    }

    /// An enclosure of the exact value of the decimal text of `x`, at `prec` bits: the correctly
    /// rounded midpoint and, unless the text is exactly representable, half an ulp of radius.
    ///
    /// # Errors
    /// [`BallError::Prec`] for `prec` below 53 bits or above [`crate::num::tol::MAX_PREC_BITS`].
    pub fn from_num(x: &Num, prec: u32) -> Result<Self, BallError> {
        mp::check_prec(prec)?;
        let parsed = Float::parse(x.as_str()).map_err(|_| BallError::Domain {
            op: "parse",
            mid: x.to_f64(),
            rad: 0.0,
            why: "is not decimal text",
        })?;
        let (mid, ord) = Float::with_val_round(prec, parsed, Round::Nearest);
        let rad = round_err(&mid, ord);
        Ok(Ball { mid, rad })
    }

    /// The midpoint and the radius, moved out.
    pub fn into_parts(self) -> (Float, f64) {
        (self.mid, self.rad)
    }

    /// The midpoint to overwrite in place and a setter's view of the radius (for the in-place
    /// operations of [`crate::num::ball_exp`]; whoever writes the midpoint must set a radius
    /// that covers it, through [`Self::set_rad`]).
    pub(crate) fn mid_mut(&mut self) -> &mut Float {
        &mut self.mid
    }

    /// Set the radius (≥ 0; NaN becomes +∞, as [`Self::with_rad`]).
    pub(crate) fn set_rad(&mut self, rad: f64) {
        self.rad = if rad.is_nan() { f64::INFINITY } else { rad.abs() };
    }

    /// Midpoint.
    pub fn mid(&self) -> &Float {
        &self.mid
    }
    /// Radius (an upper bound of the distance from the midpoint to any enclosed value).
    pub fn rad(&self) -> f64 {
        self.rad
    }
    /// Working precision of the midpoint.
    pub fn prec(&self) -> u32 {
        self.mid.prec()
    }
    /// Whether the radius is finite.
    pub fn is_finite(&self) -> bool {
        self.rad.is_finite() && self.mid.is_finite()
    }
    /// Whether 0 lies in the ball.
    pub fn contains_zero(&self) -> bool {
        abs_down(&self.mid) <= self.rad
    }
    /// Whether the ball is the exact value 0.
    pub fn is_exact_zero(&self) -> bool {
        self.mid.is_zero() && self.rad == 0.0
    }

    /// Whether the (exact) value `x` lies in the ball. Decided rigorously: |x − mid| is bounded
    /// from above with directed rounding before it is compared with the radius.
    pub fn contains(&self, x: &Float) -> bool {
        if !self.rad.is_finite() {
            return !self.rad.is_nan();
        }
        let up = Float::with_val_round(64, x - &self.mid, Round::Up).0;
        let down = Float::with_val_round(64, x - &self.mid, Round::Down).0;
        let d = up.to_f64_round(Round::Up).max(-down.to_f64_round(Round::Down));
        d <= self.rad
    }

    /// Lower end mid − rad, rounded down at the working precision.
    pub fn lo(&self) -> Float {
        Float::with_val_round(self.prec(), &self.mid - self.rad, Round::Down).0
    }
    /// Upper end mid + rad, rounded up at the working precision.
    pub fn hi(&self) -> Float {
        Float::with_val_round(self.prec(), &self.mid + self.rad, Round::Up).0
    }
    /// Radius relative to |mid| (an upper bound; +∞ when mid = 0 and rad > 0, 0 for an exact 0).
    pub fn rel_rad(&self) -> f64 {
        if self.rad == 0.0 {
            0.0
        } else {
            let m = abs_down(&self.mid);
            if m == 0.0 { f64::INFINITY } else { div_up(self.rad, m) }
        }
    }

    /// −x (exact).
    pub fn neg(&self) -> Ball {
        Ball {
            mid: Float::with_val(self.prec(), -&self.mid),
            rad: self.rad,
        }
    }

    /// A ball of `prec` bits to be overwritten by a `set_*` operation (0, exact).
    pub(crate) fn blank(prec: u32) -> Ball {
        Ball {
            mid: Float::new(prec),
            rad: 0.0,
        }
    }

    /// x + y.
    pub fn add(&self, y: &Ball) -> Ball {
        let mut r = Ball::blank(self.prec());
        r.set_add(self, y);
        r
    }

    /// x − y.
    pub fn sub(&self, y: &Ball) -> Ball {
        let mut r = Ball::blank(self.prec());
        r.set_sub(self, y);
        r
    }

    /// x ← a + b in place, at x's own precision (no allocation; [`Self::add`] is this into a
    /// new ball).
    pub fn set_add(&mut self, a: &Ball, b: &Ball) {
        let ord = self.mid.assign_round(&a.mid + &b.mid, Round::Nearest);
        self.rad = add_rad(a.rad, b.rad, round_err(&self.mid, ord));
    }

    /// x ← a − b in place, at x's own precision (no allocation; [`Self::sub`] is this into a
    /// new ball).
    pub fn set_sub(&mut self, a: &Ball, b: &Ball) {
        let ord = self.mid.assign_round(&a.mid - &b.mid, Round::Nearest);
        self.rad = add_rad(a.rad, b.rad, round_err(&self.mid, ord));
    }

    /// Widen the radius by r ≥ 0 (rounded up): the ball then also contains every point within
    /// r of the old one.
    pub fn widen(&mut self, r: f64) {
        self.rad = add_up(self.rad, r);
    }

    /// x ← x + y in place (no allocation; same enclosure as [`Self::add`]).
    pub fn add_assign(&mut self, y: &Ball) {
        let ord = self.mid.add_assign_round(&y.mid, Round::Nearest);
        self.rad = add_rad(self.rad, y.rad, round_err(&self.mid, ord));
    }

    /// x ← x·y in place (no allocation; same enclosure as [`Self::mul`]): the propagation
    /// bound is read from the inputs before the midpoint is overwritten.
    pub fn mul_assign(&mut self, y: &Ball) {
        let (ax, ay) = (abs_up(&self.mid), abs_up(&y.mid));
        let (rx, ry) = (self.rad, y.rad);
        let ord = self.mid.mul_assign_round(&y.mid, Round::Nearest);
        self.rad = mul_rad(ax, rx, ay, ry, round_err(&self.mid, ord));
    }

    /// x·y: |xy − m_x m_y| ≤ |m_x| r_y + |m_y| r_x + r_x r_y ([`Self::set_mul`] into a new ball).
    pub fn mul(&self, y: &Ball) -> Ball {
        let mut r = Ball::blank(self.prec());
        r.set_mul(self, y);
        r
    }

    /// x·y + u·v: RN(RN(m_x m_y) + RN(m_u m_v)), the second product in a per-thread scratch
    /// number, so one allocation (the result). The radius is the two products' propagation
    /// bounds plus the three roundings' half-ulps. (MPFR's `fmma`, one rounding of the exact
    /// sum, was 67 ns against 45 ns for this at 170 bits, measured 2026-12-06; the extra two
    /// half-ulps are far below the propagated radii of the closed forms.)
    pub fn mul_add_mul(&self, y: &Ball, u: &Ball, v: &Ball) -> Ball {
        PRODUCT_SCRATCH.with(|cell| self.mul_add_mul_tmp(y, u, v, &mut cell.borrow_mut()))
    }

    /// [`Self::mul_add_mul`] with a caller-provided scratch number for the second product (for
    /// loops: no thread-local look-up per call). `tmp` takes this ball's precision.
    pub fn mul_add_mul_tmp(&self, y: &Ball, u: &Ball, v: &Ball, tmp: &mut Float) -> Ball {
        let mut r = Ball::blank(self.prec());
        r.set_mul_add_mul_tmp(self, y, u, v, tmp);
        r
    }

    /// x ← a·b + u·v in place, at x's own precision, with the thread's scratch number for the
    /// second product (no allocation; [`Self::mul_add_mul`] is this into a new ball).
    pub fn set_mul_add_mul(&mut self, a: &Ball, b: &Ball, u: &Ball, v: &Ball) {
        PRODUCT_SCRATCH.with(|cell| self.set_mul_add_mul_tmp(a, b, u, v, &mut cell.borrow_mut()));
    }

    /// [`Self::set_mul_add_mul`] with a caller's scratch number (it takes x's precision).
    pub fn set_mul_add_mul_tmp(&mut self, x: &Ball, y: &Ball, u: &Ball, v: &Ball, tmp: &mut Float) {
        let (ay, au) = (abs_up(&y.mid), abs_up(&u.mid));
        self.set_mma_hoisted(x, (y, ay), (u, au), v, tmp);
    }

    /// [x_i·a + b·y_i]_i, each as [`Self::mul_add_mul`] (the same midpoints and radii) but with
    /// the bounds of |a| and |b| read once and one scratch number for the whole vector: the
    /// d-vector step of a closed form (w = w0/g + e β*). Each result has x_i's precision.
    pub fn lin_comb(x: &[Ball], a: &Ball, b: &Ball, y: &[Ball]) -> Vec<Ball> {
        let (aa, ab) = (abs_up(&a.mid), abs_up(&b.mid));
        PRODUCT_SCRATCH.with(|cell| {
            let tmp = &mut *cell.borrow_mut();
            let mut out = Vec::with_capacity(x.len().min(y.len()));
            for (xi, yi) in x.iter().zip(y) {
                // Each ball is written where it stays (not assembled on the stack and moved).
                out.push(Ball::blank(xi.prec()));
                if let Some(r) = out.last_mut() {
                    r.set_mma_hoisted(xi, (a, aa), (b, ab), yi, tmp);
                }
            }
            out
        })
    }

    /// x ← x·y + u·v with `ay` ≥ |m_y| and `au` ≥ |m_u| given (from [`abs_up`]).
    #[inline]
    fn set_mma_hoisted(&mut self, x: &Ball, (y, ay): (&Ball, f64), (u, au): (&Ball, f64), v: &Ball, tmp: &mut Float) {
        let p = self.prec();
        let mid = &mut self.mid;
        let o1 = mid.assign_round(&x.mid * &y.mid, Round::Nearest);
        let e1 = round_err(mid, o1);
        if tmp.prec() != p {
            tmp.set_prec(p);
        }
        let o2 = tmp.assign_round(&u.mid * &v.mid, Round::Nearest);
        let e2 = round_err(tmp, o2);
        let o3 = mid.add_assign_round(&*tmp, Round::Nearest);
        let e3 = round_err(mid, o3);
        let (ax, av) = (abs_up(&x.mid), abs_up(&v.mid));
        let (rx, ry, ru, rv) = (x.rad, y.rad, u.rad, v.rad);
        // Nine terms, six of them products of two f64: one raise ([`sum_up`]).
        let s = ((ax * ry + ay * rx) + rx * ry) + ((au * rv + av * ru) + ru * rv) + ((e1 + e2) + e3);
        let rad = if s.is_finite() && s > 0.0 {
            sum_up(s, 9, 6)
        } else {
            // 0·∞, an overflow or an underflow to 0: the operation-by-operation bound.
            let prop = add_up(mul_prop_slow(ax, rx, ay, ry), mul_prop_slow(au, ru, av, rv));
            add_up(add_up(prop, e1), add_up(e2, e3))
        };
        self.rad = rad;
    }

    /// x²: |x² − m²| ≤ 2|m| r + r².
    pub fn sqr(&self) -> Ball {
        let (mid, ord) = Float::with_val_round(self.prec(), self.mid.square_ref(), Round::Nearest);
        let prop = add_up(mul_up(2.0 * abs_up(&self.mid), self.rad), mul_up(self.rad, self.rad));
        Ball {
            rad: add_up(prop, round_err(&mid, ord)),
            mid,
        }
    }

    /// x·2^k (exact on the midpoint unless it over/underflows MPFR's exponent range).
    pub fn mul_pow2(&self, k: i32) -> Ball {
        let mut mid = self.mid.clone();
        if k >= 0 {
            mid <<= k as u32;
        } else {
            mid >>= (-k) as u32;
        }
        let f = pow2_up(i64::from(k));
        Ball {
            mid,
            rad: mul_up(self.rad, f),
        }
    }

    /// x·k for an integer k.
    pub fn mul_u32(&self, k: u32) -> Ball {
        let (mid, ord) = Float::with_val_round(self.prec(), &self.mid * k, Round::Nearest);
        let rad = add_up(mul_up(self.rad, f64::from(k)), round_err(&mid, ord));
        Ball { mid, rad }
    }

    /// x/y, for a ball y that excludes 0: |x/y − m_x/m_y| ≤ (r_x + |m_x/m_y| r_y)/(|m_y| − r_y).
    ///
    /// # Errors
    /// [`BallError::Domain`] when y contains 0.
    pub fn div(&self, y: &Ball) -> Result<Ball, BallError> {
        let mut r = Ball::blank(self.prec());
        r.set_div(self, y)?;
        Ok(r)
    }

    /// z ← x/y in place, at z's own precision (no allocation; [`Self::div`] is this into a new
    /// ball). On error z is unchanged.
    ///
    /// # Errors
    /// [`BallError::Domain`] when y contains 0.
    pub fn set_div(&mut self, x: &Ball, y: &Ball) -> Result<(), BallError> {
        let den = den_down(&y.mid, y.rad);
        if den.is_nan() || den <= 0.0 {
            return Err(BallError::Domain {
                op: "division",
                mid: y.mid.to_f64(),
                rad: y.rad,
                why: "contains 0",
            });
        }
        let ord = self.mid.assign_round(&x.mid / &y.mid, Round::Nearest);
        let e = round_err(&self.mid, ord);
        let q = add_up(abs_up(&self.mid), e);
        let prop = ratio_up(add_up(x.rad, mul_up(q, y.rad)), &y.mid, y.rad, den);
        self.rad = add_up(prop, e);
        Ok(())
    }

    /// 1/x.
    ///
    /// # Errors
    /// [`BallError::Domain`] when x contains 0.
    pub fn recip(&self) -> Result<Ball, BallError> {
        Ball::from_u32(self.prec(), 1).div(self)
    }

    /// √x, for a ball within [0, ∞): |√x − √m| ≤ min(r/√m, √r).
    ///
    /// # Errors
    /// [`BallError::Domain`] when the ball reaches below 0.
    pub fn sqrt(&self) -> Result<Ball, BallError> {
        let negative_mid = self.mid.is_sign_negative() && !self.mid.is_zero();
        // m ≥ m_lo ≥ r (f64 comparison is exact) proves m − r ≥ 0.
        if negative_mid || (self.rad > 0.0 && abs_down(&self.mid) < self.rad) {
            return Err(BallError::Domain {
                op: "sqrt",
                mid: self.mid.to_f64(),
                rad: self.rad,
                why: "reaches below 0",
            });
        }
        let mut mid = self.mid.clone();
        let ord = mid.sqrt_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let prop = if self.rad == 0.0 {
            0.0
        } else {
            let m_lo = abs_down(&self.mid);
            let by_sqrt_r = up1(self.rad.sqrt());
            if m_lo > 0.0 {
                let s = down1(m_lo.sqrt());
                if s > 0.0 {
                    div_up(self.rad, s).min(by_sqrt_r)
                } else {
                    by_sqrt_r
                }
            } else {
                by_sqrt_r
            }
        };
        Ok(Ball {
            rad: add_up(prop, e),
            mid,
        })
    }

    /// 1/√x (one MPFR call instead of √ then a division), for a ball within (0, ∞):
    /// |x^{−1/2} − m^{−1/2}| ≤ r·max|½ξ^{−3/2}| = r / (2(m − r)^{3/2}).
    ///
    /// # Errors
    /// [`BallError::Domain`] when the ball reaches 0 or below.
    pub fn rsqrt(&self) -> Result<Ball, BallError> {
        let mut r = Ball::blank(self.prec());
        r.set_rsqrt(self)?;
        Ok(r)
    }

    /// y ← 1/√x in place, at y's own precision (no allocation on the usual path; [`Self::rsqrt`]
    /// is this into a new ball). On error y is unchanged.
    ///
    /// # Errors
    /// [`BallError::Domain`] when the ball reaches 0 or below.
    pub fn set_rsqrt(&mut self, x: &Ball) -> Result<(), BallError> {
        let lo = den_down(&x.mid, x.rad);
        if x.mid.is_sign_negative() || x.mid.is_zero() || lo.is_nan() || lo <= 0.0 {
            return Err(BallError::Domain {
                op: "1/sqrt",
                mid: x.mid.to_f64(),
                rad: x.rad,
                why: "reaches 0 or below",
            });
        }
        if lo <= f64::MIN_POSITIVE.sqrt() {
            // (m − r)^{3/2} would leave the normal f64 range: the general route.
            let r = x.sqrt()?.with_prec(self.prec()).recip()?;
            *self = r;
            return Ok(());
        }
        let ord = self.mid.assign_round(x.mid.recip_sqrt_ref(), Round::Nearest);
        let e = round_err(&self.mid, ord);
        let prop = if x.rad == 0.0 {
            0.0
        } else {
            // (r/(m − r))/(2√(m − r)), each quotient rounded up over a denominator rounded
            // down; neither overflows (r ≤ m − r is not needed: r/lo is finite for lo > 0).
            div_up(div_up(x.rad, lo), 2.0 * down1(lo.sqrt()))
        };
        self.rad = add_up(prop, e);
        Ok(())
    }

    /// eˣ: |eˣ − eᵐ| ≤ eᵐ(eʳ − 1).
    pub fn exp(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.exp_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let em = add_up(abs_up(&mid), e);
        Ball {
            rad: add_up(mul_up(em, expm1_up(self.rad)), e),
            mid,
        }
    }

    /// eˣ − 1 (no cancellation near 0): |expm1 x − expm1 m| ≤ eᵐ(eʳ − 1), eᵐ = 1 + expm1 m.
    pub fn expm1(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.exp_m1_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let em = add_up(1.0, add_up(mid.to_f64_round(Round::Up), e)).max(0.0);
        Ball {
            rad: add_up(mul_up(em, expm1_up(self.rad)), e),
            mid,
        }
    }

    /// (eˣ − 1)/x, entire (= 1 at x = 0), for any ball. When the ball excludes 0 and |x| > ½
    /// this is expm1(x)/x in balls; otherwise the value at the midpoint plus r·max|φ′|, with
    /// |φ′(ξ)| = |Σ_{k≥1} k ξ^{k−1}/(k+1)!| ≤ Σ k/(k+1)! = 1 for |ξ| ≤ 1.
    pub fn expm1_over_x(&self) -> Ball {
        let p = self.prec();
        let big = add_up(abs_up(&self.mid), self.rad);
        if !self.contains_zero() && abs_down(&self.mid) > 0.5 {
            return self
                .expm1()
                .div(self)
                .unwrap_or_else(|_| Ball::with_rad(Float::with_val(p, 0), f64::INFINITY));
        }
        if big > 1.0 {
            // Wide ball around 0: |φ| ≤ e^{|x|} on it; enclose crudely.
            let hi = expm1_up(big).max(1.0) + 1.0;
            return Ball::with_rad(Float::with_val(p, 0), up1(hi));
        }
        let at_mid = if self.mid.is_zero() {
            Ball::from_u32(p, 1)
        } else {
            let m = Ball::exact(self.mid.clone());
            m.expm1()
                .div(&m)
                .unwrap_or_else(|_| Ball::with_rad(Float::with_val(p, 0), f64::INFINITY))
        };
        Ball {
            rad: add_up(at_mid.rad, self.rad),
            mid: at_mid.mid,
        }
    }

    /// ln x, for a ball within (0, ∞): |ln x − ln m| ≤ r/(m − r).
    ///
    /// # Errors
    /// [`BallError::Domain`] when the ball reaches 0 or below.
    pub fn ln(&self) -> Result<Ball, BallError> {
        let lo = den_down(&self.mid, self.rad);
        if self.mid.is_sign_negative() || self.mid.is_zero() || lo.is_nan() || lo <= 0.0 {
            return Err(BallError::Domain {
                op: "ln",
                mid: self.mid.to_f64(),
                rad: self.rad,
                why: "reaches 0 or below",
            });
        }
        let mut mid = self.mid.clone();
        let ord = mid.ln_round(Round::Nearest);
        let e = round_err(&mid, ord);
        Ok(Ball {
            rad: add_up(ratio_up(self.rad, &self.mid, self.rad, lo), e),
            mid,
        })
    }

    /// sinh x: |sinh x − sinh m| ≤ r·cosh(|m| + r) ≤ r(1 + |sinh m|)eʳ.
    pub fn sinh(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.sinh_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let ch = add_up(1.0, add_up(abs_up(&mid), e));
        let prop = mul_up(mul_up(self.rad, ch), add_up(1.0, expm1_up(self.rad)));
        Ball {
            rad: add_up(prop, e),
            mid,
        }
    }

    /// cosh x: |cosh x − cosh m| ≤ r·sinh(|m| + r) ≤ r·cosh(m)·eʳ.
    pub fn cosh(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.cosh_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let ch = add_up(abs_up(&mid), e);
        let prop = mul_up(mul_up(self.rad, ch), add_up(1.0, expm1_up(self.rad)));
        Ball {
            rad: add_up(prop, e),
            mid,
        }
    }

    /// tanh x: |tanh′| = sech² ≤ 1, so |tanh x − tanh m| ≤ r.
    pub fn tanh(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.tanh_round(Round::Nearest);
        let e = round_err(&mid, ord);
        Ball {
            rad: add_up(self.rad, e),
            mid,
        }
    }

    /// asinh x: |asinh′ ξ| = 1/√(1 + ξ²) ≤ min(1, 1/(|m| − r)).
    pub fn asinh(&self) -> Ball {
        let mut mid = self.mid.clone();
        let ord = mid.asinh_round(Round::Nearest);
        let e = round_err(&mid, ord);
        let lo = sub_down(abs_down(&self.mid), self.rad);
        let slope = if lo > 1.0 { up1(1.0 / lo).min(1.0) } else { 1.0 };
        Ball {
            rad: add_up(mul_up(self.rad, slope), e),
            mid,
        }
    }

    /// x ← x − y in place (no allocation).
    pub fn sub_assign(&mut self, y: &Ball) {
        let ord = self.mid.sub_assign_round(&y.mid, Round::Nearest);
        self.rad = add_rad(self.rad, y.rad, round_err(&self.mid, ord));
    }

    /// x ← a·b in place, at x's own precision (no allocation when x already has it).
    pub fn set_mul(&mut self, a: &Ball, b: &Ball) {
        let ord = self.mid.assign_round(&a.mid * &b.mid, Round::Nearest);
        self.rad = mul_rad(abs_up(&a.mid), a.rad, abs_up(&b.mid), b.rad, round_err(&self.mid, ord));
    }

    /// x ← x + a·b in place with a caller's scratch ball (two roundings: the product, then the
    /// sum; both half-ulps go into the radius).
    pub fn add_mul_tmp(&mut self, a: &Ball, b: &Ball, tmp: &mut Ball) {
        if tmp.prec() != self.prec() {
            tmp.mid.set_prec(self.prec());
        }
        tmp.set_mul(a, b);
        self.add_assign(tmp);
    }

    /// x ← x + Σ_j a_j·b_{n−1−j} (n = min(len a, len b), b's last n read backwards: one
    /// coefficient of a Cauchy product) with `tmp`'s midpoint as the products' scratch number. Midpoints:
    /// each product and each sum rounded to nearest at this ball's precision, as in
    /// [`Self::add_mul_tmp`]. Radius: Σ_j (|m_a| r_b + |m_b| r_a + r_a r_b) plus every rounding's
    /// half-ulp, summed in f64 round-to-nearest and then raised once — the computed sum s̃ of
    /// m ≤ 5n + 1 non-negative terms (each product of two f64 rounded too) satisfies
    /// true ≤ s̃·(1 − u)^−(m+1) ≤ s̃·(1 + 2(m + 1)u) for (m + 1)u < 1/2, plus 2^−1075 per product
    /// that underflows (3n of them at most) — instead of an upward rounding per term.
    pub fn add_dot_rev(&mut self, a: &[Ball], b: &[Ball], tmp: &mut Ball) {
        let n = a.len().min(b.len());
        self.add_dot(a[..n].iter().zip(b[b.len() - n..].iter().rev()), tmp);
    }

    /// x ← x + Σ a·b over the pairs (a, b) of `pairs`, as [`Self::add_dot_rev`].
    pub fn add_dot<'a>(&mut self, pairs: impl Iterator<Item = (&'a Ball, &'a Ball)>, tmp: &mut Ball) {
        let tmp = &mut tmp.mid;
        let p = self.prec();
        if tmp.prec() != p {
            tmp.set_prec(p);
        }
        let mut n = 0usize;
        let mut r = 0.0f64;
        for (x, y) in pairs {
            n += 1;
            let o1 = tmp.assign_round(&x.mid * &y.mid, Round::Nearest);
            if y.rad != 0.0 {
                r += abs_up(&x.mid) * y.rad;
            }
            if x.rad != 0.0 {
                r += abs_up(&y.mid) * x.rad + x.rad * y.rad;
            }
            r += round_err(tmp, o1);
            let o2 = self.mid.add_assign_round(&*tmp, Round::Nearest);
            r += round_err(&self.mid, o2);
        }
        if r.is_nan() {
            r = f64::INFINITY;
        }
        let m = (5 * n + 1) as f64;
        // (m + 4)ε = 2(m + 1)u plus room for the two roundings of this line (u = ε/2).
        let raised = r * (1.0 + (m + 4.0) * f64::EPSILON) + 3.0 * n as f64 * f64::from_bits(1);
        self.rad = add_up(self.rad, raised);
    }

    /// x ← x/k for an integer k ≥ 1 in place: |x/k − m/k| ≤ r/k.
    pub fn div_u32_assign(&mut self, k: u32) {
        let ord = self.mid.div_assign_round(k, Round::Nearest);
        self.rad = add_up(div_up(self.rad, f64::from(k)), round_err(&self.mid, ord));
    }

    /// x ← x·2^e in place (the midpoint exactly, unless it leaves MPFR's exponent range).
    pub fn mul_pow2_assign(&mut self, e: i32) {
        if e >= 0 {
            self.mid <<= e as u32;
        } else {
            self.mid >>= (-e) as u32;
        }
        self.rad = mul_up(self.rad, pow2_up(i64::from(e)));
    }

    /// x ← −x in place (exact).
    pub fn neg_assign(&mut self) {
        rug::ops::NegAssign::neg_assign(&mut self.mid);
    }

    /// An upper bound of max |x| over the ball (|m| + r rounded up).
    pub fn mag_up(&self) -> f64 {
        add_up(abs_up(&self.mid), self.rad)
    }

    /// The same ball at another precision: the midpoint rounded to `prec` bits and the rounding
    /// added to the radius (an enclosure of every point of `self`).
    pub fn with_prec(&self, prec: u32) -> Ball {
        let (mid, ord) = Float::with_val_round(prec, &self.mid, Round::Nearest);
        Ball {
            rad: add_up(self.rad, round_err(&mid, ord)),
            mid,
        }
    }

    /// The midpoint as an exact ball (radius 0).
    pub fn mid_ball(&self) -> Ball {
        Ball {
            mid: self.mid.clone(),
            rad: 0.0,
        }
    }

    /// Whether every point of `self` lies in `other`, decided rigorously:
    /// |m_s − m_o| + r_s ≤ r_o with the distance bounded from above.
    pub fn subset_of(&self, other: &Ball) -> bool {
        if !other.rad.is_finite() {
            return !other.rad.is_nan() && self.mid.is_finite();
        }
        if !self.is_finite() {
            return false;
        }
        let up = Float::with_val_round(64, &self.mid - &other.mid, Round::Up).0;
        let down = Float::with_val_round(64, &self.mid - &other.mid, Round::Down).0;
        let d = up.to_f64_round(Round::Up).max(-down.to_f64_round(Round::Down));
        add_up(d, self.rad) <= other.rad
    }

    /// The smallest ball with this precision's midpoint grid that contains both balls (their
    /// convex hull, rounded outward).
    pub fn hull(&self, other: &Ball) -> Ball {
        let p = self.prec().max(other.prec());
        let lo = self.lo().min(&other.lo());
        let hi = self.hi().max(&other.hi());
        Ball::from_endpoints(p, &lo, &hi)
    }

    /// A ball containing the interval [lo, hi] (lo ≤ hi): midpoint (lo + hi)/2 rounded to
    /// `prec` bits, radius the larger distance to the two ends, rounded up.
    pub fn from_endpoints(prec: u32, lo: &Float, hi: &Float) -> Ball {
        let mut mid = Float::with_val(prec, lo + hi);
        mid >>= 1u32;
        let d_hi = Float::with_val_round(64, hi - &mid, Round::Up)
            .0
            .to_f64_round(Round::Up);
        let d_lo = Float::with_val_round(64, &mid - lo, Round::Up)
            .0
            .to_f64_round(Round::Up);
        Ball {
            mid,
            rad: d_hi.max(d_lo).max(0.0),
        }
    }

    /// x ← x·[0, 1]: a ball containing every s·ξ with s ∈ [0, 1] and ξ in the ball, i.e. the
    /// interval [min(0, lo), max(0, hi)].
    pub fn scale_unit_interval(&mut self) {
        let zero = Float::new(self.prec());
        let lo = self.lo().min(&zero);
        let hi = self.hi().max(&zero);
        *self = Ball::from_endpoints(self.prec(), &lo, &hi);
    }

    /// Decimal text of the lower end, rounded down, with `digits` significant digits.
    pub fn lo_decimal(&self, digits: usize) -> String {
        self.lo().to_string_radix_round(10, Some(digits), Round::Down)
    }
    /// Decimal text of the upper end, rounded up, with `digits` significant digits.
    pub fn hi_decimal(&self, digits: usize) -> String {
        self.hi().to_string_radix_round(10, Some(digits), Round::Up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// `add_dot_rev` encloses the exact Cauchy coefficient Σ a_j b_{n−1−j} of points drawn
        /// inside the input balls (ends, centre, an interior point; exact at 6000 bits), and its
        /// radius is that of the one-product-at-a-time `add_mul_tmp` up to the dot's single
        /// raise, (5n + 8)ε relative plus 3n subnormals (the two sum the same terms; the
        /// sequential form rounds every term upward instead).
        #[test]
        fn add_dot_rev_encloses_and_matches_the_sequential_radius(
            prec in prop::sample::select(vec![64u32, 170, 334]),
            mids in proptest::collection::vec(-1e3f64..1e3, 2..24),
            rads in proptest::collection::vec(prop::sample::select(vec![0.0, 1e-40, 1e-20, 1e-3]), 24),
            exps in proptest::collection::vec(-60i32..60, 24),
            theta in -1.0f64..1.0,
        ) {
            let n = mids.len() / 2;
            let mk = |i: usize| {
                let m = Float::with_val(prec, mids[i]) << exps[i];
                let m = Float::with_val(prec, &m / 3u32);
                Ball::with_rad(m, rads[i])
            };
            let a: Vec<Ball> = (0..n).map(mk).collect();
            let b: Vec<Ball> = (n..2 * n).map(mk).collect();
            let start = Ball::from_f64(prec, 0.25);
            let mut dot = start.clone();
            let mut tmp = start.clone();
            dot.add_dot_rev(&a, &b, &mut tmp);
            let mut seq = start.clone();
            for (x, y) in a.iter().zip(b.iter().rev()) {
                seq.add_mul_tmp(x, y, &mut tmp);
            }
            let raise = 1.0 + (5 * n + 8) as f64 * f64::EPSILON;
            prop_assert!(dot.rad() <= seq.rad() * raise + 3.0 * n as f64 * f64::from_bits(1) + f64::MIN_POSITIVE,
                "dot radius {:e} vs sequential {:e}", dot.rad(), seq.rad());
            for th in [-1.0, 0.0, 1.0, theta] {
                let pt = |x: &Ball| Float::with_val(6000, x.mid()) + th * x.rad();
                let mut exact = Float::with_val(6000, 0.25);
                for (x, y) in a.iter().zip(b.iter().rev()) {
                    exact += Float::with_val(6000, pt(x) * pt(y));
                }
                prop_assert!(dot.contains(&exact), "θ = {th}: {dot:?} misses {exact}");
            }
        }
    }

    /// `abs_up` reads the top limb: it must bound |x| from above (checked exactly in MPFR) and
    /// stay within a few ulps (and `abs_down` equal MPFR's conversion rounded toward 0),
    /// including significands of all ones, several precisions, both signs and exponents beyond
    /// the f64 range at both ends.
    #[test]
    fn abs_up_bounds_from_above() {
        for prec in [53u32, 64, 65, 170, 334] {
            let ones = (Float::with_val(prec, 1) - Float::with_val(prec, Float::i_exp(1, -(prec as i32)))).abs();
            let third = Float::with_val(prec, 1) / 3u32;
            for base in [ones, third, Float::with_val(prec, 1), Float::with_val(prec, 0.75)] {
                for e in [-1200i32, -1080, -1000, -3, 0, 5, 1000, 1030] {
                    for sgn in [1i32, -1] {
                        let x = Float::with_val(prec, &base << e) * sgn;
                        let b = abs_up(&x);
                        let exact_abs = Float::with_val(prec, x.abs_ref());
                        assert!(Float::with_val(2000, b) >= exact_abs, "abs_up {b:e} < |{x}|");
                        // abs_down (also read from the top limb) is MPFR's conversion toward 0.
                        let down = exact_abs.to_f64_round(Round::Down);
                        assert_eq!(abs_down(&x).to_bits(), down.to_bits(), "abs_down of {x}");
                        if b.is_finite() && b > f64::MIN_POSITIVE {
                            // the doc promises ≤ ~2 ulps above |x|; 4·ε·b leaves margin (a looser
                            // bound would only widen radii, not break them)
                            let slack = Float::with_val(2000, b) - &exact_abs;
                            assert!(
                                slack <= Float::with_val(64, b) * 4.0 * f64::EPSILON,
                                "abs_up {b:e} vs {x}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(abs_up(&Float::new(170)), 0.0);
        assert_eq!(
            abs_up(&Float::with_val(170, rug::float::Special::Infinity)),
            f64::INFINITY
        );
    }

    #[test]
    fn pow2_up_range() {
        assert_eq!(pow2_up(0), 1.0);
        assert_eq!(pow2_up(-1074), f64::from_bits(1));
        assert_eq!(pow2_up(-5000), f64::from_bits(1));
        assert_eq!(pow2_up(1024), f64::INFINITY);
        assert_eq!(pow2_up(-53), f64::EPSILON / 2.0);
    }

    #[test]
    fn decimal_input_is_enclosed() {
        let b = Ball::from_num(&Num::parse("0.1").unwrap(), 128).unwrap();
        let exact = Float::with_val(1000, Float::parse("0.1").unwrap());
        assert!(b.contains(&exact));
        assert!(b.rad() > 0.0 && b.rad() < 1e-39, "{}", b.rad());
        let half = Ball::from_num(&Num::parse("0.5").unwrap(), 128).unwrap();
        assert_eq!(half.rad(), 0.0);
        assert!(Ball::from_num(&Num::parse("1").unwrap(), 20).is_err());
    }

    #[test]
    fn domain_errors_are_errors() {
        let z = Ball::with_rad(Float::with_val(64, 1e-30), 1e-20);
        assert!(Ball::from_u32(64, 1).div(&z).is_err());
        assert!(z.ln().is_err());
        assert!(z.sqrt().is_err());
        let msg = z.ln().unwrap_err().to_string();
        assert!(msg.contains("ln") && msg.contains("reaches 0"), "{msg}");
        // Exact zero has an exact square root.
        assert!(Ball::exact(Float::with_val(64, 0)).sqrt().unwrap().is_exact_zero());
    }
}
