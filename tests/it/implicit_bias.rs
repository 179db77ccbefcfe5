//! Implicit bias on low-rank data (P1 Thm 3.1, Thm B.10): the KKT solver against an independent
//! closed form (one-dimensional null space, `docs/theory.md` §1.7), against itself at higher precision,
//! its KKT residual at working precision, its f64 bound against 256-bit solutions on random
//! problems, and the δ → ±∞ limits.

use lazyrich::exact::implicit_bias::{KktProblem, Potential};
use lazyrich::models::samples;
use proptest::prelude::*;
use rug::Float;

/// P1 Fig. 4b (`docs/theory.md` §1.8): X = [[0.5, 1]], y = 1.1, β0 = (0.4, 0.05), η = 1.
fn fig4b(delta: f64, eta_a: f64, eta_w: f64) -> KktProblem {
    let (a0, w0) = samples::init_from_beta0(&[0.4, 0.05], delta, eta_a, eta_w, 1.0);
    KktProblem::new(
        &[vec![0.5, 1.0]],
        &[1.1],
        &w0,
        Potential::Hyperbolic { a0, eta_a, eta_w },
    )
    .unwrap()
}

/// The one-dimensional null-space formula of `docs/theory.md` §1.7 (from the authors' notebook,
/// re-derived there), η = 1: β∞ = β_ols + α n̂.
fn one_dim_formula(delta: f64) -> [f64; 2] {
    let x = [0.5f64, 1.0];
    let xn2 = x[0] * x[0] + x[1] * x[1];
    let ols = [1.1 * x[0] / xn2, 1.1 * x[1] / xn2];
    let nhat = [-x[1] / xn2.sqrt(), x[0] / xn2.sqrt()];
    let b0 = [0.4f64, 0.05];
    let r0 = (b0[0] * b0[0] + b0[1] * b0[1]).sqrt();
    let k = ((delta * delta + 4.0 * r0 * r0).sqrt() - delta).sqrt() * (b0[0] * nhat[0] + b0[1] * nhat[1]) / r0;
    let o2 = ols[0] * ols[0] + ols[1] * ols[1];
    let q = k * k + 2.0 * delta;
    let alpha = k / (2.0 * 2f64.sqrt()) * (q + (q * q + 16.0 * o2).sqrt()).sqrt();
    [ols[0] + alpha * nhat[0], ols[1] + alpha * nhat[1]]
}

/// The one-dimensional formula is evaluated in f64 with a few cancellation-free operations
/// (q + √(q² + 16‖β_ols‖²) cancels for q ≪ 0, i.e. δ ≪ 0: ≤ 1e-13 relative for |δ| ≤ 4 here).
const FORMULA_TOL: f64 = 1e-13;

#[test]
fn kkt_matches_the_one_dimensional_null_space_formula() {
    for delta in [-4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0] {
        let sol = fig4b(delta, 1.0, 1.0).solve().unwrap();
        let f = one_dim_formula(delta);
        let err = sol.beta.iter().zip(f).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(
            err <= FORMULA_TOL + sol.bound,
            "δ={delta}: {:?} vs {f:?}: {err:e}",
            sol.beta
        );
    }
}

#[test]
fn mp_solution_satisfies_kkt_to_working_precision_and_agrees_with_higher_precision() {
    for delta in [-10.0, -1.0, 0.0, 1e-3, 3.0] {
        for (eta_a, eta_w) in [(1.0, 1.0), (0.5, 2.5)] {
            let pb = fig4b(delta, eta_a, eta_w);
            let s256 = pb.solve_mp(256).unwrap();
            let s512 = pb.solve_mp(512).unwrap();
            // KKT residual at 256 bits: entries are O(1) sums of O(1) terms, so a few ulps of 2^-256.
            assert!(
                s256.residual < Float::with_val(64, Float::i_exp(1, -245)),
                "δ={delta}: residual {}",
                s256.residual
            );
            for ((a, b), bd) in s256.beta.iter().zip(&s512.beta).zip(&s256.bounds) {
                let diff = Float::with_val(512, a - b).abs();
                assert!(diff <= *bd, "δ={delta}: |β256 − β512| = {diff} > bound {bd}");
                // And the bound is tight enough to mean something (< 2^-200).
                assert!(*bd < Float::with_val(64, Float::i_exp(1, -200)), "bound {bd}");
            }
            // f64 solution within its own bound of the 256-bit one.
            let s = pb.solve().unwrap();
            let err = s
                .beta
                .iter()
                .zip(&s256.beta)
                .map(|(a, b)| (a - b.to_f64()).abs())
                .fold(0.0, f64::max);
            assert!(
                err <= s.bound,
                "δ={delta} η=({eta_a},{eta_w}): f64 error {err:e} > bound {:e}",
                s.bound
            );
            assert!(s.bound < 1e-12, "f64 bound {:e} is too loose to be useful", s.bound);
        }
    }
}

