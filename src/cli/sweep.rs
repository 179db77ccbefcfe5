//! `lazyrich sweep run | merge | plot`: the τ × δ × seeds sweeps of P1 Fig. 1 and Fig. 5, run
//! resumably and in shards (Slurm array jobs), merged with completeness checks.
//!
//! Files of a run folder (`sweep run --out DIR`):
//! - `run.json`: the validated config and the shard (written atomically before any cell runs;
//!   a rerun into the same folder must use the same config and shard);
//! - `cells.jsonl`: one JSON record per finished cell, appended (one `write` per line) as cells
//!   finish. A rerun skips the cells already there; a torn last line (the process was killed
//!   mid-write) is dropped and that cell is run again.
//!
//! `sweep merge --out DIR SHARD_DIRS…` checks that the shards share one config and together hold
//! every cell exactly once, then writes `sweep.json`, `sweep.csv`, `sweep.md` and the figures,
//! all atomically. `sweep plot DIR` redraws the figures from `DIR/sweep.json`.

use super::write_all_atomically;
use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use lazyrich::flow::{FlowOptions, Method};
use lazyrich::report::{heatmap, plot, sweep as rs};
use lazyrich::sweep::runner::{SweepRunner, fig1a};
use lazyrich::sweep::{self, CellRecord, Shard, SweepConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `sweep` subcommands.
#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Run (or resume) the cells of one shard of a sweep.
    Run {
        /// Sweep config (JSON; see data/sweeps/ and data/README.md).
        #[arg(long)]
        config: PathBuf,
        /// Output folder of this shard (created; rerun with the same folder to resume).
        #[arg(long)]
        out: PathBuf,
        /// Run only shard i of n (0 ≤ i < n): the cells k with k mod n = i.
        #[arg(long, default_value = "0/1", value_parser = parse_shard, allow_hyphen_values = true)]
        shard: Shard,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Merge shard folders into one table (JSON, CSV, Markdown) and figures.
    Merge {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The shard folders written by `sweep run`.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
    /// P1 Fig. 1a: d = 2 gradient-flow paths of |a_i|w_i at four (τ, δ) (SVG).
    Fig1a {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Redraw the figures of a merged sweep folder.
    Plot {
        /// Folder holding sweep.json (from `sweep merge`).
        dir: PathBuf,
    },
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse::<Shard>().map_err(|e| e.to_string())
}

/// What `run.json` holds.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct RunInfo {
    config: SweepConfig,
    shard: Shard,
}

const RUN_FILE: &str = "run.json";
const CELLS_FILE: &str = "cells.jsonl";

/// Run a `sweep` subcommand; returns the exit code.
pub fn run(cmd: SweepCommand) -> Result<i32> {
    match cmd {
        SweepCommand::Run {
            config,
            out,
            shard,
            threads,
        } => run_shard(&config, &out, shard, threads),
        SweepCommand::Merge { out, shards } => merge(&out, &shards),
        SweepCommand::Fig1a { out } => {
            let (name, svg) = fig1a_file()?;
            write_all_atomically(&out, &[(name.as_str(), svg)])?;
            eprintln!("wrote {}", out.join(name).display());
            Ok(0)
        }
        SweepCommand::Plot { dir } => {
            let (cfg, records) = read_merged(&dir)?;
            let files = figures(&cfg, &records)?;
            write_all_atomically(&dir, &borrow(&files))?;
            eprintln!("wrote {} figures to {}", files.len(), dir.display());
            Ok(0)
        }
    }
}

fn borrow(files: &[(String, String)]) -> Vec<(&str, String)> {
    files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect()
}

fn read_config(path: &Path) -> Result<SweepConfig> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read sweep config {}: check the path and permissions",
            path.display()
        )
    })?;
    let cfg = SweepConfig::from_json(&text).with_context(|| format!("in sweep config {}", path.display()))?;
    SweepRunner::new(&cfg).with_context(|| format!("in sweep config {}", path.display()))?;
    Ok(cfg)
}

/// Parse `cells.jsonl`: complete lines only. Returns the records and whether a torn last line
/// (no final newline, or unparsable last line) was dropped.
fn read_cells(path: &Path) -> Result<(Vec<CellRecord>, bool)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    // After the last '\n' comes "" for a complete file, or a torn line.
    let tail = lines.pop().unwrap_or("");
    let mut torn = !tail.is_empty();
    let mut out = Vec::with_capacity(lines.len());
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_str::<CellRecord>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == n && !torn => torn = true,
            Err(e) => bail!(
                "{} line {} is not a cell record ({e}): the file is corrupt; delete the folder and rerun the shard",
                path.display(),
                i + 1
            ),
        }
    }
    Ok((out, torn))
}

