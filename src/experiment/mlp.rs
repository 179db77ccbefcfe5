//! A bias-free depth-L ReLU MLP with its gradient and empirical NTK as GEMMs (faer).
//!
//! **Network.** f(x) = W_L σ(W_{L−1} ⋯ σ(W_1 x)), σ = ReLU (the piecewise-linear σ of
//! [`crate::models::piecewise_linear::sigma`] at slope 0, with σ'(0) = 0), W_l ∈ R^{d_l×d_{l−1}}.
//! On a batch X (n×d_0, one sample per row): Z_l = H_{l−1} W_lᵀ, H_l = σ(Z_l), H_0 = X, output Z_L.
//!
//! **Gradient (backpropagation).** With G_L = ∂ℓ/∂Z_L (n×d_L):
//! ∂ℓ/∂W_l = G_lᵀ H_{l−1}, G_{l−1} = (G_l W_l) ∘ σ'(Z_{l−1}). The same GEMM pattern as the
//! two-layer gradient of [`crate::models::piecewise_linear`], one layer deeper per step. Checked
//! against central finite differences in the tests (tolerance derived there).
//!
//! **Empirical NTK (scalar output).** The gradient of f(x_i) with respect to W_l is
//! δ_{l,i} h_{l−1,i}ᵀ, where δ_{l,i} is row i of G_l for G_L = 1 (the per-sample backward pass),
//! so K_ij = Σ_l ⟨∇f(x_i), ∇f(x_j)⟩ = Σ_l (G_l G_lᵀ)_ij (H_{l−1} H_{l−1}ᵀ)_ij: L pairs of n×n
//! GEMMs, no Jacobian formed. This is the plain (unweighted) JJᵀ of P1's deep-network experiment.
//!
//! **Losses.** Mean squared error ℓ = (1/2n)Σ_i ‖f(x_i) − y_i‖² (G_L = (F − Y)/n) and softmax
//! cross-entropy ℓ = (1/n)Σ_i [logsumexp(f(x_i)) − f(x_i)_{y_i}] (G_L = (softmax(F) − onehot)/n).
//!
//! **Initialisation.** W_l has i.i.d. N(0, 2/d_{l−1}) entries (He et al. 2015) times `scale`, the
//! first layer divided by α (P1 Part III: α ≫ 1 upstream, α ≪ 1 downstream, α = 1 standard).
//!
//! The [`Workspace`] holds every buffer of one batch size: a training step allocates nothing.

use crate::models::piecewise_linear::{sigma, sigma_prime};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// ReLU (slope 0 for z ≤ 0).
fn relu(z: f64) -> f64 {
    sigma(0.0, z)
}

/// ReLU' with σ'(0) = 0.
fn relu_prime(z: f64) -> f64 {
    sigma_prime(0.0, z)
}

/// Layer widths d_0 (input), d_1, …, d_L (output).
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    widths: Vec<usize>,
}

/// The weights W_1, …, W_L (W_l is d_l × d_{l−1}).
pub type Params = Vec<Mat<f64>>;

/// Buffers for one batch size n: pre-activations Z_l, activations H_l, backward signals G_l.
#[derive(Debug, Clone)]
pub struct Workspace {
    n: usize,
    z: Vec<Mat<f64>>,
    h: Vec<Mat<f64>>,
    g: Vec<Mat<f64>>,
}

impl Workspace {
    /// Batch size.
    pub fn n(&self) -> usize {
        self.n
    }
    /// The output Z_L of the last [`Mlp::forward`] (n × d_L).
    pub fn output(&self) -> MatRef<'_, f64> {
        self.z.last().expect("an MLP has at least one layer").as_ref()
    }
    /// ∂ℓ/∂Z_L, to be filled before [`Mlp::backward`] (n × d_L).
    pub fn output_grad_mut(&mut self) -> MatMut<'_, f64> {
        self.g.last_mut().expect("an MLP has at least one layer").as_mut()
    }
    /// Signs of every pre-activation of the last forward pass (for kink detection).
    pub fn pattern(&self) -> Vec<bool> {
        let l = self.z.len();
        let mut out = Vec::new();
        for z in &self.z[..l - 1] {
            for j in 0..z.ncols() {
                out.extend(z.col_as_slice(j).iter().map(|v| *v > 0.0));
            }
        }
        out
    }
}

