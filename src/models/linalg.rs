//! Small dense kernels on row-major slices, allocation-free, for the linear-network models.
//!
//! - [`gemm`]: out = op(a)·op(b) (+ out), op = identity or transpose.
//! - [`jacobi_svd_right`]: one-sided (Hestenes) Jacobi SVD. For A ∈ R^{m×n} it finds an
//!   orthogonal V ∈ R^{n×n} with the columns of A·V mutually orthogonal, so A = U Σ Vᵀ with
//!   σ_j = ‖(AV)_j‖. It works on A itself, never on AᵀA, so small singular values keep their
//!   relative accuracy (Demmel & Veselić 1992); this is what `docs/theory.md` §2.4 asks for ("do not
//!   use an eigen-decomposition of ββᵀ").
//!
//! These are written here (rather than with nalgebra's SVD) because the right-hand sides that
//! call them must not allocate (house standard); nalgebra's SVD allocates its factors. The
//! Jacobi SVD is tested against nalgebra's in the unit tests below.

/// out (m×n) = op(a) · op(b), or out += op(a)·op(b) when `acc`.
///
/// `a` is m×k row-major (`ta = false`) or k×m row-major read transposed (`ta = true`); `b` is
/// k×n (`tb = false`) or n×k read transposed (`tb = true`).
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn gemm(out: &mut [f64], m: usize, n: usize, k: usize, a: &[f64], ta: bool, b: &[f64], tb: bool, acc: bool) {
    if !acc {
        out[..m * n].iter_mut().for_each(|o| *o = 0.0);
    }
    for i in 0..m {
        for l in 0..k {
            let ail = if ta { a[l * m + i] } else { a[i * k + l] };
            if ail == 0.0 {
                continue;
            }
            let row = &mut out[i * n..(i + 1) * n];
            if tb {
                for (j, o) in row.iter_mut().enumerate() {
                    *o += ail * b[j * k + l];
                }
            } else {
                for (o, blj) in row.iter_mut().zip(&b[l * n..(l + 1) * n]) {
                    *o += ail * blj;
                }
            }
        }
    }
}

/// Transpose `a` (m×n row-major) into `out` (n×m row-major).
pub fn transpose(out: &mut [f64], a: &[f64], m: usize, n: usize) {
    for i in 0..m {
        for j in 0..n {
            out[j * m + i] = a[i * n + j];
        }
    }
}

/// Maximum number of Jacobi sweeps; quadratic convergence needs ~6–10 for n ≤ 50.
pub const JACOBI_MAX_SWEEPS: usize = 60;

/// One-sided Jacobi SVD (see the module doc). On entry `a` is A (m×n row-major); on exit it
/// holds A·V. `v` (n×n row-major) receives V, `sigma` (length n) the column norms σ_j of A·V
/// (the singular values, unsorted, including zeros). Returns the number of sweeps used.
///
/// A pair of columns is rotated when |a_pᵀa_q| > ε·‖a_p‖‖a_q‖ with ε the unit roundoff; the
/// result is orthogonal to that relative level.
pub fn jacobi_svd_right(a: &mut [f64], m: usize, n: usize, v: &mut [f64], sigma: &mut [f64]) -> usize {
    v[..n * n].iter_mut().for_each(|x| *x = 0.0);
    for j in 0..n {
        v[j * n + j] = 1.0;
    }
    let eps = f64::EPSILON / 2.0;
    let mut sweeps = 0;
    for _ in 0..JACOBI_MAX_SWEEPS {
        sweeps += 1;
        let mut rotated = false;
        for p in 0..n {
            for q in (p + 1)..n {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..m {
                    let (x, y) = (a[i * n + p], a[i * n + q]);
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if gamma == 0.0 || gamma.abs() <= eps * (alpha.sqrt() * beta.sqrt()) {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + zeta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = c * t;
                for i in 0..m {
                    let (x, y) = (a[i * n + p], a[i * n + q]);
                    a[i * n + p] = c * x - s * y;
                    a[i * n + q] = s * x + c * y;
                }
                for i in 0..n {
                    let (x, y) = (v[i * n + p], v[i * n + q]);
                    v[i * n + p] = c * x - s * y;
                    v[i * n + q] = s * x + c * y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    for (j, s) in sigma[..n].iter_mut().enumerate() {
        *s = (0..m).map(|i| a[i * n + j] * a[i * n + j]).sum::<f64>().sqrt();
    }
    sweeps
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Backward-stable SVDs reproduce A to a small multiple of ε‖A‖; 1e-13 covers n ≤ 20 with a
    /// wide margin (ε·n·sweeps ≈ 2e-16·20·10 = 4e-14).
    const SVD_TOL: f64 = 1e-13;

    #[test]
    fn gemm_matches_nalgebra_for_every_transpose_combination() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (m, n, k) = (3, 4, 5);
        let a = DMatrix::<f64>::from_fn(m, k, |_, _| rng.random_range(-1.0..1.0));
        let b = DMatrix::<f64>::from_fn(k, n, |_, _| rng.random_range(-1.0..1.0));
        let want = &a * &b;
        let row = |x: &DMatrix<f64>| -> Vec<f64> { x.transpose().as_slice().to_vec() };
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let aa = if ta { row(&a.transpose()) } else { row(&a) };
            let bb = if tb { row(&b.transpose()) } else { row(&b) };
            let mut out = vec![7.0; m * n];
            gemm(&mut out, m, n, k, &aa, ta, &bb, tb, false);
            for i in 0..m {
                for j in 0..n {
                    assert!((out[i * n + j] - want[(i, j)]).abs() < 1e-14, "{ta} {tb}");
                }
            }
        }
    }

    #[test]
    fn jacobi_svd_matches_nalgebra_and_reconstructs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (m, n) in [(3, 2), (2, 3), (20, 10), (10, 20), (4, 4)] {
            // rank-deficient when m != n is not forced; add an exactly rank-1 case below.
            let a = DMatrix::<f64>::from_fn(m, n, |_, _| rng.random_range(-1.0..1.0));
            let mut work: Vec<f64> = a.transpose().as_slice().to_vec();
            let (mut v, mut s) = (vec![0.0; n * n], vec![0.0; n]);
            jacobi_svd_right(&mut work, m, n, &mut v, &mut s);
            let mut mine = s.clone();
            mine.sort_by(|x, y| y.partial_cmp(x).unwrap());
            let theirs = a.clone().svd(false, false).singular_values;
            for (i, t) in theirs.iter().enumerate() {
                assert!(
                    (mine[i] - t).abs() < SVD_TOL * theirs[0],
                    "{m}x{n}: {mine:?} vs {theirs}"
                );
            }
            for extra in &mine[theirs.len()..] {
                assert!(extra.abs() < SVD_TOL * theirs[0]);
            }
            // (AV)Vᵀ = A
            let mut back = vec![0.0; m * n];
            gemm(&mut back, m, n, n, &work, false, &v, true, false);
            let ar: Vec<f64> = a.transpose().as_slice().to_vec();
            for (x, y) in back.iter().zip(&ar) {
                assert!((x - y).abs() < SVD_TOL);
            }
        }
    }
}
