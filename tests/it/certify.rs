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

/// `simulate --case PATH --method tsit45 --rtol 1e-9 --atol 1e-11 --certify`.
fn certified_tsit45(path: &str) -> (i32, Value, String) {
    run(&[
        "simulate",
        "--case",
        path,
        "--method",
        "tsit45",
        "--rtol",
        "1e-9",
        "--atol",
        "1e-11",
        "--certify",
    ])
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
                // S(0, t) is certified too (a ball formula of the enclosed state), against the
                // closed form's own kernel-distance formula (the wedge form of docs/theory.md §1.5).
                let kd_err = err(&p["kernel_distance"], &x.kernel_distance);
                let kd_bound = p["err_bounds"]["kernel_distance"].as_f64().unwrap();
                assert!(
                    kd_bound >= kd_err,
                    "{name} {method}: S bound {kd_bound:e} < error {kd_err:e}"
                );
                if kd_err > 1e-15 {
                    assert!(
                        kd_bound <= 100.0 * kd_err,
                        "{name} {method}: S bound {kd_bound:e} vs {kd_err:e}"
                    );
                }
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
    // A ReLU net whose initial pattern is undecided (w_0ᵀx_0 = 0 exactly): nothing to prove.
    let pl = std::env::temp_dir().join(format!("lazyrich_certify_pl_{}.json", std::process::id()));
    std::fs::write(
        &pl,
        r#"{"model": "piecewise_linear", "x": [[0, 1]], "y": [1], "a0": [1], "w0": [[1, 0]],
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
    // `--rigorous` prints no enclosure past t = 0 and says why.
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        pl.to_str().unwrap(),
        "--method",
        "taylor",
        "--rigorous",
    ]);
    assert_eq!(code, 0, "{e}");
    assert_eq!(v["points"].as_array().map(Vec::len), Some(0));
    assert!(v["stopped"]["why"].as_str().unwrap().contains("not decided"), "{v}");
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

/// The saddle passage of the issue that asked for proven bounds: a single neuron started 1e-7
/// from the surface that separates the basins of a(∞) > 0 and a(∞) < 0 (X = I, y = (1, 0),
/// w2 = 1.04, so δ ≈ −1.08), integrated by BDF at rtol 1e-10 to t = 25. An error estimate
/// without amplification missed its error 14× there; the certified bound must hold against a
/// 256-bit Taylor reference. The separating surface is found by bisection on w1 (a0 = 0.01) with
/// the f64 Taylor integrator; the sign of a(25) tells the basin.
#[test]
fn certified_bound_holds_through_a_saddle_passage() {
    use lazyrich::case::Case;
    use lazyrich::num::decimal::Num;
    use lazyrich::taylor::cases::single_neuron;
    use lazyrich::taylor::{TaylorOptions, integrate};
    let case_text = |w1: &str| {
        format!(
            r#"{{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [1, 0], "a0": "0.01", "w0": ["{w1}", "1.04"],
                 "eta_a": 1, "eta_w": 1, "times": [0, 5, 10, 15, 20, 25]}}"#
        )
    };
    let a_end = |w1: f64, prec: u32, tol: f64| -> Vec<Float> {
        let Case::SingleNeuron(c) = Case::from_json(&case_text(&format!("{w1:e}"))).unwrap() else {
            panic!()
        };
        let conv = |v: &Num| v.to_mp(prec);
        let (mut f, x0) = single_neuron(&c, &conv);
        let t: Vec<Float> = c.times.iter().map(|v| v.to_mp(prec)).collect();
        integrate(&mut f, &x0, &t, &TaylorOptions::new(tol))
            .unwrap()
            .states
            .pop()
            .unwrap()
    };
    // Bisection bracket: the linearised stable direction at the saddle (a, w1) = (0, 0) is
    // w1/a = w2² − λ₊ ≈ −0.596, so w1 ≈ −0.006 lies near the surface.
    let (mut lo, mut hi) = (-0.02f64, 0.0f64);
    let sign = |w1: f64| a_end(w1, 128, 1e-30)[0].is_sign_positive();
    let s_lo = sign(lo);
    assert_ne!(s_lo, sign(hi), "bracket");
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if sign(mid) == s_lo { lo = mid } else { hi = mid }
    }
    let w1 = hi + 1e-7;
    let text = case_text(&format!("{w1:e}"));
    let path = std::env::temp_dir().join(format!("lazyrich_saddle_{}.json", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        path.to_str().unwrap(),
        "--method",
        "bdf",
        "--rtol",
        "1e-10",
        "--atol",
        "1e-12",
        "--certify",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "{e}");
    let reference = a_end(w1, 256, 1e-70);
    let last = v["points"].as_array().unwrap().last().unwrap();
    let mut actual = err(&last["a"], &reference[0]);
    for (pw, rw) in last["w"].as_array().unwrap().iter().zip(&reference[1..]) {
        actual = actual.max(err(pw, rw));
    }
    let bound = last["err_bound"].as_f64().unwrap();
    eprintln!("saddle passage (w1 = {w1:e}): error at t = 25 {actual:e}, certified bound {bound:e}");
    assert!(bound >= actual, "bound {bound:e} < error {actual:e}");
    assert!(
        actual > 1e-9,
        "the passage amplifies the solver's error (else this case tests nothing): {actual:e}"
    );
}

