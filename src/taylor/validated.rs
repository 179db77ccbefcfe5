//! Validated (rigorous) Taylor integration of polynomial vector fields ẋ = F(x) in ball
//! arithmetic: at every requested time a box that provably contains the exact solution of the
//! inputs as given (their decimal text enclosed in balls), at any MPFR precision ≥ 53 bits.
//!
//! **Method** (Moore 1966; Lohner 1987, "Enclosing the solutions of ordinary initial and boundary
//! value problems"; Nedialkov, Jackson & Pryce 2001, "An effective high-order interval method
//! for validating existence and uniqueness of the solution of an IVP for an ODE", Reliable
//! Computing 7). The set of possible states at t_n is kept in Lohner's form
//! x ∈ x̂ + A·r, with x̂ an exact point, A an f64 matrix (exact in balls) and r a vector of
//! balls. One step of size h, with the normalised Taylor coefficients x_k(·) of
//! [`JetField`] (so x(t_n + τ) = Σ_{k<N} x_k(x(t_n)) τ^k + x_N(x(t_n + ξ)) τ^N, 0 ≤ ξ ≤ τ):
//!
//! 1. **A-priori enclosure** (existence, and a bound for the remainder): with X the box
//!    x̂ + A·r, a box B with Σ_{k<N} x_k(X)·[0, h]^k + x_N(B)·[0, h]^N ⊆ B proves that every
//!    solution starting in X exists on [t_n, t_n + h] and stays in B (the high-order form of
//!    Picard's test in Nedialkov, Jackson & Pryce 2001). B is found by inflation and at most
//!    [`APRIORI_TRIES`] refinements; if none holds, h is halved.
//! 2. **Point part**: T(x̂) = Σ_{k<N} x_k(x̂) h^k in balls, plus the Lagrange remainder
//!    R = x_N(B)·[0, h^N].
//! 3. **Set part** (mean-value form, which controls the wrapping effect): T(x) − T(x̂) =
//!    (∫₀¹ DT(x̂ + sAr) ds)·A·r ∈ S·r with S = Σ_{k<M} (Dx_k)(X)·A·h^k, the Jacobian of the first
//!    M terms evaluated over the whole box X by forward-mode [`Dual`] numbers seeded with A's
//!    columns, at a lower precision (it multiplies r, whose entries are already small, so a
//!    relative error of 2^−53 in S only widens r by that factor). The terms M ≤ k < N, whose
//!    variation over X is below [`JAC_CUT`] of the first (M is chosen so), are enclosed
//!    directly: Σ_{M≤k<N} (x_k(X) − x_k(x̂)) h^k.
//! 4. **Re-orthogonalisation** (Lohner's QR method): with y = T(x̂) + R + tail, the new
//!    x̂′ = mid(y), A′ = Q from the QR factorisation of mid(S) (columns sorted by their length
//!    times the width of r), and r′ = (Q⁻¹S)·r + Q⁻¹(y − x̂′), where Q⁻¹ is enclosed rigorously:
//!    with E = I − QᵀQ in balls and ‖E‖∞ = e < 1, Q⁻¹ = Σ_m E^m Qᵀ lies within
//!    e/(1 − e)·‖Qᵀ‖∞ of Qᵀ in every entry.
//!
//! **Order and step** follow the non-rigorous integrator ([`super::integrate`]): order
//! N = ⌈−ln ε / 2⌉ + 1 and h = 0.9·min_{m∈{N−1,N}} (ε·s/‖x_m(x̂)‖)^{1/m}, s = max(1, ‖x̂‖),
//! with ε the local tolerance (default 2^−p). The rule only chooses h: every bound comes from
//! steps 1–4, whatever h is. Steps are dyadic numbers with 11 significant bits, so that every
//! t_n is exact; a requested time is reached exactly when its decimal text is a binary number
//! at p bits, and otherwise the output is the a-priori box B over [t_lo, t_hi] around it.
//!
//! **What is proven**: each output box contains x(t) for every initial state in the input balls
//! and every value of the field's constants in theirs (the data and rates, enclosed from their
//! decimal text by [`Ball::from_num`]), at the exact requested time. The proof rests on the
//! enclosure property of every ball operation ([`crate::num::ball`]) and on the field's
//! recurrences being the Taylor coefficients of F (tested against an independent solution in
//! `tests/it/validated.rs`). A step that cannot be validated after [`MAX_HALVINGS`] halvings ends
//! the run with an error naming t, h and the cause: no box is ever printed that was not proven.
//!
//! **Piecewise fields** (ReLU / leaky nets, [`super::piecewise_linear`]): every a-priori box must
//! also lie in the current piece ([`JetField::region_holds`]). When it cannot at any step above
//! 2^−[`REGION_HALVINGS`] of the proposal, a switch is near: it is crossed with first-order steps
//! on the hull of the pieces (every undecided slope enclosed by [γ, 1]: Picard's test
//! X + [0, h]·F_hull(B) ⊆ B, then x(t + h) ∈ X + h·F_hull(B)), doubling h until the next piece is
//! proven on the new box; the set restarts there as a box. Where no piece can be proven (a
//! sliding mode, a tangential contact that does not leave) the run stops and says where and why
//! ([`Stopped`]) — it never guesses a pattern.
//!
//! Set `LAZYRICH_VALIDATED_TRACE=1` to print, per step, h and the radii of the point part, the
//! remainder, the a-priori box and the set (to see where an enclosure's width comes from).

use super::enclose::{Diff, Dual, Enclosure};
use super::{JetField, TaylorScalar};
use crate::num::ball::{Ball, add_up, div_up, mul_up};
use crate::num::ball_f64::BallF64;
use rug::Float;
use rug::float::Round;
use rug::ops::AddAssignRound;
use std::cmp::Ordering;

