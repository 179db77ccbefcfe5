//! Agreement at 100 digits against a rigorous reference (issue 3): the Taylor simulation of the raw gradient flow
//! at p = 334 bits (≈ 100 digits, tol 1e-100) against the rigorous closed-form enclosure
//! ([`crate::exact::single_neuron_ball`]) at the same precision, in every δ regime.
//!
//! Id `SN-TAYLOR-RIG` (see `verification/README.md`). One row per case and quantity group:
//! `theta` = (a, w) and `mu_phi` = (μ, φ) over the case's time grid. The reference is a
//! proof (`ref_rigorous: true`): the exact solution lies within `ref_bound` (the largest ball
//! radius) of the ball midpoint used as the reference value. The bound is proven
//! (`bound_rigorous: true`): max |Taylor − exact| ≤ max |Taylor − B| + radius of B, rounded up,
//! where B is the same closed form in balls at [`PROOF_PREC`] bits (so that its radius, ≈ 2⁻³⁹⁸,
//! does not mask the Taylor error). The integrator's own error estimate
//! ([`crate::taylor::TaylorStats`]) is kept as the promise: the row passes when the proven bound is
//! within it, when max |Taylor − mid| ≤ bound + radius (margin ≤ 1), and when the agreement is
//! at least [`MIN_DIGITS`] significant digits (normwise over the grid).
//!
//! The Taylor run goes through the exact span reduction at p bits
//! ([`crate::taylor::single_neuron_span::SpanReductionAt`], 1 + r unknowns) when r < d — always
//! here, since the rigorous closed form needs XᵀX = I exactly — and the note says the rank.

use super::{Mode, Row, certified_ball, ratio};
use crate::case::SingleNeuronCase;
use crate::exact::single_neuron_ball::ClosedFormBall;
use crate::models::samples;
use crate::num::ball::Ball;
use crate::taylor::single_neuron::SingleNeuronJet;
use crate::taylor::single_neuron_span::SpanReductionAt;
use crate::taylor::{TaylorOptions, integrate};
use rug::Float;

/// Working precision: 334 bits ≈ 100.5 decimal digits.
pub const PREC: u32 = 334;
/// Precision of the ball closed form behind the proven bound: [`PREC`] + 64 guard bits.
pub const PROOF_PREC: u32 = PREC + crate::num::tol::GUARD_BITS;
/// Taylor tolerance: 1e-100 (Jorba–Zou order 117).
pub const TOL: f64 = 1e-100;
/// Required agreement (issue 3: "≥ 95 of 100 digits"): the local tolerance is 1e-100 and the
/// flows below accumulate ≤ a few hundred steps without large amplification, so ≥ 95 digits.
pub const MIN_DIGITS: f64 = 95.0;

/// The cases: δ ≪ 0, δ = 0, δ ≫ 0, unequal η, a(t) changing sign (and order-1 δ of both signs in
/// the full catalog).
pub fn cases(mode: Mode) -> Vec<(String, SingleNeuronCase)> {
    let times = samples::default_times(20.0);
    let mut v = vec![
        ("fig3_delta+0".to_string(), samples::fig3(0.0)),
        ("large_down_25".into(), samples::fig3(-25.0)),
        ("large_up_25".into(), samples::fig3(25.0)),
        (
            "sign_change".into(),
            samples::case(&samples::identity(2), &[1.0, 0.5], 0.1, &[-1.5, 0.3], 1.0, 1.0, &times),
        ),
    ];
    let (a0, w0) = samples::init_from_beta0(&[0.3, -0.2, 0.1, 0.4], 1.5, 0.5, 2.0, 1.0);
    v.push((
        "eta_unequal".into(),
        samples::case(
            &samples::hadamard(4),
            &[1.0, -0.5, 0.25, 0.75],
            a0,
            &w0,
            0.5,
            2.0,
            &times,
        ),
    ));
    if mode == Mode::Full {
        v.push(("fig3_delta-4".into(), samples::fig3(-4.0)));
        v.push(("fig3_delta+4".into(), samples::fig3(4.0)));
    }
    v
}

/// Run the family.
pub fn run(mode: Mode) -> Vec<Row> {
    cases(mode).iter().flat_map(|(name, c)| rows(name, c)).collect()
}

fn base(name: &str, regime: &str, quantity: &str) -> Row {
    let method = format!("taylor-{PREC}bit");
    let mut r = Row::pending(
        "SN-TAYLOR-RIG",
        "single_neuron",
        name,
        regime.into(),
        &method,
        Some(TOL),
        quantity,
    );
    r.ref_bound = f64::NAN;
    r.ref_method = format!(
        "closed form (linearised) in ball arithmetic at {PREC} bits: a proof (exactly whitened decimal inputs)"
    );
    r.bound_why = format!(
        "proven: |Taylor − exact| ≤ |Taylor − B| + radius of B, rounded up, B the closed form in balls at \
         {PROOF_PREC} bits (max over components and times); the row also requires it within the promise, the \
         Taylor integrator's own estimate Σ over steps of ‖x_{{N−1}}‖h^{{N−1}} + ‖x_N‖h^N + 2N·2^{{1−p}}·max(1,‖x‖) \
         (no amplification assumed; proven bound / estimate in the note)"
    );
    r
}

