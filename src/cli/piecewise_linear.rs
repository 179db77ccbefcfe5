//! `simulate` for the two-layer piecewise-linear network (`"model": "piecewise_linear"`) and
//! `bench-problem-r` (the performance problem R, built-in or from raw data files).

use anyhow::{Result, bail};
use lazyrich::case::{PiecewiseLinearCase, f64_vec};
use lazyrich::flow::imex::{ArkTableau, ImexOptions, integrate_imex, integrate_imex_jumps, integrate_imex_landing};
use lazyrich::flow::kinks::JumpError;
use lazyrich::flow::{FlowOptions, Method, integrate, integrate_switched};
use lazyrich::models::piecewise_linear::{FrozenPatternFlow, LossScale, PiecewiseLinear, problem_r};
use lazyrich::models::{GradientFlowModel, ParameterFlow, SwitchedField};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::Instant;

/// The integrator of a piecewise-linear `simulate`.
pub(super) enum Solver<'a> {
    /// A diffsol method (plain, or event-located with `events`).
    Diffsol(&'a FlowOptions),
    /// An ARK IMEX pair with the output layer's top mode implicit (plain flow only).
    Imex(ImexOptions),
}

pub(super) fn simulate_json(c: &PiecewiseLinearCase, solver: Solver<'_>, events: bool) -> Result<Value> {
    let times = f64_vec(&c.times);
    lazyrich::num::check_times(&times)?;
    let (model, theta0) = PiecewiseLinear::from_case(c)?;
    let (tr, method, rtol, atol, stats) = match solver {
        Solver::Diffsol(opts) => {
            let tr = if events {
                let field = FrozenPatternFlow::new(&model, &theta0);
                integrate_switched(&field, &theta0, &times, opts)?
            } else {
                integrate(&ParameterFlow(&model), &theta0, &times, opts)?
            };
            let stats = serde_json::to_value(tr.stats)?;
            (tr, opts.method.as_str(), opts.rtol, opts.atol, stats)
        }
        Solver::Imex(opts) => {
            // With events: one frozen activation pattern at a time, landing on every switch
            // (`flow::landing`); without: the plain flow.
            let field = FrozenPatternFlow::new(&model, &theta0);
            let tr = if events {
                integrate_imex_landing(&field, &theta0, &times, &opts)?
            } else {
                integrate_imex(&ParameterFlow(&model), &theta0, &times, &opts)?
            };
            for w in &tr.warnings {
                eprintln!("warning: {w}");
            }
            let stats = serde_json::to_value(tr.stats)?;
            let tr = lazyrich::flow::Trajectory {
                times: tr.times,
                states: tr.states,
                stats: Default::default(),
                events: tr.stats.landings,
                switches: tr.stats.switches,
                sliding_segments: if events { field.sliding_segments() } else { 0 },
                first_sliding: None,
            };
            (tr, opts.tableau.name, opts.rtol, opts.atol, stats)
        }
    };
    let d0 = model.deltas(&theta0);
    let mut max_drift: f64 = 0.0;
    let pts: Vec<Value> = tr
        .states
        .iter()
        .zip(&tr.times)
        .map(|(th, t)| {
            let drift = model
                .deltas(th)
                .iter()
                .zip(&d0)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            max_drift = max_drift.max(drift);
            json!({"t": t, "loss": model.loss(th), "delta_drift": drift, "w": model.w(th), "a": model.a(th)})
        })
        .collect();
    let mut out = Map::new();
    out.insert("model".into(), json!("piecewise_linear"));
    out.insert("method".into(), json!(method));
    out.insert("rtol".into(), json!(rtol));
    out.insert("atol".into(), json!(atol));
    out.insert("events".into(), json!(events));
    out.insert("loss_scale".into(), json!(model.loss_scale().as_str()));
    out.insert("h".into(), json!(model.h()));
    out.insert("gamma".into(), json!(model.gamma()));
    out.insert("deltas".into(), json!(d0));
    out.insert("points".into(), Value::Array(pts));
    out.insert("delta_drift".into(), json!(max_drift));
    out.insert(
        "delta_drift_definition".into(),
        json!("max_k |δ_k(t) − δ_k(0)|, δ_k = η_w a_k² − η_a‖w_k‖² (P1 §5, conserved by the exact flow)"),
    );
    out.insert("switches".into(), json!(if events { Some(tr.switches) } else { None }));
    out.insert("events_located".into(), json!(tr.events));
    out.insert(
        "sliding_segments".into(),
        json!(if events { Some(tr.sliding_segments) } else { None }),
    );
    out.insert("stats".into(), stats);
    Ok(Value::Object(out))
}