/// Refinements of the a-priori box before the step is halved.
pub const APRIORI_TRIES: usize = 4;
/// The Jacobian part stops at the first order whose terms are below this fraction of the
/// zeroth (A itself); the terms above it go into the directly enclosed tail, where they widen the
/// set by about this fraction of its width per step — against ≈ 5 % of the cost per order.
pub const JAC_CUT: f64 = 1.0 / (1u64 << 24) as f64;
/// Highest working precision: the a-priori box, the Lagrange remainder (a bound of size
/// ε = 2^−p), the set coefficients ([`Diff`]) and the Jacobian part are hardware balls, so 2^−p
/// must stay well inside the normal f64 range (smallest normal 2^−1022) with room for the
/// coefficients' growth and decay over a step.
pub const VALIDATED_MAX_PREC: u32 = 900;
/// The next step starts this fraction short of the one the last remainder asked for: the ratio
/// of the interval remainder to the point-jet rule drifts by a few per cent per step along a
/// flow whose steps shrink, and R ∝ h^N turns a 3 % overshoot into a factor 0.97^−N (≈ 35 at
/// N = 117) and a rejected a-priori box; 0.97 cut the rejections on problem L from 45 to 4 at
/// 334 bits (from 17 to 8 at 53) for no more steps (measured 2026-12-06).
pub const NEXT_STEP_SAFETY: f64 = 0.97;
/// Step reductions of one step before the run stops.
pub const MAX_HALVINGS: usize = 60;

/// Errors of the validated integrator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatedError {
    /// Invalid options.
    #[error("validated integration: {0}")]
    Options(String),
    /// The state has the wrong length.
    #[error("initial state has {found} entries, the field has dimension {expected}")]
    Shape {
        /// Field dimension.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// The requested times are unusable.
    #[error("output time #{index} ({value}) {why}")]
    Times {
        /// Position.
        index: usize,
        /// The time (rounded, for the message).
        value: f64,
        /// What is wrong.
        why: &'static str,
    },
    /// A step could not be validated.
    #[error(
        "no enclosure could be proven past t = {t:e} (last step tried h = {h:e}): {why}; the solution \
         may leave every bounded set (blow-up), or the enclosure has grown too wide to continue — \
         raise --prec or shorten the time span"
    )]
    Failed {
        /// Time reached (its enclosure is proven).
        t: f64,
        /// Last step size tried.
        h: f64,
        /// What happened.
        why: String,
    },
}

/// Options of the validated integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidatedOptions {
    /// Working precision p of the point part, in bits (≥ 53).
    pub prec: u32,
    /// Local tolerance ε that chooses order and step; `None` for 2^−p.
    pub tol: Option<f64>,
    /// Maximum number of accepted steps.
    pub max_steps: usize,
    /// Print a progress line to stderr every [`PROGRESS_EVERY`] of wall time (for terminals).
    pub progress: bool,
}

/// Wall time between two progress lines.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl ValidatedOptions {
    /// Options at `prec` bits with the default tolerance 2^−prec.
    pub fn new(prec: u32) -> Self {
        ValidatedOptions {
            prec,
            tol: None,
            max_steps: 100_000,
            progress: false,
        }
    }
    /// The local tolerance ε.
    pub fn tol(&self) -> f64 {
        self.tol
            .unwrap_or_else(|| 2f64.powi(-(self.prec.min(1000) as i32)).max(1e-300))
    }
    /// Order N = ⌈−ln ε / 2⌉ + 1 (at least 4).
    pub fn order(&self) -> usize {
        ((-self.tol().ln() / 2.0).ceil() as usize + 1).max(4)
    }
}

/// Statistics of a validated run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ValidatedStats {
    /// Accepted steps.
    pub steps: usize,
    /// Step halvings (a-priori enclosure not validated at the proposed h).
    pub halvings: usize,
    /// Taylor order N.
    pub order: usize,
    /// Largest order M of the Jacobian part used in a step.
    pub max_jac_order: usize,
    /// Smallest accepted step.
    pub min_step: f64,
    /// Largest accepted step.
    pub max_step: f64,
    /// Activation switches of a piecewise field crossed: pre-activations whose proven sign
    /// changed across a crossing (first-order steps on the hull of the pieces); a graze (the
    /// sign proven the same after the crossing) counts 0.
    pub switches: usize,
}

/// Enclosures of the state at the requested times.
#[derive(Debug, Clone)]
pub struct ValidatedTrajectory {
    /// One box per requested time reached (all of them unless `stopped`).
    pub states: Vec<Vec<Ball>>,
    /// Statistics.
    pub stats: ValidatedStats,
    /// Where and why the certificate stopped before the last time: the field's region could not
    /// be proven to hold on any step from there (for piecewise fields: a possible switch).
    pub stopped: Option<Stopped>,
}

/// Where a certificate stops early.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// The last time whose enclosure is proven.
    pub t: f64,
    /// The step that could not be proven: [t, t + h].
    pub h: f64,
    /// Why.
    pub why: String,
}

/// Halvings of a step whose a-priori box leaves the field's region before a switch is crossed.
pub const REGION_HALVINGS: usize = 24;
/// Doublings of a crossing step before the certificate stops at a switch.
pub const CROSSING_TRIES: usize = 40;
/// Crossings in a row without a regular Taylor step in between before the certificate stops: a
/// pre-activation that the crossings leave on one side and the next step's a-priori box puts
/// back on its surface again and again is sliding along it (or touching it tangentially) — a
/// motion the certificate does not follow. A transversal switch needs one crossing (two or
/// three when several surfaces are close); measured: a drawn ReLU net in a sliding mode made
/// 5,000 crossings of 1.7e-11 each in 10 s without leaving t = 0.2755.
pub const MAX_CROSSINGS_IN_A_ROW: usize = 64;

/// The set x̂ + A·r.
struct Lohner<S> {
    n: usize,
    xh: Vec<S>,
    /// Row-major n×n.
    a: Vec<f64>,
    r: Vec<S>,
}

