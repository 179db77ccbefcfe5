//! The λ-balanced closed form of QQᵀ(t) at arbitrary precision (MPFR via `rug`; P2 Lemma 4.1 /
//! Thm 4.3, `docs/theory.md` §4.3–4.4).
//!
//! Same formula and the same exact semigroup stepping as the f64 version
//! ([`super::lambda_balanced`], whose module doc has the derivation): F is diagonalised once by
//! a cyclic Jacobi eigensolver run to the working precision (F is symmetric, so Jacobi converges
//! quadratically and its eigenvectors are orthonormal to working precision), then each step of
//! length δ with max|f|·δ ≤ [`super::lambda_balanced::STEP_SPAN`] does a Cholesky factorisation
//! of I + Q̂ᵀ diag(expm1(2fδ)/(2f)) Q̂ and a triangular solve. Every step is well-conditioned,
//! so the digits lost grow like log10(number of steps), not like max|f|·t/ln 10: there is no
//! silent loss of digits for long t, and the error of each output is estimated by re-evaluating
//! at prec + [`crate::num::tol::GUARD_BITS`] ([`evaluate_with_bounds`]).
//!
//! Inputs are parsed from their decimal text at the working precision. The λ-balance and the
//! whitening of the *given* numbers are measured at that precision and reported: if they hold
//! only to ~1e-16 (f64-rounded inputs), the closed form describes the exactly balanced, exactly
//! whitened problem, which differs from the flow of the given numbers at that level.

use super::lambda_balanced::{LAMBDA_BALANCE_TOL, LbError, STEP_SPAN};
use super::riccati::LbInputs;
use crate::case::LambdaBalancedCase;
use crate::num::decimal::Num;
use crate::num::mat::Mat;
use crate::num::mp::{self, two_precision_bound};
use crate::num::tol::{self, Bound, WHITENING_TOL};
use rug::Float;

/// Maximum Jacobi sweeps (quadratic convergence needs ~log2(prec) + a few).
const MAX_SWEEPS: usize = 100;

/// Row-major dense matrix of MPFR numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMp {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Entries, row-major.
    pub data: Vec<Float>,
}

impl MatMp {
    fn zeros(rows: usize, cols: usize, prec: u32) -> Self {
        MatMp {
            rows,
            cols,
            data: vec![Float::new(prec); rows * cols],
        }
    }
    /// Entry (i, j).
    pub fn at(&self, i: usize, j: usize) -> &Float {
        &self.data[i * self.cols + j]
    }
    fn at_mut(&mut self, i: usize, j: usize) -> &mut Float {
        &mut self.data[i * self.cols + j]
    }
    /// The block rows r0.., cols c0.. of size nr×nc.
    pub fn block(&self, r0: usize, c0: usize, nr: usize, nc: usize) -> MatMp {
        let mut data = Vec::with_capacity(nr * nc);
        for i in 0..nr {
            for j in 0..nc {
                data.push(self.at(r0 + i, c0 + j).clone());
            }
        }
        MatMp {
            rows: nr,
            cols: nc,
            data,
        }
    }
    /// Rounded to f64.
    pub fn to_f64(&self) -> nalgebra::DMatrix<f64> {
        nalgebra::DMatrix::from_fn(self.rows, self.cols, |i, j| self.at(i, j).to_f64())
    }
}

/// The closed form at one working precision.
#[derive(Debug, Clone)]
pub struct ClosedFormMp {
    prec: u32,
    d_i: usize,
    tau: Float,
    lambda: Float,
    lambda_defect: Float,
    whitening_defect: Float,
    eig: Vec<Float>,
    basis: MatMp,
    q0_hat: MatMp,
    f: MatMp,
}

