//! Observables of the two-layer piecewise-linear network (P1 §5, Fig. 1; `docs/theory.md` §3.2).
//!
//! - **Test loss** [`test_loss`]: mean of (f(x) − y)² over held-out points, as the seed code's
//!   `utils.py` (no ½, 1/m: independent of the training [`LossScale`](crate::models::piecewise_linear::LossScale)).
//! - **Kernel distance** S(0,t) = 1 − ⟨K0,Kt⟩_F/(‖K0‖_F‖Kt‖_F) (Fort et al. 2020) on the
//!   training set, computed as ½‖K0/‖K0‖ − Kt/‖Kt‖‖²_F (a sum of squares: small S keeps its
//!   relative accuracy). Two kernels, chosen by [`Kernel`] and named in every table:
//!   - [`Kernel::Ntk`], the η-weighted NTK of the gradient flow, K = J diag(η) Jᵀ =
//!     Σ_k c_ki x_iᵀM_k x_j c_kj (P1 §5, `docs/theory.md` §3.1), i.e.
//!     K = η_a SSᵀ + η_w (XXᵀ)∘(C diag(a²) Cᵀ) with S = σ(XWᵀ), C = σ'(XWᵀ) (n×h);
//!   - [`Kernel::Unweighted`], K = ΦΦᵀ with Φ_i = [σ(Wx_i), (a⊙σ'(Wx_i))⊗x_i], the seed code's
//!     kernel (`docs/theory.md` §3.2): the same formula with η_a = η_w = 1.
//! - **Hamming distance** [`hamming`]: Σ_k (1/n)Σ_i 1[sign(w_k(t)ᵀx_i) ≠ sign(w_k(0)ᵀx_i)]
//!   (seed code; `sign` as `torch.sign`, with sign(0) = 0, so a pre-activation landing exactly
//!   on 0 counts as a change from ±).
//! - **Parameter distance** [`param_distance`]: √(‖W_t − W_0‖²_F + ‖a_t − a_0‖²).
//!
//! These allocate (they run at checkpoints, not inside right-hand sides).

use crate::models::piecewise_linear::{PiecewiseLinear, sigma, sigma_prime};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::Serialize;
use std::fmt;

/// Which kernel a kernel distance uses (say which in every table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// η-weighted NTK J diag(η) Jᵀ (the kernel of the gradient flow, P1 §5).
    Ntk,
    /// Unweighted ΦΦᵀ = JJᵀ (the seed code's `utils.py`).
    Unweighted,
}

impl Kernel {
    /// Table name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kernel::Ntk => "eta-weighted NTK",
            Kernel::Unweighted => "unweighted PhiPhi^T",
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mean squared error (1/m)Σ_j (f(x_j) − y_j)² on `x` (m×d row-major), `y` (m).
pub fn test_loss(model: &PiecewiseLinear, theta: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let f = model.predict(theta, x);
    f.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / y.len() as f64
}

/// The kernel (n×n, row-major) on the training set.
pub fn kernel_matrix(model: &PiecewiseLinear, theta: &[f64], kernel: Kernel) -> Vec<f64> {
    let (n, h, d) = (model.n(), model.h(), model.d());
    let (ea, ew) = match kernel {
        Kernel::Ntk => (model.eta_a(), model.eta_w()),
        Kernel::Unweighted => (1.0, 1.0),
    };
    let z = model.preactivations(theta); // h×n row-major = n×h column-major
    let a = model.a(theta);
    let g = model.gamma();
    // S and a-scaled C as n×h column-major.
    let s = Mat::<f64>::from_fn(n, h, |i, k| sigma(g, z[k * n + i]));
    let ca = Mat::<f64>::from_fn(n, h, |i, k| a[k] * sigma_prime(g, z[k * n + i]));
    let mut k1 = Mat::<f64>::zeros(n, n);
    matmul(
        k1.as_mut(),
        Accum::Replace,
        s.as_ref(),
        s.as_ref().transpose(),
        ea,
        Par::Seq,
    );
    let mut k2 = Mat::<f64>::zeros(n, n);
    matmul(
        k2.as_mut(),
        Accum::Replace,
        ca.as_ref(),
        ca.as_ref().transpose(),
        1.0,
        Par::Seq,
    );
    let xm = MatRef::from_row_major_slice(model.x(), n, d);
    let mut gram = Mat::<f64>::zeros(n, n);
    matmul(gram.as_mut(), Accum::Replace, xm, xm.transpose(), 1.0, Par::Seq);
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = k1[(i, j)] + ew * gram[(i, j)] * k2[(i, j)];
        }
    }
    out
}

