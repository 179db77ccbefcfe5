//! Criterion benches of issue 3 on problem L (`samples::problem_l(1)`: d = n = 10, orthonormal
//! X, a0 = 0.02, ‖w0‖ = 0.01, η = 1, t ∈ [0, 20] with the 10 default output times).
//!
//! - `taylor/problem_L/f64_tol1e-10`: one f64 Taylor solve (target ≤ 15 µs);
//! - `taylor/problem_L/mp334_tol1e-100`: one 334-bit (≈ 100 digits) solve (target ≤ 0.25 s);
//! - `rigorous/problem_L/ball170_*`: one rigorous closed-form time point at 170 bits (≈ 50 digits;
//!   target ≤ 4 µs in issue 3, ≤ 1.9 µs in issue 15), (a, w) only and with all observables. Problem L's X is orthogonal only to
//!   f64 rounding, so the rigorous form (which needs XᵀX = I exactly) runs on the same flow
//!   written with X = I and y = Xᵀy: the gradient flow depends on the data only through XᵀX and
//!   Xᵀy, so this is problem L's dynamics up to the 1e-16 whitening defect.
//!
//! - `taylor/problem_L/f64_span_tol1e-10`: the same solve through the exact span reduction
//!   ([`lazyrich::taylor::single_neuron_span`]: 1 + 2 unknowns), reduction included.
//! - `taylor/problem_L/mp334_span_tol1e-100`: the 334-bit solve through the span reduction at
//!   334 bits (`span::solve_mp`, set-up and expansion to θ = (a, w) included). What is solved:
//!   problem L written as X = I, y = Xᵀy (`samples::problem_l_whitened`, the same data as the
//!   `rigorous` entries), because the reduction at p bits drops a direction only below
//!   d·2^{−p}‖G‖ and problem L's decimal X is orthonormal only to ≈ 1e-16 (at 334 bits its span
//!   has rank 10 = d, no gain). The flow depends on the data only through XᵀX and Xᵀy, so this is
//!   problem L's dynamics up to its whitening defect; with G = I exactly the span has rank 2.
//!   `mp334_tol1e-100` (full field, decimal X) stays as the A/B.
//!
//! This machine is shared (2 cores, other builds running): timings are noisy. Medians measured on
//! 2026-11-23 with `-- --warm-up-time 1 --measurement-time 3`. Before issue-3 speed work (load
//! average ≈ 5): f64 218 µs (47 steps, order 13), 334 bits 1.13 s (51 steps, order 117), ball
//! point (a, w) 12.1 µs, all observables 20.4 µs. After it, at load average ≈ 8.6 (so inflated
//! further; the unchanged-algorithm full f64 path read 615 µs in the same run): f64 span
//! 87.3 µs (full field 615 µs: 7.0× in the same run), 334 bits 1.77 s, ball point (a, w)
//! 30.4 µs, all observables 32.3 µs. Same-process A/B runs of the scratch drivers (load ≈ 9):
//! f64 span/full 1/5.4 … 1/8.5, 334-bit solve 2.04 s → 1.05 s. Targets (≤ 15 µs, ≤ 0.25 s,
//! ≤ 4 µs) are for an idle machine; see the issue-3 report for what is still missing.
//!
//! Idle machine, commit 0539cef (`-- --warm-up-time 1 --measurement-time 3`): f64 full field
//! 167.8 µs; f64 span 20.5 µs with the whole-step coefficient path, 30.9 µs order by order (same
//! run); 334 bits 742.6 ms; ball point (a, w) 9.84 µs, all observables 16.4 µs. This VM's
//! timings drift between sessions (the earlier idle session read 25.4 µs span, 574 ms, 7.59 µs),
//! so compare entries within one run.
//!
//! Span reduction at 334 bits (this session, under load: 2 helpers + lead building on 2 cores,
//! `-- --warm-up-time 1 --measurement-time 3 mp334`): full field 992 ms, span 253 ms (3.9×, same
//! run; 51 steps of order 117 in both, rank 2, err_estimate 1.10e-96 in both).
//!
//! f64 span profile (perf, 200 000 solves of a scratch driver, under load; 20.9 µs/solve, 47
//! steps of order 13): `SpanJet::step_coeffs` 59 %, the integrator loop (norms, step choice,
//! Horner, dense output) 16.5 %, libm `pow` 11 % (two `powf` per step), allocation ≈ 5 %,
//! reduction set-up + expansion ≈ 3 %. The release build has no FMA (baseline x86-64: mulsd +
//! addsd), so the coefficient recurrence is latency-bound; not yet tried: an FMA path behind
//! runtime detection, one `exp(min ln(·)/m)` instead of two `powf`, a higher order for fewer steps.
//!
//! 2026-12-06, quiet machine (no build running), commit c699661, `-- --warm-up-time 1
//! --measurement-time 4`, two full runs (medians): f64 span 14.33 / 14.41 µs (order by order
//! 21.04 / 20.45; full field 121.3 / 118.0), 334-bit span 121.6 / 125.9 ms (full field 483 /
//! 506 ms), ball point (a, w) 4.08 / 3.72 µs, all observables 8.18 / 7.68 µs, ball expm1
//! 0.673 / 0.671 µs table vs 1.50 / 1.55 µs MPFR. The point's gains this session: |m| bounds
//! from the significand's top limb instead of `mpfr_get_d`, two rounded products instead of
//! MPFR's `fmma` in `mul_add_mul` (45 vs 67 ns), in-place ball operations in the closed form's
//! core (≈ 11 fewer allocations per point); the f64 span: the step size from two logarithms and
//! one exponential instead of two powers. An earlier run of the same day (commit 2442b93, same
//! settings, a build on the other core) read f64 span 13.93 µs, 334-bit span 120.2 ms, point
//! 3.92 µs; in a slow phase of this VM (unchanged code 35 % slower) the same entries read 18.8 µs
//! and 5.57 µs, so read entries against the unchanged references of the same run.
//!
//! Issue 14 item 5 (fast jets), `taylor/problem_L_anchor/f64_tol1e-10`: one f64 solve of the
//! peers' anchor (`../shared/bench/problem_L_anchor.json`, or `$LAZYRICH_SHARED_DIR/bench/…`;
//! skipped with a printed line when absent) on the full 11-D field, its 7 output times to
//! t = 20, with the f64 engine of the whole-step kernel; `…/f64_order_by_order_tol1e-10` is the
//! generic recurrence under the same step rule (A/B). The setup prints the error at t = 20 against a
//! 334-bit Taylor run (tol 1e-100) of the same decimal inputs. 2026-12-06, `-- --warm-up-time 1
//! --measurement-time 4` (3 for the interleaved runs), another `lazyrich simulate` busy on one
//! of the 2 cores throughout (load average 2.5 → 5, the VM in a slow phase for the later runs):
//! - quieter phase (load ≈ 2.5; old full field on problem L 117.2 µs, old span 13.54 µs, the
//!   same as the quiet 2026-12-06 figures above): anchor 21.3 µs, 32 steps of order 13, error
//!   at t = 20 1.25e-13; order by order (old kernel, new rule) 75.6 µs; problem L full field
//!   32.2 µs (49 steps; was 117.2 µs at 47 steps), span 14.0 µs (was 13.54: 49 steps instead of
//!   47 under the new rule).
//! - slow phase (load ≈ 4.5–5, old and new interleaved, three rounds): problem L full field old
//!   162–164 µs → new 46–48 µs; span old 20.0 / 21.1 / 20.0 µs → new 21.1 / 21.8 / 20.7 µs
//!   (+3–4 %, the two extra steps); anchor new 30.5–31.8 µs.
//! - anchor, old vs new in one process (scratch driver, min of 7 interleaved runs of 30 000
//!   solves): 101.2 → 30.0 µs (3.4×; old: 30 steps, error 1.5e-12 at t = 20). The peers measured
//!   the old code at 53–54 µs and heyoka at 18.7–18.9 µs (1.2e-13) in their session; scaled by
//!   the same-run ratio the new code is ≈ 16 µs there, but ≤ 19 µs has not been measured in
//!   this session (best median 21.3 µs).
//! - later on 2026-12-06 (branch `fastf64`), `-- --warm-up-time 1 --measurement-time 4`, the
//!   bench binary of the commit before (old) and of the two changes below run interleaved,
//!   `--bench problem_L_anchor/f64_tol1e-10`, two rounds, load average 2.8 → 2.0 (other
//!   engineers' builds): old 20.6 / 22.9 µs; f64 engine (jets kept order-major in the kernel,
//!   no copy into per-component `Vec`s, norms and Horner on its rows:
//!   [`lazyrich::taylor::StepperF64`]) 16.9 / 16.6 µs; engine + the kernel compiled for
//!   AVX-512 when the CPU has it 14.8 / 14.8 µs (≤ 19 µs, heyoka's time in the peers' run). All
//!   three: 32 steps of order 13, error at t = 20 1.25e-13, bit-identical (err_estimate
//!   4.85795631913035e-10 in each). Right after, old then new (engine + AVX-512), `--bench f64`,
//!   load ≈ 1.6: anchor 21.2 → 15.6 µs (order by order 82.0 → 80.3, unchanged code); problem L
//!   full field 32.1 → 24.2 µs; span 14.2 → 14.3 µs (unchanged code). A perf profile of the old entry: kernel 54 %, integrator
//!   loop 17.5 % (generic Horner and norms over per-component `Vec`s), the kernel's transpose
//!   into them 7 %, ln/exp 3 %; with the engine the kernel is ≈ 82 % of the solve. Measured and
//!   not adopted (scratch driver, same process, interleaved): skipping G's two zero padding
//!   columns (−2 %); the field in G's eigenbasis (w = Qv, u_k = λ ⊙ v_k, no mat-vec per order:
//!   −11 … −13 %, but results change at 2e-15 and the step rule's ∞-norms are not rotation
//!   invariant); a 16-lane kernel for d = 10 (slower than 12 lanes, with or without AVX-512).
//!
//! Issue 15 item 1 (branch `sngen`, 2026-12-06): the closed form is now one generic function
//! (`exact::single_neuron_generic`) instantiated in balls. Old (97c59a0) and new bench binaries
//! interleaved, `-- --warm-up-time 1 --measurement-time 2…3`, load average 4.6–5.8 (two other
//! engineers building): ball point (a, w) old 5.31 / 5.57 / 5.66 / 5.91 µs, new 5.34 / 5.36 /
//! 5.62 / 5.65 µs (one outlier 7.76); all observables old 7.5–14.5 µs, new 8.3–12.8 µs (too
//! noisy to call). The issue's ≤ 1.9 µs is not reached: a perf profile of the point is 40 %
//! MPFR multiplication (mpfr_mul + mpn_mul_basecase), 9 % the radius propagation of products,
//! 12 % additions — the generic form performs the same ball operations as the former ball code.
//!
//! Issue 15, the rigorous point (branch `sn`, 2026-12-07, commit 82f2a5d against 46eedab),
//! **under load**: load average 8–11 on the 2 cores throughout (other engineers' builds and
//! probes), so absolute figures are inflated; old and new binaries run alternately. Scratch
//! driver (min over 2000 batches of 50 `ClosedFormBall::state` calls at t = 7.3, three
//! alternating rounds): old 3.54 / 3.40 / 3.41 µs, new 2.75 / 2.76 / 2.77 µs (−19 %). Criterion
//! `-- --warm-up-time 1 --measurement-time 3 rigorous/problem_L/ball170_point`, two alternating
//! rounds: (a, w) old 7.09 / 7.22 µs, new 5.85 / 5.73 µs; all observables old 13.9 / 14.3 µs,
//! new 12.8 / 12.3 µs. Radii unchanged in substance: the printed max relative radius
//! 3.95781655e-38 → 3.95781659e-38, that of (a, w) 9.39769768e-50 → 9.39769778e-50. The gains:
//! the radius of every product and sum is one round-to-nearest f64 sum raised once
//! (`num::ball::sum_up`) instead of an upward rounding per operation, |m| bounds from the top 53
//! bits of the significand; the exponential tables at W = 191 bits instead of 192, where MPFR's
//! 3-limb fast paths (`mpfr_mul_3`, `add1sp3`, `sub1sp3`) apply; φ₁ at an exact midpoint with
//! one allocation. The issue's ≤ 1.9 µs is **not** reached. Profile of the new point (perf,
//! scratch driver, 1039 samples in `state`): w = w0/g + eβ* (ten fused products) 25 %,
//! expm1(λ₊t) 21 %, φ₁(δt) 19 %, 1/√g² 7 %, divisions 4 %, the other products and sums of A,
//! η_wI1 and g² 24 %; by leaf, MPFR/GMP arithmetic 57 % (`mpfr_mul` alone 23 %), our radius
//! path and glue 36 %, allocation 5 %. The point does ≈ 60 products, ≈ 45 sums, 2 divisions
//! and one 1/√ at 170 bits, so the MPFR arithmetic alone is ≈ 1.6 µs of the 2.75 µs: ≤ 1.9 µs
//! needs a midpoint arithmetic without MPFR's per-call cost (fixed 3-limb significands on the
//! stack) or fewer operations, beyond what bookkeeping cuts can give.
//!
//! Issue 15, the rigorous point again (branch `p15`, 2026-12-07, commits 6946119…HEAD against
//! 3b1e293), **under load** throughout: load average 5.3–9.2 on the 2 cores (two other
//! engineers' builds), old and new binaries run alternately. Changes, each measured with a
//! scratch driver (min over batches of 200 `ClosedFormBall::state` calls at t = 7.3, binaries of
//! the successive steps run in turn):
//! - the tables' working precision W = 182 bits at p = 170 (10 bits short of 3 limbs, 12 guard
//!   bits) instead of 191: MPFR 4.2.2's `mpfr_mul_3` forms the product from the high limbs and
//!   falls back to the full `mpn_mul_n` when the low sh − 2 of the sh = 192 − W spare bits
//!   cannot decide the rounding — always for sh = 1, so every table multiplication took the
//!   full product at W = 191 (≈ 2 % of them now); the series needs 7 terms instead of 8.
//!   Driver (load 5.8): 2.23 / 2.21 → 1.98 / 1.94 µs;
//! - no allocation in the point but its results: in-place forms of the scalar trait
//!   (`Real::set_times`, `set_mul_add_mul`, `set_over`, `set_rsqrt`, `set_expm1_in`, …, with
//!   allocating defaults for f64 and MPFR), the linearised route written once against them
//!   (`GenericClosedForm::core_with`, intermediates in a `CoreWork` kept per thread by
//!   `ClosedFormBall`), the allocating ball operations now the in-place ones written into a new
//!   ball; J = ⌊|r|·2²⁴⌋ of the table split read from the top limb (`mpfr_get_ui` rounds through
//!   an allocated temporary). Driver (load 7.1): 1.84 / 1.84 → 1.61 / 1.66 µs;
//! - w = w0/g + eβ* as one vector primitive (`Real::lin_comb_r`, `Ball::lin_comb`: the bounds of
//!   |1/g|, |e| read once, one scratch number, each ball written where it stays) and three copies
//!   fewer per table exponential. Driver (load 6.2–8.9): 1.67 / 1.67 → 1.62 / 1.62 µs, the last
//!   step (balls written in place) ≈ 1 %, within noise.
//!
//! The second and third steps leave every ball bit-identical; the W change moves the radii by
//! 1e-5 of themselves: max relative radius of (a, w) 9.39769778e-50 → 9.39780320e-50, the
//! printed one (all observables) 3.95781659e-38 → 3.95786157e-38.
//! Whole series, driver, alternating (load 8.1–8.9): old 2.23 / 2.21 / 2.24 µs, new 1.65 /
//! 1.64 / 1.65 µs (−26 %). Criterion `-- --warm-up-time 2 --measurement-time 5
//! rigorous/problem_L/ball170_point`, old (3b1e293) and new binaries alternating, three rounds
//! at load 8.1 → 6.4 (medians inflated ≈ 1.5–2× against the idle 2.32 µs of the old point
//! measured last session): (a, w) old 5.09 / 4.88 / 3.68 µs, new 3.59 / 3.67 / 2.54 µs (new/old
//! 0.70 / 0.75 / 0.69); all observables old 11.3 / 10.3 / 7.57 µs, new 9.27 / 5.18 / 7.19 µs
//! (their extra work, `observables`, still allocates per value). An earlier round with the
//! commit before the last step (load 6.5–7.3): (a, w) old 4.87 / 4.82 / 4.76, new 3.44 / 2.61 /
//! 3.48 µs. A later round (load 5.1–5.8, the VM switching speed within a run): (a, w) old
//! 3.57 / 3.47 / 2.41 µs, new 2.57 / 2.48 / 2.38 µs; all observables old 7.44 / 7.33 / 5.79,
//! new 7.36 / 6.60 / 9.43 µs — criterion's 7 s runs do not separate the two under this load,
//! the driver's minima do: four more alternating pairs at load 6.3–6.5, old 2.25 / 2.24 / 2.24 /
//! 2.29 µs, new 1.68 / 1.72 / 1.70 / 1.68 µs (new/old 0.73–0.77). Last round (load 3.4–4.6):
//! criterion (a, w) old 3.55 / 3.64 µs, new 2.61 / 2.63 µs (0.73); all observables old 7.39 /
//! 7.66, new 6.47 / 7.25 µs; driver old 2.26 / 2.25, new 1.71 / 1.71 µs. Scaled by that ratio,
//! the idle (a, w) point is ≈ 1.6–1.8 µs (≤ 1.9 µs), but this session had no idle period to
//! measure it in: ≤ 1.9 µs is inferred, not measured.
//!
//! Profile of the point (perf, driver, 9314 samples, load ≈ 8; the commit before the last step,
//! which changes only how `lin_comb` stores its balls): w = w0/g + eβ* (ten
//! results allocated) 25 %, expm1(λ₊t) 18 %, φ₁(δt) with its division 15 %, 1/√g² 9 %, the
//! division of m₋ 4 %, the other products and sums of the core 20 %, outside the point (the
//! driver's loop, dropping the results) 8 %; by leaf, `mpfr_mul` 21 %, MPFR additions and
//! subtractions 18 %, `mpfr_rec_sqrt` 8 %, divisions 5 %, other MPFR/GMP (copies, conversions)
//! 10 %, allocation and release (the results) 6 %, our radius path and glue 31 % (of which the
//! driver's loop ≈ 4 %). What is left is MPFR's per-call cost on ≈ 58 products, ≈ 40 sums, 2
//! divisions and one 1/√ (≈ 60 % of the time) and the f64 radius of each (≈ 25 %); a further
//! large cut needs fixed 3-limb midpoints without MPFR's per-call dispatch (not done: that is
//! hand-written mantissa arithmetic), or an API that reuses the caller's result balls (the
//! eleven result allocations are ≈ 6 %).
//!
//! `rigorous/problem_L/ball170_{expm1,phi1}_{mpfr,table}`: one ball expm1 (argument 7.3) and one
//! φ₁ (argument 0.0021) at 170 bits, MPFR (`Ball`) vs the table-based `num::ball_exp::ExpTable`.
//! Under load (issue-3b session, 2026-11-23, load average ≈ 3.7, `--measurement-time 3`):
//! expm1 2.64 µs MPFR vs 1.17 µs table, φ₁ 2.09 µs vs 1.21 µs; with the tables wired into
//! `ClosedFormBall`, point (a, w) 6.96 µs, all observables 13.9 µs (same commit before wiring,
//! load ≈ 4.6: 16.9 µs and 27.3 µs — different load, not an A/B). Not yet re-measured idle.

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::case::{Case, SingleNeuronCase};
use lazyrich::exact::single_neuron_ball::ClosedFormBall;
use lazyrich::models::samples;
use lazyrich::models::single_neuron::SingleNeuron;
use lazyrich::num::ball::Ball;
use lazyrich::num::ball_exp::ExpTable;
use lazyrich::num::decimal::Num;
use lazyrich::taylor::single_neuron::SingleNeuronJet;
use lazyrich::taylor::single_neuron_span as span;
use lazyrich::taylor::{TaylorOptions, integrate};
use rug::Float;
use std::hint::black_box;

