//! Ball scalars for the Taylor recurrences: [`Ball`] (MPFR midpoint, upward-rounded radius) as a
//! [`TaylorScalar`], so that every [`JetField`](super::JetField) of the crate evaluates its
//! Taylor coefficients as rigorous enclosures, and [`Dual`], first-order forward-mode numbers
//! (a value and its partial derivatives along a few seed directions) over any Taylor scalar, so
//! that the same recurrences give the Jacobian of the Taylor map that the validated integrator
//! ([`super::validated`]) needs for its mean-value form.
//!
//! Nothing here is new arithmetic: a `Ball` operation returns a ball that contains f(x) for
//! every x in its input balls ([`crate::num::ball`]), and `Dual` applies the product and
//! quotient rules, (uv)′ = u′v + uv′, (u/v)′ = (u′ − (u/v)v′)/v, (√u)′ = u′/(2√u), with the
//! operations of its scalar — so a `Dual<Ball>` encloses the value and the directional
//! derivatives of the computed function at every point of the input balls.

use super::TaylorScalar;
use crate::num::ball::Ball;
use crate::num::ball_f64::BallF64;
use rug::Float;

impl TaylorScalar for Ball {
    fn zero_like(&self) -> Self {
        Ball::exact(Float::new(self.prec()))
    }
    fn like_f64(&self, v: f64) -> Self {
        Ball::from_f64(self.prec(), v)
    }
    fn set_zero(&mut self) {
        *self = self.zero_like();
    }
    fn assign_from(&mut self, x: &Self) {
        self.clone_from(x);
    }
    fn add_assign_ref(&mut self, x: &Self) {
        self.add_assign(x);
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        self.sub_assign(x);
    }
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        self.add_assign(&a.mul(b));
    }
    fn mul_add_assign_tmp(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        self.add_mul_tmp(a, b, tmp);
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        self.mul_assign(x);
    }
    fn div_u32_assign(&mut self, k: u32) {
        Ball::div_u32_assign(self, k);
    }
    fn neg_assign(&mut self) {
        Ball::neg_assign(self);
    }
    fn div_assign_ref(&mut self, x: &Self) {
        // Set-up code only: a divisor ball that contains 0 gives the whole line (an infinite
        // radius), which every later containment test rejects.
        *self = self
            .div(x)
            .unwrap_or_else(|_| Ball::with_rad(Float::new(self.prec()), f64::INFINITY));
    }
    fn sqrt_assign(&mut self) {
        *self = self
            .sqrt()
            .unwrap_or_else(|_| Ball::with_rad(Float::new(self.prec()), f64::INFINITY));
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        Ball::mul_pow2_assign(self, e);
    }
    fn to_f64(&self) -> f64 {
        self.mid().to_f64()
    }
    fn prec_bits(&self) -> u32 {
        self.prec()
    }
    fn widened(&self, r: f64) -> Self {
        let mut b = self.clone();
        b.widen(r);
        b
    }
    fn sign_is(&self, positive: bool) -> bool {
        if positive {
            self.lo().is_sign_positive() && !self.lo().is_zero()
        } else {
            self.hi().is_sign_negative() && !self.hi().is_zero()
        }
    }
}

/// A first-order forward-mode number: a value v and its derivatives d_j along seed directions.
///
/// An empty `d` means "all derivatives are exactly 0" (a constant of the field: data, rates),
/// so constants cost one scalar operation, not 2n + 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Dual<S> {
    /// The value.
    pub v: S,
    /// The directional derivatives (empty for a constant).
    pub d: Vec<S>,
}

impl<S: TaylorScalar> Dual<S> {
    /// A constant (no derivatives).
    pub fn constant(v: S) -> Self {
        Dual { v, d: Vec::new() }
    }
    /// A variable with the given derivatives.
    pub fn variable(v: S, d: Vec<S>) -> Self {
        Dual { v, d }
    }
    /// Make `d` at least `n` long (zeros), keeping what is there.
    pub fn grow_to(&mut self, n: usize) {
        self.grow(n);
    }
    fn grow(&mut self, n: usize) {
        if self.d.len() < n {
            let z = self.v.zero_like();
            self.d.resize(n, z);
        }
    }
}

