//! The competitors of the learned stochastic subgrid closure, on the same backbone (one
//! FNO pipeline over ω̄ with the label embedding added at every layer, a pointwise head):
//! a deterministic FNO trained by mean-squared error (Π̂ = f(ω̄, ν)), and "mean + noise",
//! the same network with a second output channel, the log-variance of a pointwise
//! Gaussian, trained by its negative log-likelihood.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

use crate::closure::layers::{Activation, DftBasis, FnoPipeline, FnoPipelineConfig};

/// Architecture of a [`Regressor`].
#[derive(Config, Debug)]
pub struct RegressorConfig {
    #[config(default = 20)]
    pub width: usize,
    #[config(default = 8)]
    pub modes: usize,
    #[config(default = 4)]
    pub layers: usize,
    /// Widths of the pointwise head after the pipeline.
    #[config(default = "vec![40, 20]")]
    pub head: Vec<usize>,
    #[config(default = 32)]
    pub projection: usize,
    /// Length of the label vector (ν, fidelity); 0: none.
    pub labels: usize,
    /// Width of the label embedding.
    #[config(default = 64)]
    pub embed: usize,
    /// Output a pointwise standard deviation beside the mean ("mean + noise").
    #[config(default = false)]
    pub noise: bool,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

/// `f(ω̄, labels)` → `[B, N, N, 1]` (mean) or `[B, N, N, 2]` (mean, log-variance).
#[derive(Module, Debug)]
pub struct Regressor {
    embed: Option<Linear>,
    pipe: FnoPipeline,
    head: Vec<Linear>,
    proj1: Linear,
    proj2: Linear,
    modes: usize,
    #[module(skip)]
    activation: Activation,
}

impl RegressorConfig {
    pub fn init(&self, device: &Device) -> Regressor {
        let embed = self.labels > 0;
        let mut head = Vec::new();
        let mut last = self.width;
        for &h in &self.head {
            head.push(LinearConfig::new(last, h).init(device));
            last = h;
        }
        Regressor {
            embed: embed.then(|| LinearConfig::new(self.labels, self.embed).init(device)),
            pipe: FnoPipelineConfig::new(1, self.width, self.modes, self.layers)
                .with_time_embed(if embed { self.embed } else { 0 })
                .with_activation(self.activation)
                .init(device),
            head,
            proj1: LinearConfig::new(last, self.projection).init(device),
            proj2: LinearConfig::new(self.projection, if self.noise { 2 } else { 1 }).init(device),
            modes: self.modes,
            activation: self.activation,
        }
    }
}

impl Regressor {
    pub fn basis(&self, n: usize, device: &Device) -> DftBasis {
        DftBasis::new(n, self.modes, self.modes, device)
    }

    /// Modes kept per axis (the DFT basis must be built with these).
    pub fn modes(&self) -> usize {
        self.modes
    }

    /// `omega`: `[B, N, N, 1]`; `labels`: `[B, L]` (ignored without a label input).
    pub fn forward(
        &self,
        omega: Tensor<4>,
        labels: Option<Tensor<2>>,
        basis: &DftBasis,
    ) -> Tensor<4> {
        let emb = match (&self.embed, labels) {
            (Some(l), Some(v)) => Some(silu(l.forward(v))),
            _ => None,
        };
        let act = self.activation;
        let mut v = self.pipe.forward(omega, basis, emb.as_ref());
        for l in &self.head {
            v = act.apply(l.forward(v));
        }
        self.proj2.forward(act.apply(self.proj1.forward(v)))
    }
}

/// Mean-squared error per pixel.
pub fn mse(pred: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    (pred - target).powi_scalar(2).mean()
}

/// Log-variance range the noise head is held to (a pointwise std from e^-6 to e^3 of
/// the target's scale): keeps the likelihood finite while the head is untrained.
const LOGVAR: (f64, f64) = (-12.0, 6.0);

/// Split a two-channel output into mean and standard deviation, `[B, N, N, 1]` each.
pub fn mean_and_std(out: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let [b, n, m, _] = out.dims();
    let mean = out.clone().slice([0..b, 0..n, 0..m, 0..1]);
    let logvar = out
        .slice([0..b, 0..n, 0..m, 1..2])
        .clamp(LOGVAR.0, LOGVAR.1);
    (mean, logvar.mul_scalar(0.5).exp())
}

/// Gaussian negative log-likelihood per pixel (without the constant ½ ln 2π).
pub fn gaussian_nll(out: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let [b, n, m, _] = out.dims();
    let mean = out.clone().slice([0..b, 0..n, 0..m, 0..1]);
    let logvar = out
        .slice([0..b, 0..n, 0..m, 1..2])
        .clamp(LOGVAR.0, LOGVAR.1);
    let r2 = (target - mean).powi_scalar(2);
    (logvar.clone() + r2 * logvar.neg().exp())
        .mul_scalar(0.5)
        .mean()
}
