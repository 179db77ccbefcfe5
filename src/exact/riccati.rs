//! The λ-balanced closed form QQᵀ(t), written once for every number type ([`Real`]: f64, MPFR,
//! ball) — P2 Lemma 4.1 / Thm 4.3, `docs/theory.md` §4.3–4.4.
//!
//! **Equation.** With whitened data (XXᵀ/P = I) and a λ-balanced init (W2ᵀW2 − W1W1ᵀ = λI_h),
//! P = QQᵀ, Q = [W1ᵀ; W2], solves the matrix Riccati equation τ dP/dt = FP + PF − P² with the
//! symmetric F = [[−λ/2·I, Σ̃_yxᵀ], [Σ̃_yx, λ/2·I]]. Its solution over a time step δ (in units of
//! τ) is, exactly (`docs/theory.md` §4.4, the F⁻¹-free form, with Q[I + QᵀJQ]⁻¹Qᵀ = (I + PJ)⁻¹P
//! by the push-through identity):
//!
//! P(s + δ) = E (I + P(s) J)⁻¹ P(s) E,  E = e^{Fδ},  J = ∫₀^δ e^{2Fu} du.
//!
//! **Evaluation.** The autonomous flow is a semigroup, so a long time is many exact steps, each
//! with ‖F‖_∞·δ ≤ 1/2 and hence well-conditioned (digits lost grow with log(steps), not with
//! max|f|·t — P2's "numerically unstable for long t" is about the one-shot formula). The steps run
//! in an approximate eigenbasis V of F (an f64 eigen-decomposition; any invertible V is exact
//! algebra): with W = V⁻¹, P̂ = W P Wᵀ, F̂ = W F V (nearly diagonal), the step becomes
//! P̂ ← Ê (I + P̂ Ĵ)⁻¹ P̂ Êᵀ with Ê = e^{F̂δ} = W E V and Ĵ = VᵀJV = (VᵀV)·∫₀^δ e^{2F̂u} du.
//! Nearly diagonal factors keep ball arithmetic from over-estimating: a radius grows like the
//! perturbations of the true flow do, not like |E|·|E| in a mixing basis.
//!
//! e^{F̂δ} and ∫₀^δ e^{2F̂u}du are Taylor series in A = F̂δ (‖A‖_∞ ≤ θ ≤ 1/2) truncated after N
//! terms, with the proven remainders ‖Σ_{m>N} A^m/m!‖ ≤ 2θ^{N+1}/(N+1)! and
//! ‖δ·Σ_{m>N} (2A)^m/(m+1)!‖ ≤ 2δ(2θ)^{N+1}/(N+2)! (the tail of each series is at most twice its
//! first term, since the ratio of consecutive terms is ≤ 2θ/(N+2) ≤ 1/2). Over balls the
//! remainders are added to every entry's radius ([`Real::widen_r`]), so the result is an
//! enclosure of the exact Riccati solution for the numbers given; over f64 and MPFR, N makes
//! the remainder smaller than the rounding.
//!
//! **Assumptions.** This module solves the Riccati equation; it is the network's flow only when
//! the inputs are exactly whitened and exactly λ-balanced (checked by the caller).

use super::lambda_balanced::LbError;
use crate::case::LambdaBalancedCase;
use crate::models::ModelError;
use crate::models::lambda_balanced_exact::{AssumptionError, ExactAssumptions, case_assumptions};
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::num::mat::Mat;
use crate::num::real::{Real, RealError};

/// Largest ‖F̂‖_∞·δ per step (see the module doc: makes each Taylor tail at most twice its
/// first term and each step's (I + P̂Ĵ) well-conditioned).
pub const STEP_THETA: f64 = 0.5;

/// Most steps one evaluation may take (a step costs a few n³ operations): beyond it the request
/// is refused rather than run for hours.
pub const MAX_STEPS: u64 = 10_000_000;

