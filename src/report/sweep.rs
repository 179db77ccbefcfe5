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

/// Tick text of a grid value: 3 significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The horizontal axis of the sweep heatmaps: the second grid axis with its meaning.
fn second_axis_label(s: &Summary) -> String {
    match s.axis {
        crate::sweep::SecondAxis::Delta => "δ = a_i² − ‖w_i‖² at init (conserved; dimensionless)".into(),
        crate::sweep::SecondAxis::Alpha => "α (P1's relative scale; δ = τ²(α² − α⁻²); dimensionless)".into(),
    }
}

/// The vertical axis of the sweep heatmaps.
const TAU_LABEL: &str = "initial scale τ (dimensionless; log-spaced)";

fn grid_panel(s: &Summary, j: usize, m: usize, title: String, log: bool, unit: &str) -> HeatmapPanel {
    HeatmapPanel {
        title,
        x_label: second_axis_label(s),
        y_label: TAU_LABEL.into(),
        x_ticks: s.second.iter().map(|v| tick(*v)).collect(),
        y_ticks: s.tau.iter().map(|v| tick(*v)).collect(),
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

/// Whether the two kernel distances (η-weighted NTK, metric 2, and unweighted ΦΦᵀ, metric 3)
/// agree at every shown cell to 1e-12 relative: with η_a = η_w = 1 the two kernels are the same
/// matrix, and their heatmaps would be two identical rows.
fn kernels_coincide(s: &Summary) -> bool {
    shown_checkpoints(s).iter().all(|&j| {
        s.grid[j][2].iter().zip(&s.grid[j][3]).all(|(a, b)| {
            a.iter().zip(b).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => (a.mean - b.mean).abs() <= 1e-12 * a.mean.abs().max(b.mean.abs()).max(1e-300),
                (None, None) => true,
                _ => false,
            })
        })
    })
}

/// The kernel-distance rows of the heatmaps: both kernels, or one row saying they coincide.
fn kernel_rows(s: &Summary) -> Vec<(usize, &'static str)> {
    if kernels_coincide(s) {
        vec![(2, "S(0,t): NTK = ΦΦᵀ (identical, η = 1)")]
    } else {
        vec![(2, "S(0,t), η-weighted NTK"), (3, "S(0,t), unweighted ΦΦᵀ")]
    }
}

/// Colour-bar text of the Hamming distance: its unit, with the width it counts over.
fn hamming_unit(cfg: &SweepConfig) -> String {
    format!("Hamming distance: neurons flipped per input (of h = {})", cfg.h)
}

const LOSS_UNIT: &str = "test MSE, mean (f − y)² (units of y²)";
const KERNEL_UNIT: &str = "S = 1 − ⟨K₀,K_t⟩/(‖K₀‖‖K_t‖), dimensionless";

/// P1 Fig. 1b: heatmaps over (τ, δ) of the seed-mean test loss (log colour) and the kernel
/// distance (η-weighted NTK and unweighted ΦΦᵀ, one row when they coincide), one column per
/// checkpoint.
pub fn loss_kernel_heatmaps(cfg: &SweepConfig, s: &Summary) -> HeatmapFigure {
    let js = shown_checkpoints(s);
    let mut panels = Vec::new();
    let mut rows = vec![(1, "test loss")];
    rows.extend(kernel_rows(s));
    for (m, name) in rows {
        let (log, unit) = if m == 1 {
            (true, LOSS_UNIT)
        } else {
            (false, KERNEL_UNIT)
        };
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
        panel_width: 520,
        panel_height: 440,
    }
}

/// Heatmaps of the Hamming and parameter distances at the checkpoints.
pub fn hamming_param_heatmaps(cfg: &SweepConfig, s: &Summary) -> HeatmapFigure {
    let js = shown_checkpoints(s);
    let mut panels = Vec::new();
    let hamming = hamming_unit(cfg);
    for (m, name, unit) in [
        (4, "Hamming distance", hamming.as_str()),
        (5, "parameter distance", "parameter distance ‖θ(t) − θ(0)‖ (units of θ)"),
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
        panel_width: 520,
        panel_height: 440,
    }
}

