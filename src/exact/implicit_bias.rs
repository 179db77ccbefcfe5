//! Implicit bias of the single neuron and of deep linear nets on low-rank data: the interpolant
//! gradient flow converges to, as the solution of a KKT system, solved by Newton's method in f64
//! and at any precision (MPFR).
//!
//! **Single neuron, P1 Thm 3.1** (`theory.md` §1.7, stated for η_a = η_w = 1): if β(t) ≠ 0 for all
//! t and Xβ(∞) = y, then β(∞) = argmin Ψ_δ(β) − ∇Ψ_δ(β0)ᵀβ s.t. Xβ = y, with
//! ∇Ψ_δ(β) = √(κ − δ)·β/‖β‖, κ = √(δ² + 4‖β‖²). Hence the KKT system
//!
//! ```text
//! ∇Ψ_δ(β∞) − ∇Ψ_δ(β0) = Xᵀν,     Xβ∞ = y.
//! ```
//!
//! **General rates** [derived here, not in the source]: with ã = a/√η_a and w̃ = w/√η_w the flow
//! becomes the unit-rate flow of ã w̃ = β/√(η_aη_w) with δ̃ = δ/(η_aη_w), and
//! ∇Ψ_δ̃(β̃) = (η_aη_w)^{−1/2}·√(κ − δ)·β̂ with κ = √(δ² + 4η_aη_w‖β‖²). The constant factor drops
//! out of the KKT system, so the same system holds with 4‖β‖² replaced by 4η_aη_w‖β‖². The
//! catalog checks this against flows with η_a ≠ η_w (`IB-KKT`).
//!
//! **Deep nets, P1 Thm B.10** (`theory.md` §2.6): depth L+1, c = 1, square width, isotropic
//! initialisation in the limit δ → 0: β(∞) = argmin ((L+1)/(L+2))‖β‖^{(L+2)/(L+1)} −
//! ‖β0‖^{−L/(L+1)}β0ᵀβ s.t. Xβ = y, i.e. the KKT system above with ∇Q(β) = ‖β‖^{1/(L+1)}·β̂.
//! For L = 1 this is Thm 3.1 at δ = 0 up to the factor √2.
//!
//! Both potentials are radial, ∇P(β) = g(‖β‖)·β̂, with Hessian (g/r)·I + (g′ − g/r)·β̂β̂ᵀ, positive
//! definite (g/r > 0, g′ > 0): the problem is strictly convex and the KKT point unique. g is
//! evaluated without cancellation: for δ ≥ 0, g/r = 2√η/√(κ + δ); for δ < 0, g = √(κ − δ).
//!
//! **Method.** Infeasible-start Newton on the KKT equations (Boyd & Vandenberghe §10.3) with
//! backtracking on the residual norm, from the lazy interpolant β0 − Xᵀ(XXᵀ)⁻¹(Xβ0 − y). The
//! linear systems are the (d+n)×(d+n) KKT matrix [[H, −Xᵀ], [X, 0]], solved by LU with partial
//! pivoting (nalgebra in f64, Gaussian elimination on MPFR numbers at precision p).
//!
//! **Bounds.** f64: 2·‖last Newton step‖ (quadratic convergence: the next step is far smaller)
//! plus the first-order effect of rounding the KKT residual, ‖K⁻¹‖₂·8(d+n)·u·(‖∇P(β)‖ +
//! ‖∇P(β0)‖ + ‖Xᵀν‖ + ‖X‖‖β‖ + ‖y‖): an estimate, checked against 256-bit solutions in
//! `tests/implicit_bias.rs`. MPFR: the two-precision estimate (p and p + 64 bits,
//! [`mp::two_precision_bound_mp`]), each solve iterated until its Newton step is below 2^{−p/2}‖β‖ (error ≈ step² ≈ 2^{−p}) and
//! then two more steps.
//!
//! **δ → ±∞ limits** (`theory.md` §1.7): δ → +∞ gives the lazy interpolant closest to β0,
//! β0 − X⁺(Xβ0 − y); δ → −∞ gives cβ0 with c = (Xβ0)ᵀy/‖Xβ0‖², an interpolant only when
//! y ∈ span(Xβ0) (n = 1) and c > 0. Both are approached at rate O(δ⁻²) [derived here]: the
//! relative deviation of g/r (δ > 0), resp. of g (δ < 0), from its δ-limit is η‖β‖²/(2δ²) + O(δ⁻⁴).

