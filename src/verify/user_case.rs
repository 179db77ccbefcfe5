//! `lazyrich verify --case`: every catalog check that applies to one case file, computed by the
//! catalog's own per-case functions (the same code, so a user's copy of a catalog case gets the
//! catalog's numbers).
//!
//! Checks that need catalog-only context (figures, sweeps, negative controls, experiments with
//! fixed seeds) are not part of it. A check whose assumptions the case does not meet (a closed
//! form that needs whitened data, Theorem 4.2 without Δ = δI_h, …) is not run and is listed in
//! [`CaseTable::not_applicable`] with the reason; a check that applies but cannot compute is a
//! failed row with the error in its note, as in the catalog.

use super::{Mode, Row};
use crate::case::{
    Case, DeepLinearCase, LambdaBalancedCase, PiecewiseLinearCase, TwoLayerLinearCase, f64_rows, f64_vec,
};
use crate::exact::lambda_balanced::{ClosedForm, LbError};
use crate::models::GradientFlowModel;
use crate::models::deep_linear::{DeepLinear, LinearData};
use crate::models::two_layer_linear::{TwoLayerLinear, check_theorem42_width};
use crate::num::tol;
use serde::Serialize;

/// A check that does not apply to the case, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotApplicable {
    /// Check id(s).
    pub check: String,
    /// Which assumption the case does not meet.
    pub why: String,
}

/// The table of one case: its rows and the checks not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseTable {
    /// Rows, with the catalog's columns.
    pub rows: Vec<Row>,
    /// Checks whose assumptions the case does not meet.
    pub not_applicable: Vec<NotApplicable>,
}

fn na(check: &str, why: impl Into<String>) -> NotApplicable {
    NotApplicable {
        check: check.into(),
        why: why.into(),
    }
}

/// The checks of the case's model on `case`, named `name` (the rows' `case` column).
///
/// # Errors
/// Bad input the models refuse (shapes, rates, times), or a model without per-case checks: a
/// message naming the problem and the fix. Nothing is computed then.
pub fn run(name: &str, case: &Case) -> Result<CaseTable, String> {
    let mut table = run_model(name, case)?;
    table.rows.iter_mut().for_each(Row::fail_if_not_finite);
    Ok(table)
}

/// [`run`] by model, before the final check that no passing row holds a non-finite number.
fn run_model(name: &str, case: &Case) -> Result<CaseTable, String> {
    match case {
        Case::SingleNeuron(c) => {
            let model = super::single_neuron::model_of(c).map_err(|e| e.to_string())?;
            model.theta(c.a0.to_f64(), &c.w0_f64()).map_err(|e| e.to_string())?;
            crate::num::check_times(&c.times_f64()).map_err(|e| e.to_string())?;
            let mut not_applicable = Vec::new();
            let wd = model.whitening_defect();
            if wd > tol::WHITENING_TOL {
                not_applicable.push(na(
                    "SN-ODE, SN-ROUTES, SN-CONS, SN-F64, SN-OVERLAP, SN-FLOW",
                    format!(
                        "the closed form needs whitened data (XᵀX = I): max|XᵀX − I| = {wd:.3e} > {:.1e}; only the \
                         function-space rows run",
                        tol::WHITENING_TOL
                    ),
                ));
            }
            Ok(CaseTable {
                rows: super::single_neuron::rows_for_case(name, c, true),
                not_applicable,
            })
        }
        Case::TwoLayerLinear(c) => two_layer(name, c),
        Case::DeepLinear(c) => deep(name, c),
        Case::LambdaBalanced(c) => lambda_balanced(name, c),
        Case::PiecewiseLinear(c) => piecewise(name, c),
    }
}

/// Whether [`run`] has checks for the case's model (a refusal before any work). Every model has
/// them now; kept so that callers check before creating output.
///
/// # Errors
/// None today.
pub fn check_supported(case: &Case) -> Result<(), String> {
    match case {
        Case::SingleNeuron(_)
        | Case::TwoLayerLinear(_)
        | Case::DeepLinear(_)
        | Case::LambdaBalanced(_)
        | Case::PiecewiseLinear(_) => Ok(()),
    }
}

/// The catalog's piecewise-linear checks on a case file ([`super::piecewise_linear`]):
/// `PL-SYM` when the initial units pair up bitwise as (w, a), (w, −a); `PL-EQ9`, `PL-EVENT`,
/// `PL-CONS` and `PL-PLAIN` for every method of the full catalog (validated enclosures, hence
/// proven bounds, for P ≤ [`super::piecewise_linear::MAX_ENCLOSED_PARAMS`]); `PL-SLIDE` when the
/// reference enters a sliding mode.
fn piecewise(name: &str, c: &PiecewiseLinearCase) -> Result<CaseTable, String> {
    use super::piecewise_linear as pl;
    let s = pl::PlSetup::of_case(name, c)?;
    let mut rows = Vec::new();
    let mut not_applicable = Vec::new();
    match pl::sym_row_if_paired(&s) {
        Some(r) => rows.push(r),
        None => not_applicable.push(na(
            "PL-SYM",
            "checks f(x; θ0) = 0 of a symmetrised initialisation: the initial units do not pair up exactly as \
             (w, a), (w, −a)",
        )),
    }
    let (trajectory_rows, first_sliding) = pl::setup_rows(&s, Mode::Full);
    rows.extend(trajectory_rows);
    if first_sliding.is_none() {
        not_applicable.push(na(
            "PL-SLIDE",
            format!(
                "checks the flow through Filippov sliding modes: the reference enters none on [0, {}]",
                s.grid.last().copied().unwrap_or(0.0)
            ),
        ));
    }
    if s.model.n_params() > pl::MAX_ENCLOSED_PARAMS {
        not_applicable.push(na(
            "validated enclosure (proven bounds of PL-EVENT, PL-CONS, PL-PLAIN)",
            format!(
                "P = {} parameters, above {}: those rows keep estimated bounds",
                s.model.n_params(),
                pl::MAX_ENCLOSED_PARAMS
            ),
        ));
    }
    Ok(CaseTable { rows, not_applicable })
}

