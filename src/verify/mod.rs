//! Layer 4: theorem checks returning rows; each says whether its reference and its bound are
//! proven (`ref_rigorous`, `bound_rigorous`) or estimates. Only proven bounds are certified.
//!
//! A check compares a quantity computed one way (simulation, f64 closed form, another route)
//! with a reference computed another way, and states the bound it promises and why. A failing
//! check is data (`pass: false`), never a panic or an `Err`. Check ids are stable and indexed in
//! `verification/README.md`.

pub mod deep_linear;
pub mod implicit_bias;
pub mod lambda_balanced;
pub mod linear_taylor;
pub mod mirror_modes;
pub mod piecewise_linear;
pub mod prove;
pub mod single_neuron;
pub mod taylor_rigorous;
pub mod user_case;
pub mod wide_linear;

use crate::num::ball::Ball;
use rug::Float;
use rug::float::Round;
use serde::{Deserialize, Deserializer, Serialize};

/// Quick (CI) or full catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A subset that still covers every regime and every method.
    Quick,
    /// The whole catalog.
    Full,
}

/// One row of a verification table.
///
/// It reads back from the `table.json` that `verify` and `report` write (a NaN, which JSON
/// writes as `null`, reads back as NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable check id (see `verification/README.md`).
    pub check: String,
    /// Model family.
    pub family: String,
    /// Case name.
    pub case: String,
    /// δ regime: downstream/balanced/upstream and small/order1/large.
    pub regime: String,
    /// Method producing the checked value.
    pub method: String,
    /// Relative tolerance of the method (absent for closed forms).
    pub tolerance: Option<f64>,
    /// Quantity compared.
    pub quantity: String,
    /// Max absolute error over the time grid (and components).
    #[serde(deserialize_with = "nan_from_null")]
    pub abs_err: f64,
    /// abs_err / max |reference| (normwise relative error).
    #[serde(deserialize_with = "nan_from_null")]
    pub rel_err: f64,
    /// The reference's own error bound.
    #[serde(deserialize_with = "nan_from_null")]
    pub ref_bound: f64,
    /// How the reference was computed and bounded.
    pub ref_method: String,
    /// Whether the reference bound is rigorous (a proof) or an estimate.
    pub ref_rigorous: bool,
    /// Whether `bound` is proven: a rigorous upper bound on the checked value's error (an
    /// enclosure in ball arithmetic, a validated integration, an exact identity), so that the
    /// row's verdict is itself a proof. `false`: the bound is an estimate (a solver's tolerance
    /// model, a two-precision difference, a derived but unproven truncation bound).
    pub bound_rigorous: bool,
    /// Max drift of the conserved quantity along the checked trajectory, where applicable.
    pub drift: Option<f64>,
    /// The bound this row promises (at the time where error/bound is largest).
    #[serde(deserialize_with = "nan_from_null")]
    pub bound: f64,
    /// Why that bound.
    pub bound_why: String,
    /// Largest error/(bound + ref_bound) over the time grid: ≤ 1 passes.
    #[serde(deserialize_with = "nan_from_null")]
    pub margin: f64,
    /// Verdict.
    pub pass: bool,
    /// Extra information (solver statistics, failure message).
    pub note: String,
}

