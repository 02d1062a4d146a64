//! Training the learned subgrid closures (`closure-lab les-train`): the score model by
//! denoising score matching on whitened Π, the regressors by mean-squared error or
//! Gaussian likelihood on Π / rms(Π); Adam with a step-halving learning rate, the
//! held-out loss after every epoch, a checkpoint after every epoch and resume (only of the
//! same job: `src/resume.rs`).

use crate::les::learn::Draw;
use std::path::{Path, PathBuf};

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::model::{LesCard, LesKind, LesModel, LesNet, LesTrainingInfo, SubgridPart};
use super::regressor::{RegressorConfig, gaussian_nll, mse};
use super::{Labels, LesSamples};
use crate::closure::fit::{self, HeldOut, Plan, Progress, RunFolder, State};
use crate::closure::layers::DftBasis;
use crate::closure::loss::{TimeRange, dsm_loss};
use crate::closure::model::{ClosureError, SampleRanges};
use crate::closure::score::ScoreNetConfig;
use crate::closure::whiten::Whitening;
use crate::solver::Grid;

/// Everything a run needs; recorded in the run folder so a resume must match it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LesTrainConfig {
    /// Data files, each of one ν and one DNS grid.
    pub data: Vec<PathBuf>,
    /// Use at most this many trajectories of each file (0: all but the held-out ones):
    /// one value for every file, or one per file (mixed-fidelity sets of equal cost).
    pub per_file: Vec<usize>,
    /// Trajectories of each file held out (its last ones) for the validation loss
    /// (0: none, no validation loss).
    pub val_per_file: usize,
    pub kind: LesKind,
    pub labels: Labels,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub lr_halve_every: usize,
    pub seed: u64,
    /// Diffusion times drawn in training (score model).
    pub t_eps: f64,
    pub t_max: f64,
    /// A deterministic model (`les-train --kind deterministic`) whose mean the score
    /// model generates the residual around.
    #[serde(default)]
    pub mean: Option<PathBuf>,
}

impl LesTrainConfig {
    /// The optimisation schedule.
    pub fn plan(&self) -> Plan {
        Plan {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            lr_halve_every: self.lr_halve_every,
            seed: self.seed,
        }
    }

    fn check(&self) -> Result<(), ClosureError> {
        let bad = |m: String| Err(ClosureError::Input(m));
        if self.data.is_empty() {
            return bad("--data names no file".into());
        }
        if self.per_file.len() > 1 && self.per_file.len() != self.data.len() {
            return bad(format!(
                "--per-file takes one value or one per data file ({}), got {}",
                self.data.len(),
                self.per_file.len()
            ));
        }
        self.plan().check()?;
        if !(self.t_eps > 0.0 && self.t_eps < self.t_max && self.t_max <= 2.0) {
            return bad(format!(
                "--t-eps/--t-max need 0 < t_eps < t_max ≤ 2, got {} and {}",
                self.t_eps, self.t_max
            ));
        }
        Ok(())
    }
}

/// Inputs and targets of one batch: ω̄/scale, target, labels.
fn batch(
    s: &LesSamples,
    targets: &[f32],
    omega_scale: f64,
    idx: &[usize],
    device: &Device,
) -> (Tensor<4>, Tensor<4>, Tensor<2>) {
    let (n, b, w) = (s.n, idx.len(), s.width);
    let nn = n * n;
    let mut om = Vec::with_capacity(b * nn);
    let mut tg = Vec::with_capacity(b * nn);
    let mut lb = Vec::with_capacity(b * w);
    for &i in idx {
        om.extend(
            s.omega_bar[i * nn..(i + 1) * nn]
                .iter()
                .map(|&v| v / omega_scale as f32),
        );
        tg.extend_from_slice(&targets[i * nn..(i + 1) * nn]);
        lb.extend_from_slice(&s.labels[i * w..(i + 1) * w]);
    }
    (
        Tensor::from_data(TensorData::new(om, [b, n, n, 1]), device),
        Tensor::from_data(TensorData::new(tg, [b, n, n, 1]), device),
        Tensor::from_data(TensorData::new(lb, [b, w]), device),
    )
}

