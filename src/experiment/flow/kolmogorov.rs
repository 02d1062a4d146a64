//! The subgrid (LES) flow: a Kolmogorov-flow DNS on the DNS grid, filtered to the LES
//! grid of the model runs; the closure is the subgrid term Π, and the classical
//! eddy-viscosity closures close it too (docs/science.md §8).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{Flow, FlowDef, TruthRun};
use crate::closure::model::{ClosureError, Model};
use crate::experiment::learned::Closer;
use crate::experiment::worker::WorkerRequest;
use crate::experiment::{ExperimentConfig, ExperimentError, LearnedModel, limits};
use crate::les::learn::Draw;
use crate::les::learn::model::LesKind;
use crate::les::learn::model::LesModel;
use crate::les::learn::shipped;
use crate::les::{FilteredDns, LesFlow};
use crate::solver::{C64, Case, Grid, Params, SolverError};

pub(super) struct Kolmogorov;

impl ExperimentConfig {
    /// The subgrid flow's set-up: its own forcing and drag, this config's ν, dt, scheme,
    /// grids and threads.
    pub fn les_flow(&self) -> LesFlow {
        LesFlow {
            nu: self.nu,
            dt: self.dt,
            dns_n: self.dns_n,
            les_n: self.n,
            scheme: self.scheme,
            threads: self.threads,
            ..Default::default()
        }
    }
}

impl FlowDef for Kolmogorov {
    fn id(&self) -> Flow {
        Flow::Kolmogorov
    }

    fn label(&self) -> &'static str {
        "subgrid (LES)"
    }

    fn run_name(&self) -> &'static str {
        "LES"
    }

    fn term(&self, _: Case) -> &'static str {
        "Π"
    }

    fn has_classical_closures(&self) -> bool {
        true
    }

    fn closes_subgrid_term(&self) -> bool {
        true
    }

    fn reads_sensors(&self) -> bool {
        false
    }

    fn has_cases(&self) -> bool {
        false
    }

    /// A subgrid model is trained on one LES grid, which its preset sets.
    fn grid_is_the_users(&self) -> bool {
        false
    }

    fn grid_choice(&self) -> limits::Choice<usize> {
        limits::LES_GRID
    }

    fn truth_grid(&self, cfg: &ExperimentConfig) -> usize {
        cfg.dns_n
    }

    /// The DNS steps a 256² grid, ≈ 20 s per time unit on two cores.
    fn longest_render(&self) -> f64 {
        50.0
    }

    fn check(&self, cfg: &ExperimentConfig) -> Result<(), String> {
        limits::DNS_GRID.check(cfg.dns_n)?;
        crate::les::check_grids(cfg.dns_n, cfg.n)
    }

    /// A DNS at least twice as fine as the runs shown (found by the fuzz tests).
    fn sanitize(&self, c: &mut ExperimentConfig) {
        if !crate::les::grids_compatible(c.dns_n, c.n) {
            c.n = limits::LES_GRID
                .values
                .iter()
                .copied()
                .filter(|&g| crate::les::grids_compatible(c.dns_n, g))
                .max()
                .unwrap_or(limits::LES_GRID.default);
        }
    }

    /// A perturbed laminar Kolmogorov flow on the DNS grid (seeded).
    fn initial_state(&self, cfg: &ExperimentConfig) -> Result<Vec<f64>, ExperimentError> {
        let flow = cfg.les_flow();
        Ok(flow.perturbed_laminar(&Grid::new(flow.dns_n)?, cfg.seed))
    }

    fn spin_up(
        &self,
        cfg: &ExperimentConfig,
        t_end: f64,
        progress: &dyn Fn(u64, u64),
        cancel: &AtomicBool,
    ) -> Result<(Vec<f64>, f64), ExperimentError> {
        Ok(crate::les::spin_up(
            &cfg.les_flow(),
            t_end,
            cfg.seed,
            progress,
            cancel,
        )?)
    }

    fn spin_up_total(&self, cfg: &ExperimentConfig, t_end: f64) -> u64 {
        crate::les::spin_up_total(&cfg.les_flow(), t_end)
    }

    /// The DNS, filtered to the LES grid: Π of its step is the true closure.
    fn truth(
        &self,
        cfg: &ExperimentConfig,
        grid: &Arc<Grid>,
        omega: &[f64],
        t0: f64,
    ) -> Result<Box<dyn TruthRun>, ExperimentError> {
        let dns = FilteredDns::new(cfg.les_flow(), omega, t0)?;
        if dns.les_grid().n != grid.n {
            return Err(ExperimentError::Config(format!(
                "LES grid {}² does not match the runs' {}²",
                dns.les_grid().n,
                grid.n
            )));
        }
        Ok(Box::new(dns))
    }

    /// The LES step.
    fn model_params(&self, cfg: &ExperimentConfig) -> Params {
        cfg.les_flow().les_params()
    }

    fn steps_in_parallel(&self, cfg: &ExperimentConfig) -> bool {
        cfg.threads > 1
    }

    /// The stochastic subgrid model of the run's LES grid (the first shipped one, which
    /// the app flags out of its training data, when none was trained on that grid).
    fn shipped_model(
        &self,
        cfg: &ExperimentConfig,
        device: &burn::tensor::Device,
    ) -> Result<LearnedModel, ClosureError> {
        Ok(shipped::shipped(LesKind::Stochastic, cfg.n, device)
            .or_else(|_| shipped::EMBEDDED[0].load(device))?
            .into())
    }
}

