//! The single-neuron closed form is the gradient flow: an exact symbolic proof (issue 16 item 2,
//! route "exact, B = 0").
//!
//! **Flow** (P1 §3, `docs/theory.md` §1.3): f(x) = a·wᵀx, square loss, whitened input XᵀX = I, so
//! L = ½‖a·w − β*‖² + const with β* = Xᵀy, and
//!
//! ȧ = η_a(wᵀβ* − a‖w‖²),  ẇ = η_w(aβ* − a²w).
//!
//! **Closed form** (`docs/theory.md` §1.4, as written in the module doc of `exact::single_neuron_generic`;
//! what is proved is this formula, not the generic code's evaluation of it in any number type): δ = η_w a0² − η_a‖w0‖²,
//! K = √(δ² + 4η_aη_w s²), s = ‖β*‖, p0 = w0ᵀβ*, λ± = (δ ± K)/2, c₊ = (η_a p0 + a0λ₊)/K,
//! c₋ = −(η_a p0 + a0λ₋)/K, m± = e^{λ±t} − 1, Φ₀ = (e^{δt} − 1)/δ = t·φ₁(δt) (= t at δ = 0):
//!
//! - A = a0 + c₊m₊ + c₋m₋,  η_w I1 = r₊m₊ + r₋m₋ (r± = η_w c±/λ±),
//! - g² = P = 1 + q₊m₊(2 + m₊) + 4η_w c₊c₋ Φ₀ + q₋m₋(2 + m₋) (q± = η_w c±²/λ±),
//! - a = A/g, w = (w0 + η_w I1 β*)/g, g = +√P.
//!
//! The branch of `single_neuron_generic` that writes the cross term as q₀m_δ (q₀ = 4η_w c₊c₋/δ,
//! m_δ = e^{δt} − 1, used when |δ| ≥ K/4) is the same expression: q₀m_δ = 4η_w c₊c₋Φ₀ by the
//! definition of Φ₀. So one identity covers every δ, including δ = 0 exactly.
//!
//! **Proof.** The exponentials are symbols E± = e^{λ±t} with d/dt E± = λ±E±, and Φ₀ a symbol
//! with d/dt Φ₀ = 1 + δΦ₀; K and δ are symbols; a0, w0, β*, η_a, η_w are symbols (every
//! coordinate at d = 1, 2, 3; or the invariants n0 = ‖w0‖², p0, S = s² and one generic coordinate
//! for every d at once, [`SnDim::Every`]). With D = K²λ₊λ₋ (a t-independent constant) the closed
//! form is a = Â/h, w = Ŵ/h with h = D·g and polynomials Â, Ŵ, P̂ = D·P; h² = D·P̂ and
//! h′ = D·P̂′/(2h). Multiplying each component's defect (ẋ − f(x)) by 2h³ gives a polynomial
//! (the right-hand side f is the exact derivative of the symbolic loss ½‖a·w − β*‖², split into
//! its parts of degree 1 and 3 in (a, w), which take the factors h² and 1):
//!
//! - 2h³(ȧ − f_a) = D(2Â′P̂ − ÂP̂′) − 2(D P̂ f_a,1(Â, Ŵ) + f_a,3(Â, Ŵ)), likewise for each w_i;
//! - ġ = η_w a² g (the linearisation's definition of g, which makes P = 1 + 2η_w∫A² ≥ 1):
//!   D P̂′ − 2η_w Â² = 0;
//! - at t = 0 (E± = 1, Φ₀ = 0): Â = a0·D, Ŵ = w0·D, P̂ = D (so g(0) = +1, a(0) = a0, w(0) = w0).
//!
//! Each residual is reduced modulo the three relations that the true values satisfy:
//! K² = δ² + 4η_aη_w S, E₊E₋ = e^{δt} = 1 + δΦ₀ (since λ₊ + λ₋ = δ) and η_w a0² = δ + η_a‖w0‖²
//! (the definition of δ). Their leading monomials K², E₊E₋, η_w a0² (lex order
//! K > E₊ > E₋ > η_w > the rest) are pairwise coprime, so they are a Gröbner basis and
//! [`Poly::replace_monomial`] applied in that order gives the unique normal form: **zero normal
//! form ⟺ the residual lies in the ideal**, i.e. vanishes at every real point that satisfies the
//! relations (the derivation d/dt maps the ideal into itself, so this is consistent).
//!
//! **Assumptions** (what the division by D and the root g need): η_a > 0, η_w > 0 and β* ≠ 0.
//! Then λ₊λ₋ = −η_aη_w s² < 0, so λ₊ > 0 > λ₋ (both ≠ 0), K² ≥ 4η_aη_w s² > 0 (K > 0) and D ≠ 0;
//! P(0) = 1 and P′ = 2η_w A² ≥ 0 give P ≥ 1 on t ≥ 0, so g = √P is smooth and positive there. The
//! flow's right-hand side is polynomial (locally Lipschitz), so its solution is unique
//! (Picard–Lindelöf): the closed form, a smooth solution with the right initial value, **is** the
//! flow for all t ≥ 0 — no error bound is involved (B = 0). XᵀX = I is what makes the model's
//! square loss equal ½‖a·w − β*‖² + const; `claims` checks it exactly on the case's decimals.
//!
//! **Refutation.** A nonzero normal form is reported with its first term and an exact witness: the
//! k-th t-derivative (k ≤ 3) of the cleared defect at t = 0 (E± = 1, Φ₀ = 0) at a rational point
//! of the parameters where K is rational (δ² + 4η_aη_w s² a perfect square), found by a
//! deterministic search over small integers. A nonzero value there means the defect is not
//! identically zero near t = 0 (h(0) = D ≠ 0), so the formula does not solve the flow.

