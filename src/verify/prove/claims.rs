//! The claims `lazyrich prove` prints for a case (issue 16 item 3).
//!
//! | id | models | proved when |
//! |---|---|---|
//! | `conservation` | every model | the conservation identity expands to zero at the case's dims (generic loss: every data set), or — above [`CASE_DIM_LIMIT`] parameters — at every fixed dim ≤ 3, the general-dimension argument being `docs/theory_proofs.md` |
//! | `closed_form_solves_flow` | single_neuron | X is exactly whitened (XᵀX = I), η_a, η_w > 0 and β* = Xᵀy ≠ 0 (so K > 0 and λ₊ > 0 > λ₋), and the closed form's ODE defect is proved to be identically zero ([`super::closed_form`]: at the case's d when d ≤ 3, and for every d); bound 0, for all t ≥ 0; any δ, δ = 0 included |
//! | `closed_form_solves_flow` | lambda_balanced | the `riccati` claim is proved (exactly whitened, exactly λ-balanced), τ > 0, and the closed form is proved to solve the Riccati equation identically ([`super::closed_form_riccati`]); bound 0, for all t ≥ 0 |
//! | `closed_form_solves_flow` | two_layer_linear | X is exactly whitened, η > 0, β* = XᵀY has min(d, c) distinct positive singular values and the init is task-aligned, all decided exactly without an SVD, and the decoupling identity and the d = 1 single-neuron identity are proved ([`super::closed_form_modes`]); bound 0, for all t ≥ 0 |
//! | `theorem_4_2` | two_layer_linear | the init is exactly isotropic (Δ0 = δI in exact arithmetic) and the width condition holds (δ < 0 ⇒ h = d, δ > 0 ⇒ h = c); `refuted` with an exact witness point when the width condition fails |
//! | `riccati` | lambda_balanced | X is exactly whitened (XXᵀ/P = I) and the init exactly λ-balanced, and the identity expands to zero |
//! | `ntk_formula` | two_layer_linear, lambda_balanced | the Kronecker formula equals JJᵀ symbolically (at min(dims, 3), P ≤ 3) |
//!
//! Exactness: every assumption is checked on the case's decimals as exact rationals
//! ([`crate::num::decimal::Num::to_rational`]): a case whitened "to 1e-16" is not whitened, and
//! its claim is `not_applicable` with the defect's size.

use super::identities::{self, Family, Loss, Plant, Verdict, Witness};
use super::{Claim, Status, fixed_dims};
use crate::case::Case;
use crate::num::decimal::{DecimalError, Num};
use rug::Rational;

/// Above this many terms of the generic loss ([`Family::loss_terms`]) a case's conservation law is
/// proved at the fixed dims (≤ 3) instead of at the case's own dims. Measured (release, one core):
/// the wide (d, h, c) = (20, 20, 10) net (4,000 terms, 210 entries) takes ~0.6 s; the deep
/// (20, 10, 10, 10, 10) net (200,000 terms) took 3.5 min at its own dims and is refused by this limit.
pub const CASE_DIM_LIMIT: usize = 5_000;

/// Errors of [`claims`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    /// A number of the case cannot be made an exact rational.
    #[error("field \"{field}\": {source}")]
    Decimal {
        /// The field.
        field: String,
        /// Why.
        source: DecimalError,
    },
    /// Shapes of the case do not fit together.
    #[error("case shapes do not fit: {what}; fix the case file")]
    Shape {
        /// What does not fit.
        what: String,
    },
}

/// Options of `prove` (read by `closed_form_solves_flow`: the single-neuron proof is exact and only
/// report T; the interval precision is not used by them and is recorded in the detail).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProveOptions {
    /// Working precision in bits for the interval proof.
    pub prec: u32,
    /// End of the interval [0, T]; `None` = the case's last time.
    pub t_end: Option<f64>,
}

use super::qmat::{cols, defect_sq, frob_sq, mul, qmat, qnum, scale, sqrt_f64, sub, t, trace};

fn check_shape(ok: bool, what: impl FnOnce() -> String) -> Result<(), ProveError> {
    if ok {
        Ok(())
    } else {
        Err(ProveError::Shape { what: what() })
    }
}

fn proved_identity(id: &str, ident: &identities::Identity, v: &Verdict, method: String, extra: &str) -> Claim {
    match v {
        Verdict::Proved { entries, symbols, work } => Claim {
            id: id.into(),
            statement: ident.statement.clone(),
            source: ident.source.clone(),
            status: Status::Proved,
            bound: Some(0.0),
            method,
            detail: format!(
                "{}: {entries} residual entries expand to the zero polynomial ({symbols} symbols, {work} terms expanded){extra}",
                ident.dims
            ),
        },
        Verdict::Refuted(w) => refuted_identity(id, ident, w, method),
    }
}

