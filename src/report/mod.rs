//! Layer 5: rendering only — verification tables (rigorous and estimated bounds, each labelled) as Markdown, CSV and JSON, and SVG figures.
//! No numerics and no solver calls; output is deterministic so that tables diff cleanly.

pub mod heatmap;
pub mod implicit_bias;
pub mod lambda_balanced;
pub mod page;
pub mod plot;
pub mod sweep;
pub mod table;
pub mod workprec;

use crate::verify::Row;
use crate::verify::single_neuron::Fig3Data;
use plot::{Figure, Panel, Series, SeriesStyle};

/// One curve of [`theory_vs_simulation`]: (label, theory rows, simulation rows), rows `[t, q1, q2, q3]`.
pub type Curve<'a> = (String, &'a [[f64; 4]], &'a [[f64; 4]]);

/// Three panels of t-curves, one curve per parameter value: theory as lines (`theory_style`),
/// simulation as markers of the same colour; beneath each, an error panel: |theory − simulation|
/// at the simulated times (log axis), with the bound the table promises for that curve and
/// quantity as a dashed line when `bounds[curve][k]` gives one (the bound and whether the table
/// row proves it: the panel title says "proven" or "estimate"). Rows are `[t, q1, q2, q3]`;
/// `names` gives each panel's (title, y label).
pub fn theory_vs_simulation(
    title: String,
    names: [(&str, &str); 3],
    curves: &[Curve<'_>],
    theory_style: SeriesStyle,
    bounds: &[[Option<(f64, bool)>; 3]],
) -> Figure {
    let mut panels: Vec<Panel> = names
        .iter()
        .enumerate()
        .map(|(k, (ptitle, ylab))| {
            let mut series = Vec::new();
            for (i, (label, theory, sim)) in curves.iter().enumerate() {
                series.push(Series {
                    label: label.clone(),
                    points: theory.iter().map(|r| (r[0], r[k + 1])).collect(),
                    style: theory_style,
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
                title: (*ptitle).into(),
                x_label: "t".into(),
                y_label: (*ylab).into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    let error_panels = names.iter().enumerate().map(|(k, (_, ylab))| {
        let mut series = Vec::new();
        let t_end = curves
            .iter()
            .flat_map(|(_, th, _)| th.last().map(|r| r[0]))
            .fold(0.0f64, f64::max);
        for (i, (_, theory, sim)) in curves.iter().enumerate() {
            series.push(Series {
                label: String::new(),
                points: error_points(theory, sim, k + 1),
                style: SeriesStyle::Line,
                color_index: i,
            });
            if let Some((b, _)) = bounds.get(i).and_then(|b| b[k]).filter(|b| b.0 > 0.0) {
                series.push(Series {
                    label: String::new(),
                    points: vec![(0.0, b), (t_end, b)],
                    style: SeriesStyle::DashedLine,
                    color_index: i,
                });
            }
        }
        Panel {
            title: format!(
                "|theory − simulation| in {ylab}{}",
                bound_kind(bounds.iter().filter_map(|b| b[k]))
            ),
            x_label: "t".into(),
            y_label: format!("error in {ylab}"),
            series,
            log_x: false,
            log_y: true,
            equal_aspect: false,
        }
    });
    let error_panels: Vec<Panel> = error_panels.collect();
    let has_errors = error_panels
        .iter()
        .all(|p| p.series.iter().any(|s| !s.points.is_empty()));
    if has_errors {
        panels.extend(error_panels);
    }
    Figure {
        title,
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 380,
    }
}

/// The panel-title suffix for the dashed bound lines: whether the table rows prove them.
fn bound_kind(bounds: impl Iterator<Item = (f64, bool)>) -> &'static str {
    let kinds: Vec<bool> = bounds.map(|b| b.1).collect();
    if kinds.is_empty() {
        ""
    } else if kinds.iter().all(|k| *k) {
        "; dashed: table bound (proven)"
    } else if kinds.iter().any(|k| *k) {
        "; dashed: table bound (proven or estimate, see the table)"
    } else {
        "; dashed: table bound (estimate)"
    }
}

/// |theory − simulation| in column `k` at each simulated time that is also a theory time (equal
/// to 1e-9 relative); a difference below f64 resolution (ε·max(|value|, 1e-3), e.g. at t = 0)
/// becomes a NaN point, which breaks the line there (zero cannot be drawn on a log axis, and a
/// line must not bridge the stretch where the two agree to rounding).
fn error_points(theory: &[[f64; 4]], sim: &[[f64; 4]], k: usize) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = sim
        .iter()
        .filter_map(|s| {
            let th = theory
                .iter()
                .find(|r| (r[0] - s[0]).abs() <= 1e-9 * s[0].abs().max(1.0))?;
            let e = (th[k] - s[k]).abs();
            let resolution = f64::EPSILON * th[k].abs().max(s[k].abs()).max(1e-3);
            Some((s[0], if e > resolution && e.is_finite() { e } else { f64::NAN }))
        })
        .collect();
    if pts.iter().all(|p| p.1.is_nan()) {
        Vec::new()
    } else {
        pts
    }
}

/// P1 Fig. 3 reproduction: μ, φ and S(0,t) against t for each δ; theory as lines, simulation as
/// markers (same colour per δ); beneath, the error against t with this simulation's proven bound
/// (its distance to the validated enclosure of the exact flow, max over t) as a dashed line.
pub fn fig3_figure(data: &Fig3Data) -> Figure {
    use crate::verify::single_neuron::FIG3_RTOL;
    let curves: Vec<Curve<'_>> = data
        .curves
        .iter()
        .map(|(delta, theory, sim)| (format!("δ = {delta}"), theory.as_slice(), sim.as_slice()))
        .collect();
    let bounds: Vec<[Option<(f64, bool)>; 3]> = data.proven_bounds.iter().map(|b| b.map(|v| Some((v, true)))).collect();
    let mut fig = theory_vs_simulation(
        format!(
            "Single neuron, P1 Fig. 3 setup: closed form (lines) vs gradient flow, BDF rtol {FIG3_RTOL:e} (markers)"
        ),
        [
            ("μ(t) = a‖w‖", "μ"),
            ("φ(t) = cos∠(w, β*)", "φ"),
            ("kernel distance S(0,t)", "S(0,t)"),
        ],
        &curves,
        SeriesStyle::Line,
        &bounds,
    );
    for p in &mut fig.panels {
        // This run's own proven bound (max over t), not a table row's: say so, briefly.
        p.title = p
            .title
            .replace("|theory − simulation|", "|theory − sim.|")
            .replace("table bound (proven)", "proven bound");
    }
    fig
}

/// The report's front page (Markdown): what was checked, per check and per regime how many rows
/// passed and the worst margin (error / promised bound), and links to the tables and figures.
pub fn summary(title: &str, rows: &[Row], figures: &[&str]) -> String {
    let mut out = format!("# {title}\n\n");
    out.push_str(&crate::verify::Headline::of(rows).sentence());
    out.push_str(
        "\n\nEvery row compares a computed value with a reference that carries its own error bound \
         (`ref_method`: how it was obtained; `ref_rigorous`: whether it is a proof), and states the bound it \
         promises and why (`bound_why`; `bound_rigorous`: whether the bound is proven or an estimate). `margin` = \
         max error / (bound + reference bound); a row passes when it is ≤ 1. Only rows with `bound_rigorous` are \
         certified. Check ids are described in `verification/README.md`.\n\n",
    );
    out.push_str("Tables: [table.md](table.md), [table.csv](table.csv), [table.json](table.json).\n\n");
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.check.clone(), r.regime.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    out.push_str("| check | regime | rows | failed | worst margin |\n|---|---|---|---|---|\n");
    for (c, g) in &keys {
        let rs: Vec<&Row> = rows.iter().filter(|r| &r.check == c && &r.regime == g).collect();
        let f = rs.iter().filter(|r| !r.pass).count();
        let worst = rs
            .iter()
            .map(|r| r.margin)
            .fold(0.0f64, |a, b| if b.is_nan() { f64::NAN } else { a.max(b) });
        out.push_str(&format!("| {c} | {g} | {} | {f} | {worst:.3e} |\n", rs.len()));
    }
    if !figures.is_empty() {
        out.push_str("\n## Figures\n\n");
        for f in figures {
            out.push_str(&format!("![{f}]({f})\n\n"));
        }
    }
    out
}

/// P1 Theorem 4.2 check figure: singular values of β(t) (d = 3, c = 2) in the three δ regimes;
/// the Theorem 4.2 β flow as lines, the parameter flow β = WᵀA as markers; beneath each, the
/// difference of the singular values (log axis) with the WL-T42 row's bound for that case
/// (Tsit45 at the same rtol) as a dashed line, when `rows` has it.
pub fn thm42_figure(data: &crate::verify::wide_linear::Thm42FigData, rows: &[Row]) -> Figure {
    use crate::verify::wide_linear::{THM42_FIG_CASES, THM42_FIG_RTOL};
    let mut panels: Vec<Panel> = data
        .curves
        .iter()
        .map(|(label, theory, sim)| {
            let series = plot::theory_vs_markers(theory, sim, SeriesStyle::Line, |i| format!("σ_{i} (Thm 4.2)"));
            Panel {
                title: label.clone(),
                x_label: "t".into(),
                y_label: "singular values of β".into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    for (c, (_, theory, sim)) in data.curves.iter().enumerate() {
        let bound = THM42_FIG_CASES.get(c).and_then(|case| {
            rows.iter()
                .find(|r| {
                    r.check == "WL-T42"
                        && r.case == *case
                        && r.method == "tsit45"
                        && r.tolerance.is_some_and(|t| (t / THM42_FIG_RTOL - 1.0).abs() < 1e-9)
                })
                .map(|r| (r.bound, r.bound_rigorous))
        });
        let k = theory.first().map_or(0, |r| r.len() - 1);
        let t_end = theory.last().map_or(1.0, |r| r[0]);
        let mut series: Vec<Series> = (1..=k)
            .map(|i| {
                let pad =
                    |rows: &[Vec<f64>]| -> Vec<[f64; 4]> { rows.iter().map(|r| [r[0], r[i], 0.0, 0.0]).collect() };
                Series {
                    label: String::new(),
                    points: error_points(&pad(theory), &pad(sim), 1),
                    style: SeriesStyle::Line,
                    color_index: i - 1,
                }
            })
            .collect();
        if let Some((b, _)) = bound.filter(|b| b.0 > 0.0) {
            series.push(Series {
                label: String::new(),
                points: vec![(0.0, b), (t_end, b)],
                style: SeriesStyle::DashedLine,
                color_index: 6,
            });
        }
        if series.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        panels.push(Panel {
            title: format!("|Δσ_i|, Thm 4.2 vs param. flow{}", bound_kind(bound.into_iter()))
                .replace("; dashed: table bound", "; dashed: WL-T42"),
            x_label: "t".into(),
            y_label: "error".into(),
            series,
            log_x: false,
            log_y: true,
            equal_aspect: false,
        });
    }
    Figure {
        title: format!(
            "Wide linear net (d = 3, c = 2): Theorem 4.2 β flow (lines) vs parameter flow (markers), tsit45 rtol {THM42_FIG_RTOL:e}"
        ),
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 380,
    }
}
