//! Layer 5: rendering only — certified tables as Markdown, CSV and JSON, and SVG figures.
//! No numerics and no solver calls; output is deterministic so that tables diff cleanly.

pub mod plot;
pub mod table;

use crate::verify::single_neuron::Fig3Data;
use plot::{Figure, Panel, Series, SeriesStyle};

/// P1 Fig. 3 reproduction: μ, φ and S(0,t) against t for each δ; theory as lines, simulation as
/// markers (same colour per δ).
pub fn fig3_figure(data: &Fig3Data) -> Figure {
    let names = [
        ("μ(t) = a‖w‖", "μ"),
        ("φ(t) = cos∠(w, β*)", "φ"),
        ("kernel distance S(0,t)", "S(0,t)"),
    ];
    let panels = names
        .iter()
        .enumerate()
        .map(|(k, (title, ylab))| {
            let mut series = Vec::new();
            for (i, (delta, theory, sim)) in data.curves.iter().enumerate() {
                series.push(Series {
                    label: format!("δ = {delta}"),
                    points: theory.iter().map(|r| (r[0], r[k + 1])).collect(),
                    style: SeriesStyle::Line,
                    color_index: i,
                });
                series.push(Series {
                    label: String::new(),
                    points: sim.iter().map(|r| (r[0], r[k + 1])).collect(),
                    style: SeriesStyle::Markers,
                    color_index: i,
                });
            }
            Panel {
                title: (*title).into(),
                x_label: "t".into(),
                y_label: (*ylab).into(),
                series,
                log_x: false,
                log_y: false,
            }
        })
        .collect();
    Figure {
        title: "Single neuron, P1 Fig. 3 setup: theory (lines) vs gradient flow, BDF rtol 1e-8 (markers)".into(),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}

/// P1 Theorem 4.2 check figure: singular values of β(t) (d = 3, c = 2) in the three δ regimes;
/// the Theorem 4.2 β flow as lines, the parameter flow β = WᵀA as markers.
pub fn thm42_figure(data: &crate::verify::wide_linear::Thm42FigData) -> Figure {
    let panels = data
        .curves
        .iter()
        .map(|(label, theory, sim)| {
            let k = theory.first().map_or(0, |r| r.len() - 1);
            let mut series = Vec::new();
            for i in 0..k {
                series.push(Series {
                    label: format!("σ_{} (Thm 4.2)", i + 1),
                    points: theory.iter().map(|r| (r[0], r[i + 1])).collect(),
                    style: SeriesStyle::Line,
                    color_index: i,
                });
                series.push(Series {
                    label: String::new(),
                    points: sim.iter().map(|r| (r[0], r[i + 1])).collect(),
                    style: SeriesStyle::Markers,
                    color_index: i,
                });
            }
            Panel {
                title: label.clone(),
                x_label: "t".into(),
                y_label: "singular values of β".into(),
                series,
                log_x: false,
                log_y: false,
            }
        })
        .collect();
    Figure {
        title:
            "Wide linear net (d = 3, c = 2): Theorem 4.2 β flow (lines) vs parameter flow (markers), tsit45 rtol 1e-10"
                .into(),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}
