//! The closures a coarse (LES) run can use, and a coarse run that applies one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::solver::{C64, Grid, Simulation, SolverError};

use super::LesFlow;
use super::eddy::{EddyModel, EddyViscosity, LEITH_CL, SMAGORINSKY_CS};

/// A subgrid closure of the LES case (names as in `les-eval`'s JSON rows).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
pub enum LesClosure {
    /// No subgrid term.
    None,
    Smagorinsky,
    DynamicSmagorinsky,
    Leith,
    /// The true Π of a DNS stepping alongside.
    Oracle,
}

impl LesClosure {
    /// The eddy-viscosity model behind a classical closure.
    pub fn eddy(self) -> Option<EddyModel> {
        match self {
            LesClosure::Smagorinsky => Some(EddyModel::Smagorinsky { cs: SMAGORINSKY_CS }),
            LesClosure::DynamicSmagorinsky => Some(EddyModel::DynamicSmagorinsky),
            LesClosure::Leith => Some(EddyModel::Leith { cl: LEITH_CL }),
            LesClosure::None | LesClosure::Oracle => None,
        }
    }
}

/// A coarse run with its closure.
pub struct LesRun {
    pub closure: LesClosure,
    pub sim: Simulation,
    eddy: Option<EddyViscosity>,
    /// Π applied in the last step
    pi: Vec<C64>,
}

impl LesRun {
    /// A coarse run of `flow` from the filtered vorticity `bar_hat` at time `t0`.
    pub fn new(
        flow: &LesFlow,
        grid: Arc<Grid>,
        bar_hat: &[C64],
        t0: f64,
        closure: LesClosure,
    ) -> Result<Self, SolverError> {
        let sim = Simulation::from_hat(grid.clone(), flow.les_params(), bar_hat.to_vec(), t0, 0)?;
        Ok(LesRun {
            closure,
            eddy: closure.eddy().map(|m| EddyViscosity::new(grid.clone(), m)),
            pi: grid.zeros_hat(),
            sim,
        })
    }

    /// One step. `true_pi` is the DNS's Π of the matching state (used by the oracle only).
    pub fn step(&mut self, true_pi: Option<&[C64]>) -> Result<(), SolverError> {
        match (self.closure, &mut self.eddy) {
            (_, Some(m)) => {
                m.subgrid_hat(self.sim.omega_hat(), &mut self.pi);
                self.sim.step_with_closure_hat(Some(&self.pi))
            }
            (LesClosure::Oracle, None) => {
                let pi = true_pi.ok_or_else(|| {
                    SolverError::BadParam("the oracle closure needs the DNS's Π".into())
                })?;
                self.pi.copy_from_slice(pi);
                self.sim.step_with_closure_hat(Some(pi))
            }
            _ => self.sim.step(),
        }
    }

    /// One step with a Π supplied from outside (a learned closure), whatever `closure`
    /// says.
    pub fn step_with_pi(&mut self, pi_hat: &[C64]) -> Result<(), SolverError> {
        self.pi.copy_from_slice(pi_hat);
        self.sim.step_with_closure_hat(Some(pi_hat))
    }

    /// Π the last step applied (zero without closure).
    pub fn pi_hat(&self) -> &[C64] {
        &self.pi
    }

    /// The coefficient of the eddy-viscosity model in the last step (C_s², C_L³), if any.
    pub fn coefficient(&self) -> Option<f64> {
        self.eddy.as_ref().map(|m| m.coefficient())
    }
}
