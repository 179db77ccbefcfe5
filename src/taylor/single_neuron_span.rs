//! The single-neuron flow restricted to its invariant subspace: an exact reduction that makes the
//! f64 Taylor solve of problem L ≈ 10× cheaper.
//!
//! **Equation** (P1 §3; `docs/theory.md` §1.1): ȧ = −η_a(a·wᵀGw − bᵀw), ẇ = −η_w(a²·Gw − a·b) with
//! G = XᵀX, b = Xᵀy. ẇ is a combination of Gw and b, so w(t) stays in the smallest G-invariant
//! subspace V that contains w0 and b (the block Krylov space of G from {w0, b}). With an
//! orthonormal basis Q (d×r) of V, w = Qz and, writing G_r = QᵀGQ and c = Qᵀb,
//!
//! ż = −η_w(a²·G_r z − a·c),  ȧ = −η_a(a·zᵀG_r z − cᵀz),
//!
//! the same cubic flow in 1 + r unknowns instead of 1 + d (r = 2 for whitened data, where
//! G = I; r ≤ d always). Taylor coefficients as in [`super::single_neuron`], with the Cauchy
//! products fused so that their independent accumulations overlap.
//!
//! **Numerical subspace.** V is built by block Gram–Schmidt (twice, "twice is enough") on
//! {w0, b, G q₁, G q₂, …}. A new direction is dropped when its residual is below
//! τ = d·u·‖G‖_F·‖v‖ (u = 2⁻⁵³), i.e. below the rounding error of the f64 product G·v itself
//! (γ_d‖G‖‖v‖). The reduced flow is then the exact flow of data G′, b′ with ‖G′ − G‖, ‖b′ − b‖
//! at the level of the rounding of G and b in f64 (G′ = G − Σ ρⱼqⱼᵀ over the dropped residuals
//! ρⱼ): the same size as the perturbation every f64 evaluation of the full right-hand side makes,
//! so no accuracy is given up against [`super::single_neuron::SingleNeuronJet`]. For a
//! non-whitened generic X nothing is dropped and r = d.
//!
//! [`SpanReduction`]/[`SpanJet`] are the tuned f64 version (r = 2 whole-step fast path);
//! [`SpanReductionAt`] is the same reduction at any precision (f64 or MPFR), with the threshold
//! d·2^{−p}‖G‖ of the working precision: it keeps every direction of data that is whitened only
//! to 1e-16 (problem L's decimal X), so at p bits it reduces only data with XᵀX = I exactly
//! (X = I, ±½ Hadamard, or problem L written as X = I, y = Xᵀy).

use super::single_neuron::{SingleNeuronJet, gram_xty_mp};
use super::{JetField, TaylorError, TaylorOptions, TaylorScalar, TaylorTrajectory, integrate};
use crate::case::SingleNeuronCase;
use crate::models::single_neuron::SingleNeuron;

/// The reduced field: jets of (a, z) with z ∈ R^r.
#[derive(Debug, Clone)]
pub struct SpanJet {
    r: usize,
    /// G_r = QᵀGQ, row-major r×r.
    gr: Vec<f64>,
    /// c = Qᵀb.
    c: Vec<f64>,
    eta_a: f64,
    eta_w: f64,
    /// Jets of u = G_r z, s = zᵀu and a², kept between orders.
    u: Vec<Vec<f64>>,
    s: Vec<f64>,
    a2: Vec<f64>,
    /// Use [`SpanJet::step_coeffs_2`] when r = 2 (default); off, the integrator goes order by
    /// order through [`JetField::coeff`] (kept for tests and A/B benches).
    step_fast: bool,
}