fn refuted_identity(id: &str, ident: &identities::Identity, w: &Witness, method: String) -> Claim {
    Claim {
        id: id.into(),
        statement: ident.statement.clone(),
        source: ident.source.clone(),
        status: Status::Refuted,
        bound: None,
        method,
        detail: format!("{}: {}", ident.dims, witness_text(w)),
    }
}

/// A witness as one line of text.
pub fn witness_text(w: &Witness) -> String {
    let pt = if w.point.is_empty() {
        String::from("no rational point found in 64 tries (the nonzero coefficient is the witness)")
    } else {
        format!(
            "at the rational point {} it equals {}",
            w.point
                .iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            w.value
        )
    };
    format!(
        "residual {} is not the zero polynomial: its term {} has coefficient {}; {pt}",
        w.label, w.monomial, w.coefficient
    )
}

const SYMBOLIC: &str =
    "exact symbolic expansion over ℚ (lazyrich::num::poly), symbolic weights, rates and loss gradient";

/// The family of a case (its dims), after checking that the shapes fit.
///
/// # Errors
/// [`ProveError::Shape`] when the layers, data and targets do not fit together.
pub fn family(case: &Case) -> Result<Family, ProveError> {
    Ok(match case {
        Case::SingleNeuron(c) => {
            let d = c.w0.len();
            check_shape(c.x.iter().all(|r| r.len() == d), || {
                format!("x has rows of length ≠ d = {d}")
            })?;
            Family::SingleNeuron { d }
        }
        Case::TwoLayerLinear(c) => {
            let (h, d) = (c.w0.len(), c.w0.first().map_or(0, Vec::len));
            let cc = c.a0.first().map_or(0, Vec::len);
            check_shape(c.a0.len() == h, || {
                format!("a0 has {} rows, w0 has h = {h}", c.a0.len())
            })?;
            check_shape(c.x.iter().all(|r| r.len() == d), || {
                format!("x rows are not of length d = {d}")
            })?;
            check_shape(c.y.iter().all(|r| r.len() == cc), || {
                format!("y rows are not of length c = {cc}")
            })?;
            Family::TwoLayerLinear { d, h, c: cc }
        }
        Case::DeepLinear(c) => {
            let mut widths = vec![c.weights0.first().and_then(|w| w.first()).map_or(0, Vec::len)];
            let n = c.weights0.len();
            for (l, w) in c.weights0.iter().enumerate() {
                if l + 1 == n {
                    // A is h_L × c
                    check_shape(w.len() == *widths.last().unwrap_or(&0), || {
                        format!("A has {} rows, the previous layer has {} outputs", w.len(), widths[l])
                    })?;
                    widths.push(w.first().map_or(0, Vec::len));
                } else {
                    check_shape(w.first().map_or(0, Vec::len) == widths[l], || {
                        format!(
                            "layer {} has {} columns, expected {}",
                            l + 1,
                            w.first().map_or(0, Vec::len),
                            widths[l]
                        )
                    })?;
                    widths.push(w.len());
                }
            }
            check_shape(n >= 2, || "a deep net needs at least 2 layers".into())?;
            Family::DeepLinear { widths }
        }
        Case::PiecewiseLinear(c) => {
            let (h, d) = (c.w0.len(), c.w0.first().map_or(0, Vec::len));
            check_shape(c.a0.len() == h, || {
                format!("a0 has {} entries, w0 has h = {h} rows", c.a0.len())
            })?;
            Family::PiecewiseLinear { d, h, n: c.x.len() }
        }
        Case::LambdaBalanced(c) => {
            let (h, d_i) = (c.w1_0.len(), c.w1_0.first().map_or(0, Vec::len));
            let d_o = c.w2_0.len();
            check_shape(c.w2_0.iter().all(|r| r.len() == h), || {
                format!("w2_0 rows are not of length h = {h}")
            })?;
            check_shape(c.x.len() == d_i, || format!("x has {} rows, d_i = {d_i}", c.x.len()))?;
            check_shape(c.y.len() == d_o, || format!("y has {} rows, d_o = {d_o}", c.y.len()))?;
            Family::LambdaBalanced { d_i, h, d_o }
        }
    })
}