fn run_shard(config: &Path, out: &Path, shard: Shard, threads: Option<usize>) -> Result<i32> {
    let cfg = read_config(config)?;
    let all = sweep::cells(&cfg)?;
    if threads == Some(0) {
        bail!("--threads 0: give at least 1 (or omit it to use every core)");
    }
    let info = RunInfo {
        config: cfg.clone(),
        shard,
    };
    let run_path = out.join(RUN_FILE);
    if run_path.exists() {
        let text = std::fs::read_to_string(&run_path).with_context(|| format!("cannot read {}", run_path.display()))?;
        let old: RunInfo = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a sweep run file: use another --out", run_path.display()))?;
        if old != info {
            bail!(
                "{} holds a run of another config or shard ({}): resume with the same --config and --shard, or use another --out",
                out.display(),
                old.shard
            );
        }
    } else {
        write_all_atomically(out, &[(RUN_FILE, serde_json::to_string_pretty(&info)? + "\n")])?;
    }
    let cells_path = out.join(CELLS_FILE);
    let (done_records, torn) = read_cells(&cells_path)?;
    let mut done = BTreeSet::new();
    for r in &done_records {
        let ok = all
            .get(r.cell)
            .is_some_and(|c| shard.owns(c.index) && c.tau.to_bits() == r.tau.to_bits() && c.seed == r.seed);
        if !ok || !done.insert(r.cell) {
            bail!(
                "{} holds a record (cell {}) that this shard would not write, or twice: delete the folder and rerun",
                cells_path.display(),
                r.cell
            );
        }
    }
    if torn {
        // Rewrite without the torn line (atomically), then append.
        let text: String = done_records
            .iter()
            .map(|r| serde_json::to_string(r).map(|s| s + "\n"))
            .collect::<Result<_, _>>()?;
        write_all_atomically(out, &[(CELLS_FILE, text)])?;
        eprintln!(
            "dropped a torn last line of {} (that cell runs again)",
            cells_path.display()
        );
    }
    let pending = sweep::pending(&all, shard, &done);
    let owned = all.iter().filter(|c| shard.owns(c.index)).count();
    eprintln!(
        "sweep `{}` shard {shard}: {owned} of {} cells, {} already done, {} to run",
        cfg.name,
        all.len(),
        done.len(),
        pending.len()
    );
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cells_path)
        .with_context(|| format!("cannot open {} for appending", cells_path.display()))?;
    let file = Mutex::new(file);
    let write_err: Mutex<Option<String>> = Mutex::new(None);
    let failed = Mutex::new(Vec::new());
    let pb = ProgressBar::new(pending.len() as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cells [{elapsed_precise} < {eta_precise}] {msg}")
            .map_err(|e| anyhow!("progress bar template: {e}"))?,
    );
    let runner = SweepRunner::new(&cfg)?;
    let start = std::time::Instant::now();
    let work = || {
        sweep::run_cells(&runner, &pending, |rec| {
            if let Some(e) = &rec.error {
                failed.lock().expect("lock").push((rec.cell, e.clone()));
            }
            let line = serde_json::to_string(&rec).map(|s| s + "\n");
            let res = line.map_err(|e| e.to_string()).and_then(|l| {
                file.lock()
                    .expect("lock")
                    .write_all(l.as_bytes())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = res {
                write_err.lock().expect("lock").get_or_insert(e);
            }
            pb.inc(1);
        })
    };
    super::on_threads(threads, work)?;
    pb.finish_and_clear();
    if let Some(e) = write_err.into_inner().expect("lock") {
        bail!(
            "cannot append to {}: {e} (finished cells before the error are kept; rerun to resume)",
            cells_path.display()
        );
    }
    let failed = failed.into_inner().expect("lock");
    eprintln!(
        "ran {} cells in {:.1} s ({} failed); results in {}",
        pending.len(),
        start.elapsed().as_secs_f64(),
        failed.len(),
        cells_path.display()
    );
    for (k, e) in &failed {
        eprintln!("cell {k} failed: {e}");
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}

fn merge(out: &Path, shards: &[PathBuf]) -> Result<i32> {
    let mut cfg: Option<SweepConfig> = None;
    let mut records = Vec::new();
    for dir in shards {
        let run_path = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&run_path).with_context(|| {
            format!(
                "cannot read {}: is {} a folder written by `lazyrich sweep run`?",
                run_path.display(),
                dir.display()
            )
        })?;
        let info: RunInfo =
            serde_json::from_str(&text).with_context(|| format!("{} is not a sweep run file", run_path.display()))?;
        match &cfg {
            None => cfg = Some(info.config),
            Some(c) if *c != info.config => bail!(
                "{} was run with another config than {}: merge only shards of one sweep",
                dir.display(),
                shards[0].display()
            ),
            Some(_) => {}
        }
        let (recs, torn) = read_cells(&dir.join(CELLS_FILE))?;
        if torn {
            bail!(
                "{} ends with a torn line (the run was interrupted): rerun `lazyrich sweep run` on that shard first",
                dir.join(CELLS_FILE).display()
            );
        }
        records.extend(recs);
    }
    let cfg = cfg.ok_or_else(|| anyhow!("no shard folders given"))?;
    let all = sweep::cells(&cfg)?;
    let merged = sweep::merge(&all, records)?;
    let summary = sweep::summarise(&cfg, &all, &merged);
    let mut files = vec![
        ("sweep.json".to_string(), rs::json(&cfg, &merged)),
        ("sweep.csv".to_string(), rs::csv(&merged)),
        ("sweep.md".to_string(), rs::markdown(&cfg, &summary, all.len())),
    ];
    files.extend(figures(&cfg, &merged)?);
    write_all_atomically(out, &borrow(&files))?;
    eprintln!(
        "merged {} cells from {} shard folders ({} failed); wrote {}",
        merged.len(),
        shards.len(),
        summary.failed_cells,
        files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(0)
}

fn read_merged(dir: &Path) -> Result<(SweepConfig, Vec<CellRecord>)> {
    #[derive(Deserialize)]
    struct Merged {
        config: SweepConfig,
        cells: Vec<CellRecord>,
    }
    let path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}: run `lazyrich sweep merge` first", path.display()))?;
    let m: Merged = serde_json::from_str(&text).with_context(|| format!("{} is not a merged sweep", path.display()))?;
    m.config.validate()?;
    let all = sweep::cells(&m.config)?;
    let cells = sweep::merge(&all, m.cells)?;
    Ok((m.config, cells))
}

/// The sweep figures (SVG) of merged records.
fn figures(cfg: &SweepConfig, records: &[CellRecord]) -> Result<Vec<(String, String)>> {
    let all = sweep::cells(cfg)?;
    let s = sweep::summarise(cfg, &all, records);
    let fig_err = |e: plot::PlotError| anyhow!("sweep figure: {e}");
    Ok(vec![
        (
            "heatmap_phase.svg".into(),
            heatmap::render_heatmaps(&rs::phase_portrait(cfg, &s)).map_err(fig_err)?,
        ),
        (
            "heatmap_loss_kernel.svg".into(),
            heatmap::render_heatmaps(&rs::loss_kernel_heatmaps(cfg, &s)).map_err(fig_err)?,
        ),
        (
            "heatmap_hamming_param.svg".into(),
            heatmap::render_heatmaps(&rs::hamming_param_heatmaps(cfg, &s)).map_err(fig_err)?,
        ),
        (
            "hamming_vs_param.svg".into(),
            plot::render_svg(&rs::hamming_vs_param(cfg, &s)).map_err(fig_err)?,
        ),
    ])
}

/// The small built-in sweeps of `lazyrich report`: a teacher–student grid, an XOR grid and the
/// d = 2 Fig. 1a paths (seconds in total). Returns (file name, content) pairs.
pub fn report_files() -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for (prefix, text) in [
        ("sweep_fig1_small", include_str!("../../data/sweeps/fig1_small.json")),
        ("sweep_xor_small", include_str!("../../data/sweeps/xor_small.json")),
    ] {
        let cfg = SweepConfig::from_json(text)?;
        let all = sweep::cells(&cfg)?;
        let runner = SweepRunner::new(&cfg)?;
        let got = Mutex::new(Vec::new());
        sweep::run_cells(&runner, &all, |r| got.lock().expect("lock").push(r));
        let merged = sweep::merge(&all, got.into_inner().expect("lock"))?;
        let s = sweep::summarise(&cfg, &all, &merged);
        files.push((format!("{prefix}.md"), rs::markdown(&cfg, &s, all.len())));
        for (name, svg) in figures(&cfg, &merged)? {
            files.push((format!("{prefix}_{name}"), svg));
        }
    }
    files.push(fig1a_file()?);
    Ok(files)
}

