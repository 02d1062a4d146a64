//! Denoising score matching (docs/science.md §3): `t ~ U(ε, T]`, `x_t = x₀ + σ(t)·z`,
//! `loss = mean over the batch of Σ_pixels (σ(t)·s_θ(x_t, t) + z)²`.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::Rng;

use super::layers::DftBasis;
use super::score::ScoreNet;

/// Range of diffusion times drawn in training.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct TimeRange {
    pub eps: f64,
    pub t_max: f64,
}

/// DSM loss of one batch. `x0`, `omega`, `obs`: `[B,N,N,·]` on the training device;
/// `density`: one-hot `[B, classes]` for a network conditioned on the sensor density.
#[allow(clippy::too_many_arguments)]
pub fn dsm_loss(
    net: &ScoreNet,
    x0: Tensor<4>,
    omega: Tensor<4>,
    obs: Tensor<4>,
    density: Option<Tensor<2>>,
    range: TimeRange,
    basis: &DftBasis,
    rng: &mut impl Rng,
) -> Tensor<1> {
    let [b, n, _, _] = x0.dims();
    let device = x0.device();
    let sde = net.sde();
    let ts: Vec<f32> = (0..b)
        .map(|_| rng.random_range(range.eps..range.t_max) as f32)
        .collect();
    let stds: Vec<f32> = ts
        .iter()
        .map(|&t| sde.marginal_std(t as f64) as f32)
        .collect();
    let t = Tensor::<1>::from_data(TensorData::new(ts, [b]), &device);
    let std = Tensor::<1>::from_data(TensorData::new(stds, [b]), &device).reshape([b, 1, 1, 1]);
    // drawn on the host from `rng`: burn's parallel random fill depends on how its
    // threads split the work, and a training run must repeat (and resume) bit for bit
    let z: Vec<f32> = (0..b * n * n)
        .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
        .collect();
    let z = Tensor::<4>::from_data(TensorData::new(z, [b, n, n, 1]), &device);
    let xt = x0 + z.clone() * std.clone();
    let s = net.forward(xt, t, omega, obs, density, basis);
    let r = s * std + z;
    r.powi_scalar(2).sum().div_scalar(b as f64)
}
