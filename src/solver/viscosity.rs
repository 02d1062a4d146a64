//! Viscous term νΔω and the treatment of the mean (k = 0) mode.

use super::grid::Grid;

/// How the mean mode is treated. On the torus the mean vorticity is conserved by the
/// equations; the published code deviates in two ways (see docs/science.md §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convention {
    /// As published: the viscous factor uses |k|² = 1 at k = 0 (the mean is damped at
    /// rate ν·1), and the stochastic forcing also drives k = 0 (the mean random-walks).
    #[default]
    Published,
    /// Physical: no viscosity and no noise on the mean mode; the mean stays exactly at its
    /// initial value.
    ZeroMean,
}

/// The Laplacian symbol `4π²|k|²` the viscous term uses, with the mean entry `1`
/// (published) or `0` (zero-mean convention).
pub(crate) fn laplacian_symbol(grid: &Grid, convention: Convention) -> Vec<f64> {
    let mut v = grid.lap.clone();
    if convention == Convention::ZeroMean {
        v[0] = 0.0;
    }
    v
}

/// Viscous symbol `ν·4π²|k|²` per spectral index (so `νΔω ↔ −visc[k]·ω̂_k`), with the mean
/// entry as in [`laplacian_symbol`].
pub(crate) fn viscous_symbol(grid: &Grid, nu: f64, convention: Convention) -> Vec<f64> {
    laplacian_symbol(grid, convention)
        .into_iter()
        .map(|l| nu * l)
        .collect()
}
