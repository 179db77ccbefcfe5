//! Issue 14 item 5 ("fast jets"): the f64 Taylor integrator on the full single-neuron field at
//! tol 1e-10, against a 334-bit MPFR Taylor reference of the same decimal inputs, on the
//! problem-L anchor the peers measured (`../shared/bench/problem_L_anchor.json`) and on the
//! catalog's problem L; and the f64 whole-step kernel against the order-by-order recurrence.

use lazyrich::case::{Case, SingleNeuronCase};
use lazyrich::models::samples;
use lazyrich::models::single_neuron::SingleNeuron;
use lazyrich::taylor::single_neuron::SingleNeuronJet;
use lazyrich::taylor::{JetField, TaylorOptions, integrate};
use rug::Float;

/// The tolerance of the f64 solves (the peers' setting).
const TOL: f64 = 1e-10;
/// heyoka's error at t = 20 on the anchor at tol 1e-10 (double, 32 steps), as measured by the
/// peers (`../shared/bench/README.md`); issue 14 asks for no more than 2× it.
const HEYOKA_ANCHOR_ERR: f64 = 1.2e-13;

/// The anchor case: `$LAZYRICH_SHARED_DIR/bench/problem_L_anchor.json`, by default the
/// `shared` directory beside the repository (as in CI); `None` (the test says so) if absent.
fn anchor() -> Option<SingleNeuronCase> {
    let dir = std::env::var("LAZYRICH_SHARED_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared").to_string());
    let path = format!("{dir}/bench/problem_L_anchor.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{path} not found: anchor part skipped (set LAZYRICH_SHARED_DIR)");
        return None;
    };
    match Case::from_json(&text).expect("anchor parses") {
        Case::SingleNeuron(c) => Some(c),
        other => panic!("anchor is a {} case", other.model_name()),
    }
}

/// Largest |f64 − reference| at the final time, and s = max(1, ‖x(t_end)‖∞).
fn final_error(c: &SingleNeuronCase) -> (f64, f64, usize) {
    let p = 334;
    let mut fm = SingleNeuronJet::from_case(c, p);
    let mut x0 = vec![c.a0.to_mp(p)];
    x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
    let tm: Vec<Float> = c.times.iter().map(|t| t.to_mp(p)).collect();
    let reference = integrate(&mut fm, &x0, &tm, &TaylorOptions::new(1e-100)).unwrap();
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
    let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    let tr = integrate(
        &mut SingleNeuronJet::from_model(&m),
        &th0,
        &c.times_f64(),
        &TaylorOptions::new(TOL),
    )
    .unwrap();
    let (last, last_ref) = (tr.states.last().unwrap(), reference.states.last().unwrap());
    let err = last
        .iter()
        .zip(last_ref)
        .map(|(x, r)| (x - r.to_f64()).abs())
        .fold(0.0, f64::max);
    let scale = last.iter().map(|v| v.abs()).fold(1.0, f64::max);
    (err, scale, tr.stats.steps)
}

/// Target: the step rule's modelled local error s·q^{N+1}/(1 − q)
/// ([`TaylorOptions::modelled_local_error`], q = e^{−2−0.7/(N−1)}, N = 13 at ε = 1e-10:
/// 3.5e-13·s), i.e. the remainder one step leaves when the series decays geometrically at the
/// estimated radius. The global error at t = 20 is allowed 2× that: by t = 20 both flows have
/// converged onto the minimum, where the flow contracts transversally and the rule's actual
/// remainders (the series decays faster than the two-coefficient radius estimate says) sum to
/// less than one modelled step. The old rule (h = 0.9·(ε s/‖x_m‖)^{1/m}) gave 1.5e-12 on the
/// anchor, above this bound. On the anchor also the criterion: ≤ 2× heyoka's error.
#[test]
fn f64_taylor_at_tol_1e10_meets_the_modelled_error_at_t20() {
    let target = TaylorOptions::new(TOL).modelled_local_error();
    assert!((3.0e-13..4.0e-13).contains(&target), "modelled local error {target:e}");
    let mut cases = vec![("problem_L (catalog)", samples::problem_l(1))];
    if let Some(c) = anchor() {
        cases.push(("problem_L anchor", c));
    }
    for (name, c) in cases {
        let (err, scale, steps) = final_error(&c);
        eprintln!(
            "{name}: error at t_end {err:.2e} (target {:.2e}), {steps} steps",
            target * scale
        );
        assert!(
            err <= 2.0 * target * scale,
            "{name}: error {err:e} > 2 × {:e}",
            target * scale
        );
        if name.contains("anchor") {
            assert!(err <= 2.0 * HEYOKA_ANCHOR_ERR, "{name}: error {err:e} > 2 × heyoka's");
        }
    }
}

