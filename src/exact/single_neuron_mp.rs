//! Single-neuron closed form at arbitrary precision (MPFR via `rug`), by two routes: the MPFR
//! instantiation of [`super::single_neuron_generic`] (where every formula below is written once
//! for f64, MPFR and balls), with the inputs parsed at the working precision and two-precision
//! error bounds.
//!
//! Both assume whitened data (XᵀX = I, `docs/theory.md` §1.3) and take every input as decimal text,
//! parsed exactly at the working precision p. Every value comes with an error bound obtained by
//! repeating the evaluation at p + 64 bits ([`crate::num::mp::two_precision_bound`]): an
//! honest estimate, not a proof (issue 3 adds rigorous enclosures).
//!
//! **Linearised route** ([`Form::Linearised`], `docs/theory.md` §1.4): with g(t) = √(1 + 2η_w I2),
//! A = c₊e^{λ₊t} + c₋e^{λ₋t}, a = A/g, w = (w0 + η_w I1 β*)/g, where I1 = ∫A and I2 = ∫A²
//! are sums of (e^{λt} − 1)/λ terms written through `expm1`. No singular points.
//!
//! **Paper's route** ([`Form::Hyperbolic`], P1 §3 / App. A.2 as reconstructed in `docs/theory.md`
//! §1.2–§1.4): the Riccati variable ν = wᵀβ*/a,
//! ν(t) = (−δ + K tanh(Kt/2 + c))/(2η_a), tanh c = z = (δ + 2η_aν0)/K, evaluated as
//! tanh(x + c) = (sinh x + z cosh x)/(cosh x + z sinh x), which is also the value of the
//! complex-artanh branch the authors' notebook uses when |z| > 1; then the Bernoulli equation for
//! u = a⁻²: u̇ = −2(δ + η_aν)u + 2η_w, solved with the integrating factor
//! e^{h} = e^{δt/2}(cosh x + z sinh x); the component of w orthogonal to β* decays by the same
//! factor; and μ from the hyperbolic coordinates of (a, ‖w‖) (`docs/theory.md` §1.2):
//! μ = |δ| sinh(2θ)/(2√(η_aη_w)). Singular points are reported, not evaluated: a0 = 0 (ν0 is
//! infinite), a(t) = 0 (pole of ν), β* = 0 and K = 0.
//!
//! Quantities: a, w, β = a w, μ = a‖w‖, φ = wᵀβ*/(‖w‖‖β*‖), the kernel distance S(0,t)
//! (`docs/theory.md` §1.5, with a_t — not the seed notebook's a0) and the loss
//! L = ½(‖β − β*‖² + ‖y − Xβ*‖²) (exact for whitened X, no cancellation near convergence).

use super::ExactError;
use super::single_neuron_generic::{self as sng, GenericClosedForm, HyperbolicError, Inputs};
use crate::case::SingleNeuronCase;
use crate::models::{ModelError, check_rate};
use crate::num::mp::{self, two_precision_bound_mp};
use crate::num::real;
use crate::num::tol::{self, Bound};
use rug::Float;

/// Which closed-form route to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The singularity-free linearised form (default).
    Linearised,
    /// The paper's route: Riccati ν, Bernoulli a, hyperbolic coordinates.
    Hyperbolic,
}

impl Form {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Linearised => "linearised",
            Form::Hyperbolic => "hyperbolic",
        }
    }
}

/// One time point at working precision.
pub type PointMp = sng::Point<Float>;

pub use crate::models::single_neuron::{Observable, QUANTITIES};

/// A point with one error bound per scalar value.
#[derive(Debug, Clone)]
pub struct BoundedPoint {
    /// Values at the working precision.
    pub point: PointMp,
    /// Two-precision bounds as 64-bit MPFR numbers (they can be far below f64's range), in the
    /// order of [`QUANTITIES`] and of the components of each.
    pub bounds: Vec<(Observable, Vec<Float>)>,
}

