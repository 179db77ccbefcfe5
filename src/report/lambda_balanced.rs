//! P2 Fig. 2-style figure for λ-balanced linear networks: loss, network function and kernel
//! distance against t for λ ∈ {−2, 0, 2}; theory dashed, simulation as markers.

use super::Curve;
use super::plot::{Figure, SeriesStyle};
use crate::verify::lambda_balanced::Fig2Data;

/// Build the figure from [`Fig2Data`].
pub fn fig2_figure(data: &Fig2Data) -> Figure {
    let curves: Vec<Curve<'_>> = data
        .curves
        .iter()
        .map(|(lambda, theory, sim)| (format!("λ = {lambda}"), theory.as_slice(), sim.as_slice()))
        .collect();
    super::theory_vs_simulation(
        "λ-balanced linear network (3-3-3, P = 10, σ = 0.05): closed form (dashed) vs Tsit45 rtol 1e-10 (markers)"
            .into(),
        [
            ("loss (1/2P)Σ‖W2W1x − y‖²", "loss"),
            ("function ⟨W2W1, Σ̃yx⟩/‖Σ̃yx‖²", "projection on task"),
            ("NTK: kernel distance S(0,t)", "S(0,t)"),
        ],
        &curves,
        SeriesStyle::DashedLine,
    )
}
