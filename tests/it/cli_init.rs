//! `lazyrich init …`: each initialiser writes a case file that loads and that `exact` or
//! `simulate` accepts, and its defining property holds, recomputed here from the written decimals
//! (exactly in rationals for the λ-balanced pair, to a named rounding tolerance for the f64
//! constructions); bad input exits 2 with a message and writes nothing. Seeds are explicit
//! arguments (printed by the command and in the assertion messages).

use crate::common;
use rug::Rational;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn case_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/cases")
        .join(format!("{name}.json"))
        .to_str()
        .unwrap()
        .to_string()
}

/// Run `init` with `args` plus `--out dir/name`, assert exit 0 and the seed in the message; the
/// written path and its JSON.
fn init(dir: &Path, name: &str, args: &[&str], seed: &str) -> (PathBuf, Value) {
    let out = dir.join(name);
    let mut all: Vec<&str> = vec!["init"];
    all.extend(args);
    all.extend(["--seed", seed, "--out", out.to_str().unwrap()]);
    let o = common::run(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{all:?}: {err}");
    assert!(err.contains(&format!("seed {seed}")), "seed not printed: {err}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (out, v)
}

fn rat(v: &Value) -> Rational {
    let s = v.as_str().expect("a decimal string");
    lazyrich::num::decimal::Num::parse(s).unwrap().to_rational().unwrap()
}

fn rat_matrix(v: &Value) -> Vec<Vec<Rational>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(rat).collect())
        .collect()
}

fn f64_matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

/// aᵀb (a: k×m, b: k×n as rows) and abᵀ (a: m×k, b: n×k), in f64 with naive loops.
fn at_b(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (m, n) = (a[0].len(), b[0].len());
    (0..m)
        .map(|i| {
            (0..n)
                .map(|j| a.iter().zip(b).map(|(ra, rb)| ra[i] * rb[j]).sum())
                .collect()
        })
        .collect()
}
fn a_bt(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter()
        .map(|ra| b.iter().map(|rb| ra.iter().zip(rb).map(|(x, y)| x * y).sum()).collect())
        .collect()
}

/// Rounding tolerance of a Gram-matrix identity with entries of size ≤ `scale` summed over `k`
/// terms: each product and sum rounds once, so |error| ≤ 2k·ε·scale; twice that for the two
/// Gram matrices of the difference, times 2 for the decimal→f64 input rounding.
fn gram_tol(k: usize, scale: f64) -> f64 {
    8.0 * k as f64 * f64::EPSILON * scale
}

fn max_abs(m: &[Vec<f64>]) -> f64 {
    m.iter().flatten().fold(0.0, |s: f64, v| s.max(v.abs()))
}

