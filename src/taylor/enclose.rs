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
    fn add_dot<'a>(&mut self, pairs: impl Iterator<Item = (&'a Self, &'a Self)>, tmp: &mut Self)
    where
        Self: 'a,
    {
        Ball::add_dot(self, pairs, tmp);
    }
    fn add_dot_fused<'a>(&mut self, pairs: impl Iterator<Item = (&'a Self, &'a Self)>, tmp: &mut Self)
    where
        Self: 'a,
    {
        Ball::add_dot(self, pairs, tmp);
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
    // Products: the components with [`TaylorScalar::mul_add_assign_loose`] — duals only carry the
    // Jacobian part of the validated integrator, whose entries multiply the set's r (a relative
    // error of 2^−53 in them widens r by that factor, see `validated`), so the hardware balls'
    // roundings are bounded (≈ 2× cheaper) instead of taken exactly.
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        self.v.mul_add_assign_loose(&a.v, &b.v);
        self.grow(a.d.len().max(b.d.len()));
        for (s, bd) in self.d.iter_mut().zip(&b.d) {
            s.mul_add_assign_loose(&a.v, bd);
        }
        for (s, ad) in self.d.iter_mut().zip(&a.d) {
            s.mul_add_assign_loose(ad, &b.v);
        }
    }
    fn mul_add_assign_tmp(&mut self, a: &Self, b: &Self, _tmp: &mut Self) {
        self.mul_add_assign(a, b);
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
                s.mul_add_assign_loose(&v, xd);
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

/// A value at a reference point and its difference from there, in hardware balls: `p` encloses
/// a quantity computed at the point x̂, `q` the same quantity at x minus its value at x̂, for
/// every x of a set X around x̂. Products follow (u + δu)(v + δv) − uv = u·δv + δu·(v + δv),
/// sums are componentwise; so the Taylor recurrences of a field evaluated on `Diff` give x_k(x̂)
/// and x_k(X) − x_k(x̂) — the second without the cancellation of subtracting two enclosures of
/// x_k at the size of x_k: its radius is relative to the difference itself, which is what the
/// validated integrator's high-order tail (set width ≈ 2^−p, far below an f64 ulp of x_k)
/// needs. Products use [`BallF64::add_mul_loose`] (rounding bounded, not taken exactly): these
/// radii are dominated by the set's width, and this is the integrator's second-largest cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The value at the reference point.
    pub p: BallF64,
    /// The value over the set minus the value at the reference point.
    pub q: BallF64,
}

impl Diff {
    /// A value with no variation over the set (data, rates, constants).
    pub fn constant(p: BallF64) -> Self {
        Diff {
            p,
            q: BallF64::exact(0.0),
        }
    }
    /// The value over the set, p + q.
    pub fn full(&self) -> BallF64 {
        let mut f = self.p;
        f.add_assign(&self.q);
        f
    }
}