/// The subspace V and the reduced field of one initial state.
#[derive(Debug, Clone)]
pub struct SpanReduction {
    d: usize,
    /// Basis vectors q₁ … q_r (each of length d).
    q: Vec<Vec<f64>>,
    /// The reduced field.
    pub field: SpanJet,
    /// Reduced initial state (a0, Qᵀw0).
    pub x0: Vec<f64>,
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Orthogonalise `v` against `q` twice; push v/‖v‖ if its residual exceeds `tau_rel·‖v₀‖`.
fn push_direction(q: &mut Vec<Vec<f64>>, mut v: Vec<f64>, tau_rel: f64) {
    let n0 = norm(&v);
    if n0 == 0.0 || !n0.is_finite() {
        return;
    }
    for _ in 0..2 {
        for qi in q.iter() {
            let p = dot(qi, &v);
            v.iter_mut().zip(qi).for_each(|(vj, qj)| *vj -= p * qj);
        }
    }
    let nr = norm(&v);
    if nr > tau_rel * n0 {
        v.iter_mut().for_each(|vj| *vj /= nr);
        q.push(v);
    }
}

impl SpanReduction {
    /// Build V from the model's G, b and the initial state θ0 = (a0, w0).
    ///
    /// # Errors
    /// [`TaylorError::Shape`] when θ0 does not have length 1 + d.
    pub fn new(m: &SingleNeuron, theta0: &[f64]) -> Result<Self, TaylorError> {
        let d = m.d();
        if theta0.len() != d + 1 {
            return Err(TaylorError::Shape {
                expected: d + 1,
                found: theta0.len(),
            });
        }
        let g = m.gram();
        let b = m.xty();
        let gnorm = norm(g);
        let matvec = |v: &[f64]| -> Vec<f64> { (0..d).map(|i| dot(&g[i * d..(i + 1) * d], v)).collect() };
        // Residuals relative to ‖G‖_F‖v‖ for the Krylov directions, to ‖v‖ for w0 and b (a b
        // within d·u‖b‖ of span{w0} is span{w0} up to the rounding of b itself).
        let tau = d as f64 * crate::num::tol::F64_UNIT_ROUNDOFF;
        let mut q: Vec<Vec<f64>> = Vec::with_capacity(d);
        push_direction(&mut q, theta0[1..].to_vec(), tau);
        push_direction(&mut q, b.to_vec(), tau);
        let mut next = 0;
        while next < q.len() && q.len() < d {
            let gv = matvec(&q[next]);
            // Relative to ‖G‖_F (‖q‖ = 1), not to ‖Gq‖: a tiny Gq is a dropped direction too.
            let ngv = norm(&gv);
            if ngv > 0.0 {
                push_direction(&mut q, gv, tau * gnorm / ngv);
            }
            next += 1;
        }
        let r = q.len();
        let gq: Vec<Vec<f64>> = q.iter().map(|qi| matvec(qi)).collect();
        let mut gr = vec![0.0; r * r];
        for i in 0..r {
            for j in 0..r {
                // Symmetrise: G_r is symmetric in exact arithmetic.
                gr[i * r + j] = 0.5 * (dot(&q[i], &gq[j]) + dot(&q[j], &gq[i]));
            }
        }
        let c: Vec<f64> = q.iter().map(|qi| dot(qi, b)).collect();
        let mut x0 = vec![theta0[0]];
        x0.extend(q.iter().map(|qi| dot(qi, &theta0[1..])));
        Ok(SpanReduction {
            d,
            q,
            field: SpanJet {
                r,
                gr,
                c,
                eta_a: m.eta_a(),
                eta_w: m.eta_w(),
                u: vec![Vec::new(); r],
                s: Vec::new(),
                a2: Vec::new(),
                step_fast: true,
            },
            x0,
        })
    }

    /// Turn the whole-step fast path ([`JetField::step_coeffs`]) on or off.
    pub fn set_step_fast(&mut self, on: bool) {
        self.field.step_fast = on;
    }

    /// Dimension r of V.
    pub fn rank(&self) -> usize {
        self.q.len()
    }

