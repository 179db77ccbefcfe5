//! The single-neuron closed form written once, generic over the scalar ([`Real`]: f64, MPFR,
//! balls; `style.md` §7). [`super::single_neuron`] (f64), [`super::single_neuron_mp`] (MPFR,
//! two-precision bounds) and [`super::single_neuron_ball`] (rigorous enclosures) are thin
//! wrappers that enclose or parse the inputs and instantiate the functions here.
//!
//! Model a·wᵀx on whitened data (XᵀX = I, so β* = Xᵀy), Kunin et al. 2024 ("Get rich quick"),
//! `docs/theory.md` §1.2–§1.5. With s = ‖β*‖, p0 = w0ᵀβ*, δ = η_w a0² − η_a‖w0‖²,
//! K = √(δ² + 4η_aη_w s²), λ± = (δ ± K)/2 (formed without cancellation: λ₊λ₋ = −η_aη_w s²),
//! c₊ = (η_a p0 + a0λ₊)/K, c₋ = −(η_a p0 + a0λ₋)/K and m± = expm1(λ± t):
//!
//! **Linearised route** ([`GenericClosedForm::core`], §1.4):
//! - A = a0 + c₊m₊ + c₋m₋,  η_w I1 = r₊m₊ + r₋m₋ (r± = η_w c±/λ±),
//! - g² = 1 + 2η_w I2 = 1 + q₊m₊(2+m₊) + q₀m_δ + q₋m₋(2+m₋) (q± = η_w c±²/λ±, q₀ = 4η_w c₊c₋/δ),
//! - a = A/g, w = w0/g + e β* with e = η_w I1/g.
//!
//! Two exponentials per time point: e^{δt} = e^{λ₊t}e^{λ₋t}, so for |δ| ≥ K/4
//! m_δ = m₊ + m₋ + m₊m₋; for |δ| < K/4 that sum would cancel, and the cross term is
//! 4η_w c₊c₋·t·φ₁(δt) with m₋ = (m_δ − m₊)/(1 + m₊). A coefficient over a λ that may be 0
//! (exactly, or a ball containing 0) is used as coefficient·t·φ₁(λt), φ₁(z) = (eᶻ − 1)/z, which
//! has no singularity. For λ₊t > 200 every term is scaled by S = e^{−λ₊t}
//! (m₊S = 1 − S, m₊(2+m₊)S² = 1 − S², m_δS² = (1+m₋)S − S²) so that nothing overflows.
//!
//! **Paper's route** ([`GenericClosedForm::hyperbolic`], P1 §3 / App. A.2 as reconstructed in §1.2–§1.4):
//! ν = wᵀβ*/a = (−δ + K tanh(Kt/2 + c))/(2η_a), tanh c = z = (δ + 2η_aν0)/K, with
//! tanh(x + c) = (sinh x + z cosh x)/(cosh x + z sinh x); u = a⁻² from the Bernoulli equation
//! with the integrating factor e^{δt/2}(cosh x + z sinh x); the component of w orthogonal to β*
//! decays by 1/g. It returns the same triple (a, e, 1/g) as the linearised route
//! (e = (νa − p0/g)/s²), so every observable below is one formula for both routes.
//!
//! **Observables** ([`GenericClosedForm::observables`]): β = a w, ‖w‖² = ‖w0‖²/g² + 2e p0/g + e²s²,
//! μ = a‖w‖ (or, on the paper's route, μ = |δ| sinh(2θ)/(2√(η_aη_w)) from the hyperbolic
//! coordinates of (a, ‖w‖), §1.2), φ = (p0/g + e s²)/(s‖w‖), the kernel distance S(0,t) (§1.5)
//! as a sum of non-negative terms with w0 ∧ w(t) = e·(w0 ∧ β*), and L = ½‖y − Xβ*‖² + ½‖β − β*‖².
//!
//! What only balls need lives in the trait: the exponential context ([`Real::ExpCtx`], the
//! tables of `num::ball_exp` for balls, nothing otherwise) and the tri-state zero test
//! ([`Real::zero_test`]) that decides between a formula and its λ → 0 limit.

use crate::models::single_neuron::Observable;
use crate::num::real::{Real, RealError, abs_hint, dot};

/// λ₊t above which the scaled evaluation is used (e^{λ₊t} > e^{200} ≈ 1e87: its square would
/// approach the f64 range, of the values in f64 and of the radii of balls).
pub const SCALE_ABOVE: f64 = 200.0;

/// A coefficient of a term in m = expm1(λt): either hoisted c/λ (λ certainly non-zero), or the
/// raw c, multiplied by t·φ₁(λt) (λ may be 0).
#[derive(Debug, Clone)]
pub enum Term<S> {
    /// coef·m, with coef = c/λ precomputed.
    OverLambda(S),
    /// c·t·φ₁(λt).
    Series(S),
}

/// The inputs, already in the scalar type (parsed, enclosed or copied by the wrapper).
#[derive(Debug, Clone)]
pub struct Inputs<S> {
    /// η_a > 0.
    pub eta_a: S,
    /// η_w > 0.
    pub eta_w: S,
    /// β* = Xᵀy.
    pub bstar: Vec<S>,
    /// a0.
    pub a0: S,
    /// w0 (length d ≥ 1).
    pub w0: Vec<S>,
    /// ‖y − Xβ*‖² (the irreducible part of the loss; 0 if the loss is not wanted).
    pub resid0: S,
}

/// Every quantity at one time point.
#[derive(Debug, Clone)]
pub struct Observables<S> {
    /// a(t).
    pub a: S,
    /// w(t).
    pub w: Vec<S>,
    /// β = a w.
    pub beta: Vec<S>,
    /// μ.
    pub mu: S,
    /// φ = cos∠(w, β*), or why it is undefined (β* = 0 or w = 0).
    pub phi: Result<S, RealError>,
    /// S(0, t), or why it is undefined (M = 0).
    pub kernel_distance: Result<S, RealError>,
    /// L(t).
    pub loss: S,
}