#[test]
fn deep_balanced_l1_is_thm31_at_delta_zero() {
    // Thm B.10 with L = 1 equals Thm 3.1 at δ = 0 (the potentials differ by the factor √2,
    // which drops out of the KKT system).
    let x = vec![vec![0.3, -1.0, 0.4], vec![0.9, 0.2, -0.5]];
    let y = [0.7, -0.4];
    let b0 = [0.2, 0.5, -0.3];
    let (a0, w0) = samples::init_from_beta0(&b0, 0.0, 1.0, 1.0, 1.0);
    let s1 = KktProblem::new(
        &x,
        &y,
        &w0,
        Potential::Hyperbolic {
            a0,
            eta_a: 1.0,
            eta_w: 1.0,
        },
    )
    .unwrap()
    .solve_mp(200)
    .unwrap();
    let s2 = KktProblem::new(&x, &y, &b0, Potential::DeepBalanced { l: 1 })
        .unwrap()
        .solve_mp(200)
        .unwrap();
    for (a, b) in s1.beta.iter().zip(&s2.beta) {
        // δ computed from (a0, w0) in binary64 is ≈ 1e-17, not exactly 0: the solutions differ by
        // O(δ), far below 1e-14.
        assert!(Float::with_val(200, a - b).abs().to_f64() < 1e-14);
    }
}

fn relative_distance(a: &[f64], b: &[f64]) -> f64 {
    let d = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    d / b.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn large_delta_limits_are_approached_at_second_order() {
    // δ → +∞: the lazy interpolant; δ → −∞: cβ0 (an interpolant here since n = 1 and c > 0).
    // The derived rate is O(δ⁻²): ×10 in δ must shrink the distance ~×100.
    for sign in [1.0, -1.0] {
        let dist: Vec<f64> = [1e2, 1e3, 1e4]
            .iter()
            .map(|m| {
                let pb = fig4b(sign * m, 1.0, 1.0);
                let lim = if sign > 0.0 {
                    pb.lazy_limit()
                } else {
                    pb.rich_direction_limit().0
                };
                relative_distance(&pb.solve().unwrap().beta, &lim)
            })
            .collect();
        for w in dist.windows(2) {
            let order = (w[0] / w[1]).log10();
            assert!((1.8..=2.2).contains(&order), "sign {sign}: distances {dist:?}");
        }
    }
    let (_, miss) = fig4b(-1.0, 1.0, 1.0).rich_direction_limit();
    assert!(miss < 1e-15);
}

#[test]
fn bad_inputs_are_refused_with_a_reason() {
    let p = Potential::Hyperbolic {
        a0: 1.0,
        eta_a: 1.0,
        eta_w: 1.0,
    };
    let e = KktProblem::new(&[vec![1.0, 0.0], vec![0.0, 1.0]], &[1.0, 1.0], &[1.0, 0.0], p).unwrap_err();
    assert!(e.to_string().contains("n < d"), "{e}");
    let e = KktProblem::new(
        &[vec![1.0, 2.0, 0.0], vec![2.0, 4.0, 0.0]],
        &[1.0, 2.0],
        &[1.0, 0.0, 0.0],
        p,
    )
    .unwrap_err();
    assert!(e.to_string().contains("drop redundant rows"), "{e}");
    let e = KktProblem::new(&[vec![1.0, 2.0]], &[1.0], &[0.0, 0.0], p).unwrap_err();
    assert!(e.to_string().contains("β0 = 0"), "{e}");
    let e = KktProblem::new(&[vec![1.0, f64::NAN]], &[1.0], &[1.0, 0.0], p).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
    let e = fig4b(1.0, 1.0, 1.0).solve_mp(40).unwrap_err();
    assert!(e.to_string().contains("--prec 53"), "{e}");
}

/// A random low-rank problem (seeded): X n×d and y standard normal, β0 = 0.5·N(0, I), δ from a
/// ladder covering every regime, general rates.
fn random_problem(seed: u64, d: usize, n: usize, dsel: usize, eta_a: f64, eta_w: f64) -> (KktProblem, f64) {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
    let x: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| g()).collect()).collect();
    let y: Vec<f64> = (0..n).map(|_| g()).collect();
    let b0: Vec<f64> = (0..d).map(|_| 0.5 * g()).collect();
    let delta = [-20.0, -2.0, -1e-3, 0.0, 1e-3, 2.0, 20.0][dsel];
    let (a0, w0) = samples::init_from_beta0(&b0, delta, eta_a, eta_w, 1.0);
    (
        KktProblem::new(&x, &y, &w0, Potential::Hyperbolic { a0, eta_a, eta_w }).unwrap(),
        delta,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Random low-rank problems in every δ regime and with η_a ≠ η_w: the f64 solution is within
    /// its stated bound of the 192-bit solution, and the latter satisfies the KKT system.
    #[test]
    fn f64_bound_covers_error_on_random_problems(
        seed in any::<u64>(), d in 3usize..6, n in 1usize..3, dsel in 0usize..7, eta_a in 0.3f64..3.0, eta_w in 0.3f64..3.0,
    ) {
        let (pb, delta) = random_problem(seed, d, n, dsel, eta_a, eta_w);
        let s = pb.solve().unwrap();
        let hp = pb.solve_mp(192).unwrap();
        let err = s.beta.iter().zip(&hp.beta).map(|(a, b)| (a - b.to_f64()).abs()).fold(0.0, f64::max);
        prop_assert!(err <= s.bound, "f64 error {err:e} > bound {:e} (δ={delta})", s.bound);
        prop_assert!(hp.max_bound() < 1e-50);
        let scale = hp.beta.iter().map(|b| b.to_f64().abs()).fold(1.0, f64::max);
        prop_assert!(hp.residual.to_f64() < 1e-50 * scale * 1e3);
    }
}