impl Mlp {
    /// An MLP with these widths (at least input and output).
    ///
    /// # Panics
    /// Fewer than two widths or a zero width (callers validate their settings first).
    pub fn new(widths: &[usize]) -> Self {
        assert!(
            widths.len() >= 2 && widths.iter().all(|w| *w > 0),
            "MLP widths {widths:?}"
        );
        Self {
            widths: widths.to_vec(),
        }
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// The widths d_0, …, d_L.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Number of parameters Σ_l d_l d_{l−1}.
    pub fn n_params(&self) -> usize {
        self.widths.windows(2).map(|w| w[0] * w[1]).sum()
    }

    /// He-normal weights times `scale`, the first layer divided by `alpha`.
    pub fn init(&self, rng: &mut impl Rng, alpha: f64, scale: f64) -> Params {
        self.widths
            .windows(2)
            .enumerate()
            .map(|(l, w)| {
                let s = scale * (2.0 / w[0] as f64).sqrt() / if l == 0 { alpha } else { 1.0 };
                Mat::from_fn(w[1], w[0], |_, _| {
                    let e: f64 = StandardNormal.sample(rng);
                    s * e
                })
            })
            .collect()
    }

    /// Zero weights of the right shapes (gradient and optimiser buffers).
    pub fn zeros(&self) -> Params {
        self.widths.windows(2).map(|w| Mat::zeros(w[1], w[0])).collect()
    }

    /// Buffers for batches of `n` samples.
    pub fn workspace(&self, n: usize) -> Workspace {
        let layer = |k: usize| -> Vec<Mat<f64>> { (1..=k).map(|l| Mat::zeros(n, self.widths[l])).collect() };
        Workspace {
            n,
            z: layer(self.depth()),
            h: layer(self.depth()),
            g: layer(self.depth()),
        }
    }

    /// Forward pass of `x` (n × d_0) into `ws`; the output is [`Workspace::output`].
    pub fn forward(&self, p: &Params, x: MatRef<'_, f64>, ws: &mut Workspace) {
        let depth = self.depth();
        for l in 0..depth {
            let (h_prev, _) = ws.h.split_at(l);
            let input = if l == 0 { x } else { h_prev[l - 1].as_ref() };
            matmul(
                ws.z[l].as_mut(),
                Accum::Replace,
                input,
                p[l].as_ref().transpose(),
                1.0,
                Par::Seq,
            );
            if l + 1 < depth {
                let (z, h) = (&ws.z[l], &mut ws.h[l]);
                for j in 0..z.ncols() {
                    for (hv, zv) in h.col_as_slice_mut(j).iter_mut().zip(z.col_as_slice(j)) {
                        *hv = relu(*zv);
                    }
                }
            }
        }
    }

    /// Backward pass: from ∂ℓ/∂Z_L already in `ws` (see [`Workspace::output_grad_mut`]) after a
    /// [`Mlp::forward`] of the same `x`, writes ∂ℓ/∂W_l into `grad`.
    pub fn backward(&self, p: &Params, x: MatRef<'_, f64>, ws: &mut Workspace, grad: &mut Params) {
        let depth = self.depth();
        for l in (0..depth).rev() {
            let input = if l == 0 { x } else { ws.h[l - 1].as_ref() };
            matmul(
                grad[l].as_mut(),
                Accum::Replace,
                ws.g[l].as_ref().transpose(),
                input,
                1.0,
                Par::Seq,
            );
            if l > 0 {
                let (lo, hi) = ws.g.split_at_mut(l);
                matmul(
                    lo[l - 1].as_mut(),
                    Accum::Replace,
                    hi[0].as_ref(),
                    p[l].as_ref(),
                    1.0,
                    Par::Seq,
                );
                let (z, g) = (&ws.z[l - 1], &mut lo[l - 1]);
                for j in 0..z.ncols() {
                    for (gv, zv) in g.col_as_slice_mut(j).iter_mut().zip(z.col_as_slice(j)) {
                        *gv *= relu_prime(*zv);
                    }
                }
            }
        }
    }

    /// Empirical NTK K (n×n, row-major) of a scalar-output MLP on `x`:
    /// K = Σ_l (G_l G_lᵀ) ∘ (H_{l−1} H_{l−1}ᵀ) with G_L = 1.
    ///
    /// # Panics
    /// If the output width is not 1.
    pub fn ntk(&self, p: &Params, x: MatRef<'_, f64>) -> Vec<f64> {
        assert_eq!(self.widths[self.depth()], 1, "the NTK here is for scalar outputs");
        let n = x.nrows();
        let mut ws = self.workspace(n);
        self.forward(p, x, &mut ws);
        ws.output_grad_mut().fill(1.0);
        let mut grad = self.zeros();
        self.backward(p, x, &mut ws, &mut grad);
        let mut k = Mat::<f64>::zeros(n, n);
        let mut gg = Mat::<f64>::zeros(n, n);
        let mut hh = Mat::<f64>::zeros(n, n);
        for l in 0..self.depth() {
            let input = if l == 0 { x } else { ws.h[l - 1].as_ref() };
            matmul(
                gg.as_mut(),
                Accum::Replace,
                ws.g[l].as_ref(),
                ws.g[l].as_ref().transpose(),
                1.0,
                Par::Seq,
            );
            matmul(hh.as_mut(), Accum::Replace, input, input.transpose(), 1.0, Par::Seq);
            for j in 0..n {
                for i in 0..n {
                    k[(i, j)] += gg[(i, j)] * hh[(i, j)];
                }
            }
        }
        (0..n * n).map(|ij| k[(ij / n, ij % n)]).collect()
    }
}

/// Mean squared error ℓ = (1/2n)Σ‖f − y‖² of the output in `ws` against `y` (n × d_L); when
/// `grad` is true, writes G_L = (F − Y)/n into `ws` for [`Mlp::backward`].
pub fn mse(ws: &mut Workspace, y: MatRef<'_, f64>, grad: bool) -> f64 {
    let n = ws.n as f64;
    let mut loss = 0.0;
    let last = ws.z.len() - 1;
    let (z, g) = (&ws.z[last], &mut ws.g[last]);
    for j in 0..z.ncols() {
        for i in 0..z.nrows() {
            let r = z[(i, j)] - y[(i, j)];
            loss += r * r;
            if grad {
                g[(i, j)] = r / n;
            }
        }
    }
    0.5 * loss / n
}

/// Softmax cross-entropy ℓ = (1/n)Σ_i [logsumexp(f_i) − f_{i,y_i}] of the output in `ws`
/// against class labels `labels` (length n), and the number of rows whose largest logit is the
/// label (ties count as wrong); when `grad` is true, writes G_L = (softmax(F) − onehot)/n.
pub fn cross_entropy(ws: &mut Workspace, labels: &[usize], grad: bool) -> (f64, usize) {
    let n = ws.n;
    let last = ws.z.len() - 1;
    let (z, g) = (&ws.z[last], &mut ws.g[last]);
    let c = z.ncols();
    let mut loss = 0.0;
    let mut correct = 0;
    for (i, &y) in labels.iter().enumerate().take(n) {
        let mut m = f64::NEG_INFINITY;
        let mut arg_ok = true;
        for j in 0..c {
            let v = z[(i, j)];
            if j != y && v >= z[(i, y)] {
                arg_ok = false;
            }
            m = m.max(v);
        }
        correct += usize::from(arg_ok);
        let s: f64 = (0..c).map(|j| (z[(i, j)] - m).exp()).sum();
        let lse = m + s.ln();
        loss += lse - z[(i, y)];
        if grad {
            for j in 0..c {
                let pj = (z[(i, j)] - lse).exp();
                g[(i, j)] = (pj - if j == y { 1.0 } else { 0.0 }) / n as f64;
            }
        }
    }
    (loss / n as f64, correct)
}

/// Copy rows `idx` of `src` into the first `idx.len()` rows of `dst`.
pub fn gather_rows(src: MatRef<'_, f64>, idx: &[usize], mut dst: MatMut<'_, f64>) {
    for j in 0..src.ncols() {
        for (r, &i) in idx.iter().enumerate() {
            dst[(r, j)] = src[(i, j)];
        }
    }
}