use super::ExactError;
use crate::models::{ModelError, check_finite, check_rate};
use crate::num::mp::{self, two_precision_bound_mp};
use crate::num::tol;
use nalgebra::{DMatrix, DVector};
use rug::Float;
use rug::ops::Pow;

/// Rank test for X (n×d, n < d): σ_min(X)/σ_max(X) must exceed this. Below it the rows are
/// numerically dependent and the constraint Xβ = y is ill-posed in f64 (cond(XXᵀ) > 10¹⁶).
pub const RANK_TOL: f64 = 1e-8;

/// Newton iteration limit (each solve converges in ≲ 30 damped + a few quadratic steps).
pub const MAX_NEWTON: usize = 200;

/// The potential whose Bregman divergence the flow minimises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Potential {
    /// P1 Thm 3.1: hyperbolic potential Ψ_δ (single neuron, two-layer), general rates.
    Hyperbolic {
        /// Initial a.
        a0: f64,
        /// η_a.
        eta_a: f64,
        /// η_w.
        eta_w: f64,
    },
    /// P1 Thm B.10 (δ → 0): Q(β) = ((L+1)/(L+2))‖β‖^{(L+2)/(L+1)}, depth L + 1.
    DeepBalanced {
        /// L (number of hidden layers; depth L + 1).
        l: u32,
    },
}

/// A KKT problem: data, the initial predictor and the potential.
///
/// For [`Potential::Hyperbolic`], `init` is w0 and β0 = a0·w0, δ = η_w a0² − η_a‖w0‖² are formed
/// at the working precision; for [`Potential::DeepBalanced`], `init` is β0 itself.
#[derive(Debug, Clone, PartialEq)]
pub struct KktProblem {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    init: Vec<f64>,
    potential: Potential,
    n: usize,
    d: usize,
}

/// A solution with its bound.
#[derive(Debug, Clone, PartialEq)]
pub struct KktSolution {
    /// β∞.
    pub beta: Vec<f64>,
    /// Multipliers ν.
    pub nu: Vec<f64>,
    /// Error bound on β (max norm over components).
    pub bound: f64,
    /// How the bound was obtained.
    pub method: String,
    /// Newton iterations.
    pub iterations: usize,
    /// ‖KKT residual‖_∞ at the solution (stationarity and feasibility).
    pub residual: f64,
}

/// A solution at working precision.
#[derive(Debug, Clone)]
pub struct KktSolutionMp {
    /// β∞ at precision p.
    pub beta: Vec<Float>,
    /// Two-precision bound per component (64-bit MPFR numbers).
    pub bounds: Vec<Float>,
    /// How the bound was obtained.
    pub method: String,
    /// Newton iterations at p (after the f64 start).
    pub iterations: usize,
    /// ‖KKT residual‖_∞ at precision p.
    pub residual: Float,
}

fn invalid(what: &str, expected: String, found: String) -> ExactError {
    ExactError::Model(ModelError::Shape {
        what: what.into(),
        expected,
        found,
    })
}

