//! `lazyrich experiment alpha-scaling|hierarchy|grokking [--quick] [--out DIR] [--seeds N]
//! [--threads N] [--shard i/n]` and `lazyrich experiment merge --out DIR SHARD_DIRS…`: P1 Part III
//! experiments (see `lazyrich::experiment`).
//!
//! A whole run (`--shard 0/1`, the default) writes `results.json` (settings, every point with its
//! seed statistics, every run), `results.csv` and the SVG figure(s) into `--out`, all at once
//! (atomically). A shard `i/n` runs the runs k with k mod n = i and writes only `results.json`
//! with `"complete": false`; `merge` checks that the shards share one experiment and settings and
//! together hold every run once, then writes the same files as a whole run. Inputs are checked
//! before anything runs: bad input exits 2 with nothing written.

use super::write_all_atomically;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazyrich::experiment::{self, Experiment, Kind, RunRecord, Size};
use lazyrich::sweep::Shard;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `experiment` subcommands.
#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// Kernel distance and test error of a depth-4 ReLU MLP against α and the initial scale.
    AlphaScaling(RunArgs),
    /// Random hierarchy model: test error against the number of training samples, per α.
    Hierarchy(RunArgs),
    /// Modular addition: steps to generalisation (grokking) against α.
    Grokking(RunArgs),
    /// Merge shard folders (written with --shard i/n) into results and figures.
    Merge {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The shard folders (each holding results.json).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
}

/// Options of one experiment run.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Small settings (about a minute on 2 cores; what CI runs).
    #[arg(long)]
    quick: bool,
    /// Test-sized settings (under a second; for the end-to-end tests, not for results).
    #[arg(long, hide = true, conflicts_with = "quick")]
    tiny: bool,
    /// Output folder (default: experiment-NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seeds per point (default: 2 with --quick; full: 6, 4 for hierarchy).
    #[arg(long)]
    seeds: Option<usize>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Override a setting: KEY=VALUE with a JSON value (e.g. --set steps=5000 --set
    /// 'alphas=[0.1,1,10]'); the keys are those under "settings" in results.json.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run only shard i of n (0 ≤ i < n): the runs k with k mod n = i.
    #[arg(long, default_value = "0/1", value_parser = parse_shard, allow_hyphen_values = true)]
    shard: Shard,
}

fn parse_shard(s: &str) -> std::result::Result<Shard, String> {
    s.parse::<Shard>().map_err(|e| e.to_string())
}

/// Run an `experiment` subcommand; returns the exit code.
///
/// # Errors
/// Bad input (nothing written) and failures to write the outputs.
pub fn run(cmd: ExperimentCommand) -> Result<i32> {
    match cmd {
        ExperimentCommand::AlphaScaling(a) => run_one(Kind::AlphaScaling, a),
        ExperimentCommand::Hierarchy(a) => run_one(Kind::Hierarchy, a),
        ExperimentCommand::Grokking(a) => run_one(Kind::Grokking, a),
        ExperimentCommand::Merge { out, shards } => merge(&out, &shards),
    }
}

fn check_out(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("--out {} is a file: give a folder (created if missing)", out.display());
    }
    Ok(())
}

