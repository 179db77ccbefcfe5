//! Taylor-series integrator (`taylor`): jets against the right-hand side, f64 runs against
//! diffsol and the closed form, and MPFR runs at 256/512 bits against the rigorous closed-form
//! enclosure, within the integrator's own error estimate.

use lazyrich::case::SingleNeuronCase;
use lazyrich::exact::single_neuron_ball::ClosedFormBall;
use lazyrich::exact::single_neuron_mp::ClosedFormMp;
use lazyrich::flow::{FlowOptions, Method, integrate as flow_integrate};
use lazyrich::models::single_neuron::SingleNeuron;
use lazyrich::models::{ParameterFlow, VectorField, samples};
use lazyrich::taylor::single_neuron::SingleNeuronJet;
use lazyrich::taylor::{JetField, TaylorOptions, TaylorScalar, integrate};
use lazyrich::verify::single_neuron::catalog;
use rug::Float;

fn exact_cases() -> Vec<(String, SingleNeuronCase)> {
    catalog()
        .into_iter()
        .filter(|c| c.name != "problem_L")
        .map(|c| (c.name, c.case))
        .collect()
}

/// Jets up to order `k_max` of the solution through `x0`.
fn jets<S: TaylorScalar>(f: &mut SingleNeuronJet<S>, x0: &[S], k_max: usize) -> Vec<Vec<S>> {
    f.reserve(k_max);
    let zero = x0[0].zero_like();
    let mut x: Vec<Vec<S>> = x0
        .iter()
        .map(|v| {
            let mut j = vec![zero.clone(); k_max + 1];
            j[0].assign_from(v);
            j
        })
        .collect();
    let mut out = vec![zero; x0.len()];
    for k in 0..k_max {
        f.coeff(&x, k, &mut out);
        for (j, o) in x.iter_mut().zip(&out) {
            j[k + 1].assign_from(o);
            j[k + 1].div_u32_assign((k + 1) as u32);
        }
    }
    x
}

/// First coefficient = F(x) (the gradient code of `models`), second = J(x)F(x) by a central
/// finite difference of F along F. FD error: h²‖F‴‖/6 + ε‖F‖/h with h = 1e-5: ≲ 1e-9 here.
const FD_TOL: f64 = 1e-8;

#[test]
fn jets_match_the_right_hand_side_and_its_finite_differences() {
    for (name, c) in exact_cases().into_iter().chain([(
        "non_whitened".to_string(),
        lazyrich::verify::single_neuron::non_whitened_case(),
    )]) {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        let n = th.len();
        let x = jets(&mut SingleNeuronJet::from_model(&m), &th, 2);
        let pf = ParameterFlow(&m);
        let mut f0 = vec![0.0; n];
        pf.eval_inplace(&th, &mut f0);
        let h = 1e-5;
        let shifted = |s: f64| -> Vec<f64> {
            let y: Vec<f64> = th.iter().zip(&f0).map(|(t, f)| t + s * h * f).collect();
            let mut out = vec![0.0; n];
            pf.eval_inplace(&y, &mut out);
            out
        };
        let (fp, fm) = (shifted(1.0), shifted(-1.0));
        let scale = f0.iter().map(|v| v.abs()).fold(1.0, f64::max);
        for i in 0..n {
            assert!(
                (x[i][1] - f0[i]).abs() <= 1e-14 * scale,
                "{name}: x_1[{i}] {} vs F {}",
                x[i][1],
                f0[i]
            );
            let fd = (fp[i] - fm[i]) / (2.0 * h);
            // x_2 = F_1/2 = J F / 2
            assert!(
                (2.0 * x[i][2] - fd).abs() <= FD_TOL * scale * scale,
                "{name}: 2x_2[{i}] {} vs FD {fd}",
                2.0 * x[i][2]
            );
        }
    }
}