/// S(0,t) = ½‖K0/‖K0‖ − Kt/‖Kt‖‖²_F between two kernel matrices (0 when either is zero:
/// then the angle is undefined and NaN is returned).
pub fn kernel_distance_of(k0: &[f64], kt: &[f64]) -> f64 {
    let n0 = k0.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nt = kt.iter().map(|v| v * v).sum::<f64>().sqrt();
    if n0 == 0.0 || nt == 0.0 {
        return f64::NAN;
    }
    0.5 * k0
        .iter()
        .zip(kt)
        .map(|(a, b)| {
            let e = a / n0 - b / nt;
            e * e
        })
        .sum::<f64>()
}

/// S(0,t) between θ0 and θ with the chosen kernel.
pub fn kernel_distance(model: &PiecewiseLinear, theta0: &[f64], theta: &[f64], kernel: Kernel) -> f64 {
    kernel_distance_of(
        &kernel_matrix(model, theta0, kernel),
        &kernel_matrix(model, theta, kernel),
    )
}

/// Sign with sign(0) = 0 (as `torch.sign`).
fn sgn(z: f64) -> i8 {
    if z > 0.0 {
        1
    } else if z < 0.0 {
        -1
    } else {
        0
    }
}

/// Hamming distance of activation patterns: Σ_k (1/n)Σ_i 1[sign(z_ki(t)) ≠ sign(z_ki(0))].
pub fn hamming(model: &PiecewiseLinear, theta0: &[f64], theta: &[f64]) -> f64 {
    let z0 = model.preactivations(theta0);
    let zt = model.preactivations(theta);
    let flips = z0.iter().zip(&zt).filter(|(a, b)| sgn(**a) != sgn(**b)).count();
    flips as f64 / model.n() as f64
}

/// √(‖W_t − W_0‖²_F + ‖a_t − a_0‖²).
pub fn param_distance(theta0: &[f64], theta: &[f64]) -> f64 {
    theta0
        .iter()
        .zip(theta)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

/// Observables at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observables {
    /// Time.
    pub t: f64,
    /// Training loss L (the model's [`crate::models::piecewise_linear::LossScale`]).
    pub loss: f64,
    /// max_k |δ_k(t) − δ_k(0)| / (1 + η_w a_k(0)² + η_a‖w_k(0)‖²).
    pub delta_drift: f64,
    /// S(0,t), η-weighted NTK.
    pub kernel_distance_ntk: f64,
    /// S(0,t), unweighted ΦΦᵀ.
    pub kernel_distance_unweighted: f64,
    /// Hamming distance of activation patterns.
    pub hamming: f64,
    /// Parameter distance.
    pub param_distance: f64,
}

