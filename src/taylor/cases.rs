//! Jet fields of the catalog's models built from a case file's decimal inputs in any Taylor
//! scalar — f64, MPFR, [`Ball`] (each decimal enclosed exactly, [`Ball::from_num`]) or
//! [`Dual`] balls — through one generic builder per model, and [`enclose_case`], the validated
//! integration of a case ([`super::validated`]).
//!
//! Derived data are accumulated in the target scalar from the converted inputs: G = XᵀX and
//! b = Xᵀy (single neuron), Σ̃_xx = XXᵀ/P and Σ̃_yx = YXᵀ/P (λ-balanced); the linear networks'
//! XᵀX and XᵀY are formed by [`LinearJet::new`] itself. In balls these are enclosures of the
//! exact values for the decimal inputs as written, so nothing is assumed about whitening.

use super::enclose::Dual;
use super::lambda_balanced::LambdaBalancedJet;
use super::linear::LinearJet;
use super::single_neuron::SingleNeuronJet;
use super::validated::{ValidatedError, ValidatedOptions, ValidatedTrajectory, enclose};
use super::{JetField, TaylorScalar};
use crate::case::{Case, DeepLinearCase, LambdaBalancedCase, SingleNeuronCase, TwoLayerLinearCase};
use crate::num::ball::Ball;
use crate::num::decimal::Num;

/// A decimal as a ball at `prec` bits; an unparsable text or a precision out of range (both
/// excluded by the callers' validation) gives the whole line, never a wrong finite ball.
pub fn ball_of(v: &Num, prec: u32) -> Ball {
    Ball::from_num(v, prec).unwrap_or_else(|_| Ball::with_rad(rug::Float::new(prec.max(53)), f64::INFINITY))
}

/// The single-neuron field and θ0 = (a0, w0) of a case, in the scalar `conv` produces.
pub fn single_neuron<S: TaylorScalar>(c: &SingleNeuronCase, conv: &dyn Fn(&Num) -> S) -> (SingleNeuronJet<S>, Vec<S>) {
    let x: Vec<Vec<S>> = c.x.iter().map(|r| r.iter().map(conv).collect()).collect();
    let y: Vec<S> = c.y.iter().map(conv).collect();
    let d = c.w0.len();
    let zero = conv(&c.eta_a).zero_like();
    let mut gram = vec![zero.clone(); d * d];
    let mut xty = vec![zero.clone(); d];
    let mut tmp = zero;
    for (row, yi) in x.iter().zip(&y) {
        for j in 0..d {
            xty[j].mul_add_assign_tmp(&row[j], yi, &mut tmp);
            for k in 0..d {
                gram[j * d + k].mul_add_assign_tmp(&row[j], &row[k], &mut tmp);
            }
        }
    }
    let theta0 = std::iter::once(&c.a0).chain(&c.w0).map(conv).collect();
    (SingleNeuronJet::new(gram, xty, conv(&c.eta_a), conv(&c.eta_w)), theta0)
}

fn rows<S>(m: &[Vec<Num>], conv: &dyn Fn(&Num) -> S) -> Vec<S> {
    m.iter().flatten().map(conv).collect()
}

/// The linear-network field and θ0 (layers in order, A last) of a deep case.
pub fn deep_linear<S: TaylorScalar>(c: &DeepLinearCase, conv: &dyn Fn(&Num) -> S) -> (LinearJet<S>, Vec<S>) {
    let layers: Vec<&[Vec<Num>]> = c.weights0.iter().map(Vec::as_slice).collect();
    let etas: Vec<&Num> = c.etas.iter().collect();
    linear_parts(&c.x, &c.y, &layers, &etas, conv)
}

/// The linear-network field and θ0 = (W0, A0) of a two-layer case (rates η_w, η_a).
pub fn two_layer_linear<S: TaylorScalar>(c: &TwoLayerLinearCase, conv: &dyn Fn(&Num) -> S) -> (LinearJet<S>, Vec<S>) {
    linear_parts(&c.x, &c.y, &[&c.w0, &c.a0], &[&c.eta_w, &c.eta_a], conv)
}

