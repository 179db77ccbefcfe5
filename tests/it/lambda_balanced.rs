//! λ-balanced two-layer linear networks (P2): initialisation, derivatives, closed form vs
//! simulation, Riccati residual, conservation, NTK.

use lazyrich::exact::lambda_balanced::{ClosedForm, LbError, f_matrix, q_matrix};
use lazyrich::flow::{FlowOptions, Method, integrate};
use lazyrich::models::lambda_balanced::{
    InitError, LinearNetwork, aligned_init, measure_lambda, random_init, whitened_task,
};
use lazyrich::models::{GradientFlowModel, ParameterFlow, VectorField};
use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Algorithm 1 builds W2ᵀW2 − W1W1ᵀ = R(D2² − D1²)Rᵀ = λRRᵀ with R orthogonal to rounding and
/// each d² − c² = λ to a few ulps: the defect is a few ulps of max(|λ|, ‖W‖²) times the width.
/// 64·ε·h·(1 + |λ| + ‖W‖²) covers it with margin; an error in the construction is O(1).
fn balance_tol(h: usize, lambda: f64, w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> f64 {
    64.0 * f64::EPSILON * h as f64 * (1.0 + lambda.abs() + w1.norm_squared().max(w2.norm_squared()))
}

#[test]
fn random_init_is_lambda_balanced_for_all_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut n_ok = 0;
    for (d_i, h, d_o) in [
        (3, 3, 3),
        (5, 3, 2),
        (2, 3, 4),
        (4, 6, 4),
        (10, 6, 4),
        (4, 4, 6),
        (3, 1, 3),
    ] {
        for lambda in [-5.0, -1.0, 0.0, 1.0, 5.0] {
            match random_init(d_i, h, d_o, lambda, 0.5, &mut rng) {
                Ok((w1, w2)) => {
                    let (l, defect) = measure_lambda(&w1, &w2);
                    let tol = balance_tol(h, lambda, &w1, &w2);
                    assert!(defect <= tol, "{d_i},{h},{d_o} λ={lambda}: defect {defect:e} > {tol:e}");
                    assert!((l - lambda).abs() <= tol, "{d_i},{h},{d_o}: λ {l} vs {lambda}");
                    n_ok += 1;
                }
                Err(InitError::Infeasible { reason, .. }) => {
                    // Only h > min(d_i, d_o) with the wrong sign of λ may be infeasible.
                    assert!(
                        h > d_i.min(d_o) && lambda != 0.0,
                        "{d_i},{h},{d_o} λ={lambda}: {reason}"
                    );
                    assert!((lambda > 0.0 && h > d_o) || (lambda < 0.0 && h > d_i), "{reason}");
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    // By hand from the rule: 35 combinations minus (5,3,2) λ>0 ×2, (2,3,4) λ<0 ×2,
    // (4,6,4) λ≠0 ×4, (10,6,4) λ>0 ×2 = 25 feasible.
    assert_eq!(n_ok, 25);
    // Explicit infeasible cases with their reason.
    let e = random_init(3, 4, 2, 1.0, 0.5, &mut rng).unwrap_err();
    assert!(e.to_string().contains("h ≤ d_o = 2"), "{e}");
    let e = random_init(2, 4, 3, -1.0, 0.5, &mut rng).unwrap_err();
    assert!(e.to_string().contains("h ≤ d_i = 2"), "{e}");
    assert!(random_init(2, 4, 3, f64::NAN, 0.5, &mut rng).is_err());
}

#[test]
fn aligned_init_shares_singular_vectors_with_task() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (x, y) = whitened_task(4, 3, 12, &mut rng).unwrap();
    let net = LinearNetwork::new(&x, &y, 3, 1.0).unwrap();
    let syx = net.syx();
    let (w1, w2) = aligned_init(&syx, 3, &[1e-3, 2e-3, 3e-3], -2.0, &mut rng).unwrap();
    let (l, defect) = measure_lambda(&w1, &w2);
    assert!(defect <= balance_tol(3, 2.0, &w1, &w2) && (l + 2.0).abs() < 1e-14);
    // Aligned ⇔ W2W1 commutes with the task in the sense Σ̃_yxᵀ W2W1 symmetric (same V basis,
    // same U basis, both positive strengths).
    let w = &w2 * &w1;
    let a = syx.transpose() * &w;
    let asym = (&a - a.transpose()).amax();
    assert!(asym < 1e-15 * (1.0 + a.amax()) * 10.0, "{asym:e}");
}

fn ode_residual_scale(m: &DMatrix<f64>) -> f64 {
    1.0 + m.amax()
}

/// Closed form vs BDF/Tsit45 at rtol 1e-12: the acceptance criterion is ≤ 1e-9 relative.
/// The integrators' local tolerance is 1e-12; over t ≤ 10 (≲ 60 time constants for |λ| ≤ 5)
/// the global error stays well below 1e-9 of the solution's scale.
const SIM_REL_TOL: f64 = 1e-9;

fn compare_with_simulation(d_i: usize, h: usize, d_o: usize, lambda: f64, seed: u64, method: Method) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (x, y) = whitened_task(d_i, d_o, 2 * d_i + 3, &mut rng).unwrap();
    let tau = 1.5;
    let net = LinearNetwork::new(&x, &y, h, tau).unwrap();
    let (w1, w2) = random_init(d_i, h, d_o, lambda, 0.3, &mut rng).unwrap();
    let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
    let times = [0.0, 0.5, 1.0, 2.0, 4.0, 10.0];
    let pts = cf.evaluate(&times).unwrap();
    let th0 = net.theta(&w1, &w2).unwrap();
    let opts = FlowOptions::new(method).with_tol(1e-12, 1e-14);
    let tr = integrate(&ParameterFlow(&net), &th0, &times, &opts).unwrap();
    let mut worst: f64 = 0.0;
    for (p, th) in pts.iter().zip(&tr.states) {
        let (a1, a2) = net.unpack(th);
        let sim = q_matrix(&a1, &a2);
        let sim_qqt = &sim * sim.transpose();
        let err = (&p.qqt - &sim_qqt).amax() / p.qqt.amax().max(1e-300);
        worst = worst.max(err);
    }
    worst
}

#[test]
fn closed_form_matches_simulation_all_regimes() {
    for (d_i, h, d_o) in [(3, 3, 3), (4, 3, 2), (2, 3, 3), (5, 4, 3)] {
        for lambda in [-5.0, -1.0, 0.0, 1.0, 5.0] {
            if lazyrich::models::lambda_balanced::check_feasible(d_i, h, d_o, lambda).is_err() {
                continue;
            }
            let err = compare_with_simulation(d_i, h, d_o, lambda, 11, Method::Tsit45);
            assert!(
                err <= SIM_REL_TOL,
                "({d_i},{h},{d_o}) λ={lambda}: rel err {err:e} > {SIM_REL_TOL:e}"
            );
        }
    }
    // And with an implicit method (analytic Hessian as Jacobian).
    let err = compare_with_simulation(3, 3, 2, -1.0, 5, Method::Bdf);
    assert!(err <= SIM_REL_TOL, "bdf: {err:e}");
}

#[test]
fn closed_form_rejects_bad_inputs() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (x, y) = whitened_task(3, 2, 8, &mut rng).unwrap();
    let net = LinearNetwork::new(&x, &y, 3, 1.0).unwrap();
    let (w1, w2) = random_init(3, 3, 2, -1.0, 0.5, &mut rng).unwrap();
    let mut w1b = w1.clone();
    w1b[(0, 0)] += 1e-6;
    match ClosedForm::new(&net, &w1b, &w2) {
        Err(LbError::NotBalanced { lambda, defect, .. }) => {
            assert!((lambda + 1.0).abs() < 1e-5 && defect > 1e-7);
        }
        other => panic!("{other:?}"),
    }
    let x2 = &x * 1.01;
    let net2 = LinearNetwork::new(&x2, &y, 3, 1.0).unwrap();
    assert!(matches!(
        ClosedForm::new(&net2, &w1, &w2),
        Err(LbError::NotWhitened { .. })
    ));
    let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
    assert!(cf.evaluate(&[1.0, 0.5]).is_err());
    assert!(cf.evaluate(&[-1.0]).is_err());
    assert!(LinearNetwork::new(&x, &y, 3, 0.0).is_err());
    assert!(LinearNetwork::new(&x, &DMatrix::zeros(2, 7), 3, 1.0).is_err());
}

/// Long times: the stable evaluation converges to the fixed point W2W1 → Σ̃_yx (docs/theory.md §4.5,
/// thesis Thm 4.1.2) with no loss of digits, where a one-shot evaluation overflows.
#[test]
fn long_time_limit_is_task() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for lambda in [-2.0, 0.0, 2.0] {
        let (x, y) = whitened_task(3, 3, 9, &mut rng).unwrap();
        let net = LinearNetwork::new(&x, &y, 3, 1.0).unwrap();
        let (w1, w2) = random_init(3, 3, 3, lambda, 0.5, &mut rng).unwrap();
        let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
        let p = cf.evaluate(&[2000.0]).unwrap().pop().unwrap();
        let err = (p.w2w1() - net.syx()).amax();
        // Converged up to rounding of ~2000·max|f| steps: ≤ 1e-12 is far above that (≈1e-13).
        assert!(err < 1e-12, "λ={lambda}: {err:e}");
        // Converged representation W2W2ᵀ − W1ᵀW1 block structure: the λ-balance carries over:
        // Q̂ steps preserve W2ᵀW2 − W1W1ᵀ only implicitly; check the fixed point of the Riccati
        // equation instead: F P + P F − P² = 0.
        let f = f_matrix(&net.syx(), lambda);
        let res = &f * &p.qqt + &p.qqt * &f - &p.qqt * &p.qqt;
        assert!(res.amax() < 1e-12 * ode_residual_scale(&p.qqt), "{:e}", res.amax());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Gradient and HVP vs central differences (step 1e-5: truncation ~1e-10, rounding ~1e-11).
    #[test]
    fn derivatives_match_finite_differences(d_i in 1usize..4, h in 1usize..4, d_o in 1usize..4, p in 1usize..6, seed in 0u64..1000) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        use rand::Rng;
        let x = DMatrix::<f64>::from_fn(d_i, p, |_, _| rng.random_range(-1.0..1.0));
        let y = DMatrix::<f64>::from_fn(d_o, p, |_, _| rng.random_range(-1.0..1.0));
        let net = LinearNetwork::new(&x, &y, h, 0.7).unwrap();
        let n = net.n_params();
        let th: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut g = vec![0.0; n];
        net.grad_inplace(&th, &mut g);
        let step = 1e-5;
        let mut yv = th.clone();
        for i in 0..n {
            yv[i] = th[i] + step; let up = net.loss(&yv);
            yv[i] = th[i] - step; let dn = net.loss(&yv);
            yv[i] = th[i];
            let fd = (up - dn) / (2.0 * step);
            prop_assert!((fd - g[i]).abs() <= 1e-6 * (1.0 + g[i].abs()), "grad {i}: {fd} vs {}", g[i]);
        }
        // HVP vs difference of gradients along v, and Hessian column consistency.
        let mut hv = vec![0.0; n];
        net.hvp_inplace(&th, &v, &mut hv);
        let tp: Vec<f64> = th.iter().zip(&v).map(|(a, b)| a + step * b).collect();
        let tm: Vec<f64> = th.iter().zip(&v).map(|(a, b)| a - step * b).collect();
        let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
        net.grad_inplace(&tp, &mut gp);
        net.grad_inplace(&tm, &mut gm);
        for i in 0..n {
            let fd = (gp[i] - gm[i]) / (2.0 * step);
            prop_assert!((fd - hv[i]).abs() <= 1e-6 * (1.0 + hv[i].abs()), "hvp {i}: {fd} vs {}", hv[i]);
        }
        let mut hess = vec![0.0; n * n];
        net.hessian_inplace(&th, &mut hess);
        for i in 0..n { for j in 0..n {
            prop_assert!((hess[i + j * n] - hess[j + i * n]).abs() <= 1e-12 * (1.0 + hess[i + j * n].abs()));
        }}
        let flow = ParameterFlow(&net);
        let mut dy = vec![0.0; n];
        flow.eval_inplace(&th, &mut dy);
        prop_assert!((dy[0] + g[0] / 0.7).abs() <= 1e-15 * (1.0 + g[0].abs()) * 4.0);
    }
}

