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
//!
//! The factors also absorb the sampler's own variance error, which depends on its kind
//! and step count, so a card holds one table per (kind, steps) fitted, and sampling uses
//! [`table_for`]: the same kind (else Euler–Maruyama's) at the nearest step count. A
//! model conditioned on ν (the subgrid Π model) can hold one table per ν of its
//! calibration set ([`table_at`]: the nearest ν in ratio): its generated variance is off
//! by different amounts at different viscosities.

use serde::{Deserialize, Serialize};

use super::calibration::ensemble_mean;
use super::sampler::Sampler;
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
    /// Sampler kind it was fitted with (cards older than this field: Euler–Maruyama).
    #[serde(default)]
    pub sampler: Sampler,
    /// Sampler steps it was fitted at (older cards: unknown). A table carries the
    /// sampler's variance error at its step count, so draws at other step counts are
    /// off by what README "Measured numbers", "Step counts" reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// The viscosity of the states it was fitted on, for a model conditioned on ν (the
    /// subgrid Π model: one table per ν of its calibration set, the nearest applies);
    /// none: fitted over whatever the states were, applied at every ν.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nu: Option<f64>,
}

/// The table sampling with `sampler` at `steps` applies: among the tables of that kind
/// (none: Euler–Maruyama's), the one fitted at the step count nearest in ratio; a table
/// of unknown step count is taken as exact.
pub fn table_for(tables: &[Inflation], sampler: Sampler, steps: usize) -> Option<&Inflation> {
    table_at(tables, sampler, steps, None)
}

/// [`table_for`] for a draw at viscosity `nu`: among the tables of the nearest step
/// count, the one fitted at the ν nearest in ratio (a table without a ν is as near as
/// any; without `nu`, the first).
pub fn table_at(
    tables: &[Inflation],
    sampler: Sampler,
    steps: usize,
    nu: Option<f64>,
) -> Option<&Inflation> {
    let of = |kind: Sampler| tables.iter().filter(move |t| t.sampler == kind);
    let kind = if of(sampler).next().is_some() {
        sampler
    } else {
        Sampler::EulerMaruyama
    };
    let ratio = |a: f64, b: f64| {
        (a.max(f64::MIN_POSITIVE) / b.max(f64::MIN_POSITIVE))
            .ln()
            .abs()
    };
    let distance = |t: &Inflation| {
        let by_steps = t
            .steps
            .map_or(0.0, |k| ratio(steps.max(1) as f64, k.max(1) as f64));
        let by_nu = match (nu, t.nu) {
            (Some(a), Some(b)) => ratio(a, b),
            _ => 0.0,
        };
        (by_steps, by_nu)
    };
    of(kind).min_by(|a, b| {
        let (a, b) = (distance(a), distance(b));
        a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
    })
}

/// How a model's tables cover a sampler at a step count (what the app flags).
#[derive(Clone, Debug, PartialEq)]
pub enum Coverage {
    /// A table of this kind at this step count (or one of unknown step count).
    Fitted,
    /// Tables of this kind exist at other step counts; the nearest (`used`) applies.
    NearestSteps { used: usize, fitted: Vec<usize> },
    /// No table of this kind: `kind`'s table (at `steps`, if known) is borrowed.
    Borrowed { kind: Sampler, steps: Option<usize> },
    /// No tables at all: the ensemble is used as drawn.
    None,
}

/// How `tables` cover `sampler` at `steps`.
pub fn coverage(tables: &[Inflation], sampler: Sampler, steps: usize) -> Coverage {
    let Some(t) = table_for(tables, sampler, steps) else {
        return Coverage::None;
    };
    match (t.sampler == sampler, t.steps) {
        (true, None) => Coverage::Fitted,
        (true, Some(k)) if k == steps => Coverage::Fitted,
        (true, Some(k)) => Coverage::NearestSteps {
            used: k,
            fitted: fitted_steps(tables, sampler),
        },
        (false, k) => Coverage::Borrowed {
            kind: t.sampler,
            steps: k,
        },
    }
}

