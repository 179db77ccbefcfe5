//! The polynomial identities of the theory, built with symbolic entries at fixed dimensions and
//! checked by exact expansion over ℚ ([`crate::num::poly`]).
//!
//! Each builder returns an [`Identity`]: a list of residual polynomials that the theory says are
//! identically zero. [`Identity::check`] expands them; the zero polynomial is a proof for every
//! value of every symbol (weights, data, learning rates, λ, δ, activation slopes), a nonzero one
//! is refuted with the first nonzero term and a rational point where it does not vanish.
//!
//! | builder | identity | source | assumptions |
//! |---|---|---|---|
//! | [`conservation`] (single neuron) | d/dt(η_w a² − η_a‖w‖²) = 0 | P1 §3 (`docs/theory.md` §1.2) | none: any loss of β = a·w |
//! | [`conservation`] (two-layer linear) | d/dt(η_w AAᵀ − η_a WWᵀ) = 0 | P1 §4, App. B (Δ) | none: any loss of β = WᵀA |
//! | [`conservation`] (deep linear) | d/dt(η_l M_{l+1}ᵀM_{l+1} − η_{l+1} M_l M_lᵀ) = 0 for each consecutive pair | P1 App. B | none: any loss of the end-to-end map |
//! | [`conservation`] (piecewise linear) | d/dt(η_w a_k² − η_a‖w_k‖²) = 0 for each neuron k | P1 §5 (Du et al. 2018) | a fixed activation pattern; the slopes c_ki are symbols, so every pattern and every leaky slope at once |
//! | [`conservation`] (λ-balanced) | d/dt(W2ᵀW2 − W1W1ᵀ) = 0 | P2 Def. A.1 / thesis Thm 2.2.1 | none: any loss of W2W1 |
//! | [`riccati`] | τ d/dt(QQᵀ) = F QQᵀ + QQᵀF − (QQᵀ)² + ½(J Q E Qᵀ + Q E Qᵀ J) | P2 Lemma 4.1 | Σ̃_xx = I (whitened input); E = W2ᵀW2 − W1W1ᵀ − λI, so on λ-balanced nets (E = 0) this is the lemma |
//! | [`ntk_lambda_balanced`] | J Jᵀ = I ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX | P2 §4.1 (thesis eq. 4.1) | none |
//! | [`ntk_two_layer`] | J diag(η) Jᵀ = η_a XWᵀWXᵀ ⊗ I_c + η_w XXᵀ ⊗ AᵀA | P1 §4 (`docs/theory.md` §2.1) | none |
//! | [`theorem_4_2_algebra`] | β̇ = −(η_aWᵀW + δ/2)G − G(η_wAᵀA − δ/2); (η_aWᵀW + δ/2)² = η_aη_wββᵀ + δ²/4 − η_aWᵀ(Δ − δI)W; (η_wAᵀA − δ/2)² = η_aη_wβᵀβ + δ²/4 + η_wAᵀ(Δ − δI)A | P1 Thm 4.2 | the polynomial part of the proof; on Δ = δI the squares are the theorem's; the choice of the PSD root is the width condition (`docs/theory_proofs.md`) |
//!
//! **Losses.** "Generic" means the loss is replaced by ⟨G, β⟩ (or Σ_i g_i f(x_i)) with G a matrix
//! of free symbols. At any point, the flow of any differentiable loss ℓ(β) has the same velocity as
//! the flow of ⟨∇ℓ(β), β⟩ with ∇ℓ(β) frozen (chain rule), and d/dt of a quantity is linear in the
//! velocity, so an identity proved with G symbolic holds for every loss of β, every data set
//! included. "Square" builds ½‖Xβ − Y‖² (P1) or (1/2P)‖W2W1X − Y‖² (P2) with X, Y symbolic and
//! differentiates that polynomial: a second, independent route that uses no chain rule.
//!
//! The flows are θ̇_p = −η_p ∂L/∂θ_p with the rates η as symbols (P2: one rate η = 1/τ), and the
//! gradient ∂L/∂θ_p is the exact derivative of the symbolic loss — no hand-written gradient enters.

use crate::num::poly::{Poly, PolyMat, Var, Vars, lie_derivative};
use rug::Rational;

