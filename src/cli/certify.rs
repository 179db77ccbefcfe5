//! `simulate --certify` and `simulate --method taylor --rigorous`: proven error bounds and
//! rigorous enclosures from the validated integrator ([`lazyrich::taylor::validated`]).
//!
//! `--certify` runs the requested method as usual, then encloses the exact flow of the case's
//! inputs as given (every decimal taken exactly) at every output time, evaluates every printed
//! quantity over that enclosure in balls ([`lazyrich::metrics::enclosed`]), and bounds the
//! distance from the printed decimal text (parsed exactly) to the enclosure: a proven upper
//! bound on the absolute error of every numeric field printed at that point, the decimal
//! rounding of the printed numbers included. Fields without a ball formula yet (the
//! λ-balanced kernel distance) are removed from the points and listed in `certificate.omitted_fields`, so that
//! nothing printed is left uncovered. Piecewise-linear nets are enclosed through their
//! activation switches; where the next pattern cannot be proven (sliding, tangency) `--rigorous`
//! prints the times before it and a `stopped` object, and `--certify` refuses (exit 2) when a
//! requested time lies past it.

use anyhow::{Result, bail};
use lazyrich::case::Case;
use lazyrich::metrics::enclosed::{self, Quantity, Shape};
use lazyrich::num::ball::Ball;
use lazyrich::num::decimal::Num;
use lazyrich::num::mp;
use lazyrich::taylor::cases::{self, ball_of};
use lazyrich::taylor::validated::{Stopped, VALIDATED_MAX_PREC, ValidatedOptions, ValidatedStats};
use serde_json::{Map, Value, json};

/// Largest state dimension the validated integrator is run on: its cost per step grows as n³
/// (the QR re-orthogonalisation and the n×n ball matrix products of Lohner's method).
pub(super) const MAX_CERTIFY_DIM: usize = 2_000;

/// Precision and tolerance of the reference enclosure behind `--certify`: 128 bits (widths
/// ≈ 1e-30 on the catalog's cases, far below any f64 simulation's error and below the half-ulp
/// of the printed f64 decimals, so the bound is the simulation's own error).
const CERTIFY_PREC: u32 = 128;
const CERTIFY_TOL: f64 = 1e-30;

const METHOD: &str = "validated Taylor integration in ball arithmetic (Lohner's QR method; \
                      mean-value form over the set, a-priori enclosure by the high-order Picard test)";

/// The state dimension of a case, or an error for a model the validated integrator cannot run.
pub(super) fn check_model(case: &Case) -> Result<usize> {
    let n = match case {
        Case::SingleNeuron(c) => c.w0.len() + 1,
        Case::TwoLayerLinear(c) => c.w0.iter().chain(&c.a0).map(Vec::len).sum(),
        Case::DeepLinear(c) => c.weights0.iter().flatten().map(Vec::len).sum(),
        Case::LambdaBalanced(c) => c.w1_0.iter().chain(&c.w2_0).map(Vec::len).sum(),
        Case::PiecewiseLinear(c) => c.a0.len() * (1 + c.w0.first().map_or(0, Vec::len)),
    };
    if n > MAX_CERTIFY_DIM {
        bail!(
            "no proven bound for this case: its state has P = {n} parameters, above the validated \
             integrator's limit of {MAX_CERTIFY_DIM} (its cost per step grows as P³); drop --certify, or \
             certify a smaller case"
        );
    }
    Ok(n)
}

/// The case's times, the enclosures of every printed quantity at each time reached, the run's
/// statistics, and where the certificate stopped early (piecewise-linear nets: a possible
/// activation switch).
type Enclosed = (Vec<Num>, Vec<Vec<Quantity<Ball>>>, ValidatedStats, Option<Stopped>);