/// A ReLU net: `--certify` proves its bound before its first activation switch (against a
/// 256-bit Taylor run of the fixed-pattern field), and exits 2 naming the stop when a requested
/// time lies past a sliding mode the certificate cannot follow.
#[test]
fn certify_relu_before_a_switch_and_refuse_past_sliding() {
    use lazyrich::case::Case;
    use lazyrich::num::decimal::Num;
    use lazyrich::taylor::cases::{initial_pattern, piecewise_linear};
    use lazyrich::taylor::{TaylorOptions, integrate};
    let text = |times: &str| {
        format!(
            r#"{{"model": "piecewise_linear", "x": [[1, 0.5], [0.3, -1], [-0.7, 0.2]], "y": [1, -0.5, 0.3],
                 "a0": [0.5, -0.4, 0.3], "w0": [[0.8, 0.1], [-0.3, 0.7], [0.2, -0.9]],
                 "gamma": 0, "eta_a": 1, "eta_w": 1, "times": [{times}]}}"#
        )
    };
    let path = std::env::temp_dir().join(format!("lazyrich_certify_relu_{}.json", std::process::id()));
    std::fs::write(&path, text("0, 0.1, 0.25")).unwrap();
    let (code, v, e) = certified_tsit45(path.to_str().unwrap());
    assert_eq!(code, 0, "{e}");
    let Case::PiecewiseLinear(c) = Case::from_json(&text("0, 0.1, 0.25")).unwrap() else {
        panic!()
    };
    let conv = |v: &Num| v.to_mp(256);
    let (mut f, x0) = piecewise_linear(&c, &conv, initial_pattern(&c).unwrap());
    let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(256)).collect();
    let reference = integrate(&mut f, &x0, &times, &TaylorOptions::new(1e-70))
        .unwrap()
        .states;
    for (p, r) in v["points"].as_array().unwrap().iter().zip(&reference) {
        let printed: Vec<&Value> = p["w"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p["a"].as_array().unwrap())
            .collect();
        let actual = printed.iter().zip(r).map(|(pv, rv)| err(pv, rv)).fold(0.0, f64::max);
        let bound = p["err_bound"].as_f64().unwrap();
        assert!(bound >= actual, "t = {}: bound {bound:e} < error {actual:e}", p["t"]);
    }
    std::fs::write(&path, text("0, 0.1, 1")).unwrap();
    let (code, v, e) = run(&[
        "simulate",
        "--case",
        path.to_str().unwrap(),
        "--method",
        "tsit45",
        "--certify",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 2, "{e}");
    assert_eq!(v, Value::Null, "no partial output");
    // Past t ≈ 0.441 this net slides on w_1ᵀx_0 = 0: the certificate stops there, named.
    assert!(e.contains("no proven bound past t = ") && e.contains("w_1ᵀx_0"), "{e}");
}

