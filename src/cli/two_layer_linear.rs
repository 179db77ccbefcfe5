//! `simulate` for the wide two-layer linear network (`"model": "two_layer_linear"`) and shared
//! output helpers for the linear models.

use anyhow::Result;
use lazyrich::case::{TwoLayerLinearCase, f64_rows, f64_vec};
use lazyrich::flow::{FlowOptions, Trajectory, integrate};
use lazyrich::models::ParameterFlow;
use lazyrich::models::deep_linear::{DeepLinear, LinearData};
use lazyrich::models::two_layer_linear::{Theorem42Flow, TwoLayerLinear};
use serde_json::{Map, Value, json};

/// β (d×c, row-major) as nested rows.
pub(super) fn nested(beta: &[f64], d: usize, c: usize) -> Value {
    Value::Array((0..d).map(|i| json!(beta[i * c..(i + 1) * c])).collect())
}

/// Header shared by both linear models.
pub(super) fn header(model: &str, opts: &FlowOptions, form: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("method".into(), json!(opts.method.as_str()));
    out.insert("rtol".into(), json!(opts.rtol));
    out.insert("atol".into(), json!(opts.atol));
    out.insert("form".into(), json!(form));
    out
}

/// Points of a parameter-space trajectory: t, β, loss, drift of the conserved matrices.
pub(super) fn parameter_points(deep: &DeepLinear, theta0: &[f64], tr: &Trajectory, out: &mut Map<String, Value>) {
    let (d, c) = (deep.data().d, deep.data().c);
    let mut max_drift: f64 = 0.0;
    let pts: Vec<Value> = tr
        .states
        .iter()
        .zip(&tr.times)
        .map(|(th, t)| {
            let b = deep.beta(th);
            let drift = deep.conserved_drift(theta0, th);
            max_drift = max_drift.max(drift);
            json!({"t": t, "beta": nested(&b, d, c), "loss": deep.loss_beta(&b), "conserved_drift": drift})
        })
        .collect();
    out.insert("points".into(), Value::Array(pts));
    out.insert("conserved_drift".into(), json!(max_drift));
    out.insert(
        "conserved_drift_definition".into(),
        json!("max_ij |Q_k(θ(t)) − Q_k(θ0)| over consecutive layer pairs, Q_k = η_k N_{k+1}ᵀN_{k+1} − η_{k+1} N_kN_kᵀ"),
    );
}

pub(super) fn data_of(
    x: &[Vec<lazyrich::num::decimal::Num>],
    y: &[Vec<lazyrich::num::decimal::Num>],
) -> Result<LinearData> {
    Ok(LinearData::new(&f64_rows(x), &f64_rows(y))?)
}

pub(super) fn simulate_json(c: &TwoLayerLinearCase, opts: &FlowOptions, function_space: bool) -> Result<Value> {
    let data = data_of(&c.x, &c.y)?;
    let times = f64_vec(&c.times);
    lazyrich::num::check_times(&times)?;
    let (model, theta0) = TwoLayerLinear::from_init(
        data.clone(),
        &f64_rows(&c.a0),
        &f64_rows(&c.w0),
        c.eta_a.to_f64(),
        c.eta_w.to_f64(),
    )?;
    let (delta, defect, _) = model.isotropy(&theta0);
    let mut out = header(
        "two_layer_linear",
        opts,
        if function_space { "function_space" } else { "parameter" },
    );
    out.insert("h".into(), json!(model.h()));
    out.insert("delta".into(), json!(delta));
    out.insert("isotropy_defect".into(), json!(defect));
    if function_space {
        // δ's sign decides Theorem 4.2's width condition: decide it on the decimals as written.
        let f64_delta = model.isotropic_delta(&theta0)?;
        let (dq, defect_q) = lazyrich::models::two_layer_linear::exact_isotropy(&c.a0, &c.w0, &c.eta_a, &c.eta_w)?;
        let (_, _, scale) = model.isotropy(&theta0);
        let zero_tol = lazyrich::models::two_layer_linear::ISOTROPY_TOL * scale;
        let (delta, how) = if defect_q == 0 {
            (
                dq.to_f64(),
                "exact: Δ = δI holds exactly for the decimal inputs, δ computed in rational arithmetic".to_string(),
            )
        } else if dq.to_f64().abs() <= zero_tol {
            (
                0.0,
                format!(
                    "rounded to 0: Δ = δI only to {:.3e} and |δ| = {:.3e} ≤ ISOTROPY_TOL·scale = {zero_tol:.3e}, so δ is \
                     taken as 0 (a balanced init); the β flow then differs from the parameter flow of these inputs by \
                     O(|δ| + defect) — `--certify` bounds the difference",
                    defect_q.to_f64(),
                    dq.to_f64().abs()
                ),
            )
        } else {
            (
                f64_delta,
                format!(
                    "within tolerance: Δ = δI only to {:.3e} (≤ ISOTROPY_TOL·scale = {zero_tol:.3e}); δ = tr Δ/h in f64",
                    defect_q.to_f64()
                ),
            )
        };
        out.insert("delta".into(), json!(delta));
        out.insert("delta_classification".into(), json!(how));
        let field = Theorem42Flow::new(data, model.eta_a(), model.eta_w(), delta, model.h())?;
        let beta0 = model.deep().beta(&theta0);
        let tr = integrate(&field, &beta0, &times, opts)?;
        let (d, cc) = (model.data().d, model.data().c);
        let pts: Vec<Value> = tr
            .states
            .iter()
            .zip(&times)
            .map(|(b, t)| {
                // The β flow has no conserved matrix to drift: not printed in this form.
                json!({"t": t, "beta": nested(b, d, cc), "loss": model.deep().loss_beta(b)})
            })
            .collect();
        out.insert("points".into(), Value::Array(pts));
        out.insert(
            "note".into(),
            json!("Theorem 4.2 β flow: Δ = δI_h is built into the equation, so there is no parameter drift to report"),
        );
        out.insert("stats".into(), serde_json::to_value(tr.stats)?);
    } else {
        let tr = integrate(&ParameterFlow(&model), &theta0, &times, opts)?;
        parameter_points(model.deep(), &theta0, &tr, &mut out);
        out.insert("stats".into(), serde_json::to_value(tr.stats)?);
    }
    Ok(Value::Object(out))
}

