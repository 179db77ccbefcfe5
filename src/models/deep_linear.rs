//! Deep linear network f(x) = Aᵀ W_L ⋯ W_1 x (P1 §4 and App. B; `docs/theory.md` §2.1, §2.6).
//!
//! Layers, first layer first: W_1 ∈ R^{h_1×d}, W_l ∈ R^{h_l×h_{l−1}}, and A ∈ R^{h_L×c} last
//! (the output layer, stored h×c as in P1's f(x) = AᵀWx). θ is the concatenation of the layers,
//! each row-major. The network function is β = W_1ᵀ⋯W_Lᵀ A ∈ R^{d×c}, the loss
//! L = ½‖Xβ − Y‖²_F (no 1/n, `docs/theory.md` §5.1), with X ∈ R^{n×d} (rows x_i) and Y ∈ R^{n×c}.
//! Each layer k has its own learning rate η_k; the flow is θ̇_k = −η_k ∇_{θ_k} L. X need not be
//! whitened.
//!
//! **Derivatives.** Write B_k for the layers in β-orientation (B_k = W_kᵀ, B_{K} = A), so that
//! β = B_1⋯B_K, and P_k = B_1⋯B_{k−1}, S_k = B_{k+1}⋯B_K. With G = Xᵀ(Xβ − Y) = ∂L/∂β:
//! ∂L/∂B_k = P_kᵀ G S_kᵀ. The Hessian-vector product is its directional derivative (product
//! rule through P_k, S_k and G, with dG = XᵀX dβ); the Hessian is assembled column by column
//! from exact Hessian-vector products (no finite differences).
//!
//! **Conserved quantities** (`docs/theory.md` §2.6, derived there; checked numerically in
//! `tests/it/linear_models.rs`). With N_k the layers in forward orientation (N_k = W_k, N_K = Aᵀ),
//! for each consecutive pair η_k N_{k+1}ᵀN_{k+1} − η_{k+1} N_k N_kᵀ is constant along the flow.
//! For two layers (W, A) with rates (η_w, η_a) this is Δ = η_w AAᵀ − η_a WWᵀ (P1 App. B).
//! Proof: N_{k+1}ᵀ ∂L/∂N_{k+1} = (∂L/∂N_k) N_kᵀ, so the two time derivatives cancel.

use super::linalg::{gemm, transpose};
use super::{GradientFlowModel, ModelError, check_finite, check_rate};
use std::cell::RefCell;

/// Data of a linear regression problem: X (n×d), Y (n×c), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearData {
    /// Samples.
    pub n: usize,
    /// Input dimension.
    pub d: usize,
    /// Output dimension.
    pub c: usize,
    /// X, row-major n×d.
    pub x: Vec<f64>,
    /// Y, row-major n×c.
    pub y: Vec<f64>,
    /// XᵀX, row-major d×d.
    pub xtx: Vec<f64>,
}

fn shape_err(what: &str, expected: String, found: String) -> ModelError {
    ModelError::Shape {
        what: what.into(),
        expected,
        found,
    }
}

/// Check a list of rows is a non-empty rectangular matrix of finite numbers; returns (rows, cols).
///
/// # Errors
/// [`ModelError::Shape`] for empty or ragged input, [`ModelError::NonFinite`].
pub fn check_matrix(what: &str, m: &[Vec<f64>]) -> Result<(usize, usize), ModelError> {
    let r = m.len();
    if r == 0 || m[0].is_empty() {
        return Err(shape_err(
            what,
            "a non-empty matrix (list of rows)".into(),
            format!("{r} rows"),
        ));
    }
    let c = m[0].len();
    for (i, row) in m.iter().enumerate() {
        if row.len() != c {
            return Err(shape_err(
                &format!("{what} row {i}"),
                format!("length {c} (as row 0)"),
                format!("length {}", row.len()),
            ));
        }
        check_finite(&format!("{what}[{i}]"), row)?;
    }
    Ok((r, c))
}

