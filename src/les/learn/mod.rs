//! The learned subgrid closure (docs/science.md §6, §8): training data from filtered-DNS
//! files of several viscosities and fidelities, the labels a network is conditioned on
//! (ν and the data's fidelity, DGMF style), and the deterministic and mean + noise
//! competitors on the same backbone ([`regressor`]).
//!
//! Unlike the rest of [`crate::les`], this module builds on [`crate::closure`] (the FNO
//! layers and the score network, the card every learned model has, the one training
//! loop, the draw and the flow distillation).

pub mod apriori;
pub mod distill;
pub mod drain;
pub mod learned;
pub mod model;
pub mod regressor;
pub mod shipped;
pub mod train;

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::data;
use crate::closure::dataset::DataError;

/// Which learned closure.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum LesKind {
    /// The conditional score model: samples of Π given ω̄, ν and fidelity.
    Stochastic,
    /// A deterministic FNO trained by mean-squared error.
    Deterministic,
    /// The same FNO with a pointwise Gaussian variance head.
    MeanNoise,
}

impl LesKind {
    /// The closure's name in evaluation rows (`les-apriori`, `les-eval`).
    pub fn closure_name(self) -> &'static str {
        match self {
            LesKind::Stochastic => "learned-stochastic",
            LesKind::Deterministic => "learned-deterministic",
            LesKind::MeanNoise => "mean-noise",
        }
    }
}

/// DNS grids a subgrid data file can come from, lowest fidelity first.
pub const FIDELITIES: [usize; 3] = [128, 256, 512];

/// Viscosity the ν label is centred on, and the factor one unit of the label spans.
pub const NU_REF: f64 = 3e-4;

/// How the fidelity of the training data enters the network.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum FidelityCode {
    /// One-hot over [`FIDELITIES`] (DGMF's discrete fidelity): a class per DNS grid.
    #[default]
    Discrete,
    /// The value 64/N of the DNS grid N (DGMF's continuous fidelity): 0.5 at 128²,
    /// 0.25 at 256², and a grid between the trained ones is an interpolation.
    Continuous,
}

/// The labels of one setting: `[ln(ν/ν_ref)/ln 2, fidelity…]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub fidelity: FidelityCode,
}

impl Labels {
    /// Length of the label vector.
    pub fn width(&self) -> usize {
        1 + match self.fidelity {
            FidelityCode::Discrete => FIDELITIES.len(),
            FidelityCode::Continuous => 1,
        }
    }

    /// The label vector of viscosity `nu` and DNS grid `dns_n`.
    pub fn vector(&self, nu: f64, dns_n: usize) -> Result<Vec<f32>, String> {
        if !(nu.is_finite() && nu > 0.0) {
            return Err(format!("ν must be positive, got {nu}"));
        }
        let mut v = vec![((nu / NU_REF).ln() / std::f64::consts::LN_2) as f32];
        match self.fidelity {
            FidelityCode::Discrete => {
                let k = FIDELITIES.iter().position(|&f| f == dns_n).ok_or_else(|| {
                    format!("DNS grid {dns_n} is not one of the fidelity classes {FIDELITIES:?}")
                })?;
                v.extend((0..FIDELITIES.len()).map(|i| if i == k { 1.0 } else { 0.0 }));
            }
            FidelityCode::Continuous => {
                if dns_n < 64 {
                    return Err(format!(
                        "DNS grid {dns_n} is below 64², the reference of the continuous fidelity code"
                    ));
                }
                v.push(64.0 / dns_n as f32);
            }
        }
        Ok(v)
    }
}

/// Snapshots of subgrid data files in memory: ω̄ and Π on the LES grid with each
/// snapshot's labels and where it came from.
#[derive(Clone, Debug, Default)]
pub struct LesSamples {
    pub n: usize,
    pub omega_bar: Vec<f32>,
    pub pi: Vec<f32>,
    /// Label vectors, `width` per snapshot.
    pub labels: Vec<f32>,
    pub width: usize,
    /// (file, trajectory) of each snapshot.
    pub origin: Vec<(usize, usize)>,
    /// Per file: ν and DNS grid.
    pub files: Vec<(f64, usize)>,
}

impl LesSamples {
    pub fn count(&self) -> usize {
        self.origin.len()
    }

    /// Read `files` (each one ν and one DNS grid), keeping trajectories for which
    /// `keep(file, trajectory)` holds.
    pub fn load(
        files: &[&Path],
        labels: Labels,
        keep: &dyn Fn(usize, usize) -> bool,
    ) -> Result<Self, DataError> {
        let mut s = LesSamples {
            width: labels.width(),
            ..Default::default()
        };
        for (f, path) in files.iter().enumerate() {
            let (spec, trajs) = data::read(path)?;
            let flow = spec.flow;
            if s.n == 0 {
                s.n = flow.les_n;
            } else if s.n != flow.les_n {
                return Err(DataError::Layout(format!(
                    "{}: LES grid {} differs from the first file's {}",
                    path.display(),
                    flow.les_n,
                    s.n
                )));
            }
            let label = labels
                .vector(flow.nu, flow.dns_n)
                .map_err(|e| DataError::Layout(format!("{}: {e}", path.display())))?;
            s.files.push((flow.nu, flow.dns_n));
            let nn = flow.les_n * flow.les_n;
            for tr in trajs.iter().filter(|t| keep(f, t.index)) {
                let snaps = tr.omega_bar.len() / nn;
                s.omega_bar.extend_from_slice(&tr.omega_bar);
                s.pi.extend_from_slice(&tr.pi);
                for _ in 0..snaps {
                    s.labels.extend_from_slice(&label);
                    s.origin.push((f, tr.index));
                }
            }
        }
        Ok(s)
    }
}

/// The state a subgrid draw is conditioned on: ω̄ on its grid, the flow's ν and the DNS
/// grid whose fidelity the model is asked for.
#[derive(Clone, Copy)]
pub struct Draw<'a> {
    pub grid: &'a crate::solver::Grid,
    pub omega_bar: &'a [f64],
    pub nu: f64,
    pub dns_n: usize,
}

impl Draw<'_> {
    /// This draw as `model` is asked for it: at the fidelity it knows nearest to this
    /// draw's DNS grid ([`model::LesCard::fidelity_for`]).
    pub(crate) fn asking(&self, model: &model::LesModel) -> Self {
        Draw {
            dns_n: model.card.fidelity_for(self.dns_n),
            ..*self
        }
    }
}
