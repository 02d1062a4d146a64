//! A learned subgrid closure ready to use: its card (what it is, how its inputs and
//! outputs are scaled, how it was trained) and its network, which is either the
//! conditional score model (stochastic) or a [`Regressor`] (deterministic, mean + noise).

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::drain::MeanTie;
use super::regressor::{Regressor, RegressorConfig, mean_and_std};
use super::{Draw, Labels};
use crate::closure::card::{Card, CardPart};
use crate::closure::draw;
use crate::closure::model::{ClosureError, Kind, Model, NetInputs, SampleRanges};
use crate::closure::sampler::Sampler;
use crate::closure::score::{ScoreNet, ScoreNetConfig};
use crate::closure::sde::Schedule;
use crate::closure::weights::{check_finite, module_bytes, module_from_bytes};

pub use super::LesKind;

/// Facts of a finished training run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LesTrainingInfo {
    /// Per data file: path, ν, DNS grid, trajectories used.
    pub files: Vec<(String, f64, usize, usize)>,
    pub samples: usize,
    pub epochs: usize,
    pub iterations: usize,
    pub wall_s: f64,
    /// Loss on the held-out trajectories after each epoch.
    pub val_loss: Vec<f64>,
}

/// The subgrid models' part of a card ([`crate::closure::card::Card`]): the kind, the
/// labels the network is conditioned on (ν, fidelity), the scales of ω̄ and Π, the
/// network and the LES grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubgridPart {
    pub kind: LesKind,
    pub labels: Labels,
    /// ω̄ is divided by this before it enters the network.
    pub omega_scale: f64,
    /// Regressors predict Π / pi_scale.
    pub pi_scale: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScoreNetConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regressor: Option<RegressorConfig>,
    /// Sampling ranges of the score model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_range: Option<SampleRanges>,
    /// The score model generates Π minus the mean of a deterministic model (stored
    /// beside this one as `PATH.mean.bpk`): the mean carries the part of Π that ω̄
    /// determines, the diffusion model the rest.
    #[serde(default)]
    pub residual: bool,
    /// The LES grid the model was trained on (cards before this field: 64², the only
    /// grid there was).
    #[serde(default = "default_les_n")]
    pub les_n: usize,
}

fn default_les_n() -> usize {
    64
}

impl CardPart for SubgridPart {
    type Training = LesTrainingInfo;
    /// Rows of the a-priori evaluation (`les-apriori --write-cards`).
    type Row = super::apriori::AprioriRow;

    fn sample_ranges(&self) -> Option<SampleRanges> {
        self.t_range
    }

    fn train_grid(card: &Card<Self>) -> usize {
        card.part.les_n
    }

    fn summary(card: &Card<Self>) -> String {
        format!(
            "subgrid {}² LES, {} (ν {}, fidelity {}²)",
            card.part.les_n,
            card.name,
            card.nu_range()
                .map_or("?".into(), |(lo, hi)| format!("{lo:.0e}…{hi:.0e}")),
            card.best_fidelity()
        )
    }

    fn training_lines(card: &Card<Self>) -> Vec<String> {
        let (t, part) = (&card.training, &card.part);
        let files: Vec<String> = t
            .files
            .iter()
            .map(|f| format!("ν {:.1e} at {}² × {}", f.1, f.2, f.3))
            .collect();
        vec![
            format!(
                "{} subgrid closure of Π given ω̄ ({}²), conditioned on ν and on the DNS \
                 fidelity ({} code)",
                part.kind, part.les_n, part.labels.fidelity
            ),
            format!(
                "training: {} samples ({}), {} epochs, {:.0} s",
                t.samples,
                files.join(", "),
                t.epochs,
                t.wall_s
            ),
        ]
    }

    /// The whitening and inflation tables have one class (ν and fidelity are labels).
    fn classes(&self) -> usize {
        1
    }

    fn score_net(&self) -> Option<&ScoreNetConfig> {
        self.score.as_ref()
    }

