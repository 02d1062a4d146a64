//! The learned closure a model run can take: a published-case model (the closure G or H
//! from ω and sensor readings) or a subgrid model (Π from ω̄, conditioned on ν and the
//! fidelity of its data). The worker thread samples either through [`LearnedModel::sample`].

use std::path::Path;

use burn::tensor::Device;

use super::Flow;
use super::config::ExperimentConfig;
use super::worker::WorkerRequest;
use crate::closure::card::AnyCard;
use crate::closure::model::{AnyModel, ClosureError, ClosureModel};
use crate::les::learn::model::{self as les_model, LesModel};
use crate::les::learn::shipped;

#[derive(Clone)]
pub enum LearnedModel {
    Published(ClosureModel),
    Subgrid(LesModel),
}

impl From<ClosureModel> for LearnedModel {
    fn from(m: ClosureModel) -> Self {
        LearnedModel::Published(m)
    }
}

impl From<LesModel> for LearnedModel {
    fn from(m: LesModel) -> Self {
        LearnedModel::Subgrid(m)
    }
}

impl LearnedModel {
    /// The shipped model for a run of `cfg`: the case's model in the published flow,
    /// the stochastic subgrid model of the run's LES grid in the subgrid one (the 64²
    /// one, flagged out of its training data, when none was trained on that grid).
    pub fn embedded(cfg: &ExperimentConfig, device: &Device) -> Result<Self, ClosureError> {
        cfg.flow.def().shipped_model(cfg, device)
    }

    /// Every model compiled into the binary, decoded on `device` (or why not), with its
    /// id and picker label: the published G and H models, then the subgrid ones.
    pub fn shipped(device: &Device) -> Vec<(Shipped, Result<Self, ClosureError>)> {
        let published = crate::closure::model::EMBEDDED
            .iter()
            .map(|e| (Shipped::of(e), e.load(device).map(Self::from)));
        let subgrid = shipped::EMBEDDED
            .iter()
            .map(|e| (Shipped::of(e), e.load(device).map(Self::from)));
        published.chain(subgrid).collect()
    }

    /// The model as the experiment sees it (the one `match` over the kinds; each kind
    /// answers in its flow's file, experiment/flow/).
    fn closer(&self) -> &dyn Closer {
        match self {
            LearnedModel::Published(m) => m,
            LearnedModel::Subgrid(m) => m,
        }
    }

    fn closer_mut(&mut self) -> &mut dyn Closer {
        match self {
            LearnedModel::Published(m) => m,
            LearnedModel::Subgrid(m) => m,
        }
    }

    /// What the model's card says whatever its kind.
    pub fn card(&self) -> &dyn AnyCard {
        self.closer().card()
    }

    /// What the model is, in one line (the loaded-models note).
    pub fn summary(&self) -> String {
        self.card().summary()
    }

