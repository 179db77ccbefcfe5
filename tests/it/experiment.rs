//! P1 Part III experiments (`lazyrich::experiment`, `lazyrich experiment …`): the MLP gradient
//! against central finite differences, the random-hierarchy grammar, the modular-addition split,
//! and test-sized end-to-end runs through the binary (files, JSON fields, exit 2 on bad input
//! with nothing written, results independent of threads and sharding).

use faer::{Mat, MatRef};
use lazyrich::experiment::grokking;
use lazyrich::experiment::mlp::{self, Mlp, Params};
use lazyrich::experiment::rhm::{Rhm, RhmSizes};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

const EPS: f64 = f64::EPSILON;

/// γ_k = kε/(1 − kε) (Higham, Accuracy and Stability, §3.1): |fl(Σ_{i≤k} a_i b_i) − Σ a_i b_i|
/// ≤ γ_k Σ|a_i b_i|.
fn gamma(k: usize) -> f64 {
    k as f64 * EPS / (1.0 - k as f64 * EPS)
}

fn abs_params(p: &Params) -> Params {
    p.iter()
        .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)].abs()))
        .collect()
}

/// Loss at θ (MSE against `y` or CE against `labels`), the output, and the pattern.
fn eval(
    model: &Mlp,
    p: &Params,
    x: MatRef<'_, f64>,
    y: &Mat<f64>,
    labels: &[usize],
    ce: bool,
) -> (f64, Mat<f64>, Vec<bool>) {
    let mut ws = model.workspace(x.nrows());
    model.forward(p, x, &mut ws);
    let loss = if ce {
        mlp::cross_entropy(&mut ws, labels, false).0
    } else {
        mlp::mse(&mut ws, y.as_ref(), false)
    };
    (loss, ws.output().to_owned(), ws.pattern())
}