/// A number of `table.json`: JSON has no NaN, and serde_json writes it as `null`.
fn nan_from_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Row {
    /// A row not yet measured: the identification fields set, errors, bound and margin NaN,
    /// `pass` false (a row that is never filled in fails), no reference (`ref_method` "-").
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        check: &str,
        family: &str,
        case: &str,
        regime: String,
        method: &str,
        tolerance: Option<f64>,
        quantity: &str,
    ) -> Row {
        Row {
            check: check.into(),
            family: family.into(),
            case: case.into(),
            regime,
            method: method.into(),
            tolerance,
            quantity: quantity.into(),
            abs_err: f64::NAN,
            rel_err: f64::NAN,
            ref_bound: 0.0,
            ref_method: "-".into(),
            ref_rigorous: false,
            bound_rigorous: false,
            drift: None,
            bound: f64::NAN,
            bound_why: "-".into(),
            margin: f64::NAN,
            pass: false,
            note: String::new(),
        }
    }

    /// A row passes only on numbers that exist: a passing row with a non-finite error, bound,
    /// reference bound or margin is turned into a failing one, the reason appended to its note
    /// (a value that cannot be computed is a failed row, never a number with a bound).
    pub fn fail_if_not_finite(&mut self) {
        let named = [
            ("abs_err", self.abs_err),
            ("rel_err", self.rel_err),
            ("bound", self.bound),
            ("ref_bound", self.ref_bound),
            ("margin", self.margin),
        ];
        let bad: Vec<&str> = named.iter().filter(|(_, v)| !v.is_finite()).map(|(n, _)| *n).collect();
        if self.pass && !bad.is_empty() {
            self.pass = false;
            let why = format!("fails: not finite: {}", bad.join(", "));
            self.note = if self.note.is_empty() {
                why
            } else {
                format!("{}; {why}", self.note)
            };
        }
    }
}

/// Why a row's rigorous reference (a validated enclosure, a closed form in balls) is absent and
/// its bound an estimate: a method that was not attempted because an assumption it needs does
/// not hold is a different fact from one that was attempted and failed, and the row's note says
/// which (a failed attempt must never read like a not-applicable one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Not attempted: the assumption not met, stated.
    NotAttempted(String),
    /// Attempted and failed: the error.
    Failed(String),
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::NotAttempted(why) => write!(f, "rigorous reference not attempted: {why}"),
            Fallback::Failed(e) => write!(f, "rigorous reference attempted and failed: {e}"),
        }
    }
}

/// |x| rounded down to f64.
pub(crate) fn abs_down(x: &Float) -> f64 {
    Float::with_val(x.prec(), x.abs_ref()).to_f64_round(Round::Down)
}

/// One simulated value `sv` against a rigorous reference ball and the validated enclosure `v`:
/// (the measured error |sv − reference midpoint| rounded down, the reference's radius, and the
/// proven bound |sv − v| rounded up). With both balls containing the exact value,
/// error ≤ bound + radius: the margin of a consistent pair is ≤ 1, also in floating point.
pub(crate) fn certified_point(sv: f64, reference: &Ball, v: &Ball) -> (f64, f64, f64) {
    certified_ball(&Ball::from_f64(v.prec().max(reference.prec()), sv), reference, v)
}

/// [`certified_point`] for a value given as a ball (an MPFR value is the exact ball of itself):
/// (|sb − reference midpoint| rounded down, the radius of that difference, |sb − v| rounded up).
pub(crate) fn certified_ball(sb: &Ball, reference: &Ball, v: &Ball) -> (f64, f64, f64) {
    let d = sb.sub(reference);
    (abs_down(d.mid()), d.rad(), sb.sub(v).mag_up())
}

/// x / y rounded up (x ≥ 0, y > 0): a proven bound divided by a positive scale stays a bound of
/// the relative error measured against that scale.
pub(crate) fn div_up(x: f64, y: f64) -> f64 {
    let (q, _) = Float::with_val_round(53, Float::with_val(53, x) / Float::with_val(53, y), Round::Up);
    q.to_f64_round(Round::Up)
}

/// x / y rounded down (x ≥ 0, y > 0): a measured error relative to a scale, never overstated.
pub(crate) fn div_down(x: f64, y: f64) -> f64 {
    let (q, _) = Float::with_val_round(53, Float::with_val(53, x) / Float::with_val(53, y), Round::Down);
    q.to_f64_round(Round::Down)
}

/// error / (bound + reference bound), with 0 / 0 (every value exact, as at t = 0) no error.
pub(crate) fn ratio(e: f64, b: f64, rb: f64) -> f64 {
    if e == 0.0 && !(b + rb).is_nan() {
        0.0
    } else {
        e / (b + rb)
    }
}

/// Certified comparisons accumulated over a time grid and components: the largest measured error,
/// reference radius and proven bound, and the worst margin (NaN as soon as one point is not
/// finite, so that the row fails).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Certified {
    /// Largest error against the reference's midpoint (rounded down).
    pub err: f64,
    /// Largest radius of the reference.
    pub rb: f64,
    /// Largest proven bound (rounded up).
    pub bound: f64,
    /// Worst error / (bound + radius).
    pub margin: f64,
}

