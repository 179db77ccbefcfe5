//! Layer 4: parameter sweeps — the τ × δ × seeds grid of P1 Fig. 1 (`docs/theory.md` §3.2) and the
//! XOR-like task of P1 Fig. 5, run cell by cell in parallel, resumably and in shards.
//!
//! - [`SweepConfig`] (JSON, validated) fixes the task, the network, the grid, the checkpoints and
//!   the solver tolerances.
//! - [`cells`] enumerates the grid in a fixed order: cell k = (i_τ·N₂ + i₂)·N_seeds + i_seed,
//!   where i₂ indexes δ (or α). A [`Shard`] `i/n` owns the cells with k mod n = i, so the shards
//!   of one `n` partition the grid.
//! - A [`CellRunner`] turns a cell into a [`CellRecord`] (metrics at every checkpoint, or the
//!   error that stopped it: a failed cell is data, not a panic). [`run_cells`] runs cells in
//!   parallel with rayon and hands each finished record to a callback (the CLI appends it to the
//!   shard's JSON-lines file and advances its progress bar). Cells are independent and each is
//!   computed on one thread, so a record does not depend on the thread count or on the order in
//!   which cells finish.
//! - [`merge`] checks that records cover every cell exactly once and that each record matches
//!   its cell, and returns them in cell order; [`summarise`] averages over seeds for tables and
//!   heatmaps.
//!
//! This module does no file I/O: the CLI owns paths, appends and atomic renames.

pub mod config;
pub mod runner;

pub use config::{ConfigError, SecondAxis, SweepConfig, Task};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One grid point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cell {
    /// Global cell index k.
    pub index: usize,
    /// Index into `tau`.
    pub i_tau: usize,
    /// Index into `delta` (or `alpha`).
    pub i_second: usize,
    /// Index into `seeds`.
    pub i_seed: usize,
    /// τ.
    pub tau: f64,
    /// δ = τ²(α² − α⁻²).
    pub delta: f64,
    /// The paper's α.
    pub alpha: f64,
    /// The seed.
    pub seed: u64,
}

/// Every cell of the grid, in index order.
///
/// # Errors
/// [`ConfigError`] if the configuration is invalid (α and δ must convert).
pub fn cells(cfg: &SweepConfig) -> Result<Vec<Cell>, ConfigError> {
    cfg.validate()?;
    let (axis, second) = cfg.second_axis();
    let mut out = Vec::with_capacity(cfg.n_cells());
    for (i_tau, &tau) in cfg.tau.iter().enumerate() {
        for (i_second, &v) in second.iter().enumerate() {
            let (delta, alpha) = match axis {
                SecondAxis::Delta => {
                    let alpha = crate::models::teacher_student::alpha_from_delta(tau, v).map_err(|e| ConfigError {
                        field: "delta".into(),
                        why: e.to_string(),
                    })?;
                    (v, alpha)
                }
                SecondAxis::Alpha => (tau * tau * (v * v - 1.0 / (v * v)), v),
            };
            for (i_seed, &seed) in cfg.seeds.iter().enumerate() {
                out.push(Cell {
                    index: out.len(),
                    i_tau,
                    i_second,
                    i_seed,
                    tau,
                    delta,
                    alpha,
                    seed,
                });
            }
        }
    }
    Ok(out)
}

/// A shard `i/n` (0 ≤ i < n): the cells whose index k satisfies k mod n = i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid as one shard (0/1).
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether cell `k` belongs to this shard.
    pub fn owns(self, k: usize) -> bool {
        k % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A malformed `--shard` value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--shard {given}: {why} (write i/n with 0 ≤ i < n, e.g. --shard 0/4 … 3/4)")]
pub struct ShardError {
    /// What was given.
    pub given: String,
    /// What is wrong.
    pub why: &'static str,
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ShardError {
            given: s.to_string(),
            why,
        };
        let (i, n) = s.split_once('/').ok_or_else(|| err("missing '/'"))?;
        let index: usize = i.trim().parse().map_err(|_| err("i is not a non-negative integer"))?;
        let count: usize = n.trim().parse().map_err(|_| err("n is not a positive integer"))?;
        if count == 0 {
            return Err(err("n must be ≥ 1"));
        }
        if index >= count {
            return Err(err("i must be smaller than n (shards are numbered from 0)"));
        }
        Ok(Shard { index, count })
    }
}

