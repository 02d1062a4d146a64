//! Deterministic forcing `f(x, y) = A·[sin 2π(x+y) + cos 2π(x+y)]`, constant in time
//! (published amplitude A = 0.1).

use std::f64::consts::TAU;

use super::fft::C64;
use super::grid::Grid;

/// The forcing field on the grid (physical layout).
pub fn forcing_field(grid: &Grid, amplitude: f64) -> Vec<f64> {
    (0..grid.phys_len())
        .map(|idx| {
            let (x, y) = grid.coords(idx);
            let a = TAU * (x + y);
            amplitude * (a.sin() + a.cos())
        })
        .collect()
}

/// Spectral coefficients of the forcing field.
pub fn forcing_hat(grid: &Grid, amplitude: f64) -> Vec<C64> {
    grid.to_spectral(&forcing_field(grid, amplitude))
}