impl<S: TaylorScalar> TaylorScalar for Dual<S> {
    fn zero_like(&self) -> Self {
        Dual::constant(self.v.zero_like())
    }
    fn like_f64(&self, v: f64) -> Self {
        Dual::constant(self.v.like_f64(v))
    }
    fn set_zero(&mut self) {
        self.v.set_zero();
        for x in &mut self.d {
            x.set_zero();
        }
    }
    fn assign_from(&mut self, x: &Self) {
        self.v.assign_from(&x.v);
        if self.d.len() == x.d.len() {
            for (a, b) in self.d.iter_mut().zip(&x.d) {
                a.assign_from(b);
            }
        } else {
            self.d.clone_from(&x.d);
        }
    }
    fn add_assign_ref(&mut self, x: &Self) {
        self.v.add_assign_ref(&x.v);
        self.grow(x.d.len());
        for (a, b) in self.d.iter_mut().zip(&x.d) {
            a.add_assign_ref(b);
        }
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        self.v.sub_assign_ref(&x.v);
        self.grow(x.d.len());
        for (a, b) in self.d.iter_mut().zip(&x.d) {
            a.sub_assign_ref(b);
        }
    }
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        self.v.mul_add_assign(&a.v, &b.v);
        self.grow(a.d.len().max(b.d.len()));
        for (s, bd) in self.d.iter_mut().zip(&b.d) {
            s.mul_add_assign(&a.v, bd);
        }
        for (s, ad) in self.d.iter_mut().zip(&a.d) {
            s.mul_add_assign(ad, &b.v);
        }
    }
    fn mul_add_assign_tmp(&mut self, a: &Self, b: &Self, tmp: &mut Self) {
        let t = &mut tmp.v;
        self.v.mul_add_assign_tmp(&a.v, &b.v, t);
        self.grow(a.d.len().max(b.d.len()));
        for (s, bd) in self.d.iter_mut().zip(&b.d) {
            s.mul_add_assign_tmp(&a.v, bd, t);
        }
        for (s, ad) in self.d.iter_mut().zip(&a.d) {
            s.mul_add_assign_tmp(ad, &b.v, t);
        }
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        // d ← d·x.v + v·x.d (with the old v), then v ← v·x.v.
        for s in &mut self.d {
            s.mul_assign_ref(&x.v);
        }
        if !x.d.is_empty() {
            let v = self.v.clone();
            self.grow(x.d.len());
            for (s, xd) in self.d.iter_mut().zip(&x.d) {
                s.mul_add_assign(&v, xd);
            }
        }
        self.v.mul_assign_ref(&x.v);
    }
    fn div_u32_assign(&mut self, k: u32) {
        self.v.div_u32_assign(k);
        for s in &mut self.d {
            s.div_u32_assign(k);
        }
    }
    fn neg_assign(&mut self) {
        self.v.neg_assign();
        for s in &mut self.d {
            s.neg_assign();
        }
    }
    fn div_assign_ref(&mut self, x: &Self) {
        // q = v/x.v; d ← (d − q·x.d)/x.v.
        self.v.div_assign_ref(&x.v);
        self.grow(x.d.len());
        let mut nq = self.v.clone();
        nq.neg_assign();
        for (s, xd) in self.d.iter_mut().zip(&x.d) {
            s.mul_add_assign(&nq, xd);
        }
        for s in &mut self.d {
            s.div_assign_ref(&x.v);
        }
    }
    fn sqrt_assign(&mut self) {
        self.v.sqrt_assign();
        let mut two_root = self.v.clone();
        two_root.mul_pow2_assign(1);
        for s in &mut self.d {
            s.div_assign_ref(&two_root);
        }
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        self.v.mul_pow2_assign(e);
        for s in &mut self.d {
            s.mul_pow2_assign(e);
        }
    }
    fn to_f64(&self) -> f64 {
        self.v.to_f64()
    }
    fn prec_bits(&self) -> u32 {
        self.v.prec_bits()
    }
    fn sign_is(&self, positive: bool) -> bool {
        self.v.sign_is(positive)
    }
    fn widened(&self, r: f64) -> Self {
        Dual {
            v: self.v.widened(r),
            d: self.d.clone(),
        }
    }
}

/// A ball scalar the validated integrator runs on: [`Ball`] (MPFR midpoint, any precision) or
/// [`BallF64`] (hardware midpoint, 53 bits). Every method is rigorous: radii are upper bounds,
/// set tests are decided with directed rounding.
pub trait Enclosure: TaylorScalar {
    /// An upper bound of the radius.
    fn rad_up(&self) -> f64;
    /// An upper bound of |x| over the ball.
    fn mag_up(&self) -> f64;
    /// Widen the radius by r ≥ 0.
    fn widen(&mut self, r: f64);
    /// Whether every point of `self` lies in `other`.
    fn subset_of(&self, other: &Self) -> bool;
    /// A ball containing both.
    fn hull(&self, other: &Self) -> Self;
    /// self ← self·[0, 1].
    fn scale_unit_interval(&mut self);
    /// Finite midpoint and radius.
    fn is_finite(&self) -> bool;
    /// The midpoint as an exact ball.
    fn mid_point(&self) -> Self;
    /// The same ball as an MPFR [`Ball`] (exact).
    fn to_ball(&self) -> Ball;
    /// An enclosure of `b` in this type, at this value's precision.
    fn enclose_ball(&self, b: &Ball) -> Self;
}

