//! Exact decimal inputs for the λ-balanced closed form (P2; `docs/theory.md` §4.1–4.2).
//!
//! The closed form QQᵀ(t) ([`crate::exact::lambda_balanced`]) is the flow of the network only
//! when the data are whitened, XXᵀ = P·I, and the initialisation is λ-balanced,
//! W2ᵀW2 − W1W1ᵀ = λI, *exactly*. A bound "covers the decimal inputs as written", so inputs built
//! in f64 (balanced to ~1e-16) would make a rigorous closed form certify a neighbouring problem.
//! This module builds inputs whose entries are finite decimals (rationals with denominators
//! 2^a·5^b) satisfying both identities exactly, and checks given inputs in exact rational
//! arithmetic ([`exact_assumptions`]).
//!
//! Deviation from the house style: `models` is f64-only elsewhere; this module names
//! `rug::Rational`, because exactness is its purpose. Matrices are row-major [`RatMat`].
//!
//! **Decimal orthogonal matrices** ([`decimal_orthogonal`]): products of Givens rotations with
//! (cos, sin) from the decimal Pythagorean triples [`PYTHAGOREAN`] (3/5, 4/5), (7/25, 24/25),
//! (44/125, 117/125), random order/sign, plus random row signs. n − 1 rotations chain the
//! coordinates in a random order (so every entry is generically non-zero) and ⌈n/2⌉ more act on
//! random planes: 3n/2 rotations, each adding 1–3 decimal places (the triple with denominator 5
//! is drawn with probability 3/5, 25 and 125 with 1/4 and 3/20), i.e. ≈ 2n places per entry —
//! about 5 digits for n = 3 and 16 for n = 8 (measured in the tests). More rotations would look
//! no more generic to the experiments but lengthen every product.
//!
//! **Whitened data** ([`hadamard_rows`]): d_i rows of the Sylvester–Hadamard matrix of order
//! P = 2^k ≥ d_i (entries ±1, rows orthogonal), so XXᵀ = P·I.
//!
//! **Task** ([`task_with_singular_values`]): Σ̃_yx = U diag(s) Vᵀ with decimal orthogonal U, V
//! and Y = Σ̃_yx·X, so YXᵀ/P = Σ̃_yx exactly.
//!
//! **λ-balanced initialisation** ([`balanced_init`]), mirroring
//! [`super::lambda_balanced::random_init`]: the target mode strengths s_k are the singular values
//! of a product of two σ-scaled Gaussian matrices (as there); W1 = R·C·Vᵀ, W2 = U·D·Rᵀ with
//! decimal orthogonal R, U, V, where the columns of Q̂ = [Cᵀ; D] satisfy DᵀD − CCᵀ = λI exactly.
//! A single mode needs decimals (c, d) with d² − c² = λ, i.e. d − c = u, d + c = λ/u with u and
//! λ/u decimal: for λ = 2 that forces u = 2^a·5^b, and such u are so sparse near √λ that a small
//! c (a small initial strength c·d) needs hundreds of digits (with ≤ 40 digits the smallest
//! c > 0 is ≈ 0.007 for λ = 2 and 0.375 for λ = 1000; measured). \[D\] Instead every mode starts
//! at the decimal point d0 + c0 = 1/w, d0 − c0 = λw (w = [`BalancedInit::anchor`], a power of
//! ten; one formula for every sign of λ, continuous through λ = 0) and is moved along its
//! hyperbola d² − c² = λ by a *complex boost*: on two planes k, l (input and output coordinates),
//! with z = in_k + i·in_l and w = out_k ± i·out_l, the map w ← Aw + Bz, z ← B̄w + Āz preserves
//! the form |w|² − |z|² (hence every inner product W2ᵀW2 − W1W1ᵀ) whenever |A|² − |B|² = 1, which
//! for A = a1 + i a2, B = b1 + i b2 reads (a1−b1)(a1+b1) + (a2−b2)(a2+b2) = 1: with a1 − b1 = g
//! (1/100, or a smaller power of ten when needed) and a2 ± b2 rounded to `D` significant digits,
//! a1 + b1 = (1 − (a2−b2)(a2+b2))/g is decimal. The decimal (A, B) ≈ e^{iθ}(cosh ψ, sinh ψ) with
//! cos θ = g·e^ψ: a real boost by ψ of both planes (by −ψ on plane l for the orientation −), which
//! multiplies d + c by e^ψ, times rotations of the input and of the output coordinates of the two
//! planes, which change no singular value of W1, W2 or W2W1 (θ ≈ π/2 − g·e^ψ hardly varies with
//! λ). The two orientations boost plane k by ψ₊ + ψ₋ and plane l by ψ₊ − ψ₋, so one pair of
//! boosts puts two modes at their targets; with an odd number of modes the last is boosted against
//! plane 0 with a net zero boost there. The rotation picked up by the first boost commutes with
//! the second (it multiplies (z, w) of the other orientation by one phase), so the composite is
//! exact as D → ∞, and D digits leave relative errors ~10^{2−D} in the strengths. The price is
//! length: each boost adds ≈ 2D + 4 decimal places, so entries have 25–90 significant digits
//! (measured in `tests/it/lambda_balanced_exact.rs`; ~60 typical), more than a Givens-only
//! construction, but the only way found to keep the experiments' init scales (σ = 0.03 … 0.5)
//! for every λ. Exact rational arithmetic on such numbers is cheap at these sizes (≤ 8×8).
//!
//! Hidden directions beyond the m = min(h, d_i, d_o) modes (h > min(d_i, d_o), see
//! [`super::lambda_balanced::check_feasible`]) get √λ on an unused output direction (λ > 0),
//! √(−λ) on an unused input direction (λ < 0) or nothing (λ = 0), as in the f64 version; here √|λ|
//! must be a decimal ([`ExactError::Unsupported`] otherwise). With d_i = 1 or d_o = 1 there is no
//! second plane to boost against, and the single mode keeps (c0, d0).

