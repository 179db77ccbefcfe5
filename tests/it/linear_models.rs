//! Wide and deep linear networks (issue 4): derivatives vs central finite differences
//! (proptest), conserved matrices along diffsol flows, the isotropic initialisation, and
//! Theorem 4.2's β flow vs the parameter flow (whitened and non-whitened X), with the width
//! conditions and their negative controls.
//!
//! The tests of the linear families' quick-catalog rows (`quick_linear_catalog_passes_and_covers_regimes`,
//! `unenclosed_conservation_rows_have_a_rigorous_reference_and_certified_drift`,
//! `linear_taylor_rows_are_proven_and_agree_with_mpfr`) are in `tests/it/catalog.rs`, which computes
//! the quick catalog once and reads those rows from it (issue 17: each recomputed
//! `wide_linear::run`, `deep_linear::run` or `linear_taylor::run` here).

use crate::common;
use common::{fd_grad, fd_jacobian};
use lazyrich::flow::{FlowOptions, Method, integrate};
use lazyrich::models::deep_linear::{DeepLinear, LinearData};
use lazyrich::models::two_layer_linear::{Theorem42Flow, TwoLayerLinear, WidthError, isotropic_init};
use lazyrich::models::{GradientFlowModel, ParameterFlow, VectorField};
use proptest::prelude::*;

/// Central differences, step h = 1e-5(1+|θ_i|): truncation ~h²|f'''| ≈ 1e-10, rounding
/// ~ε|f|/h ≈ 1e-11 for these O(1) inputs (products of up to 4 layers of entries ≤ 1.5 with
/// data ≤ 2 keep the third derivatives O(10²)); 1e-6·(1 + scale) leaves a ≥ 1000× margin and
/// still catches any wrong term, which would be O(1).
const FD_STEP: f64 = 1e-5;
const FD_TOL: f64 = 1e-6;

/// Theorem 4.2 flow vs parameter flow, relative to max|β|: the promise at rtol 1e-12.
const THM42_REL_TOL: f64 = 1e-9;
/// Drift of the conserved matrices along a flow at rtol 1e-12, atol 1e-14, relative to their
/// scale: each accepted step's local error is ≤ atol + rtol|θ| per component, the conserved
/// quantity is quadratic in θ, and a few hundred steps accumulate ≲ 1e-10; 1e-9 is the promise.
const CONS_REL_TOL: f64 = 1e-9;
/// The violated-width controls must differ by at least this (issue 4).
const CONTROL_MIN_MISMATCH: f64 = 1e-3;

fn rows(v: &[f64], r: usize, c: usize) -> Vec<Vec<f64>> {
    (0..r).map(|i| v[i * c..(i + 1) * c].to_vec()).collect()
}