/// The metrics of one cell at one checkpoint (`docs/theory.md` §3.2; definitions in
/// `metrics::piecewise_linear`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Flow time of the chosen loss (after the optional 1/τ² scaling).
    pub t: f64,
    /// Training loss L(θ(t)) in the configured normalisation.
    pub train_loss: f64,
    /// Test loss: mean over the fresh test set of (f − y)² (no ½, as the seed code's `utils.py`).
    pub test_loss: f64,
    /// Kernel distance S(0, t) of the η-weighted NTK.
    pub kernel_distance_ntk: f64,
    /// Kernel distance S(0, t) of the unweighted ΦΦᵀ (the seed code's kernel).
    pub kernel_distance_phi: f64,
    /// Hamming distance of the activation patterns on the training inputs, averaged over inputs.
    pub hamming: f64,
    /// Parameter distance √(‖W(t) − W(0)‖²_F + ‖a(t) − a(0)‖²).
    pub param_distance: f64,
}

impl Checkpoint {
    /// Metric names, in [`Checkpoint::values`] order.
    pub const METRICS: [&'static str; 6] = [
        "train_loss",
        "test_loss",
        "kernel_distance_ntk",
        "kernel_distance_phi",
        "hamming",
        "param_distance",
    ];
    /// The metrics in [`Checkpoint::METRICS`] order.
    pub fn values(&self) -> [f64; 6] {
        [
            self.train_loss,
            self.test_loss,
            self.kernel_distance_ntk,
            self.kernel_distance_phi,
            self.hamming,
            self.param_distance,
        ]
    }
}

/// The result of one cell: one line of a shard's `cells.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Cell index k.
    pub cell: usize,
    /// τ.
    pub tau: f64,
    /// δ.
    pub delta: f64,
    /// The paper's α.
    pub alpha: f64,
    /// Seed.
    pub seed: u64,
    /// Metrics at the checkpoints reached (all of them unless `error` is set).
    pub checkpoints: Vec<Checkpoint>,
    /// max_k |δ_k(t) − δ_k(0)| / (1 + a_k(0)² + ‖w_k(0)‖²) over the checkpoints: the per-neuron
    /// conservation defect of the integrated flow.
    pub delta_drift: f64,
    /// Accepted solver steps.
    pub steps: usize,
    /// Right-hand-side (gradient) evaluations.
    pub rhs_evals: usize,
    /// Activation-pattern switches located, when the flow reports them.
    pub switches: Option<usize>,
    /// Why the cell stopped early, if it did.
    pub error: Option<String>,
}

impl CellRecord {
    /// An empty record for `cell`.
    pub fn new(cell: &Cell) -> Self {
        CellRecord {
            cell: cell.index,
            tau: cell.tau,
            delta: cell.delta,
            alpha: cell.alpha,
            seed: cell.seed,
            checkpoints: Vec::new(),
            delta_drift: 0.0,
            steps: 0,
            rhs_evals: 0,
            switches: None,
            error: None,
        }
    }
}

/// Computes one cell.
pub trait CellRunner: Sync {
    /// Run `cell`; failures go into [`CellRecord::error`].
    fn run(&self, cell: &Cell) -> CellRecord;
}

impl<F: Fn(&Cell) -> CellRecord + Sync> CellRunner for F {
    fn run(&self, cell: &Cell) -> CellRecord {
        self(cell)
    }
}

/// Run `cells` in parallel on the current rayon pool and pass each finished record to
/// `on_done` (called from worker threads, in completion order).
pub fn run_cells<R: CellRunner + ?Sized>(runner: &R, cells: &[Cell], on_done: impl Fn(CellRecord) + Sync) {
    cells.par_iter().for_each(|c| on_done(runner.run(c)));
}

