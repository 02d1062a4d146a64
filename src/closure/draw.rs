//! One draw of a learned closure's score network, shared by every model that has one
//! (the published G/H models and the subgrid Π model): the sampler's schedule stretched
//! onto the card's trained time range, the score (or a flow generator's end-point) as a
//! function of one conditioning, the reverse process, and the members read back as
//! fields in network units. What the members mean — how they are coloured, the mean
//! they are added to, the inflation of their spread — is the model's own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::prelude::*;

use super::layers::DftBasis;
use super::model::{ClosureError, SampleRanges};
use super::sampler::{Sampler, flow_latent, sample, time_tensor};
use super::score::{Conditioning, ScoreNet};
use super::sde::Schedule;
use super::whiten::Whitening;
use crate::solver::Grid;

/// The schedule a sampler runs for a model whose card may give a trained time range per
/// score sampler: `schedule`'s rule and steps stretched onto that range (unchanged
/// without one, or for a flow generator).
pub(crate) fn schedule_in_range(
    ranges: Option<SampleRanges>,
    sampler: Sampler,
    schedule: &Schedule,
) -> Schedule {
    match ranges.and_then(|r| r.for_sampler(sampler)) {
        Some([hi, lo]) => schedule.with_range(hi, lo),
        None => *schedule,
    }
}

/// DFT bases by (grid, modes), built once per model and grid: a basis costs a few
/// transcendental functions per entry, every draw needs one.
#[derive(Default)]
pub struct Bases(Mutex<HashMap<(usize, usize), Arc<DftBasis>>>);

impl Clone for Bases {
    /// A copy starts empty (bases are rebuilt on the copy's device).
    fn clone(&self) -> Self {
        Bases::default()
    }
}

impl std::fmt::Debug for Bases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bases")
    }
}

impl Bases {
    /// The basis of a network keeping `modes` modes per axis on an `n × n` grid (shared,
    /// not copied: the basis tensors stay singly held, as the kernels expect).
    pub fn get(&self, n: usize, modes: usize, device: &Device) -> Arc<DftBasis> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((n, modes))
            .or_insert_with(|| Arc::new(DftBasis::new(n, modes, modes, device)))
            .clone()
    }
}

/// `ensemble` members of `net` for one conditioning on an `n × n` grid, in network units
/// (`[ensemble][n²]`): the reverse SDE/ODE of a score network, or a flow generator's
/// straight path ([`Sampler::uses_score`] decides which output of `net` drives it).
/// `start`, for a flow generator only, is its latent `z ~ N(0, 1)` of shape
/// `[ensemble, n, n, 1]` (fresh noise when `None`).
#[allow(clippy::too_many_arguments)]
pub fn members(
    net: &ScoreNet,
    cond: &Conditioning,
    basis: &DftBasis,
    sampler: Sampler,
    schedule: &Schedule,
    ensemble: usize,
    n: usize,
    device: &Device,
    start: Option<Tensor<4>>,
) -> Result<Vec<Vec<f64>>, ClosureError> {
    let score = |x: Tensor<4>, t: f64| {
        let tt = time_tensor(t, x.dims()[0], device);
        if sampler.uses_score() {
            net.score(x, tt, cond, basis)
        } else {
            net.raw(x, tt, cond, basis)
        }
    };
    let x = match start {
        Some(z) if sampler == Sampler::Flow => {
            if z.dims() != [ensemble, n, n, 1] {
                return Err(ClosureError::Input(format!(
                    "a latent of shape {:?} for {ensemble} members on {n}²",
                    z.dims()
                )));
            }
            flow_halves(&score, z, schedule.steps())
        }
        None if sampler == Sampler::Flow => {
            // the latent as `sample` draws it, so a seed gives the same members
            let z = flow_latent([ensemble, n, n, 1], device);
            flow_halves(&score, z, schedule.steps())
        }
        Some(_) => {
            return Err(ClosureError::Input(
                "only a flow generator draws from a given latent".into(),
            ));
        }
        None => sample(
            &mut { score },
            net.sde(),
            sampler,
            schedule,
            [ensemble, n, n, 1],
            device,
        ),
    };
    fields(x, n, 1.0)
}

/// A flow generator's members from their latents `z` (`[B, n, n, 1]`): the two halves of
/// the batch on two threads when the pool has them. Each member is computed from its own
/// latent alone, so the split changes no value (the live draw of an ensemble waits on
/// this; one batched pass keeps a single core busy while the other idles).
fn flow_halves(
    end: &(impl Fn(Tensor<4>, f64) -> Tensor<4> + Sync),
    z: Tensor<4>,
    steps: usize,
) -> Tensor<4> {
    let run = |z: Tensor<4>| super::flow::integrate(&mut |x, t| end(x, t), z, steps);
    let b = z.dims()[0];
    if b < 2 || rayon::current_num_threads() < 2 {
        return run(z);
    }
    let h = b.div_ceil(2);
    let (lo, hi) = (z.clone().narrow(0, 0, h), z.narrow(0, h, b - h));
    let (lo, hi) = rayon::join(|| run(lo), || run(hi));
    Tensor::cat(vec![lo, hi], 0)
}

/// Members in network units → closure fields: each coloured by the model's whitening of
/// density class `class` where it has one (else multiplied by `scale`), then `mean` added
/// where the model learns around one. Members are independent (a transform pair each),
/// so they are spread over the pool; every member's bits are as on one thread.
pub(crate) fn colour_members(
    raws: Vec<Vec<f64>>,
    grid: &Grid,
    whitening: Option<(&Whitening, usize)>,
    scale: f64,
    mean: Option<&[f64]>,
) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    raws.into_par_iter()
        .map(|raw| {
            let mut f = match whitening {
                Some((w, class)) => w.colour(class, grid, &raw),
                None if scale == 1.0 => raw,
                None => raw.iter().map(|x| x * scale).collect(),
            };
            if let Some(p) = mean {
                f.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            }
            f
        })
        .collect()
}

/// A batch `[B, n, n, 1]` read back as B fields of n², each value times `scale`.
pub fn fields(t: Tensor<4>, n: usize, scale: f64) -> Result<Vec<Vec<f64>>, ClosureError> {
    let v = t
        .try_into_vec_as::<f32>()
        .map_err(|e| ClosureError::Input(format!("{e:?}")))?;
    Ok(v.chunks_exact(n * n)
        .map(|c| c.iter().map(|&x| x as f64 * scale).collect())
        .collect())
}