fn taylor(c: &mut Criterion) {
    let case = samples::problem_l(1);
    let m = SingleNeuron::new(&case.x_f64(), &case.y_f64(), 1.0, 1.0).unwrap();
    let th0 = m.theta(case.a0.to_f64(), &case.w0_f64()).unwrap();
    let times = case.times_f64();
    let mut g = c.benchmark_group("taylor/problem_L");
    let mut f = SingleNeuronJet::from_model(&m);
    let opts = TaylorOptions::new(1e-10);
    let st = integrate(&mut f, &th0, &times, &opts).unwrap().stats;
    eprintln!("f64 tol 1e-10: {st:?}");
    g.bench_function("f64_tol1e-10", |b| {
        b.iter(|| integrate(&mut f, black_box(&th0), &times, &opts).unwrap())
    });
    let st = span::solve(&m, &th0, &times, &opts).unwrap().stats;
    eprintln!("f64 span tol 1e-10: {st:?}");
    g.bench_function("f64_span_tol1e-10", |b| {
        b.iter(|| span::solve(&m, black_box(&th0), &times, &opts).unwrap())
    });
    // A/B: the same span solve with the whole-step fast path off (order-by-order recurrence).
    g.bench_function("f64_span_order_by_order_tol1e-10", |b| {
        b.iter(|| {
            let mut red = span::SpanReduction::new(&m, black_box(&th0)).unwrap();
            red.set_step_fast(false);
            let x0 = red.x0.clone();
            let tr = integrate(&mut red.field, &x0, &times, &opts).unwrap();
            tr.states.iter().map(|x| red.expand(x)).collect::<Vec<_>>()
        })
    });
    let p = 334;
    let mut fm = SingleNeuronJet::from_case(&case, p);
    let mut x0 = vec![case.a0.to_mp(p)];
    x0.extend(case.w0.iter().map(|v| v.to_mp(p)));
    let tm: Vec<Float> = case.times.iter().map(|t| t.to_mp(p)).collect();
    let optm = TaylorOptions::new(1e-100);
    let st = integrate(&mut fm, &x0, &tm, &optm).unwrap().stats;
    eprintln!("334 bits tol 1e-100: {st:?}");
    g.sample_size(10);
    g.bench_function("mp334_tol1e-100", |b| {
        b.iter(|| integrate(&mut fm, black_box(&x0), &tm, &optm).unwrap())
    });
    // Problem L as X = I, y = Xᵀy (as `rigorous` below): G = I exactly, so the span reduction at
    // 334 bits keeps 2 directions; reduction set-up and expansion to θ = (a, w) included.
    let lw = samples::problem_l_whitened(1);
    let (trs, rank) = span::solve_mp(&lw, p, &optm).unwrap();
    eprintln!(
        "334 bits span (X = I, y = Xᵀy) tol 1e-100: rank {rank}, {:?}",
        trs.stats
    );
    g.bench_function("mp334_span_tol1e-100", |b| {
        b.iter(|| span::solve_mp(black_box(&lw), p, &optm).unwrap())
    });
    g.finish();
}

