//! Layer 5: rendering only — verification tables (rigorous and estimated bounds, each labelled) as Markdown, CSV and JSON, and SVG figures.
//! No numerics and no solver calls; output is deterministic so that tables diff cleanly.

pub mod heatmap;
pub mod implicit_bias;
pub mod lambda_balanced;
pub mod lambda_balanced_apps;
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

/// The bounds of one [`Curve`] for its three quantities: (bound, proven?) or none.
pub type CurveBounds = [Option<(f64, bool)>; 3];

/// Horizontal-axis label of gradient-flow time for the P1 wide linear net (Theorem 4.2 figure):
/// dimensionless, the learning rates η_a, η_w of each case in its panel title.
pub const T_LABEL_P1: &str = "t (gradient-flow time; η_a, η_w as in the panel title)";
/// Horizontal-axis label of gradient-flow time for P2's λ-balanced flows τ dW/dt = −∂L/∂W, all
/// run with τ = 1.
pub const T_LABEL_P2: &str = "t / τ (gradient-flow time, τ = 1)";

/// A bound drawn in an error panel: a dashed line of colour `color` through `points`
/// (`(x, bound)`; two points for a constant bound), proven (`rigorous`) or estimated.
#[derive(Debug, Clone)]
pub struct BoundLine {
    /// The line's points.
    pub points: Vec<(f64, f64)>,
    /// Whether the bound is proven (the table row's `bound_rigorous`).
    pub rigorous: bool,
    /// Palette index (the colour of the curve it bounds, or black for a shared bound).
    pub color: usize,
}

impl BoundLine {
    /// A constant bound `value` over `x0..=x1`; `None` unless `value` is positive and finite.
    pub fn constant(value: f64, rigorous: bool, color: usize, (x0, x1): (f64, f64)) -> Option<Self> {
        (value > 0.0 && value.is_finite()).then(|| Self {
            points: vec![(x0, value), (x1, value)],
            rigorous,
            color,
        })
    }
}

/// An error panel, the one every theory-vs-simulation figure draws beneath its curves: the
/// `errors` (from [`abs_errors`]; solid, on a log vertical axis) and the `bounds` as dashed lines;
/// the title gets "; dashed: proven bound (source)" or "estimated bound" as the bounds are proven
/// or not (see [`bound_kind`]); when every error is at rounding level the title says so. `None`
/// when there is nothing to draw (every error at rounding level and no bound).
pub fn error_panel(
    title: &str,
    source: &str,
    x_label: &str,
    y_label: &str,
    errors: Vec<Series>,
    bounds: &[BoundLine],
) -> Option<Panel> {
    let given = !errors.is_empty();
    let mut series: Vec<Series> = errors.into_iter().filter(|s| !s.points.is_empty()).collect();
    // Every difference at rounding level: say so, rather than show a bound over nothing.
    let note = if given && series.is_empty() {
        " (agree to rounding everywhere)"
    } else {
        ""
    };
    series.extend(bounds.iter().map(|b| Series {
        label: String::new(),
        points: b.points.clone(),
        style: SeriesStyle::DashedLine,
        color_index: b.color,
    }));
    if series.is_empty() {
        return None;
    }
    Some(Panel {
        title: format!("{title}{note}{}", bound_kind(bounds, source)),
        x_label: x_label.into(),
        y_label: y_label.into(),
        series,
        log_x: false,
        log_y: true,
        equal_aspect: false,
    })
}

/// Three panels of t-curves, one curve per parameter value: theory as lines (`theory_style`),
/// simulation as markers of the same colour; beneath each, an [`error_panel`]: |theory −
/// simulation| at the simulated times, with the bound for that curve and quantity as a dashed
/// line when `bounds[curve][k]` gives one (the bound and whether it is proven). Rows are
/// `[t, q1, q2, q3]`; `names` gives each panel's (title, y label); `source` names where the
/// bounds come from; `t_label` is the time axis' label.
pub fn theory_vs_simulation(
    title: String,
    names: [(&str, &str); 3],
    curves: &[Curve<'_>],
    theory_style: SeriesStyle,
    (bounds, source): (&[CurveBounds], &str),
    t_label: &str,
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
                x_label: t_label.into(),
                y_label: (*ylab).into(),
                series,
                log_x: false,
                log_y: false,
                equal_aspect: false,
            }
        })
        .collect();
    let t_end = curves
        .iter()
        .flat_map(|(_, th, _)| th.last().map(|r| r[0]))
        .fold(0.0f64, f64::max);
    let error_panels: Vec<Option<Panel>> = names
        .iter()
        .enumerate()
        .map(|(k, (_, ylab))| {
            let col = |rows: &[[f64; 4]]| -> Vec<(f64, f64)> { rows.iter().map(|r| (r[0], r[k + 1])).collect() };
            let errors = curves
                .iter()
                .enumerate()
                .map(|(i, (_, theory, sim))| Series {
                    label: String::new(),
                    points: abs_errors(&col(theory), &col(sim)),
                    style: SeriesStyle::Line,
                    color_index: i,
                })
                .collect();
            let lines: Vec<BoundLine> = (0..curves.len())
                .filter_map(|i| {
                    let (b, rigorous) = bounds.get(i).and_then(|b| b[k])?;
                    BoundLine::constant(b, rigorous, i, (0.0, t_end))
                })
                .collect();
            let no_bound = if lines.is_empty() { " (no row bounds it)" } else { "" };
            error_panel(
                &format!("|theory − sim.| in {ylab}{no_bound}"),
                source,
                t_label,
                &format!("error in {ylab}"),
                errors,
                &lines,
            )
        })
        .collect();
    if error_panels.iter().all(Option::is_some) {
        panels.extend(error_panels.into_iter().flatten());
    }
    Figure {
        title,
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 380,
    }
}

