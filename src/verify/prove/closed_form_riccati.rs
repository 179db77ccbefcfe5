//! The λ-balanced closed form is the gradient flow: an exact symbolic proof (issue 16 item 2, route
//! "exact, B = 0", as for the single neuron in [`super::closed_form`]).
//!
//! **Closed form** (P2 Thm 4.3 in its F⁻¹-free generic form, `docs/theory.md` §4.4): with
//! s = t/τ, E(s) = e^{Fs}, J(s) = ∫₀ˢ e^{2Fu} du and P0 = Q0Q0ᵀ,
//!
//! P(s) = E(s)·N(s)·P0·E(s),  N(s) = M(s)⁻¹,  M(s) = I + P0·J(s)
//!
//! (by the push-through identity this is e^{Fs}Q0[I + Q0ᵀJQ0]⁻¹Q0ᵀe^{Fs}; the semigroup that
//! `exact::riccati` steps is the same function of s, by uniqueness below).
//!
//! **Proof.** F is symmetric, F = VΛVᵀ with V orthogonal, and the Riccati equation
//! P′ = FP + PF − P² is invariant under P ↦ VᵀPV (with F ↦ Λ), as is the formula; so it suffices to
//! prove it for a diagonal F = diag(f₁, …, f_n). Then E = diag(e_i) and J = diag(j_i) with
//! e_i′ = f_i e_i, j_i′ = e_i², e_i(0) = 1, j_i(0) = 0 — the definitions of the exponential and the
//! integral — and N, the inverse of M, has N′ = −N M′ N = −N P0 E² N, N(0) = I. With every f_i,
//! e_i, j_i, every entry of N and every entry of the symmetric P0 an independent symbol, the tool
//! expands over ℚ:
//!
//! 1. `P′ − (FP + PF − P²)` for every entry (P′ by the derivation above): the zero polynomial means
//!    the formula satisfies the Riccati equation wherever N = M⁻¹;
//! 2. `(MN)′ + (MN − I)·P0E²N` for every entry: zero means X = MN − I solves the linear equation
//!    X′ = −X·P0E²N, so X(0) = 0 gives X ≡ 0 — the derivation rule used for N is the one of M⁻¹
//!    (this checks the step a planted error in N's rule would break);
//! 3. `P(0) − P0` (e = 1, j = 0, N = I).
//!
//! **Assumptions** (the written part, `docs/theory_proofs.md` §10): P0 = Q0Q0ᵀ ⪰ 0 and
//! J(s) = ∫₀ˢe^{2Fu}du ≻ 0 for s > 0, so the eigenvalues of P0J (those of J^{1/2}P0J^{1/2} ⪰ 0) are
//! ≥ 0 and M = I + P0J is invertible for every s ≥ 0: the formula is smooth on [0, ∞). The Riccati
//! right-hand side is polynomial (locally Lipschitz), so its solution from P0 is unique
//! (Picard–Lindelöf) and **is** the formula for all s ≥ 0. That QQᵀ of the network's flow solves
//! the same equation is the `riccati` claim (P2 Lemma 4.1; it needs whitened input and a
//! λ-balanced init, checked exactly on the case's decimals). Together: the closed form is QQᵀ of
//! the gradient flow for all t ≥ 0, with no error bound (B = 0).
//!
//! **Dimension.** The identities are proved at n = d_i + d_o symbols per side when n ≤
//! [`MAX_CASE_N`], else at n = [`MAX_CASE_N`]; nothing in them depends on n (they are identities
//! of the matrix products, written out for every n in `docs/theory_proofs.md` §10).

use super::identities::{Identity, Plant};
use crate::num::poly::{Poly, PolyMat, Var, Vars, lie_derivative};
use rug::Rational;

/// Largest n = d_i + d_o at which the identity is expanded with every entry a symbol (n = 6:
/// 36 + 21 + 18 symbols, ~0.1 s in release).
pub const MAX_CASE_N: usize = 6;

