//! `lazyrich prove --case F [--prec P] [--t-end T]`: theorem certificates for a case (issue 16).
//!
//! Prints `{"model", "claims": [{"id", "statement", "source", "status", "bound", "method",
//! "detail"}]}`; the claims and their rules are in `lazyrich::verify::prove::claims`.

use anyhow::{Result, bail};
use lazyrich::case::Case;
use lazyrich::verify::prove::claims::{self, ProveOptions};
use serde_json::{Value, json};

/// The claims of `case` as JSON.
///
/// # Errors
/// A `--t-end` that is not a finite time ≥ 0; case numbers that cannot be made exact rationals;
/// shapes that do not fit.
pub(crate) fn prove_json(case: &Case, prec: u32, t_end: Option<f64>) -> Result<Value> {
    if let Some(t) = t_end
        && !(t.is_finite() && t >= 0.0)
    {
        bail!("--t-end {t} is not a finite time ≥ 0: pass e.g. --t-end 20");
    }
    let cl = claims::claims(case, &ProveOptions { prec, t_end })?;
    Ok(json!({
        "model": case.model_name(),
        "claims": serde_json::to_value(&cl)?,
    }))
}