/// A network family at fixed dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family {
    /// f(x) = a·wᵀx, w ∈ ℝ^d.
    SingleNeuron {
        /// Input dimension.
        d: usize,
    },
    /// f(x) = AᵀWx, W ∈ ℝ^{h×d}, A ∈ ℝ^{h×c}.
    TwoLayerLinear {
        /// Input dimension.
        d: usize,
        /// Hidden width.
        h: usize,
        /// Output dimension.
        c: usize,
    },
    /// f(x) = M_{L+1}⋯M_1 x with M_l ∈ ℝ^{w_l × w_{l−1}}, w = `widths` (the last one is Aᵀ).
    DeepLinear {
        /// [d, h_1, …, h_L, c].
        widths: Vec<usize>,
    },
    /// f(x) = Σ_k a_k σ(w_kᵀx) on a fixed activation pattern: σ'(w_kᵀx_i) = c_ki (symbols).
    PiecewiseLinear {
        /// Input dimension.
        d: usize,
        /// Hidden width.
        h: usize,
        /// Samples.
        n: usize,
    },
    /// ŷ = W2W1x, W1 ∈ ℝ^{h×d_i}, W2 ∈ ℝ^{d_o×h}.
    LambdaBalanced {
        /// Input dimension.
        d_i: usize,
        /// Hidden width.
        h: usize,
        /// Output dimension.
        d_o: usize,
    },
}

impl Family {
    /// The dimensions as text, e.g. `(d, h, c) = (3, 2, 1)`.
    pub fn dims(&self) -> String {
        match self {
            Family::SingleNeuron { d } => format!("d = {d}"),
            Family::TwoLayerLinear { d, h, c } => format!("(d, h, c) = ({d}, {h}, {c})"),
            Family::DeepLinear { widths } => format!(
                "widths (d, h_1, …, c) = ({}), {} layers",
                widths.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                widths.len() - 1
            ),
            Family::PiecewiseLinear { d, h, n } => format!("(d, h, n) = ({d}, {h}, {n})"),
            Family::LambdaBalanced { d_i, h, d_o } => format!("(d_i, h, d_o) = ({d_i}, {h}, {d_o})"),
        }
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        match self {
            Family::SingleNeuron { d } => d + 1,
            Family::TwoLayerLinear { d, h, c } => h * (d + c),
            Family::DeepLinear { widths } => widths.windows(2).map(|w| w[0] * w[1]).sum(),
            Family::PiecewiseLinear { d, h, .. } => h * (d + 1),
            Family::LambdaBalanced { d_i, h, d_o } => h * (d_i + d_o),
        }
    }

    /// Number of terms of the generic loss ⟨G, β⟩ (Σ g_i f(x_i) for piecewise-linear nets): the
    /// size driver of the symbolic proofs (the work grows roughly linearly with it times the
    /// number of conserved entries). Saturates at `usize::MAX`.
    pub fn loss_terms(&self) -> usize {
        let prod = |v: &[usize]| v.iter().fold(1usize, |a, &b| a.saturating_mul(b));
        match self {
            Family::SingleNeuron { d } => *d,
            Family::TwoLayerLinear { d, h, c } => prod(&[*d, *h, *c]),
            Family::DeepLinear { widths } => prod(widths),
            Family::PiecewiseLinear { d, h, n } => prod(&[*d, *h, *n]),
            Family::LambdaBalanced { d_i, h, d_o } => prod(&[*d_i, *h, *d_o]),
        }
    }

    /// The model name used in case files.
    pub fn model(&self) -> &'static str {
        match self {
            Family::SingleNeuron { .. } => "single_neuron",
            Family::TwoLayerLinear { .. } => "two_layer_linear",
            Family::DeepLinear { .. } => "deep_linear",
            Family::PiecewiseLinear { .. } => "piecewise_linear",
            Family::LambdaBalanced { .. } => "lambda_balanced",
        }
    }
}

/// Which loss the flow descends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// ⟨G, β⟩ (or Σ g_i f(x_i)) with G symbolic: every loss of β (of the outputs) at once.
    Generic,
    /// The square loss with symbolic data X, Y and `n` samples (piecewise-linear nets use the
    /// family's own n and ignore this one).
    Square {
        /// Number of samples.
        n: usize,
    },
}

/// A planted error, for negative controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// The identity as the theory states it.
    None,
    /// One sign flipped: the conserved quantity's second term (η_w a² **+** η_a‖w‖², …), the
    /// Riccati equation's −(QQᵀ)² term, or the NTK formula's Kronecker order (B ⊗ A for A ⊗ B).
    FlipSign,
}

/// A set of residual polynomials that the theory says are identically zero.
#[derive(Debug, Clone)]
pub struct Identity {
    /// What is claimed, in words.
    pub statement: String,
    /// Paper and theorem/equation.
    pub source: String,
    /// The dimensions at which it was built.
    pub dims: String,
    /// The symbols.
    pub vars: Vars,
    /// (label, residual) pairs: each residual must be the zero polynomial.
    pub residuals: Vec<(String, Poly)>,
    /// Terms expanded while building the residuals (a measure of the proof's work).
    pub work: usize,
}

