//! A learned subgrid closure inside an LES run: Π drawn from the model for the run's own
//! ω̄ every `every` steps and held in between (one member: a stochastic closure gives one
//! trajectory of a random LES). A flow generator's draws may start from a latent that is
//! an AR(1) process in time (correlation time `memory`) instead of fresh noise.

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::Distribution;

use super::Draw;
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
    /// Correlation time (time units) of the flow generator's latent between draws: each
    /// draw starts from `z ← ρ z + √(1 − ρ²) ξ`, ρ = exp(−Δt_draw / memory), ξ fresh
    /// noise; 0: white in time (a fresh latent every draw).
    pub memory: f64,
}

impl Learned {
    /// This closure once per draw interval and latent memory (memories other than 0 only
    /// for a flow generator, whose latent they correlate), in that order.
    pub(crate) fn variants(&self, every: &[u64], memory: &[f64]) -> Vec<Learned> {
        let stochastic = self.model.has_flow();
        every
            .iter()
            .flat_map(|&every| {
                memory
                    .iter()
                    .filter(move |&&m| m == 0.0 || stochastic)
                    .map(move |&memory| Learned {
                        every,
                        memory,
                        ..self.clone()
                    })
            })
            .collect()
    }

    /// The closure's name in evaluation rows (`learned-stochastic`, …; a variant tied to
    /// a mean, drawn every k > 1 steps or from latents with memory says so,
    /// [`crate::les::name::ClosureName`]).
    pub fn closure(&self) -> crate::les::name::ClosureName {
        crate::les::name::ClosureName::new(
            self.model.card.part.kind.closure_name(),
            self.model.companions.drain.as_ref().map(|(_, tie)| *tie),
            (self.every > 1).then_some(self.every),
            (self.memory > 0.0).then_some(self.memory),
        )
    }

    /// The AR(1) coefficient of the latent between two draws `every` steps of `dt`
    /// apart (0 without memory).
    pub fn latent_rho(&self, dt: f64) -> f64 {
        if self.memory > 0.0 {
            (-(self.every.max(1) as f64) * dt / self.memory).exp()
        } else {
            0.0
        }
    }

    /// Refuse an LES grid the model was not trained on (Π's statistics depend on where
    /// the filter cuts).
    pub(crate) fn check_grid(&self, les_n: usize) -> Result<(), LesError> {
        // an exact drain's mean was checked against the model's grid when attached
        let m = &self.model;
        if m.card.part.les_n != les_n {
            return Err(LesError::Setting(format!(
                "{} was trained on the {}² LES grid, not {les_n}²",
                m.card.name, m.card.part.les_n
            )));
        }
        Ok(())
    }

    /// The same closure with its members tied to `mean` (a deterministic model) as `tie`
    /// says ([`LesModel::tied_to`]), or `None` when this one is deterministic itself
    /// (nothing to tie).
    pub fn tied_to(&self, mean: &LesModel, tie: MeanTie) -> Result<Option<Learned>, LesError> {
        if self.model.card.part.kind == super::model::LesKind::Deterministic {
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
        self.draw_from(flow, grid, omega_bar_hat, members, key, None)
            .map(|(d, _)| d)
    }

    /// [`Self::draw`], a flow generator's latent made from `latent` (the previous draw's)
    /// as [`Self::memory`] says; the latent used comes back with the draws (`None`
    /// without memory).
    pub fn draw_from(
        &self,
        flow: &LesFlow,
        grid: &Grid,
        omega_bar_hat: &[C64],
        members: usize,
        key: &[u64],
        latent: Option<Tensor<4>>,
    ) -> Result<(Vec<Vec<f64>>, Option<Tensor<4>>), LesError> {
        let w = grid.to_physical(omega_bar_hat);
        let mut parts = vec![self.seed];
        parts.extend_from_slice(key);
        let model = &self.model;
        let draw = Draw {
            grid,
            omega_bar: &w,
            nu: flow.nu,
            dns_n: model.card.fidelity_for(flow.dns_n),
        };
        let s = &self.sampler;
        seeded(model.device(), draw_key(&parts), || {
            let start = (self.memory > 0.0).then(|| {
                let shape = model.latent_shape(grid.n, members);
                let fresh =
                    Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), model.device());
                match latent.filter(|z| z.dims() == shape) {
                    Some(z) => {
                        let rho = self.latent_rho(flow.dt);
                        z * rho + fresh * (1.0 - rho * rho).sqrt()
                    }
                    None => fresh,
                }
            });
            let d = model.sample_from(&draw, members, s.sampler, &s.schedule, start.clone())?;
            Ok((d, start))
        })
        .map_err(|source| LesError::Model {
            model: self.label.clone(),
            source,
        })
    }
}

/// An LES run closed by a learned model.
pub struct LearnedRun {
    pub run: LesRun,
    held: Vec<C64>,
    /// The flow generator's latent of the last draw (with memory only).
    latent: Option<Tensor<4>>,
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
            latent: None,
            steps: 0,
            stream,
        })
    }

    /// One step; Π is drawn afresh every `learned.every` steps.
    pub fn step(&mut self, learned: &Learned, flow: &LesFlow) -> Result<(), LesError> {
        if self.steps % learned.every.max(1) == 0 {
            let grid = self.run.sim.grid().clone();
            let key = [self.stream, self.steps];
            let (d, latent) = learned.draw_from(
                flow,
                &grid,
                self.run.sim.omega_hat(),
                1,
                &key,
                self.latent.take(),
            )?;
            self.held = grid.to_spectral(&d[0]);
            self.latent = latent;
        }
        self.steps += 1;
        Ok(self.run.step_with_pi(&self.held)?)
    }
}
