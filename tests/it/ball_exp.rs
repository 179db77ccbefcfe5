//! The table-based ball exponentials (`num::ball_exp::ExpTable`) against MPFR at higher
//! precision: for random balls and random points inside them, eˣ, eˣ − 1 and (eˣ − 1)/x computed
//! by MPFR at 2p + 64 bits lie in the fast enclosure (the reference's own rounding, ≤ 2^−(2p+63)
//! relative, is added as slack: ~2^−p times any radius the ball can have). Arguments cover 0,
//! |x| ≤ 1e−6, tiny magnitudes (2^−1070 … 2^−900), the no-reduction range |x| < ¾ and its edge,
//! moderate and large |x| (up to 2000, both signs: e^±2000 is outside the f64 range of the radius,
//! so those balls are infinite or minimal-radius, which is still an enclosure), and radii from 0 to
//! |mid|/4. Tightness: the fast radius is at most 4× MPFR's `Ball` radius for the same ball (the
//! fast path adds 14·2^−W|F| with W ≥ p + 20 guard bits to the same half-ulp and propagation
//! terms, so the ratio is ≈ 1; 4 leaves room for the upward-rounded f64 sums, never for a
//! looser method).

use lazyrich::num::ball::Ball;
use lazyrich::num::ball_exp::{ExpTable, FAST_MAX_PREC};
use proptest::prelude::*;
use rug::Float;
use rug::float::Round;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Tables are built once per precision per test thread (building costs milliseconds).
fn table(p: u32) -> Rc<ExpTable> {
    thread_local! {
        static TABLES: RefCell<HashMap<u32, Rc<ExpTable>>> = RefCell::new(HashMap::new());
    }
    TABLES.with(|t| {
        t.borrow_mut()
            .entry(p)
            .or_insert_with(|| Rc::new(ExpTable::new(p).unwrap()))
            .clone()
    })
}

fn hp(p: u32) -> u32 {
    2 * p + 64
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

/// The point mid + u·rad·(1 − 2⁻¹⁰) at high precision.
fn point(b: &Ball, u: f64, prec: u32) -> Float {
    if !b.rad().is_finite() {
        return Float::with_val(prec, b.mid());
    }
    let off = Float::with_val(prec, u * (1.0 - 1.0 / 1024.0)) * b.rad();
    Float::with_val(prec, b.mid() + off)
}

/// A p-bit midpoint: a scale times (m1 + m2·2⁻⁵²), so all p bits can be non-zero.
fn make_mid(p: u32, scale: f64, m1: f64, m2: f64) -> Float {
    let mut x = Float::with_val(p, m1);
    x += Float::with_val(p, m2) >> 52u32;
    x * scale
}

/// The ball [mid ± |mid|·2^−k] (k = 0: radius 0).
fn make_ball(mid: Float, k: u32) -> Ball {
    let rad = if k == 0 {
        0.0
    } else {
        (Float::with_val(64, mid.abs_ref()) >> k).to_f64_round(Round::Up)
    };
    Ball::with_rad(mid, rad)
}

fn prec() -> impl Strategy<Value = u32> {
    prop_oneof![Just(53u32), Just(170), Just(256), Just(334), 53u32..700]
}

/// Scales of the argument: near 0, tiny, the no-reduction range, moderate, large.
fn scale() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        1e-12f64..1e-6,
        (900i32..1070).prop_map(|e| 2f64.powi(-e / 2) * 2f64.powi(-(e - e / 2))),
        Just(0.75),
        0.01f64..1.0,
        1.0f64..20.0,
        20.0f64..800.0,
        800.0f64..2000.0,
    ]
}

fn mant() -> impl Strategy<Value = f64> {
    prop_oneof![-1.0f64..1.0, Just(1.0), Just(-1.0)]
}

fn rad_exp() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), 2u32..20, 20u32..400]
}