/// The cells of `shard` that are not in `done`.
pub fn pending(all: &[Cell], shard: Shard, done: &std::collections::BTreeSet<usize>) -> Vec<Cell> {
    all.iter()
        .filter(|c| shard.owns(c.index) && !done.contains(&c.index))
        .copied()
        .collect()
}

/// Why records cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// Some cells have no record.
    #[error(
        "{count} of {total} cells are missing (first: {first:?}): rerun `lazyrich sweep run` for the shards \
         that own them (cell k belongs to shard k mod n) and merge again"
    )]
    Missing {
        /// How many.
        count: usize,
        /// Grid size.
        total: usize,
        /// The first few missing indices.
        first: Vec<usize>,
    },
    /// Some cells have more than one record.
    #[error(
        "{count} cells have more than one record (first: {first:?}): each shard folder must come from a \
         different --shard i/n of the same n; pass each folder once"
    )]
    Duplicate {
        /// How many.
        count: usize,
        /// The first few duplicated indices.
        first: Vec<usize>,
    },
    /// A record does not match the grid (index out of range, or other τ/δ/seed).
    #[error(
        "record for cell {cell} does not match this config's grid ({why}): were the shards run with another config?"
    )]
    Mismatch {
        /// Cell index.
        cell: usize,
        /// What differs.
        why: String,
    },
}

/// Check that `records` cover each cell of `all` exactly once and match it; return them sorted
/// by cell index.
///
/// # Errors
/// [`MergeError`] for missing, duplicated or mismatched records.
pub fn merge(all: &[Cell], mut records: Vec<CellRecord>) -> Result<Vec<CellRecord>, MergeError> {
    let mut seen = vec![0usize; all.len()];
    for r in &records {
        let Some(c) = all.get(r.cell) else {
            return Err(MergeError::Mismatch {
                cell: r.cell,
                why: format!("the grid has {} cells", all.len()),
            });
        };
        if c.tau.to_bits() != r.tau.to_bits() || c.delta.to_bits() != r.delta.to_bits() || c.seed != r.seed {
            return Err(MergeError::Mismatch {
                cell: r.cell,
                why: format!(
                    "record (τ, δ, seed) = ({}, {}, {}), grid ({}, {}, {})",
                    r.tau, r.delta, r.seed, c.tau, c.delta, c.seed
                ),
            });
        }
        seen[r.cell] += 1;
    }
    let dup: Vec<usize> = (0..all.len()).filter(|&k| seen[k] > 1).collect();
    if !dup.is_empty() {
        return Err(MergeError::Duplicate {
            count: dup.len(),
            first: dup.into_iter().take(8).collect(),
        });
    }
    let missing: Vec<usize> = (0..all.len()).filter(|&k| seen[k] == 0).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            count: missing.len(),
            total: all.len(),
            first: missing.into_iter().take(8).collect(),
        });
    }
    records.sort_by_key(|r| r.cell);
    Ok(records)
}

/// Mean and standard error over seeds of one metric at one (τ, second, checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Mean over the seeds that reached the checkpoint.
    pub mean: f64,
    /// Standard error of the mean (0 for one seed).
    pub sem: f64,
    /// Number of seeds that reached the checkpoint.
    pub count: usize,
}

/// Seed-averaged grids: `grid[checkpoint][metric][i_tau][i_second]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// τ values (rows).
    pub tau: Vec<f64>,
    /// Second-axis kind.
    pub axis: SecondAxis,
    /// Second-axis values (columns).
    pub second: Vec<f64>,
    /// Checkpoint times as configured (before the 1/τ² scaling).
    pub checkpoints: Vec<f64>,
    /// Whether each cell's time is checkpoint/τ².
    pub times_over_tau_squared: bool,
    /// The grids; `None` where no seed reached the checkpoint.
    pub grid: Vec<Vec<Vec<Vec<Option<Stat>>>>>,
    /// Cells that stopped with an error.
    pub failed_cells: usize,
    /// Largest conservation defect over all cells.
    pub max_delta_drift: f64,
}