impl LinearData {
    /// Build from rows of X and Y.
    ///
    /// # Errors
    /// [`ModelError`] for empty, ragged or non-finite input, or Y with a different number of rows.
    pub fn new(x: &[Vec<f64>], y: &[Vec<f64>]) -> Result<Self, ModelError> {
        let (n, d) = check_matrix("x", x)?;
        let (ny, c) = check_matrix("y", y)?;
        if ny != n {
            return Err(shape_err(
                "y",
                format!("{n} rows (one target row per row of x)"),
                format!("{ny} rows"),
            ));
        }
        let xf: Vec<f64> = x.iter().flatten().copied().collect();
        let mut xtx = vec![0.0; d * d];
        gemm(&mut xtx, d, d, n, &xf, true, &xf, false, false);
        Ok(LinearData {
            n,
            d,
            c,
            x: xf,
            y: y.iter().flatten().copied().collect(),
            xtx,
        })
    }

    /// G = Xᵀ(Xβ − Y) (d×c) into `g`, using `r` (n×c) for the residual. Returns ½‖Xβ − Y‖².
    pub fn residual_grad(&self, beta: &[f64], r: &mut [f64], g: &mut [f64]) -> f64 {
        let (n, d, c) = (self.n, self.d, self.c);
        gemm(r, n, c, d, &self.x, false, beta, false, false);
        let mut loss = 0.0;
        for (ri, yi) in r[..n * c].iter_mut().zip(&self.y) {
            *ri -= yi;
            loss += *ri * *ri;
        }
        gemm(g, d, c, n, &self.x, true, r, false, false);
        0.5 * loss
    }

    /// max |(XᵀX − I)_ij|.
    pub fn whitening_defect(&self) -> f64 {
        let d = self.d;
        let mut m: f64 = 0.0;
        for i in 0..d {
            for j in 0..d {
                m = m.max((self.xtx[i * d + j] - if i == j { 1.0 } else { 0.0 }).abs());
            }
        }
        m
    }
}

#[derive(Debug, Clone)]
struct Scratch {
    b: Vec<Vec<f64>>,
    pre: Vec<Vec<f64>>,
    suf: Vec<Vec<f64>>,
    db: Vec<Vec<f64>>,
    dpre: Vec<Vec<f64>>,
    dsuf: Vec<Vec<f64>>,
    r: Vec<f64>,
    g: Vec<f64>,
    dg: Vec<f64>,
    t1: Vec<f64>,
    t2: Vec<f64>,
    gb: Vec<f64>,
    unit: Vec<f64>,
}

/// The deep linear network: data, layer shapes and per-layer rates.
#[derive(Debug, Clone)]
pub struct DeepLinear {
    data: LinearData,
    /// dims = [d, h_1, …, h_L, c]; layer k (0-based) in β-orientation is dims[k]×dims[k+1].
    dims: Vec<usize>,
    etas: Vec<f64>,
    offsets: Vec<usize>,
    scratch: RefCell<Scratch>,
}

impl DeepLinear {
    /// Build from data, the hidden widths [h_1, …, h_L] (L ≥ 1) and one rate per layer
    /// (L + 1 rates: W_1, …, W_L, A).
    ///
    /// # Errors
    /// [`ModelError`] for bad data, no hidden layer, zero widths, a wrong number of rates or a
    /// rate that is not positive.
    pub fn new(data: LinearData, hidden: &[usize], etas: &[f64]) -> Result<Self, ModelError> {
        if hidden.is_empty() || hidden.contains(&0) {
            return Err(shape_err(
                "hidden widths",
                "at least one hidden layer, each of width ≥ 1".into(),
                format!("{hidden:?}"),
            ));
        }
        if etas.len() != hidden.len() + 1 {
            return Err(shape_err(
                "etas",
                format!("{} rates (one per layer, A last)", hidden.len() + 1),
                format!("{} rates", etas.len()),
            ));
        }
        for &e in etas {
            check_rate("etas[k]", e)?;
        }
        let mut dims = vec![data.d];
        dims.extend_from_slice(hidden);
        dims.push(data.c);
        let k = dims.len() - 1;
        let mut offsets = vec![0];
        for i in 0..k {
            offsets.push(offsets[i] + dims[i] * dims[i + 1]);
        }
        let (d, c, n) = (data.d, data.c, data.n);
        let big = dims.iter().copied().max().unwrap_or(1).max(n);
        let layer = |i: usize| vec![0.0; dims[i] * dims[i + 1]];
        let scratch = Scratch {
            b: (0..k).map(layer).collect(),
            pre: (0..=k).map(|i| vec![0.0; d * dims[i]]).collect(),
            suf: (0..=k).map(|i| vec![0.0; dims[i] * c]).collect(),
            db: (0..k).map(layer).collect(),
            dpre: (0..=k).map(|i| vec![0.0; d * dims[i]]).collect(),
            dsuf: (0..=k).map(|i| vec![0.0; dims[i] * c]).collect(),
            r: vec![0.0; n * c],
            g: vec![0.0; d * c],
            dg: vec![0.0; d * c],
            t1: vec![0.0; big * big.max(c)],
            t2: vec![0.0; big * big.max(c)],
            gb: vec![0.0; big * big],
            unit: vec![0.0; offsets[k]],
        };
        Ok(DeepLinear {
            data,
            dims,
            etas: etas.to_vec(),
            offsets,
            scratch: RefCell::new(scratch),
        })
    }