fn two_layer(name: &str, c: &TwoLayerLinearCase) -> Result<CaseTable, String> {
    let data = LinearData::new(&f64_rows(&c.x), &f64_rows(&c.y)).map_err(|e| e.to_string())?;
    let ts = f64_vec(&c.times);
    crate::num::check_times(&ts).map_err(|e| e.to_string())?;
    let (m, th0) = TwoLayerLinear::from_init(
        data.clone(),
        &f64_rows(&c.a0),
        &f64_rows(&c.w0),
        c.eta_a.to_f64(),
        c.eta_w.to_f64(),
    )
    .map_err(|e| e.to_string())?;
    let (d, cc, h) = (data.d, data.c, m.h());
    let mut not_applicable = Vec::new();
    let (delta, t42) = match m.isotropic_delta(&th0) {
        Ok(delta) => match check_theorem42_width(delta, h, d, cc) {
            Ok(()) => (delta, true),
            Err(e) => {
                not_applicable.push(na("WL-MIRROR, WL-T42", e.to_string()));
                (delta, false)
            }
        },
        Err(e) => {
            not_applicable.push(na("WL-MIRROR, WL-T42", e.to_string()));
            (m.isotropy(&th0).0, false)
        }
    };
    let w = super::wide_linear::WideCase {
        name: name.into(),
        d,
        c: cc,
        h,
        n: data.n,
        delta,
        eta_a: m.eta_a(),
        eta_w: m.eta_w(),
        seed: 0,
        whitened: data.whitening_defect() <= tol::WHITENING_TOL,
        t_end: ts.last().copied().unwrap_or(0.0),
        quick: false,
    };
    let enclosure = super::wide_linear::enclose_shared(&Case::TwoLayerLinear(c.clone()));
    let mut rows = Vec::new();
    super::wide_linear::case_rows(&w, &m, &th0, &data, &ts, &enclosure, Mode::Full, t42, &mut rows);
    Ok(CaseTable { rows, not_applicable })
}

fn deep(name: &str, c: &DeepLinearCase) -> Result<CaseTable, String> {
    let data = LinearData::new(&f64_rows(&c.x), &f64_rows(&c.y)).map_err(|e| e.to_string())?;
    let ts = f64_vec(&c.times);
    crate::num::check_times(&ts).map_err(|e| e.to_string())?;
    let layers: Vec<Vec<Vec<f64>>> = c.weights0.iter().map(|l| f64_rows(l)).collect();
    let (m, th0): (DeepLinear, Vec<f64>) =
        DeepLinear::from_layers(data, &layers, &f64_vec(&c.etas)).map_err(|e| e.to_string())?;
    let reg = format!(
        "{} (δ_top)",
        super::wide_linear::regime(super::deep_linear::delta_top(&m, &th0))
    );
    let enclosure = super::wide_linear::enclose_shared(&Case::DeepLinear(c.clone()));
    let mut rows = Vec::new();
    super::deep_linear::case_rows(name, reg, &m, &th0, &ts, &enclosure, &mut rows);
    let not_applicable = vec![na(
        "DL-ISO",
        "checks the catalog's conserved-matrix construction (Q_l = δ_l·I from given δ_l); a case file has no δ_l to \
         check against",
    )];
    Ok(CaseTable { rows, not_applicable })
}

fn lambda_balanced(name: &str, c: &LambdaBalancedCase) -> Result<CaseTable, String> {
    crate::num::check_times(&c.times_f64()).map_err(|e| e.to_string())?;
    let probe = super::lambda_balanced::LbCase {
        name: name.into(),
        lambda: 0.0,
        case: c.clone(),
    };
    let (net, w1, w2) = super::lambda_balanced::mats(&probe)?;
    match ClosedForm::new(&net, &w1, &w2) {
        Ok(cf) => Ok(CaseTable {
            rows: super::lambda_balanced::case_rows(name, cf.lambda(), c),
            not_applicable: Vec::new(),
        }),
        Err(e @ (LbError::NotWhitened { .. } | LbError::NotBalanced { .. })) => Ok(CaseTable {
            rows: Vec::new(),
            not_applicable: vec![na(
                "LB-SIM, LB-CF, LB-DRIFT, LB-F64, LB-RICCATI",
                format!("P2's closed form needs whitened data and a λ-balanced initialisation: {e}"),
            )],
        }),
        Err(e) => Err(e.to_string()),
    }
}
