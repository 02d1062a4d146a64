//! The flows an experiment can run. Each flow is one object in a file of its own
//! ([`FlowDef`]: its truth, how that truth starts and spins up, the model runs' equation,
//! which closures may close it, what the window offers); [`Flow`] is its id in settings
//! and files, and [`Flow::def`] the one place that joins the two. A third flow is one new
//! file here, one variant of [`Flow`] and one arm of `def` (docs/design.md, "Adding a
//! flow").

mod kolmogorov;
mod published;

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::{ExperimentConfig, ExperimentError, LearnedModel};
use crate::closure::model::ClosureError;
use crate::solver::{C64, Case, Grid, Params, SolverError};

/// Which flow the experiment runs (its id; [`Flow::def`] is the flow itself).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
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
#[strum(serialize_all = "kebab-case")]
pub enum Flow {
    /// The published stochastic flow: truth and model runs on one grid, closure G or H.
    #[default]
    Published,
    /// The subgrid (LES) case: a Kolmogorov-flow DNS on `dns_n`², filtered to the `n`²
    /// grid of the model runs; the closure is the subgrid term Π (docs/science.md §8).
    Kolmogorov,
}

impl Flow {
    /// The flow this id names: everything that differs between flows is asked of it.
    pub fn def(self) -> &'static dyn FlowDef {
        match self {
            Flow::Published => &published::Published,
            Flow::Kolmogorov => &kolmogorov::Kolmogorov,
        }
    }
}

/// One flow: what an experiment, the app and the CLI ask of it. The answers are the
/// flow's own; no caller tells the flows apart by name.
pub trait FlowDef: Sync {
    /// Its id.
    fn id(&self) -> Flow;

    /// The flow in words (messages).
    fn label(&self) -> &'static str;

    /// What the model runs are called (the coarse runs of the subgrid flow are LES).
    fn run_name(&self) -> &'static str;

    /// Name of the closure term of the closure case `case` (G, H; Π).
    fn term(&self, case: Case) -> &'static str;

    /// Whether the classical eddy-viscosity closures (and their Smagorinsky yardstick
    /// run) exist: only for a subgrid term.
    fn has_classical_closures(&self) -> bool;

    /// Whether the closure is the subgrid term Π, whose enstrophy drain −⟨Π ω̄⟩ is read
    /// out live and may be made exact (the drain switch).
    fn closes_subgrid_term(&self) -> bool;

    /// Whether a learned closure reads sensors of the true closure (shown on its panel).
    fn reads_sensors(&self) -> bool;

    /// Whether the flow has the published closure cases G and H to choose between.
    fn has_cases(&self) -> bool;

    /// Whether the runs' grid is the user's to choose across presets (a model trained on
    /// one grid sets it through its preset otherwise).
    fn grid_is_the_users(&self) -> bool;

    /// The grids the model runs may take.
    fn grid_choice(&self) -> super::limits::Choice<usize>;

    /// The grid the truth runs on.
    fn truth_grid(&self, cfg: &ExperimentConfig) -> usize;

    /// Most time units one headless render may simulate.
    fn longest_render(&self) -> f64;

    /// Settings this flow cannot run with, beyond each setting's own range.
    fn check(&self, cfg: &ExperimentConfig) -> Result<(), String>;

    /// The nearest settings this flow runs with (after each setting was clamped).
    fn sanitize(&self, cfg: &mut ExperimentConfig);

    /// The truth's state at t = 0 on [`Self::truth_grid`].
    fn initial_state(&self, cfg: &ExperimentConfig) -> Result<Vec<f64>, ExperimentError>;

    /// Spin the truth up from [`Self::initial_state`] to `t_end` and return its vorticity
    /// there (on the truth's grid); see [`super::spin_up`].
    fn spin_up(
        &self,
        cfg: &ExperimentConfig,
        t_end: f64,
        progress: &dyn Fn(u64, u64),
        cancel: &AtomicBool,
    ) -> Result<(Vec<f64>, f64), ExperimentError>;

    /// Work units [`Self::spin_up`] reports for `t_end` (its `total`).
    fn spin_up_total(&self, cfg: &ExperimentConfig, t_end: f64) -> u64;

    /// The truth of `cfg` from the physical vorticity `omega` (on the truth's grid) at
    /// `t0`, seen on `grid`, the model runs' grid.
    fn truth(
        &self,
        cfg: &ExperimentConfig,
        grid: &std::sync::Arc<Grid>,
        omega: &[f64],
        t0: f64,
    ) -> Result<Box<dyn TruthRun>, ExperimentError>;

    /// The model runs' equation.
    fn model_params(&self, cfg: &ExperimentConfig) -> Params;

    /// Whether the three runs step on two threads.
    fn steps_in_parallel(&self, cfg: &ExperimentConfig) -> bool;

    /// The shipped learned closure for a run of `cfg`.
    fn shipped_model(
        &self,
        cfg: &ExperimentConfig,
        device: &burn::tensor::Device,
    ) -> Result<LearnedModel, ClosureError>;
}

/// The truth of a coupled run, seen on the grid of the model runs.
pub trait TruthRun: Send {
    fn step(&mut self) -> Result<(), SolverError>;

    fn t(&self) -> f64;

    /// Spectral vorticity on the model grid.
    fn omega_hat(&self) -> &[C64];

    /// The true closure of the last step (physical, model grid).
    fn closure_into(&mut self, out: &mut [f64]);

    /// The true closure of the last step as the oracle run takes it, when the truth makes
    /// it spectrally; None: the oracle takes the physical closure transformed beside the
    /// other runs.
    fn oracle_closure_hat(&self) -> Option<&[C64]>;
}
