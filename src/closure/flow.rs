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
//! minimises `Σ_pixels (D(x_t, t) − x₁)²`. The student starts from the teacher's weights
//! (same architecture; the output is read raw, not as a score) and keeps its conditioning
//! (ω, sensors, density class). Its spread is calibrated afterwards like every sampler's:
//! `closure-lab calibrate --sampler flow-1 --write-card` fits its own inflation table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::card::TrainingInfo;
use super::eval::SamplerSetting;
use super::layers::DftBasis;
use super::model::{ClosureError, ClosureModel};
use super::sampler::{ScoreFn, sample_from, time_tensor};
use super::samples::{Samples, load_samples};
use super::score::{Conditioning, ScoreNet, ScoreNetConfig};
use super::sensors::DENSITIES;
use super::train::{Checkpoint, data_err, ema_update};
use super::dataset::h5_info;

/// The flow generator's part of a model card: its network (the teacher's architecture)
/// and how it was distilled. Its weights are `STEM.flow.bpk` beside the card.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlowPart {
    pub net: ScoreNetConfig,
    /// The score sampler whose map was distilled (e.g. `heun-karras6`).
    pub teacher: String,
    pub training: TrainingInfo,
}

/// Step counts a flow generator is offered at (it is trained at the points of 1 and 2).
pub const FLOW_STEPS: std::ops::RangeInclusive<usize> = 1..=2;

/// The weights file of a model's flow generator: `closure_g.bpk` → `closure_g.flow.bpk`.
pub fn flow_weights_path(weights: &Path) -> PathBuf {
    weights.with_extension("flow.bpk")
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

/// The training time of one pair: the 1-step point 0 three times in four, else ½.
fn draw_time(rng: &mut impl Rng) -> f32 {
    if rng.random_bool(0.75) { 0.0 } else { 0.5 }
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

/// Standard-normal noise `[b, n, n, 1]` from a seeded generator (reproducible pairs,
/// whatever else draws from burn's process-wide stream).
fn normal(rng: &mut ChaCha8Rng, b: usize, n: usize, device: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..b * n * n)
        .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
        .collect();
    Tensor::<4>::from_data(TensorData::new(v, [b, n, n, 1]), device)
}

/// Settings of a distillation run; saved as `config.json` in the run folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistillConfig {
    pub teacher: PathBuf,
    pub data: PathBuf,
    /// The score sampler to distil (`heun-…`: a deterministic map).
    pub teacher_sampler: String,
    pub grid: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub lr_halve_every: usize,
    pub ema_decay: f64,
    /// Pairs per snapshot, each at a density drawn at random.
    pub draws: usize,
    /// Trajectories held out (the last ones) for validation.
    pub val_trajectories: usize,
    /// Use at most this many snapshots (0 = all).
    pub max_samples: usize,
    pub seed: u64,
}

