//! Theorem certificates (issue 16): identities proved by exact symbolic expansion, and the claims
//! `lazyrich prove` prints for a case.
//!
//! - [`identities`]: the polynomial identities (conservation laws of every model, P2 Lemma 4.1's
//!   Riccati equation, the NTK formulas, the polynomial part of P1 Theorem 4.2) built with symbolic
//!   entries at fixed dimensions and expanded over ℚ; the zero polynomial proves the identity for
//!   every value of every symbol at those dimensions. The general-dimension arguments are written
//!   out in `docs/theory_proofs.md`.
//! - [`claims`]: the per-case claims (`conservation`, `closed_form_solves_flow`, `theorem_4_2`,
//!   `riccati`, `ntk_formula`) with status `proved`, `refuted` or `not_applicable`. Assumptions are
//!   checked in exact rational arithmetic on the case's decimals (whitening, λ-balance, isotropy);
//!   a claim whose assumptions the case does not meet exactly is `not_applicable` with the failed
//!   assumption and its size, never `proved`.
//!
//! - [`closed_form`]: issue 16 item 2 for the single neuron — the closed form of P1 §3 /
//!   `docs/theory.md` §1.4 proved to solve the flow exactly (an identity in t, exponentials as symbols,
//!   reduced modulo the relations K² = δ² + 4η_aη_w s², e^{λ₊t}e^{λ₋t} = e^{δt} and the
//!   definition of δ), so `closed_form_solves_flow` is `proved` with bound 0 on exactly whitened
//!   single-neuron cases.
//! - [`mod@certificates`] ([`certificates()`]): one line per theorem or identity of the two papers
//!   (statement, source, status, scope, how), computed by running the fixed-dim proofs; `report`
//!   renders it.
//!
//! - [`closed_form_riccati`]: the same for the λ-balanced closed form (P2 Thm 4.3, generic form):
//!   it solves the Riccati equation identically (F in its eigenbasis, e^{Fs}, ∫e^{2Fu}du and the
//!   bracket's inverse as symbols with their derivation rules), so with the `riccati` claim
//!   `closed_form_solves_flow` is `proved` with bound 0 on exactly whitened, exactly λ-balanced cases.
//!
//! - [`closed_form_modes`]: the same for the two-layer per-mode closed form (P1 §4 / App. B): the
//!   flow decouples at a mode-aligned state into single neurons with d = 1 (a symbolic identity),
//!   and whitening, distinct singular values of β* and task alignment are decided exactly on the
//!   case's decimals without an SVD, so `closed_form_solves_flow` is `proved` with bound 0 on such
//!   cases.
//!
//! What is **not** here: the interval route of issue 16 item 2 (a defect bound over subintervals
//! plus a logarithmic-norm bound, combined by Gronwall); every closed-form claim uses the exact
//! route, so inputs that miss an assumption exactly get `not_applicable`, not a bound B > 0.

pub mod certificates;
pub mod claims;
pub mod closed_form;
pub mod closed_form_modes;
pub mod closed_form_riccati;
pub mod identities;
mod qmat;

pub use certificates::{Certificate, CertificateStatus, certificates};
use identities::{Family, Identity, Loss, Plant, Verdict};
use serde::Serialize;

/// The largest dimension (every width, d, h, c, n) at which [`fixed_dims`] proves the identities.
pub const MAX_FIXED_DIM: usize = 3;

/// Status of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proved (for the stated dims/case; how is in `method` and `detail`).
    Proved,
    /// Disproved, with a witness in `detail`.
    Refuted,
    /// The case does not meet the claim's assumptions (named, with their size), or the proof is
    /// not implemented (said so).
    NotApplicable,
}

/// One claim of `lazyrich prove`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    /// Stable id: `conservation`, `closed_form_solves_flow`, `theorem_4_2`, `riccati`, `ntk_formula`.
    pub id: String,
    /// What is claimed.
    pub statement: String,
    /// Paper, theorem/equation.
    pub source: String,
    /// The verdict.
    pub status: Status,
    /// For `proved` symbolic identities, 0 (the residual is exactly the zero polynomial);
    /// otherwise none.
    pub bound: Option<f64>,
    /// How it was decided.
    pub method: String,
    /// Dimensions, witnesses, failed assumptions and their sizes.
    pub detail: String,
}

