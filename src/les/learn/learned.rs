//! A learned subgrid closure inside an LES run: Π drawn from the model for the run's own
//! ω̄ every `every` steps and held in between (one member: a stochastic closure gives one
//! trajectory of a random LES).

use std::sync::Arc;

use super::drain::MeanTie;
use super::model::LesModel;
use crate::closure::eval::SamplerSetting;
use crate::closure::sampler::{draw_key, seeded};
use crate::les::{LesClosure, LesError, LesFlow, LesRun};
use crate::solver::{C64, Grid, SolverError};

/// A learned closure as `les-eval` runs it.
#[derive(Clone, Debug)]
pub struct Learned {
    /// Which model (its file stem).
    pub label: String,
    pub model: LesModel,
    /// Steps between fresh draws of Π.
    pub every: u64,
    /// Members drawn per state for the a-priori scores (CRPS, spread/skill).
    pub ensemble: usize,
    /// Seed of the draws: each draw is seeded by (seed, its key), so a run repeats bit
    /// for bit whatever else runs beside it.
    pub seed: u64,
    /// How Π is drawn (the published 10-step Euler–Maruyama schedule, Heun, or the
    /// model's distilled flow generator).
    pub sampler: SamplerSetting,
}

/// Suffix of a closure whose draws are held for `k > 1` steps (`+held10`).
pub const HELD: &str = "+held";

impl Learned {
    /// The closure's name in evaluation rows (`learned-stochastic`, …; a variant tied to
    /// a mean with its [`MeanTie::suffix`] appended, draws held for k > 1 steps with
    /// `+held{k}`: a fresh draw every step is the plain name).
    pub fn closure(&self) -> String {
        let mut name = self.model.card.kind.closure_name().to_string();
        if let Some((_, tie)) = &self.model.drain {
            name.push_str(tie.suffix());
        }
        if self.every > 1 {
            name.push_str(&format!("{HELD}{}", self.every));
        }
        name
    }

    /// Refuse an LES grid the model was not trained on (Π's statistics depend on where
    /// the filter cuts).
    pub fn check_grid(&self, les_n: usize) -> Result<(), LesError> {
        // an exact drain's mean was checked against the model's grid when attached
        let m = &self.model;
        if m.card.les_n != les_n {
            return Err(LesError::Setting(format!(
                "{} was trained on the {}² LES grid, not {les_n}²",
                m.card.name, m.card.les_n
            )));
        }
        Ok(())
    }

    /// The same closure with its members tied to `mean` (a deterministic model) as `tie`
    /// says ([`LesModel::tied_to`]), or `None` when this one is deterministic itself
    /// (nothing to tie).
    pub fn tied_to(&self, mean: &LesModel, tie: MeanTie) -> Result<Option<Learned>, LesError> {
        if self.model.card.kind == super::model::LesKind::Deterministic {
            return Ok(None);
        }
        let model = self
            .model
            .clone()
            .tied_to(Some((mean.clone(), tie)))
            .map_err(|source| LesError::Model {
                model: self.label.clone(),
                source,
            })?;
        Ok(Some(Learned {
            model,
            ..self.clone()
        }))
    }

    /// `members` draws of Π (physical) for the state `omega_bar_hat` of flow `flow`,
    /// asked for the fidelity of the flow's DNS grid (if the model knows it); `key`
    /// names the draw (with the seed it fixes its random numbers).
    pub fn draw(
        &self,
        flow: &LesFlow,
        grid: &Grid,
        omega_bar_hat: &[C64],
        members: usize,
        key: &[u64],
    ) -> Result<Vec<Vec<f64>>, LesError> {
        let w = grid.to_physical(omega_bar_hat);
        let mut parts = vec![self.seed];
        parts.extend_from_slice(key);
        seeded(self.model.device(), draw_key(&parts), || {
            self.model.sample(
                grid,
                &w,
                flow.nu,
                self.model.card.fidelity_for(flow.dns_n),
                members,
                self.sampler.sampler,
                &self.sampler.schedule,
            )
        })
        .map_err(|source| LesError::Model {
            model: self.label.clone(),
            source,
        })
    }

    /// One Π (spectral) for the state `omega_bar_hat` of flow `flow`.
    pub fn pi_hat(
        &self,
        flow: &LesFlow,
        grid: &Grid,
        omega_bar_hat: &[C64],
        key: &[u64],
    ) -> Result<Vec<C64>, LesError> {
        let s = self.draw(flow, grid, omega_bar_hat, 1, key)?;
        Ok(grid.to_spectral(&s[0]))
    }
}

/// An LES run closed by a learned model.
pub struct LearnedRun {
    pub run: LesRun,
    held: Vec<C64>,
    steps: u64,
    /// This run's stream of draws (with the learned closure's seed and the step).
    stream: u64,
}

impl LearnedRun {
    pub fn new(
        flow: &LesFlow,
        grid: Arc<Grid>,
        bar_hat: &[C64],
        t0: f64,
        stream: u64,
    ) -> Result<Self, SolverError> {
        Ok(LearnedRun {
            run: LesRun::new(flow, grid.clone(), bar_hat, t0, LesClosure::None)?,
            held: grid.zeros_hat(),
            steps: 0,
            stream,
        })
    }

    /// One step; Π is drawn afresh every `learned.every` steps.
    pub fn step(&mut self, learned: &Learned, flow: &LesFlow) -> Result<(), LesError> {
        if self.steps % learned.every.max(1) == 0 {
            let grid = self.run.sim.grid().clone();
            let key = [self.stream, self.steps];
            self.held = learned.pi_hat(flow, &grid, self.run.sim.omega_hat(), &key)?;
        }
        self.steps += 1;
        Ok(self.run.step_with_pi(&self.held)?)
    }
}
