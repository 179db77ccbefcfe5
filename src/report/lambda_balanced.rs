//! Figures for λ-balanced linear networks (P2): Fig. 2 (loss, network function and kernel
//! distance against t for λ ∈ {−2, 0, 2}), Fig. 3 (singular values of W2W1), Fig. 4
//! (representation similarity matrices of the semantic task), Fig. 5 (kernel distance vs λ and
//! architecture) and continual learning; theory dashed/lines, simulation as markers. Rendering
//! only: the data come from [`crate::verify::lambda_balanced`].

use super::Curve;
use super::plot::{Figure, SeriesStyle};
use super::plot::{Panel, PlotError, Series};
use crate::verify::lambda_balanced::Fig2Data;
use crate::verify::lambda_balanced::experiments::{
    CONT_T_TASK, ContData, FIG4_T_END, FIG5_T_END, Fig3Data, Fig4Data, Fig5Data,
};

/// Build the figure from [`Fig2Data`].
pub fn fig2_figure(data: &Fig2Data) -> Figure {
    let curves: Vec<Curve<'_>> = data
        .curves
        .iter()
        .map(|(lambda, theory, sim)| (format!("λ = {lambda}"), theory.as_slice(), sim.as_slice()))
        .collect();
    super::theory_vs_simulation(
        "λ-balanced linear network (3-3-3, P = 10, σ = 0.05): closed form (dashed) vs Tsit45 rtol 1e-10 (markers)"
            .into(),
        [
            ("loss (1/2P)Σ‖W2W1x − y‖²", "loss"),
            ("function ⟨W2W1, Σ̃yx⟩/‖Σ̃yx‖²", "projection on task"),
            ("NTK: kernel distance S(0,t)", "S(0,t)"),
        ],
        &curves,
        SeriesStyle::DashedLine,
        &[],
    )
}

