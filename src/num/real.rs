//! [`Real`]: the field operations and elementary functions a closed form needs, implemented for
//! f64, MPFR (`rug::Float`, at the precision of its operands) and [`Ball`] (rigorous enclosures),
//! so that a formula is written once and evaluated in any of the three (`style.md` §7).
//!
//! The operations are named `plus`, `minus`, … rather than `add`, `sub`, … so that they never
//! shadow `std::ops` or [`Ball`]'s inherent methods. Division, square root and logarithm return
//! a [`RealError`] instead of a non-finite or unproven value: for f64 and MPFR when the result is
//! not finite, for balls when the argument ball leaves the function's domain.

use crate::num::ball::{Ball, BallError};
use crate::num::ball_exp::ExpTable;
use crate::num::decimal::Num;
use crate::num::mp::PrecError;
use rug::Float;
use std::sync::Arc;

/// A value that could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RealError {
    /// A ball left a function's domain.
    #[error(transparent)]
    Ball(#[from] BallError),
    /// A precision outside the supported range.
    #[error(transparent)]
    Prec(#[from] PrecError),
    /// An f64 or MPFR operation gave a non-finite value.
    #[error("{op} gave a non-finite value ({value}): the argument is outside the function's domain or overflows")]
    NonFinite {
        /// Operation (`"division"`, `"sqrt"`, `"ln"`).
        op: &'static str,
        /// The value obtained.
        value: f64,
    },
}

/// Field operations and elementary functions over f64, MPFR and balls.
pub trait Real: Clone + std::fmt::Debug {
    /// The binary64 value `v` at the precision of `self` (exact for p ≥ 53).
    fn real(&self, v: f64) -> Self;
    /// self + y.
    fn plus(&self, y: &Self) -> Self;
    /// self − y.
    fn minus(&self, y: &Self) -> Self;
    /// self · y.
    fn times(&self, y: &Self) -> Self;
    /// self / y.
    ///
    /// # Errors
    /// [`RealError`] for a divisor that is (or, for a ball, may be) zero.
    fn over(&self, y: &Self) -> Result<Self, RealError>;
    /// √self.
    ///
    /// # Errors
    /// [`RealError`] for a negative argument.
    fn sqrt_r(&self) -> Result<Self, RealError>;
    /// ln self.
    ///
    /// # Errors
    /// [`RealError`] for an argument ≤ 0.
    fn ln_r(&self) -> Result<Self, RealError>;
    /// e^self.
    fn exp_r(&self) -> Self;
    /// asinh self.
    fn asinh_r(&self) -> Self;
    /// Whether the value (a ball's midpoint) is ≥ 0: chooses between formulas that are equal in
    /// exact arithmetic, never decides a result.
    fn nonneg_hint(&self) -> bool;
    /// Nearest f64 (a ball's midpoint).
    fn to_f64_r(&self) -> f64;

    /// A value that stands for "not computed" at the precision of `self` (NaN; for a ball, a
    /// NaN midpoint with an infinite radius): set-up code uses it where an f64 or MPFR value
    /// overflows, so that the failure surfaces where the value is used.
    fn nan_r(&self) -> Self;
    /// −self (exact).
    fn neg_r(&self) -> Self {
        self.real(0.0).minus(self)
    }
    /// self² (for a ball tighter than self·self: one ball, not two independent ones).
    fn sqr_r(&self) -> Self {
        self.times(self)
    }
    /// self·2^k (exact unless it leaves the exponent range).
    fn mul_pow2_r(&self, k: i32) -> Self;
    /// self·k for a small integer k.
    fn mul_u32_r(&self, k: u32) -> Self {
        self.times(&self.real(f64::from(k)))
    }
    /// self·y + u·v (for a ball: one allocation, see [`Ball::mul_add_mul`]).
    fn mul_add_mul_r(&self, y: &Self, u: &Self, v: &Self) -> Self {
        self.times(y).plus(&u.times(v))
    }
    /// self ← self + a·b with a caller's scratch value `tmp` (matrix products and eliminations:
    /// a ball forms the product in `tmp` and adds in place, no allocation). The same value, bit
    /// for bit, as `self.plus(&a.times(b))`.
    fn add_mul_r(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        let _ = tmp;
        *self = self.plus(&a.times(b));
    }
    /// self ← self − a·b, as [`Real::add_mul_r`] (bit for bit `self.minus(&a.times(b))`).
    fn sub_mul_r(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        let _ = tmp;
        *self = self.minus(&a.times(b));
    }
    /// [x_i·a + b·y_i]_i (one scalar pair applied to two vectors of equal length, e.g.
    /// w = w0/g + e β*): [`Real::mul_add_mul_r`] per entry (a ball: the same values, with the
    /// bounds of |a|, |b| read once, [`Ball::lin_comb`]).
    fn lin_comb_r(x: &[Self], a: &Self, b: &Self, y: &[Self]) -> Vec<Self> {
        x.iter().zip(y).map(|(xi, yi)| xi.mul_add_mul_r(a, b, yi)).collect()
    }
    /// self ← self + y.
    fn add_assign_r(&mut self, y: &Self) {
        *self = self.plus(y);
    }
    /// self ← self · y.
    fn mul_assign_r(&mut self, y: &Self) {
        *self = self.times(y);
    }
    /// self ← x + y, reusing self's storage where the type has any (a ball: at self's
    /// precision, no allocation). The `set_*` operations give the same value as their
    /// allocating forms when self has the operands' precision.
    fn set_plus(&mut self, x: &Self, y: &Self) {
        *self = x.plus(y);
    }
    /// self ← x − y (see [`Real::set_plus`]).
    fn set_minus(&mut self, x: &Self, y: &Self) {
        *self = x.minus(y);
    }
    /// self ← x · y (see [`Real::set_plus`]).
    fn set_times(&mut self, x: &Self, y: &Self) {
        *self = x.times(y);
    }
    /// self ← x·y + u·v (see [`Real::set_plus`]).
    fn set_mul_add_mul(&mut self, x: &Self, y: &Self, u: &Self, v: &Self) {
        *self = x.mul_add_mul_r(y, u, v);
    }
    /// self ← x / y (see [`Real::set_plus`]).
    ///
    /// # Errors
    /// As [`Real::over`]; self is then unchanged.
    fn set_over(&mut self, x: &Self, y: &Self) -> Result<(), RealError> {
        *self = x.over(y)?;
        Ok(())
    }
    /// self ← 1/√x (see [`Real::set_plus`]).
    ///
    /// # Errors
    /// As [`Real::rsqrt_r`]; self is then unchanged.
    fn set_rsqrt(&mut self, x: &Self) -> Result<(), RealError> {
        *self = x.rsqrt_r()?;
        Ok(())
    }
    /// 1/√self.
    ///
    /// # Errors
    /// [`RealError`] for an argument ≤ 0 (a ball reaching 0 or below).
    fn rsqrt_r(&self) -> Result<Self, RealError> {
        self.real(1.0).over(&self.sqrt_r()?)
    }
    /// sinh self.
    fn sinh_r(&self) -> Self;
    /// cosh self.
    fn cosh_r(&self) -> Self;
    /// Whether the value is zero: `Some(true)` exactly zero, `Some(false)` certainly non-zero,
    /// `None` undecided (a ball that contains 0 with a positive radius). Chooses between a
    /// formula and its limit; a rigorous caller must not pick either on `None`.
    fn zero_test(&self) -> Option<bool>;

    /// What the exponentials need besides the argument: nothing for f64 and MPFR, the tables of
    /// [`ExpTable`] for balls (its entries built once per process for each working precision,
    /// shared by every table and clone).
    type ExpCtx: Clone + std::fmt::Debug + Send + Sync;
    /// The exponential context at the precision of `self`.
    ///
    /// # Errors
    /// [`RealError::Prec`] for a precision outside [53, `MAX_PREC_BITS`] (balls).
    fn exp_ctx(&self) -> Result<Self::ExpCtx, RealError>;
    /// e^self.
    fn exp_in(&self, cx: &Self::ExpCtx) -> Self;
    /// e^self − 1, accurate relative to the value near 0.
    fn expm1_in(&self, cx: &Self::ExpCtx) -> Self;
    /// φ₁(self) = (e^self − 1)/self, 1 at 0 (entire; for balls also when self contains 0).
    fn expm1_over_x_in(&self, cx: &Self::ExpCtx) -> Self;
    /// self ← e^x − 1 (see [`Real::set_plus`]).
    fn set_expm1_in(&mut self, x: &Self, cx: &Self::ExpCtx) {
        *self = x.expm1_in(cx);
    }
    /// self ← φ₁(x) (see [`Real::set_plus`]).
    fn set_expm1_over_x_in(&mut self, x: &Self, cx: &Self::ExpCtx) {
        *self = x.expm1_over_x_in(cx);
    }
    /// The decimal text `x` at this value's precision (a ball: an enclosure of its exact value).
    ///
    /// # Errors
    /// [`RealError`] when `x` does not parse at this precision.
    fn num_r(&self, x: &Num) -> Result<Self, RealError>;
    /// An upper bound of |x| (a ball: over the whole ball, rounded up; f64 and MPFR: |x| as an
    /// f64, an estimate like every number of those types).
    fn mag_up_r(&self) -> f64;
    /// Account for a proven truncation error of size ≤ r (a ball widens its radius by r; f64 and
    /// MPFR, whose results are estimates, are unchanged: the callers choose truncation orders
    /// that make r smaller than their rounding).
    #[must_use]
    fn widen_r(&self, r: f64) -> Self;
    /// Working precision in bits (53 for f64).
    fn bits_r(&self) -> u32;
    /// A ball's radius; 0 for f64 and MPFR (whose values carry no enclosure).
    fn rad_r(&self) -> f64;
    /// A ball's midpoint as an exact ball (radius 0); f64 and MPFR values themselves.
    #[must_use]
    fn mid_r(&self) -> Self;
}

fn finite(op: &'static str, v: f64) -> Result<f64, RealError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RealError::NonFinite { op, value: v })
    }
}