impl<S: Enclosure> Lohner<S> {
    /// The box x̂ + A·r.
    fn hull(&self) -> Vec<S> {
        let n = self.n;
        let mut tmp = self.xh[0].zero_like();
        (0..n)
            .map(|i| {
                let mut x = self.xh[i].clone();
                for j in 0..n {
                    let aij = self.a[i * n + j];
                    if aij != 0.0 {
                        let a = tmp.like_f64(aij);
                        x.mul_add_assign_tmp(&a, &self.r[j], &mut tmp);
                    }
                }
                x
            })
            .collect()
    }
}

/// Taylor coefficients x_0..x_order of the field at the initial value `x0` into `jets`.
fn jets_of<S: TaylorScalar, F: JetField<S>>(field: &mut F, x0: &[S], order: usize, jets: &mut [Vec<S>], out: &mut [S]) {
    for (j, v) in jets.iter_mut().zip(x0) {
        j[0].assign_from(v);
    }
    for k in 0..order {
        field.coeff(jets, k, out);
        for (j, o) in jets.iter_mut().zip(out.iter()) {
            j[k + 1].assign_from(o);
            j[k + 1].div_u32_assign((k + 1) as u32);
        }
    }
}

/// The Taylor coefficients over the set X = x̂ + A·r in [`Diff`] hardware balls (point x̂,
/// difference A·r) into `xjets`, and x_k(X) = p_k + q_k into `fjets`.
fn set_jets<S: Enclosure, E: JetField<Diff>>(
    efield: &mut E,
    set: &Lohner<S>,
    xjets: &mut [Vec<Diff>],
    fjets: &mut [Vec<BallF64>],
    out: &mut [Diff],
) {
    let n = set.n;
    let zf = BallF64::exact(0.0);
    let r: Vec<BallF64> = set.r.iter().map(|v| zf.enclose_ball(&v.to_ball())).collect();
    let x0: Vec<Diff> = (0..n)
        .map(|i| {
            let mut q = zf;
            for (aij, rj) in set.a[i * n..(i + 1) * n].iter().zip(&r) {
                q.add_mul(&BallF64::exact(*aij), rj);
            }
            Diff {
                p: zf.enclose_ball(&set.xh[i].to_ball()),
                q,
            }
        })
        .collect();
    jets_of(efield, &x0, xjets[0].len() - 1, xjets, out);
    for (fj, xj) in fjets.iter_mut().zip(xjets.iter()) {
        for (f, x) in fj.iter_mut().zip(xj) {
            *f = x.full();
        }
    }
}

/// X + h·F for the first-order coefficients F = x_1 held in `bjets[·][1]` (h a ball: the step,
/// or [0, h] for the range over the step).
fn euler_box(x: &[BallF64], bjets: &[Vec<BallF64>], h: &BallF64) -> Vec<BallF64> {
    x.iter()
        .zip(bjets)
        .map(|(xi, bj)| {
            let mut f = bj[1];
            f.mul_assign(h);
            let mut v = *xi;
            v.add_assign(&f);
            v
        })
        .collect()
}

/// An upper bound of h^k (h ≥ 0 exact) in MPFR at 64 bits: no underflow where h^k leaves the
/// f64 range (orders of a few hundred at 700–900 bits).
fn pow_up(h: &Float, k: usize) -> Float {
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    use rug::ops::Pow;
    Float::with_val_round(64, h.pow(k), Round::Up).0
}

/// An upper bound of |c|·hn in f64 (hn ≥ 0 from [`pow_up`]): the product formed in MPFR and
/// rounded up once, so a remainder far below 2^−1022 is not raised to a subnormal floor times |c|.
fn remainder_mag(c: &BallF64, hn: &Float) -> f64 {
    let m = Float::with_val_round(64, c.mag_up(), Round::Up).0;
    Float::with_val_round(64, &m * hn, Round::Up).0.to_f64_round(Round::Up)
}

/// c·[0, 1]·hk for a ball c and hk ≥ 0 (a ball): the range of c·τ^k over τ ∈ [0, h].
fn times_unit_range<S: Enclosure>(c: &S, hk: &S) -> S {
    let mut v = c.clone();
    v.mul_assign_ref(hk);
    v.scale_unit_interval();
    v
}

/// Widen every entry of a box by 10 % of its radius plus `abs`.
fn inflate<S: Enclosure>(b: &mut [S], abs: f64) {
    for v in b {
        let r = v.rad_up();
        v.widen(add_up(mul_up(r, 0.1), abs));
    }
}

/// Whether `p` bits is a working precision of the validated integrator (53 …
/// [`VALIDATED_MAX_PREC`]).
///
/// # Errors
/// [`ValidatedError::Options`] naming the range and the fix.
pub fn check_prec(p: u32) -> Result<(), ValidatedError> {
    if (53..=VALIDATED_MAX_PREC).contains(&p) {
        Ok(())
    } else {
        Err(ValidatedError::Options(format!(
            "precision {p} bits is outside 53 … {VALIDATED_MAX_PREC} bits, the range of the validated \
             integrator (its remainder and set bounds are hardware floating point, so 2^−p must stay \
             in the f64 range): pass a --prec in that range"
        )))
    }
}

