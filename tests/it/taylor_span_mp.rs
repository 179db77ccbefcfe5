//! The span reduction at p bits ([`lazyrich::taylor::single_neuron_span::SpanReductionAt`]):
//! the rank it finds (2 for XᵀX = I exactly, d for generic data), the MPFR solve through it
//! against the rigorous closed-form enclosure (an independent formula with a proven radius)
//! within the integrator's own error estimate, and against the MPFR full field on the same data.

use lazyrich::case::SingleNeuronCase;
use lazyrich::exact::single_neuron_ball::ClosedFormBall;
use lazyrich::models::samples;
use lazyrich::taylor::single_neuron::SingleNeuronJet;
use lazyrich::taylor::single_neuron_span::{SpanReductionAt, solve_mp};
use lazyrich::taylor::{TaylorOptions, integrate};
use rug::Float;

/// Exactly whitened cases (XᵀX = I in binary: X = I or ±½ Hadamard) in every δ regime:
/// δ ≪ 0, δ = 0, δ ≫ 0, unequal η (d = 4), a(t) changing sign, and problem L as X = I,
/// y = Xᵀy (d = 10). With the expected rank of span{w0, b}.
fn whitened_cases() -> Vec<(&'static str, SingleNeuronCase, usize)> {
    let times = samples::default_times(20.0);
    let (a0, w0) = samples::init_from_beta0(&[0.3, -0.2, 0.1, 0.4], 1.5, 0.5, 2.0, 1.0);
    vec![
        ("large_down_25", samples::fig3(-25.0), 2),
        ("fig3_delta+0", samples::fig3(0.0), 2),
        ("large_up_25", samples::fig3(25.0), 2),
        (
            "eta_unequal_hadamard4",
            samples::case(
                &samples::hadamard(4),
                &[1.0, -0.5, 0.25, 0.75],
                a0,
                &w0,
                0.5,
                2.0,
                &times,
            ),
            2,
        ),
        (
            "sign_change",
            samples::case(&samples::identity(2), &[1.0, 0.5], 0.1, &[-1.5, 0.3], 1.0, 1.0, &times),
            2,
        ),
        ("problem_L_as_identity", samples::problem_l_whitened(1), 2),
    ]
}

fn theta0(c: &SingleNeuronCase, p: u32) -> Vec<Float> {
    std::iter::once(c.a0.to_mp(p))
        .chain(c.w0.iter().map(|v| v.to_mp(p)))
        .collect()
}

fn full_field(c: &SingleNeuronCase, p: u32, tol: f64) -> lazyrich::taylor::TaylorTrajectory<Float> {
    let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(p)).collect();
    integrate(
        &mut SingleNeuronJet::from_case(c, p),
        &theta0(c, p),
        &times,
        &TaylorOptions::new(tol),
    )
    .unwrap()
}

/// A generic (non-whitened) d = 6 case: X (8×6, full rank) with entries from a fixed
/// pseudo-random table, so G has no invariant subspace containing w0 and b short of R^6.
fn generic6() -> SingleNeuronCase {
    let x: Vec<Vec<f64>> = (0..8usize)
        .map(|i| {
            (0..6usize)
                .map(|j| ((3 * i * i + 5 * j * j + 7 * i * j + 1) % 17) as f64 / 17.0 - 0.5)
                .collect()
        })
        .collect();
    let y = [0.5, -0.3, 0.8, 0.1, -0.6, 0.4, 0.2, -0.1];
    let w0 = [0.1, -0.05, 0.02, 0.07, -0.03, 0.04];
    samples::case(&x, &y, 0.2, &w0, 1.0, 0.7, &[0.0, 0.5, 1.0, 2.0])
}

