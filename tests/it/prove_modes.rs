//! `closed_form_solves_flow` for two-layer linear nets (issue 16 item 2, the per-mode closed form):
//! the decoupling identity and its planted error; exactly whitened, exactly task-aligned random
//! cases (built in rational arithmetic from decimal orthogonal matrices, independent of the
//! checker's identities) are proved; each failed assumption gives `not_applicable` naming it; and
//! on the example case the 128-bit closed form agrees with the validated enclosure of the inputs'
//! own flow (a different method) to within both printed bounds.

use crate::common;

use common::*;
use lazyrich::case::Case;
use lazyrich::models::lambda_balanced_exact::to_decimal_string;
use lazyrich::models::two_layer_aligned::{AlignedSpec, aligned_problem};
use lazyrich::verify::prove::claims::{ProveOptions, claims};
use lazyrich::verify::prove::closed_form_modes::decoupling;
use lazyrich::verify::prove::identities::{Plant, Verdict};
use lazyrich::verify::prove::{Claim, Status};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rug::Rational;
use serde_json::Value;

const OPTS: ProveOptions = ProveOptions { prec: 256, t_end: None };

fn closed_form_claim(text: &str) -> Claim {
    let case = Case::from_json(text).unwrap();
    claims(&case, &OPTS)
        .unwrap()
        .into_iter()
        .find(|c| c.id == "closed_form_solves_flow")
        .unwrap()
}

fn json_mat(m: &[Vec<Rational>]) -> Value {
    Value::Array(
        m.iter()
            .map(|r| Value::Array(r.iter().map(|q| Value::String(to_decimal_string(q).unwrap())).collect()))
            .collect(),
    )
}

/// An aligned two-layer case from [`aligned_problem`] (built from decimal orthogonal matrices,
/// independent of the checker's identities), then `x_scale` times X (≠ 1 breaks the whitening) and
/// `w_shift` added to W0[0][0].
struct Build {
    spec: AlignedSpec,
    x_scale: Rational,
    w_shift: Rational,
}

fn build(b: &Build, rng: &mut ChaCha8Rng) -> String {
    let mut pr = aligned_problem(&b.spec, rng).unwrap();
    for row in &mut pr.x {
        for x in row.iter_mut() {
            *x *= &b.x_scale;
        }
    }
    pr.w0[0][0] += &b.w_shift;
    serde_json::json!({
        "model": "two_layer_linear", "x": json_mat(&pr.x), "y": json_mat(&pr.y), "a0": json_mat(&pr.a0),
        "w0": json_mat(&pr.w0), "eta_a": "0.75", "eta_w": "1.25", "times": [0, "0.5", 2]
    })
    .to_string()
}

/// An exact rational from "p/q" or a decimal string.
fn q(s: &str) -> Rational {
    if s.contains('/') {
        s.parse().unwrap()
    } else {
        lazyrich::num::decimal::Num::parse(s).unwrap().to_rational().unwrap()
    }
}

fn random_build(rng: &mut ChaCha8Rng) -> Build {
    let (d, h, c) = (
        rng.random_range(1..=4),
        rng.random_range(1..=4),
        rng.random_range(1..=4),
    );
    let k = d.min(c);
    // distinct positive singular values (quarters), per-mode inits in {−1, …, 1} by halves (0 allowed)
    let mut s: Vec<Rational> = Vec::new();
    while s.len() < k {
        let cand = Rational::from((rng.random_range(1..=12), 4));
        if !s.contains(&cand) {
            s.push(cand);
        }
    }
    let m = k.min(h);
    let half = |rng: &mut ChaCha8Rng| Rational::from((rng.random_range(-2..=2), 2));
    Build {
        spec: AlignedSpec {
            d,
            h,
            c,
            singular_values: s,
            w: (0..m).map(|_| half(rng)).collect(),
            a: (0..m).map(|_| half(rng)).collect(),
        },
        x_scale: Rational::from(1),
        w_shift: Rational::new(),
    }
}

#[test]
fn the_decoupling_identity_holds_at_every_fixed_dim_and_a_planted_sign_error_is_refuted() {
    for d in 1..=3 {
        for h in 1..=3 {
            for c in 1..=3 {
                let id = decoupling(d, h, c, Plant::None);
                assert!(id.check().is_proved(), "{}", id.dims);
            }
        }
    }
    match decoupling(2, 2, 2, Plant::FlipSign).check() {
        Verdict::Refuted(w) => {
            assert!(!w.point.is_empty(), "a witness point");
            assert_ne!(w.value, "0");
        }
        v => panic!("planted error not refuted: {v:?}"),
    }
}

#[test]
fn exactly_aligned_random_cases_are_proved_with_bound_zero() {
    for seed in 0..8u64 {
        println!("seed {seed}");
        let mut rng = ChaCha8Rng::seed_from_u64(0x0a11_9000 + seed);
        let b = random_build(&mut rng);
        let text = build(&b, &mut rng);
        let cl = closed_form_claim(&text);
        assert_eq!(
            cl.status,
            Status::Proved,
            "seed {seed} dims {:?}: {}",
            (b.spec.d, b.spec.h, b.spec.c),
            cl.detail
        );
        assert_eq!(cl.bound, Some(0.0));
    }
}

