//! `exact` and `simulate` for the single neuron (`"model": "single_neuron"`).

use super::num_or_null;
use anyhow::Result;
use lazyrich::case::SingleNeuronCase;
use lazyrich::exact::single_neuron::ClosedForm;
use lazyrich::exact::single_neuron_mp::{self as emp, Form};
use lazyrich::flow::{FlowOptions, integrate};
use lazyrich::metrics::single_neuron::{Observable, observables};
use lazyrich::models::ParameterFlow;
use lazyrich::models::single_neuron::{FunctionSpaceFlow, SingleNeuron};
use lazyrich::num::mp;
use lazyrich::num::tol::{self, BoundMethod};
use lazyrich::verify;
use serde_json::{Map, Value, json};

fn model_and_theta(c: &SingleNeuronCase) -> Result<(SingleNeuron, Vec<f64>)> {
    let model = SingleNeuron::new(&c.x_f64(), &c.y_f64(), c.eta_a.to_f64(), c.eta_w.to_f64())?;
    let theta0 = model.theta(c.a0.to_f64(), &c.w0_f64())?;
    lazyrich::num::check_times(&c.times_f64())?;
    Ok((model, theta0))
}

pub(super) fn exact_json(c: &SingleNeuronCase, prec: u32, form: Form) -> Result<Value> {
    mp::check_prec(prec)?;
    let (model, theta0) = model_and_theta(c)?;
    let mut out = Map::new();
    out.insert("model".into(), json!("single_neuron"));
    out.insert("form".into(), json!(form.as_str()));
    out.insert("prec_bits".into(), json!(prec));
    if prec == tol::MIN_PREC_BITS && form == Form::Linearised {
        // f64 closed form; bound from a 128-bit MPFR evaluation.
        let cf = ClosedForm::new(&model, c.a0.to_f64(), &c.w0_f64())?;
        let refs = emp::evaluate_with_bounds(c, 128, Form::Linearised)?;
        out.insert("delta".into(), json!(cf.delta()));
        out.insert("ref_method".into(), json!(BoundMethod::F64VsMp.as_str()));
        let mut pts = Vec::new();
        for (t, r) in c.times_f64().iter().zip(&refs) {
            let o = observables(&model, &theta0, *t, &cf.theta_at(*t));
            let mut bmax = 0.0f64;
            let mut per = Map::new();
            for q in Observable::ALL {
                let ours = o.of(q);
                let theirs = r.point.values(q);
                let rb = r.bounds_of(q);
                let b = ours
                    .iter()
                    .zip(&theirs)
                    .zip(rb)
                    .map(|((x, y), b)| (x - y.to_f64()).abs() + b.abs + y.to_f64().abs() * tol::F64_UNIT_ROUNDOFF)
                    .fold(0.0, f64::max);
                bmax = bmax.max(b);
                per.insert(q.name().into(), num_or_null(b));
            }
            pts.push(json!({
                "t": t, "a": o.a, "w": o.w, "beta": o.beta, "mu": o.mu, "phi": num_or_null(o.phi),
                "kernel_distance": num_or_null(o.kernel_distance), "loss": o.loss,
                "abs_err_bound": bmax, "err_bounds": per,
            }));
        }
        out.insert("points".into(), Value::Array(pts));
    } else {
        let pts = emp::evaluate_with_bounds(c, prec, form)?;
        let cf = emp::ClosedFormMp::new(c, prec)?;
        let cf_hi = emp::ClosedFormMp::new(c, prec + tol::GUARD_BITS)?;
        let db = mp::two_precision_bound_mp(cf.delta(), cf_hi.delta());
        out.insert(
            "delta".into(),
            if prec == tol::MIN_PREC_BITS {
                json!(cf.delta().to_f64())
            } else {
                json!(mp::to_decimal_mp(cf.delta(), &db))
            },
        );
        let as_f64 = prec == tol::MIN_PREC_BITS;
        // At 53 bits values and bounds are JSON numbers; above, decimal strings (bounds can be far
        // below f64's range: ≈ 1e-1233 at 4096 bits).
        let bound_json = |b: &rug::Float| -> Value {
            if as_f64 {
                num_or_null(b.to_f64_round(rug::float::Round::Up))
            } else {
                json!(mp::bound_text(b))
            }
        };
        out.insert("delta_abs_err_bound".into(), bound_json(&db));
        out.insert("ref_method".into(), json!(BoundMethod::TwoPrecision.as_str()));
        out.insert("whitening_defect".into(), json!(cf.whitening_defect().to_f64()));
        let fmt = |x: &rug::Float, b: &rug::Float| -> Value {
            if as_f64 {
                num_or_null(x.to_f64())
            } else {
                json!(mp::to_decimal_mp(x, b))
            }
        };
        let mut arr = Vec::new();
        for (bp, t) in pts.iter().zip(&c.times) {
            let mut o = Map::new();
            // the time exactly as the case gave it
            o.insert("t".into(), if as_f64 { json!(t.to_f64()) } else { json!(t.as_str()) });
            let mut per = Map::new();
            for q in Observable::ALL {
                let vals = bp.point.values(q);
                let bs = bp.bounds_mp_of(q);
                let rendered: Vec<Value> = vals.iter().zip(bs).map(|(v, b)| fmt(v, b)).collect();
                let v = if matches!(q, Observable::W | Observable::Beta) {
                    Value::Array(rendered)
                } else {
                    rendered.into_iter().next().unwrap_or(Value::Null)
                };
                o.insert(q.name().into(), v);
                let mut m = rug::Float::new(64);
                for b in bs {
                    if *b > m {
                        m = b.clone();
                    }
                }
                per.insert(q.name().into(), bound_json(&m));
            }
            o.insert("abs_err_bound".into(), bound_json(&bp.max_bound_mp()));
            o.insert("err_bounds".into(), Value::Object(per));
            arr.push(Value::Object(o));
        }
        out.insert("points".into(), Value::Array(arr));
    }
    if let Ok(cf) = ClosedForm::new(&model, c.a0.to_f64(), &c.w0_f64())
        && let Some(l) = cf.limit()
    {
        out.insert("limit".into(), json!({"sign": l.sign, "a": l.a, "w": l.w}));
    }
    Ok(Value::Object(out))
}

