//! Wide linear nets with whitened X and task-aligned init: the per-mode closed form against the
//! simulated parameter flow (catalog rows), its f64 evaluation against MPFR, its MPFR bound
//! against a higher precision, the refusals when a condition fails, and q_δ's derivatives
//! against high-precision finite differences and its ℓ¹/ℓ² limits.

use lazyrich::exact::mirror_modes::{decompose, evaluate_with_bounds, q_delta, q_delta_mp};
use lazyrich::num::decimal::Num;
use lazyrich::verify::Mode;
use lazyrich::verify::mirror_modes::{aligned_case, catalog, run};
use rug::Float;

#[test]
fn catalog_rows_pass() {
    let rows = run(Mode::Full);
    for r in &rows {
        eprintln!(
            "{} {} {} err={:.3e} bound={:.3e} margin={:.3e} {}",
            r.check, r.case, r.regime, r.abs_err, r.bound, r.margin, r.note
        );
    }
    assert!(rows.iter().all(|r| r.pass));
    assert!(rows.iter().filter(|r| r.check == "MF-MODES").count() == catalog().len());
    assert!(rows.iter().filter(|r| r.check == "MF-QLIM").count() == 4);
}

#[test]
fn f64_per_mode_form_agrees_with_mpfr_and_mpfr_bounds_hold() {
    for spec in catalog().iter().filter(|s| s.1 <= 3) {
        let case = aligned_case(spec);
        let (modes, p128) = evaluate_with_bounds(&case, 128).unwrap();
        let (_, p256) = evaluate_with_bounds(&case, 256).unwrap();
        for (a, b) in p128.iter().zip(&p256) {
            let (bf, lf) = modes.beta_loss(a.t.to_f64()).unwrap();
            let scale = b.beta.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max);
            for ((x, y), bd) in a.beta.iter().zip(&b.beta).zip(&a.beta_bounds) {
                let diff = Float::with_val(256, x - y).abs();
                assert!(diff <= *bd, "{}: 128-bit error {diff} > bound {bd}", spec.0);
            }
            // f64: per-mode single-neuron closed form (≤ 64κ ulp, κ ≈ 1 here) times u_iv_iᵀ from
            // an f64 SVD (≈ d·ε/gap): 1e-13 relative leaves a wide margin.
            let e = bf
                .iter()
                .zip(&b.beta)
                .map(|(x, y)| (x - y.to_f64()).abs())
                .fold(0.0, f64::max);
            assert!(
                e <= 1e-13 * scale.max(1.0),
                "{} t={}: f64 vs 256 bits {e:e}",
                spec.0,
                a.t.as_str()
            );
            assert!((lf - b.loss.to_f64()).abs() <= 1e-13 * b.loss.to_f64().max(1.0));
        }
    }
}

#[test]
fn refuses_misaligned_degenerate_and_non_whitened_cases_saying_how_far_off() {
    let spec = catalog()[0];
    let mut case = aligned_case(&spec);
    // Perturb one entry of W0 by 1e-3.
    let v = case.w0[0][0].to_f64() + 1e-3;
    case.w0[0][0] = Num::from_f64(v).unwrap();
    let e = decompose(&case).unwrap_err().to_string();
    assert!(e.contains("task-aligned") && e.contains("alignment defect"), "{e}");
    let mut case = aligned_case(&spec);
    let v = case.x[0][0].to_f64() * 1.01;
    case.x[0][0] = Num::from_f64(v).unwrap();
    let e = decompose(&case).unwrap_err().to_string();
    assert!(e.contains("XᵀX = I"), "{e}");
    // Y = 0: β* = 0, no modes.
    let mut case = aligned_case(&spec);
    for r in case.y.iter_mut() {
        for v in r.iter_mut() {
            *v = Num::parse("0").unwrap();
        }
    }
    let e = decompose(&case).unwrap_err().to_string();
    assert!(e.contains("distinct positive singular values"), "{e}");
}

