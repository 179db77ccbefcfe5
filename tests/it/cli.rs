//! The command-line contract: JSON shapes, exit codes, and every bad-input class (clear
//! message, exit code 2, no panic, no partial output file).

use crate::common;
use common::*;
use serde_json::Value;

const GOOD: &str = r#"{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [0, 1], "a0": 1,
  "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1, 5, 20]}"#;

#[test]
fn exact_and_simulate_print_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let case = write_case(dir.path(), "good.json", GOOD);
    let c = case.to_str().unwrap();
    let e = json_of(&run(&["exact", "--case", c]));
    for k in ["model", "delta", "prec_bits", "points"] {
        assert!(e.get(k).is_some(), "exact lacks {k}");
    }
    assert_eq!(e["delta"].as_f64(), Some(0.0));
    let p = &e["points"][3];
    for k in [
        "t",
        "a",
        "w",
        "beta",
        "mu",
        "phi",
        "kernel_distance",
        "loss",
        "abs_err_bound",
    ] {
        assert!(p.get(k).is_some(), "exact point lacks {k}");
    }
    // δ = 0, η = 1, β* = (0,1), β0 = (−1,0): φ(t) = tanh(artanh φ0 + s t) with φ0 = 0, s = 1
    // while μ > 0 (docs/theory.md §1.4, the authors' balanced_theory) — an independent formula.
    let phi = p["phi"].as_f64().unwrap();
    assert!((phi - 20f64.tanh()).abs() < 1e-15, "{phi}");
    let p1 = &e["points"][1];
    assert!((p1["phi"].as_f64().unwrap() - 1f64.tanh()).abs() < 1e-15);

    let s = json_of(&run(&[
        "simulate", "--case", c, "--method", "tsit45", "--rtol", "1e-10", "--atol", "1e-12",
    ]));
    for k in ["stats", "delta_drift", "points"] {
        assert!(s.get(k).is_some(), "simulate lacks {k}");
    }
    assert!(s["stats"]["steps"].as_u64().unwrap() > 0);
    let sp = &s["points"][3];
    assert!((sp["phi"].as_f64().unwrap() - 20f64.tanh()).abs() < 1e-8);
    for m in ["bdf", "esdirk34", "tr-bdf2"] {
        json_of(&run(&["simulate", "--case", c, "--method", m]));
    }
    let fs = json_of(&run(&[
        "simulate",
        "--case",
        c,
        "--method",
        "bdf",
        "--form",
        "function_space",
    ]));
    assert!(fs["points"][3]["beta"].is_array() && fs.get("function_space").is_some());
}

/// `exact --prec 256` agrees with `--form hyperbolic` (the paper's route) to ≥ 45 digits, both
/// printed as decimal strings with only certified digits.
#[test]
fn exact_at_256_bits_two_routes_agree_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": ["1", "0.5"], "a0": "0.1",
      "w0": ["-1.5", "0.3"], "eta_a": "0.7", "eta_w": "1.3", "times": ["0", "0.5", "3", "20"]}"#;
    let case = write_case(dir.path(), "c.json", text);
    let c = case.to_str().unwrap();
    let l = json_of(&run(&["exact", "--case", c, "--prec", "256"]));
    let h = json_of(&run(&["exact", "--case", c, "--prec", "256", "--form", "hyperbolic"]));
    assert_eq!(l["delta"].as_str().unwrap()[..12].to_string(), "-1.625000000");
    for (pl, ph) in l["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(h["points"].as_array().unwrap())
    {
        for q in ["a", "mu", "phi", "loss"] {
            let (x, y) = (pl[q].as_str().unwrap(), ph[q].as_str().unwrap());
            let (xf, yf) = (
                rug::Float::with_val(300, rug::Float::parse(x).unwrap()),
                rug::Float::with_val(300, rug::Float::parse(y).unwrap()),
            );
            let rel = (rug::Float::with_val(300, &xf - &yf) / &xf).abs().to_f64();
            assert!(rel < 1e-45, "{q}: {x} vs {y}");
            assert!(x.len() > 45, "{q} printed with only {} chars", x.len());
        }
    }
}

