//! Enclosure property of every ball operation (`num::ball`): for random balls (midpoints from
//! 2^−1200 to 2^1200, exact zeros, radii from 0 to ~|mid|/4) and random points inside them, the
//! value of the operation computed at much higher precision (4p + 256 bits) lies in the result
//! ball. The reference's own rounding error (≤ 2^−(4p+255)|ref|) is added as slack; it is
//! ~2^−3p times smaller than any radius the ball can have, so it cannot hide a failure.

use lazyrich::num::ball::{Ball, BallError};
use proptest::prelude::*;
use rug::Float;
use rug::float::Round;

fn hp(p: u32) -> u32 {
    4 * p + 256
}

/// mantissa·2^e at p bits (the mantissa has up to 53 random bits, plus a second word to fill p).
fn make_mid(p: u32, m1: f64, m2: f64, e: i32) -> Float {
    let mut x = Float::with_val(p, m1);
    x += Float::with_val(p, m2) >> 52u32;
    if e >= 0 {
        x <<= e as u32;
    } else {
        x >>= (-e) as u32;
    }
    x
}

/// A ball [mid ± |mid|·2^−k] (k = 0 means radius 0).
fn make_ball(p: u32, m1: f64, m2: f64, e: i32, k: u32) -> Ball {
    let mid = make_mid(p, m1, m2, e);
    let rad = if k == 0 {
        0.0
    } else {
        (Float::with_val(64, mid.abs_ref()) >> k).to_f64_round(Round::Up)
    };
    Ball::with_rad(mid, rad)
}

/// The point mid + u·rad·(1 − 2⁻¹⁰) at high precision (inside the ball even after rounding).
fn point(b: &Ball, u: f64, prec: u32) -> Float {
    if !b.rad().is_finite() {
        return Float::with_val(prec, b.mid());
    }
    let off = Float::with_val(prec, u * (1.0 - 1.0 / 1024.0)) * b.rad();
    Float::with_val(prec, b.mid() + off)
}

/// |reference − mid| ≤ rad + 2^−(hp−1)|reference|, decided with directed rounding.
fn encloses(b: &Ball, reference: &Float) -> bool {
    if !b.rad().is_finite() {
        return true;
    }
    let slack = (Float::with_val(64, reference.abs_ref()) >> (reference.prec() - 1)).to_f64_round(Round::Up);
    let up = Float::with_val_round(64, reference - b.mid(), Round::Up).0;
    let down = Float::with_val_round(64, reference - b.mid(), Round::Down).0;
    let d = up.to_f64_round(Round::Up).max(-down.to_f64_round(Round::Down));
    d <= b.rad() + slack
}

fn prec() -> impl Strategy<Value = u32> {
    prop_oneof![Just(53u32), Just(128), Just(334), 53u32..700]
}

fn mant() -> impl Strategy<Value = f64> {
    prop_oneof![-1.0f64..1.0, Just(0.0), Just(1.0), Just(-1.0)]
}

fn rad_exp() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), 2u32..20, 20u32..400]
}

