//! Rigorous closed form (`exact::single_neuron_ball`): the enclosures contain independent
//! references and are tight.
//!
//! References: the non-rigorous MPFR closed form at 4p bits by the linearised route and by the
//! paper's route (Riccati ν, Bernoulli a, hyperbolic coordinates for μ: different formulas), both
//! from `exact::single_neuron_mp`. Their own error (≈ 2^−4p·condition) is ~2^−3p times smaller
//! than the balls' radii, so it is taken as slack of 2^−(3p) relative.

use lazyrich::exact::ExactError;
use lazyrich::exact::single_neuron_ball::ClosedFormBall;
use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form, Observable};
use lazyrich::models::samples;
use lazyrich::num::ball::Ball;
use lazyrich::verify::single_neuron::catalog;
use rug::Float;
use rug::float::Round;

/// Radii must be at most this many units of 2^−p, relative to the quantity's scale
/// (its largest magnitude over the time grid and components): a point takes ~150 ball operations
/// (two expm1, one sqrt, reciprocal, sums over d ≤ 16 components), each adding at most a few
/// half-ulps, and the cancellations of the closed form (A = a0 + c₊m₊ + c₋m₋ when a(t) crosses 0,
/// 1 − tanh-like terms in S) amplify them: measured widest 9.3e3 units over the catalog at 170
/// and 256 bits (≈ 13 of 170 bits); 1e5 leaves a 10× margin.
const WIDTH_ULPS: f64 = 1e5;

fn encloses(b: &Ball, r: &Float, slack_rel: f64) -> bool {
    let slack = r.to_f64().abs() * slack_rel;
    let up = Float::with_val_round(64, r - b.mid(), Round::Up).0;
    let down = Float::with_val_round(64, r - b.mid(), Round::Down).0;
    up.to_f64_round(Round::Up).max(-down.to_f64_round(Round::Down)) <= b.rad() + slack
}

fn cases() -> Vec<(String, lazyrich::case::SingleNeuronCase)> {
    catalog()
        .into_iter()
        .filter(|c| c.name != "problem_L")
        .map(|c| (c.name, c.case))
        .collect()
}

#[test]
fn enclosures_contain_independent_references_and_are_tight() {
    for p in [170u32, 256] {
        let hp = 4 * p;
        let slack = 2f64.powi(-3 * p as i32);
        let ulp = 2f64.powi(-(p as i32));
        let mut worst = 0.0f64;
        for (name, case) in cases() {
            let cf = ClosedFormBall::new(&case, p).unwrap_or_else(|e| panic!("{name}: {e}"));
            let refm = ClosedFormMp::new(&case, hp).unwrap();
            let refs: Vec<_> = case
                .times
                .iter()
                .map(|t| refm.point(&t.to_mp(hp), Form::Linearised).unwrap())
                .collect();
            // Scale of each quantity: its largest magnitude over the time grid and components.
            let scale_of = |q: Observable| {
                refs.iter()
                    .flat_map(|r| r.values(q).into_iter().map(|v| v.to_f64().abs()))
                    .fold(0.0, f64::max)
            };
            for (t, lin) in case.times.iter().zip(&refs) {
                let pb = cf.point(t).unwrap();
                let hyp = refm.point(&t.to_mp(hp), Form::Hyperbolic).ok();
                for q in Observable::ALL {
                    let balls = pb.values(q);
                    // S(0,t) ∈ [0, 1] is a difference of O(1) normalised kernels: its radius is
                    // measured against 1 (in the lazy regime S ~ 1e-6 and the formula's own
                    // cancellation costs log10(1/S) digits, in balls as in plain MPFR).
                    let scale = if q == Observable::KernelDistance {
                        scale_of(q).max(1.0)
                    } else {
                        scale_of(q)
                    };
                    for (i, b) in balls.iter().enumerate() {
                        let r = lin.values(q)[i];
                        assert!(
                            encloses(b, r, slack),
                            "{name} p={p} t={t} {q}[{i}]: {b:?} misses linearised {r}"
                        );
                        if let Some(h) = &hyp {
                            let r = h.values(q)[i];
                            assert!(
                                encloses(b, r, slack),
                                "{name} p={p} t={t} {q}[{i}]: {b:?} misses hyperbolic {r}"
                            );
                        }
                        let width = if b.rad() == 0.0 { 0.0 } else { b.rad() / (ulp * scale) };
                        worst = worst.max(width);
                        assert!(
                            width <= WIDTH_ULPS,
                            "{name} p={p} t={t} {q}[{i}]: radius {:e} = {width:.1} ulps",
                            b.rad()
                        );
                    }
                }
            }
        }
        eprintln!("p = {p}: widest radius {worst:.1} units of 2^-p relative to the quantity's scale");
    }
}

#[test]
fn data_that_is_not_exactly_whitened_is_refused() {
    // Problem L's X is orthogonal only to f64 rounding (~1e-16).
    let err = ClosedFormBall::new(&samples::problem_l(1), 128).unwrap_err();
    assert!(matches!(err, ExactError::NotExactlyWhitened { defect } if defect > 0.0 && defect < 1e-13));
    assert!(err.to_string().contains("Hadamard"), "{err}");
    assert!(ClosedFormBall::new(&samples::fig3(0.0), 40).is_err());
}

#[test]
fn delta_exactly_zero_uses_the_series_terms() {
    // fig3(0): a0 = w0 entries exact in binary? δ must come out as the exact ball 0 or tiny.
    let case = samples::fig3(0.0);
    let cf = ClosedFormBall::new(&case, 200).unwrap();
    assert!(cf.delta().contains(&Float::with_val(200, 0)) || cf.delta().rel_rad() < 1e-50);
    let refm = ClosedFormMp::new(&case, 800).unwrap();
    for t in &case.times {
        let pb = cf.point(t).unwrap();
        let lin = refm.point(&t.to_mp(800), Form::Linearised).unwrap();
        assert!(encloses(&pb.a, &lin.a, 1e-180));
        assert!(pb.a.rad() < 1e-55, "{:?}", pb.a);
    }
}