#[test]
fn bad_inputs_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str, text: &str| write_case(d, name, text).to_str().unwrap().to_string();
    let good = p("good.json", GOOD);
    // unreadable / missing / not JSON
    expect_bad(
        &["exact", "--case", d.join("missing.json").to_str().unwrap()],
        "cannot read case file",
    );
    expect_bad(&["exact", "--case", &p("bad.json", "{\"model\": ")], "not valid JSON");
    // wrong shapes
    expect_bad(
        &[
            "simulate",
            "--case",
            &p("s1.json", &GOOD.replace("\"y\": [0, 1]", "\"y\": [0, 1, 2]")),
            "--method",
            "bdf",
        ],
        "y has the wrong shape",
    );
    expect_bad(
        &[
            "simulate",
            "--case",
            &p("s2.json", &GOOD.replace("[-1, 0]", "[-1, 0, 3]")),
            "--method",
            "bdf",
        ],
        "w0 has the wrong shape",
    );
    expect_bad(
        &[
            "simulate",
            "--case",
            &p("s3.json", &GOOD.replace("[0, 1]]", "[0]]")),
            "--method",
            "bdf",
        ],
        "x row 1",
    );
    // NaN / infinity
    expect_bad(
        &[
            "exact",
            "--case",
            &p("n1.json", &GOOD.replace("\"a0\": 1", "\"a0\": \"NaN\"")),
        ],
        "a0",
    );
    expect_bad(
        &[
            "exact",
            "--case",
            &p("n2.json", &GOOD.replace("\"y\": [0, 1]", "\"y\": [0, 1e999]")),
        ],
        "finite",
    );
    // rates ≤ 0
    expect_bad(
        &[
            "simulate",
            "--case",
            &p("r1.json", &GOOD.replace("\"eta_a\": 1", "\"eta_a\": 0")),
            "--method",
            "tsit45",
        ],
        "eta_a",
    );
    expect_bad(
        &[
            "exact",
            "--case",
            &p("r2.json", &GOOD.replace("\"eta_w\": 1", "\"eta_w\": -2")),
        ],
        "eta_w",
    );
    // times
    expect_bad(
        &[
            "simulate",
            "--case",
            &p("t1.json", &GOOD.replace("[0, 1, 5, 20]", "[0, -1]")),
            "--method",
            "bdf",
        ],
        "negative",
    );
    expect_bad(
        &[
            "exact",
            "--case",
            &p("t2.json", &GOOD.replace("[0, 1, 5, 20]", "[0, 5, 1]")),
        ],
        "increasing order",
    );
    // precision below 53 bits
    expect_bad(&["exact", "--case", &good, "--prec", "32"], "32 is not in 53..=");
    // non-whitened X for exact: names the defect and points to simulate
    let nw = p("nw.json", &GOOD.replace("[[1, 0], [0, 1]]", "[[1, 0.5], [0, 1]]"));
    expect_bad(&["exact", "--case", &nw], "simulate");
    let o = run(&["simulate", "--case", &nw, "--method", "bdf"]);
    assert!(o.status.success(), "simulate works for non-whitened X");
    // tolerances and methods
    expect_bad(
        &["simulate", "--case", &good, "--method", "bdf", "--rtol", "-1"],
        "rtol",
    );
    let o = run(&["simulate", "--case", &good, "--method", "rk4"]);
    assert_eq!(o.status.code(), Some(2));
    // unknown model
    expect_bad(
        &[
            "exact",
            "--case",
            &p("m.json", &GOOD.replace("single_neuron", "transformer")),
        ],
        "unknown model",
    );
    // singular point of the hyperbolic route
    expect_bad(
        &[
            "exact",
            "--case",
            &p("z.json", &GOOD.replace("\"a0\": 1", "\"a0\": 0")),
            "--prec",
            "128",
            "--form",
            "hyperbolic",
        ],
        "linearised",
    );
}

#[test]
fn unwritable_output_folder_is_an_error_without_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let o = run(&["verify", "--quick", "--out", blocker.join("sub").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write the output folder"));
}

/// `bench --quick` writes its tables and diagram, writes a baseline of its own rows
/// (`--write-baseline`, readable as the gate's input), and gates: a baseline 100× faster than
/// reality (the committed `benches/baseline.json` with every ratio divided by 100) must trip the
/// gate (exit code 1, GATE FAIL). One run does all of it (it was two: one writing the baseline,
/// one gating against it divided by 100); the passing gate against the committed baseline is
/// CI's last step, `lazyrich bench --quick --gate benches/baseline.json`.
#[test]
fn bench_quick_writes_tables_diagram_and_baseline_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let fast = dir.path().join("fast_baseline.json");
    let written = dir.path().join("baseline.json");
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/baseline.json");
    let mut b: Value = serde_json::from_str(&std::fs::read_to_string(committed).unwrap()).unwrap();
    for e in b["entries"].as_array_mut().unwrap() {
        let r = e[3].as_f64().unwrap();
        e[3] = serde_json::json!(r / 100.0);
    }
    std::fs::write(&fast, serde_json::to_string(&b).unwrap()).unwrap();
    // Two of the five problems (`--problem`; CI's `.ci/run` runs them all with the committed
    // baseline): the tables, diagram, baseline and gate are the same code for any set.
    let o = run(&[
        "bench",
        "--quick",
        "--problem",
        "problem_L",
        "--problem",
        "lambda_balanced_3_3_3",
        "--out",
        out.to_str().unwrap(),
        "--write-baseline",
        written.to_str().unwrap(),
        "--gate",
        fast.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("GATE FAIL"));
    for f in [
        "workprec.md",
        "workprec.csv",
        "workprec.json",
        "workprec.svg",
        "gate.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let rows: Value = serde_json::from_str(&std::fs::read_to_string(out.join("workprec.json")).unwrap()).unwrap();
    // the true error (not the tolerance) is reported, and it falls along the ladder
    let pl: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["problem"] == "problem_L" && r["solver"] == "lazyrich-bdf")
        .collect();
    let errs: Vec<f64> = pl.iter().map(|r| r["error"].as_f64().unwrap()).collect();
    assert!(errs.len() == 3 && errs[2] < errs[0], "{errs:?}");
    // The written baseline is a gate input with an entry per lazyrich point of the run that has a
    // finite ratio (`workprec::baseline_of`).
    let base: lazyrich::workprec::Baseline = serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    let ours = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["solver"].as_str().unwrap().starts_with("lazyrich") && r["ratio"].as_f64().is_some_and(f64::is_finite)
        })
        .count();
    assert!(
        ours > 0 && base.entries.len() == ours,
        "{} entries, {ours} points",
        base.entries.len()
    );
    assert!(base.entries.iter().all(|e| e.3.is_finite() && e.3 > 0.0), "{base:?}");
    let names: std::collections::BTreeSet<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["problem"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["lambda_balanced_3_3_3", "problem_L"].into(),
        "only the problems asked for"
    );
    expect_bad(
        &[
            "bench",
            "--quick",
            "--problem",
            "problem_X",
            "--out",
            out.to_str().unwrap(),
        ],
        "use one of problem_L",
    );
}