/// Errors of the generic closed form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RiccatiError {
    /// A scalar operation failed (division by a ball containing 0, overflow).
    #[error(transparent)]
    Real(#[from] RealError),
    /// Bad case inputs (shapes, τ ≤ 0, non-finite entries).
    #[error(transparent)]
    Input(#[from] LbError),
    /// Times not non-decreasing from the start.
    #[error("time #{index} (s = t/τ = {value}) is before the previous one: give times ≥ 0 in non-decreasing order")]
    Order {
        /// Position in the list.
        index: usize,
        /// The scaled time.
        value: f64,
    },
    /// Too many steps.
    #[error(
        "reaching s = t/τ = {s:e} needs {steps:e} semigroup steps (‖F‖·s = {fs:e}), above the limit \
         {MAX_STEPS:e}: the network has long converged by then; ask for a smaller t"
    )]
    TooLong {
        /// The scaled time.
        s: f64,
        /// Steps needed.
        steps: f64,
        /// ‖F̂‖_∞·s.
        fs: f64,
    },
}

/// F = [[−λ/2·I_{d_i}, Σ̃ᵀ], [Σ̃, λ/2·I_{d_o}]] for Σ̃ = `syx` (d_o×d_i), `docs/theory.md` §4.3.
pub fn f_matrix_of<S: Real>(syx: &Mat<S>, lambda: &S) -> Mat<S> {
    let (d_o, d_i) = (syx.nrows(), syx.ncols());
    let half = lambda.times(&lambda.real(0.5));
    let neg_half = half.real(0.0).minus(&half);
    let zero = lambda.real(0.0);
    Mat::from_fn(d_i + d_o, d_i + d_o, |i, j| match (i < d_i, j < d_i) {
        (true, true) if i == j => neg_half.clone(),
        (false, false) if i == j => half.clone(),
        (true, false) => syx.at(j - d_i, i).clone(),
        (false, true) => syx.at(i - d_i, j).clone(),
        _ => zero.clone(),
    })
}

/// Number of Taylor terms so that both remainders of the module doc are below 2^−(bits+8)
/// (relative to the size of the terms, which are O(1) since θ ≤ 1/2).
fn taylor_terms(theta: f64, bits: u32) -> usize {
    let target = (-(f64::from(bits) + 8.0) * std::f64::consts::LN_2).exp();
    let mut term = 1.0; // (2θ)^m/m! for m = 0 (the larger of the two series' terms)
    let two_theta = 2.0 * theta;
    for m in 1..10_000 {
        term *= two_theta / m as f64;
        if 2.0 * term <= target {
            return m;
        }
    }
    10_000
}

/// (e^{A}, δ·Σ_{m≥0} (2A)^m/(m+1)!) for A = F̂·δ with ‖A‖_∞ ≤ θ ≤ 1/2, each truncated after N terms and
/// widened by its proven remainder (module doc).
fn exp_and_integral<S: Real>(fhat: &Mat<S>, delta: &S, theta: f64) -> (Mat<S>, Mat<S>) {
    let n = fhat.nrows();
    let one = delta.real(1.0);
    let a = fhat.scale(delta);
    let big_n = taylor_terms(theta, delta.bits_r());
    let mut e = Mat::identity(n, delta);
    let mut j = Mat::identity(n, delta); // Σ (2A)^m/(m+1)!, m = 0 term = I
    let mut pow = Mat::identity(n, delta); // A^m/m!
    let mut pow2 = Mat::identity(n, delta); // (2A)^m/(m+1)!
    let two = one.real(2.0);
    for m in 1..=big_n {
        let mf = one.real(m as f64);
        let mf1 = one.real((m + 1) as f64);
        pow = pow.mul(&a).scale(&one.over(&mf).expect("m ≥ 1"));
        pow2 = pow2.mul(&a).scale(&two.over(&mf1).expect("m + 1 ≥ 2"));
        e = e.add(&pow);
        j = j.add(&pow2);
    }
    // Remainders (upward-rounded in f64 with a relative margin for the few operations below).
    let mut re = 2.0;
    let mut rj = 2.0;
    for m in 1..=big_n + 1 {
        re *= theta / m as f64;
        rj *= 2.0 * theta / (m + 1) as f64;
    }
    let margin = 1.0 + 1e-10;
    let e = e.widened(re * margin);
    let j = j.scale(delta).widened(rj * delta.mag_up_r() * margin);
    (e, j)
}