impl TaylorScalar for Diff {
    fn zero_like(&self) -> Self {
        Diff::constant(BallF64::exact(0.0))
    }
    fn like_f64(&self, v: f64) -> Self {
        Diff::constant(BallF64::exact(v))
    }
    fn set_zero(&mut self) {
        *self = self.zero_like();
    }
    fn assign_from(&mut self, x: &Self) {
        *self = x.clone();
    }
    fn add_assign_ref(&mut self, x: &Self) {
        self.p.add_assign(&x.p);
        self.q.add_assign(&x.q);
    }
    fn sub_assign_ref(&mut self, x: &Self) {
        self.p.sub_assign(&x.p);
        self.q.sub_assign(&x.q);
    }
    #[inline]
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        self.p.add_mul_loose(&a.p, &b.p);
        self.q.add_mul_loose(&a.p, &b.q);
        self.q.add_mul_loose(&a.q, &b.full());
    }
    fn mul_assign_ref(&mut self, x: &Self) {
        // q ← p·δx + q·(x.p + δx) with the old p, then p ← p·x.p.
        let mut q = self.p;
        q.mul_assign(&x.q);
        self.q.mul_assign(&x.full());
        self.q.add_assign(&q);
        self.p.mul_assign(&x.p);
    }
    fn div_u32_assign(&mut self, k: u32) {
        self.p.div_u32_assign(k);
        self.q.div_u32_assign(k);
    }
    fn neg_assign(&mut self) {
        self.p.neg_assign();
        self.q.neg_assign();
    }
    fn div_assign_ref(&mut self, x: &Self) {
        // u/v at the set minus at the point: (δu·v − u·δv) / (v·(v + δv)).
        let mut num = self.q;
        num.mul_assign(&x.p);
        let mut t = self.p;
        t.mul_assign(&x.q);
        num.sub_assign(&t);
        let mut den = x.full();
        den.mul_assign(&x.p);
        num.div_assign_ref(&den);
        self.q = num;
        self.p.div_assign_ref(&x.p);
    }
    fn sqrt_assign(&mut self) {
        // √(u + δu) − √u = δu / (√(u + δu) + √u).
        let mut full = self.full();
        full.sqrt_assign();
        self.p.sqrt_assign();
        full.add_assign(&self.p);
        self.q.div_assign_ref(&full);
    }
    fn mul_pow2_assign(&mut self, e: i32) {
        self.p.mul_pow2_assign(e);
        self.q.mul_pow2_assign(e);
    }
    fn to_f64(&self) -> f64 {
        self.p.mid()
    }
    fn prec_bits(&self) -> u32 {
        53
    }
    fn sign_is(&self, positive: bool) -> bool {
        // Of every value over the set, and at the point (which is in it).
        self.full().sign_is(positive) && self.p.sign_is(positive)
    }
    fn widened(&self, r: f64) -> Self {
        // Each value anywhere within r: the point by r, the difference by 2r.
        Diff {
            p: self.p.widened(r),
            q: self.q.widened(2.0 * r),
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
    #[inline]
    fn mul_add_assign_loose(&mut self, a: &Self, b: &Self) {
        self.add_mul_loose(a, b);
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

    /// Diff jets of the single-neuron field against an independent computation: the same
    /// field's coefficients at x̂ and at x̂ + δ in 1000-bit MPFR, subtracted. q_k must contain
    /// x_k(x̂ + δ) − x_k(x̂) for δ at the centre and both ends of the ball q_0 (δ_i = m_i + s·r,
    /// s ∈ {−1, 0, 1}), and — the point of the type — its radius must be relative to the
    /// difference, not to x_k: q_0 has width r = 1e-30 on differences of ≈ 1e-20, so each q_k is
    /// ≈ 1e-10 of the difference wide (its share of q_0's width) plus rounding at 2^−53 of the
    /// difference; an f64 enclosure of x_k itself would be ≈ 1e-16 wide, 1e4 times the
    /// difference. Bound asserted: 1e-8 × the largest difference (two orders above the
    /// propagated width share, six below x_k's own f64 width).
    #[test]
    fn diff_jets_enclose_the_difference_of_two_points() {
        use crate::taylor::JetField;
        use crate::taylor::single_neuron::SingleNeuronJet;
        let d = 2;
        let gram = [1.25, 0.5, 0.5, 0.75];
        let xty = [0.5, -0.25];
        let (eta_a, eta_w) = (1.0, 0.75);
        let xh = [0.375, 0.5, -0.625];
        let dmid = [1e-20, -2e-20, 3e-20];
        let drad = 1e-30;
        let order = 12;
        // Coefficients at x̂ + off·(dmid + s·drad) in 1000-bit MPFR (off = 0: at x̂).
        let run = |off: u32, s: f64| -> Vec<Vec<Float>> {
            let prec = 1000;
            let c = |v: f64| Float::with_val(prec, v);
            let mut f = SingleNeuronJet::new(gram.map(c).to_vec(), xty.map(c).to_vec(), c(eta_a), c(eta_w));
            f.reserve(order);
            let mut jets: Vec<Vec<Float>> = (0..=d)
                .map(|i| {
                    let mut j = vec![c(0.0); order + 1];
                    let delta = (c(dmid[i]) + s * drad) * off;
                    j[0] = c(xh[i]) + delta;
                    j
                })
                .collect();
            let mut out = vec![c(0.0); d + 1];
            for k in 0..order {
                f.coeff(&jets, k, &mut out);
                for (j, o) in jets.iter_mut().zip(&out) {
                    j[k + 1] = Float::with_val(prec, o / (k as u32 + 1));
                }
            }
            jets
        };
        let b = |v: f64| Diff::constant(BallF64::exact(v));
        let mut f = SingleNeuronJet::new(gram.map(b).to_vec(), xty.map(b).to_vec(), b(eta_a), b(eta_w));
        f.reserve(order);
        let mut jets: Vec<Vec<Diff>> = (0..=d)
            .map(|i| {
                let mut j = vec![b(0.0); order + 1];
                j[0] = Diff {
                    p: BallF64::exact(xh[i]),
                    q: BallF64::new(dmid[i], drad),
                };
                j
            })
            .collect();
        let mut out = vec![b(0.0); d + 1];
        for k in 0..order {
            f.coeff(&jets, k, &mut out);
            for (j, o) in jets.iter_mut().zip(&out) {
                j[k + 1] = o.clone();
                j[k + 1].div_u32_assign(k as u32 + 1);
            }
        }
        let base = run(0, 0.0);
        let mut biggest = 0f64;
        for s in [0.0, -1.0, 1.0] {
            let moved = run(1, s);
            for i in 0..=d {
                for k in 0..=order {
                    let diff = Float::with_val(1000, &moved[i][k] - &base[i][k]);
                    let q = &jets[i][k].q;
                    biggest = biggest.max(diff.to_f64().abs());
                    let lo = Float::with_val(1000, q.mid()) - q.rad();
                    let hi = Float::with_val(1000, q.mid()) + q.rad();
                    assert!(
                        lo <= diff && diff <= hi,
                        "component {i}, order {k}: {q:?} misses {diff}"
                    );
                }
            }
        }
        let widest = jets.iter().flatten().map(|x| x.q.rad()).fold(0.0, f64::max);
        assert!(biggest > 1e-22, "the draws move the coefficients: {biggest:e}");
        assert!(widest <= 1e-8 * biggest, "radius {widest:e} vs difference {biggest:e}");
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