/// Issue 17's hostile-input table, the rows handled so far: each is a clean refusal (exit 2, the
/// problem and the fix named, no panic, nothing on stdout) — or, for a reader that closes the
/// pipe, a quiet end without a panic.
#[test]
fn hostile_inputs_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_case(dir.path(), "good.json", GOOD);
    let g = good.to_str().unwrap();
    // A relative tolerance of 2 allowed a(20) = 0.855 against the exact 1.0 without a word.
    for m in ["tsit45", "bdf"] {
        expect_bad(
            &["simulate", "--case", g, "--method", m, "--rtol", "2"],
            "rtol = 2e0 is outside",
        );
    }
    expect_bad(
        &["simulate", "--case", g, "--method", "tsit45", "--rtol", "1e-30"],
        "rtol",
    );
    // Negative numbers reach the validation instead of "unexpected argument".
    expect_bad(&["exact", "--case", g, "--prec", "-5"], "-5 is not in 53..=");
    expect_bad(
        &["sweep", "run", "--config", g, "--out", "x", "--shard", "-1/2"],
        "non-negative integer",
    );
    // A misspelt field and a duplicated key.
    let misspelt = write_case(dir.path(), "m.json", &GOOD.replace("\"eta_w\"", "\"eta_W\""));
    expect_bad(
        &["exact", "--case", misspelt.to_str().unwrap()],
        "did you mean \"eta_w\"",
    );
    let dup = write_case(dir.path(), "d.json", &GOOD.replace("\"a0\": 1", "\"a0\": 1, \"a0\": 2"));
    expect_bad(&["exact", "--case", dup.to_str().unwrap()], "twice");
    // Absurd sizes are refused when the case is read, before any allocation (d = 10⁶ aborted
    // asking for 8 TB): d = 10⁴ makes XᵀX 10⁸ numbers, above the 2^26 limit.
    let d = 10_000;
    let row: Vec<String> = (0..d).map(|j| if j == 0 { "1".into() } else { "0".into() }).collect();
    let big = format!(
        r#"{{"model": "single_neuron", "x": [[{}]], "y": [1], "a0": 1, "w0": [{}], "eta_a": 1, "eta_w": 1, "times": [0, 1]}}"#,
        row.join(","),
        row.join(",")
    );
    let big = write_case(dir.path(), "big.json", &big);
    for cmd in [&["exact"][..], &["simulate", "--method", "tsit45"][..]] {
        let mut args = cmd.to_vec();
        args.extend(["--case", big.to_str().unwrap()]);
        expect_bad(&args, "d (XᵀX is d×d) = 10000 needs a 10000×10000 matrix");
    }
    // λ-balanced exact: work linear in t and quadratic in the precision is refused up front
    // (t = 1e9 ran for hours; --prec 1000000 for minutes).
    let lb_path = format!("{}/data/cases/lb_3_3_3_lambda+2.json", env!("CARGO_MANIFEST_DIR"));
    let mut lb: Value = serde_json::from_str(&std::fs::read_to_string(&lb_path).unwrap()).unwrap();
    lb["times"] = serde_json::json!([0, 1, 1e9]);
    let far = write_case(dir.path(), "lb_far.json", &lb.to_string());
    expect_bad(&["exact", "--case", far.to_str().unwrap()], "exact semigroup steps");
    expect_bad(&["exact", "--case", &lb_path, "--prec", "1000000"], "lower --prec");
    // An unusable --out is refused before the work (it used to be found after 46 s of catalog).
    let blocker = write_case(dir.path(), "a_file", "not a folder");
    let under = blocker.join("sub");
    for cmd in [&["verify", "--quick"][..], &["bench", "--quick"][..], &["report"][..]] {
        let mut args = cmd.to_vec();
        args.extend(["--out", under.to_str().unwrap()]);
        expect_bad(&args, "is not a folder");
    }
    // `exact … | head`: the reader goes away; the writer ends quietly.
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(["exact", "--case", g, "--prec", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