/// Enclosures of every printed quantity at the case's times.
fn enclose_quantities(case: &Case, prec: u32, tol: Option<f64>) -> Result<Enclosed> {
    check_model(case)?;
    mp::check_prec(prec)?;
    let mut opts = ValidatedOptions::new(prec);
    opts.tol = tol;
    opts.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let tr = cases::enclose_case(case, &opts)?;
    let b = |v: &Num| ball_of(v, prec);
    let (times, qs): (Vec<Num>, Vec<Vec<Quantity<Ball>>>) = match case {
        Case::SingleNeuron(c) => (
            c.times.clone(),
            tr.states.iter().map(|th| enclosed::single_neuron(c, &b, th)).collect(),
        ),
        Case::TwoLayerLinear(c) => {
            let (jet, _) = cases::two_layer_linear(c, &b);
            (
                c.times.clone(),
                tr.states.iter().map(|th| enclosed::linear(&jet, th)).collect(),
            )
        }
        Case::DeepLinear(c) => {
            let (jet, _) = cases::deep_linear(c, &b);
            (
                c.times.clone(),
                tr.states.iter().map(|th| enclosed::linear(&jet, th)).collect(),
            )
        }
        Case::LambdaBalanced(c) => (
            c.times.clone(),
            tr.states
                .iter()
                .map(|th| enclosed::lambda_balanced(c, &b, th))
                .collect(),
        ),
        Case::PiecewiseLinear(c) => (
            c.times.clone(),
            tr.states
                .iter()
                .map(|th| enclosed::piecewise_linear(c, &b, th, cases::piecewise_loss_factor(c, &b)))
                .collect(),
        ),
    };
    Ok((times, qs, tr.stats, tr.stopped))
}

/// The names every point of `simulate` prints for this model that have no ball formula yet.
fn omitted_fields(case: &Case) -> &'static [&'static str] {
    match case {
        Case::LambdaBalanced(_) => &["kernel_distance"],
        _ => &[],
    }
}

/// `exact --rigorous` on inputs that miss the closed form's assumptions (`why`): the closed form's
/// enclosure would be of a neighbouring problem, so the enclosures printed are those of the exact
/// flow of the inputs as written, from the validated integrator ([`rigorous_json`]); `closed_form`
/// says why the closed form was not used.
///
/// # Errors
/// As [`rigorous_json`], with the defect named.
pub(super) fn rigorous_fold(case: &Case, prec: u32, why: &str) -> Result<Value> {
    let mut v = rigorous_json(case, prec, None).map_err(|e| {
        anyhow::anyhow!(
            "{why}, so --rigorous encloses the inputs' own flow by validated integration, which failed: {e}; give \
             inputs that meet the closed form's assumptions exactly"
        )
    })?;
    if let Some(top) = v.as_object_mut() {
        top.insert("method".into(), json!("validated_enclosure"));
        top.insert(
            "closed_form".into(),
            json!(format!(
                "not used: {why}; its enclosure would be of a neighbouring, idealised problem, so every quantity is \
                 enclosed on the exact flow of the inputs as written"
            )),
        );
    }
    Ok(v)
}