impl Real for f64 {
    fn real(&self, v: f64) -> Self {
        v
    }
    fn plus(&self, y: &Self) -> Self {
        self + y
    }
    fn minus(&self, y: &Self) -> Self {
        self - y
    }
    fn times(&self, y: &Self) -> Self {
        self * y
    }
    fn over(&self, y: &Self) -> Result<Self, RealError> {
        finite("division", self / y)
    }
    fn sqrt_r(&self) -> Result<Self, RealError> {
        finite("sqrt", self.sqrt())
    }
    fn ln_r(&self) -> Result<Self, RealError> {
        finite("ln", self.ln())
    }
    fn exp_r(&self) -> Self {
        self.exp()
    }
    fn asinh_r(&self) -> Self {
        self.asinh()
    }
    fn nonneg_hint(&self) -> bool {
        *self >= 0.0
    }
    fn to_f64_r(&self) -> f64 {
        *self
    }
    fn nan_r(&self) -> Self {
        f64::NAN
    }
    fn neg_r(&self) -> Self {
        -self
    }
    fn sqr_r(&self) -> Self {
        self * self
    }
    fn mul_pow2_r(&self, k: i32) -> Self {
        self * 2f64.powi(k)
    }
    fn mul_u32_r(&self, k: u32) -> Self {
        self * f64::from(k)
    }
    fn add_assign_r(&mut self, y: &Self) {
        *self += y;
    }
    fn mul_assign_r(&mut self, y: &Self) {
        *self *= y;
    }
    fn rsqrt_r(&self) -> Result<Self, RealError> {
        finite("1/sqrt", 1.0 / self.sqrt())
    }
    fn sinh_r(&self) -> Self {
        self.sinh()
    }
    fn cosh_r(&self) -> Self {
        self.cosh()
    }
    fn zero_test(&self) -> Option<bool> {
        Some(*self == 0.0)
    }
    type ExpCtx = ();
    fn exp_ctx(&self) -> Result<(), RealError> {
        Ok(())
    }
    fn exp_in(&self, _: &()) -> Self {
        self.exp()
    }
    fn expm1_in(&self, _: &()) -> Self {
        self.exp_m1()
    }
    fn expm1_over_x_in(&self, _: &()) -> Self {
        if *self == 0.0 { 1.0 } else { self.exp_m1() / self }
    }
    fn num_r(&self, x: &Num) -> Result<Self, RealError> {
        finite("decimal input", x.to_f64())
    }
    fn mag_up_r(&self) -> f64 {
        self.abs()
    }
    fn widen_r(&self, _r: f64) -> Self {
        *self
    }
    fn bits_r(&self) -> u32 {
        f64::MANTISSA_DIGITS
    }
    fn rad_r(&self) -> f64 {
        0.0
    }
    fn mid_r(&self) -> Self {
        *self
    }
}