fn rms(v: &[f32]) -> f64 {
    (v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// The card of a run before training: scales and whitening measured on the training data.
fn initial_card(cfg: &LesTrainConfig, train: &LesSamples, grid: &Grid) -> LesCard {
    let nn = train.n * train.n;
    let width = cfg.labels.width();
    let (score, regressor, whitening, t_range) = match cfg.kind {
        LesKind::Stochastic => {
            let w = Whitening::measure(
                grid,
                1,
                train
                    .pi
                    .chunks_exact(nn)
                    .map(|c| (0, c.iter().map(|&v| v as f64).collect())),
            );
            let net = ScoreNetConfig::new()
                .with_x_layers(Some(2))
                .with_projection(32)
                .with_sigma_data(1.0)
                .with_activation(Some(crate::closure::layers::Activation::Relu))
                .with_conditions(Some(width));
            let ranges = SampleRanges {
                em: [0.5, 0.03],
                heun: [0.5, 0.03],
            };
            (Some(net), None, Some(w), Some(ranges))
        }
        LesKind::Deterministic | LesKind::MeanNoise => {
            let r = RegressorConfig::new(width).with_noise(cfg.kind == LesKind::MeanNoise);
            (None, Some(r), None, None)
        }
    };
    let part = SubgridPart {
        kind: cfg.kind,
        labels: cfg.labels,
        omega_scale: rms(&train.omega_bar),
        pi_scale: rms(&train.pi),
        score,
        regressor,
        t_range,
        les_n: train.n,
        residual: false,
    };
    let mut card = LesCard::new(
        format!("les-{}", cfg.kind),
        part,
        LesTrainingInfo::default(),
    );
    card.whitening = whitening;
    card
}

/// Training and held-out samples with their targets as the network sees them, and the
/// card measured from them.
struct RunData {
    train: LesSamples,
    val: LesSamples,
    train_t: Vec<f32>,
    val_t: Vec<f32>,
    card: LesCard,
    mean: Option<Box<LesModel>>,
}

fn data_err(e: crate::closure::dataset::DataError) -> ClosureError {
    ClosureError::Input(e.to_string())
}

/// Read the files, hold out each file's last trajectories, subtract a residual model's
/// mean, check the data and measure the card's scales and whitening.
fn load_data(cfg: &LesTrainConfig) -> Result<RunData, ClosureError> {
    let files: Vec<&Path> = cfg.data.iter().map(|p| p.as_path()).collect();
    let counts: Vec<usize> = files
        .iter()
        .map(|p| super::super::data::read(p).map(|(s, _)| s.trajectories))
        .collect::<Result<_, _>>()
        .map_err(data_err)?;
    for (p, &c) in files.iter().zip(&counts) {
        if c <= cfg.val_per_file || c == 0 {
            return Err(ClosureError::Input(format!(
                "{}: {c} trajectories, none left after holding out {}",
                p.display(),
                cfg.val_per_file
            )));
        }
    }
    let is_val = |f: usize, k: usize| k + cfg.val_per_file >= counts[f];
    let limit = |f: usize| {
        cfg.per_file
            .get(f)
            .or(cfg.per_file.first())
            .copied()
            .unwrap_or(0)
    };
    for (f, p) in files.iter().enumerate() {
        let left = counts[f] - cfg.val_per_file;
        if limit(f) > left {
            return Err(ClosureError::Input(format!(
                "{}: --per-file asks for {} training trajectories, the file has {left} after \
                 holding out {}",
                p.display(),
                limit(f),
                cfg.val_per_file
            )));
        }
    }
    let is_train = |f: usize, k: usize| !is_val(f, k) && (limit(f) == 0 || k < limit(f));
    let mut train = LesSamples::load(&files, cfg.labels, &is_train).map_err(data_err)?;
    let mut val = LesSamples::load(&files, cfg.labels, &is_val).map_err(data_err)?;
    if train.count() == 0 {
        return Err(ClosureError::Input(format!(
            "no training samples: {} hold no trajectories to train on (after --per-file and \
             --val-per-file)",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if train
        .pi
        .iter()
        .chain(&train.omega_bar)
        .any(|v| !v.is_finite())
    {
        return Err(ClosureError::Input(
            "the training data hold NaN or infinite values".into(),
        ));
    }
    let mean = match &cfg.mean {
        Some(p) => {
            let m = LesModel::load(p, &Device::flex())?;
            if m.card.part.kind != LesKind::Deterministic || cfg.kind != LesKind::Stochastic {
                return Err(ClosureError::Input(
                    "--mean takes a deterministic model, for a stochastic one".into(),
                ));
            }
            subtract_mean(&mut train, &m)?;
            subtract_mean(&mut val, &m)?;
            Some(Box::new(m))
        }
        None => None,
    };
    let grid = Grid::new(train.n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let mut card = initial_card(cfg, &train, &grid);
    card.part.residual = mean.is_some();
    let nn = train.n * train.n;
    let targets = |s: &LesSamples| -> Vec<f32> {
        match &card.whitening {
            Some(w) => {
                s.pi.chunks_exact(nn)
                    .flat_map(|c| {
                        let f: Vec<f64> = c.iter().map(|&v| v as f64).collect();
                        w.whiten(0, &grid, &f).into_iter().map(|v| v as f32)
                    })
                    .collect()
            }
            None => {
                s.pi.iter()
                    .map(|&v| v / card.part.pi_scale as f32)
                    .collect()
            }
        }
    };
    let (train_t, val_t) = (targets(&train), targets(&val));
    Ok(RunData {
        train,
        val,
        train_t,
        val_t,
        card,
        mean,
    })
}

/// The resumable part of a run.
struct Checkpoint {
    net: LesNet,
    optim: ModuleOptimizer,
    state: State,
}

impl Checkpoint {
    /// The checkpoint in `dir`, or a fresh network of `card`'s architecture.
    fn resume_or_new(dir: &Path, card: &LesCard, device: &Device) -> Result<Self, ClosureError> {
        let mut c = Checkpoint {
            net: card.init(device)?,
            optim: AdamConfig::new().with_epsilon(1e-8).init(),
            state: State::default(),
        };
        let Some(mut saved) = crate::closure::checkpoint::read::<State>(dir, false)? else {
            return Ok(c);
        };
        c.net = c.net.with_bytes(&saved.model)?;
        c.optim = saved.optimizer(c.optim, dir)?;
        c.state = saved.state;
        Ok(c)
    }

    /// Weights, optimiser, then the state ([`crate::closure::checkpoint`]).
    fn save(&self, dir: &Path) -> Result<(), ClosureError> {
        let model = self.net.valid().bytes()?;
        crate::closure::checkpoint::write(dir, &self.state, &model, None, &self.optim)
    }
}

/// One Adam step of `net` on `loss`.
fn adam_step(net: LesNet, optim: &mut ModuleOptimizer, loss: Tensor<1>, lr: f64) -> LesNet {
    let grads = loss.backward();
    match net {
        LesNet::Score(n) => {
            let g = GradientsParams::from_grads(grads, &n);
            LesNet::Score(optim.step(lr, n, g))
        }
        LesNet::Regressor(n) => {
            let g = GradientsParams::from_grads(grads, &n);
            LesNet::Regressor(optim.step(lr, n, g))
        }
    }
}

/// Train (or resume) a run in `dir`; returns the trained model on the CPU.
pub fn train(
    cfg: &LesTrainConfig,
    dir: &Path,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<LesModel, ClosureError> {
    cfg.check()?;
    let data = load_data(cfg)?;
    // resume only the same job; more epochs continue it
    let mut settings = serde_json::to_value(cfg).map_err(|e| ClosureError::Input(e.to_string()))?;
    if let Some(o) = settings.as_object_mut() {
        o.remove("epochs");
        // the data's content, not only its path: a file rewritten in place is another job
        let prints = cfg
            .data
            .iter()
            .chain(&cfg.mean)
            .map(|p| crate::resume::fingerprint(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ClosureError::Input)?;
        o.insert("data_fingerprints".into(), prints.into());
    }
    let folder = RunFolder::open(dir, "manifest.json", settings)?;
    let device = Device::flex().autodiff();
    // the fresh network's initialisation draws from burn's stream
    device.seed(cfg.seed);
    let ck = Checkpoint::resume_or_new(dir, &data.card, &device)?;
    let basis = ck.net.basis(data.train.n, &device);
    let mut job = LesJob {
        cfg,
        range: TimeRange {
            eps: cfg.t_eps,
            t_max: cfg.t_max,
        },
        data,
        ck,
        basis,
        device: device.clone(),
    };
    fit::run(
        &mut job,
        &cfg.plan(),
        "training",
        &device,
        &folder,
        on_progress,
    )?;
    let LesJob { mut data, ck, .. } = job;
    data.card.training = training_info(cfg, &data.train, &ck.state);
    let net = ck.net.valid();
    Ok(LesModel::new(data.card, net, Device::flex()).with_mean(data.mean))
}

/// A subgrid closure's run: the score model by denoising score matching, the regressors
/// by MSE or Gaussian likelihood; scored by the held-out loss.
struct LesJob<'a> {
    cfg: &'a LesTrainConfig,
    /// The diffusion times the score model's loss draws from.
    range: TimeRange,
    data: RunData,
    ck: Checkpoint,
    basis: DftBasis,
    device: Device,
}

impl LesJob<'_> {
    /// The loss of one batch (ω̄, target, labels).
    fn loss(
        &self,
        (w, t, l): (Tensor<4>, Tensor<4>, Tensor<2>),
        rng: &mut ChaCha8Rng,
    ) -> Tensor<1> {
        let (b, n) = (w.dims()[0], self.data.train.n);
        match &self.ck.net {
            LesNet::Score(m) => {
                let zeros = Tensor::<4>::zeros([b, n, n, 1], &self.device);
                dsm_loss(m, t, w, zeros, Some(l), self.range, &self.basis, rng)
            }
            LesNet::Regressor(m) if self.cfg.kind == LesKind::MeanNoise => {
                gaussian_nll(m.forward(w, Some(l), &self.basis), t)
            }
            LesNet::Regressor(m) => mse(m.forward(w, Some(l), &self.basis), t),
        }
    }
}

impl fit::Job for LesJob<'_> {
    fn items(&self) -> usize {
        self.data.train.count()
    }

    fn state(&mut self) -> &mut State {
        &mut self.ck.state
    }

    fn step(&mut self, idx: &[usize], lr: f64, rng: &mut ChaCha8Rng) -> Result<f64, ClosureError> {
        let d = &self.data;
        let b = batch(
            &d.train,
            &d.train_t,
            d.card.part.omega_scale,
            idx,
            &self.device,
        );
        let loss = self.loss(b, rng);
        let l = loss.clone().into_scalar::<f32>() as f64;
        if l.is_finite() {
            self.ck.net = adam_step(self.ck.net.clone(), &mut self.ck.optim, loss, lr);
        }
        Ok(l)
    }

    /// The held-out loss (a fixed seed, so epochs compare; NaN without held-out data).
    fn held_out(&mut self, _epoch: usize) -> Result<HeldOut, ClosureError> {
        let d = &self.data;
        let mut vrng = ChaCha8Rng::seed_from_u64(9);
        let all: Vec<usize> = (0..d.val.count()).collect();
        let mut sum = 0.0;
        for idx in all.chunks(self.cfg.batch) {
            let b = batch(&d.val, &d.val_t, d.card.part.omega_scale, idx, &self.device);
            sum += self.loss(b, &mut vrng).into_scalar::<f32>() as f64 * idx.len() as f64;
        }
        if d.val.count() == 0 {
            return Ok(HeldOut::score(f64::NAN));
        }
        let v = sum / d.val.count() as f64;
        self.ck.state.val_loss.push(v);
        Ok(HeldOut::score(v))
    }

    fn save(&self, dir: &Path) -> Result<(), ClosureError> {
        self.ck.save(dir)
    }
}

/// What the card records of a finished run.
fn training_info(cfg: &LesTrainConfig, train: &LesSamples, state: &State) -> LesTrainingInfo {
    LesTrainingInfo {
        files: cfg
            .data
            .iter()
            .zip(&train.files)
            .enumerate()
            .map(|(f, (p, &(nu, dns)))| {
                let mut t: Vec<usize> = train
                    .origin
                    .iter()
                    .filter(|o| o.0 == f)
                    .map(|o| o.1)
                    .collect();
                t.dedup();
                (p.display().to_string(), nu, dns, t.len())
            })
            .collect(),
        samples: train.count(),
        epochs: state.epoch,
        iterations: state.iterations,
        wall_s: state.wall_s,
        val_loss: state.val_loss.clone(),
    }
}

/// Replace each snapshot's Π by its residual around `mean`'s prediction.
fn subtract_mean(s: &mut LesSamples, mean: &LesModel) -> Result<(), ClosureError> {
    if s.count() == 0 {
        return Ok(());
    }
    let grid = Grid::new(s.n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let nn = s.n * s.n;
    let schedule = crate::closure::sde::Schedule::published();
    for k in 0..s.count() {
        let (nu, dns_n) = s.files[s.origin[k].0];
        let w: Vec<f64> = s.omega_bar[k * nn..(k + 1) * nn]
            .iter()
            .map(|&v| v as f64)
            .collect();
        // the mean is asked for a fidelity it knows (it may have been fitted on other data)
        let m = mean.sample(
            &Draw {
                grid: &grid,
                omega_bar: &w,
                nu,
                dns_n: mean.card.fidelity_for(dns_n),
            },
            1,
            crate::closure::sampler::Sampler::EulerMaruyama,
            &schedule,
        )?;
        for (p, v) in s.pi[k * nn..(k + 1) * nn].iter_mut().zip(&m[0]) {
            *p -= *v as f32;
        }
    }
    Ok(())
}
