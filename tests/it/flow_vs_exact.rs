//! diffsol gradient flow against the exact solution, for every method; tolerance
//! proportionality; the function-space flow against the parameter flow; solver statistics.

use lazyrich::case::SingleNeuronCase;
use lazyrich::exact::single_neuron::ClosedForm;
use lazyrich::flow::{FlowError, FlowOptions, Method, integrate};
use lazyrich::models::ParameterFlow;
use lazyrich::models::samples;
use lazyrich::models::single_neuron::{FunctionSpaceFlow, SingleNeuron};
use lazyrich::verify::single_neuron::{catalog, function_space_diagnostics, non_whitened_case};

fn setup(c: &SingleNeuronCase) -> (SingleNeuron, Vec<f64>, ClosedForm) {
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
    let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    let cf = ClosedForm::new(&m, c.a0.to_f64(), &c.w0_f64()).unwrap();
    (m, th0, cf)
}

/// max_t max_i |θ_sim − θ_exact| and the accumulated-local-error bound
/// N·√n·(atol + rtol·max|θ|) (diffsol's RMS local error test, no amplification).
fn flow_error(c: &SingleNeuronCase, method: Method, rtol: f64) -> (f64, f64) {
    let (m, th0, cf) = setup(c);
    let atol = rtol * 1e-2;
    let times = c.times_f64();
    let tr = integrate(
        &ParameterFlow(&m),
        &th0,
        &times,
        &FlowOptions::new(method).with_tol(rtol, atol),
    )
    .unwrap();
    let mut err = 0.0f64;
    let mut ymax = 0.0f64;
    for (t, y) in times.iter().zip(&tr.states) {
        let ex = cf.theta_at(*t);
        ymax = ymax.max(ex.iter().fold(0.0f64, |a, b| a.max(b.abs())));
        err = err.max(y.iter().zip(&ex).fold(0.0f64, |a, (p, q)| a.max((p - q).abs())));
    }
    let bound = tr.stats.steps as f64 * (th0.len() as f64).sqrt() * (atol + rtol * ymax);
    (err, bound)
}

#[test]
fn every_method_meets_the_accumulated_local_error_bound_on_the_catalog() {
    for cc in catalog() {
        for method in Method::ALL {
            for rtol in [1e-6, 1e-10] {
                let (err, bound) = flow_error(&cc.case, method, rtol);
                assert!(
                    err <= bound,
                    "{} {method} rtol {rtol:e}: error {err:e} > bound {bound:e}",
                    cc.name
                );
            }
        }
    }
}

/// Error falls with the tolerance: from rtol 1e-5 to 1e-9 (10⁴ tighter) the error must fall by
/// at least 10× for every method — a loose requirement (tolerance proportionality is only
/// approximate for adaptive methods) that still catches a solver ignoring its tolerance.
#[test]
fn error_falls_with_the_tolerance() {
    for name in [
        "fig3_delta-2",
        "fig3_delta+0",
        "sign_change",
        "problem_L",
        "eta_unequal",
    ] {
        let cc = catalog().into_iter().find(|c| c.name == name).unwrap();
        for method in Method::ALL {
            let (loose, _) = flow_error(&cc.case, method, 1e-5);
            let (tight, _) = flow_error(&cc.case, method, 1e-9);
            assert!(tight * 10.0 <= loose, "{name} {method}: {loose:e} → {tight:e}");
        }
    }
}

#[test]
fn statistics_are_reported() {
    let c = samples::problem_l(1);
    let (m, th0, _) = setup(&c);
    for method in Method::ALL {
        let tr = integrate(&ParameterFlow(&m), &th0, &c.times_f64(), &FlowOptions::new(method)).unwrap();
        let s = tr.stats;
        assert!(s.steps > 10 && s.rhs_evals >= s.steps, "{method}: {s:?}");
        if method == Method::Tsit45 {
            assert_eq!((s.jac_evals, s.lu_factorizations), (0, 0));
        } else {
            assert!(
                s.jac_evals >= 1 && s.lu_factorizations >= s.jac_evals,
                "{method}: {s:?}"
            );
        }
    }
}

/// δ(t) drifts by at most the accumulated local error times its sensitivity
/// |∂δ/∂θ| ≤ 2(η_w|a| + η_a Σ|w_i|).
#[test]
fn conserved_quantity_drift_is_within_tolerance() {
    for cc in catalog() {
        let (m, th0, _) = setup(&cc.case);
        let d0 = m.delta(&th0);
        for method in Method::ALL {
            let rtol = 1e-8;
            let tr = integrate(
                &ParameterFlow(&m),
                &th0,
                &cc.case.times_f64(),
                &FlowOptions::new(method).with_tol(rtol, rtol * 1e-2),
            )
            .unwrap();
            let ymax = tr.states.iter().flatten().fold(0.0f64, |a, b| a.max(b.abs()));
            let e = tr.stats.steps as f64 * (th0.len() as f64).sqrt() * (rtol * 1e-2 + rtol * ymax);
            for th in &tr.states {
                let sens = 2.0 * (m.eta_w() * th[0].abs() + m.eta_a() * th[1..].iter().map(|v| v.abs()).sum::<f64>());
                let drift = (m.delta(th) - d0).abs();
                assert!(
                    drift <= sens * e + 1e-14 * (1.0 + d0.abs()),
                    "{} {method}: drift {drift:e}",
                    cc.name
                );
            }
        }
    }
}

