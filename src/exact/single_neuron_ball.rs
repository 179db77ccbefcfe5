//! Rigorous single-neuron closed form: every value is a ball ([`crate::num::ball::Ball`]) that
//! provably contains the exact value for the decimal inputs.
//!
//! Equation: the linearised closed form of `docs/theory.md` §1.4 (derived there; agrees with the
//! paper's Riccati/Bernoulli route, P1 §3 / App. A.2 as reconstructed in §1.2–1.4):
//! with λ± = (δ ± K)/2, K = √(δ² + 4η_aη_w s²), s = ‖β*‖, p0 = w0ᵀβ*,
//! c₊ = (η_a p0 + a0λ₊)/K, c₋ = −(η_a p0 + a0λ₋)/K and m± = expm1(λ± t),
//!
//! - A = a0 + c₊m₊ + c₋m₋,  η_w I1 = r₊m₊ + r₋m₋ (r± = η_w c±/λ±),
//! - g² = 1 + 2η_w I2 = 1 + q₊m₊(2+m₊) + q₀m_δ + q₋m₋(2+m₋) (q± = η_w c±²/λ±, q₀ = 4η_w c₊c₋/δ),
//! - a = A/g, w = (w0 + η_w I1 β*)/g, β = a w, μ = a‖w‖, φ = (p0 + η_w s² I1)/(s‖w0 + η_w I1 β*‖).
//!
//! Only two transcendental calls per time point: e^{δt} = e^{λ₊t}e^{λ₋t} because λ₊ + λ₋ = δ,
//! so for |δ| ≥ K/4 m_δ = expm1(δt) = m₊ + m₋ + m₊m₋; for |δ| < K/4 that sum would cancel, and
//! the cross term is evaluated as 4η_w c₊c₋·t·φ₁(δt), with m₋ = (m_δ − m₊)/(1 + m₊). Everything that does not depend on t is computed once in [`ClosedFormBall::new`].
//! When λ± or δ is a ball that contains 0 (e.g. δ = 0 exactly), the matching term is evaluated as
//! coefficient·t·φ₁(λt) with φ₁(z) = (eᶻ − 1)/z ([`Ball::expm1_over_x`]), which has no
//! singularity. The exponentials use [`ExpTable`] (tables built once in [`ClosedFormBall::new`],
//! `num::ball_exp`), which returns the same kind of enclosure as MPFR's `Ball::expm1` faster.
//!
//! Kernel distance S(0,t) (`docs/theory.md` §1.5) as the sum of non-negative terms of
//! [`super::single_neuron_mp::kernel_distance_mp`], with the wedge term hoisted:
//! w0 ∧ w(t) = (η_w I1/g)·(w0 ∧ β*). Loss L = ½(‖y − Xβ*‖² + ‖β − β*‖²).
//!
//! **Assumptions, checked:** XᵀX = I *exactly* for the decimal inputs (proved by evaluating
//! XᵀX − I in balls and finding exact zeros: entries such as ±1, ±½, ±¼ — identity and scaled
//! Hadamard data — qualify; data that is only whitened to 1e-16 does not, because then the
//! closed form is not the exact flow and no enclosure of the flow can be claimed), K > 0, and a
//! non-zero β*. Inputs are enclosed exactly ([`Ball::from_num`]).

use super::ExactError;
use crate::case::SingleNeuronCase;
use crate::models::ModelError;
use crate::num::ball::{Ball, BallError};
use crate::num::ball_exp::ExpTable;
use crate::num::decimal::Num;
use crate::num::mp;
use rug::Float;
use std::sync::Arc;

/// One time point: every quantity as a ball.
#[derive(Debug, Clone)]
pub struct PointBall {
    /// Time.
    pub t: Ball,
    /// a(t).
    pub a: Ball,
    /// w(t).
    pub w: Vec<Ball>,
    /// β(t) = a w.
    pub beta: Vec<Ball>,
    /// μ = a‖w‖.
    pub mu: Ball,
    /// φ = cos∠(w, β*).
    pub phi: Ball,
    /// S(0, t).
    pub kernel_distance: Ball,
    /// L(t).
    pub loss: Ball,
}