/// The integrator of `bench-problem-r`.
#[derive(Debug, Clone, Copy)]
pub(super) enum BenchMethod {
    /// A diffsol method (explicit only here).
    Diffsol(Method),
    /// An ARK IMEX pair; the implicit subspace sized by Lanczos; the jump correction of
    /// `flow::kinks` applied.
    Imex(&'static ArkTableau, bool, Option<JumpError>),
    /// An ARK IMEX pair (rank-one split) on the frozen activation pattern, landing on every
    /// switch (`flow::landing`).
    ImexLanding(&'static ArkTableau),
}

/// Arguments of `bench-problem-r`.
pub(super) struct BenchR<'a> {
    /// --d, --h, --n as given (None = default, or inferred from --data).
    pub sizes: (Option<usize>, Option<usize>, Option<usize>),
    /// --data DIR.
    pub data: Option<&'a Path>,
    pub t_end: f64,
    pub rtol: f64,
    pub runs: usize,
    pub method: BenchMethod,
    pub threads: usize,
    /// --save-final (JSON array).
    pub save_final: Option<&'a Path>,
    /// --theta-out (raw little-endian f64).
    pub theta_out: Option<&'a Path>,
}

/// Read a raw little-endian f64 file.
///
/// # Errors
/// A missing or unreadable file, or a length that is not a multiple of 8 bytes.
fn read_f64_file(path: &Path) -> Result<Vec<f64>> {
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e} (--data DIR needs x.f64, y.f64 and th0.f64, raw little-endian f64)",
            path.display()
        )
    })?;
    if bytes.len() % 8 != 0 {
        bail!(
            "{} has {} bytes, not a whole number of f64 values (8 bytes each): a truncated or foreign file",
            path.display(),
            bytes.len()
        );
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// Problem R from the files of `dir` (x.f64 n×d, y.f64 n, th0.f64 (W h×d, a h)): n from y, d
/// from x, h from th0; each size given on the command line must match.
///
/// # Errors
/// Missing or short files, sizes that disagree with each other or with --d/--h/--n, non-finite
/// data.
pub(super) fn load_problem_r(
    dir: &Path,
    sizes: (Option<usize>, Option<usize>, Option<usize>),
) -> Result<(PiecewiseLinear, Vec<f64>)> {
    let (x, y, th0) = (
        read_f64_file(&dir.join("x.f64"))?,
        read_f64_file(&dir.join("y.f64"))?,
        read_f64_file(&dir.join("th0.f64"))?,
    );
    let n = y.len();
    if n == 0 {
        bail!("{} is empty: it must hold the n targets", dir.join("y.f64").display());
    }
    if x.is_empty() || x.len() % n != 0 {
        bail!(
            "{} has {} values, not n×d for the n = {n} targets of y.f64 (a short or mismatched file)",
            dir.join("x.f64").display(),
            x.len()
        );
    }
    let d = x.len() / n;
    if th0.is_empty() || th0.len() % (d + 1) != 0 {
        bail!(
            "{} has {} values, not h·(d + 1) = h·{} for θ0 = (W h×d, a h) (a short or mismatched file)",
            dir.join("th0.f64").display(),
            th0.len(),
            d + 1
        );
    }
    let h = th0.len() / (d + 1);
    for (name, given, found, file) in [
        ("--d", sizes.0, d, "x.f64"),
        ("--h", sizes.1, h, "th0.f64"),
        ("--n", sizes.2, n, "y.f64"),
    ] {
        if let Some(g) = given {
            if g != found {
                bail!(
                    "{name} {g} disagrees with the data in {}: {file} gives {found} (d = {d}, h = {h}, n = {n}); \
                     drop {name} to infer it",
                    dir.display()
                );
            }
        }
    }
    let model = PiecewiseLinear::new(x, n, d, y, h, 0.0, 1.0, 1.0, LossScale::HalfMean)
        .map_err(|e| anyhow::anyhow!("data in {}: {e}", dir.display()))?;
    lazyrich::models::check_finite("th0.f64", &th0)?;
    Ok((model, th0))
}

/// Time the problem-R solve: one gradient, then the whole flow to `t_end` at `rtol`
/// (atol = rtol/100), `runs` times; prints medians. The P×P Jacobian (P = h(d+1) ≈ 10⁵ →
/// 81 GB) is never formed: diffsol's implicit methods here would assemble it, so they are
/// refused; the IMEX pairs treat the stiff modes implicitly (closed-form solve).
/// `save_final` writes the final θ as a JSON array, `theta_out` as raw little-endian f64.
pub(super) fn bench_problem_r(args: &BenchR<'_>) -> Result<i32> {
    let &BenchR {
        t_end,
        rtol,
        runs,
        method,
        threads,
        save_final,
        theta_out,
        ..
    } = args;
    if let BenchMethod::Diffsol(m) = method {
        if m != Method::Tsit45 {
            bail!(
                "bench-problem-r runs tsit45, ark548 or ark436: diffsol's implicit methods assemble the dense P×P Jacobian, \
                 more memory than this benchmark may use; the IMEX pairs (--method ark548) treat the stiff modes implicitly without it"
            );
        }
    }
    if !(t_end.is_finite() && t_end > 0.0) || runs == 0 {
        bail!("--t-end must be > 0 and --runs ≥ 1");
    }
    if threads == 0 {
        bail!("--threads must be ≥ 1 (1 = sequential)");
    }
    let (model, th0) = match args.data {
        Some(dir) => load_problem_r(dir, args.sizes)?,
        None => {
            let (d, h, n) = (
                args.sizes.0.unwrap_or(100),
                args.sizes.1.unwrap_or(1000),
                args.sizes.2.unwrap_or(1000),
            );
            problem_r(d, h, n, 2024)?
        }
    };
    let (d, h, n) = (model.d(), model.h(), model.n());
    let model = model.with_threads(threads);
    let p = model.n_params();
    let mut g = vec![0.0; p];
    // one gradient: median of 21
    let mut tg: Vec<f64> = (0..21)
        .map(|_| {
            let s = Instant::now();
            model.grad_inplace(&th0, &mut g);
            s.elapsed().as_secs_f64()
        })
        .collect();
    tg.sort_by(f64::total_cmp);
    let flops = 4.0 * (n * h * d) as f64;
    eprintln!(
        "problem R: d={d} h={h} n={n} P={p}, {threads} thread(s); one gradient median {:.3} ms ({:.2} GFLOP/s on the two GEMMs' {:.2e} flop)",
        tg[10] * 1e3,
        flops / tg[10] / 1e9,
        flops
    );
    let (lam, lam2) = top_hessian_eigenvalues(&model, &th0, 40);
    eprintln!(
        "Hessian at θ0 (40 power iterations with HVPs each): λ₁ ≈ {lam:.2}, λ₂ ≈ {lam2:.3} (on the complement of λ₁'s vector)"
    );
    let mut rows = Vec::new();
    let mut last = Vec::new();
    let mut extra = json!(null);
    for r in 0..runs {
        let s = Instant::now();
        let (th, steps, rejected, evals) = match method {
            BenchMethod::Diffsol(m) => {
                let opts = FlowOptions::new(m).with_tol(rtol, rtol / 100.0);
                let tr = integrate(&ParameterFlow(&model), &th0, &[0.0, t_end], &opts)?;
                let th = tr.states.last().expect("two times").clone();
                (th, tr.stats.steps, tr.stats.rejected_steps, tr.stats.rhs_evals)
            }
            BenchMethod::Imex(tab, adaptive, jumps) => {
                let opts = ImexOptions::new()
                    .with_tableau(tab)
                    .with_tol(rtol, rtol / 100.0)
                    .with_adaptive(adaptive)
                    .with_jump_error(jumps.unwrap_or_default());
                let tr = if jumps.is_some() {
                    integrate_imex_jumps(&ParameterFlow(&model), &th0, &[0.0, t_end], &opts)?
                } else {
                    integrate_imex(&ParameterFlow(&model), &th0, &[0.0, t_end], &opts)?
                };
                for w in &tr.warnings {
                    eprintln!("warning: {w}");
                }
                extra = serde_json::to_value(tr.stats)?;
                let th = tr.states.last().expect("two times").clone();
                (th, tr.stats.steps, tr.stats.rejected_steps, tr.stats.rhs_evals)
            }
            BenchMethod::ImexLanding(tab) => {
                let opts = ImexOptions::new().with_tableau(tab).with_tol(rtol, rtol / 100.0);
                let flow = FrozenPatternFlow::new(&model, &th0);
                let tr = integrate_imex_landing(&flow, &th0, &[0.0, t_end], &opts)?;
                for w in &tr.warnings {
                    eprintln!("warning: {w}");
                }
                let mut stats = serde_json::to_value(tr.stats)?;
                stats["sliding_segments"] = json!(flow.sliding_segments());
                extra = stats;
                let th = tr.states.last().expect("two times").clone();
                (th, tr.stats.steps, tr.stats.rejected_steps, tr.stats.rhs_evals)
            }
        };
        let secs = s.elapsed().as_secs_f64();
        eprintln!(
            "run {r}: {secs:.2} s, steps {steps} (rejected {rejected}), gradients {evals}, loss {:.6e} → {:.6e}, δ drift {:.2e}",
            model.loss(&th0),
            model.loss(&th),
            model.delta_drift(&th0, &th)
        );
        rows.push((secs, steps, evals));
        last = th;
    }
    if let Some(path) = save_final {
        std::fs::write(path, serde_json::to_string(&last)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = theta_out {
        let bytes: Vec<u8> = last.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let med = rows[rows.len() / 2];
    let name = match method {
        BenchMethod::Diffsol(m) => m.as_str(),
        BenchMethod::Imex(t, false, _) => t.name,
        BenchMethod::Imex(_, true, None) => "ark548-lanczos",
        BenchMethod::Imex(_, true, Some(JumpError::Full)) => "ark548-kinks",
        BenchMethod::Imex(_, true, Some(JumpError::Remainder)) => "ark548-kinks-rem",
        BenchMethod::ImexLanding(t) if t.name == "ark436" => "ark436-events",
        BenchMethod::ImexLanding(_) => "ark548-events",
    };
    super::emit_json(&json!({
            "problem": "R", "data": args.data.map(|p| p.display().to_string()), "d": d, "h": h, "n": n, "t_end": t_end, "method": name, "rtol": rtol,
            "runs": runs, "threads": threads, "median_seconds": med.0, "steps": med.1, "gradients": med.2,
            "gradient_ms_median": tg[10] * 1e3, "top_hessian_eigenvalue": lam, "second_hessian_eigenvalue": lam2,
            "final_loss": model.loss(&last), "imex_stats": extra,
    }))?;
    Ok(0)
}

/// The two largest-magnitude Hessian eigenvalues by power iteration with Hessian-vector
/// products: λ₁, then λ₂ on the complement of λ₁'s vector (re-orthogonalised every iteration).
/// Each is a Rayleigh quotient after `iters` iterations, so an estimate from below of |λ|.
/// On problem R the gap shows how stiff the flow is beyond its top mode: an explicit step is
/// limited by λ₁, a method that treats that one direction implicitly by λ₂.
fn top_hessian_eigenvalues(m: &PiecewiseLinear, th: &[f64], iters: usize) -> (f64, f64) {
    let p = th.len();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    let power = |defl: Option<&[f64]>, seed: usize| -> (f64, Vec<f64>) {
        let mut v: Vec<f64> = (0..p).map(|i| (((i * seed) % 1000) as f64 / 1000.0) - 0.5).collect();
        let mut hv = vec![0.0; p];
        let mut lam = 0.0;
        for _ in 0..iters {
            if let Some(u) = defl {
                let c = dot(u, &v);
                v.iter_mut().zip(u).for_each(|(x, ui)| *x -= c * ui);
            }
            let nrm = dot(&v, &v).sqrt();
            v.iter_mut().for_each(|x| *x /= nrm);
            m.hvp_inplace(th, &v, &mut hv);
            lam = dot(&v, &hv);
            std::mem::swap(&mut v, &mut hv);
        }
        let nrm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= nrm);
        (lam, v)
    };
    let (l1, v1) = power(None, 7919);
    let (l2, _) = power(Some(&v1), 104_729);
    (l1, l2)
}