    /// Scales and sampling ranges (the networks are checked when they are built).
    fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("omega_scale", self.omega_scale),
            ("pi_scale", self.pi_scale),
        ] {
            if !(v.is_finite() && (1e-30..=1e30).contains(&v)) {
                return Err(format!(
                    "{name} must be a positive number in 1e-30…1e30, got {v}"
                ));
            }
        }
        if let Some(r) = &self.t_range {
            r.validate()?;
        }
        Ok(())
    }
}

/// The card beside a learned subgrid closure's weights.
pub type LesCard = Card<SubgridPart>;

/// The network of a learned subgrid closure.
#[derive(Clone, Debug)]
pub enum LesNet {
    Score(ScoreNet),
    Regressor(Regressor),
}

impl LesNet {
    /// Full-precision weight bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, ClosureError> {
        match self {
            LesNet::Score(n) => module_bytes(n),
            LesNet::Regressor(n) => module_bytes(n),
        }
    }

    /// The same architecture with the weights in `bytes`.
    pub(crate) fn with_bytes(self, bytes: &[u8]) -> Result<Self, ClosureError> {
        Ok(match self {
            LesNet::Score(n) => LesNet::Score(module_from_bytes(n, bytes)?),
            LesNet::Regressor(n) => LesNet::Regressor(module_from_bytes(n, bytes)?),
        })
    }

    /// The network without its autodiff graph (for saving and sampling).
    pub fn valid(&self) -> Self {
        match self {
            LesNet::Score(n) => LesNet::Score(n.valid()),
            LesNet::Regressor(n) => LesNet::Regressor(n.valid()),
        }
    }

    pub fn basis(&self, n: usize, device: &Device) -> crate::closure::layers::DftBasis {
        match self {
            LesNet::Score(net) => net.basis(n, device),
            LesNet::Regressor(net) => net.basis(n, device),
        }
    }
}

/// Where a residual model's mean model lives: `PATH.mean.bpk` beside `PATH.bpk`.
fn mean_path(weights: &Path) -> std::path::PathBuf {
    weights.with_extension("mean.bpk")
}

/// Whether the JSON card beside `weights` is a subgrid closure's card (it names its
/// kind and scales Π) rather than a published-case model's.
pub fn is_les_card(weights: &Path) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[allow(dead_code)]
        pi_scale: f64,
    }
    std::fs::read(weights.with_extension("json"))
        .is_ok_and(|b| serde_json::from_slice::<Probe>(&b).is_ok())
}

impl LesCard {
    /// The highest fidelity (DNS grid) the model was trained on: what it is asked for.
    pub fn best_fidelity(&self) -> usize {
        self.training
            .files
            .iter()
            .map(|f| f.2)
            .max()
            .unwrap_or(super::FIDELITIES[1])
    }

    /// The fidelity to ask for when the truth comes from DNS grid `dns_n`: that one if
    /// the model was trained on it, else the highest it knows (a fidelity class it never
    /// saw in training would be an untrained input).
    pub fn fidelity_for(&self, dns_n: usize) -> usize {
        if self.training.files.iter().any(|f| f.2 == dns_n) {
            dns_n
        } else {
            self.best_fidelity()
        }
    }

    /// The smallest and largest ν of the training data.
    pub fn nu_range(&self) -> Option<(f64, f64)> {
        let nus = self.training.files.iter().map(|f| f.1);
        let lo = nus.clone().min_by(f64::total_cmp)?;
        Some((lo, nus.max_by(f64::total_cmp)?))
    }
}

/// A learned subgrid closure on one device: the one learned-closure type of the
/// subgrid kind.
pub type LesModel = Model<SubgridPart>;

/// The models a subgrid model leans on.
#[derive(Clone, Debug, Default)]
pub struct Companions {
    /// For a residual model (`card.part.residual`): the deterministic model whose mean it
    /// adds to (kept beside it as `PATH.mean.bpk` + `PATH.mean.json`).
    pub mean: Option<Box<LesModel>>,
    /// The variants tied to a deterministic mean ([`super::drain`]): the mean's model
    /// and how members are tied to it.
    pub drain: Option<(Box<LesModel>, MeanTie)>,
}