/// λ-balance is conserved along simulated flows (docs/theory.md §4.2): drift ≤ 1e-9 at rtol 1e-12.
#[test]
fn balance_is_conserved_along_flow() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (x, y) = whitened_task(4, 3, 6, &mut rng).unwrap();
    // Non-whitened data and a non-balanced init: the conservation law holds for any data.
    let x = &x * 1.3;
    let net = LinearNetwork::new(&x, &y, 5, 1.0).unwrap();
    let w1 = DMatrix::<f64>::from_fn(5, 4, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
    let w2 = DMatrix::<f64>::from_fn(3, 5, |i, j| ((i * 2 + j * 5) % 7) as f64 * 0.1 - 0.3);
    let c0 = w2.transpose() * &w2 - &w1 * w1.transpose();
    let th0 = net.theta(&w1, &w2).unwrap();
    let tr = integrate(
        &ParameterFlow(&net),
        &th0,
        &[1.0, 5.0, 20.0],
        &FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14),
    )
    .unwrap();
    for th in &tr.states {
        let (a1, a2) = net.unpack(th);
        let c = a2.transpose() * &a2 - &a1 * a1.transpose();
        let drift = (&c - &c0).amax();
        assert!(drift < 1e-9, "{drift:e}");
    }
}

mod mp {
    use super::*;
    use lazyrich::case::LambdaBalancedCase;
    use lazyrich::exact::lambda_balanced_mp::{ClosedFormMp, MatMp};
    use lazyrich::num::decimal::Num;
    use rug::Float;