impl Certified {
    fn push(&mut self, (e, r, b): (f64, f64, f64), finite: bool) {
        self.err = self.err.max(e);
        self.rb = self.rb.max(r);
        self.bound = self.bound.max(b);
        self.margin = self.margin.max(ratio(e, b, r));
        if b.is_nan() || !finite {
            self.margin = f64::NAN;
        }
    }

    /// A simulated value `v` against the validated enclosure `enc`, which is both the reference
    /// and the proof of the bound ([`certified_point`]).
    pub fn add_value(&mut self, v: f64, enc: &Ball) {
        self.push(certified_point(v, enc, enc), v.is_finite());
    }

    /// A multiple-precision value `v` (taken exactly) against the validated enclosure `enc`, as
    /// [`Certified::add_value`].
    pub fn add_float(&mut self, v: &Float, enc: &Ball) {
        let d = Ball::exact(v.clone()).sub(enc);
        self.push((abs_down(d.mid()), d.rad(), d.mag_up()), v.is_finite());
    }

    /// A conserved quantity: its value `s` at a simulated state (in balls), its exact initial value
    /// `z` (the reference) and its value `w` over the enclosure of the exact flow (which conserves
    /// it, so `w` contains `z`): error |s − z|, bound |s − w| rounded up.
    pub fn add_conserved(&mut self, s: &Ball, z: &Ball, w: &Ball) {
        let d = s.sub(z);
        self.push((abs_down(d.mid()), d.rad(), s.sub(w).mag_up()), true);
    }

    /// A binary64 value `v` against a rigorous reference ball and a ball `e` enclosing the exact
    /// value `v` approximates (the proof of the bound; [`certified_point`]).
    pub fn add_against(&mut self, v: f64, reference: &Ball, e: &Ball) {
        self.push(certified_point(v, reference, e), v.is_finite());
    }

    /// A value `s` (in balls) measured against an exact reference `z` (in balls) under a bound
    /// `estimate` that is not proven: the error |s − z| is certified, the bound is not.
    pub fn add_measured(&mut self, s: &Ball, z: &Ball, estimate: f64) {
        let d = s.sub(z);
        self.push((abs_down(d.mid()), d.rad(), estimate), s.is_finite() && z.is_finite());
    }

    /// A conserved quantity `q` (written once over balls) along a simulated trajectory `sim`
    /// (binary64 states, taken exactly at `prec` bits) against its exact initial value `q0` and
    /// its values over the enclosures `enc` of the exact flow at the same times.
    pub fn conserved_along(
        q: impl Fn(&[Ball]) -> Vec<Ball>,
        q0: &[Ball],
        sim: &[Vec<f64>],
        enc: &[Vec<Ball>],
        prec: u32,
    ) -> Certified {
        let mut acc = Certified::default();
        for (th, thv) in sim.iter().zip(enc) {
            let qs = q(&th.iter().map(|x| Ball::from_f64(prec, *x)).collect::<Vec<_>>());
            for ((s, z), v) in qs.iter().zip(q0).zip(&q(thv)) {
                acc.add_conserved(s, z, v);
            }
        }
        acc
    }
}

/// Run the whole catalog.
///
/// The families run in parallel on rayon's pool (and the costly ones run their cases in
/// parallel too); the rows come back in the fixed family and case order, so the table does not
/// depend on the scheduling. Computations shared between families go through `Memo`, whose
/// closures contain no rayon calls (see there), so a worker blocked on a memo never holds work
/// the memo's computation needs.
pub fn run(mode: Mode) -> Vec<Row> {
    use rayon::prelude::*;
    type Family = fn(Mode) -> Vec<Row>;
    // Costliest first, so that the two workers start on the long ones.
    let families: [Family; 9] = [
        |m| lambda_balanced::run(m == Mode::Quick),
        piecewise_linear::run,
        deep_linear::run,
        linear_taylor::run,
        wide_linear::run,
        single_neuron::run,
        taylor_rigorous::run,
        mirror_modes::run,
        implicit_bias::run,
    ];
    // The table's order: single neuron, its rigorous Taylor rows, λ-balanced, wide and deep
    // linear, linear Taylor, implicit bias, mirror modes, piecewise linear.
    const ORDER: [usize; 9] = [5, 6, 0, 4, 2, 3, 8, 7, 1];
    let mut parts: Vec<Option<Vec<Row>>> = families.par_iter().map(|f| Some(f(mode))).collect();
    let mut rows: Vec<Row> = ORDER
        .iter()
        .flat_map(|&i| parts[i].take().unwrap_or_default())
        .collect();
    rows.iter_mut().for_each(Row::fail_if_not_finite);
    rows
}

