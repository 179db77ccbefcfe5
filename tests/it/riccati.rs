//! The λ-balanced closed form written once over `Real` (`exact::riccati`), checked against
//! independent computations: the MPFR closed form of `exact::lambda_balanced_mp` (a different
//! algorithm: Jacobi eigen-decomposition and Cholesky steps of the factor Q) at 2p + 64 bits, the
//! scalar logistic solution, and the validated Taylor enclosure of the raw parameter flow.

use lazyrich::case::{Case, LambdaBalancedCase};
use lazyrich::exact::lambda_balanced_mp::ClosedFormMp;
use lazyrich::exact::riccati::{LbInputs, MAX_STEPS, RiccatiError, qqt_enclosure, residual_enclosure};
use lazyrich::metrics::enclosed::lambda_balanced_qqt;
use lazyrich::models::lambda_balanced::{random_init, whitened_task};
use lazyrich::num::ball::Ball;
use lazyrich::num::decimal::Num;
use lazyrich::taylor::cases::enclose_case;
use lazyrich::taylor::validated::ValidatedOptions;
use lazyrich::verify::lambda_balanced::experiments::exact_decimal_case;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rug::Float;

fn sample_case(dims: (usize, usize, usize), lambda: f64, times: &[f64], seed: u64) -> LambdaBalancedCase {
    let (d_i, h, d_o) = dims;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (x, y) = whitened_task(d_i, d_o, 2 * d_i + 2, &mut rng).unwrap();
    let (w1, w2) = random_init(d_i, h, d_o, lambda, 0.4, &mut rng).unwrap();
    LambdaBalancedCase::from_f64(&x, &y, &w1, &w2, 1.25, times).unwrap()
}

/// Ball enclosures at p bits contain the MPFR closed form at 2p + 64 bits (whose own error, from
/// its two-precision bound, is ~2^−(2p) ≪ the radii) for equal and unequal dims and λ < 0, = 0,
/// > 0; radii stay near the working precision (≤ 2^−(p−20) relative) through t = 40.
#[test]
fn ball_contains_the_high_precision_mpfr_closed_form() {
    let p = 128;
    let cases = [
        ((3, 3, 3), 0.0),
        ((3, 3, 3), -1.5),
        ((2, 3, 3), 0.7),
        ((4, 3, 2), -2.0),
        ((6, 3, 3), 0.0),
        ((3, 3, 6), 1.0),
    ];
    for (k, (dims, lambda)) in cases.into_iter().enumerate() {
        let seed = 1000 + k as u64;
        println!("case dims {dims:?} λ = {lambda} seed {seed}");
        let c = sample_case(dims, lambda, &[0.0, 0.3, 3.0, 40.0], seed);
        let hi = ClosedFormMp::new(&c, 2 * p + 64).unwrap().evaluate(&c.times).unwrap();
        let enc = qqt_enclosure(&c, p).unwrap();
        println!("  working precision {} bits", enc.prec_used);
        for (m, r) in enc.points.iter().zip(&hi) {
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    let b = m.at(i, j);
                    assert!(
                        b.contains(r.at(i, j)),
                        "{dims:?} λ={lambda} ({i},{j}): {b:?} vs {}",
                        r.at(i, j)
                    );
                    let scale = r.at(i, j).to_f64().abs().max(1.0);
                    assert!(b.rad() <= scale * 2f64.powi(-(p as i32 - 20)), "{b:?}");
                }
            }
        }
    }
}

/// f64 through the same generic code agrees with 256-bit MPFR to the rounding of ≈ n·steps
/// operations per entry: tolerance n·steps·16ε·(1 + max|P|) with steps = 2‖F‖·t (the step rule).
/// Only for nets whose hidden width h is at least the number of positive eigenvalues of F: else
/// P-stepping amplifies rounding in rank-increasing directions like e^{2ft} (see
/// `qqt_enclosure`), and f64 users get the factor-stepping `ClosedForm`.
#[test]
fn f64_instantiation_agrees_with_mpfr() {
    for (k, (dims, lambda)) in [((3, 3, 3), 0.0), ((3, 3, 3), -2.0), ((2, 3, 3), 2.0)]
        .into_iter()
        .enumerate()
    {
        let seed = 2000 + k as u64;
        let t_end = 7.5;
        let c = sample_case(dims, lambda, &[0.0, 1.0, t_end], seed);
        let hi = ClosedFormMp::new(&c, 256).unwrap().evaluate(&c.times).unwrap();
        let inp = LbInputs::parse(&c, &0.0f64).unwrap();
        let pts = inp.qqt(&c.times).unwrap();
        let n = (dims.0 + dims.2) as f64;
        let fnorm = 2.0 * (1.0 + lambda.abs());
        let steps = (2.0 * fnorm * t_end / 1.25).ceil();
        for (m, r) in pts.iter().zip(&hi) {
            let rf = r.to_f64();
            let err = (m.to_f64() - &rf).amax();
            let tol = n * steps * 16.0 * f64::EPSILON * (1.0 + rf.amax());
            assert!(err <= tol, "seed {seed}: {err:e} > {tol:e}");
        }
    }
}