/// `exact --rigorous`: every quantity as an enclosure [lo, hi] (decimal strings, lo rounded down,
/// hi rounded up, with the digits the precision holds).
pub(super) fn exact_rigorous_json(c: &SingleNeuronCase, prec: u32) -> Result<Value> {
    use lazyrich::exact::single_neuron_ball::{ClosedFormBall, PointBall};
    use lazyrich::num::ball::Ball;
    mp::check_prec(prec)?;
    model_and_theta(c)?;
    let cf = ClosedFormBall::new(c, prec)?;
    let pts: Vec<PointBall> = c.times.iter().map(|t| cf.point(t)).collect::<Result<_, _>>()?;
    let digits = mp::max_digits(prec);
    let enc = |b: &Ball| json!({"lo": b.lo_decimal(digits), "hi": b.hi_decimal(digits), "rad": b.rad()});
    let mut out = Map::new();
    out.insert("model".into(), json!("single_neuron"));
    out.insert("form".into(), json!("linearised"));
    out.insert("prec_bits".into(), json!(prec));
    out.insert("bound_method".into(), json!(BoundMethod::Rigorous.as_str()));
    out.insert("delta".into(), enc(cf.delta()));
    let mut arr = Vec::new();
    for (t, pb) in c.times.iter().zip(&pts) {
        let mut o = Map::new();
        o.insert("t".into(), json!(t.as_str()));
        for q in Observable::ALL {
            let v: Vec<Value> = pb.values(q).into_iter().map(enc).collect();
            let v = if matches!(q, Observable::W | Observable::Beta) {
                Value::Array(v)
            } else {
                v.into_iter().next().unwrap_or(Value::Null)
            };
            o.insert(q.name().into(), v);
        }
        // Infinite when an enclosure of 0 has a positive radius: then not printed (lo/hi say it).
        if pb.max_rel_rad().is_finite() {
            o.insert("max_rel_rad".into(), json!(pb.max_rel_rad()));
        }
        arr.push(Value::Object(o));
    }
    out.insert("points".into(), Value::Array(arr));
    Ok(Value::Object(out))
}