    /// Build from the initial layers (first layer first, A last, each as a list of rows) and
    /// one rate per layer; returns the model and the packed θ0.
    ///
    /// # Errors
    /// [`ModelError::Shape`] naming the layer whose shape does not chain (W_1 must have d
    /// columns, W_k as many columns as W_{k−1} has rows, A as many rows as the last W and c
    /// columns), plus the errors of [`DeepLinear::new`].
    pub fn from_layers(
        data: LinearData,
        layers: &[Vec<Vec<f64>>],
        etas: &[f64],
    ) -> Result<(Self, Vec<f64>), ModelError> {
        if layers.len() < 2 {
            return Err(shape_err(
                "weights0",
                "at least two layers (W_1, …, A)".into(),
                format!("{} layers", layers.len()),
            ));
        }
        let kk = layers.len();
        let mut hidden = Vec::new();
        let mut prev = data.d;
        for (i, l) in layers.iter().enumerate() {
            let (r, c) = check_matrix(&format!("weights0[{i}]"), l)?;
            if i + 1 < kk {
                if c != prev {
                    return Err(shape_err(
                        &format!("weights0[{i}]"),
                        format!(
                            "{prev} columns ({})",
                            if i == 0 {
                                "d, the columns of x"
                            } else {
                                "rows of the previous layer"
                            }
                        ),
                        format!("{r}×{c}"),
                    ));
                }
                hidden.push(r);
                prev = r;
            } else if r != prev || c != data.c {
                return Err(shape_err(
                    &format!("weights0[{i}] (A, the last layer)"),
                    format!("{prev}×{} (rows of the previous layer × columns of y)", data.c),
                    format!("{r}×{c}"),
                ));
            }
        }
        let m = DeepLinear::new(data, &hidden, etas)?;
        let theta: Vec<f64> = layers.iter().flatten().flatten().copied().collect();
        Ok((m, theta))
    }

