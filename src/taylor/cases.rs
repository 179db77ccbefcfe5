//! Jet fields of the catalog's models built from a case file's decimal inputs in any Taylor
//! scalar — f64, MPFR, [`Ball`] (each decimal enclosed exactly, [`Ball::from_num`]) or
//! [`Dual`] balls — through one generic builder per model, and [`enclose_case`], the validated
//! integration of a case ([`super::validated`]).
//!
//! Derived data are accumulated in the target scalar from the converted inputs: G = XᵀX and
//! b = Xᵀy (single neuron), Σ̃_xx = XXᵀ/P and Σ̃_yx = YXᵀ/P (λ-balanced); the linear networks'
//! XᵀX and XᵀY are formed by [`LinearJet::new`] itself. In balls these are enclosures of the
//! exact values for the decimal inputs as written, so nothing is assumed about whitening.

use super::enclose::{Diff, Dual, Enclosure};
use super::lambda_balanced::LambdaBalancedJet;
use super::linear::LinearJet;
use super::piecewise_linear::PiecewiseJet;
use super::single_neuron::SingleNeuronJet;
use super::validated::{Stopped, ValidatedError, ValidatedOptions, ValidatedStats, ValidatedTrajectory, enclose};
use super::{JetField, TaylorScalar};
use crate::case::{
    Case, DeepLinearCase, LambdaBalancedCase, PiecewiseLinearCase, SingleNeuronCase, TwoLayerLinearCase,
};
use crate::num::ball::Ball;
use crate::num::ball_f64::BallF64;
use crate::num::decimal::Num;

/// A decimal as a ball at `prec` bits; an unparsable text or a precision out of range (both
/// excluded by the callers' validation) gives the whole line, never a wrong finite ball.
pub fn ball_of(v: &Num, prec: u32) -> Ball {
    Ball::from_num(v, prec).unwrap_or_else(|_| Ball::with_rad(rug::Float::new(prec.max(53)), f64::INFINITY))
}

/// How a builder turns a case's decimals into scalars: each decimal ([`CaseScalars::num`]), and
/// the data sums Σ_r a_r b_r / k and reciprocals the fields are written with. Any closure
/// `Fn(&Num) -> S` is one (the sums then accumulate in `S`); [`Accurate`] forms the sums in MPFR
/// balls at a higher precision and encloses only the result in `S`, so that the data's decimal
/// rounding enters once, not once per product — for hardware balls this makes XᵀX's
/// off-diagonal entries of an almost orthogonal X exact to their own size instead of to 1e-16.
pub trait CaseScalars<S: TaylorScalar> {
    /// A decimal as a scalar.
    fn num(&self, v: &Num) -> S;
    /// Σ_r a_r b_r / k.
    fn sum_products(&self, a: &[&Num], b: &[&Num], k: u32) -> S {
        let mut s = self.num(a[0]).zero_like();
        let mut tmp = s.clone();
        for (x, y) in a.iter().zip(b) {
            s.mul_add_assign_tmp(&self.num(x), &self.num(y), &mut tmp);
        }
        if k != 1 {
            s.div_u32_assign(k);
        }
        s
    }
    /// 1/v.
    fn recip(&self, v: &Num) -> S {
        let x = self.num(v);
        let mut r = x.like_f64(1.0);
        r.div_assign_ref(&x);
        r
    }
}

impl<S: TaylorScalar, F: Fn(&Num) -> S> CaseScalars<S> for F {
    fn num(&self, v: &Num) -> S {
        self(v)
    }
}

/// Data sums in [`Ball`]s at `prec` bits, enclosed in `S` by `from_ball` (see [`CaseScalars`]).
pub struct Accurate<F> {
    /// Precision of the sums.
    pub prec: u32,
    /// The enclosure of a ball in the target scalar.
    pub from_ball: F,
}

impl<S: TaylorScalar, F: Fn(&Ball) -> S> CaseScalars<S> for Accurate<F> {
    fn num(&self, v: &Num) -> S {
        (self.from_ball)(&ball_of(v, self.prec))
    }
    fn sum_products(&self, a: &[&Num], b: &[&Num], k: u32) -> S {
        let mut s = Ball::from_u32(self.prec, 0);
        let mut tmp = s.clone();
        for (x, y) in a.iter().zip(b) {
            s.add_mul_tmp(&ball_of(x, self.prec), &ball_of(y, self.prec), &mut tmp);
        }
        if k != 1 {
            s.div_u32_assign(k);
        }
        (self.from_ball)(&s)
    }
    fn recip(&self, v: &Num) -> S {
        let x = ball_of(v, self.prec);
        (self.from_ball)(
            &x.recip()
                .unwrap_or_else(|_| Ball::with_rad(rug::Float::new(self.prec), f64::INFINITY)),
        )
    }
}

