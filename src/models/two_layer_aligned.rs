//! Exactly whitened, exactly task-aligned two-layer linear problems, in exact decimals: the inputs
//! on which the per-mode closed form of P1 §4 / App. B (`docs/theory.md` §2.5) is provably the
//! gradient flow (`lazyrich prove`, `docs/theory_proofs.md` §11).
//!
//! Construction (all in rational arithmetic, every entry a finite decimal):
//! - X = Hᵀ/√p (n = p rows, d columns) with H the first d rows of the Sylvester–Hadamard matrix of
//!   order p, p the smallest power of 4 ≥ d (so √p is a power of two and XᵀX = HHᵀ/p = I exactly);
//! - β* = Σ_{i≤k} s_i u_i v_iᵀ (k = min(d, c)) with U, V decimal orthogonal
//!   ([`crate::models::lambda_balanced_exact::decimal_orthogonal`]) and the given distinct
//!   s_i > 0; Y = Xβ*, so XᵀY = β*;
//! - W0 = Σ_{i≤m} w_i q_i u_iᵀ, A0 = Σ_{i≤m} a_i q_i v_iᵀ (m = min(k, h)) with q_i the columns of
//!   a decimal orthogonal Q (h×h).
//!
//! Deviation from the house style: like `lambda_balanced_exact`, this module names
//! `rug::Rational`, because exactness is its purpose.

use super::lambda_balanced_exact::{ExactError, RatMat, decimal_orthogonal, hadamard_rows, mat_mul, transpose};
use rand::Rng;
use rug::Rational;

/// What to build.
#[derive(Debug, Clone)]
pub struct AlignedSpec {
    /// Input dimension d.
    pub d: usize,
    /// Hidden width h.
    pub h: usize,
    /// Output dimension c.
    pub c: usize,
    /// The k = min(d, c) singular values of β*, distinct and > 0.
    pub singular_values: Vec<Rational>,
    /// The per-mode initial w_i (m = min(k, h) of them, any sign, 0 allowed).
    pub w: Vec<Rational>,
    /// The per-mode initial a_i (m of them).
    pub a: Vec<Rational>,
}

/// An aligned problem: X (n×d), Y (n×c), W0 (h×d), A0 (h×c).
#[derive(Debug, Clone)]
pub struct AlignedProblem {
    /// Inputs, XᵀX = I exactly.
    pub x: RatMat,
    /// Targets, XᵀY = β*.
    pub y: RatMat,
    /// Initial W.
    pub w0: RatMat,
    /// Initial A.
    pub a0: RatMat,
}

fn parameter(what: &str, value: String, expected: String) -> ExactError {
    ExactError::Parameter {
        what: what.into(),
        value,
        expected,
    }
}

/// Build an aligned problem.
///
/// # Errors
/// [`ExactError::Parameter`] for a zero size, the wrong number of singular values or per-mode
/// inits, or singular values that are not distinct and > 0; [`ExactError::TooLarge`] for sizes
/// above the exact construction's limits.
pub fn aligned_problem<R: Rng>(spec: &AlignedSpec, rng: &mut R) -> Result<AlignedProblem, ExactError> {
    let (d, h, c) = (spec.d, spec.h, spec.c);
    if d == 0 || h == 0 || c == 0 {
        return Err(parameter("dims", format!("{d},{h},{c}"), "d, h, c ≥ 1".into()));
    }
    let k = d.min(c);
    let m = k.min(h);
    let s = &spec.singular_values;
    if s.len() != k {
        return Err(parameter(
            "singular values",
            format!("{} given", s.len()),
            format!("k = min(d, c) = {k} values"),
        ));
    }
    for (i, si) in s.iter().enumerate() {
        if *si <= 0 || s[..i].contains(si) {
            return Err(parameter(
                "singular values",
                s.iter().map(|q| q.to_f64().to_string()).collect::<Vec<_>>().join(","),
                "distinct values > 0 (a repeated or zero singular value leaves the modes undetermined)".into(),
            ));
        }
    }
    for (name, v) in [("w", &spec.w), ("a", &spec.a)] {
        if v.len() != m {
            return Err(parameter(
                name,
                format!("{} values", v.len()),
                format!("m = min(d, c, h) = {m} per-mode values"),
            ));
        }
    }
    let u = decimal_orthogonal(d, rng)?;
    let v = decimal_orthogonal(c, rng)?;
    let q = decimal_orthogonal(h, rng)?;
    // p = smallest power of 4 ≥ d, scale 1/√p (a power of two): XᵀX = I exactly.
    let mut p = 1usize;
    while p < d {
        p *= 4;
    }
    let scale = Rational::from((1, p.isqrt() as u32));
    let x = transpose(&hadamard_rows(d, p, &scale)?);
    let beta: RatMat = (0..d)
        .map(|r| {
            (0..c)
                .map(|j| (0..k).map(|i| Rational::from(&s[i] * &u[r][i]) * &v[j][i]).sum())
                .collect()
        })
        .collect();
    let y = mat_mul(&x, &beta);
    let outer = |coef: &[Rational], right: &RatMat, cols: usize| -> RatMat {
        (0..h)
            .map(|r| {
                (0..cols)
                    .map(|j| (0..m).map(|i| Rational::from(&coef[i] * &q[r][i]) * &right[j][i]).sum())
                    .collect()
            })
            .collect()
    };
    Ok(AlignedProblem {
        w0: outer(&spec.w, &u, d),
        a0: outer(&spec.a, &v, c),
        x,
        y,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn x_is_whitened_and_x_t_y_has_the_given_singular_values_squared_as_gram_eigenvalues() {
        let spec = AlignedSpec {
            d: 3,
            h: 2,
            c: 2,
            singular_values: vec![Rational::from(3), Rational::from((1, 2))],
            w: vec![Rational::from(1), Rational::new()],
            a: vec![Rational::from((-1, 2)), Rational::from(2)],
        };
        let pr = aligned_problem(&spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(7)).unwrap();
        let xtx = mat_mul(&transpose(&pr.x), &pr.x);
        assert_eq!(xtx, crate::models::lambda_balanced_exact::identity(3));
        // β*ᵀβ* (2×2) has trace s1² + s2² and determinant s1²s2²
        let b = mat_mul(&transpose(&pr.x), &pr.y);
        let n = mat_mul(&transpose(&b), &b);
        let tr = Rational::from(&n[0][0] + &n[1][1]);
        let det = Rational::from(&n[0][0] * &n[1][1]) - Rational::from(&n[0][1] * &n[1][0]);
        assert_eq!(tr, Rational::from(9) + Rational::from((1, 4)));
        assert_eq!(det, Rational::from((9, 4)));
    }

    #[test]
    fn repeated_or_missing_values_are_refused() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let base = AlignedSpec {
            d: 2,
            h: 2,
            c: 2,
            singular_values: vec![Rational::from(1), Rational::from(1)],
            w: vec![Rational::from(1), Rational::from(1)],
            a: vec![Rational::from(1), Rational::from(1)],
        };
        assert!(aligned_problem(&base, &mut rng).is_err());
        let short = AlignedSpec {
            singular_values: vec![Rational::from(2), Rational::from(1)],
            w: vec![Rational::from(1)],
            ..base
        };
        assert!(aligned_problem(&short, &mut rng).is_err());
    }
}
