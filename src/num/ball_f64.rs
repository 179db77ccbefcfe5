//! Mid-rad balls over binary64: [`BallF64`] = [m ± r] with an f64 midpoint and an f64 radius,
//! rigorous like [`super::ball::Ball`] but with hardware arithmetic (a few nanoseconds per
//! operation instead of MPFR's tens). The validated integrator uses them for its whole 53-bit
//! mode and for the Jacobian (set) part at every precision.
//!
//! **Rounding errors are taken exactly** where that is cheap, so exact results keep radius 0:
//! a sum s = fl(a + b) has the exact error e = (a + b) − s from Knuth's TwoSum (six flops), and
//! a product p = fl(a·b) the exact error a·b − p from Dekker's TwoProduct (exact unless the
//! product is near the bottom of the f64 range, where [`TINY`] is added). Quotients
//! and square roots (set-up code only) add 2^−52 of the result. Propagated radii
//! (|m_a| r_b + |m_b| r_a + r_a r_b for products) and every radius sum are computed in f64 and
//! rounded up with `add_up`/`mul_up` (next float above the
//! round-to-nearest result), so the radius is never below the true distance. An overflow makes
//! the ball non-finite (radius +∞), which every containment test rejects.

use super::ball::{Ball, add_up, div_up, down1, mul_up};
use rug::Float;
use rug::float::Round;

/// Added to the radius of a product or quotient whose magnitude is below 2^−968 (where the
/// product-error/relative error formulas stop being exact: subnormal range): twice the smallest normal.
pub const TINY: f64 = 2.0 * f64::MIN_POSITIVE;
const UNDERFLOW_ZONE: f64 = f64::MIN_POSITIVE * 9.007_199_254_740_992e15; // 2^−1022 · 2^53
/// 2^−52: a bound of |fl(x) − x|/|fl(x)| for ÷ and √ (round to nearest).
const U2: f64 = f64::EPSILON;
/// 1 + 16u (u = 2^−53): see [`BallF64::add_mul`].
const RADIUS_INFLATION: f64 = 1.0 + 8.0 * f64::EPSILON;
/// 1 + 24u: see [`BallF64::add_mul_loose`].
const LOOSE_INFLATION: f64 = 1.0 + 12.0 * f64::EPSILON;
/// Four smallest subnormals: the largest total error of three underflowing radius products.
pub const RADIUS_FLOOR: f64 = 4.0 * f64::from_bits(1);

/// A ball [m ± r] over binary64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallF64 {
    m: f64,
    r: f64,
}

/// The exact error of s = fl(a + b) (TwoSum; s must be that sum).
#[inline]
fn two_sum_err(a: f64, b: f64, s: f64) -> f64 {
    let bb = s - a;
    (a - (s - bb)) + (b - bb)
}