/// The headline figures of a table: how many rows, how many pass, how many rest on a proof.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Rows.
    pub rows: usize,
    /// Rows that pass.
    pub passed: usize,
    /// Rows whose reference is rigorous (`ref_rigorous`).
    pub ref_rigorous: usize,
    /// Rows whose promised bound is proven (`bound_rigorous`).
    pub bound_rigorous: usize,
    /// Worst margin among rows with a rigorous reference (NaN if one is not finite).
    pub worst_margin_ref_rigorous: f64,
    /// Worst margin among rows with a proven bound.
    pub worst_margin_bound_rigorous: f64,
    /// Worst margin among the other rows (estimates).
    pub worst_margin_estimate: f64,
    /// Median of bound / error among rows with a proven bound and a non-zero error: how tight
    /// the proven bounds are (1 = the bound is the error).
    pub median_tightness_bound_rigorous: f64,
}

/// The worst margin of a set of rows: NaN as soon as one margin is NaN (a row that could not be
/// measured is never hidden behind a finite maximum), 0 for no rows.
fn worst_margin<'a>(rows: impl Iterator<Item = &'a Row>) -> f64 {
    rows.map(|r| r.margin).fold(
        0.0f64,
        |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) },
    )
}

impl Headline {
    /// The headline of `rows`.
    pub fn of(rows: &[Row]) -> Headline {
        let mut tight: Vec<f64> = rows
            .iter()
            .filter(|r| r.bound_rigorous && r.abs_err > 0.0 && r.abs_err.is_finite() && r.bound.is_finite())
            .map(|r| r.bound / r.abs_err)
            .collect();
        tight.sort_by(f64::total_cmp);
        let median = match tight.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => tight[n / 2],
            n => 0.5 * (tight[n / 2 - 1] + tight[n / 2]),
        };
        Headline {
            rows: rows.len(),
            passed: rows.iter().filter(|r| r.pass).count(),
            ref_rigorous: rows.iter().filter(|r| r.ref_rigorous).count(),
            bound_rigorous: rows.iter().filter(|r| r.bound_rigorous).count(),
            worst_margin_ref_rigorous: worst_margin(rows.iter().filter(|r| r.ref_rigorous)),
            worst_margin_bound_rigorous: worst_margin(rows.iter().filter(|r| r.bound_rigorous)),
            worst_margin_estimate: worst_margin(rows.iter().filter(|r| !r.bound_rigorous)),
            median_tightness_bound_rigorous: median,
        }
    }

    /// One paragraph for a person: counts, shares and worst margins.
    pub fn sentence(&self) -> String {
        format!(
            "{} rows, {} passed, {} failed. {}",
            self.rows,
            self.passed,
            self.rows - self.passed,
            self.proofs_sentence()
        )
    }

    /// The part of [`Headline::sentence`] about proofs: rigorous references, proven bounds, the
    /// worst margin of each kind and the median tightness of the proven bounds.
    pub fn proofs_sentence(&self) -> String {
        let pct = |k: usize| {
            if self.rows == 0 {
                0.0
            } else {
                100.0 * k as f64 / self.rows as f64
            }
        };
        format!(
            "{} rows ({:.1} %) have a rigorous reference (worst margin {:.3e}); {} rows ({:.1} %) have a proven bound \
             (worst margin {:.3e}; median bound / error {:.3}); the other {} bounds are estimates (worst margin {:.3e}).",
            self.ref_rigorous,
            pct(self.ref_rigorous),
            self.worst_margin_ref_rigorous,
            self.bound_rigorous,
            pct(self.bound_rigorous),
            self.worst_margin_bound_rigorous,
            self.median_tightness_bound_rigorous,
            self.rows - self.bound_rigorous,
            self.worst_margin_estimate,
        )
    }
}