impl LesModel {
    /// Whether this model can be the mean of an exact drain: a deterministic one.
    pub(crate) fn check_drain_mean(&self) -> Result<(), ClosureError> {
        if self.card.part.kind == LesKind::Deterministic {
            Ok(())
        } else {
            Err(ClosureError::Input(format!(
                "{} is a {} model; as the mean of an exact drain it must be deterministic",
                self.card.name, self.card.part.kind
            )))
        }
    }

    /// This model with its members' drain taken from `mean` (a deterministic model, on
    /// the same grid), or without (None).
    pub fn with_exact_drain(self, mean: Option<LesModel>) -> Result<Self, ClosureError> {
        self.tied_to(mean.map(|m| (m, MeanTie::ExactDrain)))
    }

    /// This model with its members tied to a deterministic mean (on the same grid) as
    /// `tie` says, or untied (None).
    pub fn tied_to(mut self, mean: Option<(LesModel, MeanTie)>) -> Result<Self, ClosureError> {
        if let Some((m, _)) = &mean {
            m.check_drain_mean()?;
            if m.card.part.les_n != self.card.part.les_n {
                return Err(ClosureError::Input(format!(
                    "the mean was trained on the {}² LES grid, the model on {}²",
                    m.card.part.les_n, self.card.part.les_n
                )));
            }
        }
        self.companions.drain = mean.map(|(m, tie)| (Box::new(m), tie));
        Ok(self)
    }

    /// Attach the deterministic model a residual model adds to.
    pub(crate) fn with_mean(mut self, mean: Option<Box<LesModel>>) -> Self {
        self.companions.mean = mean;
        self
    }

    /// The latent a flow-generator draw of `members` members starts from: its shape
    /// (`[draws, n, n, 1]`; a tie to a mean draws more than one per member).
    pub(crate) fn latent_shape(&self, n: usize, members: usize) -> [usize; 4] {
        let draws = self
            .companions
            .drain
            .as_ref()
            .map_or(members, |(_, t)| t.draws(members));
        [draws, n, n, 1]
    }
}

impl LesCard {
    /// A network of the card's architecture, freshly initialised.
    pub fn init(&self, device: &Device) -> Result<LesNet, ClosureError> {
        match (self.part.kind, &self.part.score, &self.part.regressor) {
            (LesKind::Stochastic, Some(c), _) => {
                c.validate().map_err(ClosureError::Card)?;
                if c.labels() != self.part.labels.width() {
                    return Err(ClosureError::Card(format!(
                        "score network takes {} labels, the card's labels are {}",
                        c.labels(),
                        self.part.labels.width()
                    )));
                }
                Ok(LesNet::Score(c.init(device)))
            }
            (LesKind::Deterministic | LesKind::MeanNoise, _, Some(c)) => {
                if c.noise != (self.part.kind == LesKind::MeanNoise)
                    || c.labels != self.part.labels.width()
                {
                    return Err(ClosureError::Card(
                        "regressor does not match the card's kind or labels".into(),
                    ));
                }
                Ok(LesNet::Regressor(c.init(device)))
            }
            _ => Err(ClosureError::Card(format!(
                "a {} closure needs its network's configuration",
                self.part.kind
            ))),
        }
    }
}

impl Kind for SubgridPart {
    type Net = LesNet;
    type Companions = Companions;
    type Query<'a> = Draw<'a>;

    fn decode(card: &LesCard, bytes: &[u8], device: &Device) -> Result<LesNet, ClosureError> {
        let net = card.init(device)?.with_bytes(bytes)?;
        match &net {
            LesNet::Score(n) => check_finite(n)?,
            LesNet::Regressor(n) => check_finite(n)?,
        }
        Ok(net)
    }

    /// Full precision.
    fn encode(net: &LesNet) -> Result<Vec<u8>, ClosureError> {
        net.bytes()
    }

    fn valid(net: &LesNet) -> LesNet {
        net.valid()
    }

    fn score_of(net: &LesNet) -> Option<&ScoreNet> {
        match net {
            LesNet::Score(n) => Some(n),
            LesNet::Regressor(_) => None,
        }
    }