/// All orders at 256 bits: F(Σ_k x_k τ^k) = Σ_{k<K} F_k τ^k + O(τ^K), with F evaluated directly
/// (a separate, naive MPFR formula) and F_k = (k+1)x_{k+1}. τ = 2^−24, K = 10: τ^K ≈ 1e-72.
#[test]
fn jets_of_all_orders_at_256_bits_match_the_direct_rhs() {
    let p = 256;
    let (k_max, tau) = (10usize, Float::with_val(p, Float::i_exp(1, -24)));
    for (name, c) in exact_cases().into_iter().take(6) {
        let mut f = SingleNeuronJet::from_case(&c, p);
        let mut x0 = vec![c.a0.to_mp(p)];
        x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
        let x = jets(&mut f, &x0, k_max + 1);
        let at = |j: &[Float], upto: usize| -> Float {
            let mut acc = Float::new(p);
            for k in (0..=upto).rev() {
                acc *= &tau;
                acc += &j[k];
            }
            acc
        };
        let st: Vec<Float> = x.iter().map(|j| at(j, k_max + 1)).collect();
        let direct = rhs_mp(&c, &st, p);
        for (i, dir) in direct.iter().enumerate() {
            let fk: Vec<Float> = (0..k_max)
                .map(|k| Float::with_val(p, &x[i][k + 1] * (k as u32 + 1)))
                .collect();
            let series = at(&fk, k_max - 1);
            let err = Float::with_val(p, &series - dir).abs().to_f64();
            assert!(err <= 1e-66, "{name}: component {i}: |Σ F_k τ^k − F(x(τ))| = {err:e}");
        }
    }
}

/// θ̇ = −η ⊙ ∇L written out directly: ȧ = −η_a Σ_i r_i (wᵀx_i), ẇ = −η_w a Σ_i r_i x_i,
/// r_i = a wᵀx_i − y_i.
fn rhs_mp(c: &SingleNeuronCase, st: &[Float], p: u32) -> Vec<Float> {
    let d = st.len() - 1;
    let mut out = vec![Float::new(p); d + 1];
    for (row, y) in c.x.iter().zip(&c.y) {
        let mut wx = Float::new(p);
        for j in 0..d {
            wx += Float::with_val(p, &st[1 + j] * row[j].to_mp(p));
        }
        let r = Float::with_val(p, &st[0] * &wx) - y.to_mp(p);
        out[0] -= Float::with_val(p, &r * &wx) * c.eta_a.to_mp(p);
        for j in 0..d {
            out[1 + j] -= Float::with_val(p, &r * row[j].to_mp(p)) * &st[0] * c.eta_w.to_mp(p);
        }
    }
    out
}

/// f64 Taylor at tol 1e-12 vs the closed form (128-bit MPFR): the error must be within the
/// integrator's own estimate (×10: the estimate is the sum of local errors without amplification;
/// the flows here amplify by ≤ a few through the saddle) plus 64 ulps of the state (rounding of
/// the dense output and of the reference comparison).
const F64_EST_FACTOR: f64 = 10.0;
/// Taylor f64 vs diffsol Tsit45 at rtol 1e-11: diffsol's grid error is 10–100× its rtol on this
/// problem (issue 3), so 1e-8 absolute on O(1) states.
const VS_DIFFSOL_TOL: f64 = 1e-8;

#[test]
fn f64_taylor_matches_closed_form_and_diffsol() {
    for (name, c) in exact_cases() {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        let times = c.times_f64();
        let tr = integrate(
            &mut SingleNeuronJet::from_model(&m),
            &th,
            &times,
            &TaylorOptions::new(1e-12),
        )
        .unwrap();
        let cf = ClosedFormMp::new(&c, 128).unwrap();
        let ds = flow_integrate(
            &ParameterFlow(&m),
            &th,
            &times,
            &FlowOptions::new(Method::Tsit45).with_tol(1e-11, 1e-13),
        )
        .unwrap();
        for ((t, s), sd) in c.times.iter().zip(&tr.states).zip(&ds.states) {
            let (a, w) = cf.state(&t.to_mp(128));
            let exact: Vec<f64> = std::iter::once(a.to_f64())
                .chain(w.iter().map(|v| v.to_f64()))
                .collect();
            let sc = exact.iter().map(|v| v.abs()).fold(1.0, f64::max);
            let err = s.iter().zip(&exact).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            let bound = F64_EST_FACTOR * tr.stats.err_estimate + 64.0 * f64::EPSILON * sc;
            assert!(
                err <= bound,
                "{name} t={t}: Taylor f64 error {err:e} > {bound:e} ({:?})",
                tr.stats
            );
            let dd = s.iter().zip(sd).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(dd <= VS_DIFFSOL_TOL * sc, "{name} t={t}: Taylor vs diffsol {dd:e}");
        }
    }
}