impl KktProblem {
    /// Build and validate.
    ///
    /// # Errors
    /// [`ExactError`] for ragged or non-finite data, n ≥ d (no null space: the interpolant is
    /// unique and there is no implicit bias to compute), rank(X) < n, non-positive rates, a zero
    /// initial predictor, or an initialisation that does not reach a sign-definite solution.
    pub fn new(x: &[Vec<f64>], y: &[f64], init: &[f64], potential: Potential) -> Result<Self, ExactError> {
        let n = x.len();
        let d = x.first().map_or(0, Vec::len);
        if n == 0 || d == 0 {
            return Err(invalid("x", "n×d with n ≥ 1, d ≥ 1".into(), format!("{n} rows")));
        }
        for (i, r) in x.iter().enumerate() {
            if r.len() != d {
                return Err(invalid(
                    &format!("x row {i}"),
                    format!("length {d}"),
                    format!("length {}", r.len()),
                ));
            }
            check_finite(&format!("x[{i}]"), r)?;
        }
        if n >= d {
            return Err(invalid(
                "x",
                "n < d (low rank: a null space for the implicit bias to act on)".into(),
                format!("n = {n}, d = {d}: the interpolant is unique (or absent); use the closed form or simulate"),
            ));
        }
        if y.len() != n {
            return Err(invalid("y", format!("length {n}"), format!("length {}", y.len())));
        }
        check_finite("y", y)?;
        if init.len() != d {
            return Err(invalid(
                "w0 / beta0",
                format!("length d = {d}"),
                format!("length {}", init.len()),
            ));
        }
        check_finite("w0 / beta0", init)?;
        if let Potential::Hyperbolic { a0, eta_a, eta_w } = potential {
            check_finite("a0", &[a0])?;
            check_rate("eta_a", eta_a)?;
            check_rate("eta_w", eta_w)?;
            if a0 == 0.0 {
                return Err(ExactError::Singular {
                    form: "implicit-bias (KKT)",
                    why: "a0 = 0 gives β0 = 0, where Thm 3.1's ∇Ψ(β0) is undefined; start with a0 ≠ 0".into(),
                });
            }
        }
        if init.iter().all(|v| *v == 0.0) {
            return Err(ExactError::Singular {
                form: "implicit-bias (KKT)",
                why: "β0 = 0: the theorem needs β(t) ≠ 0 for all t; start away from 0".into(),
            });
        }
        let xm = DMatrix::from_fn(n, d, |i, j| x[i][j]);
        let sv = xm.singular_values();
        let (smax, smin) = (sv.max(), sv.min());
        if smin <= RANK_TOL * smax {
            return Err(invalid(
                "x",
                format!("rank n = {n} (rows linearly independent, σ_min/σ_max > {RANK_TOL:.0e})"),
                format!("σ_min/σ_max = {:.2e}: drop redundant rows", smin / smax),
            ));
        }
        Ok(KktProblem {
            x: x.to_vec(),
            y: y.to_vec(),
            init: init.to_vec(),
            potential,
            n,
            d,
        })
    }

    /// Input dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// β0 in f64.
    pub fn beta0(&self) -> Vec<f64> {
        match self.potential {
            Potential::Hyperbolic { a0, .. } => self.init.iter().map(|w| a0 * w).collect(),
            Potential::DeepBalanced { .. } => self.init.clone(),
        }
    }

    /// δ in f64 (0 for the deep potential).
    pub fn delta(&self) -> f64 {
        match self.potential {
            Potential::Hyperbolic { a0, eta_a, eta_w } => {
                eta_w * a0 * a0 - eta_a * self.init.iter().map(|w| w * w).sum::<f64>()
            }
            Potential::DeepBalanced { .. } => 0.0,
        }
    }

    fn xm(&self) -> DMatrix<f64> {
        DMatrix::from_fn(self.n, self.d, |i, j| self.x[i][j])
    }

    /// The δ → +∞ limit: the interpolant closest to β0, β0 − Xᵀ(XXᵀ)⁻¹(Xβ0 − y).
    pub fn lazy_limit(&self) -> Vec<f64> {
        let x = self.xm();
        let b0 = DVector::from_vec(self.beta0());
        let r = &x * &b0 - DVector::from_vec(self.y.clone());
        let xxt = &x * x.transpose();
        let z = xxt.lu().solve(&r).expect("rank checked at construction");
        (b0 - x.transpose() * z).iter().copied().collect()
    }

    /// The δ → −∞ limit cβ0, c = (Xβ0)ᵀy/‖Xβ0‖², and whether it interpolates (max|Xcβ0 − y|).
    pub fn rich_direction_limit(&self) -> (Vec<f64>, f64) {
        let x = self.xm();
        let b0 = DVector::from_vec(self.beta0());
        let y = DVector::from_vec(self.y.clone());
        let xb = &x * &b0;
        let c = xb.dot(&y) / xb.norm_squared();
        let beta = &b0 * c;
        let miss = (&x * &beta - y).amax();
        (beta.iter().copied().collect(), miss)
    }

