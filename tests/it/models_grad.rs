//! Analytic derivatives of the single-neuron model against central finite differences
//! (argmin/russell pattern), on proptest inputs; and the conservation identity ∇δ·θ̇ = 0.

use crate::common;
use common::{fd_grad, fd_jacobian};
use lazyrich::models::single_neuron::{FunctionSpaceFlow, SingleNeuron};
use lazyrich::models::{GradientFlowModel, ParameterFlow, VectorField};
use proptest::prelude::*;

/// Central differences with step h have truncation error ~h²|f'''|/6 and rounding error ~ε|f|/h.
/// With h = 1e-5·(1+|θ|) both are ≲ 1e-9 relative for these O(1) inputs; 1e-6 relative (plus
/// the same absolute, for entries that vanish) leaves a 1000× margin and would still catch any
/// wrong term (which is O(1)).
const FD_STEP: f64 = 1e-5;
const FD_TOL: f64 = 1e-6;

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= FD_TOL * (1.0 + scale)
}

fn data_strategy() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, f64, f64)> {
    (1usize..5, 1usize..5).prop_flat_map(|(n, d)| {
        (
            prop::collection::vec(prop::collection::vec(-2.0f64..2.0, d), n),
            prop::collection::vec(-2.0f64..2.0, n),
            prop::collection::vec(-2.0f64..2.0, d + 1),
            0.1f64..5.0,
            0.1f64..5.0,
        )
    })
}

fn check_field(field: &dyn VectorField, x: &[f64], v: &[f64]) -> Result<(), TestCaseError> {
    let n = field.dim();
    let mut jac = vec![0.0; n * n];
    field.jacobian_inplace(x, &mut jac);
    let fd = fd_jacobian(field, x, FD_STEP);
    let scale = jac.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    for k in 0..n * n {
        prop_assert!(close(jac[k], fd[k], scale), "J[{k}] = {} vs FD {}", jac[k], fd[k]);
    }
    let mut jv = vec![0.0; n];
    field.jvp_inplace(x, v, &mut jv);
    for i in 0..n {
        let dense: f64 = (0..n).map(|j| jac[i + j * n] * v[j]).sum();
        // Same arithmetic up to summation order: a few ulp of the largest term.
        prop_assert!(
            (jv[i] - dense).abs() <= 1e-12 * (1.0 + scale),
            "Jv[{i}] = {} vs {}",
            jv[i],
            dense
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn gradient_hessian_and_hvp((x, y, theta, ea, ew) in data_strategy(), seed in 0u64..1000) {
        let m = SingleNeuron::new(&x, &y, ea, ew).unwrap();
        let n = m.n_params();
        let mut g = vec![0.0; n];
        m.grad_inplace(&theta, &mut g);
        let fd = fd_grad(|t| m.loss(t), &theta, FD_STEP);
        let gs = g.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for i in 0..n {
            prop_assert!(close(g[i], fd[i], gs), "grad[{i}] = {} vs FD {}", g[i], fd[i]);
        }
        let v: Vec<f64> = (0..n).map(|i| ((seed as f64 + 1.0) * (i as f64 + 0.7)).sin()).collect();
        check_field(&ParameterFlow(&m), &theta, &v)?;
        // Hessian symmetric
        let mut h = vec![0.0; n * n];
        m.hessian_inplace(&theta, &mut h);
        for i in 0..n { for j in 0..n { prop_assert_eq!(h[i + j * n], h[j + i * n]); } }
    }

    /// d/dt δ = ∇δ · θ̇ = 0 exactly along the flow (P1 §3): an algebraic identity, so it holds
    /// to rounding (≤ 1e-13 relative to the size of the two cancelling terms).
    #[test]
    fn delta_is_conserved_by_the_vector_field((x, y, theta, ea, ew) in data_strategy()) {
        let m = SingleNeuron::new(&x, &y, ea, ew).unwrap();
        let n = m.n_params();
        let mut dth = vec![0.0; n];
        ParameterFlow(&m).eval_inplace(&theta, &mut dth);
        // ∇δ = (2η_w a, −2η_a w)
        let t1 = 2.0 * ew * theta[0] * dth[0];
        let t2: f64 = (1..n).map(|i| 2.0 * ea * theta[i] * dth[i]).sum();
        let scale = t1.abs() + (1..n).map(|i| (2.0 * ea * theta[i] * dth[i]).abs()).sum::<f64>();
        prop_assert!((t1 - t2).abs() <= 1e-13 * (1.0 + scale), "{t1} vs {t2}");
    }

    #[test]
    fn function_space_jacobian((x, y, theta, ea, ew) in data_strategy(), delta in -5.0f64..5.0, seed in 0u64..1000) {
        let m = SingleNeuron::new(&x, &y, ea, ew).unwrap();
        let d = m.d();
        let beta: Vec<f64> = theta[1..].to_vec();
        prop_assume!(beta.iter().map(|b| b * b).sum::<f64>() > 0.05);
        let fs = FunctionSpaceFlow::new(&m, delta);
        let v: Vec<f64> = (0..d).map(|i| ((seed as f64 + 3.0) * (i as f64 + 0.3)).cos()).collect();
        check_field(&fs, &beta, &v)?;
    }
}

/// The function-space field equals −M Xᵀ(Xβ − y) with M = η_w a² I + η_a wwᵀ built from any
/// (a, w) with a w = β and the same δ (P1 eq. 3): two different formulas for the same vector.
#[test]
fn function_space_field_matches_parameter_form() {
    let x = vec![
        vec![0.9, -0.3, 0.4],
        vec![0.2, 1.1, -0.5],
        vec![-0.7, 0.3, 0.8],
        vec![0.5, 0.6, 0.1],
    ];
    let y = [0.7, -0.2, 0.5, 0.9];
    for (ea, ew, a, w) in [
        (1.0, 1.0, 0.6, [0.3, -0.4, 0.2]),
        (0.5, 2.0, -1.3, [0.1, 0.9, -0.2]),
        (3.0, 0.2, 0.05, [2.0, -1.0, 0.5]),
    ] {
        let m = SingleNeuron::new(&x, &y, ea, ew).unwrap();
        let th = [a, w[0], w[1], w[2]];
        let delta = m.delta(&th);
        let beta: Vec<f64> = w.iter().map(|v| a * v).collect();
        let mut f = vec![0.0; 3];
        FunctionSpaceFlow::new(&m, delta).eval_inplace(&beta, &mut f);
        // −M g with g = Gβ − b
        let g: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| m.gram()[i * 3 + j] * beta[j]).sum::<f64>() - m.xty()[i])
            .collect();
        let wg: f64 = (0..3).map(|i| w[i] * g[i]).sum();
        for i in 0..3 {
            let expect = -(ew * a * a * g[i] + ea * w[i] * wg);
            assert!(
                (f[i] - expect).abs() < 1e-13 * (1.0 + expect.abs()),
                "{i}: {} vs {expect}",
                f[i]
            );
        }
    }
}
