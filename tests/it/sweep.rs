//! Teacher–student sweeps (P1 Fig. 1, `docs/theory.md` §3.2): symmetrised initialisation through the
//! model, shard/resume/merge through the CLI, and the t = 0 numbers against independent
//! computations.

use crate::common;

use common::{expect_bad, run};
use lazyrich::models::piecewise_linear::{LossScale, PiecewiseLinear};
use lazyrich::models::teacher_student::{base_directions, symmetrised_init, teacher_student_data};
use serde_json::Value;
use std::path::Path;

/// A sweep small enough for a test: 2 τ × 2 δ × 2 seeds = 8 cells, d = 3, h = 4.
const TINY: &str = r#"{
  "name": "tiny",
  "task": {"teacher_student": {"d": 3, "teacher_width": 3}},
  "h": 4, "n": 12, "n_test": 64, "gamma": 0.0, "loss": "mean",
  "tau": [0.5, 1.0], "delta": [0.0, 0.5], "seeds": [11, 12],
  "checkpoints": [0.0, 0.5, 2.0],
  "method": "tsit45", "rtol": 1e-6, "atol": 1e-8
}"#;

fn lazyrich(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn symmetrised_init_gives_exactly_zero_network_output() {
    let (d, h, n) = (6, 10, 30);
    let (_, data) = teacher_student_data(5, d, 3, n, 200).unwrap();
    let dirs = base_directions(5, h, d).unwrap();
    for (tau, delta) in [(0.1, 0.0), (2.0, 0.0), (0.1, 0.9999), (0.1, -0.9999), (1.0, 25.0)] {
        let init = symmetrised_init(&dirs, d, tau, delta).unwrap();
        let model = PiecewiseLinear::new(
            data.x_train.clone(),
            n,
            d,
            data.y_train.clone(),
            h,
            0.0,
            1.0,
            1.0,
            LossScale::HalfSum,
        )
        .unwrap();
        let theta = model.pack(&init.w, &init.a);
        // Exactly zero, not merely small: pairs cancel in the network's neuron-order sum.
        assert!(
            model.outputs(&theta).iter().all(|f| *f == 0.0),
            "τ = {tau}, δ = {delta}"
        );
        assert!(model.predict(&theta, &data.x_test).iter().all(|f| *f == 0.0));
        // Every neuron carries the requested δ (η = 1), to rounding of a² and ‖w‖².
        for (k, dk) in model.deltas(&theta).iter().enumerate() {
            let scale = model.delta_scales(&theta)[k];
            assert!((dk - delta).abs() <= 8.0 * f64::EPSILON * scale, "{dk} vs {delta}");
        }
    }
}

#[test]
fn bad_configs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (text, needle) in [
        (TINY.replace("\"h\": 4", "\"h\": 5"), "h: 5 must be even"),
        (TINY.replace("\"rtol\": 1e-6", "\"rtol\": -1"), "rtol"),
        (TINY.replace("\"tau\": [0.5, 1.0]", "\"tau\": [0.5, 0.0]"), "tau"),
        (TINY.replace("\"loss\": \"mean\"", "\"loss\": \"sum\""), "loss"),
        (TINY.replace("\"seeds\"", "\"seedz\""), "seedz"),
        ("{ not json".to_string(), "JSON"),
    ] {
        let cfg = common::write_case(dir.path(), "bad.json", &text);
        expect_bad(&["sweep", "run", "--config", s(&cfg), "--out", s(&out)], needle);
        assert!(!out.exists(), "partial output for {needle}");
    }
    let cfg = common::write_case(dir.path(), "tiny.json", TINY);
    expect_bad(
        &["sweep", "run", "--config", s(&cfg), "--out", s(&out), "--shard", "3/3"],
        "i must be smaller than n",
    );
    expect_bad(
        &["sweep", "run", "--config", "/nonexistent.json", "--out", s(&out)],
        "cannot read",
    );
    assert!(!out.exists());
}