impl PointBall {
    /// The balls of quantity `name` (one of [`super::single_neuron_mp::QUANTITIES`]).
    pub fn values(&self, name: &str) -> Vec<&Ball> {
        match name {
            "a" => vec![&self.a],
            "w" => self.w.iter().collect(),
            "beta" => self.beta.iter().collect(),
            "mu" => vec![&self.mu],
            "phi" => vec![&self.phi],
            "kernel_distance" => vec![&self.kernel_distance],
            "loss" => vec![&self.loss],
            _ => vec![],
        }
    }
    /// Largest relative radius over all quantities (∞ if a value's ball contains 0 with r > 0).
    pub fn max_rel_rad(&self) -> f64 {
        super::single_neuron_mp::QUANTITIES
            .iter()
            .flat_map(|q| self.values(q).into_iter().map(Ball::rel_rad))
            .fold(0.0, f64::max)
    }
}

/// The closed form, its exact time derivative and the flow's right-hand side at one time
/// ([`ClosedFormBall::with_derivative`]).
#[derive(Debug, Clone)]
pub struct DerivativeBall {
    /// a(t).
    pub a: Ball,
    /// w(t).
    pub w: Vec<Ball>,
    /// ȧ(t), the derivative of the closed-form expression.
    pub adot: Ball,
    /// ẇ(t).
    pub wdot: Vec<Ball>,
    /// η_a(wᵀβ* − a‖w‖²) at (a(t), w(t)).
    pub rhs_a: Ball,
    /// η_w(aβ* − a²w) at (a(t), w(t)).
    pub rhs_w: Vec<Ball>,
    /// Scale of the right-hand side's terms (midpoints, nearest): the larger of
    /// η_a(|wᵀβ*| + |a|‖w‖²) and η_w(|aβ*_i| + a²|w_i|), as in
    /// [`super::single_neuron_mp::ode_residual`].
    pub scale: f64,
}

impl DerivativeBall {
    /// The ODE residuals (ȧ − rhs_a, ẇ_i − rhs_w_i) as balls: each contains 0 exactly when the
    /// enclosure is consistent with the closed form solving the flow.
    pub fn residuals(&self) -> Vec<Ball> {
        std::iter::once(self.adot.sub(&self.rhs_a))
            .chain(self.wdot.iter().zip(&self.rhs_w).map(|(d, r)| d.sub(r)))
            .collect()
    }
}

/// A coefficient that multiplies m = expm1(λt)/λ·λ… : either hoisted c/λ (λ excludes 0), or the
/// raw c to be multiplied by t·φ₁(λt).
#[derive(Debug, Clone)]
enum Term {
    /// coef·m, with coef = c/λ precomputed.
    OverLambda(Ball),
    /// c·t·φ₁(λt) (λ may be 0).
    Series(Ball),
}

/// The closed form with every t-independent constant enclosed at one precision.
#[derive(Debug, Clone)]
pub struct ClosedFormBall {
    prec: u32,
    d: usize,
    eta_a: Ball,
    eta_w: Ball,
    bstar: Vec<Ball>,
    a0: Ball,
    w0: Vec<Ball>,
    s2: Ball,
    s: Ball,
    p0: Ball,
    w0n2: Ball,
    delta: Ball,
    lp: Ball,
    lm: Ball,
    cp: Ball,
    cm: Ball,
    rp: Term,
    rm: Term,
    /// 2λ± terms of g²: q± m±(2+m±) = coef·(m± (2 + m±)) or 2η_w c±²·t·φ₁(2λ±t).
    qp: Term,
    qm: Term,
    /// Cross term: q₀m_δ, or 4η_w c₊c₋·t·φ₁(δt).
    q0: Term,
    /// ½‖y − Xβ*‖².
    half_resid0: Ball,
    /// ‖w0 ∧ β*‖² = Σ_{i<j}(w0_i β*_j − w0_j β*_i)².
    wedge0: Ball,
    /// ‖M0‖_F, (η_w a0² + η_a‖w0‖²)/‖M0‖, η_w a0²/‖M0‖ (kernel distance at t = 0).
    n0: Ball,
    tr0_over_n0: Ball,
    al0: Ball,
    /// Tables of the fast ball exponentials at `prec` (shared by clones).
    ex: Arc<ExpTable>,
    /// 1, 2, 2λ₊, 2λ₋ at the working precision (hoisted out of every point).
    one: Ball,
    two: Ball,
    two_lp: Ball,
    two_lm: Ball,
}

