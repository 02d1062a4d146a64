//! Per-shell spread inflation of a model's ensemble, fitted on held-out data.
//!
//! A diffusion model trained across sensor densities can generate, in a few shells, less
//! (or more) variance than its error has — the H model at 16×16 sensors makes about two
//! thirds of the needed variance in shells 8–9, at the sensors' Nyquist wavenumber, where
//! most of the residual sits. The whitening ([`super::whiten`]) fixes the *target's*
//! spectrum but not what the sampler makes of it there. So after training, `closure-lab
//! calibrate` samples the model on trajectories it was not trained on (the training
//! file's validation trajectories, never the test seeds), and measures per density and
//! shell k the summed error spectrum E_k of the ensemble mean and the summed (unbiased)
//! spread spectrum S_k of the members. With M members, E_k ≈ σ²_k + S_k/M for the true
//! residual variance σ²_k, so the factor that makes the members' deviations carry σ²_k is
//!
//! c_k = √(E_k/S_k − 1/M),
//!
//! clamped to [1/4, 4]. Sampling multiplies each member's deviation from the ensemble
//! mean by c_k in Fourier space: the ensemble mean is unchanged, so the skill is too. An
//! ensemble of one has no mean to inflate about and is left as drawn.

use serde::{Deserialize, Serialize};

use super::calibration::ensemble_mean;
use super::whiten::shell;
use crate::solver::Grid;

/// Bounds of a factor.
const MIN_FACTOR: f64 = 0.25;
const MAX_FACTOR: f64 = 4.0;

/// Per-density, per-shell factors on the ensemble's deviations from its mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inflation {
    /// `factor[class][shell]` (integer shells |k| = 0, 1, …; shells beyond the table: 1)
    pub factor: Vec<Vec<f64>>,
    /// How it was fitted (sampler, data, states, members), for the card's reader.
    #[serde(default)]
    pub fitted_on: String,
}

/// The factor of one shell from its summed error and spread spectra (1 where either is
/// empty: nothing to measure).
pub fn shell_factor(error: f64, spread: f64, members: usize) -> f64 {
    if !(error > 0.0 && spread > 0.0) || members < 2 {
        return 1.0;
    }
    let v = error / spread - 1.0 / members as f64;
    v.max(0.0).sqrt().clamp(MIN_FACTOR, MAX_FACTOR)
}

impl Inflation {
    /// Factors from the summed (spread, error) shell spectra of each class
    /// ([`super::calibration::deviation_spectra`] summed over states) of ensembles of
    /// `members`.
    pub fn fit(sums: &[(Vec<f64>, Vec<f64>)], members: usize, fitted_on: String) -> Self {
        let factor = sums
            .iter()
            .map(|(spread, error)| {
                spread
                    .iter()
                    .zip(error)
                    .map(|(s, e)| shell_factor(*e, *s, members))
                    .collect()
            })
            .collect();
        Inflation { factor, fitted_on }
    }

    /// Check what a card file can get wrong.
    pub fn validate(&self, classes: usize) -> Result<(), String> {
        if self.factor.len() != classes {
            return Err(format!(
                "inflation has {} classes, the model {classes}",
                self.factor.len()
            ));
        }
        let ok = |v: &f64| (MIN_FACTOR..=MAX_FACTOR).contains(v);
        if self
            .factor
            .iter()
            .any(|f| f.is_empty() || !f.iter().all(ok))
        {
            return Err(format!(
                "inflation factors must be {MIN_FACTOR}…{MAX_FACTOR}, at least one per class"
            ));
        }
        Ok(())
    }

    /// Multiply each member's deviation from the ensemble mean by the factor of its shell
    /// (fewer than two members: unchanged).
    pub fn apply(&self, class: usize, grid: &Grid, members: &mut [Vec<f64>]) {
        if members.len() < 2 {
            return;
        }
        let f = &self.factor[class];
        let per_coeff: Vec<f64> = (0..grid.spec_len())
            .map(|s| f.get(shell(grid, s)).copied().unwrap_or(1.0))
            .collect();
        let mean = ensemble_mean(members);
        for m in members.iter_mut() {
            let dev: Vec<f64> = m.iter().zip(&mean).map(|(a, b)| a - b).collect();
            let mut hat = grid.to_spectral(&dev);
            for (c, k) in hat.iter_mut().zip(&per_coeff) {
                *c *= *k;
            }
            for ((v, d), b) in m.iter_mut().zip(grid.to_physical(&hat)).zip(&mean) {
                *v = b + d;
            }
        }
    }
}
