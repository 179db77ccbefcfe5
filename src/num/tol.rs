//! Named tolerances and error bounds.
//!
//! Every tolerance used by a check or a test is a constant here, with the reason for its value
//! (statrs' `prec.rs` pattern). A bare `1e-9` elsewhere is a smell.

use serde::Serialize;

/// Unit roundoff of IEEE binary64, 2⁻⁵³.
pub const F64_UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// Guard bits added to the working precision to estimate the error of an MPFR evaluation:
/// the value at `p + GUARD_BITS` is ~2⁻⁶⁴ times more accurate than the value at `p`, so their
/// difference estimates the error at `p` to within a factor `1 ± 2⁻⁶⁴` of itself (plus the
/// reference's own error, which is negligible). See [`crate::num::mp`].
pub const GUARD_BITS: u32 = 64;

/// Safety factor applied to a two-precision difference before it is reported as a bound.
/// The difference |v_p − v_{p+64}| estimates the error of v_p; the factor 2 covers the rare case
/// where the two errors partly cancel (mpmath's `test_torture` uses the same rule with 10×
/// between neighbouring precisions). Issue 3 replaces this estimate by rigorous enclosures.
pub const TWO_PRECISION_SAFETY: f64 = 2.0;

/// Minimum working precision in bits: below binary64's 53 bits the arbitrary-precision path
/// would be less accurate than the f64 path it is meant to check.
pub const MIN_PREC_BITS: u32 = 53;

/// Largest working precision accepted (MPFR handles far more; this keeps a typo such as
/// `--prec 10000000` from exhausting memory).
pub const MAX_PREC_BITS: u32 = 1 << 20;

/// Whitening test for closed forms that assume XᵀX = I: ‖XᵀX − I‖_max must not exceed this.
/// 1e-12 allows data written with ~15 significant digits (e.g. 1/√2 as 0.7071067811865476) and
/// products accumulated in f64 (n·ε ≈ 1e-14 for n ≤ 100), while rejecting data that is merely
/// close to whitened (the closed form would then be wrong at the 1e-12 level, visibly so in a
/// 1e-10 comparison).
pub const WHITENING_TOL: f64 = 1e-12;

/// How an error bound was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundMethod {
    /// |v_p − v_{p+64}|·[`TWO_PRECISION_SAFETY`] + one ulp at p: an estimate, not a proof.
    TwoPrecision,
    /// |v_f64 − v_mp| with v_mp evaluated at ≥ 128 bits and its own two-precision bound added.
    F64VsMp,
    /// Directed-rounding enclosure: provably contains the exact value.
    Rigorous,
    /// No bound available (e.g. the reference is itself a simulation).
    None,
}

impl BoundMethod {
    /// Stable name used in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundMethod::TwoPrecision => "two_precision",
            BoundMethod::F64VsMp => "f64_vs_mp",
            BoundMethod::Rigorous => "rigorous",
            BoundMethod::None => "none",
        }
    }
    /// Whether the bound is a proof (true only for [`BoundMethod::Rigorous`]).
    pub fn is_rigorous(self) -> bool {
        matches!(self, BoundMethod::Rigorous)
    }
}

/// An absolute error bound and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// Absolute error bound.
    pub abs: f64,
    /// Method that produced it.
    pub method: BoundMethod,
}

/// Number of correct significant decimal digits implied by a value and its absolute bound
/// (`⌊log10(|v|/b)⌋`, clamped to `[1, max_digits]`; `max_digits` when the bound is 0).
pub fn correct_digits(value_abs: f64, bound: f64, max_digits: usize) -> usize {
    if bound <= 0.0 {
        return max_digits;
    }
    if value_abs.is_nan() || value_abs <= 0.0 || !bound.is_finite() {
        return 1;
    }
    let d = (value_abs / bound).log10().floor();
    if d < 1.0 { 1 } else { (d as usize).min(max_digits) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_from_bound() {
        assert_eq!(correct_digits(1.0, 1e-10, 100), 10);
        assert_eq!(correct_digits(123.0, 1e-10, 100), 12);
        assert_eq!(correct_digits(1.0, 0.0, 77), 77);
        assert_eq!(correct_digits(1.0, 2.0, 77), 1);
        assert_eq!(correct_digits(1.0, 1e-300, 20), 20);
    }
}
