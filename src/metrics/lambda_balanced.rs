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

/// ⟨K, K'⟩_F for NTKs given by (M, B) and (M', B') on data with Gram G = XXᵀ.
pub fn ntk_inner(g: &DMatrix<f64>, m: &DMatrix<f64>, b: &DMatrix<f64>, m2: &DMatrix<f64>, b2: &DMatrix<f64>) -> f64 {
    let d_o = b.nrows() as f64;
    let gg = g * g;
    d_o * (m * g * m2 * g).trace()
        + b2.trace() * (m * &gg).trace()
        + b.trace() * (m2 * &gg).trace()
        + b.dot(b2) * gg.trace()
}

/// S(0,t) from (M0, B0) and (Mt, Bt).
pub fn kernel_distance(
    x: &DMatrix<f64>,
    m0: &DMatrix<f64>,
    b0: &DMatrix<f64>,
    mt: &DMatrix<f64>,
    bt: &DMatrix<f64>,
) -> f64 {
    let g = x * x.transpose();
    let k0t = ntk_inner(&g, m0, b0, mt, bt);
    let k00 = ntk_inner(&g, m0, b0, m0, b0);
    let ktt = ntk_inner(&g, mt, bt, mt, bt);
    1.0 - k0t / (k00.sqrt() * ktt.sqrt())
}

/// Loss (1/2P)‖W X − Y‖²_F for the network function W = W2W1.
pub fn loss(x: &DMatrix<f64>, y: &DMatrix<f64>, w: &DMatrix<f64>) -> f64 {
    (w * x - y).norm_squared() / (2.0 * x.ncols() as f64)
}
