//! Reverse-time samplers for the VE SDE. A sampler is a schedule ([`super::sde::Schedule`])
//! plus an update rule:
//! * [`Sampler::EulerMaruyama`] — the published reverse-SDE sampler: `x ← x + g²·s·Δt +
//!   g·√Δt·z`; the last step returns the mean (no noise). One evaluation per step.
//! * [`Sampler::Heun`] — Heun's method on the probability-flow ODE written in
//!   σ: `dx/dσ = −σ·s(x, t(σ))`; the last step (to σ = 0) is an Euler step, i.e. the
//!   Tweedie denoiser. 2n − 1 evaluations for n steps.
//!
//! Both start from `x ~ N(0, σ(T)²)`.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use serde::{Deserialize, Serialize};

use super::sde::{Schedule, VeSde};

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
}

impl Sampler {
    /// Network evaluations for a schedule of `steps` steps.
    pub fn nfe(&self, steps: usize) -> usize {
        match self {
            Sampler::EulerMaruyama => steps,
            Sampler::Heun => (2 * steps).saturating_sub(1),
        }
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

/// Draw `shape` samples with `sampler` on `schedule`.
pub fn sample(
    score: &mut impl ScoreFn,
    sde: VeSde,
    sampler: Sampler,
    schedule: &Schedule,
    shape: [usize; 4],
    device: &Device,
) -> Tensor<4> {
    let times = schedule.times();
    let std0 = sde.marginal_std(times[0]);
    let mut x = Tensor::<4>::random(shape, Distribution::Normal(0.0, std0), device);
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
        }
    }
    x
}

/// A constant `[B]` time tensor.
pub fn time_tensor(t: f64, batch: usize, device: &Device) -> Tensor<1> {
    Tensor::<1>::from_data(TensorData::new(vec![t as f32; batch], [batch]), device)
}
