//! CLI contract of issue 3: `exact --rigorous` and `simulate --method taylor --prec --tol`.

use crate::common;
use common::*;
use rug::Float;
use serde_json::Value;

const CASE: &str = r#"{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1, 5, 20]}"#;
/// Whitened only to 7.2e-7 as written: XᵀX − I = [[0, −4.8e-7], [−4.8e-7, 7.2000036e-7]] exactly
/// (0.48 − 0.8·0.6000006 and 0.6000006² − 0.36).
const NOT_EXACT: &str = r#"{"model": "single_neuron", "x": [[0.6, 0.8], [0.8, -0.6000006]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#;

/// Exactly whitened as written, though 0.6 and 0.8 have no binary representation.
const DECIMAL_WHITENED: &str = r#"{"model": "single_neuron", "x": [[0.6, 0.8], [0.8, -0.6]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#;

/// Whitening is decided on the decimals in rational arithmetic: X = [[0.6, 0.8], [0.8, −0.6]] is
/// exactly orthogonal, so `exact --rigorous` encloses its closed form, and the enclosure overlaps
/// the independent validated integration of the same inputs (`simulate --method taylor
/// --rigorous`) at every time and for every printed quantity they share.
#[test]
fn decimal_whitened_data_get_rigorous_closed_form_enclosures() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.json");
    std::fs::write(&f, DECIMAL_WHITENED).unwrap();
    let f = f.to_str().unwrap();
    let cf = json_of(&run(&["exact", "--case", f, "--prec", "128", "--rigorous"]));
    let vi = json_of(&run(&[
        "simulate",
        "--case",
        f,
        "--method",
        "taylor",
        "--rigorous",
        "--prec",
        "128",
    ]));
    let (pc, pv) = (cf["points"].as_array().unwrap(), vi["points"].as_array().unwrap());
    assert_eq!(pc.len(), 2);
    let mut compared = 0;
    for (c, v) in pc.iter().zip(pv) {
        for q in ["a", "w", "loss"] {
            let flat = |x: &Value| -> Vec<Value> {
                match x {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                }
            };
            for (bc, bv) in flat(&c[q]).iter().zip(flat(&v[q])) {
                let (lc, hc, lv, hv) = (mp(&bc["lo"]), mp(&bc["hi"]), mp(&bv["lo"]), mp(&bv["hi"]));
                assert!(
                    lc <= hv && lv <= hc,
                    "{q}: closed form [{lc}, {hc}] and flow [{lv}, {hv}] do not overlap"
                );
                assert!(
                    Float::with_val(400, &hc - &lc) < 1e-30,
                    "{q}: closed-form enclosure too wide"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 2 * 4);
}

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
    // Not exactly whitened: not an error any more — the enclosures are of the inputs' own flow
    // (validated integration), and the output says why the closed form was not used; they match
    // `simulate --method taylor --rigorous` on the same inputs.
    let folded = json_of(&run(&["exact", "--case", bad, "--prec", "128", "--rigorous"]));
    assert_eq!(folded["method"], "validated_enclosure");
    assert!(
        folded["closed_form"]
            .as_str()
            .unwrap()
            .contains("max|XᵀX − I| = 7.200e-7"),
        "{}",
        folded["closed_form"]
    );
    let flow = json_of(&run(&[
        "simulate",
        "--case",
        bad,
        "--method",
        "taylor",
        "--rigorous",
        "--prec",
        "128",
    ]));
    assert_eq!(folded["points"], flow["points"]);
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

/// `simulate --method taylor --prec` runs the exact span reduction when XᵀX = I exactly (here
/// ±½ Hadamard data, d = 4: span{w0, b} has rank 2) and says so in `span_rank`; the result still
/// lies within its own estimate of the rigorous enclosure (as above). Non-whitened data keeps
/// every direction (`span_rank` = d).
#[test]
fn taylor_prec_uses_the_span_reduction_for_whitened_data() {
    const HAD: &str = r#"{"model": "single_neuron",
      "x": [[0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, -0.5], [0.5, 0.5, -0.5, -0.5], [0.5, -0.5, -0.5, 0.5]],
      "y": [1, -0.5, 0.25, 0.75], "a0": 0.4, "w0": [0.3, -0.2, 0.1, 0.4], "eta_a": 0.5, "eta_w": 2,
      "times": [0, 0.5, 3, 20]}"#;
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("h.json");
    std::fs::write(&case, HAD).unwrap();
    let case = case.to_str().unwrap();
    let s = json_of(&run(&[
        "simulate", "--case", case, "--method", "taylor", "--prec", "256", "--tol", "1e-70",
    ]));
    assert_eq!(s["span_rank"], 2);
    let est = s["err_estimate"].as_f64().unwrap();
    assert!(est > 0.0 && est < 1e-60, "{est}");
    let r = json_of(&run(&["exact", "--case", case, "--prec", "256", "--rigorous"]));
    for (pr, ps) in r["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(s["points"].as_array().unwrap())
    {
        for q in ["a", "mu", "phi", "loss"] {
            let (lo, hi) = (mp(&pr[q]["lo"]), mp(&pr[q]["hi"]));
            let x = mp(&ps[q]);
            let slack = Float::with_val(400, est) + Float::with_val(400, 1e-60);
            assert!(
                Float::with_val(400, &lo - &slack) <= x && x <= Float::with_val(400, &hi + &slack),
                "{q}: {x} not near [{lo}, {hi}]"
            );
        }
    }
    let dir2 = dir.path().join("n.json");
    std::fs::write(
        &dir2,
        r#"{"model": "single_neuron", "x": [[0.6, 0.8], [0.8, -0.6], [0.3, 0.1]], "y": [0, 1, 0.5], "a0": 1,
           "w0": [-1, 0.2], "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#,
    )
    .unwrap();
    let n = json_of(&run(&[
        "simulate",
        "--case",
        dir2.to_str().unwrap(),
        "--method",
        "taylor",
        "--prec",
        "128",
        "--tol",
        "1e-30",
    ]));
    assert_eq!(n["span_rank"], 2);
    assert_eq!(n["points"][1]["w"].as_array().unwrap().len(), 2);
}