/// Precision of the Krawczyk enclosures under test, and the independent solution they must
/// contain: 2p + 64 bits (issue 15), by the two-precision MPFR Newton solver (a different method:
/// no balls, no Krawczyk operator).
const KRAWCZYK_PREC: u32 = 128;
const INDEPENDENT_PREC: u32 = 2 * KRAWCZYK_PREC + 64;
/// A useful enclosure: radius ≤ 2^-100·max(1, |β|) at 128 bits (the box starts at 4·‖C·F(z̃)‖,
/// itself a few ulps of 2^-128, and may grow ×16 a few times).
const KRAWCZYK_MAX_REL_RAD: f64 = 7.9e-31;

fn check_enclosure(pb: &KktProblem, what: &str) -> Result<(), TestCaseError> {
    let enc = pb
        .enclose(KRAWCZYK_PREC)
        .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let hp = pb.solve_mp(INDEPENDENT_PREC).unwrap();
    let scale = hp.beta.iter().map(|b| b.to_f64().abs()).fold(1.0, f64::max);
    for (i, (b, v)) in enc.beta.iter().zip(&hp.beta).enumerate() {
        prop_assert!(b.contains(v), "{what}: β[{i}] = {v} outside the enclosure {b:?}");
        prop_assert!(b.rad() <= KRAWCZYK_MAX_REL_RAD * scale, "{what}: radius {:e}", b.rad());
    }
    prop_assert_eq!(enc.nu.len(), pb.x_rows());
    Ok(())
}

#[test]
fn krawczyk_enclosures_contain_the_higher_precision_solution() {
    for delta in [-10.0, -1.0, 0.0, 1e-3, 3.0, 1e4, -1e4] {
        for (eta_a, eta_w) in [(1.0, 1.0), (0.5, 2.5)] {
            check_enclosure(
                &fig4b(delta, eta_a, eta_w),
                &format!("fig4b δ={delta} η=({eta_a},{eta_w})"),
            )
            .unwrap();
        }
    }
    for l in 1..=3u32 {
        let pb = KktProblem::new(
            &[vec![0.5, 1.0, -0.3], vec![0.2, -0.1, 0.9]],
            &[1.1, -0.4],
            &[0.4, 0.05, 0.2],
            Potential::DeepBalanced { l },
        )
        .unwrap();
        check_enclosure(&pb, &format!("deep L={l}")).unwrap();
    }
}

/// The test can fail: an enclosure of a different problem (y perturbed by 1e-15) must not contain
/// the solution of this one.
#[test]
fn krawczyk_enclosure_excludes_a_neighbouring_problem() {
    let pb = fig4b(-1.0, 1.0, 1.0);
    let (a0, w0) = samples::init_from_beta0(&[0.4, 0.05], -1.0, 1.0, 1.0, 1.0);
    let other = KktProblem::new(
        &[vec![0.5, 1.0]],
        &[1.1 + 1e-15],
        &w0,
        Potential::Hyperbolic {
            a0,
            eta_a: 1.0,
            eta_w: 1.0,
        },
    )
    .unwrap();
    let enc = other.enclose(KRAWCZYK_PREC).unwrap();
    let hp = pb.solve_mp(INDEPENDENT_PREC).unwrap();
    assert!(enc.beta.iter().zip(&hp.beta).any(|(b, v)| !b.contains(v)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Random low-rank problems in every δ regime, η_a ≠ η_w: the Krawczyk enclosure at 128 bits
    /// contains the 320-bit Newton solution and is tight.
    #[test]
    fn krawczyk_enclosures_hold_on_random_problems(
        seed in any::<u64>(), d in 3usize..6, n in 1usize..3, dsel in 0usize..7, eta_a in 0.3f64..3.0, eta_w in 0.3f64..3.0,
    ) {
        let (pb, delta) = random_problem(seed, d, n, dsel, eta_a, eta_w);
        check_enclosure(&pb, &format!("seed {seed} δ={delta}"))?;
    }
}

#[test]
fn catalog_flow_limits_match_kkt() {
    use lazyrich::verify::{Mode, implicit_bias};
    let rows = implicit_bias::run(Mode::Full);
    for r in &rows {
        eprintln!(
            "{} {} {} err={:.3e} bound={:.3e} margin={:.3e} {}",
            r.check, r.case, r.regime, r.abs_err, r.bound, r.margin, r.note
        );
    }
    assert!(rows.iter().all(|r| r.pass), "failing rows above");
    for id in ["IB-KKT", "IB-DEEP", "IB-LIMIT"] {
        assert!(rows.iter().any(|r| r.check == id), "{id} missing");
    }
}