/// A point and a nonzero value: why an identity fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Witness {
    /// The residual entry that is not zero.
    pub label: String,
    /// Its first nonzero term (monomial in the symbols) …
    pub monomial: String,
    /// … and that term's coefficient.
    pub coefficient: String,
    /// A rational point (symbol = value) at which the residual does not vanish; empty if the
    /// search found none (the nonzero coefficient is then the witness).
    pub point: Vec<(String, String)>,
    /// The residual's exact value at `point`.
    pub value: String,
}

/// The outcome of expanding an identity.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every residual is the zero polynomial.
    Proved {
        /// Number of residual entries.
        entries: usize,
        /// Number of symbols.
        symbols: usize,
        /// Terms expanded.
        work: usize,
    },
    /// A residual is not zero.
    Refuted(Witness),
}

impl Verdict {
    /// Whether the identity was proved.
    pub fn is_proved(&self) -> bool {
        matches!(self, Verdict::Proved { .. })
    }
}

/// Deterministic pseudo-random nonzero integers in [−9, 9] (splitmix64): witness points.
pub(crate) struct SmallInts(u64);

impl SmallInts {
    pub(crate) fn new(seed: u64) -> SmallInts {
        SmallInts(seed)
    }
    pub(crate) fn next(&mut self) -> i64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let k = (z % 18) as i64; // 0..17
        if k < 9 { k - 9 } else { k - 8 } // −9..−1, 1..9
    }
}

impl Identity {
    /// Expand and decide. A nonzero residual is refuted with its first nonzero term and a point:
    /// integer points with entries in [−9, 9] \ {0} are tried (by Schwartz–Zippel a nonzero
    /// polynomial of degree D vanishes at such a random point with probability ≤ D/18), up to 64.
    pub fn check(&self) -> Verdict {
        for (label, r) in &self.residuals {
            if let Some((m, c)) = r.first_term() {
                let vars = r.variables();
                let mut rng = SmallInts::new(0x5eed);
                let mut point = Vec::new();
                let mut value = String::from("0");
                for _ in 0..64 {
                    let vals: Vec<(Var, Rational)> = vars.iter().map(|&v| (v, Rational::from(rng.next()))).collect();
                    let val = r.eval(&|v| {
                        vals.iter()
                            .find(|(x, _)| *x == v)
                            .map_or_else(Rational::new, |(_, q)| q.clone())
                    });
                    if val != 0 {
                        point = vals
                            .iter()
                            .map(|(v, q)| (self.vars.name(*v).to_string(), q.to_string()))
                            .collect();
                        value = val.to_string();
                        break;
                    }
                }
                return Verdict::Refuted(Witness {
                    label: label.clone(),
                    monomial: self.vars.monomial(m),
                    coefficient: c.to_string(),
                    point,
                    value,
                });
            }
        }
        Verdict::Proved {
            entries: self.residuals.len(),
            symbols: self.vars.len(),
            work: self.work,
        }
    }
}

/// Velocity θ̇_p = −rate_p · ∂L/∂θ_p for parameters `params` = [(θ_p, rate_p)].
pub(super) fn gradient_flow(loss: &Poly, params: &[(Var, Poly)]) -> Vec<(Var, Poly)> {
    params
        .iter()
        .map(|(v, rate)| (*v, loss.diff(*v).mul(rate).neg()))
        .collect()
}

pub(super) fn with_rate(ids: &[Var], rate: &Poly) -> Vec<(Var, Poly)> {
    ids.iter().map(|&v| (v, rate.clone())).collect()
}

fn half() -> Rational {
    Rational::from((1, 2))
}

/// ½‖M‖²_F.
fn half_sq(m: &PolyMat) -> Poly {
    m.dot(m).scale(&half())
}

/// `a − b`, or `a + b` when the sign is planted.
fn combine(a: &Poly, b: &Poly, plant: Plant) -> Poly {
    match plant {
        Plant::None => a.sub(b),
        Plant::FlipSign => a.add(b),
    }
}

fn combine_mat(a: &PolyMat, b: &PolyMat, plant: Plant) -> PolyMat {
    match plant {
        Plant::None => a.sub(b),
        Plant::FlipSign => a.add(b),
    }
}

/// Residuals d/dt Q for the entries of a symmetric matrix Q (upper triangle with diagonal).
fn sym_residuals(name: &str, q: &PolyMat, field: &[(Var, Poly)], work: &mut usize) -> Vec<(String, Poly)> {
    let mut out = Vec::new();
    for i in 0..q.rows {
        for j in i..q.cols {
            let (r, w) = lie_derivative(q.at(i, j), field);
            *work += w;
            out.push((format!("d/dt {name}[{},{}]", i + 1, j + 1), r));
        }
    }
    out
}

