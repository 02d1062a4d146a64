//! The yardstick run of the subgrid flow: an LES beside the others, closed by Smagorinsky
//! or by the shipped deterministic FNO of the run's grid (Π evaluated afresh every step
//! on the yardstick's own state, as `les-eval` runs the learned deterministic closure).

use std::sync::Arc;

use super::{ExperimentConfig, ExperimentError, Yardstick};
use crate::closure::eval::SamplerSetting;
use crate::les::learn::learned::{Learned, LearnedRun};
use crate::les::learn::model::LesKind;
use crate::les::{LesClosure, LesError, LesFlow, LesRun};
use crate::solver::{C64, Grid};

/// A running yardstick.
pub enum YardstickRun {
    Classical(LesRun),
    Learned {
        closure: Box<Learned>,
        run: LearnedRun,
        flow: LesFlow,
    },
}

impl YardstickRun {
    /// The yardstick `cfg` asks for ([`ExperimentConfig::yardstick_run`]), from the state
    /// `start` at `t0` (None: none runs).
    pub fn new(
        cfg: &ExperimentConfig,
        grid: Arc<Grid>,
        start: &[C64],
        t0: f64,
    ) -> Result<Option<Self>, ExperimentError> {
        let flow = cfg.les_flow();
        Ok(match cfg.yardstick_run() {
            None => None,
            Some(Yardstick::Smagorinsky) => Some(YardstickRun::Classical(LesRun::new(
                &flow,
                grid,
                start,
                t0,
                LesClosure::Smagorinsky,
            )?)),
            Some(Yardstick::Fno) => {
                let device = burn::tensor::Device::flex();
                let model =
                    crate::les::learn::shipped::shipped(LesKind::Deterministic, cfg.n, &device)
                        .map_err(|e| ExperimentError::Closure(format!("the FNO yardstick: {e}")))?;
                let closure = Learned {
                    label: "deterministic FNO".into(),
                    model,
                    every: 1,
                    ensemble: 1,
                    seed: cfg.seed,
                    sampler: SamplerSetting {
                        label: "mean".into(),
                        sampler: cfg.sampler,
                        schedule: cfg.schedule(),
                    },
                    memory: 0.0,
                };
                Some(YardstickRun::Learned {
                    closure: Box::new(closure),
                    run: LearnedRun::new(&flow, grid, start, t0, 0)?,
                    flow,
                })
            }
        })
    }

    /// One step.
    pub fn step(&mut self) -> Result<(), ExperimentError> {
        match self {
            YardstickRun::Classical(r) => Ok(r.step(None)?),
            YardstickRun::Learned { closure, run, flow } => {
                run.step(closure, flow).map_err(|e| match e {
                    LesError::Solver(s) => ExperimentError::Solver(s),
                    other => ExperimentError::Closure(format!("the FNO yardstick: {other}")),
                })
            }
        }
    }

    /// The LES's spectral vorticity.
    pub fn omega_hat(&self) -> &[C64] {
        self.les().sim.omega_hat()
    }

    /// The LES's physical vorticity.
    pub fn omega(&mut self) -> Vec<f64> {
        self.les_mut().sim.omega()
    }

    fn les(&self) -> &LesRun {
        match self {
            YardstickRun::Classical(r) => r,
            YardstickRun::Learned { run, .. } => &run.run,
        }
    }

    fn les_mut(&mut self) -> &mut LesRun {
        match self {
            YardstickRun::Classical(r) => r,
            YardstickRun::Learned { run, .. } => &mut run.run,
        }
    }
}
