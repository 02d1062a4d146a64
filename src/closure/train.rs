//! Training by denoising score matching (`closure-lab train`): Adam with a step-halving
//! learning rate, EMA weights, validation D_Fro with the published 10-step sampler every
//! epoch, checkpoints after every epoch and resume.

use crate::closure::model::Observed;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::card::{ModelCard, PublishedPart, TrainingInfo};
use super::dataset::{DataError, h5_info};
use super::fit::{self, HeldOut, Plan, Progress, RunFolder, State};
use super::layers::DftBasis;
use super::loss::{TimeRange, dsm_loss};
use super::model::{ClosureError, ClosureModel, InputSpec};
use super::sampler::Sampler;
use super::samples::{Samples, load_samples, train_densities};
use super::score::{ScoreNet, ScoreNetConfig};
use super::sde::Schedule;
use super::sensors::{DENSITIES, Sensors};
use super::weights::weights_from_bytes;
use super::whiten::Whitening;
use crate::metrics::d_fro;
use crate::solver::Grid;

/// Everything a training run needs; saved as `config.json` in the run folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    pub data: PathBuf,
    pub inputs: InputSpec,
    pub net: ScoreNetConfig,
    /// Training grid (data are strided to it).
    pub grid: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    /// Halve the learning rate every this many epochs (published 200 of 1000).
    pub lr_halve_every: usize,
    pub ema_decay: f64,
    pub t_eps: f64,
    pub t_max: f64,
    /// Trajectories held out (the last ones) for validation.
    pub val_trajectories: usize,
    pub val_samples: usize,
    /// Use at most this many training samples (0 = all).
    pub max_samples: usize,
    pub seed: u64,
    /// Per-density whitening of the residual (measured from the data when the network is
    /// conditioned on the density; [`super::whiten`]).
    #[serde(default)]
    pub whitening: Option<Whitening>,
}

pub(super) fn data_err(e: DataError) -> ClosureError {
    ClosureError::Input(e.to_string())
}

/// EMA update `ema ← d·ema + (1−d)·model` over all float parameters (same traversal order).
pub(super) fn ema_update(ema: ScoreNet, model: &ScoreNet, decay: f64) -> ScoreNet {
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val().inner();
            let n = t.shape().num_elements();
            self.0.push(t.reshape([n]));
        }
    }
    struct Blend(std::vec::IntoIter<Tensor<1>>, f64);
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let d = self.1;
            match self.0.next() {
                Some(s) => p.map(|e| {
                    let dims = e.dims();
                    e.mul_scalar(d) + s.reshape(dims).mul_scalar(1.0 - d)
                }),
                None => p,
            }
        }
    }
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    ema.map(&mut Blend(c.0.into_iter(), decay))
}

/// Mean validation D_Fro of `net` with the published 10-step sampler (stretched onto the
/// model's time range), averaged over the densities the model knows.
pub fn validate(
    net: &ScoreNet,
    spec: &InputSpec,
    whitening: Option<&Whitening>,
    grid: usize,
    val: &[(Vec<f64>, Vec<f64>)],
    device: &Device,
) -> Result<f64, ClosureError> {
    if val.is_empty() {
        return Ok(f64::NAN);
    }
    let part = PublishedPart {
        inputs: *spec,
        net: ScoreNetConfig::new(),
        crate_version: String::new(),
        note: String::new(),
    };
    let mut card = ModelCard::new("validation".into(), part, TrainingInfo::default());
    card.whitening = whitening.cloned();
    let model = ClosureModel::new(card, net.clone(), device.clone());
    let g = Grid::new(grid).map_err(|e| ClosureError::Input(e.to_string()))?;
    let densities = if spec.density_scale.is_some() {
        DENSITIES.to_vec()
    } else {
        vec![spec.sensors]
    };
    let mut sum = 0.0;
    for &d in &densities {
        let sensors = Sensors::new(d, grid)?;
        for (omega, closure) in val {
            let est = model.sample(
                &Observed {
                    grid: &g,
                    omega,
                    readings: &sensors.read(closure),
                    sensors: &sensors,
                },
                1,
                Sampler::EulerMaruyama,
                &Schedule::published(),
            )?;
            sum += d_fro(closure, &est[0]);
        }
    }
    Ok(sum / (val.len() * densities.len()) as f64)
}

