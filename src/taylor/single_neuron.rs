//! The single-neuron gradient flow as a [`JetField`] (P1 §3; `docs/theory.md` §1.1).
//!
//! θ = (a, w), L = ½‖X a w − y‖², G = XᵀX, b = Xᵀy: ∇_a L = a·wᵀGw − wᵀb, ∇_w L = a²·Gw − a·b,
//! so ȧ = −η_a(a·s − wᵀb), ẇ = −η_w(a²·u − a·b) with u = Gw, s = wᵀu — a cubic polynomial in θ,
//! for any X (not only whitened). Taylor coefficients (k-th; Cauchy products of jets):
//! u_k = G w_k, s_k = Σ_i Σ_j w_{i,j} u_{i,k−j}, (a²)_k = Σ_j a_j a_{k−j},
//! (ȧ)_k = −η_a(Σ_j a_j s_{k−j} − bᵀw_k), (ẇ_i)_k = −η_w(Σ_j (a²)_j u_{i,k−j} − b_i a_k).
//! Cost per order k: d² + 1.5d(k+1) + 1.5(k+1) multiply-adds (s and a² are symmetric Cauchy
//! products, half the terms; vs 3d(k+1) + d² through β = a w).

use super::{JetField, StepperF64, TaylorScalar};
use crate::case::SingleNeuronCase;
use crate::models::single_neuron::SingleNeuron;

/// Jets of the single-neuron flow; keeps the jets of u = Gw, s = wᵀu and a² between orders.
#[derive(Debug, Clone)]
pub struct SingleNeuronJet<S> {
    d: usize,
    /// G = XᵀX row-major; `None` when G = I exactly (then u = w).
    gram: Option<Vec<S>>,
    xty: Vec<S>,
    eta_a: S,
    eta_w: S,
    u: Vec<Vec<S>>,
    s: Vec<S>,
    a2: Vec<S>,
    acc: S,
    acc2: S,
    tmp: S,
    /// The f64 whole-step kernel ([`JetField::step_coeffs`]); `Some` only when `S` is f64 and
    /// d ≤ [`STEP_F64_MAX_D`].
    fast: Option<StepF64>,
    /// Use `fast` when present (default); off, the integrator goes order by order through
    /// [`JetField::coeff`] (kept for tests and A/B benches).
    step_fast: bool,
}

impl<S: TaylorScalar> SingleNeuronJet<S> {
    /// From G = XᵀX (row-major d×d), b = Xᵀy and the rates, all as scalars of the working
    /// precision.
    pub fn new(gram: Vec<S>, xty: Vec<S>, eta_a: S, eta_w: S) -> Self {
        let d = xty.len();
        let zero = eta_a.zero_like();
        let one = zero.like_f64(1.0);
        let is_identity =
            (0..d).all(|i| (0..d).all(|j| gram[i * d + j] == if i == j { one.clone() } else { zero.clone() }));
        let fast = match (S::as_f64_slice(&gram), S::as_f64_slice(&xty)) {
            (Some(g), Some(b)) => StepF64::new(g, b, eta_a.to_f64(), eta_w.to_f64()),
            _ => None,
        };
        SingleNeuronJet {
            d,
            fast,
            step_fast: true,
            gram: if is_identity { None } else { Some(gram) },
            xty,
            eta_a,
            eta_w,
            u: vec![Vec::new(); d],
            s: Vec::new(),
            a2: Vec::new(),
            acc2: zero.clone(),
            tmp: zero.clone(),
            acc: zero,
        }
    }
}

impl<S> SingleNeuronJet<S> {
    /// Turn the f64 whole-step kernel ([`JetField::step_coeffs`]) on or off (no effect for
    /// other scalars, which always go order by order).
    pub fn set_step_fast(&mut self, on: bool) {
        self.step_fast = on;
    }
}

impl SingleNeuronJet<f64> {
    /// The f64 field of a model.
    pub fn from_model(m: &SingleNeuron) -> Self {
        SingleNeuronJet::new(m.gram().to_vec(), m.xty().to_vec(), m.eta_a(), m.eta_w())
    }
}