/// The f64 whole-step kernel (`step_coeffs`: padded order-major rows, partial sums per lane,
/// fused multiply-adds) computes the same coefficients as the order-by-order generic
/// recurrence (`coeff`), summed in another order: every coefficient up to order 30 agrees to
/// 1e-12 of the order's largest one (≈ 30 orders × a few ulps of accumulation, with margin, as
/// for the span kernel). Cases: d = 2 … 16 (every vector count of the kernel: d = 2, 3, 4, 6,
/// 10, 16), G = I and not, several scales and signs of the state.
#[test]
fn single_neuron_step_fast_path_matches_the_order_by_order_recurrence() {
    const ORDER: usize = 30;
    const REL: f64 = 1e-12;
    let mut cases: Vec<(String, SingleNeuronCase)> = vec![
        ("problem_L".into(), samples::problem_l(1)),
        ("problem_L_whitened".into(), samples::problem_l_whitened(3)),
        (
            "non_whitened".into(),
            lazyrich::verify::single_neuron::non_whitened_case(),
        ),
    ];
    for seed in 0..6 {
        cases.push((
            format!("random_whitened_{seed}"),
            samples::random_whitened(seed, 0.3, 5.0),
        ));
    }
    let mut models: Vec<(String, SingleNeuron, f64, Vec<f64>)> = cases
        .into_iter()
        .map(|(name, c)| {
            let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 0.7, 1.3).unwrap();
            (name, m, c.a0.to_f64(), c.w0_f64())
        })
        .collect();
    // d = 6 (two vectors, the second half padding), a dense non-symmetric-looking X.
    let (n, d) = (7, 6);
    let x: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..d).map(|j| ((i * d + j) as f64 * 0.77).sin()).collect())
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
    let w0: Vec<f64> = (0..d).map(|j| 0.1 * (j as f64 + 0.5).sin()).collect();
    models.push(("dense_d6".into(), SingleNeuron::new(&x, &y, 0.7, 1.3).unwrap(), 0.2, w0));
    let inv: Vec<f64> = (1..=ORDER).map(|k| 1.0 / k as f64).collect();
    for (name, m, a0, w0) in models {
        for (sa, sw) in [(1.0, 1.0), (-30.0, 50.0), (0.5, -200.0)] {
            let th: Vec<f64> = std::iter::once(sa * a0).chain(w0.iter().map(|v| sw * v)).collect();
            let n = th.len();
            let fresh = || -> Vec<Vec<f64>> {
                th.iter()
                    .map(|v| {
                        let mut j = vec![0.0; ORDER + 1];
                        j[0] = *v;
                        j
                    })
                    .collect()
            };
            let mut f = SingleNeuronJet::from_model(&m);
            f.reserve(ORDER);
            let mut fast = fresh();
            assert!(
                f.step_coeffs(&mut fast, &inv),
                "{name}: d = {} takes the fast path",
                n - 1
            );
            let mut slow = fresh();
            let mut out = vec![0.0; n];
            for k in 0..ORDER {
                f.coeff(&slow, k, &mut out);
                for (j, o) in slow.iter_mut().zip(&out) {
                    j[k + 1] = o * inv[k];
                }
            }
            for k in 1..=ORDER {
                let scale = slow.iter().map(|j| j[k].abs()).fold(f64::MIN_POSITIVE, f64::max);
                for i in 0..n {
                    let d = (fast[i][k] - slow[i][k]).abs();
                    assert!(
                        d <= REL * scale,
                        "{name} ({sa}, {sw}): order {k}, component {i}: fast {} vs {} (|Δ| = {d:e})",
                        fast[i][k],
                        slow[i][k]
                    );
                }
            }
            // Off, the integrator goes order by order.
            f.set_step_fast(false);
            assert!(!f.step_coeffs(&mut fresh(), &inv));
        }
    }
}

/// The f64 engine ([`JetField::stepper_f64`]: jets kept order-major in the kernel, norms and
/// Horner on its rows) against the order-by-order route of [`integrate`] (kernel off): the same
/// number of steps and every output state equal to 1e-13 of its size, on the catalog's problem
/// L (d = 10, 49 steps), the anchor when present, and a dense d = 6 problem (another lane
/// count); and the engine is only offered when reserved for the order asked.
#[test]
fn f64_engine_integrates_as_the_order_by_order_route() {
    let mut cases: Vec<(&str, SingleNeuron, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut from_case = |name: &'static str, c: SingleNeuronCase| {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        cases.push((name, m, th0, c.times_f64()));
    };
    from_case("problem_L (catalog)", samples::problem_l(1));
    if let Some(c) = anchor() {
        from_case("problem_L anchor", c);
    }
    let (n, d) = (7, 6);
    let x: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..d).map(|j| ((i * d + j) as f64 * 0.77).sin()).collect())
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
    let m = SingleNeuron::new(&x, &y, 0.7, 1.3).unwrap();
    let w0: Vec<f64> = (0..d).map(|j| 0.1 * (j as f64 + 0.5).sin()).collect();
    let th0 = m.theta(0.2, &w0).unwrap();
    cases.push(("dense_d6", m, th0, vec![0.0, 0.3, 1.0, 2.5, 4.0]));
    for (name, m, th0, times) in cases {
        let opts = TaylorOptions::new(TOL);
        let mut f = SingleNeuronJet::from_model(&m);
        f.reserve(opts.order() - 1);
        assert!(f.stepper_f64(opts.order()).is_none(), "{name}: not reserved");
        let fast = integrate(&mut f, &th0, &times, &opts).unwrap();
        assert!(f.stepper_f64(opts.order()).is_some(), "{name}: the engine is on");
        f.set_step_fast(false);
        assert!(f.stepper_f64(opts.order()).is_none(), "{name}: switched off");
        let slow = integrate(&mut f, &th0, &times, &opts).unwrap();
        assert_eq!(fast.stats.steps, slow.stats.steps, "{name}: steps");
        for (t, (xf, xs)) in times.iter().zip(fast.states.iter().zip(&slow.states)) {
            let scale = xs.iter().map(|v| v.abs()).fold(1.0, f64::max);
            for (i, (a, b)) in xf.iter().zip(xs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-13 * scale,
                    "{name}: t = {t}, component {i}: engine {a} vs order by order {b}"
                );
            }
        }
    }
}
