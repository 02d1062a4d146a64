//! The model card: the JSON shipped beside a closure's weights — what the network is,
//! how its inputs are made, how it was trained and scored, and the per-density
//! whitening and spread-inflation tables sampling applies. [`ModelCard::validate`] is the
//! one place that checks what a card file can get wrong.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::flow::FlowPart;
use super::inflation::Inflation;
use super::model::InputSpec;
use super::sampler::Sampler;
use super::score::ScoreNetConfig;
use super::sensors::DENSITIES;
use super::whiten::Whitening;

/// One row of an evaluation table (also stored in model cards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    pub case: String,
    pub condition: String,
    pub n: usize,
    pub sampler: String,
    pub nfe: usize,
    pub d_fro: f64,
    pub d_spe: f64,
    pub d_max: f64,
    pub d_mse: f64,
    pub ms_per_sample: f64,
    /// What produced the row: a model's label or a baseline's name.
    #[serde(default)]
    pub model: String,
    /// Sensors per side (0: none, ω only).
    #[serde(default)]
    pub sensors: usize,
    /// Members per state.
    #[serde(default)]
    pub ensemble: usize,
    /// D_Fro of the ensemble mean (the skill; `d_fro` is the mean over single members).
    #[serde(default)]
    pub d_fro_mean: f64,
    /// Ensemble spread on the D_Fro scale (docs/science.md §7; null for one member).
    #[serde(default)]
    pub spread: Option<f64>,
    /// spread ÷ d_fro_mean (ideal ≈ 1; null for one member).
    #[serde(default)]
    pub spread_skill: Option<f64>,
    /// Fair CRPS per pixel ÷ mean |truth|.
    #[serde(default)]
    pub crps: f64,
    /// Spread spectrum ÷ error spectrum per integer shell (ensembles only; null where
    /// the error spectrum is empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum_ratio: Vec<Option<f64>>,
    /// Worst |spectrum ratio − 1| over the shells holding ≥ 1 % of the error energy.
    #[serde(default)]
    pub spectrum_worst: Option<f64>,
}

/// Training facts recorded in a model card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub data: String,
    pub grid: usize,
    pub trajectories: usize,
    pub samples: usize,
    pub epochs: usize,
    pub iterations: usize,
    pub batch: usize,
    pub t_eps: f64,
    pub t_max: f64,
    pub wall_s: f64,
    pub final_val_d_fro: f64,
}

/// The model card shipped beside the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub format_version: u32,
    pub name: String,
    pub inputs: InputSpec,
    pub net: ScoreNetConfig,
    pub training: TrainingInfo,
    #[serde(default)]
    pub eval: Vec<EvalRow>,
    pub crate_version: String,
    /// Free-text description of the recipe.
    #[serde(default)]
    pub note: String,
    /// Per-density shell amplitudes the generated residual is coloured with (models
    /// trained across densities; [`super::whiten`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitening: Option<Whitening>,
    /// Per-density, per-shell factors on the ensemble's deviations from its mean, fitted
    /// on held-out trajectories by `closure-lab calibrate` ([`super::inflation`]).
    /// One table per sampler kind and step count it was fitted at (a single object in
    /// cards written before there were several: read as one Euler–Maruyama table).
    #[serde(
        default,
        deserialize_with = "super::inflation::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub inflation: Vec<Inflation>,
    /// A one- or two-step generator distilled from this score model
    /// ([`super::flow`]); its weights are `STEM.flow.bpk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowPart>,
    /// The resolved spec (TOML) of the command that wrote the model (`--print-config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
}

pub const CARD_FORMAT: u32 = 1;

impl ModelCard {
    /// The a-priori spread/skill the card measured for `sampler` at `steps` with `sensors`
    /// per side on the training grid (`None`: no such row).
    pub fn spread_skill(
        &self,
        sensors: usize,
        sampler: super::sampler::Sampler,
        steps: usize,
    ) -> Option<f64> {
        let rule = sampler.to_string();
        self.eval
            .iter()
            .find(|r| {
                r.sensors == sensors
                    && r.n == self.training.grid
                    && r.nfe == sampler.nfe(steps)
                    && r.sampler.split('-').next() == Some(rule.as_str())
            })
            .and_then(|r| r.spread_skill)
    }

    /// Density classes the network is conditioned on (0: trained at one density).
    pub fn density_classes(&self) -> usize {
        if self.inputs.density_scale.is_some() {
            DENSITIES.len()
        } else {
            0
        }
    }

    /// Check what a card file can get wrong: the format, the network and input recipe,
    /// and tables whose class count must agree with the network's.
    pub fn validate(&self) -> Result<(), String> {
        if self.format_version != CARD_FORMAT {
            return Err(format!(
                "format version {} is not supported (this build reads {CARD_FORMAT})",
                self.format_version
            ));
        }
        self.net.validate()?;
        self.inputs.validate()?;
        let classes = self.density_classes();
        if self.net.densities.unwrap_or(0) != classes {
            return Err(format!(
                "net.densities is {} but inputs.density_scale implies {classes}",
                self.net.densities.unwrap_or(0)
            ));
        }
        if let Some(w) = &self.whitening {
            w.validate(classes)?;
        }
        if let Some(f) = &self.flow {
            f.net.validate().map_err(|e| format!("flow.{e}"))?;
            if f.net.densities != self.net.densities || f.net.conditions != self.net.conditions {
                return Err(
                    "flow.net must be conditioned on the same densities and settings as net".into(),
                );
            }
        }
        for (i, f) in self.inflation.iter().enumerate() {
            f.validate(classes)
                .map_err(|e| format!("inflation table {i} ({}): {e}", f.label()))?;
            if self.inflation[..i]
                .iter()
                .any(|g| (g.sampler, g.steps) == (f.sampler, f.steps))
            {
                return Err(format!(
                    "inflation table {i}: a second table for {}",
                    f.label()
                ));
            }
        }
        Ok(())
    }

    /// The spread-inflation table sampling with `sampler` at `steps` applies
    /// ([`super::inflation::table_for`]).
    pub fn inflation_for(&self, sampler: Sampler, steps: usize) -> Option<&Inflation> {
        super::inflation::table_for(&self.inflation, sampler, steps)
    }
}

/// A model card as a file: JSON beside its weights (`PATH.json` for `PATH.bpk`). The
/// published cases' [`ModelCard`] and the subgrid models' card alike; what the commands
/// that fit or score a model write back goes through here.
pub trait CardFile: Serialize + Clone {
    /// Check what a card can get wrong (every write checks first).
    fn check(&self) -> Result<(), String>;

    /// The card's spread-inflation tables (one per sampler kind and step count).
    fn inflation_tables(&mut self) -> &mut Vec<Inflation>;

    /// Write the card beside `weights` (checked; atomically) and say where.
    fn write_beside(&self, weights: &Path) -> Result<PathBuf, String> {
        self.check()?;
        let path = weights.with_extension("json");
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        crate::atomic::write_bytes(&path, &json)
            .map_err(|e| format!("cannot write {} ({e})", path.display()))?;
        Ok(path)
    }

    /// Write the card beside `weights` with `table` in place of the table of its
    /// sampler kind and steps (the others kept).
    fn write_with_inflation(&self, weights: &Path, table: Inflation) -> Result<PathBuf, String> {
        let mut card = self.clone();
        super::inflation::insert_table(card.inflation_tables(), table);
        card.write_beside(weights)
    }
}

impl CardFile for ModelCard {
    fn check(&self) -> Result<(), String> {
        self.validate()
    }

    fn inflation_tables(&mut self) -> &mut Vec<Inflation> {
        &mut self.inflation
    }
}
