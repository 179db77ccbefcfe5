//! Rigorous single-neuron closed form: every value is a ball ([`crate::num::ball::Ball`]) that
//! provably contains the exact value for the decimal inputs. This is the ball instantiation of
//! [`super::single_neuron_generic`], where the equations (the linearised closed form of
//! `docs/theory.md` §1.4, its time derivative, μ, φ, the kernel distance S(0,t) of §1.5 and the
//! loss) are written once for f64, MPFR and balls; here the inputs are enclosed exactly
//! ([`Ball::from_num`]), the exponentials use the tables of [`crate::num::ball_exp::ExpTable`]
//! (the ball's [`crate::num::real::Real::ExpCtx`]), and a term whose λ is a ball containing 0 is
//! evaluated through φ₁(λt), which has no singularity ([`crate::num::real::Real::zero_test`]).
//!
//! **Assumptions, checked:** XᵀX = I *exactly* for the decimal inputs (proved by evaluating
//! XᵀX − I in balls and finding exact zeros: entries such as ±1, ±½, ±¼ — identity and scaled
//! Hadamard data — qualify; data that is only whitened to 1e-16 does not, because then the
//! closed form is not the exact flow and no enclosure of the flow can be claimed), K > 0, and a
//! non-zero β*.

use super::ExactError;
use super::single_neuron_generic::{self as sng, CoreWork, GenericClosedForm, Inputs};
use crate::case::SingleNeuronCase;
use crate::models::ModelError;
use crate::models::single_neuron::Observable;
use crate::num::ball::{Ball, BallError};
use crate::num::decimal::Num;
use crate::num::mp;
use crate::num::real::RealError;
use std::cell::RefCell;

thread_local! {
    /// The closed form's scratch values ([`CoreWork`]), one set per working precision, reused by
    /// every [`ClosedFormBall`] of this thread: a point allocates only its results.
    static WORK: RefCell<Vec<(u32, CoreWork<Ball>)>> = const { RefCell::new(Vec::new()) };
}

/// One time point: every quantity as a ball.
pub type PointBall = sng::Point<Ball>;

impl sng::Point<Ball> {
    /// Largest relative radius over all quantities (∞ if a value's ball contains 0 with r > 0).
    pub fn max_rel_rad(&self) -> f64 {
        Observable::ALL
            .into_iter()
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

/// The closed form with every t-independent constant enclosed at one precision.
#[derive(Debug, Clone)]
pub struct ClosedFormBall {
    prec: u32,
    g: GenericClosedForm<Ball>,
}

fn rig(e: BallError) -> ExactError {
    ExactError::Rigorous(e)
}

fn real(e: RealError) -> ExactError {
    ExactError::from_real(e)
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
        let (bstar, resid0, _) = sng::data_terms(&x, &y);
        // Whitening, decided exactly on the decimals (rational arithmetic): the balls above then
        // enclose the data of an exactly whitened problem.
        // (The entries parsed as balls above, so they are finite decimals and this cannot fail.)
        let defect = crate::models::single_neuron::exact_whitening_defect(&case.x)
            .expect("invariant: every entry of x parsed as a finite decimal above");
        if defect != 0 {
            let (f, _) = rug::Float::with_val_round(53, &defect, rug::float::Round::Up);
            return Err(ExactError::NotExactlyWhitened {
                defect: f.to_f64_round(rug::float::Round::Up),
            });
        }
        let a0 = b(&case.a0)?;
        let w0: Vec<Ball> = case.w0.iter().map(b).collect::<Result<_, _>>()?;
        let g = GenericClosedForm::new(Inputs {
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            resid0,
        })
        .map_err(real)?;
        // Rigour needs K > 0, β* ≠ 0 and M0 ≠ 0 proved (the formulas divide by them).
        let one = Ball::from_u32(p, 1);
        one.div(&g.k).map_err(rig)?;
        for (name, v) in [("K", &g.k), ("c₊", &g.cp), ("c₋", &g.cm)] {
            if !v.is_finite() {
                return Err(rig(BallError::Domain {
                    op: name,
                    mid: v.mid().to_f64(),
                    rad: v.rad(),
                    why: "is not finite",
                }));
            }
        }
        g.s2.sqrt().map_err(rig)?;
        g.kernel_distance_at_0().clone().map_err(real)?;
        Ok(ClosedFormBall { prec: p, g })
    }

    /// Working precision in bits.
    pub fn prec(&self) -> u32 {
        self.prec
    }
    /// δ = η_w a0² − η_a‖w0‖² enclosed.
    pub fn delta(&self) -> &Ball {
        &self.g.delta
    }

    /// c₊ = (η_a p0 + a0λ₊)/K enclosed: its sign is the sign of a(t) as t → ∞ (`docs/theory.md` §1.3).
    pub fn c_plus(&self) -> &Ball {
        &self.g.cp
    }

    /// δ(t) = η_w a(t)² − η_a‖w(t)‖² of the closed form at time `t`, enclosed. The exact flow
    /// conserves δ, so this ball must contain [`ClosedFormBall::delta`] (δ from the inputs).
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn delta_at(&self, t: &Ball) -> Result<Ball, ExactError> {
        let (a, w) = self.state(t)?;
        Ok(self.g.delta_of(&a, &w))
    }

    /// The closed form and its exact time derivative at `t`, enclosed: (a, w, ȧ, ẇ) and the
    /// right-hand side of the gradient flow at (a, w), (η_a(wᵀβ* − a‖w‖²), η_w(aβ* − a²w))
    /// ([`GenericClosedForm::with_derivative`], where the derivative is written out). The
    /// difference of the two is the ODE residual of the closed form; its balls contain 0 when
    /// the closed form solves the flow.
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates.
    pub fn with_derivative(&self, t: &Ball) -> Result<DerivativeBall, ExactError> {
        let d = self.g.with_derivative(t).map_err(real)?;
        Ok(DerivativeBall {
            a: d.a,
            w: d.w,
            adot: d.adot,
            wdot: d.wdot,
            rhs_a: d.rhs.a,
            rhs_w: d.rhs.w,
            scale: d.rhs.scale.mid().to_f64(),
        })
    }

    /// (a(t), w(t)) only (the cheapest rigorous point).
    ///
    /// # Errors
    /// [`ExactError::Rigorous`] if an enclosure degenerates (e.g. precision far too low for t).
    pub fn state(&self, t: &Ball) -> Result<(Ball, Vec<Ball>), ExactError> {
        self.with_work(|wk| self.g.state_with(t, wk)).map_err(real)
    }

    /// Run `f` with this thread's scratch values at this closed form's precision.
    fn with_work<R>(&self, f: impl FnOnce(&mut CoreWork<Ball>) -> R) -> R {
        WORK.with(|cell| {
            let mut v = cell.borrow_mut();
            let pos = match v.iter().position(|(p, _)| *p == self.prec) {
                Some(p) => p,
                None => {
                    v.push((self.prec, CoreWork::new(&self.g.a0)));
                    v.len() - 1
                }
            };
            f(&mut v[pos].1)
        })
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
        let o = self
            .with_work(|wk| {
                self.g.core_with(t, wk)?;
                self.g.observables(wk.a.clone(), &wk.e, &wk.ginv, false)
            })
            .map_err(real)?;
        Ok(PointBall {
            t: t.clone(),
            a: o.a,
            w: o.w,
            beta: o.beta,
            mu: o.mu,
            phi: o.phi.map_err(real)?,
            kernel_distance: o.kernel_distance.map_err(real)?,
            loss: o.loss,
        })
    }
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
