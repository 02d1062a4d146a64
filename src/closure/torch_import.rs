//! The published PyTorch score networks, imported: a state dict of `FNO2d` (ω + sensor
//! field) or `FNO2d_NoSparse` (ω only) becomes this project's [`ScoreNet`] with the same
//! function (docs/science.md §3), the architecture read from the keys and shapes.
//!
//! How the published layers land in [`ScoreNet`]:
//! * `fc0` / `fc0_w` / `fc0_sparse` lift the noisy-sample / ω / sensor pipelines;
//!   `conv{k}_*` (complex `weights1` for H-modes `0..m`, `weights2` for `−m..−1`) and
//!   `w{k}_*` (1×1 convolutions) are their layers;
//! * `embed.0.W` (Gaussian frequencies) and `embed.1` form the time embedding; the one
//!   `dense0.dense` projection is added at every layer of the noisy-sample pipeline, before
//!   the activation, as published;
//! * `transformation_net.0` acts on `[x, ω, sensors]` and is split into the three head
//!   blocks (the sensor block is zero for `FNO2d_NoSparse`); `.2`, `.4` … are the rest of
//!   the head, `fc1`/`fc2` the projection.
//!
//! The grid channels are `linspace(0, 1, N)` and the time embedding is added inside the
//! activation, both recorded in the card, so the imported network reproduces PyTorch's
//! output (tests/data/torch, `scripts/torch_fixture.py`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;

use super::card::{ModelCard, PublishedPart, TrainingInfo};
use super::layers::{Coords, FnoPipeline, TimeAdd};
use super::model::{ClosureError, ClosureModel, InputSpec, Target};
use super::pth::{self, PthData, PthTensor};
use super::score::{ScoreNet, ScoreNetConfig};
use super::sensors::Densify;
use crate::solver::Case;

/// σ of the VE SDE the published networks were trained with (not stored in the file).
pub const PUBLISHED_SDE_SIGMA: f64 = super::sde::PUBLISHED_SIGMA;

/// The state dict with the keys taken so far; what is left at the end is unexpected.
struct StateDict {
    tensors: BTreeMap<String, PthTensor>,
    used: BTreeSet<String>,
}

impl StateDict {
    fn get(&mut self, key: &str) -> Result<&PthTensor, String> {
        let t = self
            .tensors
            .get(key)
            .ok_or_else(|| format!("state dict has no key `{key}`"))?;
        self.used.insert(key.to_string());
        Ok(t)
    }

    fn shape(&self, key: &str) -> Result<Vec<usize>, String> {
        self.tensors
            .get(key)
            .map(|t| t.shape.clone())
            .ok_or_else(|| format!("state dict has no key `{key}`"))
    }

    fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// The values of `key`, which must have `shape` and be complex or not as asked.
    fn take(&mut self, key: &str, shape: &[usize], complex: bool) -> Result<Vec<f32>, String> {
        let t = self.get(key)?;
        if t.shape != shape || t.is_complex() != complex {
            let kind = |c: bool| if c { " complex" } else { "" };
            return Err(format!(
                "state dict key `{key}` has shape {:?}{}, expected {shape:?}{}",
                t.shape,
                kind(t.is_complex()),
                kind(complex)
            ));
        }
        let v = match &t.data {
            PthData::Real(v) | PthData::Complex(v) => v.clone(),
        };
        if v.iter().any(|x| !x.is_finite()) {
            return Err(format!(
                "state dict key `{key}` holds NaN or infinite values"
            ));
        }
        Ok(v)
    }