impl BoundedPoint {
    /// Largest bound over all values.
    pub fn max_bound_mp(&self) -> Float {
        let mut m = Float::new(64);
        for b in self.bounds.iter().flat_map(|(_, b)| b.iter()) {
            if *b > m {
                m = b.clone();
            }
        }
        m
    }
    /// Largest absolute bound over all values, as an f64 rounded up.
    pub fn max_bound(&self) -> f64 {
        self.max_bound_mp().to_f64_round(rug::float::Round::Up)
    }
    /// Bounds of one quantity as MPFR numbers.
    pub fn bounds_mp_of(&self, q: Observable) -> &[Float] {
        self.bounds
            .iter()
            .find(|(n, _)| *n == q)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }
    /// Bounds of one quantity as f64 (rounded up).
    pub fn bounds_of(&self, q: Observable) -> Vec<Bound> {
        self.bounds_mp_of(q)
            .iter()
            .map(|b| Bound {
                abs: b.to_f64_round(rug::float::Round::Up),
                method: crate::num::tol::BoundMethod::TwoPrecision,
            })
            .collect()
    }
}

/// Inputs and t-independent constants at one precision.
#[derive(Debug, Clone)]
pub struct ClosedFormMp {
    prec: u32,
    g: GenericClosedForm<Float>,
    /// max|XᵀX − I| at this precision.
    whitening_defect: Float,
}

impl ClosedFormMp {
    /// Parse `case` at `prec` bits and compute the t-independent constants.
    ///
    /// # Errors
    /// [`ExactError`] for a precision below 53 bits, invalid shapes or rates, or data that is not
    /// whitened (checked in f64 against [`tol::WHITENING_TOL`]).
    pub fn new(case: &SingleNeuronCase, prec: u32) -> Result<Self, ExactError> {
        mp::check_prec(prec)?;
        let model = crate::models::single_neuron::SingleNeuron::new(
            &case.x_f64(),
            &case.y_f64(),
            case.eta_a.to_f64(),
            case.eta_w.to_f64(),
        )?;
        model.theta(case.a0.to_f64(), &case.w0_f64())?;
        let defect = model.whitening_defect();
        if defect > tol::WHITENING_TOL {
            return Err(ExactError::NotWhitened {
                defect,
                tol: tol::WHITENING_TOL,
            });
        }
        check_rate("eta_a", case.eta_a.to_f64())?;
        let p = prec;
        let f = |v: f64| Float::with_val(p, v);
        let x: Vec<Vec<Float>> = case.x.iter().map(|r| r.iter().map(|v| v.to_mp(p)).collect()).collect();
        let y: Vec<Float> = case.y.iter().map(|v| v.to_mp(p)).collect();
        let eta_a = case.eta_a.to_mp(p);
        let eta_w = case.eta_w.to_mp(p);
        if eta_a <= 0 || eta_w <= 0 {
            return Err(ExactError::Model(ModelError::NonPositiveRate {
                name: if eta_a <= 0 { "eta_a" } else { "eta_w" },
                value: 0.0,
            }));
        }
        let a0 = case.a0.to_mp(p);
        let w0: Vec<Float> = case.w0.iter().map(|v| v.to_mp(p)).collect();
        let (bstar, resid0, gram_minus_i) = sng::data_terms(&x, &y);
        let whitening_defect = gram_minus_i
            .iter()
            .map(|v| Float::with_val(p, v.abs_ref()))
            .fold(f(0.0), |m, v| if v > m { v } else { m });
        let g = GenericClosedForm::new(Inputs {
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            resid0,
        })
        .map_err(ExactError::from_real)?;
        Ok(ClosedFormMp {
            prec: p,
            g,
            whitening_defect,
        })
    }

    /// Working precision in bits.
    pub fn prec(&self) -> u32 {
        self.prec
    }
    /// δ at working precision.
    pub fn delta(&self) -> &Float {
        &self.g.delta
    }
    /// max|XᵀX − I| at working precision (the closed form is exact for the data only when 0).
    pub fn whitening_defect(&self) -> &Float {
        &self.whitening_defect
    }

