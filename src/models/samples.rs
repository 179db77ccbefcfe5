//! Canonical single-neuron instances shared by the catalog, the tests, the benches and the CLI
//! (diffsol's `test_models` pattern). Each returns a [`SingleNeuronCase`].
//!
//! Data are whitened exactly where the closed form is compared at high precision: X = I_d, or a
//! Hadamard matrix scaled by 1/√n with n a power of 4 (entries ±2^−k, exact in binary). Problem L
//! uses a seeded random orthogonal X (whitened to f64 rounding, ~1e-16).

use crate::case::SingleNeuronCase;
use crate::num::decimal::Num;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn nums(v: &[f64]) -> Vec<Num> {
    v.iter()
        .map(|x| Num::from_f64(*x).expect("finite sample value"))
        .collect()
}

fn num(x: f64) -> Num {
    Num::from_f64(x).expect("finite sample value")
}

/// Build a case from f64 data.
pub fn case(x: &[Vec<f64>], y: &[f64], a0: f64, w0: &[f64], eta_a: f64, eta_w: f64, times: &[f64]) -> SingleNeuronCase {
    SingleNeuronCase {
        x: x.iter().map(|r| nums(r)).collect(),
        y: nums(y),
        a0: num(a0),
        w0: nums(w0),
        eta_a: num(eta_a),
        eta_w: num(eta_w),
        times: nums(times),
    }
}

/// (a0, w0) with a0 > 0 (or < 0 with `sign` = −1), a0·w0 = β0 and η_w a0² − η_a‖w0‖² = δ:
/// a0² = (δ + √(δ² + 4η_aη_w‖β0‖²))/(2η_w) (`docs/theory.md` §1.8, general η).
pub fn init_from_beta0(beta0: &[f64], delta: f64, eta_a: f64, eta_w: f64, sign: f64) -> (f64, Vec<f64>) {
    let m2: f64 = beta0.iter().map(|b| b * b).sum();
    let disc = delta.hypot(2.0 * (eta_a * eta_w * m2).sqrt());
    // u = a0² without cancellation for δ < 0: u = 2η_a m²/(√(…) − δ)
    let u = if delta >= 0.0 {
        (delta + disc) / (2.0 * eta_w)
    } else {
        2.0 * eta_a * m2 / (disc - delta)
    };
    let a0 = sign * u.sqrt();
    (a0, beta0.iter().map(|b| b / a0).collect())
}

/// The identity as n×n data rows.
pub fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

/// Sylvester–Hadamard matrix of order n = 4^k, scaled by 1/√n (orthonormal and exact in binary).
pub fn hadamard(n: usize) -> Vec<Vec<f64>> {
    assert!(
        n.is_power_of_two() && n.trailing_zeros() % 2 == 0,
        "n must be a power of 4"
    );
    let scale = 1.0 / (n as f64).sqrt();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if (i & j).count_ones() % 2 == 0 { scale } else { -scale })
                .collect()
        })
        .collect()
}

/// Default output times on [0, t_end]: 0, then 10 points spaced so that early transients and the
/// late approach are both sampled.
pub fn default_times(t_end: f64) -> Vec<f64> {
    [0.0, 0.025, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 0.8, 1.0]
        .iter()
        .map(|f| f * t_end)
        .collect()
}

/// P1 Fig. 2/3 setup (`docs/theory.md` §1.8): d = 2, X = I, β* = (0, 1), β0 = (−1, 0), a0 > 0 rebuilt
/// from (δ, β0), η = 1, t ∈ [0, 20].
pub fn fig3(delta: f64) -> SingleNeuronCase {
    let (a0, w0) = init_from_beta0(&[-1.0, 0.0], delta, 1.0, 1.0, 1.0);
    case(&identity(2), &[0.0, 1.0], a0, &w0, 1.0, 1.0, &default_times(20.0))
}