#[test]
fn shards_resume_and_merge_reproduce_the_single_run_and_merge_rejects_bad_sets() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let cfg = common::write_case(p, "tiny.json", TINY);
    // Reference: one shard, all cells.
    lazyrich(&["sweep", "run", "--config", s(&cfg), "--out", s(&p.join("whole"))]);
    lazyrich(&[
        "sweep",
        "merge",
        "--out",
        s(&p.join("merged_whole")),
        s(&p.join("whole")),
    ]);
    // Three shards; shard 1 is "killed" after one and a half records, then resumed.
    let shard_dirs: Vec<_> = (0..3).map(|i| p.join(format!("s{i}"))).collect();
    for (i, d) in shard_dirs.iter().enumerate() {
        let shard = format!("{i}/3");
        lazyrich(&[
            "sweep",
            "run",
            "--config",
            s(&cfg),
            "--out",
            s(d),
            "--shard",
            &shard,
            "--threads",
            "1",
        ]);
        let lines: Vec<Value> = read(&d.join("cells.jsonl"))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.iter().all(|r| r["cell"].as_u64().unwrap() % 3 == i as u64));
    }
    let cells1 = shard_dirs[1].join("cells.jsonl");
    let full = read(&cells1);
    let first_len = full.find('\n').unwrap() + 1;
    let torn = &full[..first_len + (full.len() - first_len) / 3];
    std::fs::write(&cells1, torn).unwrap();
    let o = run(&[
        "sweep",
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&shard_dirs[1]),
        "--shard",
        "1/3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 already done") && err.contains("torn"), "{err}");
    // A complete shard reruns nothing and leaves its file unchanged.
    let before = read(&shard_dirs[0].join("cells.jsonl"));
    let o = run(&[
        "sweep",
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&shard_dirs[0]),
        "--shard",
        "0/3",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains(" 0 to run"));
    assert_eq!(before, read(&shard_dirs[0].join("cells.jsonl")));
    // Same folder, other shard or config: refused.
    expect_bad(
        &[
            "sweep",
            "run",
            "--config",
            s(&cfg),
            "--out",
            s(&shard_dirs[0]),
            "--shard",
            "1/3",
        ],
        "another config or shard",
    );
    let merged = p.join("merged_shards");
    lazyrich(&[
        "sweep",
        "merge",
        "--out",
        s(&merged),
        s(&shard_dirs[2]),
        s(&shard_dirs[0]),
        s(&shard_dirs[1]),
    ]);
    for f in [
        "sweep.json",
        "sweep.csv",
        "sweep.md",
        "heatmap_phase.svg",
        "heatmap_loss_kernel.svg",
        "hamming_vs_param.svg",
    ] {
        assert_eq!(
            read(&p.join("merged_whole").join(f)),
            read(&merged.join(f)),
            "{f} differs"
        );
    }
    // Missing and duplicated cells are rejected, and nothing is written.
    let bad_out = p.join("merged_bad");
    expect_bad(
        &[
            "sweep",
            "merge",
            "--out",
            s(&bad_out),
            s(&shard_dirs[0]),
            s(&shard_dirs[1]),
        ],
        "missing",
    );
    expect_bad(
        &[
            "sweep",
            "merge",
            "--out",
            s(&bad_out),
            s(&shard_dirs[0]),
            s(&shard_dirs[1]),
            s(&shard_dirs[2]),
            s(&p.join("whole")),
        ],
        "more than one record",
    );
    assert!(!bad_out.exists());
    // `sweep plot` redraws identical figures.
    lazyrich(&["sweep", "plot", s(&merged)]);
    assert_eq!(
        read(&p.join("merged_whole").join("heatmap_loss_kernel.svg")),
        read(&merged.join("heatmap_loss_kernel.svg"))
    );
}

#[test]
fn sweep_numbers_at_t0_match_independent_values_and_balance_is_conserved() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let cfg = common::write_case(p, "tiny.json", TINY);
    lazyrich(&["sweep", "run", "--config", s(&cfg), "--out", s(&p.join("run"))]);
    lazyrich(&["sweep", "merge", "--out", s(&p.join("m")), s(&p.join("run"))]);
    let v: Value = serde_json::from_str(&read(&p.join("m").join("sweep.json"))).unwrap();
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 8);
    let rtol = 1e-6;
    for c in cells {
        assert!(c["error"].is_null(), "{c}");
        let seed = c["seed"].as_u64().unwrap();
        let (_, data) = teacher_student_data(seed, 3, 3, 12, 64).unwrap();
        let cp0 = &c["checkpoints"][0];
        let f = |k: &str| cp0[k].as_f64().unwrap();
        // f ≡ 0 at t = 0, so the test loss is the teacher's mean square over the test set and
        // the training loss ("mean", (1/n)Σ) the mean square over the training set; both
        // differ from these sums only by rounding (n ≤ 64 terms: ≤ 64 ε relative).
        let ms = |y: &[f64]| y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64;
        let (t_ref, l_ref) = (ms(&data.y_test), ms(&data.y_train));
        assert!(
            (f("test_loss") - t_ref).abs() <= 64.0 * f64::EPSILON * t_ref,
            "{} vs {t_ref}",
            f("test_loss")
        );
        assert!((f("train_loss") - l_ref).abs() <= 64.0 * f64::EPSILON * l_ref);
        for k in [
            "kernel_distance_ntk",
            "kernel_distance_phi",
            "hamming",
            "param_distance",
        ] {
            assert_eq!(f(k), 0.0, "{k} at t = 0");
        }
        // The flow moved and the loss fell.
        let last = &c["checkpoints"][2];
        assert!(last["train_loss"].as_f64().unwrap() < f("train_loss"));
        assert!(last["param_distance"].as_f64().unwrap() > 0.0);
        // δ_k is a first integral: its drift is the sum over steps of ∇δ_k·(local error), with
        // |∇δ_k| = 2(|a_k|² + ‖w_k‖²)^{1/2} and local errors ≤ rtol·|θ| + atol per component as
        // estimated by the solver. Relative to 1 + a_k² + ‖w_k‖² this is ≤ 4·rtol per step
        // (|θ| ≤ 1 here up to a factor 2 margin), so drift ≤ 4·rtol·steps.
        let steps = c["steps"].as_f64().unwrap();
        let drift = c["delta_drift"].as_f64().unwrap();
        assert!(drift <= 4.0 * rtol * steps, "drift {drift} after {steps} steps");
    }
}