/// One time point with every quantity defined: the printed form of [`Observables`] (φ and
/// S(0, t) resolved), one struct for every number type ([`super::single_neuron_mp::PointMp`],
/// [`super::single_neuron_ball::PointBall`]).
#[derive(Debug, Clone)]
pub struct Point<S> {
    /// Time.
    pub t: S,
    /// a(t).
    pub a: S,
    /// w(t).
    pub w: Vec<S>,
    /// β(t) = a w.
    pub beta: Vec<S>,
    /// μ = a‖w‖.
    pub mu: S,
    /// φ = cos∠(w, β*).
    pub phi: S,
    /// S(0, t).
    pub kernel_distance: S,
    /// L(t).
    pub loss: S,
}

impl<S> Point<S> {
    /// The values of quantity `q` (vectors for w, β; one element otherwise).
    pub fn values(&self, q: Observable) -> Vec<&S> {
        match q {
            Observable::A => vec![&self.a],
            Observable::W => self.w.iter().collect(),
            Observable::Beta => self.beta.iter().collect(),
            Observable::Mu => vec![&self.mu],
            Observable::Phi => vec![&self.phi],
            Observable::KernelDistance => vec![&self.kernel_distance],
            Observable::Loss => vec![&self.loss],
        }
    }
}

/// The closed form, its exact time derivative and the flow's right-hand side at one time
/// ([`GenericClosedForm::with_derivative`]).
#[derive(Debug, Clone)]
pub struct Derivative<S> {
    /// a(t).
    pub a: S,
    /// w(t).
    pub w: Vec<S>,
    /// ȧ(t), the derivative of the closed-form expression.
    pub adot: S,
    /// ẇ(t).
    pub wdot: Vec<S>,
    /// The flow's right-hand side at (a(t), w(t)).
    pub rhs: FlowRhs<S>,
}

/// The gradient flow's right-hand side at (a, w) and the size of its terms.
#[derive(Debug, Clone)]
pub struct FlowRhs<S> {
    /// η_a(wᵀβ* − a‖w‖²).
    pub a: S,
    /// η_w(aβ* − a²w).
    pub w: Vec<S>,
    /// Scale of the terms (from the values' signs, a ball's midpoint): the larger of
    /// η_a(|wᵀβ*| + |a|‖w‖²) and max_i η_w(|aβ*_i| + a²|w_i|).
    pub scale: S,
}

/// The intermediates of one evaluation of the linearised route
/// ([`GenericClosedForm::core_with`]), kept so that repeated evaluations reuse their storage (in
/// balls: no allocation per time point); the result triple is public.
#[derive(Debug, Clone)]
pub struct CoreWork<S> {
    /// a(t).
    pub a: S,
    /// e = η_w I1/g.
    pub e: S,
    /// 1/g.
    pub ginv: S,
    z: S,
    mp: S,
    mm: S,
    md: S,
    phi: S,
    sqp: S,
    sqm: S,
    g2: S,
    t1: S,
    t2: S,
}

impl<S: Real> CoreWork<S> {
    /// Scratch values at the precision of `proto` (use a value of the closed form, e.g. a0).
    pub fn new(proto: &S) -> Self {
        let z = proto.real(0.0);
        CoreWork {
            a: z.clone(),
            e: z.clone(),
            ginv: z.clone(),
            mp: z.clone(),
            mm: z.clone(),
            md: z.clone(),
            phi: z.clone(),
            sqp: z.clone(),
            sqm: z.clone(),
            g2: z.clone(),
            t1: z.clone(),
            t2: z.clone(),
            z,
        }
    }
}

/// The single-neuron closed form with its t-independent constants, in any [`Real`].
#[derive(Debug, Clone)]
pub struct GenericClosedForm<S: Real> {
    /// d.
    pub d: usize,
    /// η_a.
    pub eta_a: S,
    /// η_w.
    pub eta_w: S,
    /// β*.
    pub bstar: Vec<S>,
    /// a0.
    pub a0: S,
    /// w0.
    pub w0: Vec<S>,
    /// s² = ‖β*‖².
    pub s2: S,
    /// p0 = w0ᵀβ*.
    pub p0: S,
    /// s = ‖β*‖, or why its square root failed.
    s: Result<S, RealError>,
    /// ‖w0‖².
    pub w0n2: S,
    /// δ.
    pub delta: S,
    /// K.
    pub k: S,
    /// λ₊.
    pub lp: S,
    /// λ₋.
    pub lm: S,
    /// c₊.
    pub cp: S,
    /// c₋.
    pub cm: S,
    rp: Term<S>,
    rm: Term<S>,
    qp: Term<S>,
    qm: Term<S>,
    q0: Term<S>,
    /// ½‖y − Xβ*‖².
    pub half_resid0: S,
    /// ‖w0 ∧ β*‖² = Σ_{i<j}(w0_i β*_j − w0_j β*_i)².
    wedge0: S,
    /// ‖M0‖_F, (η_w a0² + η_a‖w0‖²)/‖M0‖, η_w a0²/‖M0‖: the kernel distance at t = 0.
    kd0: Result<(S, S, S), RealError>,
    ex: S::ExpCtx,
    one: S,
    two: S,
    two_lp: S,
    two_lm: S,
}

/// λ₊, λ₋ and K for δ and e·s² = η_aη_w s², without cancellation (λ₊λ₋ = −η_aη_w s²: the root
/// that does not cancel directly, the other from it; the direct formula when λ = 0 makes the
/// quotient undefined).
///
/// # Errors
/// [`RealError`] when √(δ² + 4η_aη_w s²) fails (a ball reaching below 0).
pub fn rates<S: Real>(delta: &S, es2: &S) -> Result<(S, S, S), RealError> {
    let k = delta.sqr_r().plus(&es2.mul_u32_r(4)).sqrt_r()?;
    let direct_p = delta.plus(&k).mul_pow2_r(-1);
    let direct_m = delta.minus(&k).mul_pow2_r(-1);
    Ok(if delta.nonneg_hint() {
        let lm = es2.neg_r().over(&direct_p).unwrap_or(direct_m);
        (direct_p, lm, k)
    } else {
        let lp = es2.neg_r().over(&direct_m).unwrap_or(direct_p);
        (lp, direct_m, k)
    })
}

