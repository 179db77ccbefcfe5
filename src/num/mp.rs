//! MPFR helpers (through `rug`): precision validation, exact decimal parsing, decimal output with
//! only the digits an error bound supports, and the two-precision error estimate.
//!
//! This module and [`crate::exact`]'s `_mp` files are the only places that name `rug` types.

use crate::num::tol::{self, Bound, BoundMethod};
use rug::Float;
use rug::float::Round;
use rug::ops::AddAssignRound;

/// Errors about working precision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrecError {
    /// Requested precision is below binary64's 53 bits.
    #[error(
        "precision {bits} bits is below the {min} bits of f64: pass --prec {min} or more \
         (e.g. --prec 256 for ~77 significant digits)",
        min = tol::MIN_PREC_BITS
    )]
    TooLow {
        /// Requested bits.
        bits: u32,
    },
    /// Requested precision is unreasonably large.
    #[error("precision {bits} bits exceeds the maximum of {max} bits: pass a smaller --prec", max = tol::MAX_PREC_BITS)]
    TooHigh {
        /// Requested bits.
        bits: u32,
    },
}

/// Check a working precision.
///
/// # Errors
/// [`PrecError`] when `bits` is below 53 or above [`tol::MAX_PREC_BITS`].
pub fn check_prec(bits: u32) -> Result<u32, PrecError> {
    if bits < tol::MIN_PREC_BITS {
        Err(PrecError::TooLow { bits })
    } else if bits > tol::MAX_PREC_BITS {
        Err(PrecError::TooHigh { bits })
    } else {
        Ok(bits)
    }
}

/// Parse decimal text, correctly rounded to `prec` bits. `None` if it is not a finite number.
pub fn parse_decimal(text: &str, prec: u32) -> Option<Float> {
    let parsed = Float::parse(text).ok()?;
    let v = Float::with_val(prec, parsed);
    v.is_finite().then_some(v)
}

/// Number of decimal digits that `prec` bits can represent (⌈prec·log10 2⌉ + 1).
pub fn max_digits(prec: u32) -> usize {
    (f64::from(prec) * std::f64::consts::LOG10_2).ceil() as usize + 1
}

/// Two-precision error estimate for a value computed at `prec` (`lo`) and at `prec + 64` (`hi`):
/// `2|lo − hi| + ulp(lo)`, method [`BoundMethod::TwoPrecision`]. As an f64 (rounded up): below
/// ~1e-308 use [`two_precision_bound_mp`].
pub fn two_precision_bound(lo: &Float, hi: &Float) -> Bound {
    Bound {
        abs: two_precision_bound_mp(lo, hi).to_f64_round(Round::Up),
        method: BoundMethod::TwoPrecision,
    }
}

/// [`two_precision_bound`] as a 64-bit MPFR number rounded up: keeps bounds far below f64's range
/// (≈ 2^−4096 at 4096 bits).
pub fn two_precision_bound_mp(lo: &Float, hi: &Float) -> Float {
    let diff = Float::with_val(hi.prec().max(lo.prec()) + 1, lo - hi).abs();
    let mut b = Float::with_val_round(64, &diff * tol::TWO_PRECISION_SAFETY, Round::Up).0;
    b.add_assign_round(ulp_mp(lo), Round::Up);
    b
}

/// One unit in the last place of `x` at its own precision (64-bit Float; 0 for x = 0).
pub fn ulp_mp(x: &Float) -> Float {
    match x.get_exp() {
        Some(e) if x.is_finite() && !x.is_zero() => Float::with_val(64, Float::i_exp(1, e - x.prec() as i32)),
        _ => Float::new(64),
    }
}

/// A bound as short decimal text (3 significant digits; the bound is rounded up).
pub fn bound_text(b: &Float) -> String {
    if b.is_zero() {
        return "0".into();
    }
    tidy_exponent(&b.to_string_radix_round(10, Some(3), Round::Up))
}

