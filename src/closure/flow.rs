//! A one- or two-evaluation generator distilled from a score model: rectified flow
//! trained on the score model's own noise → sample coupling (docs/science.md §9).
//!
//! The score model's Heun sampler integrates the probability-flow ODE, a deterministic
//! map from a start `x_T = σ(T)·z`, `z ~ N(0, 1)`, to a (whitened) residual `x₁`. Pairs
//! `(z, x₁)` drawn from it are a coupling whose straight paths `x_t = (1 − t)·z + t·x₁`
//! do not cross (one `x₁` per `z`), so a network that learns the end point of the path
//! through `(x_t, t)` — `D(x_t, t) ≈ x₁`, the "reflow" of Liu et al. 2022 written as an
//! end-point prediction — integrates it exactly in one Euler step:
//!
//! `x_{t'} = x_t + (t' − t)·(D(x_t, t) − x_t)/(1 − t)`,  `t = 0, 1/k, …` for k steps.
//!
//! With k = 1 the draw is `D(z, 0)`; k = 2 adds the midpoint `t = ½`. Training draws t
//! from the grid points these samplers visit (`0` three times in four, `½` otherwise) and
//! minimises `Σ_pixels (D(x_t, t) − x₁)²` ([`super::distill`] runs it). The student keeps
//! its teacher's conditioning (ω, sensors, density class) and reads its output raw, not
//! as a score; it has the teacher's architecture and starts from its weights, or is a
//! smaller network of its own ([`super::distill::StudentShape`]), cheaper per draw. Its
//! spread is calibrated afterwards like every sampler's: `closure-lab calibrate --sampler
//! flow-1 --write-card` fits its own inflation table.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::card::TrainingInfo;
use super::layers::DftBasis;
use super::model::ClosureError;
use super::sampler::ScoreFn;
use super::score::{Conditioning, ScoreNet, ScoreNetConfig};

/// The flow generator's part of a model card: its network (the teacher's architecture,
/// or a smaller one) and how it was distilled. Its weights are `STEM.flow.bpk` beside the card.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlowPart {
    pub net: ScoreNetConfig,
    /// The score sampler whose map was distilled (e.g. `heun-karras6`).
    pub teacher: String,
    pub training: TrainingInfo,
}

impl FlowPart {
    /// One line for a reader: the generator's shape and how it was distilled.
    pub(crate) fn describe(&self) -> String {
        let n = &self.net;
        let layers = n.x_layers.unwrap_or(n.layers);
        let t = &self.training;
        format!(
            "one-step generator (flow-1/flow-2): {} channels, {} Fourier layer{} in the \
             noisy-sample pipeline and {} in the ω and sensor ones, distilled from the {} \
             sampler ({} epochs; one-step draw vs teacher, relative L2 {:.3})",
            n.width,
            layers,
            if layers == 1 { "" } else { "s" },
            n.layers,
            self.teacher,
            t.epochs,
            t.final_val_d_fro
        )
    }
}

/// Step counts a flow generator is offered at (it is trained at the points of 1 and 2).
pub const FLOW_STEPS: std::ops::RangeInclusive<usize> = 1..=2;

/// The weights file of a model's flow generator: `closure_g.bpk` → `closure_g.flow.bpk`.
pub fn flow_weights_path(weights: &Path) -> PathBuf {
    weights.with_extension("flow.bpk")
}

/// The flow generator's weights beside a model's weights file (the card names one).
pub(crate) fn read_weights(weights: &Path) -> Result<Vec<u8>, ClosureError> {
    let path = flow_weights_path(weights);
    std::fs::read(&path).map_err(|e| {
        ClosureError::Weights(format!(
            "the card has a flow generator but {} cannot be read ({e})",
            path.display()
        ))
    })
}

/// Write a flow generator's weights (f16) beside a model's weights file, atomically.
pub(crate) fn write_weights(weights: &Path, net: &ScoreNet) -> Result<(), ClosureError> {
    let path = flow_weights_path(weights);
    crate::atomic::write_bytes(&path, &super::weights::weights_to_bytes(net)?)
        .map_err(|e| ClosureError::Weights(format!("cannot write {} ({e})", path.display())))
}

/// Decode a flow generator's weights into the architecture its card part names.
pub fn decode(part: &FlowPart, bytes: &[u8], device: &Device) -> Result<ScoreNet, ClosureError> {
    super::weights::weights_from_bytes(&part.net, bytes, device)
        .map(|n| n.valid())
        .map_err(|e| ClosureError::Weights(format!("flow generator: {e}")))
}