/// Problem L (issues 2, 3): d = n = 10, seeded random orthogonal X, y ~ N(0, I), a0 = 0.02,
/// ‖w0‖ = 0.01 in a random direction, η = 1, t ∈ [0, 20].
pub fn problem_l(seed: u64) -> SingleNeuronCase {
    let (n, d) = (10, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = |k: usize| -> Vec<f64> { (0..k).map(|_| StandardNormal.sample(&mut rng)).collect() };
    let q = DMatrix::from_column_slice(n, d, &g(n * d)).qr().q();
    let x: Vec<Vec<f64>> = (0..n).map(|i| (0..d).map(|j| q[(i, j)]).collect()).collect();
    let y = g(n);
    let dir = g(d);
    let nd = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
    let w0: Vec<f64> = dir.iter().map(|v| 0.01 * v / nd).collect();
    case(&x, &y, 0.02, &w0, 1.0, 1.0, &default_times(20.0))
}

/// A random whitened case for seeded property tests: X a scaled Hadamard matrix of order 4 or 16
/// (or the identity), random y, random (a0, w0) with δ drawn from `delta`, random η in [0.25, 4].
pub fn random_whitened(seed: u64, delta: f64, t_end: f64) -> SingleNeuronCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let d = [2usize, 4, 16][(normal().abs() * 10.0) as usize % 3];
    let x = if d == 2 { identity(2) } else { hadamard(d) };
    let y: Vec<f64> = (0..d).map(|_| normal()).collect();
    let beta0: Vec<f64> = (0..d).map(|_| 0.5 * normal()).collect();
    let eta_a = 2f64.powf(2.0 * normal().tanh() * 1.0);
    let eta_w = 2f64.powf(2.0 * normal().tanh() * 1.0);
    let sign = if normal() > 0.0 { 1.0 } else { -1.0 };
    let (a0, w0) = init_from_beta0(&beta0, delta, eta_a, eta_w, sign);
    case(&x, &y, a0, &w0, eta_a, eta_w, &default_times(t_end))
}

/// Problem L written through its sufficient statistics: X = I (d = 10) and y = Xᵀy (each entry
/// the f64 dot product of problem L's X and y). The single-neuron flow depends on the data only
/// through G = XᵀX and b = Xᵀy, so this is problem L's flow up to its whitening defect
/// (‖XᵀX − I‖ ≈ 1e-16) and the f64 rounding of Xᵀy — with G = I exactly, as the rigorous closed
/// form and the exact span reduction at p bits need.
pub fn problem_l_whitened(seed: u64) -> SingleNeuronCase {
    let l = problem_l(seed);
    let (x, y) = (l.x_f64(), l.y_f64());
    let d = l.w0.len();
    let xty: Vec<f64> = (0..d)
        .map(|j| x.iter().zip(&y).map(|(r, yi)| r[j] * yi).sum())
        .collect();
    case(&identity(d), &xty, l.a0.to_f64(), &l.w0_f64(), 1.0, 1.0, &l.times_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::single_neuron::SingleNeuron;

    #[test]
    fn hadamard_is_exactly_orthonormal() {
        for n in [4, 16] {
            let h = hadamard(n);
            let m = SingleNeuron::new(&h, &vec![0.0; n], 1.0, 1.0).unwrap();
            assert_eq!(m.whitening_defect(), 0.0);
        }
    }

    #[test]
    fn init_from_beta0_hits_delta_and_beta0() {
        for delta in [-25.0, -1.0, 0.0, 1e-4, 3.0] {
            let (a, w) = init_from_beta0(&[0.3, -0.4], delta, 0.5, 2.0, -1.0);
            let got = 2.0 * a * a - 0.5 * w.iter().map(|v| v * v).sum::<f64>();
            assert!((got - delta).abs() <= 1e-14 * (1.0 + delta.abs()), "{got} vs {delta}");
            assert!((a * w[0] - 0.3).abs() < 1e-15 && a < 0.0);
        }
    }
}