fn rows(name: &str, c: &SingleNeuronCase) -> Vec<Row> {
    let p = PREC;
    let cfs = ClosedFormBall::new(c, p).and_then(|cf| Ok((cf, ClosedFormBall::new(c, PROOF_PREC)?)));
    let (cf, cf_hi) = match cfs {
        Ok(cf) => cf,
        Err(e) => {
            let mut r = base(name, "?", "theta");
            r.note = format!("rigorous closed form failed: {e}");
            return vec![r];
        }
    };
    let delta = cf.delta().mid().to_f64();
    let regime = super::single_neuron::regime(delta);
    let mut x0 = vec![c.a0.to_mp(p)];
    x0.extend(c.w0.iter().map(|v| v.to_mp(p)));
    let times: Vec<Float> = c.times.iter().map(|t| t.to_mp(p)).collect();
    // The exact span reduction at p bits when it drops directions (G = I exactly here), the full
    // field otherwise; set-up included in the timing.
    let solved = SpanReductionAt::from_case(c, p).and_then(|mut red| {
        if red.rank() < red.dim() {
            red.solve(&times, &TaylorOptions::new(TOL)).map(|tr| (tr, red.rank()))
        } else {
            integrate(
                &mut SingleNeuronJet::from_case(c, p),
                &x0,
                &times,
                &TaylorOptions::new(TOL),
            )
            .map(|tr| (tr, red.rank()))
        }
    });
    let (tr, rank) = match solved {
        Ok(t) => t,
        Err(e) => {
            let mut r = base(name, &regime, "theta");
            r.note = format!("Taylor integration failed: {e}");
            return vec![r];
        }
    };
    let est = tr.stats.err_estimate;
    let eta_a = c.eta_a.to_mp(p);
    let eta_w = c.eta_w.to_mp(p);
    let dot = |u: &[Float], v: &[Float]| {
        u.iter()
            .zip(v)
            .fold(Float::new(p), |s, (a, b)| s + Float::with_val(p, a * b))
    };
    let bstar: Vec<Float> = cf_bstar(c, p);
    let s = dot(&bstar, &bstar).sqrt();
    // (abs err, max |ref|, max radius, proven bound) per group
    let mut acc = [(0.0f64, 0.0f64, 0.0f64, 0.0f64); 2];
    let mut drift = 0.0f64;
    let d0 = Float::with_val(p, &eta_w * x0[0].clone().square()) - Float::with_val(p, &eta_a * dot(&x0[1..], &x0[1..]));
    for (t, st) in c.times.iter().zip(&tr.states) {
        let pts = cf.point(t).and_then(|pb| Ok((pb, cf_hi.point(t)?)));
        let (pb, ph) = match pts {
            Ok(pb) => pb,
            Err(e) => {
                let mut r = base(name, &regime, "theta");
                r.note = format!("rigorous closed form failed at t = {t}: {e}");
                return vec![r];
            }
        };
        let (a, w) = (&st[0], &st[1..]);
        let wn = dot(w, w).sqrt();
        let mu = Float::with_val(p, a * &wn);
        let phi = dot(w, &bstar) / Float::with_val(p, &wn * &s);
        let groups: [Vec<(&Float, &Ball, &Ball)>; 2] = [
            std::iter::once((a, &pb.a, &ph.a))
                .chain(w.iter().zip(&pb.w).zip(&ph.w).map(|((x, b), h)| (x, b, h)))
                .collect(),
            vec![(&mu, &pb.mu, &ph.mu), (&phi, &pb.phi, &ph.phi)],
        ];
        for (g, pairs) in groups.iter().enumerate() {
            for (x, b, h) in pairs {
                // The Taylor value exactly at the proof's precision (no rounding).
                let xb = Ball::exact((*x).clone()).with_prec(PROOF_PREC);
                let (e, _, bound) = certified_ball(&xb, b, h);
                acc[g].1 = acc[g].1.max(b.mid().to_f64().abs());
                acc[g].2 = acc[g].2.max(b.rad());
                // A value or bound that is not finite fails the group (f64::max would drop a NaN).
                if !(x.is_finite() && bound.is_finite()) || acc[g].0.is_nan() {
                    acc[g].0 = f64::NAN;
                    acc[g].3 = f64::NAN;
                } else {
                    acc[g].0 = acc[g].0.max(e);
                    acc[g].3 = acc[g].3.max(bound);
                }
            }
        }
        let dt = Float::with_val(p, &eta_w * a.clone().square()) - Float::with_val(p, &eta_a * dot(w, w));
        drift = drift.max(Float::with_val(p, dt - &d0).abs().to_f64());
    }
    ["theta", "mu_phi"]
        .iter()
        .zip(acc)
        .map(|(q, (err, scale, rad, bound))| {
            let mut r = base(name, &regime, q);
            r.abs_err = err;
            r.rel_err = err / scale;
            r.ref_bound = rad;
            r.bound = bound;
            r.drift = Some(drift);
            r.margin = ratio(err, bound, rad);
            let digits = if err == 0.0 {
                f64::INFINITY
            } else {
                -(err / scale).log10()
            };
            r.ref_rigorous = err.is_finite();
            r.bound_rigorous = bound.is_finite() && err.is_finite();
            r.pass = r.margin <= 1.0 && digits >= MIN_DIGITS && bound <= est;
            r.note = format!(
                "agreement {digits:.1} digits (≥ {MIN_DIGITS} required); proven bound / estimate {est:.3e} = {:.3e}; \
                 {} steps of order {}, h ∈ [{:.3e}, {:.3e}], span rank {rank} of d = {}",
                bound / est,
                tr.stats.steps,
                tr.stats.order,
                tr.stats.min_step,
                tr.stats.max_step,
                c.w0.len()
            );
            r
        })
        .collect()
}

/// β* = Xᵀy at p bits.
fn cf_bstar(c: &SingleNeuronCase, p: u32) -> Vec<Float> {
    let d = c.w0.len();
    (0..d)
        .map(|j| {
            c.x.iter().zip(&c.y).fold(Float::new(p), |s, (r, y)| {
                s + Float::with_val(p, r[j].to_mp(p) * y.to_mp(p))
            })
        })
        .collect()
}
