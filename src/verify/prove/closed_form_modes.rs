//! The per-mode closed form of a whitened, task-aligned two-layer linear net is its gradient flow:
//! an exact proof (issue 16 item 2, route "exact, B = 0"), for the `closed_form_solves_flow` claim
//! of `two_layer_linear` cases.
//!
//! **Flow** (P1 §4, App. B; `docs/theory.md` §2.5): f(x) = AᵀWx, W ∈ R^{h×d}, A ∈ R^{h×c},
//! β = WᵀA; with XᵀX = I the loss is ½‖β − β*‖²_F + const, β* = XᵀY, and
//! Ẇ = −η_w A(β − β*)ᵀ, Ȧ = −η_a W(β − β*).
//!
//! **Closed form** (`exact::mirror_modes`): with β* = Σ_{i≤k} s_i u_i v_iᵀ (k = min(d, c),
//! s_i > 0 distinct) and a task-aligned init W0 = Σ_i w_i q_i u_iᵀ, A0 = Σ_i a_i q_i v_iᵀ
//! (q_i orthonormal; zero modes allowed), W(t) = Σ_i w_i(t) q_i u_iᵀ, A(t) = Σ_i a_i(t) q_i v_iᵀ,
//! where each (a_i, w_i) is the single neuron with d = 1, X = \[1\], y = s_i.
//!
//! **Proof**, three parts:
//! 1. *Decoupling* ([`decoupling`], a polynomial identity): in bases adapted to the modes
//!    (W′ = QᵀWU, A′ = QᵀAV, β*′ = Uᵀβ*V — the loss and hence the flow are equivariant under these
//!    orthogonal changes of basis) an aligned state is "diagonal": W′_{ii} = w_i, A′_{ii} = a_i,
//!    β*′_{ii} = s_i, every other entry 0. At such a state the flow's right-hand side has zero
//!    off-diagonal components and diagonal components −η_w a_i(a_iw_i − s_i),
//!    −η_a w_i(a_iw_i − s_i): the single neuron at d = 1. Expanded over ℚ with W, A, β* fully
//!    symbolic and then restricted, at every (d, h, c) ≤ 3; every dimension by the same two lines
//!    (`docs/theory_proofs.md` §11). So the aligned set is invariant and the embedded per-mode
//!    solutions solve the full flow.
//! 2. *Per mode*: the single-neuron closed form at d = 1 solves its flow
//!    ([`super::closed_form::single_neuron`], proved symbolically; it needs η_a, η_w > 0 and
//!    y = s_i ≠ 0; any init, zero included).
//! 3. *Uniqueness*: the flow's right-hand side is polynomial (Picard–Lindelöf), so the closed form
//!    **is** the flow for all t ≥ 0; bound 0.
//!
//! **Assumptions, decided exactly on the case's decimals** ([`alignment`]), without computing an
//! SVD (its vectors are irrational in general): with B = β* = XᵀY, M = BBᵀ, N = BᵀB,
//! G = W0ᵀW0, H = A0ᵀA0, C = W0ᵀA0:
//! - (a) XᵀX = I; η_a, η_w > 0;
//! - (b) B has k = min(d, c) distinct positive singular values: the k×k Gram matrix K (N if
//!   c ≤ d, else M) has det K ≠ 0 and a square-free characteristic polynomial;
//! - (c) W0 vanishes on ker Bᵀ and A0 on ker B: W0(I − B K⁻¹Bᵀ) = 0 if c < d,
//!   A0(I − BᵀK⁻¹B) = 0 if d < c;
//! - (d) GM = MG and HN = NH;
//! - (e) CBᵀ and BᵀC are symmetric;
//! - (f) (CBᵀ)² = G B H Bᵀ.
//!
//! Why these are equivalent to alignment (`docs/theory_proofs.md` §11): with (b) and (c),
//! W0 = Σ p_i u_iᵀ and A0 = Σ r_i v_iᵀ (p_i = W0u_i, r_i = A0v_i); (d) ⇔ p_iᵀp_j = 0 and
//! r_iᵀr_j = 0 for i ≠ j (G_{ij}(s_j² − s_i²) = 0 with distinct s_i²); (e) ⇔ p_iᵀr_j = 0 for
//! i ≠ j (c_{ij}s_j = c_{ji}s_i and s_ic_{ij} = s_jc_{ji} give c_{ij}(s_j² − s_i²) = 0);
//! (f) ⇔ (p_iᵀr_i)² = ‖p_i‖²‖r_i‖² (both sides are Σ s_i²(·)u_iu_iᵀ), i.e. p_i ∥ r_i. Then
//! q_i := p_i/‖p_i‖ (or r_i/‖r_i‖) are orthonormal, w_i = ‖p_i‖, a_i = ±‖r_i‖: aligned.
//! Conversely an aligned init satisfies (c)–(f). A case that fails one is `not_applicable`
//! with the failed condition and its size (a Frobenius norm, exact, printed as f64).