/// Precision and tolerance of the independent references of the catalog tightness tests: the
/// MPFR Taylor integrator (not the validated one) at 256 bits, tolerance 1e-70. Its error (≈ 1e-70
/// times the flows' growth, ≤ 1e10 on these cases) is far below the certificate's own reference
/// radius (≈ 1e-30 at 128 bits), so a bound that is tight to that radius is still judged right.
const REF_PREC: u32 = 256;
const REF_TOL: f64 = 1e-70;
/// What the reference itself may be off by, allowed in `bound ≥ actual` (see `REF_TOL`).
const REF_ERR: f64 = 1e-50;
/// Below this actual error a ratio bound/actual measures the printed decimals' last digit, not
/// the certificate: tightness is asserted only above it (as in `certified_bounds_hold_and_are_tight`).
const TIGHT_FLOOR: f64 = 1e-15;
/// The issue's tightness requirement on smooth cases.
const MAX_RATIO: f64 = 100.0;

fn f(v: f64) -> Float {
    Float::with_val(REF_PREC, v)
}

/// out = op(A)·op(B) (m×n) for row-major A, B; `ta`/`tb` transpose (an independent copy of the
/// textbook product, not the library's).
fn mm(a: &[Float], ta: bool, b: &[Float], tb: bool, (m, k, n): (usize, usize, usize)) -> Vec<Float> {
    let mut out = vec![f(0.0); m * n];
    for i in 0..m {
        for j in 0..n {
            for l in 0..k {
                let av = if ta { &a[l * m + i] } else { &a[i * k + l] };
                let bv = if tb { &b[j * k + l] } else { &b[l * n + j] };
                out[i * n + j] += Float::with_val(REF_PREC, av * bv);
            }
        }
    }
    out
}

fn mp_rows(m: &[Vec<lazyrich::num::decimal::Num>]) -> Vec<Float> {
    m.iter().flatten().map(|v| v.to_mp(REF_PREC)).collect()
}

