//! The two-layer piecewise-linear flow with a **fixed activation pattern** as a [`JetField`]
//! (P1 §5; `models::piecewise_linear`): f(x) = Σ_k a_k σ(w_kᵀx) with σ(z) = s·z on the pattern's
//! region, s_ki ∈ {γ, 1} (1 iff w_kᵀx_i > 0), L = c·Σ_i (f(x_i) − y_i)². On one region the field
//! is the cubic polynomial
//! z_ki = w_kᵀx_i, f_i = Σ_k a_k s_ki z_ki, g_i = 2c(f_i − y_i),
//! ȧ_k = −η_a Σ_i g_i s_ki z_ki, ẇ_k = −η_w a_k Σ_i s_ki g_i x_i,
//! whose Taylor coefficients follow from Cauchy products (f = a·z, ȧ from g·z, ẇ from a·v with
//! v_k = Σ_i s_ki g_i x_i). Its [`JetField::region_holds`] tells whether a box of states stays in
//! the pattern's region (every z_ki of one sign over the box): the validated integrator asks it
//! of every a-priori box, so an enclosure is only ever advanced on a region where this
//! polynomial *is* the flow.

use super::{JetField, TaylorScalar};
use crate::case::PiecewiseLinearCase;
use crate::num::decimal::Num;

/// Jets of the fixed-pattern two-layer piecewise-linear flow. θ = (W h×d row-major, a h).
#[derive(Debug, Clone)]
pub struct PiecewiseJet<S> {
    h: usize,
    d: usize,
    n: usize,
    /// X (n×d row-major) and y.
    x: Vec<S>,
    y: Vec<S>,
    /// Slopes s_ki (h×n), as scalars, and whether each is the active slope 1.
    slope: Vec<S>,
    active: Vec<bool>,
    gamma: S,
    /// 2c, −η_a, −η_w.
    two_c: S,
    neg_eta_a: S,
    neg_eta_w: S,
    /// Jets of z (h×n), f and g (n), v (h×d).
    z: Vec<Vec<S>>,
    g: Vec<Vec<S>>,
    v: Vec<Vec<S>>,
    tmp: S,
}

impl<S: TaylorScalar> PiecewiseJet<S> {
    /// From the case's data in the scalar `conv` gives, the pattern `active` (h×n, true = slope
    /// 1) and the loss factor c (as a scalar).
    pub fn new(c: &PiecewiseLinearCase, conv: &dyn Fn(&Num) -> S, active: Vec<bool>, loss_c: S) -> Self {
        let (h, d, n) = (c.a0.len(), c.x.first().map_or(0, Vec::len), c.x.len());
        let one = loss_c.like_f64(1.0);
        let gamma = conv(&c.gamma);
        let slope = active
            .iter()
            .map(|&a| if a { one.clone() } else { gamma.clone() })
            .collect();
        let mut two_c = loss_c;
        two_c.mul_pow2_assign(1);
        let mut neg_eta_a = conv(&c.eta_a);
        neg_eta_a.neg_assign();
        let mut neg_eta_w = conv(&c.eta_w);
        neg_eta_w.neg_assign();
        let zero = one.zero_like();
        PiecewiseJet {
            h,
            d,
            n,
            x: c.x.iter().flatten().map(conv).collect(),
            y: c.y.iter().map(conv).collect(),
            slope,
            active,
            gamma,
            two_c,
            neg_eta_a,
            neg_eta_w,
            z: Vec::new(),
            g: Vec::new(),
            v: Vec::new(),
            tmp: zero,
        }
    }

    /// The pattern (h×n, true = slope 1).
    pub fn pattern(&self) -> &[bool] {
        &self.active
    }
}

/// z_ki = w_kᵀx_i of a state, for the pattern check and the outputs.
pub fn preactivations<S: TaylorScalar>(theta: &[S], x: &[S], (h, d, n): (usize, usize, usize)) -> Vec<S> {
    let zero = theta[0].zero_like();
    let mut tmp = zero.clone();
    let mut z = vec![zero; h * n];
    for k in 0..h {
        for i in 0..n {
            for j in 0..d {
                z[k * n + i].mul_add_assign_tmp(&theta[k * d + j], &x[i * d + j], &mut tmp);
            }
        }
    }
    z
}

impl<S: TaylorScalar> PiecewiseJet<S> {
    /// Dimensions (h, d, n).
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.h, self.d, self.n)
    }
    /// X (n×d row-major) in this scalar.
    pub fn x(&self) -> &[S] {
        &self.x
    }
}