    /// A model file of either kind: a subgrid model's `.bpk` (told by its card), else a
    /// published-case `.bpk` or PyTorch `.pth`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ClosureError> {
        if les_model::is_les_card(path) {
            Ok(LesModel::load(path, device)?.into())
        } else {
            Ok(ClosureModel::load(path, device)?.into())
        }
    }

    /// Whether it can draw with [`crate::closure::sampler::Sampler::Flow`].
    pub fn has_flow(&self) -> bool {
        self.closer().has_flow()
    }

    /// The published case the model closes (none: a subgrid model).
    pub fn case(&self) -> Option<crate::solver::Case> {
        self.published().map(|m| m.card.part.inputs.case)
    }

    /// The published-case model, when it is one (for its card).
    pub fn published(&self) -> Option<&ClosureModel> {
        match self {
            LearnedModel::Published(m) => Some(m),
            LearnedModel::Subgrid(_) => None,
        }
    }

    /// What the model's card says, in a few lines (the app's "about" window).
    pub fn card_lines(&self) -> Vec<String> {
        self.card().lines()
    }

    /// The flow the model closes.
    pub fn flow(&self) -> Flow {
        self.closer().flow()
    }

    /// Whether the model may close a run of `cfg`: it closes the run's flow and, for a
    /// published-case model, the run's case (the one rule the CLI, the experiment and
    /// the app's pickers follow; the error says why not).
    pub fn closes(&self, cfg: &ExperimentConfig) -> Result<(), String> {
        if self.flow() != cfg.flow {
            return Err(format!(
                "the model closes the {} flow, the run is {}",
                self.flow(),
                cfg.flow
            ));
        }
        match self.case() {
            Some(case) if case != cfg.case => Err(format!(
                "the model is for case {case}, the run needs {}",
                cfg.case
            )),
            _ => Ok(()),
        }
    }

    /// The grid the model was trained on (subgrid models: the LES grid of the data).
    pub fn train_grid(&self) -> usize {
        self.card().train_grid()
    }

    /// The model's spread-inflation tables (either kind of card).
    pub fn inflation(&self) -> &[crate::closure::inflation::Inflation] {
        self.card().inflation()
    }

    /// How the model's inflation tables cover `sampler` at `steps` (what the window
    /// flags: a table of its own, the nearest step count, a borrowed one, none).
    pub fn coverage(
        &self,
        sampler: crate::closure::sampler::Sampler,
        steps: usize,
    ) -> crate::closure::inflation::Coverage {
        crate::closure::inflation::coverage(self.inflation(), sampler, steps)
    }

    /// The spread/skill the model's card measured a priori for a run of `cfg` (its
    /// sensor density, sampler and step count), where the card holds that row.
    pub(crate) fn card_spread_skill(&self, cfg: &ExperimentConfig) -> Option<f64> {
        self.closer().card_spread_skill(cfg)
    }

    /// The sampling range `[t_max, t_min]` the model fixes for `sampler` (`None`: the
    /// run's start time T applies).
    pub(crate) fn sample_range(
        &self,
        sampler: crate::closure::sampler::Sampler,
    ) -> Option<[f64; 2]> {
        self.card()
            .sample_ranges()
            .and_then(|r| r.for_sampler(sampler))
    }

    /// Where a run of `cfg` lies outside what the model was trained on, each as one
    /// phrase (empty: inside). The published models learned from the forced, noisy flow
    /// at one ν on their training grid (at every sensor density, or one); subgrid models
    /// from the ν values of their data files.
    pub fn out_of_distribution(&self, cfg: &ExperimentConfig) -> Vec<String> {
        self.closer().out_of_distribution(cfg)
    }

    /// An ensemble of closure fields for the request's state. A subgrid model is
    /// conditioned on the request's ν and asked for the highest fidelity it was trained on.
    pub fn sample(&mut self, req: &WorkerRequest) -> Result<Vec<Vec<f64>>, String> {
        self.closer_mut().sample(req).map_err(|e| e.to_string())
    }
}

/// A model compiled into the binary, as settings and pickers name it: its id (stored,
/// stable) and its label (shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shipped {
    pub id: &'static str,
    pub label: &'static str,
}

impl Shipped {
    fn of<K: crate::closure::model::Kind>(e: &crate::closure::model::Embedded<K>) -> Self {
        Shipped {
            id: e.id,
            label: e.label,
        }
    }

    /// Every shipped model, in the order of [`LearnedModel::shipped`] (nothing decoded).
    pub fn all() -> Vec<Shipped> {
        Shipped::iter().collect()
    }

    fn iter() -> impl Iterator<Item = Shipped> {
        let published = crate::closure::model::EMBEDDED.iter().map(Shipped::of);
        published.chain(shipped::EMBEDDED.iter().map(Shipped::of))
    }

    /// The shipped model named by its id, or by its label (what earlier releases
    /// stored).
    pub fn find(name: &str) -> Option<Shipped> {
        Shipped::iter().find(|s| s.id == name || s.label == name)
    }
}

/// What an experiment asks of a learned closure, whatever its kind: each kind answers
/// in the file of the flow it closes (experiment/flow/).
pub(crate) trait Closer: AnyModel {
    /// The flow it closes.
    fn flow(&self) -> Flow;
    /// Where a run of `cfg` lies outside what the model was trained on, each as one
    /// phrase (empty: inside).
    fn out_of_distribution(&self, cfg: &ExperimentConfig) -> Vec<String>;
    /// The card's a-priori spread/skill for a run of `cfg` (None: no such row).
    fn card_spread_skill(&self, _cfg: &ExperimentConfig) -> Option<f64> {
        None
    }
    /// An ensemble of closure fields for the request's state.
    fn sample(&mut self, req: &WorkerRequest) -> Result<Vec<Vec<f64>>, ClosureError>;
}