    /// g/r and g′ of the radial potential at r = ‖β‖ (f64).
    fn radial(&self, r: f64, delta: f64, eta: f64) -> (f64, f64) {
        match self.potential {
            Potential::Hyperbolic { .. } => {
                let kappa = delta.hypot(2.0 * eta.sqrt() * r);
                if delta >= 0.0 {
                    let s = (kappa + delta).sqrt();
                    (2.0 * eta.sqrt() / s, eta.sqrt() * s / kappa)
                } else {
                    let g = (kappa - delta).sqrt();
                    (g / r, 2.0 * eta * r / (kappa * g))
                }
            }
            Potential::DeepBalanced { l } => {
                let gr = r.powf(-f64::from(l) / f64::from(l + 1));
                (gr, gr / f64::from(l + 1))
            }
        }
    }

    fn eta(&self) -> f64 {
        match self.potential {
            Potential::Hyperbolic { eta_a, eta_w, .. } => eta_a * eta_w,
            Potential::DeepBalanced { .. } => 1.0,
        }
    }

    /// ∇P(β) in f64.
    pub fn grad_potential(&self, beta: &[f64]) -> Vec<f64> {
        let r = beta.iter().map(|b| b * b).sum::<f64>().sqrt();
        let (gr, _) = self.radial(r, self.delta(), self.eta());
        beta.iter().map(|b| gr * b).collect()
    }

    /// Solve the KKT system in f64.
    ///
    /// # Errors
    /// [`ExactError::Singular`] when Newton's method does not converge (an iterate reaches β = 0,
    /// where the potential is not differentiable for δ < 0, or the iteration limit is hit).
    pub fn solve(&self) -> Result<KktSolution, ExactError> {
        let (n, d) = (self.n, self.d);
        let x = self.xm();
        let y = DVector::from_vec(self.y.clone());
        let (delta, eta) = (self.delta(), self.eta());
        let g0 = DVector::from_vec(self.grad_potential(&self.beta0()));
        let mut beta = DVector::from_vec(self.lazy_limit());
        let mut nu = DVector::<f64>::zeros(n);
        let resid = |b: &DVector<f64>, nu: &DVector<f64>| -> Option<DVector<f64>> {
            let r = b.norm();
            if r == 0.0 || !r.is_finite() {
                return None;
            }
            let (gr, _) = self.radial(r, delta, eta);
            let mut out = DVector::zeros(d + n);
            out.rows_mut(0, d).copy_from(&(b * gr - &g0 - x.transpose() * nu));
            out.rows_mut(d, n).copy_from(&(&x * b - &y));
            Some(out)
        };
        let mut res = resid(&beta, &nu).ok_or_else(|| not_converged("the lazy start is β = 0"))?;
        let mut last_step = f64::INFINITY;
        let mut kmat = DMatrix::<f64>::zeros(d + n, d + n);
        let mut it = 0;
        let mut stalls = 0;
        while it < MAX_NEWTON {
            it += 1;
            let r = beta.norm();
            let (gr, gp) = self.radial(r, delta, eta);
            fill_kkt(&mut kmat, &x, &beta, r, gr, gp);
            let step = kmat
                .clone()
                .lu()
                .solve(&(-&res))
                .ok_or_else(|| not_converged("singular KKT matrix"))?;
            let (db, dn) = (step.rows(0, d).into_owned(), step.rows(d, n).into_owned());
            let mut s = 1.0;
            let r0 = res.norm();
            let accepted = loop {
                let b1 = &beta + &db * s;
                let n1 = &nu + &dn * s;
                if let Some(r1) = resid(&b1, &n1)
                    && r1.norm() <= (1.0 - 0.01 * s) * r0
                {
                    break Some((b1, n1, r1));
                }
                s *= 0.5;
                if s < 1e-12 {
                    break None;
                }
            };
            last_step = db.amax() * s;
            match accepted {
                Some((b1, n1, r1)) => {
                    beta = b1;
                    nu = n1;
                    res = r1;
                    stalls = 0;
                }
                None => {
                    // At the rounding floor the residual no longer decreases: take the full step
                    // once more (it is of rounding size) and stop.
                    stalls += 1;
                    last_step = db.amax();
                    if stalls >= 2 || last_step > 1e3 * tol::F64_UNIT_ROUNDOFF * beta.amax().max(1.0) {
                        break;
                    }
                }
            }
            if s == 1.0 && last_step <= 4.0 * tol::F64_UNIT_ROUNDOFF * beta.amax() {
                break;
            }
        }
        let scale_b = beta.amax();
        if last_step.is_nan() || last_step > 1e-10 * scale_b.max(1e-300) {
            return Err(not_converged(&format!(
                "after {it} Newton iterations the last step is {last_step:.2e} (|β| = {scale_b:.2e})"
            )));
        }
        // Rounding floor: ‖K⁻¹‖₂ × the rounding error of the residual.
        let r = beta.norm();
        let (gr, gp) = self.radial(r, delta, eta);
        fill_kkt(&mut kmat, &x, &beta, r, gr, gp);
        let sv = kmat.clone().singular_values();
        let kinv = 1.0 / sv.min();
        let xnorm = x.clone().singular_values().max();
        let floor = kinv
            * 8.0
            * (d + n) as f64
            * tol::F64_UNIT_ROUNDOFF
            * ((&beta * gr).norm() + g0.norm() + (x.transpose() * &nu).norm() + xnorm * r + y.norm());
        Ok(KktSolution {
            bound: 2.0 * last_step + floor,
            method:
                "f64 infeasible-start Newton on the KKT system (LU); bound = 2·last step + ‖K⁻¹‖·8(d+n)u·(residual \
                     terms) (estimate)"
                    .into(),
            iterations: it,
            residual: res.amax(),
            beta: beta.iter().copied().collect(),
            nu: nu.iter().copied().collect(),
        })
    }