/// Precision of the independent finite-difference derivative in
/// [`closed_form_derivative_in_balls_matches_a_512_bit_difference_quotient`].
const FD_PREC: u32 = 512;
/// Step of that difference quotient, 2^−80: its 6th-order truncation h⁶·|x⁽⁷⁾|/140 ≤ 2^−480·25⁷
/// ≈ 1e-136 relative (|λ±| ≤ 26 on these cases) and its rounding 2^−512/h ≈ 1e-130 relative, so
/// it is exact to [`FD_SLACK_REL`] against the balls' radii of ~1e-75.
const FD_STEP_LOG2: i32 = -80;
/// Slack of the 512-bit difference quotient, relative to the right-hand side's scale (see
/// [`FD_STEP_LOG2`]: 1e-130 with 10¹⁰ to spare).
const FD_SLACK_REL: f64 = 1e-120;
/// The residual balls must be this tight, relative to the right-hand side's scale: the derivative
/// takes ~100 ball operations at 256 bits (unit 2^−256 ≈ 1e-77) on top of the closed form's own
/// width ([`WIDTH_ULPS`] units).
const RESIDUAL_TIGHT_REL: f64 = 1e-65;

/// The exact time derivative of the closed form in balls ([`ClosedFormBall::with_derivative`])
/// contains an independent derivative — a 6th-order central difference quotient of the MPFR
/// closed form at 512 bits — and its ODE residual balls contain 0 and are tight, on both the plain
/// and the scaled (λ₊t > 200: `large_up_25` at t = 20) evaluation paths and at δ = 0 exactly.
#[test]
fn closed_form_derivative_in_balls_matches_a_512_bit_difference_quotient() {
    let p = 256;
    for (name, c) in cases().into_iter().filter(|(n, _)| {
        [
            "sign_change",
            "large_up_25",
            "large_down_25",
            "fig3_delta+0",
            "eta_unequal",
        ]
        .contains(&n.as_str())
    }) {
        let cf = ClosedFormBall::new(&c, p).unwrap();
        let hp = ClosedFormMp::new(&c, FD_PREC).unwrap();
        let h = Float::with_val(FD_PREC, Float::i_exp(1, FD_STEP_LOG2));
        let weights: [(i32, i32); 6] = [(-3, -1), (-2, 9), (-1, -45), (1, 45), (2, -9), (3, 1)];
        for t in ["0.5", "3", "20"] {
            let tn = lazyrich::num::decimal::Num::parse(t).unwrap();
            let d = cf.with_derivative(&Ball::from_num(&tn, p).unwrap()).unwrap();
            let t512 = tn.to_mp(FD_PREC);
            let mut fd = vec![Float::with_val(FD_PREC, 0); 1 + d.w.len()];
            for (k, wgt) in weights {
                let tk = Float::with_val(FD_PREC, &t512 + Float::with_val(FD_PREC, &h * k));
                let (a, w) = hp.state(&tk);
                for (f, x) in fd.iter_mut().zip(std::iter::once(&a).chain(&w)) {
                    *f += Float::with_val(FD_PREC, x * wgt);
                }
            }
            let sixty_h = Float::with_val(FD_PREC, &h * 60u32);
            let derivs = std::iter::once(&d.adot).chain(&d.wdot);
            for (i, (b, f)) in derivs.zip(&fd).enumerate() {
                let fd_i = Float::with_val(FD_PREC, f / &sixty_h);
                assert!(
                    encloses(b, &fd_i, 0.0) || {
                        let gap = Float::with_val(FD_PREC, &fd_i - b.mid()).abs().to_f64();
                        gap <= b.rad() + FD_SLACK_REL * d.scale
                    },
                    "{name} t = {t} component {i}: derivative ball {b:?} misses the 512-bit difference quotient {fd_i}"
                );
            }
            for (i, r) in d.residuals().iter().enumerate() {
                assert!(
                    r.contains_zero(),
                    "{name} t = {t} component {i}: residual {r:?} excludes 0"
                );
                assert!(
                    r.mag_up() <= RESIDUAL_TIGHT_REL * d.scale,
                    "{name} t = {t} component {i}: residual {r:?} vs scale {:e}",
                    d.scale
                );
            }
        }
    }
}

/// A closed form whose derivative does not match the flow is caught: the residual of the exact
/// solution's derivative against the right-hand side of a flow with η_a perturbed by 2⁻²⁰⁰
/// (evaluated here by hand from the same balls) excludes 0, so the check has teeth at 256 bits.
#[test]
fn a_wrong_right_hand_side_gives_a_residual_ball_that_excludes_zero() {
    let (_, c) = cases().into_iter().find(|(n, _)| n == "sign_change").unwrap();
    let p = 256;
    let cf = ClosedFormBall::new(&c, p).unwrap();
    let d = cf
        .with_derivative(&Ball::from_num(&lazyrich::num::decimal::Num::parse("3").unwrap(), p).unwrap())
        .unwrap();
    // rhs_a scaled by (1 + 2⁻²⁰⁰): the residual moves by |rhs_a|·2⁻²⁰⁰ ≫ its radius (~2⁻²⁴⁰).
    let bump = Ball::exact(Float::with_val(p, Float::i_exp(1, -200)));
    let wrong = d.adot.sub(&d.rhs_a.add(&d.rhs_a.mul(&bump)));
    assert!(!wrong.contains_zero(), "{wrong:?}");
    assert!(d.residuals()[0].contains_zero());
}