/// One exact step P̂ ← Ê (I + P̂Ĵ)⁻¹ P̂ Êᵀ. Over balls in centred (mean-value) form: the step of
/// the midpoint, plus A·(P̂ − mid P̂)·Aᵀ with A = Ê(I + P̂Ĵ)⁻¹ over the whole ball — the derivative
/// of the step is D ↦ Ê M⁻¹ D M⁻ᵀ Êᵀ, M = I + P̂Ĵ (from d[(I+PJ)⁻¹P] = (I+PJ)⁻¹ dP (I+JP)⁻¹).
/// Evaluating the step directly on a ball counts P̂'s uncertainty twice (numerator and
/// denominator) and doubles the radius per step where the true step contracts it by e^{−fδ}.
fn step<S: Real>(phat: &Mat<S>, e: &Mat<S>, et: &Mat<S>, jhat: &Mat<S>, ident: &Mat<S>) -> Result<Mat<S>, RealError> {
    let wide = phat.entries().iter().any(|v| v.rad_r() > 0.0);
    let centre = if wide { phat.map(Real::mid_r) } else { phat.clone() };
    let m = ident.add(&centre.mul(jhat));
    let x = m.solve(&centre)?;
    let mut out = e.mul(&x).mul(et);
    if wide {
        let mball = ident.add(&phat.mul(jhat));
        // A = Ê M⁻¹, i.e. Aᵀ = M⁻ᵀ Êᵀ solves Mᵀ Aᵀ = Êᵀ.
        let a = mball.transpose().solve(et)?.transpose();
        let d = phat.sub(&centre);
        out = out.add(&a.mul(&d).mul(&a.transpose()));
    }
    Ok(out.symmetrized())
}

/// The Riccati semigroup τ dP/dt = FP + PF − P² in an approximate eigenbasis of F.
#[derive(Debug, Clone)]
pub struct Riccati<S> {
    v: Mat<S>,
    vt: Mat<S>,
    gram: Mat<S>,
    w: Mat<S>,
    fhat: Mat<S>,
    fnorm: f64,
}

impl<S: Real> Riccati<S> {
    /// Prepare the semigroup of F (symmetric n×n): an f64 eigenbasis V of F's midpoint, W = V⁻¹
    /// and F̂ = W F V in `S`.
    ///
    /// # Errors
    /// [`RiccatiError::Real`] if V cannot be inverted (it is orthogonal to rounding, so only
    /// for non-finite F).
    pub fn new(f: &Mat<S>) -> Result<Self, RiccatiError> {
        let like = f.at(0, 0);
        let f64m = f.to_f64();
        if f64m.iter().any(|v| !v.is_finite()) {
            return Err(RiccatiError::Real(RealError::NonFinite {
                op: "F matrix",
                value: f64::NAN,
            }));
        }
        let se = f64m.symmetric_eigen();
        let v = Mat::from_f64(&se.eigenvectors, like);
        let vt = v.transpose();
        let w = v.inverse()?;
        let fhat = w.mul(f).mul(&v);
        let fnorm = fhat.norm_inf_up();
        Ok(Riccati {
            gram: vt.mul(&v),
            v,
            vt,
            w,
            fnorm,
            fhat,
        })
    }

    /// An upper bound of ‖F̂‖_∞ (≈ max|eigenvalue of F|).
    pub fn f_norm(&self) -> f64 {
        self.fnorm
    }

    /// Steps needed to advance the scaled time by `span` ≥ 0.
    fn steps_for(&self, span: f64) -> f64 {
        (self.fnorm * span / STEP_THETA).ceil().max(1.0)
    }