impl SingleNeuronJet<rug::Float> {
    /// The field of a case at `prec` bits: the decimal inputs parsed exactly, G and b accumulated
    /// at `prec` bits.
    pub fn from_case(c: &SingleNeuronCase, prec: u32) -> Self {
        let (gram, xty) = gram_xty_mp(c, prec);
        SingleNeuronJet::new(gram, xty, c.eta_a.to_mp(prec), c.eta_w.to_mp(prec))
    }
}

/// G = XᵀX (row-major d×d) and b = Xᵀy of a case at `prec` bits: the decimal inputs parsed
/// exactly, each product rounded once and accumulated at `prec` bits.
pub fn gram_xty_mp(c: &SingleNeuronCase, prec: u32) -> (Vec<rug::Float>, Vec<rug::Float>) {
    use rug::Float;
    let x: Vec<Vec<Float>> = c.x.iter().map(|r| r.iter().map(|v| v.to_mp(prec)).collect()).collect();
    let y: Vec<Float> = c.y.iter().map(|v| v.to_mp(prec)).collect();
    let d = x.first().map_or(0, Vec::len);
    let mut gram = vec![Float::new(prec); d * d];
    let mut xty = vec![Float::new(prec); d];
    for (row, yi) in x.iter().zip(&y) {
        for j in 0..d {
            xty[j] += Float::with_val(prec, &row[j] * yi);
            for k in 0..d {
                gram[j * d + k] += Float::with_val(prec, &row[j] * &row[k]);
            }
        }
    }
    (gram, xty)
}

impl<S: TaylorScalar> JetField<S> for SingleNeuronJet<S> {
    fn dim(&self) -> usize {
        self.d + 1
    }
    fn reserve(&mut self, order: usize) {
        let zero = self.eta_a.zero_like();
        for v in self.u.iter_mut().chain([&mut self.s, &mut self.a2]) {
            v.resize(order + 1, zero.clone());
        }
        if let Some(f) = &mut self.fast {
            f.reserve(order);
        }
    }
    fn step_coeffs(&mut self, x: &mut [Vec<S>], inv_k: &[f64]) -> bool {
        let Some(fast) = self.fast.as_mut().filter(|_| self.step_fast) else {
            return false;
        };
        fast.set_state_from(x.iter().map(|xi| xi[0].to_f64()));
        let n = inv_k.len();
        let Some((a, w, stride)) = fast.run(inv_k) else {
            return false;
        };
        // Order-major rows of `stride` padded components → the integrator's per-component jets.
        let Some(xa) = S::as_f64_slice_mut(&mut x[0][1..=n]) else {
            return false;
        };
        xa.copy_from_slice(&a[1..=n]);
        let w = &w[stride..(n + 1) * stride];
        for (i, xi) in x[1..].iter_mut().enumerate() {
            let Some(xi) = S::as_f64_slice_mut(&mut xi[1..=n]) else {
                return false;
            };
            for (xk, row) in xi.iter_mut().zip(w.chunks_exact(stride)) {
                *xk = row[i];
            }
        }
        true
    }
    fn stepper_f64(&mut self, order: usize) -> Option<&mut dyn StepperF64> {
        let fast = self.fast.as_mut().filter(|_| self.step_fast)?;
        if !fast.reserved(order) {
            return None;
        }
        Some(fast)
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        let d = self.d;
        let a = &x[0];
        // u_k = G w_k
        for i in 0..d {
            let ui = &mut self.u[i][k];
            match &self.gram {
                None => ui.assign_from(&x[1 + i][k]),
                Some(gram) => {
                    ui.set_zero();
                    ui.add_dot(
                        gram[i * d..(i + 1) * d].iter().zip(x[1..].iter().map(|wl| &wl[k])),
                        &mut self.tmp,
                    );
                }
            }
        }
        // s_k = Σ_j w_jᵀ u_{k−j} and (a²)_k are symmetric in j ↔ k − j (u = Gw with G
        // symmetric): 2Σ_{j<k−j} + the middle term when k is even, half the products.
        let tmp = &mut self.tmp;
        let h = k.div_ceil(2);
        let sk = &mut self.s[k];
        sk.set_zero();
        for (wi, ui) in x[1..].iter().zip(&self.u) {
            sk.add_dot_rev(&wi[..h], &ui[k + 1 - h..=k], tmp);
        }
        let a2k = &mut self.a2[k];
        a2k.set_zero();
        a2k.add_dot_rev(&a[..h], &a[k + 1 - h..=k], tmp);
        // ×2 exactly, without building a constant (no allocation per order in MPFR).
        sk.mul_pow2_assign(1);
        a2k.mul_pow2_assign(1);
        if k % 2 == 0 {
            for (wi, ui) in x[1..].iter().zip(&self.u) {
                sk.mul_add_assign_tmp(&wi[k / 2], &ui[k / 2], tmp);
            }
            a2k.mul_add_assign_tmp(&a[k / 2], &a[k / 2], tmp);
        }
        // ȧ_k = −η_a((a s)_k − bᵀw_k)
        self.acc.set_zero();
        self.acc.add_dot_rev(&a[..=k], &self.s[..=k], &mut self.tmp);
        self.acc2.set_zero();
        for (bi, wi) in self.xty.iter().zip(&x[1..]) {
            self.acc2.mul_add_assign_tmp(bi, &wi[k], &mut self.tmp);
        }
        self.acc.sub_assign_ref(&self.acc2);
        out[0].assign_from(&self.acc);
        out[0].mul_assign_ref(&self.eta_a);
        out[0].neg_assign();
        // (ẇ_i)_k = −η_w((a² u_i)_k − b_i a_k)
        for i in 0..d {
            let o = &mut out[1 + i];
            o.set_zero();
            o.add_dot_rev(&self.a2[..=k], &self.u[i][..=k], &mut self.tmp);
            self.acc.assign_from(&a[k]);
            self.acc.mul_assign_ref(&self.xty[i]);
            o.sub_assign_ref(&self.acc);
            o.mul_assign_ref(&self.eta_w);
            o.neg_assign();
        }
    }
}