/// P2 Fig. 3-style figure: singular values of W2W1(t), one panel per λ; the per-mode closed form
/// (`theory.md` §4.5) dotted, the singular values of the simulated W2W1 as markers.
pub fn fig3_figure(data: &Fig3Data) -> Figure {
    let panels = data
        .curves
        .iter()
        .map(|(lambda, theory, sim)| {
            let series =
                super::plot::theory_vs_markers(theory, sim, SeriesStyle::DashedLine, |i| format!("σ_{i} closed form"));
            Panel {
                title: if *lambda == 0.0 {
                    "λ = 0".into()
                } else {
                    format!("λ = ±{lambda} (same curves)")
                },
                x_label: "t".into(),
                y_label: "singular values of W2W1".into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    Figure {
        title: "λ-balanced 3-3-3, task s = (3, 2, 1), aligned init 1e-3: per-mode closed form (dashed) vs SVD of Tsit45 rtol 1e-10 (markers)".into(),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}

/// P2 Fig. 5-style figure: kernel distance S(0, t_end) against λ for funnel, square and inverted
/// funnel networks; closed form as lines, simulation as markers.
pub fn fig5_figure(data: &Fig5Data) -> Figure {
    let mut series = Vec::new();
    for (i, (name, theory, sim)) in data.curves.iter().enumerate() {
        series.push(Series {
            label: name.clone(),
            points: theory.iter().map(|r| (r[0], r[1])).collect(),
            style: SeriesStyle::Line,
            color_index: i,
        });
        series.push(Series {
            label: String::new(),
            points: sim.iter().map(|r| (r[0], r[1])).collect(),
            style: SeriesStyle::Markers,
            color_index: i,
        });
    }
    Figure {
        title: format!("Kernel distance S(0, t = {FIG5_T_END}) vs λ: closed form (lines), Tsit45 rtol 1e-10 (markers)"),
        panels: vec![Panel {
            title:
                "architecture (d_in, h, d_out) in the legend; task singular values (2, 1.5, 1), λ-balanced init σ = 0.1"
                    .into(),
            x_label: "λ".into(),
            y_label: "S(0, t_end)".into(),
            series,
            log_x: false,
            log_y: false,
            equal_aspect: false,
        }],
        columns: 1,
        panel_width: 900,
        panel_height: 500,
    }
}

/// Continual learning figure: loss on task 1 and on task 2 while training on task 1 (t ≤ t_s)
/// then on task 2; closed form restarted at the switch (dashed) vs one simulation (markers).
pub fn continual_figure(data: &ContData) -> Figure {
    let panel = |k: usize, title: &str| {
        let mut series = Vec::new();
        for (i, c) in data.curves.iter().enumerate() {
            series.push(Series {
                label: format!("λ = {} (forgetting {:.3})", c.lambda, c.forgetting),
                points: c.theory.iter().map(|r| (r[0], r[k])).collect(),
                style: SeriesStyle::DashedLine,
                color_index: i,
            });
            series.push(Series {
                label: String::new(),
                points: c.sim.iter().step_by(2).map(|r| (r[0], r[k])).collect(),
                style: SeriesStyle::Markers,
                color_index: i,
            });
        }
        Panel {
            title: title.into(),
            x_label: "t".into(),
            y_label: "loss (1/2P)Σ‖W2W1x − y‖²".into(),
            series,
            log_x: false,
            log_y: false,
            equal_aspect: false,
        }
    };
    Figure {
        title: format!(
            "Continual learning 5-5-5: task 1 for t ≤ {CONT_T_TASK}, then task 2; closed form (dashed), simulation (markers)"
        ),
        panels: vec![
            panel(1, "loss on task 1 (forgetting after the switch)"),
            panel(2, "loss on task 2"),
        ],
        columns: 2,
        panel_width: 620,
        panel_height: 420,
    }
}

/// P2 Fig. 4-style figure: heat maps of W1ᵀW1 (item × item) and W2W2ᵀ (feature × feature) of
/// the 8-item semantic task at t_end, closed form and simulation, one column per λ. Colour:
/// blue negative, white 0, red positive, scaled per panel by its max |entry| (printed).
///
/// # Errors
/// [`PlotError::Draw`] if the backend fails.
pub fn fig4_svg(data: &Fig4Data) -> Result<String, PlotError> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| PlotError::Draw(e.to_string());
    let cols = data.panels.len().max(1);
    let (pw, ph) = (300u32, 320u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (pw * cols as u32, ph * 4 + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let body = root
            .titled(
                &format!(
                    "Semantic task (8 items): representations at t = {FIG4_T_END}, closed form vs Tsit45 rtol 1e-12"
                ),
                ("sans-serif", 20),
            )
            .map_err(|e| err(&e))?;
        let areas = body.split_evenly((4, cols));
        for (c, p) in data.panels.iter().enumerate() {
            let mats = [
                (format!("λ = {}: W1ᵀW1 closed form", p.lambda), &p.w1tw1_theory),
                (format!("λ = {}: W1ᵀW1 simulation", p.lambda), &p.w1tw1_sim),
                (format!("λ = {}: W2W2ᵀ closed form", p.lambda), &p.w2w2t_theory),
                (format!("λ = {}: W2W2ᵀ simulation", p.lambda), &p.w2w2t_sim),
            ];
            for (r, (title, m)) in mats.iter().enumerate() {
                let area = &areas[r * cols + c];
                let scale = m.amax().max(f64::MIN_POSITIVE);
                let (n, k) = (m.nrows(), m.ncols());
                let mut chart = ChartBuilder::on(area)
                    .caption(format!("{title} (max {scale:.3})"), ("sans-serif", 13))
                    .margin(8)
                    .build_cartesian_2d(0f64..k as f64, 0f64..n as f64)
                    .map_err(|e| err(&e))?;
                chart
                    .draw_series((0..n).flat_map(|i| (0..k).map(move |j| (i, j))).map(|(i, j)| {
                        let v = (m[(i, j)] / scale).clamp(-1.0, 1.0);
                        let fade = |x: f64| (255.0 * (1.0 - x.abs())).round() as u8;
                        let color = if v >= 0.0 {
                            RGBColor(255, fade(v), fade(v))
                        } else {
                            RGBColor(fade(v), fade(v), 255)
                        };
                        let y0 = (n - 1 - i) as f64;
                        Rectangle::new([(j as f64, y0), (j as f64 + 1.0, y0 + 1.0)], color.filled())
                    }))
                    .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
