//! Observables of the single neuron f(x) = a·wᵀx (P1 §3; `docs/theory.md` §1.3, §1.5).
//!
//! - β = a w, μ = a‖w‖, φ = wᵀβ*/(‖w‖‖β*‖) with β* = Xᵀy (the cosine of §1.3; for non-whitened X
//!   it is still defined with Xᵀy).
//! - NTK K = X M Xᵀ with M = η_w a² I + η_a w wᵀ (P1 §3, `docs/theory.md` §1.5), and the kernel
//!   distance S(0,t) = 1 − ⟨K0,Kt⟩_F/(‖K0‖_F‖Kt‖_F) (Fort et al. 2020), computed as
//!   S = ½‖K̂0 − K̂t‖²_F = ½ tr(D G D G) with D = M0/‖K0‖ − Mt/‖Kt‖, G = XᵀX: a sum of squares,
//!   so small S (lazy regime) keeps its relative accuracy instead of drowning in the rounding
//!   of 1 − (≈1).
//! - The loss L = ½‖Xβ − y‖².

use crate::models::single_neuron::SingleNeuron;
use crate::taylor::TaylorScalar;
use serde::Serialize;

/// Observables at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observables {
    /// Time.
    pub t: f64,
    /// a.
    pub a: f64,
    /// w.
    pub w: Vec<f64>,
    /// β = a w.
    pub beta: Vec<f64>,
    /// μ = a‖w‖.
    pub mu: f64,
    /// φ = cos∠(w, Xᵀy) (NaN when w = 0 or Xᵀy = 0).
    pub phi: f64,
    /// S(0, t).
    pub kernel_distance: f64,
    /// L.
    pub loss: f64,
}

pub use crate::models::single_neuron::{Observable, QUANTITIES};

impl Observables {
    /// Values of quantity `q` (at least one value for every quantity).
    pub fn of(&self, q: Observable) -> Vec<f64> {
        match q {
            Observable::A => vec![self.a],
            Observable::W => self.w.clone(),
            Observable::Beta => self.beta.clone(),
            Observable::Mu => vec![self.mu],
            Observable::Phi => vec![self.phi],
            Observable::KernelDistance => vec![self.kernel_distance],
            Observable::Loss => vec![self.loss],
        }
    }
}

/// Observables of θ = (a, w) at time t, with θ0 the initial state (for S(0,t)).
pub fn observables(model: &SingleNeuron, theta0: &[f64], t: f64, theta: &[f64]) -> Observables {
    let a = theta[0];
    let w = theta[1..].to_vec();
    let beta: Vec<f64> = w.iter().map(|v| a * v).collect();
    let wn = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let bs = model.xty();
    let sn = bs.iter().map(|v| v * v).sum::<f64>().sqrt();
    let phi = if wn > 0.0 && sn > 0.0 {
        w.iter().zip(bs).map(|(x, y)| x * y).sum::<f64>() / (wn * sn)
    } else {
        f64::NAN
    };
    Observables {
        t,
        a,
        mu: a * wn,
        phi,
        kernel_distance: kernel_distance(model, theta0, theta),
        loss: model.loss_beta(&beta),
        w,
        beta,
    }
}

/// tr(A G B G) for symmetric d×d A, B (row-major) and G, over any [`TaylorScalar`].
fn tr_agbg<S: TaylorScalar>(a: &[S], g: &[S], b: &[S], d: usize) -> S {
    // (AG)_{ij} and (BG)_{ji}; tr(AG·BG) = Σ_ij (AG)_ij (BG)_ji
    let mut s = g[0].zero_like();
    let (mut ag, mut bg, mut tmp) = (s.clone(), s.clone(), s.clone());
    for i in 0..d {
        for j in 0..d {
            ag.set_zero();
            bg.set_zero();
            for k in 0..d {
                ag.mul_add_assign_tmp(&a[i * d + k], &g[k * d + j], &mut tmp);
                bg.mul_add_assign_tmp(&b[j * d + k], &g[k * d + i], &mut tmp);
            }
            s.mul_add_assign_tmp(&ag, &bg, &mut tmp);
        }
    }
    s
}

/// M = η_w a² I + η_a w wᵀ, row-major.
fn m_matrix<S: TaylorScalar>(eta_a: &S, eta_w: &S, theta: &[S]) -> Vec<S> {
    let (a, w) = (&theta[0], &theta[1..]);
    let d = w.len();
    let mut diag = a.clone();
    diag.mul_assign_ref(a);
    diag.mul_assign_ref(eta_w);
    let mut m = Vec::with_capacity(d * d);
    for i in 0..d {
        for j in 0..d {
            let mut v = w[i].clone();
            v.mul_assign_ref(&w[j]);
            v.mul_assign_ref(eta_a);
            if i == j {
                v.add_assign_ref(&diag);
            }
            m.push(v);
        }
    }
    m
}

