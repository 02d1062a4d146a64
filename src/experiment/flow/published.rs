//! The published stochastic flow: the truth and the model runs share one grid; the
//! closure is the published case's G or H, read by sensors (docs/science.md §1–2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Flow, FlowDef, TruthRun};
use crate::closure::model::{ClosureError, ClosureModel, Model, Observed};
use crate::experiment::learned::Closer;
use crate::experiment::worker::WorkerRequest;
use crate::experiment::{ClosureMode, ExperimentConfig, ExperimentError, LearnedModel, limits};
use crate::solver::{C64, Case, GrfParams, Grid, Params, Simulation, SolverError, Terms, grf};

pub(super) struct Published;

impl FlowDef for Published {
    fn id(&self) -> Flow {
        Flow::Published
    }

    fn label(&self) -> &'static str {
        "published"
    }

    fn run_name(&self) -> &'static str {
        "model"
    }

    fn term(&self, case: Case) -> &'static str {
        match case {
            Case::G => "G",
            Case::H => "H",
        }
    }

    fn has_classical_closures(&self) -> bool {
        false
    }

    fn closes_subgrid_term(&self) -> bool {
        false
    }

    fn reads_sensors(&self) -> bool {
        true
    }

    fn has_cases(&self) -> bool {
        true
    }

    /// The published models run zero-shot on 64², 128² and 256².
    fn grid_is_the_users(&self) -> bool {
        true
    }

    fn grid_choice(&self) -> limits::Choice<usize> {
        limits::GRID
    }

    fn truth_grid(&self, cfg: &ExperimentConfig) -> usize {
        cfg.n
    }

    fn longest_render(&self) -> f64 {
        1e4
    }

    fn check(&self, cfg: &ExperimentConfig) -> Result<(), String> {
        if cfg.closure.is_classical() {
            return Err(format!(
                "the {} closure is a subgrid (LES) closure: choose the Kolmogorov flow",
                cfg.closure
            ));
        }
        Ok(())
    }

    /// A classical closure only where there is a subgrid term.
    fn sanitize(&self, cfg: &mut ExperimentConfig) {
        if cfg.closure.is_classical() {
            cfg.closure = ClosureMode::default();
        }
    }

    /// A Gaussian random field (seeded).
    fn initial_state(&self, cfg: &ExperimentConfig) -> Result<Vec<f64>, ExperimentError> {
        Ok(grf::grf(&Grid::new(cfg.n)?, GrfParams::default(), cfg.seed))
    }

    fn spin_up(
        &self,
        cfg: &ExperimentConfig,
        t_end: f64,
        progress: &dyn Fn(u64, u64),
        cancel: &AtomicBool,
    ) -> Result<(Vec<f64>, f64), ExperimentError> {
        let grid = Arc::new(Grid::new(cfg.n)?);
        let w0 = self.initial_state(cfg)?;
        let mut sim = Simulation::new(grid, cfg.params(Terms::FULL), &w0, 0.0, cfg.seed)?;
        let total = self.spin_up_total(cfg, t_end);
        for k in 0..total {
            if cancel.load(Ordering::Relaxed) {
                return Err(ExperimentError::Config("spin-up cancelled".into()));
            }
            sim.step()?;
            if k % 100 == 0 {
                progress(k, total);
            }
        }
        progress(total, total);
        Ok((sim.omega(), sim.t()))
    }

    fn spin_up_total(&self, cfg: &ExperimentConfig, t_end: f64) -> u64 {
        (t_end / cfg.dt).round() as u64
    }

    /// The published stochastic run, recording its own G and H.
    fn truth(
        &self,
        cfg: &ExperimentConfig,
        grid: &Arc<Grid>,
        omega: &[f64],
        t0: f64,
    ) -> Result<Box<dyn TruthRun>, ExperimentError> {
        let mut sim = Simulation::new(grid.clone(), cfg.params(Terms::FULL), omega, t0, cfg.seed)?;
        sim.record_closures(true);
        Ok(Box::new(PublishedTruth {
            sim,
            case: cfg.case,
        }))
    }

    /// The published model step of the case.
    fn model_params(&self, cfg: &ExperimentConfig) -> Params {
        cfg.params(cfg.case.model_terms())
    }

    /// Where the solver splits its step (large enough grids, two threads).
    fn steps_in_parallel(&self, cfg: &ExperimentConfig) -> bool {
        cfg.params(Terms::FULL).parallel(cfg.n)
    }

    /// The case's model.
    fn shipped_model(
        &self,
        cfg: &ExperimentConfig,
        device: &burn::tensor::Device,
    ) -> Result<LearnedModel, ClosureError> {
        Ok(ClosureModel::embedded_for(cfg.case, device)?.into())
    }
}