/// `simulate --method taylor --rigorous`: every quantity as an enclosure {"lo", "hi", "rad"}.
///
/// # Errors
/// Bad precision or tolerance, a model without a validated integrator, a state above
/// [`MAX_CERTIFY_DIM`], or a step that cannot be validated.
pub(super) fn rigorous_json(case: &Case, prec: u32, tol: Option<f64>) -> Result<Value> {
    let (times, qs, stats, stopped) = enclose_quantities(case, prec, tol)?;
    let digits = mp::max_digits(prec);
    let enc = |b: &Ball| json!({"lo": b.lo_decimal(digits), "hi": b.hi_decimal(digits), "rad": printed_bound(b.rad())});
    let mut pts = Vec::new();
    for (t, quants) in times.iter().zip(&qs) {
        let mut o = Map::new();
        o.insert("t".into(), json!(t.as_str()));
        let mut widest = 0f64;
        for q in quants {
            if !q.values.iter().all(Ball::is_finite) {
                bail!(
                    "the enclosure of {} at t = {} is not finite (a division by a ball that contains 0, e.g. φ \
                     with w ≈ 0): no value can be printed for it",
                    q.name,
                    t.as_str()
                );
            }
            widest = q.values.iter().map(Ball::rad).fold(widest, f64::max);
            o.insert(q.name.into(), shaped(q.shape, q.values.iter().map(enc).collect()));
        }
        o.insert("max_rad".into(), printed_bound(widest));
        pts.push(Value::Object(o));
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(case.model_name()));
    out.insert("method".into(), json!("taylor"));
    out.insert("rigorous".into(), json!(true));
    out.insert("prec_bits".into(), json!(prec));
    out.insert("bound_method".into(), json!(METHOD));
    out.insert(
        "covers".into(),
        json!("the exact flow of the case's decimal inputs as written (data, rates, initial weights, times)"),
    );
    out.insert("points".into(), Value::Array(pts));
    if let Some(s) = &stopped {
        let reached = qs.len();
        eprintln!(
            "warning: the certificate stops at t = {:e} ({} of {} times enclosed): {}",
            s.t,
            reached,
            times.len(),
            s.why
        );
        out.insert(
            "stopped".into(),
            json!({"t": s.t, "step_tried": s.h, "why": s.why, "times_enclosed": reached, "times_requested": times.len()}),
        );
    }
    out.insert("stats".into(), serde_json::to_value(stats)?);
    Ok(Value::Object(out))
}

fn shaped(shape: Shape, mut v: Vec<Value>) -> Value {
    match shape {
        Shape::Scalar => v.pop().unwrap_or(Value::Null),
        Shape::Vector => Value::Array(v),
        Shape::Matrix(_, c) => Value::Array(v.chunks(c.max(1)).map(|r| Value::Array(r.to_vec())).collect()),
    }
}

/// A bound as printed: the next f64 above `b`, whose shortest decimal (serde's output) is then
/// still ≥ `b` — the printed text of a bound must not round below the proven value.
fn printed_bound(b: f64) -> Value {
    let up = if b.is_finite() && b >= 0.0 {
        f64::from_bits(b.to_bits() + 1)
    } else {
        b
    };
    json!(up)
}

/// Flatten a printed JSON quantity (number, list, nested rows) in row-major order; `None` for a
/// printed null.
fn printed_numbers(v: &Value, out: &mut Vec<Option<String>>) {
    match v {
        Value::Number(n) => out.push(Some(n.to_string())),
        Value::String(s) if Num::parse(s).is_ok() => out.push(Some(s.clone())),
        Value::Array(a) => a.iter().for_each(|x| printed_numbers(x, out)),
        _ => out.push(None),
    }
}

/// An upper bound of |printed − true| for the printed decimal text (enclosed at `prec` bits)
/// and the true value's ball.
fn distance_up(text: &str, truth: &Ball, prec: u32) -> Result<f64> {
    let num = Num::parse(text).map_err(|e| anyhow::anyhow!("printed value {text} is not decimal: {e}"))?;
    let mut d = ball_of(&num, prec);
    d.sub_assign(truth);
    Ok(d.mag_up())
}