fn finite_mp(op: &'static str, v: Float) -> Result<Float, RealError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RealError::NonFinite { op, value: v.to_f64() })
    }
}

impl Real for Float {
    fn real(&self, v: f64) -> Self {
        Float::with_val(self.prec(), v)
    }
    fn plus(&self, y: &Self) -> Self {
        Float::with_val(self.prec().max(y.prec()), self + y)
    }
    fn minus(&self, y: &Self) -> Self {
        Float::with_val(self.prec().max(y.prec()), self - y)
    }
    fn times(&self, y: &Self) -> Self {
        Float::with_val(self.prec().max(y.prec()), self * y)
    }
    fn over(&self, y: &Self) -> Result<Self, RealError> {
        finite_mp("division", Float::with_val(self.prec().max(y.prec()), self / y))
    }
    fn sqrt_r(&self) -> Result<Self, RealError> {
        finite_mp("sqrt", Float::with_val(self.prec(), self.sqrt_ref()))
    }
    fn ln_r(&self) -> Result<Self, RealError> {
        finite_mp("ln", Float::with_val(self.prec(), self.ln_ref()))
    }
    fn exp_r(&self) -> Self {
        Float::with_val(self.prec(), self.exp_ref())
    }
    fn asinh_r(&self) -> Self {
        Float::with_val(self.prec(), self.asinh_ref())
    }
    fn nonneg_hint(&self) -> bool {
        *self >= 0
    }
    fn to_f64_r(&self) -> f64 {
        self.to_f64()
    }
    fn nan_r(&self) -> Self {
        Float::with_val(self.prec(), f64::NAN)
    }
    fn neg_r(&self) -> Self {
        Float::with_val(self.prec(), -self)
    }
    fn sqr_r(&self) -> Self {
        Float::with_val(self.prec(), self.square_ref())
    }
    fn mul_pow2_r(&self, k: i32) -> Self {
        let mut x = self.clone();
        if k >= 0 {
            x <<= k as u32;
        } else {
            x >>= (-k) as u32;
        }
        x
    }
    fn mul_u32_r(&self, k: u32) -> Self {
        Float::with_val(self.prec(), self * k)
    }
    fn add_assign_r(&mut self, y: &Self) {
        *self += y;
    }
    fn mul_assign_r(&mut self, y: &Self) {
        *self *= y;
    }
    fn rsqrt_r(&self) -> Result<Self, RealError> {
        finite_mp("1/sqrt", Float::with_val(self.prec(), self.recip_sqrt_ref()))
    }
    fn sinh_r(&self) -> Self {
        Float::with_val(self.prec(), self.sinh_ref())
    }
    fn cosh_r(&self) -> Self {
        Float::with_val(self.prec(), self.cosh_ref())
    }
    fn zero_test(&self) -> Option<bool> {
        Some(self.is_zero())
    }
    type ExpCtx = ();
    fn exp_ctx(&self) -> Result<(), RealError> {
        Ok(())
    }
    fn exp_in(&self, _: &()) -> Self {
        Float::with_val(self.prec(), self.exp_ref())
    }
    fn expm1_in(&self, _: &()) -> Self {
        Float::with_val(self.prec(), self.exp_m1_ref())
    }
    fn expm1_over_x_in(&self, _: &()) -> Self {
        if self.is_zero() {
            Float::with_val(self.prec(), 1)
        } else {
            Float::with_val(self.prec(), self.exp_m1_ref()) / self
        }
    }
    fn num_r(&self, x: &Num) -> Result<Self, RealError> {
        finite_mp("decimal input", x.to_mp(self.prec()))
    }
    fn mag_up_r(&self) -> f64 {
        Float::with_val(self.prec(), self.abs_ref()).to_f64_round(rug::float::Round::Up)
    }
    fn widen_r(&self, _r: f64) -> Self {
        self.clone()
    }
    fn bits_r(&self) -> u32 {
        self.prec()
    }
    fn rad_r(&self) -> f64 {
        0.0
    }
    fn mid_r(&self) -> Self {
        self.clone()
    }
}

