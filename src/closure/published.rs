//! The published cases' learned closure (the closure G or H of ω and sensor readings of
//! the true closure, docs/science.md §1–4): what a published model's card says about its
//! inputs ([`InputSpec`]), how a draw is conditioned ([`Observed`]), and the models
//! compiled into the binary. The model itself is the one learned-closure type,
//! [`super::model::Model`], of this kind ([`ClosureModel`]).

use std::marker::PhantomData;
use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::card::{Card, PublishedPart};
use super::model::{ClosureError, Embedded, Kind, Model, NetInputs, SampleRanges, one_hot};
use super::prior::deterministic_part;
use super::sampler::Sampler;
use super::score::ScoreNet;
use super::sde::Schedule;
use super::sensors::{DENSITIES, Densify, Sensors};
use super::weights::{weights_from_bytes, weights_to_bytes};
use crate::solver::{Case, Grid};

/// A published-case model ready to sample on one device.
pub type ClosureModel = Model<PublishedPart>;

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

/// Every embedded model: the defaults first, then the earlier models trained at 16×16
/// sensors only (kept for comparison).
pub static EMBEDDED: [Embedded<PublishedPart>; 4] = [
    Embedded {
        id: "g",
        label: "G, every density",
        card: EMBEDDED_G.0,
        weights: EMBEDDED_G.1,
        flow: EMBEDDED_FLOW_G,
        kind: PhantomData,
    },
    Embedded {
        id: "h",
        label: "H, every density",
        card: EMBEDDED_H.0,
        weights: EMBEDDED_H.1,
        flow: EMBEDDED_FLOW_H,
        kind: PhantomData,
    },
    Embedded {
        id: "g-16",
        label: "G, 16×16 only (earlier)",
        card: include_bytes!("../../assets/closure_g_16.json"),
        weights: include_bytes!("../../assets/closure_g_16.bpk"),
        flow: None,
        kind: PhantomData,
    },
    Embedded {
        id: "h-16",
        label: "H, 16×16 only (earlier)",
        card: include_bytes!("../../assets/closure_h_16.json"),
        weights: include_bytes!("../../assets/closure_h_16.bpk"),
        flow: None,
        kind: PhantomData,
    },
];

/// The flow generators of the embedded G and H models ([`super::flow`]).
static EMBEDDED_FLOW_G: Option<&[u8]> = Some(include_bytes!("../../assets/closure_g.flow.bpk"));
static EMBEDDED_FLOW_H: Option<&[u8]> = Some(include_bytes!("../../assets/closure_h.flow.bpk"));

/// The state a published-case draw is conditioned on: the model run's ω on `grid` and
/// readings of the true closure at the points of `sensors`.
#[derive(Clone, Copy)]
pub struct Observed<'a> {
    pub grid: &'a Grid,
    pub omega: &'a [f64],
    pub readings: &'a [f64],
    pub sensors: &'a Sensors,
}

impl Kind for PublishedPart {
    type Net = ScoreNet;
    type Companions = ();
    type Query<'a> = Observed<'a>;

    /// The score network of the card's architecture (f16 or f32 bytes; finite).
    fn decode(card: &Card<Self>, bytes: &[u8], device: &Device) -> Result<ScoreNet, ClosureError> {
        weights_from_bytes(&card.part.net, bytes, device)
    }

    /// f16 (halves the shipped file).
    fn encode(net: &ScoreNet) -> Result<Vec<u8>, ClosureError> {
        weights_to_bytes(net)
    }

    fn valid(net: &ScoreNet) -> ScoreNet {
        net.valid()
    }

    fn score_of(net: &ScoreNet) -> Option<&ScoreNet> {
        Some(net)
    }

    /// A PyTorch state dict of a published network (`.pth`/`.pt`,
    /// [`super::torch_import`]).
    fn import(weights: &Path, device: &Device) -> Option<Result<Model<Self>, ClosureError>> {
        matches!(
            weights.extension().and_then(|e| e.to_str()),
            Some("pth" | "pt")
        )
        .then(|| super::torch_import::load(weights, device))
    }

    fn sample(
        model: &Model<Self>,
        q: &Observed,
        ensemble: usize,
        sampler: Sampler,
        schedule: &Schedule,
        start: Option<Tensor<4>>,
    ) -> Result<Vec<Vec<f64>>, ClosureError> {
        let Observed {
            grid,
            omega,
            readings,
            sensors,
        } = *q;
        let n = grid.n;
        if omega.len() != n * n || readings.len() != sensors.s * sensors.s || sensors.n != n {
            return Err(ClosureError::Input(
                "ω, readings and sensor grid do not match the grid".into(),
            ));
        }
        let spec = model.card.part.inputs;
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
        let inputs = spec.inputs(grid, omega, readings, sensors);
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let inputs = NetInputs {
            field: f32s(omega),
            obs: Some(f32s(&inputs.obs)),
            labels: class.map(|c| one_hot(&[c], DENSITIES.len(), model.device())),
            class,
            scale,
            mean: inputs.mean,
            nu: None,
        };
        model.draw(&model.net, grid, inputs, ensemble, sampler, schedule, start)
    }
}

impl ClosureModel {
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
}
