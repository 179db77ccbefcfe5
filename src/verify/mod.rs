//! Layer 4: theorem checks returning certified rows.
//!
//! A check compares a quantity computed one way (simulation, f64 closed form, another route)
//! with a reference computed another way, and states the bound it promises and why. A failing
//! check is data (`pass: false`), never a panic or an `Err`. Check ids are stable and indexed in
//! `verification/README.md`.

pub mod deep_linear;
pub mod implicit_bias;
pub mod lambda_balanced;
pub mod linear_taylor;
pub mod mirror_modes;
pub mod piecewise_linear;
pub mod prove;
pub mod single_neuron;
pub mod taylor_rigorous;
pub mod wide_linear;

use serde::Serialize;

/// Quick (CI) or full catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A subset that still covers every regime and every method.
    Quick,
    /// The whole catalog.
    Full,
}

/// One row of a certified table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Stable check id (see `verification/README.md`).
    pub check: String,
    /// Model family.
    pub family: String,
    /// Case name.
    pub case: String,
    /// δ regime: downstream/balanced/upstream and small/order1/large.
    pub regime: String,
    /// Method producing the checked value.
    pub method: String,
    /// Relative tolerance of the method (absent for closed forms).
    pub tolerance: Option<f64>,
    /// Quantity compared.
    pub quantity: String,
    /// Max absolute error over the time grid (and components).
    pub abs_err: f64,
    /// abs_err / max |reference| (normwise relative error).
    pub rel_err: f64,
    /// The reference's own error bound.
    pub ref_bound: f64,
    /// How the reference was computed and bounded.
    pub ref_method: String,
    /// Whether the reference bound is rigorous (a proof) or an estimate.
    pub ref_rigorous: bool,
    /// Max drift of the conserved quantity along the checked trajectory, where applicable.
    pub drift: Option<f64>,
    /// The bound this row promises (at the time where error/bound is largest).
    pub bound: f64,
    /// Why that bound.
    pub bound_why: String,
    /// Largest error/(bound + ref_bound) over the time grid: ≤ 1 passes.
    pub margin: f64,
    /// Verdict.
    pub pass: bool,
    /// Extra information (solver statistics, failure message).
    pub note: String,
}

impl Row {
    /// A row not yet measured: the identification fields set, errors, bound and margin NaN,
    /// `pass` false (a row that is never filled in fails), no reference (`ref_method` "-").
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        check: &str,
        family: &str,
        case: &str,
        regime: String,
        method: &str,
        tolerance: Option<f64>,
        quantity: &str,
    ) -> Row {
        Row {
            check: check.into(),
            family: family.into(),
            case: case.into(),
            regime,
            method: method.into(),
            tolerance,
            quantity: quantity.into(),
            abs_err: f64::NAN,
            rel_err: f64::NAN,
            ref_bound: 0.0,
            ref_method: "-".into(),
            ref_rigorous: false,
            drift: None,
            bound: f64::NAN,
            bound_why: "-".into(),
            margin: f64::NAN,
            pass: false,
            note: String::new(),
        }
    }
}

/// Run the whole catalog.
pub fn run(mode: Mode) -> Vec<Row> {
    let mut rows = single_neuron::run(mode);
    rows.extend(taylor_rigorous::run(mode));
    rows.extend(lambda_balanced::run(mode == Mode::Quick));
    rows.extend(wide_linear::run(mode));
    rows.extend(deep_linear::run(mode));
    rows.extend(linear_taylor::run(mode));
    rows.extend(implicit_bias::run(mode));
    rows.extend(mirror_modes::run(mode));
    rows.extend(piecewise_linear::run(mode));
    rows
}
