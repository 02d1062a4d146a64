//! Training samples in memory: each snapshot of a data file turned into network inputs
//! and targets at every sensor density a run trains at, and the per-density whitening of
//! the targets ([`super::whiten`]).

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;

use super::dataset::read_h5_trajectory;
use super::model::{ClosureError, InputSpec, one_hot};
use super::score::ScoreNetConfig;
use super::sensors::{DENSITIES, Sensors};
use super::train::data_err;
use super::whiten::Whitening;
use crate::solver::{Case, Grid};

/// Training samples held in memory as f32: per snapshot ω, and per (snapshot, density
/// class) the target x₀ and the densified observation.
pub struct Samples {
    pub n: usize,
    /// Density classes per snapshot (1 for a single-density model).
    pub classes: usize,
    pub x0: Vec<f32>,
    pub omega: Vec<f32>,
    pub obs: Vec<f32>,
    /// Snapshots.
    pub count: usize,
}

impl Samples {
    /// The batch of (snapshot, class) pairs: x₀, ω, obs and, for a multi-density model,
    /// the one-hot classes.
    pub(super) fn tensors(
        &self,
        idx: &[(usize, usize)],
        device: &Device,
    ) -> (Tensor<4>, Tensor<4>, Tensor<4>, Option<Tensor<2>>) {
        let (n, b) = (self.n, idx.len());
        let nn = n * n;
        let gather = |src: &[f32], per: usize| {
            let mut v = Vec::with_capacity(b * nn);
            for &(i, c) in idx {
                let k = i * per + if per > 1 { c } else { 0 };
                v.extend_from_slice(&src[k * nn..(k + 1) * nn]);
            }
            Tensor::<4>::from_data(TensorData::new(v, [b, n, n, 1]), device)
        };
        let onehot = (self.classes > 1).then(|| {
            let cs: Vec<usize> = idx.iter().map(|&(_, c)| c).collect();
            one_hot(&cs, self.classes, device)
        });
        (
            gather(&self.x0, self.classes),
            gather(&self.omega, 1),
            gather(&self.obs, self.classes),
            onehot,
        )
    }

    /// Measure each class's shell amplitudes and whiten the targets with them.
    pub(super) fn whiten(&mut self, grid: &Grid) -> Whitening {
        let (nn, classes) = (self.n * self.n, self.classes);
        let field = |c: &[f32]| c.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        let w = Whitening::measure(
            grid,
            classes,
            self.x0
                .chunks_exact(nn)
                .enumerate()
                .map(|(k, c)| (k % classes, field(c))),
        );
        for (k, chunk) in self.x0.chunks_exact_mut(nn).enumerate() {
            let white = w.whiten(k % classes, grid, &field(chunk));
            for (d, v) in chunk.iter_mut().zip(white) {
                *d = v as f32;
            }
        }
        w
    }

    /// Root-mean-square target of each class.
    pub(super) fn class_rms(&self) -> Vec<f64> {
        let nn = self.n * self.n;
        let mut sum = vec![0.0f64; self.classes];
        for (k, chunk) in self.x0.chunks_exact(nn).enumerate() {
            sum[k % self.classes] += chunk.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        }
        let per = (self.count * nn).max(1) as f64;
        sum.iter().map(|s| (s / per).sqrt()).collect()
    }
}

/// The sensor densities a run trains at: all of [`DENSITIES`] for a network conditioned
/// on the density, else the card's one.
pub(super) fn train_densities(spec: &InputSpec, net: &ScoreNetConfig) -> Vec<usize> {
    if net.densities.unwrap_or(0) > 0 {
        DENSITIES.to_vec()
    } else {
        vec![spec.sensors]
    }
}

/// Load trajectories `range` of `data` strided to `grid`, turned into samples by `spec`
/// at each of `densities`. Also returns, per snapshot, (ω, true closure) in f64 for
/// validation.
pub(crate) fn load_samples(
    data: &Path,
    range: std::ops::Range<usize>,
    grid: usize,
    spec: &InputSpec,
    densities: &[usize],
    max: usize,
) -> Result<(Samples, Vec<(Vec<f64>, Vec<f64>)>), ClosureError> {
    let g = Grid::new(grid).map_err(|e| ClosureError::Input(e.to_string()))?;
    let layouts = densities
        .iter()
        .map(|&d| Sensors::new(d, grid))
        .collect::<Result<Vec<_>, _>>()?;
    let nn = grid * grid;
    let mut s = Samples {
        n: grid,
        classes: densities.len(),
        x0: Vec::new(),
        omega: Vec::new(),
        obs: Vec::new(),
        count: 0,
    };
    let mut raw = Vec::new();
    'outer: for k in range {
        let tr = read_h5_trajectory(data, k, Some(grid)).map_err(data_err)?;
        for m in 0..tr.snapshots {
            if max > 0 && s.count >= max {
                break 'outer;
            }
            let omega: Vec<f64> = tr.field(0, m).iter().map(|&v| v as f64).collect();
            let which = if spec.case == Case::G { 1 } else { 2 };
            let closure: Vec<f64> = tr.field(which, m).iter().map(|&v| v as f64).collect();
            for sensors in &layouts {
                let inputs = spec.inputs(&g, &omega, &sensors.read(&closure), sensors);
                let x0: Vec<f64> = match &inputs.mean {
                    Some(p) => closure.iter().zip(p).map(|(c, p)| c - p).collect(),
                    None => closure.clone(),
                };
                s.x0.extend(x0.iter().map(|&v| v as f32));
                s.obs.extend(inputs.obs.iter().map(|&v| v as f32));
            }
            s.omega.extend(omega.iter().map(|&v| v as f32));
            s.count += 1;
            raw.push((omega, closure));
        }
    }
    debug_assert_eq!(s.x0.len(), s.count * s.classes * nn);
    Ok((s, raw))
}