/// At p bits with tol = 2^(−p+24): every component of (a, w) within the integrator's own error
/// estimate (plus the enclosure's radius) of the rigorous closed form, i.e. of the exact flow.
#[test]
fn mp_taylor_at_256_and_512_bits_within_own_estimate_of_rigorous_enclosure() {
    for p in [256u32, 512] {
        let tol = 2f64.powi(24 - p as i32);
        let mut worst = 0.0f64;
        for (name, c) in exact_cases().into_iter().filter(|(n, _)| {
            [
                "fig3_delta-4",
                "fig3_delta+0",
                "fig3_delta+4",
                "eta_unequal",
                "sign_change",
            ]
            .contains(&n.as_str())
        }) {
            let mut f = SingleNeuronJet::from_case(&c, p);
            let mut x0 = vec![c.a0.to_mp(p)];
            x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
            let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(p)).collect();
            let tr = integrate(&mut f, &x0, &times, &TaylorOptions::new(tol)).unwrap();
            let cf = ClosedFormBall::new(&c, p).unwrap();
            for (t, s) in c.times.iter().zip(&tr.states) {
                let pb = cf.point(t).unwrap();
                let balls: Vec<_> = std::iter::once(&pb.a).chain(pb.w.iter()).collect();
                for (i, (x, b)) in s.iter().zip(balls).enumerate() {
                    let diff = Float::with_val(p, x - b.mid()).abs().to_f64();
                    let allowed = tr.stats.err_estimate + b.rad();
                    worst = worst.max(diff / allowed);
                    assert!(
                        diff <= allowed,
                        "{name} p={p} t={t} θ[{i}]: |Taylor − enclosure| {diff:e} > estimate {:e} + radius {:e}",
                        tr.stats.err_estimate,
                        b.rad()
                    );
                }
            }
        }
        eprintln!("p = {p}: worst |error|/(estimate + radius) = {worst:.3e}");
    }
}

#[test]
fn bad_options_are_errors() {
    let c = samples::fig3(1.0);
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 1.0, 1.0).unwrap();
    let th = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    let mut f = SingleNeuronJet::from_model(&m);
    for tol in [0.0, -1e-3, 1.5, f64::NAN] {
        assert!(integrate(&mut f, &th, &[1.0], &TaylorOptions::new(tol)).is_err());
    }
    assert!(integrate(&mut f, &th[..2], &[1.0], &TaylorOptions::new(1e-8)).is_err());
    assert!(integrate(&mut f, &th, &[2.0, 1.0], &TaylorOptions::new(1e-8)).is_err());
    assert!(integrate(&mut f, &th, &[-1.0], &TaylorOptions::new(1e-8)).is_err());
}