/// The printed fields of a case at its times, from the 256-bit reference states θ(t) (`states`,
/// one per time of the case): the model's formulas written out here (`docs/theory.md`;
/// `simulate`'s field list), drifts of conserved quantities at their exact value 0.
fn reference_fields(case: &lazyrich::case::Case, states: &[Vec<Float>]) -> Vec<Vec<(&'static str, Vec<Float>)>> {
    use lazyrich::case::Case;
    use lazyrich::num::decimal::Num;
    let conv = |v: &Num| v.to_mp(REF_PREC);
    let half = |v: Float| v / 2u32;
    // ½‖Xβ − Y‖² for X n×d, β d×c, Y n×c (row-major).
    let half_sq = |x: &[Float], beta: &[Float], y: &[Float], (n, d, c): (usize, usize, usize)| {
        let r = mm(x, false, beta, false, (n, d, c));
        half(r.iter().zip(y).fold(f(0.0), |s, (ri, yi)| {
            let e = Float::with_val(REF_PREC, ri - yi);
            s + Float::with_val(REF_PREC, &e * &e)
        }))
    };
    match case {
        Case::SingleNeuron(c) => {
            let (n, d) = (c.x.len(), c.w0.len());
            let x = mp_rows(&c.x);
            let y: Vec<Float> = c.y.iter().map(conv).collect();
            let b = mm(&x, true, &y, false, (d, n, 1));
            let norm = |v: &[Float]| {
                v.iter()
                    .fold(f(0.0), |s, e| s + Float::with_val(REF_PREC, e * e))
                    .sqrt()
            };
            states
                .iter()
                .map(|th| {
                    let (a, w) = (&th[0], &th[1..]);
                    let beta: Vec<Float> = w.iter().map(|v| Float::with_val(REF_PREC, v * a)).collect();
                    let wn = norm(w);
                    let wb = mm(w, false, &b, false, (1, d, 1)).remove(0);
                    let phi = wb / Float::with_val(REF_PREC, &wn * &norm(&b));
                    let mu = Float::with_val(REF_PREC, a * &wn);
                    let loss = half_sq(&x, &beta, &y, (n, d, 1));
                    vec![
                        ("a", vec![a.clone()]),
                        ("w", w.to_vec()),
                        ("beta", beta),
                        ("mu", vec![mu]),
                        ("phi", vec![phi]),
                        ("loss", vec![loss]),
                        ("delta_drift", vec![f(0.0)]),
                    ]
                })
                .collect()
        }
        Case::TwoLayerLinear(_) | Case::DeepLinear(_) => {
            // Layers as stored: hidden W_l (h_l × h_{l−1}), then A (h × c); β = W_1ᵀ⋯W_{K−1}ᵀA.
            let (layers, x, y) = match case {
                Case::TwoLayerLinear(c) => (vec![c.w0.clone(), c.a0.clone()], &c.x, &c.y),
                Case::DeepLinear(c) => (c.weights0.clone(), &c.x, &c.y),
                _ => unreachable!(),
            };
            let shapes: Vec<(usize, usize)> = layers.iter().map(|l| (l.len(), l[0].len())).collect();
            let (n, d, c) = (x.len(), x[0].len(), y[0].len());
            let (xm, ym) = (mp_rows(x), mp_rows(y));
            states
                .iter()
                .map(|th| {
                    let mut off = th.len();
                    let (hr, hc) = shapes[shapes.len() - 1];
                    off -= hr * hc;
                    let mut beta = th[off..].to_vec();
                    let mut rows = hr;
                    for &(r, cc) in shapes[..shapes.len() - 1].iter().rev() {
                        off -= r * cc;
                        beta = mm(&th[off..off + r * cc], true, &beta, false, (cc, r, c));
                        rows = cc;
                    }
                    assert_eq!(rows, d);
                    let loss = half_sq(&xm, &beta, &ym, (n, d, c));
                    vec![("beta", beta), ("loss", vec![loss]), ("conserved_drift", vec![f(0.0)])]
                })
                .collect()
        }
        Case::LambdaBalanced(c) => {
            let (d_i, d_o, h, p) = (c.x.len(), c.y.len(), c.w1_0.len(), c.x[0].len());
            let (xm, ym) = (mp_rows(&c.x), mp_rows(&c.y));
            states
                .iter()
                .map(|th| {
                    let (w1, w2) = th.split_at(h * d_i);
                    let w = mm(w2, false, w1, false, (d_o, h, d_i));
                    // (1/2P) Σ_n ‖W x_n − y_n‖² with X d_i×P, Y d_o×P: ½‖XᵀWᵀ − Yᵀ‖²/P.
                    let wt: Vec<Float> = (0..d_i * d_o).map(|k| w[(k % d_o) * d_i + k / d_o].clone()).collect();
                    let xt: Vec<Float> = (0..p * d_i).map(|k| xm[(k % d_i) * p + k / d_i].clone()).collect();
                    let yt: Vec<Float> = (0..p * d_o).map(|k| ym[(k % d_o) * p + k / d_o].clone()).collect();
                    let loss = half_sq(&xt, &wt, &yt, (p, d_i, d_o)) / u32::try_from(p).unwrap();
                    vec![
                        ("w2w1", w),
                        ("w1tw1", mm(w1, true, w1, false, (d_i, h, d_i))),
                        ("w2w2t", mm(w2, false, w2, true, (d_o, h, d_o))),
                        ("loss", vec![loss]),
                        ("lambda_drift", vec![f(0.0)]),
                    ]
                })
                .collect()
        }
        Case::PiecewiseLinear(_) => unreachable!("not a smooth case"),
    }
}

/// Flatten a printed JSON number, list or nested rows (row-major); `None` for null.
fn printed(v: &Value) -> Vec<Option<Float>> {
    match v {
        Value::Array(a) => a.iter().flat_map(printed).collect(),
        Value::Null => vec![None],
        n => vec![Some(Float::with_val(320, Float::parse(n.to_string()).unwrap()))],
    }
}