/// The published run: its own G or H (the chosen case) is the true closure.
struct PublishedTruth {
    sim: Simulation,
    case: Case,
}

impl TruthRun for PublishedTruth {
    fn step(&mut self) -> Result<(), SolverError> {
        self.sim.step()
    }

    fn t(&self) -> f64 {
        self.sim.t()
    }

    fn omega_hat(&self) -> &[C64] {
        self.sim.omega_hat()
    }

    fn closure_into(&mut self, out: &mut [f64]) {
        self.sim.true_closure_into(self.case, out);
    }

    /// None: the published oracle is the physical closure transformed (as the truth's
    /// own step transforms it), which keeps the oracle run on the truth's bits.
    fn oracle_closure_hat(&self) -> Option<&[C64]> {
        None
    }
}

/// A published-case model closes the published flow: conditioned on the model run's ω
/// and the sensor readings of the true closure.
impl Closer for ClosureModel {
    fn flow(&self) -> Flow {
        Flow::Published
    }

    /// The published models learned from the forced, noisy flow at one ν on their
    /// training grid (at every sensor density, or one).
    fn out_of_distribution(&self, cfg: &ExperimentConfig) -> Vec<String> {
        use crate::experiment::limits::{FORCING, SIGMA};
        let mut out = Vec::new();
        let off = |a: f64, b: f64| (a - b).abs() > 0.01 * b.abs();
        let (card, inputs) = (&self.card, &self.card.part.inputs);
        if cfg.sigma == 0.0 && SIGMA.default > 0.0 {
            out.push(format!(
                "this run has no noise (trained with σ = {:.0e})",
                SIGMA.default
            ));
        }
        if cfg.forcing == 0.0 && FORCING.default != 0.0 {
            out.push(format!(
                "this run has no forcing (trained with A = {})",
                FORCING.default
            ));
        }
        if off(cfg.nu, inputs.nu) {
            out.push(format!("ν = {:.1e} (trained at {:.1e})", cfg.nu, inputs.nu));
        }
        if card.training.grid != cfg.n {
            out.push(format!(
                "grid {1}×{1}: zero-shot (trained on {0}×{0})",
                card.training.grid, cfg.n
            ));
        }
        if inputs.density_scale.is_none() && inputs.sensors != cfg.sensors {
            out.push(format!(
                "{0}×{0} sensors (trained with {1}×{1} only: spread not calibrated)",
                cfg.sensors, inputs.sensors
            ));
        }
        out
    }

    /// The row of its sensor density, sampler and step count on its training grid.
    fn card_spread_skill(&self, cfg: &ExperimentConfig) -> Option<f64> {
        self.card
            .spread_skill(cfg.sensors, cfg.sampler, cfg.sampling_steps)
    }

    fn sample(&mut self, req: &WorkerRequest) -> Result<Vec<Vec<f64>>, ClosureError> {
        let query = Observed {
            grid: &req.grid,
            omega: &req.omega,
            readings: &req.readings,
            sensors: &req.sensors,
        };
        Model::sample(self, &query, req.ensemble, req.sampler, &req.schedule)
    }
}
