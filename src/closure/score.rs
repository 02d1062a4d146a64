//! The conditional score network: three FNO pipelines (noisy sample, vorticity, sensor
//! field), a time embedding added after each layer of the noisy-sample pipeline, a
//! pointwise fusion head, and division by σ(t) (docs/science.md §3).
//!
//! The first head layer acts on the concatenation `[h_x, h_ω, h_obs]`; it is split into
//! three blocks so that the ω and sensor parts — which do not depend on the diffusion time
//! or the noisy sample — are computed once per sample ([`ScoreNet::condition`]) and an
//! n-step sampler pays n evaluations of the noisy pipeline and head only.

use super::layers::{
    Activation, Coords, DftBasis, FnoPipeline, FnoPipelineConfig, TimeAdd, TimeEmbedding,
    TimeEmbeddingConfig,
};
use super::sde::VeSde;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Architecture of the score network. The defaults are the published model (≈1.31 M
/// parameters).
#[derive(Config, Debug)]
pub struct ScoreNetConfig {
    /// Channels of each FNO pipeline.
    #[config(default = 20)]
    pub width: usize,
    /// Fourier modes kept per axis.
    #[config(default = 8)]
    pub modes: usize,
    /// Fourier layers per pipeline.
    #[config(default = 4)]
    pub layers: usize,
    /// Conditioning channels fed to the ω pipeline (1 = ω only).
    #[config(default = 1)]
    pub omega_channels: usize,
    /// Fourier layers of the noisy-sample pipeline, the one paid at every network
    /// evaluation (None = `layers`, as published). The ω and sensor pipelines, computed
    /// once per sample, keep `layers`.
    #[config(default = "None")]
    pub x_layers: Option<usize>,
    /// Widths of the 1×1 fusion layers after the concatenation (published 40, 20, 20).
    #[config(default = "vec![40, 20, 20]")]
    pub head: Vec<usize>,
    /// Hidden width of the final pointwise projection (published 128).
    #[config(default = 128)]
    pub projection: usize,
    #[config(default = "TimeEmbeddingConfig::new()")]
    pub time: TimeEmbeddingConfig,
    /// σ of the VE SDE (published 26).
    #[config(default = "super::sde::PUBLISHED_SIGMA")]
    pub sde_sigma: f64,
    /// Output parametrisation. 0: published, `s = F(x, t)/σ(t)`. > 0: EDM
    /// preconditioning (Karras et al. 2022) with this data standard deviation σ_d:
    /// the network sees `x/√(σ²+σ_d²)` and the denoiser `D = c_skip·x + c_out·F` gives
    /// `s = (D − x)/σ²`, with `c_skip = σ_d²/(σ²+σ_d²)`, `c_out = σσ_d/√(σ²+σ_d²)`.
    #[config(default = 0.0)]
    pub sigma_data: f64,
    /// Nonlinearity of pipelines and head (None = GELU, as published; cards written
    /// before this option existed load as GELU).
    #[config(default = "None")]
    pub activation: Option<Activation>,
    /// Sensor-density classes the network is conditioned on (None or 0: none, as
    /// published).
    /// The class enters as a one-hot vector whose learned embedding is added to the time
    /// embedding, so it reaches every layer of the noisy-sample pipeline (the way DGMF
    /// feeds its fidelity).
    #[config(default = "None")]
    pub densities: Option<usize>,
    /// Length of a vector of continuous or one-hot settings the network is conditioned
    /// on besides the density (None or 0: none) — for the subgrid case ν and the
    /// fidelity of the training data (`crate::les::learn`). It follows the density
    /// one-hot in the same embedding input, so it too reaches every layer of the
    /// noisy-sample pipeline.
    #[config(default = "None")]
    pub conditions: Option<usize>,
    /// Coordinate channels (None = periodic `i/N`; the published code's networks use
    /// `linspace`, `i/(N−1)`, and imported PyTorch models say so).
    #[config(default = "None")]
    pub coords: Option<Coords>,
    /// Where the time embedding enters a layer (None = after its activation; the
    /// published code adds it before).
    #[config(default = "None")]
    pub time_add: Option<TimeAdd>,
}

/// The score network `s_θ(x, t | ω, obs)`.
///
/// # Shapes
/// `x`, `omega`, `obs`: `[B, N, N, 1]` (ω: `[B, N, N, omega_channels]`), `t`: `[B]`;
/// output `[B, N, N, 1]`. Any N with `N ≥ 2·modes` works with the same weights.
#[derive(Module, Debug)]
pub struct ScoreNet {
    pub(super) embed: TimeEmbedding,
    pub(super) x_pipe: FnoPipeline,
    pub(super) omega_pipe: FnoPipeline,
    pub(super) obs_pipe: FnoPipeline,
    pub(super) head_x: Linear,
    pub(super) head_omega: Linear,
    pub(super) head_obs: Linear,
    density: Option<Linear>,
    pub(super) head: Vec<Linear>,
    pub(super) proj1: Linear,
    pub(super) proj2: Linear,
    modes: usize,
    sde_sigma: f64,
    sigma_data: f64,
    #[module(skip)]
    activation: Activation,
}

/// The time-independent part of the network for one conditioning: the ω and sensor
/// pipelines pushed through their blocks of the first head layer.
#[derive(Clone, Debug)]
pub struct Conditioning {
    pub features: Tensor<4>,
    /// Embedding of the density class, `[B or 1, embed]` (None without density input).
    pub density: Option<Tensor<2>>,
}

impl ScoreNetConfig {
    /// Reject shapes and constants a network cannot be built or run with (a model card is
    /// input from a file), naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let size = |name: &str, v: usize, max: usize| {
            if (1..=max).contains(&v) {
                Ok(())
            } else {
                Err(format!("net.{name} must be 1…{max}, got {v}"))
            }
        };
        size("width", self.width, 1024)?;
        size("modes", self.modes, 256)?;
        size("layers", self.layers, 32)?;
        size("omega_channels", self.omega_channels, 16)?;
        for (name, v) in [
            ("densities", self.densities),
            ("conditions", self.conditions),
        ] {
            if v.unwrap_or(0) > 64 {
                return Err(format!("net.{name} must be 0…64, got {}", v.unwrap_or(0)));
            }
        }
        size(
            "x_layers",
            self.x_layers.unwrap_or(self.layers),
            self.layers,
        )?;
        size("projection", self.projection, 8192)?;
        size("time.embed", self.time.embed, 8192)?;
        size("head length", self.head.len(), 16)?;
        for &h in &self.head {
            size("head width", h, 4096)?;
        }
        if !(self.sde_sigma.is_finite() && self.sde_sigma > 1.0 && self.sde_sigma <= 1e6) {
            return Err(format!(
                "net.sde_sigma must be in (1, 1e6], got {}",
                self.sde_sigma
            ));
        }
        if !(self.time.scale.is_finite() && self.time.scale > 0.0) {
            return Err(format!(
                "net.time.scale must be positive, got {}",
                self.time.scale
            ));
        }
        if !(self.sigma_data.is_finite() && self.sigma_data >= 0.0) {
            return Err(format!(
                "net.sigma_data must be ≥ 0, got {}",
                self.sigma_data
            ));
        }
        Ok(())
    }

    /// Width of the embedded label vector: the density one-hot, then the conditions.
    pub fn labels(&self) -> usize {
        self.densities.unwrap_or(0) + self.conditions.unwrap_or(0)
    }

    pub fn activation(&self) -> Activation {
        self.activation.unwrap_or(Activation::Gelu)
    }

    pub fn init(&self, device: &Device) -> ScoreNet {
        let pipe = |c_in: usize, time: usize| {
            let layers = if time > 0 {
                self.x_layers.unwrap_or(self.layers)
            } else {
                self.layers
            };
            FnoPipelineConfig::new(c_in, self.width, self.modes, layers)
                .with_time_embed(time)
                .with_activation(self.activation())
                .with_coords(self.coords.unwrap_or_default())
                .with_time_add(self.time_add.unwrap_or_default())
                .init(device)
        };
        let first = self.head.first().copied().unwrap_or(self.width);
        let mut head = Vec::new();
        for w in self.head.windows(2) {
            head.push(LinearConfig::new(w[0], w[1]).init(device));
        }
        let last = self.head.last().copied().unwrap_or(first);
        ScoreNet {
            embed: self.time.init(device),
            x_pipe: pipe(1, self.time.embed),
            omega_pipe: pipe(self.omega_channels, 0),
            obs_pipe: pipe(1, 0),
            head_x: LinearConfig::new(self.width, first).init(device),
            head_omega: LinearConfig::new(self.width, first)
                .with_bias(false)
                .init(device),
            head_obs: LinearConfig::new(self.width, first)
                .with_bias(false)
                .init(device),
            density: Some(self.labels()).filter(|&k| k > 0).map(|k| {
                LinearConfig::new(k, self.time.embed)
                    .with_bias(false)
                    .init(device)
            }),
            head,
            proj1: LinearConfig::new(last, self.projection).init(device),
            proj2: LinearConfig::new(self.projection, 1).init(device),
            modes: self.modes,
            sde_sigma: self.sde_sigma,
            sigma_data: self.sigma_data,
            activation: self.activation(),
        }
    }
}