/// The single-neuron field and θ0 = (a0, w0) of a case, in the scalar `conv` produces.
pub fn single_neuron<S: TaylorScalar>(
    c: &SingleNeuronCase,
    conv: &impl CaseScalars<S>,
) -> (SingleNeuronJet<S>, Vec<S>) {
    let d = c.w0.len();
    let col = |j: usize| -> Vec<&Num> { c.x.iter().map(|r| &r[j]).collect() };
    let cols: Vec<Vec<&Num>> = (0..d).map(col).collect();
    let y: Vec<&Num> = c.y.iter().collect();
    let gram = (0..d * d)
        .map(|k| conv.sum_products(&cols[k / d], &cols[k % d], 1))
        .collect();
    let xty = (0..d).map(|j| conv.sum_products(&cols[j], &y, 1)).collect();
    let theta0 = std::iter::once(&c.a0).chain(&c.w0).map(|v| conv.num(v)).collect();
    (
        SingleNeuronJet::new(gram, xty, conv.num(&c.eta_a), conv.num(&c.eta_w)),
        theta0,
    )
}

fn rows<S: TaylorScalar>(m: &[Vec<Num>], conv: &impl CaseScalars<S>) -> Vec<S> {
    m.iter().flatten().map(|v| conv.num(v)).collect()
}

/// The linear-network field and θ0 (layers in order, A last) of a deep case.
pub fn deep_linear<S: TaylorScalar>(c: &DeepLinearCase, conv: &impl CaseScalars<S>) -> (LinearJet<S>, Vec<S>) {
    let layers: Vec<&[Vec<Num>]> = c.weights0.iter().map(Vec::as_slice).collect();
    let etas: Vec<&Num> = c.etas.iter().collect();
    linear_parts(&c.x, &c.y, &layers, &etas, conv)
}

/// The linear-network field and θ0 = (W0, A0) of a two-layer case (rates η_w, η_a).
pub fn two_layer_linear<S: TaylorScalar>(c: &TwoLayerLinearCase, conv: &impl CaseScalars<S>) -> (LinearJet<S>, Vec<S>) {
    linear_parts(&c.x, &c.y, &[&c.w0, &c.a0], &[&c.eta_w, &c.eta_a], conv)
}

fn linear_parts<S: TaylorScalar>(
    x: &[Vec<Num>],
    y: &[Vec<Num>],
    layers: &[&[Vec<Num>]],
    etas: &[&Num],
    conv: &impl CaseScalars<S>,
) -> (LinearJet<S>, Vec<S>) {
    let d = x.first().map_or(0, Vec::len);
    let mut dims = vec![d];
    for l in &layers[..layers.len() - 1] {
        dims.push(l.len());
    }
    dims.push(y.first().map_or(0, Vec::len));
    let theta0 = layers.iter().flat_map(|l| rows(l, conv)).collect();
    let etas = etas.iter().map(|e| conv.num(e)).collect();
    (
        LinearJet::new(dims, etas, x.len(), rows(x, conv), rows(y, conv)),
        theta0,
    )
}

/// The λ-balanced (two-layer, τẆ = −∇L) field and θ0 = (W1, W2) of a case.
pub fn lambda_balanced<S: TaylorScalar>(
    c: &LambdaBalancedCase,
    conv: &impl CaseScalars<S>,
) -> (LambdaBalancedJet<S>, Vec<S>) {
    let (d_i, d_o, h) = (c.x.len(), c.y.len(), c.w1_0.len());
    let p = u32::try_from(c.x.first().map_or(0, Vec::len)).unwrap_or(u32::MAX);
    let xr: Vec<Vec<&Num>> = c.x.iter().map(|r| r.iter().collect()).collect();
    let yr: Vec<Vec<&Num>> = c.y.iter().map(|r| r.iter().collect()).collect();
    let sxx = (0..d_i * d_i)
        .map(|k| conv.sum_products(&xr[k / d_i], &xr[k % d_i], p))
        .collect();
    let syx = (0..d_o * d_i)
        .map(|k| conv.sum_products(&yr[k / d_i], &xr[k % d_i], p))
        .collect();
    let theta0 = rows(&c.w1_0, conv).into_iter().chain(rows(&c.w2_0, conv)).collect();
    (
        LambdaBalancedJet::new((d_i, h, d_o), syx, sxx, conv.recip(&c.tau)),
        theta0,
    )
}

/// The loss factor c of L = c·Σ(f − y)² for the case's `"loss"` normalisation and n samples.
pub fn piecewise_loss_factor<S: TaylorScalar>(c: &PiecewiseLinearCase, conv: &impl CaseScalars<S>) -> S {
    let n = u32::try_from(c.x.len()).unwrap_or(u32::MAX);
    // ½ is exact in every scalar.
    let mut f = conv.num(&c.eta_a).like_f64(0.5);
    match c.loss.as_str() {
        "half-mean" => f.div_u32_assign(n),
        "mean" => {
            f.mul_pow2_assign(1);
            f.div_u32_assign(n);
        }
        _ => {}
    }
    f
}