use super::lambda_balanced::{InitError, check_feasible, mode_factors};
use crate::case::LambdaBalancedCase;
use crate::num::decimal::Num;
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::StandardNormal;
use rug::{Float, Integer, Rational};

/// A rational matrix, row-major (`m[i][j]`).
pub type RatMat = Vec<Vec<Rational>>;

/// The decimal Pythagorean triples (a, b, c), a² + b² = c², c a power of 5: (a/c, b/c) is a
/// decimal (cos, sin) pair.
pub const PYTHAGOREAN: [(i64, i64, i64); 3] = [(3, 4, 5), (7, 24, 25), (44, 117, 125)];

/// Largest dimension (d_i, h, d_o or P) the constructions accept: the products are O(n³) in
/// rationals whose length grows with n.
pub const MAX_BUILD_DIM: usize = 256;
/// Largest dimension [`exact_assumptions`] accepts.
pub const MAX_CHECK_DIM: usize = 4096;
/// Largest number of multiply-adds [`exact_assumptions`] performs (d_i²·P + h²·(d_i + d_o)): at
/// ~1 µs each for 100-digit operands, ≲ 30 s.
pub const MAX_CHECK_WORK: usize = 30_000_000;
/// Largest size of one entry in [`exact_assumptions`], in bits of numerator plus denominator
/// (≈ 1,200 decimal digits): `1e99999` is a short text but a 330,000-bit number.
pub const MAX_ENTRY_BITS: u32 = 4096;

/// Errors from the exact constructions and conversions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExactError {
    /// An input has the wrong shape.
    #[error("{what} has the wrong shape: expected {expected}, found {found}")]
    Shape {
        /// Which input.
        what: String,
        /// Expected shape.
        expected: String,
        /// Found shape.
        found: String,
    },
    /// An input is too large to process exactly.
    #[error("{what} = {value} exceeds the limit {limit} of exact rational arithmetic ({why})")]
    TooLarge {
        /// What was measured.
        what: String,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
        /// Why the limit exists.
        why: String,
    },
    /// A rational has no finite decimal expansion.
    #[error("{value} has no finite decimal expansion (its denominator has a prime factor other than 2 and 5)")]
    NotDecimal {
        /// The rational, as p/q.
        value: String,
    },
    /// A decimal entry could not be read.
    #[error("{what}[{row}][{col}] = '{text}': {problem}")]
    Entry {
        /// Which matrix.
        what: String,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// The text.
        text: String,
        /// What is wrong.
        problem: String,
    },
    /// A bad parameter.
    #[error("{what} = {value} is invalid: {expected}")]
    Parameter {
        /// Which parameter.
        what: String,
        /// Its value.
        value: String,
        /// What is expected.
        expected: String,
    },
    /// The combination is feasible in real numbers but not built exactly here.
    #[error("not built exactly: {reason}")]
    Unsupported {
        /// Why, and what would work.
        reason: String,
    },
    /// No λ-balanced initialisation exists for these dimensions and sign of λ.
    #[error(transparent)]
    Infeasible(#[from] InitError),
}

/// One Givens rotation G: the identity except G_ii = G_jj = cos, G_ij = −sin, G_ji = sin.
#[derive(Debug, Clone, PartialEq)]
pub struct Givens {
    /// First index.
    pub i: usize,
    /// Second index (≠ i).
    pub j: usize,
    /// cos.
    pub cos: Rational,
    /// sin (cos² + sin² = 1 for an orthogonal G).
    pub sin: Rational,
}

impl Givens {
    /// The rotation with (cos, sin) = (a/c, b/c) for integers with a² + b² = c².
    pub fn from_triple(i: usize, j: usize, a: i64, b: i64, c: i64) -> Self {
        Givens {
            i,
            j,
            cos: Rational::from((a, c)),
            sin: Rational::from((b, c)),
        }
    }
}

fn check_dim(what: &str, n: usize, limit: usize) -> Result<(), ExactError> {
    if n == 0 {
        return Err(ExactError::Parameter {
            what: what.into(),
            value: "0".into(),
            expected: "≥ 1".into(),
        });
    }
    if n > limit {
        return Err(ExactError::TooLarge {
            what: what.into(),
            value: n as u64,
            limit: limit as u64,
            why: "rational products cost O(n³) operations on growing numbers".into(),
        });
    }
    Ok(())
}

/// The n×n identity.
pub fn identity(n: usize) -> RatMat {
    (0..n)
        .map(|i| (0..n).map(|j| Rational::from(i32::from(i == j))).collect())
        .collect()
}

/// A·B.
///
/// # Panics
/// If the inner dimensions differ (an internal invariant of this module's callers).
pub fn mat_mul(a: &[Vec<Rational>], b: &[Vec<Rational>]) -> RatMat {
    let inner = b.len();
    let cols = b.first().map_or(0, Vec::len);
    a.iter()
        .map(|row| {
            assert_eq!(row.len(), inner, "inner dimensions differ");
            (0..cols)
                .map(|j| {
                    let mut acc = Rational::new();
                    for (k, x) in row.iter().enumerate() {
                        if *x != 0 {
                            acc += Rational::from(x * &b[k][j]);
                        }
                    }
                    acc
                })
                .collect()
        })
        .collect()
}

/// Aᵀ.
pub fn transpose(a: &[Vec<Rational>]) -> RatMat {
    let cols = a.first().map_or(0, Vec::len);
    (0..cols).map(|j| a.iter().map(|r| r[j].clone()).collect()).collect()
}

