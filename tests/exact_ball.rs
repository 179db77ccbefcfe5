//! Rigorous closed form (`exact::single_neuron_ball`): the enclosures contain independent
//! references and are tight.
//!
//! References: the non-rigorous MPFR closed form at 4p bits by the linearised route and by the
//! paper's route (Riccati ν, Bernoulli a, hyperbolic coordinates for μ: different formulas), both
//! from `exact::single_neuron_mp`. Their own error (≈ 2^−4p·condition) is ~2^−3p times smaller
//! than the balls' radii, so it is taken as slack of 2^−(3p) relative.

use lazyrich::exact::ExactError;
use lazyrich::exact::single_neuron_ball::ClosedFormBall;
use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form, QUANTITIES};
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
            let scale_of = |q: &str| {
                refs.iter()
                    .flat_map(|r| r.values(q).into_iter().map(|v| v.to_f64().abs()))
                    .fold(0.0, f64::max)
            };
            for (t, lin) in case.times.iter().zip(&refs) {
                let pb = cf.point(t).unwrap();
                let hyp = refm.point(&t.to_mp(hp), Form::Hyperbolic).ok();
                for q in QUANTITIES {
                    let balls = pb.values(q);
                    // S(0,t) ∈ [0, 1] is a difference of O(1) normalised kernels: its radius is
                    // measured against 1 (in the lazy regime S ~ 1e-6 and the formula's own
                    // cancellation costs log10(1/S) digits, in balls as in plain MPFR).
                    let scale = if q == "kernel_distance" {
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
