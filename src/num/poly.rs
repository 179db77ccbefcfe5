//! Exact sparse multivariate polynomials over ℚ, and matrices of them.
//!
//! [`Poly`] is a sparse polynomial with [`rug::Rational`] coefficients in named variables
//! ([`Vars`]); [`PolyMat`] is a dense matrix of them. They exist for one job: expanding the
//! polynomial identities of the theory (conservation laws, the Riccati equation of P2 Lemma 4.1,
//! the NTK formula) with **symbolic** entries, so that "the residual is the zero polynomial" is a
//! proof for every value of the entries, not a check at sample points (`verify::prove`).
//!
//! # Why a small type of our own
//!
//! Crates considered (issue 16):
//! - **symbolica**: fast and complete, but its licence is source-available and forbids copying or
//!   distributing the code without a (paid or hobbyist) licence — incompatible with this MIT/Apache
//!   project.
//! - **flint-sys** (`fmpq_mpoly`, FLINT 3.5): the reference implementation, but a C build of FLINT
//!   (~2.5 min on 2 cores, needs `clang`) and raw FFI for ~100 lines of need; the brief forbids new C
//!   dependencies.
//! - **feanor-math**: pure Rust and general, but a ring-trait framework with its own big integers
//!   (no interop with the `rug` values the case loader produces) and a large compile for the
//!   handful of operations used here.
//! - **ark-poly**: multivariate sparse polynomials over prime fields only (`PrimeField`), not ℚ.
//! - **ocas-poly**, **cas-poly**: young (cas-poly 0.1.0, under half of its items documented);
//!   their own coefficient domains again, no `rug` interop.
//!
//! What is needed is small: +, −, ×, ∂/∂x, evaluation at a rational point, and a deterministic
//! order of terms (for reproducible witnesses). A `BTreeMap` from monomial to `Rational` does that
//! with no new dependency; the identities at the dimensions we prove them (≤ a few thousand terms)
//! expand in milliseconds.
//!
//! Invariants: no stored coefficient is zero; a monomial lists (variable, exponent) pairs sorted
//! by variable, exponents ≥ 1. Hence two polynomials are equal iff their maps are equal, and
//! [`Poly::is_zero`] is exactly "is the zero polynomial".

use rug::Rational;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A variable: an index into a [`Vars`] registry.
pub type Var = u32;

/// A monomial: (variable, exponent ≥ 1) pairs sorted by variable; empty = the constant 1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Monomial(Vec<(Var, u32)>);

impl Monomial {
    /// The (variable, exponent) pairs, sorted by variable.
    pub fn factors(&self) -> &[(Var, u32)] {
        &self.0
    }

    /// Total degree.
    pub fn degree(&self) -> u32 {
        self.0.iter().map(|&(_, e)| e).sum()
    }

    /// The monomial Π v^e from (variable, exponent) pairs in any order (repeated variables are
    /// merged, zero exponents dropped).
    pub fn new(factors: &[(Var, u32)]) -> Monomial {
        let mut f: Vec<(Var, u32)> = factors.iter().copied().filter(|&(_, e)| e > 0).collect();
        f.sort_unstable();
        let mut out: Vec<(Var, u32)> = Vec::with_capacity(f.len());
        for (v, e) in f {
            match out.last_mut() {
                Some(last) if last.0 == v => last.1 += e,
                _ => out.push((v, e)),
            }
        }
        Monomial(out)
    }

    /// The exponent of `v` (0 if it does not occur).
    pub fn exponent(&self, v: Var) -> u32 {
        self.0.binary_search_by_key(&v, |&(x, _)| x).map_or(0, |k| self.0[k].1)
    }

    /// How many times `m` divides `self` (the largest k with m^k | self; `u32::MAX` for m = 1).
    fn times_divisible_by(&self, m: &Monomial) -> u32 {
        m.0.iter().map(|&(v, e)| self.exponent(v) / e).min().unwrap_or(u32::MAX)
    }

    /// `self / m^k` (the caller knows m^k divides self).
    fn div_pow(&self, m: &Monomial, k: u32) -> Monomial {
        let f = self
            .0
            .iter()
            .filter_map(|&(v, e)| {
                let e = e - m.exponent(v) * k;
                (e > 0).then_some((v, e))
            })
            .collect();
        Monomial(f)
    }

    fn mul(&self, other: &Monomial) -> Monomial {
        let (a, b) = (&self.0, &other.0);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => {
                    out.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push((a[i].0, a[i].1 + b[j].1));
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Monomial(out)
    }
}

/// A sparse polynomial over ℚ.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Poly {
    terms: BTreeMap<Monomial, Rational>,
}

