//! The one learned-closure type: a model card, its network, the distilled few-step
//! generator beside it, and one `sample` over what a draw is conditioned on, for every
//! kind of learned closure. A kind ([`Kind`]: the published cases' G/H models in
//! [`super::published`], the subgrid Π models in `les::learn::model`) says how its
//! network is read and written and how its query becomes the network's inputs; reading,
//! writing, the flow generator and the score draw itself (schedule range, conditioning,
//! reverse process or flow, colouring, mean, spread inflation) are written here once.

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::card::{Card, CardPart};
use super::sampler::Sampler;
use super::score::ScoreNet;
use super::sde::Schedule;
use super::sensors::SensorError;
use super::weights::save_with_card;
use crate::solver::Grid;

pub use super::published::{
    ClosureModel, EMBEDDED, EMBEDDED_G, EMBEDDED_H, InputSpec, Inputs, Observed, Target,
};

/// Errors of the closure layer.
#[derive(Debug, thiserror::Error)]
pub enum ClosureError {
    #[error("weights: {0}")]
    Weights(String),
    #[error("model card: {0}")]
    Card(String),
    #[error(transparent)]
    Sensors(#[from] SensorError),
    #[error("{0}")]
    Input(String),
}

/// `[t_max, t_min]` of the sampling schedule for each update rule. The reverse SDE
/// (Euler–Maruyama) and the probability-flow ODE (Heun) reproduce a Gaussian's variance
/// best over different ranges when they take few steps (docs/science.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRanges {
    pub em: [f64; 2],
    pub heun: [f64; 2],
}

impl SampleRanges {
    /// Check what a card file can get wrong (both the published-case and the subgrid
    /// cards hold these ranges).
    pub fn validate(&self) -> Result<(), String> {
        for [hi, lo] in [self.em, self.heun] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi && hi <= 2.0) {
                return Err(format!(
                    "t_range needs [t_max, t_min] with 0 < t_min < t_max ≤ 2, got [{hi}, {lo}]"
                ));
            }
        }
        Ok(())
    }

    /// The range of a score sampler (a flow generator has none: it runs over t ∈ [0, 1]).
    pub(crate) fn for_sampler(&self, sampler: Sampler) -> Option<[f64; 2]> {
        match sampler {
            Sampler::EulerMaruyama => Some(self.em),
            Sampler::Heun => Some(self.heun),
            Sampler::Flow => None,
        }
    }
}

/// A kind of learned closure: its part of the card ([`CardPart`]), its network, the
/// models it leans on, and what a draw of it is asked for.
pub trait Kind: CardPart + Sized + 'static {
    /// The network the card describes.
    type Net: Clone + std::fmt::Debug + Send;
    /// Other models this one is tied to (none for a published model).
    type Companions: Clone + std::fmt::Debug + Default + Send;
    /// What one draw is conditioned on (the state and its labels).
    type Query<'a>;

    /// The network of the card's architecture holding `bytes` (every weight finite).
    fn decode(card: &Card<Self>, bytes: &[u8], device: &Device) -> Result<Self::Net, ClosureError>;

    /// The bytes of the network's weights file.
    fn encode(net: &Self::Net) -> Result<Vec<u8>, ClosureError>;

    /// The network without its autodiff graph (for saving and sampling).
    fn valid(net: &Self::Net) -> Self::Net;

    /// The score network, when the model is a score model (only a score model can have a
    /// flow generator).
    fn score_of(net: &Self::Net) -> Option<&ScoreNet>;

    /// The models a model file needs beside it (`weights`: its path; none for a model in
    /// memory), read when the card names them.
    fn read_companions(
        _card: &Card<Self>,
        _weights: Option<&Path>,
        _device: &Device,
    ) -> Result<Self::Companions, ClosureError> {
        Ok(Default::default())
    }

    /// Write the companions beside `weights`.
    fn write_companions(_c: &Self::Companions, _weights: &Path) -> Result<(), ClosureError> {
        Ok(())
    }

    /// A file of another format this kind reads (None: not one).
    fn import(_weights: &Path, _device: &Device) -> Option<Result<Model<Self>, ClosureError>> {
        None
    }

    /// `ensemble` closures for one query (see [`Model::sample_from`]).
    fn sample(
        model: &Model<Self>,
        query: &Self::Query<'_>,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError>;
}