/// ‖M‖_F = √(d x² + 2xy + y²) for M = x I_d + η_a w wᵀ, x = η_w a², y = η_a‖w‖².
fn norm_m<S: Real>(x: &S, y: &S, d: usize) -> Result<S, RealError> {
    x.sqr_r()
        .mul_u32_r(d as u32)
        .plus(&x.times(y).mul_pow2_r(1))
        .plus(&y.sqr_r())
        .sqrt_r()
}

/// What the closed form needs from the data (X, y), whitened or not: β* = Xᵀy, the residual
/// ‖y − Xβ*‖² (the loss's irreducible part when XᵀX = I) and the entries of XᵀX − I
/// (row-major, d×d), from which the wrappers judge whitening (to a tolerance, or exactly in balls).
pub fn data_terms<S: Real>(x: &[Vec<S>], y: &[S]) -> (Vec<S>, S, Vec<S>) {
    let d = x[0].len();
    let bstar: Vec<S> = (0..d)
        .map(|j| {
            let col: Vec<S> = x.iter().map(|r| r[j].clone()).collect();
            dot(&col, y)
        })
        .collect();
    let mut resid0 = y[0].real(0.0);
    for (row, yi) in x.iter().zip(y) {
        resid0.add_assign_r(&yi.minus(&dot(row, &bstar)).sqr_r());
    }
    let mut gram_minus_i = Vec::with_capacity(d * d);
    for j in 0..d {
        for k in 0..d {
            let mut s = y[0].real(0.0).minus(&y[0].real(if j == k { 1.0 } else { 0.0 }));
            for row in x {
                s.add_assign_r(&row[j].times(&row[k]));
            }
            gram_minus_i.push(s);
        }
    }
    (bstar, resid0, gram_minus_i)
}

/// The t = 0 constants of the kernel distance: ‖M0‖_F, (η_w a0² + η_a‖w0‖²)/‖M0‖ and
/// η_w a0²/‖M0‖ ([`kernel_distance_parts`]).
///
/// # Errors
/// [`RealError`] when ‖M0‖ = 0 (a0 = 0 and w0 = 0) or, for balls, may be.
pub fn kernel_distance_at_0<S: Real>(eta_a: &S, eta_w: &S, d: usize, a0: &S, w0n2: &S) -> Result<(S, S, S), RealError> {
    let x0 = eta_w.times(&a0.sqr_r());
    let y0 = eta_a.times(w0n2);
    let n0 = norm_m(&x0, &y0, d)?;
    let tr = x0.plus(&y0).over(&n0)?;
    let al = x0.over(&n0)?;
    Ok((n0, tr, al))
}

/// S(0,t) = ½‖M̂0 − M̂t‖²_F for whitened X (`docs/theory.md` §1.5), M = η_w a² I + η_a wwᵀ,
/// M̂ = M/‖M‖_F, as a sum of non-negative terms: ‖D‖² = (d−1)Δα² + (Δα + Δν)² + 2‖u0 ∧ ut‖²,
/// α = η_w a²/‖M‖, u = √(η_a/‖M‖) w, Δν = ‖u0‖² − ‖ut‖², from the t = 0 constants
/// ([`kernel_distance_at_0`]), a(t), ‖w(t)‖² and `wedge` = ‖w0 ∧ w(t)‖².
///
/// # Errors
/// [`RealError`] when ‖Mt‖ = 0 (or, for balls, may be).
pub fn kernel_distance_parts<S: Real>(
    eta_a: &S,
    eta_w: &S,
    d: usize,
    at0: &(S, S, S),
    a: &S,
    wn2: &S,
    wedge: &S,
) -> Result<S, RealError> {
    let (n0, tr0_over_n0, al0) = at0;
    let xt = eta_w.times(&a.sqr_r());
    let yt = eta_a.times(wn2);
    let nt = norm_m(&xt, &yt, d)?;
    let dal = al0.minus(&xt.over(&nt)?);
    let dsum = tr0_over_n0.minus(&xt.plus(&yt).over(&nt)?);
    let wedge = eta_a.sqr_r().times(wedge).over(&n0.times(&nt))?;
    let dd = dal
        .sqr_r()
        .mul_u32_r(d as u32 - 1)
        .plus(&dsum.sqr_r())
        .plus(&wedge.mul_pow2_r(1));
    Ok(dd.mul_pow2_r(-1))
}

/// ‖u ∧ v‖² = Σ_{i<j}(u_i v_j − u_j v_i)².
pub fn wedge2<S: Real>(u: &[S], v: &[S]) -> S {
    let mut s = u[0].real(0.0);
    for i in 0..u.len() {
        for j in (i + 1)..u.len() {
            s.add_assign_r(&u[i].times(&v[j]).minus(&u[j].times(&v[i])).sqr_r());
        }
    }
    s
}

/// c/λ when λ is certainly non-zero, else the series coefficient.
fn over_lambda<S: Real>(c: S, l: &S, series: S) -> Term<S> {
    if l.zero_test() == Some(false)
        && let Ok(v) = c.over(l)
    {
        return Term::OverLambda(v);
    }
    Term::Series(series)
}

/// m(m + 2), one allocation.
fn sq_m<S: Real>(m: &S, two: &S) -> S {
    let mut s = m.plus(two);
    s.mul_assign_r(m);
    s
}

