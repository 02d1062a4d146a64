//! A trained closure ready to sample: the score network, its model card, and the recipe
//! that turns (ω, sensor readings) into network inputs. Used by evaluation, the coupled
//! experiment and the app alike.

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::card::ModelCard;
use super::prior::deterministic_part;
use super::sampler::Sampler;
use super::score::ScoreNet;
use super::sde::Schedule;
use super::sensors::{DENSITIES, Densify, SensorError, Sensors};
use super::weights::{save_with_card, weights_from_bytes, weights_to_bytes};
use crate::solver::{Case, Grid};

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

/// What the network generates.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Target {
    /// The whole closure term, as published.
    Full,
    /// A residual correction (in the spirit of CorrDiff, Mardani et al. 2023): a fixed,
    /// non-learned mean — the deterministic part computed from ω ([`super::prior`]) plus
    /// the densified sensor readings of what that part misses — and the diffusion model
    /// generates the closure minus this mean. The sample is `mean + residual`.
    #[default]
    Residual,
}

/// How inputs are made from (ω, sensor readings); part of the model card.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub case: Case,
    pub target: Target,
    pub densify: Densify,
    /// Sensors per side (published 16).
    pub sensors: usize,
    /// ν used for the deterministic part of G.
    pub nu: f64,
    /// A model trained across sensor densities: the rms of the residual (closure minus
    /// the mean at that density) for each density of [`DENSITIES`], measured on the
    /// training data. The network is told the density class and generates the residual
    /// whitened by the card's `whitening` amplitudes (or, without them, residual ÷ this
    /// scale); `sensors` is then only the default density. None: one density, unscaled.
    #[serde(default)]
    pub density_scale: Option<[f64; 5]>,
    /// Diffusion-time ranges the model samples over, per update rule; a sampler's
    /// schedule keeps its rule and steps but is stretched onto its range. None: the
    /// schedule as given (published range 0.1 … 1e-3).
    #[serde(default)]
    pub t_range: Option<SampleRanges>,
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

/// Network inputs for one conditioning (physical fields, N²).
pub struct Inputs {
    /// The fixed mean the model corrects (residual target only).
    pub mean: Option<Vec<f64>>,
    /// Densified sensor field (of the readings minus the deterministic part for the
    /// residual target).
    pub obs: Vec<f64>,
}

impl InputSpec {
    /// Index of density `s` in [`DENSITIES`] when the model is trained across densities
    /// and knows `s`.
    pub(crate) fn density_class(&self, s: usize) -> Option<usize> {
        self.density_scale?;
        DENSITIES.iter().position(|&d| d == s)
    }

    /// Check the fields a card file can get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.nu.is_finite() && self.nu >= 0.0) {
            return Err(format!("inputs.nu must be ≥ 0, got {}", self.nu));
        }
        if let Some(sc) = self.density_scale {
            if sc.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(format!(
                    "inputs.density_scale must be 5 positive numbers, got {sc:?}"
                ));
            }
            if self.target != Target::Residual {
                return Err("inputs.density_scale needs target `residual`".into());
            }
        }
        if let Some(r) = self.t_range {
            r.validate().map_err(|e| format!("inputs.{e}"))?;
        }
        Ok(())
    }

    /// Build the inputs from ω and readings of the true closure at `sensors` points.
    pub fn inputs(
        &self,
        grid: &Grid,
        omega: &[f64],
        readings: &[f64],
        sensors: &Sensors,
    ) -> Inputs {
        match self.target {
            Target::Full => Inputs {
                mean: None,
                obs: sensors.densify(readings, self.densify),
            },
            Target::Residual => {
                let prior = deterministic_part(self.case, grid, omega, self.nu);
                let r: Vec<f64> = readings
                    .iter()
                    .zip(sensors.indices())
                    .map(|(v, i)| v - prior[i])
                    .collect();
                let obs = sensors.densify(&r, self.densify);
                let mean = prior.iter().zip(&obs).map(|(a, b)| a + b).collect();
                Inputs {
                    obs,
                    mean: Some(mean),
                }
            }
        }
    }
}

/// The embedded default model (G case): trained at every sensor density.
pub static EMBEDDED_G: (&[u8], &[u8]) = (
    include_bytes!("../../assets/closure_g.json"),
    include_bytes!("../../assets/closure_g.bpk"),
);

