//! Exact rational matrices for the claims' assumption checks: the case's decimals read as exact
//! rationals ([`qmat`], [`qnum`]), products and sums (the products are
//! [`crate::models::lambda_balanced_exact`]'s), Frobenius defects, an exact inverse, the
//! characteristic polynomial and a square-free test (distinct eigenvalues, decided exactly).
//!
//! Matrices are row-major `Vec<Vec<Rational>>`; callers check shapes before calling (a shape
//! mismatch here is a programming error).

use super::claims::ProveError;
pub(super) use crate::models::lambda_balanced_exact::{mat_mul as mul, transpose as t};
use crate::num::decimal::Num;
use rug::Rational;

/// A row-major exact rational matrix.
pub(super) type QMat = Vec<Vec<Rational>>;

/// The decimals of `rows` as exact rationals.
///
/// # Errors
/// [`ProveError::Decimal`] naming `field` for a number that is not finite.
pub(super) fn qmat(rows: &[Vec<Num>], field: &str) -> Result<QMat, ProveError> {
    rows.iter()
        .map(|r| r.iter().map(|x| qnum(x, field)).collect())
        .collect()
}

/// One decimal as an exact rational.
///
/// # Errors
/// [`ProveError::Decimal`] naming `field`.
pub(super) fn qnum(x: &Num, field: &str) -> Result<Rational, ProveError> {
    x.to_rational().map_err(|source| ProveError::Decimal {
        field: field.to_string(),
        source,
    })
}

/// Number of columns (0 for an empty matrix).
pub(super) fn cols(m: &QMat) -> usize {
    m.first().map_or(0, Vec::len)
}

/// k·A.
pub(super) fn scale(a: &QMat, k: &Rational) -> QMat {
    a.iter()
        .map(|r| r.iter().map(|x| Rational::from(x * k)).collect())
        .collect()
}

/// A − B.
pub(super) fn sub(a: &QMat, b: &QMat) -> QMat {
    a.iter()
        .zip(b)
        .map(|(r, s)| r.iter().zip(s).map(|(x, y)| Rational::from(x - y)).collect())
        .collect()
}

/// tr A.
pub(super) fn trace(a: &QMat) -> Rational {
    let mut s = Rational::new();
    for (i, r) in a.iter().enumerate() {
        s += &r[i];
    }
    s
}

/// ‖A − s·I‖²_F exactly.
pub(super) fn defect_sq(a: &QMat, s: &Rational) -> Rational {
    let mut acc = Rational::new();
    for (i, r) in a.iter().enumerate() {
        for (j, x) in r.iter().enumerate() {
            let d = if i == j { Rational::from(x - s) } else { x.clone() };
            acc += Rational::from(&d * &d);
        }
    }
    acc
}

/// ‖A‖²_F exactly.
pub(super) fn frob_sq(a: &QMat) -> Rational {
    defect_sq(a, &Rational::new()) // diagonal shifted by 0
}

/// √ of an exact nonnegative rational, as f64 (for display).
pub(super) fn sqrt_f64(x: &Rational) -> f64 {
    x.to_f64().sqrt()
}

/// The n×n identity.
pub(super) fn eye(n: usize) -> QMat {
    crate::models::lambda_balanced_exact::identity(n)
}