    /// Evaluate the chosen route at time `t`.
    ///
    /// # Errors
    /// [`ExactError::Singular`] for the hyperbolic route at its singular points. A value that
    /// overflows or loses all precision is returned as NaN, not as an error.
    pub fn point(&self, t: &Float, form: Form) -> Result<PointMp, ExactError> {
        let nan = || Float::with_val(self.prec, f64::NAN);
        let o = match self.triple(t, form) {
            Ok((a, e, ginv)) => self.g.observables(a, &e, &ginv, form == Form::Hyperbolic),
            Err(ExactError::NonFinite(e)) => Err(e),
            Err(other) => return Err(other),
        };
        // A value that overflowed or lost all precision is NaN (the caller names it), as MPFR
        // itself would give.
        let Ok(o) = o else {
            let nans = vec![nan(); self.g.d];
            return Ok(PointMp {
                t: t.clone(),
                a: nan(),
                w: nans.clone(),
                beta: nans,
                mu: nan(),
                phi: nan(),
                kernel_distance: nan(),
                loss: nan(),
            });
        };
        Ok(PointMp {
            t: t.clone(),
            a: o.a,
            w: o.w,
            beta: o.beta,
            mu: o.mu,
            phi: o.phi.unwrap_or_else(|_| nan()),
            kernel_distance: o.kernel_distance.unwrap_or_else(|_| nan()),
            loss: o.loss,
        })
    }

    /// (a(t), w(t)) by the linearised route, without the derived observables (NaN where the
    /// evaluation fails).
    pub fn state(&self, t: &Float) -> (Float, Vec<Float>) {
        self.g.state(t).unwrap_or_else(|_| {
            let nan = Float::with_val(self.prec, f64::NAN);
            (nan.clone(), vec![nan; self.g.d])
        })
    }

    /// (a, η_w I1/g, 1/g) of the chosen route.
    fn triple(&self, t: &Float, form: Form) -> Result<(Float, Float, Float), ExactError> {
        match form {
            Form::Linearised => self.g.core(t).map_err(ExactError::from_real),
            Form::Hyperbolic => self.g.hyperbolic(t).map_err(|e| match e {
                HyperbolicError::Singular(why) => ExactError::Singular {
                    form: "hyperbolic",
                    why,
                },
                HyperbolicError::Real(e) => ExactError::from_real(e),
            }),
        }
    }
}

/// S(0,t) = ½‖M̂0 − M̂t‖²_F for whitened X (`docs/theory.md` §1.5) between (a0, w0) and any
/// (at, wt), at precision `p`: [`sng::kernel_distance_parts`] in MPFR with the wedge term
/// ‖w0 ∧ wt‖² formed directly; NaN when M0 or Mt is 0.
pub fn kernel_distance_mp(
    eta_a: &Float,
    eta_w: &Float,
    a0: &Float,
    w0: &[Float],
    at: &Float,
    wt: &[Float],
    p: u32,
) -> Float {
    let r = |x: &Float| Float::with_val(p, x);
    let (eta_a, eta_w, a0, at) = (r(eta_a), r(eta_w), r(a0), r(at));
    let d = w0.len();
    sng::kernel_distance_at_0(&eta_a, &eta_w, d, &a0, &real::dot(w0, w0))
        .and_then(|k0| {
            sng::kernel_distance_parts(&eta_a, &eta_w, d, &k0, &at, &real::dot(wt, wt), &sng::wedge2(w0, wt))
        })
        .unwrap_or_else(|_| Float::with_val(p, f64::NAN))
}

/// Evaluate `case` at its times with the chosen route at `prec` bits, each value with a
/// two-precision error bound (the same evaluation at `prec + 64` bits).
///
/// # Errors
/// [`ExactError`] from setup or from a singular point of the hyperbolic route.
pub fn evaluate_with_bounds(case: &SingleNeuronCase, prec: u32, form: Form) -> Result<Vec<BoundedPoint>, ExactError> {
    let lo = ClosedFormMp::new(case, prec)?;
    let hi = ClosedFormMp::new(case, prec + tol::GUARD_BITS)?;
    case.times
        .iter()
        .map(|t| {
            let pl = lo.point(&t.to_mp(prec), form)?;
            let ph = hi.point(&t.to_mp(prec + tol::GUARD_BITS), form)?;
            let bounds = Observable::ALL
                .into_iter()
                .map(|q| {
                    let b = pl
                        .values(q)
                        .iter()
                        .zip(ph.values(q))
                        .map(|(l, h)| two_precision_bound_mp(l, h))
                        .collect();
                    (q, b)
                })
                .collect();
            Ok(BoundedPoint { point: pl, bounds })
        })
        .collect()
}