/// Largest d with the f64 whole-step kernel; larger d go order by order.
pub const STEP_F64_MAX_D: usize = 16;

/// The f64 whole-step kernel of the single-neuron field: the recurrences of
/// [`SingleNeuronJet::coeff`] for all orders of a step, jets stored order-major (one row of W
/// components per order, d padded with zeros to W = 4, 8, 12 or 16; the zeros stay zero through
/// every recurrence), the component loop innermost over fixed-size arrays (it vectorises), no
/// allocation; compiled for the detected SIMD level through pulp's dispatch, or for AVX-512
/// when the CPU has it ([`avx512_detected`]; pulp 0.22 dispatches AVX-512 only with its
/// `x86-v4` feature, which would switch faer's kernels too). Same quantities,
/// summation order within a coefficient changed (partial sums, newest term last) and products
/// fused (`mul_add`: one rounding, the same result on every CPU), so it agrees with the
/// order-by-order path up to rounding.
#[derive(Debug, Clone)]
enum StepF64 {
    W4(StepKernel<4>),
    W8(StepKernel<8>),
    W12(StepKernel<12>),
    W16(StepKernel<16>),
}

macro_rules! each_kernel {
    ($self:expr, $k:ident => $body:expr) => {
        match $self {
            StepF64::W4($k) => $body,
            StepF64::W8($k) => $body,
            StepF64::W12($k) => $body,
            StepF64::W16($k) => $body,
        }
    };
}

impl StepF64 {
    /// The kernel for d = `xty.len()` ≤ [`STEP_F64_MAX_D`], `None` above.
    fn new(gram: &[f64], xty: &[f64], eta_a: f64, eta_w: f64) -> Option<Self> {
        Some(match xty.len().div_ceil(4).max(1) {
            1 => StepF64::W4(StepKernel::new(gram, xty, eta_a, eta_w)),
            2 => StepF64::W8(StepKernel::new(gram, xty, eta_a, eta_w)),
            3 => StepF64::W12(StepKernel::new(gram, xty, eta_a, eta_w)),
            4 => StepF64::W16(StepKernel::new(gram, xty, eta_a, eta_w)),
            _ => return None,
        })
    }
    fn reserve(&mut self, order: usize) {
        each_kernel!(self, k => k.reserve(order))
    }
    /// Whether the buffers hold a step of order `order`.
    fn reserved(&self, order: usize) -> bool {
        each_kernel!(self, k => k.a.len() > order)
    }
    /// The state (a, w) at the start of the step, before [`Self::run`].
    fn set_state_from(&mut self, x: impl Iterator<Item = f64>) {
        each_kernel!(self, k => k.set_state(x))
    }
    /// All coefficients of one step of order N = `inv_k.len()`: the jets of a (N + 1 values)
    /// and of w (N + 1 rows of `stride` padded components, flat); `None` if the buffers were
    /// not reserved for N.
    fn run(&mut self, inv_k: &[f64]) -> Option<(&[f64], &[f64], usize)> {
        each_kernel!(self, k => k.run(inv_k))
    }
}

