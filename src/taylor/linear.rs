//! The wide two-layer and deep linear networks' gradient flows as a [`JetField`] (P1 §4 and
//! App. B; `docs/theory.md` §2.1, §2.6), for the Taylor integrator in f64 or MPFR.
//!
//! Layers in β-orientation B_0, …, B_{K−1} (B_l = W_{l+1}ᵀ for the hidden layers, B_{K−1} = A),
//! β = B_0⋯B_{K−1} ∈ R^{d×c}, L = ½‖Xβ − Y‖²_F, per-layer rates η_l, and the flow
//! Ḃ_l = −η_l P_lᵀ G S_lᵀ with P_l = B_0⋯B_{l−1}, S_l = B_{l+1}⋯B_{K−1} and G = XᵀXβ − XᵀY
//! (as [`crate::models::deep_linear`]). The wide two-layer network f(x) = AᵀWx with rates
//! (η_w, η_a) is the case K = 2, θ = (W, A) ([`LinearJet::from_two_layer_case`]). The field is a
//! polynomial of degree 2K − 1 in θ, for any X (not only whitened) and any initialisation.
//!
//! **Taylor coefficients** (Cauchy products of jets, Jorba–Zou recurrences; `[k]` is the k-th
//! normalised coefficient): with P_{l+1}\[k\] = Σ_m P_l\[m\] B_l\[k−m\] (P_1 = B_0),
//! S_l\[k\] = Σ_m B_{l+1}\[m\] S_{l+1}\[k−m\] (S_{K−2} = B_{K−1}), G\[k\] = XᵀX β\[k\] − δ_{k0}XᵀY,
//! T_l\[k\] = Σ_m P_l\[m\]ᵀ G\[k−m\] (T_0 = G):
//!
//!   (Ḃ_l)\[k\] = −η_l Σ_m T_l\[m\] S_l\[k−m\]ᵀ   (S_{K−1} = I: (Ḃ_{K−1})\[k\] = −η_{K−1} T_{K−1}\[k\]).
//!
//! The jets of P, S, G and T are kept between orders (the integrator calls k = 0, 1, … in
//! order), so order k costs O(k) matrix products and nothing is allocated per step.

use super::{JetField, TaylorScalar};
use crate::case::{DeepLinearCase, TwoLayerLinearCase};
use crate::models::deep_linear::DeepLinear;
use crate::num::decimal::Num;

/// Jets of the linear-network flow (any depth ≥ 2 layers).
#[derive(Debug, Clone)]
pub struct LinearJet<S> {
    /// [d, h_1, …, h_L, c].
    dims: Vec<usize>,
    etas: Vec<S>,
    offsets: Vec<usize>,
    n: usize,
    /// X (n×d), Y (n×c), XᵀX (d×d), XᵀY (d×c), row-major.
    x: Vec<S>,
    y: Vec<S>,
    xtx: Vec<S>,
    xty: Vec<S>,
    /// b[l][m]: B_l jets (dims[l]×dims[l+1]).
    b: Vec<Vec<Vec<S>>>,
    /// pre[l][m]: P_l jets (d×dims[l]), l = 1..=K (pre[0] unused: P_0 = I).
    pre: Vec<Vec<Vec<S>>>,
    /// suf[l][m]: S_l jets (dims[l+1]×c), l = 0..K−2 (suf[K−1] unused: S_{K−1} = I).
    suf: Vec<Vec<Vec<S>>>,
    /// g[m]: G jets (d×c).
    g: Vec<Vec<S>>,
    /// t[l][m]: T_l jets (dims[l]×c), l = 1..K−1.
    t: Vec<Vec<Vec<S>>>,
    /// One layer's gradient coefficient (β-orientation).
    grad: Vec<S>,
    tmp: S,
}

/// out (m×n) = Σ_{j=0..=k} op(a[j]) op(b[k−j]), op(a[j]) m×p (a[j] stored p×m when `ta`),
/// op(b[·]) p×n (stored n×p when `tb`).
#[allow(clippy::too_many_arguments)]
fn cauchy<S: TaylorScalar>(
    out: &mut [S],
    a: &[Vec<S>],
    ta: bool,
    b: &[Vec<S>],
    tb: bool,
    k: usize,
    (m, n, p): (usize, usize, usize),
    tmp: &mut S,
) {
    for i in 0..m {
        for jj in 0..n {
            let acc = &mut out[i * n + jj];
            acc.set_zero();
            // One dot product per entry (terms in the order j, then q): a ball sums its radius
            // once ([`TaylorScalar::add_dot`]); every other scalar runs the same
            // `mul_add_assign_tmp` loop as term-by-term code.
            acc.add_dot(
                (0..=k).flat_map(|j| {
                    let (aj, bj) = (&a[j], &b[k - j]);
                    (0..p).map(move |q| {
                        let av = if ta { &aj[q * m + i] } else { &aj[i * p + q] };
                        let bv = if tb { &bj[jj * p + q] } else { &bj[q * n + jj] };
                        (av, bv)
                    })
                }),
                tmp,
            );
        }
    }
}