/// A score network's inputs for one draw, as a kind makes them from its query, and how
/// its members are turned into closure fields.
pub struct NetInputs {
    /// The state the network sees (ω or ω̄, in network units), N².
    pub field: Vec<f32>,
    /// The densified sensor field, N² (none: the network reads zeros there).
    pub obs: Option<Vec<f32>>,
    /// The labels row `[1, width]` (a density class's one-hot row, or ν and fidelity).
    pub labels: Option<Tensor<2>>,
    /// The class of the whitening and inflation tables (none: neither applies).
    pub class: Option<usize>,
    /// Members are multiplied by this where no whitening colours them.
    pub scale: f64,
    /// The fixed mean the members are added to.
    pub mean: Option<Vec<f64>>,
    /// The draw's viscosity, for a card with one inflation table per ν.
    pub nu: Option<f64>,
}

/// A learned closure of kind `K` ready to sample on one device.
#[derive(Clone, Debug)]
pub struct Model<K: Kind> {
    pub card: Card<K>,
    pub(crate) net: K::Net,
    /// Models this one is tied to (a subgrid model's mean models).
    pub companions: K::Companions,
    /// The distilled few-step generator, when the card has one ([`super::flow`]).
    flow: super::flow::Generator,
    device: Device,
    bases: super::draw::Bases,
}

impl<K: Kind> Model<K> {
    pub fn new(card: Card<K>, net: K::Net, device: Device) -> Self {
        Model {
            card,
            net: K::valid(&net),
            companions: Default::default(),
            flow: Default::default(),
            device,
            bases: Default::default(),
        }
    }

    /// Decode a card (JSON) and weights (bytes) held in memory.
    pub fn from_bytes(
        card_json: &[u8],
        weights: &[u8],
        device: &Device,
    ) -> Result<Self, ClosureError> {
        let card = Card::<K>::parse(card_json).map_err(ClosureError::Card)?;
        let companions = K::read_companions(&card, None, device)?;
        let net = K::decode(&card, weights, device)?;
        Ok(Self::new(card, net, device.clone()).with_companions(companions))
    }

    /// Load a model file: `PATH.bpk` with its card `PATH.json`, the flow generator
    /// `PATH.flow.bpk` and any companions beside it when the card names them (or a file
    /// of another format the kind reads, [`Kind::import`]).
    pub fn load(weights: &Path, device: &Device) -> Result<Self, ClosureError> {
        if let Some(m) = K::import(weights, device) {
            return m;
        }
        let card_path = weights.with_extension("json");
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {} ({e})", p.display()));
        let card = read(&card_path).map_err(ClosureError::Card)?;
        let card = Card::<K>::parse(&card)
            .map_err(|e| ClosureError::Card(format!("{}: {e}", card_path.display())))?;
        let net = K::decode(
            &card,
            &read(weights).map_err(ClosureError::Weights)?,
            device,
        )?;
        let companions = K::read_companions(&card, Some(weights), device)?;
        let mut model = Self::new(card, net, device.clone()).with_companions(companions);
        model.check_flow()?;
        model.flow.load_beside(&model.card, weights, device)?;
        Ok(model)
    }

    /// Write `PATH.bpk`, `PATH.json`, the flow generator and the companions beside it,
    /// each atomically.
    pub fn save(&self, weights: &Path) -> Result<(), ClosureError> {
        let bytes = K::encode(&self.net)?;
        K::write_companions(&self.companions, weights)?;
        self.flow.save_beside(weights)?;
        save_with_card(weights, bytes, &self.card)
    }

    pub(crate) fn with_companions(mut self, companions: K::Companions) -> Self {
        self.companions = companions;
        self
    }

    /// A card that names a flow generator belongs to a score model.
    fn check_flow(&self) -> Result<(), ClosureError> {
        if self.card.flow.is_some() && K::score_of(&self.net).is_none() {
            return Err(ClosureError::Card(
                "only a score model has a flow generator".into(),
            ));
        }
        Ok(())
    }

    /// Attach the flow generator's weights (the card must describe it, and the model
    /// must be a score model).
    pub fn attach_flow(mut self, bytes: &[u8]) -> Result<Self, ClosureError> {
        self.check_flow()?;
        self.flow.attach(&self.card, bytes, &self.device)?;
        Ok(self)
    }

    /// This model with a distilled flow generator (and its part of the card).
    pub fn with_flow(mut self, part: super::flow::FlowPart, net: ScoreNet) -> Self {
        self.flow.set(&mut self.card, part, net);
        self
    }

    /// Whether draws with [`Sampler::Flow`] are possible.
    pub fn has_flow(&self) -> bool {
        self.flow.is_some()
    }