fn io_err(p: &Path) -> impl Fn(std::io::Error) -> ClosureError + '_ {
    move |e| ClosureError::Weights(format!("{}: {e}", p.display()))
}

/// One optimisation step: the DSM loss of a batch, its gradients and an Adam step.
/// Returns the updated network and the batch's loss.
#[allow(clippy::too_many_arguments)]
pub(crate) fn optimisation_step(
    model: ScoreNet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    batch: (Tensor<4>, Tensor<4>, Tensor<4>, Option<Tensor<2>>),
    range: TimeRange,
    basis: &DftBasis,
    rng: &mut impl rand::Rng,
) -> (ScoreNet, f64) {
    let (x0, w, o, d) = batch;
    let loss = dsm_loss(&model, x0, w, o, d, range, basis, rng);
    let l = loss.clone().into_scalar::<f32>() as f64;
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(lr, model, grads), l)
}

/// Training and validation data of a run, with the configuration completed from them.
struct RunData {
    cfg: TrainConfig,
    samples: Samples,
    val: Vec<(Vec<f64>, Vec<f64>)>,
    n_train: usize,
}

impl RunData {
    /// Load the training trajectories and the held-out ones; σ_d < 0 asks for EDM
    /// preconditioning with the measured standard deviation of the targets.
    fn load(cfg: &TrainConfig) -> Result<Self, ClosureError> {
        let info = h5_info(&cfg.data).map_err(data_err)?;
        if cfg.val_trajectories >= info.trajectories {
            return Err(ClosureError::Input(format!(
                "{} trajectories: none left after holding out {} for validation",
                info.trajectories, cfg.val_trajectories
            )));
        }
        let n_train = info.trajectories - cfg.val_trajectories;
        let densities = train_densities(&cfg.inputs, &cfg.net);
        let (mut samples, _) = load_samples(
            &cfg.data,
            0..n_train,
            cfg.grid,
            &cfg.inputs,
            &densities,
            cfg.max_samples,
        )?;
        if let Some(i) = samples
            .x0
            .iter()
            .chain(&samples.omega)
            .chain(&samples.obs)
            .position(|v| !v.is_finite())
        {
            return Err(ClosureError::Input(format!(
                "{}: the training data is not finite (NaN or inf at value {i} of the loaded samples)",
                cfg.data.display()
            )));
        }
        let mut cfg = cfg.clone();
        if cfg.net.densities.unwrap_or(0) > 0 {
            // each density's residual is whitened shell by shell: unit variance per mode
            let scale = samples.class_rms();
            if let Some(c) = scale.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
                return Err(ClosureError::Input(format!(
                    "{}: the residual at {} sensors is exactly zero; nothing to learn there",
                    cfg.data.display(),
                    DENSITIES[c]
                )));
            }
            let grid = Grid::new(cfg.grid).map_err(|e| ClosureError::Input(e.to_string()))?;
            cfg.whitening = Some(samples.whiten(&grid));
            let mut arr = [0.0; 5];
            arr.copy_from_slice(&scale);
            cfg.inputs.density_scale = Some(arr);
        }
        if cfg.net.sigma_data < 0.0 {
            let x = &samples.x0;
            let len = x.len().max(1) as f64;
            let m = x.iter().map(|&v| v as f64).sum::<f64>() / len;
            let var = x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / len;
            cfg.net.sigma_data = var.sqrt();
        }
        let (_, val_all) = load_samples(
            &cfg.data,
            n_train..info.trajectories,
            cfg.grid,
            &cfg.inputs,
            &[0],
            0,
        )?;
        let stride = (val_all.len() / cfg.val_samples.max(1)).max(1);
        let val = val_all
            .into_iter()
            .step_by(stride)
            .take(cfg.val_samples)
            .collect();
        Ok(RunData {
            cfg,
            samples,
            val,
            n_train,
        })
    }
}

/// The resumable part of a run (score training and flow distillation alike): progress,
/// weights, EMA weights, optimiser.
pub(super) struct Checkpoint {
    pub(super) state: State,
    pub(super) model: ScoreNet,
    pub(super) ema: ScoreNet,
    pub(super) optim: ModuleOptimizer,
}

