//! The two-layer linear network's gradient flow as a [`JetField`] (P2; `docs/theory.md` §4.1), for
//! the Taylor integrator in f64 or MPFR.
//!
//! θ = (W1 row-major h×d_i, W2 row-major d_o×h) as in [`crate::models::lambda_balanced`]; the
//! flow τẆ1 = W2ᵀG, τẆ2 = G·W1ᵀ with G = Σ̃_yx − W2W1·Σ̃_xx is a cubic polynomial in θ, for any
//! X (not only whitened) and any initialisation (not only λ-balanced). Taylor coefficients
//! (Cauchy products of the jets):
//!
//! W_k = Σ_{m≤k} W2_m W1_{k−m},  G_k = δ_{k0}Σ̃_yx − W_k Σ̃_xx,
//! (τẆ1)_k = Σ_m W2_mᵀ G_{k−m},  (τẆ2)_k = Σ_m G_m W1_{k−m}ᵀ.
//!
//! Cost per order k: 3·d_o·d_i·h·(k+1) multiply-adds (+ d_o·d_i² when Σ̃_xx ≠ I); the jets of G
//! are kept between orders, nothing is allocated per step.

use super::{JetField, TaylorScalar};
use crate::case::LambdaBalancedCase;
use crate::models::lambda_balanced::LinearNetwork;

/// Jets of the two-layer linear flow; keeps the jets of G between orders.
#[derive(Debug, Clone)]
pub struct LambdaBalancedJet<S> {
    d_i: usize,
    h: usize,
    d_o: usize,
    /// Σ̃_yx row-major d_o×d_i.
    syx: Vec<S>,
    /// Σ̃_xx row-major d_i×d_i; `None` when it is exactly I.
    sxx: Option<Vec<S>>,
    inv_tau: S,
    /// W_k (before Σ̃_xx), d_o×d_i scratch.
    wk: Vec<S>,
    /// G_m for m = 0..=order.
    g: Vec<Vec<S>>,
}

impl<S: TaylorScalar> LambdaBalancedJet<S> {
    /// From (d_i, h, d_o), Σ̃_yx (row-major d_o×d_i), Σ̃_xx (row-major d_i×d_i) and 1/τ, all as
    /// scalars of the working precision.
    pub fn new(dims: (usize, usize, usize), syx: Vec<S>, sxx: Vec<S>, inv_tau: S) -> Self {
        let (d_i, h, d_o) = dims;
        let zero = inv_tau.zero_like();
        let one = zero.like_f64(1.0);
        let is_identity =
            (0..d_i).all(|i| (0..d_i).all(|j| sxx[i * d_i + j] == if i == j { one.clone() } else { zero.clone() }));
        LambdaBalancedJet {
            d_i,
            h,
            d_o,
            syx,
            sxx: if is_identity { None } else { Some(sxx) },
            inv_tau,
            wk: vec![zero; d_o * d_i],
            g: Vec::new(),
        }
    }
}

impl LambdaBalancedJet<f64> {
    /// The f64 field of a network.
    pub fn from_model(net: &LinearNetwork) -> Self {
        let (d_i, h, d_o) = net.dims();
        let syx = net.syx();
        let sxx = net.sxx();
        LambdaBalancedJet::new(
            (d_i, h, d_o),
            (0..d_o * d_i).map(|k| syx[(k / d_i, k % d_i)]).collect(),
            (0..d_i * d_i).map(|k| sxx[(k / d_i, k % d_i)]).collect(),
            1.0 / net.tau(),
        )
    }
}

