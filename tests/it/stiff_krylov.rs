//! The IMEX pairs with an implicit subspace sized by Lanczos (`ImexOptions::adaptive`): global
//! error against a known solution on linear least-squares gradient flows with several stiff
//! modes, the rank-one split's failure regime (warning, not a silent miss), the stall error,
//! and `bench-problem-r --data / --theta-out`.
//!
//! Seeds are explicit constants and printed.

use crate::common;

use common::{expect_bad, json_of, run};
use lazyrich::flow::imex::{ARK436, ARK548, ImexError, ImexOptions, integrate_imex, integrate_imex_jumps};
use lazyrich::models::{StiffModes, StiffSplit, VectorField};
use lazyrich::num::lanczos::lanczos_top;
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Linear least-squares gradient flow y′ = −A(y − y*), A = Q diag(λ) Qᵀ symmetric positive
/// definite: y(t) = y* + Q e^{−Λt} Qᵀ (y0 − y*), exactly (the matrix exponential of a
/// diagonalised symmetric matrix, evaluated from Q and λ — independent of the integrator).
struct LinearLsq {
    a: DMatrix<f64>,
    q: DMatrix<f64>,
    lam: Vec<f64>,
    ystar: DVector<f64>,
}

impl LinearLsq {
    /// n unknowns, `stiff` eigenvalues log-spaced in [1e2, 1e4], the rest in [0.1, 1].
    fn new(n: usize, stiff: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = DMatrix::from_fn(n, n, |_, _| StandardNormal.sample(&mut rng));
        let q = g.qr().q();
        let lam: Vec<f64> = (0..n)
            .map(|i| {
                if i < stiff {
                    10f64.powf(2.0 + 2.0 * i as f64 / (stiff.max(2) - 1) as f64)
                } else {
                    0.1 + 0.9 * (i - stiff) as f64 / (n - stiff) as f64
                }
            })
            .collect();
        let a = &q * DMatrix::from_diagonal(&DVector::from_vec(lam.clone())) * q.transpose();
        let ystar = DVector::from_fn(n, |_, _| StandardNormal.sample(&mut rng));
        LinearLsq { a, q, lam, ystar }
    }
    fn exact(&self, y0: &[f64], t: f64) -> Vec<f64> {
        let c = self.q.transpose() * (DVector::from_column_slice(y0) - &self.ystar);
        let e = DVector::from_fn(c.len(), |i, _| (-self.lam[i] * t).exp() * c[i]);
        (&self.ystar + &self.q * e).as_slice().to_vec()
    }
}

impl VectorField for LinearLsq {
    fn dim(&self) -> usize {
        self.lam.len()
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        let n = self.dim();
        for (i, o) in dy.iter_mut().enumerate() {
            *o = -(0..n).map(|j| self.a[(i, j)] * (y[j] - self.ystar[j])).sum::<f64>();
        }
    }
    fn jacobian_inplace(&self, _y: &[f64], jac: &mut [f64]) {
        jac.iter_mut().zip(self.a.iter()).for_each(|(o, a)| *o = -a);
    }
    fn jvp_inplace(&self, _y: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.dim();
        for (i, o) in out.iter_mut().enumerate() {
            *o = -(0..n).map(|j| self.a[(i, j)] * v[j]).sum::<f64>();
        }
    }
}

