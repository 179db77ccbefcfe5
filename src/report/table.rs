//! Verification tables (each row says whether its reference and its bound are proven): Markdown, CSV and JSON renderings of [`Row`]s.

use crate::verify::Row;

/// Column names, in order (the CSV header and the Markdown header).
pub const COLUMNS: [&str; 20] = [
    "check",
    "family",
    "case",
    "regime",
    "method",
    "tolerance",
    "quantity",
    "abs_err",
    "rel_err",
    "ref_bound",
    "ref_method",
    "ref_rigorous",
    "bound_rigorous",
    "drift",
    "bound",
    "bound_why",
    "margin",
    "pass",
    "note",
    "",
];

fn sci(x: f64) -> String {
    if x.is_nan() { "NaN".into() } else { format!("{x:.3e}") }
}

fn opt(x: Option<f64>) -> String {
    x.map(sci).unwrap_or_default()
}

fn cells(r: &Row) -> [String; 19] {
    [
        r.check.clone(),
        r.family.clone(),
        r.case.clone(),
        r.regime.clone(),
        r.method.clone(),
        opt(r.tolerance),
        r.quantity.clone(),
        sci(r.abs_err),
        sci(r.rel_err),
        sci(r.ref_bound),
        r.ref_method.clone(),
        r.ref_rigorous.to_string(),
        r.bound_rigorous.to_string(),
        opt(r.drift),
        sci(r.bound),
        r.bound_why.clone(),
        sci(r.margin),
        r.pass.to_string(),
        r.note.clone(),
    ]
}

/// CSV (RFC 4180 quoting).
pub fn csv(rows: &[Row]) -> String {
    let q = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = COLUMNS[..19].join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&cells(r).iter().map(|c| q(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// JSON: a list of row objects.
pub fn json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).expect("invariant: rows serialize")
}

/// Markdown: a summary per check, then one table per check with the numeric columns (the long
/// `bound_why`/`ref_method` texts are given once per check).
pub fn markdown(title: &str, rows: &[Row]) -> String {
    let mut out = format!("# {title}\n\n");
    let passed = rows.iter().filter(|r| r.pass).count();
    out.push_str(&format!("{passed} of {} rows pass.\n\n", rows.len()));
    let mut checks: Vec<&str> = Vec::new();
    for r in rows {
        if !checks.contains(&r.check.as_str()) {
            checks.push(&r.check);
        }
    }
    out.push_str("| check | rows | pass | fail | worst margin (error / bound) |\n|---|---|---|---|---|\n");
    for c in &checks {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.check == *c).collect();
        let p = rs.iter().filter(|r| r.pass).count();
        let worst = rs
            .iter()
            .map(|r| r.margin)
            .fold(0.0f64, |a, b| if b.is_nan() { f64::NAN } else { a.max(b) });
        out.push_str(&format!(
            "| {c} | {} | {p} | {} | {} |\n",
            rs.len(),
            rs.len() - p,
            sci(worst)
        ));
    }
    for c in &checks {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.check == *c).collect();
        out.push_str(&format!("\n## {c}\n\n"));
        let mut whys: Vec<(&str, &str)> = Vec::new();
        for r in &rs {
            if !whys.contains(&(r.ref_method.as_str(), r.bound_why.as_str())) {
                whys.push((&r.ref_method, &r.bound_why));
            }
        }
        for (rm, bw) in whys {
            out.push_str(&format!("- reference: {rm}\n- bound: {bw}\n"));
        }
        out.push_str("\n| case | regime | method | tol | quantity | abs err | rel err | ref bound | drift | bound | margin | pass | note |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for r in rs {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.case,
                r.regime,
                r.method,
                opt(r.tolerance),
                r.quantity,
                sci(r.abs_err),
                sci(r.rel_err),
                sci(r.ref_bound),
                opt(r.drift),
                sci(r.bound),
                sci(r.margin),
                if r.pass { "✅" } else { "❌" },
                r.note.replace('|', "/")
            ));
        }
    }
    out
}