/// λ₊t above which the scaled evaluation is used (e^{λ₊t} > e^{200} ≈ 1e87: its square would
/// approach the f64 range of the radii).
const SCALE_ABOVE: f64 = 200.0;

fn rig(e: BallError) -> ExactError {
    ExactError::Rigorous(e)
}

fn dot(x: &[Ball], y: &[Ball]) -> Ball {
    let mut s = x[0].mul(&y[0]);
    for (a, b) in x.iter().zip(y).skip(1) {
        s = s.add(&a.mul(b));
    }
    s
}

impl ClosedFormBall {
    /// Enclose the inputs of `case` at `prec` bits and compute the t-independent constants.
    ///
    /// # Errors
    /// [`ExactError`] for a precision below 53 bits, invalid shapes or rates, data that is not
    /// exactly whitened ([`ExactError::NotExactlyWhitened`]), β* = 0 or K = 0
    /// ([`ExactError::Rigorous`]).
    pub fn new(case: &SingleNeuronCase, prec: u32) -> Result<Self, ExactError> {
        mp::check_prec(prec)?;
        let model = crate::models::single_neuron::SingleNeuron::new(
            &case.x_f64(),
            &case.y_f64(),
            case.eta_a.to_f64(),
            case.eta_w.to_f64(),
        )?;
        model.theta(case.a0.to_f64(), &case.w0_f64())?;
        let p = prec;
        let b = |n: &Num| Ball::from_num(n, p).map_err(rig);
        let x: Vec<Vec<Ball>> = case
            .x
            .iter()
            .map(|r| r.iter().map(b).collect::<Result<_, _>>())
            .collect::<Result<_, _>>()?;
        let y: Vec<Ball> = case.y.iter().map(b).collect::<Result<_, _>>()?;
        let (n, d) = (x.len(), x[0].len());
        let eta_a = b(&case.eta_a)?;
        let eta_w = b(&case.eta_w)?;
        for (name, e) in [("eta_a", &eta_a), ("eta_w", &eta_w)] {
            if e.mid().is_sign_negative() || e.contains_zero() {
                return Err(ExactError::Model(ModelError::NonPositiveRate {
                    name,
                    value: e.mid().to_f64(),
                }));
            }
        }
        // Whitening, proved exactly: every entry of XᵀX − I must be the exact ball 0.
        let mut defect = 0.0f64;
        for j in 0..d {
            for k in 0..d {
                let mut s = Ball::from_u32(p, 0).sub(&Ball::from_u32(p, u32::from(j == k)));
                for row in &x {
                    s = s.add(&row[j].mul(&row[k]));
                }
                if !s.is_exact_zero() {
                    defect = defect.max(s.mid().to_f64().abs() + s.rad());
                }
            }
        }
        if defect > 0.0 {
            return Err(ExactError::NotExactlyWhitened { defect });
        }
        let a0 = b(&case.a0)?;
        let w0: Vec<Ball> = case.w0.iter().map(b).collect::<Result<_, _>>()?;
        let bstar: Vec<Ball> = (0..d)
            .map(|j| {
                let col: Vec<Ball> = x.iter().map(|r| r[j].clone()).collect();
                dot(&col, &y)
            })
            .collect();
        let mut resid0 = Ball::from_u32(p, 0);
        for i in 0..n {
            let r = y[i].sub(&dot(&x[i], &bstar));
            resid0 = resid0.add(&r.sqr());
        }
        let s2 = dot(&bstar, &bstar);
        let s = s2.sqrt().map_err(rig)?;
        let p0 = dot(&w0, &bstar);
        let w0n2 = dot(&w0, &w0);
        let delta = eta_w.mul(&a0.sqr()).sub(&eta_a.mul(&w0n2));
        let es2 = eta_a.mul(&eta_w).mul(&s2);
        let k = delta.sqr().add(&es2.mul_u32(4)).sqrt().map_err(rig)?;
        // λ₊λ₋ = −η_aη_w s²: take the root without cancellation directly, the other from it.
        let direct_p = delta.add(&k).mul_pow2(-1);
        let direct_m = delta.sub(&k).mul_pow2(-1);
        let (lp, lm) = if !delta.mid().is_sign_negative() {
            let lm = es2.neg().div(&direct_p).unwrap_or_else(|_| direct_m.clone());
            (direct_p, lm)
        } else {
            let lp = es2.neg().div(&direct_m).unwrap_or_else(|_| direct_p.clone());
            (lp, direct_m)
        };
        let eap0 = eta_a.mul(&p0);
        let cp = eap0.add(&a0.mul(&lp)).div(&k).map_err(rig)?;
        let cm = eap0.add(&a0.mul(&lm)).div(&k).map_err(rig)?.neg();
        let ecp = eta_w.mul(&cp);
        let ecm = eta_w.mul(&cm);
        let over = |c: Ball, l: &Ball, series: Ball| -> Term {
            match c.div(l) {
                Ok(v) if !l.contains_zero() => Term::OverLambda(v),
                _ => Term::Series(series),
            }
        };
        let (two_lp, two_lm) = (lp.mul_pow2(1), lm.mul_pow2(1));
        let rp = over(ecp.clone(), &lp, ecp.clone());
        let rm = over(ecm.clone(), &lm, ecm.clone());
        let qp = over(ecp.mul(&cp), &lp, ecp.mul(&cp).mul_u32(2));
        let qm = over(ecm.mul(&cm), &lm, ecm.mul(&cm).mul_u32(2));
        // For |δ| < K/4, q₀m_δ = (4η_w c₊c₋/δ)·expm1(δt) would multiply two factors whose
        // relative radii (~K/|δ| ulps, from δ's cancellation) cancel exactly but not in balls:
        // evaluate 4η_w c₊c₋·t·φ₁(δt) instead, which is insensitive to δ's radius.
        let direct_md = delta.mid().to_f64().abs() < 0.25 * k.mid().to_f64();
        let q0 = if direct_md {
            Term::Series(ecp.mul(&cm).mul_u32(4))
        } else {
            over(ecp.mul(&cm).mul_u32(4), &delta, ecp.mul(&cm).mul_u32(4))
        };
        let mut wedge0 = Ball::from_u32(p, 0);
        for i in 0..d {
            for j in (i + 1)..d {
                wedge0 = wedge0.add(&w0[i].mul(&bstar[j]).sub(&w0[j].mul(&bstar[i])).sqr());
            }
        }
        let x0 = eta_w.mul(&a0.sqr());
        let y0 = eta_a.mul(&w0n2);
        let n0 = norm_m(&x0, &y0, d).map_err(rig)?;
        let (tr0_over_n0, al0) = match (x0.add(&y0).div(&n0), x0.div(&n0)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(rig(e)),
        };
        Ok(ClosedFormBall {
            prec: p,
            d,
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            s2,
            s,
            p0,
            w0n2,
            delta,
            lp,
            lm,
            cp,
            cm,
            rp,
            rm,
            qp,
            qm,
            q0,
            half_resid0: resid0.mul_pow2(-1),
            wedge0,
            n0,
            tr0_over_n0,
            al0,
            ex: Arc::new(ExpTable::new(p)?),
            one: Ball::from_u32(p, 1),
            two: Ball::from_u32(p, 2),
            two_lp,
            two_lm,
        })
    }

