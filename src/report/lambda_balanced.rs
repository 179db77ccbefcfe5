//! Figures for λ-balanced linear networks (P2): Fig. 2 (loss, network function and kernel
//! distance against t for λ ∈ {−2, 0, 2}), Fig. 3 (singular values of W2W1), Fig. 4
//! (representation similarity matrices of the semantic task), Fig. 5 (kernel distance vs λ and
//! architecture) and continual learning; theory dashed/lines, simulation as markers. Rendering
//! only: the data come from [`crate::verify::lambda_balanced`].

use super::plot::{Figure, SeriesStyle};
use super::plot::{Panel, PlotError, Series};
use super::{BoundLine, Curve, T_LABEL_P2, abs_errors, error_panel, rounding_gap};
use crate::verify::Row;
use crate::verify::lambda_balanced::Fig2Data;
use crate::verify::lambda_balanced::experiments::{
    CONT_T_TASK, ContData, FIG3_RTOL, FIG3_S, FIG4_T_END, FIG5_ARCHS, FIG5_RTOL, FIG5_T_END, Fig3Data, Fig4Data,
    Fig5Data, SIM_REL_TOL,
};

/// The bound and its kind (`bound_rigorous`) of the table row `check` for case `case`.
fn row_bound(rows: &[Row], check: &str, case: &str) -> Option<(f64, bool)> {
    row_of(rows, check, case).map(|r| (r.bound, r.bound_rigorous))
}

fn row_of<'a>(rows: &'a [Row], check: &str, case: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.check == check && r.case == case)
}

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
        (&[], ""),
        T_LABEL_P2,
    )
}

