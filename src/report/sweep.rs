//! Rendering of merged sweeps (no numerics): the cell table as JSON, CSV and Markdown
//! (seed-averaged τ × δ grids), heatmaps of test loss and both kernel distances at the
//! checkpoints (P1 Fig. 1b), Hamming vs parameter distance (P1 Fig. 5) and the d = 2 paths of
//! |a_i|w_i (P1 Fig. 1a).

use super::heatmap::{HeatmapFigure, HeatmapPanel};
use super::plot::{Figure, Panel, Series, SeriesStyle};
use crate::sweep::runner::Fig1aPanel;
use crate::sweep::{CellRecord, Checkpoint, Summary, SweepConfig};
use serde::Serialize;

/// Compact number text (≤ 4 significant digits, no trailing zeros).
fn g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e-3 && v.abs() < 1e5 {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.3e}")
    }
}

#[derive(Serialize)]
struct Merged<'a> {
    config: &'a SweepConfig,
    cells: &'a [CellRecord],
}

/// The merged table as JSON: `{"config": …, "cells": [records in cell order]}`.
pub fn json(cfg: &SweepConfig, records: &[CellRecord]) -> String {
    serde_json::to_string_pretty(&Merged {
        config: cfg,
        cells: records,
    })
    .expect("invariant: records serialise")
        + "\n"
}

/// One CSV row per (cell, checkpoint); numbers in shortest round-trip form.
pub fn csv(records: &[CellRecord]) -> String {
    let mut out = String::from("cell,tau,delta,alpha,seed,t");
    for m in Checkpoint::METRICS {
        out.push(',');
        out.push_str(m);
    }
    out.push_str(",delta_drift,steps,rhs_evals,switches,error\n");
    for r in records {
        let tail = format!(
            "{},{},{},{},{}",
            r.delta_drift,
            r.steps,
            r.rhs_evals,
            r.switches.map_or(String::new(), |s| s.to_string()),
            r.error
                .as_deref()
                .map_or(String::new(), |e| format!("\"{}\"", e.replace('"', "'"))),
        );
        if r.checkpoints.is_empty() {
            out.push_str(&format!(
                "{},{},{},{},{},,,,,,,,{tail}\n",
                r.cell, r.tau, r.delta, r.alpha, r.seed
            ));
        }
        for cp in &r.checkpoints {
            out.push_str(&format!(
                "{},{},{},{},{},{}",
                r.cell, r.tau, r.delta, r.alpha, r.seed, cp.t
            ));
            for v in cp.values() {
                out.push_str(&format!(",{v}"));
            }
            out.push_str(&format!(",{tail}\n"));
        }
    }
    out
}

fn time_note(s: &Summary) -> &'static str {
    if s.times_over_tau_squared {
        " (cell at scale τ records at t/τ²)"
    } else {
        ""
    }
}