/// Rank one (the top mode exactly, as the ReLU flow's rank-one split), and Lanczos on A for
/// the adaptive request (the library's `lanczos_top`, as the ReLU flow does).
impl StiffSplit for LinearLsq {
    fn stiff_modes(&self, _y: &[f64], modes: &mut StiffModes) {
        let i = (0..self.dim())
            .max_by(|&i, &j| self.lam[i].total_cmp(&self.lam[j]))
            .unwrap();
        modes.mu = vec![self.lam[i]];
        modes.v = vec![self.q.column(i).iter().copied().collect()];
    }
    fn stiff_modes_above(&self, y: &[f64], cut: f64, modes: &mut StiffModes) -> Option<f64> {
        let n = self.dim();
        let mut start = vec![1.0; n];
        for v in &modes.v {
            start.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
        // Decay rates: eigenvalues of −∂F/∂y = A.
        let minus_jvp = |v: &[f64], o: &mut [f64]| {
            self.jvp_inplace(y, v, o);
            o.iter_mut().for_each(|x| *x = -*x);
        };
        let ritz = lanczos_top(minus_jvp, n, &start, n, |l| l >= cut);
        Some(modes.take_ritz(ritz, cut, usize::MAX))
    }
}

/// Global error at the end allowed, in units of the tolerance rtol·max|y| + atol. The
/// controller keeps each step's local error below the tolerance; on a contractive flow
/// (A positive definite) local errors are not amplified, and with tolerance proportionality
/// (Hairer, Nørsett & Wanner I, §II.4) the global error is a modest multiple of the tolerance.
/// 10 is the factor the issue calls "small": a missed tolerance of the kind reported (20×)
/// fails it.
const GLOBAL_FACTOR: f64 = 10.0;

const SEED: u64 = 19;

#[test]
fn adaptive_split_keeps_its_tolerance_on_linear_least_squares() {
    let (n, stiff) = (40, 6);
    eprintln!("seed {SEED}, n = {n}, {stiff} stiff modes in [1e2, 1e4]");
    let f = LinearLsq::new(n, stiff, SEED);
    let y0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let t_end = 5.0;
    let exact = f.exact(&y0, t_end);
    let ymax = exact.iter().chain(&y0).fold(0.0f64, |m, v| m.max(v.abs()));
    for rtol in [1e-6, 1e-8, 1e-10] {
        let atol = rtol / 100.0;
        let opts = ImexOptions::new().with_tol(rtol, atol).with_adaptive(true);
        let tr = integrate_imex(&f, &y0, &[0.0, t_end], &opts).expect("integrates");
        let y = tr.states.last().unwrap();
        let err = y.iter().zip(&exact).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        let tol = rtol * ymax + atol;
        eprintln!(
            "rtol {rtol:.0e}: max|y − exact| = {err:.2e} = {:.2} × tol, {} steps ({} rejected), rank {}, explicit stiffness {:.2}",
            err / tol,
            tr.stats.steps,
            tr.stats.rejected_steps,
            tr.stats.max_rank,
            tr.stats.max_explicit_stiffness
        );
        assert!(
            err <= GLOBAL_FACTOR * tol,
            "rtol {rtol:.0e}: {err:.2e} > {GLOBAL_FACTOR} × {tol:.2e}"
        );
        assert!(tr.stats.max_rank >= 2, "several modes must be implicit");
        assert!(tr.warnings.is_empty(), "{:?}", tr.warnings);
    }
}

/// The rank-one split on the same problem: modes 2…6 stay explicit, the step is bounded by
/// their stability limit (≈ 3.8/λ₂), the controller rejects steps — and the run says so
/// (warning naming the decay rate) instead of a silent result.
#[test]
fn rank_one_split_warns_when_more_modes_are_stiff() {
    let (n, stiff) = (40, 6);
    eprintln!("seed {SEED}");
    let f = LinearLsq::new(n, stiff, SEED);
    let y0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let opts = ImexOptions::new().with_tol(1e-6, 1e-8);
    let tr = integrate_imex(&f, &y0, &[0.0, 5.0], &opts).expect("integrates");
    eprintln!(
        "rank one: {} steps ({} rejected), explicit stiffness {:.2}, warnings {:?}",
        tr.stats.steps, tr.stats.rejected_steps, tr.stats.max_explicit_stiffness, tr.warnings
    );
    assert!(
        tr.warnings.iter().any(|w| w.contains("stiffness assumption")),
        "{:?}",
        tr.warnings
    );
}

/// A controller that cannot make progress stops with an error naming t, the step and the
/// cause: a field that turns non-finite beyond y₀ = 1.
#[test]
fn stalled_controller_is_an_error() {
    struct Blowup;
    impl VectorField for Blowup {
        fn dim(&self) -> usize {
            1
        }
        fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
            dy[0] = if y[0] > 1.0 + 1e-12 { f64::NAN } else { 1.0 };
        }
        fn jacobian_inplace(&self, _y: &[f64], jac: &mut [f64]) {
            jac[0] = 0.0;
        }
        fn jvp_inplace(&self, _y: &[f64], _v: &[f64], out: &mut [f64]) {
            out[0] = 0.0;
        }
    }
    impl StiffSplit for Blowup {
        fn stiff_modes(&self, _y: &[f64], modes: &mut StiffModes) {
            *modes = StiffModes::default();
        }
    }
    let e = integrate_imex(&Blowup, &[0.5], &[0.0, 2.0], &ImexOptions::new()).unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(
        matches!(e, ImexError::Stalled { .. } | ImexError::Failed { .. }),
        "{msg}"
    );
    assert!(msg.contains("t = "), "{msg}");
}