/// Average merged `records` (in cell order, from [`merge`]) over seeds.
pub fn summarise(cfg: &SweepConfig, all: &[Cell], records: &[CellRecord]) -> Summary {
    let (axis, second) = cfg.second_axis();
    let (nt, ns, nc, nm) = (
        cfg.tau.len(),
        second.len(),
        cfg.checkpoints.len(),
        Checkpoint::METRICS.len(),
    );
    let mut sums = vec![vec![vec![vec![Vec::<f64>::new(); ns]; nt]; nm]; nc];
    for (c, r) in all.iter().zip(records) {
        for (j, cp) in r.checkpoints.iter().enumerate().take(nc) {
            for (m, v) in cp.values().iter().enumerate() {
                sums[j][m][c.i_tau][c.i_second].push(*v);
            }
        }
    }
    let grid = sums
        .into_iter()
        .map(|per_metric| {
            per_metric
                .into_iter()
                .map(|rows| {
                    rows.into_iter()
                        .map(|row| row.into_iter().map(|v| stat(&v)).collect())
                        .collect()
                })
                .collect()
        })
        .collect();
    Summary {
        tau: cfg.tau.clone(),
        axis,
        second: second.to_vec(),
        checkpoints: cfg.checkpoints.clone(),
        times_over_tau_squared: cfg.times_over_tau_squared,
        grid,
        failed_cells: records.iter().filter(|r| r.error.is_some()).count(),
        max_delta_drift: records.iter().map(|r| r.delta_drift).fold(0.0, f64::max),
    }
}