    /// P at each scaled time s_k = t_k/τ (non-decreasing, s_0 ≥ 0), starting from P(0) = `p0`.
    ///
    /// # Errors
    /// [`RiccatiError::Order`] for decreasing times, [`RiccatiError::TooLong`] beyond
    /// [`MAX_STEPS`], [`RiccatiError::Real`] if a step's solve fails.
    pub fn evaluate(&self, p0: &Mat<S>, s: &[S]) -> Result<Vec<Mat<S>>, RiccatiError> {
        let mut phat = self.w.mul(p0).mul(&self.w.transpose()).symmetrized();
        let mut s_now = p0.at(0, 0).real(0.0);
        let mut out = Vec::with_capacity(s.len());
        let n = self.fhat.nrows();
        type Factors<S> = (Mat<S>, Mat<S>, Mat<S>);
        let mut cache: Option<((f64, f64, f64), Factors<S>)> = None;
        for (index, sk) in s.iter().enumerate() {
            let span = sk.minus(&s_now);
            let span_mid = span.to_f64_r();
            if span_mid < 0.0 || !span_mid.is_finite() {
                return Err(RiccatiError::Order {
                    index,
                    value: sk.to_f64_r(),
                });
            }
            if span_mid > 0.0 {
                let span_up = span.mag_up_r();
                let k = self.steps_for(span_up);
                if k > MAX_STEPS as f64 {
                    return Err(RiccatiError::TooLong {
                        s: sk.to_f64_r(),
                        steps: k,
                        fs: self.fnorm * sk.to_f64_r(),
                    });
                }
                // Evenly spaced output times give equal spans: reuse E and J then.
                let key = (span.to_f64_r(), span.rad_r(), k);
                if cache.as_ref().is_none_or(|(kk, _)| *kk != key) {
                    let delta = span.over(&span.real(k))?;
                    let theta = self.fnorm * delta.mag_up_r();
                    let (e, j_int) = exp_and_integral(&self.fhat, &delta, theta);
                    let jhat = self.gram.mul(&j_int);
                    let et = e.transpose();
                    cache = Some((key, (e, et, jhat)));
                }
                let (_, (e, et, jhat)) = cache.as_ref().expect("just filled");
                let ident = Mat::identity(n, sk);
                for _ in 0..k as u64 {
                    phat = step(&phat, e, et, jhat, &ident)?;
                }
            }
            s_now = sk.clone();
            out.push(self.v.mul(&phat).mul(&self.vt).symmetrized());
        }
        Ok(out)
    }
}

impl<S: Real> Riccati<S> {
    /// The one-shot formula P(s) = E X E, X = (I + P0 J)⁻¹ P0 (E = e^{Fs}, J = ∫₀ˢ e^{2Fu}du), and
    /// its time derivative by the product rule — E' = FE, J' = e^{2Fs} = E², d(I + P0J)⁻¹ =
    /// −(I + P0J)⁻¹P0J'(I + P0J)⁻¹ — so P' = FP + PF − E X E² X E, computed from the formula and not
    /// from the ODE. E(s) and J(s) come from the Taylor step at s/2^m and m doublings
    /// E(2a) = E(a)², J(2a) = J(a) + E(a)²J(a). The one-shot form loses ≈ 4·max|f|·s/ln 2 bits (its
    /// condition number grows like e^{2 max|f| s}): callers give it that many extra bits. Returns
    /// (P, P') in the original basis.
    ///
    /// # Errors
    /// [`RiccatiError::Real`] if the solve fails, [`RiccatiError::Order`] for s < 0.
    pub fn one_shot_with_derivative(&self, p0: &Mat<S>, s: &S) -> Result<(Mat<S>, Mat<S>), RiccatiError> {
        let s_mid = s.to_f64_r();
        if s_mid < 0.0 || !s_mid.is_finite() {
            return Err(RiccatiError::Order { index: 0, value: s_mid });
        }
        let n = self.fhat.nrows();
        let ident = Mat::identity(n, s);
        let (e, j) = if s_mid == 0.0 {
            (ident.clone(), Mat::zeros(n, n, s))
        } else {
            let mut m = 0u32;
            while self.fnorm * s.mag_up_r() / f64::from(2u32.pow(m.min(60))) > STEP_THETA && m < 60 {
                m += 1;
            }
            let delta = s.over(&s.real(2f64.powi(m as i32)))?;
            let (mut e, mut j) = exp_and_integral(&self.fhat, &delta, self.fnorm * delta.mag_up_r());
            for _ in 0..m {
                let e2 = e.mul(&e);
                j = j.add(&e2.mul(&j));
                e = e2;
            }
            (e, j)
        };
        let phat0 = self.w.mul(p0).mul(&self.w.transpose());
        let jhat = self.gram.mul(&j);
        let x = ident.add(&phat0.mul(&jhat)).solve(&phat0)?;
        let et = e.transpose();
        let phat = e.mul(&x).mul(&et);
        // d/ds Ĵ = Vᵀ e^{2Fs} V = G·Ê² (Ê = W e^{Fs} V); d/ds Ê = F̂Ê.
        let jdot = self.gram.mul(&e.mul(&e));
        let fe = self.fhat.mul(&e);
        let dphat = fe
            .mul(&x)
            .mul(&et)
            .add(&e.mul(&x).mul(&fe.transpose()))
            .sub(&e.mul(&x).mul(&jdot).mul(&x).mul(&et));
        Ok((self.v.mul(&phat).mul(&self.vt), self.v.mul(&dphat).mul(&self.vt)))
    }
}