/// `exact` for a whitened, task-aligned two-layer linear case: the per-mode closed form
/// ([`lazyrich::exact::mirror_modes`]). At 53 bits the f64 form with an F64VsMp bound (against
/// 128 bits); above, MPFR at `prec` with two-precision bounds, decimal strings with the
/// digits the bound supports. Any other case: an error naming the failed condition and its size.
pub(super) fn exact_json(c: &TwoLayerLinearCase, prec: u32) -> Result<Value> {
    use lazyrich::exact::mirror_modes::{decompose, evaluate_with_bounds};
    use lazyrich::num::mp;
    use lazyrich::num::tol::{self, BoundMethod};
    mp::check_prec(prec)?;
    let modes = decompose(c)?;
    let (d, cc) = (modes.d, modes.c);
    let mut out = Map::new();
    out.insert("model".into(), json!("two_layer_linear"));
    out.insert("prec_bits".into(), json!(prec));
    out.insert(
        "method".into(),
        json!("per-mode closed form: whitened X, task-aligned init; each mode is the single-neuron closed form with d = 1, y = s_i"),
    );
    out.insert(
        "singular_values_of_xty".into(),
        json!(modes.s.iter().map(|v| super::num_or_null(*v)).collect::<Vec<_>>()),
    );
    out.insert("mode_deltas".into(), json!(modes.deltas()));
    out.insert("alignment_defect".into(), json!(modes.align_defect));
    out.insert("whitening_defect".into(), json!(modes.whitening_defect));
    out.insert(
        "note".into(),
        json!("the closed form solves the exactly aligned, exactly whitened problem; alignment_defect and whitening_defect say how far the given numbers are from it"),
    );
    let ref_prec = if prec == tol::MIN_PREC_BITS { 128 } else { prec };
    let (_, pts) = evaluate_with_bounds(c, ref_prec)?;
    let mut arr = Vec::new();
    for p in &pts {
        let mut o = Map::new();
        if prec == tol::MIN_PREC_BITS {
            let t = p.t.to_f64();
            let (beta, loss) = modes.beta_loss(t)?;
            let mut b: f64 = 0.0;
            for ((x, r), rb) in beta.iter().zip(&p.beta).zip(&p.beta_bounds) {
                let rv = r.to_f64();
                b = b.max((x - rv).abs() + rb.to_f64_round(rug::float::Round::Up) + rv.abs() * tol::F64_UNIT_ROUNDOFF);
            }
            let lb = (loss - p.loss.to_f64()).abs()
                + p.loss_bound.to_f64_round(rug::float::Round::Up)
                + p.loss.to_f64().abs() * tol::F64_UNIT_ROUNDOFF;
            o.insert("t".into(), json!(t));
            o.insert("beta".into(), nested(&beta, d, cc));
            o.insert("loss".into(), super::num_or_null(loss));
            o.insert("abs_err_bound".into(), super::num_or_null(b.max(lb)));
        } else {
            let mut bmax = rug::Float::new(64);
            let strs: Vec<String> = p
                .beta
                .iter()
                .zip(&p.beta_bounds)
                .map(|(x, bd)| {
                    if *bd > bmax {
                        bmax = bd.clone();
                    }
                    mp::to_decimal_mp(x, bd)
                })
                .collect();
            if p.loss_bound > bmax {
                bmax = p.loss_bound.clone();
            }
            o.insert("t".into(), json!(p.t.as_str()));
            o.insert(
                "beta".into(),
                Value::Array((0..d).map(|i| json!(strs[i * cc..(i + 1) * cc])).collect()),
            );
            o.insert("loss".into(), json!(mp::to_decimal_mp(&p.loss, &p.loss_bound)));
            o.insert("abs_err_bound".into(), json!(mp::bound_text(&bmax)));
        }
        arr.push(Value::Object(o));
    }
    out.insert(
        "ref_method".into(),
        json!(if prec == tol::MIN_PREC_BITS {
            BoundMethod::F64VsMp.as_str()
        } else {
            BoundMethod::TwoPrecision.as_str()
        }),
    );
    out.insert("points".into(), Value::Array(arr));
    Ok(Value::Object(out))
}