/// `exact --certify`: replace the closed form's own error estimates in `v` (`abs_err_bound`,
/// `err_bounds` per point; `delta_abs_err_bound`, `ref_method` at the top) by proven bounds
/// against a validated enclosure of the exact flow of the inputs as written, at `prec + 32`
/// bits (at least [`CERTIFY_PREC`]). So a defect of the inputs the closed form assumes away
/// (an X that is whitened only to 1e-34, a decimal a0 the closed form reads through f64) is in
/// the bound, as is the rounding of the printed decimals. The single neuron's printed δ gets
/// `delta_err_bound` from δ = η_w a0² − η_a‖w0‖² enclosed from the decimal inputs.
///
/// # Errors
/// A precision whose reference would exceed the validated integrator's range, a model it cannot
/// run, and everything [`certify`] refuses.
pub(super) fn certify_exact(case: &Case, v: &mut Value, prec: u32) -> Result<()> {
    let ref_prec = (prec + 32).max(CERTIFY_PREC);
    if ref_prec > VALIDATED_MAX_PREC {
        bail!(
            "exact --certify proves its bounds with a validated enclosure at --prec + 32 bits, at most \
             {VALIDATED_MAX_PREC}: pass --prec ≤ {} with --certify",
            VALIDATED_MAX_PREC - 32
        );
    }
    check_model(case)?;
    let Some(top) = v.as_object_mut() else {
        bail!("internal: the exact output is not an object");
    };
    top.remove("delta_abs_err_bound");
    top.remove("ref_method");
    // Results with no validated counterpart (t → ∞ limits; spectra of the data) leave the output
    // under --certify and are listed in certificate.omitted_fields; input diagnostics (defects)
    // stay: they describe the inputs, not the flow.
    let mut omitted_top: Vec<&str> = Vec::new();
    for name in ["limit", "singular_values_of_xty", "mode_deltas"] {
        if top.remove(name).is_some() {
            omitted_top.push(name);
        }
    }
    let delta_text = match top.get("delta") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let (Case::SingleNeuron(c), Some(text)) = (case, delta_text) {
        let p = 2 * ref_prec;
        let b = |x: &Num| ball_of(x, p);
        let mut delta = b(&c.a0);
        delta = delta.mul(&delta).mul(&b(&c.eta_w));
        let mut w2 = Ball::from_u32(p, 0);
        for w in &c.w0 {
            let wb = b(w);
            w2 = w2.add(&wb.mul(&wb));
        }
        delta.sub_assign(&w2.mul(&b(&c.eta_a)));
        top.insert("delta_err_bound".into(), printed_bound(distance_up(&text, &delta, p)?));
    }
    for p in top
        .get_mut("points")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = p.as_object_mut() {
            o.remove("abs_err_bound");
            o.remove("err_bounds");
        }
    }
    certify_at(case, v, ref_prec, None)?;
    if let Some(Value::Array(list)) = v.pointer_mut("/certificate/omitted_fields") {
        list.extend(omitted_top.into_iter().map(Value::from));
    }
    Ok(())
}

/// Why a case's decimal inputs miss its closed form's assumptions, decided in exact rational
/// arithmetic; `None` when they meet them exactly.
///
/// - single_neuron: XᵀX = I;
/// - lambda_balanced: XXᵀ/P = I and W2ᵀW2 − W1W1ᵀ = λI ([`case_assumptions`]);
/// - two_layer_linear: XᵀX = I and task alignment, both decided exactly
///   ([`lazyrich::verify::prove::closed_form_modes::alignment`]); even when they hold, the per-mode
///   closed form is evaluated through a floating-point SVD of β* whose error has no proven bound,
///   so its bounds are always folded (the reason says which case applies).
///
/// # Errors
/// An entry that is not a decimal number.
pub(super) fn exact_defect(case: &Case) -> Result<Option<String>> {
    use lazyrich::models::lambda_balanced_exact::{AssumptionError, case_assumptions};
    let gram_defect = |x: &[Vec<Num>]| -> Result<rug::Rational> {
        lazyrich::models::single_neuron::exact_whitening_defect(x).map_err(|e| anyhow::anyhow!("field \"x\": {e}"))
    };
    Ok(match case {
        Case::SingleNeuron(c) => {
            let g = gram_defect(&c.x)?;
            (g != 0).then(|| {
                format!(
                    "X is not exactly whitened: max|XᵀX − I| = {:.3e} (exact rational arithmetic)",
                    g.to_f64()
                )
            })
        }
        Case::TwoLayerLinear(c) => {
            let g = gram_defect(&c.x)?;
            Some(if g != 0 {
                format!(
                    "X is not exactly whitened: max|XᵀX − I| = {:.3e} (exact rational arithmetic)",
                    g.to_f64()
                )
            } else {
                let (failed, _) =
                    lazyrich::verify::prove::closed_form_modes::alignment(c).map_err(|e| anyhow::anyhow!("{e}"))?;
                if failed.is_empty() {
                    "the inputs are exactly whitened and task-aligned (decided in rational arithmetic; `lazyrich prove` \
                     proves the per-mode closed form is their flow), but the closed form is evaluated through a \
                     floating-point SVD of β* whose error has no proven bound"
                        .to_string()
                } else {
                    failed.join("; ")
                }
            })
        }
        Case::LambdaBalanced(c) => match case_assumptions(c) {
            Ok(_) => None,
            Err(AssumptionError::Violated { whitening, balance, .. }) => Some(format!(
                "the inputs are not exactly whitened and λ-balanced: max|XXᵀ/P − I| ≤ {whitening:.3e}, min over λ of \
                 max|W2ᵀW2 − W1W1ᵀ − λI| ≤ {balance:.3e} (exact rational arithmetic)"
            )),
            Err(e) => Some(format!(
                "the closed form's assumptions could not be verified exactly: {e}"
            )),
        },
        Case::DeepLinear(_) | Case::PiecewiseLinear(_) => None,
    })
}

