//! Network layers of the score model, separate from the model that composes them:
//! the spectral convolution (truncated DFT written as matmuls, so it runs at any grid
//! size), the Gaussian-Fourier time embedding, and one FNO pipeline.
//!
//! Tensors are channels-last: `[batch, H, W, channels]`.

use std::f64::consts::TAU;

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, silu};

use super::gelu::gelu;
use burn::tensor::{Distribution, TensorData};

/// Pointwise nonlinearity of the pipelines and the head. GELU is the published choice
/// (the project's own op, [`super::gelu`]); ReLU is still cheaper, and the smaller, faster
/// models use it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Activation {
    Gelu,
    Relu,
}

impl Activation {
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Gelu => gelu(x),
            Activation::Relu => relu(x),
        }
    }
}

/// Coordinate channels appended to every pipeline's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coords {
    /// `x_i = i/N`: the torus' own coordinates (this project's networks).
    #[default]
    Periodic,
    /// `x_i = i/(N−1)`, i.e. `linspace(0, 1, N)`, as the published code's grid.
    Linspace,
}

/// Where a pipeline layer adds its time embedding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeAdd {
    /// `σ(K v + W v) + e` (this project's networks).
    #[default]
    AfterActivation,
    /// `σ(K v + W v + e)`, as the published code.
    BeforeActivation,
}

/// DFT matrices for one grid size, kept outside the modules (they depend on the input
/// size, not on trained weights). Modes along H: `0..m1` and `−m1..−1`; along W: `0..m2`.
/// Real and imaginary parts are stacked so that each step of the transform is one batched
/// matmul whose operands the CPU backend reads in place (no transposed copies of the field).
#[derive(Clone, Debug)]
pub struct DftBasis {
    pub n: usize,
    /// forward along H: `[4·m1, H]`, rows `cos(θ_h j)` then `−sin(θ_h j)`
    fh: Tensor<2>,
    /// forward along W: `[2·m2, W]`, rows `cos(θ_w k)` then `−sin(θ_w k)`
    fw: Tensor<2>,
    /// inverse along H: `[2·H, 4·m1]`, `[[cos, −sin], [sin, cos]]` acting on `[re; im]`
    ih: Tensor<2>,
    /// inverse along W to real, with Hermitian weights and 1/(H·W): `[W, 2·m2]`,
    /// columns for the real then the imaginary part
    iw: Tensor<2>,
}

impl DftBasis {
    /// Basis for an `n × n` grid keeping `m1` (±) modes along H and `m2` along W.
    /// Needs `2·m1 ≤ n` and `m2 ≤ n/2`.
    pub fn new(n: usize, m1: usize, m2: usize, device: &Device) -> Self {
        let mat = |rows: usize, cols: usize, f: &dyn Fn(usize, usize) -> f64| -> Tensor<2> {
            let v: Vec<f32> = (0..rows * cols)
                .map(|i| f(i / cols, i % cols) as f32)
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), device)
        };
        let kh = |j: usize| -> f64 {
            if j < m1 {
                j as f64
            } else {
                j as f64 - 2.0 * m1 as f64
            }
        };
        let nf = n as f64;
        let hw = nf * nf;
        let wgt = |k: usize| if k == 0 || 2 * k == n { 1.0 } else { 2.0 };
        let (j2, k2) = (2 * m1, m2);
        // angle of H-mode j at row h, and of W-mode k at column w
        let th = |j: usize, h: usize| TAU * kh(j) * h as f64 / nf;
        let tw = |k: usize, w: usize| TAU * (k * w) as f64 / nf;
        DftBasis {
            n,
            fh: mat(2 * j2, n, &|r, h| {
                if r < j2 {
                    th(r, h).cos()
                } else {
                    -th(r - j2, h).sin()
                }
            }),
            fw: mat(2 * k2, n, &|r, w| {
                if r < k2 {
                    tw(r, w).cos()
                } else {
                    -tw(r - k2, w).sin()
                }
            }),
            ih: mat(2 * n, 2 * j2, &|r, c| {
                let (h, j) = (r % n, c % j2);
                let (cos, sin) = (th(j, h).cos(), th(j, h).sin());
                match (r < n, c < j2) {
                    (true, true) => cos,
                    (true, false) => -sin,
                    (false, true) => sin,
                    (false, false) => cos,
                }
            }),
            iw: mat(n, 2 * k2, &|w, c| {
                let k = c % k2;
                let a = wgt(k) / hw;
                if c < k2 {
                    a * tw(k, w).cos()
                } else {
                    -a * tw(k, w).sin()
                }
            }),
        }
    }
}

/// Configuration of a [`SpectralConv2d`].
#[derive(Config, Debug)]
pub struct SpectralConvConfig {
    pub channels_in: usize,
    pub channels_out: usize,
    /// Modes kept along each axis (m along W; ±m along H).
    pub modes: usize,
}