impl Enclosure for Ball {
    fn rad_up(&self) -> f64 {
        self.rad()
    }
    fn mag_up(&self) -> f64 {
        Ball::mag_up(self)
    }
    fn widen(&mut self, r: f64) {
        Ball::widen(self, r);
    }
    fn subset_of(&self, other: &Self) -> bool {
        Ball::subset_of(self, other)
    }
    fn hull(&self, other: &Self) -> Self {
        Ball::hull(self, other)
    }
    fn scale_unit_interval(&mut self) {
        Ball::scale_unit_interval(self);
    }
    fn is_finite(&self) -> bool {
        Ball::is_finite(self)
    }
    fn mid_point(&self) -> Self {
        self.mid_ball()
    }
    fn to_ball(&self) -> Ball {
        self.clone()
    }
    fn enclose_ball(&self, b: &Ball) -> Self {
        b.with_prec(self.prec())
    }
}

impl TaylorScalar for BallF64 {
    fn zero_like(&self) -> Self {
        BallF64::exact(0.0)
    }
    fn like_f64(&self, v: f64) -> Self {
        BallF64::exact(v)
    }
    fn set_zero(&mut self) {
        *self = BallF64::exact(0.0);
    }
    fn assign_from(&mut self, x: &Self) {
        *self = *x;
    }
    fn add_assign_ref(&mut self, x: &Self) {
        self.add_assign(x);
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        self.sub_assign(x);
    }
    #[inline]
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        self.add_mul(a, b);
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        self.mul_assign(x);
    }
    fn div_u32_assign(&mut self, k: u32) {
        BallF64::div_u32_assign(self, k);
    }
    fn neg_assign(&mut self) {
        *self = BallF64::new(-self.mid(), self.rad());
    }
    fn div_assign_ref(&mut self, x: &Self) {
        self.div_assign(x);
    }
    fn sqrt_assign(&mut self) {
        BallF64::sqrt_assign(self);
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        BallF64::mul_pow2_assign(self, e);
    }
    fn to_f64(&self) -> f64 {
        self.mid()
    }
    fn prec_bits(&self) -> u32 {
        53
    }
    fn widened(&self, r: f64) -> Self {
        let mut b = *self;
        b.widen(r);
        b
    }
    fn sign_is(&self, positive: bool) -> bool {
        let (lo, hi) = self.lo_hi();
        if positive { lo > 0.0 } else { hi < 0.0 }
    }
}

impl Enclosure for BallF64 {
    fn rad_up(&self) -> f64 {
        self.rad()
    }
    fn mag_up(&self) -> f64 {
        BallF64::mag_up(self)
    }
    fn widen(&mut self, r: f64) {
        BallF64::widen(self, r);
    }
    fn subset_of(&self, other: &Self) -> bool {
        BallF64::subset_of(self, other)
    }
    fn hull(&self, other: &Self) -> Self {
        BallF64::hull(self, other)
    }
    fn scale_unit_interval(&mut self) {
        BallF64::scale_unit_interval(self);
    }
    fn is_finite(&self) -> bool {
        BallF64::is_finite(self)
    }
    fn mid_point(&self) -> Self {
        BallF64::exact(self.mid())
    }
    fn to_ball(&self) -> Ball {
        BallF64::to_ball(self, 53)
    }
    fn enclose_ball(&self, b: &Ball) -> Self {
        BallF64::from_ball(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dual product rule against a hand derivative: f(x, y) = x²y + x/y at (1.5, 2) has
    /// ∂f/∂x = 2xy + 1/y = 6.5, ∂f/∂y = x² − x/y² = 1.875, all exact in binary.
    #[test]
    fn dual_derivatives_match_hand_derivatives() {
        let x = Dual::variable(1.5f64, vec![1.0, 0.0]);
        let y = Dual::variable(2.0f64, vec![0.0, 1.0]);
        let mut f = x.zero_like();
        let mut x2 = x.clone();
        x2.mul_assign_ref(&x);
        f.mul_add_assign(&x2, &y);
        let mut q = x.clone();
        q.div_assign_ref(&y);
        f.add_assign_ref(&q);
        assert_eq!(f.v, 1.5 * 1.5 * 2.0 + 0.75);
        assert_eq!(f.d, vec![6.5, 1.875]);
    }

    /// Ball Taylor scalar: (1/3)·3 at 128 bits contains 1 and the radius is a few ulps.
    #[test]
    fn ball_scalar_encloses() {
        let mut third = Ball::from_u32(128, 1);
        third.div_u32_assign(3);
        let three = Ball::from_u32(128, 3);
        let mut p = third.zero_like();
        p.mul_add_assign(&third, &three);
        assert!(p.contains(&Float::with_val(128, 1)));
        assert!(p.rad() < 1e-37);
    }
}