/// The function-space flow (P1 eqs. 3–4) and the parameter flow give the same β(t), for
/// whitened and non-whitened X, both integrated at rtol 1e-12 (the two are independent
/// integrations of different ODEs; 1e-8 relative is ~N·rtol with N ≤ 10⁴ steps).
#[test]
fn function_space_flow_matches_parameter_flow() {
    let mut cases: Vec<SingleNeuronCase> = ["fig3_delta-2", "fig3_delta+2", "problem_L", "eta_unequal"]
        .iter()
        .map(|n| catalog().into_iter().find(|c| c.name == *n).unwrap().case)
        .collect();
    cases.push(non_whitened_case());
    for c in cases {
        let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64()).unwrap();
        let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
        let times = c.times_f64();
        let opts = FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14);
        let p = integrate(&ParameterFlow(&m), &th0, &times, &opts).unwrap();
        let mut b0 = vec![0.0; m.d()];
        m.beta_inplace(&th0, &mut b0);
        let f = integrate(&FunctionSpaceFlow::new(&m, m.delta(&th0)), &b0, &times, &opts).unwrap();
        for (tp, bf) in p.states.iter().zip(&f.states) {
            let mut bp = vec![0.0; m.d()];
            m.beta_inplace(tp, &mut bp);
            let scale = bp.iter().fold(1.0f64, |a, b| a.max(b.abs()));
            for (x, y) in bp.iter().zip(bf) {
                assert!((x - y).abs() <= 1e-8 * scale, "{x} vs {y}");
            }
        }
    }
}

/// Near β = 0 (a crossing zero on the one-sheeted hyperboloid) M(β, δ) is singular: the
/// diagnostics report it instead of silently losing digits.
#[test]
fn function_space_near_singular_point_is_reported() {
    let c = catalog().into_iter().find(|c| c.name == "sign_change").unwrap().case;
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 1.0, 1.0).unwrap();
    let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    let fs = FunctionSpaceFlow::new(&m, m.delta(&th0));
    let mut b0 = vec![0.0; 2];
    m.beta_inplace(&th0, &mut b0);
    let d = function_space_diagnostics(&fs, &b0, 20.0, &FlowOptions::new(Method::Tsit45).with_tol(1e-10, 1e-12));
    assert!(d.min_beta_norm < 1e-2 && d.amplification > 100.0, "{d:?}");
    assert!(d.warning.as_deref().unwrap_or("").contains("singular point"), "{d:?}");
    // an upstream case never comes near: M is regular everywhere when δ > 0
    let c = samples::fig3(2.0);
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 1.0, 1.0).unwrap();
    let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    let fs = FunctionSpaceFlow::new(&m, m.delta(&th0));
    let mut b0 = vec![0.0; 2];
    m.beta_inplace(&th0, &mut b0);
    let d = function_space_diagnostics(&fs, &b0, 20.0, &FlowOptions::new(Method::Tsit45));
    assert!(d.warning.is_none() && d.amplification == 1.0, "{d:?}");
}

#[test]
fn bad_flow_inputs_are_errors_not_panics() {
    let c = samples::fig3(1.0);
    let (m, th0, _) = setup(&c);
    let f = ParameterFlow(&m);
    let ok = FlowOptions::new(Method::Bdf);
    assert!(matches!(
        integrate(&f, &th0, &[0.0, -1.0], &ok),
        Err(FlowError::Times(_))
    ));
    assert!(matches!(
        integrate(&f, &th0, &[2.0, 1.0], &ok),
        Err(FlowError::Times(_))
    ));
    assert!(matches!(integrate(&f, &th0, &[], &ok), Err(FlowError::Times(_))));
    assert!(matches!(
        integrate(&f, &th0, &[f64::NAN], &ok),
        Err(FlowError::Times(_))
    ));
    assert!(matches!(
        integrate(&f, &th0[..2], &[1.0], &ok),
        Err(FlowError::InitialState(_))
    ));
    assert!(matches!(
        integrate(&f, &[f64::INFINITY, 0.0, 0.0], &[1.0], &ok),
        Err(FlowError::InitialState(_))
    ));
    assert!(matches!(
        integrate(&f, &th0, &[1.0], &ok.with_tol(0.0, 1e-9)),
        Err(FlowError::BadTolerance { .. })
    ));
    assert!(matches!(
        integrate(&f, &th0, &[1.0], &ok.with_tol(1e-6, f64::NAN)),
        Err(FlowError::BadTolerance { .. })
    ));
    let mut few = FlowOptions::new(Method::Tsit45).with_tol(1e-12, 1e-14);
    few.max_steps = 5;
    assert!(matches!(
        integrate(&f, &th0, &[20.0], &few),
        Err(FlowError::TooManySteps { .. })
    ));
    assert!("rk4".parse::<Method>().is_err());
}