impl<S: Real> GenericClosedForm<S> {
    /// The t-independent constants from the inputs.
    ///
    /// K = 0 exactly (δ = 0 and β* = 0) is allowed: then A(t) ≡ a0. A constant that cannot be
    /// formed (K or c± overflowing in f64, K a ball containing 0) is [`Real::nan_r`].
    ///
    /// # Errors
    /// [`RealError::Prec`] when the exponential context cannot be built at this precision.
    pub fn new(inp: Inputs<S>) -> Result<Self, RealError> {
        let Inputs {
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            resid0,
        } = inp;
        let d = w0.len();
        let s2 = dot(&bstar, &bstar);
        let p0 = dot(&w0, &bstar);
        let w0n2 = dot(&w0, &w0);
        let delta = eta_w.times(&a0.sqr_r()).minus(&eta_a.times(&w0n2));
        let es2 = eta_a.times(&eta_w).times(&s2);
        // A value that cannot be formed (f64 overflow, a ball K containing 0) is left "not
        // computed" ([`Real::nan_r`]): evaluations then fail where it is used, and the ball
        // wrapper refuses it at set-up.
        let nan = a0.nan_r();
        let (lp, lm, k) = rates(&delta, &es2).unwrap_or_else(|_| (nan.clone(), nan.clone(), nan.clone()));
        let eap0 = eta_a.times(&p0);
        let (cp, cm) = if k.zero_test() == Some(true) {
            // δ = 0 and β* = 0: A(t) ≡ a0.
            (a0.clone(), a0.real(0.0))
        } else {
            let c = |l: &S| eap0.plus(&a0.times(l)).over(&k).unwrap_or_else(|_| nan.clone());
            (c(&lp), c(&lm).neg_r())
        };
        let ecp = eta_w.times(&cp);
        let ecm = eta_w.times(&cm);
        let (two_lp, two_lm) = (lp.mul_pow2_r(1), lm.mul_pow2_r(1));
        let rp = over_lambda(ecp.clone(), &lp, ecp.clone());
        let rm = over_lambda(ecm.clone(), &lm, ecm.clone());
        let qp = over_lambda(ecp.times(&cp), &lp, ecp.times(&cp).mul_u32_r(2));
        let qm = over_lambda(ecm.times(&cm), &lm, ecm.times(&cm).mul_u32_r(2));
        // For |δ| < K/4, q₀m_δ = (4η_w c₊c₋/δ)·expm1(δt) would multiply two factors whose
        // relative errors (~K/|δ| ulps, from δ's cancellation) cancel exactly but not in balls:
        // evaluate 4η_w c₊c₋·t·φ₁(δt) instead, which is insensitive to δ's radius.
        let c0 = ecp.times(&cm).mul_u32_r(4);
        let q0 = if delta.to_f64_r().abs() < 0.25 * k.to_f64_r() {
            Term::Series(c0)
        } else {
            over_lambda(c0.clone(), &delta, c0)
        };
        let wedge0 = wedge2(&w0, &bstar);
        let kd0 = kernel_distance_at_0(&eta_a, &eta_w, d, &a0, &w0n2);
        let ex = a0.exp_ctx()?;
        Ok(GenericClosedForm {
            d,
            s: s2.sqrt_r(),
            one: a0.real(1.0),
            two: a0.real(2.0),
            half_resid0: resid0.mul_pow2_r(-1),
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            s2,
            p0,
            w0n2,
            delta,
            k,
            lp,
            lm,
            cp,
            cm,
            rp,
            rm,
            qp,
            qm,
            q0,
            wedge0,
            kd0,
            ex,
            two_lp,
            two_lm,
        })
    }

    /// The kernel distance's t = 0 constants (‖M0‖, tr M0/‖M0‖, η_w a0²/‖M0‖), or why ‖M0‖ = 0.
    pub fn kernel_distance_at_0(&self) -> &Result<(S, S, S), RealError> {
        &self.kd0
    }

    /// coef·m or c·t·φ₁(λt).
    fn term(&self, tm: &Term<S>, m: &S, lam: &S, t: &S) -> S {
        match tm {
            Term::OverLambda(c) => c.times(m),
            Term::Series(c) => {
                let mut v = c.times(t);
                v.mul_assign_r(&lam.times(t).expm1_over_x_in(&self.ex));
                v
            }
        }
    }

    /// `out` ← coef·m or c·t·φ₁(λt) ([`Self::term`] with a scratch value `tmp`).
    fn term_into(&self, out: &mut S, tm: &Term<S>, m: &S, lam: &S, t: &S, tmp: &mut S) {
        match tm {
            Term::OverLambda(c) => out.set_times(c, m),
            Term::Series(c) => {
                tmp.set_times(lam, t);
                out.set_expm1_over_x_in(tmp, &self.ex);
                tmp.set_times(c, t);
                tmp.mul_assign_r(out);
                std::mem::swap(out, tmp);
            }
        }
    }

    /// `out` ← the sum of two terms ([`Self::term_into`]), each given as (term, m, λ): one
    /// fused c₁m₁ + c₂m₂ when both coefficients are hoisted.
    fn pair_into(&self, out: &mut S, x: (&Term<S>, &S, &S), y: (&Term<S>, &S, &S), t: &S, t1: &mut S, t2: &mut S) {
        match (x.0, y.0) {
            (Term::OverLambda(c1), Term::OverLambda(c2)) => out.set_mul_add_mul(c1, x.1, c2, y.1),
            _ => {
                self.term_into(out, x.0, x.1, x.2, t, t1);
                self.term_into(t1, y.0, y.1, y.2, t, t2);
                out.add_assign_r(t1);
            }
        }
    }

    /// Whether the point at t is evaluated scaled by e^{−λ₊t}.
    fn scaled(&self, t: &S) -> bool {
        matches!((&self.rp, &self.qp), (Term::OverLambda(_), Term::OverLambda(_)))
            && self.lp.to_f64_r() * t.to_f64_r() > SCALE_ABOVE
    }