impl Real for Ball {
    fn real(&self, v: f64) -> Self {
        Ball::from_f64(self.prec(), v)
    }
    fn plus(&self, y: &Self) -> Self {
        self.add(y)
    }
    fn minus(&self, y: &Self) -> Self {
        self.sub(y)
    }
    fn times(&self, y: &Self) -> Self {
        self.mul(y)
    }
    fn over(&self, y: &Self) -> Result<Self, RealError> {
        Ok(self.div(y)?)
    }
    fn sqrt_r(&self) -> Result<Self, RealError> {
        Ok(self.sqrt()?)
    }
    fn ln_r(&self) -> Result<Self, RealError> {
        Ok(self.ln()?)
    }
    fn exp_r(&self) -> Self {
        self.exp()
    }
    fn asinh_r(&self) -> Self {
        self.asinh()
    }
    fn nonneg_hint(&self) -> bool {
        !self.mid().is_sign_negative()
    }
    fn to_f64_r(&self) -> f64 {
        self.mid().to_f64()
    }
    fn nan_r(&self) -> Self {
        Ball::with_rad(Float::with_val(self.prec(), f64::NAN), f64::INFINITY)
    }
    fn neg_r(&self) -> Self {
        self.neg()
    }
    fn sqr_r(&self) -> Self {
        self.sqr()
    }
    fn mul_pow2_r(&self, k: i32) -> Self {
        self.mul_pow2(k)
    }
    fn mul_u32_r(&self, k: u32) -> Self {
        self.mul_u32(k)
    }
    fn mul_add_mul_r(&self, y: &Self, u: &Self, v: &Self) -> Self {
        self.mul_add_mul(y, u, v)
    }
    fn lin_comb_r(x: &[Self], a: &Self, b: &Self, y: &[Self]) -> Vec<Self> {
        Ball::lin_comb(x, a, b, y)
    }
    fn add_assign_r(&mut self, y: &Self) {
        self.add_assign(y);
    }
    fn mul_assign_r(&mut self, y: &Self) {
        self.mul_assign(y);
    }
    fn add_mul_r(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        // `a.mul(b)` rounds at a's precision, `set_mul` at tmp's: keep them equal (bit-identical).
        if tmp.prec() != a.prec() {
            *tmp = Ball::from_f64(a.prec(), 0.0);
        }
        tmp.set_mul(a, b);
        self.add_assign(tmp);
    }
    fn sub_mul_r(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        if tmp.prec() != a.prec() {
            *tmp = Ball::from_f64(a.prec(), 0.0);
        }
        tmp.set_mul(a, b);
        self.sub_assign(tmp);
    }
    fn set_plus(&mut self, x: &Self, y: &Self) {
        self.set_add(x, y);
    }
    fn set_minus(&mut self, x: &Self, y: &Self) {
        self.set_sub(x, y);
    }
    fn set_times(&mut self, x: &Self, y: &Self) {
        self.set_mul(x, y);
    }
    fn set_mul_add_mul(&mut self, x: &Self, y: &Self, u: &Self, v: &Self) {
        Ball::set_mul_add_mul(self, x, y, u, v);
    }
    fn set_over(&mut self, x: &Self, y: &Self) -> Result<(), RealError> {
        Ok(self.set_div(x, y)?)
    }
    fn set_rsqrt(&mut self, x: &Self) -> Result<(), RealError> {
        Ok(Ball::set_rsqrt(self, x)?)
    }
    fn rsqrt_r(&self) -> Result<Self, RealError> {
        Ok(self.rsqrt()?)
    }
    fn sinh_r(&self) -> Self {
        self.sinh()
    }
    fn cosh_r(&self) -> Self {
        self.cosh()
    }
    fn zero_test(&self) -> Option<bool> {
        if self.is_exact_zero() {
            Some(true)
        } else if self.contains_zero() {
            None
        } else {
            Some(false)
        }
    }
    type ExpCtx = Arc<ExpTable>;
    fn exp_ctx(&self) -> Result<Arc<ExpTable>, RealError> {
        Ok(Arc::new(ExpTable::new(self.prec())?))
    }
    fn exp_in(&self, cx: &Arc<ExpTable>) -> Self {
        cx.exp(self)
    }
    fn expm1_in(&self, cx: &Arc<ExpTable>) -> Self {
        cx.expm1(self)
    }
    fn expm1_over_x_in(&self, cx: &Arc<ExpTable>) -> Self {
        cx.expm1_over_x(self)
    }
    fn set_expm1_in(&mut self, x: &Self, cx: &Arc<ExpTable>) {
        cx.expm1_into(x, self);
    }
    fn set_expm1_over_x_in(&mut self, x: &Self, cx: &Arc<ExpTable>) {
        cx.expm1_over_x_into(x, self);
    }
    fn num_r(&self, x: &Num) -> Result<Self, RealError> {
        Ok(Ball::from_num(x, self.prec())?)
    }
    fn mag_up_r(&self) -> f64 {
        self.mag_up()
    }
    fn widen_r(&self, r: f64) -> Self {
        let mut b = self.clone();
        b.widen(r);
        b
    }
    fn bits_r(&self) -> u32 {
        self.prec()
    }
    fn rad_r(&self) -> f64 {
        self.rad()
    }
    fn mid_r(&self) -> Self {
        self.mid_ball()
    }
}