/// fast.rad ≤ 4·reference.rad (+ 4 smallest subnormals for radii at the bottom of f64).
fn tight(fast: &Ball, mpfr: &Ball) -> bool {
    !mpfr.rad().is_finite() || fast.rad() <= 4.0 * mpfr.rad() + 4.0 * f64::from_bits(1)
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
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn fast_exponentials_enclose_and_are_tight(p in prec(), sc in scale(), m1 in mant(), m2 in mant(),
                                                k in rad_exp(), u in -1.0f64..1.0) {
        let t = table(p);
        prop_assert!(t.is_fast());
        let x = make_ball(make_mid(p, sc, m1, m2), k);
        let h = hp(p);
        let px = point(&x, u, h);
        let (e, em1, phi) = (t.exp(&x), t.expm1(&x), t.expm1_over_x(&x));
        check!(e, Float::with_val(h, px.exp_ref()), "exp");
        check!(em1, Float::with_val(h, px.exp_m1_ref()), "expm1");
        let phi_ref = if px.is_zero() { Float::with_val(h, 1) } else { Float::with_val(h, px.exp_m1_ref()) / &px };
        check!(phi, phi_ref, "expm1_over_x");
        prop_assert!(e.prec() == p && em1.prec() == p);
        prop_assert!(tight(&e, &x.exp()), "exp radius {:e} vs MPFR {:e} for {:?}", e.rad(), x.exp().rad(), x);
        prop_assert!(tight(&em1, &x.expm1()), "expm1 radius {:e} vs MPFR {:e} for {:?}", em1.rad(), x.expm1().rad(), x);
        prop_assert!(tight(&phi, &x.expm1_over_x()), "phi1 radius {:e} vs MPFR {:e} for {:?}", phi.rad(), x.expm1_over_x().rad(), x);
    }
}

/// Hand-picked edges: the ¾ switch to ln 2 reduction, midpoints next to multiples of ln 2 (the
/// reduced argument near 0 and near ±ln2/2), the table-split boundaries (r = j·2⁻²⁴), the f64
/// range ends of eˣ, 2²⁰ (just past the fast path: MPFR is used) and ±1e−300 (relative accuracy of
/// expm1 on tiny arguments).
#[test]
fn edges_enclose_with_half_ulp_class_radii() {
    for p in [53u32, 170, 512, FAST_MAX_PREC] {
        let t = table(p);
        let h = hp(p);
        let ln2 = Float::with_val(h, rug::float::Constant::Log2);
        let mut mids: Vec<Float> = [
            "0.75",
            "-0.75",
            "0.7499999999",
            "1e-300",
            "-1e-300",
            "709.78",
            "-745.1",
            "1048576",
            "1048577",
        ]
        .iter()
        .map(|s| Float::with_val(p, Float::parse(s).unwrap()))
        .collect();
        for k in [1i32, -1, 7, 11, -40, 1000] {
            for off in [0.0, 1e-30, -1e-30, 0.3465, -0.3465] {
                mids.push(Float::with_val(p, Float::with_val(h, &ln2 * k) + off));
            }
        }
        for j in [1u32, 255, 256, 65535, 65536, 16_777_215] {
            mids.push(Float::with_val(p, j) >> 24u32);
            mids.push(-(Float::with_val(p, j) >> 24u32));
        }
        for m in mids {
            let x = Ball::exact(m.clone());
            let mh = Float::with_val(h, &m);
            let (e, em1) = (t.exp(&x), t.expm1(&x));
            assert!(
                encloses(&e, &Float::with_val(h, mh.exp_ref())),
                "exp({m}) at {p}: {e:?}"
            );
            assert!(
                encloses(&em1, &Float::with_val(h, mh.exp_m1_ref())),
                "expm1({m}) at {p}: {em1:?}"
            );
            assert!(
                tight(&e, &x.exp()),
                "exp({m}) at {p}: {:e} vs {:e}",
                e.rad(),
                x.exp().rad()
            );
            assert!(
                tight(&em1, &x.expm1()),
                "expm1({m}) at {p}: {:e} vs {:e}",
                em1.rad(),
                x.expm1().rad()
            );
            // Exact inputs inside the f64 radius range: the radius is ≲ one ulp at p bits.
            let rel_ulp = 2f64.powi(1 - p as i32);
            if m.to_f64().abs() < 700.0 && m.to_f64().abs() > 1e-280 {
                assert!(
                    em1.rel_rad() <= rel_ulp,
                    "expm1({m}) at {p}: relative radius {:e}",
                    em1.rel_rad()
                );
                assert!(
                    e.rel_rad() <= rel_ulp,
                    "exp({m}) at {p}: relative radius {:e}",
                    e.rel_rad()
                );
            }
        }
    }
}
