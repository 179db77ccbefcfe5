//! `protocol reversal|transfer|finetune` (P2 §6) on a user's λ-balanced case, and the report
//! figures of issue 20's applications.
//!
//! The case file gives X, Y (task A), the λ-balanced init and τ; task B is −Y (reversal) or the
//! `y` of a second case file with the same `x` (`--task2`, transfer and fine-tuning). Task A runs
//! to `--switch`, task B from where task A ended. Output (JSON on stdout): per time the losses on
//! both tasks from the closed form restarted at the switch and from a Tsit45 simulation
//! (rtol `--rtol`), their QQᵀ difference, and over task B the representation change ρ(t)
//! (`docs/theory.md` §4.7); the learning time of task B (loss ≤ `--eps`); and, when the decimal
//! inputs are exactly whitened and λ-balanced, the ball closed form's proven bracket of that time
//! and the proven bound on the simulation's QQᵀ error (otherwise `proven` is null with the
//! reason).

use super::num_or_null;
use anyhow::{Context, Result, anyhow, bail};
use lazyrich::case::{Case, LambdaBalancedCase};
use lazyrich::num::decimal::Num;
use lazyrich::verify::lambda_balanced::applications::{
    self as apps, Protocol, ProtocolCurve, learn_time, rho_f64, two_task_reference, two_task_run,
};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Options of `protocol`.
pub(super) struct ProtocolArgs<'a> {
    pub protocol: &'a str,
    pub case: &'a Path,
    pub task2: Option<&'a Path>,
    pub switch: f64,
    pub times: Option<&'a str>,
    pub rtol: f64,
    pub eps: f64,
}

fn read_lb(path: &Path, what: &str) -> Result<LambdaBalancedCase> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}: check the path and permissions", path.display()))?;
    match Case::from_json(&text).with_context(|| format!("in {what} {}", path.display()))? {
        Case::LambdaBalanced(c) => Ok(c),
        other => bail!(
            "{what} {} is a {} case: protocols need \"model\": \"lambda_balanced\"",
            path.display(),
            other.model_name()
        ),
    }
}

fn parse_times(s: &str) -> Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("--times: '{x}' is not a number; pass e.g. --times 0,5,10,20,30"))
        })
        .collect::<Result<_>>()?;
    if v.iter().any(|t| !t.is_finite() || *t < 0.0) {
        bail!("--times must be finite and ≥ 0; pass e.g. --times 0,5,10,20,30");
    }
    if v.windows(2).any(|w| w[1] < w[0]) {
        bail!("--times must be non-decreasing; sort them");
    }
    Ok(v)
}

/// Task A's grid [0, …, switch] and task B's offsets [0, …] from the requested times.
fn grids(times: &[f64], switch: f64) -> (Vec<f64>, Vec<f64>) {
    let mut a = vec![0.0];
    a.extend(times.iter().copied().filter(|&t| t > 0.0 && t < switch));
    a.push(switch);
    let mut b = vec![0.0];
    b.extend(times.iter().copied().filter(|&t| t > switch).map(|t| t - switch));
    (a, b)
}

fn with_times(c: &LambdaBalancedCase, y: Option<&[Vec<Num>]>, t: &[f64]) -> Result<LambdaBalancedCase> {
    let mut out = c.clone();
    if let Some(y) = y {
        out.y = y.to_vec();
    }
    out.times = t
        .iter()
        .map(|v| Num::parse(&format!("{v:?}")).map_err(|e| anyhow!("time {v}: {e}")))
        .collect::<Result<_>>()?;
    Ok(out)
}