impl Poly {
    /// The zero polynomial.
    pub fn zero() -> Poly {
        Poly::default()
    }

    /// A constant.
    pub fn constant(c: impl Into<Rational>) -> Poly {
        let c = c.into();
        let mut p = Poly::zero();
        if c != 0 {
            p.terms.insert(Monomial::default(), c);
        }
        p
    }

    /// The constant 1.
    pub fn one() -> Poly {
        Poly::constant(1)
    }

    /// The polynomial `v`.
    pub fn var(v: Var) -> Poly {
        let mut p = Poly::zero();
        p.terms.insert(Monomial(vec![(v, 1)]), Rational::from(1));
        p
    }

    /// Whether this is the zero polynomial (exact: zero coefficients are never stored).
    pub fn is_zero(&self) -> bool {
        self.terms.is_empty()
    }

    /// Number of terms.
    pub fn n_terms(&self) -> usize {
        self.terms.len()
    }

    /// Total degree (0 for constants and for the zero polynomial).
    pub fn degree(&self) -> u32 {
        self.terms.keys().map(Monomial::degree).max().unwrap_or(0)
    }

    /// The terms in the map's (deterministic) order.
    pub fn terms(&self) -> impl Iterator<Item = (&Monomial, &Rational)> {
        self.terms.iter()
    }

    /// The first term in the deterministic order, if any: a witness that the polynomial is not zero.
    pub fn first_term(&self) -> Option<(&Monomial, &Rational)> {
        self.terms.iter().next()
    }

