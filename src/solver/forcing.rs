//! Deterministic forcing, constant in time: the published `f(x, y) = A·[sin 2π(x+y) +
//! cos 2π(x+y)]` (A = 0.1) or Kolmogorov forcing `f(x, y) = A·cos(2π k_f y)` of the
//! subgrid (LES) case (docs/science.md §8).

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use super::fft::C64;
use super::grid::Grid;

/// Spatial shape of the deterministic forcing; the amplitude A is `Params::forcing`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForcingShape {
    /// `A·[sin 2π(x+y) + cos 2π(x+y)]` (the published cases).
    #[default]
    Published,
    /// `A·cos(2π k_f y)`: vorticity forcing of a shear flow `u_x ∝ sin(2π k_f y)`.
    Kolmogorov { k_f: u32 },
}

/// The forcing field on the grid (physical layout).
pub fn forcing_field(grid: &Grid, amplitude: f64, shape: ForcingShape) -> Vec<f64> {
    (0..grid.phys_len())
        .map(|idx| {
            let (x, y) = grid.coords(idx);
            match shape {
                ForcingShape::Published => {
                    let a = TAU * (x + y);
                    amplitude * (a.sin() + a.cos())
                }
                ForcingShape::Kolmogorov { k_f } => amplitude * (TAU * k_f as f64 * y).cos(),
            }
        })
        .collect()
}

/// Spectral coefficients of the forcing field.
pub(crate) fn forcing_hat(grid: &Grid, amplitude: f64, shape: ForcingShape) -> Vec<C64> {
    grid.to_spectral(&forcing_field(grid, amplitude, shape))
}