/// The embedded H-case model: trained at every sensor density.
pub static EMBEDDED_H: (&[u8], &[u8]) = (
    include_bytes!("../../assets/closure_h.json"),
    include_bytes!("../../assets/closure_h.bpk"),
);

/// A model compiled into the binary: its picker label, card (JSON), score-network weights
/// and, when the card has one, the flow generator's weights.
pub struct Embedded {
    pub label: &'static str,
    pub card: &'static [u8],
    pub weights: &'static [u8],
    pub flow: Option<&'static [u8]>,
}

impl Embedded {
    /// Decode it on `device`.
    pub fn load(&self, device: &Device) -> Result<ClosureModel, ClosureError> {
        let m = ClosureModel::from_bytes(self.card, self.weights, device)?;
        match self.flow {
            Some(f) => m.attach_flow(f),
            None => Ok(m),
        }
    }
}

/// Every embedded model: the defaults first, then the earlier models trained at 16×16
/// sensors only (kept for comparison).
pub static EMBEDDED: [Embedded; 4] = [
    Embedded {
        label: "G, every density",
        card: EMBEDDED_G.0,
        weights: EMBEDDED_G.1,
        flow: EMBEDDED_FLOW_G,
    },
    Embedded {
        label: "H, every density",
        card: EMBEDDED_H.0,
        weights: EMBEDDED_H.1,
        flow: EMBEDDED_FLOW_H,
    },
    Embedded {
        label: "G, 16×16 only (earlier)",
        card: include_bytes!("../../assets/closure_g_16.json"),
        weights: include_bytes!("../../assets/closure_g_16.bpk"),
        flow: None,
    },
    Embedded {
        label: "H, 16×16 only (earlier)",
        card: include_bytes!("../../assets/closure_h_16.json"),
        weights: include_bytes!("../../assets/closure_h_16.bpk"),
        flow: None,
    },
];

/// The flow generators of the embedded G and H models ([`super::flow`]).
static EMBEDDED_FLOW_G: Option<&[u8]> = Some(include_bytes!("../../assets/closure_g.flow.bpk"));
static EMBEDDED_FLOW_H: Option<&[u8]> = Some(include_bytes!("../../assets/closure_h.flow.bpk"));

/// A closure model ready to sample on one device.
#[derive(Clone)]
pub struct ClosureModel {
    pub card: ModelCard,
    net: ScoreNet,
    /// The distilled few-step generator, when the card has one ([`super::flow`]).
    flow: super::flow::Generator,
    device: Device,
    bases: super::draw::Bases,
}

impl ClosureModel {
    pub fn new(card: ModelCard, net: ScoreNet, device: Device) -> Self {
        ClosureModel {
            card,
            net: net.valid(),
            flow: Default::default(),
            device,
            bases: Default::default(),
        }
    }

    /// Decode a card (JSON) and weights (burnpack bytes).
    pub fn from_bytes(
        card_json: &[u8],
        weights: &[u8],
        device: &Device,
    ) -> Result<Self, ClosureError> {
        let card = ModelCard::parse(card_json).map_err(ClosureError::Card)?;
        let net = weights_from_bytes(&card.part.net, weights, device)?;
        Ok(Self::new(card, net, device.clone()))
    }

    /// The model embedded in the binary.
    pub fn embedded(device: &Device) -> Result<Self, ClosureError> {
        EMBEDDED[0].load(device)
    }

    /// The embedded model of a closure case.
    pub fn embedded_for(case: Case, device: &Device) -> Result<Self, ClosureError> {
        match case {
            Case::G => EMBEDDED[0].load(device),
            Case::H => EMBEDDED[1].load(device),
        }
    }