fn lcg(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn deep_strategy() -> impl Strategy<Value = (Vec<usize>, u64, Vec<f64>)> {
    (
        1usize..4,
        1usize..4,
        1usize..4,
        prop::collection::vec(1usize..4, 1..4),
        any::<u64>(),
    )
        .prop_flat_map(|(n, d, c, hidden, seed)| {
            let mut dims = vec![n, d];
            dims.extend(&hidden);
            dims.push(c);
            let k = hidden.len() + 1;
            (Just(dims), Just(seed), prop::collection::vec(0.2f64..3.0, k))
        })
}

fn build(dims: &[usize], seed: u64, etas: &[f64]) -> (DeepLinear, Vec<f64>) {
    let (n, d, c) = (dims[0], dims[1], dims[dims.len() - 1]);
    let hidden = &dims[2..dims.len() - 1];
    let x = lcg(seed, n * d, -2.0, 2.0);
    let y = lcg(seed ^ 1, n * c, -2.0, 2.0);
    let data = LinearData::new(&rows(&x, n, d), &rows(&y, n, c)).unwrap();
    let m = DeepLinear::new(data, hidden, etas).unwrap();
    let th = lcg(seed ^ 2, m.n_params(), -1.2, 1.2);
    (m, th)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn deep_gradient_hessian_hvp_match_finite_differences((dims, seed, etas) in deep_strategy()) {
        let (m, th) = build(&dims, seed, &etas);
        let np = m.n_params();
        let mut g = vec![0.0; np];
        m.grad_inplace(&th, &mut g);
        let fd = fd_grad(|t| m.loss(t), &th, FD_STEP);
        let gs = g.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for i in 0..np {
            prop_assert!((g[i] - fd[i]).abs() <= FD_TOL * (1.0 + gs), "grad {i}: {} vs {}", g[i], fd[i]);
        }
        // Hessian vs finite differences of the gradient (column j = ∂∇L/∂θ_j).
        let mut h = vec![0.0; np * np];
        m.hessian_inplace(&th, &mut h);
        let hs = h.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for j in 0..np {
            let col = {
                let mut y = th.clone();
                let hh = FD_STEP * (1.0 + th[j].abs());
                let (mut up, mut dn) = (vec![0.0; np], vec![0.0; np]);
                y[j] = th[j] + hh;
                m.grad_inplace(&y, &mut up);
                y[j] = th[j] - hh;
                m.grad_inplace(&y, &mut dn);
                up.iter().zip(&dn).map(|(a, b)| (a - b) / (2.0 * hh)).collect::<Vec<_>>()
            };
            for i in 0..np {
                prop_assert!((h[i + j * np] - col[i]).abs() <= FD_TOL * (1.0 + hs), "H[{i},{j}]");
            }
        }
        // HVP with a random direction vs H·v.
        let v = lcg(seed ^ 3, np, -1.0, 1.0);
        let mut hv = vec![0.0; np];
        m.hvp_inplace(&th, &v, &mut hv);
        for i in 0..np {
            let want: f64 = (0..np).map(|j| h[i + j * np] * v[j]).sum();
            prop_assert!((hv[i] - want).abs() <= 1e-12 * (1.0 + hs) * np as f64);
        }
        // Loss from β agrees with the loss from θ.
        let b = m.beta(&th);
        prop_assert!((m.loss_beta(&b) - m.loss(&th)).abs() <= 1e-13 * (1.0 + m.loss(&th)));
    }

    #[test]
    fn conserved_matrices_have_zero_time_derivative((dims, seed, etas) in deep_strategy()) {
        // d/dt Q(θ(t)) = DQ[θ̇] with θ̇ = −η ⊙ ∇L: by central differences along θ̇, it must vanish.
        let (m, th) = build(&dims, seed, &etas);
        let np = m.n_params();
        let mut thdot = vec![0.0; np];
        ParameterFlow(&m).eval_inplace(&th, &mut thdot);
        let h = 1e-6;
        let up: Vec<f64> = th.iter().zip(&thdot).map(|(a, b)| a + h * b).collect();
        let dn: Vec<f64> = th.iter().zip(&thdot).map(|(a, b)| a - h * b).collect();
        let (qu, qd) = (m.conserved(&up), m.conserved(&dn));
        let speed = thdot.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        let scale = m.conserved_scale(&th) + 1.0;
        for (a, b) in qu.iter().zip(&qd) {
            for (x, y) in a.iter().zip(b) {
                // O(h²) truncation of a quadratic form is exact; rounding ε·scale/h ≈ 2e-10·scale.
                prop_assert!(((x - y) / (2.0 * h)).abs() <= 1e-8 * scale * (1.0 + speed));
            }
        }
    }

    #[test]
    fn theorem42_jacobian_matches_finite_differences(
        d in 1usize..4, c in 1usize..4, seed in any::<u64>(), delta in -2.0f64..2.0,
        eta_a in 0.3f64..3.0, eta_w in 0.3f64..3.0,
    ) {
        let n = 4;
        let x = lcg(seed, n * d, -1.5, 1.5);
        let y = lcg(seed ^ 5, n * c, -1.5, 1.5);
        let data = LinearData::new(&rows(&x, n, d), &rows(&y, n, c)).unwrap();
        let f = Theorem42Flow::new_unchecked(data, eta_a, eta_w, delta).unwrap();
        let beta = lcg(seed ^ 6, d * c, -1.0, 1.0);
        let nn = d * c;
        let mut j = vec![0.0; nn * nn];
        f.jacobian_inplace(&beta, &mut j);
        let fd = fd_jacobian(&f, &beta, FD_STEP);
        let js = fd.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for i in 0..nn * nn {
            prop_assert!((j[i] - fd[i]).abs() <= FD_TOL * (1.0 + js), "J[{i}] {} vs {}", j[i], fd[i]);
        }
        let v = lcg(seed ^ 7, nn, -1.0, 1.0);
        let mut jv = vec![0.0; nn];
        f.jvp_inplace(&beta, &v, &mut jv);
        for i in 0..nn {
            let want: f64 = (0..nn).map(|k| j[i + k * nn] * v[k]).sum();
            prop_assert!((jv[i] - want).abs() <= 1e-12 * (1.0 + js) * nn as f64);
        }
    }
}

/// Theorem 4.2's right-hand side equals −η_a WᵀW G − η_w G AᵀA at an isotropic point: the
/// parameter-space form of β̇ (`docs/theory.md` §2.1), an independent formula.
#[test]
fn theorem42_rhs_equals_parameter_space_beta_dot_at_isotropic_points() {
    for (d, c, h, delta, seed) in [
        (3, 2, 3, -1.3, 1u64),
        (3, 2, 2, 0.7, 2),
        (3, 2, 4, 0.0, 3),
        (4, 4, 4, 0.0, 4),
    ] {
        let (eta_a, eta_w) = (0.7, 1.9);
        let n = 6;
        let x = lcg(seed, n * d, -1.0, 1.0);
        let y = lcg(seed ^ 9, n * c, -1.0, 1.0);
        let data = LinearData::new(&rows(&x, n, d), &rows(&y, n, c)).unwrap();
        let beta0 = lcg(seed ^ 10, d * c, -1.0, 1.0);
        let (w, a) = isotropic_init(&beta0, d, c, h, delta, eta_a, eta_w, Some(seed)).unwrap();
        let m = TwoLayerLinear::new(data.clone(), h, eta_a, eta_w).unwrap();
        let th = m.pack(&w, &a);
        let got_delta = m.isotropic_delta(&th).unwrap();
        assert!((got_delta - delta).abs() < 1e-13, "{got_delta} vs {delta}");
        let b = m.deep().beta(&th);
        // parameter flow's β̇ = dβ/dθ · θ̇ by finite differences along θ̇ (β is bilinear: exact up to rounding)
        let mut thdot = vec![0.0; th.len()];
        ParameterFlow(&m).eval_inplace(&th, &mut thdot);
        let hstep = 1e-6;
        let up: Vec<f64> = th.iter().zip(&thdot).map(|(p, q)| p + hstep * q).collect();
        let dn: Vec<f64> = th.iter().zip(&thdot).map(|(p, q)| p - hstep * q).collect();
        let (bu, bd) = (m.deep().beta(&up), m.deep().beta(&dn));
        let f = Theorem42Flow::new(data, eta_a, eta_w, delta, h).unwrap();
        let mut fb = vec![0.0; d * c];
        f.eval_inplace(&b, &mut fb);
        let s = fb.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for i in 0..d * c {
            let want = (bu[i] - bd[i]) / (2.0 * hstep);
            assert!(
                (fb[i] - want).abs() <= 1e-8 * (1.0 + s),
                "({d},{c},{h},{delta}) {i}: {} vs {want}",
                fb[i]
            );
        }
    }
}

#[test]
fn isotropic_init_rejects_infeasible_widths_and_theorem_checks_width() {
    let beta0 = [0.5, -0.2, 0.1, 0.3, 0.7, -0.4];
    let e = isotropic_init(&beta0, 3, 2, 3, 0.5, 1.0, 1.0, None).unwrap_err();
    assert!(matches!(e, WidthError::Infeasible { max_h: 2, .. }), "{e}");
    assert!(e.to_string().contains("h ≤ 2"), "{e}");
    let e = isotropic_init(&beta0, 3, 2, 4, -0.5, 1.0, 1.0, None).unwrap_err();
    assert!(matches!(e, WidthError::Infeasible { max_h: 3, .. }), "{e}");
    assert!(isotropic_init(&beta0, 3, 2, 7, 0.0, 1.0, 1.0, None).is_ok());
    let data = LinearData::new(&[vec![1.0, 0.0, 0.0]], &[vec![1.0, 0.5]]).unwrap();
    let e = Theorem42Flow::new(data.clone(), 1.0, 1.0, -1.0, 2).unwrap_err();
    assert!(e.to_string().contains("h = d when δ < 0"), "{e}");
    let e = Theorem42Flow::new(data.clone(), 1.0, 1.0, 1.0, 1).unwrap_err();
    assert!(e.to_string().contains("h = c when δ > 0"), "{e}");
    assert!(Theorem42Flow::new(data, 1.0, 1.0, 0.0, 5).is_ok());
}

struct Setup {
    m: TwoLayerLinear,
    data: LinearData,
    th0: Vec<f64>,
    delta: f64,
}

#[allow(clippy::too_many_arguments)]
fn setup(d: usize, c: usize, h: usize, n: usize, delta: f64, eta_a: f64, eta_w: f64, seed: u64) -> Setup {
    let x = lcg(seed, n * d, -1.0, 1.0);
    let y = lcg(seed ^ 11, n * c, -1.0, 1.0);
    let data = LinearData::new(&rows(&x, n, d), &rows(&y, n, c)).unwrap();
    let beta0 = lcg(seed ^ 12, d * c, -0.3, 0.3);
    let (w, a) = isotropic_init(&beta0, d, c, h, delta, eta_a, eta_w, Some(seed)).unwrap();
    let m = TwoLayerLinear::new(data.clone(), h, eta_a, eta_w).unwrap();
    let th0 = m.pack(&w, &a);
    Setup { m, data, th0, delta }
}

fn compare(s: &Setup, t_end: f64, checked: bool) -> (f64, f64) {
    let times: Vec<f64> = (0..=10).map(|k| t_end * k as f64 / 10.0).collect();
    let opts = FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14);
    let tr = integrate(&ParameterFlow(&s.m), &s.th0, &times, &opts).unwrap();
    let f = if checked {
        Theorem42Flow::new(s.data.clone(), s.m.eta_a(), s.m.eta_w(), s.delta, s.m.h()).unwrap()
    } else {
        Theorem42Flow::new_unchecked(s.data.clone(), s.m.eta_a(), s.m.eta_w(), s.delta).unwrap()
    };
    let b0 = s.m.deep().beta(&s.th0);
    let tb = integrate(&f, &b0, &times, &opts).unwrap();
    let (mut err, mut scale, mut drift) = (0.0f64, 0.0f64, 0.0f64);
    let cs = s.m.deep().conserved_scale(&s.th0) + 1.0;
    for (th, b) in tr.states.iter().zip(&tb.states) {
        let bp = s.m.deep().beta(th);
        for (x, y) in bp.iter().zip(b) {
            err = err.max((x - y).abs());
            scale = scale.max(x.abs());
        }
        drift = drift.max(s.m.deep().conserved_drift(&s.th0, th) / cs);
    }
    assert!(drift <= CONS_REL_TOL, "conserved drift {drift:e}");
    (err / scale, drift)
}

