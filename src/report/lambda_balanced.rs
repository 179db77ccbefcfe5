//! P2 Fig. 2-style figure for λ-balanced linear networks: loss, network function and kernel
//! distance against t for λ ∈ {−2, 0, 2}; theory dashed, simulation as markers.

use super::plot::{Figure, Panel, Series, SeriesStyle};
use crate::verify::lambda_balanced::Fig2Data;

/// Build the figure from [`Fig2Data`].
pub fn fig2_figure(data: &Fig2Data) -> Figure {
    let names = [
        ("loss (1/2P)Σ‖W2W1x − y‖²", "loss"),
        ("function ⟨W2W1, Σ̃yx⟩/‖Σ̃yx‖²", "projection on task"),
        ("NTK: kernel distance S(0,t)", "S(0,t)"),
    ];
    let panels = names
        .iter()
        .enumerate()
        .map(|(k, (title, ylab))| {
            let mut series = Vec::new();
            for (i, (lambda, theory, sim)) in data.curves.iter().enumerate() {
                series.push(Series {
                    label: format!("λ = {lambda}"),
                    points: theory.iter().map(|r| (r[0], r[k + 1])).collect(),
                    style: SeriesStyle::DashedLine,
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
        title:
            "λ-balanced linear network (3-3-3, P = 10, σ = 0.05): closed form (dashed) vs Tsit45 rtol 1e-10 (markers)"
                .into(),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}
