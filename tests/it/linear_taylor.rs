//! Taylor jets of the wide/deep linear flows ([`LinearJet`]) against independent derivatives
//! (finite differences of the loss and of the right-hand side), the conserved deep
//! initialisation against the conserved matrices it promises, and `simulate --method taylor`
//! for the linear models (f64 vs diffsol, MPFR conservation, bad input).

use crate::common;
use common::*;
use lazyrich::models::GradientFlowModel;
use lazyrich::models::deep_linear::{DeepInitError, DeepLinear, LinearData, conserved_init};
use lazyrich::taylor::JetField;
use lazyrich::taylor::linear::LinearJet;
use lazyrich::verify::{deep_linear as dl, wide_linear as wl};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases");

/// Central differences with step 1e-5·(1 + |x|) on O(1) polynomial functions: truncation
/// ~h²·|f'''| ≈ 1e-10, rounding ~ε·|f|/h ≈ 1e-11; 1e-7 relative leaves a wide margin while a
/// wrong term (an O(1) error) cannot pass.
const FD_REL_TOL: f64 = 1e-7;

fn models() -> Vec<(String, DeepLinear, Vec<f64>)> {
    let mut v = Vec::new();
    for name in ["w3x2_down_h3", "w3x2_bal_h4"] {
        let w = wl::catalog().into_iter().find(|w| w.name == name).unwrap();
        let (m, th, _) = wl::build(&w).unwrap();
        v.push((name.to_string(), m.deep().clone(), th));
    }
    for name in ["deep3_up_small", "deep4_up_small", "deep4_down_small"] {
        let c = dl::catalog().into_iter().find(|c| c.name == name).unwrap();
        let (m, th) = dl::build(&c).unwrap();
        v.push((name.to_string(), m, th));
    }
    v
}

/// F_0 and F_1 of the jet at θ with x(t) = θ + F_0 t + ….
fn jet_coeffs(m: &DeepLinear, th: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut f = LinearJet::from_model(m);
    f.reserve(3);
    let mut x: Vec<Vec<f64>> = th.iter().map(|v| vec![*v, 0.0, 0.0, 0.0]).collect();
    let mut f0 = vec![0.0; th.len()];
    f.coeff(&x, 0, &mut f0);
    for (xi, fi) in x.iter_mut().zip(&f0) {
        xi[1] = *fi;
    }
    let mut f1 = vec![0.0; th.len()];
    f.coeff(&x, 1, &mut f1);
    (f0, f1)
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let s = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / s
}

#[test]
fn jet_order0_is_minus_eta_fd_gradient_of_the_loss() {
    for (name, m, th) in models() {
        let (f0, _) = jet_coeffs(&m, &th);
        let g = fd_grad(|t| m.loss(t), &th, 1e-5);
        let want: Vec<f64> = g.iter().enumerate().map(|(i, gi)| -m.rate(i) * gi).collect();
        let e = rel_err(&f0, &want);
        assert!(e <= FD_REL_TOL, "{name}: F_0 vs −η·FD∇L: {e:e}");
    }
}

#[test]
fn jet_order1_is_fd_derivative_of_the_field_along_the_flow() {
    // F_1 = d/dt F(x(t)) at t = 0 = J(θ)·F_0: central difference of F along F_0.
    for (name, m, th) in models() {
        let (f0, f1) = jet_coeffs(&m, &th);
        let n0 = f0.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let h = 1e-5 / n0.max(1e-300);
        let field = |t: &[f64]| {
            let mut g = vec![0.0; t.len()];
            m.grad_inplace(t, &mut g);
            (0..t.len()).map(|i| -m.rate(i) * g[i]).collect::<Vec<f64>>()
        };
        let up: Vec<f64> = th.iter().zip(&f0).map(|(t, f)| t + h * f).collect();
        let dn: Vec<f64> = th.iter().zip(&f0).map(|(t, f)| t - h * f).collect();
        let (fu, fd) = (field(&up), field(&dn));
        let want: Vec<f64> = fu.iter().zip(&fd).map(|(a, b)| (a - b) / (2.0 * h)).collect();
        let e = rel_err(&f1, &want);
        assert!(e <= FD_REL_TOL, "{name}: F_1 vs FD of F along F_0: {e:e}");
    }
}

#[test]
fn conserved_init_has_the_requested_conserved_matrices() {
    // Q_l computed by the model (Gram products of the layers), compared with δ_l·I.
    let specs: &[(&[usize], &[f64], &[f64])] = &[
        (&[3, 3, 3, 3], &[1.0, 0.5, 2.0], &[5e-4, -1e-3]),
        (&[3, 4, 4, 4, 4], &[1.0, 0.5, 2.0, 1.5], &[1e-3, 5e-4, 1e-3]),
        (&[4, 4, 4, 4, 3], &[2.0, 1.0, 0.5, 1.0], &[-1e-3, -5e-4, -1e-3]),
        (&[5, 3, 3, 4], &[1.0, 3.0, 0.3], &[-0.7, 2.0]),
        (&[2, 2, 2], &[1.0, 1.0], &[0.0]),
    ];
    for (seed, (dims, etas, deltas)) in specs.iter().enumerate() {
        let layers = conserved_init(dims, etas, deltas, &[0.6, 0.9], seed as u64).unwrap();
        let n = 4;
        let x: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..dims[0]).map(|j| ((i + 2 * j) as f64).sin()).collect())
            .collect();
        let y: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..dims[dims.len() - 1]).map(|j| ((i * j) as f64).cos()).collect())
            .collect();
        let (m, th) = DeepLinear::from_layers(LinearData::new(&x, &y).unwrap(), &layers, etas).unwrap();
        for (l, q) in m.conserved(&th).iter().enumerate() {
            let h = dims[l + 1];
            for i in 0..h {
                for j in 0..h {
                    let want = if i == j { deltas[l] } else { 0.0 };
                    assert!(
                        (q[i * h + j] - want).abs() <= 1e-13 * (1.0 + m.conserved_scale(&th)),
                        "dims {dims:?} pair {l}: Q[{i},{j}] = {} want {want}",
                        q[i * h + j]
                    );
                }
            }
        }
    }
}