    /// The cross term of g² scaled by S² = e^{−2λ₊t}: q₀m_δS² = q₀((1+m₋)S − S²), or
    /// 4η_w c₊c₋·t·φ₁(δt)·S² for the series coefficient — unless δt > 700, where φ₁(δt)
    /// would overflow f64 (and a ball's radius) while the product is O(1): then the first form
    /// with q₀ = 4η_w c₊c₋/δ.
    fn q0_scaled(&self, t: &S, mm: &S, sc: &S, sc2: &S) -> Result<S, RealError> {
        let big_dt = self.delta.to_f64_r() * t.to_f64_r() > 700.0;
        Ok(match &self.q0 {
            Term::OverLambda(c) => c.times(&self.one.plus(mm).times(sc).minus(sc2)),
            Term::Series(c) if big_dt => c.over(&self.delta)?.times(&self.one.plus(mm).times(sc).minus(sc2)),
            Term::Series(c) => c
                .times(t)
                .times(&self.delta.times(t).expm1_over_x_in(&self.ex))
                .times(sc2),
        })
    }

    /// The linearised route: (a(t), e = η_w I1/g, 1/g), all O(1) even when e^{λ₊t} overflows f64.
    ///
    /// # Errors
    /// [`RealError`] when 1/√g² or a quotient fails (a ball too wide for t at this precision).
    pub fn core(&self, t: &S) -> Result<(S, S, S), RealError> {
        let mut wk = CoreWork::new(&self.a0);
        self.core_with(t, &mut wk)?;
        Ok((wk.a, wk.e, wk.ginv))
    }

    /// [`GenericClosedForm::core`] with its intermediates in `wk` (made by [`CoreWork::new`]
    /// from a value of this closed form's precision, reusable across calls): the triple is left
    /// in `wk.a`, `wk.e`, `wk.ginv`. In balls the unscaled route then allocates nothing (the
    /// `set_*` operations of [`Real`]); the values are those of the allocating forms.
    ///
    /// # Errors
    /// As [`GenericClosedForm::core`].
    pub fn core_with(&self, t: &S, wk: &mut CoreWork<S>) -> Result<(), RealError> {
        let (one, two) = (&self.one, &self.two);
        let ex = &self.ex;
        if !self.scaled(t) {
            let w = wk;
            w.z.set_times(&self.lp, t);
            w.mp.set_expm1_in(&w.z, ex);
            // Two transcendental calls per point. Series cross term (|δ| < K/4): φ₁(δt) and m₊,
            // then m_δ = δt·φ₁(δt) and m₋ = (m_δ − m₊)/(1 + m₊) (since e^{λ₋t} = e^{δt}/e^{λ₊t};
            // |λ₋| ≥ 3|λ₊|/5 here, so the difference loses < 2 bits). Otherwise m₋ directly and
            // m_δ = m₊ + m₋ + m₊m₋.
            let series = matches!(self.q0, Term::Series(_));
            if series {
                w.z.set_times(&self.delta, t);
                w.phi.set_expm1_over_x_in(&w.z, ex);
                w.md.set_times(&w.z, &w.phi);
                w.t1.set_minus(&w.md, &w.mp);
                w.t2.set_plus(one, &w.mp);
                w.mm.set_over(&w.t1, &w.t2)?;
            } else {
                w.z.set_times(&self.lm, t);
                w.mm.set_expm1_in(&w.z, ex);
                w.t1.set_plus(&w.mp, &w.mm);
                w.t2.set_times(&w.mp, &w.mm);
                w.md.set_plus(&w.t1, &w.t2);
            }
            w.a.set_mul_add_mul(&self.cp, &w.mp, &self.cm, &w.mm);
            w.a.add_assign_r(&self.a0);
            // c₁m₁ + c₂m₂ (one fused operation when both coefficients are hoisted).
            self.pair_into(
                &mut w.e,
                (&self.rp, &w.mp, &self.lp),
                (&self.rm, &w.mm, &self.lm),
                t,
                &mut w.t1,
                &mut w.t2,
            );
            // m(m + 2) for both rates.
            w.sqp.set_plus(&w.mp, two);
            w.sqp.mul_assign_r(&w.mp);
            w.sqm.set_plus(&w.mm, two);
            w.sqm.mul_assign_r(&w.mm);
            self.pair_into(
                &mut w.g2,
                (&self.qp, &w.sqp, &self.two_lp),
                (&self.qm, &w.sqm, &self.two_lm),
                t,
                &mut w.t1,
                &mut w.t2,
            );
            w.g2.add_assign_r(one);
            match &self.q0 {
                Term::Series(c) if series => {
                    w.t1.set_times(c, t);
                    w.t1.mul_assign_r(&w.phi);
                }
                q0 => self.term_into(&mut w.t1, q0, &w.md, &self.delta, t, &mut w.t2),
            }
            w.g2.add_assign_r(&w.t1);
            w.ginv.set_rsqrt(&w.g2)?;
            w.a.mul_assign_r(&w.ginv);
            w.e.mul_assign_r(&w.ginv);
            return Ok(());
        }
        let mm = self.lm.times(t).expm1_in(&self.ex);
        // Scaled by S = e^{−λ₊t}: m₊S = 1 − S, m₊(2+m₊)S² = 1 − S², m_δS² = (1+m₋)S − S².
        let (Term::OverLambda(rp), Term::OverLambda(qp)) = (&self.rp, &self.qp) else {
            unreachable!("checked by `scaled`")
        };
        let sc = self.lp.times(t).neg_r().exp_in(&self.ex);
        let sc2 = sc.sqr_r();
        let one_m_s = one.minus(&sc);
        let a_s = self
            .a0
            .times(&sc)
            .plus(&self.cp.times(&one_m_s))
            .plus(&self.cm.times(&mm).times(&sc));
        let ewi1_s = rp
            .times(&one_m_s)
            .plus(&self.term(&self.rm, &mm, &self.lm, t).times(&sc));
        let mut g2_s = sc2.clone();
        g2_s = g2_s.plus(&qp.times(&one.minus(&sc2)));
        g2_s = g2_s.plus(&self.term(&self.qm, &sq_m(&mm, two), &self.two_lm, t).times(&sc2));
        g2_s = g2_s.plus(&self.q0_scaled(t, &mm, &sc, &sc2)?);
        let ginv_s = g2_s.rsqrt_r()?;
        wk.a = a_s.times(&ginv_s);
        wk.e = ewi1_s.times(&ginv_s);
        wk.ginv = ginv_s.times(&sc);
        Ok(())
    }