    /// The network.
    pub fn net(&self) -> &K::Net {
        &self.net
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The model's DFT bases, built once per grid.
    pub(crate) fn bases(&self) -> &super::draw::Bases {
        &self.bases
    }

    /// The schedule a score sampler runs: `schedule`'s rule and steps stretched onto the
    /// card's range for that sampler (unchanged without one, or for a flow).
    pub(crate) fn schedule_for(&self, sampler: Sampler, schedule: &Schedule) -> Schedule {
        super::draw::schedule_in_range(self.card.part.sample_ranges(), sampler, schedule)
    }

    /// `ensemble` closures for one query: the kind's own conditioning of `query`, then
    /// its draw. See [`Self::sample_from`].
    pub fn sample(
        &self,
        query: &K::Query<'_>,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        K::sample(self, query, ensemble, sampler, schedule, None)
    }

    /// [`Self::sample`], a flow generator starting from the latent `start`
    /// (`[members, n, n, 1]`) when one is given: draws from latents correlated in time are
    /// correlated in time.
    pub(crate) fn sample_from(
        &self,
        query: &K::Query<'_>,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        K::sample(self, query, ensemble, sampler, schedule, start)
    }

    /// The draw of a score network `score` (this model's, or the score model of a kind
    /// that holds one) for one conditioning: the sampler's schedule on the card's range,
    /// the network (or the flow generator for [`Sampler::Flow`]), the members, coloured
    /// by the whitening of `inputs.class` (else times `scale`), the mean added, and the
    /// spread inflated by the card's table for this sampler, step count and ν.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn draw(
        &self,
        score: &ScoreNet,
        grid: &Grid,
        inputs: NetInputs,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        let n = grid.n;
        if inputs.field.len() != n * n || inputs.obs.as_ref().is_some_and(|o| o.len() != n * n) {
            return Err(ClosureError::Input(
                "the inputs do not match the grid".into(),
            ));
        }
        if n < 2 * score.modes() {
            return Err(ClosureError::Input(format!(
                "grid {n} is smaller than twice the network's {} modes",
                score.modes()
            )));
        }
        let schedule = self.schedule_for(sampler, schedule);
        let net = self.flow.network_for(sampler, score, &self.card.name)?;
        let device = &self.device;
        let field = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [1, n, n, 1]), device);
        let w = field(inputs.field);
        let obs = match inputs.obs {
            Some(o) => field(o),
            None => Tensor::<4>::zeros([1, n, n, 1], device),
        };
        let basis = self.bases.get(n, net.modes(), device);
        let cond = net.condition(w, obs, inputs.labels, &basis);
        let raws = super::draw::members(
            net, &cond, &basis, sampler, &schedule, ensemble, n, device, start,
        )?;
        let whitening = match (&self.card.whitening, inputs.class) {
            (Some(w), Some(c)) => Some((w, c)),
            _ => None,
        };
        let mut out = super::draw::colour_members(
            raws,
            grid,
            whitening,
            inputs.scale,
            inputs.mean.as_deref(),
        );
        let table =
            super::inflation::table_at(&self.card.inflation, sampler, schedule.steps(), inputs.nu);
        if let (Some(t), Some(c)) = (table, inputs.class) {
            t.apply(c, grid, &mut out);
        }
        Ok(out)
    }
}

/// What every model answers whatever its kind (the view the experiment reads through
/// one trait object).
pub trait AnyModel {
    fn card(&self) -> &dyn super::card::AnyCard;
    /// Whether draws with [`Sampler::Flow`] are possible.
    fn has_flow(&self) -> bool;
}

impl<K: Kind> AnyModel for Model<K> {
    fn card(&self) -> &dyn super::card::AnyCard {
        &self.card
    }

    fn has_flow(&self) -> bool {
        Model::has_flow(self)
    }
}

/// A model compiled into the binary: its id (what settings store), its picker label,
/// card (JSON), weights and, when the card has one, the flow generator's weights.
pub struct Embedded<K: Kind> {
    pub id: &'static str,
    pub label: &'static str,
    pub card: &'static [u8],
    pub weights: &'static [u8],
    pub flow: Option<&'static [u8]>,
    pub kind: std::marker::PhantomData<K>,
}

impl<K: Kind> Embedded<K> {
    /// Decode it on `device`.
    pub fn load(&self, device: &Device) -> Result<Model<K>, ClosureError> {
        let m = Model::<K>::from_bytes(self.card, self.weights, device)?;
        match self.flow {
            Some(f) => m.attach_flow(f),
            None => Ok(m),
        }
    }
}

/// One-hot rows `[classes.len(), k]` for the density classes of a batch.
pub fn one_hot(classes: &[usize], k: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; classes.len() * k];
    for (row, &c) in classes.iter().enumerate() {
        v[row * k + c] = 1.0;
    }
    Tensor::<2>::from_data(TensorData::new(v, [classes.len(), k]), device)
}