/// The `conservation` claim for a family: at its own dims if its generic loss has at most
/// [`CASE_DIM_LIMIT`] terms, else at every fixed dim.
pub fn conservation_claim(fam: &Family) -> Claim {
    if fam.loss_terms() <= CASE_DIM_LIMIT {
        let ident = identities::conservation(fam, Loss::Generic, Plant::None);
        let v = ident.check();
        let extra = "; at the case's own dims, for every data set and every loss of the end-to-end map \
                     (∇ℓ symbolic), every learning rate (symbolic)";
        proved_identity(
            "conservation",
            &ident,
            &v,
            format!("{SYMBOLIC}, at the case's dims"),
            extra,
        )
    } else {
        let sweep = super::conservation_fixed(fam.model(), Plant::None);
        let ident = identities::conservation(&fixed_dims(fam.model())[0], Loss::Generic, Plant::None);
        if let Some((dims, Verdict::Refuted(w))) = sweep.failed.first() {
            return Claim {
                id: "conservation".into(),
                statement: ident.statement,
                source: ident.source,
                status: Status::Refuted,
                bound: None,
                method: format!("{SYMBOLIC}, at fixed dims ≤ 3"),
                detail: format!("{dims}: {}", witness_text(w)),
            };
        }
        Claim {
            id: "conservation".into(),
            statement: ident.statement,
            source: ident.source,
            status: Status::Proved,
            bound: Some(0.0),
            method: format!("{SYMBOLIC}, at every fixed dim ≤ 3, plus the general-dimension argument"),
            detail: format!(
                "the case's generic loss has {} terms ({}), above the {CASE_DIM_LIMIT} proved at the case's own dims: proved at \
                 all {} fixed-dim instances (every dim ≤ 3; generic loss, and square loss with 2 symbolic samples \
                 at dims ≤ 2; {} residual entries zero); for the case's dims the general-dimension derivation is \
                 docs/theory_proofs.md",
                fam.loss_terms(),
                fam.dims(),
                sweep.proved,
                sweep.entries
            ),
        }
    }
}

/// `closed_form_solves_flow` for a single neuron: the exact symbolic proof of
/// [`super::closed_form`] (at the case's d when d ≤ [`super::MAX_FIXED_DIM`], and for every d),
/// with its assumptions checked exactly on the case's decimals.
/// T as the detail prints it: `--t-end`, else the case's last time.
pub(super) fn t_end_text(opts: &ProveOptions, times: &[Num]) -> String {
    opts.t_end.map_or_else(
        || {
            times
                .last()
                .map_or_else(|| "the case's last time".to_string(), |t| t.as_str().to_string())
        },
        |t| format!("{t}"),
    )
}