/// d/dt of each conserved quantity of `family` along its gradient flow: every residual is the
/// zero polynomial iff the quantity is conserved (for every value of every symbol).
pub fn conservation(family: &Family, loss: Loss, plant: Plant) -> Identity {
    let mut vars = Vars::new();
    let mut work = 0;
    let (statement, source, residuals) = match family {
        &Family::SingleNeuron { d } => {
            let (a, va) = vars.var("a");
            let (w, wid) = vars.matrix("w", d, 1);
            let (eta_a, _) = vars.var("η_a");
            let (eta_w, _) = vars.var("η_w");
            let beta = w.times(&a);
            let l = match loss {
                Loss::Generic => vars.matrix("g", d, 1).0.dot(&beta),
                Loss::Square { n } => {
                    let x = vars.matrix("x", n, d).0;
                    let y = vars.matrix("y", n, 1).0;
                    half_sq(&x.mul(&beta).sub(&y))
                }
            };
            let mut params = vec![(va, eta_a.clone())];
            params.extend(with_rate(&wid, &eta_w));
            let field = gradient_flow(&l, &params);
            let q = combine(&eta_w.mul(&a).mul(&a), &eta_a.mul(&w.dot(&w)), plant);
            let (r, wk) = lie_derivative(&q, &field);
            work += wk;
            (
                "δ = η_w a² − η_a‖w‖² is conserved by the gradient flow of f(x) = a·wᵀx",
                "P1 §3 (Kunin et al. 2024); proof docs/theory_proofs.md §1",
                vec![("d/dt δ".to_string(), r)],
            )
        }
        &Family::TwoLayerLinear { d, h, c } => {
            let (w, wid) = vars.matrix("W", h, d);
            let (a, aid) = vars.matrix("A", h, c);
            let (eta_a, _) = vars.var("η_a");
            let (eta_w, _) = vars.var("η_w");
            let beta = w.t().mul(&a);
            let l = linear_loss(&mut vars, &beta, loss);
            let mut params = with_rate(&aid, &eta_a);
            params.extend(with_rate(&wid, &eta_w));
            let field = gradient_flow(&l, &params);
            let q = combine_mat(&a.mul(&a.t()).times(&eta_w), &w.mul(&w.t()).times(&eta_a), plant);
            (
                "Δ = η_w AAᵀ − η_a WWᵀ is conserved by the gradient flow of f(x) = AᵀWx",
                "P1 §4 and App. B (Assumption B.2's Δ); proof docs/theory_proofs.md §2",
                sym_residuals("Δ", &q, &field, &mut work),
            )
        }
        Family::DeepLinear { widths } => {
            let n_layers = widths.len() - 1;
            let mut layers = Vec::new();
            let mut params = Vec::new();
            let mut etas = Vec::new();
            for l in 0..n_layers {
                let last = l + 1 == n_layers;
                let (m, ids) = if last {
                    let (a, ids) = vars.matrix("A", widths[l], widths[l + 1]);
                    (a.t(), ids)
                } else {
                    vars.matrix(&format!("W{}", l + 1), widths[l + 1], widths[l])
                };
                let (eta, _) = vars.var(if last {
                    "η_A".to_string()
                } else {
                    format!("η_{}", l + 1)
                });
                params.extend(with_rate(&ids, &eta));
                layers.push(m);
                etas.push(eta);
            }
            let mut prod = layers[0].clone();
            for m in &layers[1..] {
                prod = m.mul(&prod);
            }
            let beta = prod.t();
            let l = linear_loss(&mut vars, &beta, loss);
            let field = gradient_flow(&l, &params);
            let mut res = Vec::new();
            for l in 0..n_layers - 1 {
                let (ml, mn) = (&layers[l], &layers[l + 1]);
                let q = combine_mat(
                    &mn.t().mul(mn).times(&etas[l]),
                    &ml.mul(&ml.t()).times(&etas[l + 1]),
                    plant,
                );
                res.extend(sym_residuals(&format!("C{}", l + 1), &q, &field, &mut work));
            }
            (
                "C_l = η_l M_{l+1}ᵀM_{l+1} − η_{l+1} M_l M_lᵀ is conserved for every consecutive pair of layers \
                 of f(x) = M_{L+1}⋯M_1x (M_{L+1} = Aᵀ)",
                "P1 App. B (deep linear networks); proof docs/theory_proofs.md §3",
                res,
            )
        }
        &Family::PiecewiseLinear { d, h, n } => {
            let (w, wid) = vars.matrix("W", h, d);
            let (a, aid) = vars.matrix("a", h, 1);
            let (eta_a, _) = vars.var("η_a");
            let (eta_w, _) = vars.var("η_w");
            let x = vars.matrix("x", n, d).0;
            let cpat = vars.matrix("c", h, n).0;
            // f_i = Σ_k a_k c_ki w_kᵀx_i
            let pre = w.mul(&x.t()); // h × n
            let mut f = PolyMat::zeros(n, 1);
            for i in 0..n {
                let mut s = Poly::zero();
                for k in 0..h {
                    s = s.add(&a.at(k, 0).mul(cpat.at(k, i)).mul(pre.at(k, i)));
                }
                *f.at_mut(i, 0) = s;
            }
            let l = match loss {
                Loss::Generic => vars.matrix("g", n, 1).0.dot(&f),
                Loss::Square { .. } => {
                    let y = vars.matrix("y", n, 1).0;
                    half_sq(&f.sub(&y))
                }
            };
            let mut params = with_rate(&aid, &eta_a);
            params.extend(with_rate(&wid, &eta_w));
            let field = gradient_flow(&l, &params);
            let mut res = Vec::new();
            for k in 0..h {
                let mut wk2 = Poly::zero();
                for j in 0..d {
                    wk2 = wk2.add(&w.at(k, j).mul(w.at(k, j)));
                }
                let q = combine(&eta_w.mul(a.at(k, 0)).mul(a.at(k, 0)), &eta_a.mul(&wk2), plant);
                let (r, wk) = lie_derivative(&q, &field);
                work += wk;
                res.push((format!("d/dt δ_{}", k + 1), r));
            }
            (
                "δ_k = η_w a_k² − η_a‖w_k‖² is conserved for every neuron k of f(x) = Σ_k a_k σ(w_kᵀx) on a fixed \
                 activation pattern (slopes c_ki = σ'(w_kᵀx_i) symbolic: every pattern, every leaky slope)",
                "P1 §5 (per-neuron conservation, Du et al. 2018); proof docs/theory_proofs.md §4",
                res,
            )
        }
        &Family::LambdaBalanced { d_i, h, d_o } => {
            let (w1, w1id) = vars.matrix("W1", h, d_i);
            let (w2, w2id) = vars.matrix("W2", d_o, h);
            let (eta, _) = vars.var("1/τ");
            let prod = w2.mul(&w1);
            let l = match loss {
                Loss::Generic => vars.matrix("G", d_o, d_i).0.dot(&prod),
                Loss::Square { n } => {
                    let x = vars.matrix("X", d_i, n).0;
                    let y = vars.matrix("Y", d_o, n).0;
                    half_sq(&prod.mul(&x).sub(&y)).scale(&Rational::from((1, n as u32)))
                }
            };
            let mut params = with_rate(&w1id, &eta);
            params.extend(with_rate(&w2id, &eta));
            let field = gradient_flow(&l, &params);
            let q = combine_mat(&w2.t().mul(&w2), &w1.mul(&w1.t()), plant);
            (
                "W2ᵀW2 − W1W1ᵀ is conserved by the gradient flow τẆ = −∇L of ŷ = W2W1x (so λ-balance persists)",
                "P2 Def. A.1 and thesis Thm 2.2.1 (Dominé et al. 2025); proof docs/theory_proofs.md §5",
                sym_residuals("(W2ᵀW2 − W1W1ᵀ)", &q, &field, &mut work),
            )
        }
    };
    let loss_text = match (family, loss) {
        (_, Loss::Generic) => "generic loss (∇ℓ symbolic: every loss, every data set)".to_string(),
        (Family::PiecewiseLinear { n, .. }, Loss::Square { .. }) => format!("square loss, {n} symbolic samples"),
        (_, Loss::Square { n }) => format!("square loss, {n} symbolic samples"),
    };
    Identity {
        statement: statement.to_string(),
        source: source.to_string(),
        dims: format!("{}; {loss_text}", family.dims()),
        vars,
        residuals,
        work,
    }
}