    /// Working precision in bits.
    pub fn prec(&self) -> u32 {
        self.prec
    }
    /// δ = η_w a0² − η_a‖w0‖² enclosed.
    pub fn delta(&self) -> &Ball {
        &self.delta
    }

    /// c₊ = (η_a p0 + a0λ₊)/K enclosed: its sign is the sign of a(t) as t → ∞ (`docs/theory.md` §1.3).
    pub fn c_plus(&self) -> &Ball {
        &self.cp
    }

    /// δ(t) = η_w a(t)² − η_a‖w(t)‖² of the closed form at time `t`, enclosed. The exact flow
    /// conserves δ, so this ball must contain [`ClosedFormBall::delta`] (δ from the inputs).
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn delta_at(&self, t: &Ball) -> Result<Ball, ExactError> {
        let (a, w) = self.state(t)?;
        Ok(self.eta_w.mul(&a.sqr()).sub(&self.eta_a.mul(&dot(&w, &w))))
    }

    /// The closed form and its exact time derivative at `t`, enclosed: (a, w, ȧ, ẇ) and the
    /// right-hand side of the gradient flow at (a, w), (η_a(wᵀβ* − a‖w‖²), η_w(aβ* − a²w)).
    ///
    /// The derivative is the analytic derivative of the closed-form expressions term by term
    /// (not the flow's right-hand side): with E± = e^{λ±t}, d/dt of coef·expm1(λt) is
    /// coef·λ·e^{λt} and d/dt of c·t·φ₁(λt) is c·e^{λt}; so A′ = c₊λ₊E₊ + c₋λ₋E₋,
    /// (η_w I1)′ = r₊λ₊E₊ + r₋λ₋E₋, (g²)′ = q₊·2λ₊E₊² + q₀δE₊E₋ + q₋·2λ₋E₋², and
    /// ȧ = A′/g − a(g²)′/(2g²), ẇ = (η_w I1)′β*/g − w(g²)′/(2g²). Where λ₊t > 200 every term is
    /// scaled by S = e^{−λ₊t} (as in the closed form itself). The difference of the two is the
    /// ODE residual of the closed form; its balls contain 0 when the closed form solves the flow.
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn with_derivative(&self, t: &Ball) -> Result<DerivativeBall, ExactError> {
        let (one, two) = (&self.one, &self.two);
        let sq = |m: &Ball| m.add(two).mul(m);
        let val = |tm: &Term, m: &Ball, lam: &Ball| -> Ball {
            match tm {
                Term::OverLambda(c) => c.mul(m),
                Term::Series(c) => c.mul(t).mul(&self.ex.expm1_over_x(&lam.mul(t))),
            }
        };
        let der = |tm: &Term, lam: &Ball, e: &Ball| -> Ball {
            match tm {
                Term::OverLambda(c) => c.mul(lam).mul(e),
                Term::Series(c) => c.mul(e),
            }
        };
        let scaled = matches!((&self.rp, &self.qp), (Term::OverLambda(_), Term::OverLambda(_)))
            && self.lp.mid().to_f64() * t.mid().to_f64() > SCALE_ABOVE;
        let mm = self.ex.expm1(&self.lm.mul(t));
        // (A·S, η_w I1·S, g²S², S, P = E₊S, M = E₋S)
        let (a_s, ei1_s, g2_s2, s, pe, me) = if scaled {
            let (Term::OverLambda(rp), Term::OverLambda(qp)) = (&self.rp, &self.qp) else {
                unreachable!("checked above")
            };
            let s = self.ex.exp(&self.lp.mul(t).neg());
            let s2 = s.sqr();
            let one_m_s = one.sub(&s);
            let a_s = self
                .a0
                .mul(&s)
                .add(&self.cp.mul(&one_m_s))
                .add(&self.cm.mul(&mm).mul(&s));
            let ei1_s = rp.mul(&one_m_s).add(&val(&self.rm, &mm, &self.lm).mul(&s));
            let q0 = match &self.q0 {
                Term::OverLambda(c) => c.mul(&one.add(&mm).mul(&s).sub(&s2)),
                Term::Series(c) => c.mul(t).mul(&self.ex.expm1_over_x(&self.delta.mul(t))).mul(&s2),
            };
            let g2 = s2
                .add(&qp.mul(&one.sub(&s2)))
                .add(&val(&self.qm, &sq(&mm), &self.two_lm).mul(&s2))
                .add(&q0);
            let me = one.add(&mm).mul(&s);
            (a_s, ei1_s, g2, s, one.clone(), me)
        } else {
            let mp_ = self.ex.expm1(&self.lp.mul(t));
            let md = mp_.add(&mm).add(&mp_.mul(&mm));
            let a_s = self.a0.add(&self.cp.mul(&mp_)).add(&self.cm.mul(&mm));
            let ei1_s = val(&self.rp, &mp_, &self.lp).add(&val(&self.rm, &mm, &self.lm));
            let g2 = one
                .add(&val(&self.qp, &sq(&mp_), &self.two_lp))
                .add(&val(&self.qm, &sq(&mm), &self.two_lm))
                .add(&val(&self.q0, &md, &self.delta));
            (a_s, ei1_s, g2, one.clone(), one.add(&mp_), one.add(&mm))
        };
        let da_s = self.cp.mul(&self.lp).mul(&pe).add(&self.cm.mul(&self.lm).mul(&me));
        let dei1_s = der(&self.rp, &self.lp, &pe).add(&der(&self.rm, &self.lm, &me));
        let dg2_s2 = der(&self.qp, &self.two_lp, &pe.sqr())
            .add(&der(&self.qm, &self.two_lm, &me.sqr()))
            .add(&der(&self.q0, &self.delta, &pe.mul(&me)));
        let ginv_s = g2_s2.rsqrt().map_err(rig)?;
        let half_log_rate = dg2_s2.div(&g2_s2).map_err(rig)?.mul_pow2(-1);
        let a = a_s.mul(&ginv_s);
        let e = ei1_s.mul(&ginv_s);
        let ginv = s.mul(&ginv_s);
        let w: Vec<Ball> = self
            .w0
            .iter()
            .zip(&self.bstar)
            .map(|(w0, b)| w0.mul(&ginv).add(&e.mul(b)))
            .collect();
        let adot = da_s.mul(&ginv_s).sub(&a.mul(&half_log_rate));
        let de = dei1_s.mul(&ginv_s);
        let wdot = w
            .iter()
            .zip(&self.bstar)
            .map(|(wi, b)| de.mul(b).sub(&wi.mul(&half_log_rate)))
            .collect();
        let wb = dot(&w, &self.bstar);
        let ww = dot(&w, &w);
        let rhs_a = self.eta_a.mul(&wb.sub(&a.mul(&ww)));
        let a2 = a.sqr();
        let rhs_w = w
            .iter()
            .zip(&self.bstar)
            .map(|(wi, b)| self.eta_w.mul(&a.mul(b).sub(&a2.mul(wi))))
            .collect();
        // Scale of the right-hand side's terms (as in the MPFR residual): the larger of
        // η_a(|wᵀβ*| + |a|‖w‖²) and η_w(|aβ*_i| + a²|w_i|).
        let mut scale =
            self.eta_a.mid().to_f64() * (wb.mid().to_f64().abs() + (a.mid().to_f64() * ww.mid().to_f64()).abs());
        for (wi, b) in w.iter().zip(&self.bstar) {
            let (ab, a2w) = (a.mul(b).mid().to_f64().abs(), a2.mul(wi).mid().to_f64().abs());
            scale = scale.max(self.eta_w.mid().to_f64() * (ab + a2w));
        }
        Ok(DerivativeBall {
            a,
            w,
            adot,
            wdot,
            rhs_a,
            rhs_w,
            scale,
        })
    }

