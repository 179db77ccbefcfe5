//! Work-precision tables (Markdown, CSV, JSON) and diagrams (SVG, log-log: true error against
//! median wall time, one panel per problem, one curve per solver).

use super::plot::{Figure, Panel, Series, SeriesStyle};
use crate::workprec::{GateResult, WpRow, time_at_error};

/// The first clause of a reference description (up to ';' or '(' or 60 characters).
fn short_ref(m: &str) -> String {
    let cut = m.find([';', '(']).unwrap_or(m.len());
    let s = m[..cut].trim();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s.to_string()
    }
}

fn sci(x: f64) -> String {
    if x.is_nan() { "NaN".into() } else { format!("{x:.3e}") }
}

/// CSV.
pub fn csv(rows: &[WpRow]) -> String {
    let mut out = String::from(
        "problem,solver,rtol,atol,error,median_s,min_s,repeats,steps,rhs_evals,jac_evals,lu_factorizations,ratio,note\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"\n",
            r.problem,
            r.solver,
            sci(r.rtol),
            sci(r.atol),
            sci(r.error),
            sci(r.median_s),
            sci(r.min_s),
            r.repeats,
            r.steps,
            r.rhs_evals,
            r.jac_evals,
            r.lu_factorizations,
            sci(r.ratio),
            r.note.replace('"', "'")
        ));
    }
    out
}

/// JSON.
pub fn json(rows: &[WpRow]) -> String {
    serde_json::to_string_pretty(rows).expect("invariant: rows serialize")
}

/// Markdown: the table, then per problem the time each solver needs to reach 1e-6 and 1e-9 true
/// error (log-log interpolation on its ladder) and the ratio of the best lazyrich solver to the
/// best peer, when peers were measured.
///
/// `refs` lists each problem's reference: (problem, how it was obtained, bound on its own error);
/// errors below a problem's bound are not resolved.
pub fn markdown(rows: &[WpRow], calib_s: f64, gate: &[GateResult], refs: &[(String, String, f64)]) -> String {
    let mut out = String::from("# Work-precision\n\n");
    out.push_str(&format!(
        "Calibration workload (fixed 64×64 matrix products): {} s (fastest run) on this machine; `ratio` = fastest \
         solve / calibration.\nError = max |y − y_ref| over output times and components (of the compared observable), \
         against each problem's reference below, not the tolerance.\n\n",
        sci(calib_s)
    ));
    if !refs.is_empty() {
        out.push_str("| problem | reference | bound on its error |\n|---|---|---|\n");
        for (p, m, b) in refs {
            out.push_str(&format!("| {p} | {m} | {} |\n", sci(*b)));
        }
        out.push('\n');
    }
    out.push_str(
        "| problem | solver | rtol | true error | median time (s) | steps | rhs | jac | LU | ratio | note |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.problem,
            r.solver,
            sci(r.rtol),
            sci(r.error),
            sci(r.median_s),
            r.steps,
            r.rhs_evals,
            r.jac_evals,
            r.lu_factorizations,
            sci(r.ratio),
            r.note
        ));
    }
    out.push_str(
        "\n## Time to reach a given true error\n\n| problem | target error | solver | time (s) |\n|---|---|---|---|\n",
    );
    let mut problems: Vec<&str> = Vec::new();
    for r in rows {
        if !problems.contains(&r.problem.as_str()) {
            problems.push(&r.problem);
        }
    }
    let mut comparisons = Vec::new();
    for p in &problems {
        let mut solvers: Vec<&str> = Vec::new();
        for r in rows.iter().filter(|r| r.problem == *p) {
            if !solvers.contains(&r.solver.as_str()) {
                solvers.push(&r.solver);
            }
        }
        for target in [1e-6, 1e-9] {
            let mut best_ours: Option<(f64, &str)> = None;
            let mut best_peer: Option<(f64, &str)> = None;
            for s in &solvers {
                let pts: Vec<&WpRow> = rows.iter().filter(|r| r.problem == *p && r.solver == *s).collect();
                if let Some(t) = time_at_error(&pts, target) {
                    out.push_str(&format!("| {p} | {} | {s} | {} |\n", sci(target), sci(t)));
                    let slot = if s.starts_with("lazyrich") {
                        &mut best_ours
                    } else {
                        &mut best_peer
                    };
                    if slot.is_none_or(|(bt, _)| t < bt) {
                        *slot = Some((t, s));
                    }
                }
            }
            if let (Some((to, so)), Some((tp, sp))) = (best_ours, best_peer) {
                comparisons.push(format!(
                    "| {p} | {} | {so} | {} | {sp} | {} | {} |\n",
                    sci(target),
                    sci(to),
                    sci(tp),
                    sci(to / tp)
                ));
            }
        }
    }
    if !comparisons.is_empty() {
        out.push_str("\n## lazyrich vs best peer at matching true error\n\n");
        out.push_str("| problem | error | best lazyrich | time (s) | best peer | time (s) | ratio lazyrich/peer |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for c in comparisons {
            out.push_str(&c);
        }
    }
    if !gate.is_empty() {
        let failed = gate.iter().filter(|g| !g.pass).count();
        out.push_str(&format!(
            "\n## Regression gate\n\n{} points compared with the baseline: {failed} slower than {}× (per-point limit); \
             geometric-mean slowdown {:.3} (limit {}).\n\n",
            gate.len(),
            crate::workprec::GATE_FACTOR,
            crate::workprec::geomean_slowdown(gate),
            crate::workprec::GATE_GEOMEAN
        ));
        out.push_str("| problem | solver | rtol | baseline ratio | measured ratio | slowdown | pass |\n|---|---|---|---|---|---|---|\n");
        for g in gate {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.2} | {} |\n",
                g.problem,
                g.solver,
                sci(g.rtol),
                sci(g.baseline),
                sci(g.measured),
                g.slowdown,
                if g.pass { "✅" } else { "❌" }
            ));
        }
    }
    out
}