/// The loss for an end-to-end matrix β (d×c): ⟨G, β⟩ or ½‖Xβ − Y‖².
fn linear_loss(vars: &mut Vars, beta: &PolyMat, loss: Loss) -> Poly {
    match loss {
        Loss::Generic => vars.matrix("G", beta.rows, beta.cols).0.dot(beta),
        Loss::Square { n } => {
            let x = vars.matrix("X", n, beta.rows).0;
            let y = vars.matrix("Y", n, beta.cols).0;
            half_sq(&x.mul(beta).sub(&y))
        }
    }
}

/// P2 Lemma 4.1 with its balance certificate, at dims (d_i, h, d_o), whitened input (Σ̃_xx = I),
/// Σ̃_yx and λ symbolic: τ d/dt(QQᵀ) − [F QQᵀ + QQᵀF − (QQᵀ)²] − ½(J Q E Qᵀ + Q E Qᵀ J) ≡ 0, with
/// Q = [W1ᵀ; W2], F = [[−λ/2 I, Σ̃_yxᵀ], [Σ̃_yx, λ/2 I]], J = diag(−I, I) and
/// E = W2ᵀW2 − W1W1ᵀ − λI (zero on λ-balanced nets). With `Plant::FlipSign` the (QQᵀ)² term enters
/// with a + sign.
///
/// Also returns `lhs_minus_rhs` (without the certificate) for evaluation at λ-balanced points.
pub fn riccati(d_i: usize, h: usize, d_o: usize, plant: Plant) -> (Identity, RiccatiParts) {
    let mut vars = Vars::new();
    let (w1, w1id) = vars.matrix("W1", h, d_i);
    let (w2, w2id) = vars.matrix("W2", d_o, h);
    let (s, _) = vars.matrix("Σyx", d_o, d_i);
    let (lambda, vl) = vars.var("λ");
    // τ-scaled flow (τ d/dt): L = ½‖W2W1‖²_F − ⟨Σ̃_yx, W2W1⟩ (the (1/2P)‖W2W1X − Y‖² of P2 with
    // XXᵀ/P = I, YXᵀ/P = Σ̃_yx, constant dropped).
    let prod = w2.mul(&w1);
    let l = half_sq(&prod).sub(&s.dot(&prod));
    let one = Poly::one();
    let mut params = with_rate(&w1id, &one);
    params.extend(with_rate(&w2id, &one));
    let field = gradient_flow(&l, &params);
    let q = w1.t().vstack(&w2);
    let p = q.mul(&q.t());
    let n = d_i + d_o;
    let mut work = 0;
    let mut lhs = PolyMat::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            let (r, w) = lie_derivative(p.at(i, j), &field);
            work += w;
            *lhs.at_mut(i, j) = r;
        }
    }
    let hl = lambda.scale(&half());
    let f = PolyMat::blocks(&PolyMat::scalar(d_i, &hl.neg()), &s.t(), &s, &PolyMat::scalar(d_o, &hl));
    let pp = p.mul(&p);
    let sq = match plant {
        Plant::None => pp.scale(&Rational::from(-1)),
        Plant::FlipSign => pp,
    };
    let rhs = f.mul(&p).add(&p.mul(&f)).add(&sq);
    let e = w2.t().mul(&w2).sub(&w1.mul(&w1.t())).sub(&PolyMat::scalar(h, &lambda));
    let j = PolyMat::block_diag(&PolyMat::scalar(d_i, &Poly::constant(-1)), &PolyMat::identity(d_o));
    let qeq = q.mul(&e).mul(&q.t());
    let cert = j.mul(&qeq).add(&qeq.mul(&j)).scale(&half());
    let diff = lhs.sub(&rhs);
    let res = diff.sub(&cert);
    let mut residuals = Vec::new();
    for i in 0..n {
        for jx in i..n {
            residuals.push((format!("entry [{},{}]", i + 1, jx + 1), res.at(i, jx).clone()));
        }
    }
    let parts = RiccatiParts {
        lhs_minus_rhs: diff,
        w1: w1id,
        w2: w2id,
        lambda: vl,
    };
    (
        Identity {
            statement: "QQᵀ of the λ-balanced flow satisfies τ d/dt(QQᵀ) = F QQᵀ + QQᵀF − (QQᵀ)² under whitened input \
                        (exact identity with the balance defect E = W2ᵀW2 − W1W1ᵀ − λI as certificate term \
                        ½(JQEQᵀ + QEQᵀJ), J = diag(−I, I); E = 0 on λ-balanced nets)"
                .into(),
            source: "P2 Lemma 4.1 (Dominé et al. 2025); proof docs/theory_proofs.md §6".into(),
            dims: format!("(d_i, h, d_o) = ({d_i}, {h}, {d_o}); Σ̃_yx, λ symbolic; Σ̃_xx = I"),
            vars,
            residuals,
            work,
        },
        parts,
    )
}