#[test]
fn theorem42_matches_parameter_flow_in_every_regime_non_whitened() {
    // (d, c, h, δ, η_a, η_w): every δ regime at its allowed width, η_a ≠ η_w, non-whitened X.
    for (d, c, h, delta, ea, ew, seed) in [
        (3, 2, 3, -1.5, 0.5, 2.0, 21u64),
        (3, 2, 2, 1.2, 2.0, 0.5, 22),
        (3, 2, 4, 0.0, 1.0, 1.5, 23),
        (3, 2, 2, 0.0, 1.0, 1.0, 24),
        // c > d: the right-hand side decomposes βᵀ instead of β
        (2, 3, 3, 0.8, 1.3, 0.6, 25),
        (2, 3, 2, -0.9, 0.6, 1.3, 26),
    ] {
        let s = setup(d, c, h, 8, delta, ea, ew, seed);
        let (rel, drift) = compare(&s, 5.0, true);
        assert!(
            rel <= THM42_REL_TOL,
            "d={d} c={c} h={h} δ={delta}: rel {rel:e} (drift {drift:e})"
        );
    }
}

#[test]
fn theorem42_violated_width_controls_differ() {
    // δ < 0 with h = 2 < d = 3 and δ > 0 with h = 1 < c = 2 (docs/theory.md §2.4 "negative controls").
    for (d, c, h, delta, seed) in [(3, 2, 2, -1.0, 31u64), (3, 2, 1, 1.0, 32)] {
        let s = setup(d, c, h, 8, delta, 1.0, 1.0, seed);
        let (rel, _) = compare(&s, 5.0, false);
        assert!(rel >= CONTROL_MIN_MISMATCH, "h={h} δ={delta}: mismatch only {rel:e}");
    }
}

