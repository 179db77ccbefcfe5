//! Layer 3: observables of states and trajectories (pure functions, f64).
//!
//! - [`single_neuron`]: μ, φ, the kernel distance S(0,t) and the loss of the single neuron.
//! - [`lambda_balanced`]: NTK (Kronecker form), kernel distance and loss of two-layer linear networks.
//! - [`piecewise_linear`]: test loss, kernel distances (η-weighted NTK and ΦΦᵀ), Hamming and
//!   parameter distances of two-layer ReLU/leaky networks.

pub mod enclosed;
pub mod lambda_balanced;
pub mod piecewise_linear;
pub mod single_neuron;

/// max_i |x_i − y_i|.
pub fn max_abs_diff(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// max_i |x_i|.
pub fn max_abs(x: &[f64]) -> f64 {
    x.iter().map(|a| a.abs()).fold(0.0, f64::max)
}