/// Step counts with a table of `sampler`'s own kind, ascending.
pub fn fitted_steps(tables: &[Inflation], sampler: Sampler) -> Vec<usize> {
    let mut v: Vec<usize> = tables
        .iter()
        .filter(|t| t.sampler == sampler)
        .filter_map(|t| t.steps)
        .collect();
    v.sort_unstable();
    v
}

/// Put `table` into `tables`, replacing those of the same kind and step count; kept sorted.
pub fn insert_table(tables: &mut Vec<Inflation>, table: Inflation) {
    insert_tables(tables, vec![table]);
}

/// Put `new` (one table, or one per ν, of one kind and step count) into `tables`,
/// replacing every table of that kind and step count; kept sorted (by ν within one).
pub fn insert_tables(tables: &mut Vec<Inflation>, new: Vec<Inflation>) {
    tables.retain(|t| {
        !new.iter()
            .any(|n| (t.sampler, t.steps) == (n.sampler, n.steps))
    });
    tables.extend(new);
    tables.sort_by(|a, b| {
        let key = |t: &Inflation| (t.sampler != Sampler::EulerMaruyama, t.steps);
        key(a)
            .cmp(&key(b))
            .then(a.nu.unwrap_or(0.0).total_cmp(&b.nu.unwrap_or(0.0)))
    });
}

/// A card's tables: a list, or one object as cards before per-sampler tables wrote it.
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Inflation>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tables {
        Many(Vec<Inflation>),
        One(Inflation),
    }
    Ok(match Option::<Tables>::deserialize(d)? {
        None => Vec::new(),
        Some(Tables::Many(v)) => v,
        Some(Tables::One(t)) => vec![t],
    })
}

/// The factor of one shell from its summed error and spread spectra (1 where either is
/// empty: nothing to measure).
pub(crate) fn shell_factor(error: f64, spread: f64, members: usize) -> f64 {
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
    pub fn fit(
        sums: &[(Vec<f64>, Vec<f64>)],
        members: usize,
        sampler: Sampler,
        steps: usize,
        fitted_on: String,
    ) -> Self {
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
        Inflation {
            factor,
            fitted_on,
            sampler,
            steps: Some(steps),
            nu: None,
        }
    }

    /// This table marked as fitted on states of viscosity `nu`.
    pub fn at_nu(mut self, nu: f64) -> Self {
        self.nu = Some(nu);
        self
    }

    /// Kind and step count (and ν), for messages: `heun, 3 steps`.
    pub fn label(&self) -> String {
        let steps = match self.steps {
            Some(k) => format!("{}, {k} steps", self.sampler),
            None => format!("{}, steps unknown", self.sampler),
        };
        match self.nu {
            Some(nu) => format!("{steps}, ν = {nu:.1e}"),
            None => steps,
        }
    }

    /// Check what a card file can get wrong.
    pub fn validate(&self, classes: usize) -> Result<(), String> {
        if self.steps == Some(0) {
            return Err("inflation fitted at 0 steps".into());
        }
        if self.nu.is_some_and(|nu| !(nu.is_finite() && nu > 0.0)) {
            return Err("inflation fitted at a ν that is not a positive number".into());
        }
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
            .map(|s| f.get(grid.shell(s)).copied().unwrap_or(1.0))
            .collect();
        let mean = ensemble_mean(members);
        // members are inflated independently (a transform pair each): spread over the pool
        use rayon::prelude::*;
        members.par_iter_mut().for_each(|m| {
            let dev: Vec<f64> = m.iter().zip(&mean).map(|(a, b)| a - b).collect();
            let mut hat = grid.to_spectral(&dev);
            for (c, k) in hat.iter_mut().zip(&per_coeff) {
                *c *= *k;
            }
            for ((v, d), b) in m.iter_mut().zip(grid.to_physical(&hat)).zip(&mean) {
                *v = b + d;
            }
        });
    }
}