impl<S: TaylorScalar> JetField<S> for PiecewiseJet<S> {
    fn dim(&self) -> usize {
        self.h * self.d + self.h
    }
    fn reserve(&mut self, order: usize) {
        let zero = self.tmp.zero_like();
        self.z = vec![vec![zero.clone(); order + 1]; self.h * self.n];
        self.g = vec![vec![zero.clone(); order + 1]; self.n];
        self.v = vec![vec![zero; order + 1]; self.h * self.d];
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        let (h, d, n) = (self.h, self.d, self.n);
        let a = |kk: usize| &x[h * d + kk];
        let tmp = &mut self.tmp;
        // z_ki[k] = Σ_j W_kj[k] x_ij.
        for kk in 0..h {
            for i in 0..n {
                let zk = &mut self.z[kk * n + i][k];
                zk.set_zero();
                for j in 0..d {
                    zk.mul_add_assign_tmp(&x[kk * d + j][k], &self.x[i * d + j], tmp);
                }
            }
        }
        // f_i[k] = Σ_k s_ki Σ_m a_k[m] z_ki[k−m]; g_i[k] = 2c(f_i[k] − y_i δ_k0).
        for i in 0..n {
            let mut f = tmp.zero_like();
            for kk in 0..h {
                let mut az = tmp.zero_like();
                let zki = &self.z[kk * n + i];
                let ak = a(kk);
                for m in 0..=k {
                    az.mul_add_assign_tmp(&ak[m], &zki[k - m], tmp);
                }
                f.mul_add_assign_tmp(&az, &self.slope[kk * n + i], tmp);
            }
            if k == 0 {
                f.sub_assign_ref(&self.y[i]);
            }
            f.mul_assign_ref(&self.two_c);
            self.g[i][k] = f;
        }
        // v_kj[k] = Σ_i s_ki g_i[k] x_ij.
        for kk in 0..h {
            for j in 0..d {
                let vk = &mut self.v[kk * d + j][k];
                vk.set_zero();
                for i in 0..n {
                    let mut sg = self.g[i][k].clone();
                    sg.mul_assign_ref(&self.slope[kk * n + i]);
                    vk.mul_add_assign_tmp(&sg, &self.x[i * d + j], tmp);
                }
            }
        }
        // (ȧ_k)[k] = −η_a Σ_i s_ki Σ_m g_i[m] z_ki[k−m]; (ẇ_kj)[k] = −η_w Σ_m a_k[m] v_kj[k−m].
        for kk in 0..h {
            let mut acc = tmp.zero_like();
            for i in 0..n {
                let mut gz = tmp.zero_like();
                let zki = &self.z[kk * n + i];
                for m in 0..=k {
                    gz.mul_add_assign_tmp(&self.g[i][m], &zki[k - m], tmp);
                }
                acc.mul_add_assign_tmp(&gz, &self.slope[kk * n + i], tmp);
            }
            acc.mul_assign_ref(&self.neg_eta_a);
            out[h * d + kk] = acc;
            let ak = a(kk);
            for j in 0..d {
                let mut av = tmp.zero_like();
                let vkj = &self.v[kk * d + j];
                for m in 0..=k {
                    av.mul_add_assign_tmp(&ak[m], &vkj[k - m], tmp);
                }
                av.mul_assign_ref(&self.neg_eta_w);
                out[kk * d + j] = av;
            }
        }
    }
    fn decide_region(&self, x: &[S]) -> Result<Vec<bool>, String> {
        let z = preactivations(x, &self.x, (self.h, self.d, self.n));
        z.iter()
            .enumerate()
            .map(|(idx, zki)| {
                if zki.sign_is(true) {
                    Ok(true)
                } else if zki.sign_is(false) {
                    Ok(false)
                } else {
                    Err(format!(
                        "the sign of the pre-activation w_{}ᵀx_{} is not decided (at t = 0: the inputs put it \
                         on its surface; after a switch: sliding on the surface, or a tangential contact): the \
                         activation pattern is not proven",
                        idx / self.n,
                        idx % self.n
                    ))
                }
            })
            .collect()
    }
    fn set_region(&mut self, choice: &[bool], relaxed: &[bool]) {
        let one = self.tmp.like_f64(1.0);
        for idx in 0..self.active.len() {
            if relaxed.get(idx).copied().unwrap_or(false) {
                // Slope ∈ [γ, 1]: (1 + γ)/2 widened by (1 − γ)/2 (γ ∈ [0, 1)).
                let g = self.gamma.to_f64();
                let mut m = self.gamma.clone();
                m.add_assign_ref(&one);
                m.mul_pow2_assign(-1);
                self.slope[idx] = m.widened(crate::num::ball::add_up((1.0 - g) * 0.5, 2.0 * f64::EPSILON));
            } else if let Some(&a) = choice.get(idx) {
                self.active[idx] = a;
                self.slope[idx] = if a { one.clone() } else { self.gamma.clone() };
            }
        }
    }
    fn constraint_open(&self, x: &[S], idx: usize) -> bool {
        let z = preactivations(x, &self.x, (self.h, self.d, self.n));
        z.get(idx).is_some_and(|zki| !zki.sign_is(true) && !zki.sign_is(false))
    }
    fn region_holds(&self, x: &[S]) -> Option<String> {
        let z = preactivations(x, &self.x, (self.h, self.d, self.n));
        for (idx, zki) in z.iter().enumerate() {
            if !zki.sign_is(self.active[idx]) {
                return Some(format!(
                    "the pre-activation w_{}ᵀx_{} may change sign (activation switch or contact with its surface): \
                     the pattern is not proven on the step",
                    idx / self.n,
                    idx % self.n
                ));
            }
        }
        None
    }
}