    /// Enclosures of a(t), e = η_w I1/g and 1/g (all O(1) even when e^{λ₊t} overflows f64).
    fn core(&self, t: &Ball) -> Result<(Ball, Ball, Ball), ExactError> {
        let scaled = matches!((&self.rp, &self.qp), (Term::OverLambda(_), Term::OverLambda(_)))
            && self.lp.mid().to_f64() * t.mid().to_f64() > SCALE_ABOVE;
        let term = |tm: &Term, m: &Ball, lam: &Ball| -> Ball {
            match tm {
                Term::OverLambda(c) => c.mul(m),
                Term::Series(c) => c.mul(t).mul(&self.ex.expm1_over_x(&lam.mul(t))),
            }
        };
        let (one, two, two_lm) = (&self.one, &self.two, &self.two_lm);
        // m(m + 2), one allocation.
        let sq = |m: &Ball| {
            let mut s = m.add(two);
            s.mul_assign(m);
            s
        };
        if !scaled {
            let mp_ = self.ex.expm1(&self.lp.mul(t));
            // Two transcendental calls per point. Series cross term (|δ| < K/4): φ₁(δt) and m₊,
            // then m_δ = δt·φ₁(δt) and m₋ = (m_δ − m₊)/(1 + m₊) (since e^{λ₋t} = e^{δt}/e^{λ₊t};
            // |λ₋| ≥ 3|λ₊|/5 here, so the difference loses < 2 bits). Otherwise m₋ directly and
            // m_δ = m₊ + m₋ + m₊m₋.
            let (mm, md, phi_d) = if let Term::Series(_) = &self.q0 {
                let z = self.delta.mul(t);
                let phi_d = self.ex.expm1_over_x(&z);
                let mut md = z;
                md.mul_assign(&phi_d);
                let mm = md.sub(&mp_).div(&one.add(&mp_)).map_err(rig)?;
                (mm, md, Some(phi_d))
            } else {
                let mm = self.ex.expm1(&self.lm.mul(t));
                let md = mp_.add(&mm).add(&mp_.mul(&mm));
                (mm, md, None)
            };
            let mut a_big = self.cp.mul_add_mul(&mp_, &self.cm, &mm);
            a_big.add_assign(&self.a0);
            // c₁m₁ + c₂m₂ in one fused operation when both coefficients are hoisted.
            let pair = |t1: &Term, m1: &Ball, l1: &Ball, t2: &Term, m2: &Ball, l2: &Ball| match (t1, t2) {
                (Term::OverLambda(c1), Term::OverLambda(c2)) => c1.mul_add_mul(m1, c2, m2),
                _ => term(t1, m1, l1).add(&term(t2, m2, l2)),
            };
            let mut ewi1 = pair(&self.rp, &mp_, &self.lp, &self.rm, &mm, &self.lm);
            let mut g2 = pair(&self.qp, &sq(&mp_), &self.two_lp, &self.qm, &sq(&mm), two_lm);
            g2.add_assign(one);
            g2.add_assign(&match (&self.q0, phi_d) {
                (Term::Series(c), Some(phi_d)) => {
                    let mut q = c.mul(t);
                    q.mul_assign(&phi_d);
                    q
                }
                (q0, _) => term(q0, &md, &self.delta),
            });
            let ginv = g2.rsqrt().map_err(rig)?;
            a_big.mul_assign(&ginv);
            ewi1.mul_assign(&ginv);
            return Ok((a_big, ewi1, ginv));
        }
        let mm = self.ex.expm1(&self.lm.mul(t));
        // Scaled by S = e^{−λ₊t}: m₊S = 1 − S, m₊(2+m₊)S² = 1 − S², m_δS² = (1+m₋)S − S².
        let (Term::OverLambda(rp), Term::OverLambda(qp)) = (&self.rp, &self.qp) else {
            unreachable!("checked above")
        };
        let sc = self.ex.exp(&self.lp.mul(t).neg());
        let sc2 = sc.sqr();
        let one_m_s = one.sub(&sc);
        let a_s = self
            .a0
            .mul(&sc)
            .add(&self.cp.mul(&one_m_s))
            .add(&self.cm.mul(&mm).mul(&sc));
        let ewi1_s = rp.mul(&one_m_s).add(&term(&self.rm, &mm, &self.lm).mul(&sc));
        let mut g2_s = sc2.clone();
        g2_s = g2_s.add(&qp.mul(&one.sub(&sc2)));
        g2_s = g2_s.add(&term(&self.qm, &sq(&mm), two_lm).mul(&sc2));
        let q0_term = match &self.q0 {
            Term::OverLambda(c) => c.mul(&one.add(&mm).mul(&sc).sub(&sc2)),
            Term::Series(c) => c.mul(t).mul(&self.ex.expm1_over_x(&self.delta.mul(t))).mul(&sc2),
        };
        g2_s = g2_s.add(&q0_term);
        let ginv_s = g2_s.rsqrt().map_err(rig)?;
        Ok((a_s.mul(&ginv_s), ewi1_s.mul(&ginv_s), ginv_s.mul(&sc)))
    }

