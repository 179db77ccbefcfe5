//! Implicit bias of the single neuron and of deep linear nets on low-rank data: the interpolant
//! gradient flow converges to, as the solution of a KKT system, solved by Newton's method in f64
//! and at any precision (MPFR).
//!
//! **Single neuron, P1 Thm 3.1** (`docs/theory.md` §1.7, stated for η_a = η_w = 1): if β(t) ≠ 0 for all
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
//! **Deep nets, P1 Thm B.10** (`docs/theory.md` §2.6): depth L+1, c = 1, square width, isotropic
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
//! `tests/it/implicit_bias.rs`. MPFR: the two-precision estimate (p and p + 64 bits,
//! [`mp::two_precision_bound_mp`]), each solve iterated until its Newton step is below 2^{−p/2}‖β‖ (error ≈ step² ≈ 2^{−p}) and
//! then two more steps.
//!
//! **δ → ±∞ limits** (`docs/theory.md` §1.7): δ → +∞ gives the lazy interpolant closest to β0,
//! β0 − X⁺(Xβ0 − y); δ → −∞ gives cβ0 with c = (Xβ0)ᵀy/‖Xβ0‖², an interpolant only when
//! y ∈ span(Xβ0) (n = 1) and c > 0. Both are approached at rate O(δ⁻²) [derived here]: the
//! relative deviation of g/r (δ > 0), resp. of g (δ < 0), from its δ-limit is η‖β‖²/(2δ²) + O(δ⁻⁴).