/// The Riccati residual without the balance certificate, and the symbols needed to evaluate it
/// at a λ-balanced point.
#[derive(Debug, Clone)]
pub struct RiccatiParts {
    /// τ d/dt(QQᵀ) − [F QQᵀ + QQᵀF ∓ (QQᵀ)²].
    pub lhs_minus_rhs: PolyMat,
    /// W1's symbols (row-major).
    pub w1: Vec<Var>,
    /// W2's symbols (row-major).
    pub w2: Vec<Var>,
    /// λ.
    pub lambda: Var,
}

/// JJᵀ of ŷ = W2W1X (outputs ordered (o, p), o major; parameters W1 then W2) equals
/// I_{d_o} ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX, at (d_i, h, d_o) with `p` samples, X symbolic.
/// `Plant::FlipSign` swaps the Kronecker order of both terms.
pub fn ntk_lambda_balanced(d_i: usize, h: usize, d_o: usize, p: usize, plant: Plant) -> Identity {
    let mut vars = Vars::new();
    let (w1, w1id) = vars.matrix("W1", h, d_i);
    let (w2, w2id) = vars.matrix("W2", d_o, h);
    let (x, _) = vars.matrix("X", d_i, p);
    let yhat = w2.mul(&w1).mul(&x);
    let ids: Vec<Var> = w1id.iter().chain(&w2id).copied().collect();
    let mut jac = PolyMat::zeros(d_o * p, ids.len());
    for o in 0..d_o {
        for s in 0..p {
            for (k, &v) in ids.iter().enumerate() {
                *jac.at_mut(o * p + s, k) = yhat.at(o, s).diff(v);
            }
        }
    }
    let k = jac.mul(&jac.t());
    let a1 = PolyMat::identity(d_o);
    let b1 = x.t().mul(&w1.t()).mul(&w1).mul(&x);
    let a2 = w2.mul(&w2.t());
    let b2 = x.t().mul(&x);
    let formula = match plant {
        Plant::None => PolyMat::kron(&a1, &b1).add(&PolyMat::kron(&a2, &b2)),
        Plant::FlipSign => PolyMat::kron(&b1, &a1).add(&PolyMat::kron(&b2, &a2)),
    };
    let res = k.sub(&formula);
    let n = d_o * p;
    let mut residuals = Vec::new();
    let mut work = 0;
    for i in 0..n {
        for j in i..n {
            work += k.at(i, j).n_terms();
            residuals.push((format!("NTK[{},{}]", i + 1, j + 1), res.at(i, j).clone()));
        }
    }
    Identity {
        statement: "the NTK of ŷ = W2W1x is I ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX (= JJᵀ of the parameter Jacobian)".into(),
        source: "P2 §4.1 (thesis eq. 4.1, code get_ntk); proof docs/theory_proofs.md §7".into(),
        dims: format!("(d_i, h, d_o) = ({d_i}, {h}, {d_o}), P = {p}; X symbolic"),
        vars,
        residuals,
        work,
    }
}