/// Two independent rigorous enclosures of the same flow must overlap: the ball closed form and
/// the validated Taylor integration of the raw parameter flow (W1, W2), on a case whose decimal
/// inputs are exactly whitened and exactly λ-balanced (so the closed form is that flow).
#[test]
fn ball_closed_form_overlaps_the_validated_parameter_flow() {
    for lambda in [-2, 0, 2] {
        let c = exact_decimal_case(lambda, &[0.0, 0.5, 2.0]).unwrap();
        let inp = LbInputs::parse(&c, &Ball::from_f64(128, 0.0)).unwrap();
        let pts = inp.qqt(&c.times).unwrap();
        let mut opts = ValidatedOptions::new(128);
        opts.tol = Some(1e-24);
        let tr = enclose_case(&Case::LambdaBalanced(c.clone()), &opts).unwrap();
        assert!(tr.stopped.is_none());
        for (m, theta) in pts.iter().zip(&tr.states) {
            let qqt = lambda_balanced_qqt((3, 3, 3), theta);
            for (b, e) in m.entries().iter().zip(&qqt) {
                let (lo, hi) = (b.lo().max(&e.lo()), b.hi().min(&e.hi()));
                assert!(lo <= hi, "λ={lambda}: {b:?} and {e:?} are disjoint");
                // The closed form is the tighter of the two.
                assert!(b.rad() <= e.rad().max(1e-30), "{b:?} vs {e:?}");
            }
        }
    }
}

/// The scalar Riccati ṗ = 2fp − p² (1×1: d_i = 1, d_o = 0 is not a network, so through the
/// generic semigroup directly) has p(s) = 2f·p0/(p0 + (2f − p0)e^{−2fs}).
#[test]
fn logistic_solution_in_balls() {
    use lazyrich::exact::riccati::Riccati;
    use lazyrich::num::mat::Mat;
    let prec = 200;
    for (f, p0, s) in [(0.7f64, 0.01f64, 9.0f64), (-0.4, 0.3, 5.0), (1.5, 2.0, 0.3)] {
        let b = |v: f64| Ball::from_f64(prec, v);
        let r = Riccati::new(&Mat::from_fn(1, 1, |_, _| b(f))).unwrap();
        let pb = r.evaluate(&Mat::from_fn(1, 1, |_, _| b(p0)), &[b(s)]).unwrap();
        let hp = 400;
        let (ff, pp, ss) = (Float::with_val(hp, f), Float::with_val(hp, p0), Float::with_val(hp, s));
        let ex = Float::with_val(hp, -2 * ff.clone() * &ss).exp();
        let num = Float::with_val(hp, 2 * ff.clone() * &pp);
        let den = Float::with_val(hp, &pp + Float::with_val(hp, 2 * ff - &pp) * ex);
        let val = num / den;
        assert!(pb[0].at(0, 0).contains(&val), "{:?} vs {val}", pb[0].at(0, 0));
        assert!(pb[0].at(0, 0).rad() < 1e-50, "{:?}", pb[0].at(0, 0));
    }
}

/// Hostile times: decreasing → an error naming the time; absurdly long → refused before work.
#[test]
fn bad_times_are_refused() {
    let mut c = sample_case((3, 3, 3), 0.0, &[0.0, 2.0, 1.0], 7);
    let inp = LbInputs::parse(&c, &0.0f64).unwrap();
    assert!(matches!(inp.qqt(&c.times), Err(RiccatiError::Order { index: 2, .. })));
    c.times = vec![Num::parse("1e15").unwrap()];
    let e = inp.qqt(&c.times).unwrap_err();
    assert!(
        matches!(e, RiccatiError::TooLong { steps, .. } if steps > MAX_STEPS as f64),
        "{e}"
    );
}

