//! Layer 5: rendering only — certified tables as Markdown, CSV and JSON, and SVG figures.
//! No numerics and no solver calls; output is deterministic so that tables diff cleanly.

pub mod lambda_balanced;
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