impl LambdaBalancedJet<rug::Float> {
    /// The field of a case at `prec` bits, and its initial state θ0 (W1 then W2, row-major): the
    /// decimal inputs parsed at `prec` bits, Σ̃_xx = XXᵀ/P and Σ̃_yx = YXᵀ/P accumulated at
    /// `prec` bits. The case is assumed validated (rectangular, consistent shapes).
    pub fn from_case(c: &LambdaBalancedCase, prec: u32) -> (Self, Vec<rug::Float>) {
        use rug::Float;
        let parse = |m: &[Vec<crate::num::decimal::Num>]| -> Vec<Vec<Float>> {
            m.iter().map(|r| r.iter().map(|v| v.to_mp(prec)).collect()).collect()
        };
        let (x, y, w1, w2) = (parse(&c.x), parse(&c.y), parse(&c.w1_0), parse(&c.w2_0));
        let (d_i, p, d_o, h) = (x.len(), x[0].len(), y.len(), w1.len());
        let mut sxx = vec![Float::new(prec); d_i * d_i];
        let mut syx = vec![Float::new(prec); d_o * d_i];
        for n in 0..p {
            for j in 0..d_i {
                for i in 0..d_i {
                    sxx[i * d_i + j] += Float::with_val(prec, &x[i][n] * &x[j][n]);
                }
                for o in 0..d_o {
                    syx[o * d_i + j] += Float::with_val(prec, &y[o][n] * &x[j][n]);
                }
            }
        }
        for v in sxx.iter_mut().chain(syx.iter_mut()) {
            *v /= p as u32;
        }
        let inv_tau = Float::with_val(prec, 1) / c.tau.to_mp(prec);
        let theta = w1.into_iter().flatten().chain(w2.into_iter().flatten()).collect();
        (LambdaBalancedJet::new((d_i, h, d_o), syx, sxx, inv_tau), theta)
    }
}

impl<S: TaylorScalar> JetField<S> for LambdaBalancedJet<S> {
    fn dim(&self) -> usize {
        self.h * (self.d_i + self.d_o)
    }
    fn reserve(&mut self, order: usize) {
        let zero = self.inv_tau.zero_like();
        self.g.resize(order + 1, vec![zero; self.d_o * self.d_i]);
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        let (d_i, h, d_o) = (self.d_i, self.h, self.d_o);
        let (w1, w2) = x.split_at(h * d_i);
        // W_k = Σ_m W2_m W1_{k−m}
        for o in 0..d_o {
            for j in 0..d_i {
                let acc = &mut self.wk[o * d_i + j];
                acc.set_zero();
                for a in 0..h {
                    let (p, q) = (&w2[o * h + a], &w1[a * d_i + j]);
                    for (pm, qm) in p[..=k].iter().zip(q[..=k].iter().rev()) {
                        acc.mul_add_assign(pm, qm);
                    }
                }
            }
        }
        // G_k = δ_{k0}Σ̃_yx − W_k Σ̃_xx
        let gk = &mut self.g[k];
        for o in 0..d_o {
            for j in 0..d_i {
                let v = &mut gk[o * d_i + j];
                match &self.sxx {
                    None => v.assign_from(&self.wk[o * d_i + j]),
                    Some(sxx) => {
                        v.set_zero();
                        for l in 0..d_i {
                            v.mul_add_assign(&self.wk[o * d_i + l], &sxx[l * d_i + j]);
                        }
                    }
                }
                v.neg_assign();
                if k == 0 {
                    v.add_assign_ref(&self.syx[o * d_i + j]);
                }
            }
        }
        let (o1, o2) = out.split_at_mut(h * d_i);
        // (τẆ1)_k[a, j] = Σ_m Σ_o W2_m[o, a] G_{k−m}[o, j]
        for a in 0..h {
            for j in 0..d_i {
                let v = &mut o1[a * d_i + j];
                v.set_zero();
                for o in 0..d_o {
                    let p = &w2[o * h + a];
                    for (m, pm) in p[..=k].iter().enumerate() {
                        v.mul_add_assign(pm, &self.g[k - m][o * d_i + j]);
                    }
                }
                v.mul_assign_ref(&self.inv_tau);
            }
        }
        // (τẆ2)_k[o, a] = Σ_m Σ_j G_m[o, j] W1_{k−m}[a, j]
        for o in 0..d_o {
            for a in 0..h {
                let v = &mut o2[o * h + a];
                v.set_zero();
                for j in 0..d_i {
                    let q = &w1[a * d_i + j];
                    for (m, qm) in q[..=k].iter().enumerate() {
                        v.mul_add_assign(&self.g[k - m][o * d_i + j], qm);
                    }
                }
                v.mul_assign_ref(&self.inv_tau);
            }
        }
    }
}