impl BallF64 {
    /// A ball from midpoint and radius (NaN radius or midpoint → non-finite ball).
    pub fn new(m: f64, r: f64) -> Self {
        let r = if r.is_nan() || m.is_nan() {
            f64::INFINITY
        } else {
            r.abs()
        };
        BallF64 { m, r }
    }
    /// The exact value x.
    pub const fn exact(x: f64) -> Self {
        BallF64 { m: x, r: 0.0 }
    }
    /// An enclosure of a (higher-precision) ball: its midpoint rounded to f64 and the rounding
    /// added to the radius.
    pub fn from_ball(b: &Ball) -> Self {
        let m = b.mid().to_f64();
        // |mid − m| rounded up: the difference rounded outward both ways (exact in the usual
        // case, p + 2 bits; rounded only when m is subnormal or 0), then to f64 upward.
        let q = b.mid().prec().max(53) + 2;
        let up = Float::with_val_round(q, b.mid() - m, Round::Up).0;
        let down = Float::with_val_round(q, b.mid() - m, Round::Down).0;
        let e = up.to_f64_round(Round::Up).max(-down.to_f64_round(Round::Down));
        BallF64::new(m, add_up(b.rad(), e))
    }
    /// This ball as an MPFR [`Ball`] at `prec` ≥ 53 bits (exact: the midpoint fits).
    pub fn to_ball(&self, prec: u32) -> Ball {
        Ball::with_rad(Float::with_val(prec, self.m), self.r)
    }
    /// Midpoint.
    pub fn mid(&self) -> f64 {
        self.m
    }
    /// Radius.
    pub fn rad(&self) -> f64 {
        self.r
    }
    /// Finite midpoint and radius.
    pub fn is_finite(&self) -> bool {
        self.m.is_finite() && self.r.is_finite()
    }
    /// An upper bound of |x| over the ball.
    pub fn mag_up(&self) -> f64 {
        add_up(self.m.abs(), self.r)
    }
    /// Whether x lies in the ball (decided exactly: the distance is computed with TwoSum).
    pub fn contains_f64(&self, x: f64) -> bool {
        let d = x - self.m;
        let e = two_sum_err(x, -self.m, d);
        add_up(d.abs(), e.abs()) <= self.r
    }
    /// Widen by r ≥ 0.
    pub fn widen(&mut self, r: f64) {
        self.r = add_up(self.r, r);
    }
    /// self ← self + y.
    #[inline]
    pub fn add_assign(&mut self, y: &BallF64) {
        let s = self.m + y.m;
        let e = two_sum_err(self.m, y.m, s);
        self.r = add_up(add_up(self.r, y.r), e.abs());
        self.m = s;
        self.guard();
    }
    /// self ← self − y.
    #[inline]
    pub fn sub_assign(&mut self, y: &BallF64) {
        let s = self.m - y.m;
        let e = two_sum_err(self.m, -y.m, s);
        self.r = add_up(add_up(self.r, y.r), e.abs());
        self.m = s;
        self.guard();
    }
    /// |m_a| r_b + |m_b| r_a + r_a r_b, rounded up (0 for exact factors).
    #[inline]
    fn prop(a: &BallF64, b: &BallF64) -> f64 {
        if a.r == 0.0 && b.r == 0.0 {
            return 0.0;
        }
        add_up(add_up(mul_up(a.m.abs(), b.r), mul_up(b.m.abs(), a.r)), mul_up(a.r, b.r))
    }
    /// The exact error |a·b − p| of p = fl(a·b) by Dekker's TwoProduct (Veltkamp splitting:
    /// 17 flops, no fused multiply-add — which is a slow library call on the baseline x86-64
    /// target), plus [`TINY`] near underflow; a bound 2^−52|p| where splitting could overflow.
    #[inline]
    fn prod_err(a: f64, b: f64, p: f64) -> f64 {
        const SPLIT: f64 = 134_217_729.0; // 2^27 + 1
        const SAFE: f64 = 1e300;
        if a.abs() > SAFE || b.abs() > SAFE || !p.is_finite() {
            return add_up(mul_up(p.abs(), U2), TINY);
        }
        let ca = SPLIT * a;
        let ah = ca - (ca - a);
        let al = a - ah;
        let cb = SPLIT * b;
        let bh = cb - (cb - b);
        let bl = b - bh;
        let e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl;
        let e = e.abs();
        if p.abs() < UNDERFLOW_ZONE && a != 0.0 && b != 0.0 {
            add_up(e, TINY)
        } else {
            e
        }
    }
    /// self ← self + a·b.
    ///
    /// The radius r + |m_a| r_b + |m_b| r_a + r_a r_b + |e_p| + |e_s| is summed in
    /// round-to-nearest (3 products, 5 sums of non-negative terms: the computed value is at least
    /// (1 − u)^8 times the exact one, u = 2^−53) and then multiplied by 1 + 16u, which covers that
    /// and its own rounding; [`RADIUS_FLOOR`] covers products of radii that underflow. One
    /// inflation instead of a directed rounding per operation: this is the integrator's innermost
    /// operation.
    #[inline]
    pub fn add_mul(&mut self, a: &BallF64, b: &BallF64) {
        let p = a.m * b.m;
        let ep = Self::prod_err(a.m, b.m, p);
        let s = self.m + p;
        let es = two_sum_err(self.m, p, s).abs();
        if a.r != 0.0 || b.r != 0.0 || ep != 0.0 || es != 0.0 {
            let r = self.r + a.m.abs() * b.r + b.m.abs() * a.r + a.r * b.r + ep + es;
            self.r = r * RADIUS_INFLATION + RADIUS_FLOOR;
        }
        self.m = s;
        self.guard();
    }
    /// self ← self + a·b like [`Self::add_mul`], with the two roundings bounded instead of
    /// taken exactly: |a·b − p| ≤ 2^−53|p| and |m + p − s| ≤ 2^−53|s| for p = fl(a·b) and
    /// s = fl(m + p) in the normal range (half an ulp of the result), plus 2^−1075 for a product
    /// that underflows (covered by [`RADIUS_FLOOR`] with the radius products'). The radius
    /// r + |m_a| r_b + |m_b| r_a + r_a r_b + 2^−53(|p| + |s|), summed in round-to-nearest, passes
    /// each term through at most 5 roundings (a product or the inner sum, then 4 sums), so the
    /// exact value is at most (1 − u)^−5 ≤ 1 + 6u times the computed one (u = 2^−53): raised by
    /// 1 + 24u, which also covers the rounding of that product and of adding the floor. About
    /// twice as fast as the exact-error form, for quantities whose radius is dominated by
    /// propagated widths (the set coefficients of the validated integrator, not its 53-bit
    /// point part, whose radius is rounding only).
    #[inline]
    pub fn add_mul_loose(&mut self, a: &BallF64, b: &BallF64) {
        const U: f64 = f64::EPSILON / 2.0;
        let p = a.m * b.m;
        let s = self.m + p;
        let r = self.r + a.m.abs() * b.r + b.m.abs() * a.r + a.r * b.r + U * (p.abs() + s.abs());
        self.r = r * LOOSE_INFLATION + RADIUS_FLOOR;
        self.m = s;
        self.guard();
    }
    /// self ← self·y.
    #[inline]
    pub fn mul_assign(&mut self, y: &BallF64) {
        let p = self.m * y.m;
        let ep = Self::prod_err(self.m, y.m, p);
        self.r = add_up(Self::prop(self, y), ep);
        self.m = p;
        self.guard();
    }
    /// self ← self/k for an integer k ≥ 1.
    #[inline]
    pub fn div_u32_assign(&mut self, k: u32) {
        let kf = f64::from(k);
        let q = self.m / kf;
        // Exact error of the quotient: m − q·k is exact (TwoProduct of q·k, then the difference
        // is exact by Sterbenz's lemma up to the product's error), so |m/k − q| = |m − qk|/k.
        let qk = q * kf;
        let e = div_up(add_up((self.m - qk).abs(), Self::prod_err(q, kf, qk)), kf);
        let e = if q.abs() < UNDERFLOW_ZONE && self.m != 0.0 {
            add_up(e, TINY)
        } else {
            e
        };
        self.r = add_up(div_up(self.r, kf), e);
        self.m = q;
        self.guard();
    }
    /// self ← self·2^e (exact unless it leaves the normal range, then a rounding is added).
    pub fn mul_pow2_assign(&mut self, e: i32) {
        let f = super::ball::pow2_up(i64::from(e));
        let m = self.m * f;
        let err = if m.abs() < UNDERFLOW_ZONE && self.m != 0.0 {
            TINY
        } else {
            0.0
        };
        self.r = add_up(mul_up(self.r, f), err);
        self.m = m;
        self.guard();
    }
    /// self ← self/y (a divisor ball that contains 0 gives the whole line).
    pub fn div_assign(&mut self, y: &BallF64) {
        let den = down1(y.m.abs() - y.r);
        if den.is_nan() || den <= 0.0 {
            *self = BallF64::new(0.0, f64::INFINITY);
            return;
        }
        let q = self.m / y.m;
        let prop = div_up(add_up(self.r, mul_up(q.abs(), y.r)), den);
        self.r = add_up(add_up(prop, mul_up(q.abs(), U2)), TINY);
        self.m = q;
        self.guard();
    }
    /// self ← √self (a ball reaching below 0 gives the whole line).
    pub fn sqrt_assign(&mut self) {
        let lo = down1(self.m - self.r);
        if lo.is_nan() || lo < 0.0 || self.m < 0.0 {
            *self = BallF64::new(0.0, f64::INFINITY);
            return;
        }
        let s = self.m.sqrt();
        // |√x − √m| = |x − m|/(√x + √m) ≤ r/(√lo + √m), with √lo rounded down.
        let den = down1(down1(lo.sqrt()) + down1(s));
        let prop = if self.r == 0.0 {
            0.0
        } else if den > 0.0 {
            div_up(self.r, den)
        } else {
            self.r.sqrt() * 2.0
        };
        self.r = add_up(prop, add_up(mul_up(s, U2), TINY));
        self.m = s;
        self.guard();
    }
    /// Whether every point of self lies in other.
    pub fn subset_of(&self, other: &BallF64) -> bool {
        if !self.is_finite() || !other.r.is_finite() {
            return other.r == f64::INFINITY && self.m.is_finite();
        }
        let d = self.m - other.m;
        let e = two_sum_err(self.m, -other.m, d);
        add_up(add_up(d.abs(), e.abs()), self.r) <= other.r
    }
    /// Lower and upper ends, rounded outward.
    pub fn lo_hi(&self) -> (f64, f64) {
        (down1(self.m - self.r), super::ball::up1(self.m + self.r))
    }
    /// A ball containing [lo, hi].
    pub fn from_lo_hi(lo: f64, hi: f64) -> BallF64 {
        let m = 0.5 * lo + 0.5 * hi;
        BallF64::new(m, super::ball::up1((hi - m).max(m - lo)))
    }
    /// Convex hull of two balls.
    pub fn hull(&self, o: &BallF64) -> BallF64 {
        let (a, b) = (self.lo_hi(), o.lo_hi());
        BallF64::from_lo_hi(a.0.min(b.0), a.1.max(b.1))
    }
    /// self ← self·[0, 1].
    pub fn scale_unit_interval(&mut self) {
        let (lo, hi) = self.lo_hi();
        *self = BallF64::from_lo_hi(lo.min(0.0), hi.max(0.0));
    }
    /// A non-finite midpoint makes the radius +∞.
    #[inline]
    fn guard(&mut self) {
        if !self.m.is_finite() || self.r.is_nan() {
            self.r = f64::INFINITY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(x: f64) -> Float {
        Float::with_val(2200, x)
    }
    fn contains(b: &BallF64, x: &Float) -> bool {
        let d = Float::with_val(2200, x - b.m).abs();
        d <= b.r
    }

    proptest! {
        /// Every operation encloses the exact result of every pair of points of its inputs'
        /// balls (checked at the balls' ends and midpoints in 2200-bit arithmetic, where the
        /// results of +, −, × on f64 inputs are exact).
        #[test]
        fn operations_enclose(am in -1e3f64..1e3, ar in 0f64..1e-3, bm in -1e3f64..1e3, br in 0f64..1e-3, cm in -1e3f64..1e3, k in 1u32..1000) {
            let a = BallF64::new(am, ar);
            let b = BallF64::new(bm, br);
            let c = BallF64::exact(cm);
            for (x, y) in [(am, bm), (am + ar, bm - br), (am - ar, bm + br), (am + 0.5 * ar, bm + 0.99 * br)] {
                // Only points that are in the input balls (the f64 sums above are rounded).
                if !(a.contains_f64(x) && b.contains_f64(y)) {
                    continue;
                }
                let (xe, ye) = (exact(x), exact(y));
                let mut s = a; s.add_assign(&b);
                prop_assert!(contains(&s, &Float::with_val(2200, &xe + &ye)));
                let mut s = a; s.sub_assign(&b);
                prop_assert!(contains(&s, &Float::with_val(2200, &xe - &ye)));
                let mut p = a; p.mul_assign(&b);
                prop_assert!(contains(&p, &Float::with_val(2200, &xe * &ye)));
                let mut f = c; f.add_mul(&a, &b);
                prop_assert!(contains(&f, &Float::with_val(2200, exact(cm) + Float::with_val(2200, &xe * &ye))));
                let mut f = c; f.add_mul_loose(&a, &b);
                prop_assert!(contains(&f, &Float::with_val(2200, exact(cm) + Float::with_val(2200, &xe * &ye))));
                let mut q = a; q.div_u32_assign(k);
                let qx = Float::with_val(2200, &xe / k);
                let d = Float::with_val(2200, &qx - q.m).abs();
                prop_assert!(d <= q.r, "{x}/{k}");
            }
        }
    }

    /// Exact results keep radius 0; 0.1 + 0.2 does not.
    #[test]
    fn exact_results_stay_exact() {
        let mut a = BallF64::exact(1.5);
        a.add_mul(&BallF64::exact(2.0), &BallF64::exact(0.25));
        assert_eq!(a, BallF64::exact(2.0));
        let mut b = BallF64::exact(0.1);
        b.add_assign(&BallF64::exact(0.2));
        assert!(b.rad() > 0.0 && b.rad() < 1e-16);
        assert!(contains(&b, &Float::with_val(2200, exact(0.1) + exact(0.2))));
    }
}
