//! Layer 5: P1 Part III experiments — unbalanced (α-scaled) initialisation in deeper, nonlinear
//! networks on synthetic tasks generated in-process (P1 = Kunin et al. 2024, arXiv 2406.06158,
//! Fig. 6 and App. D.3).
//!
//! - [`alpha_scaling`]: kernel distance S(0,t) of the empirical NTK and test loss of a depth-4
//!   ReLU MLP on a teacher task, against α and the overall initial scale (P1 Fig. 6, the
//!   kernel-distance panel).
//! - [`hierarchy`]: test error against the number of training samples P on the random hierarchy
//!   model ([`rhm`]) for α ∈ {downstream, 1, upstream} (P1 Fig. 6, the random-hierarchy panel).
//! - [`grokking`]: steps to generalisation on modular addition against α (P1 Fig. 6, the
//!   grokking panel).
//!
//! **α.** Every experiment divides the first layer's initial weights by α (P1 Part III): α ≫ 1
//! makes the first layer small against the rest (*upstream*, P1's δ > 0: the early layer learns
//! fast), α ≪ 1 makes it large (*downstream*), α = 1 is the standard (He) initialisation.
//!
//! **Training machinery: lazyrich's own backpropagation ([`mlp`]), not a deep-learning crate.**
//! The networks are bias-free ReLU MLPs, whose gradient is the two-layer GEMM pattern of
//! [`crate::models::piecewise_linear`] applied layer by layer (faer GEMMs, already a dependency);
//! the gradient is tested against central finite differences with a derived tolerance
//! (`tests/it/experiment.rs`). candle-core 0.9.2 (the smallest CPU autodiff crate considered;
//! default features off) would add 18 crates that lazyrich's `Cargo.lock` does not hold (`cargo
//! tree` of a one-line crate depending on it: candle-core, safetensors, zip, float8, memmap2,
//! zerocopy, yoke, typed-path and their derives, among others) to a cold build that CI pays on 2
//! cores, for three MLPs that need none of its operators (measured 2026-12-07 on an idle 2-core machine of
//! this project's class: candle-core 0.9.2 without default features, alone in a scratch crate
//! with 92 locked packages, cold `cargo build --release` 66.7 s wall, 116.8 s user CPU; its
//! marginal cost inside lazyrich's build, which already holds most of those packages, was not
//! measured). The empirical NTK is also cheaper in closed GEMM form
//! (Σ_l (G_l G_lᵀ) ∘ (H_{l−1} H_{l−1}ᵀ)) than through per-sample automatic differentiation.
//!
//! **Seeds and determinism.** Every run (one measured point × one seed) draws its data, grammar,
//! split and initial weights from `ChaCha8Rng::seed_from_u64(seed)` with seed = 1000 + seed index
//! ([`run_seed`], printed in the results; shared by all points so that they compare the same
//! draws), and its GEMMs are sequential: a result does not depend on
//! the thread count or on sharding (runs are distributed over rayon threads and shards, k mod n).
//!
//! **Statistics.** Per point and quantity: the per-seed values (`null` where a run did not reach
//! the quantity, e.g. a grokking run censored at the step budget — reported, never dropped), their
//! mean and standard error s/√n over the seeds that have a value, and the seeds.

pub mod alpha_scaling;
pub mod grokking;
pub mod hierarchy;
pub mod mlp;
pub mod rhm;

use crate::report::plot::{Figure, Panel, Series, SeriesStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Which experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Kernel distance and test loss against α and scale.
    AlphaScaling,
    /// Random hierarchy model: test error against P.
    Hierarchy,
    /// Modular addition: steps to generalisation against α.
    Grokking,
}

impl Kind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::AlphaScaling => "alpha-scaling",
            Kind::Hierarchy => "hierarchy",
            Kind::Grokking => "grokking",
        }
    }
}

/// One measured setting (its parameters, e.g. α, scale, P).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointSpec {
    /// Parameter name → value, in a fixed order.
    pub params: Vec<(String, f64)>,
}

/// The result of one run (one point, one seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run index k = point · seeds + seed index (the shard unit).
    pub index: usize,
    /// Point index.
    pub point: usize,
    /// The seed of the run.
    pub seed: u64,
    /// Scalar quantities (`None`: not reached, e.g. censored).
    pub values: BTreeMap<String, Option<f64>>,
    /// Trajectories sampled at the experiment's checkpoints.
    pub series: BTreeMap<String, Vec<f64>>,
}