#[test]
fn q_delta_derivatives_match_high_precision_finite_differences() {
    let p = 512;
    let h = Float::with_val(p, Float::i_exp(1, -60));
    for (xv, dv, ev) in [(0.3, -2.0, 1.0), (1.5, 0.01, 2.0), (0.7, 40.0, 0.5)] {
        let (x, d, e) = (Float::with_val(p, xv), Float::with_val(p, dv), Float::with_val(p, ev));
        let [_, q1, q2] = q_delta_mp(&x, &d, &e, p).unwrap();
        let xp = Float::with_val(p, &x + &h);
        let xm = Float::with_val(p, &x - &h);
        let [qp, q1p, _] = q_delta_mp(&xp, &d, &e, p).unwrap();
        let [qm, q1m, _] = q_delta_mp(&xm, &d, &e, p).unwrap();
        let h2 = Float::with_val(p, &h * 2u32);
        // Central differences: error O(h²) = 2^-120 relative to O(1) derivatives.
        let fd1 = Float::with_val(p, &qp - &qm) / &h2;
        let fd2 = Float::with_val(p, &q1p - &q1m) / &h2;
        assert!(
            Float::with_val(p, &fd1 - &q1).abs().to_f64() < 1e-30,
            "q' at {xv}, {dv}"
        );
        assert!(
            Float::with_val(p, &fd2 - &q2).abs().to_f64() < 1e-30,
            "q'' at {xv}, {dv}"
        );
        // f64 version agrees.
        let f = q_delta(xv, dv, ev);
        for (a, b) in f
            .iter()
            .zip([q_delta_mp(&x, &d, &e, p).unwrap()[0].to_f64(), q1.to_f64(), q2.to_f64()])
        {
            assert!((a - b).abs() <= 1e-15 * b.abs().max(1e-300) * 8.0, "{a} vs {b}");
        }
    }
    assert!(q_delta_mp(&Float::with_val(64, 1), &Float::new(64), &Float::with_val(64, 1), 64).is_err());
}

/// Slack of the independent reference below, relative to a row's bound: the per-mode closed form
/// describes the aligned projection of the inputs, whose whitening and alignment defects (≤ 4.4e-16
/// in the quick catalog's notes) and f64 singular vectors (≈ d·ε/gap ≈ 1e-15) put it ~1e-15·max|β|
/// from the inputs' exact flow — below 1 % of every bound here (≥ 1.6e-13).
const PROJECTION_SLACK_REL: f64 = 1e-2;

