//! The validated integrator (`taylor::validated`, `taylor::cases`) against independent values:
//!
//! - the single-neuron closed form evaluated in MPFR at 2p + 64 bits (a different formula and a
//!   higher precision) for exactly whitened data, across the δ regimes;
//! - a non-rigorous MPFR Taylor run at 2p + 128 bits and a much smaller tolerance (the same
//!   field, a different integrator and precision) for non-whitened X, the linear networks and
//!   the λ-balanced nets, and on proptest-drawn single-neuron cases;
//! - a field with one deliberately wrong Taylor coefficient, whose enclosure must miss;
//! - widths that shrink with the precision.
//!
//! Every containment is decided rigorously (`Ball::contains`).
use lazyrich::case::{Case, SingleNeuronCase};
use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form};
use lazyrich::num::ball::Ball;
use lazyrich::num::ball_f64::BallF64;
use lazyrich::num::decimal::Num;
use lazyrich::taylor::cases::{self, ball_of, enclose_case};
use lazyrich::taylor::enclose::{Diff, Dual};
use lazyrich::taylor::validated::{ValidatedOptions, enclose};
use lazyrich::taylor::{JetField, TaylorOptions, TaylorScalar, integrate};
use proptest::prelude::*;
use rug::Float;

fn load(name: &str) -> Case {
    let p = format!("{}/data/cases/{name}", env!("CARGO_MANIFEST_DIR"));
    Case::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A non-rigorous reference: the MPFR Taylor integrator at `prec` bits with tolerance `tol`.
fn taylor_reference(case: &Case, prec: u32, tol: f64) -> Vec<Vec<Float>> {
    let conv = |v: &Num| v.to_mp(prec);
    let opts = TaylorOptions::new(tol);
    macro_rules! run {
        ($c:expr, $build:path) => {{
            let (mut f, x0) = $build($c, &conv);
            let t: Vec<Float> = $c.times.iter().map(|v| v.to_mp(prec)).collect();
            integrate(&mut f, &x0, &t, &opts).unwrap().states
        }};
    }
    match case {
        Case::SingleNeuron(c) => run!(c, cases::single_neuron),
        Case::TwoLayerLinear(c) => run!(c, cases::two_layer_linear),
        Case::DeepLinear(c) => run!(c, cases::deep_linear),
        Case::LambdaBalanced(c) => run!(c, cases::lambda_balanced),
        Case::PiecewiseLinear(_) => unreachable!(),
    }
}

/// Every enclosure contains the reference value; returns the largest radius.
fn assert_contains(name: &str, enc: &[Vec<Ball>], reference: &[Vec<Float>]) -> f64 {
    assert_eq!(enc.len(), reference.len());
    let mut widest = 0f64;
    for (k, (e, r)) in enc.iter().zip(reference).enumerate() {
        for (i, (b, v)) in e.iter().zip(r).enumerate() {
            assert!(b.contains(v), "{name}: time #{k} component {i}: {b:?} misses {v}");
            widest = widest.max(b.rad());
        }
    }
    widest
}

fn closed_form_states(c: &SingleNeuronCase, prec: u32) -> Vec<Vec<Float>> {
    let cf = ClosedFormMp::new(c, prec).unwrap();
    c.times
        .iter()
        .map(|t| {
            let p = cf.point(&t.to_mp(prec), Form::Linearised).unwrap();
            std::iter::once(p.a).chain(p.w).collect()
        })
        .collect()
}

/// Whitened single-neuron cases in every δ regime (downstream δ < 0, balanced, upstream δ > 0,
/// a sign change of a, η_a ≠ η_w) contain the closed form at 2p + 64 bits, at 53 and 128 bits.
#[test]
fn single_neuron_encloses_the_closed_form() {
    for name in [
        "sign_change.json",
        "fig3_delta-4.json",
        "fig3_delta+0.json",
        "fig3_delta+4.json",
        "eta_unequal.json",
        "small_down_1e-4.json",
    ] {
        let Case::SingleNeuron(c) = load(name) else {
            panic!("{name}")
        };
        for prec in [53u32, 128] {
            let tr = enclose_case(&Case::SingleNeuron(c.clone()), &ValidatedOptions::new(prec)).unwrap();
            let w = assert_contains(name, &tr.states, &closed_form_states(&c, 2 * prec + 64));
            // Width budget: useful, not merely true — at most 20 of the p bits lost (a relative
            // width of 2^(20−p) on these O(1) states).
            assert!(w < 2f64.powi(20 - prec as i32), "{name} at {prec} bits: width {w:e}");
            eprintln!("{name} p={prec}: width {w:e}, {} steps", tr.stats.steps);
        }
    }
}

/// The validated integrator's top precision, `VALIDATED_MAX_PREC` (its remainder and set bounds
/// are hardware balls, so 2^−p must stay in the f64 range): the same containment and the same
/// "at most 20 of the p bits lost" budget there, on a short span; one bit more is refused.
#[test]
fn the_top_precision_encloses_the_closed_form_and_one_more_bit_is_refused() {
    use lazyrich::taylor::validated::{VALIDATED_MAX_PREC, ValidatedError};
    let Case::SingleNeuron(mut c) = load("sign_change.json") else {
        panic!()
    };
    c.times.retain(|t| t.to_f64() <= 1.0);
    let prec = VALIDATED_MAX_PREC;
    let tr = enclose_case(&Case::SingleNeuron(c.clone()), &ValidatedOptions::new(prec)).unwrap();
    let w = assert_contains(
        "sign_change top precision",
        &tr.states,
        &closed_form_states(&c, 2 * prec + 64),
    );
    assert!(w < 2f64.powi(20 - prec as i32), "width {w:e}");
    match enclose_case(&Case::SingleNeuron(c), &ValidatedOptions::new(prec + 1)) {
        Err(ValidatedError::Options(m)) => assert!(m.contains("--prec"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// Non-whitened X (the closed form does not apply) and every model without a closed form here,
/// against a non-rigorous MPFR Taylor run at 2p + 128 bits.
#[test]
fn every_model_encloses_a_high_precision_run() {
    for name in [
        "non_whitened.json",
        "problem_L.json",
        "al_al3x2_up.json",
        "al_al3x2_down.json",
        "dl_deep3_up.json",
        "lb_3_3_3_lambda+2.json",
        "lb_3_3_3_lambda-2.json",
        "lb_2_3_3_lambda+0.json",
        "lb_4_3_2_lambda-2.json",
    ] {
        let mut case = load(name);
        if let Case::DeepLinear(c) = &mut case {
            // The deep nets' validated steps are short (≈ 0.01–0.05): keep t ≤ 2 for test time.
            c.times.retain(|t| t.to_f64() <= 2.0);
        }
        let prec = 64;
        let t0 = std::time::Instant::now();
        let tr = enclose_case(&case, &ValidatedOptions::new(prec)).unwrap();
        let el = t0.elapsed();
        let w = assert_contains(name, &tr.states, &taylor_reference(&case, 2 * prec + 128, 1e-70));
        // At most 20 of the p bits lost (relative width 2^(20−p) on these O(1) states).
        assert!(w < 2f64.powi(20 - prec as i32), "{name}: width {w:e}");
        eprintln!("{name}: width {w:e}, {:?} in {el:?}", tr.stats);
    }
}

/// Widths shrink with the precision as the order predicts: ≈ 2^−p (a factor ≥ 2^60 from 64 to
/// 160 bits, against 2^96 ideally; the growth factor of the flow is the same at both).
#[test]
fn widths_shrink_with_precision() {
    let case = load("sign_change.json");
    let width = |p: u32| {
        let tr = enclose_case(&case, &ValidatedOptions::new(p)).unwrap();
        tr.states.last().unwrap().iter().map(Ball::rad).fold(0.0, f64::max)
    };
    let (w64, w160) = (width(64), width(160));
    assert!(w160 > 0.0 && w64 / w160 > 2f64.powi(60), "{w64:e} → {w160:e}");
}

/// A field that adds ε to the k-th coefficient of one component (a planted error in the jets).
struct Planted<F> {
    inner: F,
    k: usize,
    eps: f64,
}

impl<S: TaylorScalar, F: JetField<S>> JetField<S> for Planted<F> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn reserve(&mut self, order: usize) {
        self.inner.reserve(order);
    }
    fn coeff(&mut self, x: &[Vec<S>], k: usize, out: &mut [S]) {
        self.inner.coeff(x, k, out);
        if k == self.k {
            let e = out[0].like_f64(self.eps);
            out[0].add_assign_ref(&e);
        }
    }
}

/// One wrong jet coefficient (1e-6 in the 2nd-order coefficient of ȧ) is caught: the enclosure
/// of the planted field misses the closed form of the true flow.
#[test]
fn a_wrong_jet_coefficient_is_caught() {
    let Case::SingleNeuron(c) = load("sign_change.json") else {
        panic!()
    };
    let prec = 128;
    let b = |v: &Num| ball_of(v, prec);
    let dj = |v: &Num| Dual::constant(BallF64::from_ball(&ball_of(v, 53)));
    let hw = |v: &Num| BallF64::from_ball(&ball_of(v, 53));
    let df = |v: &Num| Diff::constant(BallF64::from_ball(&ball_of(v, 53)));
    let (f, x0) = cases::single_neuron(&c, &b);
    let (h, _) = cases::single_neuron(&c, &hw);
    let (g, _) = cases::single_neuron(&c, &dj);
    let (e, _) = cases::single_neuron(&c, &df);
    // The same planted coefficient in all four scalar versions of the field.
    let (k, eps) = (2, 1e-6);
    let mut f = Planted { inner: f, k, eps };
    let mut h = Planted { inner: h, k, eps };
    let mut g = Planted { inner: g, k, eps };
    let mut e = Planted { inner: e, k, eps };
    let times: Vec<Ball> = c.times.iter().map(|t| ball_of(t, prec)).collect();
    let tr = enclose(
        &mut f,
        &mut h,
        &mut g,
        &mut e,
        &x0,
        &times,
        &ValidatedOptions::new(prec),
    )
    .unwrap();
    let truth = closed_form_states(&c, 2 * prec + 64);
    let missed = tr
        .states
        .iter()
        .zip(&truth)
        .any(|(e, r)| e.iter().zip(r).any(|(b, v)| !b.contains(v)));
    assert!(missed, "the planted coefficient went unnoticed");
}

/// Unusable inputs are errors, not boxes: a precision below 53 bits; a ReLU net whose initial
/// activation pattern the inputs do not decide stops at t = 0 with the reason.
#[test]
fn refusals_are_errors() {
    let case = load("sign_change.json");
    let mut o = ValidatedOptions::new(53);
    o.prec = 40;
    assert!(enclose_case(&case, &o).is_err());
    let pl = r#"{"model": "piecewise_linear", "x": [[0, 1]], "y": [1], "a0": [1], "w0": [[1, 0]],
                "gamma": 0, "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#;
    let tr = enclose_case(&Case::from_json(pl).unwrap(), &ValidatedOptions::new(53)).unwrap();
    assert!(tr.states.is_empty());
    let s = tr.stopped.expect("stops");
    assert!(s.t == 0.0 && s.why.contains("not decided"), "{s:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// Random non-whitened single-neuron cases (d = 2 or 3, n = 3; X, y, θ0 drawn as short
    /// decimals, so the inputs are exact decimal texts that binary cannot hold) contain the
    /// 2p + 128-bit Taylor reference at 64 bits.
    #[test]
    fn random_single_neuron_cases_are_enclosed(
        d in 2usize..=3,
        xs in proptest::collection::vec(-9i32..=9, 9),
        ys in proptest::collection::vec(-9i32..=9, 3),
        th in proptest::collection::vec(-9i32..=9, 4),
    ) {
        let dec = |k: i32| Num::parse(&format!("{}", f64::from(k) / 10.0 + 0.01)).unwrap();
        let c = SingleNeuronCase {
            x: (0..3).map(|i| (0..d).map(|j| dec(xs[i * 3 + j])).collect()).collect(),
            y: ys.iter().map(|&k| dec(k)).collect(),
            a0: dec(th[0]),
            w0: (0..d).map(|j| dec(th[1 + j])).collect(),
            eta_a: Num::parse("1").unwrap(),
            eta_w: Num::parse("0.7").unwrap(),
            times: ["0", "0.5", "1.5", "3"].iter().map(|t| Num::parse(t).unwrap()).collect(),
        };
        let case = Case::SingleNeuron(c);
        let tr = enclose_case(&case, &ValidatedOptions::new(64)).unwrap();
        assert_contains("random", &tr.states, &taylor_reference(&case, 256, 1e-70));
    }
}

/// A two-layer ReLU net before its first switch: the enclosure contains a 256-bit Taylor run of
/// the same (fixed-pattern) field at 53 and 128 bits.
#[test]
fn piecewise_linear_is_enclosed_before_its_first_switch() {
    use lazyrich::case::PiecewiseLinearCase;
    use lazyrich::taylor::cases::{initial_pattern, piecewise_linear};
    let text = |times: &str| {
        format!(
            r#"{{"model": "piecewise_linear", "x": [[1, 0.5], [0.3, -1], [-0.7, 0.2]], "y": [1, -0.5, 0.3],
                 "a0": [0.5, -0.4, 0.3], "w0": [[0.8, 0.1], [-0.3, 0.7], [0.2, -0.9]],
                 "gamma": 0, "eta_a": 1, "eta_w": 1, "times": [{times}]}}"#
        )
    };
    let Case::PiecewiseLinear(c) = Case::from_json(&text("0, 0.1, 0.2, 0.28")).unwrap() else {
        panic!()
    };
    let reference = |c: &PiecewiseLinearCase, times: &[Float]| -> Vec<Vec<Float>> {
        let conv = |v: &Num| v.to_mp(256);
        let (mut f, x0) = piecewise_linear(c, &conv, initial_pattern(c).unwrap());
        integrate(&mut f, &x0, times, &TaylorOptions::new(1e-70))
            .unwrap()
            .states
    };
    let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(256)).collect();
    for prec in [53u32, 128] {
        let tr = enclose_case(&Case::PiecewiseLinear(c.clone()), &ValidatedOptions::new(prec)).unwrap();
        assert!(tr.stopped.is_none(), "{:?}", tr.stopped);
        assert_contains("relu before its first switch", &tr.states, &reference(&c, &times));
    }
}

/// Through a switch: the same ReLU net to t = 0.35, past its first switch (w_0ᵀx_1 at
/// t ≈ 0.2851), against a reference that integrates the first piece at 256 bits up to the switch
/// time (bisection on w_0ᵀx_1 to 1e-15, where both pieces' fields agree to O(w_0ᵀx_1)), flips the
/// pattern and integrates the second piece; and a sliding mode (this net from t ≈ 0.441) stops the
/// certificate with its reason instead of being guessed through.
#[test]
fn piecewise_linear_is_enclosed_through_a_switch() {
    use lazyrich::case::PiecewiseLinearCase;
    use lazyrich::taylor::cases::{initial_pattern, piecewise_linear};
    let text = |times: &str| {
        format!(
            r#"{{"model": "piecewise_linear", "x": [[1, 0.5], [0.3, -1], [-0.7, 0.2]], "y": [1, -0.5, 0.3],
                 "a0": [0.5, -0.4, 0.3], "w0": [[0.8, 0.1], [-0.3, 0.7], [0.2, -0.9]],
                 "gamma": 0, "eta_a": 1, "eta_w": 1, "times": [{times}]}}"#
        )
    };
    let Case::PiecewiseLinear(c) = Case::from_json(&text("0, 0.2, 0.35")).unwrap() else {
        panic!()
    };
    let p0 = initial_pattern(&c).unwrap();
    let run = |c: &PiecewiseLinearCase, pattern: Vec<bool>, x0: Option<Vec<Float>>, t: f64| -> Vec<Float> {
        let conv = |v: &Num| v.to_mp(256);
        let (mut f, th0) = piecewise_linear(c, &conv, pattern);
        let x0 = x0.unwrap_or(th0);
        integrate(&mut f, &x0, &[Float::with_val(256, t)], &TaylorOptions::new(1e-70))
            .unwrap()
            .states
            .remove(0)
    };
    let z01 = |th: &[Float]| Float::with_val(256, Float::with_val(256, &th[0] * 0.3) - &th[1]);
    let (mut lo, mut hi) = (0.28, 0.29);
    assert!(z01(&run(&c, p0.clone(), None, lo)).is_sign_positive());
    assert!(z01(&run(&c, p0.clone(), None, hi)).is_sign_negative());
    while hi - lo > 1e-15 {
        let mid = 0.5 * (lo + hi);
        if z01(&run(&c, p0.clone(), None, mid)).is_sign_positive() {
            lo = mid
        } else {
            hi = mid
        }
    }
    let at_switch = run(&c, p0.clone(), None, lo);
    let mut p1 = p0.clone();
    p1[1] = !p1[1]; // neuron 0, sample 1
    let reference = vec![
        run(&c, p0.clone(), None, 0.0),
        run(&c, p0, None, 0.2),
        run(&c, p1, Some(at_switch), 0.35 - lo),
    ];
    let tr = enclose_case(&Case::PiecewiseLinear(c), &ValidatedOptions::new(53)).unwrap();
    assert!(tr.stopped.is_none(), "{:?}", tr.stopped);
    assert!(tr.stats.switches >= 1);
    assert_contains("relu through a switch", &tr.states, &reference);
    let Case::PiecewiseLinear(c) = Case::from_json(&text("0, 0.2, 1")).unwrap() else {
        panic!()
    };
    let tr = enclose_case(&Case::PiecewiseLinear(c), &ValidatedOptions::new(53)).unwrap();
    let s = tr.stopped.expect("the sliding mode stops the certificate");
    assert!(s.t > 0.43 && s.t < 0.45 && s.why.contains("not decided"), "{s:?}");
}