    fn sample_case(d_i: usize, h: usize, d_o: usize, lambda: f64, times: &[f64], seed: u64) -> LambdaBalancedCase {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (x, y) = whitened_task(d_i, d_o, 2 * d_i + 2, &mut rng).unwrap();
        let (w1, w2) = random_init(d_i, h, d_o, lambda, 0.4, &mut rng).unwrap();
        LambdaBalancedCase::from_f64(&x, &y, &w1, &w2, 1.25, times).unwrap()
    }

    fn max_abs_diff(a: &MatMp, b: &MatMp) -> f64 {
        a.data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| Float::with_val(512, x - y).abs().to_f64())
            .fold(0.0, f64::max)
    }

    /// The MPFR and f64 evaluations agree to the f64 rounding level (≈ steps·ε·scale; 1e-12 is
    /// ~1000× that for these ≤ 100-step runs, and any formula difference would be O(1)).
    #[test]
    fn mp_agrees_with_f64() {
        for (d_i, h, d_o, lambda) in [(3, 3, 3, 0.0), (4, 3, 2, -2.0), (2, 3, 3, 2.0)] {
            let c = sample_case(d_i, h, d_o, lambda, &[0.0, 1.0, 7.5], 4);
            let cf = ClosedFormMp::new(&c, 128).unwrap();
            let pts = cf.evaluate(&c.times).unwrap();
            let x = LambdaBalancedCase::matrix_f64(&c.x, "x").unwrap();
            let y = LambdaBalancedCase::matrix_f64(&c.y, "y").unwrap();
            let w1 = LambdaBalancedCase::matrix_f64(&c.w1_0, "w1_0").unwrap();
            let w2 = LambdaBalancedCase::matrix_f64(&c.w2_0, "w2_0").unwrap();
            let net = LinearNetwork::new(&x, &y, h, 1.25).unwrap();
            let cf64 = ClosedForm::new(&net, &w1, &w2).unwrap();
            let p64 = cf64.evaluate(&c.times_f64()).unwrap();
            for (a, b) in pts.iter().zip(&p64) {
                let err = (a.to_f64() - &b.qqt).amax();
                assert!(
                    err < 1e-12 * (1.0 + b.qqt.amax()),
                    "({d_i},{h},{d_o}) λ={lambda}: {err:e}"
                );
            }
        }
    }

    /// High-precision Riccati residual: at 256 bits, the central difference with step
    /// η = 1e-20 has truncation error ~η²·|P'''| ≈ 1e-40 and rounding error ~2⁻²⁵⁶/η ≈ 1e-57, so
    /// τ·dP/dt − (FP + PF − P²) must be ≲ 1e-38; any error in the closed form (or a wrong F) is
    /// O(1). The bound 1e-35 leaves a 1000× margin.
    #[test]
    #[allow(clippy::needless_range_loop)] // index notation mirrors (FP + PF − P²)_ij
    fn closed_form_satisfies_riccati_ode() {
        let prec = 256;
        for (d_i, h, d_o, lambda) in [
            (3, 3, 3, 0.0),
            (3, 3, 3, -5.0),
            (4, 3, 2, -1.0),
            (2, 3, 3, 1.0),
            (2, 2, 3, 5.0),
        ] {
            for t in [0.3, 4.0] {
                let times: Vec<Num> = [format!("{t}") + "-1e-20", format!("{t}"), format!("{t}") + "+1e-20"]
                    .iter()
                    .map(|s| {
                        // exact decimal t ± η
                        let v = Float::with_val(prec, Float::parse(s.split(['+', '-']).next().unwrap()).unwrap());
                        let v = if s.contains('+') {
                            v + Float::with_val(prec, Float::parse("1e-20").unwrap())
                        } else if s.contains('-') {
                            v - Float::with_val(prec, Float::parse("1e-20").unwrap())
                        } else {
                            v
                        };
                        Num::parse(&v.to_string_radix(10, Some(75))).unwrap()
                    })
                    .collect();
                let mut c = sample_case(d_i, h, d_o, lambda, &[0.0], 9);
                c.times = times;
                let cf = ClosedFormMp::new(&c, prec).unwrap();
                let pts = cf.evaluate(&c.times).unwrap();
                let n = d_i + d_o;
                // F built here, independently of the library: Σ̃_yx = YXᵀ/P and
                // λ = tr(W2ᵀW2 − W1W1ᵀ)/h = (‖W2‖²_F − ‖W1‖²_F)/h at 256 bits.
                let (x, y) = (&c.x, &c.y);
                let p_n = x[0].len();
                let sq = |m: &Vec<Vec<Num>>| {
                    m.iter()
                        .flatten()
                        .fold(Float::new(prec), |a, v| a + v.to_mp(prec).square())
                };
                let lam = (sq(&c.w2_0) - sq(&c.w1_0)) / h as u32;
                let mut f = vec![vec![Float::new(prec); n]; n];
                for (i, row) in f.iter_mut().enumerate().take(d_i) {
                    row[i] = Float::with_val(prec, -&lam) / 2u32;
                }
                for o in 0..d_o {
                    f[d_i + o][d_i + o] = Float::with_val(prec, &lam) / 2u32;
                    for jj in 0..d_i {
                        let mut acc = Float::new(prec);
                        for k in 0..p_n {
                            acc += y[o][k].to_mp(prec) * x[jj][k].to_mp(prec);
                        }
                        acc /= p_n as u32;
                        f[d_i + o][jj] = acc.clone();
                        f[jj][d_i + o] = acc;
                    }
                }
                let tau = Float::with_val(prec, Float::parse("1.25").unwrap());
                let two_eta = Float::with_val(prec, Float::parse("2e-20").unwrap());
                let p = &pts[1];
                let mut worst: f64 = 0.0;
                for i in 0..n {
                    for j in 0..n {
                        let deriv = Float::with_val(prec, pts[2].at(i, j) - pts[0].at(i, j)) / &two_eta * &tau;
                        let mut rhs = Float::new(prec);
                        for k in 0..n {
                            rhs += Float::with_val(prec, &f[i][k] * p.at(k, j));
                            rhs += Float::with_val(prec, p.at(i, k) * &f[k][j]);
                            rhs -= Float::with_val(prec, p.at(i, k) * p.at(k, j));
                        }
                        worst = worst.max(Float::with_val(prec, deriv - rhs).abs().to_f64());
                    }
                }
                assert!(worst < 1e-35, "({d_i},{h},{d_o}) λ={lambda} t={t}: residual {worst:e}");
            }
        }
    }

    /// At t = 50 (≈ 250 steps for |λ| = 5) the 128-bit evaluation keeps ≥ 30 correct digits:
    /// checked against a 320-bit evaluation of the same case.
    #[test]
    fn thirty_digits_at_t50() {
        for (d_i, h, d_o, lambda) in [(3, 3, 3, 5.0), (4, 3, 2, -5.0), (3, 3, 3, 0.0)] {
            let c = sample_case(d_i, h, d_o, lambda, &[50.0], 13);
            let lo = ClosedFormMp::new(&c, 128).unwrap().evaluate(&c.times).unwrap();
            let hi = ClosedFormMp::new(&c, 320).unwrap().evaluate(&c.times).unwrap();
            let scale = hi[0].data.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max);
            let err = max_abs_diff(&lo[0], &hi[0]);
            assert!(
                err <= 1e-30 * scale,
                "({d_i},{h},{d_o}) λ={lambda}: {err:e} vs scale {scale}"
            );
        }
    }
}

