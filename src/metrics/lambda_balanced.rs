//! Observables of two-layer linear networks (P2; `docs/theory.md` §4.1).
//!
//! - NTK (thesis eq. 4.1, S5 `get_ntk`): K = I_{d_o} ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX, (d_o·P)×(d_o·P),
//!   output-major ordering (row o·P + n is output o of sample n). This is the unweighted kernel
//!   J Jᵀ of the parameter Jacobian J; the flow's kernel is (1/τ)·K, and the 1/τ cancels in S.
//! - Kernel distance S(0,t) = 1 − ⟨K0,Kt⟩_F/(‖K0‖_F‖Kt‖_F) (Fort et al. 2020). With
//!   M = W1ᵀW1, B = W2W2ᵀ, G = XXᵀ and ⟨X⊗Y, Z⊗W⟩ = ⟨X,Z⟩⟨Y,W⟩ \[D\]:
//!   ⟨K,K'⟩ = d_o·tr(MGM'G) + tr(B')·tr(MGG) + tr(B)·tr(M'GG) + ⟨B,B'⟩·tr(GG),
//!   computed in d_i×d_i and d_o×d_o without forming the (d_o·P)² kernel; valid for any X.
//! - Loss (1/2P)‖W2W1X − Y‖²_F.

use crate::num::mat::Mat;
use crate::num::real::{Real, RealError};
use nalgebra::DMatrix;

/// The NTK matrix I ⊗ XᵀMX + B ⊗ XᵀX with M = W1ᵀW1 (d_i×d_i), B = W2W2ᵀ (d_o×d_o).
pub fn ntk(x: &DMatrix<f64>, m: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let p = x.ncols();
    let d_o = b.nrows();
    let a = x.transpose() * m * x;
    let c = x.transpose() * x;
    DMatrix::from_fn(d_o * p, d_o * p, |r, s| {
        let (o1, n1, o2, n2) = (r / p, r % p, s / p, s % p);
        (if o1 == o2 { a[(n1, n2)] } else { 0.0 }) + b[(o1, o2)] * c[(n1, n2)]
    })
}

/// ⟨K, K'⟩_F for NTKs given by (M, B) and (M', B') on data with Gram G = XXᵀ (f64; the formula
/// is [`ntk_inner_of`]).
pub fn ntk_inner(g: &DMatrix<f64>, m: &DMatrix<f64>, b: &DMatrix<f64>, m2: &DMatrix<f64>, b2: &DMatrix<f64>) -> f64 {
    let f = |x: &DMatrix<f64>| Mat::from_f64(x, &0.0);
    ntk_inner_of(&f(g), &f(m), &f(b), &f(m2), &f(b2))
}

/// ⟨K, K'⟩_F = d_o·tr(MGM'G) + tr(B')·tr(MGG) + tr(B)·tr(M'GG) + ⟨B,B'⟩·tr(GG) over any
/// [`Real`] (module doc).
pub fn ntk_inner_of<S: Real>(g: &Mat<S>, m: &Mat<S>, b: &Mat<S>, m2: &Mat<S>, b2: &Mat<S>) -> S {
    let d_o = g.at(0, 0).real(b.nrows() as f64);
    let gg = g.mul(g);
    d_o.times(&m.mul(g).mul(m2).mul(g).trace())
        .plus(&b2.trace().times(&m.mul(&gg).trace()))
        .plus(&b.trace().times(&m2.mul(&gg).trace()))
        .plus(&b.frobenius_dot(b2).times(&gg.trace()))
}

/// S(0,t) = 1 − ⟨K0,Kt⟩/(‖K0‖‖Kt‖) from (M0, B0) and (Mt, Bt) over any [`Real`].
///
/// # Errors
/// [`RealError`] when a kernel is zero (or, over balls, its norm is not bounded away from 0).
pub fn kernel_distance_of<S: Real>(
    x: &Mat<S>,
    m0: &Mat<S>,
    b0: &Mat<S>,
    mt: &Mat<S>,
    bt: &Mat<S>,
) -> Result<S, RealError> {
    let g = x.mul(&x.transpose());
    let k0t = ntk_inner_of(&g, m0, b0, mt, bt);
    let k00 = ntk_inner_of(&g, m0, b0, m0, b0);
    let ktt = ntk_inner_of(&g, mt, bt, mt, bt);
    Ok(k0t.real(1.0).minus(&k0t.over(&k00.sqrt_r()?.times(&ktt.sqrt_r()?))?))
}

/// Loss (1/2P)‖W X − Y‖²_F over any [`Real`].
///
/// # Errors
/// [`RealError`] only for P = 0 (callers check shapes).
pub fn loss_of<S: Real>(x: &Mat<S>, y: &Mat<S>, w: &Mat<S>) -> Result<S, RealError> {
    let r = w.mul(x).sub(y);
    let two_p = r.at(0, 0).real(2.0 * x.ncols() as f64);
    r.frobenius_dot(&r).over(&two_p)
}

/// S(0,t) from (M0, B0) and (Mt, Bt) in f64 (NaN when a kernel is zero); the formula is
/// [`kernel_distance_of`].
pub fn kernel_distance(
    x: &DMatrix<f64>,
    m0: &DMatrix<f64>,
    b0: &DMatrix<f64>,
    mt: &DMatrix<f64>,
    bt: &DMatrix<f64>,
) -> f64 {
    let f = |x: &DMatrix<f64>| Mat::from_f64(x, &0.0);
    kernel_distance_of(&f(x), &f(m0), &f(b0), &f(mt), &f(bt)).unwrap_or(f64::NAN)
}

/// Loss (1/2P)‖W X − Y‖²_F for the network function W = W2W1.
pub fn loss(x: &DMatrix<f64>, y: &DMatrix<f64>, w: &DMatrix<f64>) -> f64 {
    let f = |x: &DMatrix<f64>| Mat::from_f64(x, &0.0);
    loss_of(&f(x), &f(y), &f(w)).unwrap_or(f64::NAN)
}