/// The filtered DNS as the truth of the LES runs.
impl TruthRun for FilteredDns {
    fn step(&mut self) -> Result<(), SolverError> {
        FilteredDns::step(self)
    }

    fn t(&self) -> f64 {
        self.dns.t()
    }

    /// ω̄, the filtered vorticity.
    fn omega_hat(&self) -> &[C64] {
        self.bar_hat()
    }

    fn closure_into(&mut self, out: &mut [f64]) {
        self.pi_into(out)
    }

    /// Π itself: the filtered DNS makes it spectrally.
    fn oracle_closure_hat(&self) -> Option<&[C64]> {
        Some(self.pi_hat())
    }
}

/// A subgrid model closes the Kolmogorov flow: conditioned on ω̄, the run's ν and the
/// highest DNS fidelity it was trained on.
impl Closer for LesModel {
    fn flow(&self) -> Flow {
        Flow::Kolmogorov
    }

    /// Subgrid models learned from the ν values of their data files, on one LES grid.
    fn out_of_distribution(&self, cfg: &ExperimentConfig) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((lo, hi)) = self.card.nu_range()
            && (cfg.nu < lo * 0.999 || cfg.nu > hi * 1.001)
        {
            out.push(format!(
                "ν = {:.1e} is outside the trained range {lo:.0e} … {hi:.0e}: the ν \
                 conditioning extrapolates (asked for {}² DNS fidelity)",
                cfg.nu,
                self.card.best_fidelity()
            ));
        }
        if self.card.part.les_n != cfg.n {
            out.push(format!(
                "LES grid {1}×{1}: trained on {0}×{0} (Π's law depends on where the \
                 filter cuts; les-eval refuses this)",
                self.card.part.les_n, cfg.n
            ));
        }
        out
    }

    /// The members tied to the shipped deterministic model of the LES grid as the
    /// request says (re-tied when the request changes it).
    fn sample(&mut self, req: &WorkerRequest) -> Result<Vec<Vec<f64>>, ClosureError> {
        if req.tie != self.companions.drain.as_ref().map(|d| d.1) {
            let mean = req
                .tie
                .map(|tie| {
                    shipped::shipped(LesKind::Deterministic, self.card.part.les_n, self.device())
                        .map(|d| (d, tie))
                })
                .transpose()?;
            *self = self.clone().tied_to(mean)?;
        }
        let query = Draw {
            grid: &req.grid,
            omega_bar: &req.omega,
            nu: req.nu,
            dns_n: self.card.best_fidelity(),
        };
        Model::sample(self, &query, req.ensemble, req.sampler, &req.schedule)
    }
}