/// Run `protocol`.
///
/// # Errors
/// Bad input (unknown protocol, missing or mismatched `--task2`, bad times or switch, a case that
/// is not λ-balanced or not whitened), each with the fix.
pub(super) fn protocol_json(a: &ProtocolArgs<'_>) -> Result<Value> {
    let p = Protocol::parse(a.protocol).map_err(|e| anyhow!(e))?;
    if !(a.switch.is_finite() && a.switch > 0.0) {
        bail!("--switch must be a finite time > 0 (when task A ends), e.g. --switch 20");
    }
    if !(a.rtol.is_finite() && a.rtol > 0.0 && a.rtol < 1e-2) {
        bail!("--rtol must be in (0, 1e-2), e.g. --rtol 1e-10");
    }
    if !(a.eps.is_finite() && a.eps > 0.0) {
        bail!("--eps must be a loss level > 0, e.g. --eps 1e-2");
    }
    let c = read_lb(a.case, "case file")?;
    let y_b: Vec<Vec<Num>> = match (p, a.task2) {
        (Protocol::Reversal, Some(_)) => {
            bail!("reversal trains on −Y of the case: drop --task2 (or use transfer/finetune for another task)")
        }
        (Protocol::Reversal, None) => {
            c.y.iter()
                .map(|r| {
                    r.iter()
                        .map(|v| Num::parse(&neg_decimal(v.as_str())))
                        .collect::<Result<_, _>>()
                })
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("negating y: {e}"))?
        }
        (_, None) => bail!(
            "{} needs the second task: pass --task2 FILE, a lambda_balanced case whose x equals this case's x \
             (its y is task B; its init and times are ignored)",
            p.name()
        ),
        (_, Some(path)) => {
            let g = read_lb(path, "--task2 file")?;
            if g.x != c.x {
                bail!(
                    "--task2 {}: its x differs from the case's x; both tasks must share the data X (the closed form \
                     is restarted at the switch with the same whitened X)",
                    path.display()
                );
            }
            if g.y.len() != c.y.len() || g.y.first().map(Vec::len) != c.y.first().map(Vec::len) {
                bail!(
                    "--task2 {}: its y must have the shape of the case's y (d_o×P)",
                    path.display()
                );
            }
            g.y
        }
    };
    let times = match a.times {
        Some(s) => parse_times(s)?,
        None => c.times_f64(),
    };
    let (t_a, t_b) = grids(&times, a.switch);
    let m = |rows: &[Vec<Num>], f: &str| LambdaBalancedCase::matrix_f64(rows, f);
    let (x, y_a, yb, w1, w2) = (
        m(&c.x, "x")?,
        m(&c.y, "y")?,
        m(&y_b, "y")?,
        m(&c.w1_0, "w1_0")?,
        m(&c.w2_0, "w2_0")?,
    );
    let tau = c.tau.to_f64();
    let run = two_task_run(&x, &y_a, &yb, &w1, &w2, tau, &t_a, &t_b, a.rtol).map_err(|e| {
        anyhow!(
            "{e} (the closed form needs XXᵀ/P = I and a λ-balanced init: check them with `lazyrich exact --case`, \
             or make an init with `lazyrich init`)"
        )
    })?;
    let d_i = run.dims.0;
    let rho = rho_f64(&run.theory_qqt, run.switch, d_i);
    let rho_sim = rho_f64(&run.sim_qqt, run.switch, d_i);
    let mut pts = Vec::new();
    for (k, t) in run.times.iter().enumerate() {
        let mut o = Map::new();
        o.insert("t".into(), json!(t));
        o.insert("task".into(), json!(if k <= run.switch { "A" } else { "B" }));
        o.insert("loss_a".into(), num_or_null(run.theory_loss[k][0]));
        o.insert("loss_b".into(), num_or_null(run.theory_loss[k][1]));
        o.insert("loss_a_sim".into(), num_or_null(run.sim_loss[k][0]));
        o.insert("loss_b_sim".into(), num_or_null(run.sim_loss[k][1]));
        o.insert(
            "qqt_diff".into(),
            num_or_null((&run.theory_qqt[k] - &run.sim_qqt[k]).amax()),
        );
        if k >= run.switch {
            o.insert("rho".into(), num_or_null(rho[k - run.switch]));
            o.insert("rho_sim".into(), num_or_null(rho_sim[k - run.switch]));
        }
        pts.push(Value::Object(o));
    }
    let lt = |v: f64| if v.is_finite() { json!(v) } else { json!("not reached") };
    let case_a = with_times(&c, None, &t_a)?;
    let case_b = with_times(&c, Some(&y_b), &t_b)?;
    let curve = ProtocolCurve {
        lambda: run.lambda_trace[0],
        reference: two_task_reference(&case_a, &case_b),
        run: run.clone(),
    };
    let proven = match &curve.reference {
        Ok((enc, _, prec)) => {
            let mut acc = 0.0f64;
            for (q, b) in run.sim_qqt.iter().zip(enc) {
                for i in 0..b.nrows() {
                    for j in 0..b.ncols() {
                        let d = b.at(i, j).sub(&lazyrich::num::ball::Ball::from_f64(*prec, q[(i, j)]));
                        acc = acc.max(d.mag_up());
                    }
                }
            }
            let bracket = match curve.learn_time_proven(a.eps) {
                Ok((lo, hi)) => {
                    json!({"lo": lo, "hi": if hi.is_finite() { json!(hi) } else { json!("beyond the last time") }})
                }
                Err(e) => json!({"undecided": e}),
            };
            json!({
                "method": apps::reference_method(*prec),
                "sim_qqt_err_bound": acc,
                "learn_time_b": bracket,
                "learn_time_note": "T_ε ∈ (lo, hi]: the trained task's loss never increases under gradient flow (docs/theory.md §4.7)",
            })
        }
        Err(e) => json!({"none": format!("no proven reference: {e}")}),
    };
    let mut out = Map::new();
    out.insert("protocol".into(), json!(p.name()));
    out.insert("switch".into(), json!(a.switch));
    out.insert("lambda".into(), json!(run.lambda_trace[0]));
    out.insert("lambda_trace".into(), json!(run.lambda_trace));
    out.insert("rtol".into(), json!(a.rtol));
    out.insert("eps".into(), json!(a.eps));
    out.insert(
        "learn_time_b".into(),
        json!({
            "closed_form": lt(learn_time(&run.times, &run.theory_loss, run.switch, a.eps)),
            "simulation": lt(learn_time(&run.times, &run.sim_loss, run.switch, a.eps)),
        }),
    );
    out.insert("max_rho".into(), num_or_null(rho.iter().copied().fold(0.0, f64::max)));
    out.insert("proven".into(), proven);
    out.insert("points".into(), Value::Array(pts));
    Ok(Value::Object(out))
}