use super::identities::{Plant, SmallInts, Verdict, Witness};
use crate::num::poly::{Monomial, Poly, Var, Vars, lie_derivative};
use rug::{Integer, Rational};

/// Which dimensions the symbolic proof covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnDim {
    /// w, β* ∈ ℝ^d with every coordinate a symbol; the right-hand side is the exact gradient of
    /// the symbolic loss ½‖a·w − β*‖² (no hand-written gradient).
    Fixed(usize),
    /// Every d at once: the closed form and the flow depend on w0 and β* only through
    /// n0 = ‖w0‖², p0 = w0ᵀβ*, S = ‖β*‖² (for a and g) and, for w's coordinate i, through
    /// (w0_i, β*_i). These five are symbols (a relaxation: the identity is then proved even without
    /// Cauchy–Schwarz between them); wᵀβ* and ‖w‖² of w = (D w0 + Î β*)/h are written by
    /// bilinearity (D p0 + Î S, D²n0 + 2DÎp0 + Î²S) and f = (η_a(wᵀβ* − a‖w‖²), η_w(aβ*_i − a²w_i))
    /// is written by hand (the gradient of ½‖a·w − β*‖²).
    Every,
}

impl SnDim {
    /// The dims as text.
    pub fn text(&self) -> String {
        match self {
            SnDim::Fixed(d) => format!("d = {d}"),
            SnDim::Every => "every d (invariants ‖w0‖², w0ᵀβ*, ‖β*‖² and one generic coordinate)".into(),
        }
    }
}

/// Symbol ids needed to build witness points.
#[derive(Debug, Clone)]
struct Syms {
    k: Var,
    ep: Var,
    em: Var,
    phi0: Var,
    eta_w: Var,
    a0: Var,
    delta: Var,
    eta_a: Var,
    /// Fixed(d): the coordinates of w0 and β*; Every: one generic coordinate each.
    w0: Vec<Var>,
    beta: Vec<Var>,
    /// Every: (n0, p0, S).
    invariants: Option<(Var, Var, Var)>,
}

/// The closed form's defect residuals, reduced to normal form modulo the relations.
#[derive(Debug, Clone)]
pub struct ClosedFormIdentity {
    /// What is claimed.
    pub statement: String,
    /// Paper, equation.
    pub source: String,
    /// Which dims.
    pub dims: String,
    /// The symbols.
    pub vars: Vars,
    /// (label, normal form): each must be the zero polynomial.
    pub residuals: Vec<(String, Poly)>,
    /// Terms of the cleared residuals before reduction (a measure of the proof's work).
    pub work: usize,
    field: Vec<(Var, Poly)>,
    syms: Syms,
    dim: SnDim,
}

fn q(n: i64, d: i64) -> Rational {
    Rational::from((n, d))
}