    fn add_term(&mut self, m: Monomial, c: Rational) {
        use std::collections::btree_map::Entry;
        match self.terms.entry(m) {
            Entry::Vacant(e) => {
                if c != 0 {
                    e.insert(c);
                }
            }
            Entry::Occupied(mut e) => {
                *e.get_mut() += c;
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
    }

    /// `self += k·other`.
    pub fn add_scaled(&mut self, other: &Poly, k: &Rational) {
        if *k == 0 {
            return;
        }
        for (m, c) in &other.terms {
            self.add_term(m.clone(), Rational::from(c * k));
        }
    }

    /// `self · k` for a rational k.
    pub fn scale(&self, k: &Rational) -> Poly {
        let mut p = Poly::zero();
        p.add_scaled(self, k);
        p
    }

    /// Product.
    pub fn mul(&self, other: &Poly) -> Poly {
        let mut p = Poly::zero();
        for (m1, c1) in &self.terms {
            for (m2, c2) in &other.terms {
                p.add_term(m1.mul(m2), Rational::from(c1 * c2));
            }
        }
        p
    }

    /// Sum.
    pub fn add(&self, other: &Poly) -> Poly {
        let mut p = self.clone();
        p.add_scaled(other, &Rational::from(1));
        p
    }

    /// Difference.
    pub fn sub(&self, other: &Poly) -> Poly {
        let mut p = self.clone();
        p.add_scaled(other, &Rational::from(-1));
        p
    }

    /// Negation.
    pub fn neg(&self) -> Poly {
        self.scale(&Rational::from(-1))
    }

    /// Partial derivative ∂/∂v.
    pub fn diff(&self, v: Var) -> Poly {
        let mut p = Poly::zero();
        for (m, c) in &self.terms {
            if let Ok(k) = m.0.binary_search_by_key(&v, |&(x, _)| x) {
                let e = m.0[k].1;
                let mut f = m.0.clone();
                if e == 1 {
                    f.remove(k);
                } else {
                    f[k].1 = e - 1;
                }
                p.add_term(Monomial(f), Rational::from(c * e));
            }
        }
        p
    }

    /// The variables that occur.
    pub fn variables(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self.terms.keys().flat_map(|m| m.0.iter().map(|&(x, _)| x)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Exact value at a rational point; `point(v)` gives the value of variable v.
    pub fn eval(&self, point: &dyn Fn(Var) -> Rational) -> Rational {
        let mut s = Rational::new();
        for (m, c) in &self.terms {
            let mut t = c.clone();
            for &(v, e) in &m.0 {
                let x = point(v);
                for _ in 0..e {
                    t *= &x;
                }
            }
            s += t;
        }
        s
    }

    /// Add the term `c·m`.
    pub fn add_monomial(&mut self, m: Monomial, c: Rational) {
        self.add_term(m, c);
    }

    /// Replace every factor `m^k` (k as large as divides the term) by `r^k`: one rewriting step
    /// of the relation `m = r`, applied to every term at once.
    ///
    /// When no monomial of `r` is divisible by `m` the result has no term divisible by `m`: it is
    /// the normal form of `self` modulo the principal ideal (m − r) for any term order in which
    /// `m` leads `m − r`. With several relations whose leading monomials are pairwise coprime
    /// (Buchberger's first criterion: they are then a Gröbner basis), applying them in an order in
    /// which no later replacement reintroduces an earlier leading monomial gives the unique normal
    /// form; zero normal form ⟺ membership in the ideal.
    ///
    /// # Panics
    /// If `m` is the constant monomial (a programming error).
    pub fn replace_monomial(&self, m: &Monomial, r: &Poly) -> Poly {
        assert!(!m.0.is_empty(), "replace_monomial: m must not be 1");
        let mut powers: Vec<Poly> = vec![Poly::one()];
        let mut out = Poly::zero();
        for (t, c) in &self.terms {
            let k = t.times_divisible_by(m);
            if k == 0 {
                out.add_term(t.clone(), c.clone());
                continue;
            }
            while powers.len() <= k as usize {
                let next = powers[powers.len() - 1].mul(r);
                powers.push(next);
            }
            let rest = t.div_pow(m, k);
            for (m2, c2) in &powers[k as usize].terms {
                out.add_term(rest.mul(m2), Rational::from(c * c2));
            }
        }
        out
    }

    /// The coefficients of the powers of `v`: `out[k]` is the polynomial multiplying `v^k`.
    pub fn coefficients_in(&self, v: Var) -> Vec<Poly> {
        let mut out: Vec<Poly> = Vec::new();
        for (m, c) in &self.terms {
            let k = m.exponent(v) as usize;
            while out.len() <= k {
                out.push(Poly::zero());
            }
            let rest = Monomial(m.0.iter().copied().filter(|&(x, _)| x != v).collect());
            out[k].add_term(rest, c.clone());
        }
        out
    }

    /// Substitute rational values for some variables (the others stay): linear in the number of
    /// terms, unlike repeated [`Poly::substitute`].
    pub fn substitute_values(&self, values: &[(Var, Rational)]) -> Poly {
        let mut out = Poly::zero();
        for (m, c) in &self.terms {
            let mut k = c.clone();
            let mut rest = Vec::with_capacity(m.0.len());
            for &(v, e) in &m.0 {
                match values.iter().find(|(x, _)| *x == v) {
                    Some((_, q)) => {
                        for _ in 0..e {
                            k *= q;
                        }
                    }
                    None => rest.push((v, e)),
                }
            }
            out.add_term(Monomial(rest), k);
        }
        out
    }

    /// Substitute variable `v` by the polynomial `q`.
    pub fn substitute(&self, v: Var, q: &Poly) -> Poly {
        let mut out = Poly::zero();
        for (m, c) in &self.terms {
            let mut rest = Vec::with_capacity(m.0.len());
            let mut e = 0;
            for &(x, k) in &m.0 {
                if x == v {
                    e = k;
                } else {
                    rest.push((x, k));
                }
            }
            let mut t = Poly::zero();
            t.terms.insert(Monomial(rest), c.clone());
            for _ in 0..e {
                t = t.mul(q);
            }
            out = out.add(&t);
        }
        out
    }
}

/// Time derivative of `q` along a vector field: Σ_p ∂q/∂θ_p · θ̇_p, with `field` = [(θ_p, θ̇_p)].
/// Returns the derivative and the number of terms expanded on the way (Σ_p of the product's term
/// counts before the final sum), a measure of the work the proof did.
pub fn lie_derivative(q: &Poly, field: &[(Var, Poly)]) -> (Poly, usize) {
    let mut out = Poly::zero();
    let mut work = 0;
    for (v, vel) in field {
        let dq = q.diff(*v);
        if dq.is_zero() {
            continue;
        }
        let t = dq.mul(vel);
        work += t.n_terms();
        out = out.add(&t);
    }
    (out, work)
}

/// A registry of named variables.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    names: Vec<String>,
}

impl Vars {
    /// An empty registry.
    pub fn new() -> Vars {
        Vars::default()
    }

    /// A new variable named `name` (names are for display only; they need not be unique).
    pub fn new_var(&mut self, name: impl Into<String>) -> Var {
        self.names.push(name.into());
        (self.names.len() - 1) as Var
    }

    /// A new variable as a polynomial, with its id.
    pub fn var(&mut self, name: impl Into<String>) -> (Poly, Var) {
        let v = self.new_var(name);
        (Poly::var(v), v)
    }

    /// A new `rows × cols` matrix of fresh variables `name[i,j]` (1-based in the names), with the
    /// ids in row-major order.
    pub fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> (PolyMat, Vec<Var>) {
        let mut ids = Vec::with_capacity(rows * cols);
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                let v = self.new_var(format!("{name}[{},{}]", i + 1, j + 1));
                ids.push(v);
                data.push(Poly::var(v));
            }
        }
        (PolyMat { rows, cols, data }, ids)
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no variable was made.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of `v`.
    pub fn name(&self, v: Var) -> &str {
        &self.names[v as usize]
    }

    /// A monomial as text, e.g. `a^2·w[1,1]`.
    pub fn monomial(&self, m: &Monomial) -> String {
        if m.0.is_empty() {
            return "1".into();
        }
        let mut s = String::new();
        for (k, &(v, e)) in m.0.iter().enumerate() {
            if k > 0 {
                s.push('·');
            }
            s.push_str(self.name(v));
            if e > 1 {
                let _ = write!(s, "^{e}");
            }
        }
        s
    }

    /// A polynomial as text (terms in the deterministic order; at most `max_terms`, then `+ …`).
    pub fn show(&self, p: &Poly, max_terms: usize) -> String {
        if p.is_zero() {
            return "0".into();
        }
        let mut s = String::new();
        for (k, (m, c)) in p.terms().enumerate() {
            if k == max_terms {
                s.push_str(" + …");
                break;
            }
            if k > 0 {
                s.push_str(" + ");
            }
            let _ = write!(s, "({c})·{}", self.monomial(m));
        }
        s
    }
}

/// A dense matrix of polynomials (row-major).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyMat {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Entries, row-major.
    pub data: Vec<Poly>,
}

impl PolyMat {
    /// The zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> PolyMat {
        PolyMat {
            rows,
            cols,
            data: vec![Poly::zero(); rows * cols],
        }
    }