    /// The data.
    pub fn data(&self) -> &LinearData {
        &self.data
    }
    /// [d, h_1, …, h_L, c].
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// Number of layers (L + 1, A included).
    pub fn n_layers(&self) -> usize {
        self.dims.len() - 1
    }
    /// Layer rates.
    pub fn etas(&self) -> &[f64] {
        &self.etas
    }
    /// Stored shape (rows, cols) of layer k: W_k is dims\[k+1\]×dims\[k\], A is dims\[K−1\]×c.
    pub fn layer_shape(&self, k: usize) -> (usize, usize) {
        if k + 1 < self.n_layers() {
            (self.dims[k + 1], self.dims[k])
        } else {
            (self.dims[k], self.dims[k + 1])
        }
    }
    /// Layer k of θ (row-major, stored shape [`Self::layer_shape`]).
    pub fn layer<'t>(&self, theta: &'t [f64], k: usize) -> &'t [f64] {
        &theta[self.offsets[k]..self.offsets[k + 1]]
    }

    /// Load B_k (β-orientation) from θ into `b`.
    fn load(&self, theta: &[f64], b: &mut [Vec<f64>]) {
        let kk = self.n_layers();
        for (k, bk) in b.iter_mut().enumerate() {
            let src = self.layer(theta, k);
            if k + 1 < kk {
                transpose(bk, src, self.dims[k + 1], self.dims[k]);
            } else {
                bk.copy_from_slice(src);
            }
        }
    }

    /// Prefix (P_k = B_1⋯B_{k−1}) and suffix (S_k) products; pre[K] = β.
    fn products(b: &[Vec<f64>], dims: &[usize], pre: &mut [Vec<f64>], suf: &mut [Vec<f64>]) {
        let kk = b.len();
        let (d, c) = (dims[0], dims[kk]);
        identity(&mut pre[0], d);
        for k in 0..kk {
            let (lo, hi) = pre.split_at_mut(k + 1);
            gemm(&mut hi[0], d, dims[k + 1], dims[k], &lo[k], false, &b[k], false, false);
        }
        identity(&mut suf[kk], c);
        for k in (0..kk).rev() {
            let (lo, hi) = suf.split_at_mut(k + 1);
            gemm(&mut lo[k], dims[k], c, dims[k + 1], &b[k], false, &hi[0], false, false);
        }
    }

    /// β = W_1ᵀ⋯W_Lᵀ A (d×c, row-major) into `beta`.
    pub fn beta_inplace(&self, theta: &[f64], beta: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.load(theta, &mut s.b);
        Self::products(&s.b, &self.dims, &mut s.pre, &mut s.suf);
        beta.copy_from_slice(&s.pre[self.n_layers()]);
    }

    /// β as a new vector.
    pub fn beta(&self, theta: &[f64]) -> Vec<f64> {
        let mut b = vec![0.0; self.data.d * self.data.c];
        self.beta_inplace(theta, &mut b);
        b
    }

    /// ½‖Xβ − Y‖² of a predictor β (d×c).
    pub fn loss_beta(&self, beta: &[f64]) -> f64 {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.data.residual_grad(beta, &mut s.r, &mut s.g)
    }

    /// The conserved matrices, one per consecutive pair (k, k+1):
    /// η_k N_{k+1}ᵀN_{k+1} − η_{k+1} N_kN_kᵀ (h_k × h_k, row-major), N_K = Aᵀ.
    pub fn conserved(&self, theta: &[f64]) -> Vec<Vec<f64>> {
        let kk = self.n_layers();
        let mut b: Vec<Vec<f64>> = (0..kk).map(|k| vec![0.0; self.dims[k] * self.dims[k + 1]]).collect();
        self.load(theta, &mut b);
        (0..kk - 1)
            .map(|k| {
                let h = self.dims[k + 1];
                let mut q = vec![0.0; h * h];
                let mut t = vec![0.0; h * h];
                // N_{k+1}ᵀN_{k+1} = B_{k+1}B_{k+1}ᵀ;  N_kN_kᵀ = B_kᵀB_k.
                gemm(&mut q, h, h, self.dims[k + 2], &b[k + 1], false, &b[k + 1], true, false);
                gemm(&mut t, h, h, self.dims[k], &b[k], true, &b[k], false, false);
                for (qi, ti) in q.iter_mut().zip(&t) {
                    *qi = self.etas[k] * *qi - self.etas[k + 1] * ti;
                }
                q
            })
            .collect()
    }

    /// max over the pairs of max_ij |Q_k(θ) − Q_k(θ0)|.
    pub fn conserved_drift(&self, theta0: &[f64], theta: &[f64]) -> f64 {
        self.conserved(theta0)
            .iter()
            .zip(self.conserved(theta))
            .map(|(a, b)| a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max))
            .fold(0.0, f64::max)
    }

    /// Scale of the conserved matrices: max over pairs of max |η_k N_{k+1}ᵀN_{k+1}| + |η_{k+1} N_kN_kᵀ|
    /// entries (the size of the terms whose difference is conserved).
    pub fn conserved_scale(&self, theta: &[f64]) -> f64 {
        let kk = self.n_layers();
        let mut m: f64 = 0.0;
        for k in 0..kk {
            let l = self.layer(theta, k);
            let n2: f64 = l.iter().map(|v| v * v).sum();
            m = m.max(n2 * self.etas.iter().copied().fold(0.0, f64::max));
        }
        m
    }

    /// Gradient of B_k from P_k, G, S_k into s.gb (dims[k]×dims[k+1]).
    fn grad_core(&self, s: &mut Scratch, theta_grad: &mut [f64]) {
        let kk = self.n_layers();
        let (d, c) = (self.data.d, self.data.c);
        for k in 0..kk {
            let (r, q) = (self.dims[k], self.dims[k + 1]);
            gemm(&mut s.t1, r, c, d, &s.pre[k], true, &s.g, false, false);
            gemm(&mut s.gb, r, q, c, &s.t1, false, &s.suf[k + 1], true, false);
            self.store(k, &s.gb, &mut theta_grad[self.offsets[k]..self.offsets[k + 1]]);
        }
    }

    /// Write a β-orientation layer gradient into its θ slot (transposing W layers).
    fn store(&self, k: usize, gb: &[f64], out: &mut [f64]) {
        let (r, q) = (self.dims[k], self.dims[k + 1]);
        if k + 1 < self.n_layers() {
            transpose(out, &gb[..r * q], r, q);
        } else {
            out.copy_from_slice(&gb[..r * q]);
        }
    }
}

