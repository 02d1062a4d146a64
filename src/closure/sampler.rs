//! Reverse-time samplers for the VE SDE. A sampler is a schedule ([`super::sde::Schedule`])
//! plus an update rule:
//! * [`Sampler::EulerMaruyama`] — the published reverse-SDE sampler: `x ← x + g²·s·Δt +
//!   g·√Δt·z`; the last step returns the mean (no noise). One evaluation per step.
//! * [`Sampler::Heun`] — Heun's method on the probability-flow ODE written in
//!   σ: `dx/dσ = −σ·s(x, t(σ))`; the last step (to σ = 0) is an Euler step, i.e. the
//!   Tweedie denoiser. 2n − 1 evaluations for n steps.
//!
//! * [`Sampler::Flow`] — a few-step generator distilled from a score model
//!   ([`super::flow`]): the network maps a point of the straight path between noise
//!   `z ~ N(0, 1)` and a sample to the path's end; `steps` Euler steps over `t ∈ [0, 1]`,
//!   one evaluation each. It needs a model with a flow network (no schedule range).
//!
//! The score samplers start from `x ~ N(0, σ(T)²)`.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use serde::{Deserialize, Serialize};

use super::sde::{Schedule, VeSde};

/// Most steps a sampler schedule takes (the published 1 000-step baseline).
pub const MAX_STEPS: usize = 1000;

/// Update rule.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Sampler {
    #[default]
    #[strum(to_string = "em", serialize = "euler-maruyama")]
    EulerMaruyama,
    Heun,
    /// One- or two-step rectified flow distilled from the score model.
    Flow,
}

impl Sampler {
    /// Network evaluations for a schedule of `steps` steps.
    pub fn nfe(&self, steps: usize) -> usize {
        match self {
            Sampler::EulerMaruyama | Sampler::Flow => steps,
            Sampler::Heun => (2 * steps).saturating_sub(1),
        }
    }

    /// The step count a kind is offered at first: the published 10 (EM), 3 (Heun, 5
    /// evaluations), 1 (flow).
    pub(crate) fn default_steps(&self) -> usize {
        match self {
            Sampler::EulerMaruyama => 10,
            Sampler::Heun => 3,
            Sampler::Flow => 1,
        }
    }

    /// Whether the update rule integrates the score of the VE SDE (EM, Heun) rather than
    /// a flow network's path (Flow).
    pub(crate) fn uses_score(&self) -> bool {
        !matches!(self, Sampler::Flow)
    }
}

/// Anything that gives the score at `(x, t)` for a batch (all members at the same time).
pub trait ScoreFn {
    fn score(&mut self, x: Tensor<4>, t: f64) -> Tensor<4>;
}

impl<F: FnMut(Tensor<4>, f64) -> Tensor<4>> ScoreFn for F {
    fn score(&mut self, x: Tensor<4>, t: f64) -> Tensor<4> {
        self(x, t)
    }
}

/// Draw `shape` samples with `sampler` on `schedule`. For [`Sampler::Flow`], `score` is
/// the flow network's end-point estimate ([`super::flow::integrate`]) and only the
/// schedule's step count is used.
pub fn sample(
    score: &mut impl ScoreFn,
    sde: VeSde,
    sampler: Sampler,
    schedule: &Schedule,
    shape: [usize; 4],
    device: &Device,
) -> Tensor<4> {
    if sampler == Sampler::Flow {
        return super::flow::integrate(score, flow_latent(shape, device), schedule.steps());
    }
    let std0 = sde.marginal_std(schedule.times()[0]);
    let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, std0), device);
    sample_from(score, sde, sampler, schedule, x)
}

/// A flow generator's latent `z ~ N(0, 1)` of `shape`, from the device's random stream.
pub(crate) fn flow_latent(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// The score samplers from a given start `x ~ N(0, σ(T)²)` (the noise a distilled
/// generator learns to map, [`super::flow`]). The Heun rule is deterministic given `x`.
pub(crate) fn sample_from(
    score: &mut impl ScoreFn,
    sde: VeSde,
    sampler: Sampler,
    schedule: &Schedule,
    mut x: Tensor<4>,
) -> Tensor<4> {
    let shape = x.dims();
    let device = x.device();
    let device = &device;
    let times = schedule.times();
    let last = times.len() - 2;
    for i in 0..=last {
        let (t, t_next) = (times[i], times[i + 1]);
        match sampler {
            Sampler::EulerMaruyama => {
                let dt = t - t_next;
                let g = sde.g(t);
                let s = score.score(x.clone(), t);
                let mean = x + s * (g * g * dt);
                x = if i == last {
                    mean
                } else {
                    mean + Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device)
                        * (g * dt.sqrt())
                };
            }
            Sampler::Heun => {
                let (sig, sig_next) = (sde.marginal_std(t), sde.marginal_std(t_next));
                let d = score.score(x.clone(), t) * (-sig);
                let euler = x.clone() + d.clone() * (sig_next - sig);
                x = if t_next > 0.0 {
                    let d2 = score.score(euler, t_next) * (-sig_next);
                    x + (d + d2) * (0.5 * (sig_next - sig))
                } else {
                    euler
                };
            }
            Sampler::Flow => unreachable!("flow models are integrated by flow::integrate"),
        }
    }
    x
}

/// A constant `[B]` time tensor.
pub fn time_tensor(t: f64, batch: usize, device: &Device) -> Tensor<1> {
    Tensor::<1>::from_data(TensorData::new(vec![t as f32; batch], [batch]), device)
}

/// Run the draw `f` with burn's random stream seeded to `key`. burn's CPU stream is one
/// per process, so a draw that must repeat bit for bit while other threads draw too
/// (`les-eval` runs its viscosities in parallel) seeds it under this lock first.
pub fn seeded<T>(device: &Device, key: u64, f: impl FnOnce() -> T) -> T {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(key);
    f()
}

/// A seed made of several parts (a run's seed, a stream, a step): splitmix64 over them.
pub(crate) fn draw_key(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &p| {
        let mut z = (h ^ p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}