    /// θ = (a, Qz) from a reduced state (a, z).
    pub fn expand(&self, x: &[f64]) -> Vec<f64> {
        let mut th = vec![0.0; self.d + 1];
        th[0] = x[0];
        for (zi, qi) in x[1..].iter().zip(&self.q) {
            th[1..].iter_mut().zip(qi).for_each(|(t, q)| *t += zi * q);
        }
        th
    }
}

/// One f64 Taylor solve of the single-neuron flow through the reduced field: states in the full
/// coordinates θ = (a, w) at `times`.
///
/// # Errors
/// [`TaylorError`] as [`integrate`], and for θ0 of the wrong length.
pub fn solve(
    m: &SingleNeuron,
    theta0: &[f64],
    times: &[f64],
    opts: &TaylorOptions,
) -> Result<TaylorTrajectory<f64>, TaylorError> {
    let mut red = SpanReduction::new(m, theta0)?;
    let x0 = std::mem::take(&mut red.x0);
    let tr = integrate(&mut red.field, &x0, times, opts)?;
    Ok(TaylorTrajectory {
        states: tr.states.iter().map(|x| red.expand(x)).collect(),
        stats: tr.stats,
    })
}

impl JetField<f64> for SpanJet {
    fn dim(&self) -> usize {
        self.r + 1
    }
    fn reserve(&mut self, order: usize) {
        for v in self.u.iter_mut().chain([&mut self.s, &mut self.a2]) {
            v.resize(order + 1, 0.0);
        }
    }
    fn step_coeffs(&mut self, x: &mut [Vec<f64>], inv_k: &[f64]) -> bool {
        if self.r != 2 || !self.step_fast {
            return false;
        }
        self.step_coeffs_2(x, inv_k);
        true
    }
    fn coeff(&mut self, x: &[Vec<f64>], k: usize, out: &mut [f64]) {
        if self.r == 2 {
            return self.coeff_fused::<2>(x, k, out);
        }
        let r = self.r;
        let a = &x[0][..=k];
        let z = &x[1..];
        // u_k = G_r z_k
        for i in 0..r {
            let row = &self.gr[i * r..(i + 1) * r];
            self.u[i][k] = row.iter().zip(z).map(|(g, zl)| g * zl[k]).sum();
        }
        // s_k = Σ_i Σ_j z_{i,j} u_{i,k−j};  (a²)_k = 2Σ_{j<k−j} a_j a_{k−j} + [k even] a_{k/2}²
        self.s[k] = z.iter().zip(&self.u).map(|(zi, ui)| cauchy(&zi[..=k], &ui[..=k])).sum();
        let h = k.div_ceil(2);
        let mut a2k = 2.0 * cauchy_half(a, h);
        if k % 2 == 0 {
            a2k += a[k / 2] * a[k / 2];
        }
        self.a2[k] = a2k;
        // ȧ_k = −η_a((a s)_k − cᵀz_k)
        let (s, a2) = (&self.s[..=k], &self.a2[..=k]);
        let cz: f64 = self.c.iter().zip(z).map(|(ci, zi)| ci * zi[k]).sum();
        out[0] = -self.eta_a * (cauchy(a, s) - cz);
        // ż_{i,k} = −η_w((a² u_i)_k − c_i a_k)
        for (i, o) in out[1..=r].iter_mut().enumerate() {
            *o = -self.eta_w * (cauchy(a2, &self.u[i][..=k]) - self.c[i] * a[k]);
        }
    }
}

impl SpanJet {
    /// All coefficients of one step for r = 2, with the newest coefficient's contribution
    /// isolated. For k ≥ 1 every product that involves the newest (a_k, z_k) pairs it with an
    /// order-0 factor, so, with u₀ = G_r z₀, s₀ = z₀ᵀu₀ and G_r symmetric,
    ///
    /// s_k = O_s + 2u₀ᵀz_k, (a²)_k = O_{a²} + 2a₀a_k, and
    /// F_k = M·(a_k, z_k) + (−η_a(O_{as} + a₀O_s), −η_w(O_{p,i} + u₀ᵢO_{a²})),
    ///
    /// with M = [[−η_a s₀, −η_a(2a₀u₀ₗ − c_l)], [−η_w(2a₀u₀ᵢ − c_i), −η_w a₀² G_il]] fixed for
    /// the step, and O_s = Σᵢ Σ_{0<j<k} z_{i,j}u_{i,k−j}, O_{as} = Σ_{0<j<k} a_j s_{k−j},
    /// O_{p,i} = Σ_{0<j<k} (a²)_j u_{i,k−j}, O_{a²} = (a²)_k − 2a₀a_k — sums over coefficients
    /// known one order earlier. The serial dependence from one order to the next is then one
    /// 3-term product with M (scaled by 1/(k+1)) instead of the chain
    /// z_k → u_k → s_k → (a s)_k → F_k of [`Self::coeff_fused`], and the O-sums of order k + 1
    /// overlap with it. Same coefficients up to rounding (tested against [`JetField::coeff`]).
    fn step_coeffs_2(&mut self, x: &mut [Vec<f64>], inv_k: &[f64]) {
        let order = inv_k.len();
        let (ea, ew) = (-self.eta_a, -self.eta_w);
        let g = [self.gr[0], self.gr[1], self.gr[2], self.gr[3]];
        let c = [self.c[0], self.c[1]];
        let (xa, xz) = x.split_at_mut(1);
        let a = &mut xa[0];
        let (z0v, z1v) = xz.split_at_mut(1);
        let (z0, z1) = (&mut z0v[0], &mut z1v[0]);
        let [u0v, u1v] = &mut self.u[..] else {
            unreachable!("r = 2")
        };
        let (s, a2) = (&mut self.s, &mut self.a2);
        // Order 0.
        let a0 = a[0];
        let u00 = g[0] * z0[0] + g[1] * z1[0];
        let u10 = g[2] * z0[0] + g[3] * z1[0];
        u0v[0] = u00;
        u1v[0] = u10;
        let s0 = z0[0] * u00 + z1[0] * u10;
        s[0] = s0;
        let a20 = a0 * a0;
        a2[0] = a20;
        a[1] = ea * (a0 * s0 - (c[0] * z0[0] + c[1] * z1[0]));
        z0[1] = ew * (a20 * u00 - c[0] * a0);
        z1[1] = ew * (a20 * u10 - c[1] * a0);
        // M, fixed for the step.
        let m = [
            [ea * s0, ea * (2.0 * a0 * u00 - c[0]), ea * (2.0 * a0 * u10 - c[1])],
            [ew * (2.0 * a0 * u00 - c[0]), ew * a20 * g[0], ew * a20 * g[1]],
            [ew * (2.0 * a0 * u10 - c[1]), ew * a20 * g[2], ew * a20 * g[3]],
        ];
        for k in 1..order {
            // Five independent accumulators (no add waits on another); the slices have the
            // loop's length so the indexing needs no bounds checks.
            let (mut os0, mut os1, mut oas, mut op0, mut op1) = (0.0, 0.0, 0.0, 0.0, 0.0);
            {
                let (zj0, zj1, aj, a2j) = (&z0[1..k], &z1[1..k], &a[1..k], &a2[1..k]);
                let (ul0, ul1, sl) = (&u0v[1..k], &u1v[1..k], &s[1..k]);
                let n = k - 1;
                for j in 0..n {
                    let l = n - 1 - j;
                    os0 += zj0[j] * ul0[l];
                    os1 += zj1[j] * ul1[l];
                    oas += aj[j] * sl[l];
                    op0 += a2j[j] * ul0[l];
                    op1 += a2j[j] * ul1[l];
                }
            }
            let os = os0 + os1;
            let mut oa2 = 0.0;
            for j in 1..k.div_ceil(2) {
                oa2 += a[j] * a[k - j];
            }
            oa2 *= 2.0;
            if k % 2 == 0 {
                oa2 += a[k / 2] * a[k / 2];
            }
            let inv = inv_k[k];
            let (ak, zk0, zk1) = (a[k], z0[k], z1[k]);
            let old = [ea * (oas + a0 * os), ew * (op0 + u00 * oa2), ew * (op1 + u10 * oa2)];
            a[k + 1] = inv * (old[0] + (m[0][0] * ak + (m[0][1] * zk0 + m[0][2] * zk1)));
            z0[k + 1] = inv * (old[1] + (m[1][0] * ak + (m[1][1] * zk0 + m[1][2] * zk1)));
            z1[k + 1] = inv * (old[2] + (m[2][0] * ak + (m[2][1] * zk0 + m[2][2] * zk1)));
            // The intermediate jets of order k, for the O-sums of later orders.
            u0v[k] = g[0] * zk0 + g[1] * zk1;
            u1v[k] = g[2] * zk0 + g[3] * zk1;
            s[k] = os + 2.0 * (u00 * zk0 + u10 * zk1);
            a2[k] = oa2 + 2.0 * a0 * ak;
        }
    }