fn single_neuron_closed_form_claim(
    c: &crate::case::SingleNeuronCase,
    opts: &ProveOptions,
) -> Result<Claim, ProveError> {
    use super::closed_form::{SnDim, single_neuron};
    let x = qmat(&c.x, "x")?;
    let d = c.w0.len();
    let y: Vec<Rational> = c.y.iter().map(|v| qnum(v, "y")).collect::<Result<_, _>>()?;
    check_shape(y.len() == x.len(), || {
        format!("y has {} entries, x has {} rows", y.len(), x.len())
    })?;
    let w0: Vec<Rational> = c.w0.iter().map(|v| qnum(v, "w0")).collect::<Result<_, _>>()?;
    let a0 = qnum(&c.a0, "a0")?;
    let eta_a = qnum(&c.eta_a, "eta_a")?;
    let eta_w = qnum(&c.eta_w, "eta_w")?;
    let xtx = mul(&t(&x), &x);
    let wsq = defect_sq(&xtx, &Rational::from(1));
    // β* = Xᵀy (the minimiser under XᵀX = I).
    let beta: Vec<Rational> = (0..d)
        .map(|j| x.iter().zip(&y).map(|(r, yi)| Rational::from(&r[j] * yi)).sum())
        .collect();
    let dot =
        |u: &[Rational], v: &[Rational]| -> Rational { u.iter().zip(v).map(|(a, b)| Rational::from(a * b)).sum() };
    let s2 = dot(&beta, &beta);
    let delta = Rational::from(&eta_w * &a0) * &a0 - Rational::from(&eta_a * &dot(&w0, &w0));
    let k2 = Rational::from(&delta * &delta) + Rational::from(4) * Rational::from(&eta_a * &eta_w) * &s2;
    let mut failed = Vec::new();
    if wsq != 0 {
        failed.push(format!("input not whitened: ‖XᵀX − I‖_F = {:.3e}", sqrt_f64(&wsq)));
    }
    if eta_a <= 0 {
        failed.push(format!("η_a = {:.6e} ≤ 0", eta_a.to_f64()));
    }
    if eta_w <= 0 {
        failed.push(format!("η_w = {:.6e} ≤ 0", eta_w.to_f64()));
    }
    if s2 == 0 {
        failed.push("β* = Xᵀy = 0 (then λ₊λ₋ = −η_aη_w‖β*‖² = 0 and the closed form divides by λ±)".into());
    }
    let own = (d <= super::MAX_FIXED_DIM).then(|| single_neuron(SnDim::Fixed(d), Plant::None));
    let every = single_neuron(SnDim::Every, Plant::None);
    let statement = every.statement.clone();
    let source = every.source.clone();
    let method = "exact symbolic expansion over ℚ (lazyrich::num::poly): the closed form's ODE defect times 2h³ \
                  (h = D·g) and its initial-value residuals reduce to the zero polynomial modulo K² = δ² + \
                  4η_aη_w‖β*‖², e^{λ₊t}e^{λ₋t} = e^{δt} and δ = η_w a0² − η_a‖w0‖² (Gröbner normal form), \
                  exponentials as symbols with d/dt E± = λ±E±; then uniqueness of the ODE solution \
                  (Picard–Lindelöf); assumptions checked in exact rational arithmetic on the case's decimals";
    let mut proofs = Vec::new();
    for ident in own.iter().chain([&every]) {
        match ident.check() {
            Verdict::Proved { entries, work, .. } => proofs.push(format!(
                "{}: {entries} residual entries reduce to zero ({work} terms)",
                ident.dims.split(';').next().unwrap_or("")
            )),
            Verdict::Refuted(w) => {
                return Ok(Claim {
                    id: "closed_form_solves_flow".into(),
                    statement,
                    source,
                    status: Status::Refuted,
                    bound: None,
                    method: method.into(),
                    detail: format!("{}: {}", ident.dims, witness_text(&w)),
                });
            }
        }
    }
    let where_ = if own.is_some() {
        format!("at the case's d = {d} and for every d: {}", proofs.join("; "))
    } else {
        format!(
            "for every d (the case's d = {d} > {} is not expanded coordinate-wise): {}",
            super::MAX_FIXED_DIM,
            proofs.join("; ")
        )
    };
    let t_end = t_end_text(opts, &c.times);
    if !failed.is_empty() {
        return Ok(Claim {
            id: "closed_form_solves_flow".into(),
            statement,
            source,
            status: Status::NotApplicable,
            bound: None,
            method: method.into(),
            detail: format!(
                "the identity assumes XᵀX = I, η_a, η_w > 0 and β* ≠ 0 exactly; this case fails: {} (exact rational \
                 arithmetic on the case's decimals); the identity itself is proved {where_}",
                failed.join("; ")
            ),
        });
    }
    let class = match delta.cmp0() {
        std::cmp::Ordering::Greater => format!("δ = {:.6e} > 0 (upstream)", delta.to_f64()),
        std::cmp::Ordering::Equal => "δ = 0 exactly (balanced: the cross term is 4η_w c₊c₋·t, the Φ₀ = t·φ₁(δt) \
                                      form at δ = 0, covered by the same identity)"
            .to_string(),
        std::cmp::Ordering::Less => format!("δ = {:.6e} < 0 (downstream)", delta.to_f64()),
    };
    Ok(Claim {
        id: "closed_form_solves_flow".into(),
        statement,
        source,
        status: Status::Proved,
        bound: Some(0.0),
        method: method.into(),
        detail: format!(
            "exact identity (bound 0: no interval, rounding or truncation is involved), proved {where_}; the case \
             meets every assumption exactly: XᵀX = I, η_a = {:.6e} > 0, η_w = {:.6e} > 0, ‖β*‖² = {:.6e} > 0, hence \
             K² = δ² + 4η_aη_w‖β*‖² = {:.6e} > 0 and λ₊ > 0 > λ₋; {class}; so the closed form is the flow for all \
             t ≥ 0, in particular on [0, T] with T = {t_end} (--prec {} is not used: the proof is exact)",
            eta_a.to_f64(),
            eta_w.to_f64(),
            s2.to_f64(),
            k2.to_f64(),
            opts.prec
        ),
    })
}