/// The Kronecker NTK (docs/theory.md §4.1) equals J Jᵀ with J the analytic Jacobian of the outputs
/// (row o·P + n) with respect to (W1, W2), and J is itself checked by central differences.
/// Both are sums of O(1) products: agreement to 1e-12 relative; FD agreement to 1e-7.
#[test]
fn ntk_formula_matches_parameter_jacobian() {
    use lazyrich::metrics::lambda_balanced::{kernel_distance, ntk};
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let (d_i, h, d_o, p) = (3, 4, 2, 5);
    let x = DMatrix::<f64>::from_fn(d_i, p, |_, _| rng.random_range(-1.0..1.0));
    let w1 = DMatrix::<f64>::from_fn(h, d_i, |_, _| rng.random_range(-1.0..1.0));
    let w2 = DMatrix::<f64>::from_fn(d_o, h, |_, _| rng.random_range(-1.0..1.0));
    let n_par = h * d_i + d_o * h;
    let outputs = |a: &DMatrix<f64>, b: &DMatrix<f64>| -> Vec<f64> {
        let f = b * a * &x;
        (0..d_o)
            .flat_map(|o| (0..p).map(move |n| (o, n)))
            .map(|(o, n)| f[(o, n)])
            .collect()
    };
    let mut jac = DMatrix::<f64>::zeros(d_o * p, n_par);
    let w1x = &w1 * &x;
    for o in 0..d_o {
        for n in 0..p {
            let r = o * p + n;
            for a in 0..h {
                for j in 0..d_i {
                    jac[(r, a * d_i + j)] = w2[(o, a)] * x[(j, n)];
                }
                jac[(r, h * d_i + o * h + a)] = w1x[(a, n)];
            }
        }
    }
    // Finite-difference check of the analytic Jacobian.
    let step = 1e-6;
    for k in 0..n_par {
        let (mut a1, mut a2) = (w1.clone(), w2.clone());
        let (mut b1, mut b2) = (w1.clone(), w2.clone());
        if k < h * d_i {
            a1[(k / d_i, k % d_i)] += step;
            b1[(k / d_i, k % d_i)] -= step;
        } else {
            let kk = k - h * d_i;
            a2[(kk / h, kk % h)] += step;
            b2[(kk / h, kk % h)] -= step;
        }
        let (up, dn) = (outputs(&a1, &a2), outputs(&b1, &b2));
        for r in 0..d_o * p {
            assert!(((up[r] - dn[r]) / (2.0 * step) - jac[(r, k)]).abs() < 1e-7);
        }
    }
    let k_jac = &jac * jac.transpose();
    let k_formula = ntk(&x, &(w1.transpose() * &w1), &(&w2 * w2.transpose()));
    let err = (&k_jac - &k_formula).amax();
    assert!(err < 1e-12 * k_jac.amax(), "{err:e}");
    // Kernel distance via the d×d inner-product identity = via the explicit kernels.
    let w1t = &w1 * 1.3 + DMatrix::from_fn(h, d_i, |i, j| 0.1 * (i + j) as f64);
    let w2t = &w2 * 0.7;
    let k_t = ntk(&x, &(w1t.transpose() * &w1t), &(&w2t * w2t.transpose()));
    let s_explicit = 1.0 - k_formula.dot(&k_t) / (k_formula.norm() * k_t.norm());
    let s = kernel_distance(
        &x,
        &(w1.transpose() * &w1),
        &(&w2 * w2.transpose()),
        &(w1t.transpose() * &w1t),
        &(&w2t * w2t.transpose()),
    );
    assert!((s - s_explicit).abs() < 1e-14 && s > 1e-3, "{s} vs {s_explicit}");
}