/// Build the three families of residuals of the module doc at size `n` (F = diag(f), P0
/// symmetric, N full). `Plant::FlipSign` uses M = I − P0J (the formula with the bracket's sign
/// flipped, N′ = +N P0 E² N accordingly): a negative control that must be refuted.
pub fn lambda_balanced(n: usize, plant: Plant) -> Identity {
    let mut vars = Vars::new();
    let f: Vec<(Poly, Var)> = (0..n).map(|i| vars.var(format!("f{}", i + 1))).collect();
    let e: Vec<(Poly, Var)> = (0..n).map(|i| vars.var(format!("e{}", i + 1))).collect();
    let jd: Vec<(Poly, Var)> = (0..n).map(|i| vars.var(format!("j{}", i + 1))).collect();
    let (nm, nid) = vars.matrix("N", n, n);
    let mut p0 = PolyMat::zeros(n, n);
    for i in 0..n {
        for j in i..n {
            let (s, _) = vars.var(format!("P0[{},{}]", i + 1, j + 1));
            *p0.at_mut(i, j) = s.clone();
            *p0.at_mut(j, i) = s;
        }
    }
    let diag = |v: &[(Poly, Var)]| {
        let mut m = PolyMat::zeros(n, n);
        for (i, (p, _)) in v.iter().enumerate() {
            *m.at_mut(i, i) = p.clone();
        }
        m
    };
    let (fm, em, jm) = (diag(&f), diag(&e), diag(&jd));
    let e2 = em.mul(&em);
    let sign = match plant {
        Plant::None => Rational::from(1),
        Plant::FlipSign => Rational::from(-1),
    };
    // M = I ± P0 J, M′ = ±P0 E², N′ = −N M′ N.
    let m = PolyMat::identity(n).add(&p0.mul(&jm).scale(&sign));
    let n_dot = nm.mul(&p0).mul(&e2).mul(&nm).scale(&Rational::from(-1)).scale(&sign);
    let mut field: Vec<(Var, Poly)> = Vec::new();
    for i in 0..n {
        field.push((e[i].1, f[i].0.mul(&e[i].0)));
        field.push((jd[i].1, e[i].0.mul(&e[i].0)));
    }
    for i in 0..n {
        for j in 0..n {
            field.push((nid[i * n + j], n_dot.at(i, j).clone()));
        }
    }
    let p = em.mul(&nm).mul(&p0).mul(&em);
    let rhs = fm.mul(&p).add(&p.mul(&fm)).sub(&p.mul(&p));
    let mn = m.mul(&nm);
    let lin = mn.sub(&PolyMat::identity(n)).mul(&p0).mul(&e2).mul(&nm);
    let mut work = 0;
    let mut residuals = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let (dp, w) = lie_derivative(p.at(i, j), &field);
            work += w;
            residuals.push((
                format!("P′ − (FP + PF − P²) [{},{}]", i + 1, j + 1),
                dp.sub(rhs.at(i, j)),
            ));
        }
    }
    for i in 0..n {
        for j in 0..n {
            let (dmn, w) = lie_derivative(mn.at(i, j), &field);
            work += w;
            residuals.push((
                format!("(MN)′ + (MN − I)·P0E²N [{},{}]", i + 1, j + 1),
                dmn.add(lin.at(i, j)),
            ));
        }
    }
    // t = 0: e = 1, j = 0, N = I.
    let mut at0: Vec<(Var, Rational)> = Vec::new();
    for i in 0..n {
        at0.push((e[i].1, Rational::from(1)));
        at0.push((jd[i].1, Rational::new()));
        for j in 0..n {
            at0.push((nid[i * n + j], Rational::from(u32::from(i == j))));
        }
    }
    for i in 0..n {
        for j in i..n {
            residuals.push((
                format!("P(0) − P0 [{},{}]", i + 1, j + 1),
                p.at(i, j).substitute_values(&at0).sub(p0.at(i, j)),
            ));
        }
    }
    work += residuals.iter().map(|(_, r)| r.n_terms()).sum::<usize>();
    Identity {
        statement: "the closed form QQᵀ(t) = e^{Fs}Q0[I + Q0ᵀJ(s)Q0]⁻¹Q0ᵀe^{Fs} = E(I + P0J)⁻¹P0E (s = t/τ, \
                    J(s) = ∫₀ˢe^{2Fu}du) solves τ dP/dt = FP + PF − P² with P(0) = Q0Q0ᵀ, for all t ≥ 0"
            .into(),
        source: "P2 Thm 4.3 (generic F⁻¹-free form, docs/theory.md §4.4); proof docs/theory_proofs.md §10".into(),
        dims: format!(
            "n = d_i + d_o = {n}: F = diag(f) (F's eigenbasis), E = diag(e), J = diag(j), N = (I + P0J)⁻¹ and the \
             symmetric P0 with every entry a symbol"
        ),
        vars,
        residuals,
        work,
    }
}