/// P2 Fig. 3-style figure: singular values of W2W1(t), one panel per λ; the per-mode closed form
/// (`docs/theory.md` §4.5) dashed, the singular values of the simulated W2W1 as markers; beneath
/// each, an error panel: |σ_i closed form − σ_i simulation| per singular value, with the
/// `LB-MODES` promise 1e-9·s₁ (at the figure's tolerance, the rows' rtol) as an estimated bound:
/// the `LB-MODES` rows prove their errors on other aligned cases, not on this run.
pub fn fig3_figure(data: &Fig3Data) -> Figure {
    let mut panels: Vec<Panel> = data
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
                x_label: T_LABEL_P2.into(),
                y_label: "singular values of W2W1".into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    let promise = SIM_REL_TOL * FIG3_S[0];
    let errors: Vec<Option<Panel>> = data
        .curves
        .iter()
        .map(|(_, theory, sim)| {
            let (errs, t_end) = super::column_errors(theory, sim);
            let line: Vec<BoundLine> = BoundLine::constant(promise, false, 6, (0.0, t_end))
                .into_iter()
                .collect();
            error_panel("|Δσ_i|", "LB-MODES", T_LABEL_P2, "error in σ_i", errs, &line)
        })
        .collect();
    if errors.iter().all(Option::is_some) {
        panels.extend(errors.into_iter().flatten());
    }
    Figure {
        title: format!(
            "λ-balanced 3-3-3, task s = (3, 2, 1), aligned init 1e-3: per-mode closed form (dashed) vs SVD of Tsit45 rtol {FIG3_RTOL:e} (markers)"
        ),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}

/// P2 Fig. 5-style figure: kernel distance S(0, t_end) against λ for funnel, square and inverted
/// funnel networks; closed form as lines, simulation as markers; beneath, |closed form −
/// simulation| against λ with each `LB-KDIST` row's bound from `rows` as a short dashed segment
/// at the row's λ, in the architecture's colour.
pub fn fig5_figure(data: &Fig5Data, rows: &[Row]) -> Figure {
    let mut series = Vec::new();
    let mut errors = Vec::new();
    let mut bounds = Vec::new();
    let mut row_errors = Vec::new();
    for (i, (name, theory, sim)) in data.curves.iter().enumerate() {
        let th: Vec<(f64, f64)> = theory.iter().map(|r| (r[0], r[1])).collect();
        let sm: Vec<(f64, f64)> = sim.iter().map(|r| (r[0], r[1])).collect();
        errors.push(Series {
            label: String::new(),
            points: abs_errors(&th, &sm),
            style: SeriesStyle::Line,
            color_index: i,
        });
        series.push(Series {
            label: name.clone(),
            points: th,
            style: SeriesStyle::Line,
            color_index: i,
        });
        series.push(Series {
            label: String::new(),
            points: sm,
            style: SeriesStyle::Markers,
            color_index: i,
        });
        let dims = FIG5_ARCHS.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
        // Each row bounds its own λ only: a short dashed segment there, not a line across λ, and
        // the row's own error (against the ball-arithmetic closed form, which its bound bounds)
        // as a marker on it; the lines are against the f64 closed form.
        let mut pts = Vec::new();
        for &[lambda, _] in sim {
            let Some((d_i, h, d_o)) = dims else { break };
            let case = format!("kdist_{d_i}_{h}_{d_o}_lambda{lambda:+}");
            if let Some(r) = row_of(rows, "LB-KDIST", &case) {
                bounds.extend(BoundLine::constant(
                    r.bound,
                    r.bound_rigorous,
                    i,
                    (lambda - 0.3, lambda + 0.3),
                ));
                if r.abs_err > 0.0 && r.abs_err.is_finite() {
                    pts.push((lambda, r.abs_err));
                }
            }
        }
        if !pts.is_empty() {
            row_errors.push(Series {
                label: String::new(),
                points: pts,
                style: SeriesStyle::Markers,
                color_index: i,
            });
        }
    }
    errors.extend(row_errors);
    let mut panels = vec![Panel {
        title: "architecture (d_in, h, d_out) in the legend; task singular values (2, 1.5, 1), λ-balanced init σ = 0.1"
            .into(),
        x_label: "λ (balance W2ᵀW2 − W1W1ᵀ = λI)".into(),
        y_label: "S(0, t_end)".into(),
        series,
        log_x: false,
        log_y: false,
        equal_aspect: false,
    }];
    panels.extend(error_panel(
        "|ΔS|: lines vs the f64 closed form, markers: rows vs the ball closed form",
        "LB-KDIST rows",
        "λ (balance W2ᵀW2 − W1W1ᵀ = λI)",
        "error in S",
        errors,
        &bounds,
    ));
    Figure {
        title: format!(
            "Kernel distance S(0, t = {FIG5_T_END}) vs λ: closed form (lines), Tsit45 rtol {FIG5_RTOL:e} (markers)"
        ),
        panels,
        columns: 1,
        panel_width: 900,
        panel_height: 440,
    }
}

/// Continual learning figure: loss on task 1 and on task 2 while training on task 1 (t ≤ t_s)
/// then on task 2; closed form restarted at the switch (dashed) vs one simulation (markers).
/// Beneath: |closed form − simulation| in the two losses (task 1 solid, task 2 dotted; no table
/// row bounds the loss), and in QQᵀ (max over entries, the quantity `LB-CONT` checks) with each
/// λ's `LB-CONT` bound from `rows` as a dashed line.
pub fn continual_figure(data: &ContData, rows: &[Row]) -> Figure {
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
            x_label: T_LABEL_P2.into(),
            y_label: "loss (1/2P)Σ‖W2W1x − y‖²".into(),
            series,
            log_x: false,
            log_y: false,
            equal_aspect: false,
        }
    };
    let mut panels = vec![
        panel(1, "loss on task 1 (forgetting after the switch)"),
        panel(2, "loss on task 2"),
    ];
    let t_end = 2.0 * CONT_T_TASK;
    let mut loss_errors = Vec::new();
    let mut qqt_errors = Vec::new();
    let mut bounds = Vec::new();
    for (i, c) in data.curves.iter().enumerate() {
        for (k, style) in [(1, SeriesStyle::Line), (2, SeriesStyle::DottedLine)] {
            let col = |rows: &[[f64; 3]]| -> Vec<(f64, f64)> { rows.iter().map(|r| (r[0], r[k])).collect() };
            loss_errors.push(Series {
                label: String::new(),
                points: abs_errors(&col(&c.theory), &col(&c.sim)),
                style,
                color_index: i,
            });
        }
        // Below f64 resolution of QQᵀ's entries: agreement to rounding, a gap.
        let resolution = f64::EPSILON * c.err_scale.1;
        let pts: Vec<(f64, f64)> = c
            .qqt_err
            .iter()
            .map(|r| (r[0], if r[1] > resolution { r[1] } else { f64::NAN }))
            .collect();
        qqt_errors.push(Series {
            label: String::new(),
            points: if pts.iter().all(|p| p.1.is_nan()) {
                Vec::new()
            } else {
                pts
            },
            style: SeriesStyle::Line,
            color_index: i,
        });
        let case = format!("continual_5_5_5_lambda{:+}", c.lambda);
        if let Some((b, r)) = row_bound(rows, "LB-CONT", &case) {
            bounds.extend(BoundLine::constant(b, r, i, (0.0, t_end)));
        }
    }
    panels.extend(error_panel(
        "|Δ loss|: task 1 solid, task 2 dotted (no row bounds it)",
        "",
        T_LABEL_P2,
        "error in the loss",
        loss_errors,
        &[],
    ));
    panels.extend(error_panel(
        "max |Δ QQᵀ| (the LB-CONT quantity)",
        "LB-CONT",
        T_LABEL_P2,
        "max-entry error in QQᵀ",
        qqt_errors,
        &bounds,
    ));
    Figure {
        title: format!(
            "Continual learning 5-5-5: task 1 for t ≤ {CONT_T_TASK}, then task 2; closed form (dashed), simulation (markers)"
        ),
        panels,
        columns: 2,
        panel_width: 620,
        panel_height: 420,
    }
}