/// The product G_1·G_2⋯G_k of Givens rotations (n×n).
///
/// # Errors
/// [`ExactError::Parameter`] for an index ≥ n or i = j; [`ExactError::TooLarge`] for n >
/// [`MAX_BUILD_DIM`].
pub fn givens_product(n: usize, rotations: &[Givens]) -> Result<RatMat, ExactError> {
    check_dim("n", n, MAX_BUILD_DIM)?;
    let mut m = identity(n);
    for g in rotations {
        if g.i >= n || g.j >= n || g.i == g.j {
            return Err(ExactError::Parameter {
                what: "Givens plane".into(),
                value: format!("({}, {})", g.i, g.j),
                expected: format!("two distinct indices < {n}"),
            });
        }
        // M ← M·G: columns i, j mix.
        for row in &mut m {
            let (xi, xj) = (row[g.i].clone(), row[g.j].clone());
            row[g.i] = Rational::from(&g.cos * &xi) + Rational::from(&g.sin * &xj);
            row[g.j] = Rational::from(&g.cos * &xj) - Rational::from(&g.sin * &xi);
        }
    }
    Ok(m)
}

/// A seeded decimal orthogonal n×n matrix (see the module doc: a chain of n − 1 Givens
/// rotations through a random permutation of the coordinates, ⌈n/2⌉ on random planes, random
/// row signs). QᵀQ = I exactly.
///
/// # Errors
/// [`ExactError`] for n = 0 or n > [`MAX_BUILD_DIM`].
pub fn decimal_orthogonal<R: Rng>(n: usize, rng: &mut R) -> Result<RatMat, ExactError> {
    check_dim("n", n, MAX_BUILD_DIM)?;
    let mut perm: Vec<usize> = (0..n).collect();
    for k in (1..n).rev() {
        perm.swap(k, rng.random_range(0..=k));
    }
    let mut planes: Vec<(usize, usize)> = perm.windows(2).map(|w| (w[0], w[1])).collect();
    if n >= 2 {
        for _ in 0..n.div_ceil(2) {
            let i = rng.random_range(0..n);
            let j = (i + rng.random_range(1..n)) % n;
            planes.push((i, j));
        }
    }
    let rotations: Vec<Givens> = planes
        .into_iter()
        .map(|(i, j)| {
            let (a, b, c) = match rng.random_range(0..20) {
                0..12 => PYTHAGOREAN[0],
                12..17 => PYTHAGOREAN[1],
                _ => PYTHAGOREAN[2],
            };
            let (a, b) = if rng.random::<bool>() { (a, b) } else { (b, a) };
            let b = if rng.random::<bool>() { b } else { -b };
            Givens::from_triple(i, j, a, b, c)
        })
        .collect();
    let mut q = givens_product(n, &rotations)?;
    for row in &mut q {
        if rng.random::<bool>() {
            for x in row.iter_mut() {
                *x = Rational::from(-&*x);
            }
        }
    }
    Ok(q)
}

/// X = scale·(rows 0..d_i of the Sylvester–Hadamard matrix of order p), d_i×p:
/// X_in = scale·(−1)^{popcount(i AND n)}, so XXᵀ = scale²·p·I (whitened, XXᵀ = P·I, for
/// scale = ±1).
///
/// # Errors
/// [`ExactError::Parameter`] unless p is a power of two ≥ d_i ≥ 1; [`ExactError::TooLarge`] for
/// p > 65,536.
pub fn hadamard_rows(d_i: usize, p: usize, scale: &Rational) -> Result<RatMat, ExactError> {
    check_dim("P", p, 65_536)?;
    check_dim("d_i", d_i, MAX_BUILD_DIM)?;
    if !p.is_power_of_two() || d_i > p {
        return Err(ExactError::Parameter {
            what: "P".into(),
            value: p.to_string(),
            expected: format!("a power of two ≥ d_i = {d_i} (Sylvester–Hadamard order)"),
        });
    }
    let neg = Rational::from(-scale);
    Ok((0..d_i)
        .map(|i| {
            (0..p)
                .map(|n| {
                    if (i & n).count_ones() % 2 == 0 {
                        scale.clone()
                    } else {
                        neg.clone()
                    }
                })
                .collect()
        })
        .collect())
}

/// The smallest power of two ≥ n: the Hadamard order for d_i = n inputs.
pub fn hadamard_order(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// An exact regression task: data, targets and their correlation Σ̃_yx = YXᵀ/P.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactTask {
    /// X, d_i×P, XXᵀ = P·I.
    pub x: RatMat,
    /// Y = Σ̃_yx·X, d_o×P.
    pub y: RatMat,
    /// Σ̃_yx = U diag(s) Vᵀ, d_o×d_i.
    pub syx: RatMat,
}

/// Σ̃_yx = Σ_k s_k u_k v_kᵀ with the first m = s.len() columns of seeded decimal orthogonal U
/// (d_o×d_o, drawn first) and V (d_i×d_i); X = [`hadamard_rows`] of order p; Y = Σ̃_yx·X. The
/// singular values of Σ̃_yx are exactly |s_k| (and 0).
///
/// # Errors
/// [`ExactError`] when m > min(d_i, d_o), p is not a power of two ≥ d_i, or a size limit is
/// exceeded.
pub fn task_with_singular_values<R: Rng>(
    d_i: usize,
    d_o: usize,
    p: usize,
    s: &[Rational],
    rng: &mut R,
) -> Result<ExactTask, ExactError> {
    check_dim("d_i", d_i, MAX_BUILD_DIM)?;
    check_dim("d_o", d_o, MAX_BUILD_DIM)?;
    if s.len() > d_i.min(d_o) {
        return Err(ExactError::Shape {
            what: "s".into(),
            expected: format!("at most min(d_i, d_o) = {} singular values", d_i.min(d_o)),
            found: s.len().to_string(),
        });
    }
    let x = hadamard_rows(d_i, p, &Rational::from(1))?;
    let u = decimal_orthogonal(d_o, rng)?;
    let v = decimal_orthogonal(d_i, rng)?;
    let syx = task_from_factors(&u, s, &v);
    let y = mat_mul(&syx, &x);
    Ok(ExactTask { x, y, syx })
}

