//! The model card: the JSON shipped beside a closure's weights — what the network is,
//! how its inputs are made, how it was trained and scored, and the per-density
//! whitening and spread-inflation tables sampling applies. One [`Card`] for every kind of
//! learned closure; [`Card::validate`] is the one place that checks what a card file can
//! get wrong.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::calibration::EnsembleScores;
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
    #[serde(flatten)]
    pub scores: EnsembleScores,
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

/// What a kind of learned closure adds to the card all of them share: what the network
/// is conditioned on and how its inputs are made, its training facts and the rows its
/// evaluation writes. The published cases' [`PublishedPart`] and the subgrid models'
/// part are the two kinds.
pub trait CardPart: Clone + std::fmt::Debug + Serialize + DeserializeOwned {
    type Training: Clone + std::fmt::Debug + Default + Serialize + DeserializeOwned;
    type Row: Clone + std::fmt::Debug + Serialize + DeserializeOwned;
    /// Conditioning classes of the whitening and inflation tables.
    fn classes(&self) -> usize;
    /// The score network a flow generator distilled from this model copies (none: the
    /// model is no score model).
    fn score_net(&self) -> Option<&ScoreNetConfig>;
    /// Check the part (scales, network and input recipe).
    fn validate(&self) -> Result<(), String>;
    /// Whether an evaluation row measured a flow generator's draws (dropped with the
    /// generator it measured when another is attached).
    fn row_of_flow(_row: &Self::Row) -> bool {
        false
    }
    /// The trained time range of each score sampler, when the card fixes one.
    fn sample_ranges(&self) -> Option<super::model::SampleRanges>;
    /// The grid the model was trained on.
    fn train_grid(card: &Card<Self>) -> usize;
    /// What the model is, in one line (the loaded-models note).
    fn summary(card: &Card<Self>) -> String;
    /// The card's name, inputs and training, in a few lines (the app's "about" window).
    fn training_lines(card: &Card<Self>) -> Vec<String>;
}

/// What every card answers whatever its kind: the view the experiment and the app read
/// (one `match` over the model kinds gives it, [`Card`] of any part implements it).
pub trait AnyCard {
    fn inflation(&self) -> &[Inflation];
    fn sample_ranges(&self) -> Option<super::model::SampleRanges>;
    fn train_grid(&self) -> usize;
    fn summary(&self) -> String;
    /// The part's training lines, then the flow generator's line when there is one.
    fn lines(&self) -> Vec<String>;
}

impl<K: CardPart> AnyCard for Card<K> {
    fn inflation(&self) -> &[Inflation] {
        &self.inflation
    }
    fn sample_ranges(&self) -> Option<super::model::SampleRanges> {
        self.part.sample_ranges()
    }
    fn train_grid(&self) -> usize {
        K::train_grid(self)
    }
    fn summary(&self) -> String {
        K::summary(self)
    }
    fn lines(&self) -> Vec<String> {
        let mut lines = K::training_lines(self);
        lines.extend(self.flow.as_ref().map(FlowPart::describe));
        lines
    }
}

/// The model card shipped beside a learned closure's weights (`PATH.json` beside
/// `PATH.bpk`), for every kind of model: the format, the kind's own part, training facts
/// and evaluation rows, the whitening and spread-inflation tables sampling applies, the
/// distilled generator and the spec that made it. [`Card::validate`] is the one place
/// that checks what a card file can get wrong.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "K: CardPart")]
pub struct Card<K: CardPart> {
    pub format_version: u32,
    pub name: String,
    #[serde(flatten)]
    pub part: K,
    pub training: K::Training,
    #[serde(default)]
    pub eval: Vec<K::Row>,
    /// Shell amplitudes the generated field is coloured with, one set per class
    /// ([`super::whiten`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitening: Option<Whitening>,
    /// Per-class, per-shell factors on the ensemble's deviations from its mean, fitted
    /// on held-out states (`calibrate`, `les-apriori --fit-inflation`;
    /// [`super::inflation`]). One table per sampler kind and step count it was fitted at
    /// (a single object in cards written before there were several: read as one
    /// Euler–Maruyama table).
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

impl<K: CardPart> Card<K> {
    /// Attach a (new) flow generator's part: the inflation tables and evaluation rows of
    /// the generator it replaces describe another network and are dropped — the new one
    /// is uncalibrated until `calibrate` / `les-apriori --fit-inflation` fits its own.
    pub fn attach_flow(&mut self, part: FlowPart) {
        self.inflation.retain(|f| f.sampler != Sampler::Flow);
        self.eval.retain(|r| !K::row_of_flow(r));
        self.flow = Some(part);
    }

    /// A card of `part` with nothing measured yet.
    pub fn new(name: String, part: K, training: K::Training) -> Self {
        Card {
            format_version: CARD_FORMAT,
            name,
            part,
            training,
            eval: Vec::new(),
            whitening: None,
            inflation: Vec::new(),
            flow: None,
            spec: None,
        }
    }

