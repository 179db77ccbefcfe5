//! Benchmark problems with reference solutions (grows with every model).
//!
//! The single-neuron problems also run the f64 Taylor integrator (through the exact span
//! reduction, [`crate::taylor::single_neuron_span`]), and so does the λ-balanced net (its
//! cubic flow as a jet field, [`crate::taylor::lambda_balanced`]); the linear-network and ReLU
//! problems carry their data inline (`model_data`) for the peers harness, which has no case file
//! for them.
//!
//! - `problem_L`: single neuron, d = n = 10, orthonormal X, a0 = 0.02, ‖w0‖ = 0.01, t ∈ [0, 20]
//!   (issues 2, 3, 7); reference: the closed form at 128 bits (two-precision bound).
//! - `single_neuron_downstream`: P1 Fig. 3 setup at δ = −4 (slow alignment, delay ∝ |δ|).
//! - `lambda_balanced_3_3_3`: P2 two-layer linear net, d_i = h = d_o = 3, λ = 2, the first case
//!   of the λ-balanced catalog; compared through the network function W2W1(t) (the weights
//!   themselves are fixed by the closed form only up to a rotation); reference: the MPFR closed
//!   form at 128 bits (two-precision bound).
//! - `relu_d3h8n12`: P1 §5 two-layer ReLU net f(x) = aᵀmax(0, Wx), d = 3, h = 8 (symmetrised,
//!   f(·; θ0) ≡ 0), n = 12 unit-sphere samples with a 2-neuron ReLU teacher, δ = −1, t ∈ [0, 10]
//!   (the piecewise-linear catalog's `relu_d3h8n12_down`, no sliding mode on that span). The
//!   field is continuous but its Jacobian jumps at the surfaces w_kᵀx_i = 0: the plain solvers
//!   step across them (their order drops there; the true error shows it), the `-events` solvers
//!   locate them. Reference: event-located Tsit45 at rtol 1e-13; bound = its largest distance to
//!   event-located Tsit45 and BDF at rtol 1e-12 ([`relu_reference`]).
//! - `wide_linear_3x2`: P1 wide two-layer linear net f(x) = AᵀWx, d = 3, c = 2, h = 3,
//!   δ = −1.5, η_a ≠ η_w, Gaussian X (the wide-linear catalog's first case), compared through
//!   β = WᵀA; no closed form, so the reference is Tsit45 at rtol 1e-13 with its
//!   accumulated-local-error estimate as the bound (errors below it are not resolved, and
//!   Tsit45's own points there are compared with the same method, so they understate its error).

use super::Problem;
use crate::exact::single_neuron_mp::{self as emp, Form};
use crate::models::single_neuron::SingleNeuron;
use crate::models::{GradientFlowModel, ParameterFlow, VectorField, samples};

/// The gradient flow of an owned model.
struct Owned<M>(M);

impl<M: GradientFlowModel> VectorField for Owned<M> {
    fn dim(&self) -> usize {
        self.0.n_params()
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        ParameterFlow(&self.0).eval_inplace(y, dy)
    }
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]) {
        ParameterFlow(&self.0).jacobian_inplace(y, jac)
    }
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        ParameterFlow(&self.0).jvp_inplace(y, v, out)
    }
}

fn single_neuron(name: &str, case: crate::case::SingleNeuronCase, case_file: &str) -> Result<Problem, String> {
    let m = SingleNeuron::new(&case.x_f64(), &case.y_f64(), case.eta_a.to_f64(), case.eta_w.to_f64())
        .map_err(|e| e.to_string())?;
    let y0 = m.theta(case.a0.to_f64(), &case.w0_f64()).map_err(|e| e.to_string())?;
    let pts = emp::evaluate_with_bounds(&case, 128, Form::Linearised).map_err(|e| e.to_string())?;
    let reference = pts
        .iter()
        .map(|bp| {
            std::iter::once(&bp.point.a)
                .chain(&bp.point.w)
                .map(|v| v.to_f64())
                .collect()
        })
        .collect();
    let ref_bound = pts.iter().map(|bp| bp.max_bound()).fold(0.0, f64::max);
    let mt = m.clone();
    let taylor: super::TaylorSolve = Box::new(move |y0: &[f64], times: &[f64], tol: f64| {
        let tr = crate::taylor::single_neuron_span::solve(&mt, y0, times, &crate::taylor::TaylorOptions::new(tol))
            .map_err(|e| e.to_string())?;
        Ok((tr.states, tr.stats))
    });
    Ok(Problem {
        name: name.into(),
        field: Box::new(Owned(m)),
        observe: Box::new(|y: &[f64]| y.to_vec()),
        model_data: None,
        taylor: Some(taylor),
        events: None,
        y0,
        times: case.times_f64(),
        reference,
        ref_bound: ref_bound + 1.2e-16,
        ref_method: "closed form at 128 bits (two-precision bound), rounded to f64".into(),
        case_file: Some(case_file.into()),
    })
}