    /// A residual model's mean model, `PATH.mean.bpk` beside it.
    fn read_companions(
        card: &LesCard,
        weights: Option<&Path>,
        device: &Device,
    ) -> Result<Companions, ClosureError> {
        let mean = match (card.part.residual, weights) {
            (false, _) => None,
            (true, Some(w)) => Some(Box::new(LesModel::load(&mean_path(w), device)?)),
            (true, None) => {
                return Err(ClosureError::Card(
                    "a residual model needs its mean model beside it: load it from its file".into(),
                ));
            }
        };
        Ok(Companions { mean, drain: None })
    }

    fn write_companions(c: &Companions, weights: &Path) -> Result<(), ClosureError> {
        match &c.mean {
            Some(m) => m.save(&mean_path(weights)),
            None => Ok(()),
        }
    }

    /// Samples of the score model at the state, ν and fidelity of `draw` (plus a
    /// residual model's mean), or for a regressor its mean (plus Gaussian noise of its
    /// predicted std for mean + noise); members tied to a deterministic mean are tied
    /// after they are drawn ([`super::drain`]).
    fn sample(
        model: &LesModel,
        draw: &Draw,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        let Some((mean, tie)) = &model.companions.drain else {
            return model.sample_plain(draw, ensemble, sampler, schedule, start);
        };
        let raw = model.sample_plain(draw, tie.draws(ensemble), sampler, schedule, start)?;
        let m = mean.sample(&draw.asking(mean), 1, sampler, schedule)?;
        let plane =
            super::drain::DrainPlane::new(draw.grid, &draw.grid.to_spectral(draw.omega_bar));
        Ok(tie.members(&plane, &m[0], raw))
    }
}

impl LesModel {
    /// [`Kind::sample`] without the tie to a mean.
    fn sample_plain(
        &self,
        draw: &Draw,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        let Draw {
            grid,
            omega_bar,
            nu,
            dns_n,
        } = *draw;
        let n = grid.n;
        if omega_bar.len() != n * n {
            return Err(ClosureError::Input("ω̄ does not match the grid".into()));
        }
        let label = self
            .card
            .part
            .labels
            .vector(nu, dns_n)
            .map_err(ClosureError::Input)?;
        let width = label.len();
        let labels = Tensor::<2>::from_data(TensorData::new(label, [1, width]), self.device());
        let scale = self.card.part.omega_scale;
        let field: Vec<f32> = omega_bar.iter().map(|&x| (x / scale) as f32).collect();
        match &self.net {
            LesNet::Score(score_net) => {
                let inputs = NetInputs {
                    field,
                    obs: None,
                    labels: Some(labels),
                    class: Some(0),
                    scale: 1.0,
                    mean: None,
                    nu: Some(nu),
                };
                let mut out =
                    self.draw(score_net, grid, inputs, ensemble, sampler, schedule, start)?;
                if let Some(m) = &self.companions.mean {
                    let schedule = self.schedule_for(sampler, schedule);
                    let mean = m.sample(&draw.asking(m), 1, sampler, &schedule)?;
                    for f in out.iter_mut() {
                        f.iter_mut().zip(&mean[0]).for_each(|(a, b)| *a += b);
                    }
                }
                Ok(out)
            }
            LesNet::Regressor(_) if start.is_some() => Err(ClosureError::Input(
                "only a flow generator draws from a given latent".into(),
            )),
            LesNet::Regressor(net) => {
                let w = Tensor::<4>::from_data(TensorData::new(field, [1, n, n, 1]), self.device());
                let basis = self.bases().get(n, net.modes(), self.device());
                let out = net.forward(w, Some(labels), &basis);
                let scale = self.card.part.pi_scale;
                if self.card.part.kind == LesKind::MeanNoise {
                    let (mean, std) = mean_and_std(out);
                    let z = Tensor::<4>::random(
                        [ensemble, n, n, 1],
                        burn::tensor::Distribution::Normal(0.0, 1.0),
                        self.device(),
                    );
                    draw::fields(mean + std * z, n, scale)
                } else {
                    let m = draw::fields(out, n, scale)?;
                    Ok(vec![m[0].clone(); ensemble])
                }
            }
        }
    }
}