/// `simulate --method tsit45 --rtol 1e-9 --atol 1e-11 --certify` on a catalog case: every
/// field's `err_bounds` entry (and `err_bound`) is ≥ its actual error against the reference,
/// and where the state's actual error exceeds `TIGHT_FLOOR`, the θ-part bound (every field but
/// the conservation drifts) is ≤ `MAX_RATIO` × that error. Returns the largest θ-part ratio.
fn certify_is_tight(name: &str) -> f64 {
    use lazyrich::case::Case;
    let t0 = std::time::Instant::now();
    let parsed = Case::from_json(&std::fs::read_to_string(case(name)).unwrap()).unwrap();
    let (code, v, e) = certified_tsit45(&case(name));
    assert_eq!(code, 0, "{name}: {e}");
    assert_eq!(v["certificate"]["rigorous"], Value::Bool(true), "{name}");
    // The MPFR Taylor run of the file at REF_PREC bits, tol REF_TOL, shared with `validated`.
    assert_eq!(
        (REF_PREC, REF_TOL),
        (crate::shared::CASE_REF_PREC, crate::shared::CASE_REF_TOL)
    );
    let reference = reference_fields(&parsed, &crate::shared::case_file_reference(name));
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), reference.len(), "{name}");
    let (mut worst_ratio, mut max_actual, mut max_bound) = (0f64, 0f64, 0f64);
    for (p, fields) in points.iter().zip(&reference) {
        let (mut actual_theta, mut bound_theta, mut actual_all) = (0f64, 0f64, 0f64);
        for (field, exact) in fields {
            let shown = printed(&p[*field]);
            assert_eq!(shown.len(), exact.len(), "{name}: field {field}");
            let actual = shown
                .iter()
                .zip(exact)
                .filter_map(|(s, x)| s.as_ref().map(|s| Float::with_val(320, s - x).abs().to_f64()))
                .fold(0f64, f64::max);
            let bound = p["err_bounds"][*field]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: no bound for {field}"));
            assert!(
                bound >= actual - REF_ERR,
                "{name} t = {}: {field} bound {bound:e} < error {actual:e}",
                p["t"]
            );
            actual_all = actual_all.max(actual);
            if !field.ends_with("_drift") {
                actual_theta = actual_theta.max(actual);
                bound_theta = bound_theta.max(bound);
            }
        }
        let bound = p["err_bound"].as_f64().unwrap();
        assert!(
            bound >= actual_all - REF_ERR,
            "{name} t = {}: {bound:e} < {actual_all:e}",
            p["t"]
        );
        if actual_theta > TIGHT_FLOOR {
            let ratio = bound_theta / actual_theta;
            worst_ratio = worst_ratio.max(ratio);
            assert!(
                ratio <= MAX_RATIO,
                "{name} t = {}: θ-part bound {bound_theta:e} is {ratio:.1}× the error {actual_theta:e}",
                p["t"]
            );
        }
        max_actual = max_actual.max(actual_all);
        max_bound = max_bound.max(bound);
    }
    eprintln!(
        "{name}: max error {max_actual:e}, max bound {max_bound:e}, worst θ-part bound/error {worst_ratio:.4} ({:?})",
        t0.elapsed()
    );
    worst_ratio
}

/// Tightness on the catalog's smooth single-neuron cases (non-whitened X; problem L). The whitened
/// single-neuron cases are in `certified_bounds_hold_and_are_tight`. (One test per few cases, so
/// that the test threads share them.)
#[test]
fn certify_is_tight_on_catalog_single_neuron() {
    for name in ["non_whitened.json", "problem_L.json"] {
        certify_is_tight(name);
    }
}

/// Tightness on the catalog's wide two-layer linear cases (upstream, downstream, balanced).
#[test]
fn certify_is_tight_on_catalog_wide_linear() {
    for name in [
        "al_al3x2_up.json",
        "al_al3x2_down.json",
        "al_al3x2_bal.json",
        "al_al2x3_up.json",
    ] {
        certify_is_tight(name);
    }
}

/// Tightness on the catalog's deep linear net `dl_deep3_up` (depth 3, to t = 5). The other deep
/// cases certify in 8–75 s each and are left out for test time.
#[test]
fn certify_is_tight_on_catalog_deep_linear() {
    certify_is_tight("dl_deep3_up.json");
}

/// Tightness on the catalog's λ-balanced nets at large |λ|: equal dims with λ = ±20.
#[test]
fn certify_is_tight_on_catalog_lambda_balanced_large_lambda() {
    for name in ["lb_3_3_3_lambda+20.json", "lb_3_3_3_lambda-20.json"] {
        certify_is_tight(name);
    }
}