/// A λ-balanced case's inputs in `S`: X (d_i×P), Y (d_o×P), W1 (h×d_i), W2 (d_o×h), τ.
#[derive(Debug, Clone)]
pub struct LbInputs<S> {
    /// Data X.
    pub x: Mat<S>,
    /// Targets Y.
    pub y: Mat<S>,
    /// W1(0).
    pub w1: Mat<S>,
    /// W2(0).
    pub w2: Mat<S>,
    /// τ.
    pub tau: S,
}

fn parse_mat<S: Real>(rows: &[Vec<Num>], field: &str, like: &S) -> Result<Mat<S>, LbError> {
    let m = LambdaBalancedCase::matrix_f64(rows, field).map_err(|e| {
        LbError::Model(ModelError::Shape {
            what: field.into(),
            expected: "a non-empty rectangular matrix".into(),
            found: e.to_string(),
        })
    })?;
    let mut out = Mat::zeros(m.nrows(), m.ncols(), like);
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            *out.at_mut(i, j) = like.num_r(v).map_err(|e| {
                LbError::Model(ModelError::Shape {
                    what: field.into(),
                    expected: "finite numbers".into(),
                    found: e.to_string(),
                })
            })?;
        }
    }
    Ok(out)
}

impl<S: Real> LbInputs<S> {
    /// Parse a case's decimal inputs at `like`'s precision (balls: enclosures of the decimals)
    /// and check shapes and τ > 0.
    ///
    /// # Errors
    /// [`LbError::Model`] for wrong shapes, non-finite entries or τ ≤ 0.
    pub fn parse(c: &LambdaBalancedCase, like: &S) -> Result<Self, LbError> {
        let x = parse_mat(&c.x, "x", like)?;
        let y = parse_mat(&c.y, "y", like)?;
        let w1 = parse_mat(&c.w1_0, "w1_0", like)?;
        let w2 = parse_mat(&c.w2_0, "w2_0", like)?;
        let (d_i, p, d_o, h) = (x.nrows(), x.ncols(), y.nrows(), w1.nrows());
        let shape = |what: &str, expected: String, found: String| {
            Err(LbError::Model(ModelError::Shape {
                what: what.into(),
                expected,
                found,
            }))
        };
        if y.ncols() != p {
            return shape("y", format!("d_o×P with P = {p}"), format!("{d_o}×{}", y.ncols()));
        }
        if w1.ncols() != d_i {
            return shape("w1_0", format!("h×d_i with d_i = {d_i}"), format!("{h}×{}", w1.ncols()));
        }
        if w2.nrows() != d_o || w2.ncols() != h {
            return shape(
                "w2_0",
                format!("d_o×h = {d_o}×{h}"),
                format!("{}×{}", w2.nrows(), w2.ncols()),
            );
        }
        let tau = like
            .num_r(&c.tau)
            .ok()
            .filter(|t| t.to_f64_r() > 0.0 && t.mag_up_r().is_finite());
        let Some(tau) = tau else {
            return Err(LbError::Model(ModelError::NonPositiveRate {
                name: "tau",
                value: c.tau.to_f64(),
            }));
        };
        Ok(LbInputs { x, y, w1, w2, tau })
    }

    /// Σ̃_yx = YXᵀ/P.
    pub fn syx(&self) -> Result<Mat<S>, RealError> {
        let p = self.tau.real(self.x.ncols() as f64);
        let inv = p.real(1.0).over(&p)?;
        Ok(self.y.mul(&self.x.transpose()).scale(&inv))
    }

    /// λ = tr(W2ᵀW2 − W1W1ᵀ)/h.
    pub fn lambda(&self) -> Result<S, RealError> {
        let c = self
            .w2
            .transpose()
            .mul(&self.w2)
            .sub(&self.w1.mul(&self.w1.transpose()));
        c.trace().over(&self.tau.real(self.w1.nrows() as f64))
    }