use super::claims::{ProveError, ProveOptions};
use super::identities::{self, Identity, Plant, Verdict};
use super::qmat::{
    QMat, charpoly, cols, commutator, defect_sq, eye, frob_sq, inverse, mul, qmat, qnum, sqrt_f64, square_free, sub, t,
};
use super::{Claim, Status};
use crate::case::TwoLayerLinearCase;
use crate::num::poly::{Poly, Var, Vars};
use rug::Rational;

/// Largest d, h, c and n at which the exact alignment check runs (exact rational products; the
/// characteristic polynomial of a k×k Gram matrix with k ≤ this).
pub const MAX_EXACT_DIM: usize = 64;

/// Largest d, h, c at which `prove` expands the decoupling identity at the case's own dims
/// (above it: at the dims capped at 3, plus the written every-dimension argument).
pub const MAX_CASE_DIM: usize = 5;

/// The decoupling identity at (d, h, c): the two-layer flow's right-hand side at a diagonal
/// (mode-adapted) state is diagonal with the single-neuron (d = 1) right-hand side per mode.
/// `Plant::FlipSign` plants a sign error in the per-mode right-hand side (a negative control).
pub fn decoupling(d: usize, h: usize, c: usize, plant: Plant) -> Identity {
    let mut vars = Vars::new();
    let (w, wid) = vars.matrix("W", h, d);
    let (a, aid) = vars.matrix("A", h, c);
    let (b, bid) = vars.matrix("B", d, c);
    let (eta_a, _) = vars.var("η_a");
    let (eta_w, _) = vars.var("η_w");
    let k = d.min(c);
    let modes = k.min(h);
    let wm: Vec<Poly> = (0..modes).map(|i| vars.var(format!("w{}", i + 1)).0).collect();
    let am: Vec<Poly> = (0..modes).map(|i| vars.var(format!("a{}", i + 1)).0).collect();
    let sm: Vec<Poly> = (0..k).map(|i| vars.var(format!("s{}", i + 1)).0).collect();
    // L = ½‖WᵀA − B‖²_F (whitened data; the constant ½‖(I − XXᵀ)Y‖² has no gradient).
    let r = w.t().mul(&a).sub(&b);
    let loss = r.dot(&r).scale(&Rational::from((1, 2)));
    let mut params = identities::with_rate(&wid, &eta_w);
    params.extend(identities::with_rate(&aid, &eta_a));
    let field = identities::gradient_flow(&loss, &params);
    // The diagonal state: W_ii = w_i, A_ii = a_i (i < modes), B_ii = s_i (i < k), else 0.
    let diag = |ids: &[Var], rows: usize, cols: usize, vals: &[Poly]| -> Vec<(Var, Poly)> {
        let mut out = Vec::new();
        for i in 0..rows {
            for j in 0..cols {
                let v = ids[i * cols + j];
                let val = if i == j && i < vals.len() {
                    vals[i].clone()
                } else {
                    Poly::zero()
                };
                out.push((v, val));
            }
        }
        out
    };
    let mut subst = diag(&wid, h, d, &wm);
    subst.extend(diag(&aid, h, c, &am));
    subst.extend(diag(&bid, d, c, &sm));
    let restrict = |p: &Poly| subst.iter().fold(p.clone(), |acc, (v, q)| acc.substitute(*v, q));
    let sign = match plant {
        Plant::None => Rational::from(1),
        Plant::FlipSign => Rational::from(-1),
    };
    let mut residuals = Vec::new();
    let mut work = 0;
    for (name, ids, rows, cols_, other, rate) in [("Ẇ", &wid, h, d, &am, &eta_w), ("Ȧ", &aid, h, c, &wm, &eta_a)] {
        for i in 0..rows {
            for j in 0..cols_ {
                let v = ids[i * cols_ + j];
                let rhs = field
                    .iter()
                    .find(|(x, _)| *x == v)
                    .map_or_else(Poly::zero, |(_, p)| restrict(p));
                work += rhs.n_terms();
                // Per mode: ẇ_i = −η_w a_i(a_iw_i − s_i), ȧ_i = −η_a w_i(a_iw_i − s_i).
                let expected = if i == j && i < modes {
                    let gap = am[i].mul(&wm[i]).sub(&sm[i]);
                    other[i].mul(&gap).mul(rate).neg().scale(&sign)
                } else {
                    Poly::zero()
                };
                residuals.push((format!("{name}[{},{}]", i + 1, j + 1), rhs.sub(&expected)));
            }
        }
    }
    Identity {
        statement: "at a mode-aligned (diagonal) state the two-layer linear flow's right-hand side is diagonal and \
                    each mode follows the single neuron with d = 1, y = s_i"
            .into(),
        source: "P1 §4 / App. B (mirror modes; docs/theory.md §2.5); docs/theory_proofs.md §11".into(),
        dims: format!("(d, h, c) = ({d}, {h}, {c}); W, A, B = β*, η symbolic, then restricted to the diagonal"),
        vars,
        residuals,
        work,
    }
}

