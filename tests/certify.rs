//! `simulate --certify`: the printed `err_bound` is never below the true error of any printed
//! field (true values from the single-neuron closed form at 320 bits, an independent formula), and
//! on smooth cases it is at most 100× above it (a bound that detects errors).
use rug::Float;
use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn case(name: &str) -> String {
    format!("{}/data/cases/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// |printed − exact| for a printed JSON number, exactly enough at 320 bits.
fn err(printed: &Value, exact: &Float) -> f64 {
    let p = Float::with_val(320, Float::parse(printed.to_string()).unwrap());
    Float::with_val(320, p - exact).abs().to_f64()
}

#[test]
fn certified_bounds_hold_and_are_tight() {
    use lazyrich::case::Case;
    use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form};
    for name in ["sign_change.json", "fig3_delta+1.json", "fig3_delta-2.json"] {
        let Case::SingleNeuron(c) = Case::from_json(&std::fs::read_to_string(case(name)).unwrap()).unwrap() else {
            panic!()
        };
        let cf = ClosedFormMp::new(&c, 320).unwrap();
        for method in ["tsit45", "bdf", "esdirk34"] {
            let (code, v, e) = run(&[
                "simulate",
                "--case",
                &case(name),
                "--method",
                method,
                "--rtol",
                "1e-9",
                "--atol",
                "1e-11",
                "--certify",
            ]);
            assert_eq!(code, 0, "{e}");
            assert_eq!(v["certificate"]["rigorous"], Value::Bool(true));
            for (p, t) in v["points"].as_array().unwrap().iter().zip(&c.times) {
                let x = cf.point(&t.to_mp(320), Form::Linearised).unwrap();
                let mut actual = err(&p["a"], &x.a);
                for (pw, xw) in p["w"].as_array().unwrap().iter().zip(&x.w) {
                    actual = actual.max(err(pw, xw));
                }
                for (pb, xb) in p["beta"].as_array().unwrap().iter().zip(&x.beta) {
                    actual = actual.max(err(pb, xb));
                }
                actual = actual.max(err(&p["loss"], &x.loss)).max(err(&p["mu"], &x.mu));
                let bound = p["err_bound"].as_f64().unwrap();
                assert!(
                    bound >= actual,
                    "{name} {method} t={}: bound {bound:e} < error {actual:e}",
                    t.as_str()
                );
                // Tight where there is an error to detect (the printed fields beyond θ — δ drift,
                // φ — can dominate the bound: they are in it, and not in `actual`).
                let theta_bound = ["a", "w", "beta", "loss", "mu"]
                    .iter()
                    .map(|f| p["err_bounds"][*f].as_f64().unwrap())
                    .fold(0.0, f64::max);
                if actual > 1e-15 {
                    assert!(
                        theta_bound <= 100.0 * actual,
                        "{name} {method}: {theta_bound:e} vs {actual:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn certify_and_rigorous_refuse_what_they_cannot_prove() {
    let pl = std::env::temp_dir().join(format!("lazyrich_certify_pl_{}.json", std::process::id()));
    std::fs::write(
        &pl,
        r#"{"model": "piecewise_linear", "x": [[1, 0]], "y": [1], "a0": [1], "w0": [[1, 0]],
            "gamma": 0, "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#,
    )
    .unwrap();
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        pl.to_str().unwrap(),
        "--method",
        "bdf",
        "--certify",
    ]);
    assert_eq!(code, 2, "{e}");
    assert_eq!(v, Value::Null, "no partial output");
    assert!(e.contains("piecewise_linear"), "{e}");
    let (code, _, e) = run(&[
        "simulate",
        "--case",
        &case("sign_change.json"),
        "--method",
        "bdf",
        "--rigorous",
    ]);
    assert_eq!(code, 2, "{e}");
    let _ = std::fs::remove_file(pl);
}

/// `--method taylor --rigorous` prints enclosures that contain the closed form (at 160 bits
/// against 320), for non-whitened data as well (where the closed form does not apply, the
/// enclosure's midpoint must agree with the f64 Taylor run to its accuracy).
#[test]
fn rigorous_taylor_prints_enclosures() {
    use lazyrich::case::Case;
    use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form};
    let name = "sign_change.json";
    let Case::SingleNeuron(c) = Case::from_json(&std::fs::read_to_string(case(name)).unwrap()).unwrap() else {
        panic!()
    };
    let cf = ClosedFormMp::new(&c, 320).unwrap();
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        &case(name),
        "--method",
        "taylor",
        "--rigorous",
        "--prec",
        "160",
    ]);
    assert_eq!(code, 0, "{e}");
    for (p, t) in v["points"].as_array().unwrap().iter().zip(&c.times) {
        let x = cf.point(&t.to_mp(320), Form::Linearised).unwrap();
        let inside = |enc: &Value, v: &Float| {
            let lo = Float::with_val(320, Float::parse(enc["lo"].as_str().unwrap()).unwrap());
            let hi = Float::with_val(320, Float::parse(enc["hi"].as_str().unwrap()).unwrap());
            lo <= *v && *v <= hi
        };
        assert!(inside(&p["a"], &x.a), "t={}", t.as_str());
        for (pw, xw) in p["w"].as_array().unwrap().iter().zip(&x.w) {
            assert!(inside(pw, xw));
        }
        assert!(inside(&p["loss"], &x.loss));
        assert!(p["max_rad"].as_f64().unwrap() < 1e-40);
    }
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        &case("non_whitened.json"),
        "--method",
        "taylor",
        "--rigorous",
    ]);
    assert_eq!(code, 0, "{e}");
    assert_eq!(v["rigorous"], Value::Bool(true));
}