/// The `SN-TAYLOR-RIG` catalog family passes in quick mode and shows ≥ 95 digits.
#[test]
fn taylor_rigorous_catalog_rows_pass() {
    let t0 = std::time::Instant::now();
    // `taylor_rigorous::run(Mode::Quick)`, made once for the binary (`crate::shared`).
    let rows = crate::shared::taylor_rigorous_quick();
    eprintln!(
        "SN-TAYLOR-RIG quick: {} rows, {:.2} s in this test (computed by the first test that asks)",
        rows.len(),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(rows.len(), 10);
    for r in rows {
        eprintln!(
            "{} {} {} err {:.3e} est {:.3e} rad {:.3e} margin {:.3e} | {}",
            r.case, r.regime, r.quantity, r.abs_err, r.bound, r.ref_bound, r.margin, r.note
        );
        assert!(r.pass && r.ref_rigorous, "{r:?}");
        assert!(r.rel_err <= 1e-95, "{r:?}");
    }
    for regime in ["downstream/large", "balanced/exact0", "upstream/large"] {
        assert!(rows.iter().any(|r| r.regime == regime), "no {regime} row");
    }
}

/// The MPFR scalar works at 4096 bits (here with a modest tolerance, 1e-40, to keep the test
/// fast): the result is within the integrator's estimate of the rigorous enclosure.
#[test]
fn runs_at_4096_bits() {
    let p = 4096;
    let c = samples::fig3(-1.0);
    let mut f = SingleNeuronJet::from_case(&c, p);
    let mut x0 = vec![c.a0.to_mp(p)];
    x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
    let times: Vec<Float> = c.times[..4].iter().map(|t| t.to_mp(p)).collect();
    let tr = integrate(&mut f, &x0, &times, &TaylorOptions::new(1e-40)).unwrap();
    assert_eq!(tr.states[0][0].prec(), p);
    let cf = ClosedFormBall::new(&c, p).unwrap();
    for (t, s) in c.times[..4].iter().zip(&tr.states) {
        let pb = cf.point(t).unwrap();
        let diff = Float::with_val(p, &s[0] - pb.a.mid()).abs().to_f64();
        assert!(
            diff <= tr.stats.err_estimate + pb.a.rad(),
            "t={t}: {diff:e} vs {:e}",
            tr.stats.err_estimate
        );
        // The ball radius is an f64: at 4096 bits it bottoms out at the smallest subnormal
        // (documented limitation of `num::ball`), still far below the 1e-40 checked here.
        assert!(pb.a.rad() < 1e-320, "{:e}", pb.a.rad());
    }
}

/// The span-reduced f64 field ([`lazyrich::taylor::single_neuron_span`]) against the closed form
/// (an independent formula, 128-bit MPFR) on every whitened catalog case — where it runs in
/// 1 + 2 unknowns — with the same bound as the full field: the integrator's own error estimate
/// ×[`F64_EST_FACTOR`] plus 64 ulps of the state.
#[test]
fn span_reduced_f64_taylor_matches_closed_form() {
    use lazyrich::taylor::single_neuron_span::{SpanReduction, solve};
    for (name, c) in exact_cases() {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        // Whitened data: V = span{w0, b} (dimension ≤ 2, 1 if w0 ∥ b or one of them is 0).
        let r = SpanReduction::new(&m, &th).unwrap().rank();
        assert!(r <= 2, "{name}: whitened data gave a span of dimension {r}");
        let tr = solve(&m, &th, &c.times_f64(), &TaylorOptions::new(1e-12)).unwrap();
        let cf = ClosedFormMp::new(&c, 128).unwrap();
        for (t, s) in c.times.iter().zip(&tr.states) {
            let (a, w) = cf.state(&t.to_mp(128));
            let exact: Vec<f64> = std::iter::once(a.to_f64())
                .chain(w.iter().map(|v| v.to_f64()))
                .collect();
            let sc = exact.iter().map(|v| v.abs()).fold(1.0, f64::max);
            let err = s.iter().zip(&exact).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            let bound = F64_EST_FACTOR * tr.stats.err_estimate + 64.0 * f64::EPSILON * sc;
            assert!(
                err <= bound,
                "{name} t={t}: span Taylor error {err:e} > {bound:e} ({:?})",
                tr.stats
            );
        }
    }
}

/// Span-reduced vs full f64 field, where no closed form exists (non-whitened X: the span is all
/// of R^d) and on problem L (whitened only to 1e-16: span of dimension 2 after dropping the
/// rounding-level directions). Both are estimates of the same flow, so they must agree within
/// the sum of their error estimates (×[`F64_EST_FACTOR`]) plus 64 ulps; on problem L this also
/// bounds the effect of the dropped directions.
#[test]
fn span_reduced_f64_taylor_matches_the_full_field() {
    use lazyrich::taylor::single_neuron_span::{SpanReduction, solve};
    let cases = [
        (
            "non_whitened",
            lazyrich::verify::single_neuron::non_whitened_case(),
            3usize,
        ),
        ("problem_L", samples::problem_l(1), 2),
        ("problem_L_seed7", samples::problem_l(7), 2),
    ];
    for (name, c, want_rank) in cases {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        assert_eq!(SpanReduction::new(&m, &th).unwrap().rank(), want_rank, "{name}");
        let times = c.times_f64();
        for tol in [1e-8, 1e-12] {
            let opts = TaylorOptions::new(tol);
            let red = solve(&m, &th, &times, &opts).unwrap();
            let full = integrate(&mut SingleNeuronJet::from_model(&m), &th, &times, &opts).unwrap();
            for (t, (s, f)) in times.iter().zip(red.states.iter().zip(&full.states)) {
                let sc = f.iter().map(|v| v.abs()).fold(1.0, f64::max);
                let dd = s.iter().zip(f).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                let bound =
                    F64_EST_FACTOR * (red.stats.err_estimate + full.stats.err_estimate) + 64.0 * f64::EPSILON * sc;
                assert!(dd <= bound, "{name} tol {tol:e} t={t}: span vs full {dd:e} > {bound:e}");
            }
        }
    }
    // A wrong-length state is an error, not a panic.
    let c = samples::problem_l(1);
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 1.0, 1.0).unwrap();
    let err = solve(&m, &[0.1, 0.2], &[1.0], &TaylorOptions::new(1e-8)).unwrap_err();
    assert!(err.to_string().contains("11"), "{err}");
}