impl SpectralConvConfig {
    pub fn init(&self, device: &Device) -> SpectralConv2d {
        let k = 2 * self.modes * self.modes;
        let scale = 1.0 / (self.channels_in * self.channels_out) as f64;
        let w = || {
            Param::from_tensor(
                Tensor::<3>::random(
                    [k, self.channels_in, self.channels_out],
                    Distribution::Uniform(0.0, 1.0),
                    device,
                )
                .mul_scalar(scale),
            )
        };
        SpectralConv2d {
            w_re: w(),
            w_im: w(),
            modes: self.modes,
        }
    }
}

/// Spectral convolution: truncated 2-D DFT, a complex channel mix per kept mode, inverse DFT.
///
/// # Shapes
/// input `[B, H, W, C_in]` → output `[B, H, W, C_out]`; weights `[2·m·m, C_in, C_out]`
/// (real and imaginary parts).
#[derive(Module, Debug)]
pub struct SpectralConv2d {
    pub(super) w_re: Param<Tensor<3>>,
    pub(super) w_im: Param<Tensor<3>>,
    modes: usize,
}

impl SpectralConv2d {
    /// The complex weights `(re, im)`, `[2·m·m, C_in, C_out]`; mode index `j·m + kw` with
    /// `j` over H-modes `0..m, −m..−1` and `kw` over W-modes `0..m`.
    pub fn weights(&self) -> (Tensor<3>, Tensor<3>) {
        (self.w_re.val(), self.w_im.val())
    }

    /// Each step of the transform is one batched matmul with the basis broadcast over the
    /// batch, reading the field in its channels-last layout; the per-mode complex channel
    /// mix is two batched matmuls over the modes, `[x_re; x_im]·W_re` and `[x_re; x_im]·W_im`,
    /// reading the weights in place (the block matrix `[[W_re, W_im], [−W_im, W_re]]` this
    /// layer built on every call cost more in copies than the mix itself; docs/science.md §9).
    pub fn forward(&self, x: Tensor<4>, basis: &DftBasis) -> Tensor<4> {
        let [b, h, w, c] = x.dims();
        let m = self.modes;
        let o = self.w_re.dims()[2];
        let k = 2 * m * m;
        // along H: [4m, H]·[B, H, W·C] → [B, 4m, W·C], rows (re|im, j)
        let a = basis
            .fh
            .clone()
            .unsqueeze::<3>()
            .matmul(x.reshape([b, h, w * c]));
        // along W: [2m, W]·[B·4m, W, C] → [B·4m, 2m, C], rows (cos|sin, kw)
        let p = basis
            .fw
            .clone()
            .unsqueeze::<3>()
            .matmul(a.reshape([b * 4 * m, w, c]))
            .reshape([b, 2, 2 * m, 2, m, c]);
        let part = |ri: usize, cs: usize| {
            p.clone()
                .narrow(1, ri, 1)
                .narrow(3, cs, 1)
                .reshape([b, k, c])
        };
        // X = A·F with A = A_re + i·A_im (H step), F = cos + i·(−sin) (W step)
        let x_re = part(0, 0) - part(1, 1);
        let x_im = part(0, 1) + part(1, 0);
        // channel mix per mode, real and imaginary rows stacked along the batch so that
        // the weights are read in place (no block matrix built per call):
        // [K, 2B, C]·[K, C, O] → [K, 2B, O], once with W_re and once with W_im
        let xs = Tensor::cat(vec![x_re, x_im], 0).swap_dims(0, 1);
        let with_re = xs.clone().matmul(self.w_re.val());
        let with_im = xs.matmul(self.w_im.val());
        let rows = |t: &Tensor<3>, im: bool| t.clone().narrow(1, if im { b } else { 0 }, b);
        // Y = X·W: re = X_re·W_re − X_im·W_im, im = X_re·W_im + X_im·W_re
        let y_re = rows(&with_re, false) - rows(&with_im, true);
        let y_im = rows(&with_im, false) + rows(&with_re, true);
        // → [B, (re|im, j), kw·O]
        let y = Tensor::stack::<4>(vec![y_re, y_im], 2)
            .reshape([2 * m, m, b, 2, o])
            .permute([2, 3, 0, 1, 4])
            .reshape([b, 4 * m, m * o]);
        // inverse along H: [2H, 4m]·[B, 4m, m·O] → [B, (re|im, h), kw·O]
        let z = basis.ih.clone().unsqueeze::<3>().matmul(y);
        // inverse along W to real: [W, 2m]·[B·H, (re|im, kw), O] → [B·H, W, O]
        let z = z
            .reshape([b, 2, h, m, o])
            .permute([0, 2, 1, 3, 4])
            .reshape([b * h, 2 * m, o]);
        basis
            .iw
            .clone()
            .unsqueeze::<3>()
            .matmul(z)
            .reshape([b, h, w, o])
    }
}

/// Gaussian random Fourier features of the diffusion time, then a dense layer and SiLU:
/// `t ↦ SiLU(A·[sin 2πtω, cos 2πtω])` with fixed `ω ~ N(0, scale²)` (seeded, not trained).
///
/// # Shapes
/// `t`: `[B]` → `[B, embed]`
#[derive(Module, Debug)]
pub struct TimeEmbedding {
    /// `2π·ω`, `[1, embed/2]`.
    pub(super) freqs: Tensor<2>,
    pub(super) dense: Linear,
}