/// Kernel distance S(θ0, θ) = ½‖K̂0 − K̂‖²_F of the η-weighted NTK K = X M Xᵀ (see the module
/// doc), written once for every number type: f64 ([`kernel_distance`]), MPFR, and balls (the
/// validated enclosures of `simulate --certify` and the verification tables). `gram` = XᵀX
/// (d×d, row-major), θ = (a, w).
///
/// For balls the result encloses S for every state in the input balls; a kernel whose norm ball
/// contains 0 gives a ball of infinite radius (the division's enclosure), never a false value.
pub fn kernel_distance_of<S: TaylorScalar>(eta_a: &S, eta_w: &S, gram: &[S], theta0: &[S], theta: &[S]) -> S {
    let d = theta.len() - 1;
    let m0 = m_matrix(eta_a, eta_w, theta0);
    let mt = m_matrix(eta_a, eta_w, theta);
    let mut n0 = tr_agbg(&m0, gram, &m0, d);
    n0.sqrt_assign();
    let mut nt = tr_agbg(&mt, gram, &mt, d);
    nt.sqrt_assign();
    let dm: Vec<S> = m0
        .iter()
        .zip(&mt)
        .map(|(x, y)| {
            let (mut u, mut v) = (x.clone(), y.clone());
            u.div_assign_ref(&n0);
            v.div_assign_ref(&nt);
            u.sub_assign_ref(&v);
            u
        })
        .collect();
    let mut s = tr_agbg(&dm, gram, &dm, d);
    s.div_u32_assign(2);
    s
}

/// Kernel distance S(θ0, θ) = 1 − ⟨K0,K⟩/(‖K0‖‖K‖) of the η-weighted NTK K = X M Xᵀ, computed as
/// ½‖K̂0 − K̂‖²_F ([`kernel_distance_of`] in f64). NaN if either kernel is zero.
pub fn kernel_distance(model: &SingleNeuron, theta0: &[f64], theta: &[f64]) -> f64 {
    let s = kernel_distance_of(&model.eta_a(), &model.eta_w(), model.gram(), theta0, theta);
    if !s.is_finite() {
        f64::NAN
    } else if s < 0.0 {
        // A sum of squares: a negative value is rounding of an exact 0.
        0.0
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn observable_names_are_the_printed_quantities() {
        let names: Vec<&str> = super::Observable::ALL.iter().map(|q| q.name()).collect();
        assert_eq!(names, super::QUANTITIES);
    }

    use super::*;

    /// S from its definition with the n×n kernel matrices, as an independent check.
    fn kernel_distance_direct(x: &[Vec<f64>], model: &SingleNeuron, th0: &[f64], th: &[f64]) -> f64 {
        let k = |th: &[f64]| -> Vec<f64> {
            let n = x.len();
            let mut out = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    let xx: f64 = x[i].iter().zip(&x[j]).map(|(a, b)| a * b).sum();
                    let wx: f64 = x[i].iter().zip(&th[1..]).map(|(a, b)| a * b).sum();
                    let wy: f64 = x[j].iter().zip(&th[1..]).map(|(a, b)| a * b).sum();
                    out[i * n + j] = model.eta_w() * th[0] * th[0] * xx + model.eta_a() * wx * wy;
                }
            }
            out
        };
        let (k0, kt) = (k(th0), k(th));
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        1.0 - dot(&k0, &kt) / (dot(&k0, &k0).sqrt() * dot(&kt, &kt).sqrt())
    }

    #[test]
    fn kernel_distance_matches_definition_for_general_x() {
        let x = vec![
            vec![0.3, -1.2, 0.5],
            vec![1.1, 0.4, -0.7],
            vec![-0.2, 0.9, 1.3],
            vec![0.8, 0.1, 0.2],
        ];
        let y = vec![0.5, -0.3, 1.0, 0.2];
        let m = SingleNeuron::new(&x, &y, 0.7, 1.9).unwrap();
        let th0 = [0.4, 0.2, -0.5, 0.9];
        let th = [1.3, -0.6, 0.1, 0.4];
        let s = kernel_distance(&m, &th0, &th);
        let s_ref = kernel_distance_direct(&x, &m, &th0, &th);
        // S is O(0.1) here; both forms are accurate to a few ulp of 1.
        assert!((s - s_ref).abs() < 1e-14, "{s} vs {s_ref}");
        assert_eq!(kernel_distance(&m, &th0, &th0), 0.0);
    }
}