/// Gradient of a depth-3 ReLU MLP against central differences, every coordinate.
///
/// Derivation of the tolerance. Along one coordinate θ_j, with the activation pattern the same
/// at θ and θ ± h, every pre-activation is affine in θ_j over the whole interval (by induction
/// over the layers: an affine function with one sign at both ends keeps it in between), so the
/// output is affine in θ_j: z(θ_j + t) = z + t u. Then
/// - MSE is a quadratic in t: the central difference is exact, only rounding remains;
/// - CE's third derivative along t is (1/n)Σ_i D³lse[u_i,u_i,u_i] with |D³lse[u,u,u]| =
///   |E_p(u − E_p u)³| ≤ range(u)³, so the truncation error is ≤ h²/6 · (1/n)Σ_i range(u_i)³.
///
/// Rounding: each output's forward error is ≤ γ_D · (|W_L|⋯|W_1||x|)_i with D = Σ_l d_{l−1} + L
/// (one dot product of length d_{l−1} per layer, plus the ReLU-free chain); a loss value's error
/// is then ≤ e_ℓ = (1/n)Σ_i c_i·err_i + γ_{c+4}·(1/n)Σ_i a_i, with c_i = |r_i| + err_i, a_i = r_i²
/// for MSE and c_i = 2, a_i = |lse_i| + |z_iy| for CE; the difference quotient inherits
/// (e_ℓ(θ+h) + e_ℓ(θ−h))/(2h). The analytic gradient's own rounding is ≤ γ_D · (the backward
/// pass through |W|, |x| and |G_L| with the same pattern), bounded the same way.
#[test]
fn gradient_matches_central_differences() {
    let seed = 11;
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let widths = [4, 6, 5, 3];
    let model = Mlp::new(&widths);
    let n = 7;
    let x = Mat::<f64>::from_fn(n, 4, |_, _| StandardNormal.sample(&mut rng));
    let y = Mat::<f64>::from_fn(n, 3, |_, _| StandardNormal.sample(&mut rng));
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let p = model.init(&mut rng, 1.0, 1.0);
    let d_sum: usize = widths[..3].iter().sum::<usize>() + 3;
    let xabs = Mat::from_fn(n, 4, |i, j| x[(i, j)].abs());
    let pabs = abs_params(&p);
    // Forward magnitude bound |W_L|⋯|W_1||x| (ReLU is the identity on non-negative values).
    let (_, fabs, _) = eval(&model, &pabs, xabs.as_ref(), &y, &labels, false);
    let err_out = |i: usize| (0..3).map(|c| gamma(d_sum) * fabs[(i, c)]).fold(0.0, f64::max);
    let loss_err = |out: &Mat<f64>, ce: bool| -> f64 {
        let mut e = 0.0;
        for i in 0..n {
            let ei = err_out(i);
            if ce {
                let m = (0..3).map(|c| out[(i, c)]).fold(f64::NEG_INFINITY, f64::max);
                let lse = m + (0..3).map(|c| (out[(i, c)] - m).exp()).sum::<f64>().ln();
                e += 2.0 * ei + gamma(3 + 4) * (lse.abs() + out[(i, labels[i])].abs());
            } else {
                let r2: f64 = (0..3).map(|c| (out[(i, c)] - y[(i, c)]).powi(2)).sum();
                let ra: f64 = (0..3).map(|c| (out[(i, c)] - y[(i, c)]).abs()).sum();
                e += (ra + 3.0 * ei) * ei + gamma(3 + 4) * r2;
            }
        }
        e / n as f64
    };
    for ce in [false, true] {
        let mut ws = model.workspace(n);
        model.forward(&p, x.as_ref(), &mut ws);
        let g_l: Mat<f64> = if ce {
            mlp::cross_entropy(&mut ws, &labels, true);
            ws.output_grad_mut().to_owned()
        } else {
            mlp::mse(&mut ws, y.as_ref(), true);
            ws.output_grad_mut().to_owned()
        };
        let mut grad = model.zeros();
        model.backward(&p, x.as_ref(), &mut ws, &mut grad);
        // Backward through |W|, |x|, |G_L| with the same pattern: magnitude of the gradient's terms.
        let mut ws_abs = model.workspace(n);
        model.forward(&p, x.as_ref(), &mut ws_abs);
        let mut ga = ws_abs.output_grad_mut();
        for j in 0..3 {
            for i in 0..n {
                ga[(i, j)] = g_l[(i, j)].abs();
            }
        }
        let mut grad_abs = model.zeros();
        model.backward(&pabs, xabs.as_ref(), &mut ws_abs, &mut grad_abs);
        let (_, _, pat0) = eval(&model, &p, x.as_ref(), &y, &labels, ce);
        let (mut checked, mut skipped, mut worst) = (0, 0, 0.0f64);
        for l in 0..p.len() {
            for a in 0..p[l].nrows() {
                for b in 0..p[l].ncols() {
                    let h = 1e-4 * p[l][(a, b)].abs().max(0.1);
                    let mut pp = p.clone();
                    pp[l][(a, b)] += h;
                    let mut pm = p.clone();
                    pm[l][(a, b)] -= h;
                    let (lp, op, patp) = eval(&model, &pp, x.as_ref(), &y, &labels, ce);
                    let (lm, om, patm) = eval(&model, &pm, x.as_ref(), &y, &labels, ce);
                    if patp != pat0 || patm != pat0 {
                        skipped += 1;
                        continue;
                    }
                    let fd = (lp - lm) / (2.0 * h);
                    let trunc = if ce {
                        let mut b3 = 0.0;
                        for i in 0..n {
                            let u: Vec<f64> = (0..3).map(|c| (op[(i, c)] - om[(i, c)]) / (2.0 * h)).collect();
                            let range = u.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v))
                                - u.iter().fold(f64::INFINITY, |m, v| m.min(*v));
                            b3 += range.powi(3);
                        }
                        h * h / 6.0 * b3 / n as f64
                    } else {
                        0.0
                    };
                    let tol = trunc
                        + (loss_err(&op, ce) + loss_err(&om, ce)) / (2.0 * h)
                        + gamma(d_sum) * grad_abs[l][(a, b)];
                    let diff = (grad[l][(a, b)] - fd).abs();
                    assert!(
                        diff <= tol,
                        "{} layer {l} ({a},{b}): analytic {} vs central difference {fd}: |diff| {diff:e} > tol {tol:e}",
                        if ce { "CE" } else { "MSE" },
                        grad[l][(a, b)]
                    );
                    worst = worst.max(diff / tol);
                    checked += 1;
                }
            }
        }
        println!(
            "{}: {checked} coordinates checked, {skipped} skipped (pattern change), worst |diff|/tol {worst:.3}",
            if ce { "CE" } else { "MSE" }
        );
        assert!(
            checked >= model.n_params() * 9 / 10,
            "too many coordinates skipped: {skipped}"
        );
    }
}