fn neg_decimal(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(r) => r.to_string(),
        None => format!("-{}", s.strip_prefix('+').unwrap_or(s)),
    }
}

/// The application figures (file name, SVG): one per protocol, noise, LeCun; error panels draw
/// the bounds of the catalog's `rows`.
///
/// # Errors
/// A message naming the figure whose rendering failed.
pub(crate) fn figures(rows: &[lazyrich::verify::Row]) -> Result<Vec<(&'static str, String)>> {
    use lazyrich::report::lambda_balanced_apps as rep;
    use lazyrich::report::plot::render_svg;
    let r = |name: &str, e: lazyrich::report::plot::PlotError| anyhow!("figure {name}: {e}");
    let mut out = Vec::new();
    for (p, file) in [
        (Protocol::Reversal, "lambda_balanced_reversal.svg"),
        (Protocol::Transfer, "lambda_balanced_transfer.svg"),
        (Protocol::Finetune, "lambda_balanced_finetune.svg"),
    ] {
        let data = apps::protocol_data(p);
        out.push((
            file,
            render_svg(&rep::protocol_figure(&data, rows)).map_err(|e| r(file, e))?,
        ));
    }
    out.push((
        "lambda_balanced_noise.svg",
        render_svg(&rep::noise_figure(&apps::noise::noise_data())).map_err(|e| r("noise", e))?,
    ));
    out.push((
        "lambda_balanced_lecun.svg",
        render_svg(&rep::lecun_figure(&apps::lecun::lecun_data(
            true,
            apps::lecun::LECUN_SEEDS,
        )))
        .map_err(|e| r("LeCun", e))?,
    ));
    Ok(out)
}