/// Seed statistics of one quantity at one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean over the seeds with a value (`None` if none has one).
    pub mean: Option<f64>,
    /// Standard error s/√n (sample standard deviation, n − 1) over those seeds (`None` if n < 2).
    pub stderr: Option<f64>,
    /// Number of seeds with a value.
    pub n: usize,
    /// Per-seed values, in seed order (`None`: not reached within the budget).
    pub values: Vec<Option<f64>>,
    /// The seeds, in the same order.
    pub seeds: Vec<u64>,
}

impl Stats {
    /// Statistics of `values` (paired with `seeds`).
    pub fn of(values: Vec<Option<f64>>, seeds: Vec<u64>) -> Self {
        let v: Vec<f64> = values.iter().flatten().copied().collect();
        let n = v.len();
        let mean = (n > 0).then(|| v.iter().sum::<f64>() / n as f64);
        let stderr = match mean {
            Some(m) if n >= 2 => {
                let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
                Some((var / n as f64).sqrt())
            }
            _ => None,
        };
        Stats {
            mean,
            stderr,
            n,
            values,
            seeds,
        }
    }
}

/// One point of the results: its parameters and the statistics of every quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Point index.
    pub point: usize,
    /// Parameters (name → value).
    pub params: BTreeMap<String, f64>,
    /// Scalar quantities.
    pub metrics: BTreeMap<String, Stats>,
    /// Trajectories: per checkpoint, the statistics over seeds.
    pub series: BTreeMap<String, Vec<Stats>>,
}

/// The seed of seed number `seed_index`: 1000 + seed_index, the same at every point (as P1's
/// sweeps: a seed fixes the data, grammar, split and base initial weights, and the points differ
/// only in their parameters, e.g. the first layer divided by α).
pub fn run_seed(seed_index: usize) -> u64 {
    1000 + seed_index as u64
}

/// Aggregate complete run records (every point × every seed) into points.
///
/// # Errors
/// A missing or duplicated run.
pub fn aggregate(points: &[PointSpec], seeds: usize, runs: &[RunRecord]) -> Result<Vec<PointResult>, String> {
    let mut by_index: BTreeMap<usize, &RunRecord> = BTreeMap::new();
    for r in runs {
        if by_index.insert(r.index, r).is_some() {
            return Err(format!("run {} appears twice: merge each shard once", r.index));
        }
    }
    let total = points.len() * seeds;
    if let Some(k) = (0..total).find(|k| !by_index.contains_key(k)) {
        return Err(format!(
            "run {k} of {total} is missing: merge every shard (--shard i/n for each i in 0..n)"
        ));
    }
    if let Some(k) = by_index.keys().find(|k| **k >= total) {
        return Err(format!(
            "run {k} is outside this experiment's {total} runs: the shards come from different settings"
        ));
    }
    Ok(points
        .iter()
        .enumerate()
        .map(|(p, spec)| {
            let recs: Vec<&RunRecord> = (0..seeds).map(|s| by_index[&(p * seeds + s)]).collect();
            let seeds_v: Vec<u64> = recs.iter().map(|r| r.seed).collect();
            let metrics = recs[0]
                .values
                .keys()
                .map(|name| {
                    let vals = recs.iter().map(|r| r.values.get(name).copied().flatten()).collect();
                    (name.clone(), Stats::of(vals, seeds_v.clone()))
                })
                .collect();
            let series = recs[0]
                .series
                .iter()
                .map(|(name, first)| {
                    let per_t = (0..first.len())
                        .map(|t| {
                            let vals = recs
                                .iter()
                                .map(|r| {
                                    r.series
                                        .get(name)
                                        .and_then(|s| s.get(t))
                                        .copied()
                                        .filter(|x| x.is_finite())
                                })
                                .collect();
                            Stats::of(vals, seeds_v.clone())
                        })
                        .collect();
                    (name.clone(), per_t)
                })
                .collect();
            PointResult {
                point: p,
                params: spec.params.iter().cloned().collect(),
                metrics,
                series,
            }
        })
        .collect())
}