impl StepperF64 for StepF64 {
    fn set_state(&mut self, x: &[f64]) {
        self.set_state_from(x.iter().copied());
    }
    fn step(&mut self, inv_k: &[f64]) -> [f64; 3] {
        each_kernel!(self, k => k.step_norms(inv_k))
    }
    fn eval(&self, tau: f64, out: &mut [f64]) {
        each_kernel!(self, k => k.eval(tau, out))
    }
    fn advance(&mut self, tau: f64) {
        each_kernel!(self, k => k.advance(tau))
    }
}

/// [`StepF64`] for rows of W components.
#[derive(Debug, Clone)]
struct StepKernel<const W: usize> {
    d: usize,
    /// Columns of G, padded with zeros to W × W.
    g: Box<[[f64; W]; W]>,
    /// b = Xᵀy, padded.
    b: [f64; W],
    eta_a: f64,
    eta_w: f64,
    /// Order N of the last step (0 before the first).
    n: usize,
    /// Jets: `a[k]`, `w[k]` (k ≤ N; `a[0]`, `w[0]` the state at the start of the step), `u[k]`,
    /// `s[k]`, `a2[k]` (k < N).
    a: Vec<f64>,
    w: Vec<[f64; W]>,
    u: Vec<[f64; W]>,
    s: Vec<f64>,
    a2: Vec<f64>,
    arch: pulp::Arch,
    /// Run [`Self::step`] compiled for AVX-512 ([`avx512_detected`]) instead of pulp's level.
    avx512: bool,
}

impl<const W: usize> StepKernel<W> {
    fn new(gram: &[f64], xty: &[f64], eta_a: f64, eta_w: f64) -> Self {
        let d = xty.len();
        let mut g = Box::new([[0.0; W]; W]);
        let mut b = [0.0; W];
        for l in 0..d {
            for i in 0..d {
                g[l][i] = gram[i * d + l];
            }
            b[l] = xty[l];
        }
        StepKernel {
            d,
            g,
            b,
            eta_a,
            eta_w,
            n: 0,
            a: vec![0.0],
            w: vec![[0.0; W]],
            u: Vec::new(),
            s: Vec::new(),
            a2: Vec::new(),
            arch: pulp::Arch::new(),
            avx512: avx512_detected(),
        }
    }

    fn reserve(&mut self, order: usize) {
        self.a.resize(order + 1, 0.0);
        self.w.resize(order + 1, [0.0; W]);
        self.u.resize(order, [0.0; W]);
        self.s.resize(order, 0.0);
        self.a2.resize(order, 0.0);
    }

    /// a_0 = x[0], w_0 = x[1..] (the padding stays 0).
    fn set_state(&mut self, mut x: impl Iterator<Item = f64>) {
        self.a[0] = x.next().unwrap_or(0.0);
        self.w[0] = [0.0; W];
        for (wi, xi) in self.w[0][..self.d].iter_mut().zip(x) {
            *wi = xi;
        }
    }

    fn run(&mut self, inv_k: &[f64]) -> Option<(&[f64], &[f64], usize)> {
        if self.a.len() < inv_k.len() + 1 {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: `avx512` is set only when the running CPU has every feature
            // `step_avx512` is compiled for (`avx512_detected`).
            unsafe { step_avx512(self, inv_k) };
            self.n = inv_k.len();
            return Some((&self.a, self.w.as_flattened(), W));
        }
        let arch = self.arch;
        arch.dispatch(StepOp::<W>(self, inv_k));
        self.n = inv_k.len();
        Some((&self.a, self.w.as_flattened(), W))
    }