/// `bench-problem-r --data DIR --theta-out FILE` on a tiny data set written here: sizes
/// inferred, the final θ written in th0's layout, and exit-2 errors for missing, short and
/// mismatched files.
#[test]
fn bench_problem_r_reads_raw_data_and_writes_theta() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d, h) = (30usize, 4usize, 12usize);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut g = |k: usize, s: f64| -> Vec<f64> {
        (0..k)
            .map(|_| {
                let v: f64 = StandardNormal.sample(&mut rng);
                s * v
            })
            .collect()
    };
    let x = g(n * d, 0.5);
    let y: Vec<f64> = x.chunks(d).map(|r| r[0].max(0.0)).collect();
    let th0 = [g(h * d, 1.0), g(h, (1.0 / h as f64).sqrt())].concat();
    let write = |name: &str, v: &[f64]| {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(dir.path().join(name), b).unwrap();
    };
    write("x.f64", &x);
    write("y.f64", &y);
    write("th0.f64", &th0);
    let out = dir.path().join("theta.f64");
    let (ds, os) = (dir.path().to_str().unwrap(), out.to_str().unwrap());
    for m in [
        "tsit45",
        "ark548-lanczos",
        "ark548-kinks",
        "ark548-kinks-rem",
        "ark548-events",
        "ark436-events",
    ] {
        let v = json_of(&run(&[
            "bench-problem-r",
            "--data",
            ds,
            "--t-end",
            "1",
            "--runs",
            "1",
            "--method",
            m,
            "--theta-out",
            os,
        ]));
        assert_eq!(
            (v["d"].as_u64(), v["h"].as_u64(), v["n"].as_u64()),
            (Some(4), Some(12), Some(30))
        );
        assert_eq!(v["method"], m, "the method reported is the one asked for");
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len(), th0.len() * 8, "{m}: θ in th0's layout");
    }
    expect_bad(&["bench-problem-r", "--data", ds, "--h", "13", "--runs", "1"], "--h 13");
    write("th0.f64", &th0[..th0.len() - 1]);
    expect_bad(&["bench-problem-r", "--data", ds, "--runs", "1"], "th0.f64");
    std::fs::remove_file(dir.path().join("y.f64")).unwrap();
    expect_bad(&["bench-problem-r", "--data", ds, "--runs", "1"], "y.f64");
}