/// `results.csv`: one row per point and scalar quantity: params…, quantity, mean, stderr, n,
/// then the per-seed values (empty = not reached) as `seed:value` pairs separated by `;`.
pub fn csv(points: &[PointResult]) -> String {
    let mut out = String::new();
    let names: Vec<&String> = points.first().map(|p| p.params.keys().collect()).unwrap_or_default();
    for n in &names {
        out.push_str(n);
        out.push(',');
    }
    out.push_str("quantity,mean,stderr,n,per_seed\n");
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:e}"));
    for p in points {
        for (q, s) in &p.metrics {
            for n in &names {
                out.push_str(&format!("{},", p.params[*n]));
            }
            let per: Vec<String> = s
                .seeds
                .iter()
                .zip(&s.values)
                .map(|(sd, v)| format!("{sd}:{}", f(*v)))
                .collect();
            out.push_str(&format!(
                "{q},{},{},{},{}\n",
                f(s.mean),
                f(s.stderr),
                s.n,
                per.join(";")
            ));
        }
    }
    out
}

/// `results.json` of a complete run.
pub fn json(kind: Kind, settings: &Value, seeds: usize, points: &[PointResult], runs: &[RunRecord]) -> Value {
    serde_json::json!({
        "experiment": kind.name(),
        "complete": true,
        "settings": settings,
        "seeds": seeds,
        "statistics": "mean and standard error s/sqrt(n) over the seeds with a value; null per-seed value = not reached within the budget (censored), kept",
        "points": points,
        "runs": runs,
    })
}