impl ScoreNet {
    /// Modes kept per axis (the DFT basis must be built with these).
    pub fn modes(&self) -> usize {
        self.modes
    }

    /// DFT basis for an `n × n` input.
    pub fn basis(&self, n: usize, device: &Device) -> DftBasis {
        DftBasis::new(n, self.modes, self.modes, device)
    }

    pub fn sde(&self) -> VeSde {
        VeSde {
            sigma: self.sde_sigma,
        }
    }

    /// Precompute the ω and sensor branches (`omega`: `[B,N,N,C_ω]`, `obs`: `[B,N,N,1]`)
    /// and the label embedding (`density`: `[B or 1, labels]`, the density one-hot then
    /// the conditions; ignored by a network without labels).
    pub fn condition(
        &self,
        omega: Tensor<4>,
        obs: Tensor<4>,
        density: Option<Tensor<2>>,
        basis: &DftBasis,
    ) -> Conditioning {
        // independent branches: one per core
        let (h_w, h_o) = rayon::join(
            || self.omega_pipe.forward(omega, basis, None),
            || self.obs_pipe.forward(obs, basis, None),
        );
        Conditioning {
            features: self.head_omega.forward(h_w) + self.head_obs.forward(h_o),
            density: match (&self.density, density) {
                (Some(layer), Some(onehot)) => Some(layer.forward(onehot)),
                _ => None,
            },
        }
    }