/// J diag(η) Jᵀ of f(x) = AᵀWx on n symbolic samples (outputs ordered (i, k), sample major)
/// equals η_a XWᵀWXᵀ ⊗ I_c + η_w XXᵀ ⊗ AᵀA. `Plant::FlipSign` swaps the Kronecker order.
pub fn ntk_two_layer(d: usize, h: usize, c: usize, n: usize, plant: Plant) -> Identity {
    let mut vars = Vars::new();
    let (w, wid) = vars.matrix("W", h, d);
    let (a, aid) = vars.matrix("A", h, c);
    let (eta_a, _) = vars.var("η_a");
    let (eta_w, _) = vars.var("η_w");
    let (x, _) = vars.matrix("X", n, d);
    let out = x.mul(&w.t()).mul(&a); // n × c, row i = f(x_i)ᵀ
    let params: Vec<(Var, Poly)> = aid
        .iter()
        .map(|&v| (v, eta_a.clone()))
        .chain(wid.iter().map(|&v| (v, eta_w.clone())))
        .collect();
    let mut jac = PolyMat::zeros(n * c, params.len());
    let mut jac_eta = PolyMat::zeros(n * c, params.len());
    for i in 0..n {
        for k in 0..c {
            for (col, (v, eta)) in params.iter().enumerate() {
                let dv = out.at(i, k).diff(*v);
                *jac_eta.at_mut(i * c + k, col) = dv.mul(eta);
                *jac.at_mut(i * c + k, col) = dv;
            }
        }
    }
    let kmat = jac_eta.mul(&jac.t());
    let a1 = x.mul(&w.t()).mul(&w).mul(&x.t()).times(&eta_a);
    let b1 = PolyMat::identity(c);
    let a2 = x.mul(&x.t()).times(&eta_w);
    let b2 = a.t().mul(&a);
    let formula = match plant {
        Plant::None => PolyMat::kron(&a1, &b1).add(&PolyMat::kron(&a2, &b2)),
        Plant::FlipSign => PolyMat::kron(&b1, &a1).add(&PolyMat::kron(&b2, &a2)),
    };
    let res = kmat.sub(&formula);
    let m = n * c;
    let mut residuals = Vec::new();
    let mut work = 0;
    for i in 0..m {
        for j in i..m {
            work += kmat.at(i, j).n_terms();
            residuals.push((format!("NTK[{},{}]", i + 1, j + 1), res.at(i, j).clone()));
        }
    }
    Identity {
        statement: "the NTK Θ(x,x') = η_a(xᵀWᵀWx')I_c + η_w(xᵀx')AᵀA of f(x) = AᵀWx equals J diag(η) Jᵀ".into(),
        source: "P1 §4 (NTK with learning rates, docs/theory.md §2.1); proof docs/theory_proofs.md §7".into(),
        dims: format!("(d, h, c) = ({d}, {h}, {c}), n = {n}; X, η symbolic"),
        vars,
        residuals,
        work,
    }
}