/// Residual of the ODE at time t, independent of how the closed form was derived: the time
/// derivative of the closed form by a 6th-order central difference
/// f' ≈ [−f(t−3h) + 9f(t−2h) − 45f(t−h) + 45f(t+h) − 9f(t+2h) + f(t+3h)]/(60h), compared with
/// the right-hand side ȧ = η_a(wᵀβ* − a‖w‖²), ẇ = η_w(aβ* − a²w) at the same point.
///
/// The result is max_i |FD_i − F_i| divided by the size of the terms that make up F
/// (η_a(|wᵀβ*| + |a|‖w‖²) and η_w(|a||β*_i| + a²|w_i|)), so that it stays meaningful at
/// convergence, where F itself → 0. With h = 2^(−p/7)/r, r the fastest rate max(|λ±|, 1),
/// truncation (∝ (rh)⁶) and rounding (∝ 2^−p/(rh)) are both ≈ 2^(−6p/7) (≈ 1e-66 at 256 bits).
///
/// # Errors
/// [`ExactError::Singular`] if the hyperbolic route hits a singular point near t.
pub fn ode_residual(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let p = cf.prec;
    let mut rate = Float::with_val(p, cf.g.lp.abs_ref());
    let lm = Float::with_val(p, cf.g.lm.abs_ref());
    if lm > rate {
        rate = lm;
    }
    if rate < 1 {
        rate = Float::with_val(p, 1);
    }
    let h = Float::with_val(p, Float::i_exp(1, -(p as i32) / 7)) / &rate;
    let weights: [(i32, i32); 6] = [(-3, -1), (-2, 9), (-1, -45), (1, 45), (2, -9), (3, 1)];
    let (a, w) = point_aw(cf, t, form)?;
    let d = w.len();
    let mut fd = vec![Float::with_val(p, 0); d + 1];
    for (k, c) in weights {
        let tk = Float::with_val(p, t + Float::with_val(p, &h * k));
        let (ak, wk) = point_aw(cf, &tk, form)?;
        fd[0] += Float::with_val(p, &ak * c);
        for i in 0..d {
            fd[i + 1] += Float::with_val(p, &wk[i] * c);
        }
    }
    let sixty_h = Float::with_val(p, &h * 60u32);
    let rhs = cf.g.flow_rhs(&a, &w);
    let mut num = Float::with_val(p, Float::with_val(p, &fd[0] / &sixty_h) - &rhs.a).abs();
    for (fdi, ri) in fd[1..].iter().zip(&rhs.w) {
        let e = Float::with_val(p, Float::with_val(p, fdi / &sixty_h) - ri).abs();
        if e > num {
            num = e;
        }
    }
    Ok(if rhs.scale.is_zero() { num } else { num / rhs.scale })
}

fn point_aw(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<(Float, Vec<Float>), ExactError> {
    let (a, e, ginv) = cf.triple(t, form)?;
    Ok((a, cf.g.w_of(&e, &ginv)))
}

/// δ(t) = η_w a(t)² − η_a‖w(t)‖² of the closed form's route at t, at working precision.
///
/// # Errors
/// From the route ([`ClosedFormMp::point`]).
pub fn delta_at(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let (a, w) = point_aw(cf, t, form)?;
    Ok(cf.g.delta_of(&a, &w))
}

/// η_w a0² + η_a‖w0‖², the scale of δ's terms, at working precision.
pub fn delta_scale(cf: &ClosedFormMp) -> Float {
    cf.g.delta_scale()
}

/// δ(t) − δ(0) of the closed form at t, relative to η_w a0² + η_a‖w0‖² (the scale of δ's terms).
///
/// # Errors
/// From the route ([`ClosedFormMp::point`]).
pub fn delta_drift(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let dt = delta_at(cf, t, form)?;
    Ok(Float::with_val(cf.prec, dt - &cf.g.delta).abs() / delta_scale(cf))
}

/// Decimal text of x with the digits its bound supports.
pub fn decimal(x: &Float, b: &Bound) -> String {
    mp::to_decimal(x, b.abs)
}