fn lambda_balanced(name: &str, lambda: f64) -> Result<Problem, String> {
    use crate::case::LambdaBalancedCase;
    use crate::exact::lambda_balanced_mp as lmp;
    use crate::models::lambda_balanced::LinearNetwork;
    let cc = crate::verify::lambda_balanced::catalog(true)
        .into_iter()
        .find(|c| c.lambda == lambda && c.name.starts_with("lb_3_3_3"))
        .ok_or("no 3-3-3 catalog case at this λ")?;
    let c = cc.case;
    let m = |rows: &[Vec<crate::num::decimal::Num>], f: &str| {
        LambdaBalancedCase::matrix_f64(rows, f).map_err(|e| e.to_string())
    };
    let (x, y, w1, w2) = (m(&c.x, "x")?, m(&c.y, "y")?, m(&c.w1_0, "w1_0")?, m(&c.w2_0, "w2_0")?);
    let net = LinearNetwork::new(&x, &y, w1.nrows(), c.tau.to_f64()).map_err(|e| e.to_string())?;
    let y0 = net.theta(&w1, &w2).map_err(|e| e.to_string())?;
    let (_, pts) = lmp::evaluate_with_bounds(&c, 128).map_err(|e| e.to_string())?;
    let (d_i, d_o) = (x.nrows(), y.nrows());
    let reference = pts
        .iter()
        .map(|p| {
            let b = p.qqt.block(d_i, 0, d_o, d_i).to_f64();
            (0..d_o)
                .flat_map(|i| (0..d_i).map(move |j| (i, j)))
                .map(|(i, j)| b[(i, j)])
                .collect()
        })
        .collect();
    let ref_bound = pts.iter().map(|p| p.max_bound()).fold(0.0, f64::max);
    let obs_net = LinearNetwork::new(&x, &y, w1.nrows(), c.tau.to_f64()).map_err(|e| e.to_string())?;
    let rows = |m: &nalgebra::DMatrix<f64>| -> Vec<Vec<f64>> {
        (0..m.nrows())
            .map(|i| (0..m.ncols()).map(|j| m[(i, j)]).collect())
            .collect()
    };
    let model_data = serde_json::json!({"model": "lambda_balanced", "x": rows(&x), "y": rows(&y),
                                        "h": w1.nrows(), "tau": c.tau.to_f64()});
    // The f64 Taylor integrator on the same flow (a cubic polynomial field): its jets from the
    // same network data (Σ̃_xx, Σ̃_yx, 1/τ in f64).
    let jet = crate::taylor::lambda_balanced::LambdaBalancedJet::from_model(&net);
    let taylor: super::TaylorSolve = Box::new(move |y0: &[f64], times: &[f64], tol: f64| {
        let mut field = jet.clone();
        let tr = crate::taylor::integrate(&mut field, y0, times, &crate::taylor::TaylorOptions::new(tol))
            .map_err(|e| e.to_string())?;
        Ok((tr.states, tr.stats))
    });
    Ok(Problem {
        name: name.into(),
        model_data: Some(model_data),
        taylor: Some(taylor),
        events: None,
        observe: Box::new(move |th: &[f64]| {
            let (w1, w2) = obs_net.unpack(th);
            let f = &w2 * &w1;
            (0..f.nrows())
                .flat_map(|i| (0..f.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| f[(i, j)])
                .collect()
        }),
        field: Box::new(Owned(net)),
        y0,
        times: c.times_f64(),
        reference,
        ref_bound: ref_bound + 1.2e-16,
        ref_method: "λ-balanced closed form (MPFR, 128 bits, two-precision bound): W2W1(t)".into(),
        case_file: None,
    })
}

fn wide_linear(name: &str) -> Result<Problem, String> {
    use crate::flow::{FlowOptions, Method, integrate};
    let w = crate::verify::wide_linear::catalog()
        .into_iter()
        .next()
        .ok_or("empty wide-linear catalog")?;
    let (m, y0, _) = crate::verify::wide_linear::build(&w)?;
    let times: Vec<f64> = (0..=10).map(|k| w.t_end * k as f64 / 10.0).collect();
    let rtol = 1e-13;
    let tr = integrate(
        &ParameterFlow(&m),
        &y0,
        &times,
        &FlowOptions::new(Method::Tsit45).with_tol(rtol, rtol * 1e-2),
    )
    .map_err(|e| e.to_string())?;
    let ymax = tr.states.iter().flatten().fold(0.0f64, |a, b| a.max(b.abs()));
    let e = tr.stats.steps as f64 * (y0.len() as f64).sqrt() * (rtol * 1e-2 + rtol * ymax);
    let reference = tr.states.iter().map(|s| m.deep().beta(s)).collect();
    let (m2, _, _) = crate::verify::wide_linear::build(&w)?;
    let (x, y) = crate::verify::wide_linear::data_rows(w.n, w.d, w.c, w.seed, w.whitened);
    let model_data = serde_json::json!({"model": "two_layer_linear", "x": x, "y": y, "h": w.h,
                                        "eta_a": w.eta_a, "eta_w": w.eta_w});
    Ok(Problem {
        name: name.into(),
        model_data: Some(model_data),
        taylor: None,
        events: None,
        observe: Box::new(move |th: &[f64]| m2.deep().beta(th)),
        field: Box::new(Owned(m)),
        y0,
        times,
        reference,
        // |δβ| ≤ (|W| + |A|)·e to first order, with entries bounded by max|θ|
        ref_bound: 2.0 * ymax * e * 3.0,
        ref_method: "Tsit45 at rtol 1e-13 (accumulated-local-error estimate): β = WᵀA".into(),
        case_file: None,
    })
}

/// The piecewise-linear catalog case of the ReLU problem: on [0, 10] its event-located flow
/// crosses 3 switching surfaces and never slides (`verify --quick`, PL-EVENT), unlike the balanced
/// and upstream ReLU cases, which slide before t = 1.1.
pub const RELU_CASE: &str = "relu_d3h8n12_down";

/// Tolerance of the ReLU problem's cross-checks (event-located Tsit45 and BDF, plain Tsit45).
pub const RELU_CHECK_RTOL: f64 = 1e-12;

/// What the ReLU reference is, measured: the distances of the reference to its cross-checks
/// (max over times and components) and the largest drift of the conserved δ_k along it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReluReference {
    /// Event-located Tsit45 at [`RELU_CHECK_RTOL`] (the same method, ten times looser).
    pub tsit45_events: f64,
    /// Event-located BDF at [`RELU_CHECK_RTOL`] (a second method).
    pub bdf_events: f64,
    /// Plain Tsit45 at [`RELU_CHECK_RTOL`], straight across the kinks (no event machinery).
    pub tsit45_plain: f64,
    /// max_t max_k |δ_k(t) − δ_k(0)| along the reference.
    pub delta_drift: f64,
    /// Switching-surface crossings of the reference.
    pub switches: usize,
}