macro_rules! check {
    ($b:expr, $r:expr, $what:expr) => {{
        let (b, r) = (&$b, &$r);
        prop_assert!(
            encloses(b, r),
            "{} : ball {:?} misses {}",
            $what,
            b,
            r.to_string_radix(10, Some(30))
        )
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arithmetic(p in prec(), m1 in mant(), m2 in mant(), e1 in -1200i32..1200, k1 in rad_exp(),
                  n1 in mant(), n2 in mant(), e2 in -1200i32..1200, k2 in rad_exp(),
                  u in -1.0f64..1.0, v in -1.0f64..1.0) {
        let x = make_ball(p, m1, m2, e1, k1);
        let y = make_ball(p, n1, n2, e2, k2);
        let h = hp(p);
        let (px, py) = (point(&x, u, h), point(&y, v, h));
        check!(x.add(&y), Float::with_val(h, &px + &py), "add");
        check!(x.sub(&y), Float::with_val(h, &px - &py), "sub");
        check!(x.mul(&y), Float::with_val(h, &px * &py), "mul");
        // The in-place forms (radius read from the inputs before the midpoint is overwritten).
        let mut xa = x.clone();
        xa.add_assign(&y);
        check!(xa, Float::with_val(h, &px + &py), "add_assign");
        let mut xm = x.clone();
        xm.mul_assign(&y);
        check!(xm, Float::with_val(h, &px * &py), "mul_assign");
        // A point of y shifted by up to x's radius… widened by |u|·rad(x) still encloses it.
        let mut yw = y.clone();
        yw.widen(x.rad());
        let shift = Float::with_val(h, x.rad()) * u;
        check!(yw, Float::with_val(h, &py + &shift), "widen");
        check!(x.sqr(), Float::with_val(h, px.square_ref()), "sqr");
        // x·y + y·x: both products of the fused form, independent of each other only through
        // the points; and x·y + x·x, where the two products differ in magnitude.
        check!(x.mul_add_mul(&y, &y, &x), Float::with_val(h, &px * &py + &py * &px), "mul_add_mul");
        check!(x.mul_add_mul(&y, &x, &x), Float::with_val(h, &px * &py + &px * &px), "mul_add_mul_sq");
        check!(x.mul_u32(7), Float::with_val(h, &px * 7u32), "mul_u32");
        check!(x.mul_pow2(-3), Float::with_val(h, &px >> 3u32), "mul_pow2");
        check!(x.neg(), Float::with_val(h, -&px), "neg");
        match x.div(&y) {
            Ok(q) => check!(q, Float::with_val(h, &px / &py), "div"),
            Err(BallError::Domain { .. }) => prop_assert!(y.contains_zero() || y.rad() >= Float::with_val(64, y.mid().abs_ref()).to_f64() * 0.999),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn exponentials(p in prec(), m1 in mant(), m2 in mant(), e in -1200i32..10, k in rad_exp(), u in -1.0f64..1.0) {
        let x = make_ball(p, m1, m2, e, k);
        let h = hp(p);
        let px = point(&x, u, h);
        check!(x.exp(), Float::with_val(h, px.exp_ref()), "exp");
        check!(x.expm1(), Float::with_val(h, px.exp_m1_ref()), "expm1");
        check!(x.sinh(), Float::with_val(h, px.sinh_ref()), "sinh");
        check!(x.cosh(), Float::with_val(h, px.cosh_ref()), "cosh");
        check!(x.tanh(), Float::with_val(h, px.tanh_ref()), "tanh");
        let phi = if px.is_zero() { Float::with_val(h, 1) } else { Float::with_val(h, px.exp_m1_ref()) / &px };
        check!(x.expm1_over_x(), phi, "expm1_over_x");
    }

    #[test]
    fn logs_and_roots(p in prec(), m1 in 0.0f64..1.0, m2 in 0.0f64..1.0, e in -1200i32..1200, k in rad_exp(),
                      u in -1.0f64..1.0) {
        let pos = make_ball(p, m1, m2, e, if k == 0 { 0 } else { k.max(2) });
        let h = hp(p);
        let px = point(&pos, u, h);
        check!(pos.asinh(), Float::with_val(h, px.asinh_ref()), "asinh");
        check!(pos.neg().asinh(), Float::with_val(h, (-px.clone()).asinh_ref()), "asinh(-x)");
        // The f64 radius of a ball near the bottom of the f64 range may be rounded up past its
        // midpoint; such a ball truly reaches below 0 and must be refused.
        let reaches_below_zero = Float::with_val(h, pos.mid() - pos.rad()) < 0;
        match pos.sqrt() {
            Ok(s) => check!(s, Float::with_val(h, px.sqrt_ref()), "sqrt"),
            Err(err) => prop_assert!(reaches_below_zero, "sqrt of a non-negative ball failed: {err}"),
        }
        if pos.mid().is_zero() || reaches_below_zero {
            prop_assert!(pos.rsqrt().is_err());
        } else {
            match pos.rsqrt() {
                Ok(r) => check!(r, Float::with_val(h, px.recip_sqrt_ref()), "rsqrt"),
                Err(err) => prop_assert!(false, "rsqrt of a positive ball failed: {err}"),
            }
        }
        if pos.mid().is_zero() || reaches_below_zero {
            prop_assert!(pos.ln().is_err());
        } else {
            match pos.ln() {
                Ok(l) => check!(l, Float::with_val(h, px.ln_ref()), "ln"),
                Err(err) => prop_assert!(false, "ln of a positive ball failed: {err}"),
            }
        }
        // Negative balls: sqrt and ln must refuse (or, for an exact 0, give 0), never a finite
        // enclosure of something undefined.
        let neg = pos.neg();
        if !(neg.mid().is_zero() && neg.rad() == 0.0) {
            prop_assert!(neg.sqrt().is_err());
        }
        prop_assert!(neg.ln().is_err());
    }
}

/// The exact propagation bound |m_x| r_y + |m_y| r_x + r_x r_y of a product, in MPFR at `h` bits
/// rounded down (every term is a product of an f64 and a p-bit number: exact at h ≥ p + 53 + 2,
/// so only the final sum is rounded).
/// A factor 0 (an exact midpoint 0 or radius 0) makes its term 0 even against an infinite radius:
/// the product it bounds is then exact.
fn prop_down(x: &Ball, y: &Ball, h: u32) -> Float {
    let term = |a: Float, b: f64| if a.is_zero() || b == 0.0 { Float::new(h) } else { a * b };
    let t1 = term(Float::with_val(h, x.mid().abs_ref()), y.rad());
    let t2 = term(Float::with_val(h, y.mid().abs_ref()), x.rad());
    let t3 = term(Float::with_val(h, x.rad()), y.rad());
    Float::with_val_round(h, &t1 + &t2, Round::Down).0 + t3
}

/// Half an ulp of a p-bit result (the largest rounding error of its midpoint; 0 for 0).
fn half_ulp(m: &Float) -> Float {
    match m.get_exp() {
        Some(e) => Float::with_val(64, Float::i_exp(1, e - m.prec() as i32 - 1)),
        None => Float::new(64),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The radius path of products and sums (one raise of a round-to-nearest f64 sum,
    /// `num::ball::sum_up`, with the operation-by-operation bound on underflow, overflow and
    /// 0·∞) against the exact terms in MPFR: the radius is at least the exact propagation bound
    /// (|m_x| r_y + |m_y| r_x + r_x r_y, r_x + r_y; two products' bounds for `mul_add_mul`) and,
    /// for a product or sum, at most that bound plus half an ulp of the result, raised by
    /// 32ε relative plus 16 smallest subnormals (the raise is 2(m + 3)u ≤ 7ε for m = 4 terms;
    /// the bound |m| ≤ h·2^(e−53) adds ε; a |m| below the normal f64 range is bounded to within
    /// one subnormal, which adds 2⁻¹⁰⁷⁴(r_x + r_y)): radii do not grow. Midpoints from 2^−1200 to 2^1200
    /// and radii down to 0 reach the subnormal and overflow ends of the f64 radius.
    #[test]
    fn radii_bound_the_exact_propagation_terms(p in prop_oneof![Just(170u32), Just(191), 53u32..400],
                  m1 in mant(), m2 in mant(), e1 in -1200i32..1200, k1 in rad_exp(),
                  n1 in mant(), n2 in mant(), e2 in -1200i32..1200, k2 in rad_exp()) {
        let x = make_ball(p, m1, m2, e1, k1);
        let y = make_ball(p, n1, n2, e2, k2);
        let h = 2 * p + 64;
        let raise = |b: Float, m: &Float| -> Float {
            let b = b + half_ulp(m);
            b * (1.0 + 32.0 * f64::EPSILON) + 16.0 * f64::from_bits(1)
        };
        let mut xm = x.clone();
        xm.mul_assign(&y);
        let mut xs = x.clone();
        xs.set_mul(&x, &y);
        for (what, b) in [("mul", x.mul(&y)), ("mul_assign", xm), ("set_mul", xs)] {
            if !b.rad().is_finite() {
                continue;
            }
            let lo = prop_down(&x, &y, h);
            prop_assert!(Float::with_val(h, b.rad()) >= lo, "{what}: radius {:e} < exact propagation {}", b.rad(), lo);
            // |m| below the normal f64 range is bounded only to within 2⁻¹⁰⁷⁴ (a subnormal).
            let sub = Float::with_val(h, x.rad()) + y.rad();
            let hi = raise(lo + sub * f64::from_bits(1), b.mid());
            prop_assert!(Float::with_val(h, b.rad()) <= hi, "{what}: radius {:e} > raised bound {}", b.rad(), hi);
        }
        let mut xa = x.clone();
        xa.add_assign(&y);
        for (what, b) in [("add", x.add(&y)), ("sub", x.sub(&y)), ("add_assign", xa)] {
            if !b.rad().is_finite() {
                continue;
            }
            let lo = Float::with_val(h, x.rad()) + y.rad();
            prop_assert!(Float::with_val(h, b.rad()) >= lo, "{what}: radius {:e} < {}", b.rad(), lo);
            let hi = raise(lo, b.mid());
            prop_assert!(Float::with_val(h, b.rad()) <= hi, "{what}: radius {:e} > raised bound {}", b.rad(), hi);
        }
        let f = x.mul_add_mul(&y, &y, &x);
        if f.rad().is_finite() {
            let lo = prop_down(&x, &y, h) * 2u32;
            prop_assert!(Float::with_val(h, f.rad()) >= lo, "mul_add_mul: radius {:e} < {}", f.rad(), lo);
        }
    }
}

/// Balls that straddle 0: division, ln and sqrt are errors, the others still enclose.
#[test]
fn straddling_zero() {
    let x = Ball::with_rad(Float::with_val(128, 1e-40), 1e-30);
    for bad in [Ball::from_u32(128, 1).div(&x), x.ln(), x.sqrt()] {
        assert!(matches!(bad, Err(BallError::Domain { .. })));
    }
    let h = hp(128);
    for u in [-1.0, -0.3, 0.0, 0.5, 1.0] {
        let px = point(&x, u, h);
        assert!(encloses(&x.tanh(), &Float::with_val(h, px.tanh_ref())));
        assert!(encloses(&x.sinh(), &Float::with_val(h, px.sinh_ref())));
        assert!(encloses(&x.expm1(), &Float::with_val(h, px.exp_m1_ref())));
    }
}

/// Widths are tight: one operation on exact inputs costs at most half an ulp (2^−p relative).
#[test]
fn exact_inputs_give_half_ulp_radii() {
    let p = 256;
    let x = Ball::exact(Float::with_val(p, 3) / 7u32);
    let y = Ball::exact(Float::with_val(p, 5) / 11u32);
    let ulp_rel = 2f64.powi(-(p as i32));
    for (name, b) in [
        ("add", x.add(&y)),
        ("mul", x.mul(&y)),
        ("div", x.div(&y).unwrap()),
        ("exp", x.exp()),
        ("expm1", x.expm1()),
        ("ln", x.ln().unwrap()),
        ("sqrt", x.sqrt().unwrap()),
        ("sinh", x.sinh()),
        ("cosh", x.cosh()),
        ("tanh", x.tanh()),
        ("asinh", x.asinh()),
    ] {
        assert!(b.rel_rad() <= ulp_rel, "{name}: relative radius {:e}", b.rel_rad());
    }
}
