//! Layer 5: rendering only — certified tables as Markdown, CSV and JSON, and SVG figures.
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
/// simulation as markers of the same colour. Rows are `[t, q1, q2, q3]`; `names` gives each
/// panel's (title, y label).
pub fn theory_vs_simulation(
    title: String,
    names: [(&str, &str); 3],
    curves: &[Curve<'_>],
    theory_style: SeriesStyle,
) -> Figure {
    let panels = names
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
    Figure {
        title,
        panels,
        columns: 3,
        panel_width: 520,
        panel_height: 400,
    }
}

/// P1 Fig. 3 reproduction: μ, φ and S(0,t) against t for each δ; theory as lines, simulation as
/// markers (same colour per δ).
pub fn fig3_figure(data: &Fig3Data) -> Figure {
    let curves: Vec<Curve<'_>> = data
        .curves
        .iter()
        .map(|(delta, theory, sim)| (format!("δ = {delta}"), theory.as_slice(), sim.as_slice()))
        .collect();
    theory_vs_simulation(
        "Single neuron, P1 Fig. 3 setup: theory (lines) vs gradient flow, BDF rtol 1e-8 (markers)".into(),
        [
            ("μ(t) = a‖w‖", "μ"),
            ("φ(t) = cos∠(w, β*)", "φ"),
            ("kernel distance S(0,t)", "S(0,t)"),
        ],
        &curves,
        SeriesStyle::Line,
    )
}

/// The report's front page (Markdown): what was checked, per check and per regime how many rows
/// passed and the worst margin (error / promised bound), and links to the tables and figures.
pub fn summary(title: &str, rows: &[Row], figures: &[&str]) -> String {
    let mut out = format!("# {title}\n\n");
    let failed = rows.iter().filter(|r| !r.pass).count();
    out.push_str(&format!(
        "{} rows, {} passed, {} failed. Every row compares a computed value with a reference that carries its own \
         error bound (`ref_method`: how it was obtained; `ref_rigorous`: whether it is a proof), and states the bound \
         it promises and why (`bound_why`). `margin` = max error / (bound + reference bound); a row passes when it is \
         ≤ 1. Check ids are described in `verification/README.md`.\n\n",
        rows.len(),
        rows.len() - failed,
        failed
    ));
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
/// the Theorem 4.2 β flow as lines, the parameter flow β = WᵀA as markers.
pub fn thm42_figure(data: &crate::verify::wide_linear::Thm42FigData) -> Figure {
    let panels = data
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