fn linear_parts<S: TaylorScalar>(
    x: &[Vec<Num>],
    y: &[Vec<Num>],
    layers: &[&[Vec<Num>]],
    etas: &[&Num],
    conv: &dyn Fn(&Num) -> S,
) -> (LinearJet<S>, Vec<S>) {
    let d = x.first().map_or(0, Vec::len);
    let mut dims = vec![d];
    for l in &layers[..layers.len() - 1] {
        dims.push(l.len());
    }
    dims.push(y.first().map_or(0, Vec::len));
    let theta0 = layers.iter().flat_map(|l| rows(l, conv)).collect();
    let etas = etas.iter().map(|e| conv(e)).collect();
    (
        LinearJet::new(dims, etas, x.len(), rows(x, conv), rows(y, conv)),
        theta0,
    )
}

/// The λ-balanced (two-layer, τẆ = −∇L) field and θ0 = (W1, W2) of a case.
pub fn lambda_balanced<S: TaylorScalar>(
    c: &LambdaBalancedCase,
    conv: &dyn Fn(&Num) -> S,
) -> (LambdaBalancedJet<S>, Vec<S>) {
    let x: Vec<Vec<S>> = c.x.iter().map(|r| r.iter().map(conv).collect()).collect();
    let y: Vec<Vec<S>> = c.y.iter().map(|r| r.iter().map(conv).collect()).collect();
    let (d_i, d_o, h) = (x.len(), y.len(), c.w1_0.len());
    let p = x.first().map_or(0, Vec::len);
    let tau = conv(&c.tau);
    let zero = tau.zero_like();
    let mut sxx = vec![zero.clone(); d_i * d_i];
    let mut syx = vec![zero.clone(); d_o * d_i];
    let mut tmp = zero.clone();
    for n in 0..p {
        for j in 0..d_i {
            for i in 0..d_i {
                sxx[i * d_i + j].mul_add_assign_tmp(&x[i][n], &x[j][n], &mut tmp);
            }
            for o in 0..d_o {
                syx[o * d_i + j].mul_add_assign_tmp(&y[o][n], &x[j][n], &mut tmp);
            }
        }
    }
    let pn = u32::try_from(p).unwrap_or(u32::MAX);
    for v in sxx.iter_mut().chain(syx.iter_mut()) {
        v.div_u32_assign(pn);
    }
    let mut inv_tau = zero.like_f64(1.0);
    inv_tau.div_assign_ref(&tau);
    let theta0 = rows(&c.w1_0, conv).into_iter().chain(rows(&c.w2_0, conv)).collect();
    (LambdaBalancedJet::new((d_i, h, d_o), syx, sxx, inv_tau), theta0)
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
    let (p, pj) = (opts.prec, opts.jac_prec);
    if crate::num::mp::check_prec(p).is_err() || crate::num::mp::check_prec(pj).is_err() {
        return Err(ValidatedError::Options(format!(
            "precision {p} bits (Jacobian {pj} bits) is outside 53 … {} bits",
            crate::num::tol::MAX_PREC_BITS
        )));
    }
    let b = move |v: &Num| ball_of(v, p);
    let dj = move |v: &Num| Dual::constant(ball_of(v, pj));
    fn run<F: JetField<Ball>, G: JetField<Dual<Ball>>>(
        (mut f, x0): (F, Vec<Ball>),
        (mut g, _): (G, Vec<Dual<Ball>>),
        times: &[Num],
        opts: &ValidatedOptions,
    ) -> Result<ValidatedTrajectory, ValidatedError> {
        let t: Vec<Ball> = times.iter().map(|v| ball_of(v, opts.prec)).collect();
        enclose(&mut f, &mut g, &x0, &t, opts)
    }
    match case {
        Case::SingleNeuron(c) => run(single_neuron(c, &b), single_neuron(c, &dj), &c.times, opts),
        Case::TwoLayerLinear(c) => run(two_layer_linear(c, &b), two_layer_linear(c, &dj), &c.times, opts),
        Case::DeepLinear(c) => run(deep_linear(c, &b), deep_linear(c, &dj), &c.times, opts),
        Case::LambdaBalanced(c) => run(lambda_balanced(c, &b), lambda_balanced(c, &dj), &c.times, opts),
        other => Err(ValidatedError::Options(format!(
            "model \"{}\" has no validated integrator yet: its flow is piecewise polynomial (activation \
             switches are not enclosed); use --method taylor without --rigorous, or another method",
            other.model_name()
        ))),
    }
}