#[test]
fn deep_flow_conserves_all_pairs_with_bdf_and_tsit45() {
    let (dims, seed) = (vec![6usize, 3, 3, 3, 3, 2], 41u64);
    let etas = [0.5, 1.0, 2.0, 1.5];
    let (m, th) = build(&dims, seed, &etas);
    let th: Vec<f64> = th.iter().map(|v| 0.5 * v).collect();
    let times: Vec<f64> = (0..=8).map(|k| k as f64).collect();
    let cs = m.conserved_scale(&th) + 1.0;
    for method in [Method::Tsit45, Method::Bdf] {
        let opts = FlowOptions::new(method).with_tol(1e-12, 1e-14);
        let tr = integrate(&ParameterFlow(&m), &th, &times, &opts).unwrap();
        let drift = tr
            .states
            .iter()
            .map(|s| m.conserved_drift(&th, s) / cs)
            .fold(0.0, f64::max);
        assert!(drift <= CONS_REL_TOL, "{method}: {drift:e}");
        // the loss decreases along gradient flow
        let l: Vec<f64> = tr.states.iter().map(|s| m.loss(s)).collect();
        assert!(l.windows(2).all(|w| w[1] <= w[0] + 1e-12), "{l:?}");
    }
}

/// The balanced deep construction has every conserved matrix 0 to rounding.
#[test]
fn balanced_deep_init_is_balanced() {
    use lazyrich::verify::deep_linear;
    let c = deep_linear::catalog().into_iter().find(|c| c.balanced).unwrap();
    let (m, th) = deep_linear::build(&c).unwrap();
    let scale = m.conserved_scale(&th);
    for q in m.conserved(&th) {
        let mx = q.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        // h·ε relative rounding of products of O(1) orthogonal factors: 1e-14 is ~20 ulps.
        assert!(mx <= 1e-14 * scale, "{mx:e} vs scale {scale:e}");
    }
}