/// Cyclic Jacobi eigen-decomposition of a symmetric matrix at `prec` bits: (eigenvalues, V)
/// with A = V diag(λ) Vᵀ, V orthonormal to working precision.
///
/// # Errors
/// [`LbError::Eigen`] if the off-diagonal part has not fallen below 2^(−prec)·‖A‖_F after
/// `MAX_SWEEPS` sweeps.
pub fn jacobi_eigen(a: &MatMp, prec: u32) -> Result<(Vec<Float>, MatMp), LbError> {
    let n = a.rows;
    let mut a = a.clone();
    let mut v = MatMp::zeros(n, n, prec);
    for i in 0..n {
        *v.at_mut(i, i) = Float::with_val(prec, 1);
    }
    let fro = a
        .data
        .iter()
        .fold(Float::new(prec), |acc, x| acc + Float::with_val(prec, x.square_ref()))
        .sqrt();
    let thresh = Float::with_val(prec, &fro * Float::with_val(prec, Float::i_exp(1, -(prec as i32) - 4)));
    let mut off = Float::new(prec);
    for sweep in 0..MAX_SWEEPS {
        off = Float::new(prec);
        for p in 0..n {
            for q in p + 1..n {
                off += Float::with_val(prec, a.at(p, q).square_ref());
            }
        }
        off.sqrt_mut();
        if off <= thresh {
            return Ok(((0..n).map(|i| a.at(i, i).clone()).collect(), v));
        }
        let _ = sweep;
        for p in 0..n {
            for q in p + 1..n {
                if a.at(p, q).is_zero() {
                    continue;
                }
                let apq = a.at(p, q).clone();
                let theta = Float::with_val(prec, a.at(q, q) - a.at(p, p)) / Float::with_val(prec, &apq * 2u32);
                let root = (Float::with_val(prec, theta.square_ref()) + 1u32).sqrt();
                let mut t = Float::with_val(prec, theta.abs_ref()) + root;
                t.recip_mut();
                if theta.is_sign_negative() {
                    t = -t;
                }
                let c = (Float::with_val(prec, t.square_ref()) + 1u32).sqrt().recip();
                let s = Float::with_val(prec, &t * &c);
                rotate_cols(&mut a, p, q, &c, &s, prec);
                rotate_rows(&mut a, p, q, &c, &s, prec);
                rotate_cols(&mut v, p, q, &c, &s, prec);
                *a.at_mut(p, q) = Float::new(prec);
                *a.at_mut(q, p) = Float::new(prec);
            }
        }
    }
    Err(LbError::Eigen {
        sweeps: MAX_SWEEPS,
        off: off.to_f64(),
    })
}

fn rotate_cols(m: &mut MatMp, p: usize, q: usize, c: &Float, s: &Float, prec: u32) {
    for k in 0..m.rows {
        let xp = m.at(k, p).clone();
        let xq = m.at(k, q).clone();
        *m.at_mut(k, p) = Float::with_val(prec, c * &xp) - Float::with_val(prec, s * &xq);
        *m.at_mut(k, q) = Float::with_val(prec, s * &xp) + Float::with_val(prec, c * &xq);
    }
}

fn rotate_rows(m: &mut MatMp, p: usize, q: usize, c: &Float, s: &Float, prec: u32) {
    for k in 0..m.cols {
        let xp = m.at(p, k).clone();
        let xq = m.at(q, k).clone();
        *m.at_mut(p, k) = Float::with_val(prec, c * &xp) - Float::with_val(prec, s * &xq);
        *m.at_mut(q, k) = Float::with_val(prec, s * &xp) + Float::with_val(prec, c * &xq);
    }
}

/// A·B.
fn matmul(a: &MatMp, b: &MatMp, prec: u32) -> MatMp {
    let mut c = MatMp::zeros(a.rows, b.cols, prec);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let mut acc = Float::new(prec);
            for k in 0..a.cols {
                acc += Float::with_val(prec, a.at(i, k) * b.at(k, j));
            }
            *c.at_mut(i, j) = acc;
        }
    }
    c
}

fn transpose(a: &MatMp) -> MatMp {
    let mut data = Vec::with_capacity(a.data.len());
    for j in 0..a.cols {
        for i in 0..a.rows {
            data.push(a.at(i, j).clone());
        }
    }
    MatMp {
        rows: a.cols,
        cols: a.rows,
        data,
    }
}