/// A learned model's distilled flow generator, when its card has one: how it is
/// attached (from bytes, or freshly distilled), read from beside the model's weights file,
/// written there, and chosen per sampler. Every model with a score network (the
/// published G/H models and the subgrid Π model) holds one, so a generator is written
/// once for every flow.
#[derive(Clone, Debug, Default)]
pub struct Generator(Option<ScoreNet>);

impl Generator {
    /// Decode the generator the card's `flow` part describes from `bytes`.
    pub(crate) fn attach<K: super::card::CardPart>(
        &mut self,
        card: &super::card::Card<K>,
        bytes: &[u8],
        device: &Device,
    ) -> Result<(), ClosureError> {
        let part = card.flow.as_ref().ok_or_else(|| {
            ClosureError::Card("flow weights given but the card has no `flow` part".into())
        })?;
        self.0 = Some(decode(part, bytes, device)?);
        Ok(())
    }

    /// A freshly distilled generator and its part of the card (the card drops the
    /// tables and rows of the one it replaces).
    pub(crate) fn set<K: super::card::CardPart>(
        &mut self,
        card: &mut super::card::Card<K>,
        part: FlowPart,
        net: ScoreNet,
    ) {
        card.attach_flow(part);
        self.0 = Some(net.valid());
    }

    /// Read the generator beside `weights` when the card names one.
    pub(crate) fn load_beside<K: super::card::CardPart>(
        &mut self,
        card: &super::card::Card<K>,
        weights: &Path,
        device: &Device,
    ) -> Result<(), ClosureError> {
        match card.flow {
            None => Ok(()),
            Some(_) => self.attach(card, &read_weights(weights)?, device),
        }
    }

    /// Write the generator (when there is one) beside `weights`.
    pub(crate) fn save_beside(&self, weights: &Path) -> Result<(), ClosureError> {
        match &self.0 {
            None => Ok(()),
            Some(net) => write_weights(weights, net),
        }
    }

    pub(crate) fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// The network a sampler evaluates: the score network for EM and Heun, this
    /// generator for [`super::sampler::Sampler::Flow`] (an error naming the model
    /// without one).
    pub(crate) fn network_for<'a>(
        &'a self,
        sampler: super::sampler::Sampler,
        score: &'a ScoreNet,
        model: &str,
    ) -> Result<&'a ScoreNet, ClosureError> {
        if sampler.uses_score() {
            return Ok(score);
        }
        self.0.as_ref().ok_or_else(|| {
            ClosureError::Input(format!(
                "model `{model}` has no flow generator; choose Euler–Maruyama or Heun"
            ))
        })
    }
}

/// Integrate the straight path from `z` (t = 0) to t = 1 in `steps` Euler steps, `end`
/// giving the network's end-point estimate `D(x_t, t)`.
pub fn integrate(end: &mut impl ScoreFn, z: Tensor<4>, steps: usize) -> Tensor<4> {
    let steps = steps.max(1);
    let mut x = z;
    for i in 0..steps {
        let (t, t_next) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
        let d = end.score(x.clone(), t);
        x = if i + 1 == steps {
            d
        } else {
            x.clone() + (d - x) * ((t_next - t) / (1.0 - t))
        };
    }
    x
}

/// Reflow loss of one batch: `Σ_pixels (D(x_t, t) − x₁)²` averaged over the batch, with
/// `x_t = (1 − t)·z + t·x₁`. `z`, `x1`: `[B,N,N,1]`; `t`: one time per member.
pub fn reflow_loss(
    net: &ScoreNet,
    z: Tensor<4>,
    x1: Tensor<4>,
    t: &[f32],
    cond: &Conditioning,
    basis: &DftBasis,
) -> Tensor<1> {
    let [b, _, _, _] = z.dims();
    let device = z.device();
    let tt = Tensor::<1>::from_data(TensorData::new(t.to_vec(), [b]), &device);
    let tc = tt.clone().reshape([b, 1, 1, 1]);
    let xt = z * (tc.clone().neg() + 1.0) + x1.clone() * tc;
    let d = net.raw(xt, tt, cond, basis);
    (d - x1).powi_scalar(2).sum().div_scalar(b as f64)
}