#[test]
fn lambda_balanced_init_is_exactly_balanced_and_exact_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = case_path("lb_3_3_3_lambda+2");
    for (lambda, dims, seed) in [("2", "3,2,3", "7"), ("-0.5", "3,3,3", "11"), ("0", "3,4,3", "13")] {
        let (out, v) = init(
            dir.path(),
            &format!("lb_{seed}.json"),
            &[
                "lambda-balanced",
                "--data",
                &data,
                "--dims",
                dims,
                "--lambda",
                lambda,
                "--sigma",
                "1",
                // (exact's proof of these inputs is a validated enclosure whose cost grows with
                // the horizon; a short one checks the same acceptance)
                "--times",
                "0,0.5,1",
            ],
            seed,
        );
        assert_eq!(v["model"], "lambda_balanced");
        assert_eq!(v["times"], serde_json::json!(["0", "0.5", "1"]), "--times written");
        // W2ᵀW2 − W1W1ᵀ = λI exactly, in rationals from the written decimals.
        let (w1, w2) = (rat_matrix(&v["w1_0"]), rat_matrix(&v["w2_0"]));
        let h = w1.len();
        let lam = lazyrich::num::decimal::Num::parse(lambda)
            .unwrap()
            .to_rational()
            .unwrap();
        for i in 0..h {
            for j in 0..h {
                let mut q = Rational::new();
                for row in &w2 {
                    q += Rational::from(&row[i] * &row[j]);
                }
                for (x, y) in w1[i].iter().zip(&w1[j]) {
                    q -= Rational::from(x * y);
                }
                let want = if i == j { lam.clone() } else { Rational::new() };
                assert_eq!(q, want, "seed {seed}, λ = {lambda}: (W2ᵀW2 − W1W1ᵀ)[{i}][{j}]");
            }
        }
        let o = common::run(&["exact", "--case", out.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "seed {seed}: exact: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn deep_conserved_init_has_q_equal_delta_i_and_simulate_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let seed = "21";
    let (out, v) = init(
        dir.path(),
        "deep.json",
        &[
            "deep-conserved",
            "--data",
            &case_path("dl_deep3_up_small"),
            "--hidden",
            "3,3",
            "--etas",
            "1,0.5,2",
            "--deltas",
            "0.5,-0.25",
            "--sigma",
            "1,0.7",
        ],
        seed,
    );
    assert_eq!(v["model"], "deep_linear");
    let layers: Vec<Vec<Vec<f64>>> = v["weights0"].as_array().unwrap().iter().map(f64_matrix).collect();
    let etas = [1.0, 0.5, 2.0];
    let deltas = [0.5, -0.25];
    // N_1 = W_1, N_2 = W_2, N_3 = Aᵀ (A stored h_2×c); Q_l = η_l N_{l+1}ᵀN_{l+1} − η_{l+1} N_lN_lᵀ.
    let q1_a = at_b(&layers[1], &layers[1]);
    let q1_b = a_bt(&layers[0], &layers[0]);
    let q2_a = a_bt(&layers[2], &layers[2]); // N_3ᵀN_3 = A Aᵀ
    let q2_b = a_bt(&layers[1], &layers[1]);
    for (l, (qa, qb)) in [(q1_a, q1_b), (q2_a, q2_b)].iter().enumerate() {
        let scale = etas[l] * max_abs(qa) + etas[l + 1] * max_abs(qb);
        let tol = gram_tol(3, scale.max(1.0));
        for i in 0..qa.len() {
            for j in 0..qa.len() {
                let q = etas[l] * qa[i][j] - etas[l + 1] * qb[i][j];
                let want = if i == j { deltas[l] } else { 0.0 };
                assert!(
                    (q - want).abs() <= tol,
                    "seed {seed}: Q_{}[{i}][{j}] = {q}, want {want} (tol {tol:.2e})",
                    l + 1
                );
            }
        }
    }
    let o = common::run(&["simulate", "--case", out.to_str().unwrap(), "--method", "tsit45"]);
    common::json_of(&o);
}

#[test]
fn wide_isotropic_init_has_delta_i_and_beta0_and_simulate_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let seed = "5";
    let beta0 = [0.3, -0.1, 0.2, 0.4, -0.25, 0.05];
    let beta0_s: Vec<String> = beta0.iter().map(f64::to_string).collect();
    let (out, v) = init(
        dir.path(),
        "wide.json",
        &[
            "wide-isotropic",
            "--data",
            &case_path("wl_w3x2_up_h2"),
            "--hidden",
            "2",
            "--delta",
            "0.5",
            "--beta0",
            &beta0_s.join(","),
            "--eta-a",
            "2",
            "--eta-w",
            "0.5",
        ],
        seed,
    );
    assert_eq!(v["model"], "two_layer_linear");
    let (a, w) = (f64_matrix(&v["a0"]), f64_matrix(&v["w0"]));
    // Δ = η_w AAᵀ − η_a WWᵀ = δI_h.
    let (aa, ww) = (a_bt(&a, &a), a_bt(&w, &w));
    let tol = gram_tol(3, 0.5 * max_abs(&aa) + 2.0 * max_abs(&ww));
    for i in 0..2 {
        for j in 0..2 {
            let q = 0.5 * aa[i][j] - 2.0 * ww[i][j];
            let want = if i == j { 0.5 } else { 0.0 };
            assert!(
                (q - want).abs() <= tol,
                "seed {seed}: Δ[{i}][{j}] = {q} (tol {tol:.2e})"
            );
        }
    }
    // WᵀA = β0 (d×c, row-major).
    let wta = at_b(&w, &a);
    let tol = gram_tol(2, max_abs(&wta).max(1.0));
    for i in 0..3 {
        for j in 0..2 {
            assert!(
                (wta[i][j] - beta0[i * 2 + j]).abs() <= tol,
                "seed {seed}: (WᵀA)[{i}][{j}] = {} vs β0 {}",
                wta[i][j],
                beta0[i * 2 + j]
            );
        }
    }
    common::json_of(&common::run(&[
        "simulate",
        "--case",
        out.to_str().unwrap(),
        "--method",
        "tsit45",
    ]));
}

#[test]
fn symmetrised_relu_init_pairs_units_and_simulate_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let seed = "9";
    let (tau, delta, eta_a, eta_w) = (0.5, -1.0, 0.8, 1.25);
    let (out, v) = init(
        dir.path(),
        "relu.json",
        &[
            "symmetrised-relu",
            "--data",
            &case_path("relu_d3h8n12_down"),
            "--hidden",
            "6",
            "--tau",
            "0.5",
            "--delta",
            "-1",
            "--eta-a",
            "0.8",
            "--eta-w",
            "1.25",
        ],
        seed,
    );
    assert_eq!(v["model"], "piecewise_linear");
    let w = f64_matrix(&v["w0"]);
    let a: Vec<f64> = v["a0"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().parse().unwrap())
        .collect();
    let (h, m) = (a.len(), a.len() / 2);
    assert_eq!(h, 6);
    for k in 0..m {
        // Unit k + m is unit k with a negated: f(x; θ0) = 0 for every x, exactly.
        assert_eq!(w[k], w[k + m], "seed {seed}: w_{k} vs w_{}", k + m);
        assert_eq!(a[k].to_bits(), (-a[k + m]).to_bits(), "seed {seed}: a_{k}");
    }
    for k in 0..h {
        let wn2: f64 = w[k].iter().map(|x| x * x).sum();
        let d = eta_w * a[k] * a[k] - eta_a * wn2;
        // δ_k and |a|‖w‖ = τ² to rounding of a few operations on O(1) values.
        let tol = 32.0 * f64::EPSILON * (eta_w * a[k] * a[k] + eta_a * wn2);
        assert!((d - delta).abs() <= tol, "seed {seed}: δ_{k} = {d}");
        let prod = a[k].abs() * wn2.sqrt();
        assert!(
            (prod - tau * tau).abs() <= 32.0 * f64::EPSILON * tau * tau,
            "seed {seed}: |a|‖w‖ = {prod}"
        );
    }
    let o = common::json_of(&common::run(&[
        "simulate",
        "--case",
        out.to_str().unwrap(),
        "--method",
        "tsit45",
    ]));
    // The first output point is θ0: the loss there is ½Σ y_i² since f(x; θ0) = 0.
    let y: Vec<f64> = v["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().parse().unwrap())
        .collect();
    let l0 = o["points"][0]["loss"].as_f64().unwrap();
    let want = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
    assert!(
        (l0 - want).abs() <= 1e-15 * want.max(1.0),
        "loss at θ0 {l0} vs ½Σy² {want}"
    );
}

#[test]
fn bad_init_inputs_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.json");
    let o = out.to_str().unwrap();
    let lb = case_path("lb_3_3_3_lambda+2");
    let relu = case_path("relu_d3h8n12_down");
    let dl = case_path("dl_deep3_up_small");
    let bad = |args: &[&str], needle: &str| {
        let mut all = vec!["init"];
        all.extend(args);
        common::expect_bad(&all, needle);
        assert!(!out.exists(), "{args:?}: output written");
    };
    bad(
        &[
            "lambda-balanced",
            "--data",
            &lb,
            "--dims",
            "4,2,3",
            "--lambda",
            "1",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "does not match the data",
    );
    bad(
        &[
            "lambda-balanced",
            "--data",
            &relu,
            "--dims",
            "3,2,1",
            "--lambda",
            "1",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "a lambda_balanced case file is needed",
    );
    bad(
        &[
            "lambda-balanced",
            "--data",
            &lb,
            "--dims",
            "3,2,3",
            "--lambda",
            "x",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "--lambda",
    );
    bad(
        &[
            "symmetrised-relu",
            "--data",
            &relu,
            "--hidden",
            "5",
            "--delta",
            "0",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "even",
    );
    bad(
        &[
            "deep-conserved",
            "--data",
            &dl,
            "--hidden",
            "3,3",
            "--deltas",
            "0.5",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "one δ per pair",
    );
    // δ_1 > 0 needs h_1 ≤ h_2: the library's feasibility message.
    bad(
        &[
            "deep-conserved",
            "--data",
            &dl,
            "--hidden",
            "4,2",
            "--deltas",
            "0.5,0",
            "--seed",
            "1",
            "--out",
            o,
        ],
        "infeasible",
    );
    let missing = dir.path().join("no/such/dir/x.json");
    common::expect_bad(
        &[
            "init",
            "symmetrised-relu",
            "--data",
            &relu,
            "--hidden",
            "4",
            "--delta",
            "0",
            "--seed",
            "1",
            "--out",
            missing.to_str().unwrap(),
        ],
        "does not exist",
    );
}