/// The F matrix (`docs/theory.md` §4.3) at `prec`.
pub fn f_matrix_mp(syx: &MatMp, lambda: &Float, prec: u32) -> MatMp {
    let (d_o, d_i) = (syx.rows, syx.cols);
    let n = d_i + d_o;
    let half = Float::with_val(prec, lambda / 2u32);
    let mut f = MatMp::zeros(n, n, prec);
    for i in 0..d_i {
        *f.at_mut(i, i) = -half.clone();
    }
    for i in 0..d_o {
        *f.at_mut(d_i + i, d_i + i) = half.clone();
        for j in 0..d_i {
            *f.at_mut(d_i + i, j) = syx.at(i, j).clone();
            *f.at_mut(j, d_i + i) = syx.at(i, j).clone();
        }
    }
    f
}

impl ClosedFormMp {
    /// Parse the case at `prec`, check whitening and λ-balance, diagonalise F.
    ///
    /// # Errors
    /// [`LbError`] for bad precision, shapes, τ ≤ 0, data not whitened or init not λ-balanced
    /// (both measured at `prec`), or a Jacobi failure.
    pub fn new(c: &LambdaBalancedCase, prec: u32) -> Result<Self, LbError> {
        mp::check_prec(prec)?;
        // Parsing, shapes and τ > 0: shared with the generic closed form.
        let inp = LbInputs::parse(c, &Float::new(prec))?;
        let mp = |m: &Mat<Float>| MatMp {
            rows: m.nrows(),
            cols: m.ncols(),
            data: m.entries().to_vec(),
        };
        let (x, y, w1, w2, tau) = (mp(&inp.x), mp(&inp.y), mp(&inp.w1), mp(&inp.w2), inp.tau);
        let (d_i, p, d_o, h) = (x.rows, x.cols, y.rows, w1.rows);
        let pf = Float::with_val(prec, p);
        let xt = transpose(&x);
        let mut sxx = matmul(&x, &xt, prec);
        for v in &mut sxx.data {
            *v /= &pf;
        }
        let mut syx = matmul(&y, &xt, prec);
        for v in &mut syx.data {
            *v /= &pf;
        }
        let mut wd = Float::new(prec);
        for i in 0..d_i {
            for j in 0..d_i {
                let mut e = sxx.at(i, j).clone();
                if i == j {
                    e -= 1u32;
                }
                e.abs_mut();
                if e > wd {
                    wd = e;
                }
            }
        }
        if wd.to_f64() > WHITENING_TOL {
            return Err(LbError::NotWhitened {
                defect: wd.to_f64(),
                tol: WHITENING_TOL,
            });
        }
        // C = W2ᵀW2 − W1W1ᵀ, λ = tr C / h.
        let c2 = matmul(&transpose(&w2), &w2, prec);
        let c1 = matmul(&w1, &transpose(&w1), prec);
        let mut cm = c2.clone();
        for (a, b) in cm.data.iter_mut().zip(&c1.data) {
            *a -= b;
        }
        let mut lambda = Float::new(prec);
        for i in 0..h {
            lambda += cm.at(i, i);
        }
        lambda /= h as u32;
        let mut defect = Float::new(prec);
        let mut wmax = Float::new(prec);
        for i in 0..h {
            for j in 0..h {
                let mut e = cm.at(i, j).clone();
                if i == j {
                    e -= &lambda;
                }
                e.abs_mut();
                if e > defect {
                    defect = e;
                }
            }
            for m in [c1.at(i, i), c2.at(i, i)] {
                if *m > wmax {
                    wmax = m.clone();
                }
            }
        }
        let btol = LAMBDA_BALANCE_TOL * (1.0 + wmax.to_f64() * h as f64);
        if defect.to_f64() > btol {
            return Err(LbError::NotBalanced {
                lambda: lambda.to_f64(),
                defect: defect.to_f64(),
                tol: btol,
            });
        }
        let f = f_matrix_mp(&syx, &lambda, prec);
        let (eig, basis) = jacobi_eigen(&f, prec)?;
        let f_keep = f.clone();
        let mut q0 = MatMp::zeros(d_i + d_o, h, prec);
        for a in 0..h {
            for i in 0..d_i {
                *q0.at_mut(i, a) = w1.at(a, i).clone();
            }
            for o in 0..d_o {
                *q0.at_mut(d_i + o, a) = w2.at(o, a).clone();
            }
        }
        let q0_hat = matmul(&transpose(&basis), &q0, prec);
        Ok(ClosedFormMp {
            f: f_keep,
            prec,
            d_i,
            tau,
            lambda,
            lambda_defect: defect,
            whitening_defect: wd,
            eig,
            basis,
            q0_hat,
        })
    }