use super::ExactError;
use crate::models::{ModelError, check_finite, check_rate};
use crate::num::ball::Ball;
use crate::num::mp::{self, two_precision_bound_mp};
use crate::num::real::{Real, RealError, dot, solve};
use crate::num::tol;
use nalgebra::{DMatrix, DVector};
use rug::Float;

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

    /// Number of constraints n (rows of X).
    pub fn x_rows(&self) -> usize {
        self.n
    }

    /// β0 in f64.
    pub fn beta0(&self) -> Vec<f64> {
        self.beta0_of(&1.0)
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

    /// The δ → +∞ limit: the interpolant closest to β0, β0 − Xᵀ(XXᵀ)⁻¹(Xβ0 − y), in f64.
    pub fn lazy_limit(&self) -> Vec<f64> {
        self.lazy_limit_of(&1.0).expect("rank checked at construction")
    }

    /// The δ → +∞ limit in the scalar of `one` ([`Self::lazy_limit`]'s formula, written once).
    ///
    /// # Errors
    /// [`RealError`] when XXᵀ is singular to working precision (or, for balls, not proven
    /// non-singular).
    pub fn lazy_limit_of<S: Real>(&self, one: &S) -> Result<Vec<S>, RealError> {
        let x: Vec<Vec<S>> = self
            .x
            .iter()
            .map(|r| r.iter().map(|v| one.real(*v)).collect())
            .collect();
        let b0 = self.beta0_of(one);
        let r: Vec<S> = x
            .iter()
            .zip(&self.y)
            .map(|(xi, yi)| dot(xi, &b0).minus(&one.real(*yi)))
            .collect();
        let xxt: Vec<Vec<S>> = x.iter().map(|xi| x.iter().map(|xj| dot(xi, xj)).collect()).collect();
        let z = solve(xxt, r)?;
        Ok((0..self.d)
            .map(|j| {
                let xtz = dot(&x.iter().map(|xi| xi[j].clone()).collect::<Vec<_>>(), &z);
                b0[j].minus(&xtz)
            })
            .collect())
    }

    /// The δ → −∞ limit cβ0, c = (Xβ0)ᵀy/‖Xβ0‖², and whether it interpolates (max|Xcβ0 − y|).
    pub fn rich_direction_limit(&self) -> (Vec<f64>, f64) {
        let beta = self
            .rich_direction_limit_of(&1.0)
            .unwrap_or_else(|_| vec![f64::NAN; self.d]);
        let miss = self
            .x
            .iter()
            .zip(&self.y)
            .map(|(xi, yi)| (dot(xi, &beta) - yi).abs())
            .fold(0.0, f64::max);
        (beta, miss)
    }

    /// The δ → −∞ limit cβ0 in the scalar of `one` (one formula for every scalar).
    ///
    /// # Errors
    /// [`RealError`] when Xβ0 = 0 (no such limit).
    pub fn rich_direction_limit_of<S: Real>(&self, one: &S) -> Result<Vec<S>, RealError> {
        let b0 = self.beta0_of(one);
        let xb: Vec<S> = self
            .x
            .iter()
            .map(|r| dot(&r.iter().map(|v| one.real(*v)).collect::<Vec<_>>(), &b0))
            .collect();
        let y: Vec<S> = self.y.iter().map(|v| one.real(*v)).collect();
        let c = dot(&xb, &y).over(&dot(&xb, &xb))?;
        Ok(b0.iter().map(|b| b.times(&c)).collect())
    }

    /// β0 in the scalar of `one` (a0·w0 formed in it).
    fn beta0_of<S: Real>(&self, one: &S) -> Vec<S> {
        match self.potential {
            Potential::Hyperbolic { a0, .. } => self.init.iter().map(|w| one.real(*w).times(&one.real(a0))).collect(),
            Potential::DeepBalanced { .. } => self.init.iter().map(|v| one.real(*v)).collect(),
        }
    }

    /// g/r and g′ of the radial potential at r = ‖β‖ (f64): [`Self::radial_of`].
    fn radial(&self, r: f64, delta: f64, eta: f64) -> (f64, f64) {
        self.radial_of(&r, &delta, &eta).unwrap_or((f64::NAN, f64::NAN))
    }

    /// g/r and g′ of the radial potential at r = ‖β‖, written once for every scalar ([`Real`]):
    ///
    /// - hyperbolic, κ = √(δ² + 4ηr²): for δ ≥ 0, g/r = 2√η/√(κ + δ) and g′ = √η·√(κ + δ)/κ; for
    ///   δ < 0, g = √(κ − δ), g/r = g/r and g′ = 2ηr/(κg) — the same functions (as
    ///   (κ − δ)(κ + δ) = 4ηr²), each branch free of cancellation;
    /// - deep, depth L + 1: g/r = r^(−L/(L+1)) = exp(−L/(L+1)·ln r), g′ = (g/r)/(L + 1).
    ///
    /// # Errors
    /// [`RealError`] at r = 0 where g/r is singular (δ ≤ 0, deep) or when a ball reaches a
    /// singularity.
    fn radial_of<S: Real>(&self, r: &S, delta: &S, eta: &S) -> Result<(S, S), RealError> {
        Ok(match self.potential {
            Potential::Hyperbolic { .. } => {
                let se = eta.sqrt_r()?;
                let four_eta = eta.times(&eta.real(4.0));
                let kappa = delta.times(delta).plus(&four_eta.times(&r.times(r))).sqrt_r()?;
                if delta.nonneg_hint() {
                    let s = kappa.plus(delta).sqrt_r()?;
                    (se.times(&se.real(2.0)).over(&s)?, se.times(&s).over(&kappa)?)
                } else {
                    let g = kappa.minus(delta).sqrt_r()?;
                    let gp = eta.times(r).times(&r.real(2.0)).over(&kappa.times(&g))?;
                    (g.over(r)?, gp)
                }
            }
            Potential::DeepBalanced { l } => {
                let e = r.real(-f64::from(l)).over(&r.real(f64::from(l + 1)))?;
                let gr = e.times(&r.ln_r()?).exp_r();
                let gp = gr.over(&r.real(f64::from(l + 1)))?;
                (gr, gp)
            }
        })
    }

    /// X, y, β0, δ, η and ∇P(β0) in the scalar of `one` (from the binary64 inputs, exactly at
    /// p ≥ 53 bits; β0 = a0·w0 and δ = η_w a0² − η_a‖w0‖² are formed in that scalar).
    ///
    /// # Errors
    /// [`RealError`] when ∇P(β0) cannot be evaluated.
    fn data_of<S: Real>(&self, one: &S) -> Result<KktData<S>, RealError> {
        let c = |v: &f64| one.real(*v);
        let x: Vec<Vec<S>> = self.x.iter().map(|r| r.iter().map(c).collect()).collect();
        let y: Vec<S> = self.y.iter().map(c).collect();
        let (beta0, delta, eta): (Vec<S>, S, S) = match self.potential {
            Potential::Hyperbolic { a0, eta_a, eta_w } => {
                let w: Vec<S> = self.init.iter().map(c).collect();
                let a = c(&a0);
                let delta = c(&eta_w).times(&a.times(&a)).minus(&c(&eta_a).times(&dot(&w, &w)));
                (self.beta0_of(one), delta, c(&eta_a).times(&c(&eta_w)))
            }
            Potential::DeepBalanced { .. } => (self.beta0_of(one), c(&0.0), c(&1.0)),
        };
        let (gr0, _) = self.radial_of(&dot(&beta0, &beta0).sqrt_r()?, &delta, &eta)?;
        let g0 = beta0.iter().map(|b: &S| b.times(&gr0)).collect();
        Ok(KktData { x, y, delta, eta, g0 })
    }

    /// The KKT residual F(β, ν) = (∇P(β) − ∇P(β0) − Xᵀν, Xβ − y), for every scalar.
    ///
    /// # Errors
    /// [`RealError`] when ∇P(β) cannot be evaluated (β = 0, or a ball reaching 0).
    fn residual_of<S: Real>(&self, k: &KktData<S>, beta: &[S], nu: &[S]) -> Result<Vec<S>, RealError> {
        let (gr, _) = self.radial_of(&dot(beta, beta).sqrt_r()?, &k.delta, &k.eta)?;
        let mut out = Vec::with_capacity(self.d + self.n);
        for (j, (b, g0)) in beta.iter().zip(&k.g0).enumerate() {
            let mut v = b.times(&gr).minus(g0);
            for (i, nu_i) in nu.iter().enumerate() {
                v = v.minus(&k.x[i][j].times(nu_i));
            }
            out.push(v);
        }
        for i in 0..self.n {
            out.push(dot(&k.x[i], beta).minus(&k.y[i]));
        }
        Ok(out)
    }

    /// The KKT matrix ∂F/∂(β, ν) = [[H, −Xᵀ], [X, 0]], H = (g/r)·I + (g′ − g/r)·ββᵀ/‖β‖², for
    /// every scalar (over a box of β when the scalar is a ball).
    ///
    /// # Errors
    /// As [`Self::residual_of`].
    fn jacobian_of<S: Real>(&self, k: &KktData<S>, beta: &[S]) -> Result<Vec<Vec<S>>, RealError> {
        let (d, m) = (self.d, self.d + self.n);
        let r2 = dot(beta, beta);
        let (gr, gp) = self.radial_of(&r2.sqrt_r()?, &k.delta, &k.eta)?;
        let coef = gp.minus(&gr).over(&r2)?;
        let zero = gr.real(0.0);
        let mut out = vec![vec![zero; m]; m];
        for i in 0..d {
            let ci = coef.times(&beta[i]);
            for j in 0..d {
                let mut v = ci.times(&beta[j]);
                if i == j {
                    v = v.plus(&gr);
                }
                out[i][j] = v;
            }
            for l in 0..self.n {
                out[i][d + l] = zero_minus(&k.x[l][i]);
                out[d + l][i] = k.x[l][i].clone();
            }
        }
        Ok(out)
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
        let (lo, _, it, res) = self.newton_mp(prec, &start)?;
        let (hi, _, _, _) = self.newton_mp(prec + tol::GUARD_BITS, &start)?;
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

    /// Newton's method at `p` bits from the f64 solution: (β, ν, iterations, ‖F‖_∞).
    fn newton_mp(&self, p: u32, start: &KktSolution) -> Result<(Vec<Float>, Vec<Float>, usize, Float), ExactError> {
        let d = self.d;
        let f = |v: f64| Float::with_val(p, v);
        let k = self
            .data_of(&f(1.0))
            .map_err(|e| not_converged(&format!("∇P(β0): {e}")))?;
        let max_abs = |v: &[Float]| {
            v.iter()
                .map(|x| Float::with_val(p, x.abs_ref()))
                .fold(f(0.0), |a, b| a.max(&b))
        };
        let mut beta: Vec<Float> = start.beta.iter().map(|v| f(*v)).collect();
        let mut nu: Vec<Float> = start.nu.iter().map(|v| f(*v)).collect();
        let half = Float::with_val(p, Float::i_exp(1, -(p as i32) / 2));
        let mut extra = 0;
        for it in 1..=MAX_NEWTON {
            let res = self
                .residual_of(&k, &beta, &nu)
                .map_err(|e| not_converged(&format!("an MPFR iterate: {e}")))?;
            let kmat = self.jacobian_of(&k, &beta).map_err(|e| not_converged(&e.to_string()))?;
            let rhs: Vec<Float> = res.iter().map(|v| -v.clone()).collect();
            let step = solve(kmat, rhs).map_err(|e| not_converged(&format!("singular MPFR KKT matrix: {e}")))?;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            for (v, s) in nu.iter_mut().zip(&step[d..]) {
                *v += s;
            }
            let smax = max_abs(&step[..d]);
            if extra == 0 && smax <= Float::with_val(p, &max_abs(&beta) * &half) {
                // Quadratic convergence: the error is now ≈ step² ≈ 2^{−p}|β|; two more steps
                // settle it at the rounding floor (a step of rounding size cannot shrink further).
                extra = 1;
            } else if extra > 0 {
                extra += 1;
            }
            if extra == 3 {
                let res = self
                    .residual_of(&k, &beta, &nu)
                    .map_err(|e| not_converged(&e.to_string()))?;
                let rmax = max_abs(&res);
                return Ok((beta, nu, it, rmax));
            }
        }
        Err(not_converged(&format!(
            "MPFR Newton at {p} bits: no convergence in {MAX_NEWTON} steps"
        )))
    }

    /// A rigorous enclosure of the KKT solution at `prec` bits, by the Krawczyk test
    /// (Krawczyk 1969; Moore, Kearfott & Cloud, *Introduction to Interval Analysis*, §8.2):
    ///
    /// with z̃ = (β̃, ν̃) the MPFR Newton solution, C ≈ K(z̃)⁻¹ (the f64 inverse of the KKT
    /// matrix, taken as exact numbers) and the box Z = z̃ + [−ρ, ρ]^(d+n),
    ///
    /// ```text
    /// 𝒦(Z) = z̃ − C·F(z̃) + (I − C·K(Z))·(Z − z̃),
    /// ```
    ///
    /// evaluated in ball arithmetic (F at the point z̃, the KKT matrix K over the whole box). If
    /// 𝒦(Z) lies in the interior of Z, F has exactly one zero in Z and it lies in 𝒦(Z) (by the
    /// mean-value form F(z) = F(z̃) + J(z − z̃) with J ∈ K(Z) and Brouwer's theorem; uniqueness as
    /// I − CJ is a contraction on Z). ρ starts at 4·‖C·F(z̃)‖ and grows ×16 up to 8 times.
    /// The inputs are the binary64 data as given (exact in balls); β0 and δ are formed in balls.
    /// By the strict convexity of the potential (module doc), that zero is *the* KKT point.
    ///
    /// # Errors
    /// As [`KktProblem::solve_mp`]; [`ExactError::Singular`] when the test fails at every ρ
    /// (an ill-conditioned KKT matrix, or a potential singular near the solution).
    pub fn enclose(&self, prec: u32) -> Result<KktEnclosure, ExactError> {
        mp::check_prec(prec)?;
        let (d, m) = (self.d, self.d + self.n);
        let start = self.solve()?;
        let (beta, nu, _, _) = self.newton_mp(prec, &start)?;
        let z: Vec<Float> = beta.into_iter().chain(nu).collect();
        let fail = |e: RealError| not_converged(&format!("Krawczyk test: {e}"));
        let k = self.data_of(&Ball::from_f64(prec, 1.0)).map_err(fail)?;
        let zb: Vec<Ball> = z.iter().map(|v| Ball::exact(v.clone())).collect();
        let fz = self.residual_of(&k, &zb[..d], &zb[d..]).map_err(fail)?;
        // Preconditioner: any matrix works (the test proves what it proves); the f64 inverse of
        // the midpoint KKT matrix makes I − C·K(Z) small.
        let kf = self.data_of(&1.0f64).map_err(fail)?;
        let zf: Vec<f64> = z.iter().map(Float::to_f64).collect();
        let kz = self.jacobian_of(&kf, &zf[..d]).map_err(fail)?;
        let cinv = DMatrix::from_fn(m, m, |i, j| kz[i][j])
            .try_inverse()
            .ok_or_else(|| not_converged("Krawczyk test: singular KKT matrix at the solution"))?;
        let c: Vec<Vec<Ball>> = (0..m)
            .map(|i| (0..m).map(|j| Ball::from_f64(prec, cinv[(i, j)])).collect())
            .collect();
        let cf: Vec<Ball> = c.iter().map(|row| dot(row, &fz)).collect();
        let scale = z.iter().map(|v| v.to_f64().abs()).fold(1.0, f64::max);
        let mut rho =
            (4.0 * cf.iter().map(Ball::mag_up).fold(0.0, f64::max)).max(scale * 2f64.powi(8 - prec.min(1000) as i32));
        for _ in 0..8 {
            let zbox: Vec<Ball> = z.iter().map(|v| Ball::with_rad(v.clone(), rho)).collect();
            let kbox = self.jacobian_of(&k, &zbox[..d]).map_err(fail)?;
            let e = Ball::with_rad(Float::new(prec), rho);
            let mut inside = true;
            let mut out = Vec::with_capacity(m);
            for i in 0..m {
                // Row i of I − C·K(Z), applied to [−ρ, ρ]^m.
                let mut acc = zb[i].sub(&cf[i]);
                for j in 0..m {
                    let mut mij = dot(&c[i], &kbox.iter().map(|r| r[j].clone()).collect::<Vec<_>>());
                    mij = zero_minus(&mij);
                    if i == j {
                        mij = mij.add(&Ball::from_f64(prec, 1.0));
                    }
                    acc = acc.add(&mij.mul(&e));
                }
                inside &= acc.sub(&zb[i]).mag_up() < rho;
                out.push(acc);
            }
            if inside {
                let radius = out.iter().map(Ball::rad).fold(0.0, f64::max);
                let nu = out.split_off(d);
                return Ok(KktEnclosure {
                    beta: out,
                    nu,
                    radius,
                    method: format!(
                        "Krawczyk test at {prec} bits (ball arithmetic): the unique KKT solution lies in the printed \
                         balls (box half-width {rho:.1e} around the MPFR Newton solution)"
                    ),
                });
            }
            rho *= 16.0;
        }
        Err(not_converged(&format!(
            "the Krawczyk test at {prec} bits failed for every box up to half-width {rho:.1e} (an ill-conditioned              KKT matrix): raise the precision"
        )))
    }
}

/// −x, exact in every scalar (0 − x).
fn zero_minus<S: Real>(x: &S) -> S {
    x.real(0.0).minus(x)
}

/// The problem's data in one scalar type (see [`KktProblem::data_of`]).
#[derive(Debug, Clone)]
struct KktData<S> {
    x: Vec<Vec<S>>,
    y: Vec<S>,
    delta: S,
    eta: S,
    /// ∇P(β0).
    g0: Vec<S>,
}

/// A rigorous enclosure of the KKT solution ([`KktProblem::enclose`]).
#[derive(Debug, Clone)]
pub struct KktEnclosure {
    /// β∞, one ball per component.
    pub beta: Vec<Ball>,
    /// The multipliers ν.
    pub nu: Vec<Ball>,
    /// Largest radius.
    pub radius: f64,
    /// How the enclosure was proven.
    pub method: String,
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

impl KktSolutionMp {
    /// Largest bound, as an f64 rounded up.
    pub fn max_bound(&self) -> f64 {
        self.bounds
            .iter()
            .map(|b| b.to_f64_round(rug::float::Round::Up))
            .fold(0.0, f64::max)
    }
}