/// Every family at every fixed dimension the symbolic proofs cover for `model` (a case-file model
/// name): all dims in 1..=[`MAX_FIXED_DIM`]; deep nets with 3 layers (widths ≤ 3) and 4 layers
/// (widths ≤ 2). Unknown models give an empty list.
pub fn fixed_dims(model: &str) -> Vec<Family> {
    let r = 1..=MAX_FIXED_DIM;
    let mut out = Vec::new();
    match model {
        "single_neuron" => out.extend(r.map(|d| Family::SingleNeuron { d })),
        "two_layer_linear" | "lambda_balanced" | "piecewise_linear" => {
            for a in r.clone() {
                for b in r.clone() {
                    for c in r.clone() {
                        out.push(match model {
                            "two_layer_linear" => Family::TwoLayerLinear { d: a, h: b, c },
                            "lambda_balanced" => Family::LambdaBalanced { d_i: a, h: b, d_o: c },
                            _ => Family::PiecewiseLinear { d: a, h: b, n: c },
                        });
                    }
                }
            }
        }
        "deep_linear" => {
            for d in r.clone() {
                for h1 in r.clone() {
                    for h2 in r.clone() {
                        for c in r.clone() {
                            out.push(Family::DeepLinear {
                                widths: vec![d, h1, h2, c],
                            });
                        }
                    }
                }
            }
            for d in 1..=2 {
                for h1 in 1..=2 {
                    for h2 in 1..=2 {
                        for h3 in 1..=2 {
                            for c in 1..=2 {
                                out.push(Family::DeepLinear {
                                    widths: vec![d, h1, h2, h3, c],
                                });
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// The case-file models.
pub const MODELS: &[&str] = &[
    "single_neuron",
    "two_layer_linear",
    "deep_linear",
    "piecewise_linear",
    "lambda_balanced",
];

/// Summary of proving one identity at many dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// How many (dims, loss) instances were proved.
    pub proved: usize,
    /// The instances that were not, with their verdicts.
    pub failed: Vec<(String, Verdict)>,
    /// Total residual entries proved zero.
    pub entries: usize,
}

fn run(ids: impl IntoIterator<Item = Identity>) -> Sweep {
    let mut s = Sweep {
        proved: 0,
        failed: Vec::new(),
        entries: 0,
    };
    for id in ids {
        match id.check() {
            Verdict::Proved { entries, .. } => {
                s.proved += 1;
                s.entries += entries;
            }
            v => s.failed.push((id.dims.clone(), v)),
        }
    }
    s
}

/// The conservation law of `model` at every fixed dimension ([`fixed_dims`]) with the generic
/// loss, plus the square loss with 2 symbolic samples where every dimension is ≤ 2.
pub fn conservation_fixed(model: &str, plant: Plant) -> Sweep {
    let fams = fixed_dims(model);
    let generic = fams.iter().map(|f| identities::conservation(f, Loss::Generic, plant));
    let small: Vec<Family> = fams.iter().filter(|f| max_dim(f) <= 2).cloned().collect();
    let square = small
        .iter()
        .map(|f| identities::conservation(f, Loss::Square { n: 2 }, plant))
        .collect::<Vec<_>>();
    run(generic.chain(square))
}

/// P2 Lemma 4.1 (with its balance certificate) at every (d_i, h, d_o) ∈ {1..=3}³.
pub fn riccati_fixed(plant: Plant) -> Sweep {
    let mut v = Vec::new();
    for d_i in 1..=MAX_FIXED_DIM {
        for h in 1..=MAX_FIXED_DIM {
            for d_o in 1..=MAX_FIXED_DIM {
                v.push(identities::riccati(d_i, h, d_o, plant).0);
            }
        }
    }
    run(v)
}

/// Largest dimension of a family.
pub fn max_dim(f: &Family) -> usize {
    match f {
        Family::SingleNeuron { d } => *d,
        Family::TwoLayerLinear { d, h, c } => *d.max(h).max(c),
        Family::DeepLinear { widths } => *widths.iter().max().unwrap_or(&0),
        Family::PiecewiseLinear { d, h, n } => *d.max(h).max(n),
        Family::LambdaBalanced { d_i, h, d_o } => *d_i.max(h).max(d_o),
    }
}

/// A verdict as one line of text (the witness for a refutation).
pub(crate) fn witness_line(v: &Verdict) -> String {
    match v {
        Verdict::Proved { entries, .. } => format!("proved ({entries} residual entries are zero)"),
        Verdict::Refuted(w) => claims::witness_text(w),
    }
}