/// P1 Fig. 1b as a phase portrait: at the last checkpoint, the seed-mean test loss (log colour),
/// the kernel distance S(0,t) and the Hamming distance over (τ, δ), large cells, one panel each.
pub fn phase_portrait(cfg: &SweepConfig, s: &Summary) -> HeatmapFigure {
    let j = s.checkpoints.len() - 1;
    let t = g(s.checkpoints[j]);
    let kernel = if kernels_coincide(s) {
        "kernel distance S(0,t) (NTK = ΦΦᵀ)"
    } else {
        "kernel distance S(0,t), η-weighted NTK"
    };
    let hamming = hamming_unit(cfg);
    let panels = vec![
        grid_panel(s, j, 1, format!("test loss, t = {t}"), true, LOSS_UNIT),
        grid_panel(s, j, 2, format!("{kernel}, t = {t}"), false, KERNEL_UNIT),
        grid_panel(s, j, 4, format!("Hamming distance, t = {t}"), false, &hamming),
    ];
    HeatmapFigure {
        title: format!(
            "{}: phase portrait at the last checkpoint, mean of {} seed{}{}",
            cfg.name,
            cfg.seeds.len(),
            if cfg.seeds.len() == 1 { "" } else { "s" },
            time_note(s)
        ),
        panels,
        columns: 3,
        panel_width: 600,
        panel_height: 560,
    }
}

/// Indices of the second-axis values drawn as curves: all of them up to six (six distinct
/// palette colours, none of them the weak yellow), else every k-th with both ends, so no two
/// curves share a colour.
fn shown_curves(n: usize) -> Vec<usize> {
    if n <= 6 {
        return (0..n).collect();
    }
    let k = n.div_ceil(6);
    let mut v: Vec<usize> = (0..n).step_by(k).collect();
    if v.last() != Some(&(n - 1)) {
        if v.len() == 6 {
            v.pop();
        }
        v.push(n - 1);
    }
    v
}