/// The span field's whole-step fast path ([`JetField::step_coeffs`], newest coefficients
/// isolated) against its order-by-order recurrence ([`JetField::coeff`]): the same algebra,
/// summed in another order, so every coefficient up to order 30 must agree to rounding. Bound:
/// 1e-12 of the order's largest coefficient (≈ 30 orders × a few ulps of accumulation, with
/// margin); states drawn from problem L (r = 2) at several initial scales and signs.
#[test]
fn span_step_fast_path_matches_the_order_by_order_recurrence() {
    use lazyrich::taylor::JetField;
    use lazyrich::taylor::single_neuron_span::SpanReduction;
    const ORDER: usize = 30;
    const REL: f64 = 1e-12;
    for seed in [1u64, 7, 11] {
        let c = samples::problem_l(seed);
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 0.7, 1.3).unwrap();
        for (sa, sw) in [(1.0, 1.0), (-30.0, 50.0), (0.5, -200.0)] {
            let th: Vec<f64> = std::iter::once(sa * c.a0.to_f64())
                .chain(c.w0_f64().iter().map(|v| sw * v))
                .collect();
            let mut red = SpanReduction::new(&m, &th).unwrap();
            assert_eq!(red.rank(), 2);
            let inv: Vec<f64> = (1..=ORDER).map(|k| 1.0 / k as f64).collect();
            let fresh = |x0: &[f64]| -> Vec<Vec<f64>> {
                x0.iter()
                    .map(|v| {
                        let mut j = vec![0.0; ORDER + 1];
                        j[0] = *v;
                        j
                    })
                    .collect()
            };
            let x0 = red.x0.clone();
            red.field.reserve(ORDER);
            let mut fast = fresh(&x0);
            assert!(red.field.step_coeffs(&mut fast, &inv), "r = 2 takes the fast path");
            let mut slow = fresh(&x0);
            let mut out = vec![0.0; 3];
            for k in 0..ORDER {
                red.field.coeff(&slow, k, &mut out);
                for (j, o) in slow.iter_mut().zip(&out) {
                    j[k + 1] = o * inv[k];
                }
            }
            for k in 1..=ORDER {
                let scale = slow.iter().map(|j| j[k].abs()).fold(f64::MIN_POSITIVE, f64::max);
                for i in 0..3 {
                    let d = (fast[i][k] - slow[i][k]).abs();
                    assert!(
                        d <= REL * scale,
                        "seed {seed} scale ({sa},{sw}) order {k} comp {i}: {} vs {} (diff {d:e}, scale {scale:e})",
                        fast[i][k],
                        slow[i][k]
                    );
                }
            }
        }
    }
}