/// The panel-title suffix for the dashed bound lines of an error panel: "proven bound" when
/// every bound is proven (the table rows' `bound_rigorous`), "estimated bound" when none is, with
/// its value when all lines are at one level, followed by where the bounds come from (`source`,
/// e.g. a check id); empty without bounds.
pub fn bound_kind(bounds: &[BoundLine], source: &str) -> String {
    if bounds.is_empty() {
        return String::new();
    }
    let what = if bounds.iter().all(|b| b.rigorous) {
        "proven bound"
    } else if bounds.iter().any(|b| b.rigorous) {
        "proven or estimated bounds (see the table)"
    } else {
        "estimated bound"
    };
    let levels: Vec<f64> = bounds
        .iter()
        .flat_map(|b| b.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .collect();
    let value = match levels.first() {
        Some(&v) if levels.iter().all(|w| *w == v) => format!(" {v:.1e}"),
        _ => String::new(),
    };
    if source.is_empty() {
        format!("; dashed: {what}{value}")
    } else {
        format!("; dashed: {what}{value}, {source}")
    }
}

/// Per-column error curves of two tables whose rows are `[t, v_1, …, v_k]` (theory on a fine grid,
/// simulation on a coarser one): one solid [`abs_errors`] series per column, coloured by column,
/// and the theory's last time (for bound lines across the panel).
pub fn column_errors(theory: &[Vec<f64>], sim: &[Vec<f64>]) -> (Vec<Series>, f64) {
    let k = theory.first().map_or(0, |r| r.len() - 1);
    let t_end = theory.last().map_or(1.0, |r| r[0]);
    let col = |rows: &[Vec<f64>], i: usize| -> Vec<(f64, f64)> { rows.iter().map(|r| (r[0], r[i])).collect() };
    let errs = (1..=k)
        .map(|i| Series {
            label: String::new(),
            points: abs_errors(&col(theory, i), &col(sim, i)),
            style: SeriesStyle::Line,
            color_index: i - 1,
        })
        .collect();
    (errs, t_end)
}

/// |theory − simulation| at each simulated point whose x is also a theory x (equal to 1e-9
/// relative); a difference below f64 resolution (ε·max(|value|, 1e-3), e.g. at t = 0) becomes a
/// NaN point, which breaks the line there (zero cannot be drawn on a log axis, and a line must not
/// bridge the stretch where the two agree to rounding). Empty when every difference is at
/// rounding level.
pub fn abs_errors(theory: &[(f64, f64)], sim: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = sim
        .iter()
        .filter_map(|&(x, s)| {
            let th = theory.iter().find(|r| (r.0 - x).abs() <= 1e-9 * x.abs().max(1.0))?.1;
            Some((x, rounding_gap(th, s)))
        })
        .collect();
    if pts.iter().all(|p| p.1.is_nan()) {
        Vec::new()
    } else {
        pts
    }
}

/// |a − b|, or NaN when the difference is below f64 resolution (ε·max(|a|, |b|, 1e-3)) or not
/// finite: the value an error panel leaves out (see [`abs_errors`]).
pub fn rounding_gap(a: f64, b: f64) -> f64 {
    let e = (a - b).abs();
    let resolution = f64::EPSILON * a.abs().max(b.abs()).max(1e-3);
    if e > resolution && e.is_finite() { e } else { f64::NAN }
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
    let bounds: Vec<CurveBounds> = data.proven_bounds.iter().map(|b| b.map(|v| Some((v, true)))).collect();
    theory_vs_simulation(
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
        (&bounds, "this run"),
        "t (gradient-flow time, η = 1)",
    )
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
                x_label: T_LABEL_P1.into(),
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
        let (errors, t_end) = column_errors(theory, sim);
        let lines: Vec<BoundLine> = bound
            .and_then(|(b, rigorous)| BoundLine::constant(b, rigorous, 6, (0.0, t_end)))
            .into_iter()
            .collect();
        panels.extend(error_panel(
            "|Δσ_i|",
            "WL-T42",
            T_LABEL_P1,
            "error in σ_i",
            errors,
            &lines,
        ));
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