    /// (a(t), w(t)) only (the cheapest rigorous point).
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates (e.g. precision far too low for t).
    pub fn state(&self, t: &Ball) -> Result<(Ball, Vec<Ball>), ExactError> {
        let (a, e, ginv) = self.core(t)?;
        let mut tmp = Float::new(self.prec);
        let w = self
            .w0
            .iter()
            .zip(&self.bstar)
            .map(|(w0, b)| w0.mul_add_mul_tmp(&ginv, &e, b, &mut tmp))
            .collect();
        Ok((a, w))
    }

    /// Every quantity at time `t` (a decimal number ≥ 0, enclosed exactly).
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn point(&self, t: &Num) -> Result<PointBall, ExactError> {
        let t = Ball::from_num(t, self.prec).map_err(rig)?;
        self.point_at(&t)
    }

    /// Every quantity at a time given as a ball.
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn point_at(&self, t: &Ball) -> Result<PointBall, ExactError> {
        let (a, e, ginv) = self.core(t)?;
        let mut tmp = Float::new(self.prec);
        let w: Vec<Ball> = self
            .w0
            .iter()
            .zip(&self.bstar)
            .map(|(w0, b)| w0.mul_add_mul_tmp(&ginv, &e, b, &mut tmp))
            .collect();
        let beta: Vec<Ball> = w.iter().map(|wi| a.mul(wi)).collect();
        // ‖w‖² = ‖w0 + η_w I1 β*‖²/g² = ‖w0‖²/g² + 2e p0/g + e² s², e = η_w I1/g
        let wn2 = self
            .w0n2
            .mul(&ginv.sqr())
            .add(&e.mul(&self.p0).mul(&ginv).mul_pow2(1))
            .add(&e.sqr().mul(&self.s2));
        let wn = wn2.sqrt().map_err(rig)?;
        let mu = a.mul(&wn);
        // φ = (p0 + η_w s² I1)/(s‖w0 + η_w I1 β*‖) = (p0/g + e s²)/(s‖w‖)
        let phi = self
            .p0
            .mul(&ginv)
            .add(&e.mul(&self.s2))
            .div(&self.s.mul(&wn))
            .map_err(rig)?;
        let mut l2 = Ball::from_u32(self.prec, 0);
        for (bi, bs) in beta.iter().zip(&self.bstar) {
            l2 = l2.add(&bi.sub(bs).sqr());
        }
        let loss = self.half_resid0.add(&l2.mul_pow2(-1));
        // Kernel distance (`docs/theory.md` §1.5): x = η_w a², y = η_a‖w‖².
        let xt = self.eta_w.mul(&a.sqr());
        let yt = self.eta_a.mul(&wn.sqr());
        let nt = norm_m(&xt, &yt, self.d).map_err(rig)?;
        let alt = xt.div(&nt).map_err(rig)?;
        let dal = self.al0.sub(&alt);
        let dsum = self.tr0_over_n0.sub(&xt.add(&yt).div(&nt).map_err(rig)?);
        let eg = e;
        let wedge = self
            .eta_a
            .sqr()
            .mul(&eg.sqr())
            .mul(&self.wedge0)
            .div(&self.n0.mul(&nt))
            .map_err(rig)?;
        let dd = dal
            .sqr()
            .mul_u32(self.d as u32 - 1)
            .add(&dsum.sqr())
            .add(&wedge.mul_pow2(1));
        let kernel_distance = dd.mul_pow2(-1);
        Ok(PointBall {
            t: t.clone(),
            a,
            w,
            beta,
            mu,
            phi,
            kernel_distance,
            loss,
        })
    }
}

/// ‖M‖_F = √(d x² + 2xy + y²) for M = x I_d + (η_a w wᵀ), x = η_w a², y = η_a‖w‖².
fn norm_m(x: &Ball, y: &Ball, d: usize) -> Result<Ball, BallError> {
    x.sqr()
        .mul_u32(d as u32)
        .add(&x.mul(y).mul_pow2(1))
        .add(&y.sqr())
        .sqrt()
}

/// Enclose every quantity of `case` at each of its times.
///
/// # Errors
/// [`ExactError`] from [`ClosedFormBall::new`] or from a degenerate enclosure.
pub fn evaluate(case: &SingleNeuronCase, prec: u32) -> Result<Vec<PointBall>, ExactError> {
    crate::num::check_times(&case.times_f64())?;
    let cf = ClosedFormBall::new(case, prec)?;
    case.times.iter().map(|t| cf.point(t)).collect()
}