/// Derived symmetry (see `verify::lambda_balanced::Fig2Data`): for d_i = h = d_o the network
/// function W2W1(t) depends on λ only through |λ|; it fails (O(1)) when h < d_i, d_o. Start ±λ from the same W2W1(0) (same seed) and
/// compare the closed forms, and one simulation; a sign error in F would break it at O(1).
#[test]
fn network_function_depends_on_abs_lambda_only() {
    for (d_i, h, d_o) in [(3, 3, 3), (2, 2, 2), (4, 2, 3)] {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let (x, y) = whitened_task(d_i, d_o, 9, &mut rng).unwrap();
        let net = LinearNetwork::new(&x, &y, h, 1.0).unwrap();
        let times = [0.0, 1.0, 3.0];
        let mut ws = Vec::new();
        for lambda in [1.5, -1.5] {
            let mut r = ChaCha8Rng::seed_from_u64(77);
            let (w1, w2) = random_init(d_i, h, d_o, lambda, 0.3, &mut r).unwrap();
            let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
            ws.push(cf.evaluate(&times).unwrap());
        }
        for (a, b) in ws[0].iter().zip(&ws[1]) {
            let err = (a.w2w1() - b.w2w1()).amax();
            if d_i == h && h == d_o {
                assert!(err < 1e-13, "({d_i},{h},{d_o}) t={}: {err:e}", a.t);
            } else if a.t > 0.0 {
                assert!(
                    err > 1e-3,
                    "({d_i},{h},{d_o}) t={}: symmetry should break, {err:e}",
                    a.t
                );
            }
            // The representations themselves differ (W2W2ᵀ − W1ᵀW1 carries λ).
            if d_i == d_o {
                assert!((a.w2w2t() - b.w2w2t()).amax() > 0.5);
            }
        }
    }
}