/// The ReLU problem's reference trajectory (event-located Tsit45 at rtol 1e-13, atol 1e-15) and
/// its cross-checks.
///
/// # Errors
/// A message if the case is missing or an integration fails.
pub fn relu_reference(case: &str) -> Result<(crate::flow::Trajectory, ReluReference), String> {
    use crate::flow::{FlowOptions, Method};
    use crate::verify::piecewise_linear as vpl;
    let c = vpl::catalog()
        .into_iter()
        .find(|c| c.name == case)
        .ok_or_else(|| format!("no case {case} in the piecewise-linear catalog"))?;
    let (m, y0) = vpl::build(&c)?;
    let times = vpl::times(c.t_end);
    let ev = |method: Method, rtol: f64, atol: f64| {
        vpl::run_events(&m, &y0, &times, &FlowOptions::new(method).with_tol(rtol, atol))
            .map_err(|e| format!("{case}, event-located {} at rtol {rtol:e}: {e}", method.as_str()))
    };
    let reference = ev(Method::Tsit45, vpl::REF_RTOL, vpl::REF_ATOL)?;
    let chk = RELU_CHECK_RTOL;
    let t_chk = ev(Method::Tsit45, chk, chk * 1e-2)?;
    let b_chk = ev(Method::Bdf, chk, chk * 1e-2)?;
    let p_chk = vpl::run_plain(
        &m,
        &y0,
        &times,
        &FlowOptions::new(Method::Tsit45).with_tol(chk, chk * 1e-2),
    )?;
    let delta_drift = reference
        .states
        .iter()
        .map(|th| m.delta_drift(&y0, th))
        .fold(0.0, f64::max);
    let info = ReluReference {
        tsit45_events: vpl::traj_error(&t_chk, &reference).0,
        bdf_events: vpl::traj_error(&b_chk, &reference).0,
        tsit45_plain: vpl::traj_error(&p_chk, &reference).0,
        delta_drift,
        switches: reference.switches,
    };
    Ok((reference, info))
}