    /// w = w0/g + e β* from the triple of a route.
    pub fn w_of(&self, e: &S, ginv: &S) -> Vec<S> {
        S::lin_comb_r(&self.w0, ginv, e, &self.bstar)
    }

    /// [`GenericClosedForm::w_of`] into `out` (length d), the same formula without allocating.
    pub fn w_inplace(&self, e: &S, ginv: &S, out: &mut [S]) {
        for ((w, w0), b) in out.iter_mut().zip(&self.w0).zip(&self.bstar) {
            *w = w0.mul_add_mul_r(ginv, e, b);
        }
    }

    /// (a(t), w(t)) by the linearised route.
    ///
    /// # Errors
    /// As [`GenericClosedForm::core`].
    pub fn state(&self, t: &S) -> Result<(S, Vec<S>), RealError> {
        let (a, e, ginv) = self.core(t)?;
        Ok((a, self.w_of(&e, &ginv)))
    }

    /// [`GenericClosedForm::state`] with the intermediates in `wk` ([`Self::core_with`]).
    ///
    /// # Errors
    /// As [`GenericClosedForm::core`].
    pub fn state_with(&self, t: &S, wk: &mut CoreWork<S>) -> Result<(S, Vec<S>), RealError> {
        self.core_with(t, wk)?;
        Ok((wk.a.clone(), self.w_of(&wk.e, &wk.ginv)))
    }

    /// The paper's route (Riccati ν, Bernoulli a; see the module doc): the triple (a, e, 1/g) as
    /// [`GenericClosedForm::core`].
    ///
    /// # Errors
    /// [`HyperbolicError::Singular`] at the route's singular points (a0 = 0, β* = 0, K = 0, a(t) = 0, or a
    /// value that cannot be told from them), [`RealError`] from a failing operation.
    pub fn hyperbolic(&self, t: &S) -> Result<(S, S, S), HyperbolicError> {
        let sing = |why: String| HyperbolicError::Singular(why);
        if self.a0.zero_test() != Some(false) {
            return Err(sing(
                "a0 = 0, so the Riccati variable ν = wᵀβ*/a is infinite at t = 0".into(),
            ));
        }
        if self.s2.zero_test() != Some(false) {
            return Err(sing("β* = Xᵀy = 0, so φ and ν are undefined".into()));
        }
        if self.k.zero_test() != Some(false) {
            return Err(sing("K = √(δ² + 4η_aη_w‖β*‖²) = 0".into()));
        }
        let ex = &self.ex;
        let nu0 = self.p0.over(&self.a0)?;
        // z = tanh c = (δ + 2η_a ν0)/K
        let z = self.delta.plus(&self.eta_a.times(&nu0).mul_pow2_r(1)).over(&self.k)?;
        let x = self.k.times(t).mul_pow2_r(-1);
        let (sh, ch) = (x.sinh_r(), x.cosh_r());
        let r = ch.plus(&z.times(&sh));
        if r.zero_test() != Some(false) {
            return Err(sing(format!("a(t) = 0 at t = {} (pole of ν)", t.to_f64_r())));
        }
        let tanh = sh.plus(&z.times(&ch)).over(&r)?;
        let nu = self.k.times(&tanh).minus(&self.delta).over(&self.eta_a.mul_pow2_r(1))?;
        // Bernoulli: J = ∫ e^{δs} R(s)² ds
        let ratio = |l: &S| t.times(&l.times(t).expm1_over_x_in(ex));
        let ed = ratio(&self.delta);
        let e2p = ratio(&self.two_lp);
        let e2m = ratio(&self.two_lm);
        let zp = z.plus(&self.one).sqr_r();
        let zm = self.one.minus(&z).sqr_r();
        let omz2 = self.one.minus(&z.sqr_r());
        let j = omz2
            .times(&ed)
            .mul_pow2_r(-1)
            .plus(&zp.times(&e2p).mul_pow2_r(-2))
            .plus(&zm.times(&e2m).mul_pow2_r(-2));
        let den = self
            .eta_w
            .times(&self.a0.sqr_r())
            .times(&j)
            .mul_pow2_r(1)
            .plus(&self.one);
        let ginv = den.rsqrt_r()?;
        let eh = self.delta.times(t).mul_pow2_r(-1).exp_in(ex);
        let a = self.a0.times(&eh).times(&r).times(&ginv);
        // w = (νa/s²) β* + (w0 − (p0/s²)β*)/g = w0/g + e β*, e = (νa − p0/g)/s².
        let e = nu.times(&a).minus(&self.p0.times(&ginv)).over(&self.s2)?;
        Ok((a, e, ginv))
    }

    /// μ from the hyperbolic coordinates of (a, ‖w‖) (`docs/theory.md` §1.2):
    /// δ > 0: ‖w‖ = √(δ/η_a) sinh θ; δ < 0: a = √(|δ|/η_w) sinh θ (signed);
    /// μ = |δ| sinh(2θ)/(2√(η_aη_w)) with the sign of a; a‖w‖ at δ = 0.
    ///
    /// # Errors
    /// [`RealError`] from a square root or quotient (balls).
    pub fn mu_hyperbolic(&self, a: &S, wn: &S) -> Result<S, RealError> {
        if self.delta.zero_test() == Some(true) {
            return Ok(a.times(wn));
        }
        let e = self.eta_a.times(&self.eta_w).sqrt_r()?;
        let pos = self.delta.nonneg_hint();
        let ad = abs_hint(&self.delta);
        let theta = if pos {
            wn.times(&self.eta_a.over(&ad)?.sqrt_r()?).asinh_r()
        } else {
            a.times(&self.eta_w.over(&ad)?.sqrt_r()?).asinh_r()
        };
        let mu = ad.times(&theta.mul_pow2_r(1).sinh_r()).over(&e.mul_pow2_r(1))?;
        Ok(if pos && !a.nonneg_hint() { mu.neg_r() } else { mu })
    }