    fn finish(self) -> Result<(), String> {
        match self.tensors.keys().find(|k| !self.used.contains(*k)) {
            Some(k) => Err(format!(
                "state dict key `{k}` is not part of the published FNO2d / FNO2d_NoSparse networks"
            )),
            None => Ok(()),
        }
    }
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// A torch `Linear(in, out)` (`weight` `[out, in]`) or 1×1 `Conv2d` (`[out, in, 1, 1]`) as a
/// burn [`Linear`] (`[in, out]`). `cols` keeps input columns `cols.0..cols.1` only.
fn linear(
    sd: &mut StateDict,
    name: &str,
    shape: &[usize],
    cols: Option<(usize, usize)>,
    bias: bool,
    device: &Device,
) -> Result<Linear, String> {
    let (out, inp) = (shape[0], shape[1]);
    let w = sd.take(&format!("{name}.weight"), shape, false)?;
    let (c0, c1) = cols.unwrap_or((0, inp));
    let mut t = Vec::with_capacity((c1 - c0) * out);
    for i in c0..c1 {
        for o in 0..out {
            t.push(w[o * inp + i]);
        }
    }
    let bias = if bias {
        let b = sd.take(&format!("{name}.bias"), &[out], false)?;
        Some(Param::from_tensor(tensor(b, [out], device)))
    } else {
        None
    };
    Ok(Linear {
        weight: Param::from_tensor(tensor(t, [c1 - c0, out], device)),
        bias,
    })
}

/// Weights of one published pipeline (`lift` = `fc0…`, `suffix` = `x`, `w` or `sparse`).
fn pipeline(
    sd: &mut StateDict,
    pipe: &mut FnoPipeline,
    lift: &str,
    suffix: &str,
    width: usize,
    modes: usize,
    device: &Device,
) -> Result<(), String> {
    pipe.lift = linear(sd, lift, &[width, 3], None, true, device)?;
    let m = modes;
    for (k, spec) in pipe.spectral.iter_mut().enumerate() {
        let shape = [width, width, m, m];
        let w1 = sd.take(&format!("conv{k}_{suffix}.weights1"), &shape, true)?;
        let w2 = sd.take(&format!("conv{k}_{suffix}.weights2"), &shape, true)?;
        // torch [i, o, a, b] complex → ours [(j·m + b), i, o] with j = a (weights1) or
        // m + a (weights2)
        let kk = 2 * m * m;
        let (mut re, mut im) = (
            vec![0f32; kk * width * width],
            vec![0f32; kk * width * width],
        );
        for (src, j0) in [(&w1, 0), (&w2, m)] {
            for i in 0..width {
                for o in 0..width {
                    for a in 0..m {
                        for b in 0..m {
                            let s = 2 * (((i * width + o) * m + a) * m + b);
                            let d = (((j0 + a) * m + b) * width + i) * width + o;
                            re[d] = src[s];
                            im[d] = src[s + 1];
                        }
                    }
                }
            }
        }
        spec.w_re = Param::from_tensor(tensor(re, [kk, width, width], device));
        spec.w_im = Param::from_tensor(tensor(im, [kk, width, width], device));
    }
    for (k, pw) in pipe.pointwise.iter_mut().enumerate() {
        *pw = linear(
            sd,
            &format!("w{k}_{suffix}"),
            &[width, width, 1, 1],
            None,
            true,
            device,
        )?;
    }
    Ok(())
}

/// Build the network a published state dict describes; the error names the first key
/// that is missing, misshapen or unexpected. Returns the network, its configuration and
/// whether it reads a sensor field (`FNO2d`) or not (`FNO2d_NoSparse`).
pub fn network(
    tensors: BTreeMap<String, PthTensor>,
    device: &Device,
) -> Result<(ScoreNetConfig, ScoreNet, bool), String> {
    let mut sd = StateDict {
        tensors,
        used: BTreeSet::new(),
    };
    let sparse = sd.has("fc0_sparse.weight");
    let cfg = architecture(&sd)?;
    let mut net = cfg.init(device);
    time_and_branches(&mut sd, &mut net, &cfg, sparse, device)?;
    head(&mut sd, &mut net, &cfg, sparse, device)?;
    sd.finish()?;
    Ok((cfg, net, sparse))
}

/// The architecture read off the tensors' shapes: every size the network is built with
/// is the shape of a tensor the file holds, so a damaged file cannot ask for more memory
/// than its own size implies.
fn architecture(sd: &StateDict) -> Result<ScoreNetConfig, String> {
    let width = sd.shape("fc0.weight")?.first().copied().unwrap_or(0);
    // a layer is there if any of its noisy-sample keys is (a missing one is then named)
    let layers = (0..)
        .take_while(|k| {
            [
                format!("conv{k}_x.weights1"),
                format!("conv{k}_x.weights2"),
                format!("w{k}_x.weight"),
            ]
            .iter()
            .any(|key| sd.has(key))
        })
        .count();
    let spec = sd.shape("conv0_x.weights1")?;
    let modes = spec.get(2).copied().unwrap_or(0);
    if spec != [width, width, modes, modes] {
        return Err(format!(
            "state dict key `conv0_x.weights1` has shape {spec:?}, expected [{width}, {width}, m, m]"
        ));
    }
    let embed = sd.shape("embed.1.weight")?.first().copied().unwrap_or(0);
    let mut head = Vec::new();
    while let Ok(s) = sd.shape(&format!("transformation_net.{}.weight", 2 * head.len())) {
        head.push(s.first().copied().unwrap_or(0));
    }
    let projection = sd.shape("fc1.weight")?.first().copied().unwrap_or(0);
    if width == 0 || modes == 0 || layers == 0 || head.is_empty() || embed % 2 != 0 {
        return Err("state dict does not describe a published FNO2d network".into());
    }
    let cfg = ScoreNetConfig::new()
        .with_width(width)
        .with_modes(modes)
        .with_layers(layers)
        .with_head(head)
        .with_projection(projection)
        .with_time(super::layers::TimeEmbeddingConfig::new().with_embed(embed))
        .with_sde_sigma(PUBLISHED_SDE_SIGMA)
        .with_coords(Some(Coords::Linspace))
        .with_time_add(Some(TimeAdd::BeforeActivation));
    cfg.validate()?;
    Ok(cfg)
}

/// The time embedding (fixed frequencies W — features sin/cos 2πtW —, dense, SiLU; one
/// projection to the channels, added at every layer) and the FNO branches of the noisy
/// sample, ω and (`sparse`) the sensor field.
fn time_and_branches(
    sd: &mut StateDict,
    net: &mut ScoreNet,
    cfg: &ScoreNetConfig,
    sparse: bool,
    device: &Device,
) -> Result<(), String> {
    let (width, modes, embed) = (cfg.width, cfg.modes, cfg.time.embed);
    let w = sd.take("embed.0.W", &[embed / 2], false)?;
    let freqs: Vec<f32> = w
        .iter()
        .map(|&x| (x as f64 * std::f64::consts::TAU) as f32)
        .collect();
    net.embed.freqs = tensor(freqs, [1, embed / 2], device);
    net.embed.dense = linear(sd, "embed.1", &[embed, embed], None, true, device)?;
    let dense0 = linear(sd, "dense0.dense", &[width, embed], None, true, device)?;
    for t in net.x_pipe.time.iter_mut() {
        *t = dense0.clone();
    }
    pipeline(sd, &mut net.x_pipe, "fc0", "x", width, modes, device)?;
    pipeline(sd, &mut net.omega_pipe, "fc0_w", "w", width, modes, device)?;
    if sparse {
        pipeline(
            sd,
            &mut net.obs_pipe,
            "fc0_sparse",
            "sparse",
            width,
            modes,
            device,
        )?;
    }
    Ok(())
}

/// The head: its first layer on [x, ω, sensors] (three column blocks of one matrix; no
/// sensor block without `sparse`), the further layers and the two projections.
fn head(
    sd: &mut StateDict,
    net: &mut ScoreNet,
    cfg: &ScoreNetConfig,
    sparse: bool,
    device: &Device,
) -> Result<(), String> {
    let (width, head, projection) = (cfg.width, &cfg.head, cfg.projection);
    let branches = if sparse { 3 } else { 2 };
    let first = [head[0], branches * width, 1, 1];
    let key = "transformation_net.0";
    net.head_x = linear(sd, key, &first, Some((0, width)), true, device)?;
    net.head_omega = linear(sd, key, &first, Some((width, 2 * width)), false, device)?;
    net.head_obs = if sparse {
        linear(sd, key, &first, Some((2 * width, 3 * width)), false, device)?
    } else {
        Linear {
            weight: Param::from_tensor(Tensor::zeros([width, head[0]], device)),
            bias: None,
        }
    };
    for (l, pair) in head.windows(2).enumerate() {
        let name = format!("transformation_net.{}", 2 * (l + 1));
        net.head[l] = linear(sd, &name, &[pair[1], pair[0], 1, 1], None, true, device)?;
    }
    let last = *head.last().unwrap_or(&width);
    net.proj1 = linear(sd, "fc1", &[projection, last], None, true, device)?;
    net.proj2 = linear(sd, "fc2", &[1, projection], None, true, device)?;
    Ok(())
}

/// Load a published state dict (`.pth`) as a closure model of the G case, as the
/// published checkpoints are: the whole closure term sampled with the published range,
/// ω only (`FNO2d_NoSparse`) or ω + 16×16 sensors interpolated bicubically (`FNO2d`).
pub fn load(path: &Path, device: &Device) -> Result<ClosureModel, ClosureError> {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let err = |e: String| ClosureError::Weights(format!("{name}: {e}"));
    let tensors = pth::read(path).map_err(err)?;
    let (cfg, net, sparse) = network(tensors, device).map_err(err)?;
    let part = PublishedPart {
        inputs: InputSpec {
            case: Case::G,
            target: Target::Full,
            densify: Densify::Bicubic,
            sensors: if sparse { 16 } else { 0 },
            nu: 1e-3,
            density_scale: None,
            t_range: None,
        },
        net: cfg,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        note: format!(
            "Published {} network imported from PyTorch; σ = {PUBLISHED_SDE_SIGMA} assumed (not stored in the file).",
            if sparse { "ω + sensor" } else { "ω-only" }
        ),
    };
    let training = TrainingInfo {
        data: format!("imported PyTorch state dict {}", path.display()),
        ..Default::default()
    };
    let model = if sparse { "FNO2d" } else { "FNO2d_NoSparse" };
    let card = ModelCard::new(format!("{name} (PyTorch {model})"), part, training);
    Ok(ClosureModel::new(card, net, device.clone()))
}