/// Mean ± standard error of `metric` against parameter `x` for the points whose other
/// parameters match `fixed`: (x, mean, stderr).
pub fn curve(points: &[PointResult], x: &str, metric: &str, fixed: &[(&str, f64)]) -> Vec<(f64, f64, f64)> {
    let mut v: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| fixed.iter().all(|(k, val)| p.params.get(*k) == Some(val)))
        .filter_map(|p| {
            let s = p.metrics.get(metric)?;
            Some((p.params[x], s.mean?, s.stderr.unwrap_or(0.0)))
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// A mean curve (markers joined by a line) with ±1 standard-error bars (thin vertical
/// segments), in colour `color`; with `log_y`, bars are clipped to positive values.
pub fn with_error_bars(label: &str, pts: &[(f64, f64, f64)], color: usize, log_y: bool) -> Vec<Series> {
    let mut out = vec![
        Series {
            label: label.to_string(),
            points: pts.iter().map(|(x, m, _)| (*x, *m)).collect(),
            style: SeriesStyle::Line,
            color_index: color,
        },
        Series {
            label: String::new(),
            points: pts.iter().map(|(x, m, _)| (*x, *m)).collect(),
            style: SeriesStyle::Markers,
            color_index: color,
        },
    ];
    for (x, m, e) in pts {
        if *e > 0.0 {
            let lo = if log_y && m - e <= 0.0 { m * 0.5 } else { m - e };
            out.push(Series {
                label: String::new(),
                points: vec![(*x, lo), (*x, m + e)],
                style: SeriesStyle::ThinLine,
                color_index: color,
            });
        }
    }
    out
}

/// A panel with the defaults used here.
pub fn panel(title: &str, x_label: &str, y_label: &str, series: Vec<Series>, log_x: bool, log_y: bool) -> Panel {
    Panel {
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        series,
        log_x,
        log_y,
        equal_aspect: false,
    }
}

/// A figure of `panels` side by side.
pub fn figure(title: &str, panels: Vec<Panel>) -> Figure {
    let n = panels.len();
    Figure {
        title: title.to_string(),
        panels,
        columns: n,
        panel_width: 420,
        panel_height: 320,
    }
}

/// A label for α: "α = 0.1 (downstream)", "α = 1 (standard)", "α = 10 (upstream)".
pub fn alpha_label(alpha: f64) -> String {
    let regime = if alpha > 1.0 {
        "upstream"
    } else if alpha < 1.0 {
        "downstream"
    } else {
        "standard"
    };
    format!("α = {alpha} ({regime})")
}

/// What the command line needs of an experiment.
pub trait Experiment: Sync {
    /// Which experiment.
    fn kind(&self) -> Kind;
    /// The settings, as written to `results.json` (merge checks that shards agree on them).
    fn settings_json(&self) -> Value;
    /// Check the settings (sizes positive, grids non-empty, …).
    ///
    /// # Errors
    /// The first problem, with the fix.
    fn validate(&self) -> Result<(), String>;
    /// The measured points.
    fn points(&self) -> Vec<PointSpec>;
    /// Seeds per point.
    fn seeds(&self) -> usize;
    /// One run (point `point`, seed number `seed_index`); deterministic.
    fn run(&self, point: usize, seed_index: usize) -> RunRecord;
    /// The SVG figures (file name, document) of complete results.
    ///
    /// # Errors
    /// A figure that cannot be drawn (e.g. no finite point at all).
    fn figures(&self, points: &[PointResult]) -> Result<Vec<(String, String)>, crate::report::plot::PlotError>;
}

/// Which settings to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Test-sized (the end-to-end tests).
    Tiny,
    /// `--quick` (CI).
    Quick,
    /// The full settings (README).
    Full,
}

/// The experiment `kind` at the settings of `size`, with `seeds` seeds per point (default:
/// the settings' own).
pub fn build(kind: Kind, size: Size, seeds: Option<usize>) -> Box<dyn Experiment> {
    match kind {
        Kind::AlphaScaling => {
            let mut s = match size {
                Size::Tiny => alpha_scaling::Settings::tiny(),
                Size::Quick => alpha_scaling::Settings::quick(),
                Size::Full => alpha_scaling::Settings::full(),
            };
            if let Some(n) = seeds {
                s.seeds = n;
            }
            Box::new(s)
        }
        Kind::Hierarchy => {
            let mut s = match size {
                Size::Tiny => hierarchy::Settings::tiny(),
                Size::Quick => hierarchy::Settings::quick(),
                Size::Full => hierarchy::Settings::full(),
            };
            if let Some(n) = seeds {
                s.seeds = n;
            }
            Box::new(s)
        }
        Kind::Grokking => {
            let mut s = match size {
                Size::Tiny => grokking::Settings::tiny(),
                Size::Quick => grokking::Settings::quick(),
                Size::Full => grokking::Settings::full(),
            };
            if let Some(n) = seeds {
                s.seeds = n;
            }
            Box::new(s)
        }
    }
}

/// `name` must be positive (a size, a count).
///
/// # Errors
/// When it is 0.
pub fn positive(name: &str, v: usize) -> Result<(), String> {
    if v == 0 {
        return Err(format!("setting {name} = 0: give a positive integer"));
    }
    Ok(())
}

/// Every value of `name` must be finite and positive.
///
/// # Errors
/// An empty list or a value ≤ 0 or non-finite.
pub fn positive_list(name: &str, v: &[f64]) -> Result<(), String> {
    if v.is_empty() || v.iter().any(|x| !x.is_finite() || *x <= 0.0) {
        return Err(format!(
            "setting {name} = {v:?}: give a non-empty list of finite positive numbers"
        ));
    }
    Ok(())
}

/// Override settings from `KEY=VALUE` pairs (VALUE is JSON: `steps=5000`, `alphas=[0.1,1,10]`).
///
/// # Errors
/// A pair without `=`, an unknown key, a value of the wrong type, or settings that fail
/// [`Experiment::validate`].
pub fn with_overrides(exp: Box<dyn Experiment>, sets: &[String]) -> Result<Box<dyn Experiment>, String> {
    let mut v = exp.settings_json();
    for kv in sets {
        let (k, val) = kv
            .split_once('=')
            .ok_or_else(|| format!("--set {kv}: write KEY=VALUE, e.g. --set steps=5000"))?;
        let obj = v.as_object_mut().ok_or("settings are not an object")?;
        if !obj.contains_key(k) {
            let keys: Vec<&String> = obj.keys().collect();
            return Err(format!("--set {kv}: no setting {k:?} (settings: {keys:?})"));
        }
        let parsed: Value = serde_json::from_str(val)
            .map_err(|e| format!("--set {kv}: the value is not JSON ({e}); e.g. 5000, 0.1 or [0.1,1,10]"))?;
        obj.insert(k.to_string(), parsed);
    }
    let out = from_settings(exp.kind(), &v).map_err(|e| format!("--set: {e}"))?;
    out.validate()?;
    Ok(out)
}

/// The experiment whose settings `results.json` recorded (for `merge`).
///
/// # Errors
/// Settings that do not parse as `kind`'s.
pub fn from_settings(kind: Kind, settings: &Value) -> Result<Box<dyn Experiment>, serde_json::Error> {
    Ok(match kind {
        Kind::AlphaScaling => Box::new(serde_json::from_value::<alpha_scaling::Settings>(settings.clone())?),
        Kind::Hierarchy => Box::new(serde_json::from_value::<hierarchy::Settings>(settings.clone())?),
        Kind::Grokking => Box::new(serde_json::from_value::<grokking::Settings>(settings.clone())?),
    })
}