    /// Q0 = [W1ᵀ; W2] and P0 = Q0Q0ᵀ.
    pub fn p0(&self) -> Mat<S> {
        let (d_i, d_o, h) = (self.x.nrows(), self.y.nrows(), self.w1.nrows());
        let q = Mat::from_fn(d_i + d_o, h, |i, a| {
            if i < d_i {
                self.w1.at(a, i).clone()
            } else {
                self.w2.at(i - d_i, a).clone()
            }
        });
        q.mul(&q.transpose())
    }

    /// QQᵀ of the Riccati solution at each time (decimal, parsed at `S`'s precision; ≥ 0,
    /// non-decreasing).
    ///
    /// # Errors
    /// [`RiccatiError`] as [`Riccati::evaluate`], or if a time does not parse.
    pub fn qqt(&self, times: &[Num]) -> Result<Vec<Mat<S>>, RiccatiError> {
        let f = f_matrix_of(&self.syx()?, &self.lambda()?);
        let r = Riccati::new(&f)?;
        let s: Vec<S> = times
            .iter()
            .map(|t| self.tau.num_r(t).and_then(|t| t.over(&self.tau)))
            .collect::<Result<_, _>>()?;
        r.evaluate(&self.p0(), &s)
    }
}

/// Largest working precision [`qqt_enclosure`] escalates to.
pub const MAX_ENCLOSURE_BITS: u32 = 16_384;

/// Ball enclosures of the Riccati solution QQᵀ(t) at a case's times.
#[derive(Debug, Clone)]
pub struct QqtEnclosure {
    /// One (d_i+d_o)² matrix of balls per time.
    pub points: Vec<Mat<Ball>>,
    /// The working precision that met the target (≥ the requested one).
    pub prec_used: u32,
}

/// Ball enclosures of QQᵀ(t) whose radii are ≤ 2^−(prec−16)·max(1, |entry|), escalating the working
/// precision when needed: P(t) is sensitive to rank-increasing perturbations of P(0) like
/// e^{2f·t/τ} when F has more positive eigenvalues f than the hidden width h (funnel nets with
/// λ < 0, inverted funnels with λ > 0), so an enclosure started from a ball P(0) must carry
/// correspondingly more bits (retry at prec + bits lost + 32, or at twice the bits when a ball
/// grew so wide that a pivot contained 0, up to [`MAX_ENCLOSURE_BITS`]).
/// Every attempt is an enclosure; the escalation only buys tightness.
///
/// # Errors
/// [`RiccatiError::Input`] for bad inputs, [`RiccatiError`] from the evaluation, or
/// [`RiccatiError::Real`] (a non-finite value) when even [`MAX_ENCLOSURE_BITS`] bits do not meet
/// the target.
pub fn qqt_enclosure(c: &LambdaBalancedCase, prec: u32) -> Result<QqtEnclosure, RiccatiError> {
    let mut work = prec;
    loop {
        let like = Ball::from_f64(work, 0.0);
        let inp = LbInputs::parse(c, &like)?;
        let points = match inp.qqt(&c.times) {
            Ok(p) => p,
            // A ball so wide that a pivot contains 0: the same loss of bits, detected earlier.
            Err(RiccatiError::Real(_)) if work < MAX_ENCLOSURE_BITS => {
                work = (2 * work + 64).min(MAX_ENCLOSURE_BITS);
                continue;
            }
            Err(e) => return Err(e),
        };
        // Bits lost beyond the target: log2(rad / (2^−prec·scale)).
        let lost = points
            .iter()
            .flat_map(|m| m.entries().iter())
            .map(|b| {
                let scale = b.mid().to_f64().abs().max(1.0);
                (b.rad() / scale).log2() + f64::from(prec)
            })
            .fold(f64::NEG_INFINITY, f64::max);
        if lost <= 16.0 {
            return Ok(QqtEnclosure {
                points,
                prec_used: work,
            });
        }
        let next = f64::from(work) + lost + 32.0;
        if !next.is_finite() || next > f64::from(MAX_ENCLOSURE_BITS) {
            return Err(RiccatiError::Real(RealError::NonFinite {
                op: "QQᵀ enclosure (radius target not met at the largest precision)",
                value: lost,
            }));
        }
        work = next.ceil() as u32;
    }
}

