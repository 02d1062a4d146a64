//! A-priori scores of subgrid closures on held-out filtered-DNS states (docs/science.md
//! §7, §8): D_Fro of a member and of the ensemble mean, spread, spread/skill and CRPS,
//! for the learned closures and, on the same states, the eddy-viscosity closures and no
//! closure.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::LesModel;
use crate::closure::calibration::{
    Calibration, add_deviation_spectra, average, score, spectrum_ratio,
};
use crate::closure::dataset::DataError;
use crate::closure::sampler::Sampler;
use crate::closure::sde::Schedule;
use strum::IntoEnumIterator;

use crate::les::{EddyViscosity, LesClosure, data};
use crate::solver::Grid;

/// One row: a closure on the held-out states of one test file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AprioriRow {
    /// `none`, a classical closure, or a learned kind (`learned-stochastic`,
    /// `learned-deterministic`, `mean-noise`).
    pub closure: String,
    /// Which learned model (its file stem); none for the other closures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub nu: f64,
    /// DNS grid of the test data (the fidelity asked of a learned closure trained on it;
    /// otherwise it is asked for the highest fidelity it knows).
    pub dns_n: usize,
    pub states: usize,
    pub ensemble: usize,
    pub d_fro: f64,
    pub d_fro_mean: f64,
    /// Null for a deterministic closure.
    pub spread: Option<f64>,
    pub spread_skill: Option<f64>,
    /// Fair CRPS per pixel ÷ mean |Π| (a deterministic closure's mean absolute error).
    pub crps: f64,
    /// Worst |spread spectrum ÷ error spectrum − 1| over the shells holding ≥ 1 % of
    /// the error's energy (ensembles only): a pointwise score like the CRPS cannot tell
    /// spatially correlated samples from pointwise noise; this can.
    #[serde(default)]
    pub spectrum_worst: Option<f64>,
    /// The ratio per integer shell (ensembles only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum_ratio: Vec<Option<f64>>,
}

fn row(
    closure: &str,
    nu: f64,
    dns_n: usize,
    ensemble: usize,
    c: Calibration,
    states: usize,
) -> AprioriRow {
    let stochastic = ensemble > 1;
    AprioriRow {
        closure: closure.to_string(),
        model: None,
        nu,
        dns_n,
        states,
        ensemble,
        d_fro: c.d_fro_member,
        d_fro_mean: c.d_fro_mean,
        spread: stochastic.then_some(c.spread),
        spread_skill: stochastic.then_some(c.spread_skill),
        crps: c.crps,
        spectrum_worst: None,
        spectrum_ratio: Vec::new(),
    }
}

/// Score `models` (named by their file stems) and the classical closures on every `stride`-th snapshot of each test
/// file (of its `last` trajectories only, if `last` > 0: those a training run held out
/// with `--val-per-file`).
pub fn apriori(
    models: &[(String, &LesModel)],
    tests: &[&Path],
    last: usize,
    stride: usize,
    ensemble: usize,
    sampler: Sampler,
    schedule: &Schedule,
) -> Result<Scores, String> {
    let mut rows = Vec::new();
    let mut spectra: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); models.len()];
    for path in tests {
        let (spec, trajs) = data::read(path).map_err(|e: DataError| e.to_string())?;
        let flow = spec.flow;
        let grid = Arc::new(Grid::new(flow.les_n).map_err(|e| e.to_string())?);
        let nn = flow.les_n * flow.les_n;
        let total = spec.trajectories;
        let states: Vec<(Vec<f64>, Vec<f64>)> = trajs
            .iter()
            .filter(|t| last == 0 || t.index + last >= total)
            .flat_map(|t| {
                let m = t.omega_bar.len() / nn;
                (0..m).step_by(stride.max(1)).map(move |k| {
                    let f = |v: &[f32]| v[k * nn..(k + 1) * nn].iter().map(|&x| x as f64).collect();
                    (f(&t.omega_bar), f(&t.pi))
                })
            })
            .collect();
        if states.is_empty() {
            return Err(format!(
                "{}: no states to score ({} trajectories stored{})",
                path.display(),
                trajs.len(),
                if last > 0 {
                    format!(", the last {last} asked for")
                } else {
                    String::new()
                }
            ));
        }
        let mut classical: Vec<(String, Box<dyn FnMut(&[f64]) -> Vec<f64>>)> =
            vec![("none".into(), Box::new(move |w: &[f64]| vec![0.0; w.len()]))];
        // every classical closure, by its own name (the list lives on LesClosure)
        for (label, model) in LesClosure::iter().filter_map(|c| Some((c.to_string(), c.eddy()?))) {
            let mut e = EddyViscosity::new(grid.clone(), model);
            let g = grid.clone();
            classical.push((
                label.into(),
                Box::new(move |w: &[f64]| {
                    let hat = g.to_spectral(w);
                    let mut out = g.zeros_hat();
                    e.subgrid_hat(&hat, &mut out);
                    g.to_physical(&out)
                }),
            ));
        }
        for (name, f) in classical.iter_mut() {
            let s: Vec<_> = states.iter().map(|(w, p)| score(&[f(w)], p)).collect();
            rows.push(row(name, flow.nu, flow.dns_n, 1, average(&s), states.len()));
        }
        for ((name, m), total) in models.iter().zip(spectra.iter_mut()) {
            let mut s = Vec::with_capacity(states.len());
            let mut sums = (Vec::new(), Vec::new());
            for (w, p) in &states {
                let fidelity = m.card.fidelity_for(flow.dns_n);
                let members = m
                    .sample(&grid, w, flow.nu, fidelity, ensemble, sampler, schedule)
                    .map_err(|e| format!("{name}: {e}"))?;
                s.push(score(&members, p));
                add_deviation_spectra(&mut sums, &grid, &members, p);
            }
            if total.0.is_empty() {
                *total = sums.clone();
            } else {
                total.0.iter_mut().zip(&sums.0).for_each(|(a, b)| *a += b);
                total.1.iter_mut().zip(&sums.1).for_each(|(a, b)| *a += b);
            }
            let (spread, error) = sums;
            let deterministic = m.card.part.kind == super::model::LesKind::Deterministic;
            let k = if deterministic { 1 } else { ensemble };
            let closure = m.card.part.kind.closure_name();
            let mut r = row(closure, flow.nu, flow.dns_n, k, average(&s), states.len());
            r.model = Some(name.clone());
            if !deterministic {
                let (ratio, worst) = spectrum_ratio(&spread, &error);
                r.spectrum_worst = Some(worst);
                r.spectrum_ratio = ratio
                    .into_iter()
                    .map(|v| v.is_finite().then_some(v))
                    .collect();
            }
            rows.push(r);
        }
    }
    Ok(Scores { rows, spectra })
}

/// What [`apriori`] measured: the rows, and per model its (spread, error) shell spectra
/// summed over every scored state (what a spread inflation is fitted from).
pub struct Scores {
    pub rows: Vec<AprioriRow>,
    pub spectra: Vec<(Vec<f64>, Vec<f64>)>,
}