    /// A card from its JSON, checked.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let card: Self = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        card.validate()?;
        Ok(card)
    }

    /// Check what a card file can get wrong: the format, the kind's part, and tables
    /// whose class count must agree with the network's.
    pub fn validate(&self) -> Result<(), String> {
        if self.format_version != CARD_FORMAT {
            return Err(format!(
                "format version {} is not supported (this build reads {CARD_FORMAT})",
                self.format_version
            ));
        }
        self.part.validate()?;
        let classes = self.part.classes();
        if let Some(w) = &self.whitening {
            w.validate(classes)?;
        }
        if let Some(f) = &self.flow {
            f.net.validate().map_err(|e| format!("flow.{e}"))?;
            let Some(net) = self.part.score_net() else {
                return Err("a flow generator needs a score model to be distilled from".into());
            };
            if f.net.densities != net.densities || f.net.conditions != net.conditions {
                return Err(
                    "flow.net must be conditioned on the same densities and settings as net".into(),
                );
            }
        }
        for (i, f) in self.inflation.iter().enumerate() {
            f.validate(classes)
                .map_err(|e| format!("inflation table {i} ({}): {e}", f.label()))?;
            // one table per kind and step count, or one per ν of them (never both)
            if self.inflation[..i].iter().any(|g| {
                (g.sampler, g.steps) == (f.sampler, f.steps)
                    && (g.nu.is_none() || f.nu.is_none() || g.nu == f.nu)
            }) {
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

    /// Write the card beside `weights` (checked; atomically) and say where.
    pub(crate) fn write_beside(&self, weights: &Path) -> Result<PathBuf, String> {
        self.validate()?;
        let path = weights.with_extension("json");
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        crate::atomic::write_bytes(&path, &json)
            .map_err(|e| format!("cannot write {} ({e})", path.display()))?;
        Ok(path)
    }

    /// Write the card beside `weights` with `table` in place of the table of its
    /// sampler kind and steps (the others kept).
    pub(crate) fn write_with_inflation(
        &self,
        weights: &Path,
        table: Inflation,
    ) -> Result<PathBuf, String> {
        self.write_with_inflations(weights, vec![table])
    }

    /// [`Self::write_with_inflation`] of several tables of one kind and step count (one
    /// per ν), replacing every table of that kind and step count.
    pub(crate) fn write_with_inflations(
        &self,
        weights: &Path,
        tables: Vec<Inflation>,
    ) -> Result<PathBuf, String> {
        let mut card = self.clone();
        super::inflation::insert_tables(&mut card.inflation, tables);
        card.write_beside(weights)
    }
}

/// The published cases' part of a card: the input recipe (sensors, target, density
/// scales) and the score network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishedPart {
    pub inputs: InputSpec,
    pub net: ScoreNetConfig,
    pub crate_version: String,
    /// Free-text description of the recipe.
    #[serde(default)]
    pub note: String,
}

impl PublishedPart {
    /// Density classes the network is conditioned on (0: trained at one density).
    pub(crate) fn density_classes(&self) -> usize {
        if self.inputs.density_scale.is_some() {
            DENSITIES.len()
        } else {
            0
        }
    }
}

impl CardPart for PublishedPart {
    type Training = TrainingInfo;
    type Row = EvalRow;

    fn row_of_flow(row: &EvalRow) -> bool {
        row.sampler.starts_with("flow")
    }

    fn classes(&self) -> usize {
        self.density_classes()
    }

    fn score_net(&self) -> Option<&ScoreNetConfig> {
        Some(&self.net)
    }

    fn sample_ranges(&self) -> Option<super::model::SampleRanges> {
        self.inputs.t_range
    }

    fn train_grid(card: &Card<Self>) -> usize {
        card.training.grid
    }

    fn summary(card: &Card<Self>) -> String {
        format!("{} (trained on {}²)", card.name, card.training.grid)
    }

    fn training_lines(card: &Card<Self>) -> Vec<String> {
        let t = &card.training;
        let mut lines = vec![
            card.name.clone(),
            format!("inputs: {:?}", card.part.inputs),
            format!(
                "training: {} samples at {}², {} epochs, validation D_Fro {:.4}",
                t.samples, t.grid, t.epochs, t.final_val_d_fro
            ),
        ];
        if card.inflation.is_empty() {
            lines.push("spread inflation: none (the ensemble as drawn)".into());
        }
        for t in &card.inflation {
            lines.push(format!("spread inflation: {}", t.fitted_on));
        }
        lines
    }

    fn validate(&self) -> Result<(), String> {
        self.net.validate()?;
        self.inputs.validate()?;
        let classes = self.density_classes();
        if self.net.densities.unwrap_or(0) != classes {
            return Err(format!(
                "net.densities is {} but inputs.density_scale implies {classes}",
                self.net.densities.unwrap_or(0)
            ));
        }
        Ok(())
    }
}

/// A published-case model's card.
pub type ModelCard = Card<PublishedPart>;

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
            .and_then(|r| r.scores.spread_skill)
    }
}
