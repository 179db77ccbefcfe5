//! The single-neuron gradient flow as a [`JetField`] (P1 §3; `theory.md` §1.1).
//!
//! θ = (a, w), L = ½‖X a w − y‖², G = XᵀX, b = Xᵀy: ∇_a L = a·wᵀGw − wᵀb, ∇_w L = a²·Gw − a·b,
//! so ȧ = −η_a(a·s − wᵀb), ẇ = −η_w(a²·u − a·b) with u = Gw, s = wᵀu — a cubic polynomial in θ,
//! for any X (not only whitened). Taylor coefficients (k-th; Cauchy products of jets):
//! u_k = G w_k, s_k = Σ_i Σ_j w_{i,j} u_{i,k−j}, (a²)_k = Σ_j a_j a_{k−j},
//! (ȧ)_k = −η_a(Σ_j a_j s_{k−j} − bᵀw_k), (ẇ_i)_k = −η_w(Σ_j (a²)_j u_{i,k−j} − b_i a_k).
//! Cost per order k: d² + 1.5d(k+1) + 1.5(k+1) multiply-adds (s and a² are symmetric Cauchy
//! products, half the terms; vs 3d(k+1) + d² through β = a w).

use super::{JetField, TaylorScalar};
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
        SingleNeuronJet {
            d,
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
                    for (gil, wl) in gram[i * d..(i + 1) * d].iter().zip(&x[1..]) {
                        ui.mul_add_assign_tmp(gil, &wl[k], &mut self.tmp);
                    }
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
            for j in 0..h {
                sk.mul_add_assign_tmp(&wi[j], &ui[k - j], tmp);
            }
        }
        let a2k = &mut self.a2[k];
        a2k.set_zero();
        for j in 0..h {
            a2k.mul_add_assign_tmp(&a[j], &a[k - j], tmp);
        }
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
        for (aj, skj) in a[..=k].iter().zip(self.s[..=k].iter().rev()) {
            self.acc.mul_add_assign_tmp(aj, skj, &mut self.tmp);
        }
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
            for (a2j, ukj) in self.a2[..=k].iter().zip(self.u[i][..=k].iter().rev()) {
                o.mul_add_assign_tmp(a2j, ukj, &mut self.tmp);
            }
            self.acc.assign_from(&a[k]);
            self.acc.mul_assign_ref(&self.xty[i]);
            o.sub_assign_ref(&self.acc);
            o.mul_assign_ref(&self.eta_w);
            o.neg_assign();
        }
    }
}