/// `simulate --method taylor`: f64 at 53 bits, MPFR above (values as decimal strings with the
/// digits the integrator's error estimate supports, at most what the precision holds). Runs the
/// exact span reduction ([`lazyrich::taylor::single_neuron_span`]) when its rank (`span_rank` in
/// the JSON) is below d, the full field otherwise.
pub(super) fn simulate_taylor_json(c: &SingleNeuronCase, prec: u32, tol: f64) -> Result<Value> {
    use lazyrich::taylor::single_neuron::SingleNeuronJet;
    use lazyrich::taylor::single_neuron_span as span;
    use lazyrich::taylor::{TaylorOptions, integrate as taylor};
    use rug::Float;
    mp::check_prec(prec)?;
    let (model, theta0) = model_and_theta(c)?;
    let opts = TaylorOptions::new(tol);
    let delta0 = model.delta(&theta0);
    let mut out = Map::new();
    out.insert("model".into(), json!("single_neuron"));
    out.insert("method".into(), json!("taylor"));
    out.insert("form".into(), json!("parameter"));
    out.insert("prec_bits".into(), json!(prec));
    out.insert("tol".into(), json!(tol));
    out.insert("delta".into(), json!(delta0));
    let mut pts = Vec::new();
    let d = theta0.len() - 1;
    let (stats, drift) = if prec == tol::MIN_PREC_BITS {
        // The exact span reduction (1 + r unknowns) when span{w0, b, G…} has r < d.
        let rank = span::SpanReduction::new(&model, &theta0)?.rank();
        out.insert("span_rank".into(), json!(rank));
        let tr = if rank < d {
            span::solve(&model, &theta0, &c.times_f64(), &opts)?
        } else {
            taylor(&mut SingleNeuronJet::from_model(&model), &theta0, &c.times_f64(), &opts)?
        };
        let mut drift = 0.0f64;
        for (th, t) in tr.states.iter().zip(c.times_f64()) {
            let o = observables(&model, &theta0, t, th);
            let dd = (model.delta(th) - delta0).abs();
            drift = drift.max(dd);
            pts.push(
                json!({"t": t, "a": o.a, "w": o.w, "beta": o.beta, "mu": o.mu, "phi": num_or_null(o.phi),
                             "kernel_distance": num_or_null(o.kernel_distance), "loss": o.loss, "delta_drift": dd}),
            );
        }
        (tr.stats, drift)
    } else {
        let p = prec;
        let mut x0 = vec![c.a0.to_mp(p)];
        x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
        let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(p)).collect();
        // The span reduction at p bits: r < d only when XᵀX = I (or G has an invariant subspace)
        // at the working precision, e.g. X = I or ±½ Hadamard data, not decimal data whitened
        // to 1e-16.
        let mut red = span::SpanReductionAt::from_case(c, p)?;
        out.insert("span_rank".into(), json!(red.rank()));
        let tr = if red.rank() < d {
            red.solve(&times, &opts)?
        } else {
            taylor(&mut SingleNeuronJet::from_case(c, p), &x0, &times, &opts)?
        };
        let est = tr.stats.err_estimate;
        let eta_a = c.eta_a.to_mp(p);
        let eta_w = c.eta_w.to_mp(p);
        let x: Vec<Vec<Float>> = c.x.iter().map(|r| r.iter().map(|v| v.to_mp(p)).collect()).collect();
        let y: Vec<Float> = c.y.iter().map(|v| v.to_mp(p)).collect();
        let d = x0.len() - 1;
        let bstar: Vec<Float> = (0..d)
            .map(|j| {
                x.iter()
                    .zip(&y)
                    .fold(Float::new(p), |s, (r, yi)| s + Float::with_val(p, &r[j] * yi))
            })
            .collect();
        let dotp = |u: &[Float], v: &[Float]| {
            u.iter()
                .zip(v)
                .fold(Float::new(p), |s, (a, b)| s + Float::with_val(p, a * b))
        };
        let delta_of = |a: &Float, w: &[Float]| {
            Float::with_val(p, &eta_w * Float::with_val(p, a.square_ref())) - Float::with_val(p, &eta_a * dotp(w, w))
        };
        let d0 = delta_of(&x0[0], &x0[1..]);
        out.insert("delta".into(), json!(mp::to_decimal(&d0, 0.0)));
        let s_norm = dotp(&bstar, &bstar).sqrt();
        let whitened = model.whitening_defect() == 0.0;
        let dec = |v: &Float| json!(mp::to_decimal(v, est));
        let mut drift = 0.0f64;
        for (st, t) in tr.states.iter().zip(&c.times) {
            let (a, w) = (&st[0], &st[1..]);
            let beta: Vec<Float> = w.iter().map(|wi| Float::with_val(p, a * wi)).collect();
            let wn = dotp(w, w).sqrt();
            let mu = Float::with_val(p, a * &wn);
            let phi = dotp(w, &bstar) / Float::with_val(p, &wn * &s_norm);
            // L = ½‖Xβ − y‖² (any X)
            let mut loss = Float::new(p);
            for (row, yi) in x.iter().zip(&y) {
                loss += (dotp(row, &beta) - yi).square();
            }
            loss /= 2u32;
            let ks = emp::kernel_distance_mp(&eta_a, &eta_w, &x0[0], &x0[1..], a, w, p);
            let dd = Float::with_val(p, delta_of(a, w) - &d0).abs().to_f64();
            drift = drift.max(dd);
            let mut point = json!({"t": t.as_str(), "a": dec(a), "w": w.iter().map(dec).collect::<Vec<_>>(),
                             "beta": beta.iter().map(dec).collect::<Vec<_>>(), "mu": dec(&mu),
                             "phi": if phi.is_finite() { dec(&phi) } else { Value::Null },
                             "kernel_distance": dec(&ks),
                             "loss": dec(&loss), "delta_drift": dd});
            if !whitened {
                // Not available (see the note), so not printed.
                if let Some(o) = point.as_object_mut() {
                    o.remove("kernel_distance");
                }
            }
            pts.push(point);
        }
        if model.whitening_defect() > 0.0 {
            out.insert(
                "note".into(),
                json!(
                    "kernel_distance is not printed above 53 bits for non-whitened X (the MPFR kernel \
                       distance implements the whitened formula tr(M0 Mt) only); use --prec 53 for it"
                ),
            );
        }
        (tr.stats, drift)
    };
    out.insert("points".into(), Value::Array(pts));
    out.insert("stats".into(), serde_json::to_value(stats)?);
    out.insert("err_estimate".into(), json!(stats.err_estimate));
    out.insert("delta_drift".into(), json!(drift));
    Ok(Value::Object(out))
}