    /// Solve at `prec` bits, starting from the f64 solution, with a two-precision bound
    /// (p and p + 64 bits).
    ///
    /// # Errors
    /// [`ExactError::Prec`] for a precision outside [53, 2²⁰]; as [`KktProblem::solve`].
    pub fn solve_mp(&self, prec: u32) -> Result<KktSolutionMp, ExactError> {
        mp::check_prec(prec)?;
        let start = self.solve()?;
        let (lo, it, res) = self.newton_mp(prec, &start)?;
        let (hi, _, _) = self.newton_mp(prec + tol::GUARD_BITS, &start)?;
        let bounds = lo.iter().zip(&hi).map(|(a, b)| two_precision_bound_mp(a, b)).collect();
        Ok(KktSolutionMp {
            beta: lo,
            bounds,
            method: format!(
                "MPFR Newton on the KKT system at {prec} bits from the f64 solution, iterated to a step < 2^(-p/2)·|β| plus two steps; \
                 two-precision bound (vs {} bits)",
                prec + tol::GUARD_BITS
            ),
            iterations: it,
            residual: res,
        })
    }

    fn newton_mp(&self, p: u32, start: &KktSolution) -> Result<(Vec<Float>, usize, Float), ExactError> {
        let (n, d) = (self.n, self.d);
        let f = |v: f64| Float::with_val(p, v);
        let x: Vec<Vec<Float>> = self.x.iter().map(|r| r.iter().map(|v| f(*v)).collect()).collect();
        let y: Vec<Float> = self.y.iter().map(|v| f(*v)).collect();
        let (beta0, delta, eta) = match self.potential {
            Potential::Hyperbolic { a0, eta_a, eta_w } => {
                let w: Vec<Float> = self.init.iter().map(|v| f(*v)).collect();
                let b0: Vec<Float> = w.iter().map(|wi| Float::with_val(p, wi * a0)).collect();
                let w2 = dot(&w, &w, p);
                let delta = Float::with_val(p, f(a0).square() * eta_w) - Float::with_val(p, w2 * eta_a);
                (b0, delta, Float::with_val(p, f(eta_a) * eta_w))
            }
            Potential::DeepBalanced { .. } => (self.init.iter().map(|v| f(*v)).collect(), f(0.0), f(1.0)),
        };
        let radial = |r: &Float| -> Option<(Float, Float)> { self.radial_mp(r, &delta, &eta, p) };
        let norm = |v: &[Float]| dot(v, v, p).sqrt();
        let (gr0, _) = radial(&norm(&beta0)).ok_or_else(|| not_converged("β0 = 0"))?;
        let g0: Vec<Float> = beta0.iter().map(|b| Float::with_val(p, b * &gr0)).collect();
        let resid = |b: &[Float], nu: &[Float]| -> Option<Vec<Float>> {
            let (gr, _) = radial(&norm(b))?;
            let mut out = Vec::with_capacity(d + n);
            for j in 0..d {
                let mut v = Float::with_val(p, &b[j] * &gr) - &g0[j];
                for i in 0..n {
                    v -= Float::with_val(p, &x[i][j] * &nu[i]);
                }
                out.push(v);
            }
            for i in 0..n {
                out.push(dot(&x[i], b, p) - &y[i]);
            }
            Some(out)
        };
        let mut beta: Vec<Float> = start.beta.iter().map(|v| f(*v)).collect();
        let mut nu: Vec<Float> = start.nu.iter().map(|v| f(*v)).collect();
        let half = Float::with_val(p, Float::i_exp(1, -(p as i32) / 2));
        let mut extra = 0;
        for it in 1..=MAX_NEWTON {
            let res = resid(&beta, &nu).ok_or_else(|| not_converged("an MPFR iterate reached β = 0"))?;
            let r = norm(&beta);
            let (gr, gp) = radial(&r).ok_or_else(|| not_converged("β = 0"))?;
            // K = [[H, −Xᵀ], [X, 0]], H = gr·I + (gp − gr)·ββᵀ/r².
            let m = d + n;
            let mut k = vec![vec![f(0.0); m]; m];
            let coef = Float::with_val(p, &gp - &gr) / Float::with_val(p, r.clone().square());
            for i in 0..d {
                for j in 0..d {
                    let mut v = Float::with_val(p, &coef * &beta[i]) * &beta[j];
                    if i == j {
                        v += &gr;
                    }
                    k[i][j] = v;
                }
                for l in 0..n {
                    k[i][d + l] = -x[l][i].clone();
                    k[d + l][i] = x[l][i].clone();
                }
            }
            let rhs: Vec<Float> = res.iter().map(|v| -v.clone()).collect();
            let step = gauss_solve(k, rhs, p).ok_or_else(|| not_converged("singular MPFR KKT matrix"))?;
            let mut smax = f(0.0);
            for j in 0..d {
                beta[j] += &step[j];
                let a = Float::with_val(p, step[j].abs_ref());
                if a > smax {
                    smax = a;
                }
            }
            for l in 0..n {
                nu[l] += &step[d + l];
            }
            let bmax = beta
                .iter()
                .map(|b| Float::with_val(p, b.abs_ref()))
                .fold(f(0.0), |a, b| a.max(&b));
            if extra == 0 && smax <= Float::with_val(p, &bmax * &half) {
                // Quadratic convergence: the error is now ≈ step² ≈ 2^{−p}|β|; two more steps
                // settle it at the rounding floor (a step of rounding size cannot shrink further).
                extra = 1;
            } else if extra > 0 {
                extra += 1;
            }
            if extra == 3 {
                let res = resid(&beta, &nu).ok_or_else(|| not_converged("β = 0"))?;
                let rmax = res
                    .iter()
                    .map(|v| Float::with_val(p, v.abs_ref()))
                    .fold(f(0.0), |a, b| a.max(&b));
                return Ok((beta, it, rmax));
            }
        }
        Err(not_converged(&format!(
            "MPFR Newton at {p} bits: no convergence in {MAX_NEWTON} steps"
        )))
    }