/// P2 Fig. 4-style figure: heat maps of W1ᵀW1 (item × item) and W2W2ᵀ (feature × feature) of
/// the 8-item semantic task at t_end, closed form and simulation, one column per λ. Colour:
/// blue negative, white 0, red positive, on one symmetric scale per matrix (shared by closed
/// form and simulation and across λ, so the panels compare), shown by a colour bar per matrix
/// with labelled ends. Square cells; items i1…i8 and features f1…f8 labelled. Beneath, an error
/// panel: |closed form − simulation| per matrix entry (W1ᵀW1's 64 entries, then W2W2ᵀ's, per λ)
/// on a log axis, with each λ's `LB-RSM` bound from `rows` as a dashed line over its entries;
/// entries equal to rounding are counted in the panel title.
///
/// # Errors
/// [`PlotError::Draw`] if the backend fails.
pub fn fig4_svg(data: &Fig4Data, rows: &[Row]) -> Result<String, PlotError> {
    use super::plot::{SCALE, display_size, px};
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let err = |e: &dyn std::fmt::Display| PlotError::Draw(e.to_string());
    let cols = data.panels.len().max(1) as i32;
    let (pw, ph, bar_w, title_h) = (px(250), px(250), px(110), px(40));
    let error_h = px(340);
    let (w, h) = (pw * cols + bar_w, ph * 4 + title_h + error_h);
    let scale_of = |f: &dyn Fn(&super::super::verify::lambda_balanced::experiments::Fig4Panel) -> f64| {
        data.panels.iter().map(f).fold(f64::MIN_POSITIVE, f64::max)
    };
    let s_in = scale_of(&|p| p.w1tw1_theory.amax().max(p.w1tw1_sim.amax()));
    let s_out = scale_of(&|p| p.w2w2t_theory.amax().max(p.w2w2t_sim.amax()));
    let colour = |v: f64| {
        let v = v.clamp(-1.0, 1.0);
        let fade = |x: f64| (255.0 * (1.0 - x.abs())).round() as u8;
        if v >= 0.0 {
            RGBColor(255, fade(v), fade(v))
        } else {
            RGBColor(fade(v), fade(v), 255)
        }
    };
    let font = |size: i32| ("sans-serif", f64::from(px(size)) * 1.24).into_font().color(&BLACK);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w as u32, h as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        root.draw(&Text::new(
            format!("Semantic task (8 items): representations at t = {FIG4_T_END}, closed form vs Tsit45 rtol 1e-12"),
            (w / 2, px(10)),
            font(18).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(|e| err(&e))?;
        for (c, p) in data.panels.iter().enumerate() {
            let mats = [
                (
                    format!("λ = {}: W1ᵀW1, closed form", p.lambda),
                    &p.w1tw1_theory,
                    s_in,
                    "i",
                ),
                (format!("λ = {}: W1ᵀW1, simulation", p.lambda), &p.w1tw1_sim, s_in, "i"),
                (
                    format!("λ = {}: W2W2ᵀ, closed form", p.lambda),
                    &p.w2w2t_theory,
                    s_out,
                    "f",
                ),
                (format!("λ = {}: W2W2ᵀ, simulation", p.lambda), &p.w2w2t_sim, s_out, "f"),
            ];
            for (r, (title, m, scale, tag)) in mats.iter().enumerate() {
                let (x0, y0) = (pw * c as i32, title_h + ph * r as i32);
                let (n, k) = (m.nrows() as i32, m.ncols() as i32);
                let (left, top, bottom) = (px(30), px(26), px(22));
                let cell = ((pw - left - px(10)) / k.max(1)).min((ph - top - bottom) / n.max(1));
                let (gx, gy) = (x0 + left, y0 + top);
                root.draw(&Text::new(
                    title.clone(),
                    (x0 + left + cell * k / 2, y0 + px(6)),
                    font(13).pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(|e| err(&e))?;
                for i in 0..n {
                    for j in 0..k {
                        let v = m[(i as usize, j as usize)] / scale;
                        root.draw(&Rectangle::new(
                            [
                                (gx + j * cell, gy + i * cell),
                                (gx + (j + 1) * cell, gy + (i + 1) * cell),
                            ],
                            colour(v).filled(),
                        ))
                        .map_err(|e| err(&e))?;
                    }
                }
                root.draw(&Rectangle::new(
                    [(gx, gy), (gx + k * cell, gy + n * cell)],
                    BLACK.mix(0.5).stroke_width(SCALE),
                ))
                .map_err(|e| err(&e))?;
                for i in 0..n.max(k) {
                    let label = format!("{tag}{}", i + 1);
                    if i < n {
                        root.draw(&Text::new(
                            label.clone(),
                            (gx - px(4), gy + i * cell + cell / 2),
                            font(10).pos(Pos::new(HPos::Right, VPos::Center)),
                        ))
                        .map_err(|e| err(&e))?;
                    }
                    if i < k {
                        root.draw(&Text::new(
                            label,
                            (gx + i * cell + cell / 2, gy + n * cell + px(4)),
                            font(10).pos(Pos::new(HPos::Center, VPos::Top)),
                        ))
                        .map_err(|e| err(&e))?;
                    }
                }
            }
        }
        // One colour bar per matrix (rows 0–1: W1ᵀW1, rows 2–3: W2W2ᵀ).
        for (b, (scale, what)) in [(s_in, "W1ᵀW1 entry"), (s_out, "W2W2ᵀ entry")].iter().enumerate() {
            let x0 = pw * cols + px(14);
            let y0 = title_h + ph * 2 * b as i32 + px(40);
            let (bw, bh) = (px(18), ph * 2 - px(90));
            let steps = 100;
            for s in 0..steps {
                let v = 1.0 - 2.0 * (f64::from(s) + 0.5) / f64::from(steps);
                let ya = y0 + bh * s / steps;
                let yb = y0 + bh * (s + 1) / steps;
                root.draw(&Rectangle::new([(x0, ya), (x0 + bw, yb)], colour(v).filled()))
                    .map_err(|e| err(&e))?;
            }
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + bw, y0 + bh)],
                BLACK.mix(0.5).stroke_width(SCALE),
            ))
            .map_err(|e| err(&e))?;
            for (f, text) in [
                (0.0, format!("+{scale:.3}")),
                (0.5, "0".to_string()),
                (1.0, format!("−{scale:.3}")),
            ] {
                let y = y0 + (f64::from(bh) * f) as i32;
                root.draw(&PathElement::new(
                    vec![(x0 + bw, y), (x0 + bw + px(4), y)],
                    BLACK.stroke_width(SCALE),
                ))
                .map_err(|e| err(&e))?;
                root.draw(&Text::new(
                    text,
                    (x0 + bw + px(6), y),
                    font(11).pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(|e| err(&e))?;
            }
            root.draw(&Text::new(
                (*what).to_string(),
                (x0, y0 - px(16)),
                font(11).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(|e| err(&e))?;
        }
        let (_, strip) = root.split_vertically(ph * 4 + title_h);
        if let Some(panel) = fig4_error_panel(data, rows) {
            super::plot::draw_panel(&strip.margin(px(6), 0, 0, 0), &panel)?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(display_size(svg))
}

/// The error panel of [`fig4_svg`].
fn fig4_error_panel(data: &Fig4Data, rows: &[Row]) -> Option<Panel> {
    let (mut errors, mut bounds) = (Vec::new(), Vec::new());
    let (mut at_rounding, mut total) = (0usize, 0usize);
    let mut x0 = 0.0;
    for (i, p) in data.panels.iter().enumerate() {
        // Against the ball closed form's midpoints (what the row's proven bound bounds) when it
        // exists, else against the f64 closed form; gaps below f64 resolution are not drawn.
        let pairs = [(&p.w1tw1_theory, &p.w1tw1_sim), (&p.w2w2t_theory, &p.w2w2t_sim)];
        let diffs: Vec<f64> = match &p.reference_gap {
            Ok((g1, g2)) => [(g1, &p.w1tw1_sim), (g2, &p.w2w2t_sim)]
                .iter()
                .flat_map(|(g, sm)| {
                    g.transpose()
                        .iter()
                        .zip(sm.transpose().iter())
                        .map(|(e, s)| {
                            // rounding_gap's resolution test, on the gap itself (adding it to s
                            // and subtracting again would round it).
                            let resolution = f64::EPSILON * s.abs().max(1e-3);
                            if *e > resolution && e.is_finite() { *e } else { f64::NAN }
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            Err(_) => pairs
                .iter()
                .flat_map(|(th, sm)| {
                    th.transpose()
                        .iter()
                        .zip(sm.transpose().iter())
                        .map(|(a, b)| rounding_gap(*a, *b))
                        .collect::<Vec<_>>()
                })
                .collect(),
        };
        total += diffs.len();
        at_rounding += diffs.iter().filter(|d| d.is_nan()).count();
        let n = diffs.len() as f64;
        errors.push(Series {
            label: format!("λ = {}", p.lambda),
            points: diffs
                .iter()
                .enumerate()
                .map(|(k, d)| (x0 + 1.0 + k as f64, *d))
                .collect(),
            style: SeriesStyle::Markers,
            color_index: i,
        });
        let case = format!("semantic_8_8_8_lambda{:+}", p.lambda);
        if let Some((b, r)) = row_bound(rows, "LB-RSM", &case) {
            bounds.extend(BoundLine::constant(b, r, i, (x0 + 1.0, x0 + n)));
        }
        x0 += n;
    }
    let rounding = if at_rounding > 0 {
        format!(" ({at_rounding}/{total} at rounding, not drawn)")
    } else {
        String::new()
    };
    error_panel(
        &format!("|closed form − sim.| per entry, t = {FIG4_T_END}{rounding}"),
        "LB-RSM",
        "entry index (per λ: W1ᵀW1 row by row, then W2W2ᵀ; dimensionless)",
        "error in the entry",
        errors,
        &bounds,
    )
}