/// Σ_k s_k u_k v_kᵀ for the first s.len() columns of U (d_o×·) and V (d_i×·).
pub fn task_from_factors(u: &[Vec<Rational>], s: &[Rational], v: &[Vec<Rational>]) -> RatMat {
    (0..u.len())
        .map(|o| {
            (0..v.len())
                .map(|j| {
                    let mut acc = Rational::new();
                    for (k, sk) in s.iter().enumerate() {
                        acc += Rational::from(&u[o][k] * &v[j][k]) * sk;
                    }
                    acc
                })
                .collect()
        })
        .collect()
}

/// W1 = R·C·Vᵀ and W2 = U·D·Rᵀ from mode factors: C (h×d_i) and D (d_o×h) are zero except
/// C_kk = c_k, D_kk = d_k. The pair is λ-balanced exactly when d_k² − c_k² = λ for every
/// k < h (with c_k = 0 beyond d_i and d_k = 0 beyond d_o) and R, U, V are orthogonal.
///
/// # Errors
/// [`ExactError::Shape`] if the factors do not fit (U d_o×d_o, V d_i×d_i, R h×h, c, d of length
/// h).
pub fn balanced_from_modes(
    u: &[Vec<Rational>],
    c: &[Rational],
    d: &[Rational],
    v: &[Vec<Rational>],
    r: &[Vec<Rational>],
) -> Result<(RatMat, RatMat), ExactError> {
    let (d_o, d_i, h) = (u.len(), v.len(), r.len());
    let square = |m: &[Vec<Rational>], n: usize| m.iter().all(|row| row.len() == n);
    if !square(u, d_o) || !square(v, d_i) || !square(r, h) || c.len() != h || d.len() != h {
        return Err(ExactError::Shape {
            what: "mode factors".into(),
            expected: "U d_o×d_o, V d_i×d_i, R h×h, c and d of length h".into(),
            found: format!(
                "U {d_o}×{}, V {d_i}×{}, R {h}×{}, |c| = {}, |d| = {}",
                u.first().map_or(0, Vec::len),
                v.first().map_or(0, Vec::len),
                r.first().map_or(0, Vec::len),
                c.len(),
                d.len()
            ),
        });
    }
    let mut cm = vec![vec![Rational::new(); d_i]; h];
    let mut dm = vec![vec![Rational::new(); h]; d_o];
    for k in 0..h {
        if k < d_i {
            cm[k][k] = c[k].clone();
        }
        if k < d_o {
            dm[k][k] = d[k].clone();
        }
    }
    Ok(embed(&cm, &dm, u, v, r))
}

/// W1 = R·C·Vᵀ, W2 = U·D·Rᵀ.
fn embed(
    cm: &[Vec<Rational>],
    dm: &[Vec<Rational>],
    u: &[Vec<Rational>],
    v: &[Vec<Rational>],
    r: &[Vec<Rational>],
) -> (RatMat, RatMat) {
    let w1 = mat_mul(&mat_mul(r, cm), &transpose(v));
    let w2 = mat_mul(&mat_mul(u, dm), &transpose(r));
    (w1, w2)
}

/// How [`balanced_init`] builds its pair.
#[derive(Debug, Clone, PartialEq)]
pub struct BalancedInit {
    /// Scale σ of the Gaussian matrices whose product gives the target strengths (as σ in
    /// [`super::lambda_balanced::random_init`]).
    pub sigma: f64,
    /// The anchor w of the base point of every mode: d0 + c0 = 1/w, d0 − c0 = λw (w > 0 with 1/w
    /// decimal: 2^a·5^b). `None`: [`default_anchor`], which depends on the targets only, so a
    /// sweep over λ with one seed varies continuously with λ.
    pub anchor: Option<Rational>,
    /// Significant digits D of the boost parameters. `None`: ⌈log10(max(c+d)/min(c, d))⌉ + 5 over
    /// the target factors, clamped to [6, 14], so that every strength is within ~10⁻³ (relative)
    /// of its target (2 of the 5 digits pay for 1/g = 100).
    pub digits: Option<u32>,
}

impl BalancedInit {
    /// Scale σ, default anchor and digits.
    pub fn new(sigma: f64) -> Self {
        BalancedInit {
            sigma,
            anchor: None,
            digits: None,
        }
    }
    /// With a fixed anchor (see [`BalancedInit::anchor`]).
    #[must_use]
    pub fn with_anchor(mut self, anchor: Rational) -> Self {
        self.anchor = Some(anchor);
        self
    }
}

/// The power of ten nearest 1/(2√s̄), s̄ the geometric mean of the target strengths: the base
/// point (c0, d0) of [`balanced_init`] then has d0 + c0 = 1/w ≈ 2√s̄, the value of d + c for a
/// mode of strength s̄ at λ = 0. It does not depend on λ, so a sweep over λ with one seed varies
/// continuously (through λ = 0 too).
pub fn default_anchor(targets: &[f64]) -> Rational {
    let logs: Vec<f64> = targets.iter().filter(|s| **s > 0.0).map(|s| s.log10()).collect();
    let mean = if logs.is_empty() {
        0.0
    } else {
        logs.iter().sum::<f64>() / logs.len() as f64
    };
    let k = -(mean / 2.0 + 2f64.log10()).round() as i32;
    pow10(k)
}

fn pow10(k: i32) -> Rational {
    let p = Rational::from(Integer::u_pow_u(10, k.unsigned_abs()));
    if k >= 0 { p } else { p.recip() }
}