/// `closed_form_solves_flow` for a λ-balanced case: the closed form solves the Riccati equation
/// identically ([`super::closed_form_riccati`], at n = d_i + d_o ≤ its `MAX_CASE_N`), and QQᵀ of
/// the flow solves the same equation when the `riccati` claim is proved (exact whitening and
/// λ-balance); uniqueness then makes them equal for all t ≥ 0 (bound 0).
fn lambda_balanced_closed_form_claim(
    c: &crate::case::LambdaBalancedCase,
    fam: &Family,
    riccati: &Claim,
    opts: &ProveOptions,
) -> Result<Claim, ProveError> {
    use super::closed_form_riccati::{MAX_CASE_N, lambda_balanced};
    let Family::LambdaBalanced { d_i, d_o, .. } = *fam else {
        unreachable!("lambda_balanced_closed_form_claim is called for lambda_balanced cases");
    };
    let n = d_i + d_o;
    let n_used = n.min(MAX_CASE_N);
    let ident = lambda_balanced(n_used, Plant::None);
    let v = ident.check();
    let method = format!("{SYMBOLIC}; uniqueness (Picard–Lindelöf) with the riccati claim");
    let where_ = if n_used == n {
        format!("at the case's n = d_i + d_o = {n}")
    } else {
        format!(
            "at n = {n_used} (the case's n = d_i + d_o = {n} > {MAX_CASE_N}; the identity does not depend on n, docs/theory_proofs.md §10)"
        )
    };
    let ident_text = match &v {
        Verdict::Proved { entries, symbols, work } => format!(
            "the formula solves the Riccati equation identically, proved {where_}: {entries} residual entries expand to \
             zero ({symbols} symbols, {work} terms expanded)"
        ),
        Verdict::Refuted(w) => {
            return Ok(Claim {
                id: "closed_form_solves_flow".into(),
                statement: ident.statement.clone(),
                source: ident.source.clone(),
                status: Status::Refuted,
                bound: None,
                method,
                detail: format!(
                    "the formula does not solve the Riccati equation {where_}: {}",
                    witness_text(w)
                ),
            });
        }
    };
    let tau = qnum(&c.tau, "tau")?;
    let t_end = t_end_text(opts, &c.times);
    let mut failed = Vec::new();
    if tau.cmp0() != std::cmp::Ordering::Greater {
        failed.push(format!("τ = {} is not > 0", tau.to_f64()));
    }
    if riccati.status != Status::Proved {
        failed.push(format!(
            "QQᵀ of the flow solves the Riccati equation only under the riccati claim's assumptions, and that claim is \
             {}: {}",
            match riccati.status {
                Status::Proved => "proved",
                Status::Refuted => "refuted",
                Status::NotApplicable => "not_applicable",
            },
            riccati.detail
        ));
    }
    if !failed.is_empty() {
        return Ok(Claim {
            id: "closed_form_solves_flow".into(),
            statement: ident.statement.clone(),
            source: ident.source.clone(),
            status: Status::NotApplicable,
            bound: None,
            method,
            detail: format!("{ident_text}; but this case fails: {}", failed.join("; ")),
        });
    }
    Ok(Claim {
        id: "closed_form_solves_flow".into(),
        statement: format!(
            "{}; with the riccati claim (QQᵀ of the flow solves the same equation) and uniqueness, the closed form is \
             QQᵀ of the λ-balanced gradient flow",
            ident.statement
        ),
        source: ident.source.clone(),
        status: Status::Proved,
        bound: Some(0.0),
        method,
        detail: format!(
            "exact identity (bound 0: no interval, rounding or truncation is involved): {ident_text}; M = I + P0J is \
             invertible for every s ≥ 0 (P0 = Q0Q0ᵀ ⪰ 0, J(s) ≻ 0), so the formula is smooth on [0, ∞); the riccati \
             claim is proved for this case (exactly whitened, exactly λ-balanced) and τ = {:.6e} > 0; the Riccati \
             right-hand side is polynomial, so its solution from Q0Q0ᵀ is unique: the closed form is QQᵀ of the flow \
             for all t ≥ 0, in particular on [0, T] with T = {t_end} (--prec {} is not used: the proof is exact)",
            tau.to_f64(),
            opts.prec
        ),
    })
}

/// Every claim for `case`.
///
/// # Errors
/// [`ProveError`] when a number cannot be made an exact rational or the shapes do not fit.
pub fn claims(case: &Case, opts: &ProveOptions) -> Result<Vec<Claim>, ProveError> {
    let fam = family(case)?;
    let mut out = vec![conservation_claim(&fam)];
    match case {
        Case::SingleNeuron(c) => out.push(single_neuron_closed_form_claim(c, opts)?),
        Case::TwoLayerLinear(c) => {
            out.push(super::closed_form_modes::claim(c, opts)?);
            out.push(theorem_4_2_claim(c)?);
            if let Family::TwoLayerLinear { d, h, c: cc } = fam {
                out.push(ntk_claim(&fam, d.min(3), h.min(3), cc.min(3), c.x.len().min(3)));
            }
        }
        Case::LambdaBalanced(c) => {
            let x = qmat(&c.x, "x")?;
            let p = cols(&x);
            check_shape(p > 0, || "x has no samples".into())?;
            let sxx = scale(&mul(&x, &t(&x)), &Rational::from((1, p as u32)));
            let wsq = defect_sq(&sxx, &Rational::from(1));
            let w = (wsq != 0).then(|| ("‖XXᵀ/P − I‖_F".to_string(), sqrt_f64(&wsq)));
            let riccati = riccati_claim(c, &fam, w)?;
            out.push(lambda_balanced_closed_form_claim(c, &fam, &riccati, opts)?);
            out.push(riccati);
            if let Family::LambdaBalanced { d_i, h, d_o } = fam {
                out.push(ntk_claim(&fam, d_i.min(3), h.min(3), d_o.min(3), p.min(3)));
            }
        }
        Case::DeepLinear(_) | Case::PiecewiseLinear(_) => {}
    }
    Ok(out)
}