pub(super) fn simulate_json(c: &SingleNeuronCase, opts: &FlowOptions, function_space: bool) -> Result<Value> {
    let (model, theta0) = model_and_theta(c)?;
    let times = c.times_f64();
    let opts = *opts;
    let delta0 = model.delta(&theta0);
    let mut out = Map::new();
    out.insert("model".into(), json!("single_neuron"));
    out.insert("method".into(), json!(opts.method.as_str()));
    out.insert("rtol".into(), json!(opts.rtol));
    out.insert("atol".into(), json!(opts.atol));
    out.insert("delta".into(), json!(delta0));
    if function_space {
        out.insert("form".into(), json!("function_space"));
        let fs = FunctionSpaceFlow::new(&model, delta0);
        let mut beta0 = vec![0.0; model.d()];
        model.beta_inplace(&theta0, &mut beta0);
        let tr = integrate(&fs, &beta0, &times, &opts)?;
        let diag = verify::single_neuron::function_space_diagnostics(&fs, &beta0, *times.last().unwrap_or(&0.0), &opts);
        let pts: Vec<Value> = tr
            .states
            .iter()
            .zip(&times)
            .map(|(b, t)| {
                // (a, w) up to the symmetry (a, w) → (−a, −w): M and the kernel do not see it.
                let th = theta_from_beta(&model, b, delta0);
                let o = observables(&model, &theta0, *t, &th);
                // θ is known only up to its sign here: a, w, μ, φ are not printed in this form.
                json!({"t": t, "beta": b, "loss": model.loss_beta(b), "kernel_distance": num_or_null(o.kernel_distance)})
            })
            .collect();
        out.insert("points".into(), Value::Array(pts));
        out.insert("stats".into(), serde_json::to_value(tr.stats)?);
        out.insert("delta_drift".into(), json!(0.0));
        out.insert(
            "function_space".into(),
            json!({"min_beta_norm": diag.min_beta_norm, "max_beta_norm": diag.max_beta_norm,
                   "max_condition_of_M": num_or_null(diag.max_condition), "error_amplification": num_or_null(diag.amplification),
                   "warning": diag.warning,
                   "note": "a, w, mu, phi are not defined by beta alone (sign of a); beta, loss and the kernel are"}),
        );
        if let Some(w) = &diag.warning {
            eprintln!("warning: {w}");
        }
    } else {
        out.insert("form".into(), json!("parameter"));
        let tr = integrate(&ParameterFlow(&model), &theta0, &times, &opts)?;
        let drift = tr
            .states
            .iter()
            .map(|th| (model.delta(th) - delta0).abs())
            .fold(0.0, f64::max);
        let pts: Vec<Value> = tr
            .states
            .iter()
            .zip(&times)
            .map(|(th, t)| {
                let o = observables(&model, &theta0, *t, th);
                json!({"t": t, "a": o.a, "w": o.w, "beta": o.beta, "mu": o.mu, "phi": num_or_null(o.phi),
                       "kernel_distance": num_or_null(o.kernel_distance), "loss": o.loss,
                       "delta_drift": (model.delta(th) - delta0).abs()})
            })
            .collect();
        out.insert("points".into(), Value::Array(pts));
        out.insert("stats".into(), serde_json::to_value(tr.stats)?);
        out.insert("delta_drift".into(), json!(drift));
    }
    Ok(Value::Object(out))
}

/// (a, w) with a ≥ 0 from β and δ: a² = (δ + κ)/(2η_w), w = β/a.
fn theta_from_beta(model: &SingleNeuron, beta: &[f64], delta: f64) -> Vec<f64> {
    let b2: f64 = beta.iter().map(|v| v * v).sum();
    let kappa = delta.hypot(2.0 * (model.eta_a() * model.eta_w() * b2).sqrt());
    let a2 = if delta >= 0.0 {
        (delta + kappa) / (2.0 * model.eta_w())
    } else {
        2.0 * model.eta_a() * b2 / (kappa - delta)
    };
    let a = a2.sqrt();
    let mut th = vec![a];
    th.extend(beta.iter().map(|b| if a > 0.0 { b / a } else { 0.0 }));
    th
}