/// x rounded to `digits` significant decimal digits, as an exact decimal.
fn round_sig(x: f64, digits: u32) -> Rational {
    if x == 0.0 || !x.is_finite() {
        return Rational::new();
    }
    let e = x.abs().log10().floor() as i32;
    let k = digits as i32 - 1 - e;
    let scaled = (x * 10f64.powi(k)).round();
    Rational::from_f64(scaled).unwrap_or_default() * pow10(-k)
}

/// Complex numbers over the rationals, (re, im).
type Cx = (Rational, Rational);

fn cx_mul(a: &Cx, b: &Cx) -> Cx {
    (
        Rational::from(&a.0 * &b.0) - Rational::from(&a.1 * &b.1),
        Rational::from(&a.0 * &b.1) + Rational::from(&a.1 * &b.0),
    )
}

fn cx_conj(a: &Cx) -> Cx {
    (a.0.clone(), Rational::from(-&a.1))
}

/// Decimal (A, B) with |A|² − |B|² = 1 exactly, ≈ e^{iθ}(cosh ψ, sinh ψ) (module doc).
fn decimal_boost(psi: f64, digits: u32) -> (Cx, Cx) {
    let e = psi.exp();
    let mut g = Rational::from((1, 100));
    // e ≤ 1e120 for σ ∈ [1e-50, 1e50] and |λ| with a finite f64 value: ≤ 125 divisions.
    for _ in 0..400 {
        if g.to_f64() * e <= 0.9 {
            break;
        }
        g /= 10;
    }
    let theta = (g.to_f64() * e).acos();
    let st = theta.sin();
    let u1 = g;
    let u2 = round_sig(st / e, digits);
    let v2 = round_sig(st * e, digits);
    let v1 = (Rational::from(1) - Rational::from(&u2 * &v2)) / &u1;
    let half = |x: Rational| x / 2;
    let a = (half(Rational::from(&u1 + &v1)), half(Rational::from(&u2 + &v2)));
    let b = (half(Rational::from(&v1 - &u1)), half(Rational::from(&v2 - &u2)));
    (a, b)
}

/// Apply the complex boost (A, B) of orientation `sign` on planes (k, l) to every column of
/// (P, W) = (input coordinates, output coordinates).
fn apply_boost(p: &mut [Vec<Rational>], w: &mut [Vec<Rational>], k: usize, l: usize, sign: i32, ab: &(Cx, Cx)) {
    let (a, b) = ab;
    let (ac, bc) = (cx_conj(a), cx_conj(b));
    let cols = p.first().map_or(0, Vec::len);
    for j in 0..cols {
        let z: Cx = (p[k][j].clone(), p[l][j].clone());
        let wv: Cx = (w[k][j].clone(), Rational::from(&w[l][j] * sign));
        let (t1, t2) = (cx_mul(a, &wv), cx_mul(b, &z));
        let wn = (t1.0 + t2.0, t1.1 + t2.1);
        let (t3, t4) = (cx_mul(&bc, &wv), cx_mul(&ac, &z));
        let zn = (t3.0 + t4.0, t3.1 + t4.1);
        p[k][j] = zn.0;
        p[l][j] = zn.1;
        w[k][j] = wn.0;
        w[l][j] = wn.1 * sign;
    }
}

/// The exact square root of a non-negative rational, if it is one.
pub fn rational_sqrt(q: &Rational) -> Option<Rational> {
    if *q < 0 {
        return None;
    }
    let (n, d) = (q.numer(), q.denom());
    if n.is_perfect_square() && d.is_perfect_square() {
        Some(Rational::from((n.clone().sqrt(), d.clone().sqrt())))
    } else {
        None
    }
}

/// An exactly λ-balanced decimal pair (W1 h×d_i, W2 d_o×h) (module doc), with the target strengths
/// it aimed at.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactInit {
    /// W1, h×d_i.
    pub w1: RatMat,
    /// W2, d_o×h.
    pub w2: RatMat,
    /// Target strengths (descending) of the m = min(h, d_i, d_o) modes; the singular values
    /// of W2W1 approximate them (see [`BalancedInit::digits`]).
    pub targets: Vec<f64>,
}