impl Checkpoint {
    /// The checkpoint in `dir`, or a fresh start (from the weights `init` when given,
    /// else a random initialisation).
    pub(super) fn resume_or_new(
        dir: &Path,
        net: &ScoreNetConfig,
        device: &Device,
        plain: &Device,
        init: Option<&[u8]>,
    ) -> Result<Self, ClosureError> {
        let model = match init {
            Some(bytes) => weights_from_bytes(net, bytes, device)?,
            None => net.init(device),
        };
        let mut c = Checkpoint {
            state: State::default(),
            ema: model.valid(),
            model,
            optim: AdamConfig::new().with_epsilon(1e-8).init(),
        };
        let Some(mut saved) = super::checkpoint::read::<State>(dir, true)? else {
            return Ok(c);
        };
        c.model = weights_from_bytes(net, &saved.model, device)?;
        if let Some(e) = &saved.ema {
            c.ema = weights_from_bytes(net, e, plain)?;
        }
        c.optim = saved.optimizer(c.optim, dir)?;
        c.state = saved.state;
        Ok(c)
    }

    /// Weights, EMA, optimiser, then the state (written last: it marks the checkpoint
    /// complete).
    pub(super) fn save(&self, dir: &Path) -> Result<(), ClosureError> {
        let ema = weights_to_bytes_f32(&self.ema)?;
        super::checkpoint::write(
            dir,
            &self.state,
            &weights_to_bytes_f32(&self.model)?,
            Some(&ema),
            &self.optim,
        )
    }
}

/// Refuse settings training cannot run with, before anything is loaded or written.
fn check_config(cfg: &TrainConfig) -> Result<(), ClosureError> {
    let bad = |m: String| Err(ClosureError::Input(m));
    cfg.plan().check()?;
    if cfg.val_trajectories == 0 {
        return bad("--val-trajectories must be ≥ 1 (validation picks the model)".into());
    }
    let classes = cfg.net.densities.unwrap_or(0);
    if classes > 0 && classes != DENSITIES.len() {
        return bad(format!(
            "a density-conditioned network has {} classes, got {classes}",
            DENSITIES.len()
        ));
    }
    if classes > 0 && cfg.inputs.target != super::model::Target::Residual {
        return bad("training across densities needs --target residual".into());
    }
    if !(cfg.t_eps.is_finite() && cfg.t_max.is_finite() && 0.0 < cfg.t_eps && cfg.t_eps < cfg.t_max)
    {
        return bad(format!(
            "need 0 < --t-eps < --t-max, got {} and {}",
            cfg.t_eps, cfg.t_max
        ));
    }
    cfg.inputs.validate().map_err(ClosureError::Input)?;
    Ok(())
}

impl TrainConfig {
    /// The diffusion times training draws from.
    pub fn range(&self) -> TimeRange {
        TimeRange {
            eps: self.t_eps,
            t_max: self.t_max,
        }
    }

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
}