/// out (m×n) = a (m×p) · b (p×n), plain row-major.
fn matmul<S: TaylorScalar>(out: &mut [S], a: &[S], b: &[S], (m, n, p): (usize, usize, usize), tmp: &mut S) {
    for i in 0..m {
        for j in 0..n {
            let acc = &mut out[i * n + j];
            acc.set_zero();
            acc.add_dot((0..p).map(|q| (&a[i * p + q], &b[q * n + j])), tmp);
        }
    }
}

impl<S: TaylorScalar> LinearJet<S> {
    /// From the layer dims [d, h_1, …, h_L, c] (at least one hidden layer), one rate per layer
    /// (A last), X (n×d) and Y (n×c) row-major, all scalars at the working precision. XᵀX and
    /// XᵀY are accumulated at that precision.
    ///
    /// # Panics
    /// When the lengths do not match the dims (callers validate shapes first, e.g. by building
    /// the f64 [`DeepLinear`]).
    pub fn new(dims: Vec<usize>, etas: Vec<S>, n: usize, x: Vec<S>, y: Vec<S>) -> Self {
        let kk = dims.len() - 1;
        assert!(kk >= 2 && etas.len() == kk, "dims/etas mismatch");
        let (d, c) = (dims[0], dims[kk]);
        assert!(x.len() == n * d && y.len() == n * c, "data shape mismatch");
        let zero = etas[0].zero_like();
        let mut offsets = vec![0];
        for l in 0..kk {
            offsets.push(offsets[l] + dims[l] * dims[l + 1]);
        }
        let mut tmp = zero.clone();
        let mut xt = vec![zero.clone(); d * n];
        for i in 0..n {
            for j in 0..d {
                xt[j * n + i].assign_from(&x[i * d + j]);
            }
        }
        let mut xtx = vec![zero.clone(); d * d];
        matmul(&mut xtx, &xt, &x, (d, d, n), &mut tmp);
        let mut xty = vec![zero.clone(); d * c];
        matmul(&mut xty, &xt, &y, (d, c, n), &mut tmp);
        let big = dims.iter().copied().max().unwrap_or(1);
        LinearJet {
            dims,
            etas,
            offsets,
            n,
            x,
            y,
            xtx,
            xty,
            b: vec![Vec::new(); kk],
            pre: vec![Vec::new(); kk + 1],
            suf: vec![Vec::new(); kk],
            g: Vec::new(),
            t: vec![Vec::new(); kk],
            grad: vec![zero; big * big],
            tmp,
        }
    }

    /// [d, h_1, …, h_L, c].
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The layer rates, rounded to f64.
    pub fn etas_f64(&self) -> Vec<f64> {
        self.etas.iter().map(S::to_f64).collect()
    }

    fn n_layers(&self) -> usize {
        self.dims.len() - 1
    }

