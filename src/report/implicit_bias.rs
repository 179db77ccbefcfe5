//! P1 Fig. 4b (low-rank data, `docs/theory.md` §1.8): function-space trajectories β(t) = a(t)w(t) of
//! the single neuron for a rank-one X = [[0.5, 1]], y = 1.1, from the same β0, one per δ; the
//! line of interpolants Xβ = y; the KKT solution of P1 Thm 3.1 for each δ (open circles, where the
//! trajectory should end); the δ → +∞ (lazy) limit as a dashed and the δ → −∞ (rich) limit as a
//! dotted line from β0 to their limit points (one colour, two styles, so the legend tells them
//! apart). Equal aspect, since the picture is geometry.

use super::plot::{Figure, Panel, Series, SeriesStyle};
use crate::verify::implicit_bias::Fig4bData;

/// Build the figure from [`Fig4bData`].
pub fn fig4b_figure(data: &Fig4bData) -> Figure {
    let mut series = Vec::new();
    // The plotted region: trajectories, limits and β0, padded.
    let pts = data
        .paths
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .chain([data.lazy, data.rich, data.beta0]);
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in pts.filter(|p| p[0].is_finite() && p[1].is_finite()) {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    // Xβ = y across the region's β1 range: β2 = (y − x1 β1)/x2.
    let [x1, x2] = data.x;
    if x2 != 0.0 && lo[0].is_finite() {
        let pad = 0.1 * (hi[0] - lo[0]).max(hi[1] - lo[1]);
        let line: Vec<(f64, f64)> = [lo[0] - pad, hi[0] + pad]
            .iter()
            .map(|&b1| (b1, (data.y - x1 * b1) / x2))
            .filter(|&(_, b2)| b2 >= lo[1] - 2.0 * pad && b2 <= hi[1] + 2.0 * pad)
            .collect();
        series.push(Series {
            label: "interpolants Xβ = y (every KKT limit lies on it)".into(),
            points: line,
            style: SeriesStyle::ThinLine,
            color_index: 6,
        });
    }
    series.push(Series {
        label: "δ → +∞ (lazy): β0 − X⁺(Xβ0 − y)".into(),
        points: vec![(data.beta0[0], data.beta0[1]), (data.lazy[0], data.lazy[1])],
        style: SeriesStyle::DashedLine,
        color_index: 6,
    });
    series.push(Series {
        label: "δ → −∞ (rich): cβ0".into(),
        points: vec![(data.beta0[0], data.beta0[1]), (data.rich[0], data.rich[1])],
        style: SeriesStyle::DottedLine,
        color_index: 6,
    });
    let path_colours = [0usize, 1, 2, 6, 3, 4, 5];
    for (i, (delta, path)) in data.paths.iter().enumerate() {
        let colour = path_colours[i % path_colours.len()];
        series.push(Series {
            label: format!("β(t), δ = {delta}"),
            points: path.iter().map(|p| (p[0], p[1])).collect(),
            style: SeriesStyle::Line,
            color_index: colour,
        });
        if let Some(k) = data.theory.iter().find(|r| (r[0] - delta).abs() < 1e-9) {
            series.push(Series {
                label: String::new(),
                points: vec![(k[1], k[2])],
                style: SeriesStyle::OpenMarkers,
                color_index: colour,
            });
        }
    }
    series.push(Series {
        label: "β0".into(),
        points: vec![(data.beta0[0], data.beta0[1])],
        style: SeriesStyle::Markers,
        color_index: 6,
    });
    Figure {
        title: "P1 Fig. 4b: single neuron on rank-one data, trajectories β(t) across δ".into(),
        panels: vec![Panel {
            title: "X = [[0.5, 1]], y = 1.1, β0 = (0.4, 0.05), t ≤ 200, Tsit45; open circles: KKT limit (Thm 3.1)"
                .into(),
            x_label: "β₁".into(),
            y_label: "β₂".into(),
            series,
            log_x: false,
            log_y: false,
            equal_aspect: true,
        }],
        columns: 1,
        panel_width: 1000,
        panel_height: 640,
    }
}