/// `exact` on inputs that miss the closed form's assumptions (`why`, from [`exact_defect`]): the
/// closed form's estimates describe the idealised problem, so they are replaced — under the same
/// field names, `abs_err_bound` and `err_bounds` — by the proven bounds of [`certify_exact`]
/// against a validated enclosure of the flow of the inputs as written; `ref_method` becomes
/// `validated_enclosure` and `bounds_cover` says what the bounds cover.
///
/// # Errors
/// When the validated enclosure cannot run (size, precision, a switch it cannot cross): the
/// message names the defect and the ways out (`--idealised`, exact inputs).
pub(super) fn fold_defect(case: &Case, v: &mut Value, prec: u32, why: &str) -> Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "note: {why}; the closed form solves the idealised problem, so its error bounds come from a validated \
             enclosure of the flow of the inputs as written (pass --idealised to skip this)"
        );
    }
    certify_exact(case, v, prec).map_err(|e| {
        anyhow::anyhow!(
            "{why}, and no proven bound for the inputs as written could be computed: {e}. Pass --idealised for the \
             closed form with bounds of the idealised problem, or give inputs that meet its assumptions exactly"
        )
    })?;
    for p in v.get_mut("points").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(o) = p.as_object_mut()
            && let Some(b) = o.get("err_bound").cloned()
        {
            o.insert("abs_err_bound".into(), b);
        }
    }
    if let Some(top) = v.as_object_mut() {
        // The single neuron's δ keeps its usual name too (certify_exact calls it delta_err_bound).
        if let Some(b) = top.get("delta_err_bound").cloned() {
            top.insert("delta_abs_err_bound".into(), b);
        }
        top.insert("ref_method".into(), json!("validated_enclosure"));
        top.insert(
            "bounds_cover".into(),
            json!(format!(
                "the exact flow of the inputs as written ({why}: the closed form's values are bounded against a \
                 validated enclosure of that flow, the decimal rounding of the printed numbers included)"
            )),
        );
    }
    Ok(())
}

/// `exact --idealised` on inputs that miss the closed form's assumptions: say on the output that
/// its bounds (estimates) cover the idealised problem, not the inputs as written.
pub(super) fn mark_idealised(v: &mut Value, why: &str) {
    if let Some(top) = v.as_object_mut() {
        top.insert(
            "bounds_cover".into(),
            json!(format!(
                "the idealised problem only ({why}): the bounds do NOT cover the flow of the inputs as written (--idealised)"
            )),
        );
    }
}

/// `--certify`: add `err_bound` (and per field `err_bounds`) to every point of `v`, remove the
/// fields without a ball formula, and add the top-level `certificate`.
///
/// # Errors
/// As [`rigorous_json`]; also when a printed value is not finite or a field's enclosure is not
/// finite (no bound can be proven for it).
pub(super) fn certify(case: &Case, v: &mut Value) -> Result<()> {
    certify_at(case, v, CERTIFY_PREC, Some(CERTIFY_TOL))
}