/// The Riccati ODE residual of the closed form at one time, in balls.
#[derive(Debug, Clone)]
pub struct ResidualEnclosure {
    /// dP/ds − (FP + PF − P²) (s = t/τ) from the one-shot formula and its product-rule derivative:
    /// an enclosure of the exact residual of the formula, which is 0 if the formula solves the ODE.
    pub residual: Mat<Ball>,
    /// Whether the one-shot P(t) overlaps, entry by entry, the semigroup enclosure
    /// ([`qqt_enclosure`]) of the same P(t): two evaluations of the formula by different routes.
    pub routes_overlap: bool,
    /// Working precision of the one-shot evaluation.
    pub prec_used: u32,
}

/// [`ResidualEnclosure`] of a case at time `t`, with p = `prec` + ⌈4‖F̂‖·s/ln 2⌉ + 32 bits for the
/// one-shot form's conditioning ([`Riccati::one_shot_with_derivative`]).
///
/// # Errors
/// [`RiccatiError`] for bad inputs, a failed solve, or a working precision above
/// [`MAX_ENCLOSURE_BITS`].
pub fn residual_enclosure(c: &LambdaBalancedCase, t: &Num, prec: u32) -> Result<ResidualEnclosure, RiccatiError> {
    let probe = LbInputs::parse(c, &0.0f64)?;
    let f64_f = f_matrix_of(&probe.syx()?, &probe.lambda()?);
    let fnorm = Riccati::new(&f64_f)?.f_norm();
    let s_up = t.to_f64().abs() / c.tau.to_f64() * (1.0 + 1e-12);
    let extra = (4.0 * fnorm * s_up / std::f64::consts::LN_2).ceil() + 32.0;
    let work = f64::from(prec) + extra;
    if !work.is_finite() || work > f64::from(MAX_ENCLOSURE_BITS) {
        return Err(RiccatiError::TooLong {
            s: s_up,
            steps: work,
            fs: fnorm * s_up,
        });
    }
    let work = work as u32;
    let like = Ball::from_f64(work, 0.0);
    let inp = LbInputs::parse(c, &like)?;
    let f = f_matrix_of(&inp.syx()?, &inp.lambda()?);
    let r = Riccati::new(&f)?;
    let s = like.num_r(t)?.over(&inp.tau)?;
    let (p, dp) = r.one_shot_with_derivative(&inp.p0(), &s)?;
    let rhs = f.mul(&p).add(&p.mul(&f)).sub(&p.mul(&p));
    let residual = dp.sub(&rhs);
    let mut single = c.clone();
    single.times = vec![t.clone()];
    let stepped = qqt_enclosure(&single, prec)?;
    let routes_overlap = stepped.points[0]
        .entries()
        .iter()
        .zip(p.entries())
        .all(|(a, b)| a.lo().max(&b.lo()) <= a.hi().min(&b.hi()));
    Ok(ResidualEnclosure {
        residual,
        routes_overlap,
        prec_used: work,
    })
}

/// Why [`certified_qqt`] gave no proof.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CertifiedError {
    /// The decimal inputs do not meet the closed form's assumptions exactly (or cannot be read).
    #[error(transparent)]
    Assumptions(#[from] AssumptionError),
    /// The enclosure failed.
    #[error(transparent)]
    Riccati(#[from] RiccatiError),
}

/// A proof about the network: when the case's decimal inputs are exactly whitened and exactly
/// λ-balanced (checked in rational arithmetic, [`case_assumptions`]), QQᵀ(t) of the network's
/// gradient flow *is* the Riccati solution, so [`qqt_enclosure`] encloses the flow of the inputs
/// as written.
///
/// # Errors
/// [`CertifiedError::Assumptions`] (with the defects) when the identities do not hold exactly —
/// the enclosure would then certify a neighbouring problem; [`CertifiedError::Riccati`] as
/// [`qqt_enclosure`].
pub fn certified_qqt(c: &LambdaBalancedCase, prec: u32) -> Result<(ExactAssumptions, QqtEnclosure), CertifiedError> {
    let a = case_assumptions(c)?;
    Ok((a, qqt_enclosure(c, prec)?))
}