/// The polynomial part of P1 Theorem 4.2 at (d, h, c), W, A, G = ∂L/∂β, η_a, η_w, δ symbolic:
/// (i) the parameter flow's β̇ = −(η_aWᵀW + δ/2 I)G − G(η_wAᵀA − δ/2 I);
/// (ii) (η_aWᵀW + δ/2 I)² − (η_aη_w ββᵀ + δ²/4 I) + η_a Wᵀ(Δ − δI)W ≡ 0;
/// (iii) (η_wAᵀA − δ/2 I)² − (η_aη_w βᵀβ + δ²/4 I) − η_w Aᵀ(Δ − δI)A ≡ 0, Δ = η_wAAᵀ − η_aWWᵀ.
/// On Δ = δI, (ii)–(iii) say η_aWᵀW + δ/2 and η_wAᵀA − δ/2 are square roots of the theorem's
/// matrices; which root (the PSD one iff the width condition holds) is not a polynomial fact.
pub fn theorem_4_2_algebra(d: usize, h: usize, c: usize) -> Identity {
    let mut vars = Vars::new();
    let (w, wid) = vars.matrix("W", h, d);
    let (a, aid) = vars.matrix("A", h, c);
    let (eta_a, _) = vars.var("η_a");
    let (eta_w, _) = vars.var("η_w");
    let (delta, _) = vars.var("δ");
    let (g, _) = vars.matrix("G", d, c);
    let beta = w.t().mul(&a);
    let l = g.dot(&beta);
    let mut params = with_rate(&aid, &eta_a);
    params.extend(with_rate(&wid, &eta_w));
    let field = gradient_flow(&l, &params);
    let mut work = 0;
    let hd = delta.scale(&half());
    let sw = w.t().mul(&w).times(&eta_a).add(&PolyMat::scalar(d, &hd));
    let sa = a.t().mul(&a).times(&eta_w).sub(&PolyMat::scalar(c, &hd));
    let theorem = sw.mul(&g).add(&g.mul(&sa)).scale(&Rational::from(-1));
    let mut residuals = Vec::new();
    for i in 0..d {
        for j in 0..c {
            let (bd, wk) = lie_derivative(beta.at(i, j), &field);
            work += wk;
            residuals.push((format!("(i) β̇[{},{}]", i + 1, j + 1), bd.sub(theorem.at(i, j))));
        }
    }
    let dsq = delta.mul(&delta).scale(&Rational::from((1, 4)));
    let ee = eta_a.mul(&eta_w);
    let big_delta = a.mul(&a.t()).times(&eta_w).sub(&w.mul(&w.t()).times(&eta_a));
    let defect = big_delta.sub(&PolyMat::scalar(h, &delta));
    let r2 = sw
        .mul(&sw)
        .sub(&beta.mul(&beta.t()).times(&ee).add(&PolyMat::scalar(d, &dsq)))
        .add(&w.t().mul(&defect).mul(&w).times(&eta_a));
    let r3 = sa
        .mul(&sa)
        .sub(&beta.t().mul(&beta).times(&ee).add(&PolyMat::scalar(c, &dsq)))
        .sub(&a.t().mul(&defect).mul(&a).times(&eta_w));
    for i in 0..d {
        for j in i..d {
            residuals.push((format!("(ii) [{},{}]", i + 1, j + 1), r2.at(i, j).clone()));
        }
    }
    for i in 0..c {
        for j in i..c {
            residuals.push((format!("(iii) [{},{}]", i + 1, j + 1), r3.at(i, j).clone()));
        }
    }
    Identity {
        statement: "P1 Thm 4.2, polynomial part: β̇ = −(η_aWᵀW + δ/2)G − G(η_wAᵀA − δ/2), and on Δ = δI these two \
                    matrices square to η_aη_wββᵀ + δ²/4 and η_aη_wβᵀβ + δ²/4"
            .into(),
        source: "P1 Theorem 4.2 (Kunin et al. 2024); proof docs/theory_proofs.md §8".into(),
        dims: format!("(d, h, c) = ({d}, {h}, {c}); W, A, G, η, δ symbolic"),
        vars,
        residuals,
        work,
    }
}