/// P1 Fig. 1a (settings of `docs/theory.md` §3.2): d = 2, h = 50, n = 20, the four (τ, δ).
fn fig1a_file() -> Result<(String, String)> {
    let (rtol, atol) = (FIG1A_RTOL, FIG1A_RTOL * 1e-2);
    let opts = FlowOptions::new(Method::Tsit45).with_tol(rtol, atol);
    let settings = [(0.1, 0.0), (2.0, 0.0), (0.1, 0.9999), (0.1, -0.9999)];
    let panels = fig1a(15, 50, 20, &settings, 100.0, 200, &opts).map_err(|e| anyhow!("Fig. 1a: {e}"))?;
    let fig = rs::fig1a_figure(
        &panels,
        &format!("h = 50, n = 20, seed 15, t ≤ 100, tsit45 rtol {rtol:e}"),
    );
    Ok((
        "fig1a_paths.svg".into(),
        plot::render_svg(&fig).map_err(|e| anyhow!("Fig. 1a figure: {e}"))?,
    ))
}

/// Tolerance of the Fig. 1a paths: steps across activation kinks make an adaptive explicit
/// method's step count grow like 1/rtol (measured: fig1_small needs ~10³ steps per cell at
/// rtol 1e-5 and ~10⁵ at 1e-7), and the paths are a picture, not a reference.
const FIG1A_RTOL: f64 = 1e-6;