/// A reduced problem R (the built-in generator at d = 5, h = 30, n = 40, seed 2024, t ∈ [0, 2]):
/// the adaptive split and tsit45 against tsit45 at rtol 1e-12 (the reference), at rtol
/// 1e-6 … 1e-10.
#[test]
fn adaptive_split_on_a_reduced_problem_r() {
    use lazyrich::flow::{FlowOptions, Method, integrate};
    use lazyrich::models::ParameterFlow;
    use lazyrich::models::piecewise_linear::problem_r;
    eprintln!("problem_r(5, 30, 40, seed 2024), t ∈ [0, 2]");
    let (m, th0) = problem_r(5, 30, 40, 2024).unwrap();
    let times = [0.0, 2.0];
    let reference = integrate(
        &ParameterFlow(&m),
        &th0,
        &times,
        &FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14),
    )
    .unwrap();
    let r = reference.states.last().unwrap();
    let ymax = r.iter().chain(&th0).fold(0.0f64, |a, v| a.max(v.abs()));
    let mut errs = Vec::new();
    for rtol in [1e-6, 1e-8, 1e-10] {
        let atol = rtol / 100.0;
        let opts = ImexOptions::new().with_tol(rtol, atol).with_adaptive(true);
        let tr = integrate_imex(&ParameterFlow(&m), &th0, &times, &opts).unwrap();
        let y = tr.states.last().unwrap();
        let err = y.iter().zip(r).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
        let tol = rtol * ymax + atol;
        eprintln!(
            "rtol {rtol:.0e}: max|θ − ref| = {err:.2e} = {:.2} × tol, {} steps ({} rejected), rank {}",
            err / tol,
            tr.stats.steps,
            tr.stats.rejected_steps,
            tr.stats.max_rank
        );
        let ts = integrate(
            &ParameterFlow(&m),
            &th0,
            &times,
            &FlowOptions::new(Method::Tsit45).with_tol(rtol, atol),
        )
        .unwrap();
        let e2 = ts
            .states
            .last()
            .unwrap()
            .iter()
            .zip(r)
            .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
        eprintln!(
            "   tsit45 at the same tolerance: {e2:.2e} = {:.2} × tol, {} steps",
            e2 / tol,
            ts.stats.steps
        );
        // Not asserted against GLOBAL_FACTOR: on this kinked (ReLU) field neither method keeps
        // it (measured max|Δθ|/tol: ark548-lanczos 28 / 89 / 149, tsit45 18 / 80 / 61 at rtol
        // 1e-6 / 1e-8 / 1e-10) — the error estimators of both pairs under-read steps that
        // cross activation kinks (a documented limitation, module doc of flow::imex). Asserted
        // below: convergence — a tighter tolerance gives a smaller end error.
        errs.push(err);
    }
    assert!(
        errs.windows(2).all(|w| w[1] < w[0]),
        "the end error must shrink as rtol goes 1e-6 → 1e-8 → 1e-10: {errs:?}"
    );
}

/// A reduced problem R with the peers' data distribution (x ~ N(0, I/d), teacher
/// y = Σ_{j<3} relu(√d·x_j), W ~ N(0, I), a ~ N(0, 1/h), loss 1/(2n)Σ), seed printed.
fn peers_like(
    d: usize,
    h: usize,
    n: usize,
    seed: u64,
) -> (lazyrich::models::piecewise_linear::PiecewiseLinear, Vec<f64>) {
    use lazyrich::models::piecewise_linear::{LossScale, PiecewiseLinear};
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = |k: usize, s: f64| -> Vec<f64> {
        (0..k)
            .map(|_| {
                let v: f64 = StandardNormal.sample(&mut rng);
                s * v
            })
            .collect()
    };
    let x = g(n * d, (1.0 / d as f64).sqrt());
    let sd = (d as f64).sqrt();
    let y: Vec<f64> = x
        .chunks(d)
        .map(|r| r[..3].iter().map(|v| (sd * v).max(0.0)).sum())
        .collect();
    let th0 = [g(h * d, 1.0), g(h, (1.0 / h as f64).sqrt())].concat();
    let m = PiecewiseLinear::new(x, n, d, y, h, 0.0, 1.0, 1.0, LossScale::HalfMean).unwrap();
    (m, th0)
}

/// A peers-like reduced problem R ([`peers_like`]) on [0, t_end] and its independent reference:
/// the event-located integration of the switched field (`integrate_switched` on
/// `FrozenPatternFlow`, every surface crossing located, tsit45 at rtol 1e-12), required to cross
/// transversally (no sliding; the module doc of `flow::kinks` assumes it).
struct KinkedCase {
    m: lazyrich::models::piecewise_linear::PiecewiseLinear,
    th0: Vec<f64>,
    times: [f64; 2],
    /// The reference's final state.
    end: Vec<f64>,
    /// max |θ| over θ0 and the reference's end (the tolerance's scale).
    ymax: f64,
    /// Switches the reference located.
    switches: usize,
}