/// Rigorous integration of ẋ = F(x) from the ball vector `x0` to each of `times` (balls of
/// times ≥ 0, in increasing order; a time with radius 0 is reached exactly).
///
/// `field` evaluates the Taylor coefficients in the point scalar `S` ([`Ball`] at `opts.prec`
/// bits, or [`BallF64`] at 53), `bfield` the same field in hardware balls for the a-priori box
/// and the remainder (that box is as wide as the step's motion and the remainder is a bound of
/// size ε, so 53 bits hold both at any working precision), `dfield` the same field's
/// coefficients in [`Dual`] hardware balls (its constants as [`Dual::constant`]) for the
/// Jacobian part, `efield` the same field in [`Diff`] hardware balls (constants as
/// [`Diff::constant`]) for the coefficients over the set X: x_k(X) for the a-priori box and
/// x_k(X) − x_k(x̂) for the high-order tail, both at f64 cost whatever the working precision.
/// `x0` is in `S` at the working precision.
///
/// # Errors
/// [`ValidatedError`] for options out of range, a state of the wrong length, unusable times, or
/// a step that cannot be validated (the message names t, h and the cause).
#[allow(clippy::too_many_arguments)]
pub fn enclose<S: Enclosure, F: JetField<S>, H: JetField<BallF64>, G: JetField<Dual<BallF64>>, E: JetField<Diff>>(
    field: &mut F,
    bfield: &mut H,
    dfield: &mut G,
    efield: &mut E,
    x0: &[S],
    times: &[Ball],
    opts: &ValidatedOptions,
) -> Result<ValidatedTrajectory, ValidatedError> {
    let p = opts.prec;
    check_prec(p)?;
    let tol = opts.tol();
    if !(tol > 0.0 && tol < 1.0) {
        return Err(ValidatedError::Options(format!(
            "tolerance {tol:e} must be a number in (0, 1), e.g. 1e-15 at 53 bits"
        )));
    }
    let n = field.dim();
    if x0.len() != n || dfield.dim() != n || bfield.dim() != n || efield.dim() != n || n == 0 {
        return Err(ValidatedError::Shape {
            expected: n,
            found: x0.len(),
        });
    }
    // Time ends at p + 64 bits: t_n is a sum of 11-bit dyadic steps, exact at that precision.
    let pt = p + 64;
    let mut ends: Vec<(Float, Float)> = Vec::with_capacity(times.len());
    for (index, tb) in times.iter().enumerate() {
        if !tb.is_finite() {
            return Err(ValidatedError::Times {
                index,
                value: tb.to_f64(),
                why: "is not finite",
            });
        }
        let lo = Float::with_val_round(pt, tb.mid() - tb.rad(), Round::Down).0;
        let hi = Float::with_val_round(pt, tb.mid() + tb.rad(), Round::Up).0;
        if lo.is_sign_negative() && !lo.is_zero() {
            return Err(ValidatedError::Times {
                index,
                value: tb.to_f64(),
                why: "is negative: times must be ≥ 0",
            });
        }
        if let Some((prev_lo, prev_hi)) = ends.last() {
            if lo < *prev_hi && !(lo == *prev_lo && hi == *prev_hi) {
                return Err(ValidatedError::Times {
                    index,
                    value: tb.to_f64(),
                    why: "is earlier than the time before it: sort the times",
                });
            }
        }
        ends.push((lo, hi));
    }
    let order = opts.order();
    field.reserve(order);
    bfield.reserve(order);
    dfield.reserve(order);
    efield.reserve(order);
    let zero = x0[0].zero_like();
    let zj = BallF64::exact(0.0);
    let zero_j = Dual::constant(zj);
    let new_jets = || vec![vec![zero.clone(); order + 1]; n];
    let mut pjets = new_jets();
    let zero_e = Diff::constant(zj);
    let mut xjets = vec![vec![zero_e.clone(); order + 1]; n];
    let mut eout = vec![zero_e; n];
    // x_k(X) = p_k + q_k of the Diff jets, for the a-priori box.
    let mut fjets = vec![vec![zj; order + 1]; n];
    let mut bjets = vec![vec![zj; order + 1]; n];
    let mut bout = vec![zj; n];
    let mut out = vec![zero.clone(); n];
    let mut djets = vec![vec![zero_j.clone(); order + 1]; n];
    let mut dout = vec![zero_j.clone(); n];

    // Initial set: x̂ = mid(x0), A = I, r = x0 − x̂.
    let mut set = Lohner {
        n,
        xh: x0.iter().map(S::mid_point).collect(),
        a: (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect(),
        r: x0
            .iter()
            .map(|b| {
                let mut d = b.clone();
                d.sub_assign_ref(&b.mid_point());
                d
            })
            .collect(),
    };
    let mut stats = ValidatedStats {
        steps: 0,
        halvings: 0,
        order,
        max_jac_order: 0,
        min_step: f64::INFINITY,
        max_step: 0.0,
        switches: 0,
    };
    let mut t = Float::with_val(pt, 0);
    let mut states = Vec::with_capacity(times.len());
    let ln_tol = tol.ln();
    // Ratio of the step the last remainder asked for to the point-jet rule's proposal: the
    // interval remainder usually asks for a similar cut next time, so the proposal starts there
    // (growing by at most 10 % per step), saving most re-evaluations of the a-priori box.
    let mut learned = 1.0f64;
    let mut crossings_in_a_row = 0usize;
    let trace = std::env::var_os("LAZYRICH_VALIDATED_TRACE").is_some();
    let norm = |jets: &[Vec<S>], m: usize| jets.iter().map(|j| j[m].mag_up()).fold(0.0, f64::max);
    let t_final = ends.last().map_or(0.0, |(_, hi)| hi.to_f64());
    let mut last_report = std::time::Instant::now();

    for (lo, hi) in &ends {
        // March to lo exactly.
        'march: while t < *lo {
            if stats.steps >= opts.max_steps {
                return Err(ValidatedError::Failed {
                    t: t.to_f64(),
                    h: 0.0,
                    why: format!("the step limit {} was reached", opts.max_steps),
                });
            }
            let xbox = set.hull();
            let xbox_f: Vec<BallF64> = xbox.iter().map(|v| zj.enclose_ball(&v.to_ball())).collect();
            if let Some(why) = bfield.region_holds(&xbox_f) {
                let stopped = Some(Stopped {
                    t: t.to_f64(),
                    h: 0.0,
                    why,
                });
                return Ok(ValidatedTrajectory { states, stats, stopped });
            }
            jets_of(field, &set.xh, order, &mut pjets, &mut out);
            set_jets(efield, &set, &mut xjets, &mut fjets, &mut eout);
            // Proposed step from the point jets (Jorba–Zou rule).
            let scale = norm(&pjets, 0).max(1.0);
            if !scale.is_finite() || !fjets.iter().all(|j| j[order].mag_up().is_finite()) {
                return Err(ValidatedError::Failed {
                    t: t.to_f64(),
                    h: 0.0,
                    why: format!("the state or its Taylor coefficients are not finite (‖x‖ ≤ {scale:e})"),
                });
            }
            let mut ln_h = f64::INFINITY;
            for m in [order - 1, order] {
                let c = norm(&pjets, m);
                if c > 0.0 {
                    ln_h = ln_h.min((ln_tol + scale.ln() - c.ln()) / m as f64);
                }
            }
            let remaining = Float::with_val(pt, lo - &t).to_f64();
            let proposal = 0.9 * ln_h.exp();
            let mut h = (proposal * learned).min(remaining);
            if !h.is_finite() {
                h = remaining;
            }
            let mut halvings = 0;
            let mut region_halvings = 0;
            let target = tol * scale;
            let (h_exact, h_b) = loop {
                let h_exact = dyadic_step(h, &t, lo, pt);
                let h_ball = zero.enclose_ball(&Ball::exact(h_exact.clone()));
                let h_f = zj.enclose_ball(&Ball::exact(h_exact.clone()));
                let hf = h_exact.to_f64();
                let why = match apriori(bfield, &fjets, &h_f, order, target, &mut bjets, &mut bout) {
                    Some(b) if bfield.region_holds(&b).is_some() => {
                        region_halvings += 1;
                        if region_halvings > REGION_HALVINGS && crossings_in_a_row >= MAX_CROSSINGS_IN_A_ROW {
                            let region = bfield.region_holds(&b).unwrap_or_default();
                            let stopped = Some(Stopped {
                                t: t.to_f64(),
                                h: hf,
                                why: format!(
                                    "{crossings_in_a_row} switch crossings in a row without a regular step: a \
                                     pre-activation stays on its switching surface (a sliding mode or a tangency), \
                                     which the certificate does not follow ({region})"
                                ),
                            });
                            return Ok(ValidatedTrajectory { states, stats, stopped });
                        }
                        if region_halvings > REGION_HALVINGS {
                            // A switch within [t, t + h]: cross it with first-order steps on the
                            // hull of the pieces, or stop where the next piece is not proven.
                            match cross_switch(
                                field, bfield, dfield, efield, &xbox_f, hf, &mut t, lo, pt, &mut bjets, &mut bout,
                            ) {
                                Ok(next) => {
                                    let hc = next.1;
                                    set = Lohner {
                                        n,
                                        xh: next
                                            .0
                                            .iter()
                                            .map(|v| zero.enclose_ball(&v.to_ball(53)).mid_point())
                                            .collect(),
                                        a: (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect(),
                                        r: next
                                            .0
                                            .iter()
                                            .map(|v| {
                                                let b = zero.enclose_ball(&v.to_ball(53));
                                                let mut d = b.clone();
                                                d.sub_assign_ref(&b.mid_point());
                                                d
                                            })
                                            .collect(),
                                    };
                                    stats.steps += 1;
                                    crossings_in_a_row += 1;
                                    stats.switches += next.2;
                                    stats.min_step = stats.min_step.min(hc);
                                    continue 'march;
                                }
                                Err(why) => {
                                    let stopped = Some(Stopped {
                                        t: t.to_f64(),
                                        h: hf,
                                        why,
                                    });
                                    return Ok(ValidatedTrajectory { states, stats, stopped });
                                }
                            }
                        }
                        h = hf / 2.0;
                        "the a-priori box leaves the field's region"
                    }
                    Some(_) => {
                        // The Lagrange remainder x_N(B)·h^N over the validated box: its interval
                        // coefficients overestimate the point ones, so the step is also cut until
                        // the remainder meets the tolerance (R ∝ h^N).
                        let hn = pow_up(&h_exact, order);
                        let rmax = bjets
                            .iter()
                            .map(|bj| remainder_mag(&bj[order], &hn))
                            .fold(0.0, f64::max);
                        // The step at which R would reach half the tolerance (R ∝ h^N), a little
                        // short of it: the next step starts from it (the remainder changes
                        // slowly along the flow), a cut step goes to it.
                        let fit = (0.5 * target / rmax).powf(1.0 / order as f64);
                        if rmax <= target {
                            if hf < remaining && proposal.is_finite() {
                                learned = (hf * fit.min(1.1) * NEXT_STEP_SAFETY / proposal).clamp(1e-3, 1.0);
                            }
                            break (h_exact, h_ball);
                        }
                        h = hf * fit.clamp(0.1, 0.98);
                        "the Lagrange remainder over the a-priori box stayed above the tolerance"
                    }
                    None => {
                        h = hf / 2.0;
                        "the a-priori enclosure (existence test) failed"
                    }
                };
                if trace {
                    eprintln!("  step {hf:.4e} cut: {why}");
                }
                halvings += 1;
                stats.halvings += 1;
                if halvings > MAX_HALVINGS {
                    return Err(ValidatedError::Failed {
                        t: t.to_f64(),
                        h: hf,
                        why: format!("{why} after {MAX_HALVINGS} step reductions"),
                    });
                }
            };
            // Point part T(x̂) + remainder R (x_N(B) is in bjets[·][order]).
            let mut y: Vec<S> = (0..n)
                .map(|i| {
                    let mut acc = pjets[i][order - 1].clone();
                    for k in (0..order - 1).rev() {
                        acc.mul_assign_ref(&h_b);
                        acc.add_assign_ref(&pjets[i][k]);
                    }
                    acc
                })
                .collect();
            // R = x_N(B)·τ^N, τ ∈ [0, h]: in [−M, M] with M ≥ |x_N(B)|·h^N from MPFR (h^N
            // leaves the f64 range at high orders, where a ball product's f64 radius would floor
            // it at a subnormal times |x_N(B)|).
            let hn = pow_up(&h_exact, order);
            let rr: Vec<Ball> = bjets
                .iter()
                .map(|bj| Ball::with_rad(Float::new(53), remainder_mag(&bj[order], &hn)))
                .collect();
            for (yi, ri) in y.iter_mut().zip(&rr) {
                yi.add_assign_ref(&zero.enclose_ball(ri));
            }
            // Set part: dual hardware balls over X seeded with A's columns, up to the order M
            // where the derivative terms fall below JAC_CUT of the first.
            let h_j = zj.enclose_ball(&h_b.to_ball());
            for i in 0..n {
                let seeds = (0..n).map(|j| BallF64::exact(set.a[i * n + j])).collect();
                djets[i][0] = Dual::variable(zj.enclose_ball(&xbox[i].to_ball()), seeds);
            }
            let mut s_mat: Vec<BallF64> = (0..n).flat_map(|i| djets[i][0].d.clone()).collect();
            let mut hk = BallF64::exact(1.0);
            let first = s_mat
                .iter()
                .map(BallF64::mag_up)
                .fold(0.0, f64::max)
                .max(f64::MIN_POSITIVE);
            let cut = first * JAC_CUT;
            let mut m_used = order;
            for k in 0..order - 1 {
                dfield.coeff(&djets, k, &mut dout);
                hk.mul_assign(&h_j);
                let mut biggest = 0f64;
                for i in 0..n {
                    let mut c = dout[i].clone();
                    c.div_u32_assign((k + 1) as u32);
                    c.grow_to(n);
                    for j in 0..n {
                        s_mat[i * n + j].add_mul_loose(&c.d[j], &hk);
                        biggest = biggest.max(mul_up(c.d[j].mag_up(), hk.mag_up()));
                    }
                    djets[i][k + 1] = c;
                }
                if biggest < cut && k + 2 < order {
                    m_used = k + 2;
                    break;
                }
            }
            stats.max_jac_order = stats.max_jac_order.max(m_used);
            // Tail Σ_{M≤k<N} (x_k(X) − x_k(x̂)) h^k, from the Diff jets' differences.
            if m_used < order {
                let mut hk = pow_ball(&h_j, m_used);
                let mut tail = vec![zj; n];
                for k in m_used..order {
                    for (ti, xi) in tail.iter_mut().zip(&xjets) {
                        ti.add_mul(&xi[k].q, &hk);
                    }
                    hk.mul_assign(&h_j);
                }
                for (yi, ti) in y.iter_mut().zip(&tail) {
                    yi.add_assign_ref(&zero.enclose_ball(&ti.to_ball(53)));
                }
            }
            if trace {
                let mx = |v: &[S]| v.iter().map(S::rad_up).fold(0.0, f64::max);
                if std::env::var_os("LAZYRICH_VALIDATED_TRACE_JETS").is_some() {
                    let hf = h_exact.to_f64();
                    let per_k: Vec<String> = (0..=order)
                        .map(|k| {
                            format!(
                                "{:.1e}",
                                pjets.iter().map(|j| j[k].rad_up()).fold(0.0, f64::max) * hf.powi(k as i32)
                            )
                        })
                        .collect();
                    eprintln!("  point-jet radii·h^k: {}", per_k.join(" "));
                }
                let mf = |v: &[BallF64]| v.iter().map(BallF64::rad).fold(0.0, f64::max);
                let bw: Vec<BallF64> = bjets.iter().map(|bj| bj[0]).collect();
                eprintln!(
                    "t={:.4} h={:.4} y.rad={:.2e} R.rad={:.2e} B.rad={:.2e} X.rad={:.2e} r.rad={:.2e} M={m_used}",
                    t.to_f64(),
                    h_exact.to_f64(),
                    mx(&y),
                    rr.iter().map(Ball::rad).fold(0.0, f64::max),
                    mf(&bw),
                    mx(&xbox),
                    mx(&set.r)
                );
            }
            set = reorthogonalise(&set, &y, &s_mat).map_err(|why| ValidatedError::Failed {
                t: t.to_f64(),
                h: h_exact.to_f64(),
                why,
            })?;
            let hf = h_exact.to_f64();
            if t.add_assign_round(&h_exact, Round::Nearest) != Ordering::Equal {
                return Err(ValidatedError::Failed {
                    t: t.to_f64(),
                    h: hf,
                    why: format!(
                        "the time grid is no longer exact at {pt} bits (time span too long for the precision)"
                    ),
                });
            }
            stats.steps += 1;
            crossings_in_a_row = 0;
            stats.min_step = stats.min_step.min(hf);
            stats.max_step = stats.max_step.max(hf);
            if opts.progress && last_report.elapsed() >= PROGRESS_EVERY {
                last_report = std::time::Instant::now();
                let widest = set.r.iter().map(S::rad_up).fold(0.0, f64::max);
                eprintln!(
                    "validated integration: t = {:.6} of {t_final}, {} steps, last h = {hf:.3e}, set radius {widest:.2e}",
                    t.to_f64(),
                    stats.steps
                );
            }
        }
        if lo == hi {
            states.push(set.hull().iter().map(S::to_ball).collect());
        } else {
            // An inexact decimal time: the a-priori box over [lo, hi].
            let xbox = set.hull();
            set_jets(efield, &set, &mut xjets, &mut fjets, &mut eout);
            let width = Float::with_val_round(pt, hi - lo, Round::Up).0;
            let scale = xbox.iter().map(S::mag_up).fold(1.0, f64::max);
            let w_f = zj.enclose_ball(&Ball::exact(width.clone()));
            let b = apriori(bfield, &fjets, &w_f, order, tol * scale, &mut bjets, &mut bout).ok_or_else(|| {
                ValidatedError::Failed {
                    t: t.to_f64(),
                    h: width.to_f64(),
                    why: "the box around an inexact decimal output time could not be validated".into(),
                }
            })?;
            states.push(b.iter().map(|v| v.to_ball(53)).collect());
        }
    }
    Ok(ValidatedTrajectory {
        states,
        stats,
        stopped: None,
    })
}

/// Cross a switch of a piecewise field from the box `x` at time `t` (on which the current piece
/// is proven) with first-order steps: the field is relaxed to the hull of its pieces for every
/// constraint not decided on the step's box B, B is validated by Picard's test
/// B ⊇ X + [0, h]·F_hull(B), and x(t + h) ∈ X + h·F_hull(B) (the integral of a field whose values
/// lie in F_hull(B)). h starts at twice the last tried step and doubles until the next piece is
/// proven on the new box (at most [`CROSSING_TRIES`] times). On success `t` is advanced and the
/// new piece is selected in all four fields; returns the new box, h and how many constraints changed sign. The crossing may not
/// pass `lo` (an output time).
#[allow(clippy::too_many_arguments)]
fn cross_switch<S: Enclosure, F: JetField<S>, H: JetField<BallF64>, G: JetField<Dual<BallF64>>, E: JetField<Diff>>(
    field: &mut F,
    bfield: &mut H,
    dfield: &mut G,
    efield: &mut E,
    x: &[BallF64],
    h_last: f64,
    t: &mut Float,
    lo: &Float,
    pt: u32,
    bjets: &mut [Vec<BallF64>],
    bout: &mut [BallF64],
) -> Result<(Vec<BallF64>, f64, usize), String> {
    let mut h = 2.0 * h_last.max(f64::MIN_POSITIVE);
    let current = bfield.decide_region(x)?;
    let mut why = String::from("the crossing step could not be validated");
    for _ in 0..CROSSING_TRIES {
        let h_exact = dyadic_step(h, t, lo, pt);
        if h_exact < h * 0.5 {
            // The doubling reached the next output time without proving the next piece.
            return Err(format!("{why} (crossing steps up to the next output time tried)"));
        }
        let hb = BallF64::from_ball(&Ball::exact(h_exact.clone()));
        let mut unit_h = hb;
        unit_h.scale_unit_interval();
        // B0 = X + [0, h]·F(X) inflated, relaxed on every constraint undecided on B.
        let mut b: Vec<BallF64> = x.to_vec();
        let mut ok = false;
        for _ in 0..APRIORI_TRIES + 2 {
            let relaxed = relaxed_on(bfield, &b, &current);
            bfield.set_region(&current, &relaxed);
            jets_of(bfield, &b, 1, bjets, bout);
            let next = euler_box(x, bjets, &unit_h);
            if next.iter().zip(&b).all(|(nx, bx)| nx.subset_of(bx)) {
                ok = true;
                break;
            }
            b = next.iter().zip(&b).map(|(nx, bx)| nx.hull(bx)).collect();
            inflate(&mut b, 0.0);
        }
        if ok {
            // x(t + h) ∈ X + h·F_hull(B), with the relaxation of the validated B.
            let end = euler_box(x, bjets, &hb);
            // The next piece may be the same one (a graze: the constraint touched its surface
            // and turned back); the step is valid either way.
            match bfield.decide_region(&end) {
                Ok(next) => {
                    let none = vec![false; next.len()];
                    field.set_region(&next, &none);
                    bfield.set_region(&next, &none);
                    dfield.set_region(&next, &none);
                    efield.set_region(&next, &none);
                    if t.add_assign_round(&h_exact, Round::Nearest) != Ordering::Equal {
                        return Err(format!("the time grid is no longer exact at {pt} bits"));
                    }
                    if std::env::var_os("LAZYRICH_VALIDATED_TRACE").is_some() {
                        let changed: Vec<usize> = (0..next.len()).filter(|&i| next[i] != current[i]).collect();
                        eprintln!(
                            "  crossed at t = {:.9} (h = {:.3e}), constraints changed: {changed:?}",
                            t.to_f64(),
                            h_exact.to_f64()
                        );
                    }
                    let changed = next.iter().zip(&current).filter(|(a, b)| a != b).count();
                    return Ok((end, h_exact.to_f64(), changed));
                }
                Err(e) => why = e,
            }
            if std::env::var_os("LAZYRICH_VALIDATED_TRACE").is_some() {
                eprintln!(
                    "  crossing at t = {:.6}, h = {:.3e}: {why}",
                    t.to_f64(),
                    h_exact.to_f64()
                );
            }
        }
        // Restore the proven piece before trying a longer crossing.
        let none = vec![false; current.len()];
        bfield.set_region(&current, &none);
        h *= 2.0;
    }
    Err(why)
}

/// The constraints of `current` not decided on the box `b` (true = relax to the hull).
fn relaxed_on<H: JetField<BallF64>>(bfield: &H, b: &[BallF64], current: &[bool]) -> Vec<bool> {
    match bfield.decide_region(b) {
        Ok(_) => vec![false; current.len()],
        Err(_) => {
            // Decide each constraint on its own: relax exactly those whose sign is open on B.
            let mut relaxed = vec![false; current.len()];
            for (idx, r) in relaxed.iter_mut().enumerate() {
                *r = bfield.constraint_open(b, idx);
            }
            relaxed
        }
    }
}

/// A step near `h` that is a dyadic number with 11 significant bits (so t + h is exact at `pt`
/// bits), or `lo − t` when that is not larger.
fn dyadic_step(h: f64, t: &Float, lo: &Float, pt: u32) -> Float {
    let rest = Float::with_val(pt, lo - t);
    if h >= rest.to_f64() {
        return rest;
    }
    let e = h.log2().floor() as i32;
    let q = (h * 2f64.powi(10 - e)).floor() * 2f64.powi(e - 10);
    let hq = Float::with_val(pt, if q > 0.0 { q } else { h });
    if hq >= rest { rest } else { hq }
}

/// h^k as a ball.
fn pow_ball<S: Enclosure>(h: &S, k: usize) -> S {
    let mut r = h.like_f64(1.0);
    for _ in 0..k {
        r.mul_assign_ref(h);
    }
    r
}

/// The a-priori box of one step from the box jets `xj` (Taylor coefficients over X up to
/// `order`, in the working scalar), in hardware balls, or `None` when [`APRIORI_TRIES`]
/// refinements do not validate it. On success, `bjets[i][order]` holds x_N(B) for the
/// remainder. `h` and `hf` enclose the same step in both scalars.
#[allow(clippy::too_many_arguments)]
fn apriori<H: JetField<BallF64>>(
    bfield: &mut H,
    xj: &[Vec<BallF64>],
    hf: &BallF64,
    order: usize,
    abs: f64,
    bjets: &mut [Vec<BallF64>],
    out: &mut [BallF64],
) -> Option<Vec<BallF64>> {
    let n = xj.len();
    let zf = BallF64::exact(0.0);
    // E = Σ_{k<N} x_k(X)·[0, h]^k (x_0(X) = X).
    let mut e: Vec<BallF64> = xj.iter().map(|j| j[0]).collect();
    let mut hk = *hf;
    for k in 1..order {
        for (ei, xi) in e.iter_mut().zip(xj) {
            ei.add_assign(&times_unit_range(&xi[k], &hk));
        }
        hk.mul_assign(hf);
    }
    let hn = pow_ball(hf, order);
    let _ = zf;
    // First guess: E + x_N(X)·[0, h^N], inflated.
    let mut b: Vec<BallF64> = (0..n)
        .map(|i| {
            let mut v = e[i];
            v.add_assign(&times_unit_range(&xj[i][order], &hn));
            v
        })
        .collect();
    inflate(&mut b, abs);
    for _ in 0..APRIORI_TRIES {
        jets_of(bfield, &b, order, bjets, out);
        let next: Vec<BallF64> = (0..n)
            .map(|i| {
                let mut v = e[i];
                v.add_assign(&times_unit_range(&bjets[i][order], &hn));
                v
            })
            .collect();
        if next.iter().zip(&b).all(|(nx, bx)| nx.subset_of(bx)) {
            return Some(b);
        }
        if next.iter().any(|v| !v.is_finite()) {
            return None;
        }
        b = next.iter().zip(&b).map(|(nx, bx)| nx.hull(bx)).collect();
        inflate(&mut b, abs);
    }
    None
}

/// Lohner's QR step: the new set x̂′ + A′r′ from y (point part + remainder + tail) and the
/// ball matrix S (row-major n×n, the Jacobian part times A, in hardware balls).
fn reorthogonalise<S: Enclosure>(set: &Lohner<S>, y: &[S], s: &[BallF64]) -> Result<Lohner<S>, String> {
    let n = set.n;
    let xh: Vec<S> = y.iter().map(S::mid_point).collect();
    // Column order: length of mid(S)'s column times the magnitude of r_j, largest first.
    let sm: Vec<f64> = s.iter().map(BallF64::mid).collect();
    let mut cols: Vec<usize> = (0..n).collect();
    let weight = |j: usize| {
        let len: f64 = (0..n).map(|i| sm[i * n + j] * sm[i * n + j]).sum::<f64>().sqrt();
        len * set.r[j].mag_up()
    };
    let w: Vec<f64> = (0..n).map(weight).collect();
    cols.sort_by(|&a, &b| w[b].partial_cmp(&w[a]).unwrap_or(Ordering::Equal));
    let perm = nalgebra::DMatrix::from_fn(n, n, |i, j| sm[i * n + cols[j]]);
    let q = if perm.iter().all(|v| v.is_finite()) {
        perm.qr().q()
    } else {
        return Err("the Jacobian of the Taylor map is not finite".into());
    };
    // Q⁻¹ = Qᵀ + Δ with |Δ_ij| ≤ e/(1 − e)·‖Qᵀ‖∞, e = ‖I − QᵀQ‖∞ (in hardware balls).
    let mut e_norm = 0f64;
    for i in 0..n {
        let mut row = 0f64;
        for j in 0..n {
            let mut acc = BallF64::exact(if i == j { -1.0 } else { 0.0 });
            for k in 0..n {
                acc.add_mul(&BallF64::exact(q[(k, i)]), &BallF64::exact(q[(k, j)]));
            }
            row = add_up(row, acc.mag_up());
        }
        e_norm = e_norm.max(row);
    }
    if e_norm.is_nan() || e_norm >= 0.5 {
        return Err(format!(
            "the orthogonal factor is not invertible in balls (‖I − QᵀQ‖∞ ≤ {e_norm:e})"
        ));
    }
    let qt_norm = (0..n)
        .map(|i| (0..n).fold(0f64, |acc, j| add_up(acc, q[(j, i)].abs())))
        .fold(0f64, f64::max);
    let delta = mul_up(div_up(e_norm, 1.0 - e_norm).max(e_norm), qt_norm);
    let qinv: Vec<BallF64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            let mut b = BallF64::exact(q[(j, i)]);
            b.widen(delta);
            b
        })
        .collect();
    // C = Q⁻¹S.
    let mut c = vec![BallF64::exact(0.0); n * n];
    for i in 0..n {
        for k in 0..n {
            let qik = &qinv[i * n + k];
            for j in 0..n {
                c[i * n + j].add_mul(qik, &s[k * n + j]);
            }
        }
    }
    // r′ = C·r + Q⁻¹(y − x̂′), accumulated in S.
    let zero = y[0].zero_like();
    let z: Vec<S> = y
        .iter()
        .zip(&xh)
        .map(|(yi, xi)| {
            let mut d = yi.clone();
            d.sub_assign_ref(xi);
            d
        })
        .collect();
    let conv = |b: &BallF64| zero.enclose_ball(&b.to_ball(53));
    let mut tmp = zero.clone();
    let r: Vec<S> = (0..n)
        .map(|i| {
            let mut acc = zero.clone();
            for j in 0..n {
                acc.mul_add_assign_tmp(&set.r[j], &conv(&c[i * n + j]), &mut tmp);
                acc.mul_add_assign_tmp(&z[j], &conv(&qinv[i * n + j]), &mut tmp);
            }
            acc
        })
        .collect();
    if r.iter().any(|v| !v.is_finite()) {
        return Err("the enclosure of the set is no longer finite".into());
    }
    let a: Vec<f64> = (0..n * n).map(|k| q[(k / n, k % n)]).collect();
    Ok(Lohner { n, xh, a, r })
}