    /// Every quantity from a route's triple (a, e, 1/g); `hyperbolic_mu` selects μ from the
    /// hyperbolic coordinates instead of a‖w‖.
    ///
    /// # Errors
    /// [`RealError`] when ‖w‖ or μ fails (balls); φ and S carry their own result.
    pub fn observables(&self, a: S, e: &S, ginv: &S, hyperbolic_mu: bool) -> Result<Observables<S>, RealError> {
        let w = self.w_of(e, ginv);
        let beta: Vec<S> = w.iter().map(|wi| a.times(wi)).collect();
        // ‖w‖² = ‖w0 + η_w I1 β*‖²/g² = ‖w0‖²/g² + 2e p0/g + e² s²
        let wn2 = self
            .w0n2
            .times(&ginv.sqr_r())
            .plus(&e.times(&self.p0).times(ginv).mul_pow2_r(1))
            .plus(&e.sqr_r().times(&self.s2));
        let wn = wn2.sqrt_r()?;
        let mu = if hyperbolic_mu {
            self.mu_hyperbolic(&a, &wn)?
        } else {
            a.times(&wn)
        };
        // φ = (p0 + η_w s² I1)/(s‖w0 + η_w I1 β*‖) = (p0/g + e s²)/(s‖w‖)
        let phi = match &self.s {
            Ok(s) => self.p0.times(ginv).plus(&e.times(&self.s2)).over(&s.times(&wn)),
            Err(err) => Err(err.clone()),
        };
        let mut l2 = a.real(0.0);
        for (bi, bs) in beta.iter().zip(&self.bstar) {
            l2.add_assign_r(&bi.minus(bs).sqr_r());
        }
        let loss = self.half_resid0.plus(&l2.mul_pow2_r(-1));
        let kernel_distance = self.kernel_distance(&a, e, &wn2);
        Ok(Observables {
            a,
            w,
            beta,
            mu,
            phi,
            kernel_distance,
            loss,
        })
    }

    /// S(0,t) from the point's a, ‖w‖ and e, with w0 ∧ w(t) = e (w0 ∧ β*)
    /// ([`kernel_distance_parts`]).
    fn kernel_distance(&self, a: &S, e: &S, wn2: &S) -> Result<S, RealError> {
        let at0 = self.kd0.as_ref().map_err(Clone::clone)?;
        let wedge = e.sqr_r().times(&self.wedge0);
        kernel_distance_parts(&self.eta_a, &self.eta_w, self.d, at0, a, wn2, &wedge)
    }

    /// δ(t) = η_w a² − η_a‖w‖² at (a, w) (conserved by the exact flow).
    pub fn delta_of(&self, a: &S, w: &[S]) -> S {
        self.eta_w.times(&a.sqr_r()).minus(&self.eta_a.times(&dot(w, w)))
    }

    /// η_w a0² + η_a‖w0‖², the scale of δ's terms.
    pub fn delta_scale(&self) -> S {
        self.eta_w.times(&self.a0.sqr_r()).plus(&self.eta_a.times(&self.w0n2))
    }

    /// The flow's right-hand side ȧ = η_a(wᵀβ* − a‖w‖²), ẇ = η_w(aβ* − a²w) at (a, w).
    pub fn flow_rhs(&self, a: &S, w: &[S]) -> FlowRhs<S> {
        let wb = dot(w, &self.bstar);
        let a_ww = a.times(&dot(w, w));
        let rhs_a = self.eta_a.times(&wb.minus(&a_ww));
        let mut scale = self.eta_a.times(&abs_hint(&wb).plus(&abs_hint(&a_ww)));
        let a2 = a.sqr_r();
        let mut rhs_w = Vec::with_capacity(w.len());
        for (wi, b) in w.iter().zip(&self.bstar) {
            let (t1, t2) = (a.times(b), a2.times(wi));
            rhs_w.push(self.eta_w.times(&t1.minus(&t2)));
            let sc = self.eta_w.times(&abs_hint(&t1).plus(&abs_hint(&t2)));
            if sc.to_f64_r() > scale.to_f64_r() {
                scale = sc;
            }
        }
        FlowRhs {
            a: rhs_a,
            w: rhs_w,
            scale,
        }
    }