fn kinked_case(d: usize, h: usize, n: usize, seed: u64, t_end: f64) -> KinkedCase {
    use lazyrich::flow::{FlowOptions, Method, integrate_switched};
    use lazyrich::models::piecewise_linear::FrozenPatternFlow;
    eprintln!("peers-like reduced problem R: d {d}, h {h}, n {n}, seed {seed}, t ∈ [0, {t_end}]");
    let (m, th0) = peers_like(d, h, n, seed);
    let times = [0.0, t_end];
    // The reference of one (d, h, n, seed, t_end) is computed once per test binary (three tests
    // use each of the two problems): its final state and switch count.
    type Key = (usize, usize, usize, u64, u64);
    static REFERENCES: std::sync::Mutex<Vec<(Key, Vec<f64>, usize)>> = std::sync::Mutex::new(Vec::new());
    let key = (d, h, n, seed, t_end.to_bits());
    let mut refs = REFERENCES.lock().unwrap_or_else(|e| e.into_inner());
    if !refs.iter().any(|(k, ..)| *k == key) {
        let reference = integrate_switched(
            &FrozenPatternFlow::new(&m, &th0),
            &th0,
            &times,
            &FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14),
        )
        .expect("event-located reference");
        eprintln!(
            "reference: {} steps, {} events, {} switches, {} sliding segments",
            reference.stats.steps, reference.events, reference.switches, reference.sliding_segments
        );
        assert_eq!(reference.sliding_segments, 0, "transversal crossings only (module doc)");
        refs.push((key, reference.states.last().unwrap().clone(), reference.switches));
    }
    let (_, end, switches) = refs.iter().find(|(k, ..)| *k == key).cloned().expect("computed above");
    drop(refs);
    let ymax = end.iter().chain(&th0).fold(0.0f64, |a, v| a.max(v.abs()));
    KinkedCase {
        m,
        th0,
        times,
        end,
        ymax,
        switches,
    }
}

/// The error-control property (issue 19, item 2) on a ReLU flow with activation switches: the
/// jump-corrected pair (`integrate_imex_jumps`, CLI `ark548-kinks`) ends within
/// [`GLOBAL_FACTOR`] × its tolerance of an independent reference — the event-located
/// integration of the switched field (`integrate_switched` on `FrozenPatternFlow`: every
/// surface crossing located and the method restarted there, so its steps never straddle a
/// kink) at rtol 1e-12 — at rtol 1e-6, 1e-8 and 1e-10. The plain pairs are printed for
/// comparison (they miss it by 10–50× on such flows; module doc of `flow::kinks`).
#[test]
fn jump_corrected_pair_keeps_its_tolerance_across_kinks() {
    use lazyrich::flow::{FlowOptions, Method, integrate};
    use lazyrich::models::ParameterFlow;
    let KinkedCase {
        m,
        th0,
        times,
        end,
        ymax,
        switches,
    } = kinked_case(20, 30, 40, 1919, 1.0);
    assert!(switches >= 3, "the test needs kinks to cross");
    let end_err = |y: &[f64]| y.iter().zip(&end).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    for rtol in [1e-6, 1e-8, 1e-10] {
        let atol = rtol / 100.0;
        let tol = rtol * ymax + atol;
        let opts = ImexOptions::new().with_tol(rtol, atol).with_adaptive(true);
        let tr = integrate_imex_jumps(&ParameterFlow(&m), &th0, &times, &opts).unwrap();
        let err = end_err(tr.states.last().unwrap());
        let plain = integrate_imex(&ParameterFlow(&m), &th0, &times, &opts).unwrap();
        let ts = integrate(
            &ParameterFlow(&m),
            &th0,
            &times,
            &FlowOptions::new(Method::Tsit45).with_tol(rtol, atol),
        )
        .unwrap();
        eprintln!(
            "rtol {rtol:.0e}: ark548-kinks {:.2} × tol ({} steps, {} rejected, {} crossings, {} jump terms); \
             ark548-lanczos {:.2} × tol ({} steps); tsit45 {:.2} × tol ({} steps)",
            err / tol,
            tr.stats.steps,
            tr.stats.rejected_steps,
            tr.stats.crossings,
            tr.stats.jump_terms,
            end_err(plain.states.last().unwrap()) / tol,
            plain.stats.steps,
            end_err(ts.states.last().unwrap()) / tol,
            ts.stats.steps
        );
        assert!(tr.stats.crossings >= 1, "rtol {rtol:.0e}: no crossing seen");
        assert!(
            err <= GLOBAL_FACTOR * tol,
            "rtol {rtol:.0e}: {err:.2e} > {GLOBAL_FACTOR} × {tol:.2e}"
        );
    }
}