/// The failed alignment assumptions of a two-layer case (empty: every assumption holds exactly),
/// and k = min(d, c).
///
/// # Errors
/// [`ProveError`] for a number that is not finite or shapes that do not fit.
pub fn alignment(c: &TwoLayerLinearCase) -> Result<(Vec<String>, usize), ProveError> {
    let x = qmat(&c.x, "x")?;
    let y = qmat(&c.y, "y")?;
    let w0 = qmat(&c.w0, "w0")?;
    let a0 = qmat(&c.a0, "a0")?;
    let (n, d, cc, h) = (x.len(), cols(&x), cols(&y), w0.len());
    let shape = |ok: bool, what: String| if ok { Ok(()) } else { Err(ProveError::Shape { what }) };
    shape(y.len() == n, format!("y has {} rows, x has {n}", y.len()))?;
    shape(w0.iter().all(|r| r.len() == d), format!("w0 must be h×d with d = {d}"))?;
    shape(
        a0.len() == h && a0.iter().all(|r| r.len() == cc),
        format!("a0 must be h×c = {h}×{cc}"),
    )?;
    let k = d.min(cc);
    let mut failed = Vec::new();
    if [n, d, cc, h].iter().any(|&m| m > MAX_EXACT_DIM) {
        failed.push(format!(
            "exact alignment check not attempted: (n, d, h, c) = ({n}, {d}, {h}, {cc}) has a size above \
             {MAX_EXACT_DIM}"
        ));
        return Ok((failed, k));
    }
    let eta_a = qnum(&c.eta_a, "eta_a")?;
    let eta_w = qnum(&c.eta_w, "eta_w")?;
    if eta_a <= 0 {
        failed.push(format!("η_a = {:.6e} ≤ 0", eta_a.to_f64()));
    }
    if eta_w <= 0 {
        failed.push(format!("η_w = {:.6e} ≤ 0", eta_w.to_f64()));
    }
    let wsq = defect_sq(&mul(&t(&x), &x), &Rational::from(1));
    if wsq != 0 {
        failed.push(format!("input not whitened: ‖XᵀX − I‖_F = {:.3e}", sqrt_f64(&wsq)));
        // β* = XᵀY is not the minimiser then: the alignment conditions would be about the wrong
        // matrix, so they are not evaluated.
        return Ok((failed, k));
    }
    let b = mul(&t(&x), &y);
    let bt = t(&b);
    let m = mul(&b, &bt);
    let nn = mul(&bt, &b);
    let gram = if cc <= d { &nn } else { &m };
    let p = charpoly(gram);
    if p[0] == 0 {
        failed.push(format!(
            "β* = XᵀY has rank < min(d, c) = {k}: a zero singular value (the modes' basis is not determined)"
        ));
        return Ok((failed, k));
    }
    if !square_free(&p) {
        failed.push(format!(
            "β* = XᵀY has a repeated singular value (the {k}×{k} Gram matrix's characteristic polynomial is not \
             square-free): the modes' basis is not determined"
        ));
        return Ok((failed, k));
    }
    let kinv = inverse(gram).ok_or_else(|| ProveError::Shape {
        what: "internal: a Gram matrix with nonzero determinant had no inverse".into(),
    })?;
    let size = |q: &QMat| sqrt_f64(&frob_sq(q));
    let mut check = |what: &str, q: QMat| {
        if frob_sq(&q) != 0 {
            failed.push(format!("init not task-aligned: {what} = {:.3e}", size(&q)));
        }
    };
    if cc < d {
        let proj = mul(&mul(&b, &kinv), &bt);
        check("‖W0(I − Π_range(β*))‖_F", mul(&w0, &sub(&eye(d), &proj)));
    }
    if d < cc {
        let proj = mul(&mul(&bt, &kinv), &b);
        check("‖A0(I − Π_range(β*ᵀ))‖_F", mul(&a0, &sub(&eye(cc), &proj)));
    }
    let g = mul(&t(&w0), &w0);
    let hh = mul(&t(&a0), &a0);
    let cm = mul(&t(&w0), &a0);
    check("‖[W0ᵀW0, β*β*ᵀ]‖_F", commutator(&g, &m));
    check("‖[A0ᵀA0, β*ᵀβ*]‖_F", commutator(&hh, &nn));
    let cbt = mul(&cm, &bt);
    check("‖CBᵀ − (CBᵀ)ᵀ‖_F (C = W0ᵀA0, B = β*)", sub(&cbt, &t(&cbt)));
    let btc = mul(&bt, &cm);
    check("‖BᵀC − (BᵀC)ᵀ‖_F", sub(&btc, &t(&btc)));
    check(
        "‖(CBᵀ)² − W0ᵀW0·B·A0ᵀA0·Bᵀ‖_F (W0u_i ∦ A0v_i)",
        sub(&mul(&cbt, &cbt), &mul(&mul(&mul(&g, &b), &hh), &bt)),
    );
    Ok((failed, k))
}