/// The mirror-flow identity check can fail, and its hypothesis is Thm B.6's (h ≥ min(d, c)),
/// weaker than Theorem 4.2's: on the control δ < 0, h = 2 < d = 3 (h = min(d, c) = 2) the
/// identity still holds to rounding, while on δ > 0, h = 1 < min(d, c) = 2 it fails.
#[test]
fn mirror_identity_holds_iff_h_at_least_min_dc_on_the_controls() {
    use lazyrich::flow::{FlowOptions, Method, integrate};
    use lazyrich::verify::wide_linear;
    for w in wide_linear::controls().into_iter().filter(|w| w.quick) {
        let (m, th0, data) = wide_linear::build(&w).unwrap();
        let ts: Vec<f64> = (0..=10).map(|k| k as f64 * 0.5).collect();
        let tp = integrate(
            &ParameterFlow(&m),
            &th0,
            &ts,
            &FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14),
        )
        .unwrap();
        let r = wide_linear::mirror_row(&w, &m, &data, &tp, "control".into());
        if w.h >= w.d.min(w.c) {
            assert!(r.pass, "{}: {:e}", w.name, r.rel_err);
        } else {
            assert!(
                r.rel_err >= CONTROL_MIN_MISMATCH && !r.pass,
                "{}: {:e}",
                w.name,
                r.rel_err
            );
        }
    }
}