/// P1 Fig. 5 style: Hamming distance against parameter distance at the last checkpoint, one
/// curve per δ (or α) through the τ values (log–log; points with a zero coordinate are skipped).
pub fn hamming_vs_param(cfg: &SweepConfig, s: &Summary) -> Figure {
    let j = s.checkpoints.len() - 1;
    let shown = shown_curves(s.second.len());
    let subset = if shown.len() < s.second.len() {
        format!(
            "; {} of the {} {} values shown",
            shown.len(),
            s.second.len(),
            s.axis.label()
        )
    } else {
        String::new()
    };
    let series = shown
        .iter()
        .enumerate()
        .map(|(k, &c)| (k, c, &s.second[c]))
        .flat_map(|(k, c, v)| {
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
                    color_index: k,
                },
                Series {
                    label: String::new(),
                    points: pts,
                    style: SeriesStyle::Markers,
                    color_index: k,
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
                "seed means; each curve runs over τ = {} … {}{}{subset}",
                g(s.tau[0]),
                g(*s.tau.last().expect("validated non-empty")),
                time_note(s)
            ),
            x_label: "parameter distance ‖θ(t) − θ(0)‖ (units of θ)".into(),
            y_label: format!("Hamming distance (neurons flipped per input, of h = {})", cfg.h),
            series,
            log_x: true,
            log_y: true,
            equal_aspect: false,
        }],
        columns: 1,
        panel_width: 1040,
        panel_height: 600,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{SecondAxis, Stat};

    fn stat(mean: f64) -> Option<Stat> {
        Some(Stat {
            mean,
            sem: 0.0,
            count: 2,
        })
    }

    /// 2 τ × 3 δ, checkpoints 0 and 1; metric m at (i, c) = 1 + m + i + c/10, the two kernel
    /// distances equal unless `split`.
    fn summary(split: bool) -> (SweepConfig, Summary) {
        let cfg = SweepConfig::from_json(
            r#"{"name": "s", "task": {"teacher_student": {"d": 3, "teacher_width": 3}}, "h": 4, "n": 6,
                "n_test": 6, "tau": [0.1, 1.0], "delta": [-1.0, 0.0, 1.0], "seeds": [1, 2],
                "checkpoints": [0.0, 1.0], "gamma": 0.0, "loss": "mean", "method": "tsit45", "rtol": 1e-6,
                "atol": 1e-8}"#,
        )
        .unwrap();
        let grid = (0..2)
            .map(|_| {
                (0..6)
                    .map(|m| {
                        (0..2)
                            .map(|i| {
                                (0..3)
                                    .map(|c| {
                                        let extra = if split && m == 3 { 0.5 } else { 0.0 };
                                        let m = if m == 3 { 2 } else { m };
                                        stat(1.0 + m as f64 + i as f64 + c as f64 / 10.0 + extra)
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let s = Summary {
            tau: vec![0.1, 1.0],
            axis: SecondAxis::Delta,
            second: vec![-1.0, 0.0, 1.0],
            checkpoints: vec![0.0, 1.0],
            times_over_tau_squared: false,
            grid,
            failed_cells: 0,
            max_delta_drift: 0.0,
        };
        (cfg, s)
    }

    #[test]
    fn identical_kernel_rows_are_merged_and_said_to_be_identical() {
        let (cfg, s) = summary(false);
        assert!(kernels_coincide(&s));
        let f = loss_kernel_heatmaps(&cfg, &s);
        // One shown checkpoint (t = 1): test loss and one kernel row.
        assert_eq!(f.panels.len(), 2);
        assert!(f.panels[1].title.contains("identical"), "{}", f.panels[1].title);
        let (cfg, s) = summary(true);
        assert!(!kernels_coincide(&s));
        let f = loss_kernel_heatmaps(&cfg, &s);
        assert_eq!(f.panels.len(), 3);
        assert!(f.panels.iter().all(|p| !p.title.contains("identical")));
        // The ΦΦᵀ panel carries its own values (metric 3 = metric 2 + 0.5).
        assert_eq!(f.panels[2].values[1][2], Some(1.0 + 2.0 + 1.0 + 0.2 + 0.5));
    }

    #[test]
    fn phase_portrait_shows_the_last_checkpoint_with_units() {
        let (cfg, s) = summary(false);
        let f = phase_portrait(&cfg, &s);
        assert_eq!(f.panels.len(), 3);
        // Test loss (metric 1), kernel distance (2), Hamming (4) at the last checkpoint.
        for (p, m) in f.panels.iter().zip([1.0, 2.0, 4.0]) {
            assert_eq!(p.values[0][0], Some(1.0 + m));
            assert_eq!(p.values[1][2], Some(1.0 + m + 1.0 + 0.2));
            assert!(p.title.ends_with("t = 1"), "{}", p.title);
            assert!(!p.unit.is_empty() && p.x_label.contains("dimensionless") && p.y_label.contains('τ'));
        }
        assert!(f.panels[0].log_scale && !f.panels[1].log_scale);
        assert!(f.panels[2].unit.contains("of h = 4"), "{}", f.panels[2].unit);
        assert_eq!(f.panels[0].y_ticks, vec!["0.1", "1"]);
        assert_eq!(f.panels[0].x_ticks, vec!["-1", "0", "1"]);
        assert!(f.title.contains("mean of 2 seeds"));
    }

    #[test]
    fn at_most_six_curves_with_both_ends() {
        assert_eq!(shown_curves(4), vec![0, 1, 2, 3]);
        assert_eq!(shown_curves(9), vec![0, 2, 4, 6, 8]);
        assert_eq!(shown_curves(17), vec![0, 3, 6, 9, 12, 16]);
        for n in 1..40 {
            let v = shown_curves(n);
            assert!(v.len() <= 6 && v[0] == 0 && *v.last().unwrap() == n - 1, "{n}: {v:?}");
            assert!(v.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(tick(0.145378), "0.145");
        assert_eq!(tick(1.99526), "2");
        assert_eq!(tick(-0.75), "-0.75");
    }
}