    /// B_l (β-orientation, dims[l]×dims[l+1]) of θ at one order, via `get(entry)`.
    fn load_b<'a>(&self, l: usize, get: impl Fn(usize) -> &'a S, out: &mut [S])
    where
        S: 'a,
    {
        let (r, q) = (self.dims[l], self.dims[l + 1]);
        let off = self.offsets[l];
        let last = l + 1 == self.n_layers();
        for i in 0..r {
            for j in 0..q {
                // W_{l+1} is stored q×r (B_l = W_{l+1}ᵀ); A is stored r×q.
                let src = if last { off + i * q + j } else { off + j * r + i };
                out[i * q + j].assign_from(get(src));
            }
        }
    }

    /// The layers of θ in β-orientation.
    fn layers(&self, theta: &[S]) -> Vec<Vec<S>> {
        (0..self.n_layers())
            .map(|l| {
                let mut v = vec![theta[0].zero_like(); self.dims[l] * self.dims[l + 1]];
                self.load_b(l, |e| &theta[e], &mut v);
                v
            })
            .collect()
    }

    /// β = B_0⋯B_{K−1} (d×c, row-major) at the working precision.
    pub fn beta(&self, theta: &[S]) -> Vec<S> {
        let b = self.layers(theta);
        let mut tmp = theta[0].zero_like();
        let mut acc = b[0].clone();
        for (l, bl) in b.iter().enumerate().skip(1) {
            let mut next = vec![tmp.clone(); self.dims[0] * self.dims[l + 1]];
            matmul(
                &mut next,
                &acc,
                bl,
                (self.dims[0], self.dims[l + 1], self.dims[l]),
                &mut tmp,
            );
            acc = next;
        }
        acc
    }

    /// L = ½‖Xβ − Y‖²_F at the working precision.
    pub fn loss(&self, beta: &[S]) -> S {
        let (d, c, n) = (self.dims[0], self.dims[self.n_layers()], self.n);
        let mut tmp = beta[0].zero_like();
        let mut r = vec![tmp.clone(); n * c];
        matmul(&mut r, &self.x, beta, (n, c, d), &mut tmp);
        // Not tmp.clone(): in MPFR and balls tmp now holds matmul's last product.
        let mut s = beta[0].zero_like();
        for (ri, yi) in r.iter_mut().zip(&self.y) {
            ri.sub_assign_ref(yi);
            s.mul_add_assign(ri, ri);
        }
        s.div_u32_assign(2);
        s
    }

    /// The conserved matrices η_l N_{l+1}ᵀN_{l+1} − η_{l+1} N_lN_lᵀ (h×h, row-major), one per
    /// consecutive pair (`docs/theory.md` §2.6), at the working precision; for K = 2 this is
    /// Δ = η_w AAᵀ − η_a WWᵀ.
    pub fn conserved(&self, theta: &[S]) -> Vec<Vec<S>> {
        let b = self.layers(theta);
        let mut tmp = theta[0].zero_like();
        (0..self.n_layers() - 1)
            .map(|l| {
                let (h, lo, hi) = (self.dims[l + 1], self.dims[l], self.dims[l + 2]);
                let mut q = vec![tmp.clone(); h * h];
                for i in 0..h {
                    for j in 0..h {
                        // B_{l+1}B_{l+1}ᵀ and B_lᵀB_l.
                        let mut up = tmp.zero_like();
                        for s in 0..hi {
                            up.mul_add_assign_tmp(&b[l + 1][i * hi + s], &b[l + 1][j * hi + s], &mut tmp);
                        }
                        let mut down = tmp.zero_like();
                        for s in 0..lo {
                            down.mul_add_assign_tmp(&b[l][s * h + i], &b[l][s * h + j], &mut tmp);
                        }
                        up.mul_assign_ref(&self.etas[l]);
                        down.mul_assign_ref(&self.etas[l + 1]);
                        up.sub_assign_ref(&down);
                        q[i * h + j] = up;
                    }
                }
                q
            })
            .collect()
    }

    /// max over pairs and entries of |Q_l(θ) − Q_l(θ0)|, rounded to f64.
    pub fn conserved_drift(&self, theta0: &[S], theta: &[S]) -> f64 {
        let (a, b) = (self.conserved(theta0), self.conserved(theta));
        let mut m: f64 = 0.0;
        for (qa, qb) in a.iter().zip(&b) {
            for (u, v) in qa.iter().zip(qb) {
                let mut w = v.clone();
                w.sub_assign_ref(u);
                m = m.max(w.to_f64().abs());
            }
        }
        m
    }
}

impl LinearJet<f64> {
    /// The f64 field of a [`DeepLinear`] model (a two-layer network is its `deep()` model).
    pub fn from_model(m: &DeepLinear) -> Self {
        let data = m.data();
        LinearJet::new(
            m.dims().to_vec(),
            m.etas().to_vec(),
            data.n,
            data.x.clone(),
            data.y.clone(),
        )
    }
}

fn parse_rows(m: &[Vec<Num>], prec: u32) -> (usize, Vec<rug::Float>) {
    (m.len(), m.iter().flatten().map(|v| v.to_mp(prec)).collect())
}

impl LinearJet<rug::Float> {
    /// The field and θ0 of layers (first layer first, A last; each a list of rows) and rates,
    /// the decimal inputs parsed at `prec` bits. Shapes are assumed validated.
    fn from_parts(
        x: &[Vec<Num>],
        y: &[Vec<Num>],
        layers: &[&[Vec<Num>]],
        etas: &[&Num],
        prec: u32,
    ) -> (Self, Vec<rug::Float>) {
        let (n, xf) = parse_rows(x, prec);
        let (_, yf) = parse_rows(y, prec);
        let d = x[0].len();
        let mut dims = vec![d];
        for l in &layers[..layers.len() - 1] {
            dims.push(l.len());
        }
        dims.push(y[0].len());
        let theta: Vec<rug::Float> = layers.iter().flat_map(|l| parse_rows(l, prec).1).collect();
        let etas = etas.iter().map(|e| e.to_mp(prec)).collect();
        (LinearJet::new(dims, etas, n, xf, yf), theta)
    }

    /// A `"deep_linear"` case at `prec` bits: the field and θ0 (layers in file order).
    pub fn from_deep_case(c: &DeepLinearCase, prec: u32) -> (Self, Vec<rug::Float>) {
        let layers: Vec<&[Vec<Num>]> = c.weights0.iter().map(|l| l.as_slice()).collect();
        let etas: Vec<&Num> = c.etas.iter().collect();
        Self::from_parts(&c.x, &c.y, &layers, &etas, prec)
    }

