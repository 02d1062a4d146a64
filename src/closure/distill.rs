//! Distillation of a score model's flow generator ([`super::flow`]): the teacher's Heun
//! sampler maps noise to end points, the student learns the straight path between them
//! (one training loop for the published and the subgrid models; `crate::les::learn::distill`
//! supplies the subgrid inputs).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::card::TrainingInfo;
use super::dataset::h5_info;
use super::eval::SamplerSetting;
use super::fit::{self, RunFolder};
use super::flow::{FlowPart, integrate, reflow_loss};
use super::layers::DftBasis;
use super::model::{ClosureError, ClosureModel};
use super::sampler::{sample_from, time_tensor};
use super::samples::{Samples, load_samples};
use super::score::{ScoreNet, ScoreNetConfig};
use super::sensors::DENSITIES;
use super::train::{Checkpoint, data_err, ema_update};

/// The training time of one pair: the 1-step point 0 three times in four, else ½.
fn draw_time(rng: &mut impl Rng) -> f32 {
    if rng.random_bool(0.75) { 0.0 } else { 0.5 }
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
    /// Data files: one published-layout file, or subgrid files (each one ν and DNS grid).
    pub data: Vec<PathBuf>,
    /// The score sampler to distil (`heun-…`: a deterministic map).
    pub teacher_sampler: String,
    pub grid: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub lr_halve_every: usize,
    pub ema_decay: f64,
    /// Pairs per snapshot, each at a density (or fidelity) drawn at random.
    pub draws: usize,
    /// Trajectories held out (the last ones of each file) for validation.
    pub val_trajectories: usize,
    /// Use at most this many snapshots (0 = all).
    pub max_samples: usize,
    pub seed: u64,
    /// A student smaller than its teacher (None: the teacher's architecture, started from
    /// its weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<StudentShape>,
}

/// The architecture of a student smaller than its teacher: every FNO pipeline (noisy
/// sample, ω, sensors) `layers` Fourier layers of `width` channels, one fusion layer and a
/// projection of `width`. It keeps the teacher's modes, nonlinearity and conditioning
/// (labels, coordinates). Its weights start at random (the teacher's do not fit), so it
/// needs more epochs than a student of the teacher's shape.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StudentShape {
    pub width: usize,
    pub layers: usize,
}

impl StudentShape {
    /// Refuse shapes outside 4…64 channels and 1…8 layers.
    pub fn check(self) -> Result<Self, ClosureError> {
        if !(4..=64).contains(&self.width) || !(1..=8).contains(&self.layers) {
            return Err(ClosureError::Input(format!(
                "a student's width must be 4…64 and its layers 1…8, got {} and {}",
                self.width, self.layers
            )));
        }
        Ok(self)
    }

    /// The student's network: the teacher's with this shape (and no EDM preconditioning:
    /// a flow generator's output is read raw).
    pub fn network(shape: Option<Self>, teacher: &ScoreNetConfig) -> ScoreNetConfig {
        let net = teacher.clone().with_sigma_data(0.0);
        match shape {
            None => net,
            Some(s) => net
                .with_width(s.width)
                .with_layers(s.layers)
                .with_x_layers(Some(s.layers))
                .with_head(vec![s.width])
                .with_projection(s.width),
        }
    }
}

impl DistillConfig {
    /// The optimisation schedule.
    pub fn plan(&self) -> fit::Plan {
        fit::Plan {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            lr_halve_every: self.lr_halve_every,
            seed: self.seed,
        }
    }

    /// Refuse settings the run cannot use, before anything is loaded.
    pub fn check(&self) -> Result<SamplerSetting, ClosureError> {
        let bad = |m: String| Err(ClosureError::Input(m));
        self.plan().check()?;
        if !(1..=64).contains(&self.draws) {
            return bad(format!("--draws must be 1…64, got {}", self.draws));
        }
        if self.val_trajectories == 0 {
            return bad("--val-trajectories must be ≥ 1".into());
        }
        if self.data.is_empty() {
            return bad("--data names no file".into());
        }
        if !(16..=1024).contains(&self.grid) {
            return bad(format!("--grid must be 16…1024, got {}", self.grid));
        }
        if !(self.ema_decay.is_finite() && (0.0..1.0).contains(&self.ema_decay)) {
            return bad(format!(
                "--ema-decay must be in [0, 1), got {}",
                self.ema_decay
            ));
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
        if let Some(shape) = self.student {
            shape.check()?;
        }
        Ok(s)
    }
}

/// Network inputs of a batch of conditioning items: (ω or ω̄, observation field, labels).
pub type Inputs = (Tensor<4>, Tensor<4>, Option<Tensor<2>>);

/// The inputs of conditioning items (indices into the caller's own table) on a device.
pub type InputsFn<'a> = dyn Fn(&[usize], &Device) -> Inputs + 'a;

/// Teacher pairs: per pair its conditioning item, the noise z and the teacher's end point
/// x₁ (whitened), flattened.
pub struct Pairs {
    item: Vec<usize>,
    z: Vec<f32>,
    x1: Vec<f32>,
    n: usize,
}

impl Pairs {
    pub fn len(&self) -> usize {
        self.item.len()
    }

