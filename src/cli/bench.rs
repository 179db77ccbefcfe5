//! `lazyrich bench`: work-precision tables and diagram, peers merge, baseline and gate.

use super::write_all_atomically;
use anyhow::{Context, Result, anyhow};
use lazyrich::report::{plot, workprec as wpr};
use lazyrich::workprec::{self, Baseline, WpRow};
use serde_json::json;
use std::path::Path;

pub(super) fn run(
    quick: bool,
    out: &Path,
    gate: Option<&Path>,
    write_baseline: Option<&Path>,
    peers: Option<&Path>,
    export: Option<&Path>,
    only: &[String],
) -> Result<i32> {
    super::preflight_out(out)?;
    if let Some(dir) = export {
        super::preflight_out(dir)?;
    }
    let mut problems = workprec::problems::all().map_err(|e| anyhow!("setting up problems: {e}"))?;
    if !only.is_empty() {
        let names: Vec<&str> = problems.iter().map(|p| p.name.as_str()).collect();
        if let Some(bad) = only.iter().find(|o| !names.contains(&o.as_str())) {
            anyhow::bail!(
                "--problem {bad}: no such benchmark problem; use one of {}",
                names.join(", ")
            );
        }
        problems.retain(|p| only.contains(&p.name));
    }
    if let Some(dir) = export {
        let files: Vec<(String, String)> = problems
            .iter()
            .map(|p| {
                // f0 = the right-hand side at y0: the peers script checks its own RHS against it.
                let mut f0 = vec![0.0; p.y0.len()];
                p.field.eval_inplace(&p.y0, &mut f0);
                let v = json!({"name": p.name, "y0": p.y0, "times": p.times, "reference": p.reference,
                               "ref_bound": p.ref_bound, "ref_method": p.ref_method, "case": p.case_file,
                               "model_data": p.model_data, "f0": f0});
                (
                    format!("{}.json", p.name),
                    serde_json::to_string_pretty(&v).expect("serializes"),
                )
            })
            .collect();
        let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
        write_all_atomically(dir, &refs)?;
        eprintln!("wrote {} problem files to {}", refs.len(), dir.display());
        return Ok(0);
    }
    let base: Option<Baseline> = match gate {
        Some(p) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(p).with_context(|| format!("cannot read baseline {}", p.display()))?,
            )
            .with_context(|| format!("baseline {} is not a valid baseline file", p.display()))?,
        ),
        None => None,
    };
    let peer_rows: Vec<WpRow> = match peers {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("cannot read peers table {}", p.display()))?,
        )
        .with_context(|| format!("peers table {} is not a list of work-precision rows", p.display()))?,
        None => Vec::new(),
    };
    let total = workprec::n_points(&problems, quick);
    let mut done = 0usize;
    let start = std::time::Instant::now();
    let (mut rows, calib) = workprec::run(&problems, quick, |r| {
        done += 1;
        eprintln!(
            "[{done:>3}/{total}] {:<26} {:<20} rtol {:.0e}: error {:.2e}, {:.3e} s",
            r.problem, r.solver, r.rtol, r.error, r.median_s
        );
    });
    let gate_results = base.as_ref().map(|b| workprec::gate(&rows, b)).unwrap_or_default();
    rows.extend(peer_rows);
    let refs: Vec<(String, String, f64)> = problems
        .iter()
        .map(|p| (p.name.clone(), p.ref_method.clone(), p.ref_bound))
        .collect();
    let svg = plot::render_svg(&wpr::figure(&rows, &refs)).map_err(|e| anyhow!("diagram: {e}"))?;
    let mut files: Vec<(&str, String)> = vec![
        ("workprec.md", wpr::markdown(&rows, calib, &gate_results, &refs)),
        ("workprec.csv", wpr::csv(&rows)),
        ("workprec.json", wpr::json(&rows)),
        ("workprec.svg", svg),
    ];
    if !gate_results.is_empty() {
        files.push(("gate.json", serde_json::to_string_pretty(&gate_results)?));
    }
    write_all_atomically(out, &files)?;
    if let Some(p) = write_baseline {
        let ours: Vec<WpRow> = rows
            .iter()
            .filter(|r| r.solver.starts_with("lazyrich"))
            .cloned()
            .collect();
        let b = workprec::baseline_of(&ours, &format!("lazyrich bench{}", if quick { " --quick" } else { "" }));
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = p
            .file_name()
            .ok_or_else(|| anyhow!("--write-baseline needs a file name"))?;
        write_all_atomically(dir, &[(&name.to_string_lossy(), serde_json::to_string_pretty(&b)?)])?;
    }
    eprintln!(
        "{} points in {:.1} s (calibration {:.3e} s); wrote {}",
        rows.len(),
        start.elapsed().as_secs_f64(),
        calib,
        out.display()
    );
    let failed: Vec<_> = gate_results.iter().filter(|g| !g.pass).collect();
    let gm = workprec::geomean_slowdown(&gate_results);
    if !gate_results.is_empty() {
        eprintln!(
            "gate: {} points, geometric-mean slowdown {gm:.3} (limit {}), {} points over {}×",
            gate_results.len(),
            workprec::GATE_GEOMEAN,
            failed.len(),
            workprec::GATE_FACTOR
        );
    }
    for g in &failed {
        eprintln!(
            "GATE FAIL {} {} rtol {:.0e}: ratio {:.3e} vs baseline {:.3e} ({:.2}× slower, limit {}×)",
            g.problem,
            g.solver,
            g.rtol,
            g.measured,
            g.baseline,
            g.slowdown,
            workprec::GATE_FACTOR
        );
    }
    Ok(if failed.is_empty() && gm <= workprec::GATE_GEOMEAN {
        0
    } else {
        1
    })
}
