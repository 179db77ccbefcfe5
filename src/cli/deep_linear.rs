//! `simulate` for the deep linear network (`"model": "deep_linear"`).

use super::two_layer_linear::{data_of, header, nested, parameter_points};
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

/// A linear-network case for `simulate --method taylor`.
pub(super) enum LinearCaseRef<'a> {
    /// `"two_layer_linear"`: θ = (W, A), rates (η_w, η_a).
    Two(&'a lazyrich::case::TwoLayerLinearCase),
    /// `"deep_linear"`.
    Deep(&'a DeepLinearCase),
}

/// `simulate --method taylor` for the linear models: the parameter flow by the Taylor
/// integrator ([`lazyrich::taylor::linear::LinearJet`]), f64 at 53 bits, MPFR above. Points carry
/// `t`, `beta` (d×c nested rows), `loss` and `conserved_drift` (max |Q_l(θ(t)) − Q_l(θ0)|, at the
/// working precision); above 53 bits values are decimal strings with the digits the
/// integrator's error estimate e supports, propagated through β (m·(2·max|θ|·e + e²)) and the
/// loss (d·c·max|G|·that).
pub(super) fn simulate_taylor_json(c: LinearCaseRef<'_>, prec: u32, tol: f64) -> Result<Value> {
    use lazyrich::num::{mp, tol as ntol};
    use lazyrich::taylor::linear::LinearJet;
    use lazyrich::taylor::{TaylorOptions, integrate as taylor};
    use rug::Float;
    mp::check_prec(prec)?;
    let opts = TaylorOptions::new(tol);
    // The f64 model validates shapes and values (and serves the f64 run).
    let (name, model, theta0, times_num) = match c {
        LinearCaseRef::Two(t) => {
            let data = data_of(&t.x, &t.y)?;
            let (m, th) = lazyrich::models::two_layer_linear::TwoLayerLinear::from_init(
                data,
                &f64_rows(&t.a0),
                &f64_rows(&t.w0),
                t.eta_a.to_f64(),
                t.eta_w.to_f64(),
            )?;
            ("two_layer_linear", m.deep().clone(), th, &t.times)
        }
        LinearCaseRef::Deep(dc) => {
            let data = data_of(&dc.x, &dc.y)?;
            let layers: Vec<Vec<Vec<f64>>> = dc.weights0.iter().map(|l| f64_rows(l)).collect();
            let (m, th) = DeepLinear::from_layers(data, &layers, &f64_vec(&dc.etas))?;
            ("deep_linear", m, th, &dc.times)
        }
    };
    let times = f64_vec(times_num);
    lazyrich::num::check_times(&times)?;
    let (d, cc) = (model.data().d, model.data().c);
    let mut out = serde_json::Map::new();
    out.insert("model".into(), json!(name));
    out.insert("method".into(), json!("taylor"));
    out.insert("form".into(), json!("parameter"));
    out.insert("prec_bits".into(), json!(prec));
    out.insert("tol".into(), json!(tol));
    out.insert("dims".into(), json!(model.dims()));
    let mut pts = Vec::new();
    let mut max_drift: f64 = 0.0;
    let stats = if prec == ntol::MIN_PREC_BITS {
        let tr = taylor(&mut LinearJet::from_model(&model), &theta0, &times, &opts)?;
        for (th, t) in tr.states.iter().zip(&times) {
            let b = model.beta(th);
            let drift = model.conserved_drift(&theta0, th);
            max_drift = max_drift.max(drift);
            pts.push(json!({"t": t, "beta": nested(&b, d, cc), "loss": model.loss_beta(&b), "conserved_drift": drift}));
        }
        tr.stats
    } else {
        let (mut field, th0) = match c {
            LinearCaseRef::Two(t) => LinearJet::from_two_layer_case(t, prec),
            LinearCaseRef::Deep(dc) => LinearJet::from_deep_case(dc, prec),
        };
        let tm: Vec<Float> = times_num.iter().map(|t| t.to_mp(prec)).collect();
        let tr = taylor(&mut field, &th0, &tm, &opts)?;
        let e = tr.stats.err_estimate;
        let m = model.dims().iter().copied().max().unwrap_or(1) as f64;
        for (st, t) in tr.states.iter().zip(times_num) {
            let th_max = st.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max);
            let beta = field.beta(st);
            let b_err = m * (2.0 * th_max * e + e * e);
            let bf: Vec<f64> = beta.iter().map(Float::to_f64).collect();
            let mut r = vec![0.0; model.data().n * cc];
            let mut g = vec![0.0; d * cc];
            model.data().residual_grad(&bf, &mut r, &mut g);
            let g_max = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let l_err = (d * cc) as f64 * g_max * b_err;
            let loss = field.loss(&beta);
            let drift = field.conserved_drift(&th0, st);
            max_drift = max_drift.max(drift);
            let strs: Vec<String> = beta.iter().map(|v| mp::to_decimal(v, b_err)).collect();
            pts.push(json!({
                "t": t.as_str(),
                "beta": (0..d).map(|i| json!(strs[i * cc..(i + 1) * cc])).collect::<Vec<_>>(),
                "loss": mp::to_decimal(&loss, l_err),
                "conserved_drift": drift,
                "beta_err_estimate": b_err,
            }));
        }
        out.insert(
            "note".into(),
            json!("digits supported by the Taylor integrator's error estimate (an estimate, not a proof), propagated through β and the loss"),
        );
        tr.stats
    };
    out.insert("points".into(), Value::Array(pts));
    out.insert("conserved_drift".into(), json!(max_drift));
    out.insert(
        "conserved_drift_definition".into(),
        json!("max_ij |Q_k(θ(t)) − Q_k(θ0)| over consecutive layer pairs, Q_k = η_k N_{k+1}ᵀN_{k+1} − η_{k+1} N_kN_kᵀ, at the working precision"),
    );
    out.insert("stats".into(), serde_json::to_value(stats)?);
    Ok(Value::Object(out))
}