/// Refuse to resume a run folder made with other settings or data: everything in the
/// configuration but the epoch count (which may grow to train further), plus the data
/// file's content fingerprint ([`crate::resume::fingerprint`]), must match what the
/// folder recorded.
fn resume_settings(cfg: &TrainConfig) -> Result<serde_json::Value, ClosureError> {
    let mut settings = serde_json::to_value(cfg).map_err(|e| ClosureError::Card(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut settings {
        m.remove("epochs");
        let print = crate::resume::fingerprint(&cfg.data).map_err(ClosureError::Input)?;
        m.insert("data_fingerprint".into(), print.into());
    }
    Ok(settings)
}

/// Run (or resume) training in folder `dir`. Returns the trained model (EMA weights).
pub fn train(
    cfg: &TrainConfig,
    dir: &Path,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<ClosureModel, ClosureError> {
    check_config(cfg)?;
    // the run folder is made with the first checkpoint: a run that fails before leaves none
    let folder = RunFolder::open(dir, "resume.json", resume_settings(cfg)?)?;
    let data = RunData::load(cfg)?;
    let cfg = &data.cfg;
    let device = Device::flex().autodiff();
    device.seed(cfg.seed);
    let plain = Device::flex();
    let ck = Checkpoint::resume_or_new(dir, &cfg.net, &device, &plain, None)?;
    let config_json =
        serde_json::to_vec_pretty(cfg).map_err(|e| ClosureError::Card(e.to_string()))?;
    let basis = Arc::new(ck.model.basis(cfg.grid, &device));
    let mut job = ScoreJob {
        class: vec![0; data.samples.count],
        data: &data,
        ck,
        basis,
        device: device.clone(),
        plain: plain.clone(),
        config_json,
    };
    fit::run(
        &mut job,
        &cfg.plan(),
        "training",
        &device,
        &folder,
        on_progress,
    )?;
    let card = trained_card(cfg, &data, &job.ck.state);
    Ok(ClosureModel::new(card, job.ck.ema, plain))
}

/// Denoising score matching of a published-case model, one density class drawn per
/// sample and epoch; EMA weights, validated by the published sampler's D_Fro.
struct ScoreJob<'a> {
    data: &'a RunData,
    ck: Checkpoint,
    /// This epoch's density class of each training sample.
    class: Vec<usize>,
    basis: Arc<DftBasis>,
    device: Device,
    plain: Device,
    config_json: Vec<u8>,
}

impl fit::Job for ScoreJob<'_> {
    fn items(&self) -> usize {
        self.data.samples.count
    }

    fn state(&mut self) -> &mut State {
        &mut self.ck.state
    }

    fn begin_epoch(&mut self, order: &[usize], rng: &mut ChaCha8Rng) {
        let classes = self.data.samples.classes;
        for &i in order {
            self.class[i] = rng.random_range(0..classes);
        }
    }

    fn step(
        &mut self,
        batch: &[usize],
        lr: f64,
        rng: &mut ChaCha8Rng,
    ) -> Result<f64, ClosureError> {
        let cfg = &self.data.cfg;
        let idx: Vec<(usize, usize)> = batch.iter().map(|&i| (i, self.class[i])).collect();
        let tensors = self.data.samples.tensors(&idx, &self.device);
        let model = self.ck.model.clone();
        let (model, l) = optimisation_step(
            model,
            &mut self.ck.optim,
            lr,
            tensors,
            cfg.range(),
            &self.basis,
            rng,
        );
        self.ck.model = model;
        let decay = if self.ck.state.iterations < 100 {
            0.9
        } else {
            cfg.ema_decay
        };
        self.ck.ema = ema_update(self.ck.ema.clone(), &self.ck.model, decay);
        Ok(l)
    }

    fn held_out(&mut self, epoch: usize) -> Result<HeldOut, ClosureError> {
        let cfg = &self.data.cfg;
        let v = validate(
            &self.ck.ema,
            &cfg.inputs,
            cfg.whitening.as_ref(),
            cfg.grid,
            &self.data.val,
            &self.plain,
        )?;
        if !v.is_finite() {
            return Err(ClosureError::Input(format!(
                "validation D_Fro is not finite after epoch {} (no model written); check the \
                 held-out data or lower --lr",
                epoch + 1
            )));
        }
        Ok(HeldOut::score(v))
    }

    fn save(&self, dir: &Path) -> Result<(), ClosureError> {
        write_atomic(&dir.join("config.json"), &self.config_json)?;
        self.ck.save(dir)
    }
}

/// The model card of a finished run.
fn trained_card(cfg: &TrainConfig, data: &RunData, state: &State) -> ModelCard {
    let part = PublishedPart {
        inputs: cfg.inputs,
        net: cfg.net.clone(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
        note: String::new(),
    };
    let training = TrainingInfo {
        data: cfg.data.display().to_string(),
        grid: cfg.grid,
        trajectories: data.n_train,
        samples: data.samples.count,
        epochs: state.epoch,
        iterations: state.iterations,
        batch: cfg.batch,
        t_eps: cfg.t_eps,
        t_max: cfg.t_max,
        wall_s: state.wall_s,
        final_val_d_fro: state.last_score(),
    };
    let name = format!("closure-{}-{}", cfg.inputs.case, cfg.inputs.target);
    let mut card = ModelCard::new(name, part, training);
    card.whitening = cfg.whitening.clone();
    card
}

/// Full-precision weight bytes (checkpoints keep f32; shipped files use f16).
fn weights_to_bytes_f32(net: &ScoreNet) -> Result<Vec<u8>, ClosureError> {
    super::weights::module_bytes(&net.valid())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), ClosureError> {
    crate::atomic::write_bytes(path, data).map_err(io_err(path))
}