fn pow(p: &Poly, k: u32) -> Poly {
    (0..k).fold(Poly::one(), |acc, _| acc.mul(p))
}

/// Build the single-neuron closed-form identity. `Plant::FlipSign` flips the sign of c₋ in A
/// (A = a0 + c₊m₊ − c₋m₋), a negative control that must be refuted.
pub fn single_neuron(dim: SnDim, plant: Plant) -> ClosedFormIdentity {
    let mut vars = Vars::new();
    // Creation order = the lex order of the module doc (K > E₊ > E₋ > Φ₀ > η_w > a0 > …).
    let (k, vk) = vars.var("K");
    let (ep, vep) = vars.var("E₊");
    let (em, vem) = vars.var("E₋");
    let (phi0, vphi) = vars.var("Φ₀");
    let (eta_w, veta_w) = vars.var("η_w");
    let (a0, va0) = vars.var("a0");
    let (delta, vdelta) = vars.var("δ");
    let (eta_a, veta_a) = vars.var("η_a");
    let (w0, beta, n0, p0, s2, invariants) = match dim {
        SnDim::Fixed(d) => {
            let (w0m, w0id) = vars.matrix("w0", d, 1);
            let (bm, bid) = vars.matrix("β*", d, 1);
            let (n0, p0, s2) = (w0m.dot(&w0m), w0m.dot(&bm), bm.dot(&bm));
            ((w0m.data, w0id), (bm.data, bid), n0, p0, s2, None)
        }
        SnDim::Every => {
            let (n0, vn0) = vars.var("‖w0‖²");
            let (p0, vp0) = vars.var("w0ᵀβ*");
            let (s2, vs2) = vars.var("‖β*‖²");
            let (wc, vwc) = vars.var("w0_i");
            let (bc, vbc) = vars.var("β*_i");
            (
                (vec![wc], vec![vwc]),
                (vec![bc], vec![vbc]),
                n0,
                p0,
                s2,
                Some((vn0, vp0, vs2)),
            )
        }
    };
    let one = Poly::one();
    let lp = delta.add(&k).scale(&q(1, 2));
    let lm = delta.sub(&k).scale(&q(1, 2));
    let cp = eta_a.mul(&p0).add(&a0.mul(&lp));
    let cm = eta_a.mul(&p0).add(&a0.mul(&lm)).neg();
    let lplm = lp.mul(&lm);
    let dd = k.mul(&k).mul(&lplm);
    let mp = ep.sub(&one);
    let mm = em.sub(&one);
    let cm_in_a = match plant {
        Plant::None => cm.clone(),
        Plant::FlipSign => cm.neg(),
    };
    // Â = D·A, Î = D·η_w I1, P̂ = D·g².
    let a_hat = a0.mul(&dd).add(&k.mul(&lplm).mul(&cp.mul(&mp).add(&cm_in_a.mul(&mm))));
    let i_hat = k.mul(&eta_w).mul(&cp.mul(&lm).mul(&mp).add(&cm.mul(&lp).mul(&mm)));
    let p_hat = dd
        .add(&eta_w.mul(&lm).mul(&cp).mul(&cp).mul(&ep.mul(&ep).sub(&one)))
        .add(&eta_w.mul(&lp).mul(&cm).mul(&cm).mul(&em.mul(&em).sub(&one)))
        .add(&eta_w.mul(&lplm).mul(&cp).mul(&cm).mul(&phi0).scale(&Rational::from(4)));
    let w_hat: Vec<Poly> =
        w0.0.iter()
            .zip(&beta.0)
            .map(|(w, b)| dd.mul(w).add(&i_hat.mul(b)))
            .collect();
    // d/dt: E± ↦ λ±E±, Φ₀ ↦ 1 + δΦ₀; everything else is constant.
    let field = vec![
        (vep, lp.mul(&ep)),
        (vem, lm.mul(&em)),
        (vphi, one.add(&delta.mul(&phi0))),
    ];
    let deriv = |p: &Poly| lie_derivative(p, &field).0;
    let h2 = dd.mul(&p_hat);
    let p_dot = deriv(&p_hat);
    // The right-hand side, multiplied by 2h³, as a polynomial.
    let (rhs_a, rhs_w): (Poly, Vec<Poly>) = match dim {
        SnDim::Fixed(d) => {
            let (a, va) = vars.var("a");
            let (wv, wid) = vars.matrix("w", d, 1);
            let (u, vu) = vars.var("u");
            // L = ½‖a·w − β*‖²
            let mut l = Poly::zero();
            for (wi, bi) in wv.data.iter().zip(&beta.0) {
                let r = a.mul(wi).sub(bi);
                l = l.add(&r.mul(&r).scale(&q(1, 2)));
            }
            // f(Â·u, Ŵ·u) split by powers of u = 1/h; u^k · 2h³ = 2 h^{3−k} = 2 (D P̂)^{(3−k)/2}.
            let clear = |f: &Poly| -> Poly {
                let mut g = f.substitute(va, &a_hat.mul(&u));
                for (i, &wi) in wid.iter().enumerate() {
                    g = g.substitute(wi, &w_hat[i].mul(&u));
                }
                let mut out = Poly::zero();
                for (kk, c) in g.coefficients_in(vu).iter().enumerate() {
                    if c.is_zero() {
                        continue;
                    }
                    assert!(
                        kk % 2 == 1 && kk <= 3,
                        "invariant: the single-neuron flow has parts of degree 1 and 3 only"
                    );
                    out = out.add(&c.mul(&pow(&h2, (3 - kk as u32) / 2)));
                }
                out.scale(&Rational::from(2))
            };
            let fa = l.diff(va).mul(&eta_a).neg();
            let fw: Vec<Poly> = wid.iter().map(|&wi| l.diff(wi).mul(&eta_w).neg()).collect();
            (clear(&fa), fw.iter().map(clear).collect())
        }
        SnDim::Every => {
            let wb = dd.mul(&p0).add(&i_hat.mul(&s2));
            let ww = dd
                .mul(&dd)
                .mul(&n0)
                .add(&dd.mul(&i_hat).mul(&p0).scale(&Rational::from(2)))
                .add(&i_hat.mul(&i_hat).mul(&s2));
            let fa = eta_a.mul(&wb.mul(&h2).sub(&a_hat.mul(&ww))).scale(&Rational::from(2));
            let fw = eta_w
                .mul(&a_hat.mul(&beta.0[0]).mul(&h2).sub(&a_hat.mul(&a_hat).mul(&w_hat[0])))
                .scale(&Rational::from(2));
            (fa, vec![fw])
        }
    };
    let lhs = |x: &Poly| dd.mul(&deriv(x).mul(&p_hat).scale(&Rational::from(2)).sub(&x.mul(&p_dot)));
    let mut raw: Vec<(String, Poly)> = Vec::new();
    raw.push(("2h³·(ȧ − f_a)".into(), lhs(&a_hat).sub(&rhs_a)));
    let coord = |i: usize| match dim {
        SnDim::Fixed(_) => format!("w[{}]", i + 1),
        SnDim::Every => "w_i".into(),
    };
    for (i, (wh, r)) in w_hat.iter().zip(&rhs_w).enumerate() {
        raw.push((format!("2h³·(ẇ − f_w)[{}]", coord(i)), lhs(wh).sub(r)));
    }
    raw.push((
        "D·P̂′ − 2η_w·Â² (ġ = η_w a² g)".into(),
        dd.mul(&p_dot)
            .sub(&eta_w.mul(&a_hat).mul(&a_hat).scale(&Rational::from(2))),
    ));
    let at0 = [
        (vep, Rational::from(1)),
        (vem, Rational::from(1)),
        (vphi, Rational::new()),
    ];
    raw.push(("Â(0) − a0·D".into(), a_hat.substitute_values(&at0).sub(&a0.mul(&dd))));
    for (i, (wh, w)) in w_hat.iter().zip(&w0.0).enumerate() {
        raw.push((
            format!("Ŵ(0) − w0·D [{}]", coord(i)),
            wh.substitute_values(&at0).sub(&dd.mul(w)),
        ));
    }
    raw.push(("P̂(0) − D (g(0) = 1)".into(), p_hat.substitute_values(&at0).sub(&dd)));
    let work = raw.iter().map(|(_, p)| p.n_terms()).sum();
    let rules = relations(
        &syms_monomials(vk, vep, vem, veta_w, va0),
        &delta,
        &phi0,
        &eta_a,
        &eta_w,
        &s2,
        &n0,
    );
    let residuals = raw.into_iter().map(|(l, p)| (l, normal_form(&p, &rules))).collect();
    let syms = Syms {
        k: vk,
        ep: vep,
        em: vem,
        phi0: vphi,
        eta_w: veta_w,
        a0: va0,
        delta: vdelta,
        eta_a: veta_a,
        w0: w0.1,
        beta: beta.1,
        invariants,
    };
    ClosedFormIdentity {
        statement: "the single-neuron closed form (a = A/g, w = (w0 + η_w I1 β*)/g, g² = 1 + 2η_w∫A²) solves \
                    ȧ = η_a(wᵀβ* − a‖w‖²), ẇ = η_w(aβ* − a²w) with (a, w)(0) = (a0, w0), for all t ≥ 0: it is the \
                    gradient flow of f(x) = a·wᵀx under whitened input"
            .into(),
        source: "P1 §3 and App. A.2 (Kunin et al. 2024); closed form docs/theory.md §1.4; proof \
                 docs/theory_proofs.md §9"
            .into(),
        dims: format!(
            "{}; a0, w0, β*, η_a, η_w, δ, K symbolic, E± = e^{{λ±t}}, Φ₀ = t·φ₁(δt)",
            dim.text()
        ),
        vars,
        residuals,
        work,
        field,
        syms,
        dim,
    }
}