    pub fn is_empty(&self) -> bool {
        self.item.is_empty()
    }

    fn tensors(&self, order: &[usize], device: &Device) -> (Tensor<4>, Tensor<4>) {
        let (n, nn) = (self.n, self.n * self.n);
        let gather = |src: &[f32]| {
            let mut v = Vec::with_capacity(order.len() * nn);
            for &p in order {
                v.extend_from_slice(&src[p * nn..(p + 1) * nn]);
            }
            Tensor::<4>::from_data(TensorData::new(v, [order.len(), n, n, 1]), device)
        };
        (gather(&self.z), gather(&self.x1))
    }

    fn items(&self, order: &[usize]) -> Vec<usize> {
        order.iter().map(|&p| self.item[p]).collect()
    }
}

/// A score model's deterministic sampler, ready to map noise to end points.
pub struct Teacher<'a> {
    pub net: &'a ScoreNet,
    /// Its Heun schedule, stretched onto the model's own range.
    pub schedule: super::sde::Schedule,
    pub device: Device,
}

impl Teacher<'_> {
    /// Map fresh noise to the teacher's end points for each of `items`, in chunks of 16.
    pub fn pairs(
        &self,
        n: usize,
        items: &[usize],
        inputs: &InputsFn,
        rng: &mut ChaCha8Rng,
        on_progress: &mut dyn FnMut(usize, usize),
    ) -> Pairs {
        let (net, device) = (self.net, &self.device);
        let std0 = net.sde().marginal_std(self.schedule.t_max());
        let basis = net.basis(n, device);
        let mut pairs = Pairs {
            item: Vec::new(),
            z: Vec::new(),
            x1: Vec::new(),
            n,
        };
        for chunk in items.chunks(16) {
            let (w, o, d) = inputs(chunk, device);
            let cond = net.condition(w, o, d, &basis);
            let z = normal(rng, chunk.len(), n, device);
            let mut score = |x: Tensor<4>, t: f64| {
                let b = x.dims()[0];
                net.score(x, time_tensor(t, b, device), &cond, &basis)
            };
            let start = z.clone() * std0;
            let x1 = sample_from(
                &mut score,
                net.sde(),
                super::sampler::Sampler::Heun,
                &self.schedule,
                start,
            );
            pairs
                .z
                .extend(z.try_into_vec_as::<f32>().unwrap_or_default());
            pairs
                .x1
                .extend(x1.try_into_vec_as::<f32>().unwrap_or_default());
            pairs.item.extend_from_slice(chunk);
            on_progress(pairs.len(), items.len());
        }
        pairs
    }
}