    /// λ = tr(W2ᵀW2 − W1W1ᵀ)/h at the working precision.
    pub fn lambda(&self) -> &Float {
        &self.lambda
    }
    /// max|W2ᵀW2 − W1W1ᵀ − λI| of the given numbers at the working precision.
    pub fn lambda_defect(&self) -> &Float {
        &self.lambda_defect
    }
    /// max|XXᵀ/P − I| at the working precision.
    pub fn whitening_defect(&self) -> &Float {
        &self.whitening_defect
    }
    /// Eigenvalues of F.
    pub fn eigenvalues(&self) -> &[Float] {
        &self.eig
    }

    /// QQᵀ at each time (parsed at the working precision; ≥ 0, non-decreasing).
    ///
    /// # Errors
    /// [`LbError::Times`] for bad times.
    pub fn evaluate(&self, times: &[Num]) -> Result<Vec<MatMp>, LbError> {
        let prec = self.prec;
        let tf: Vec<f64> = times.iter().map(Num::to_f64).collect();
        crate::num::check_times(&tf)?;
        let n = self.eig.len();
        let h = self.q0_hat.cols;
        let fmax = self.eig.iter().map(|f| f.to_f64().abs()).fold(0.0, f64::max);
        let mut q = self.q0_hat.clone();
        let mut s_now = Float::new(prec);
        let mut out = Vec::with_capacity(times.len());
        for t in times {
            let s = Float::with_val(prec, t.to_mp(prec) / &self.tau);
            let span = Float::with_val(prec, &s - &s_now);
            let k = if span.is_zero() {
                0
            } else {
                ((fmax * span.to_f64() / STEP_SPAN).ceil() as usize).max(1)
            };
            if k > 0 {
                let delta = Float::with_val(prec, &span / k as u32);
                let ev: Vec<Float> = self
                    .eig
                    .iter()
                    .map(|f| Float::with_val(prec, f * &delta).exp())
                    .collect();
                let jv: Vec<Float> = self
                    .eig
                    .iter()
                    .map(|f| {
                        if f.is_zero() {
                            delta.clone()
                        } else {
                            let two_f = Float::with_val(prec, f * 2u32);
                            Float::with_val(prec, &two_f * &delta).exp_m1() / two_f
                        }
                    })
                    .collect();
                for _ in 0..k {
                    q = step(&q, &ev, &jv, n, h, prec);
                }
            }
            s_now = s;
            let full = matmul(&self.basis, &q, prec);
            out.push(matmul(&full, &transpose(&full), prec));
        }
        Ok(out)
    }

    /// max over entries of |τ·dP/dt − (FP + PF − P²)| at time `t`, with dP/dt by a central
    /// difference of step 2^(−prec/4) (truncation ~2^(−prec/2)·|P'''|, rounding ~2^(−3prec/4)):
    /// a check of the closed form against the Riccati ODE it claims to solve (`docs/theory.md` §4.3).
    ///
    /// # Errors
    /// [`LbError::Times`] when t − step < 0.
    pub fn riccati_residual(&self, t: &Num) -> Result<f64, LbError> {
        let prec = self.prec;
        let eta = Float::with_val(prec, Float::i_exp(1, -((prec / 4) as i32)));
        let tc = t.to_mp(prec);
        let mk = |v: Float| {
            Num::parse(&v.to_string_radix(10, Some(mp::max_digits(prec) + 5)))
                .map_err(|_| LbError::Times(crate::num::TimeError::Empty))
        };
        let times = [
            mk(Float::with_val(prec, &tc - &eta))?,
            mk(tc.clone())?,
            mk(Float::with_val(prec, &tc + &eta))?,
        ];
        let pts = self.evaluate(&times)?;
        // Use the times exactly as parsed back.
        let t0 = times[0].to_mp(prec);
        let t2 = times[2].to_mp(prec);
        let width = Float::with_val(prec, &t2 - &t0);
        let n = self.f.rows;
        let p = &pts[1];
        let fp = matmul(&self.f, p, prec);
        let pf = matmul(p, &self.f, prec);
        let pp = matmul(p, p, prec);
        let mut worst: f64 = 0.0;
        for i in 0..n {
            for j in 0..n {
                let d = Float::with_val(prec, pts[2].at(i, j) - pts[0].at(i, j)) / &width * &self.tau;
                let r = d - fp.at(i, j) - pf.at(i, j) + pp.at(i, j);
                worst = worst.max(r.abs().to_f64());
            }
        }
        Ok(worst)
    }