fn syms_monomials(vk: Var, vep: Var, vem: Var, veta_w: Var, va0: Var) -> [Monomial; 3] {
    [
        Monomial::new(&[(vep, 1), (vem, 1)]),
        Monomial::new(&[(vk, 2)]),
        Monomial::new(&[(veta_w, 1), (va0, 2)]),
    ]
}

/// The relations E₊E₋ = 1 + δΦ₀, K² = δ² + 4η_aη_w S, η_w a0² = δ + η_a n0, in the order in
/// which they are applied (no replacement reintroduces an earlier leading monomial).
fn relations(
    m: &[Monomial; 3],
    delta: &Poly,
    phi0: &Poly,
    eta_a: &Poly,
    eta_w: &Poly,
    s2: &Poly,
    n0: &Poly,
) -> Vec<(Monomial, Poly)> {
    vec![
        (m[0].clone(), Poly::one().add(&delta.mul(phi0))),
        (
            m[1].clone(),
            delta
                .mul(delta)
                .add(&eta_a.mul(eta_w).mul(s2).scale(&Rational::from(4))),
        ),
        (m[2].clone(), delta.add(&eta_a.mul(n0))),
    ]
}

fn normal_form(p: &Poly, rules: &[(Monomial, Poly)]) -> Poly {
    rules.iter().fold(p.clone(), |acc, (m, r)| acc.replace_monomial(m, r))
}