    fn radial_mp(&self, r: &Float, delta: &Float, eta: &Float, p: u32) -> Option<(Float, Float)> {
        if r.is_zero() || !r.is_finite() {
            return None;
        }
        Some(match self.potential {
            Potential::Hyperbolic { .. } => {
                let se = Float::with_val(p, eta.sqrt_ref());
                let kappa = Float::with_val(
                    p,
                    delta.clone().square() + Float::with_val(p, r.clone().square() * eta) * 4u32,
                )
                .sqrt();
                if *delta >= 0 {
                    let s = Float::with_val(p, &kappa + delta).sqrt();
                    (
                        Float::with_val(p, &se * 2u32) / &s,
                        Float::with_val(p, &se * &s) / &kappa,
                    )
                } else {
                    let g = Float::with_val(p, &kappa - delta).sqrt();
                    let gp = Float::with_val(p, eta * r) * 2u32 / Float::with_val(p, &kappa * &g);
                    (g / r, gp)
                }
            }
            Potential::DeepBalanced { l } => {
                let e = Float::with_val(p, -(l as i32)) / (l + 1);
                let gr = Float::with_val(p, r.pow(&e));
                let gp = Float::with_val(p, &gr / (l + 1));
                (gr, gp)
            }
        })
    }
}

fn not_converged(why: &str) -> ExactError {
    ExactError::Singular {
        form: "implicit-bias (KKT)",
        why: format!(
            "Newton's method did not converge: {why}; the theorem needs β(t) ≠ 0 along the flow \
             (δ < 0 with a start near the origin can violate it)"
        ),
    }
}