fn ntk_claim(fam: &Family, a: usize, h: usize, b: usize, p: usize) -> Claim {
    let (ident, own) = match fam {
        Family::TwoLayerLinear { d, h: hh, c } => (
            identities::ntk_two_layer(a, h, b, p, Plant::None),
            (a, h, b) == (*d, *hh, *c),
        ),
        Family::LambdaBalanced { d_i, h: hh, d_o } => (
            identities::ntk_lambda_balanced(a, h, b, p, Plant::None),
            (a, h, b) == (*d_i, *hh, *d_o),
        ),
        _ => unreachable!("ntk_claim is called for two-layer models only"),
    };
    let v = ident.check();
    let extra = if own {
        "; the case's own dims (sample count capped at 3: the identity is per pair of samples)".to_string()
    } else {
        format!(
            "; the case's dims are {}: proved at the dims capped at 3 (sample count capped at 3), general-dimension \
             argument docs/theory_proofs.md §7",
            fam.dims()
        )
    };
    proved_identity("ntk_formula", &ident, &v, SYMBOLIC.to_string(), &extra)
}

fn riccati_claim(
    c: &crate::case::LambdaBalancedCase,
    fam: &Family,
    whitening: Option<(String, f64)>,
) -> Result<Claim, ProveError> {
    let Family::LambdaBalanced { d_i, h, d_o } = *fam else {
        unreachable!("riccati_claim is called for lambda_balanced cases");
    };
    let w1 = qmat(&c.w1_0, "w1_0")?;
    let w2 = qmat(&c.w2_0, "w2_0")?;
    let b0 = sub(&mul(&t(&w2), &w2), &mul(&w1, &t(&w1)));
    let lambda = trace(&b0) / Rational::from(h as u32);
    let bsq = defect_sq(&b0, &lambda);
    let (a, hh, b) = if d_i.max(h).max(d_o) <= 4 {
        (d_i, h, d_o)
    } else {
        (d_i.min(3), h.min(3), d_o.min(3))
    };
    let (ident, _) = identities::riccati(a, hh, b, Plant::None);
    let v = ident.check();
    let own = (a, hh, b) == (d_i, h, d_o);
    let where_ = if own {
        "at the case's dims".to_string()
    } else {
        format!(
            "at (d_i, h, d_o) = ({a}, {hh}, {b}) (the case's dims capped at 3; general argument docs/theory_proofs.md §6)"
        )
    };
    let ident_text = match &v {
        Verdict::Proved { entries, .. } => format!(
            "the identity itself (exactly whitened input, exactly λ-balanced init) is proved {where_}: {entries} entries \
             of the residual expand to zero"
        ),
        Verdict::Refuted(w) => format!("the identity fails {where_}: {}", witness_text(w)),
    };
    let mut failed = Vec::new();
    if let Some((what, size)) = &whitening {
        failed.push(format!("input not whitened: {what} = {size:.3e}"));
    }
    if bsq != 0 {
        failed.push(format!(
            "init not λ-balanced: ‖W2ᵀW2 − W1W1ᵀ − λI‖_F = {:.3e} with λ = tr/h = {:.6e}",
            sqrt_f64(&bsq),
            lambda.to_f64()
        ));
    }
    if !failed.is_empty() {
        return Ok(Claim {
            id: "riccati".into(),
            statement: ident.statement.clone(),
            source: ident.source.clone(),
            status: Status::NotApplicable,
            bound: None,
            method: format!("assumptions checked in exact rational arithmetic on the case's decimals; {SYMBOLIC}"),
            detail: format!(
                "Lemma 4.1 assumes Σ̃_xx = I and a λ-balanced init exactly; this case fails: {} (exact rational \
                 arithmetic on the case's decimals); {ident_text}",
                failed.join("; ")
            ),
        });
    }
    let mut claim = proved_identity(
        "riccati",
        &ident,
        &v,
        format!("{SYMBOLIC}; whitening and λ-balance checked exactly on the case"),
        &format!(
            "; the case is exactly whitened and exactly λ-balanced (λ = {lambda}), and λ-balance is conserved \
             (claim conservation), so the certificate term vanishes for all t"
        ),
    );
    if !own && claim.status == Status::Proved {
        claim.detail.push_str(&format!(" ({where_})"));
    }
    Ok(claim)
}

/// Which sign δ has, if it is determined beyond the isotropy defect.
fn sign_of(delta: &Rational, defect_sq: &Rational) -> Option<std::cmp::Ordering> {
    if *defect_sq == 0 {
        return Some(delta.cmp0());
    }
    let d2 = Rational::from(delta * delta);
    (d2 > *defect_sq).then(|| delta.cmp0())
}

