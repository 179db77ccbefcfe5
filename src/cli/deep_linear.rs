//! `simulate` for the deep linear network (`"model": "deep_linear"`).

use super::two_layer_linear::{data_of, header, parameter_points};
use anyhow::{Result, bail};
use lazyrich::case::{DeepLinearCase, f64_rows, f64_vec};
use lazyrich::flow::{FlowOptions, integrate};
use lazyrich::models::ParameterFlow;
use lazyrich::models::deep_linear::DeepLinear;
use serde_json::{Value, json};

pub(super) fn simulate_json(c: &DeepLinearCase, opts: &FlowOptions, function_space: bool) -> Result<Value> {
    if function_space {
        bail!(
            "--form function_space integrates Theorem 4.2, which is stated for two-layer networks only; \
             use --form parameter for deep_linear (or a two_layer_linear case)"
        );
    }
    let data = data_of(&c.x, &c.y)?;
    let times = f64_vec(&c.times);
    lazyrich::num::check_times(&times)?;
    let layers: Vec<Vec<Vec<f64>>> = c.weights0.iter().map(|l| f64_rows(l)).collect();
    let (model, theta0) = DeepLinear::from_layers(data, &layers, &f64_vec(&c.etas))?;
    let mut out = header("deep_linear", opts, "parameter");
    out.insert("dims".into(), json!(model.dims()));
    let tr = integrate(&ParameterFlow(&model), &theta0, &times, opts)?;
    parameter_points(&model, &theta0, &tr, &mut out);
    out.insert("stats".into(), serde_json::to_value(tr.stats)?);
    Ok(Value::Object(out))
}