/// Singular values of W2W1(t) for a task-aligned init = the per-mode closed form
/// (docs/theory.md §4.5, P1 §1.4 with d = 1): two different formulas, agreement to 1e-12 relative,
/// and at t → ∞ both give the task's singular values.
#[test]
fn aligned_modes_follow_scalar_closed_form() {
    use lazyrich::exact::lambda_balanced::mode_strength;
    use lazyrich::models::lambda_balanced::mode_factors;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (x, y) = whitened_task(3, 3, 10, &mut rng).unwrap();
    let tau = 0.8;
    let net = LinearNetwork::new(&x, &y, 3, tau).unwrap();
    let mut task_sv: Vec<f64> = net.syx().singular_values().iter().copied().collect();
    task_sv.sort_by(|a, b| b.total_cmp(a));
    let s0 = [1e-2, 3e-3, 2e-2];
    for lambda in [-5.0, -1.0, 0.0, 1.0, 5.0] {
        let (w1, w2) = aligned_init(&net.syx(), 3, &s0, lambda, &mut rng).unwrap();
        let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
        for p in cf.evaluate(&[0.0, 0.7, 2.0, 6.0, 40.0]).unwrap() {
            let mut got: Vec<f64> = p.w2w1().singular_values().iter().copied().collect();
            got.sort_by(|a, b| b.total_cmp(a));
            let mut want: Vec<f64> = task_sv
                .iter()
                .zip(&s0)
                .map(|(&s, &a0)| {
                    let (c0, d0) = mode_factors(a0, lambda);
                    mode_strength(s, lambda, c0, d0, p.t, tau)
                })
                .collect();
            want.sort_by(|a, b| b.total_cmp(a));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                    "λ={lambda} t={}: {g} vs {w}",
                    p.t
                );
            }
        }
    }
}