/// `closed_form_solves_flow` for a two-layer linear case.
///
/// # Errors
/// As [`alignment`].
pub fn claim(c: &TwoLayerLinearCase, opts: &ProveOptions) -> Result<Claim, ProveError> {
    let (failed, k) = alignment(c)?;
    let (d, h, cc) = (
        c.x.first().map_or(0, Vec::len),
        c.w0.len(),
        c.y.first().map_or(0, Vec::len),
    );
    let statement =
        "the per-mode closed form of a whitened, task-aligned two-layer linear net (each mode of β* = XᵀY a \
                     single neuron with d = 1) is the gradient flow for all t ≥ 0"
            .to_string();
    let source = "P1 §4 / App. B (mirror modes, docs/theory.md §2.5); docs/theory_proofs.md §11".to_string();
    let method = "exact: the assumptions decided in rational arithmetic on the case's decimals (whitening; k distinct \
                  positive singular values of β* by an exact characteristic polynomial; alignment by the commutation, \
                  symmetry and parallelism identities (c)–(f) of the module doc, no SVD); the decoupling identity and \
                  the single-neuron closed form at d = 1 proved by exact symbolic expansion over ℚ; uniqueness of the \
                  ODE solution (Picard–Lindelöf)";
    let own = d.max(h).max(cc) <= MAX_CASE_DIM;
    let cap = if own { MAX_CASE_DIM } else { super::MAX_FIXED_DIM };
    let (dd, hh, ccc) = (d.clamp(1, cap), h.clamp(1, cap), cc.clamp(1, cap));
    let dec = decoupling(dd, hh, ccc, Plant::None);
    let sn = super::closed_form::single_neuron(super::closed_form::SnDim::Fixed(1), Plant::None);
    let mut proofs = Vec::new();
    for (dims, verdict) in [(&dec.dims, dec.check()), (&sn.dims, sn.check())] {
        match verdict {
            Verdict::Proved { entries, work, .. } => {
                proofs.push(format!(
                    "{dims}: {entries} residual entries reduce to zero ({work} terms)"
                ));
            }
            Verdict::Refuted(w) => {
                return Ok(Claim {
                    id: "closed_form_solves_flow".into(),
                    statement,
                    source,
                    status: Status::Refuted,
                    bound: None,
                    method: method.into(),
                    detail: format!("{dims}: {}", super::claims::witness_text(&w)),
                });
            }
        }
    }
    if !failed.is_empty() {
        return Ok(Claim {
            id: "closed_form_solves_flow".into(),
            statement,
            source,
            status: Status::NotApplicable,
            bound: None,
            method: method.into(),
            detail: format!(
                "the closed form assumes XᵀX = I, η_a, η_w > 0, min(d, c) distinct positive singular values of β* and \
                 a task-aligned init, exactly; this case fails: {} (exact rational arithmetic on the case's decimals)",
                failed.join("; ")
            ),
        });
    }
    let t_end = super::claims::t_end_text(opts, &c.times);
    Ok(Claim {
        id: "closed_form_solves_flow".into(),
        statement,
        source,
        status: Status::Proved,
        bound: Some(0.0),
        method: method.into(),
        detail: format!(
            "exact identity (bound 0), for all t ≥ 0, in particular on [0, T] with T = {t_end} (--prec {} is not used: \
             the proof is exact); the case meets every assumption exactly: XᵀX = I, η > 0, β* has k = {k} distinct \
             positive singular values, the init is task-aligned ((c)–(f) hold exactly); proofs: {}; (d, h, c) = ({d}, \
             {h}, {cc}){}",
            opts.prec,
            proofs.join("; "),
            if own {
                " (the decoupling expanded at these dims)"
            } else {
                ": the decoupling expanded at the dims capped at 3; every dimension by the written argument"
            }
        ),
    })
}