fn identity(m: &mut [f64], n: usize) {
    m.iter_mut().for_each(|x| *x = 0.0);
    for i in 0..n {
        m[i * n + i] = 1.0;
    }
}

impl GradientFlowModel for DeepLinear {
    fn n_params(&self) -> usize {
        self.offsets[self.n_layers()]
    }
    fn rate(&self, i: usize) -> f64 {
        let k = self.offsets.partition_point(|&o| o <= i) - 1;
        self.etas[k]
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.load(theta, &mut s.b);
        Self::products(&s.b, &self.dims, &mut s.pre, &mut s.suf);
        let kk = self.n_layers();
        self.data.residual_grad(&s.pre[kk], &mut s.r, &mut s.g)
    }
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.load(theta, &mut s.b);
        Self::products(&s.b, &self.dims, &mut s.pre, &mut s.suf);
        let kk = self.n_layers();
        self.data.residual_grad(&s.pre[kk], &mut s.r, &mut s.g);
        self.grad_core(s, grad);
    }
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]) {
        let n = self.n_params();
        let mut unit = std::mem::take(&mut self.scratch.borrow_mut().unit);
        unit.iter_mut().for_each(|u| *u = 0.0);
        for j in 0..n {
            unit[j] = 1.0;
            self.hvp_inplace(theta, &unit, &mut hess[j * n..(j + 1) * n]);
            unit[j] = 0.0;
        }
        // Symmetrise the rounding: the exact Hessian is symmetric.
        for j in 0..n {
            for i in (j + 1)..n {
                let m = 0.5 * (hess[i + j * n] + hess[j + i * n]);
                hess[i + j * n] = m;
                hess[j + i * n] = m;
            }
        }
        self.scratch.borrow_mut().unit = unit;
    }
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        let kk = self.n_layers();
        let (d, c, n) = (self.data.d, self.data.c, self.data.n);
        let dims = &self.dims;
        self.load(theta, &mut s.b);
        self.load(v, &mut s.db);
        Self::products(&s.b, dims, &mut s.pre, &mut s.suf);
        self.data.residual_grad(&s.pre[kk], &mut s.r, &mut s.g);
        // dP_{k+1} = dP_k B_k + P_k dB_k;  dS_k = dB_k S_{k+1} + B_k dS_{k+1}.
        s.dpre[0].iter_mut().for_each(|x| *x = 0.0);
        for k in 0..kk {
            let (lo, hi) = s.dpre.split_at_mut(k + 1);
            gemm(
                &mut hi[0],
                d,
                dims[k + 1],
                dims[k],
                &lo[k],
                false,
                &s.b[k],
                false,
                false,
            );
            gemm(
                &mut hi[0],
                d,
                dims[k + 1],
                dims[k],
                &s.pre[k],
                false,
                &s.db[k],
                false,
                true,
            );
        }
        s.dsuf[kk].iter_mut().for_each(|x| *x = 0.0);
        for k in (0..kk).rev() {
            let (lo, hi) = s.dsuf.split_at_mut(k + 1);
            gemm(
                &mut lo[k],
                dims[k],
                c,
                dims[k + 1],
                &s.db[k],
                false,
                &s.suf[k + 1],
                false,
                false,
            );
            gemm(&mut lo[k], dims[k], c, dims[k + 1], &s.b[k], false, &hi[0], false, true);
        }
        // dG = XᵀX dβ.
        gemm(&mut s.dg, d, c, d, &self.data.xtx, false, &s.dpre[kk], false, false);
        let _ = n;
        for k in 0..kk {
            let (r, q) = (dims[k], dims[k + 1]);
            // t1 = dP_kᵀ G + P_kᵀ dG  (r×c);  t2 = P_kᵀ G (r×c)
            gemm(&mut s.t1, r, c, d, &s.dpre[k], true, &s.g, false, false);
            gemm(&mut s.t1, r, c, d, &s.pre[k], true, &s.dg, false, true);
            gemm(&mut s.t2, r, c, d, &s.pre[k], true, &s.g, false, false);
            gemm(&mut s.gb, r, q, c, &s.t1, false, &s.suf[k + 1], true, false);
            gemm(&mut s.gb, r, q, c, &s.t2, false, &s.dsuf[k + 1], true, true);
            self.store(k, &s.gb, &mut out[self.offsets[k]..self.offsets[k + 1]]);
        }
    }
}

