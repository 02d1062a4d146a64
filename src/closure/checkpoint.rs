//! The one checkpoint rule of every training run (`train`, `distill`, `les-train`).
//!
//! A run folder holds `model.bpk` (the network's full-precision weights), `ema.bpk` (its
//! exponential moving average, for runs that keep one), `optim.bpk` (the optimiser) and
//! `state.json` (progress: epoch, iterations, wall time, losses). The state is written
//! last, each file atomically, so a folder with a `state.json` holds a whole checkpoint;
//! one without is a fresh start. Which job may resume it is the manifest's business
//! ([`crate::resume`]).

use std::path::Path;

use burn::optim::ModuleOptimizer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::ClosureError;

/// The random streams of epoch `epoch` of a run seeded `seed`: burn's stream of `device`
/// (network noise) is seeded and the host generator (shuffles, diffusion times) returned,
/// both functions of the two numbers alone, so a run resumed at an epoch draws what a run
/// straight through draws there.
pub(crate) fn epoch_streams(
    device: &burn::tensor::Device,
    seed: u64,
    epoch: usize,
) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    device.seed(super::sampler::draw_key(&[seed, epoch as u64, 0xE90C]));
    rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37))
}

/// A checkpoint as read from its folder.
pub struct Saved<S> {
    pub state: S,
    pub model: Vec<u8>,
    /// `ema.bpk`, when the run keeps one and it is there.
    pub ema: Option<Vec<u8>>,
    optim: Option<Vec<u8>>,
}

fn read_err(p: &Path, e: impl std::fmt::Display) -> ClosureError {
    ClosureError::Weights(format!("{}: {e}", p.display()))
}

/// The checkpoint in `dir`, or `None` when there is none (no `state.json`).
pub fn read<S: DeserializeOwned>(
    dir: &Path,
    with_ema: bool,
) -> Result<Option<Saved<S>>, ClosureError> {
    let state_path = dir.join("state.json");
    if !state_path.exists() {
        return Ok(None);
    }
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|e| read_err(&p, e))
    };
    let state = serde_json::from_slice(&read("state.json")?)
        .map_err(|e| ClosureError::Card(format!("{}: {e}", state_path.display())))?;
    Ok(Some(Saved {
        state,
        model: read("model.bpk")?,
        ema: if with_ema {
            Some(read("ema.bpk")?)
        } else {
            None
        },
        optim: std::fs::read(dir.join("optim.bpk")).ok(),
    }))
}

impl<S> Saved<S> {
    /// `fresh` with the saved optimiser state loaded into it (a checkpoint without one
    /// resumes with a fresh optimiser).
    pub(crate) fn optimizer(
        &mut self,
        fresh: ModuleOptimizer,
        dir: &Path,
    ) -> Result<ModuleOptimizer, ClosureError> {
        match self.optim.take() {
            Some(b) => fresh
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(b))
                .map_err(|e| {
                    ClosureError::Weights(format!("optimizer state in {}: {e}", dir.display()))
                }),
            None => Ok(fresh),
        }
    }
}

/// Write a checkpoint: weights, EMA, optimiser, then the state.
pub fn write<S: Serialize>(
    dir: &Path,
    state: &S,
    model: &[u8],
    ema: Option<&[u8]>,
    optim: &ModuleOptimizer,
) -> Result<(), ClosureError> {
    let write = |name: &str, d: &[u8]| {
        let p = dir.join(name);
        crate::atomic::write_bytes(&p, d).map_err(|e| read_err(&p, e))
    };
    write("model.bpk", model)?;
    if let Some(e) = ema {
        write("ema.bpk", e)?;
    }
    if let Ok(o) = optim.into_bytes() {
        write("optim.bpk", &o.to_vec())?;
    }
    let s = serde_json::to_vec_pretty(state).map_err(|e| ClosureError::Card(e.to_string()))?;
    write("state.json", &s)
}