/// `metrics::enclosed::singular_values` (Weyl + Ostrowski around a binary64 SVD) contains the
/// exact singular values, computed independently at 256 bits from the closed form of the 2×2
/// Gram matrix: for A = [[1, 2], [3, 4], [5, 6]] (and its transpose), AᵀA = [[35, 44], [44, 56]]
/// and σ² = (91 ± √8185)/2. The enclosures are narrow: the SVD's rounding is ≈ 1e-15 relative,
/// so a width ≤ [`SV_WIDTH_TOL`]·σ_max is expected; with every entry widened by r = 1e-9 the
/// exact values stay inside and the width grows by at most 2k²r (k = 3 after padding: each entry
/// of UᵀÃV gains a radius ≤ ‖U_i‖₁‖V_j‖₁·r ≤ k·r, and e is the Frobenius norm of k² of them).
const SV_WIDTH_TOL: f64 = 1e-13;

#[test]
fn singular_value_enclosures_contain_the_exact_values() {
    use lazyrich::metrics::enclosed::singular_values;
    use lazyrich::num::ball::Ball;
    use rug::Float;
    let prec = 256;
    let root = Float::with_val(prec, 8185).sqrt();
    let exact = [
        Float::with_val(prec, Float::with_val(prec, 91 + &root) / 2).sqrt(),
        Float::with_val(prec, Float::with_val(prec, 91 - &root) / 2).sqrt(),
    ];
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let at = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];
    for (entries, dims) in [(a, (3, 2)), (at, (2, 3))] {
        for r in [0.0, 1e-9] {
            let balls: Vec<Ball> = entries
                .iter()
                .map(|&x| Ball::with_rad(Float::with_val(prec, x), r))
                .collect();
            let sv = singular_values(&balls, dims).unwrap();
            assert_eq!(sv.len(), 2);
            for (s, e) in sv.iter().zip(&exact) {
                assert!(s.contains(e), "{dims:?} r = {r:e}: {s:?} does not contain {e}");
                let width = 2.0 * s.rad();
                let k = 3.0;
                let allowed = SV_WIDTH_TOL * exact[0].to_f64() + 2.0 * k * k * r * 1.01;
                assert!(width <= allowed, "{dims:?} r = {r:e}: width {width:e} > {allowed:e}");
            }
        }
    }
    // A ball matrix with a non-finite entry is refused, not enclosed.
    let bad: Vec<Ball> = [1.0, f64::INFINITY, 0.0, 1.0]
        .iter()
        .map(|&x| Ball::with_rad(Float::with_val(prec, x), 0.0))
        .collect();
    assert!(singular_values(&bad, (2, 2)).is_err());
}
