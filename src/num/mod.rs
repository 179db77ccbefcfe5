//! Layer 0: scalar plumbing with no domain knowledge.
//!
//! - [`tol`]: named tolerances, each with the reason for its value, and [`tol::Bound`], an error
//!   bound together with the method that produced it.
//! - [`mp`]: helpers around MPFR (`rug`): precision checks, exact parsing of decimal strings,
//!   decimal output with only the correct digits, and two-precision error estimates.
//! - [`ball`]: [`ball::Ball`], mid-rad ball arithmetic over MPFR with rigorous enclosures.
//! - [`ball_exp`]: [`ball_exp::ExpTable`], fast rigorous ball eˣ/expm1/φ₁ at a fixed precision
//!   (precomputed tables, Taylor series with an explicit error bound).
//! - [`decimal`]: [`decimal::Num`], a number kept as the decimal text the user wrote, so that it
//!   can be parsed exactly at any working precision.
//! - [`poly`]: [`poly::Poly`], exact sparse multivariate polynomials over ℚ (and matrices of them),
//!   for the symbolic identity proofs of `verify::prove`.
//! - [`lanczos`]: top eigenpairs of a symmetric operator from its products (Lanczos).
//! - [`mat`]: [`mat::Mat`], small dense matrices over any [`real::Real`] scalar.
//! - [`real`]: [`real::Real`], the operations a closed form needs over f64, MPFR and balls, so
//!   that each formula is written once.

pub mod ball;
pub mod ball_exp;
pub mod ball_f64;
pub mod decimal;
pub mod lanczos;
pub mod mat;
pub mod mp;
pub mod poly;
pub mod real;
pub mod tol;

/// Errors about a list of output times.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// No times were given.
    #[error("no output times given: pass at least one time t ≥ 0 in \"times\"")]
    Empty,
    /// A time is NaN or infinite.
    #[error("time #{index} is not finite ({value}): every time must be a finite number ≥ 0")]
    NonFinite {
        /// Position in the list.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A time is negative.
    #[error("time #{index} is negative ({value}): gradient flow runs forward from t = 0, use t ≥ 0")]
    Negative {
        /// Position in the list.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Times are not sorted.
    #[error(
        "times are not in increasing order at #{index} ({value} after {previous}): sort them \
         (repeated times are allowed)"
    )]
    Unsorted {
        /// Position in the list.
        index: usize,
        /// The value.
        value: f64,
        /// The value before it.
        previous: f64,
    },
}

/// Check that `times` is a non-empty, non-decreasing list of finite times ≥ 0.
///
/// # Errors
/// [`TimeError`] naming the first offending entry.
pub fn check_times(times: &[f64]) -> Result<(), TimeError> {
    if times.is_empty() {
        return Err(TimeError::Empty);
    }
    for (index, &value) in times.iter().enumerate() {
        if !value.is_finite() {
            return Err(TimeError::NonFinite { index, value });
        }
        if value < 0.0 {
            return Err(TimeError::Negative { index, value });
        }
        if index > 0 && value < times[index - 1] {
            return Err(TimeError::Unsorted {
                index,
                value,
                previous: times[index - 1],
            });
        }
    }
    Ok(())
}
