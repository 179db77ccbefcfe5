//! CLI contract of issue 3: `exact --rigorous` and `simulate --method taylor --prec --tol`.

mod common;
use common::*;
use rug::Float;
use serde_json::Value;

const CASE: &str = r#"{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1, 5, 20]}"#;
const NOT_EXACT: &str = r#"{"model": "single_neuron", "x": [[0.6, 0.8], [0.8, -0.6]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#;

fn mp(s: &Value) -> Float {
    Float::with_val(400, Float::parse(s.as_str().expect("decimal string")).unwrap())
}

#[test]
fn rigorous_exact_encloses_the_taylor_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("c.json");
    std::fs::write(&case, CASE).unwrap();
    let case = case.to_str().unwrap();
    let r = json_of(&run(&["exact", "--case", case, "--prec", "256", "--rigorous"]));
    assert_eq!(r["bound_method"], "rigorous");
    let s = json_of(&run(&[
        "simulate", "--case", case, "--method", "taylor", "--prec", "256", "--tol", "1e-70",
    ]));
    assert_eq!(s["method"], "taylor");
    let est = s["err_estimate"].as_f64().unwrap();
    assert!(est > 0.0 && est < 1e-60, "{est}");
    assert!(s["stats"]["steps"].as_u64().unwrap() > 0);
    for (pr, ps) in r["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(s["points"].as_array().unwrap())
    {
        for q in ["a", "mu", "phi", "loss"] {
            let (lo, hi) = (mp(&pr[q]["lo"]), mp(&pr[q]["hi"]));
            assert!(lo <= hi, "{q}: lo > hi");
            let x = mp(&ps[q]);
            // The simulation is within its estimate (and its printed digits) of the enclosure.
            let slack = Float::with_val(400, est) + Float::with_val(400, 1e-60);
            assert!(
                Float::with_val(400, &lo - &slack) <= x && x <= Float::with_val(400, &hi + &slack),
                "{q}: {x} not near [{lo}, {hi}]"
            );
        }
    }
    // f64 Taylor prints the same point fields as the other methods.
    let f = json_of(&run(&[
        "simulate", "--case", case, "--method", "taylor", "--tol", "1e-10",
    ]));
    for k in [
        "t",
        "a",
        "w",
        "beta",
        "mu",
        "phi",
        "kernel_distance",
        "loss",
        "delta_drift",
    ] {
        assert!(f["points"][1].get(k).is_some(), "missing {k}");
    }
}

#[test]
fn bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("c.json");
    std::fs::write(&good, CASE).unwrap();
    let bad = dir.path().join("n.json");
    std::fs::write(&bad, NOT_EXACT).unwrap();
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
    expect_bad(
        &["exact", "--case", bad, "--prec", "128", "--rigorous"],
        "XᵀX = I exactly",
    );
    expect_bad(&["exact", "--case", good, "--prec", "30", "--rigorous"], "--prec 53");
    expect_bad(
        &["exact", "--case", good, "--rigorous", "--form", "hyperbolic"],
        "linearised form only",
    );
    expect_bad(
        &["simulate", "--case", good, "--method", "taylor", "--tol", "0"],
        "(0, 1)",
    );
    expect_bad(
        &["simulate", "--case", good, "--method", "taylor", "--tol", "NaN"],
        "(0, 1)",
    );
    expect_bad(
        &["simulate", "--case", good, "--method", "taylor", "--prec", "40"],
        "--prec 53",
    );
    expect_bad(
        &[
            "simulate",
            "--case",
            good,
            "--method",
            "taylor",
            "--form",
            "function_space",
        ],
        "parameter flow only",
    );
}