    /// [`Self::run`], then the ∞-norms of orders 0, N − 1 and N (the padding is 0); NaN norms
    /// (the integrator stops) if the buffers were not reserved for N.
    fn step_norms(&mut self, inv_k: &[f64]) -> [f64; 3] {
        let n = inv_k.len();
        if n < 1 || self.run(inv_k).is_none() {
            return [f64::NAN; 3];
        }
        let row = |k: usize| {
            let w = self.w[k].iter().fold(0.0f64, |m, v| m.max(v.abs()));
            w.max(self.a[k].abs())
        };
        [row(0), row(n - 1), row(n)]
    }

    /// (a, w)(τ) from the last step's jets by Horner's rule, acc·τ + x_k (a product then a sum,
    /// as [`super::integrate`]'s generic path).
    fn horner(&self, tau: f64) -> (f64, [f64; W]) {
        let n = self.n;
        let (mut a, mut w) = (self.a[n], self.w[n]);
        for (ak, wk) in self.a[..n].iter().zip(&self.w[..n]).rev() {
            a = a * tau + ak;
            for (x, c) in w.iter_mut().zip(wk) {
                *x = *x * tau + c;
            }
        }
        (a, w)
    }

    fn eval(&self, tau: f64, out: &mut [f64]) {
        let (a, w) = self.horner(tau);
        out[0] = a;
        for (o, wi) in out[1..].iter_mut().zip(&w[..self.d]) {
            *o = *wi;
        }
    }

    fn advance(&mut self, tau: f64) {
        let (a, w) = self.horner(tau);
        self.a[0] = a;
        self.w[0] = w;
    }

    #[inline(always)]
    fn step(&mut self, inv_k: &[f64]) {
        let n = inv_k.len();
        let (eta_a, eta_w) = (self.eta_a, self.eta_w);
        let (g, b) = (&*self.g, &self.b);
        let (w, u) = (&mut self.w[..=n], &mut self.u[..n]);
        let (a, s, a2) = (&mut self.a[..=n], &mut self.s[..n], &mut self.a2[..n]);
        // w_k carried in registers from one order to the next (re-reading it from `w` right
        // after storing it stalls store forwarding).
        let mut wk = w[0];
        for (k, &inv) in inv_k.iter().enumerate() {
            // u_k = G w_k as Σ_l G_{:,l} w_{k,l} over the W padded columns, in four partial
            // sums (l mod 4) to shorten the addition chain.
            let mut ua = [[0.0; W]; 4];
            for (gq, wq) in g.chunks_exact(4).zip(wk.chunks_exact(4)) {
                for ((acc, gl), &wl) in ua.iter_mut().zip(gq).zip(wq) {
                    madd_vs(acc, gl, wl);
                }
            }
            let mut uk = [0.0; W];
            for (i, ui) in uk.iter_mut().enumerate() {
                *ui = (ua[0][i] + ua[1][i]) + (ua[2][i] + ua[3][i]);
            }
            u[k] = uk;
            // s_k = Σ_j w_jᵀ u_{k−j} = 2Σ_{j<k−j} + middle (symmetric, G symmetric), and
            // (a²)_k likewise: the pairs j = 1 … h−1 first, then j = 0 (u_k, a_k: the newest).
            let h = k.div_ceil(2);
            let m = h.saturating_sub(1);
            let mut sv = [0.0; W];
            for (wj, ukj) in w[1..=m].iter().zip(u[k - m..k].iter().rev()) {
                madd_vv(&mut sv, wj, ukj);
            }
            let mut a2k = cauchy_ss(&a[1..=m], &a[k - m..k]);
            if h > 0 {
                madd_vv(&mut sv, &w[0], &uk);
                a2k = a[0].mul_add(a[k], a2k);
            }
            for v in &mut sv {
                *v *= 2.0;
            }
            a2k *= 2.0;
            if k % 2 == 0 {
                madd_vv(&mut sv, &w[k / 2], &u[k / 2]);
                a2k = a[k / 2].mul_add(a[k / 2], a2k);
            }
            let sk = hsum(&sv);
            s[k] = sk;
            a2[k] = a2k;
            // ȧ_k = −η_a((a s)_k − bᵀw_k), a_0 s_k last.
            let mut bw = [0.0; W];
            madd_vv(&mut bw, b, &wk);
            let as_k = a[0].mul_add(sk, cauchy_ss(&a[1..=k], &s[..k]));
            a[k + 1] = (as_k - hsum(&bw)) * (-eta_a * inv);
            // (ẇ)_k = −η_w((a² u)_k − b a_k): j = 1 … k−1 in two partial sums, then j = k
            // (a²_k) and j = 0 (u_k), the newest.
            let mut oe = [0.0; W];
            let mut oo = [0.0; W];
            let k1 = k.max(1);
            let mut cs = a2[1..k1].chunks_exact(2);
            let mut us = u[1..k1].rchunks_exact(2);
            for (c, v) in (&mut cs).zip(&mut us) {
                madd_vs(&mut oo, &v[1], c[0]);
                madd_vs(&mut oe, &v[0], c[1]);
            }
            if let ([c], [v]) = (cs.remainder(), us.remainder()) {
                madd_vs(&mut oo, v, *c);
            }
            if k > 0 {
                madd_vs(&mut oe, &u[0], a2k);
            }
            madd_vs(&mut oo, &uk, a2[0]);
            let (ak, c_w) = (a[k], -eta_w * inv);
            for (i, wi) in wk.iter_mut().enumerate() {
                *wi = ((oe[i] + oo[i]) - b[i] * ak) * c_w;
            }
            w[k + 1] = wk;
        }
    }
}