/// K = [[H, −Xᵀ], [X, 0]] with H = gr·I + (gp − gr)·β̂β̂ᵀ.
fn fill_kkt(k: &mut DMatrix<f64>, x: &DMatrix<f64>, beta: &DVector<f64>, r: f64, gr: f64, gp: f64) {
    let (n, d) = (x.nrows(), x.ncols());
    k.fill(0.0);
    let c = (gp - gr) / (r * r);
    for i in 0..d {
        for j in 0..d {
            k[(i, j)] = c * beta[i] * beta[j] + if i == j { gr } else { 0.0 };
        }
        for l in 0..n {
            k[(i, d + l)] = -x[(l, i)];
            k[(d + l, i)] = x[(l, i)];
        }
    }
}

fn dot(a: &[Float], b: &[Float], p: u32) -> Float {
    let mut s = Float::new(p);
    for (x, y) in a.iter().zip(b) {
        s += Float::with_val(p, x * y);
    }
    s
}

/// Gaussian elimination with partial pivoting on MPFR numbers (small dense systems).
fn gauss_solve(mut a: Vec<Vec<Float>>, mut b: Vec<Float>, p: u32) -> Option<Vec<Float>> {
    let m = b.len();
    for col in 0..m {
        let piv = (col..m).max_by(|&i, &j| {
            a[i][col]
                .clone()
                .abs()
                .partial_cmp(&a[j][col].clone().abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        })?;
        if a[piv][col].is_zero() {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for i in col + 1..m {
            let fct = Float::with_val(p, &a[i][col] / &a[col][col]);
            if fct.is_zero() {
                continue;
            }
            let (top, rest) = a.split_at_mut(i);
            for (dst, src) in rest[0][col..].iter_mut().zip(&top[col][col..]) {
                *dst -= Float::with_val(p, &fct * src);
            }
            let t = Float::with_val(p, &fct * &b[col]);
            b[i] -= t;
        }
    }
    let mut xs = vec![Float::new(p); m];
    for i in (0..m).rev() {
        let mut s = b[i].clone();
        for j in i + 1..m {
            s -= Float::with_val(p, &a[i][j] * &xs[j]);
        }
        xs[i] = s / &a[i][i];
    }
    Some(xs)
}

impl KktSolutionMp {
    /// Largest bound, as an f64 rounded up.
    pub fn max_bound(&self) -> f64 {
        self.bounds
            .iter()
            .map(|b| b.to_f64_round(rug::float::Round::Up))
            .fold(0.0, f64::max)
    }
}