/// [`JumpError::Remainder`] (CLI `ark548-kinks-rem`): the jump-corrected pair counting only an
/// estimate of what its correction leaves, on the same problem and reference as
/// `jump_corrected_pair_keeps_its_tolerance_across_kinks`, held to the same [`GLOBAL_FACTOR`].
#[test]
fn remainder_counting_pair_keeps_its_tolerance_across_kinks() {
    use lazyrich::flow::kinks::JumpError;
    use lazyrich::models::ParameterFlow;
    let KinkedCase {
        m,
        th0,
        times,
        end,
        ymax,
        ..
    } = kinked_case(20, 30, 40, 1919, 1.0);
    let end_err = |y: &[f64]| y.iter().zip(&end).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    for rtol in [1e-6, 1e-8, 1e-10] {
        let atol = rtol / 100.0;
        let tol = rtol * ymax + atol;
        let base = ImexOptions::new().with_tol(rtol, atol).with_adaptive(true);
        let full = integrate_imex_jumps(&ParameterFlow(&m), &th0, &times, &base).unwrap();
        let rem = integrate_imex_jumps(
            &ParameterFlow(&m),
            &th0,
            &times,
            &base.with_jump_error(JumpError::Remainder),
        )
        .unwrap();
        let err = end_err(rem.states.last().unwrap());
        eprintln!(
            "rtol {rtol:.0e}: remainder {:.2} × tol ({} steps, {} rejected, {} crossings, {} Hermite fallbacks); \
             full {:.2} × tol ({} steps, {} rejected)",
            err / tol,
            rem.stats.steps,
            rem.stats.rejected_steps,
            rem.stats.crossings,
            rem.stats.hermite_fallbacks,
            end_err(full.states.last().unwrap()) / tol,
            full.stats.steps,
            full.stats.rejected_steps
        );
        assert!(
            err <= GLOBAL_FACTOR * tol,
            "rtol {rtol:.0e}: {err:.2e} > {GLOBAL_FACTOR} × {tol:.2e}"
        );
    }
}

