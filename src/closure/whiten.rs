//! Spectral whitening of the residual a density-conditioned model generates.
//!
//! What the sensors cannot determine is, in the published cases, almost a stationary
//! Gaussian field whose spectrum falls by orders of magnitude over a few shells. A
//! sampler with 3–10 steps cannot reproduce the variance of every Fourier mode of such a
//! field: its error per mode depends on how the mode's variance compares with the noise
//! levels it visits (docs/science.md §7). So the network generates the residual divided,
//! shell by shell, by its root-mean-square amplitude measured on the training data at
//! that density — a field with about unit variance in every mode, which the samplers
//! handle well — and the sample is coloured back with the same amplitudes, so each
//! mode's sampling error stays relative to its own variance. Amplitudes are floored at
//! 10⁻⁶ of the largest only to keep the division finite.

use serde::{Deserialize, Serialize};

use crate::solver::Grid;

/// Relative floor of an amplitude.
const FLOOR: f64 = 1e-6;

/// Per-density shell amplitudes of the residual (integer shells |k| = 0, 1, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Whitening {
    /// `amplitude[class][shell]`: √(mean |r̂_k|²/N²) over the modes of the shell, on the
    /// grid the amplitudes were measured on.
    pub amplitude: Vec<Vec<f64>>,
    /// That grid N. A smooth field's unnormalised DFT grows like N², so on another grid
    /// M the amplitudes are scaled by M/N.
    #[serde(default = "measured_grid")]
    pub grid: usize,
}

/// The grid of cards written before the field existed (all measured on 64²).
fn measured_grid() -> usize {
    64
}

impl Whitening {
    /// Measure the amplitudes of `classes` classes from (class, residual field N² on
    /// `grid`) pairs.
    pub fn measure(
        grid: &Grid,
        classes: usize,
        fields: impl Iterator<Item = (usize, Vec<f64>)>,
    ) -> Self {
        let shells = grid.shells();
        let nn = (grid.n * grid.n) as f64;
        let mut power = vec![vec![0.0; shells]; classes];
        let mut count = vec![vec![0.0; shells]; classes];
        for (class, f) in fields {
            let hat = grid.to_spectral(&f);
            for (s, c) in hat.iter().enumerate() {
                let (k, w) = (grid.shell(s), grid.half_weight(s));
                power[class][k] += w * c.norm_sqr() / nn;
                count[class][k] += w;
            }
        }
        let amplitude = power
            .iter()
            .zip(&count)
            .map(|(p, c)| {
                p.iter()
                    .zip(c)
                    .map(|(p, c)| if *c > 0.0 { (p / c).sqrt() } else { 0.0 })
                    .collect()
            })
            .collect();
        Whitening {
            amplitude,
            grid: grid.n,
        }
    }

    /// Check what a card file can get wrong.
    pub fn validate(&self, classes: usize) -> Result<(), String> {
        if !(8..=4096).contains(&self.grid) {
            return Err(format!("whitening.grid must be 8…4096, got {}", self.grid));
        }
        if self.amplitude.len() != classes {
            return Err(format!(
                "whitening has {} classes, the model {classes}",
                self.amplitude.len()
            ));
        }
        for a in &self.amplitude {
            let max = a.iter().fold(0.0f64, |m, v| m.max(*v));
            if a.is_empty() || a.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || max <= 0.0 {
                return Err("whitening amplitudes must be finite, ≥ 0 and not all zero".into());
            }
        }
        Ok(())
    }

    /// The floored amplitude of every half-spectrum coefficient of `grid` for `class`
    /// (shells beyond the measured ones take the last measured value).
    fn filter(&self, class: usize, grid: &Grid) -> Vec<f64> {
        let a = &self.amplitude[class];
        let max = a.iter().fold(0.0f64, |m, v| m.max(*v));
        let scale = grid.n as f64 / self.grid.max(1) as f64;
        (0..grid.spec_len())
            .map(|s| {
                let k = grid.shell(s).min(a.len() - 1);
                a[k].max(FLOOR * max) * scale
            })
            .collect()
    }

    fn apply(&self, class: usize, grid: &Grid, field: &[f64], divide: bool) -> Vec<f64> {
        let mut hat = grid.to_spectral(field);
        for (c, a) in hat.iter_mut().zip(self.filter(class, grid)) {
            *c = if divide { *c / a } else { *c * a };
        }
        grid.to_physical(&hat)
    }

    /// Residual → the unit-variance field the network learns.
    pub fn whiten(&self, class: usize, grid: &Grid, field: &[f64]) -> Vec<f64> {
        self.apply(class, grid, field, true)
    }

    /// Generated field → residual.
    pub fn colour(&self, class: usize, grid: &Grid, field: &[f64]) -> Vec<f64> {
        self.apply(class, grid, field, false)
    }
}
