//! The truth of a coupled run, seen on the grid of the model runs: the published
//! stochastic run (its own G or H is the true closure), or a Kolmogorov-flow DNS filtered
//! to the LES grid (the true closure is the subgrid term Π).

use std::sync::Arc;

use super::ExperimentError;
use super::Flow;
use super::config::ExperimentConfig;
use crate::les::FilteredDns;
use crate::solver::{C64, Case, Grid, Simulation, SolverError, Terms};

pub(super) enum Truth {
    Published { sim: Simulation, case: Case },
    Subgrid(Box<FilteredDns>),
}

impl Truth {
    /// The truth of `cfg` from the physical vorticity `omega` at `t0`: on the model grid
    /// in the published flow, on the DNS grid in the subgrid one.
    pub fn new(
        cfg: &ExperimentConfig,
        grid: &Arc<Grid>,
        omega: &[f64],
        t0: f64,
    ) -> Result<Self, ExperimentError> {
        Ok(match cfg.flow {
            Flow::Published => {
                let mut sim =
                    Simulation::new(grid.clone(), cfg.params(Terms::FULL), omega, t0, cfg.seed)?;
                sim.record_closures(true);
                Truth::Published {
                    sim,
                    case: cfg.case,
                }
            }
            Flow::Kolmogorov => {
                let dns = FilteredDns::new(cfg.les_flow(), omega, t0)?;
                if dns.les_grid().n != grid.n {
                    return Err(ExperimentError::Config(format!(
                        "LES grid {}² does not match the runs' {}²",
                        dns.les_grid().n,
                        grid.n
                    )));
                }
                Truth::Subgrid(Box::new(dns))
            }
        })
    }

    pub fn step(&mut self) -> Result<(), SolverError> {
        match self {
            Truth::Published { sim, .. } => sim.step(),
            Truth::Subgrid(d) => d.step(),
        }
    }

    pub fn t(&self) -> f64 {
        match self {
            Truth::Published { sim, .. } => sim.t(),
            Truth::Subgrid(d) => d.dns.t(),
        }
    }

    /// Spectral vorticity on the model grid (filtered in the subgrid flow).
    pub fn omega_hat(&self) -> &[C64] {
        match self {
            Truth::Published { sim, .. } => sim.omega_hat(),
            Truth::Subgrid(d) => d.bar_hat(),
        }
    }

    /// The true closure of the last step (physical, model grid).
    pub(crate) fn closure_into(&mut self, out: &mut [f64]) {
        match self {
            Truth::Published { sim, case } => {
                sim.true_closure_into(*case, out);
            }
            Truth::Subgrid(d) => d.pi_into(out),
        }
    }

    /// The true closure of the last step, spectral (model grid).
    pub(crate) fn closure_hat(&self) -> Option<&[C64]> {
        match self {
            Truth::Published { sim, case } => sim.true_closure_hat(*case),
            Truth::Subgrid(d) => Some(d.pi_hat()),
        }
    }
}
