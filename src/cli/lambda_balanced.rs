//! `exact` and `simulate` for λ-balanced two-layer linear networks (`"model": "lambda_balanced"`).
//!
//! Points carry `t`, `w2w1`, `w1tw1`, `w2w2t` (row-major nested lists), `kernel_distance` and
//! `loss`. `exact` at 53 bits prints f64 numbers whose bounds come from a 128-bit MPFR evaluation
//! (`f64_vs_mp`); above 53 bits it prints decimal strings with only the digits the two-precision
//! bound supports.

use super::num_or_null;
use anyhow::{Result, bail};
use lazyrich::case::LambdaBalancedCase;
use lazyrich::exact::lambda_balanced::ClosedForm;
use lazyrich::exact::lambda_balanced_mp::{ClosedFormMp, MatMp};
use lazyrich::exact::riccati::LbInputs;
use lazyrich::flow::{FlowOptions, integrate};
use lazyrich::metrics::lambda_balanced::{kernel_distance, kernel_distance_of, loss, loss_of};
use lazyrich::models::ParameterFlow;
use lazyrich::models::lambda_balanced::LinearNetwork;
use lazyrich::num::mat::Mat;
use lazyrich::num::mp;
use lazyrich::num::tol::{self, BoundMethod};
use nalgebra::DMatrix;
use rug::Float;
use serde_json::{Map, Value, json};

fn network(c: &LambdaBalancedCase) -> Result<(LinearNetwork, DMatrix<f64>, DMatrix<f64>)> {
    let x = LambdaBalancedCase::matrix_f64(&c.x, "x")?;
    let y = LambdaBalancedCase::matrix_f64(&c.y, "y")?;
    let w1 = LambdaBalancedCase::matrix_f64(&c.w1_0, "w1_0")?;
    let w2 = LambdaBalancedCase::matrix_f64(&c.w2_0, "w2_0")?;
    let net = LinearNetwork::new(&x, &y, w1.nrows(), c.tau.to_f64())?;
    net.theta(&w1, &w2)?;
    lazyrich::num::check_times(&c.times_f64())?;
    Ok((net, w1, w2))
}

fn rows(m: &DMatrix<f64>) -> Value {
    Value::Array(
        (0..m.nrows())
            .map(|i| Value::Array((0..m.ncols()).map(|j| num_or_null(m[(i, j)])).collect()))
            .collect(),
    )
}

/// One MPFR evaluation at prec and prec + 64: (QQᵀ, loss, S) per time at both precisions.
struct MpRun {
    cf: ClosedFormMp,
    lo: Vec<(MatMp, Float, Float)>,
    hi: Vec<(MatMp, Float, Float)>,
}

/// Loss and S(0, t) of QQᵀ(t) at the working precision of `q` (formulas of
/// [`lazyrich::metrics::lambda_balanced`], written once for every number type).
fn loss_and_kernel_distance(inp: &LbInputs<Float>, p0: &Mat<Float>, q: &MatMp) -> Result<(Float, Float)> {
    let (d_i, d_o) = (inp.x.nrows(), inp.y.nrows());
    let qm = Mat::from_fn(q.rows, q.cols, |i, j| q.at(i, j).clone());
    let loss = loss_of(&inp.x, &inp.y, &qm.block(d_i, 0, d_o, d_i))?;
    let kd = kernel_distance_of(
        &inp.x,
        &p0.block(0, 0, d_i, d_i),
        &p0.block(d_i, d_i, d_o, d_o),
        &qm.block(0, 0, d_i, d_i),
        &qm.block(d_i, d_i, d_o, d_o),
    )?;
    Ok((loss, kd))
}