/// An exactly λ-balanced initialisation with decimal entries, for any feasible (d_i, h, d_o)
/// and decimal λ (module doc). The random draws, in order: the Gaussian matrices (h×d_i then
/// d_o×h, N(0, σ²)), then R (h×h), U (d_o×d_o), V (d_i×d_i).
///
/// # Errors
/// [`ExactError::Infeasible`] (see [`super::lambda_balanced::check_feasible`]);
/// [`ExactError::Unsupported`] for extra hidden directions when √|λ| is not a decimal;
/// [`ExactError::Parameter`] for σ ≤ 0 or a bad anchor; size limits.
pub fn balanced_init<R: Rng>(
    d_i: usize,
    h: usize,
    d_o: usize,
    lambda: &Rational,
    spec: &BalancedInit,
    rng: &mut R,
) -> Result<ExactInit, ExactError> {
    for (what, n) in [("d_i", d_i), ("h", h), ("d_o", d_o)] {
        check_dim(what, n, MAX_BUILD_DIM)?;
    }
    let lf = match lambda.cmp0() {
        std::cmp::Ordering::Equal => 0.0,
        o => {
            let v = lambda.to_f64();
            if v == 0.0 {
                if o.is_lt() {
                    -f64::MIN_POSITIVE
                } else {
                    f64::MIN_POSITIVE
                }
            } else {
                v
            }
        }
    };
    check_feasible(d_i, h, d_o, lf)?;
    if !(spec.sigma.is_finite() && spec.sigma > 0.0 && (1e-50..=1e50).contains(&spec.sigma)) {
        return Err(ExactError::Parameter {
            what: "sigma".into(),
            value: spec.sigma.to_string(),
            expected: "in [1e-50, 1e50] (the boosts' rapidities must stay finite in f64)".into(),
        });
    }
    // Target strengths, as random_init: singular values of a product of Gaussian matrices.
    let sigma = spec.sigma;
    let g1 = DMatrix::<f64>::from_fn(h, d_i, |_, _| sigma * rng.sample::<f64, _>(StandardNormal));
    let g2 = DMatrix::<f64>::from_fn(d_o, h, |_, _| sigma * rng.sample::<f64, _>(StandardNormal));
    let m = h.min(d_i).min(d_o);
    let mut targets: Vec<f64> = (&g2 * &g1).singular_values().iter().copied().collect();
    targets.sort_by(|a, b| b.total_cmp(a));
    targets.truncate(m);
    let r = decimal_orthogonal(h, rng)?;
    let u = decimal_orthogonal(d_o, rng)?;
    let v = decimal_orthogonal(d_i, rng)?;
    // Plane coordinates: P = Cᵀ (d_i×h, input side), W = D (d_o×h, output side).
    let mut p = vec![vec![Rational::new(); h]; d_i];
    let mut w = vec![vec![Rational::new(); h]; d_o];
    let w_anchor = match &spec.anchor {
        Some(a) => a.clone(),
        None => default_anchor(&targets),
    };
    let inv = if w_anchor > 0 {
        Some(Rational::from(w_anchor.recip_ref()))
    } else {
        None
    };
    let lw = Rational::from(lambda * &w_anchor);
    let inv = match inv {
        Some(i) if to_decimal_string(&i).is_ok() && to_decimal_string(&lw).is_ok() => i,
        _ => {
            return Err(ExactError::Parameter {
                what: "anchor".into(),
                value: w_anchor.to_string(),
                expected: "a positive decimal w with 1/w decimal (2^a·5^b, e.g. 1, 0.5, 20)".into(),
            });
        }
    };
    // Base point of every mode: d0 + c0 = 1/w, d0 − c0 = λw (so d0² − c0² = λ for any sign).
    let c0: Rational = Rational::from(&inv - &lw) / 2;
    let d0: Rational = Rational::from(&inv + &lw) / 2;
    for k in 0..m {
        p[k][k] = c0.clone();
        w[k][k] = d0.clone();
    }
    // A boost by ψ multiplies d + c by e^ψ (and d − c by e^−ψ): ψ_k = ln((d_k + c_k)·w).
    let wf = w_anchor.to_f64();
    let mut phis = Vec::with_capacity(m);
    let (mut spread_hi, mut spread_lo) = (0.0f64, f64::INFINITY);
    for &s in &targets {
        let (c, d) = mode_factors(s.max(f64::MIN_POSITIVE.sqrt()), lf);
        phis.push(((c + d) * wf).ln());
        spread_hi = spread_hi.max(c + d);
        spread_lo = spread_lo.min(c.min(d));
    }
    let digits = spec.digits.unwrap_or_else(|| {
        let want = (spread_hi / spread_lo.max(1e-300)).log10().ceil() + 5.0;
        want.clamp(6.0, 14.0) as u32
    });
    let mut ops: Vec<(usize, usize, f64, f64)> = (0..m.saturating_sub(1))
        .step_by(2)
        .map(|k| (k, k + 1, phis[k], phis[k + 1]))
        .collect();
    if m % 2 == 1 && m >= 3 {
        ops.push((m - 1, 0, phis[m - 1], 0.0));
    }
    if m == 1 && d_i >= 2 && d_o >= 2 {
        // A second plane (coordinates 1, unused) to boost against, with a net zero boost.
        ops.push((0, 1, phis[0], 0.0));
    } else if m == 1 && lf == 0.0 {
        // No second plane, but at λ = 0 any c = d is balanced.
        let c = round_sig(targets[0].sqrt(), digits);
        p[0][0] = c.clone();
        w[0][0] = c;
    }
    for (k, l, fk, fl) in ops {
        let plus = decimal_boost(0.5 * (fk + fl), digits);
        apply_boost(&mut p, &mut w, k, l, 1, &plus);
        let minus = decimal_boost(0.5 * (fk - fl), digits);
        apply_boost(&mut p, &mut w, k, l, -1, &minus);
    }
    if lf != 0.0 {
        let labs = Rational::from(lambda.abs_ref());
        if h > m {
            let root = rational_sqrt(&labs).ok_or_else(|| ExactError::Unsupported {
                reason: format!(
                    "h = {h} > min(d_i, d_o) = {m} needs √|λ| on the extra hidden directions, and \
                     √{labs} is not a decimal: use a λ whose absolute value is a decimal square \
                     (0.25, 1, 4, 100, …) or h ≤ {m}"
                ),
            })?;
            for k in m..h {
                if lf > 0.0 {
                    w[k][k] = root.clone();
                } else {
                    p[k][k] = root.clone();
                }
            }
        }
    }
    let (w1, w2) = embed(&transpose(&p), &w, &u, &v, &r);
    Ok(ExactInit { w1, w2, targets })
}

/// The exact decimal expansion of a rational whose denominator is 2^a·5^b (e.g. `"-0.0625"`,
/// `"3"`).
///
/// # Errors
/// [`ExactError::NotDecimal`] for any other denominator.
pub fn to_decimal_string(q: &Rational) -> Result<String, ExactError> {
    let mut den = q.denom().clone();
    let twos = den.remove_factor_mut(&Integer::from(2));
    let fives = den.remove_factor_mut(&Integer::from(5));
    if den != 1 {
        return Err(ExactError::NotDecimal { value: q.to_string() });
    }
    let k = twos.max(fives);
    let scaled = Rational::from(q * Integer::from(Integer::u_pow_u(10, k)));
    let n = scaled.numer().clone();
    let neg = n < 0;
    let mut digits = Integer::from(n.abs_ref()).to_string();
    if k > 0 {
        while digits.len() <= k as usize {
            digits.insert(0, '0');
        }
        digits.insert(digits.len() - k as usize, '.');
    }
    Ok(if neg { format!("-{digits}") } else { digits })
}