    /// d_i.
    pub fn d_i(&self) -> usize {
        self.d_i
    }
}

/// One exact semigroup step: L Lᵀ = I + Q̂ᵀ diag(j) Q̂, Q̂ ← diag(e) Q̂ L⁻ᵀ.
fn step(q: &MatMp, ev: &[Float], jv: &[Float], n: usize, h: usize, prec: u32) -> MatMp {
    // M (lower triangle), then Cholesky in place.
    let mut l = MatMp::zeros(h, h, prec);
    for a in 0..h {
        for b in 0..=a {
            let mut acc = Float::with_val(prec, if a == b { 1 } else { 0 });
            for (i, j) in jv.iter().enumerate().take(n) {
                acc += Float::with_val(prec, q.at(i, a) * q.at(i, b)) * j;
            }
            *l.at_mut(a, b) = acc;
        }
    }
    for j in 0..h {
        let mut d = l.at(j, j).clone();
        for k in 0..j {
            d -= Float::with_val(prec, l.at(j, k).square_ref());
        }
        let d = d.sqrt();
        for i in j + 1..h {
            let mut v = l.at(i, j).clone();
            for k in 0..j {
                v -= Float::with_val(prec, l.at(i, k) * l.at(j, k));
            }
            *l.at_mut(i, j) = v / &d;
        }
        *l.at_mut(j, j) = d;
    }
    // Row i of Q̂ L⁻ᵀ is z with L z = Q̂[i, :]ᵀ (forward substitution), then scale by e_i.
    let mut out = MatMp::zeros(n, h, prec);
    for (i, e) in ev.iter().enumerate().take(n) {
        for a in 0..h {
            let mut v = q.at(i, a).clone();
            for b in 0..a {
                v -= Float::with_val(prec, l.at(a, b) * out.at(i, b));
            }
            *out.at_mut(i, a) = v / l.at(a, a);
        }
        for a in 0..h {
            *out.at_mut(i, a) *= e;
        }
    }
    out
}

/// QQᵀ at one time with an error bound per entry.
#[derive(Debug, Clone)]
pub struct BoundedQqt {
    /// QQᵀ at the working precision.
    pub qqt: MatMp,
    /// Two-precision bound of each entry (row-major).
    pub bounds: Vec<Bound>,
}

impl BoundedQqt {
    /// Largest entry bound.
    pub fn max_bound(&self) -> f64 {
        self.bounds.iter().map(|b| b.abs).fold(0.0, f64::max)
    }
}

/// Evaluate at `prec` and at `prec + GUARD_BITS`; each entry's bound is the two-precision
/// estimate ([`mp::two_precision_bound`]).
///
/// # Errors
/// As [`ClosedFormMp::new`] and [`ClosedFormMp::evaluate`].
pub fn evaluate_with_bounds(c: &LambdaBalancedCase, prec: u32) -> Result<(ClosedFormMp, Vec<BoundedQqt>), LbError> {
    let lo = ClosedFormMp::new(c, prec)?;
    let hi = ClosedFormMp::new(c, prec + tol::GUARD_BITS)?;
    let a = lo.evaluate(&c.times)?;
    let b = hi.evaluate(&c.times)?;
    let pts = a
        .into_iter()
        .zip(b)
        .map(|(l, h)| {
            let bounds = l
                .data
                .iter()
                .zip(&h.data)
                .map(|(x, y)| two_precision_bound(x, y))
                .collect();
            BoundedQqt { qqt: l, bounds }
        })
        .collect();
    Ok((lo, pts))
}