/// A per-process memo of deterministic computations keyed by a string (a case's debug form, a
/// name): each value is computed once, and a second caller of a key being computed waits for it
/// instead of computing it again. Sharing changes no value. A poisoned lock only loses the
/// sharing: the value is then computed by the caller.
pub(crate) struct Memo<T>(
    std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<std::sync::OnceLock<T>>>>>,
);

impl<T: Clone> Memo<T> {
    /// An empty memo (for a `static`).
    pub(crate) const fn new() -> Self {
        Memo(std::sync::OnceLock::new())
    }

    /// The value of `key`, computed by `f` on first use.
    ///
    /// `f` must not call into rayon: the catalog's families run on rayon's pool, and a worker
    /// that waits here while `f` needs a worker would deadlock.
    pub(crate) fn get(&self, key: String, f: impl FnOnce() -> T) -> T {
        let slot = self
            .0
            .get_or_init(Default::default)
            .lock()
            .ok()
            .map(|mut m| std::sync::Arc::clone(m.entry(key).or_default()));
        match slot {
            Some(slot) => slot.get_or_init(f).clone(),
            None => f(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(abs_err: f64, bound: f64, margin: f64, ref_rig: bool, bound_rig: bool) -> Row {
        let mut r = Row::pending("X", "f", "c", "r".into(), "m", None, "q");
        r.abs_err = abs_err;
        r.rel_err = abs_err;
        r.bound = bound;
        r.margin = margin;
        r.pass = margin <= 1.0;
        r.ref_rigorous = ref_rig;
        r.bound_rigorous = bound_rig;
        r
    }

    #[test]
    fn a_passing_row_with_a_non_finite_number_fails_and_says_why() {
        let mut r = row(1.0, f64::INFINITY, 0.0, true, true);
        r.pass = true;
        r.fail_if_not_finite();
        assert!(!r.pass);
        assert_eq!(r.note, "fails: not finite: bound");
        // A finite passing row is untouched.
        let mut ok = row(1.0, 2.0, 0.5, true, true);
        let before = ok.clone();
        ok.fail_if_not_finite();
        assert_eq!(ok, before);
    }

    #[test]
    fn rows_read_back_from_json_with_nan_as_null() {
        let rows = vec![
            row(1.5e-17, 3.0e-16, 0.05, true, true),
            row(f64::NAN, f64::NAN, f64::NAN, false, false),
        ];
        let text = serde_json::to_string(&rows).unwrap();
        let back: Vec<Row> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0], rows[0]);
        assert!(back[1].abs_err.is_nan() && back[1].bound.is_nan() && back[1].margin.is_nan());
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn headline_counts_proofs_and_never_hides_a_nan() {
        let rows = vec![
            row(1.0, 2.0, 0.5, true, true),
            row(1.0, 8.0, 0.125, true, true),
            row(1.0, 4.0, 0.25, false, true),
            row(1.0, 1e5, 1e-5, true, false),
            row(f64::NAN, f64::NAN, f64::NAN, false, false),
        ];
        let h = Headline::of(&rows);
        assert_eq!((h.rows, h.passed, h.ref_rigorous, h.bound_rigorous), (5, 4, 3, 3));
        // bound / error of the proven rows: 2, 8, 4 → median 4.
        assert_eq!(h.median_tightness_bound_rigorous, 4.0);
        assert_eq!(h.worst_margin_bound_rigorous, 0.5);
        assert_eq!(h.worst_margin_ref_rigorous, 0.5);
        assert!(h.worst_margin_estimate.is_nan(), "a NaN margin must show");
        assert!(h.sentence().starts_with("5 rows, 4 passed, 1 failed. 3 rows (60.0 %)"));
    }
}