fn mp_run(c: &LambdaBalancedCase, prec: u32) -> Result<MpRun> {
    let cf = ClosedFormMp::new(c, prec)?;
    let cf_hi = ClosedFormMp::new(c, prec + tol::GUARD_BITS)?;
    let obs = |cf: &ClosedFormMp, bits: u32| -> Result<Vec<(MatMp, Float, Float)>> {
        let inp = LbInputs::parse(c, &Float::new(bits))?;
        let p0 = inp.p0();
        cf.evaluate(&c.times)?
            .into_iter()
            .map(|q| {
                let (l, k) = loss_and_kernel_distance(&inp, &p0, &q)?;
                Ok((q, l, k))
            })
            .collect()
    };
    let lo = obs(&cf, prec)?;
    let hi = obs(&cf_hi, prec + tol::GUARD_BITS)?;
    Ok(MpRun { cf, lo, hi })
}

/// Blocks of QQᵀ: (name, row0, col0, nrows, ncols).
fn blocks(d_i: usize, d_o: usize) -> [(&'static str, usize, usize, usize, usize); 3] {
    [
        ("w2w1", d_i, 0, d_o, d_i),
        ("w1tw1", 0, 0, d_i, d_i),
        ("w2w2t", d_i, d_i, d_o, d_o),
    ]
}

/// Budget of `exact` for λ-balanced cases, in semigroup steps at 128 bits (a step at p bits
/// counts (p/128)²): measured 13.9 s for t = 10⁶ (≈ 10⁶ steps) on this project's machine.
const MAX_STEP_UNITS: f64 = 1e6;

pub(super) fn exact_json(c: &LambdaBalancedCase, prec: u32) -> Result<Value> {
    mp::check_prec(prec)?;
    let (net, w1, w2) = network(c)?;
    let (d_i, _, d_o) = net.dims();
    // The exact semigroup stepping costs one step per 1/max|f| of time, at the working precision
    // and at the 128-bit reference: refuse before the work what would run for hours.
    let steps = ClosedForm::new(&net, &w1, &w2)?.steps_to(c.times_f64().iter().copied().fold(0.0, f64::max));
    let units = steps as f64 * (f64::from(prec.max(128)) / 128.0).powi(2);
    if units > MAX_STEP_UNITS {
        bail!(
            "the latest time needs {steps} exact semigroup steps of the closed form at {prec} bits (its cost grows \
             linearly with t and with the square of the precision): above this tool's budget of {MAX_STEP_UNITS:.0e} \
             steps at 128 bits (≈ 15 s); evaluate at a smaller t or a lower --prec"
        );
    }
    let mut out = Map::new();
    out.insert("model".into(), json!("lambda_balanced"));
    out.insert("prec_bits".into(), json!(prec));
    if prec == tol::MIN_PREC_BITS {
        let cf = ClosedForm::new(&net, &w1, &w2)?;
        let refs = mp_run(c, 128)?;
        out.insert("lambda".into(), json!(cf.lambda()));
        out.insert("lambda_defect".into(), json!(cf.lambda_defect()));
        out.insert("whitening_defect".into(), json!(net.whitening_defect()));
        out.insert("ref_method".into(), json!(BoundMethod::F64VsMp.as_str()));
        let pts = cf.evaluate(&c.times_f64())?;
        let m0 = pts.first().map(|_| {
            let q = lazyrich::exact::lambda_balanced::q_matrix(&w1, &w2);
            let qq = &q * q.transpose();
            (
                qq.view((0, 0), (d_i, d_i)).into_owned(),
                qq.view((d_i, d_i), (d_o, d_o)).into_owned(),
            )
        });
        let mut arr = Vec::new();
        for ((p, (rl, ll, kl)), (rh, lh, kh)) in pts.iter().zip(&refs.lo).zip(&refs.hi) {
            let mut o = Map::new();
            o.insert("t".into(), json!(p.t));
            let mut per = Map::new();
            let mut bmax: f64 = 0.0;
            for (name, r0, c0, nr, nc) in blocks(d_i, d_o) {
                let ours = p.qqt.view((r0, c0), (nr, nc)).into_owned();
                let mut b: f64 = 0.0;
                for i in 0..nr {
                    for j in 0..nc {
                        let rv = rl.at(r0 + i, c0 + j);
                        let rb = mp::two_precision_bound(rv, rh.at(r0 + i, c0 + j)).abs;
                        let r = rv.to_f64();
                        b = b.max((ours[(i, j)] - r).abs() + rb + r.abs() * tol::F64_UNIT_ROUNDOFF);
                    }
                }
                o.insert(name.into(), rows(&ours));
                per.insert(name.into(), num_or_null(b));
                bmax = bmax.max(b);
            }
            let (m0, b0) = m0.as_ref().expect("non-empty times");
            let kd = kernel_distance(net.x(), m0, b0, &p.w1tw1(), &p.w2w2t());
            let lo = loss(net.x(), &LambdaBalancedCase::matrix_f64(&c.y, "y")?, &p.w2w1());
            for (name, v, rl, rh) in [("kernel_distance", kd, kl, kh), ("loss", lo, ll, lh)] {
                let rb = mp::two_precision_bound(rl, rh).abs;
                let b = (v - rl.to_f64()).abs() + rb + rl.to_f64().abs() * tol::F64_UNIT_ROUNDOFF;
                o.insert(name.into(), num_or_null(v));
                per.insert(name.into(), num_or_null(b));
                bmax = bmax.max(b);
            }
            o.insert("abs_err_bound".into(), num_or_null(bmax));
            o.insert("err_bounds".into(), Value::Object(per));
            arr.push(Value::Object(o));
        }
        out.insert(
            "semigroup_steps".into(),
            json!(cf.steps_to(*c.times_f64().last().unwrap_or(&0.0))),
        );
        out.insert("points".into(), Value::Array(arr));
    } else {
        let run = mp_run(c, prec)?;
        out.insert("lambda".into(), json!(mp::to_decimal(run.cf.lambda(), 0.0)));
        out.insert("lambda_defect".into(), json!(run.cf.lambda_defect().to_f64()));
        out.insert("whitening_defect".into(), json!(run.cf.whitening_defect().to_f64()));
        out.insert("ref_method".into(), json!(BoundMethod::TwoPrecision.as_str()));
        out.insert(
            "note".into(),
            json!(
                "the closed form solves the exactly whitened, exactly λ-balanced problem; lambda_defect and \
                   whitening_defect say how far the given numbers are from it"
            ),
        );
        let mut arr = Vec::new();
        for (t, ((ql, ll, kl), (qh, lh, kh))) in c.times.iter().zip(run.lo.iter().zip(&run.hi)) {
            let mut o = Map::new();
            o.insert("t".into(), json!(t.as_str()));
            let mut per = Map::new();
            let mut bmax: f64 = 0.0;
            for (name, r0, c0, nr, nc) in blocks(d_i, d_o) {
                let mut b: f64 = 0.0;
                let v = Value::Array(
                    (0..nr)
                        .map(|i| {
                            Value::Array(
                                (0..nc)
                                    .map(|j| {
                                        let x = ql.at(r0 + i, c0 + j);
                                        let bb = mp::two_precision_bound(x, qh.at(r0 + i, c0 + j)).abs;
                                        b = b.max(bb);
                                        json!(mp::to_decimal(x, bb))
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                );
                o.insert(name.into(), v);
                per.insert(name.into(), num_or_null(b));
                bmax = bmax.max(b);
            }
            for (name, l, h) in [("kernel_distance", kl, kh), ("loss", ll, lh)] {
                let bb = mp::two_precision_bound(l, h).abs;
                o.insert(name.into(), json!(mp::to_decimal(l, bb)));
                per.insert(name.into(), num_or_null(bb));
                bmax = bmax.max(bb);
            }
            o.insert("abs_err_bound".into(), num_or_null(bmax));
            o.insert("err_bounds".into(), Value::Object(per));
            arr.push(Value::Object(o));
        }
        out.insert("points".into(), Value::Array(arr));
    }
    Ok(Value::Object(out))
}

pub(super) fn simulate_json(c: &LambdaBalancedCase, opts: &FlowOptions) -> Result<Value> {
    let (net, w1, w2) = network(c)?;
    let y = LambdaBalancedCase::matrix_f64(&c.y, "y")?;
    let times = c.times_f64();
    let th0 = net.theta(&w1, &w2)?;
    let tr = integrate(&ParameterFlow(&net), &th0, &times, opts)?;
    let c0 = w2.transpose() * &w2 - &w1 * w1.transpose();
    let (lambda, defect) = lazyrich::models::lambda_balanced::measure_lambda(&w1, &w2);
    let m0 = w1.transpose() * &w1;
    let b0 = &w2 * w2.transpose();
    let mut drift: f64 = 0.0;
    let pts: Vec<Value> = tr
        .states
        .iter()
        .zip(&times)
        .map(|(th, t)| {
            let (a1, a2) = net.unpack(th);
            let d = (a2.transpose() * &a2 - &a1 * a1.transpose() - &c0).amax();
            drift = drift.max(d);
            let w = &a2 * &a1;
            let m = a1.transpose() * &a1;
            let b = &a2 * a2.transpose();
            json!({"t": t, "w2w1": rows(&w), "w1tw1": rows(&m), "w2w2t": rows(&b),
                   "kernel_distance": num_or_null(kernel_distance(net.x(), &m0, &b0, &m, &b)),
                   "loss": num_or_null(loss(net.x(), &y, &w)), "lambda_drift": d})
        })
        .collect();
    let mut out = Map::new();
    out.insert("model".into(), json!("lambda_balanced"));
    out.insert("method".into(), json!(opts.method.as_str()));
    out.insert("rtol".into(), json!(opts.rtol));
    out.insert("atol".into(), json!(opts.atol));
    out.insert("lambda".into(), json!(lambda));
    out.insert("lambda_defect".into(), json!(defect));
    out.insert("whitening_defect".into(), json!(net.whitening_defect()));
    out.insert("points".into(), Value::Array(pts));
    out.insert("stats".into(), serde_json::to_value(tr.stats)?);
    out.insert("lambda_drift".into(), json!(drift));
    Ok(Value::Object(out))
}

/// The λ-balanced report figures beyond Fig. 2 (file name, SVG): Fig. 3 singular values,
/// Fig. 4 semantic-task representations, Fig. 5 kernel distance vs λ, continual learning; their
/// error panels draw the bounds of the catalog's `rows`.
///
/// # Errors
/// A message naming the figure whose data or rendering failed.
pub(crate) fn extra_figures(rows: &[lazyrich::verify::Row]) -> Result<Vec<(&'static str, String)>> {
    use lazyrich::report::lambda_balanced as rep;
    use lazyrich::report::plot::render_svg;
    use lazyrich::verify::lambda_balanced::experiments as ex;
    let fig3 = ex::fig3_data().map_err(|e| anyhow::anyhow!("λ-balanced Fig. 3 data: {e}"))?;
    let fig4 = ex::fig4_data().map_err(|e| anyhow::anyhow!("λ-balanced Fig. 4 data: {e}"))?;
    let fig5 = ex::fig5_data().map_err(|e| anyhow::anyhow!("λ-balanced Fig. 5 data: {e}"))?;
    // The LB-CONT rows' tolerance, so the figure shows the run the rows bound.
    let cont = ex::continual_data(1e-12).map_err(|e| anyhow::anyhow!("continual-learning data: {e}"))?;
    let r = |name: &str, e: lazyrich::report::plot::PlotError| anyhow::anyhow!("figure {name}: {e}");
    Ok(vec![
        (
            "fig3_lambda_balanced_singular_values.svg",
            render_svg(&rep::fig3_figure(&fig3)).map_err(|e| r("Fig. 3", e))?,
        ),
        (
            "fig4_lambda_balanced_semantic_rsm.svg",
            rep::fig4_svg(&fig4, rows).map_err(|e| r("Fig. 4", e))?,
        ),
        (
            "fig5_lambda_balanced_kernel_distance.svg",
            render_svg(&rep::fig5_figure(&fig5, rows)).map_err(|e| r("Fig. 5", e))?,
        ),
        (
            "continual_lambda_balanced.svg",
            render_svg(&rep::continual_figure(&cont, rows)).map_err(|e| r("continual", e))?,
        ),
    ])
}

/// `exact --rigorous`: ball enclosures of W2W1, W1ᵀW1, W2W2ᵀ, the loss and S(0, t) at every time,
/// printed as {lo, hi, rad} (lo rounded down, hi up). Only when the decimal inputs are exactly
/// whitened and exactly λ-balanced ([`lazyrich::exact::riccati::certified_qqt`]): otherwise the
/// closed form describes a neighbouring problem and the command refuses, naming both defects.
pub(super) fn exact_rigorous_json(c: &LambdaBalancedCase, prec: u32) -> Result<Value> {
    use lazyrich::exact::riccati::certified_qqt;
    use lazyrich::num::ball::Ball;
    mp::check_prec(prec)?;
    network(c)?;
    let (assumptions, enc) = certified_qqt(c, prec)?;
    let inp = LbInputs::parse(c, &Ball::from_f64(enc.prec_used, 0.0))?;
    let (d_i, d_o) = (inp.x.nrows(), inp.y.nrows());
    let p0 = inp.p0();
    let digits = mp::max_digits(prec);
    let enc1 = |b: &Ball| json!({"lo": b.lo_decimal(digits), "hi": b.hi_decimal(digits), "rad": b.rad()});
    let encm = |m: &Mat<Ball>| {
        Value::Array(
            (0..m.nrows())
                .map(|i| Value::Array((0..m.ncols()).map(|j| enc1(m.at(i, j))).collect()))
                .collect(),
        )
    };
    let mut out = Map::new();
    out.insert("model".into(), json!("lambda_balanced"));
    out.insert("prec_bits".into(), json!(prec));
    out.insert("prec_used".into(), json!(enc.prec_used));
    out.insert("bound_method".into(), json!(BoundMethod::Rigorous.as_str()));
    out.insert("lambda".into(), json!(assumptions.lambda.to_string()));
    out.insert(
        "assumptions".into(),
        json!("XXᵀ = P·I and W2ᵀW2 − W1W1ᵀ = λI hold exactly for the decimal inputs (checked in rationals)"),
    );
    let mut arr = Vec::new();
    for (t, q) in c.times.iter().zip(&enc.points) {
        let mut o = Map::new();
        o.insert("t".into(), json!(t.as_str()));
        for (name, r0, c0, nr, nc) in blocks(d_i, d_o) {
            o.insert(name.into(), encm(&q.block(r0, c0, nr, nc)));
        }
        let loss = loss_of(&inp.x, &inp.y, &q.block(d_i, 0, d_o, d_i))?;
        o.insert("loss".into(), enc1(&loss));
        match kernel_distance_of(
            &inp.x,
            &p0.block(0, 0, d_i, d_i),
            &p0.block(d_i, d_i, d_o, d_o),
            &q.block(0, 0, d_i, d_i),
            &q.block(d_i, d_i, d_o, d_o),
        ) {
            Ok(k) => o.insert("kernel_distance".into(), enc1(&k)),
            // A zero kernel (zero init): S is undefined, never a number with a bound.
            Err(_) => o.insert("kernel_distance".into(), Value::Null),
        };
        arr.push(Value::Object(o));
    }
    out.insert("points".into(), Value::Array(arr));
    Ok(Value::Object(out))
}