fn theorem_4_2_claim(c: &crate::case::TwoLayerLinearCase) -> Result<Claim, ProveError> {
    use std::cmp::Ordering;
    let w0 = qmat(&c.w0, "w0")?;
    let a0 = qmat(&c.a0, "a0")?;
    let eta_a = qnum(&c.eta_a, "eta_a")?;
    let eta_w = qnum(&c.eta_w, "eta_w")?;
    let (h, d, cc) = (w0.len(), cols(&w0), cols(&a0));
    let delta_m = sub(&scale(&mul(&a0, &t(&a0)), &eta_w), &scale(&mul(&w0, &t(&w0)), &eta_a));
    let delta = trace(&delta_m) / Rational::from(h as u32);
    let dsq = defect_sq(&delta_m, &delta);
    let defect = sqrt_f64(&dsq);
    let (a, hh, b) = if d.max(h).max(cc) <= 4 {
        (d, h, cc)
    } else {
        (d.min(3), h.min(3), cc.min(3))
    };
    let ident = identities::theorem_4_2_algebra(a, hh, b);
    let v = ident.check();
    let algebra = match &v {
        Verdict::Proved { entries, .. } => format!(
            "the theorem's polynomial part (β̇ in terms of η_aWᵀW, η_wAᵀA; their squares on Δ = δI) is proved at \
             (d, h, c) = ({a}, {hh}, {b}){}: {entries} entries expand to zero",
            if (a, hh, b) == (d, h, cc) {
                " (the case's dims)"
            } else {
                " (the case's dims capped at 3)"
            }
        ),
        Verdict::Refuted(w) => format!("the polynomial part fails: {}", witness_text(w)),
    };
    let statement = ident.statement.replace(
        "P1 Thm 4.2, polynomial part: ",
        "P1 Thm 4.2: when Δ = η_wAAᵀ − η_aWWᵀ = δI and (δ < 0 ⇒ h = d, δ > 0 ⇒ h = c), the parameter flow's β obeys \
         β̇ = −√(η_aη_wββᵀ + δ²/4)G − G√(η_aη_wβᵀβ + δ²/4); polynomial part: ",
    );
    let base = |status: Status, method: &str, detail: String| Claim {
        id: "theorem_4_2".into(),
        statement: statement.clone(),
        source: ident.source.clone(),
        status,
        bound: if status == Status::Proved { Some(0.0) } else { None },
        method: method.to_string(),
        detail,
    };
    if let Verdict::Refuted(_) = v {
        return Ok(base(Status::Refuted, SYMBOLIC, algebra));
    }
    let iso = format!(
        "Δ0 = η_wA0A0ᵀ − η_aW0W0ᵀ has δ = tr/h = {:.6e} and isotropy defect ‖Δ0 − δI‖_F = {defect:.3e} (exact rational \
         arithmetic on the case's decimals)",
        delta.to_f64()
    );
    let Some(sign) = sign_of(&delta, &dsq) else {
        return Ok(base(
            Status::NotApplicable,
            "assumptions checked in exact rational arithmetic",
            format!(
                "the theorem assumes Δ = δI exactly; {iso}, so even the sign of δ is not determined by the init \
                 (|δ| ≤ defect); {algebra}"
            ),
        ));
    };
    let width_ok = match sign {
        Ordering::Equal => true,
        Ordering::Less => h == d,
        Ordering::Greater => h == cc,
    };
    if width_ok {
        if dsq == 0 {
            return Ok(base(
                Status::Proved,
                &format!("{SYMBOLIC}; isotropy and width checked exactly; PSD-root lemma (docs/theory_proofs.md §8)"),
                format!(
                    "{iso}: exactly isotropic; width condition holds (h = {h}, d = {d}, c = {cc}, sign of δ {sign:?}); \
                     Δ = δI is conserved (claim conservation), so {algebra}, and the width condition makes \
                     η_aWᵀW + δ/2 and η_wAᵀA − δ/2 positive semidefinite, hence the theorem's square roots, for all t"
                ),
            ));
        }
        return Ok(base(
            Status::NotApplicable,
            "assumptions checked in exact rational arithmetic",
            format!(
                "the theorem assumes Δ = δI exactly; {iso}; the width condition holds (h = {h}, d = {d}, c = {cc}); \
                 {algebra}"
            ),
        ));
    }
    // Width condition fails: build an exact witness with the case's dims, rates, data and δ.
    match witness_4_2(c, &delta, sign, eta_a, eta_w, h, d, cc)? {
        Some(text) => Ok(base(
            Status::Refuted,
            "exact witness point (rational arithmetic): the theorem's β̇ and the parameter flow's β̇ differ",
            format!(
                "width condition fails: δ {} 0 needs h = {}, but (d, h, c) = ({d}, {h}, {cc}); {text}; (the case's own \
                 init: {iso})",
                if sign == Ordering::Less { "<" } else { ">" },
                if sign == Ordering::Less { "d" } else { "c" }
            ),
        )),
        None => Ok(base(
            Status::NotApplicable,
            "assumptions checked in exact rational arithmetic",
            format!(
                "no init of dims (d, h, c) = ({d}, {h}, {cc}) has Δ = δI with δ {} 0 (it needs {} ≥ h), so the \
                 theorem's hypothesis cannot hold; {iso}",
                if sign == Ordering::Less { "<" } else { ">" },
                if sign == Ordering::Less { "d" } else { "c" }
            ),
        )),
    }
}