/// A⁻¹ by Gauss–Jordan elimination over ℚ, or `None` when A is singular.
pub(super) fn inverse(a: &QMat) -> Option<QMat> {
    let n = a.len();
    let mut m: QMat = a
        .iter()
        .zip(eye(n))
        .map(|(r, e)| r.iter().cloned().chain(e).collect())
        .collect();
    for col in 0..n {
        let piv = (col..n).find(|&r| m[r][col] != 0)?;
        m.swap(col, piv);
        let p = m[col][col].clone();
        for x in &mut m[col] {
            *x /= &p;
        }
        let prow = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col && row[col] != 0 {
                let f = row[col].clone();
                for (x, y) in row.iter_mut().zip(&prow) {
                    *x -= Rational::from(&f * y);
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[n..].to_vec()).collect())
}

/// The characteristic polynomial det(λI − A) of a square A, coefficients from λ⁰ up to λⁿ
/// (monic), by the Faddeev–LeVerrier recursion (exact over ℚ: M₀ = 0, c_n = 1,
/// M_j = A·M_{j−1} + c_{n−j+1}·I, c_{n−j} = −tr(A·M_j)/j).
pub(super) fn charpoly(a: &QMat) -> Vec<Rational> {
    let n = a.len();
    let mut c = vec![Rational::new(); n + 1];
    c[n] = Rational::from(1);
    let mut m: QMat = vec![vec![Rational::new(); n]; n];
    for j in 1..=n {
        let mut next = mul(a, &m);
        for (i, row) in next.iter_mut().enumerate() {
            row[i] += &c[n + 1 - j];
        }
        m = next;
        c[n - j] = -trace(&mul(a, &m)) / Rational::from(j as u32);
    }
    c
}

/// Degree of a polynomial (coefficients low → high), `None` for the zero polynomial.
fn degree(p: &[Rational]) -> Option<usize> {
    p.iter().rposition(|x| *x != 0)
}

/// The remainder of p modulo q ≠ 0 over ℚ.
fn rem(p: &[Rational], q: &[Rational]) -> Vec<Rational> {
    let mut r = p.to_vec();
    let Some(dq) = degree(q) else { return r };
    while let Some(dr) = degree(&r) {
        if dr < dq {
            break;
        }
        let f = Rational::from(&r[dr] / &q[dq]);
        for (i, qi) in q[..=dq].iter().enumerate() {
            r[dr - dq + i] -= Rational::from(&f * qi);
        }
        r.truncate(dr); // the leading coefficient is now exactly zero
    }
    r
}

/// Whether p (degree ≥ 1) has no repeated complex root: gcd(p, p′) is a nonzero constant
/// (Euclid's algorithm over ℚ, exact).
pub(super) fn square_free(p: &[Rational]) -> bool {
    let Some(n) = degree(p) else { return false };
    if n == 0 {
        return true;
    }
    let dp: Vec<Rational> = (1..=n).map(|i| Rational::from(&p[i] * i as u32)).collect();
    let (mut a, mut b) = (p[..=n].to_vec(), dp);
    while degree(&b).is_some() {
        let r = rem(&a, &b);
        a = b;
        b = r;
    }
    degree(&a) == Some(0)
}

/// AB − BA.
pub(super) fn commutator(a: &QMat, b: &QMat) -> QMat {
    sub(&mul(a, b), &mul(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(rows: &[&[i64]]) -> QMat {
        rows.iter()
            .map(|r| r.iter().map(|&x| Rational::from(x)).collect())
            .collect()
    }

    #[test]
    fn charpoly_of_a_known_matrix() {
        // [[2, 1], [1, 2]]: λ² − 4λ + 3 = (λ − 1)(λ − 3).
        let c = charpoly(&q(&[&[2, 1], &[1, 2]]));
        assert_eq!(c, vec![Rational::from(3), Rational::from(-4), Rational::from(1)]);
        assert!(square_free(&c));
        // diag(2, 2, 5): (λ − 2)²(λ − 5), a repeated root.
        let c = charpoly(&q(&[&[2, 0, 0], &[0, 2, 0], &[0, 0, 5]]));
        assert_eq!(
            c,
            vec![
                Rational::from(-20),
                Rational::from(24),
                Rational::from(-9),
                Rational::from(1)
            ]
        );
        assert!(!square_free(&c));
    }

    #[test]
    fn inverse_times_matrix_is_identity_and_singular_is_none() {
        let a = q(&[&[2, 1, 0], &[1, 3, 1], &[0, 1, 4]]);
        let inv = inverse(&a).unwrap();
        assert_eq!(mul(&a, &inv), eye(3));
        assert!(inverse(&q(&[&[1, 2], &[2, 4]])).is_none());
    }
}