/// |x| from the sign of the value (a ball's midpoint): exact negation. For a ball that contains 0
/// this is not |x|; callers divide by the result, which then fails (a ball division by a ball
/// containing 0 is an error), so no unproven value escapes.
pub fn abs_hint<S: Real>(x: &S) -> S {
    if x.nonneg_hint() {
        x.clone()
    } else {
        x.real(0.0).minus(x)
    }
}

/// Σ aᵢbᵢ (a dot product, in the order given).
pub fn dot<S: Real>(a: &[S], b: &[S]) -> S {
    let mut it = a.iter().zip(b);
    let Some((a0, b0)) = it.next() else {
        panic!("dot of empty vectors (callers pass d ≥ 1)")
    };
    it.fold(a0.times(b0), |s, (x, y)| s.plus(&x.times(y)))
}

/// Solve A·x = b (small dense systems) by Gaussian elimination with partial pivoting on the
/// magnitudes of the values (a ball's midpoint), for every scalar. In balls the result encloses
/// the exact solution of every system in the input balls.
///
/// # Errors
/// [`RealError`] when a pivot is zero (f64, MPFR) or a pivot ball contains 0.
pub fn solve<S: Real>(mut a: Vec<Vec<S>>, mut b: Vec<S>) -> Result<Vec<S>, RealError> {
    let m = b.len();
    for col in 0..m {
        let piv = (col..m)
            .max_by(|&i, &j| a[i][col].to_f64_r().abs().total_cmp(&a[j][col].to_f64_r().abs()))
            .unwrap_or(col);
        a.swap(col, piv);
        b.swap(col, piv);
        for i in col + 1..m {
            let fct = a[i][col].over(&a[col][col])?;
            let (top, rest) = a.split_at_mut(i);
            for (dst, src) in rest[0][col..].iter_mut().zip(&top[col][col..]) {
                *dst = dst.minus(&fct.times(src));
            }
            b[i] = b[i].minus(&fct.times(&b[col]));
        }
    }
    let mut xs: Vec<S> = b.clone();
    for i in (0..m).rev() {
        let mut s = b[i].clone();
        for j in i + 1..m {
            s = s.minus(&a[i][j].times(&xs[j]));
        }
        xs[i] = s.over(&a[i][i])?;
    }
    Ok(xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One formula, √(x² + 1) − ln x at x = 3, in the three types: the ball contains the 256-bit
    /// MPFR value and the f64 value is within a few ulp of it (an independent f64 expression).
    #[test]
    fn one_formula_three_types() {
        fn f<S: Real>(x: &S) -> Result<S, RealError> {
            Ok(x.times(x).plus(&x.real(1.0)).sqrt_r()?.minus(&x.ln_r()?))
        }
        let v64 = f(&3.0f64).unwrap();
        let independent = 10f64.sqrt() - 3f64.ln();
        assert!((v64 - independent).abs() <= 4.0 * f64::EPSILON * independent);
        let vmp = f(&Float::with_val(256, 3)).unwrap();
        let vb = f(&Ball::from_f64(128, 3.0)).unwrap();
        assert!(vb.contains(&vmp), "{vb:?} must contain {vmp}");
        assert!(vb.rad() < 1e-35);
        assert!(matches!(0.0f64.ln_r(), Err(RealError::NonFinite { .. })));
        assert!(Ball::from_f64(128, -1.0).sqrt_r().is_err());
    }

    /// The 3×3 system with solution (1, −2, 3) (independent: chosen, then b = A·x in integers),
    /// pivoting needed (a zero leading entry); the ball solution contains it exactly, a singular
    /// system is an error.
    #[test]
    fn solve_small_systems() {
        let a = [[0.0, 2.0, 1.0], [4.0, 1.0, -1.0], [2.0, -3.0, 5.0]];
        let x = [1.0, -2.0, 3.0];
        let b: Vec<f64> = a.iter().map(|r| r.iter().zip(&x).map(|(p, q)| p * q).sum()).collect();
        let av: Vec<Vec<f64>> = a.iter().map(|r| r.to_vec()).collect();
        let s = solve(av.clone(), b.clone()).unwrap();
        for (u, v) in s.iter().zip(&x) {
            assert!((u - v).abs() <= 8.0 * f64::EPSILON * 3.0);
        }
        let ab: Vec<Vec<Ball>> = av
            .iter()
            .map(|r| r.iter().map(|v| Ball::from_f64(128, *v)).collect())
            .collect();
        let bb: Vec<Ball> = b.iter().map(|v| Ball::from_f64(128, *v)).collect();
        for (u, v) in solve(ab, bb).unwrap().iter().zip(&x) {
            assert!(u.contains(&Float::with_val(128, *v)));
        }
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 1.0]).is_err());
    }
}
