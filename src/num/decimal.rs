//! Numbers kept as decimal text.
//!
//! A case file may give every number as a JSON number or as a decimal string. Both are kept as the
//! text the user wrote, so `0.1` is parsed *exactly* (correctly rounded) at whatever working
//! precision is asked for, instead of going through the binary64 value `0.1000000000000000055…`.

use crate::num::mp;
use rug::Float;
use serde::Serialize;
use std::fmt;

/// Errors from parsing a decimal number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// The text is not a finite decimal number.
    #[error(
        "'{text}' is not a finite decimal number: write digits with an optional sign, point and \
         exponent, e.g. \"-1.25e-3\" (NaN and infinities are not accepted)"
    )]
    NotANumber {
        /// The offending text.
        text: String,
    },
}

/// A finite real number kept as validated decimal text.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    text: String,
    f64_value: f64,
}

impl Num {
    /// Parse decimal text (e.g. `"0.1"`, `"-2.5e-3"`, `"7"`).
    ///
    /// # Errors
    /// [`DecimalError::NotANumber`] for anything that is not a finite decimal number.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let t = text.trim();
        let err = || DecimalError::NotANumber { text: text.to_string() };
        let ok_chars = !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
        if !ok_chars || !t.chars().any(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        let v: f64 = t.parse().map_err(|_| err())?;
        if !v.is_finite() {
            return Err(err());
        }
        Float::parse(t).map_err(|_| err())?;
        Ok(Num {
            text: t.to_string(),
            f64_value: v,
        })
    }

    /// The number holding exactly the binary64 value `x`: its full decimal expansion (finite,
    /// since x = m·2^e), so that [`Num::to_f64`] returns `x` bit for bit *and* [`Num::to_mp`]
    /// at any precision is exactly x — an f64 computation and an MPFR reference then see the same
    /// inputs. (The shortest round-trip text, e.g. `0.1`, would be a different number at 256 bits.)
    ///
    /// # Errors
    /// [`DecimalError::NotANumber`] if `x` is NaN or infinite.
    pub fn from_f64(x: f64) -> Result<Self, DecimalError> {
        if !x.is_finite() {
            return Err(DecimalError::NotANumber { text: format!("{x}") });
        }
        Ok(Num {
            text: exact_decimal(x),
            f64_value: x,
        })
    }

    /// Correctly rounded binary64 value.
    pub fn to_f64(&self) -> f64 {
        self.f64_value
    }

    /// Correctly rounded value at `prec` bits.
    pub fn to_mp(&self, prec: u32) -> Float {
        mp::parse_decimal(&self.text, prec).expect("invariant: text validated at construction")
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact rational value of the decimal text (`"0.1"` is 1/10, not the binary64 value).
    ///
    /// # Errors
    /// [`DecimalError::NotANumber`] if the decimal exponent exceeds ±100,000 (the exact value
    /// would need more than ~330,000 bits).
    pub fn to_rational(&self) -> Result<rug::Rational, DecimalError> {
        let err = || DecimalError::NotANumber {
            text: self.text.clone(),
        };
        let t = self.text.as_str();
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(k) => (&t[..k], t[k + 1..].parse::<i64>().map_err(|_| err())?),
            None => (t, 0),
        };
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mant.strip_prefix('+').unwrap_or(mant)),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int}{frac}");
        let digits = if digits.is_empty() { "0".to_string() } else { digits };
        let scale = exp - frac.len() as i64;
        if scale.abs() > 100_000 {
            return Err(err());
        }
        let m = rug::Integer::from_str_radix(&digits, 10).map_err(|_| err())?;
        let p = rug::Integer::from(rug::Integer::u_pow_u(10, scale.unsigned_abs() as u32));
        let mut r = if scale >= 0 {
            rug::Rational::from(m * p)
        } else {
            rug::Rational::from((m, p))
        };
        if neg {
            r = -r;
        }
        Ok(r)
    }
}

/// The exact decimal expansion of a finite binary64 value (x = m·2^e; for e < 0,
/// x = m·5^(−e)/10^(−e)), trailing zeros trimmed.
fn exact_decimal(x: f64) -> String {
    if x == 0.0 {
        return "0.0".into();
    }
    let r = rug::Rational::from_f64(x).expect("finite");
    let (num, den) = r.into_numer_denom();
    // den = 2^k; x = num·5^k / 10^k
    let k = den.significant_bits() - 1;
    let scaled = num * rug::Integer::from(rug::Integer::u_pow_u(5, k));
    let neg = scaled < 0;
    let digits = scaled.abs().to_string();
    let k = k as usize;
    let (int, frac) = if digits.len() > k {
        (
            digits[..digits.len() - k].to_string(),
            digits[digits.len() - k..].to_string(),
        )
    } else {
        ("0".to_string(), format!("{}{}", "0".repeat(k - digits.len()), digits))
    };
    let frac = frac.trim_end_matches('0');
    format!(
        "{}{}.{}",
        if neg { "-" } else { "" },
        int,
        if frac.is_empty() { "0" } else { frac }
    )
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_numbers() {
        for bad in ["", "NaN", "nan", "inf", "-inf", "1e999", "abc", "1.2.3", "--1", "e5"] {
            assert!(Num::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parses_exactly_at_high_precision() {
        let n = Num::parse("0.1").unwrap();
        let hi = n.to_mp(256);
        // 0.1 at 256 bits differs from the binary64 0.1 by ~5.5e-18.
        let diff = (hi - Float::with_val(256, 0.1f64)).abs().to_f64();
        assert!(diff > 5e-18 && diff < 6e-18, "{diff}");
        assert_eq!(n.to_f64(), 0.1);
    }

    #[test]
    fn f64_round_trip() {
        let x = 1.0f64 / 3.0;
        assert_eq!(Num::from_f64(x).unwrap().to_f64(), x);
        assert!(Num::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn from_f64_is_exact_at_any_precision() {
        for x in [0.1f64, -1.0 / 3.0, 1e-300, 12345.678, -2.5, 0.0, 3.0e20] {
            let n = Num::from_f64(x).unwrap();
            assert_eq!(n.to_f64(), x);
            // exactly the binary64 value, even at 2000 bits
            assert_eq!(n.to_mp(2000), Float::with_val(2000, x), "{x}: {}", n.as_str());
        }
        assert_eq!(Num::from_f64(0.5).unwrap().as_str(), "0.5");
        assert_eq!(Num::from_f64(-3.0).unwrap().as_str(), "-3.0");
    }

    #[test]
    fn rational_value_is_the_decimal_text() {
        let q = |t: &str| Num::parse(t).unwrap().to_rational().unwrap();
        assert_eq!(q("0.1"), rug::Rational::from((1, 10)));
        assert_eq!(q("-2.5e-3"), rug::Rational::from((-1, 400)));
        assert_eq!(q("12e2"), rug::Rational::from(1200));
        assert_eq!(q("+.5"), rug::Rational::from((1, 2)));
        assert_eq!(q("7"), rug::Rational::from(7));
        assert!(Num::parse("1e-200000").unwrap().to_rational().is_err());
    }
}