/// The one-shot formula's product-rule derivative satisfies the Riccati ODE: the residual ball
/// contains 0 and is tiny, and the one-shot and semigroup routes overlap — for λ < 0, = 0, > 0
/// and unequal dims. A wrong factor in J (J' ≠ E²) would leave an O(1) residual: checked by
/// the overlap of the two routes (a different evaluation of P(t)).
#[test]
fn one_shot_derivative_solves_the_riccati_ode() {
    for (k, (dims, lambda)) in [
        ((3, 3, 3), 0.0),
        ((4, 3, 2), -2.0),
        ((2, 3, 3), 2.0),
        ((3, 3, 3), -20.0),
    ]
    .into_iter()
    .enumerate()
    {
        let c = sample_case(dims, lambda, &[0.0], 3000 + k as u64);
        for t in ["0", "0.5", "4", "10"] {
            let r = residual_enclosure(&c, &Num::parse(t).unwrap(), 128).unwrap();
            assert!(r.routes_overlap, "{dims:?} λ={lambda} t={t}");
            for b in r.residual.entries() {
                assert!(b.contains_zero(), "{dims:?} λ={lambda} t={t}: {b:?}");
                assert!(b.rad() < 1e-25, "{dims:?} λ={lambda} t={t}: {b:?}");
            }
        }
    }
}

/// `exact --rigorous` on a λ-balanced case whose decimals are exactly whitened and balanced:
/// every printed [lo, hi] of W2W1 contains the 320-bit MPFR closed form (a different algorithm);
/// on a case balanced only to f64 rounding it refuses with exit 2 and names the defects.
#[test]
fn cli_exact_rigorous_lambda_balanced() {
    use lazyrich::case::Case;
    use std::process::Command;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases/lambda_balanced_example.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(["exact", "--case", path, "--rigorous", "--prec", "128"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bound_method"], "rigorous");
    let Case::LambdaBalanced(c) = Case::from_json(&std::fs::read_to_string(path).unwrap()).unwrap() else {
        panic!("λ-balanced example")
    };
    let hi = ClosedFormMp::new(&c, 320).unwrap().evaluate(&c.times).unwrap();
    let d_i = c.x.len();
    for (k, p) in v["points"].as_array().unwrap().iter().enumerate() {
        for (i, row) in p["w2w1"].as_array().unwrap().iter().enumerate() {
            for (j, e) in row.as_array().unwrap().iter().enumerate() {
                let lo = Float::with_val(320, Float::parse(e["lo"].as_str().unwrap()).unwrap());
                let up = Float::with_val(320, Float::parse(e["hi"].as_str().unwrap()).unwrap());
                let r = hi[k].at(d_i + i, j);
                assert!(lo <= *r && *r <= up, "t #{k} ({i},{j}): [{lo}, {up}] vs {r}");
                assert!(e["rad"].as_f64().unwrap() < 1e-30);
            }
        }
    }
    // Balanced and whitened only to ~1e-15: the closed form's enclosure would be of a neighbouring
    // problem, so the enclosures printed are the validated integration's of the inputs' own flow,
    // and the output says why (the defects named).
    let bad = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases/lb_3_3_3_lambda+2.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(["exact", "--case", bad, "--rigorous"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "validated_enclosure");
    let why = v["closed_form"].as_str().unwrap();
    assert!(why.starts_with("not used") && why.contains("XXᵀ/P − I"), "{why}");
}

mod proptests {
    use super::*;
    use lazyrich::models::lambda_balanced::check_feasible;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        /// Random feasible dims (equal and unequal), λ < 0, = 0, > 0, random seeds: the 128-bit
        /// enclosures contain the 320-bit (2p + 64) MPFR closed form at t = 0.7 and 6.
        #[test]
        fn enclosures_contain_the_high_precision_values(
            d_i in 1usize..5, h in 1usize..4, d_o in 1usize..5,
            lambda in proptest::sample::select(vec![-2.0f64, -0.5, 0.0, 0.5, 2.0]),
            seed in 0u64..1_000_000,
        ) {
            prop_assume!(check_feasible(d_i, h, d_o, lambda).is_ok());
            let c = sample_case((d_i, h, d_o), lambda, &[0.7, 6.0], seed);
            let hi = ClosedFormMp::new(&c, 320).unwrap().evaluate(&c.times).unwrap();
            let enc = qqt_enclosure(&c, 128).unwrap();
            for (m, r) in enc.points.iter().zip(&hi) {
                for i in 0..m.nrows() {
                    for j in 0..m.ncols() {
                        prop_assert!(m.at(i, j).contains(r.at(i, j)), "seed {} dims {:?} λ {}: {:?} vs {}",
                            seed, (d_i, h, d_o), lambda, m.at(i, j), r.at(i, j));
                    }
                }
            }
        }
    }
}