/// [`certify`] with the reference enclosure at `prec` bits and local tolerance `tol` (`None`:
/// 2^−prec); printed decimals are enclosed at 2·`prec` bits.
fn certify_at(case: &Case, v: &mut Value, prec: u32, tol: Option<f64>) -> Result<()> {
    let (times, qs, stats, stopped) = enclose_quantities(case, prec, tol)?;
    if let Some(s) = stopped {
        bail!(
            "no proven bound past t = {:e} ({} of {} output times enclosed): {}; certify a shorter time span, or \
             drop --certify",
            s.t,
            qs.len(),
            times.len(),
            s.why
        );
    }
    let omitted = omitted_fields(case);
    let Some(points) = v.get_mut("points").and_then(Value::as_array_mut) else {
        bail!("internal: the simulation printed no points to certify");
    };
    if points.len() != times.len() {
        bail!(
            "internal: {} printed points for {} case times: cannot pair them for the certificate",
            points.len(),
            times.len()
        );
    }
    let mut worst = 0f64;
    let mut widest = 0f64;
    for ((p, t), quants) in points.iter_mut().zip(&times).zip(&qs) {
        let Some(o) = p.as_object_mut() else {
            bail!("internal: a printed point is not an object");
        };
        for name in omitted {
            o.remove(*name);
        }
        let mut bounds = Map::new();
        let mut point_bound = match o.get("t") {
            Some(Value::Number(n)) => distance_up(&n.to_string(), &ball_of(t, 2 * prec), 2 * prec)?,
            Some(Value::String(s)) => distance_up(s, &ball_of(t, 2 * prec), 2 * prec)?,
            _ => bail!("the point at t = {} prints no numeric time", t.as_str()),
        };
        bounds.insert("t".into(), printed_bound(point_bound));
        for q in quants {
            let Some(printed) = o.get(q.name) else {
                continue;
            };
            let mut texts = Vec::new();
            printed_numbers(printed, &mut texts);
            if texts.len() != q.values.len() {
                bail!(
                    "internal: {} prints {} numbers, its enclosure has {}",
                    q.name,
                    texts.len(),
                    q.values.len()
                );
            }
            let mut fb = 0f64;
            for (text, truth) in texts.iter().zip(&q.values) {
                let Some(text) = text else {
                    continue;
                };
                if !truth.is_finite() {
                    bail!(
                        "no proven bound for {} at t = {}: its enclosure is not finite (e.g. φ with w ≈ 0); \
                         drop --certify",
                        q.name,
                        t.as_str()
                    );
                }
                widest = widest.max(truth.rad());
                fb = fb.max(distance_up(text, truth, 2 * prec)?);
            }
            bounds.insert(q.name.into(), printed_bound(fb));
            point_bound = point_bound.max(fb);
        }
        // Every remaining numeric field must be covered.
        for (k, val) in o.iter() {
            if k != "t" && !bounds.contains_key(k) && !matches!(val, Value::Null) {
                bail!("internal: field {k} has no proven bound; refusing to print it under --certify");
            }
        }
        worst = worst.max(point_bound);
        o.insert("err_bound".into(), printed_bound(point_bound));
        o.insert("err_bounds".into(), Value::Object(bounds));
    }
    let Some(top) = v.as_object_mut() else {
        bail!("internal: the simulation output is not an object");
    };
    top.insert(
        "certificate".into(),
        json!({
            "rigorous": true,
            "method": METHOD,
            "prec_bits": prec,
            "reference_max_rad": printed_bound(widest),
            "max_err_bound": printed_bound(worst),
            "covers": "err_bound at each point is a proven upper bound on |printed − exact| for every numeric field \
                       printed at that point, against the exact gradient flow of the case's decimal inputs as written, \
                       the decimal rounding of the printed numbers included",
            "omitted_fields": omitted,
            "stats": serde_json::to_value(stats)?,
        }),
    );
    Ok(())
}