#[test]
fn conserved_init_refuses_infeasible_width_sign_combinations() {
    let e = conserved_init(&[3, 3, 3, 2], &[1.0; 3], &[1e-3, 1e-3], &[0.6], 1).unwrap_err();
    assert!(matches!(e, DeepInitError::Infeasible { pair: 2, .. }), "{e}");
    assert!(e.to_string().contains("δ > 0 needs"), "{e}");
    let e = conserved_init(&[3, 4, 4, 4], &[1.0; 3], &[-1e-3, 1e-3], &[0.6], 1).unwrap_err();
    assert!(matches!(e, DeepInitError::Infeasible { pair: 1, .. }), "{e}");
    assert!(e.to_string().contains("δ < 0 needs"), "{e}");
    assert!(
        conserved_init(&[3, 3, 3], &[1.0; 3], &[1e-3], &[0.6], 1).is_err(),
        "3 rates for 2 layers"
    );
}

fn beta_rows(v: &serde_json::Value) -> Vec<f64> {
    v["beta"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn cli_taylor_f64_matches_diffsol_for_wide_and_deep_cases() {
    for file in ["wl_w3x2_down_h3.json", "dl_deep3_down_small.json"] {
        let path = format!("{CASES}/{file}");
        let t = json_of(&run(&[
            "simulate", "--case", &path, "--method", "taylor", "--tol", "1e-14",
        ]));
        let f = json_of(&run(&[
            "simulate", "--case", &path, "--method", "tsit45", "--rtol", "1e-12", "--atol", "1e-14",
        ]));
        assert_eq!(t["method"], "taylor");
        let (pt, pf) = (t["points"].as_array().unwrap(), f["points"].as_array().unwrap());
        assert_eq!(pt.len(), pf.len());
        for (a, b) in pt.iter().zip(pf) {
            assert_eq!(a["t"], b["t"]);
            // Both global errors ≈ N_steps·rtol ≲ 1e-9 (as WL-T42).
            let e = rel_err(&beta_rows(a), &beta_rows(b));
            assert!(e <= 1e-9, "{file} t={}: {e:e}", a["t"]);
        }
        // Conservation to rounding: Taylor's estimate is ~1e-12 over the run.
        assert!(
            t["conserved_drift"].as_f64().unwrap() <= 1e-11,
            "{file}: {}",
            t["conserved_drift"]
        );
    }
}

#[test]
fn cli_taylor_mpfr_conserves_to_1e70_and_agrees_with_f64() {
    let path = format!("{CASES}/dl_deep3_up_small.json");
    let hi = json_of(&run(&[
        "simulate", "--case", &path, "--method", "taylor", "--prec", "256", "--tol", "1e-70",
    ]));
    let lo = json_of(&run(&[
        "simulate", "--case", &path, "--method", "taylor", "--tol", "1e-14",
    ]));
    assert_eq!(hi["prec_bits"], 256);
    // Conserved matrices: drift bounded by the Taylor estimate through the quadratic form
    // (≈ 1e-72 here), far below f64.
    let drift = hi["conserved_drift"].as_f64().unwrap();
    assert!(drift <= 1e-70, "MPFR drift {drift:e}");
    for (a, b) in hi["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(lo["points"].as_array().unwrap())
    {
        let ah: Vec<f64> = matrix_f64(&a["beta"]);
        // The f64 run's own error estimate is ~1e-12.
        let e = rel_err(&beta_rows(b), &ah);
        assert!(e <= 1e-10, "t={}: f64 vs MPFR {e:e}", a["t"]);
    }
}

#[test]
fn cli_taylor_linear_bad_input() {
    let path = format!("{CASES}/wl_w3x2_up_h2.json");
    expect_bad(
        &["simulate", "--case", &path, "--method", "taylor", "--prec", "40"],
        "precision",
    );
    expect_bad(
        &["simulate", "--case", &path, "--method", "taylor", "--tol", "2"],
        "tolerance",
    );
    expect_bad(
        &[
            "simulate",
            "--case",
            &path,
            "--method",
            "taylor",
            "--form",
            "function_space",
        ],
        "parameter flow only",
    );
}

#[test]
#[ignore = "full catalog rows (MPFR over t ≤ 2, deep4 nets with every method): ~1 min"]
fn full_linear_taylor_and_deep_rows_pass() {
    use lazyrich::verify::{Mode, deep_linear, linear_taylor};
    let rows: Vec<_> = linear_taylor::run(Mode::Full)
        .into_iter()
        .chain(deep_linear::run(Mode::Full))
        .collect();
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "failing rows: {failed:#?}");
    for id in [
        "WL-TAYLOR",
        "DL-TAYLOR",
        "WL-TAYLOR-MP",
        "DL-TAYLOR-MP",
        "DL-ISO",
        "DL-INFEAS",
    ] {
        assert!(rows.iter().any(|r| r.check == id), "{id} missing");
    }
}