#[test]
fn rank_is_two_for_exactly_whitened_data_and_d_for_generic_data() {
    for p in [53u32, 256, 512, 4096] {
        for (name, c, want) in whitened_cases() {
            let r = SpanReductionAt::from_case(&c, p).unwrap().rank();
            assert_eq!(r, want, "{name} at {p} bits");
        }
        // G = I exactly but w0 ∥ b: one direction.
        let par = samples::case(
            &samples::hadamard(4),
            &[1.0, 2.0, -1.0, 0.5],
            0.3,
            &[0.5, 0.5, 0.5, 0.5],
            1.0,
            1.0,
            &[1.0],
        );
        // b = Hᵀy; w0 = b/4 makes them parallel exactly.
        let b: Vec<f64> = (0..4)
            .map(|j| {
                samples::hadamard(4)
                    .iter()
                    .zip(par.y_f64())
                    .map(|(r, y)| r[j] * y)
                    .sum()
            })
            .collect();
        let w0: Vec<f64> = b.iter().map(|v| v / 4.0).collect();
        let par = samples::case(&samples::hadamard(4), &par.y_f64(), 0.3, &w0, 1.0, 1.0, &[1.0]);
        assert_eq!(
            SpanReductionAt::from_case(&par, p).unwrap().rank(),
            1,
            "w0 ∥ b at {p} bits"
        );
        // Generic data keeps every direction.
        assert_eq!(
            SpanReductionAt::from_case(&generic6(), p).unwrap().rank(),
            6,
            "generic6 at {p} bits"
        );
        let nw = lazyrich::verify::single_neuron::non_whitened_case();
        assert_eq!(
            SpanReductionAt::from_case(&nw, p).unwrap().rank(),
            3,
            "non_whitened at {p} bits"
        );
    }
    // Problem L's decimal X is orthonormal only to ≈ 1e-16: at 334 bits that is far above the
    // threshold d·2^{−334}‖G‖, so nothing is dropped (the reason to write it as X = I).
    let l = samples::problem_l(1);
    assert_eq!(SpanReductionAt::from_case(&l, 334).unwrap().rank(), 10);
    // A wrong-length state is an error, not a panic.
    let c = samples::fig3(0.0);
    let (g, b) = lazyrich::taylor::single_neuron::gram_xty_mp(&c, 128);
    let f = |v: f64| Float::with_val(128, v);
    let err = SpanReductionAt::new(&g, &b, f(1.0), f(1.0), &[f(0.1)]).unwrap_err();
    assert!(err.to_string().contains('3'), "{err}");
}

/// At p = 256 and 512 bits with tol = 2^(24−p) (as the full-field test in tests/it/taylor.rs):
/// every component of (a, w) from the reduced solve lies within the integrator's own error
/// estimate (stats.err_estimate) plus the enclosure's radius of the rigorous closed form's
/// midpoint — i.e. the estimate bounds the actual error of the reduced solve. No extra slack: the
/// expansion θ = (a, Qz) adds ≈ r·2^{−p}·‖z‖ rounding, far below the per-step rounding term
/// 2N·2^{1−p} the estimate already carries.
#[test]
fn mp_span_solve_at_256_and_512_bits_within_own_estimate_of_rigorous_enclosure() {
    for p in [256u32, 512] {
        let tol = 2f64.powi(24 - p as i32);
        let mut worst = 0.0f64;
        for (name, c, want) in whitened_cases() {
            let (tr, rank) = solve_mp(&c, p, &TaylorOptions::new(tol)).unwrap();
            assert_eq!(rank, want, "{name}");
            let cf = ClosedFormBall::new(&c, p).unwrap();
            for (t, s) in c.times.iter().zip(&tr.states) {
                let pb = cf.point(t).unwrap();
                let balls: Vec<_> = std::iter::once(&pb.a).chain(pb.w.iter()).collect();
                assert_eq!(s.len(), balls.len());
                for (i, (x, b)) in s.iter().zip(balls).enumerate() {
                    let diff = Float::with_val(p, x - b.mid()).abs().to_f64();
                    let allowed = tr.stats.err_estimate + b.rad();
                    worst = worst.max(diff / allowed);
                    assert!(
                        diff <= allowed,
                        "{name} p={p} t={t} θ[{i}]: |span Taylor − enclosure| {diff:e} > estimate {:e} + radius {:e}",
                        tr.stats.err_estimate,
                        b.rad()
                    );
                }
            }
        }
        eprintln!("span p = {p}: worst |error|/(estimate + radius) = {worst:.3e}");
    }
}

/// Reduced vs full MPFR field on the same data at 256 bits (tol 2^(24−256)): both estimate the
/// same flow, so they agree within the sum of their own error estimates plus 64 units of 2^{−p}
/// of the state (the rounding of the basis change and of the expansion). Covers the whitened
/// cases (r = 2 < d for d ≥ 4) and generic data where r = d (only the basis changes).
#[test]
fn mp_span_solve_matches_the_full_field() {
    let p = 256u32;
    let tol = 2f64.powi(24 - p as i32);
    let cases = whitened_cases().into_iter().map(|(n, c, _)| (n, c)).chain([
        ("generic6", generic6()),
        ("non_whitened", lazyrich::verify::single_neuron::non_whitened_case()),
    ]);
    for (name, c) in cases {
        let (red, _) = solve_mp(&c, p, &TaylorOptions::new(tol)).unwrap();
        let full = full_field(&c, p, tol);
        let ulp = 2f64.powi(-(p as i32));
        for (t, (s, f)) in c.times.iter().zip(red.states.iter().zip(&full.states)) {
            let sc = f.iter().map(|v| v.to_f64().abs()).fold(1.0, f64::max);
            let dd = s
                .iter()
                .zip(f)
                .map(|(x, y)| Float::with_val(p, x - y).abs().to_f64())
                .fold(0.0, f64::max);
            let bound = red.stats.err_estimate + full.stats.err_estimate + 64.0 * ulp * sc;
            assert!(dd <= bound, "{name} t={t}: span vs full {dd:e} > {bound:e}");
        }
    }
}
