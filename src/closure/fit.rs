//! The one training loop of every learned model: score models (`train`), flow generators
//! (`distill`) and the subgrid closures (`les-train`).
//!
//! Each epoch seeds its random streams from (seed, epoch) alone
//! ([`super::checkpoint::epoch_streams`]), shuffles the training items, takes one
//! optimiser step per batch at the epoch's learning rate (halved every
//! `lr_halve_every` epochs), stops with an error on a non-finite loss, scores the
//! held-out data, then records the resume manifest and writes the checkpoint
//! ([`super::checkpoint`]). What a step, a held-out score and a checkpoint are is the
//! job's business ([`Job`]); the loop is the same for all, so a resumed run draws what a
//! run straight through draws.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::model::ClosureError;

/// The optimisation schedule of a run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    /// Halve the learning rate every this many epochs.
    pub lr_halve_every: usize,
    pub seed: u64,
}

impl Plan {
    /// Refuse a schedule no run can use (the same limits for every kind of run).
    pub fn check(&self) -> Result<(), ClosureError> {
        let bad = |m: String| Err(ClosureError::Input(m));
        if !(1..=100_000).contains(&self.epochs) {
            return bad(format!("--epochs must be 1…100000, got {}", self.epochs));
        }
        if !(1..=4096).contains(&self.batch) {
            return bad(format!("--batch must be 1…4096, got {}", self.batch));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return bad(format!("--lr must be in (0, 1], got {}", self.lr));
        }
        Ok(())
    }

    /// The learning rate of `epoch` (0-based).
    pub(crate) fn lr_at(&self, epoch: usize) -> f64 {
        self.lr * 0.5f64.powi((epoch / self.lr_halve_every.max(1)) as i32)
    }
}

/// Progress of a run, as saved in its checkpoint's `state.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Epochs finished.
    pub epoch: usize,
    pub iterations: usize,
    pub wall_s: f64,
    /// (epoch, mean training loss, held-out score; none without held-out data) per
    /// finished epoch.
    #[serde(default)]
    pub history: Vec<(usize, f64, Option<f64>)>,
    /// Held-out losses per epoch (the subgrid runs' cards list them; older subgrid
    /// checkpoints hold only these).
    #[serde(default)]
    pub val_loss: Vec<f64>,
}

impl State {
    /// The last epoch's held-out score (NaN before the first).
    pub(crate) fn last_score(&self) -> f64 {
        self.history.last().and_then(|h| h.2).unwrap_or(f64::NAN)
    }
}

/// What the loop reports.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// After every optimiser step (`epoch` 0-based, `iter` 1-based).
    Step {
        epoch: usize,
        epochs: usize,
        iter: usize,
        iters: usize,
        loss: f64,
    },
    /// After every epoch: its mean loss and the held-out score.
    Epoch {
        epoch: usize,
        epochs: usize,
        loss: f64,
        held_out: HeldOut,
    },
}

/// A held-out score: the value, and for a generator the variance ratio of its draws to
/// its teacher's.
#[derive(Clone, Copy, Debug)]
pub struct HeldOut {
    pub score: f64,
    pub variance_ratio: Option<f64>,
}

impl HeldOut {
    pub fn score(score: f64) -> Self {
        HeldOut {
            score,
            variance_ratio: None,
        }
    }
}

/// One kind of training run: its network(s), data and loss.
pub trait Job {
    /// Training items an epoch passes over.
    fn items(&self) -> usize;
    /// The run's progress (held in its checkpoint).
    fn state(&mut self) -> &mut State;
    /// Before an epoch's batches, with the shuffled order (e.g. draw per-item classes).
    fn begin_epoch(&mut self, _order: &[usize], _rng: &mut ChaCha8Rng) {}
    /// One optimiser step on the training items `batch` at learning rate `lr`; returns
    /// the batch's loss (the loop stops on a non-finite one).
    fn step(&mut self, batch: &[usize], lr: f64, rng: &mut ChaCha8Rng)
    -> Result<f64, ClosureError>;
    /// The held-out score after an epoch; an error stops the run before its checkpoint.
    fn held_out(&mut self, epoch: usize) -> Result<HeldOut, ClosureError>;
    /// Write the checkpoint (the state last) into `dir`, which exists.
    fn save(&self, dir: &Path) -> Result<(), ClosureError>;
}

/// Where a run keeps its checkpoint and which job it is ([`crate::resume`]).
pub struct RunFolder<'a> {
    pub dir: &'a Path,
    manifest: std::path::PathBuf,
    settings: serde_json::Value,
}

impl<'a> RunFolder<'a> {
    /// The run folder `dir` of a job with `settings`, whose manifest is `dir/manifest`;
    /// refused when it holds another job's run.
    pub fn open(
        dir: &'a Path,
        manifest: &str,
        settings: serde_json::Value,
    ) -> Result<Self, ClosureError> {
        let folder = RunFolder {
            dir,
            manifest: dir.join(manifest),
            settings,
        };
        crate::resume::check(&folder.manifest, &folder.settings).map_err(ClosureError::Input)?;
        Ok(folder)
    }
}

/// Train `job` from its state's epoch to `plan.epochs`, checkpointing into `folder` after
/// every epoch. `what` names the run in errors ("training", "distillation").
pub fn run(
    job: &mut impl Job,
    plan: &Plan,
    what: &str,
    device: &Device,
    folder: &RunFolder,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<(), ClosureError> {
    let t0 = Instant::now();
    let wall0 = job.state().wall_s;
    for epoch in job.state().epoch..plan.epochs {
        let mut rng = super::checkpoint::epoch_streams(device, plan.seed, epoch);
        let lr = plan.lr_at(epoch);
        let mut order: Vec<usize> = (0..job.items()).collect();
        order.shuffle(&mut rng);
        job.begin_epoch(&order, &mut rng);
        let iters = order.len().div_ceil(plan.batch);
        let mut sum = 0.0;
        for (it, batch) in order.chunks(plan.batch).enumerate() {
            let loss = job.step(batch, lr, &mut rng)?;
            if !loss.is_finite() {
                return Err(ClosureError::Input(format!(
                    "{what} diverged (loss {loss}) at epoch {}; lower --lr",
                    epoch + 1
                )));
            }
            job.state().iterations += 1;
            sum += loss;
            on_progress(&Progress::Step {
                epoch,
                epochs: plan.epochs,
                iter: it + 1,
                iters,
                loss,
            });
        }
        let loss = sum / iters.max(1) as f64;
        let held_out = job.held_out(epoch)?;
        let st = job.state();
        st.epoch = epoch + 1;
        st.wall_s = wall0 + t0.elapsed().as_secs_f64();
        let score = Some(held_out.score).filter(|v| v.is_finite());
        st.history.push((epoch + 1, loss, score));
        on_progress(&Progress::Epoch {
            epoch,
            epochs: plan.epochs,
            loss,
            held_out,
        });
        // the manifest first: a checkpoint is never left without the settings that made it
        std::fs::create_dir_all(folder.dir)
            .map_err(|e| ClosureError::Weights(format!("{}: {e}", folder.dir.display())))?;
        crate::resume::record(&folder.manifest, &folder.settings).map_err(ClosureError::Input)?;
        job.save(folder.dir)?;
    }
    Ok(())
}
