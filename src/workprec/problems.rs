//! Benchmark problems with reference solutions (grows with every model).
//!
//! - `problem_L`: single neuron, d = n = 10, orthonormal X, a0 = 0.02, ‖w0‖ = 0.01, t ∈ [0, 20]
//!   (issues 2, 3, 7); reference: the closed form at 128 bits (two-precision bound).
//! - `single_neuron_downstream`: P1 Fig. 3 setup at δ = −4 (slow alignment, delay ∝ |δ|).

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

fn single_neuron(name: &str, case: crate::case::SingleNeuronCase) -> Result<Problem, String> {
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
    Ok(Problem {
        name: name.into(),
        field: Box::new(Owned(m)),
        y0,
        times: case.times_f64(),
        reference,
        ref_bound: ref_bound + 1.2e-16,
        ref_method: "closed form at 128 bits (two-precision bound), rounded to f64".into(),
    })
}

/// Every benchmark problem.
///
/// # Errors
/// A message if a problem cannot be set up (a bug: the samples are valid).
pub fn all() -> Result<Vec<Problem>, String> {
    Ok(vec![
        single_neuron("problem_L", samples::problem_l(1))?,
        single_neuron("single_neuron_downstream", samples::fig3(-4.0))?,
    ])
}