/// The quick MF-MODES rows (nets of P = 10 parameters) rest on the validated enclosure: rigorous
/// reference, proven bound within the promise, margin ≤ 1; and each bound covers the simulation's
/// error against an independent value — the per-mode closed form at 256 bits (MPFR) — and is tight.
#[test]
fn mf_modes_rows_are_proven_and_their_bound_holds_independently() {
    use lazyrich::flow::{FlowOptions, Method, integrate};
    use lazyrich::models::ParameterFlow;
    use lazyrich::models::deep_linear::LinearData;
    use lazyrich::models::two_layer_linear::TwoLayerLinear;
    use lazyrich::verify::mirror_modes::{MODES_ATOL, MODES_REL_TOL, MODES_RTOL};
    let rows: Vec<_> = run(Mode::Quick).into_iter().filter(|r| r.check == "MF-MODES").collect();
    assert_eq!(rows.len(), catalog().iter().filter(|s| s.7).count());
    for spec in catalog().iter().filter(|s| s.7) {
        let r = rows.iter().find(|r| r.case == spec.0).unwrap();
        assert!(r.pass && r.ref_rigorous && r.bound_rigorous && r.margin <= 1.0, "{r:?}");
        assert!(
            r.abs_err.is_finite() && r.bound.is_finite() && r.abs_err <= r.bound + r.ref_bound,
            "{r:?}"
        );
        // The same simulation as the row's, against the 256-bit per-mode closed form.
        let case = aligned_case(spec);
        let f = |m: &[Vec<Num>]| -> Vec<Vec<f64>> { m.iter().map(|v| v.iter().map(Num::to_f64).collect()).collect() };
        let data = LinearData::new(&f(&case.x), &f(&case.y)).unwrap();
        let (m, th0) = TwoLayerLinear::from_init(
            data,
            &f(&case.a0),
            &f(&case.w0),
            case.eta_a.to_f64(),
            case.eta_w.to_f64(),
        )
        .unwrap();
        let times: Vec<f64> = case.times.iter().map(Num::to_f64).collect();
        let opts = FlowOptions::new(Method::Tsit45).with_tol(MODES_RTOL, MODES_ATOL);
        let tr = integrate(&ParameterFlow(&m), &th0, &times, &opts).unwrap();
        let (_, pts) = evaluate_with_bounds(&case, 256).unwrap();
        let (mut actual, mut scale) = (0.0f64, 0.0f64);
        for (th, p) in tr.states.iter().zip(&pts) {
            for (x, y) in m.deep().beta(th).iter().zip(&p.beta) {
                actual = actual.max(Float::with_val(256, *x - y).abs().to_f64());
                scale = scale.max(y.to_f64().abs());
            }
        }
        assert!(r.bound <= MODES_REL_TOL * scale, "{r:?}");
        assert!(
            actual <= r.bound * (1.0 + PROJECTION_SLACK_REL) && r.bound <= actual * (1.0 + PROJECTION_SLACK_REL),
            "{}: proven bound {:e} vs independent error {actual:e}",
            spec.0,
            r.bound
        );
    }
}

/// q_δ in ball arithmetic (the one formula, `q_delta_of`, cancellation-free) contains the value of
/// the direct expression (x·asinh(2√ηx/|δ|) − (√(δ² + 4ηx²) − |δ|)/(2√η))/(2√η), whose subtraction
/// cancels, evaluated in MPFR at 1024 bits (enough for the ≤ 2·40·log₂10 ≈ 266 bits it loses at
/// δ = 1e-40); and the MF-QLIM rows are certified and pass.
#[test]
fn q_delta_in_balls_contains_an_independent_high_precision_value() {
    use lazyrich::exact::mirror_modes::q_delta_of;
    use lazyrich::num::ball::Ball;
    use lazyrich::num::decimal::Num;
    let hp = 1024;
    for (xs, ds, es) in [
        ("0.3", "1e-40", "1.7"),
        ("2", "-1e12", "1.7"),
        ("-0.7", "0.25", "3"),
        ("1.5", "-2", "0.5"),
    ] {
        let b = |t: &str| Ball::from_num(&Num::parse(t).unwrap(), 128).unwrap();
        let [q, _, _] = q_delta_of(&b(xs), &b(ds), &b(es)).unwrap();
        let f = |t: &str| Num::parse(t).unwrap().to_mp(hp);
        let (x, d, e) = (f(xs), f(ds), f(es));
        let two_se = Float::with_val(hp, e.sqrt_ref()) * 2u32;
        let ad = Float::with_val(hp, d.abs_ref());
        let ash = Float::with_val(hp, Float::with_val(hp, &two_se * &x) / &ad).asinh();
        let root = (Float::with_val(hp, d.square_ref()) + Float::with_val(hp, x.square_ref()) * &e * 4u32).sqrt();
        let direct = (Float::with_val(hp, &x * &ash) - Float::with_val(hp, root - &ad) / &two_se) / &two_se;
        assert!(q.contains(&direct), "x={xs} δ={ds} η={es}: {q:?} vs {direct}");
        assert!(q.rel_rad() < 1e-30, "x={xs} δ={ds}: radius {}", q.rad());
    }
    for r in lazyrich::verify::mirror_modes::qlim_rows() {
        assert!(
            r.pass && r.ref_rigorous && r.abs_err.is_finite() && r.ref_bound < 1e-40,
            "{r:?}"
        );
    }
}