/// The anchor case `$LAZYRICH_SHARED_DIR/bench/problem_L_anchor.json` (default: `shared`
/// beside the repository, as in CI); `None` with a printed line if it is absent.
fn anchor_case() -> Option<SingleNeuronCase> {
    let dir = std::env::var("LAZYRICH_SHARED_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared").to_string());
    let path = format!("{dir}/bench/problem_L_anchor.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{path} not found: taylor/problem_L_anchor skipped (set LAZYRICH_SHARED_DIR)");
        return None;
    };
    match Case::from_json(&text) {
        Ok(Case::SingleNeuron(c)) => Some(c),
        Ok(other) => {
            eprintln!(
                "{path} is a {} case: taylor/problem_L_anchor skipped",
                other.model_name()
            );
            None
        }
        Err(e) => {
            eprintln!("{path}: {e}: taylor/problem_L_anchor skipped");
            None
        }
    }
}

/// Issue 14: one f64 solve of the peers' problem-L anchor (full 11-D field, tol 1e-10, its
/// output times to t = 20), with the whole-step kernel and order by order; the error at t = 20
/// against a 334-bit Taylor run of the same decimal inputs is printed.
fn anchor(c: &mut Criterion) {
    let Some(case) = anchor_case() else {
        return;
    };
    let m = SingleNeuron::new(&case.x_f64(), &case.y_f64(), case.eta_a.to_f64(), case.eta_w.to_f64()).unwrap();
    let th0 = m.theta(case.a0.to_f64(), &case.w0_f64()).unwrap();
    let times = case.times_f64();
    let opts = TaylorOptions::new(1e-10);
    let p = 334;
    let mut fm = SingleNeuronJet::from_case(&case, p);
    let mut x0 = vec![case.a0.to_mp(p)];
    x0.extend(case.w0.iter().map(|v| v.to_mp(p)));
    let tm: Vec<Float> = case.times.iter().map(|t| t.to_mp(p)).collect();
    let reference = integrate(&mut fm, &x0, &tm, &TaylorOptions::new(1e-100)).unwrap();
    let last_ref: Vec<f64> = reference.states.last().unwrap().iter().map(|v| v.to_f64()).collect();
    let mut f = SingleNeuronJet::from_model(&m);
    let mut g = c.benchmark_group("taylor/problem_L_anchor");
    for fast in [true, false] {
        f.set_step_fast(fast);
        let tr = integrate(&mut f, &th0, &times, &opts).unwrap();
        let err = tr
            .states
            .last()
            .unwrap()
            .iter()
            .zip(&last_ref)
            .map(|(x, r)| (x - r).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "anchor f64 tol 1e-10 (step kernel {fast}): error at t = 20 {err:.2e}, {:?}",
            tr.stats
        );
        let name = if fast {
            "f64_tol1e-10"
        } else {
            "f64_order_by_order_tol1e-10"
        };
        g.bench_function(name, |b| {
            b.iter(|| integrate(&mut f, black_box(&th0), &times, &opts).unwrap())
        });
    }
    g.finish();
}