/// Σ_j x_j y_{len−1−j} (x and y of equal length) in two partial sums (even / odd j).
#[inline(always)]
fn cauchy_ss(x: &[f64], y: &[f64]) -> f64 {
    let (mut e, mut o) = (0.0, 0.0);
    let mut xs = x.chunks_exact(2);
    let mut ys = y.rchunks_exact(2);
    for (xc, yc) in (&mut xs).zip(&mut ys) {
        e = xc[0].mul_add(yc[1], e);
        o = xc[1].mul_add(yc[0], o);
    }
    if let ([xr], [yr]) = (xs.remainder(), ys.remainder()) {
        e = xr.mul_add(*yr, e);
    }
    e + o
}

/// acc += x ⊙ y.
#[inline(always)]
fn madd_vv<const W: usize>(acc: &mut [f64; W], x: &[f64; W], y: &[f64; W]) {
    for ((a, xi), yi) in acc.iter_mut().zip(x).zip(y) {
        *a = xi.mul_add(*yi, *a);
    }
}

/// acc += x·c.
#[inline(always)]
fn madd_vs<const W: usize>(acc: &mut [f64; W], x: &[f64; W], c: f64) {
    for (a, xi) in acc.iter_mut().zip(x) {
        *a = xi.mul_add(c, *a);
    }
}

/// Σ of all W entries: four partial sums (i mod 4), then those pairwise.
#[inline(always)]
fn hsum<const W: usize>(v: &[f64; W]) -> f64 {
    let mut t = [0.0; 4];
    for q in v.chunks_exact(4) {
        for (ti, qi) in t.iter_mut().zip(q) {
            *ti += qi;
        }
    }
    (t[0] + t[1]) + (t[2] + t[3])
}

/// Whether the CPU runs [`step_avx512`]: AVX-512 F/VL/DQ with AVX2 and FMA. The lanes are the
/// same as on the AVX2 path (the same operations in the same order, element by element), so
/// the results are bit-identical; on the anchor (d = 10, 12 lanes: one 512-bit and one 256-bit
/// register per row instead of three 256-bit ones) a step takes ≈ 8 % less time
/// (`benches/taylor.rs`).
fn avx512_detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`StepKernel::step`] compiled for AVX-512 (its fixed-width loops widen to 512-bit vectors).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
fn step_avx512<const W: usize>(k: &mut StepKernel<W>, inv_k: &[f64]) {
    k.step(inv_k);
}

/// One [`StepKernel::step`] as a pulp operation: `with_simd` is inlined into pulp's
/// `#[target_feature]` entry point, so the fixed-width loops compile for the detected level.
struct StepOp<'a, const W: usize>(&'a mut StepKernel<W>, &'a [f64]);

impl<const W: usize> pulp::WithSimd for StepOp<'_, W> {
    type Output = ();
    #[inline(always)]
    fn with_simd<Sd: pulp::Simd>(self, _simd: Sd) {
        self.0.step(self.1);
    }
}