/// Markdown: what was run, then per checkpoint and metric a τ × δ grid of seed means
/// (± standard error when there is more than one seed).
pub fn markdown(cfg: &SweepConfig, s: &Summary, n_cells: usize) -> String {
    let mut out = format!("# Sweep `{}`\n\n", cfg.name);
    out.push_str(&format!(
        "Task `{}`, d = {}, h = {}, n = {}, n_test = {}, γ = {}, loss `{}`, method {} (rtol {:e}, atol {:e}); \
         {} τ × {} {} × {} seeds = {n_cells} cells; {} failed. Largest per-neuron conservation defect \
         max|δ_k(t) − δ_k(0)|/(1 + a_k(0)² + ‖w_k(0)‖²) = {:.3e}.\n\n",
        cfg.task.name(),
        cfg.task.d(),
        cfg.h,
        cfg.n,
        cfg.n_test,
        cfg.gamma,
        cfg.loss,
        cfg.method,
        cfg.rtol,
        cfg.atol,
        s.tau.len(),
        s.second.len(),
        s.axis.label(),
        cfg.seeds.len(),
        s.failed_cells,
        s.max_delta_drift,
    ));
    out.push_str(
        "Metrics: test loss = mean of (f − y)² over the fresh test set; kernel distance S(0,t) with the η-weighted NTK \
         (`kernel_distance_ntk`) and with the unweighted ΦΦᵀ of the seed code (`kernel_distance_phi`); Hamming = \
         activation flips summed over neurons, averaged over training inputs; parameter distance = ‖θ(t) − θ(0)‖.\n\n",
    );
    for (j, t) in s.checkpoints.iter().enumerate() {
        for (m, name) in Checkpoint::METRICS.iter().enumerate() {
            out.push_str(&format!(
                "## {name} at t = {}{}\n\n| τ \\ {} |",
                g(*t),
                time_note(s),
                s.axis.label()
            ));
            for v in &s.second {
                out.push_str(&format!(" {} |", g(*v)));
            }
            out.push_str(&format!("\n|---|{}\n", "---|".repeat(s.second.len())));
            for (i, tau) in s.tau.iter().enumerate() {
                out.push_str(&format!("| {} |", g(*tau)));
                for st in &s.grid[j][m][i] {
                    match st {
                        Some(st) if st.count > 1 => out.push_str(&format!(" {:.3e} ± {:.1e} |", st.mean, st.sem)),
                        Some(st) => out.push_str(&format!(" {:.3e} |", st.mean)),
                        None => out.push_str(" – |"),
                    }
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out
}

fn grid_panel(s: &Summary, j: usize, m: usize, title: String, log: bool, unit: &str) -> HeatmapPanel {
    HeatmapPanel {
        title,
        x_label: s.axis.label().into(),
        y_label: "τ".into(),
        x_ticks: s.second.iter().map(|v| g(*v)).collect(),
        y_ticks: s.tau.iter().map(|v| g(*v)).collect(),
        values: s.grid[j][m]
            .iter()
            .map(|row| row.iter().map(|st| st.map(|st| st.mean)).collect())
            .collect(),
        log_scale: log,
        unit: unit.into(),
    }
}

/// Checkpoints worth a heatmap: every t > 0 (at t = 0 distances are 0 and the loss is the
/// teacher's), or t = 0 alone if that is all there is.
fn shown_checkpoints(s: &Summary) -> Vec<usize> {
    let v: Vec<usize> = (0..s.checkpoints.len()).filter(|&j| s.checkpoints[j] > 0.0).collect();
    if v.is_empty() { vec![0] } else { v }
}

/// P1 Fig. 1b: heatmaps over (τ, δ) of the seed-mean test loss (log colour), kernel distance
/// (η-weighted NTK) and kernel distance (unweighted ΦΦᵀ), one column per checkpoint.
pub fn loss_kernel_heatmaps(cfg: &SweepConfig, s: &Summary) -> HeatmapFigure {
    let js = shown_checkpoints(s);
    let mut panels = Vec::new();
    for (m, name, log, unit) in [
        (1, "test loss", true, "MSE"),
        (2, "S(0,t), η-weighted NTK", false, "S ∈ [0, 1]"),
        (3, "S(0,t), unweighted ΦΦᵀ", false, "S ∈ [0, 1]"),
    ] {
        for &j in &js {
            panels.push(grid_panel(
                s,
                j,
                m,
                format!("{name}, t = {}", g(s.checkpoints[j])),
                log,
                unit,
            ));
        }
    }
    HeatmapFigure {
        title: format!("{}: seed means over (τ, {}){}", cfg.name, s.axis.label(), time_note(s)),
        panels,
        columns: js.len(),
        panel_width: 420,
        panel_height: 340,
    }
}

/// Heatmaps of the Hamming and parameter distances at the checkpoints.
pub fn hamming_param_heatmaps(cfg: &SweepConfig, s: &Summary) -> HeatmapFigure {
    let js = shown_checkpoints(s);
    let mut panels = Vec::new();
    for (m, name, unit) in [
        (4, "Hamming distance", "flips per input"),
        (5, "parameter distance", "‖θ(t) − θ(0)‖"),
    ] {
        for &j in &js {
            panels.push(grid_panel(
                s,
                j,
                m,
                format!("{name}, t = {}", g(s.checkpoints[j])),
                true,
                unit,
            ));
        }
    }
    HeatmapFigure {
        title: format!("{}: seed means over (τ, {}){}", cfg.name, s.axis.label(), time_note(s)),
        panels,
        columns: js.len(),
        panel_width: 420,
        panel_height: 340,
    }
}

/// P1 Fig. 5 style: Hamming distance against parameter distance at the last checkpoint, one
/// curve per δ (or α) through the τ values (log–log; points with a zero coordinate are skipped).
pub fn hamming_vs_param(cfg: &SweepConfig, s: &Summary) -> Figure {
    let j = s.checkpoints.len() - 1;
    let series = s
        .second
        .iter()
        .enumerate()
        .flat_map(|(c, v)| {
            let pts: Vec<(f64, f64)> = (0..s.tau.len())
                .filter_map(|i| {
                    let p = s.grid[j][5][i][c]?.mean;
                    let h = s.grid[j][4][i][c]?.mean;
                    (p > 0.0 && h > 0.0).then_some((p, h))
                })
                .collect();
            [
                Series {
                    label: format!("{} = {}", s.axis.label(), g(*v)),
                    points: pts.clone(),
                    style: SeriesStyle::Line,
                    color_index: c,
                },
                Series {
                    label: String::new(),
                    points: pts,
                    style: SeriesStyle::Markers,
                    color_index: c,
                },
            ]
        })
        .collect();
    Figure {
        title: format!(
            "{}: Hamming vs parameter distance, t = {}",
            cfg.name,
            g(s.checkpoints[j])
        ),
        panels: vec![Panel {
            title: format!(
                "seed means; each curve runs over τ = {} … {}{}",
                g(s.tau[0]),
                g(*s.tau.last().expect("validated non-empty")),
                time_note(s)
            ),
            x_label: "parameter distance ‖θ(t) − θ(0)‖".into(),
            y_label: "Hamming distance (flips per input)".into(),
            series,
            log_x: true,
            log_y: true,
            equal_aspect: false,
        }],
        columns: 1,
        panel_width: 720,
        panel_height: 520,
    }
}

/// P1 Fig. 1a: paths of |a_i|w_i (thin lines; a_i(0) > 0 blue, < 0 vermillion), activation
/// switches (small black dots) and the teacher neurons' directions a*_j w*_j (dashed green rays
/// from the origin, cut at the students' reach), one panel per (τ, δ), axes zoomed to the
/// student paths with equal aspect.
pub fn fig1a_figure(panels: &[Fig1aPanel], subtitle: &str) -> Figure {
    let panels = panels
        .iter()
        .map(|p| {
            let mut series = Vec::new();
            for (i, path) in p.paths.iter().enumerate() {
                let first_of_sign = p.signs[..i].iter().all(|s| *s != p.signs[i]);
                series.push(Series {
                    label: if first_of_sign {
                        format!("|a_i|w_i, a_i(0) {} 0", if p.signs[i] > 0.0 { ">" } else { "<" })
                    } else {
                        String::new()
                    },
                    points: path.iter().map(|q| (q[0], q[1])).collect(),
                    style: SeriesStyle::ThinLine,
                    color_index: if p.signs[i] > 0.0 { 0 } else { 1 },
                });
            }
            series.push(Series {
                label: "activation switch".into(),
                points: p
                    .switches
                    .iter()
                    .map(|&(i, j)| (p.paths[i][j][0], p.paths[i][j][1]))
                    .collect(),
                style: SeriesStyle::SmallMarkers,
                color_index: 6,
            });
            let reach = p
                .paths
                .iter()
                .flatten()
                .map(|q| q[0].hypot(q[1]))
                .filter(|r| r.is_finite())
                .fold(0.0f64, f64::max);
            for (j, q) in p.teacher.iter().enumerate() {
                let norm = q[0].hypot(q[1]);
                if !(norm > 0.0 && reach > 0.0) {
                    continue;
                }
                let r = reach.min(norm);
                series.push(Series {
                    label: if j == 0 {
                        "teacher direction a*_j w*_j".into()
                    } else {
                        String::new()
                    },
                    points: vec![(0.0, 0.0), (q[0] / norm * r, q[1] / norm * r)],
                    style: SeriesStyle::DashedLine,
                    color_index: 2,
                });
            }
            Panel {
                title: format!(
                    "τ = {}, δ = {}: {} switches, final loss {:.1e}",
                    g(p.tau),
                    g(p.delta),
                    p.switches.len(),
                    p.final_loss
                ),
                x_label: "x₁".into(),
                y_label: "x₂".into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: true,
            }
        })
        .collect();
    Figure {
        title: format!("P1 Fig. 1a: paths of |a_i| w_i (d = 2); {subtitle}"),
        panels,
        columns: 2,
        panel_width: 600,
        panel_height: 520,
    }
}