/// The number of significant decimal digits of a decimal rational (0 for 0).
///
/// # Errors
/// [`ExactError::NotDecimal`] if it has no finite expansion.
pub fn significant_digits(q: &Rational) -> Result<usize, ExactError> {
    let s = to_decimal_string(q)?;
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    Ok(digits.trim_start_matches('0').trim_end_matches('0').len())
}

/// A rational matrix as exact decimal [`Num`]s.
///
/// # Errors
/// [`ExactError::NotDecimal`] for an entry without a finite decimal expansion.
pub fn to_nums(m: &[Vec<Rational>]) -> Result<Vec<Vec<Num>>, ExactError> {
    m.iter()
        .map(|row| {
            row.iter()
                .map(|q| {
                    let s = to_decimal_string(q)?;
                    Num::parse(&s).map_err(|e| ExactError::Parameter {
                        what: "decimal".into(),
                        value: s,
                        expected: e.to_string(),
                    })
                })
                .collect()
        })
        .collect()
}

/// The nearest binary64 value of a rational (round to nearest even).
pub fn rational_to_f64(q: &Rational) -> f64 {
    Float::with_val(53, q).to_f64()
}

/// A rational matrix rounded entrywise to the nearest binary64 values.
pub fn to_dmatrix(m: &[Vec<Rational>]) -> DMatrix<f64> {
    let cols = m.first().map_or(0, Vec::len);
    DMatrix::from_fn(m.len(), cols, |i, j| rational_to_f64(&m[i][j]))
}

/// A [`LambdaBalancedCase`] with these exact inputs, τ and times (all written as their exact
/// decimal expansions).
///
/// # Errors
/// [`ExactError::NotDecimal`] for an entry, τ or time without a finite decimal expansion.
pub fn exact_case(
    x: &[Vec<Rational>],
    y: &[Vec<Rational>],
    w1: &[Vec<Rational>],
    w2: &[Vec<Rational>],
    tau: &Rational,
    times: &[Rational],
) -> Result<LambdaBalancedCase, ExactError> {
    let one = |q: &Rational| -> Result<Num, ExactError> { Ok(to_nums(&[vec![q.clone()]])?.remove(0).remove(0)) };
    Ok(LambdaBalancedCase {
        x: to_nums(x)?,
        y: to_nums(y)?,
        w1_0: to_nums(w1)?,
        w2_0: to_nums(w2)?,
        tau: one(tau)?,
        times: times.iter().map(one).collect::<Result<_, _>>()?,
    })
}

/// The assumptions of the closed form, verified exactly: XXᵀ = P·I and W2ᵀW2 − W1W1ᵀ = λI.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactAssumptions {
    /// Number of samples P.
    pub p: usize,
    /// (d_i, h, d_o).
    pub dims: (usize, usize, usize),
    /// The exact λ.
    pub lambda: Rational,
}

/// Why [`exact_assumptions`] refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AssumptionError {
    /// The inputs could not be checked (shape, size or an unreadable entry).
    #[error(transparent)]
    Input(#[from] ExactError),
    /// At least one identity fails; both defects are given (0 for the one that holds).
    #[error(
        "the inputs do not satisfy the closed form's assumptions exactly: max|XXᵀ/P − I| ≤ {whitening:.3e}, \
         min over λ of max|W2ᵀW2 − W1W1ᵀ − λI| ≤ {balance:.3e} (attained at λ ≈ {lambda_nearest:.6e}); a rigorous \
         closed form would certify a neighbouring problem — build the inputs with \
         models::lambda_balanced_exact, or use a validated integrator"
    )]
    Violated {
        /// Upper bound on max_ij |(XXᵀ/P − I)_ij| (0 exactly when whitened).
        whitening: f64,
        /// Upper bound on min_λ max_ij |(W2ᵀW2 − W1W1ᵀ − λI)_ij| (0 exactly when λ-balanced).
        balance: f64,
        /// The λ attaining that minimum, (max + min of the diagonal)/2, rounded.
        lambda_nearest: f64,
    },
}

/// An f64 ≥ q ≥ 0 (rounded up).
fn upper_f64(q: &Rational) -> f64 {
    let (f, _) = Float::with_val_round(53, q, rug::float::Round::Up);
    f.to_f64_round(rug::float::Round::Up)
}

fn read_matrix(what: &str, m: &[Vec<Num>]) -> Result<RatMat, ExactError> {
    let cols = m.first().map_or(0, Vec::len);
    m.iter()
        .enumerate()
        .map(|(i, row)| {
            if row.len() != cols {
                return Err(ExactError::Shape {
                    what: what.into(),
                    expected: format!("every row of length {cols}"),
                    found: format!("row {i} of length {}", row.len()),
                });
            }
            row.iter()
                .enumerate()
                .map(|(j, v)| {
                    let entry = |problem: String| ExactError::Entry {
                        what: what.into(),
                        row: i,
                        col: j,
                        text: v.as_str().chars().take(60).collect(),
                        problem,
                    };
                    if v.as_str().len() > 4 * MAX_ENTRY_BITS as usize {
                        return Err(entry(format!("longer than {} characters", 4 * MAX_ENTRY_BITS)));
                    }
                    let q = v.to_rational().map_err(|e| entry(e.to_string()))?;
                    let bits = q.numer().significant_bits() + q.denom().significant_bits();
                    if bits > MAX_ENTRY_BITS {
                        return Err(entry(format!(
                            "{bits} bits of numerator and denominator, more than {MAX_ENTRY_BITS}"
                        )));
                    }
                    Ok(q)
                })
                .collect()
        })
        .collect()
}