fn stat(v: &[f64]) -> Option<Stat> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sem = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
    } else {
        0.0
    };
    Some(Stat {
        mean,
        sem,
        count: v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn cfg(nt: usize, nd: usize, ns: usize) -> SweepConfig {
        SweepConfig {
            name: "t".into(),
            task: Task::TeacherStudent { d: 2, teacher_width: 3 },
            h: 4,
            n: 5,
            n_test: 5,
            gamma: 0.0,
            loss: "half-sum".into(),
            tau: (0..nt).map(|i| 0.1 * (i + 1) as f64).collect(),
            delta: Some((0..nd).map(|i| i as f64 - 1.0).collect()),
            alpha: None,
            seeds: (0..ns as u64).collect(),
            checkpoints: vec![0.0, 1.0],
            times_over_tau_squared: false,
            method: "tsit45".into(),
            rtol: 1e-8,
            atol: 1e-10,
            max_steps: 1000,
        }
    }

    proptest! {
        #[test]
        fn shards_partition_the_grid(nt in 1usize..5, nd in 1usize..5, ns in 1usize..4, n in 1usize..12) {
            let all = cells(&cfg(nt, nd, ns)).unwrap();
            prop_assert_eq!(all.len(), nt * nd * ns);
            let mut count = vec![0usize; all.len()];
            for i in 0..n {
                for c in pending(&all, Shard { index: i, count: n }, &BTreeSet::new()) {
                    prop_assert_eq!(c.index % n, i);
                    count[c.index] += 1;
                }
            }
            prop_assert!(count.iter().all(|&k| k == 1), "{:?}", count);
        }
    }

    #[test]
    fn cell_order_and_values() {
        let c = cfg(2, 3, 2);
        let all = cells(&c).unwrap();
        for (k, cell) in all.iter().enumerate() {
            assert_eq!(cell.index, k);
            assert_eq!(k, (cell.i_tau * 3 + cell.i_second) * 2 + cell.i_seed);
            assert_eq!(cell.tau, c.tau[cell.i_tau]);
            assert_eq!(cell.delta, c.delta.as_ref().unwrap()[cell.i_second]);
            let back = cell.tau.powi(2) * (cell.alpha.powi(2) - cell.alpha.powi(-2));
            assert!((back - cell.delta).abs() < 1e-14, "{back} vs {}", cell.delta);
        }
        let mut ca = c.clone();
        ca.delta = None;
        ca.alpha = Some(vec![0.1, 1.0, 10.0]);
        let all = cells(&ca).unwrap();
        assert_eq!(all[0].alpha, 0.1);
        assert!((all[0].delta - 0.01 * (0.01 - 100.0)).abs() < 1e-14);
        assert_eq!(all[2].delta, 0.0);
    }

    #[test]
    fn shard_parsing() {
        assert_eq!("2/5".parse::<Shard>().unwrap(), Shard { index: 2, count: 5 });
        for bad in ["5/5", "1", "a/3", "0/0", "-1/3", "1/x"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    fn fake(cell: &Cell) -> CellRecord {
        let mut r = CellRecord::new(cell);
        r.checkpoints.push(Checkpoint {
            t: 0.0,
            train_loss: cell.tau,
            test_loss: cell.delta,
            kernel_distance_ntk: 0.0,
            kernel_distance_phi: 0.0,
            hamming: cell.seed as f64,
            param_distance: 0.0,
        });
        r
    }

    #[test]
    fn merge_accepts_a_permutation_and_rejects_missing_duplicate_and_foreign() {
        let all = cells(&cfg(2, 2, 2)).unwrap();
        let mut recs: Vec<CellRecord> = all.iter().map(fake).collect();
        recs.reverse();
        let merged = merge(&all, recs.clone()).unwrap();
        assert!(merged.iter().enumerate().all(|(k, r)| r.cell == k));
        let mut missing = recs.clone();
        missing.remove(3);
        assert!(matches!(
            merge(&all, missing),
            Err(MergeError::Missing { count: 1, .. })
        ));
        let mut dup = recs.clone();
        dup.push(recs[0].clone());
        assert!(matches!(merge(&all, dup), Err(MergeError::Duplicate { count: 1, .. })));
        let mut foreign = recs.clone();
        foreign[0].tau = 7.0;
        assert!(matches!(merge(&all, foreign), Err(MergeError::Mismatch { .. })));
        let mut out_of_range = recs;
        out_of_range[0].cell = 99;
        assert!(matches!(
            merge(&all, out_of_range),
            Err(MergeError::Mismatch { cell: 99, .. })
        ));
    }

    #[test]
    fn run_cells_calls_back_once_per_cell_and_summary_averages_seeds() {
        let c = cfg(2, 2, 3);
        let all = cells(&c).unwrap();
        let got = std::sync::Mutex::new(Vec::new());
        run_cells(&fake, &all, |r| got.lock().unwrap().push(r));
        let merged = merge(&all, got.into_inner().unwrap()).unwrap();
        let s = summarise(&c, &all, &merged);
        // seeds 0, 1, 2 → mean 1, sem = sd/√3 = 1/√3 (hamming slot carries the seed).
        let st = s.grid[0][4][1][0].unwrap();
        assert_eq!((st.mean, st.count), (1.0, 3));
        assert!((st.sem - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(s.grid[1][0][0][0], None, "no record reached the second checkpoint");
    }

    #[test]
    fn config_validation_names_the_field() {
        let good = cfg(1, 1, 1);
        assert!(good.validate().is_ok());
        let text = good.to_json();
        assert_eq!(SweepConfig::from_json(&text).unwrap(), good);
        type Edit = Box<dyn Fn(&mut SweepConfig)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("h", Box::new(|c| c.h = 3)),
            ("tau", Box::new(|c| c.tau = vec![0.0])),
            ("tau", Box::new(|c| c.tau = vec![f64::NAN])),
            ("delta/alpha", Box::new(|c| c.alpha = Some(vec![1.0]))),
            ("checkpoints", Box::new(|c| c.checkpoints = vec![1.0, 1.0])),
            ("checkpoints", Box::new(|c| c.checkpoints = vec![-1.0])),
            ("rtol", Box::new(|c| c.rtol = 0.0)),
            ("loss", Box::new(|c| c.loss = "sum".into())),
            ("seeds", Box::new(|c| c.seeds = vec![1, 1])),
            ("gamma", Box::new(|c| c.gamma = 1.0)),
        ];
        for (field, edit) in cases {
            let mut c = good.clone();
            edit(&mut c);
            assert_eq!(c.validate().unwrap_err().field, field);
        }
        let typo = text.replacen("\"rtol\"", "\"rtoll\"", 1);
        assert!(SweepConfig::from_json(&typo).unwrap_err().why.contains("rtoll"));
    }
}