    /// Score at noisy sample `x` (`[B,N,N,1]`) and times `t` (`[B]`) given a conditioning
    /// whose batch is B or 1.
    pub fn score(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        cond: &Conditioning,
        basis: &DftBasis,
    ) -> Tensor<4> {
        let [b, _, _, _] = x.dims();
        let var = super::sde::VeSde {
            sigma: self.sde_sigma,
        }
        .marginal_var(t.clone())
        .reshape([b, 1, 1, 1]);
        let sd = self.sigma_data;
        let x_in = if sd > 0.0 {
            x.clone() / (var.clone() + sd * sd).sqrt()
        } else {
            x.clone()
        };
        let emb = self.embedding(t, cond);
        let h = self.x_pipe.forward(x_in, basis, Some(&emb));
        let out = self.head_out(h, cond);
        if sd > 0.0 {
            // D = c_skip x + c_out F;  s = (D − x)/σ² = (c_skip − 1) x/σ² + c_out F/σ²
            let tot = var.clone() + sd * sd;
            let c_out = var.clone().sqrt() * sd / tot.clone().sqrt();
            x.neg() / tot + out * c_out / var
        } else {
            // divide by σ(t)
            out / var.sqrt()
        }
    }

    /// The network's output read raw (no division by σ(t), no preconditioning): the
    /// end-point estimate `D(x_t, t)` of a flow generator ([`super::flow`]), `t ∈ [0, 1]`.
    pub fn raw(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        cond: &Conditioning,
        basis: &DftBasis,
    ) -> Tensor<4> {
        let emb = self.embedding(t, cond);
        self.head_out(self.x_pipe.forward(x, basis, Some(&emb)), cond)
    }

    /// The time embedding plus the conditioning's label embedding (`[B, embed]`).
    fn embedding(&self, t: Tensor<1>, cond: &Conditioning) -> Tensor<2> {
        let emb = self.embed.forward(t);
        match &cond.density {
            Some(d) => emb + d.clone(),
            None => emb,
        }
    }

    /// Fusion head and projection after the noisy-sample pipeline.
    fn head_out(&self, h: Tensor<4>, cond: &Conditioning) -> Tensor<4> {
        let act = self.activation;
        let mut v = act.apply(self.head_x.forward(h) + cond.features.clone());
        for l in &self.head {
            v = act.apply(l.forward(v));
        }
        self.proj2.forward(act.apply(self.proj1.forward(v)))
    }

    /// Convenience: full forward pass (conditioning recomputed).
    pub fn forward(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        omega: Tensor<4>,
        obs: Tensor<4>,
        density: Option<Tensor<2>>,
        basis: &DftBasis,
    ) -> Tensor<4> {
        let cond = self.condition(omega, obs, density, basis);
        self.score(x, t, &cond, basis)
    }
}