/// Check exactly, in rational arithmetic, that X (d_i×P) is whitened, XXᵀ = P·I, and that
/// (W1 h×d_i, W2 d_o×h) is λ-balanced, W2ᵀW2 − W1W1ᵀ = λI, and return λ. Y (d_o×P) is only
/// shape-checked. A rigorous closed form calls this to decide whether its enclosure is a proof
/// for the inputs as written.
///
/// Work is capped: every dimension ≤ [`MAX_CHECK_DIM`], d_i²·P + h²·(d_i + d_o) ≤
/// [`MAX_CHECK_WORK`], each entry ≤ [`MAX_ENTRY_BITS`] bits, so hostile input cannot allocate or
/// compute without bound.
///
/// # Errors
/// [`AssumptionError::Input`] for shapes, sizes or entries out of bounds;
/// [`AssumptionError::Violated`] with both defects (rounded up) when an identity fails.
pub fn exact_assumptions(
    x: &[Vec<Num>],
    y: &[Vec<Num>],
    w1: &[Vec<Num>],
    w2: &[Vec<Num>],
) -> Result<ExactAssumptions, AssumptionError> {
    let cols = |m: &[Vec<Num>]| m.first().map_or(0, Vec::len);
    let (d_i, p, d_o, h) = (x.len(), cols(x), y.len(), w1.len());
    for (what, n) in [("d_i", d_i), ("P", p), ("d_o", d_o), ("h", h)] {
        check_dim(what, n, MAX_CHECK_DIM)?;
    }
    let shape = |what: &str, m: &[Vec<Num>], r: usize, c: usize| -> Result<(), ExactError> {
        if m.len() != r || m.iter().any(|row| row.len() != c) {
            return Err(ExactError::Shape {
                what: what.into(),
                expected: format!("{r}×{c}"),
                found: format!("{}×{}", m.len(), cols(m)),
            });
        }
        Ok(())
    };
    shape("x", x, d_i, p)?;
    shape("y", y, d_o, p)?;
    shape("w1_0", w1, h, d_i)?;
    shape("w2_0", w2, d_o, h)?;
    let work = (d_i as u128) * (d_i as u128) * (p as u128) + (h as u128) * (h as u128) * ((d_i + d_o) as u128);
    if work > MAX_CHECK_WORK as u128 {
        return Err(ExactError::TooLarge {
            what: "d_i²·P + h²·(d_i + d_o)".into(),
            value: u64::try_from(work).unwrap_or(u64::MAX),
            limit: MAX_CHECK_WORK as u64,
            why: "each multiply-add is an exact rational operation".into(),
        }
        .into());
    }
    let (xr, w1r, w2r) = (read_matrix("x", x)?, read_matrix("w1_0", w1)?, read_matrix("w2_0", w2)?);
    // Whitening: max |(XXᵀ)_ij − P δ_ij| / P.
    let pq = Rational::from(p as u64);
    let mut white = Rational::new();
    for i in 0..d_i {
        for j in i..d_i {
            let mut acc = Rational::new();
            for (a, b) in xr[i].iter().zip(&xr[j]) {
                acc += Rational::from(a * b);
            }
            if i == j {
                acc -= &pq;
            }
            let a = Rational::from(acc.abs_ref());
            if a > white {
                white = a;
            }
        }
    }
    white /= &pq;
    // Balance: C = W2ᵀW2 − W1W1ᵀ; the best λ is (max + min of diag C)/2.
    let mut diag = Vec::with_capacity(h);
    let mut off = Rational::new();
    for a in 0..h {
        for b in a..h {
            let mut acc = Rational::new();
            for row in &w2r {
                acc += Rational::from(&row[a] * &row[b]);
            }
            for (ra, rb) in w1r[a].iter().zip(&w1r[b]) {
                acc -= Rational::from(ra * rb);
            }
            if a == b {
                diag.push(acc);
            } else {
                let v = Rational::from(acc.abs_ref());
                if v > off {
                    off = v;
                }
            }
        }
    }
    let (lo, hi) = diag.iter().fold((diag[0].clone(), diag[0].clone()), |(lo, hi), v| {
        (
            if *v < lo { v.clone() } else { lo },
            if *v > hi { v.clone() } else { hi },
        )
    });
    let lambda = Rational::from(&lo + &hi) / 2;
    let spread = Rational::from(&hi - &lo) / 2;
    let balance = if spread > off { spread } else { off };
    if white == 0 && balance == 0 {
        return Ok(ExactAssumptions {
            p,
            dims: (d_i, h, d_o),
            lambda,
        });
    }
    Err(AssumptionError::Violated {
        whitening: upper_f64(&white),
        balance: upper_f64(&balance),
        lambda_nearest: rational_to_f64(&lambda),
    })
}

/// [`exact_assumptions`] for a case.
///
/// # Errors
/// As [`exact_assumptions`].
pub fn case_assumptions(case: &LambdaBalancedCase) -> Result<ExactAssumptions, AssumptionError> {
    exact_assumptions(&case.x, &case.y, &case.w1_0, &case.w2_0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings() {
        let q = |n: i64, d: i64| Rational::from((n, d));
        assert_eq!(to_decimal_string(&q(-1, 16)).unwrap(), "-0.0625");
        assert_eq!(to_decimal_string(&q(3, 1)).unwrap(), "3");
        assert_eq!(to_decimal_string(&q(7, 250)).unwrap(), "0.028");
        assert_eq!(to_decimal_string(&q(0, 1)).unwrap(), "0");
        assert!(to_decimal_string(&q(1, 3)).is_err());
        assert_eq!(significant_digits(&q(-1, 16)).unwrap(), 3);
    }

    #[test]
    fn round_sig_is_decimal_and_close() {
        for x in [1.0f64 / 3.0, -2.5e-7, 12345.678, 0.1] {
            let r = round_sig(x, 6);
            assert!(to_decimal_string(&r).is_ok());
            assert!((r.to_f64() - x).abs() <= 1e-5 * x.abs(), "{x}: {r}");
        }
    }
}