    /// Attach the flow generator's weights (the card must describe it).
    pub fn attach_flow(mut self, bytes: &[u8]) -> Result<Self, ClosureError> {
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

    /// The schedule a score sampler runs: `schedule`'s rule and steps stretched onto the
    /// card's range for that sampler (unchanged without one, or for a flow).
    pub(crate) fn schedule_for(&self, sampler: Sampler, schedule: &Schedule) -> Schedule {
        super::draw::schedule_in_range(self.card.part.inputs.t_range, sampler, schedule)
    }

    /// [`Self::load_on`] the CPU.
    pub fn load(weights: &Path) -> Result<Self, ClosureError> {
        Self::load_on(weights, &Device::flex())
    }

    /// Load a model file: `PATH.bpk` with its card `PATH.json`, or a PyTorch state dict
    /// of a published network (`.pth`/`.pt`, [`super::torch_import`]).
    pub fn load_on(weights: &Path, device: &Device) -> Result<Self, ClosureError> {
        if matches!(
            weights.extension().and_then(|e| e.to_str()),
            Some("pth" | "pt")
        ) {
            return super::torch_import::load(weights, device);
        }
        let card_path = weights.with_extension("json");
        let card = std::fs::read(&card_path).map_err(|e| {
            ClosureError::Card(format!("cannot read {} ({e})", card_path.display()))
        })?;
        let w = std::fs::read(weights).map_err(|e| {
            ClosureError::Weights(format!("cannot read {} ({e})", weights.display()))
        })?;
        let mut model = Self::from_bytes(&card, &w, device)?;
        model.flow.load_beside(&model.card, weights, device)?;
        Ok(model)
    }

    /// Write `PATH.bpk` (f16), `PATH.json` and, with a flow generator, `PATH.flow.bpk`,
    /// each atomically.
    pub fn save(&self, weights: &Path) -> Result<(), ClosureError> {
        self.flow.save_beside(weights)?;
        save_with_card(weights, weights_to_bytes(&self.net)?, &self.card)
    }

    pub fn net(&self) -> &ScoreNet {
        &self.net
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Draw `ensemble` closure samples for one state. `omega` is the model run's vorticity
    /// on `grid`; `readings` are the true closure at the points of `sensors`.
    pub fn sample(
        &mut self,
        grid: &Grid,
        omega: &[f64],
        readings: &[f64],
        sensors: &Sensors,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        let n = grid.n;
        if omega.len() != n * n || readings.len() != sensors.s * sensors.s || sensors.n != n {
            return Err(ClosureError::Input(
                "ω, readings and sensor grid do not match the grid".into(),
            ));
        }
        if n < 2 * self.net.modes() {
            return Err(ClosureError::Input(format!(
                "grid {n} is smaller than twice the network's {} modes",
                self.net.modes()
            )));
        }
        let spec = self.card.part.inputs;
        let class = match (spec.density_scale, spec.density_class(sensors.s)) {
            (None, _) => None,
            (Some(_), Some(c)) => Some(c),
            (Some(_), None) => {
                return Err(ClosureError::Input(format!(
                    "the model knows the densities {DENSITIES:?}, not {} sensors per side",
                    sensors.s
                )));
            }
        };
        let scale = match (spec.density_scale, class) {
            (Some(sc), Some(c)) => sc[c],
            _ => 1.0,
        };
        let schedule = self.schedule_for(sampler, schedule);
        let net = self.flow.network_for(sampler, &self.net, &self.card.name)?;
        let inputs = spec.inputs(grid, omega, readings, sensors);
        let device = self.device.clone();
        let field = |v: &[f64]| {
            Tensor::<4>::from_data(
                TensorData::new(
                    v.iter().map(|&x| x as f32).collect::<Vec<f32>>(),
                    [1, n, n, 1],
                ),
                &device,
            )
        };
        let (w_t, o_t) = (field(omega), field(&inputs.obs));
        let basis = self.bases.get(n, net.modes(), &device);
        let onehot = class.map(|c| one_hot(&[c], DENSITIES.len(), &device));
        let cond = net.condition(w_t, o_t, onehot, &basis);
        let raws = super::draw::members(
            net, &cond, &basis, sampler, &schedule, ensemble, n, &device, None,
        )?;
        let whitening = match (&self.card.whitening, class) {
            (Some(w), Some(c)) => Some((w, c)),
            _ => None,
        };
        let mut out =
            super::draw::colour_members(raws, grid, whitening, scale, inputs.mean.as_deref());
        if let (Some(f), Some(c)) = (self.card.inflation_for(sampler, schedule.steps()), class) {
            f.apply(c, grid, &mut out);
        }
        Ok(out)
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