fn rigorous(c: &mut Criterion) {
    let case = samples::problem_l_whitened(1);
    let cf = ClosedFormBall::new(&case, 170).unwrap();
    let t = Ball::from_num(&Num::parse("7.3").unwrap(), 170).unwrap();
    let pb = cf.point_at(&t).unwrap();
    eprintln!("ball170 point at t = 7.3: max relative radius {:e}", pb.max_rel_rad());
    let mut g = c.benchmark_group("rigorous/problem_L");
    // One ball exponential at 170 bits, MPFR (`Ball`) vs the table-based `ExpTable`: expm1 at the
    // point's λ₊t-sized argument and φ₁ at its δt-sized one (balls with a rounding radius).
    let table = ExpTable::new(170).unwrap();
    let x_big = Ball::from_num(&Num::parse("7.3").unwrap(), 170).unwrap();
    let x_small = Ball::from_num(&Num::parse("0.0021").unwrap(), 170).unwrap();
    g.bench_function("ball170_expm1_mpfr", |b| b.iter(|| black_box(&x_big).expm1()));
    g.bench_function("ball170_expm1_table", |b| b.iter(|| table.expm1(black_box(&x_big))));
    g.bench_function("ball170_phi1_mpfr", |b| b.iter(|| black_box(&x_small).expm1_over_x()));
    g.bench_function("ball170_phi1_table", |b| {
        b.iter(|| table.expm1_over_x(black_box(&x_small)))
    });
    g.bench_function("ball170_point_a_w", |b| b.iter(|| cf.state(black_box(&t)).unwrap()));
    g.bench_function("ball170_point_all_observables", |b| {
        b.iter(|| cf.point_at(black_box(&t)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, taylor, anchor, rigorous);
criterion_main!(benches);