/// A witness point: values of the symbols and printable (name, value) pairs.
type Point = (Vec<(Var, Rational)>, Vec<(String, String)>);

/// Up to `n` rational parameter points with K rational (δ² + 4η_aη_w‖β*‖² a perfect square),
/// η_a, η_w ≥ 1, β* ≠ 0, entries in −2..=2, in a deterministic order.
fn witness_points(c: &ClosedFormIdentity, n: usize) -> Vec<Point> {
    let mut out = Vec::new();
    let s = &c.syms;
    let d = match c.dim {
        SnDim::Fixed(d) => d,
        SnDim::Every => 2,
    };
    let mut rng = SmallInts::new(0xc105ed);
    let mut small = || rng.next().rem_euclid(5) - 2; // −2..=2
    for _ in 0..20_000 {
        let eta_a = Integer::from(small().abs() + 1);
        let eta_w = Integer::from(small().abs() + 1);
        let a0 = Integer::from(small());
        let w0: Vec<Integer> = (0..d).map(|_| Integer::from(small())).collect();
        let beta: Vec<Integer> = (0..d).map(|_| Integer::from(small())).collect();
        let dot =
            |x: &[Integer], y: &[Integer]| x.iter().zip(y).fold(Integer::new(), |acc, (a, b)| acc + a.clone() * b);
        let (n0, p0, s2) = (dot(&w0, &w0), dot(&w0, &beta), dot(&beta, &beta));
        if s2 == 0 {
            continue;
        }
        let delta = eta_w.clone() * a0.clone() * &a0 - eta_a.clone() * &n0;
        let r = delta.clone() * &delta + Integer::from(4) * &eta_a * &eta_w * &s2;
        if !r.is_perfect_square() {
            continue;
        }
        let k = r.sqrt();
        let mut vals: Vec<(Var, Rational)> = vec![
            (s.k, k.clone().into()),
            (s.ep, Rational::from(1)),
            (s.em, Rational::from(1)),
            (s.phi0, Rational::new()),
            (s.eta_w, eta_w.clone().into()),
            (s.a0, a0.clone().into()),
            (s.delta, delta.clone().into()),
            (s.eta_a, eta_a.clone().into()),
        ];
        let mut shown: Vec<(String, String)> = vec![("t".into(), "0".into())];
        for (name, v) in [("η_a", &eta_a), ("η_w", &eta_w), ("a0", &a0)] {
            shown.push((name.into(), v.to_string()));
        }
        match s.invariants {
            None => {
                for (i, (&vw, &vb)) in s.w0.iter().zip(&s.beta).enumerate() {
                    vals.push((vw, w0[i].clone().into()));
                    vals.push((vb, beta[i].clone().into()));
                }
                for (i, v) in w0.iter().enumerate() {
                    shown.push((format!("w0[{}]", i + 1), v.to_string()));
                }
                for (i, v) in beta.iter().enumerate() {
                    shown.push((format!("β*[{}]", i + 1), v.to_string()));
                }
            }
            Some((vn0, vp0, vs2)) => {
                vals.push((vn0, n0.clone().into()));
                vals.push((vp0, p0.clone().into()));
                vals.push((vs2, s2.clone().into()));
                vals.push((s.w0[0], w0[0].clone().into()));
                vals.push((s.beta[0], beta[0].clone().into()));
                shown.push(("w0".into(), format!("{w0:?}")));
                shown.push(("β*".into(), format!("{beta:?}")));
                shown.push(("i".into(), "1".into()));
            }
        }
        shown.push(("δ".into(), delta.to_string()));
        shown.push(("K".into(), k.to_string()));
        out.push((vals, shown));
        if out.len() == n {
            break;
        }
    }
    out
}

