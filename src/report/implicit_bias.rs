//! P1 Fig. 4b-style figure (low-rank data, `theory.md` §1.8): the interpolant β∞ reached by the
//! single neuron against δ; the KKT solution of Thm 3.1 as lines, the simulated flow's limit as
//! markers, and the δ → ±∞ limits as dashed lines.

use super::plot::{Figure, Panel, Series, SeriesStyle};
use crate::verify::implicit_bias::Fig4bData;

/// Build the figure from [`Fig4bData`].
pub fn fig4b_figure(data: &Fig4bData) -> Figure {
    let panels = (0..2)
        .map(|k| {
            let (lo, hi) = (data.theory[0][0], data.theory[data.theory.len() - 1][0]);
            Panel {
                title: format!("β∞,{} against δ", k + 1),
                x_label: "δ".into(),
                y_label: format!("β∞,{}", k + 1),
                series: vec![
                    Series {
                        label: "Thm 3.1 (KKT, Newton)".into(),
                        points: data.theory.iter().map(|r| (r[0], r[k + 1])).collect(),
                        style: SeriesStyle::Line,
                        color_index: 0,
                    },
                    Series {
                        label: "gradient flow, t = 200".into(),
                        points: data.sim.iter().map(|r| (r[0], r[k + 1])).collect(),
                        style: SeriesStyle::Markers,
                        color_index: 1,
                    },
                    Series {
                        label: "δ → +∞: β0 − X⁺(Xβ0 − y)".into(),
                        points: vec![(lo, data.lazy[k]), (hi, data.lazy[k])],
                        style: SeriesStyle::DashedLine,
                        color_index: 2,
                    },
                    Series {
                        label: "δ → −∞: cβ0".into(),
                        points: vec![(lo, data.rich[k]), (hi, data.rich[k])],
                        style: SeriesStyle::DashedLine,
                        color_index: 3,
                    },
                ],
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    Figure {
        title:
            "Single neuron, low-rank X = [[0.5, 1]], y = 1.1, β0 = (0.4, 0.05) (P1 Fig. 4b setup): implicit bias vs δ"
                .into(),
        panels,
        columns: 2,
        panel_width: 560,
        panel_height: 420,
    }
}