/// Tightness on the catalog's λ-balanced nets at small |λ|: equal dims with λ = 2, unequal dims
/// (2, 3, 3) with λ = 0 and (4, 3, 2) with λ = −2 (lb_3_3_3 with λ = 0 and −2 also hold, ratio
/// 1.0000, and are left out for test time: ≈ 5.5 s and 3.8 s).
#[test]
fn certify_is_tight_on_catalog_lambda_balanced_small_lambda() {
    for name in [
        "lb_3_3_3_lambda+2.json",
        "lb_2_3_3_lambda+0.json",
        "lb_4_3_2_lambda-2.json",
    ] {
        certify_is_tight(name);
    }
}

/// `exact --certify` on inputs that only nearly meet the closed form's assumption (issue 15's
/// examples: x₀₀ = 1 + 1e-34 at 256 bits, a whitening defect of 2e-34 that the closed form
/// accepts and assumes away; x₀₀ = 1.0000000000004 at 53 bits): the printed bound is never below
/// the true error of a, w and the loss against an independent reference — a non-rigorous MPFR
/// Taylor run of the inputs as written at 2p + 128 bits (tol 1e-150 at 640 bits) — and it is at
/// most 100× that error (the error is the defect's effect, ≈ 1e-35 and ≈ 1e-13, far above the
/// reference's and the enclosure's widths). Plain `exact` (no flag) folds the defect in the same
/// way (same bound, under `abs_err_bound`); only `--idealised` keeps the closed form's own
/// estimate, which is below the true error (the defect is not in it) and says so in
/// `bounds_cover`.
#[test]
fn exact_certify_covers_input_defects() {
    use lazyrich::case::{Case, SingleNeuronCase};
    use lazyrich::taylor::single_neuron::SingleNeuronJet;
    use lazyrich::taylor::{TaylorOptions, integrate};
    let dir = std::env::temp_dir().join(format!("lazyrich_exact_certify_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (x00, prec) in [
        ("1.0000000000000000000000000000000001", 256u32),
        ("1.0000000000004", 53),
    ] {
        let text = format!(
            r#"{{"model": "single_neuron", "x": [["{x00}", "0"], ["0", "1"]], "y": ["1", "0.5"],
                "a0": "0.1", "w0": ["0.2", "-0.3"], "eta_a": "1", "eta_w": "1", "times": ["0", "1", "5"]}}"#
        );
        let path = dir.join(format!("defect_{prec}.json"));
        std::fs::write(&path, &text).unwrap();
        let Case::SingleNeuron(c) = Case::from_json(&text).unwrap() else {
            panic!()
        };
        let c: SingleNeuronCase = c;
        let rp = 2 * prec + 128;
        let mut field = SingleNeuronJet::from_case(&c, rp);
        let mut x0 = vec![c.a0.to_mp(rp)];
        x0.extend(c.w0.iter().map(|v| v.to_mp(rp)));
        let tm: Vec<Float> = c.times.iter().map(|t| t.to_mp(rp)).collect();
        let reference = integrate(&mut field, &x0, &tm, &TaylorOptions::new(1e-150)).unwrap();
        let p = path.to_str().unwrap();
        let prec_s = prec.to_string();
        for mode in ["default", "--certify", "--idealised"] {
            let mut args = vec!["exact", "--case", p, "--prec", &prec_s];
            if mode != "default" {
                args.push(mode);
            }
            let (code, v, e) = run(&args);
            assert_eq!(code, 0, "{e}");
            let idealised = mode == "--idealised";
            let cover = v["bounds_cover"].as_str().unwrap_or_default();
            if mode == "default" {
                assert!(cover.starts_with("the exact flow of the inputs as written"), "{cover}");
                assert_eq!(v["ref_method"], "validated_enclosure");
                // δ keeps its usual bound field, now the proven one
                assert_eq!(v["delta_abs_err_bound"], v["delta_err_bound"]);
                assert!(v["delta_abs_err_bound"].is_number());
            }
            if idealised {
                assert!(cover.contains("do NOT cover"), "{cover}");
            }
            let mut worst_ratio = f64::INFINITY;
            let mut below = false;
            for (pt, st) in v["points"].as_array().unwrap().iter().zip(&reference.states) {
                let text = |x: &Value| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let e_of = |x: &Value, r: &Float| {
                    let pv = Float::with_val(rp, Float::parse(text(x)).unwrap());
                    Float::with_val(rp, pv - r).abs().to_f64()
                };
                let mut actual = e_of(&pt["a"], &st[0]);
                for (pw, r) in pt["w"].as_array().unwrap().iter().zip(&st[1..]) {
                    actual = actual.max(e_of(pw, r));
                }
                let key = if mode == "--certify" {
                    "err_bound"
                } else {
                    "abs_err_bound"
                };
                let bound: f64 = text(&pt[key]).parse().unwrap();
                if actual > 0.0 {
                    worst_ratio = worst_ratio.min(bound / actual);
                }
                below |= bound < actual;
                if !idealised {
                    assert!(bound >= actual, "x00 = {x00}: bound {bound:e} < error {actual:e}");
                    if actual > 1e-300 {
                        assert!(
                            bound <= 100.0 * actual,
                            "x00 = {x00}: bound {bound:e} vs error {actual:e}"
                        );
                    }
                }
            }
            eprintln!("x00 = {x00} at {prec} bits, {mode}: min bound/error {worst_ratio:.3e}");
            if idealised {
                assert!(below, "the closed form's estimate was expected to miss the defect");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A value that cannot be computed is an error naming the quantity, the time and the cause —
/// never a printed null or "NaN" with a bound (issue 15's hostile inputs: rates of 1e300, a zero
/// init whose angle φ does not exist), and nothing partial on stdout; issue 15's t = 1e9 at 128
/// bits is now computed (see the end of the test).
#[test]
fn values_that_do_not_exist_are_errors() {
    let dir = std::env::temp_dir().join(format!("lazyrich_nonexistent_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#""a0": 1, "w0": [-1, 0], "eta_a": "1e300", "eta_w": "1e300", "times": [0, 1, 5]"#,
            "53",
            "overflowed",
        ),
        (
            r#""a0": 0, "w0": [0, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1]"#,
            "53",
            "phi",
        ),
    ];
    for (k, (fields, prec, says)) in cases.iter().enumerate() {
        let path = dir.join(format!("c{k}.json"));
        let text = format!(r#"{{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [0, 1], {fields}}}"#);
        std::fs::write(&path, text).unwrap();
        let (code, v, e) = run(&["exact", "--case", path.to_str().unwrap(), "--prec", prec]);
        assert_eq!(code, 2, "{fields}: {v}");
        assert_eq!(v, Value::Null, "no partial output");
        assert!(e.contains("could not compute") && e.contains(says), "{fields}: {e}");
    }
    // Issue 15 listed t = 1e9 at 128 bits among the values that could not be computed: the
    // unscaled MPFR evaluation overflowed MPFR's exponent range (e^{λ₊t} = e^{1e9}). The
    // generic closed form scales by e^{−λ₊t} above λ₊t = 200 in every number type, so the value
    // exists and is the limit point (a∞, w∞) = (1, (0, 1)) to far below the printed bound.
    let path = dir.join("late.json");
    let text = r#"{"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": [0, 1], "a0": 1, "w0": [-1, 0], "eta_a": 1, "eta_w": 1, "times": [0, 1e9]}"#;
    std::fs::write(&path, text).unwrap();
    let (code, v, e) = run(&["exact", "--case", path.to_str().unwrap(), "--prec", "128"]);
    assert_eq!(code, 0, "t = 1e9 at 128 bits: {e}");
    let late = &v["points"][1];
    let num = |x: &Value| x.as_str().unwrap().parse::<f64>().unwrap();
    let bound = num(&late["abs_err_bound"]);
    assert!(bound > 0.0 && bound < 1e-35, "bound {bound}");
    assert!((num(&late["a"]) - 1.0).abs() <= bound, "{late}");
    assert!(
        num(&late["w"][0]).abs() <= bound && (num(&late["w"][1]) - 1.0).abs() <= bound,
        "{late}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