/// Why a deep initialisation with conserved matrices Q_l = δ_l·I cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeepInitError {
    /// The widths and the sign of δ_l are incompatible, or a mode would need a negative
    /// squared singular value.
    #[error(
        "conserved matrix Q_{pair} = δ·I with δ = {delta} is infeasible for dims {dims:?}: {reason} \
         (docs/theory.md §2.3 and §2.6); choose another sign of δ, δ = 0, or other widths"
    )]
    Infeasible {
        /// The pair index l (1-based: Q_l couples layers l and l+1).
        pair: usize,
        /// δ_l.
        delta: f64,
        /// [d, h_1, …, h_L, c].
        dims: Vec<usize>,
        /// Why.
        reason: String,
    },
    /// Bad inputs.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Layers (first first, A last, as lists of rows) whose conserved matrices are
/// Q_l = η_l N_{l+1}ᵀN_{l+1} − η_{l+1} N_lN_lᵀ = δ_l I_{h_l} for every consecutive pair
/// l = 1, …, K−1 (N_l = W_l, N_K = Aᵀ; `docs/theory.md` §2.6), the deep analogue of the isotropic
/// two-layer initialisation (§2.3).
///
/// **Feasibility** (necessary): δ_l > 0 makes η_l N_{l+1}ᵀN_{l+1} = δ_l I + η_{l+1}N_lN_lᵀ ≻ 0,
/// so N_{l+1} (h_{l+1}×h_l) has rank h_l: h_l ≤ h_{l+1}. δ_l < 0 makes N_lN_lᵀ ≻ 0: h_l ≤ h_{l−1}.
///
/// **Construction** (aligned singular vectors): N_l = O_l Σ_l O_{l−1}ᵀ with seeded random
/// orthogonal O_l (h_l×h_l; h_0 = d, h_K = c) and Σ_l rectangular-diagonal (h_l×h_{l−1}). Then
/// Q_l = O_l diag(η_l x_{l+1,i} − η_{l+1} x_{l,i}) O_lᵀ with x_{l,i} = Σ_l\[i,i\]² (0 when i ≥
/// min(h_l, h_{l−1})), so Q_l = δ_l I iff, for every mode i < h_l, η_l x_{l+1,i} − η_{l+1} x_{l,i}
/// = δ_l. Per mode this is a chain x_{l+1} = (δ_l + η_{l+1}x_l)/η_l over each run of layers where
/// the mode exists; a missing neighbour fixes the run's end (x_lo = δ/η_l below, x_hi = −δ/η_{l+1}
/// above), otherwise the run starts at the balanced value η_{lo}·σ_i² (shifted up if a later x
/// would be negative). σ_i = `sigma[i]` (the last entry repeated).
///
/// # Errors
/// [`DeepInitError::Infeasible`] naming the pair and the reason; [`ModelError`] for bad shapes,
/// rates or non-finite values.
pub fn conserved_init(
    dims: &[usize],
    etas: &[f64],
    deltas: &[f64],
    sigma: &[f64],
    seed: u64,
) -> Result<Vec<Vec<Vec<f64>>>, DeepInitError> {
    use nalgebra::DMatrix;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let kk = dims.len().saturating_sub(1);
    if kk < 2 || dims.contains(&0) || etas.len() != kk || deltas.len() != kk - 1 || sigma.is_empty() {
        return Err(shape_err(
            "dims / etas / deltas / sigma",
            "dims [d, h_1, …, c] (≥ 3 entries, all ≥ 1), one rate per layer, one δ per consecutive pair, ≥ 1 σ".into(),
            format!(
                "{} dims, {} rates, {} deltas, {} σ",
                dims.len(),
                etas.len(),
                deltas.len(),
                sigma.len()
            ),
        )
        .into());
    }
    for &e in etas {
        check_rate("etas[k]", e)?;
    }
    check_finite("deltas", deltas)?;
    check_finite("sigma", sigma)?;
    // eta(l), 1-based layer l; pair l couples layers l and l+1 and has width h_l = dims[l].
    let eta = |l: usize| etas[l - 1];
    let infeasible = |pair: usize, reason: String| DeepInitError::Infeasible {
        pair,
        delta: deltas[pair - 1],
        dims: dims.to_vec(),
        reason,
    };
    for l in 1..kk {
        let (dl, h) = (deltas[l - 1], dims[l]);
        if dl > 0.0 && h > dims[l + 1] {
            return Err(infeasible(
                l,
                format!(
                    "δ > 0 needs η_{l} N_{}ᵀN_{} = δI + η_{} N_{l}N_{l}ᵀ ≻ 0, so rank N_{} = h_{l} = {h}, but N_{} has only {} rows",
                    l + 1,
                    l + 1,
                    l + 1,
                    l + 1,
                    l + 1,
                    dims[l + 1]
                ),
            ));
        }
        if dl < 0.0 && h > dims[l - 1] {
            return Err(infeasible(
                l,
                format!(
                    "δ < 0 needs η_{} N_{l}N_{l}ᵀ = |δ|I + η_{l} N_{}ᵀN_{} ≻ 0, so rank N_{l} = h_{l} = {h}, but N_{l} has only {} columns",
                    l + 1,
                    l + 1,
                    l + 1,
                    dims[l - 1]
                ),
            ));
        }
    }
    let exists = |l: usize, i: usize| i < dims[l].min(dims[l - 1]);
    let modes = dims.iter().copied().max().unwrap_or(0);
    // x[l][i], l = 1..=kk.
    let mut x = vec![vec![0.0f64; modes]; kk + 1];
    for i in 0..modes {
        let s = sigma[i.min(sigma.len() - 1)];
        let mut l = 1;
        while l <= kk {
            if !exists(l, i) {
                l += 1;
                continue;
            }
            let lo = l;
            while l < kk && exists(l + 1, i) {
                l += 1;
            }
            let hi = l;
            l += 1;
            // x_l = c_l + m_l x_lo along the run.
            let (mut c, mut m) = (vec![0.0; hi + 1], vec![0.0; hi + 1]);
            m[lo] = 1.0;
            for j in lo..hi {
                c[j + 1] = (deltas[j - 1] + eta(j + 1) * c[j]) / eta(j);
                m[j + 1] = eta(j + 1) * m[j] / eta(j);
            }
            let below = (lo >= 2 && i < dims[lo - 1]).then(|| deltas[lo - 2] / eta(lo - 1));
            let above = (hi < kk && i < dims[hi]).then(|| -deltas[hi - 1] / eta(hi + 1));
            let x_lo = match (below, above) {
                (Some(b), Some(a)) => {
                    let got = c[hi] + m[hi] * b;
                    if (got - a).abs() > 1e-12 * (1.0 + a.abs()) {
                        return Err(infeasible(
                            hi,
                            format!(
                                "mode {i} exists only in layers {lo}..={hi}; its ends are fixed by both neighbouring pairs \
                                 and the chain gives x_{hi} = {got:e} where Q_{hi} needs {a:e}"
                            ),
                        ));
                    }
                    b
                }
                (Some(b), None) => b,
                (None, Some(a)) => (a - c[hi]) / m[hi],
                (None, None) => {
                    let base = eta(lo) * s * s;
                    let need = (lo..=hi).map(|j| -(c[j] + m[j] * base) / m[j]).fold(0.0, f64::max);
                    if need > 0.0 { base + need + base } else { base }
                }
            };
            for j in lo..=hi {
                let v = c[j] + m[j] * x_lo;
                if v < 0.0 {
                    return Err(infeasible(
                        j.min(kk - 1).max(1),
                        format!("mode {i} would need a negative squared singular value x_{j} = {v:e} in layer {j}"),
                    ));
                }
                x[j][i] = v;
            }
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let os: Vec<DMatrix<f64>> = dims
        .iter()
        .map(|&h| {
            DMatrix::<f64>::from_fn(h, h, |_, _| {
                <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
            })
            .qr()
            .q()
        })
        .collect();
    let mut layers = Vec::with_capacity(kk);
    for l in 1..=kk {
        let mut sig = DMatrix::<f64>::zeros(dims[l], dims[l - 1]);
        for i in 0..dims[l].min(dims[l - 1]) {
            sig[(i, i)] = x[l][i].sqrt();
        }
        let n = &os[l] * sig * os[l - 1].transpose();
        let m = if l < kk { n } else { n.transpose() };
        layers.push((0..m.nrows()).map(|r| m.row(r).iter().copied().collect()).collect());
    }
    Ok(layers)
}