    /// `c·I_n` for a polynomial c.
    pub fn scalar(n: usize, c: &Poly) -> PolyMat {
        let mut m = PolyMat::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = c.clone();
        }
        m
    }

    /// The identity.
    pub fn identity(n: usize) -> PolyMat {
        PolyMat::scalar(n, &Poly::one())
    }

    /// A matrix of rational constants (row-major rows).
    pub fn from_rationals(rows: &[Vec<Rational>]) -> PolyMat {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        PolyMat {
            rows: r,
            cols: c,
            data: rows.iter().flatten().map(|x| Poly::constant(x.clone())).collect(),
        }
    }

    /// Entry (i, j).
    pub fn at(&self, i: usize, j: usize) -> &Poly {
        &self.data[i * self.cols + j]
    }

    /// Mutable entry (i, j).
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut Poly {
        &mut self.data[i * self.cols + j]
    }

    /// Transpose.
    pub fn t(&self) -> PolyMat {
        let mut m = PolyMat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                m.data[j * self.rows + i] = self.at(i, j).clone();
            }
        }
        m
    }

    /// Matrix product.
    ///
    /// # Panics
    /// If the inner dimensions differ (a programming error, not an input error).
    pub fn mul(&self, other: &PolyMat) -> PolyMat {
        assert_eq!(self.cols, other.rows, "PolyMat::mul: inner dimensions differ");
        let mut m = PolyMat::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            for j in 0..other.cols {
                let mut s = Poly::zero();
                for k in 0..self.cols {
                    let (a, b) = (self.at(i, k), other.at(k, j));
                    if !a.is_zero() && !b.is_zero() {
                        s = s.add(&a.mul(b));
                    }
                }
                m.data[i * other.cols + j] = s;
            }
        }
        m
    }

    fn zip(&self, other: &PolyMat, f: impl Fn(&Poly, &Poly) -> Poly) -> PolyMat {
        assert_eq!(
            (self.rows, self.cols),
            (other.rows, other.cols),
            "PolyMat: shapes differ"
        );
        PolyMat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().zip(&other.data).map(|(a, b)| f(a, b)).collect(),
        }
    }

    /// Sum.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn add(&self, other: &PolyMat) -> PolyMat {
        self.zip(other, Poly::add)
    }

    /// Difference.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn sub(&self, other: &PolyMat) -> PolyMat {
        self.zip(other, Poly::sub)
    }

    /// Every entry times the polynomial `c`.
    pub fn times(&self, c: &Poly) -> PolyMat {
        PolyMat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|a| a.mul(c)).collect(),
        }
    }

    /// Every entry times the rational `k`.
    pub fn scale(&self, k: &Rational) -> PolyMat {
        PolyMat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|a| a.scale(k)).collect(),
        }
    }

    /// Frobenius inner product Σ_ij A_ij B_ij.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn dot(&self, other: &PolyMat) -> Poly {
        assert_eq!(
            (self.rows, self.cols),
            (other.rows, other.cols),
            "PolyMat::dot: shapes differ"
        );
        let mut s = Poly::zero();
        for (a, b) in self.data.iter().zip(&other.data) {
            s = s.add(&a.mul(b));
        }
        s
    }

    /// Stack `self` on top of `other` (same number of columns).
    ///
    /// # Panics
    /// If the column counts differ.
    pub fn vstack(&self, other: &PolyMat) -> PolyMat {
        assert_eq!(self.cols, other.cols, "PolyMat::vstack: column counts differ");
        let mut data = self.data.clone();
        data.extend_from_slice(&other.data);
        PolyMat {
            rows: self.rows + other.rows,
            cols: self.cols,
            data,
        }
    }

    /// Block-diagonal matrix diag(a, b).
    pub fn block_diag(a: &PolyMat, b: &PolyMat) -> PolyMat {
        let n = a.rows + b.rows;
        let m = a.cols + b.cols;
        let mut out = PolyMat::zeros(n, m);
        for i in 0..a.rows {
            for j in 0..a.cols {
                *out.at_mut(i, j) = a.at(i, j).clone();
            }
        }
        for i in 0..b.rows {
            for j in 0..b.cols {
                *out.at_mut(a.rows + i, a.cols + j) = b.at(i, j).clone();
            }
        }
        out
    }

    /// The 2×2 block matrix [[a, b], [c, d]].
    ///
    /// # Panics
    /// If the block shapes do not fit.
    pub fn blocks(a: &PolyMat, b: &PolyMat, c: &PolyMat, d: &PolyMat) -> PolyMat {
        assert!(a.rows == b.rows && c.rows == d.rows && a.cols == c.cols && b.cols == d.cols);
        let mut out = PolyMat::zeros(a.rows + c.rows, a.cols + b.cols);
        for (blk, r0, c0) in [(a, 0, 0), (b, 0, a.cols), (c, a.rows, 0), (d, a.rows, a.cols)] {
            for i in 0..blk.rows {
                for j in 0..blk.cols {
                    *out.at_mut(r0 + i, c0 + j) = blk.at(i, j).clone();
                }
            }
        }
        out
    }

    /// Kronecker product A ⊗ B.
    pub fn kron(a: &PolyMat, b: &PolyMat) -> PolyMat {
        let mut out = PolyMat::zeros(a.rows * b.rows, a.cols * b.cols);
        for i in 0..a.rows {
            for j in 0..a.cols {
                let aij = a.at(i, j);
                if aij.is_zero() {
                    continue;
                }
                for k in 0..b.rows {
                    for l in 0..b.cols {
                        *out.at_mut(i * b.rows + k, j * b.cols + l) = aij.mul(b.at(k, l));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_cancels_and_derivatives_are_exact() {
        let mut vars = Vars::new();
        let (x, vx) = vars.var("x");
        let (y, _) = vars.var("y");
        // (x + y)² − x² − 2xy − y² = 0
        let s = x.add(&y);
        let r = s
            .mul(&s)
            .sub(&x.mul(&x))
            .sub(&x.mul(&y).scale(&Rational::from(2)))
            .sub(&y.mul(&y));
        assert!(r.is_zero());
        // ∂/∂x (x³y/3) = x²y
        let p = x.mul(&x).mul(&x).mul(&y).scale(&Rational::from((1, 3)));
        assert_eq!(p.diff(vx), x.mul(&x).mul(&y));
        let v = p.eval(&|v| {
            if v == vx {
                Rational::from(2)
            } else {
                Rational::from((3, 2))
            }
        });
        assert_eq!(v, Rational::from(4)); // 8·(3/2)/3
    }

    #[test]
    fn monomial_replacement_is_the_normal_form_modulo_the_relation() {
        let mut vars = Vars::new();
        let (k, vk) = vars.var("K");
        let (x, vx) = vars.var("x");
        // K² = x + 1: K⁵·x ↦ K·x·(x + 1)²
        let k5x = (0..5).fold(Poly::one(), |p, _| p.mul(&k)).mul(&x);
        let r = x.add(&Poly::one());
        let got = k5x.replace_monomial(&Monomial::new(&[(vk, 2)]), &r);
        assert_eq!(got, k.mul(&x).mul(&r).mul(&r));
        assert_eq!(got.coefficients_in(vk).len(), 2);
        let at = got.substitute_values(&[(vx, Rational::from(1))]);
        assert_eq!(at, k.scale(&Rational::from(4)));
        assert_eq!(Monomial::new(&[(vx, 1), (vk, 2), (vx, 2)]).exponent(vx), 3);
    }
}