/// Empirical NTK against J Jᵀ from central-difference Jacobians (the output is affine in each
/// coordinate within a pattern, so those columns are exact up to rounding: relative tolerance
/// 1e-6 ≫ ε/h).
#[test]
fn ntk_matches_jacobian_gram() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let model = Mlp::new(&[3, 5, 4, 1]);
    let x = Mat::<f64>::from_fn(4, 3, |_, _| StandardNormal.sample(&mut rng));
    let p = model.init(&mut rng, 2.0, 1.0);
    let k = model.ntk(&p, x.as_ref());
    let y = Mat::<f64>::zeros(4, 1);
    let mut cols = Vec::new();
    for l in 0..p.len() {
        for a in 0..p[l].nrows() {
            for b in 0..p[l].ncols() {
                let h = 1e-5;
                let mut pp = p.clone();
                pp[l][(a, b)] += h;
                let mut pm = p.clone();
                pm[l][(a, b)] -= h;
                let (_, op, _) = eval(&model, &pp, x.as_ref(), &y, &[], false);
                let (_, om, _) = eval(&model, &pm, x.as_ref(), &y, &[], false);
                cols.push(
                    (0..4)
                        .map(|i| (op[(i, 0)] - om[(i, 0)]) / (2.0 * h))
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
    let scale = k.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..4 {
        for j in 0..4 {
            let kij: f64 = cols.iter().map(|c| c[i] * c[j]).sum();
            assert!(
                (kij - k[i * 4 + j]).abs() <= 1e-6 * scale,
                "K[{i},{j}] = {} vs JJᵀ {kij}",
                k[i * 4 + j]
            );
        }
    }
}

#[test]
fn hierarchy_strings_decode_to_their_class() {
    let sizes = RhmSizes {
        v: 8,
        m: 4,
        depth: 3,
        s: 2,
        n_classes: 8,
    };
    sizes.validate().expect("P1's sizes are valid");
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let g = Rhm::new(sizes, &mut rng);
    // Synonyms distinct: within a level all productions are different s-tuples, m per symbol.
    for l in 0..3 {
        let symbols = 8; // n_c = v = 8: classes at level 0, symbols below
        let mut seen = HashSet::new();
        for a in 0..symbols {
            assert_eq!(g.productions(l, a).len(), 4);
            for p in g.productions(l, a) {
                assert_eq!(p.len(), 2);
                assert!(p.iter().all(|&t| t < 8));
                assert!(seen.insert(p.clone()), "level {l}: production {p:?} used twice");
            }
        }
    }
    for class in 0..8 {
        for _ in 0..50 {
            let s = g.sample(class, &mut rng);
            assert_eq!(s.len(), 8);
            assert_eq!(g.decode(&s), Some(class), "string {s:?} of class {class}");
        }
    }
    // A string whose first pair is no level-2 production does not decode.
    let used: HashSet<Vec<usize>> = (0..8).flat_map(|a| g.productions(2, a).to_vec()).collect();
    let unused = (0..64)
        .map(|t| vec![t / 8, t % 8])
        .find(|t| !used.contains(t))
        .expect("32 of 64 pairs used");
    let mut s = g.sample(0, &mut rng);
    s[0] = unused[0];
    s[1] = unused[1];
    assert_eq!(g.decode(&s), None);
    assert!(
        RhmSizes {
            v: 2,
            m: 4,
            depth: 2,
            s: 2,
            n_classes: 2
        }
        .validate()
        .is_err()
    );
}

#[test]
fn modular_split_covers_every_pair_once() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let p = 7;
    let (train, test) = grokking::split(p, 0.5, &mut rng);
    assert_eq!(train.len(), 24);
    assert_eq!(test.len(), 25);
    let all: HashSet<(usize, usize)> = train.iter().chain(&test).copied().collect();
    assert_eq!(all.len(), 49);
    assert!(all.iter().all(|(a, b)| *a < p && *b < p));
    let (x, y) = grokking::encode(p, &train);
    for (i, (a, b)) in train.iter().enumerate() {
        let ones: Vec<usize> = (0..2 * p).filter(|&j| x[(i, j)] == 1.0).collect();
        assert_eq!(ones, vec![*a, p + b]);
        assert_eq!((0..2 * p).map(|j| x[(i, j)]).sum::<f64>(), 2.0);
        assert_eq!(y[i], (a + b) % p);
    }
}

fn lazyrich(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(args)
        .output()
        .expect("run lazyrich")
}

fn read_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json")).expect("JSON")
}

#[test]
fn tiny_runs_write_results_and_figures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, svg) in [
        ("alpha-scaling", "alpha_scaling.svg"),
        ("hierarchy", "hierarchy.svg"),
        ("grokking", "grokking.svg"),
    ] {
        let out = tmp.path().join(name);
        let o = lazyrich(&["experiment", name, "--tiny", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("[1/"),
            "progress lines on stderr"
        );
        for f in ["results.json", "results.csv", svg] {
            assert!(out.join(f).is_file(), "{name}: {f} missing");
        }
        let v = read_json(&out);
        assert_eq!(v["experiment"], name);
        assert_eq!(v["complete"], true);
        let points = v["points"].as_array().expect("points");
        assert!(!points.is_empty());
        for p in points {
            assert!(p["params"]["alpha"].is_number());
            for (q, s) in p["metrics"].as_object().expect("metrics") {
                let values = s["values"].as_array().expect("values");
                assert_eq!(values.len(), 2, "{name} {q}: one value per seed");
                assert_eq!(s["seeds"], serde_json::json!([1000, 1001]));
                let finite: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
                assert_eq!(s["n"].as_u64(), Some(finite.len() as u64));
                if !finite.is_empty() {
                    let mean = finite.iter().sum::<f64>() / finite.len() as f64;
                    assert!((s["mean"].as_f64().unwrap() - mean).abs() <= 1e-12 * mean.abs().max(1.0));
                }
                if finite.len() == 2 {
                    let se = (finite[0] - finite[1]).abs() / 2.0;
                    assert!(
                        (s["stderr"].as_f64().unwrap() - se).abs() <= 1e-12 * se.max(1.0),
                        "{name} {q} stderr"
                    );
                }
            }
        }
        let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
        assert!(csv.lines().next().unwrap().contains("quantity,mean,stderr,n,per_seed"));
    }
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let o_str = out.to_str().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    for args in [
        vec!["experiment", "grokking", "--tiny", "--seeds", "0", "--out", o_str],
        vec!["experiment", "grokking", "--tiny", "--threads", "0", "--out", o_str],
        vec!["experiment", "grokking", "--tiny", "--shard", "2/2", "--out", o_str],
        vec!["experiment", "hierarchy", "--tiny", "--seeds", "x", "--out", o_str],
        vec!["experiment", "alpha-scaling", "--tiny", "--out", file.to_str().unwrap()],
        vec![
            "experiment",
            "merge",
            "--out",
            o_str,
            tmp.path().join("missing").to_str().unwrap(),
        ],
    ] {
        let o = lazyrich(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn results_do_not_depend_on_threads_or_shards() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = |s: &str| tmp.path().join(s).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let o = lazyrich(args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "experiment",
        "alpha-scaling",
        "--tiny",
        "--threads",
        "1",
        "--out",
        &d("whole"),
    ]);
    run(&[
        "experiment",
        "alpha-scaling",
        "--tiny",
        "--threads",
        "2",
        "--shard",
        "0/3",
        "--out",
        &d("s0"),
    ]);
    run(&[
        "experiment",
        "alpha-scaling",
        "--tiny",
        "--threads",
        "2",
        "--shard",
        "1/3",
        "--out",
        &d("s1"),
    ]);
    run(&[
        "experiment",
        "alpha-scaling",
        "--tiny",
        "--threads",
        "2",
        "--shard",
        "2/3",
        "--out",
        &d("s2"),
    ]);
    assert_eq!(read_json(Path::new(&d("s0")))["complete"], false);
    // Merging only two of three shards is an error naming the missing run; nothing written.
    let o = lazyrich(&["experiment", "merge", "--out", &d("bad"), &d("s0"), &d("s1")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
    assert!(!Path::new(&d("bad")).exists());
    run(&[
        "experiment",
        "merge",
        "--out",
        &d("merged"),
        &d("s2"),
        &d("s0"),
        &d("s1"),
    ]);
    let (a, b) = (read_json(Path::new(&d("whole"))), read_json(Path::new(&d("merged"))));
    assert_eq!(a["points"], b["points"]);
    assert_eq!(a["runs"], b["runs"]);
    for f in ["results.csv", "alpha_scaling.svg"] {
        assert_eq!(
            std::fs::read(tmp.path().join("whole").join(f)).unwrap(),
            std::fs::read(tmp.path().join("merged").join(f)).unwrap(),
            "{f}"
        );
    }
}