/// The diagram: one log-log panel per problem, x = true error against that problem's reference,
/// y = median time. `refs` (problem, how its reference was obtained, bound) names the reference
/// in each panel's title; line style says lazyrich (solid), lazyrich with activation switches
/// located as events (`…-events`: dotted, in the colour of the same method without events) or
/// peer (dashed); colours are given in order of the methods present in a panel (a method and its
/// `-events` variant count once), so no two methods share a colour within a panel.
pub fn figure(rows: &[WpRow], refs: &[(String, String, f64)]) -> Figure {
    let mut problems: Vec<&str> = Vec::new();
    for r in rows {
        if !problems.contains(&r.problem.as_str()) {
            problems.push(&r.problem);
        }
    }
    let mut solvers: Vec<&str> = Vec::new();
    for r in rows {
        if !solvers.contains(&r.solver.as_str()) {
            solvers.push(&r.solver);
        }
    }
    let panels = problems
        .iter()
        .map(|p| {
            // Colours in order of the solvers present in this panel: distinct within it.
            let present: Vec<&str> = solvers
                .iter()
                .copied()
                .filter(|s| rows.iter().any(|r| r.problem == *p && r.solver == *s))
                .collect();
            let base = |s: &str| s.strip_suffix("-events").unwrap_or(s).to_string();
            let mut methods: Vec<String> = Vec::new();
            for s in &present {
                if !methods.contains(&base(s)) {
                    methods.push(base(s));
                }
            }
            let series = present
                .iter()
                .map(|s| (methods.iter().position(|m| *m == base(s)).unwrap_or(0), s))
                .flat_map(|(i, s)| {
                    let mut pts: Vec<(f64, f64)> = rows
                        .iter()
                        .filter(|r| r.problem == *p && r.solver == *s && r.error > 0.0 && r.median_s > 0.0)
                        .map(|r| (r.error, r.median_s))
                        .filter(|(e, t)| e.is_finite() && t.is_finite())
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    if pts.is_empty() {
                        return vec![];
                    }
                    let style = if !s.starts_with("lazyrich") {
                        SeriesStyle::DashedLine
                    } else if s.ends_with("-events") {
                        SeriesStyle::DottedLine
                    } else {
                        SeriesStyle::Line
                    };
                    vec![
                        Series {
                            label: (*s).into(),
                            points: pts.clone(),
                            style,
                            color_index: i,
                        },
                        Series {
                            label: String::new(),
                            points: pts,
                            style: SeriesStyle::Markers,
                            color_index: i,
                        },
                    ]
                })
                .collect();
            let reference = refs.iter().find(|(q, _, _)| q == p).map(|(_, m, _)| m.as_str());
            Panel {
                title: match reference {
                    Some(m) => format!("{p}; reference: {}", short_ref(m)),
                    None => (*p).into(),
                },
                x_label: "true error: max |y − y_ref| vs the reference".into(),
                y_label: "median time per solve (s)".into(),
                series,
                log_x: true,
                log_y: true,
                equal_aspect: false,
            }
        })
        .collect();
    Figure {
        title: "Work-precision: time to solution against true error".into(),
        panels,
        columns: 2,
        panel_width: 620,
        panel_height: 460,
    }
}