/// The remainder-counting pair on a reduced problem R with h = 100 (peers-like data, d = 100,
/// n = 100, t ∈ [0, 1]) against the event-located reference at rtol 1e-12, held to
/// [`GLOBAL_FACTOR`] at rtol 1e-6, 1e-8 and 1e-10; the plain adaptive pair is printed beside it.
#[test]
fn remainder_counting_pair_on_reduced_problem_r_h100() {
    use lazyrich::flow::kinks::JumpError;
    use lazyrich::models::ParameterFlow;
    let KinkedCase {
        m,
        th0,
        times,
        end,
        ymax,
        ..
    } = kinked_case(100, 100, 100, 2024, 1.0);
    let end_err = |y: &[f64]| y.iter().zip(&end).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    for rtol in [1e-6, 1e-8, 1e-10] {
        let atol = rtol / 100.0;
        let tol = rtol * ymax + atol;
        let base = ImexOptions::new().with_tol(rtol, atol).with_adaptive(true);
        let rem = integrate_imex_jumps(
            &ParameterFlow(&m),
            &th0,
            &times,
            &base.with_jump_error(JumpError::Remainder),
        )
        .unwrap();
        let plain = integrate_imex(&ParameterFlow(&m), &th0, &times, &base).unwrap();
        let err = end_err(rem.states.last().unwrap());
        eprintln!(
            "rtol {rtol:.0e}: remainder {:.2} × tol ({} steps, {} rejected, {} crossings, {} Hermite fallbacks); \
             plain {:.2} × tol ({} steps)",
            err / tol,
            rem.stats.steps,
            rem.stats.rejected_steps,
            rem.stats.crossings,
            rem.stats.hermite_fallbacks,
            end_err(plain.states.last().unwrap()) / tol,
            plain.stats.steps
        );
        assert!(
            err <= GLOBAL_FACTOR * tol,
            "rtol {rtol:.0e}: {err:.2e} > {GLOBAL_FACTOR} × {tol:.2e}"
        );
    }
}

/// The landing pairs (`integrate_imex_landing` on `FrozenPatternFlow`, CLI `ark548-events` and
/// `ark436-events`, each run):
/// every step integrates one frozen activation pattern (a polynomial field) and a step that
/// leaves it is retaken to end on the first switch it crosses. Held to [`GLOBAL_FACTOR`] × its
/// tolerance of the event-located reference at rtol 1e-6, 1e-8 and 1e-10, on the small
/// peers-like problem and on the reduced problem R with h = 100 (the problems of the tests
/// above); the remainder-counting pair is printed beside it.
#[test]
fn landing_pair_keeps_its_tolerance_across_kinks() {
    use lazyrich::flow::imex::integrate_imex_landing;
    use lazyrich::flow::kinks::JumpError;
    use lazyrich::models::ParameterFlow;
    use lazyrich::models::piecewise_linear::FrozenPatternFlow;
    for (d, h, n, seed) in [(20, 30, 40, 1919), (100, 100, 100, 2024)] {
        let KinkedCase {
            m,
            th0,
            times,
            end,
            ymax,
            switches,
        } = kinked_case(d, h, n, seed, 1.0);
        let end_err = |y: &[f64]| y.iter().zip(&end).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
        for (rtol, tab) in [1e-6, 1e-8, 1e-10]
            .into_iter()
            .flat_map(|r| [(r, &ARK548), (r, &ARK436)])
        {
            let atol = rtol / 100.0;
            let tol = rtol * ymax + atol;
            let opts = ImexOptions::new().with_tableau(tab).with_tol(rtol, atol);
            let tr = integrate_imex_landing(&FrozenPatternFlow::new(&m, &th0), &th0, &times, &opts).unwrap();
            let err = end_err(tr.states.last().unwrap());
            let rem = integrate_imex_jumps(
                &ParameterFlow(&m),
                &th0,
                &times,
                &opts.with_jump_error(JumpError::Remainder),
            )
            .unwrap();
            eprintln!(
                "h {h}, rtol {rtol:.0e}, {}: landing {:.3} × tol ({} steps, {} rejected, {} landings, {} switches, \
                 largest landing offset {:.1e}; reference {switches} switches); remainder {:.3} × tol ({} steps)",
                tab.name,
                err / tol,
                tr.stats.steps,
                tr.stats.rejected_steps,
                tr.stats.landings,
                tr.stats.switches,
                tr.stats.max_landing_offset,
                end_err(rem.states.last().unwrap()) / tol,
                rem.stats.steps
            );
            assert!(
                tr.stats.switches >= 1,
                "h {h}, rtol {rtol:.0e}, {}: no switch seen",
                tab.name
            );
            assert!(
                err <= GLOBAL_FACTOR * tol,
                "h {h}, rtol {rtol:.0e}, {}: {err:.2e} > {GLOBAL_FACTOR} × {tol:.2e}",
                tab.name
            );
        }
    }
}