    /// A `"two_layer_linear"` case at `prec` bits: the field and θ0 = (W0, A0), rates (η_w, η_a).
    pub fn from_two_layer_case(c: &TwoLayerLinearCase, prec: u32) -> (Self, Vec<rug::Float>) {
        Self::from_parts(&c.x, &c.y, &[&c.w0, &c.a0], &[&c.eta_w, &c.eta_a], prec)
    }
}

impl<S: TaylorScalar> JetField<S> for LinearJet<S> {
    fn dim(&self) -> usize {
        self.offsets[self.n_layers()]
    }
    fn reserve(&mut self, order: usize) {
        let zero = self.etas[0].zero_like();
        let kk = self.n_layers();
        let (d, c) = (self.dims[0], self.dims[kk]);
        let o = order + 1;
        for l in 0..kk {
            self.b[l] = vec![vec![zero.clone(); self.dims[l] * self.dims[l + 1]]; o];
            self.t[l] = if l >= 1 {
                vec![vec![zero.clone(); self.dims[l] * c]; o]
            } else {
                Vec::new()
            };
            self.suf[l] = if l + 2 <= kk {
                vec![vec![zero.clone(); self.dims[l + 1] * c]; o]
            } else {
                Vec::new()
            };
        }
        for l in 1..=kk {
            self.pre[l] = vec![vec![zero.clone(); d * self.dims[l]]; o];
        }
        self.g = vec![vec![zero; d * c]; o];
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        let kk = self.n_layers();
        let dims = &self.dims;
        let (d, c) = (dims[0], dims[kk]);
        // B_l[k] from the state jets.
        for l in 0..kk {
            let mut bl = std::mem::take(&mut self.b[l][k]);
            self.load_b(l, |e| &x[e][k], &mut bl);
            self.b[l][k] = bl;
        }
        let tmp = &mut self.tmp;
        // Prefix products P_1 = B_0, P_{l+1} = P_l B_l.
        for (dst, src) in self.pre[1][k].iter_mut().zip(&self.b[0][k]) {
            dst.assign_from(src);
        }
        for l in 1..kk {
            let (lo, hi) = self.pre.split_at_mut(l + 1);
            cauchy(
                &mut hi[0][k],
                &lo[l],
                false,
                &self.b[l],
                false,
                k,
                (d, dims[l + 1], dims[l]),
                tmp,
            );
        }
        // Suffix products S_{K−2} = B_{K−1}, S_l = B_{l+1} S_{l+1}.
        for (dst, src) in self.suf[kk - 2][k].iter_mut().zip(&self.b[kk - 1][k]) {
            dst.assign_from(src);
        }
        for l in (0..kk.saturating_sub(2)).rev() {
            let (lo, hi) = self.suf.split_at_mut(l + 1);
            cauchy(
                &mut lo[l][k],
                &self.b[l + 1],
                false,
                &hi[0],
                false,
                k,
                (dims[l + 1], c, dims[l + 2]),
                tmp,
            );
        }
        // G[k] = XᵀX β[k] − δ_{k0} XᵀY.
        matmul(&mut self.g[k], &self.xtx, &self.pre[kk][k], (d, c, d), tmp);
        if k == 0 {
            for (gi, yi) in self.g[0].iter_mut().zip(&self.xty) {
                gi.sub_assign_ref(yi);
            }
        }
        // T_l[k] = Σ P_l[m]ᵀ G[k−m].
        #[allow(clippy::needless_range_loop)] // l indexes t, pre and dims together
        for l in 1..kk {
            cauchy(
                &mut self.t[l][k],
                &self.pre[l],
                true,
                &self.g,
                false,
                k,
                (dims[l], c, d),
                tmp,
            );
        }
        // (Ḃ_l)[k] = −η_l Σ T_l[m] S_l[k−m]ᵀ.
        for l in 0..kk {
            let (r, q) = (dims[l], dims[l + 1]);
            let t_l: &[Vec<S>] = if l == 0 { &self.g } else { &self.t[l] };
            if l + 1 == kk {
                for (gr, tv) in self.grad[..r * q].iter_mut().zip(&t_l[k]) {
                    gr.assign_from(tv);
                }
            } else {
                cauchy(
                    &mut self.grad[..r * q],
                    t_l,
                    false,
                    &self.suf[l],
                    true,
                    k,
                    (r, q, c),
                    tmp,
                );
            }
            let off = self.offsets[l];
            let last = l + 1 == kk;
            for i in 0..r {
                for j in 0..q {
                    let dst = if last { off + i * q + j } else { off + j * r + i };
                    let o = &mut out[dst];
                    o.assign_from(&self.grad[i * q + j]);
                    o.mul_assign_ref(&self.etas[l]);
                    o.neg_assign();
                }
            }
        }
    }
}
