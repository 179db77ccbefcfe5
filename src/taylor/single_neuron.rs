//! The single-neuron gradient flow as a [`JetField`] (P1 §3; `theory.md` §1.1).
//!
//! θ = (a, w), L = ½‖X a w − y‖², G = XᵀX, b = Xᵀy, β = a w, g = Gβ − b:
//! ȧ = −η_a wᵀg, ẇ = −η_w a g — a cubic polynomial in θ, for any X (not only whitened).
//! Taylor coefficients (k-th, Cauchy products of jets):
//! β_k = Σ_j a_j w_{k−j}, g_k = Gβ_k − b·[k = 0], (ȧ)_k = −η_a Σ_i Σ_j w_{i,j} g_{i,k−j},
//! (ẇ_i)_k = −η_w Σ_j a_j g_{i,k−j}.

use super::{JetField, TaylorScalar};
use crate::case::SingleNeuronCase;
use crate::models::single_neuron::SingleNeuron;

/// Jets of the single-neuron flow; keeps the jets of β and g between orders.
#[derive(Debug, Clone)]
pub struct SingleNeuronJet<S> {
    d: usize,
    /// G = XᵀX row-major; `None` when G = I exactly (then g = β − b).
    gram: Option<Vec<S>>,
    xty: Vec<S>,
    eta_a: S,
    eta_w: S,
    beta: Vec<Vec<S>>,
    g: Vec<Vec<S>>,
    acc: S,
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
            beta: vec![Vec::new(); d],
            g: vec![Vec::new(); d],
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
        use rug::Float;
        let x: Vec<Vec<Float>> = c.x.iter().map(|r| r.iter().map(|v| v.to_mp(prec)).collect()).collect();
        let y: Vec<Float> = c.y.iter().map(|v| v.to_mp(prec)).collect();
        let d = x[0].len();
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
        SingleNeuronJet::new(gram, xty, c.eta_a.to_mp(prec), c.eta_w.to_mp(prec))
    }
}

impl<S: TaylorScalar> JetField<S> for SingleNeuronJet<S> {
    fn dim(&self) -> usize {
        self.d + 1
    }
    fn reserve(&mut self, order: usize) {
        let zero = self.eta_a.zero_like();
        for v in self.beta.iter_mut().chain(self.g.iter_mut()) {
            v.resize(order + 1, zero.clone());
        }
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        let d = self.d;
        let a = &x[0];
        for i in 0..d {
            let w = &x[1 + i];
            let b = &mut self.beta[i][k];
            b.set_zero();
            for (aj, wkj) in a[..=k].iter().zip(w[..=k].iter().rev()) {
                b.mul_add_assign(aj, wkj);
            }
        }
        for i in 0..d {
            let (gi, beta) = (&mut self.g[i][k], &self.beta);
            match &self.gram {
                None => gi.assign_from(&beta[i][k]),
                Some(gram) => {
                    gi.set_zero();
                    for l in 0..d {
                        gi.mul_add_assign(&gram[i * d + l], &beta[l][k]);
                    }
                }
            }
            if k == 0 {
                gi.sub_assign_ref(&self.xty[i]);
            }
        }
        // ȧ_k = −η_a Σ_i (w_i g_i)_k
        self.acc.set_zero();
        for i in 0..d {
            let w = &x[1 + i];
            for (wj, gkj) in w[..=k].iter().zip(self.g[i][..=k].iter().rev()) {
                self.acc.mul_add_assign(wj, gkj);
            }
        }
        out[0].assign_from(&self.acc);
        out[0].mul_assign_ref(&self.eta_a);
        out[0].neg_assign();
        for i in 0..d {
            let o = &mut out[1 + i];
            o.set_zero();
            for (aj, gkj) in a[..=k].iter().zip(self.g[i][..=k].iter().rev()) {
                o.mul_add_assign(aj, gkj);
            }
            o.mul_assign_ref(&self.eta_w);
            o.neg_assign();
        }
    }
}