impl DistillConfig {
    /// Refuse settings the run cannot use, before anything is loaded.
    pub fn check(&self) -> Result<SamplerSetting, ClosureError> {
        let bad = |m: String| Err(ClosureError::Input(m));
        if !(1..=10_000).contains(&self.epochs) {
            return bad(format!("--epochs must be 1…10000, got {}", self.epochs));
        }
        if !(1..=1024).contains(&self.batch) {
            return bad(format!("--batch must be 1…1024, got {}", self.batch));
        }
        if !(1..=64).contains(&self.draws) {
            return bad(format!("--draws must be 1…64, got {}", self.draws));
        }
        if self.val_trajectories == 0 {
            return bad("--val-trajectories must be ≥ 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return bad(format!("--lr must be in (0, 1], got {}", self.lr));
        }
        if !(self.ema_decay.is_finite() && (0.0..1.0).contains(&self.ema_decay)) {
            return bad(format!("--ema-decay must be in [0, 1), got {}", self.ema_decay));
        }
        let s = SamplerSetting::parse(&self.teacher_sampler).map_err(ClosureError::Input)?;
        if s.sampler != super::sampler::Sampler::Heun {
            return bad(format!(
                "--teacher-sampler must be a Heun (probability-flow ODE) setting, got `{}`",
                self.teacher_sampler
            ));
        }
        if s.schedule.steps() > 64 {
            return bad("--teacher-sampler: at most 64 steps".into());
        }
        Ok(s)
    }
}

/// Teacher pairs: per pair the snapshot and density class it conditions on, the noise z
/// and the teacher's end point x₁ (whitened), flattened.
struct Pairs {
    idx: Vec<(usize, usize)>,
    z: Vec<f32>,
    x1: Vec<f32>,
}

impl Pairs {
    fn tensors(&self, order: &[usize], n: usize, device: &Device) -> (Tensor<4>, Tensor<4>) {
        let nn = n * n;
        let gather = |src: &[f32]| {
            let mut v = Vec::with_capacity(order.len() * nn);
            for &p in order {
                v.extend_from_slice(&src[p * nn..(p + 1) * nn]);
            }
            Tensor::<4>::from_data(TensorData::new(v, [order.len(), n, n, 1]), device)
        };
        (gather(&self.z), gather(&self.x1))
    }
}

/// Draw `draws` pairs per snapshot of `samples` from the teacher's deterministic sampler.
fn teacher_pairs(
    teacher: &ClosureModel,
    setting: &SamplerSetting,
    samples: &Samples,
    draws: usize,
    rng: &mut ChaCha8Rng,
    on_progress: &mut dyn FnMut(usize, usize),
) -> Pairs {
    let n = samples.n;
    let device = teacher.device().clone();
    let net = teacher.net();
    let schedule = teacher.schedule_for(setting.sampler, &setting.schedule);
    let std0 = net.sde().marginal_std(schedule.t_max());
    let basis = net.basis(n, &device);
    let mut idx = Vec::with_capacity(samples.count * draws);
    for _ in 0..draws {
        for i in 0..samples.count {
            idx.push((i, rng.random_range(0..samples.classes)));
        }
    }
    let mut pairs = Pairs {
        idx: Vec::new(),
        z: Vec::new(),
        x1: Vec::new(),
    };
    const CHUNK: usize = 16;
    for chunk in idx.chunks(CHUNK) {
        let (_, w, o, d) = samples.tensors(chunk, &device);
        let cond = net.condition(w, o, d, &basis);
        let z = normal(rng, chunk.len(), n, &device);
        let mut score = |x: Tensor<4>, t: f64| {
            let b = x.dims()[0];
            net.score(x, time_tensor(t, b, &device), &cond, &basis)
        };
        let x1 = sample_from(&mut score, net.sde(), setting.sampler, &schedule, z.clone() * std0);
        pairs.z.extend(z.try_into_vec_as::<f32>().unwrap_or_default());
        pairs.x1.extend(x1.try_into_vec_as::<f32>().unwrap_or_default());
        pairs.idx.extend_from_slice(chunk);
        on_progress(pairs.idx.len(), idx.len());
    }
    pairs
}

/// Relative L2 distance of the student's one-step draws from the teacher's, and the
/// ratio of their variances, over the validation pairs.
fn validate(
    student: &ScoreNet,
    samples: &Samples,
    pairs: &Pairs,
    device: &Device,
) -> (f64, f64) {
    let n = samples.n;
    let basis = student.basis(n, device);
    let (mut err, mut norm, mut var) = (0.0, 0.0, 0.0);
    let order: Vec<usize> = (0..pairs.idx.len()).collect();
    for chunk in order.chunks(16) {
        let which: Vec<(usize, usize)> = chunk.iter().map(|&p| pairs.idx[p]).collect();
        let (_, w, o, d) = samples.tensors(&which, device);
        let cond = student.condition(w, o, d, &basis);
        let (z, x1) = pairs.tensors(chunk, n, device);
        let b = chunk.len();
        let mut end = |x: Tensor<4>, t: f64| student.raw(x, time_tensor(t, b, device), &cond, &basis);
        let got = integrate(&mut end, z, 1);
        let to = |t: Tensor<4>| t.try_into_vec_as::<f32>().unwrap_or_default();
        let (g, x) = (to(got), to(x1));
        for (a, b) in g.iter().zip(&x) {
            err += ((a - b) as f64).powi(2);
            norm += (*b as f64).powi(2);
            var += (*a as f64).powi(2);
        }
    }
    ((err / norm.max(1e-30)).sqrt(), var / norm.max(1e-30))
}

/// Progress of a distillation run.
pub enum DistillProgress {
    Pairs { done: usize, of: usize },
    Step { epoch: usize, epochs: usize, iter: usize, iters: usize, loss: f64 },
    Epoch { epoch: usize, loss: f64, val_rel: f64, val_var: f64 },
}

/// Distil (or resume distilling, in `dir`) the teacher's flow generator; returns the
/// teacher with the flow attached, its card gaining the flow part.
pub fn distill(
    cfg: &DistillConfig,
    dir: &Path,
    on_progress: &mut dyn FnMut(&DistillProgress),
) -> Result<ClosureModel, ClosureError> {
    let setting = cfg.check()?;
    let settings = serde_json::to_value(cfg).map_err(|e| ClosureError::Card(e.to_string()))?;
    let mut settings = settings;
    if let serde_json::Value::Object(m) = &mut settings {
        m.remove("epochs");
    }
    let manifest = dir.join("resume.json");
    crate::resume::check(&manifest, &settings).map_err(ClosureError::Input)?;
    let plain = Device::flex();
    let teacher = ClosureModel::load_on(&cfg.teacher, &plain)?;
    let info = h5_info(&cfg.data).map_err(data_err)?;
    if cfg.val_trajectories >= info.trajectories {
        return Err(ClosureError::Input(format!(
            "{} trajectories: none left after holding out {} for validation",
            info.trajectories, cfg.val_trajectories
        )));
    }
    let n_train = info.trajectories - cfg.val_trajectories;
    let spec = teacher.card.inputs;
    let densities = if spec.density_scale.is_some() {
        DENSITIES.to_vec()
    } else {
        vec![spec.sensors]
    };
    let load = |r: std::ops::Range<usize>, max: usize| {
        load_samples(&cfg.data, r, cfg.grid, &spec, &densities, max).map(|s| s.0)
    };
    let train = load(0..n_train, cfg.max_samples)?;
    let val = load(n_train..info.trajectories, 64)?;
    if train.count == 0 {
        return Err(ClosureError::Input(format!("{}: no snapshots to distil on", cfg.data.display())));
    }
    for v in train.omega.iter().chain(&train.obs) {
        if !v.is_finite() {
            return Err(ClosureError::Input(format!(
                "{}: the data is not finite (NaN or inf)",
                cfg.data.display()
            )));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut pair_progress = |done, of| on_progress(&DistillProgress::Pairs { done, of });
    let pairs = teacher_pairs(&teacher, &setting, &train, cfg.draws, &mut rng, &mut pair_progress);
    let val_pairs = teacher_pairs(&teacher, &setting, &val, 1, &mut rng, &mut |_, _| {});
    let mut student_cfg = teacher.card.net.clone();
    student_cfg.sigma_data = 0.0;
    let device = plain.clone().autodiff();
    device.seed(cfg.seed);
    let init = super::weights::module_bytes(teacher.net())?;
    let mut ck = Checkpoint::resume_or_new(dir, &student_cfg, &device, &plain, Some(&init))?;
    let t0 = Instant::now();
    let wall0 = ck.state.wall_s;
    let basis = ck.model.basis(cfg.grid, &device);
    for epoch in ck.state.epoch..cfg.epochs {
        let mut erng = ChaCha8Rng::seed_from_u64(cfg.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37));
        let lr = cfg.lr * 0.5f64.powi((epoch / cfg.lr_halve_every.max(1)) as i32);
        let mut order: Vec<usize> = (0..pairs.idx.len()).collect();
        order.shuffle(&mut erng);
        let iters = order.len().div_ceil(cfg.batch);
        let mut loss_sum = 0.0;
        for (it, chunk) in order.chunks(cfg.batch).enumerate() {
            let which: Vec<(usize, usize)> = chunk.iter().map(|&p| pairs.idx[p]).collect();
            let (_, w, o, d) = train.tensors(&which, &device);
            let (z, x1) = pairs.tensors(chunk, cfg.grid, &device);
            let t: Vec<f32> = chunk.iter().map(|_| draw_time(&mut erng)).collect();
            let model = ck.model.clone();
            let cond = model.condition(w, o, d, &basis);
            let loss = reflow_loss(&model, z, x1, &t, &cond, &basis);
            let l = loss.clone().into_scalar::<f32>() as f64;
            if !l.is_finite() {
                return Err(ClosureError::Input(format!(
                    "distillation diverged (loss {l}) at epoch {}; lower --lr",
                    epoch + 1
                )));
            }
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
            ck.model = ck.optim.step(lr, model, grads);
            ck.ema = ema_update(ck.ema.clone(), &ck.model, cfg.ema_decay);
            ck.state.iterations += 1;
            loss_sum += l;
            on_progress(&DistillProgress::Step {
                epoch,
                epochs: cfg.epochs,
                iter: it + 1,
                iters,
                loss: l,
            });
        }
        let (val_rel, val_var) = validate(&ck.ema, &val, &val_pairs, &plain);
        let loss = loss_sum / iters.max(1) as f64;
        let st = &mut ck.state;
        st.epoch = epoch + 1;
        st.wall_s = wall0 + t0.elapsed().as_secs_f64();
        st.history.push((epoch + 1, loss, val_rel));
        on_progress(&DistillProgress::Epoch { epoch, loss, val_rel, val_var });
        std::fs::create_dir_all(dir)
            .map_err(|e| ClosureError::Weights(format!("{}: {e}", dir.display())))?;
        crate::resume::record(&manifest, &settings).map_err(ClosureError::Input)?;
        ck.save(dir)?;
    }
    let training = TrainingInfo {
        data: cfg.data.display().to_string(),
        grid: cfg.grid,
        trajectories: n_train,
        samples: pairs.idx.len(),
        epochs: ck.state.epoch,
        iterations: ck.state.iterations,
        batch: cfg.batch,
        t_eps: 0.0,
        t_max: 1.0,
        wall_s: ck.state.wall_s,
        final_val_d_fro: ck.state.history.last().map_or(f64::NAN, |h| h.2),
    };
    let part = FlowPart {
        net: student_cfg,
        teacher: cfg.teacher_sampler.clone(),
        training,
    };
    Ok(teacher.with_flow(part, ck.ema))
}
