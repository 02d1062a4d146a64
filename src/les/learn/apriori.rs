//! A-priori scores of subgrid closures on held-out filtered-DNS states (docs/science.md
//! §7, §8): D_Fro of a member and of the ensemble mean, spread, spread/skill and CRPS,
//! for the learned closures and, on the same states, the eddy-viscosity closures and no
//! closure.

use crate::les::learn::Draw;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::LesModel;
use crate::closure::calibration::{
    Calibration, EnsembleScores, add_deviation_spectra, average, score,
};
use crate::closure::dataset::DataError;
use crate::closure::inflation::Inflation;
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
    pub closure: crate::les::name::ClosureName,
    /// Which learned model (its file stem); none for the other closures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub nu: f64,
    /// DNS grid of the test data (the fidelity asked of a learned closure trained on it;
    /// otherwise it is asked for the highest fidelity it knows).
    pub dns_n: usize,
    pub states: usize,
    #[serde(flatten)]
    pub scores: EnsembleScores,
}

fn row(
    closure: &str,
    nu: f64,
    dns_n: usize,
    ensemble: usize,
    c: Calibration,
    states: usize,
) -> AprioriRow {
    AprioriRow {
        closure: closure.into(),
        model: None,
        nu,
        dns_n,
        states,
        scores: EnsembleScores::new(ensemble, &c),
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
    let mut spectra: Vec<Vec<(f64, Sums)>> = vec![Vec::new(); models.len()];
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
                    .sample(
                        &Draw {
                            grid: &grid,
                            omega_bar: w,
                            nu: flow.nu,
                            dns_n: fidelity,
                        },
                        ensemble,
                        sampler,
                        schedule,
                    )
                    .map_err(|e| format!("{name}: {e}"))?;
                s.push(score(&members, p));
                add_deviation_spectra(&mut sums, &grid, &members, p);
            }
            match total.iter_mut().find(|(nu, _)| *nu == flow.nu) {
                None => total.push((flow.nu, sums.clone())),
                Some((_, t)) => crate::closure::calibration::add_sums(t, &sums),
            }
            let deterministic = m.card.part.kind == super::model::LesKind::Deterministic;
            let k = if deterministic { 1 } else { ensemble };
            let closure = m.card.part.kind.closure_name();
            let mut r = row(closure, flow.nu, flow.dns_n, k, average(&s), states.len());
            r.model = Some(name.clone());
            if !deterministic {
                r.scores = r.scores.with_spectra(&sums);
            }
            rows.push(r);
        }
    }
    Ok(Scores { rows, spectra })
}

/// Summed (spread, error) shell spectra of scored states.
pub type Sums = (Vec<f64>, Vec<f64>);

/// A stochastic model's spread-inflation tables for `sampler` at `steps` from its
/// [`Scores::spectra`] (ensembles of `members`): one table over every state, or with
/// `per_nu` one per ν of the states, marked with it (the nearest applies when sampling).
pub(crate) fn inflation_tables(
    by_nu: &[(f64, Sums)],
    members: usize,
    sampler: Sampler,
    steps: usize,
    fitted_on: &str,
    per_nu: bool,
) -> Vec<Inflation> {
    let fit = |sums: &Sums| {
        Inflation::fit(
            std::slice::from_ref(sums),
            members,
            sampler,
            steps,
            fitted_on.to_string(),
        )
    };
    if per_nu {
        by_nu
            .iter()
            .map(|(nu, sums)| fit(sums).at_nu(*nu))
            .collect()
    } else if by_nu.is_empty() {
        Vec::new()
    } else {
        vec![fit(&pooled(by_nu))]
    }
}

/// The spectra of every ν summed into one.
fn pooled(by_nu: &[(f64, Sums)]) -> Sums {
    let mut total: Sums = (Vec::new(), Vec::new());
    for (_, sums) in by_nu {
        crate::closure::calibration::add_sums(&mut total, sums);
    }
    total
}

/// What [`apriori`] measured: the rows, and per model its (spread, error) shell spectra
/// summed over the scored states of each ν, in the order the ν first came (what a spread
/// inflation per ν is fitted from).
pub struct Scores {
    pub rows: Vec<AprioriRow>,
    pub spectra: Vec<Vec<(f64, Sums)>>,
}