#[derive(Config, Debug)]
pub struct TimeEmbeddingConfig {
    /// Output width (published 256; half of it are frequencies).
    #[config(default = 256)]
    pub embed: usize,
    #[config(default = 30.0)]
    pub scale: f64,
    #[config(default = 7)]
    pub seed: u64,
}

impl TimeEmbeddingConfig {
    pub fn init(&self, device: &Device) -> TimeEmbedding {
        use rand::SeedableRng;
        use rand_distr::{Distribution as _, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        let half = self.embed / 2;
        let f: Vec<f32> = (0..half)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (z * self.scale * TAU) as f32
            })
            .collect();
        TimeEmbedding {
            freqs: Tensor::<2>::from_data(TensorData::new(f, [1, half]), device),
            dense: LinearConfig::new(self.embed, self.embed).init(device),
        }
    }
}

impl TimeEmbedding {
    pub fn forward(&self, t: Tensor<1>) -> Tensor<2> {
        let [b] = t.dims();
        let proj = t.reshape([b, 1]).matmul(self.freqs.clone());
        let feat = Tensor::cat(vec![proj.clone().sin(), proj.cos()], 1);
        silu(self.dense.forward(feat))
    }
}

/// One FNO pipeline: append (x, y) coordinates, lift pointwise to `width`, then `layers`
/// Fourier layers `v ↦ σ(K v + W v)` (GELU between layers, none after the last); when a
/// time embedding is given, a per-layer dense projection of it is added after each layer.
///
/// # Shapes
/// input `[B, H, W, C_in]` → `[B, H, W, width]`
#[derive(Module, Debug)]
pub struct FnoPipeline {
    pub(super) lift: Linear,
    pub(super) spectral: Vec<SpectralConv2d>,
    pub(super) pointwise: Vec<Linear>,
    pub(super) time: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    coords: Coords,
    #[module(skip)]
    time_add: TimeAdd,
}

#[derive(Config, Debug)]
pub struct FnoPipelineConfig {
    pub channels_in: usize,
    pub width: usize,
    pub modes: usize,
    pub layers: usize,
    /// Width of the time embedding this pipeline receives (0 = none).
    #[config(default = 0)]
    pub time_embed: usize,
    #[config(default = "Activation::Gelu")]
    pub activation: Activation,
    #[config(default = "Coords::Periodic")]
    pub coords: Coords,
    #[config(default = "TimeAdd::AfterActivation")]
    pub time_add: TimeAdd,
}

impl FnoPipelineConfig {
    pub fn init(&self, device: &Device) -> FnoPipeline {
        FnoPipeline {
            lift: LinearConfig::new(self.channels_in + 2, self.width).init(device),
            spectral: (0..self.layers)
                .map(|_| SpectralConvConfig::new(self.width, self.width, self.modes).init(device))
                .collect(),
            pointwise: (0..self.layers)
                .map(|_| LinearConfig::new(self.width, self.width).init(device))
                .collect(),
            time: if self.time_embed > 0 {
                (0..self.layers)
                    .map(|_| LinearConfig::new(self.time_embed, self.width).init(device))
                    .collect()
            } else {
                Vec::new()
            },
            activation: self.activation,
            coords: self.coords,
            time_add: self.time_add,
        }
    }
}

/// `(x, y)` coordinate channels `[1, n, n, 2]`: `x_i = i/n`, `y_j = j/n` (periodic) or
/// `i/(n−1)`, `j/(n−1)` (linspace).
pub(crate) fn coordinates(n: usize, coords: Coords, device: &Device) -> Tensor<4> {
    let span = match coords {
        Coords::Periodic => n as f64,
        Coords::Linspace => (n.max(2) - 1) as f64,
    };
    let v: Vec<f32> = (0..n * n)
        .flat_map(|i| {
            [
                ((i / n) as f64 / span) as f32,
                ((i % n) as f64 / span) as f32,
            ]
        })
        .collect();
    Tensor::<4>::from_data(TensorData::new(v, [1, n, n, 2]), device)
}

impl FnoPipeline {
    pub fn forward(&self, x: Tensor<4>, basis: &DftBasis, emb: Option<&Tensor<2>>) -> Tensor<4> {
        let [b, n, _, _] = x.dims();
        let coords = coordinates(n, self.coords, &x.device()).repeat_dim(0, b);
        let mut v = self.lift.forward(Tensor::cat(vec![x, coords], 3));
        let last = self.spectral.len().saturating_sub(1);
        let time = |l: usize| -> Option<Tensor<4>> {
            let (e, d) = (emb?, self.time.get(l)?);
            let width = d.weight.dims()[1];
            Some(d.forward(e.clone()).reshape([b, 1, 1, width]))
        };
        for (l, (k, w)) in self.spectral.iter().zip(&self.pointwise).enumerate() {
            v = k.forward(v.clone(), basis) + w.forward(v);
            let before = self.time_add == TimeAdd::BeforeActivation;
            if before && let Some(e) = time(l) {
                v = v + e;
            }
            if l < last {
                v = self.activation.apply(v);
            }
            if !before && let Some(e) = time(l) {
                v = v + e;
            }
        }
        v
    }
}