/// Relative L2 distance of the student's one-step draws from the teacher's, and the
/// ratio of their mean squares, over the validation pairs.
fn validate(student: &ScoreNet, pairs: &Pairs, inputs: &InputsFn, device: &Device) -> (f64, f64) {
    let basis = student.basis(pairs.n, device);
    let (mut err, mut norm, mut var) = (0.0, 0.0, 0.0);
    let order: Vec<usize> = (0..pairs.len()).collect();
    for chunk in order.chunks(16) {
        let (w, o, d) = inputs(&pairs.items(chunk), device);
        let cond = student.condition(w, o, d, &basis);
        let (z, x1) = pairs.tensors(chunk, device);
        let b = chunk.len();
        let mut end =
            |x: Tensor<4>, t: f64| student.raw(x, time_tensor(t, b, device), &cond, &basis);
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

/// Progress of a distillation run: the teacher's pairs, then the student's training.
pub enum DistillProgress {
    Pairs { done: usize, of: usize },
    Fit(fit::Progress),
}

/// A distillation job's data: the teacher's pairs for training and validation and the
/// inputs of their conditioning items.
pub struct Job<'a> {
    pub train: Pairs,
    pub val: Pairs,
    pub train_inputs: &'a InputsFn<'a>,
    pub val_inputs: &'a InputsFn<'a>,
    /// Conditioning items (snapshots, or trajectories) behind the training pairs, for the
    /// card.
    pub trajectories: usize,
}

/// The resume manifest of a distillation: every setting but the epoch count, and the
/// content of the teacher and data files.
pub(crate) fn resume_settings(cfg: &DistillConfig) -> Result<serde_json::Value, ClosureError> {
    let mut settings = serde_json::to_value(cfg).map_err(|e| ClosureError::Card(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut settings {
        m.remove("epochs");
        let prints = cfg
            .data
            .iter()
            .chain(std::iter::once(&cfg.teacher))
            .map(|p| crate::resume::fingerprint(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ClosureError::Input)?;
        m.insert("fingerprints".into(), prints.into());
    }
    Ok(settings)
}

/// Train (or resume, in `dir`) the student of `teacher_net` (whose architecture is
/// `teacher_cfg`) on `job`: the teacher's architecture started from its weights, or the
/// smaller `cfg.student` from random weights. Returns the EMA weights and the card part.
pub(crate) fn train_student(
    cfg: &DistillConfig,
    teacher_net: &ScoreNet,
    teacher_cfg: &ScoreNetConfig,
    job: Job,
    dir: &Path,
    on_progress: &mut dyn FnMut(&DistillProgress),
) -> Result<(ScoreNet, FlowPart), ClosureError> {
    let folder = RunFolder::open(dir, "resume.json", resume_settings(cfg)?)?;
    let plain = Device::flex();
    let device = plain.clone().autodiff();
    device.seed(cfg.seed);
    let student_cfg = StudentShape::network(cfg.student, teacher_cfg);
    let init = match cfg.student {
        None => Some(super::weights::module_bytes(teacher_net)?),
        Some(_) => None,
    };
    let ck = Checkpoint::resume_or_new(dir, &student_cfg, &device, &plain, init.as_deref())?;
    let basis = ck.model.basis(cfg.grid, &device);
    let mut student = StudentJob {
        job,
        ck,
        basis,
        ema_decay: cfg.ema_decay,
        device: device.clone(),
        plain,
    };
    let mut report = |p: &fit::Progress| on_progress(&DistillProgress::Fit(*p));
    fit::run(
        &mut student,
        &cfg.plan(),
        "distillation",
        &device,
        &folder,
        &mut report,
    )?;
    let (ck, job) = (student.ck, student.job);
    let training = TrainingInfo {
        data: cfg
            .data
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        grid: cfg.grid,
        trajectories: job.trajectories,
        samples: job.train.len(),
        epochs: ck.state.epoch,
        iterations: ck.state.iterations,
        batch: cfg.batch,
        t_eps: 0.0,
        t_max: 1.0,
        wall_s: ck.state.wall_s,
        final_val_d_fro: ck.state.last_score(),
    };
    let part = FlowPart {
        net: student_cfg,
        teacher: cfg.teacher_sampler.clone(),
        training,
    };
    Ok((ck.ema, part))
}

/// Reflow of a student on its teacher's pairs, EMA weights, validated by the relative L2
/// distance of its one-step draws from the teacher's.
struct StudentJob<'a> {
    job: Job<'a>,
    ck: Checkpoint,
    basis: DftBasis,
    ema_decay: f64,
    device: Device,
    plain: Device,
}

impl fit::Job for StudentJob<'_> {
    fn items(&self) -> usize {
        self.job.train.len()
    }

    fn state(&mut self) -> &mut fit::State {
        &mut self.ck.state
    }

    fn step(
        &mut self,
        batch: &[usize],
        lr: f64,
        rng: &mut ChaCha8Rng,
    ) -> Result<f64, ClosureError> {
        let (job, device) = (&self.job, &self.device);
        let (w, o, d) = (job.train_inputs)(&job.train.items(batch), device);
        let (z, x1) = job.train.tensors(batch, device);
        let t: Vec<f32> = batch.iter().map(|_| draw_time(rng)).collect();
        let model = self.ck.model.clone();
        let cond = model.condition(w, o, d, &self.basis);
        let loss = reflow_loss(&model, z, x1, &t, &cond, &self.basis);
        let l = loss.clone().into_scalar::<f32>() as f64;
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        self.ck.model = self.ck.optim.step(lr, model, grads);
        self.ck.ema = ema_update(self.ck.ema.clone(), &self.ck.model, self.ema_decay);
        Ok(l)
    }

    fn held_out(&mut self, _epoch: usize) -> Result<fit::HeldOut, ClosureError> {
        let (rel, var) = validate(
            &self.ck.ema,
            &self.job.val,
            self.job.val_inputs,
            &self.plain,
        );
        Ok(fit::HeldOut {
            score: rel,
            variance_ratio: Some(var),
        })
    }

    fn save(&self, dir: &Path) -> Result<(), ClosureError> {
        self.ck.save(dir)
    }
}

/// Distil (or resume distilling, in `dir`) a published-case model's flow generator;
/// returns the teacher with the flow attached, its card gaining the flow part.
pub fn distill(
    cfg: &DistillConfig,
    dir: &Path,
    on_progress: &mut dyn FnMut(&DistillProgress),
) -> Result<ClosureModel, ClosureError> {
    let setting = cfg.check()?;
    let [data] = cfg.data.as_slice() else {
        return Err(ClosureError::Input(
            "a published-case model distils on one --data file".into(),
        ));
    };
    let plain = Device::flex();
    let teacher = ClosureModel::load(&cfg.teacher, &plain)?;
    let info = h5_info(data).map_err(data_err)?;
    if cfg.val_trajectories >= info.trajectories {
        return Err(ClosureError::Input(format!(
            "{} trajectories: none left after holding out {} for validation",
            info.trajectories, cfg.val_trajectories
        )));
    }
    let n_train = info.trajectories - cfg.val_trajectories;
    let spec = teacher.card.part.inputs;
    let densities = if spec.density_scale.is_some() {
        DENSITIES.to_vec()
    } else {
        vec![spec.sensors]
    };
    let load = |r: std::ops::Range<usize>, max: usize| {
        load_samples(data, r, cfg.grid, &spec, &densities, max).map(|s| s.0)
    };
    let train = load(0..n_train, cfg.max_samples)?;
    let val = load(n_train..info.trajectories, 64)?;
    if train.count == 0 {
        return Err(ClosureError::Input(format!(
            "{}: no snapshots to distil on",
            data.display()
        )));
    }
    if train.omega.iter().chain(&train.obs).any(|v| !v.is_finite()) {
        return Err(ClosureError::Input(format!(
            "{}: the data is not finite (NaN or inf)",
            data.display()
        )));
    }
    // an item is (snapshot, density class): index i·classes + c
    let classes = train.classes;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let draw_items = |s: &Samples, draws: usize, rng: &mut ChaCha8Rng| -> Vec<usize> {
        (0..draws)
            .flat_map(|_| (0..s.count).collect::<Vec<_>>())
            .map(|i| i * classes + rng.random_range(0..classes))
            .collect()
    };
    let (train_inputs, val_inputs) = (sample_inputs(&train), sample_inputs(&val));
    let t = Teacher {
        net: teacher.net(),
        schedule: teacher.schedule_for(setting.sampler, &setting.schedule),
        device: plain.clone(),
    };
    let items = draw_items(&train, cfg.draws, &mut rng);
    let mut progress = |done, of| on_progress(&DistillProgress::Pairs { done, of });
    let train_pairs = t.pairs(cfg.grid, &items, &train_inputs, &mut rng, &mut progress);
    let val_items = draw_items(&val, 1, &mut rng);
    let val_pairs = t.pairs(cfg.grid, &val_items, &val_inputs, &mut rng, &mut |_, _| {});
    let job = Job {
        train: train_pairs,
        val: val_pairs,
        train_inputs: &train_inputs,
        val_inputs: &val_inputs,
        trajectories: n_train,
    };
    let net_cfg = &teacher.card.part.net;
    let (net, part) = train_student(cfg, teacher.net(), net_cfg, job, dir, on_progress)?;
    Ok(teacher.with_flow(part, net))
}

/// The inputs of (snapshot, density class) items `i·classes + c` of `s`.
fn sample_inputs(s: &Samples) -> impl Fn(&[usize], &Device) -> Inputs + '_ {
    let classes = s.classes;
    move |items: &[usize], device: &Device| {
        let idx: Vec<(usize, usize)> = items.iter().map(|&k| (k / classes, k % classes)).collect();
        let (_, w, o, d) = s.tensors(&idx, device);
        (w, o, d)
    }
}