/// The two-layer piecewise-linear field with the activation pattern `active` (h×n, true =
/// slope 1) fixed, and θ0 = (W0, a0).
pub fn piecewise_linear<S: TaylorScalar>(
    c: &PiecewiseLinearCase,
    conv: &impl CaseScalars<S>,
    active: Vec<bool>,
) -> (PiecewiseJet<S>, Vec<S>) {
    let lc = piecewise_loss_factor(c, conv);
    let jet = PiecewiseJet::new(c, &|v: &Num| conv.num(v), active, lc);
    let theta0 = c.w0.iter().flatten().chain(&c.a0).map(|v| conv.num(v)).collect();
    (jet, theta0)
}

/// The activation pattern of θ0 (true = w_kᵀx_i > 0), proven in balls at 128 bits, or the first
/// pre-activation whose sign the inputs do not decide.
pub fn initial_pattern(c: &PiecewiseLinearCase) -> Result<Vec<bool>, String> {
    let b = |v: &Num| ball_of(v, 128);
    let cells = c.a0.len() * c.x.len();
    let (jet, theta0) = piecewise_linear(c, &b, vec![false; cells]);
    jet.decide_region(&theta0)
}

/// Validated enclosures of a case's state θ(t) at its times, at `opts.prec` bits: every decimal
/// input (data, rates, initial weights, times) enclosed exactly. Returns the trajectory; the
/// state layout is the model's θ (single neuron: (a, w); linear nets: layers in file order,
/// row-major; λ-balanced: W1 then W2).
///
/// # Errors
/// [`ValidatedError::Options`] for a model without a polynomial flow here (piecewise-linear), or
/// any error of [`enclose`].
pub fn enclose_case(case: &Case, opts: &ValidatedOptions) -> Result<ValidatedTrajectory, ValidatedError> {
    let p = opts.prec;
    super::validated::check_prec(p)?;
    let dj = Accurate {
        prec: 128,
        from_ball: |v: &Ball| Dual::constant(BallF64::from_ball(v)),
    };
    let hw = Accurate {
        prec: 128,
        from_ball: |v: &Ball| BallF64::from_ball(v),
    };
    let df = Accurate {
        prec: 128,
        from_ball: |v: &Ball| Diff::constant(BallF64::from_ball(v)),
    };
    #[allow(clippy::type_complexity)]
    fn run<S: Enclosure, F: JetField<S>, H: JetField<BallF64>, G: JetField<Dual<BallF64>>, E: JetField<Diff>>(
        (mut f, x0): (F, Vec<S>),
        (mut hf, _): (H, Vec<BallF64>),
        (mut g, _): (G, Vec<Dual<BallF64>>),
        (mut e, _): (E, Vec<Diff>),
        times: &[Num],
        opts: &ValidatedOptions,
    ) -> Result<ValidatedTrajectory, ValidatedError> {
        let t: Vec<Ball> = times.iter().map(|v| ball_of(v, opts.prec)).collect();
        enclose(&mut f, &mut hf, &mut g, &mut e, &x0, &t, opts)
    }
    // 53 bits: hardware balls throughout; more: MPFR balls for the point part. `$extra` is
    // passed (cloned) to every builder (the piecewise fields' activation pattern).
    macro_rules! dispatch {
        ($c:expr, $build:path $(, $extra:expr)?) => {
            if p == 53 {
                run(
                    $build($c, &hw $(, $extra.clone())?),
                    $build($c, &hw $(, $extra.clone())?),
                    $build($c, &dj $(, $extra.clone())?),
                    $build($c, &df $(, $extra.clone())?),
                    &$c.times,
                    opts,
                )
            } else {
                let b = Accurate {
                    prec: p + 64,
                    from_ball: move |v: &Ball| v.with_prec(p),
                };
                run(
                    $build($c, &b $(, $extra.clone())?),
                    $build($c, &hw $(, $extra.clone())?),
                    $build($c, &dj $(, $extra.clone())?),
                    $build($c, &df $(, $extra.clone())?),
                    &$c.times,
                    opts,
                )
            }
        };
    }
    match case {
        Case::SingleNeuron(c) => dispatch!(c, single_neuron),
        Case::TwoLayerLinear(c) => dispatch!(c, two_layer_linear),
        Case::DeepLinear(c) => dispatch!(c, deep_linear),
        Case::LambdaBalanced(c) => dispatch!(c, lambda_balanced),
        Case::PiecewiseLinear(c) => match initial_pattern(c) {
            Err(why) => Ok(ValidatedTrajectory {
                states: Vec::new(),
                stats: ValidatedStats {
                    steps: 0,
                    halvings: 0,
                    order: opts.order(),
                    max_jac_order: 0,
                    min_step: 0.0,
                    max_step: 0.0,
                    switches: 0,
                },
                stopped: Some(Stopped { t: 0.0, h: 0.0, why }),
            }),
            Ok(active) => dispatch!(c, piecewise_linear, active),
        },
    }
}