fn run_one(kind: Kind, a: RunArgs) -> Result<i32> {
    if a.seeds == Some(0) {
        bail!("--seeds 0: give at least 1 seed per point (2 or more for a standard error)");
    }
    if a.seeds.is_some_and(|s| s > 1000) {
        bail!(
            "--seeds {}: at most 1000 seeds per point (the seeds are 1000 + index)",
            a.seeds.unwrap_or(0)
        );
    }
    if a.threads == Some(0) {
        bail!("--threads 0: give at least 1 (or omit it to use every core)");
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("experiment-{}", kind.name())));
    check_out(&out)?;
    let size = if a.tiny {
        Size::Tiny
    } else if a.quick {
        Size::Quick
    } else {
        Size::Full
    };
    let exp = experiment::with_overrides(experiment::build(kind, size, a.seeds), &a.set).map_err(|e| anyhow!(e))?;
    let points = exp.points();
    let total = points.len() * exp.seeds();
    let mine: Vec<usize> = (0..total).filter(|k| a.shard.owns(*k)).collect();
    eprintln!(
        "experiment {} ({}): {} points × {} seeds = {total} runs; shard {} runs {}",
        kind.name(),
        match size {
            Size::Tiny => "tiny",
            Size::Quick => "quick",
            Size::Full => "full",
        },
        points.len(),
        exp.seeds(),
        a.shard,
        mine.len()
    );
    let start = std::time::Instant::now();
    let done = AtomicUsize::new(0);
    let records = Mutex::new(Vec::with_capacity(mine.len()));
    let work = || {
        use rayon::prelude::*;
        mine.par_iter().for_each(|&k| {
            let (p, s) = (k / exp.seeds(), k % exp.seeds());
            let t0 = std::time::Instant::now();
            let rec = exp.run(p, s);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            let params: Vec<String> = points[p].params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!(
                "[{n}/{}] {} seed {}: {:.1} s (elapsed {:.0} s)",
                mine.len(),
                params.join(" "),
                rec.seed,
                t0.elapsed().as_secs_f64(),
                start.elapsed().as_secs_f64()
            );
            records.lock().expect("lock").push(rec);
        });
    };
    super::on_threads(a.threads, work)?;
    let mut runs = records.into_inner().expect("lock");
    runs.sort_by_key(|r| r.index);
    if a.shard.count == 1 {
        write_complete(&*exp, &out, &runs)?;
    } else {
        let doc = serde_json::json!({
            "experiment": kind.name(),
            "complete": false,
            "shard": a.shard.to_string(),
            "settings": exp.settings_json(),
            "seeds": exp.seeds(),
            "runs": runs,
        });
        write_all_atomically(&out, &[("results.json", serde_json::to_string_pretty(&doc)? + "\n")])?;
    }
    eprintln!(
        "ran {} runs in {:.1} s (wall clock); wrote {}",
        runs.len(),
        start.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(0)
}

fn write_complete(exp: &dyn Experiment, out: &Path, runs: &[RunRecord]) -> Result<()> {
    let points = experiment::aggregate(&exp.points(), exp.seeds(), runs).map_err(|e| anyhow!(e))?;
    let figures = exp
        .figures(&points)
        .map_err(|e| anyhow!("cannot draw the figure: {e}"))?;
    let doc = experiment::json(exp.kind(), &exp.settings_json(), exp.seeds(), &points, runs);
    let mut files = vec![
        ("results.json".to_string(), serde_json::to_string_pretty(&doc)? + "\n"),
        ("results.csv".to_string(), experiment::csv(&points)),
    ];
    files.extend(figures);
    let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    write_all_atomically(out, &refs)
}

fn merge(out: &Path, shards: &[PathBuf]) -> Result<i32> {
    check_out(out)?;
    let mut kind_settings: Option<(String, Value, usize)> = None;
    let mut runs: Vec<RunRecord> = Vec::new();
    for dir in shards {
        let path = dir.join("results.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: give folders written by `experiment … --shard i/n`",
                path.display()
            )
        })?;
        let v: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        let name = v["experiment"]
            .as_str()
            .ok_or_else(|| anyhow!("{} has no \"experiment\": not an experiment result", path.display()))?
            .to_string();
        let settings = v["settings"].clone();
        let seeds = v["seeds"]
            .as_u64()
            .ok_or_else(|| anyhow!("{} has no \"seeds\"", path.display()))? as usize;
        match &kind_settings {
            None => kind_settings = Some((name, settings, seeds)),
            Some((n, s, sd)) if *n == name && *s == settings && *sd == seeds => {}
            Some(_) => bail!(
                "{} holds another experiment or other settings than {}: merge only shards of one run",
                path.display(),
                shards[0].display()
            ),
        }
        let recs: Vec<RunRecord> = serde_json::from_value(v["runs"].clone())
            .with_context(|| format!("{} has malformed runs: rerun that shard", path.display()))?;
        runs.extend(recs);
    }
    let (name, settings, seeds) = kind_settings.ok_or_else(|| anyhow!("no shard folders given"))?;
    let kind = [Kind::AlphaScaling, Kind::Hierarchy, Kind::Grokking]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| anyhow!("unknown experiment {name:?} in the shards"))?;
    let exp = experiment::from_settings(kind, &settings).context("the shards' settings do not parse")?;
    exp.validate().map_err(|e| anyhow!("the shards' settings: {e}"))?;
    if exp.seeds() != seeds {
        bail!(
            "the shards' settings say {} seeds but their files say {seeds}: rerun the shards",
            exp.seeds()
        );
    }
    runs.sort_by_key(|r| r.index);
    write_complete(&*exp, out, &runs)?;
    eprintln!(
        "merged {} runs from {} shards into {}",
        runs.len(),
        shards.len(),
        out.display()
    );
    Ok(0)
}