/// All training-set observables of θ at time t relative to θ0.
pub fn observables(model: &PiecewiseLinear, theta0: &[f64], t: f64, theta: &[f64]) -> Observables {
    use crate::models::GradientFlowModel;
    Observables {
        t,
        loss: model.loss(theta),
        delta_drift: model.delta_drift(theta0, theta),
        kernel_distance_ntk: kernel_distance(model, theta0, theta, Kernel::Ntk),
        kernel_distance_unweighted: kernel_distance(model, theta0, theta, Kernel::Unweighted),
        hamming: hamming(model, theta0, theta),
        param_distance: param_distance(theta0, theta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::GradientFlowModel;
    use crate::models::piecewise_linear::LossScale;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn small(gamma: f64, eta_a: f64, eta_w: f64) -> (PiecewiseLinear, Vec<f64>) {
        let (n, d, h) = (6, 3, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut g = |k: usize| -> Vec<f64> { (0..k).map(|_| StandardNormal.sample(&mut rng)).collect() };
        let x = g(n * d);
        let y = g(n);
        let th = g(h * d + h);
        (
            PiecewiseLinear::new(x, n, d, y, h, gamma, eta_a, eta_w, LossScale::HalfSum).unwrap(),
            th,
        )
    }

    /// The NTK equals J diag(η) Jᵀ with J the Jacobian of f from central differences (f is
    /// piecewise linear in each parameter block; the points are away from kinks, so the central
    /// difference of a quadratic-in-θ function has only rounding error ~ε/step ≈ 1e-10).
    #[test]
    fn ntk_is_jacobian_gram() {
        for (gamma, kernel) in [(0.0, Kernel::Ntk), (0.25, Kernel::Ntk), (0.25, Kernel::Unweighted)] {
            let (m, th) = small(gamma, 0.6, 1.7);
            let (n, p) = (m.n(), m.n_params());
            let step = 1e-6;
            let mut jac = vec![0.0; n * p];
            let mut tp = th.clone();
            for j in 0..p {
                tp[j] = th[j] + step;
                let fp = m.outputs(&tp);
                tp[j] = th[j] - step;
                let fm = m.outputs(&tp);
                tp[j] = th[j];
                for i in 0..n {
                    jac[i * p + j] = (fp[i] - fm[i]) / (2.0 * step);
                }
            }
            let k = kernel_matrix(&m, &th, kernel);
            for i in 0..n {
                for l in 0..n {
                    let want: f64 = (0..p)
                        .map(|j| {
                            let eta = if kernel == Kernel::Unweighted { 1.0 } else { m.rate(j) };
                            jac[i * p + j] * eta * jac[l * p + j]
                        })
                        .sum();
                    assert!(
                        (k[i * n + l] - want).abs() <= 1e-7 * (1.0 + want.abs()),
                        "{kernel} ({i},{l}): {} vs {want}",
                        k[i * n + l]
                    );
                }
            }
        }
    }

    /// S equals 1 − cos when not tiny, is 0 for identical kernels and invariant to scaling.
    #[test]
    fn kernel_distance_forms_agree() {
        let (m, th) = small(0.0, 1.0, 1.0);
        // A far-away state (w_0 and w_1 negated): S ≈ 6e-4, where 1 − cos (rounding ~1e-16) is still accurate.
        let mut th2 = th.clone();
        for v in th2.iter_mut().take(2 * m.d()) {
            *v = -*v;
        }
        let k0 = kernel_matrix(&m, &th, Kernel::Ntk);
        let k1 = kernel_matrix(&m, &th2, Kernel::Ntk);
        let dot: f64 = k0.iter().zip(&k1).map(|(a, b)| a * b).sum();
        let n0: f64 = k0.iter().map(|a| a * a).sum::<f64>().sqrt();
        let n1: f64 = k1.iter().map(|a| a * a).sum::<f64>().sqrt();
        let s = kernel_distance_of(&k0, &k1);
        assert!(s > 1e-4, "s = {s}");
        assert!((s - (1.0 - dot / (n0 * n1))).abs() < 1e-14);
        assert_eq!(kernel_distance_of(&k0, &k0), 0.0);
        let k2: Vec<f64> = k1.iter().map(|v| 3.0 * v).collect();
        assert!((kernel_distance_of(&k0, &k2) - s).abs() < 1e-15);
    }

    /// Hamming distance counts flips per sample; parameter distance is the Euclidean norm.
    #[test]
    fn hamming_and_param_distance() {
        let (m, th) = small(0.0, 1.0, 1.0);
        assert_eq!(hamming(&m, &th, &th), 0.0);
        // Negating w_0 flips the sign of z_0i for every i with z_0i ≠ 0: n flips → distance 1.
        let mut th2 = th.clone();
        for v in th2.iter_mut().take(m.d()) {
            *v = -*v;
        }
        assert_eq!(hamming(&m, &th, &th2), 1.0);
        let w0n: f64 = th[..m.d()].iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((param_distance(&th, &th2) - 2.0 * w0n).abs() < 1e-14 * w0n);
    }
}