    /// The closed form and its exact time derivative at `t`, and the flow's right-hand side at
    /// (a, w). The derivative is the analytic derivative of the closed-form expressions term by
    /// term (not the flow's right-hand side): with E± = e^{λ±t}, d/dt of coef·expm1(λt) is
    /// coef·λ·e^{λt} and d/dt of c·t·φ₁(λt) is c·e^{λt}; so A′ = c₊λ₊E₊ + c₋λ₋E₋,
    /// (η_w I1)′ = r₊λ₊E₊ + r₋λ₋E₋, (g²)′ = q₊·2λ₊E₊² + q₀δE₊E₋ + q₋·2λ₋E₋², and
    /// ȧ = A′/g − a(g²)′/(2g²), ẇ = (η_w I1)′β*/g − w(g²)′/(2g²). Where λ₊t > 200 every term is
    /// scaled by S = e^{−λ₊t} (as in the closed form itself). The difference of the two is the
    /// ODE residual of the closed form.
    ///
    /// # Errors
    /// [`RealError`] if 1/√g² or a quotient fails.
    pub fn with_derivative(&self, t: &S) -> Result<Derivative<S>, RealError> {
        let (one, two) = (&self.one, &self.two);
        let der = |tm: &Term<S>, lam: &S, e: &S| -> S {
            match tm {
                Term::OverLambda(c) => c.times(lam).times(e),
                Term::Series(c) => c.times(e),
            }
        };
        let ex = &self.ex;
        let mm = self.lm.times(t).expm1_in(ex);
        // (A·S, η_w I1·S, g²S², S, P = E₊S, M = E₋S)
        let (a_s, ei1_s, g2_s2, s, pe, me) = if self.scaled(t) {
            let (Term::OverLambda(rp), Term::OverLambda(qp)) = (&self.rp, &self.qp) else {
                unreachable!("checked by `scaled`")
            };
            let s = self.lp.times(t).neg_r().exp_in(ex);
            let s2 = s.sqr_r();
            let one_m_s = one.minus(&s);
            let a_s = self
                .a0
                .times(&s)
                .plus(&self.cp.times(&one_m_s))
                .plus(&self.cm.times(&mm).times(&s));
            let ei1_s = rp
                .times(&one_m_s)
                .plus(&self.term(&self.rm, &mm, &self.lm, t).times(&s));
            let q0 = self.q0_scaled(t, &mm, &s, &s2)?;
            let g2 = s2
                .plus(&qp.times(&one.minus(&s2)))
                .plus(&self.term(&self.qm, &sq_m(&mm, two), &self.two_lm, t).times(&s2))
                .plus(&q0);
            let me = one.plus(&mm).times(&s);
            (a_s, ei1_s, g2, s, one.clone(), me)
        } else {
            let mp_ = self.lp.times(t).expm1_in(ex);
            let md = mp_.plus(&mm).plus(&mp_.times(&mm));
            let a_s = self.a0.plus(&self.cp.times(&mp_)).plus(&self.cm.times(&mm));
            let ei1_s = self
                .term(&self.rp, &mp_, &self.lp, t)
                .plus(&self.term(&self.rm, &mm, &self.lm, t));
            let g2 = one
                .plus(&self.term(&self.qp, &sq_m(&mp_, two), &self.two_lp, t))
                .plus(&self.term(&self.qm, &sq_m(&mm, two), &self.two_lm, t))
                .plus(&self.term(&self.q0, &md, &self.delta, t));
            (a_s, ei1_s, g2, one.clone(), one.plus(&mp_), one.plus(&mm))
        };
        let da_s = self
            .cp
            .times(&self.lp)
            .times(&pe)
            .plus(&self.cm.times(&self.lm).times(&me));
        let dei1_s = der(&self.rp, &self.lp, &pe).plus(&der(&self.rm, &self.lm, &me));
        let dg2_s2 = der(&self.qp, &self.two_lp, &pe.sqr_r())
            .plus(&der(&self.qm, &self.two_lm, &me.sqr_r()))
            .plus(&der(&self.q0, &self.delta, &pe.times(&me)));
        let ginv_s = g2_s2.rsqrt_r()?;
        let half_log_rate = dg2_s2.over(&g2_s2)?.mul_pow2_r(-1);
        let a = a_s.times(&ginv_s);
        let e = ei1_s.times(&ginv_s);
        let ginv = s.times(&ginv_s);
        let w = self.w_of(&e, &ginv);
        let adot = da_s.times(&ginv_s).minus(&a.times(&half_log_rate));
        let de = dei1_s.times(&ginv_s);
        let wdot = w
            .iter()
            .zip(&self.bstar)
            .map(|(wi, b)| de.times(b).minus(&wi.times(&half_log_rate)))
            .collect();
        let rhs = self.flow_rhs(&a, &w);
        Ok(Derivative { a, w, adot, wdot, rhs })
    }

    /// The t → ∞ limit (`docs/theory.md` §1.4): (sgn c₊, a∞, w∞) with
    /// a∞ = sgn(c₊)√(λ₊/η_w), w∞ = sgn(c₊)√(−λ₋/η_a) β*/s; `None` when β* = 0.
    ///
    /// # Errors
    /// [`RealError`] from a square root or quotient (balls).
    pub fn limit(&self) -> Result<Option<(f64, S, Vec<S>)>, RealError> {
        if self.s2.zero_test() == Some(true) {
            return Ok(None);
        }
        let sign = match self.cp.zero_test() {
            Some(true) => 0.0,
            _ if self.cp.nonneg_hint() => 1.0,
            _ => -1.0,
        };
        let sg = self.cp.real(sign);
        let s = self.s.as_ref().map_err(Clone::clone)?;
        let a = sg.times(&self.lp.over(&self.eta_w)?.sqrt_r()?);
        let wn = sg.times(&self.lm.neg_r().over(&self.eta_a)?.sqrt_r()?).over(s)?;
        Ok(Some((sign, a, self.bstar.iter().map(|b| wn.times(b)).collect())))
    }

    /// Conditioning of the coefficients c± = ∓(η_a p0 + a0 λ±)/K (at the values' nearest f64):
    /// κ = max over ± of (|η_a p0| + |a0 λ±|)/|η_a p0 + a0 λ±| (≥ 1; 1 when nothing cancels).
    /// Large only near the separating surface c₊ = 0 (or its mirror c₋ = 0).
    pub fn condition(&self) -> f64 {
        let ep = self.eta_a.to_f64_r() * self.p0.to_f64_r();
        let a0 = self.a0.to_f64_r();
        let k = |l: f64| {
            let s = ep.abs() + (a0 * l).abs();
            let c = (ep + a0 * l).abs();
            if s == 0.0 {
                1.0
            } else if c == 0.0 {
                f64::INFINITY
            } else {
                (s / c).max(1.0)
            }
        };
        k(self.lp.to_f64_r()).max(k(self.lm.to_f64_r()))
    }
}

/// Why the paper's route could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum HyperbolicError {
    /// A singular point of the route.
    Singular(String),
    /// An operation failed.
    Real(RealError),
}

impl From<RealError> for HyperbolicError {
    fn from(e: RealError) -> Self {
        HyperbolicError::Real(e)
    }
}