#[test]
fn each_failed_assumption_is_not_applicable_and_named() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0a11_9100);
    let spec = AlignedSpec {
        d: 3,
        h: 3,
        c: 2,
        singular_values: vec![q("2"), q("1/2")],
        w: vec![q("1/2"), q("-1")],
        a: vec![q("1"), q("1/2")],
    };
    let base = Build {
        spec: spec.clone(),
        x_scale: q("1"),
        w_shift: Rational::new(),
    };
    let cases: [(&str, Build); 2] = [
        (
            "init not task-aligned",
            Build {
                w_shift: q("1/1000"),
                ..clone(&base)
            },
        ),
        (
            "input not whitened",
            Build {
                x_scale: q("1.0001"),
                ..clone(&base)
            },
        ),
    ];
    let good = build(&base, &mut ChaCha8Rng::seed_from_u64(0x0a11_9101));
    assert_eq!(closed_form_claim(&good).status, Status::Proved);
    for (needle, b) in cases {
        let cl = closed_form_claim(&build(&b, &mut rng));
        assert_eq!(cl.status, Status::NotApplicable, "{needle}: {}", cl.detail);
        assert!(cl.detail.contains(needle), "{needle} not named in: {}", cl.detail);
    }
    // The builder refuses repeated and zero singular values, so these are written by hand:
    // X = I, β* = Y = I (1, 1: repeated) and diag(1, 0) (rank 1 < min(d, c) = 2).
    for (y, needle) in [
        ("[[1, 0], [0, 1]]", "repeated singular value"),
        ("[[1, 0], [0, 0]]", "rank < min(d, c)"),
    ] {
        let text = format!(
            r#"{{"model": "two_layer_linear", "x": [[1, 0], [0, 1]], "y": {y}, "a0": [[1, 0], [0, 1]],
                "w0": [[1, 0], [0, 1]], "eta_a": 1, "eta_w": 1, "times": [0, 1]}}"#
        );
        let cl = closed_form_claim(&text);
        assert_eq!(cl.status, Status::NotApplicable, "{needle}: {}", cl.detail);
        assert!(cl.detail.contains(needle), "{needle} not named in: {}", cl.detail);
    }
}

/// `init task-aligned` writes a case that `prove` proves; a repeated singular value is refused
/// (exit 2, nothing written).
#[test]
fn init_task_aligned_writes_a_provable_case_and_refuses_repeated_singular_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ta.json");
    let o = out.to_str().unwrap();
    let r = run(&[
        "init",
        "task-aligned",
        "--dims",
        "5,3,4",
        "--singular-values",
        "4,2.5,1,0.5",
        "--w",
        "0.5,-0.25,0",
        "--a",
        "1,0.5,-2",
        "--eta-a",
        "0.5",
        "--eta-w",
        "2",
        "--seed",
        "3",
        "--out",
        o,
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let cl = closed_form_claim(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(cl.status, Status::Proved, "{}", cl.detail);
    let bad = dir.path().join("bad.json");
    expect_bad(
        &[
            "init",
            "task-aligned",
            "--dims",
            "2,2,2",
            "--singular-values",
            "1,1",
            "--w",
            "1,1",
            "--a",
            "1,1",
            "--seed",
            "1",
            "--out",
            bad.to_str().unwrap(),
        ],
        "repeated or zero singular value",
    );
    assert!(!bad.exists());
}

fn clone(b: &Build) -> Build {
    Build {
        spec: b.spec.clone(),
        x_scale: b.x_scale.clone(),
        w_shift: b.w_shift.clone(),
    }
}

/// The example case: `prove` says proved, and the closed form at 128 bits (`--idealised`: the
/// per-mode formula) agrees with the validated Taylor enclosure of the inputs' own flow (plain
/// `exact` on two-layer cases, a different method) within the sum of the two printed bounds, each
/// ≤ 1e-30 — a misaligned init would leave them ~1e-3 apart.
#[test]
fn on_the_example_the_closed_form_agrees_with_the_validated_flow_at_128_bits() {
    let path = "data/cases/two_layer_aligned_example.json";
    let cl = closed_form_claim(&std::fs::read_to_string(path).unwrap());
    assert_eq!(cl.status, Status::Proved, "{}", cl.detail);
    let ideal = json_of(&run(&["exact", "--case", path, "--prec", "128", "--idealised"]));
    let flow = json_of(&run(&["exact", "--case", path, "--prec", "128"]));
    assert_eq!(flow["ref_method"], "validated_enclosure");
    let num = |v: &Value| -> Rational {
        match v {
            Value::String(s) => lazyrich::num::decimal::Num::parse(s).unwrap().to_rational().unwrap(),
            v => lazyrich::num::decimal::Num::parse(&v.to_string())
                .unwrap()
                .to_rational()
                .unwrap(),
        }
    };
    let bound = |p: &Value| -> f64 {
        let b = &p["abs_err_bound"];
        b.as_f64().unwrap_or_else(|| b.as_str().unwrap().parse().unwrap())
    };
    let (pi, pf) = (ideal["points"].as_array().unwrap(), flow["points"].as_array().unwrap());
    assert_eq!(pi.len(), 6);
    assert_eq!(pi.len(), pf.len());
    for (a, b) in pi.iter().zip(pf) {
        let (ba, bb) = (bound(a), bound(b));
        assert!(ba <= 1e-30 && bb <= 1e-30, "bounds {ba:e}, {bb:e} at t = {}", a["t"]);
        for (ra, rb) in a["beta"].as_array().unwrap().iter().zip(b["beta"].as_array().unwrap()) {
            for (x, y) in ra.as_array().unwrap().iter().zip(rb.as_array().unwrap()) {
                let diff = (num(x) - num(y)).abs().to_f64();
                assert!(
                    diff <= ba + bb,
                    "t = {}: |{x} − {y}| = {diff:e} > {ba:e} + {bb:e}",
                    a["t"]
                );
            }
        }
    }
}
