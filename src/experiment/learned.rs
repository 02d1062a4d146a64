//! The learned closure a model run can take: a published-case model (the closure G or H
//! from ω and sensor readings) or a subgrid model (Π from ω̄, conditioned on ν and the
//! fidelity of its data). The worker thread samples either through [`LearnedModel::sample`].

use std::path::Path;

use burn::tensor::Device;

use super::Flow;
use super::config::ExperimentConfig;
use super::worker::WorkerRequest;
use crate::closure::card::AnyCard;
use crate::closure::model::{ClosureError, ClosureModel};
use crate::les::learn::model::{self as les_model, LesKind, LesModel};
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
    /// picker label: the published G and H models, then the subgrid ones.
    pub fn shipped(device: &Device) -> Vec<(&'static str, Result<Self, ClosureError>)> {
        let published = crate::closure::model::EMBEDDED
            .iter()
            .map(|e| (e.label, e.load(device).map(Self::from)));
        let subgrid = shipped::EMBEDDED
            .iter()
            .map(|e| (e.label, shipped::embedded(e, device).map(Self::from)));
        published.chain(subgrid).collect()
    }

    /// What the model's card says whatever its kind (the one `match` over the kinds
    /// that the card answers for).
    pub fn card(&self) -> &dyn AnyCard {
        match self {
            LearnedModel::Published(m) => &m.card,
            LearnedModel::Subgrid(m) => &m.card,
        }
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
            Ok(ClosureModel::load_on(path, device)?.into())
        }
    }

    /// Whether it can draw with [`crate::closure::sampler::Sampler::Flow`].
    pub fn has_flow(&self) -> bool {
        match self {
            LearnedModel::Published(m) => m.has_flow(),
            LearnedModel::Subgrid(m) => m.has_flow(),
        }
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
        match self {
            LearnedModel::Published(_) => Flow::Published,
            LearnedModel::Subgrid(_) => Flow::Kolmogorov,
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
        use super::limits::{FORCING, SIGMA};
        let mut out = Vec::new();
        let off = |a: f64, b: f64| (a - b).abs() > 0.01 * b.abs();
        match self {
            LearnedModel::Published(m) => {
                let (card, inputs) = (&m.card, &m.card.part.inputs);
                if cfg.sigma == 0.0 && SIGMA.default > 0.0 {
                    out.push(format!(
                        "this run has no noise (trained with σ = {:.0e})",
                        SIGMA.default
                    ));
                }
                if cfg.forcing == 0.0 && FORCING.default != 0.0 {
                    out.push(format!(
                        "this run has no forcing (trained with A = {})",
                        FORCING.default
                    ));
                }
                if off(cfg.nu, inputs.nu) {
                    out.push(format!("ν = {:.1e} (trained at {:.1e})", cfg.nu, inputs.nu));
                }
                if card.training.grid != cfg.n {
                    out.push(format!(
                        "grid {1}×{1}: zero-shot (trained on {0}×{0})",
                        card.training.grid, cfg.n
                    ));
                }
                if inputs.density_scale.is_none() && inputs.sensors != cfg.sensors {
                    out.push(format!(
                        "{0}×{0} sensors (trained with {1}×{1} only: spread not calibrated)",
                        cfg.sensors, inputs.sensors
                    ));
                }
            }
            LearnedModel::Subgrid(m) => {
                if let Some((lo, hi)) = m.card.nu_range()
                    && (cfg.nu < lo * 0.999 || cfg.nu > hi * 1.001)
                {
                    out.push(format!(
                        "ν = {:.1e} is outside the trained range {lo:.0e} … {hi:.0e}: the ν \
                         conditioning extrapolates (asked for {}² DNS fidelity)",
                        cfg.nu,
                        m.card.best_fidelity()
                    ));
                }
                if m.card.part.les_n != cfg.n {
                    out.push(format!(
                        "LES grid {1}×{1}: trained on {0}×{0} (Π's law depends on where the \
                         filter cuts; les-eval refuses this)",
                        m.card.part.les_n, cfg.n
                    ));
                }
            }
        }
        out
    }

    /// An ensemble of closure fields for the request's state. A subgrid model is
    /// conditioned on the request's ν and asked for the highest fidelity it was trained on.
    pub fn sample(&mut self, req: &WorkerRequest) -> Result<Vec<Vec<f64>>, String> {
        match self {
            LearnedModel::Published(m) => m.sample(
                &req.grid,
                &req.omega,
                &req.readings,
                &req.sensors,
                req.ensemble,
                req.sampler,
                &req.schedule,
            ),
            LearnedModel::Subgrid(m) => {
                if req.tie != m.drain.as_ref().map(|d| d.1) {
                    let mean = match req.tie {
                        Some(tie) => Some(
                            shipped::shipped(LesKind::Deterministic, m.card.part.les_n, m.device())
                                .map(|d| (d, tie)),
                        ),
                        None => None,
                    }
                    .transpose()
                    .map_err(|e| e.to_string())?;
                    *m = m.clone().tied_to(mean).map_err(|e| e.to_string())?;
                }
                m.sample(
                    &req.grid,
                    &req.omega,
                    req.nu,
                    m.card.best_fidelity(),
                    req.ensemble,
                    req.sampler,
                    &req.schedule,
                )
            }
        }
        .map_err(|e| e.to_string())
    }
}