/// The exact witness for a failed width condition, as text; `None` when no isotropic init of
/// these dims and sign exists.
#[allow(clippy::too_many_arguments)]
fn witness_4_2(
    c: &crate::case::TwoLayerLinearCase,
    delta: &Rational,
    sign: std::cmp::Ordering,
    eta_a: Rational,
    eta_w: Rational,
    h: usize,
    d: usize,
    cc: usize,
) -> Result<Option<String>, ProveError> {
    use std::cmp::Ordering;
    let neg = sign == Ordering::Less;
    let (room, limit) = if neg { (d, "d") } else { (cc, "c") };
    if h >= room {
        return Ok(None);
    }
    let x = qmat(&c.x, "x")?;
    let y = qmat(&c.y, "y")?;
    // G = ∂L/∂β at β = 0: Xᵀ(Xβ − Y) = −XᵀY.
    let mut g = scale(&mul(&t(&x), &y), &Rational::from(-1));
    let mut data = "the case's X, Y".to_string();
    if frob_sq(&g) == 0 {
        g = vec![vec![Rational::from(-1); cc]; d];
        data = "X = I_d, Y = all-ones (the case's XᵀY is 0)".to_string();
    }
    // Lines (rows of G for δ < 0, columns for δ > 0); leave out the one with the largest norm.
    let lines: Vec<Rational> = if neg {
        g.iter()
            .map(|r| r.iter().map(|v| Rational::from(v * v)).sum())
            .collect()
    } else {
        (0..cc)
            .map(|j| g.iter().map(|r| Rational::from(&r[j] * &r[j])).sum())
            .collect()
    };
    let out = (0..room)
        .max_by(|&i, &j| lines[i].cmp(&lines[j]).then(j.cmp(&i)))
        .unwrap_or(0);
    let chosen: Vec<usize> = (0..room).filter(|&i| i != out).take(h).collect();
    // s² such that Δ = δI: δ < 0: W = s·P, A = 0, Δ = −η_a s² I; δ > 0: A = s·P, W = 0, Δ = η_w s² I.
    let s2 = if neg {
        -delta.clone() / &eta_a
    } else {
        Rational::from(delta / &eta_w)
    };
    let mut ptp = vec![vec![Rational::new(); room]; room];
    for &i in &chosen {
        ptp[i][i] = Rational::from(1);
    }
    // Parameter flow at β = 0: β̇ = −η_aWᵀWG − η_wGAᵀA.
    let param = if neg {
        scale(&mul(&ptp, &g), &-Rational::from(&eta_a * &s2))
    } else {
        scale(&mul(&g, &ptp), &-Rational::from(&eta_w * &s2))
    };
    // Theorem at β = 0: both roots are √(δ²/4)I = |δ|/2·I, so β̇ = −|δ|G.
    let theorem = scale(&g, &(-delta.clone().abs()));
    let diff = sub(&param, &theorem);
    let nsq = frob_sq(&diff);
    if nsq == 0 {
        return Ok(None);
    }
    let (i, j) = (0..d)
        .flat_map(|i| (0..cc).map(move |j| (i, j)))
        .find(|&(i, j)| diff[i][j] != 0)
        .unwrap_or((0, 0));
    let which = if neg { "W = s·P, A = 0" } else { "A = s·P, W = 0" };
    Ok(Some(format!(
        "witness: {which} with P the rows e_k of I_{room} for k ∈ {{{}}} (h = {h} < {limit} = {room}), s² = {s2} so \
         that Δ = δI_h exactly with the case's δ = {delta} and rates η_a = {eta_a}, η_w = {eta_w}; β = 0; data {data}, \
         G = −XᵀY; parameter flow β̇ − Theorem 4.2's β̇ has entry [{},{}] = {} and Frobenius norm {:.6e} ≠ 0",
        chosen
            .iter()
            .map(|k| (k + 1).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        i + 1,
        j + 1,
        diff[i][j],
        sqrt_f64(&nsq)
    )))
}