/// The small ReLU net (P1 §5): the piecewise-linear catalog case `case` (d = 3, h = 8 symmetrised,
/// n = 12, γ = 0, δ = −1, ½Σ loss, t ∈ [0, 10], 21 output times), compared through θ = (W, a).
fn relu(name: &str, case: &str) -> Result<Problem, String> {
    use crate::verify::piecewise_linear as vpl;
    let c = vpl::catalog()
        .into_iter()
        .find(|c| c.name == case)
        .ok_or_else(|| format!("no case {case} in the piecewise-linear catalog"))?;
    let (m, y0) = vpl::build(&c)?;
    let (reference, info) = relu_reference(case)?;
    // The bound is the largest distance to a cross-check that is at least as accurate as the
    // reference's own estimate: the second method (BDF with events) and the same method ten times
    // looser. Plain Tsit45 is reported, not used: its kink error is what the ladder measures.
    let ref_bound = info.tsit45_events.max(info.bdf_events);
    let ref_method = format!(
        "event-located tsit45 rtol 1e-13 atol 1e-15 ({} switches, {} steps); bound = max distance to event-located \
         tsit45 ({:.1e}) and bdf ({:.1e}) at rtol {RELU_CHECK_RTOL:.0e}; plain tsit45 there: {:.1e}; δ_k drift {:.1e}",
        info.switches, reference.stats.steps, info.tsit45_events, info.bdf_events, info.tsit45_plain, info.delta_drift
    );
    let (n, d) = (m.n(), m.d());
    let x: Vec<Vec<f64>> = (0..n).map(|i| m.x()[i * d..(i + 1) * d].to_vec()).collect();
    let model_data = serde_json::json!({"model": "piecewise_linear", "x": x, "y": m.y(), "h": m.h(),
                                        "gamma": m.gamma(), "eta_a": m.eta_a(), "eta_w": m.eta_w(),
                                        "loss_factor": m.loss_factor()});
    let me = m.clone();
    let events: super::EventSolve = Box::new(move |y0: &[f64], times: &[f64], opts: &crate::flow::FlowOptions| {
        vpl::run_events(&me, y0, times, opts).map_err(|e| e.to_string())
    });
    Ok(Problem {
        name: name.into(),
        field: Box::new(Owned(m)),
        observe: Box::new(|y: &[f64]| y.to_vec()),
        model_data: Some(model_data),
        taylor: None,
        events: Some(events),
        y0,
        times: reference.times.clone(),
        reference: reference.states,
        ref_bound,
        ref_method,
        case_file: None,
    })
}

/// Every benchmark problem.
///
/// # Errors
/// A message if a problem cannot be set up (a bug: the samples are valid).
pub fn all() -> Result<Vec<Problem>, String> {
    Ok(vec![
        single_neuron("problem_L", samples::problem_l(1), "data/cases/problem_L.json")?,
        single_neuron(
            "single_neuron_downstream",
            samples::fig3(-4.0),
            "data/cases/fig3_delta-4.json",
        )?,
        lambda_balanced("lambda_balanced_3_3_3", 2.0)?,
        wide_linear("wide_linear_3x2")?,
        relu("relu_d3h8n12", RELU_CASE)?,
    ])
}