/// Decimal text of `x` with the digits an MPFR `bound` supports (as [`to_decimal`], for bounds
/// of any size).
pub fn to_decimal_mp(x: &Float, bound: &Float) -> String {
    if x.is_zero() || Float::with_val(x.prec(), x.abs_ref()) <= *bound {
        return "0".to_string();
    }
    let max = max_digits(x.prec());
    let digits = if bound.is_zero() {
        max
    } else {
        let r = Float::with_val(64, x.abs_ref()) / bound;
        let d = r.log10().floor().to_f64();
        if d < 1.0 { 1 } else { (d as usize).min(max) }
    };
    tidy_exponent(&x.to_string_radix(10, Some(digits)))
}

/// One unit in the last place of `x` at its own precision, as an f64 rounded up (0 for x = 0).
pub fn ulp(x: &Float) -> f64 {
    if x.is_zero() || !x.is_finite() {
        return 0.0;
    }
    let e = x.get_exp().expect("finite non-zero has an exponent");
    let p = x.prec() as i32;
    // x = m·2^e with 0.5 ≤ |m| < 1, so ulp = 2^(e − p).
    Float::with_val(64, Float::i_exp(1, e - p)).to_f64_round(Round::Up)
}

/// Decimal text of `x` with as many significant digits as `bound` supports (at least 1, at most
/// what `x`'s precision holds). Exactly zero, and any value with |x| ≤ bound (no digit is
/// supported: the value is indistinguishable from 0), prints as `"0"`.
pub fn to_decimal(x: &Float, bound: f64) -> String {
    if x.is_zero() || x.to_f64().abs() <= bound {
        return "0".to_string();
    }
    let digits = tol::correct_digits(x.to_f64().abs(), bound, max_digits(x.prec()));
    let s = x.to_string_radix(10, Some(digits));
    tidy_exponent(&s)
}

/// rug prints `1.2345e-5` as `1.2345e-5` and large numbers with `e`; keep as is but drop a
/// trailing `.` if any.
fn tidy_exponent(s: &str) -> String {
    s.replace(".e", "e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_limits() {
        assert!(check_prec(52).is_err());
        assert_eq!(check_prec(53), Ok(53));
        assert_eq!(check_prec(4096), Ok(4096));
        let msg = check_prec(32).unwrap_err().to_string();
        assert!(msg.contains("--prec 53"), "{msg}");
    }

    #[test]
    fn ulp_of_one() {
        let one = Float::with_val(53, 1);
        // 1 = 0.5·2^1, ulp = 2^(1−53) = 2^-52.
        assert_eq!(ulp(&one), f64::EPSILON);
    }

    #[test]
    fn decimal_output_keeps_supported_digits() {
        let third = Float::with_val(256, 1) / 3u32;
        // |v|/b = 3.3e19, so ⌊log10⌋ = 19 supported digits.
        let s = to_decimal(&third, 1e-20);
        assert_eq!(s, "3.333333333333333333e-1");
        assert_eq!(to_decimal(&Float::new(256), 1e-3), "0");
        assert_eq!(to_decimal(&Float::with_val(256, 4e-158), 7e-158), "0");
    }

    #[test]
    fn bounds_below_the_f64_range() {
        let lo = Float::with_val(4096, 1) / 3u32;
        let hi = Float::with_val(4160, 1) / 3u32;
        let b = two_precision_bound_mp(&lo, &hi);
        // ≈ 2^−4097, far below f64's smallest subnormal, but not zero.
        assert!(b > 0 && b < Float::with_val(64, Float::i_exp(1, -4090)));
        let exact = Float::with_val(8192, 1) / 3u32;
        assert!(Float::with_val(8192, &lo - &exact).abs() <= b);
        let s = to_decimal_mp(&lo, &b);
        assert!(s.len() > 1230, "{}", s.len());
        assert!(bound_text(&b).contains("e-123"), "{}", bound_text(&b));
    }

    #[test]
    fn two_precision_bound_covers_error() {
        // 1/3 at 53 vs 117 bits: the true error of the 53-bit value must be under the bound.
        let lo = Float::with_val(53, 1) / 3u32;
        let hi = Float::with_val(117, 1) / 3u32;
        let exact = Float::with_val(1000, 1) / 3u32;
        let err = Float::with_val(1000, &lo - &exact).abs().to_f64();
        let b = two_precision_bound(&lo, &hi);
        assert!(err <= b.abs, "{err} > {}", b.abs);
        assert_eq!(b.method, BoundMethod::TwoPrecision);
    }
}