impl ClosedFormIdentity {
    /// Decide: every normal form zero ⇒ proved; otherwise refuted with the first nonzero term and,
    /// where one is found, the exact value of a t-derivative (order ≤ 3) of the cleared defect at
    /// t = 0 at a rational point on the relations' variety.
    pub fn check(&self) -> Verdict {
        let Some((label, r)) = self.residuals.iter().find(|(_, r)| !r.is_zero()) else {
            return Verdict::Proved {
                entries: self.residuals.len(),
                symbols: self.vars.len(),
                work: self.work,
            };
        };
        let (m, c) = r.first_term().expect("invariant: nonzero polynomial has a term");
        let mut w = Witness {
            label: label.clone(),
            monomial: self.vars.monomial(m),
            coefficient: c.to_string(),
            point: Vec::new(),
            value: "0".into(),
        };
        // The lowest derivative order (≤ 3) that is nonzero at one of the candidate points.
        let points = witness_points(self, 32);
        let mut p = r.clone();
        'orders: for order in 0..=3 {
            if order > 0 {
                p = lie_derivative(&p, &self.field).0;
            }
            for (vals, shown) in &points {
                let v = p.eval(&|x| {
                    vals.iter()
                        .find(|(y, _)| *y == x)
                        .map_or_else(Rational::new, |(_, q)| q.clone())
                });
                if v != 0 {
                    if order > 0 {
                        w.label = format!("{label} (its t-derivative of order {order})");
                    }
                    w.point = shown.clone();
                    w.value = v.to_string();
                    break 'orders;
                }
            }
        }
        Verdict::Refuted(w)
    }
}

/// The proof at d = 1, 2, 3 and for every d ([`SnDim::Every`]).
pub fn single_neuron_all(plant: Plant) -> Vec<ClosedFormIdentity> {
    (1..=super::MAX_FIXED_DIM)
        .map(SnDim::Fixed)
        .chain([SnDim::Every])
        .map(|d| single_neuron(d, plant))
        .collect()
}