    /// The k-th coefficients for a fixed r = R. The recurrence is serial in k, so the latency of
    /// one order is the cost: one pass over 0 < j < k accumulates, from coefficients known before
    /// this order, s_k, the R products (a² u_i)_k, (a s)_k and (a²)_k as independent sums; the
    /// terms with the newest coefficients (j = 0 and j = k: z_k, u_k, a_k, (a²)_k, s_k) are added
    /// last, so that the out-of-order core overlaps the long sums with the previous order.
    #[inline(always)]
    fn coeff_fused<const R: usize>(&mut self, x: &[Vec<f64>], k: usize, out: &mut [f64]) {
        let a = &x[0][..=k];
        let z: [&[f64]; R] = std::array::from_fn(|i| &x[1 + i][..=k]);
        let mut sk = [0.0f64; R];
        let mut p = [0.0f64; R];
        let mut as_ = 0.0;
        let mut a2k = 0.0;
        {
            let u: [&[f64]; R] = std::array::from_fn(|i| &self.u[i][..k]);
            let (a2, s) = (&self.a2[..k], &self.s[..k]);
            for j in 1..k {
                let m = k - j;
                for i in 0..R {
                    sk[i] += z[i][j] * u[i][m];
                    p[i] += a2[j] * u[i][m];
                }
                as_ += a[j] * s[m];
            }
            for j in 1..k.div_ceil(2) {
                a2k += a[j] * a[k - j];
            }
        }
        // (a²)_k = 2Σ_{j<k−j} a_j a_{k−j} + [k even] a_{k/2}²
        if k > 0 {
            a2k += a[0] * a[k];
            a2k *= 2.0;
        }
        if k % 2 == 0 {
            a2k += a[k / 2] * a[k / 2];
        }
        self.a2[k] = a2k;
        // u_k = G_r z_k
        for i in 0..R {
            let mut v = 0.0;
            for (l, zl) in z.iter().enumerate() {
                v += self.gr[i * R + l] * zl[k];
            }
            self.u[i][k] = v;
        }
        // The j = 0 and j = k terms (one term when k = 0).
        let mut s_new = 0.0;
        for i in 0..R {
            let (u0, uk) = (self.u[i][0], self.u[i][k]);
            let mut si = sk[i] + z[i][0] * uk;
            let mut pi = p[i] + self.a2[0] * uk;
            if k > 0 {
                si += z[i][k] * u0;
                pi += a2k * u0;
            }
            s_new += si;
            p[i] = pi;
        }
        self.s[k] = s_new;
        as_ += a[0] * s_new;
        if k > 0 {
            as_ += a[k] * self.s[0];
        }
        let mut cz = 0.0;
        for (ci, zi) in self.c.iter().zip(&z) {
            cz += ci * zi[k];
        }
        out[0] = -self.eta_a * (as_ - cz);
        for i in 0..R {
            out[1 + i] = -self.eta_w * (p[i] - self.c[i] * a[k]);
        }
    }
}

/// Σ_j x_j y_{n−1−j} for slices of equal length n, with four independent accumulators (the
/// additions of one Cauchy product do not wait on each other).
#[inline(always)]
fn cauchy(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    let y = &y[..n];
    let mut acc = [0.0f64; 4];
    let mut j = 0;
    while j + 4 <= n {
        acc[0] += x[j] * y[n - 1 - j];
        acc[1] += x[j + 1] * y[n - 2 - j];
        acc[2] += x[j + 2] * y[n - 3 - j];
        acc[3] += x[j + 3] * y[n - 4 - j];
        j += 4;
    }
    while j < n {
        acc[0] += x[j] * y[n - 1 - j];
        j += 1;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Σ_{j<h} a_j a_{k−j} for a of length k + 1 (half of the symmetric Cauchy square).
#[inline(always)]
fn cauchy_half(a: &[f64], h: usize) -> f64 {
    let k = a.len() - 1;
    let mut acc = [0.0f64; 2];
    let mut j = 0;
    while j + 2 <= h {
        acc[0] += a[j] * a[k - j];
        acc[1] += a[j + 1] * a[k - 1 - j];
        j += 2;
    }
    if j < h {
        acc[0] += a[j] * a[k - j];
    }
    acc[0] + acc[1]
}

/// The span reduction at any working precision (f64, or MPFR at p bits): the same subspace V
/// and reduced flow as [`SpanReduction`], built at the precision of the scalars, with the
/// reduced field evaluated by the generic [`SingleNeuronJet`] — the reduced flow *is* the
/// single-neuron flow of data (G_r, c) in 1 + r unknowns, so its jets are the same recurrences
/// (in place, no temporaries per order, symmetric Cauchy halves). Per order k that is
/// r² + 1.5r(k+1) + 1.5(k+1) multiply-adds instead of d² + 1.5d(k+1) + 1.5(k+1): for r = 2,
/// d = 10 about 4.5k instead of 16.5k.
///
/// **Drop threshold at p bits**: a direction is dropped when its residual after Gram–Schmidt
/// (twice) is below d·2^{−p}·‖v₀‖ for w0 and b, and below d·2^{−p}·‖G‖_F for the Krylov
/// directions G q — the rounding level of G·q at p bits, as in the f64 reduction with u = 2^{−p}.
/// Only data that is orthonormal *at the working precision* reduces: for G = XᵀX = I exactly
/// (X = I, ±½ Hadamard data, or a problem given through G and b) the rank is ≤ 2; problem L's
/// decimal X is orthonormal only to ≈ 1e-16, so at 334 bits every direction is kept (r = d) and
/// nothing is gained — run it as X = I, y = Xᵀy (its flow depends on the data only through G and
/// b) to get the reduction, and say so.
#[derive(Debug, Clone)]
pub struct SpanReductionAt<S> {
    d: usize,
    /// Basis vectors q₁ … q_r (each of length d) at the working precision.
    q: Vec<Vec<S>>,
    /// The reduced field: the single-neuron field of data (G_r, c).
    pub field: SingleNeuronJet<S>,
    /// Reduced initial state (a0, Qᵀw0).
    pub x0: Vec<S>,
}

/// s = Σ x_i y_i at the precision of `s` (tmp: scratch).
fn dot_into<S: TaylorScalar>(x: &[S], y: &[S], s: &mut S, tmp: &mut S) {
    s.set_zero();
    for (a, b) in x.iter().zip(y) {
        s.mul_add_assign_tmp(a, b, tmp);
    }
}

/// Orthogonalise `v` against `q` twice; push v/‖v‖ if ‖residual‖·2^p > `factor`·‖v₀‖.
fn push_direction_at<S: TaylorScalar + PartialOrd>(q: &mut Vec<Vec<S>>, mut v: Vec<S>, factor: f64) {
    let zero = v[0].zero_like();
    let (mut n0, mut p, mut tmp) = (zero.clone(), zero.clone(), zero.clone());
    dot_into(&v, &v, &mut n0, &mut tmp);
    n0.sqrt_assign();
    let n0f = n0.to_f64();
    if n0f.is_nan() || n0f <= 0.0 || !n0f.is_finite() {
        return;
    }
    for _ in 0..2 {
        for qi in q.iter() {
            dot_into(qi, &v, &mut p, &mut tmp);
            p.neg_assign();
            for (vj, qj) in v.iter_mut().zip(qi) {
                vj.mul_add_assign_tmp(&p, qj, &mut tmp);
            }
        }
    }
    let mut nr = zero.clone();
    dot_into(&v, &v, &mut nr, &mut tmp);
    nr.sqrt_assign();
    // Compare ‖r‖·2^p with factor·‖v₀‖ at the working precision (2^{−p} underflows f64 for
    // p > 1074).
    let mut lhs = nr.clone();
    lhs.mul_pow2_assign(nr.prec_bits() as i32);
    let mut rhs = n0.clone();
    rhs.mul_assign_ref(&zero.like_f64(factor));
    if lhs > rhs {
        for vj in v.iter_mut() {
            vj.div_assign_ref(&nr);
        }
        q.push(v);
    }
}

impl<S: TaylorScalar + PartialOrd> SpanReductionAt<S> {
    /// Build V and the reduced field from G (row-major d×d), b, the rates and θ0 = (a0, w0), all
    /// at the working precision.
    ///
    /// # Errors
    /// [`TaylorError::Shape`] when θ0 does not have length 1 + d or G is not d×d.
    pub fn new(gram: &[S], xty: &[S], eta_a: S, eta_w: S, theta0: &[S]) -> Result<Self, TaylorError> {
        let d = xty.len();
        if theta0.len() != d + 1 {
            return Err(TaylorError::Shape {
                expected: d + 1,
                found: theta0.len(),
            });
        }
        if gram.len() != d * d {
            return Err(TaylorError::Shape {
                expected: d * d,
                found: gram.len(),
            });
        }
        let zero = eta_a.zero_like();
        let mut tmp = zero.clone();
        let matvec = |v: &[S], tmp: &mut S| -> Vec<S> {
            (0..d)
                .map(|i| {
                    let mut s = zero.clone();
                    dot_into(&gram[i * d..(i + 1) * d], v, &mut s, tmp);
                    s
                })
                .collect()
        };
        let fnorm = |v: &[S], tmp: &mut S| -> f64 {
            let mut s = zero.clone();
            dot_into(v, v, &mut s, tmp);
            s.to_f64().sqrt()
        };
        let gnorm = fnorm(gram, &mut tmp);
        let df = d as f64;
        let mut q: Vec<Vec<S>> = Vec::with_capacity(d);
        push_direction_at(&mut q, theta0[1..].to_vec(), df);
        push_direction_at(&mut q, xty.to_vec(), df);
        let mut next = 0;
        while next < q.len() && q.len() < d {
            let gv = matvec(&q[next], &mut tmp);
            // Relative to ‖G‖_F (‖q‖ = 1), not to ‖Gq‖: a tiny Gq is a dropped direction too.
            let ngv = fnorm(&gv, &mut tmp);
            if ngv > 0.0 {
                push_direction_at(&mut q, gv, df * gnorm / ngv);
            }
            next += 1;
        }
        let r = q.len();
        let gq: Vec<Vec<S>> = q.iter().map(|qi| matvec(qi, &mut tmp)).collect();
        let mut gr = vec![zero.clone(); r * r];
        let (mut x1, mut x2) = (zero.clone(), zero.clone());
        let half = zero.like_f64(0.5);
        for i in 0..r {
            for j in 0..r {
                // Symmetrise: G_r is symmetric in exact arithmetic.
                dot_into(&q[i], &gq[j], &mut x1, &mut tmp);
                dot_into(&q[j], &gq[i], &mut x2, &mut tmp);
                x1.add_assign_ref(&x2);
                x1.mul_assign_ref(&half);
                gr[i * r + j].assign_from(&x1);
            }
        }
        let proj = |v: &[S], tmp: &mut S| -> Vec<S> {
            q.iter()
                .map(|qi| {
                    let mut s = zero.clone();
                    dot_into(qi, v, &mut s, tmp);
                    s
                })
                .collect()
        };
        let c = proj(xty, &mut tmp);
        let mut x0 = vec![theta0[0].clone()];
        x0.extend(proj(&theta0[1..], &mut tmp));
        Ok(SpanReductionAt {
            d,
            field: SingleNeuronJet::new(gr, c, eta_a, eta_w),
            q,
            x0,
        })
    }

    /// Dimension r of V.
    pub fn rank(&self) -> usize {
        self.q.len()
    }

    /// Dimension d of the full weight vector.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// θ = (a, Qz) from a reduced state (a, z), at the working precision.
    pub fn expand(&self, x: &[S]) -> Vec<S> {
        let zero = x[0].zero_like();
        let mut tmp = zero.clone();
        let mut th = vec![zero; self.d + 1];
        th[0].assign_from(&x[0]);
        for (zi, qi) in x[1..].iter().zip(&self.q) {
            for (t, qj) in th[1..].iter_mut().zip(qi) {
                t.mul_add_assign_tmp(zi, qj, &mut tmp);
            }
        }
        th
    }

    /// Integrate the reduced flow and return the states expanded to θ = (a, w).
    ///
    /// # Errors
    /// [`TaylorError`] as [`integrate`].
    pub fn solve(&mut self, times: &[S], opts: &TaylorOptions) -> Result<TaylorTrajectory<S>, TaylorError> {
        let x0 = self.x0.clone();
        let tr = integrate(&mut self.field, &x0, times, opts)?;
        Ok(TaylorTrajectory {
            states: tr.states.iter().map(|x| self.expand(x)).collect(),
            stats: tr.stats,
        })
    }
}

impl SpanReductionAt<rug::Float> {
    /// The reduction of a case at `prec` bits: G and b as [`SingleNeuronJet::from_case`] builds
    /// them (decimal inputs parsed exactly, accumulated at `prec` bits), θ0 = (a0, w0) parsed
    /// exactly.
    ///
    /// # Errors
    /// [`TaylorError::Shape`] when w0 and X disagree in d.
    pub fn from_case(c: &SingleNeuronCase, prec: u32) -> Result<Self, TaylorError> {
        let (gram, xty) = gram_xty_mp(c, prec);
        let mut th0 = vec![c.a0.to_mp(prec)];
        th0.extend(c.w0.iter().map(|v| v.to_mp(prec)));
        Self::new(&gram, &xty, c.eta_a.to_mp(prec), c.eta_w.to_mp(prec), &th0)
    }
}

/// One MPFR Taylor solve of a single-neuron case at `prec` bits through the span reduction
/// (states expanded to θ = (a, w) at `prec` bits); also returns the rank r of the span. The
/// reduced flow is the full flow for any r (for r = d only the basis changes), so this is valid
/// for every case; it pays off when r < d.
///
/// # Errors
/// [`TaylorError`] as [`integrate`], and for inconsistent shapes.
pub fn solve_mp(
    c: &SingleNeuronCase,
    prec: u32,
    opts: &TaylorOptions,
) -> Result<(TaylorTrajectory<rug::Float>, usize), TaylorError> {
    let mut red = SpanReductionAt::from_case(c, prec)?;
    let times: Vec<rug::Float> = c.times.iter().map(|t| t.to_mp(prec)).collect();
    let tr = red.solve(&times, opts)?;
    Ok((tr, red.rank()))
}
