//! Dense matrices over any [`Real`] scalar (f64, MPFR, ball), so that a matrix formula — the
//! λ-balanced Riccati solution of `docs/theory.md` §4.4, the kernel distance of §4.6 — is written
//! once for every number type (`../shared/style.md` §7).
//!
//! Small dimensions only (the closed forms' d_i + d_o ≤ a few dozen): plain row-major storage and
//! textbook loops. Over balls every operation is an enclosure because each scalar operation is;
//! the pivot choice of [`Mat::solve`] uses midpoints, which only affects tightness.

use crate::num::real::{Real, RealError};

/// A row-major `rows × cols` matrix of `S`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat<S> {
    rows: usize,
    cols: usize,
    data: Vec<S>,
}

impl<S: Real> Mat<S> {
    /// The matrix with entries `f(i, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> S) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Mat { rows, cols, data }
    }

    /// The zero matrix; `like` fixes the scalar's precision.
    pub fn zeros(rows: usize, cols: usize, like: &S) -> Self {
        let z = like.real(0.0);
        Mat {
            rows,
            cols,
            data: vec![z; rows * cols],
        }
    }

    /// The n×n identity; `like` fixes the scalar's precision.
    pub fn identity(n: usize, like: &S) -> Self {
        let (z, o) = (like.real(0.0), like.real(1.0));
        Self::from_fn(n, n, |i, j| if i == j { o.clone() } else { z.clone() })
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.cols
    }
    /// Entry (i, j).
    pub fn at(&self, i: usize, j: usize) -> &S {
        &self.data[i * self.cols + j]
    }
    /// Mutable entry (i, j).
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut S {
        &mut self.data[i * self.cols + j]
    }
    /// Entries, row-major.
    pub fn entries(&self) -> &[S] {
        &self.data
    }

    /// The entrywise image under `f`.
    #[must_use]
    pub fn map(&self, f: impl Fn(&S) -> S) -> Self {
        Mat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(f).collect(),
        }
    }

    /// The transpose.
    #[must_use]
    pub fn transpose(&self) -> Self {
        Self::from_fn(self.cols, self.rows, |i, j| self.at(j, i).clone())
    }

    /// The block of size nr×nc at (r0, c0).
    #[must_use]
    pub fn block(&self, r0: usize, c0: usize, nr: usize, nc: usize) -> Self {
        Self::from_fn(nr, nc, |i, j| self.at(r0 + i, c0 + j).clone())
    }

    /// self·b (inner dimensions must agree; callers build conforming shapes).
    #[must_use]
    pub fn mul(&self, b: &Self) -> Self {
        assert_eq!(
            self.cols, b.rows,
            "Mat::mul: {}×{} times {}×{}",
            self.rows, self.cols, b.rows, b.cols
        );
        // One scratch value for the whole product: no allocation per term over balls
        // ([`Real::add_mul_r`], the same value as `acc.plus(&a.times(b))`).
        let Some(mut tmp) = self.data.first().cloned() else {
            // No entries: rows = 0 (so has the product) or cols = 0 (an empty inner sum, refused as before).
            return Self::from_fn(self.rows, b.cols, |_, _| panic!("Mat::mul: empty inner dimension"));
        };
        Self::from_fn(self.rows, b.cols, |i, j| {
            let mut acc = self.at(i, 0).times(b.at(0, j));
            for k in 1..self.cols {
                acc.add_mul_r(self.at(i, k), b.at(k, j), &mut tmp);
            }
            acc
        })
    }

    /// self + b.
    #[must_use]
    pub fn add(&self, b: &Self) -> Self {
        Self::from_fn(self.rows, self.cols, |i, j| self.at(i, j).plus(b.at(i, j)))
    }

    /// self − b.
    #[must_use]
    pub fn sub(&self, b: &Self) -> Self {
        Self::from_fn(self.rows, self.cols, |i, j| self.at(i, j).minus(b.at(i, j)))
    }

    /// c·self.
    #[must_use]
    pub fn scale(&self, c: &S) -> Self {
        Self::from_fn(self.rows, self.cols, |i, j| self.at(i, j).times(c))
    }

    /// Trace (square matrices).
    pub fn trace(&self) -> S {
        let mut acc = self.at(0, 0).clone();
        for i in 1..self.rows.min(self.cols) {
            acc = acc.plus(self.at(i, i));
        }
        acc
    }

    /// Σ_ij self_ij·b_ij (the Frobenius inner product).
    pub fn frobenius_dot(&self, b: &Self) -> S {
        let mut it = self.data.iter().zip(&b.data);
        let (a0, b0) = it.next().expect("non-empty matrix");
        it.fold(a0.times(b0), |acc, (x, y)| acc.plus(&x.times(y)))
    }

    /// (self + selfᵀ)/2: for a matrix known to be symmetric this loses nothing (over balls the
    /// average of two enclosures of the same number encloses it) and removes the asymmetry
    /// rounding leaves.
    #[must_use]
    pub fn symmetrized(&self) -> Self {
        let half = self.at(0, 0).real(0.5);
        Self::from_fn(self.rows, self.cols, |i, j| {
            if i == j {
                self.at(i, j).clone()
            } else {
                self.at(i, j).plus(self.at(j, i)).times(&half)
            }
        })
    }

    /// Every entry widened by `r` ([`Real::widen_r`]): accounts for a proven entrywise error.
    #[must_use]
    pub fn widened(&self, r: f64) -> Self {
        Self::from_fn(self.rows, self.cols, |i, j| self.at(i, j).widen_r(r))
    }

    /// An upper bound of the ∞-norm max_i Σ_j |a_ij| ([`Real::mag_up_r`], summed rounding up
    /// by a relative 2⁻⁵⁰ per term).
    pub fn norm_inf_up(&self) -> f64 {
        (0..self.rows)
            .map(|i| {
                (0..self.cols)
                    .map(|j| self.at(i, j).mag_up_r())
                    .fold(0.0, |s, v| (s + v) * (1.0 + f64::EPSILON * 4.0))
            })
            .fold(0.0, f64::max)
    }

    /// The largest |entry|, upper bound.
    pub fn max_abs_up(&self) -> f64 {
        self.data.iter().map(Real::mag_up_r).fold(0.0, f64::max)
    }

    /// X with self·X = b (self square), by Gaussian elimination with partial pivoting (pivots
    /// chosen by midpoint magnitude).
    ///
    /// # Errors
    /// [`RealError`] when a pivot is zero (or, over balls, contains zero).
    pub fn solve(&self, b: &Self) -> Result<Self, RealError> {
        let n = self.rows;
        let m = b.cols;
        let mut a = self.clone();
        let mut x = b.clone();
        let Some(mut tmp) = self.data.first().cloned() else {
            return Ok(x);
        };
        for col in 0..n {
            let piv = (col..n)
                .max_by(|&i, &j| a.at(i, col).to_f64_r().abs().total_cmp(&a.at(j, col).to_f64_r().abs()))
                .unwrap_or(col);
            if piv != col {
                for j in 0..n {
                    a.data.swap(col * n + j, piv * n + j);
                }
                for j in 0..m {
                    x.data.swap(col * m + j, piv * m + j);
                }
            }
            for i in col + 1..n {
                let f = a.at(i, col).over(a.at(col, col))?;
                // Rows col < i: the pivot row is read while row i is updated in place
                // ([`Real::sub_mul_r`], the same value as `v.minus(&f.times(p))`).
                let (top, bottom) = a.data.split_at_mut(i * n);
                for j in col..n {
                    bottom[j].sub_mul_r(&f, &top[col * n + j], &mut tmp);
                }
                let (top, bottom) = x.data.split_at_mut(i * m);
                for j in 0..m {
                    bottom[j].sub_mul_r(&f, &top[col * m + j], &mut tmp);
                }
            }
        }
        for i in (0..n).rev() {
            for j in 0..m {
                let mut s = x.at(i, j).clone();
                for k in i + 1..n {
                    s.sub_mul_r(a.at(i, k), x.at(k, j), &mut tmp);
                }
                *x.at_mut(i, j) = s.over(a.at(i, i))?;
            }
        }
        Ok(x)
    }

    /// The inverse (self square).
    ///
    /// # Errors
    /// As [`Mat::solve`].
    pub fn inverse(&self) -> Result<Self, RealError> {
        self.solve(&Self::identity(self.rows, self.at(0, 0)))
    }

    /// Entries converted to f64 (nearest; a ball's midpoint).
    pub fn to_f64(&self) -> nalgebra::DMatrix<f64> {
        nalgebra::DMatrix::from_fn(self.rows, self.cols, |i, j| self.at(i, j).to_f64_r())
    }
}

impl<S: Real> Mat<S> {
    /// The matrix of `m`'s f64 entries as `S` values (exact for balls and MPFR of ≥ 53 bits).
    pub fn from_f64(m: &nalgebra::DMatrix<f64>, like: &S) -> Self {
        Self::from_fn(m.nrows(), m.ncols(), |i, j| like.real(m[(i, j)]))
    }
}
