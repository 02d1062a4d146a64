//! The coupled run: the truth, the model run with a closure and the model run without,
//! in lockstep on one grid (docs/design.md, convention 9). The truth supplies the true closure
//! of every step; sensors read it. The closure of the model run is off, the oracle (the
//! true closure, for teaching) or learned (sampled by a [`worker::ClosureWorker`] on its
//! own thread, resampled every k steps and held in between). Observers record metric
//! histories at a fixed cadence. No UI code lives here: the app and the CLI both drive it.

mod calibration;
pub use calibration::LiveRatio;
mod config;
mod flow;
pub mod history;
mod learned;
pub mod limits;
mod lockstep;
mod panel;
pub mod presets;
pub mod runner;
pub mod spec;
pub mod worker;
mod yardstick;

use std::sync::Arc;

use crate::closure::calibration::{ensemble_mean, ensemble_std};
use crate::closure::sensors::Sensors;
use crate::les::EddyViscosity;
use crate::metrics;
use crate::solver::fft::FftScratch;
use crate::solver::{C64, Grid, Simulation, SolverError};

pub use config::{ClosureMode, ExperimentConfig, Yardstick};
pub use flow::{Flow, FlowDef, TruthRun};
pub use history::{History, Sample};
pub use learned::{LearnedModel, Shipped};
pub use panel::{Panel, PanelContext, PanelKind, Run};
pub use worker::{ClosureWorker, WorkerReply, WorkerRequest};

/// Errors of an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Solver(#[from] SolverError),
    #[error("closure: {0}")]
    Closure(String),
}

/// Spin the truth up from its configured start (a GRF; a perturbed laminar Kolmogorov
/// flow in the subgrid case) to `t_end` (e.g. 30 s) and return the vorticity there (on
/// the truth's own grid). `progress(done, total)` is called every 100 steps or so;
/// setting `cancel` stops early with an error.
pub fn spin_up(
    cfg: &ExperimentConfig,
    t_end: f64,
    progress: &dyn Fn(u64, u64),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(Vec<f64>, f64), ExperimentError> {
    cfg.validate()?;
    cfg.flow.def().spin_up(cfg, t_end, progress, cancel)
}

/// Work units [`spin_up`] reports for `t_end` (its `total`).
pub(crate) fn spin_up_total(cfg: &ExperimentConfig, t_end: f64) -> u64 {
    cfg.flow.def().spin_up_total(cfg, t_end)
}

/// The three runs and everything recorded about them.
pub struct Experiment {
    cfg: ExperimentConfig,
    grid: Arc<Grid>,
    sensors: Sensors,
    truth: Box<dyn TruthRun>,
    with: Simulation,
    without: Simulation,
    /// The classical closure's model (subgrid flow) and its spectral Π.
    eddy: Option<EddyViscosity>,
    /// In the subgrid flow: the yardstick LES from the same start (Smagorinsky, unless
    /// that is the chosen closure, or the deterministic FNO), beside the chosen closure in
    /// the spectra plot.
    reference: Option<yardstick::YardstickRun>,
    closure_hat: Vec<C64>,
    scratch: FftScratch,
    /// Closure applied to the `with` run (physical, N²) and the ensemble it came from.
    closure: Vec<f64>,
    ensemble: Vec<Vec<f64>>,
    /// Step of the state the current learned sample was drawn for.
    sample_step: Option<u64>,
    /// How long the learned draws are held ([`DrawTiming`]).
    timing: DrawTiming,
    pending: bool,
    worker: Option<ClosureWorker>,
    /// Last true closure and its readings.
    true_closure: Vec<f64>,
    readings: Vec<f64>,
    pub history: History,
    steps: u64,
    last_latency_ms: Option<f64>,
    status: Option<String>,
    calibration: calibration::Calibrator,
}

/// How long learned draws are applied: the achieved resample interval. With "wait for
/// each sample" it equals the set interval; otherwise the sampler's latency sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawTiming {
    /// Steps the previous draw was applied for (None before the second draw).
    pub held: Option<u64>,
    /// Longest such hold since the runs started.
    pub max_held: Option<u64>,
    /// Steps since the state the current draw was conditioned on.
    pub age: Option<u64>,
    /// Step at which the current draw was accepted.
    accepted_at: Option<u64>,
}

impl DrawTiming {
    fn accepted(&mut self, step: u64) {
        if let Some(prev) = self.accepted_at {
            let held = step - prev;
            self.held = Some(held);
            self.max_held = Some(self.max_held.map_or(held, |m| m.max(held)));
        }
        self.accepted_at = Some(step);
    }
}

/// A snapshot of the fields for drawing or export (physical, N²).
pub struct Fields {
    pub n: usize,
    pub t: f64,
    pub truth: Vec<f64>,
    pub with: Vec<f64>,
    pub without: Vec<f64>,
    pub true_closure: Vec<f64>,
    pub closure: Vec<f64>,
    /// Per-pixel standard deviation over the closure ensemble (zeros without one).
    pub spread: Vec<f64>,
    /// |ω_with − ω_truth|
    pub error: Vec<f64>,
    /// |ensemble mean − true closure| of the newest learned draw at the step it was
    /// drawn for (zeros before the first).
    pub closure_error: Vec<f64>,
    /// The yardstick run of the subgrid flow (zeros without one).
    pub reference: Vec<f64>,
    pub sensors: Vec<usize>,
}

impl Fields {
    /// The field shown by `panel`.
    pub fn panel(&self, panel: Panel) -> &[f64] {
        match panel {
            Panel::Truth => &self.truth,
            Panel::With => &self.with,
            Panel::Without => &self.without,
            Panel::Error => &self.error,
            Panel::TrueClosure => &self.true_closure,
            Panel::Closure => &self.closure,
            Panel::Spread => &self.spread,
            Panel::ClosureError => &self.closure_error,
            Panel::Reference => &self.reference,
        }
    }
}

impl Experiment {
    /// Start from a GRF (seeded; in the subgrid flow a perturbed laminar state on the DNS
    /// grid) at t = 0; all three runs share the initial state.
    pub fn new(
        cfg: ExperimentConfig,
        model: Option<LearnedModel>,
    ) -> Result<Self, ExperimentError> {
        cfg.validate()?;
        let grid = Arc::new(Grid::new(cfg.n)?);
        let w0 = cfg.flow.def().initial_state(&cfg)?;
        Self::from_state(cfg, grid, &w0, 0.0, model)
    }

    /// Start all three runs from the physical vorticity `omega` (on the truth's grid:
    /// `cfg.n`, or `cfg.dns_n` in the subgrid flow) at time `t0`.
    pub fn at(
        cfg: ExperimentConfig,
        omega: &[f64],
        t0: f64,
        model: Option<LearnedModel>,
    ) -> Result<Self, ExperimentError> {
        let grid = Arc::new(Grid::new(cfg.n)?);
        Self::from_state(cfg, grid, omega, t0, model)
    }

    /// Start all three runs from the physical vorticity `omega` at time `t0`; `grid` is the
    /// runs' grid (in the subgrid flow `omega` is on the DNS grid and is filtered).
    pub fn from_state(
        cfg: ExperimentConfig,
        grid: Arc<Grid>,
        omega: &[f64],
        t0: f64,
        model: Option<LearnedModel>,
    ) -> Result<Self, ExperimentError> {
        cfg.validate()?;
        if grid.n != cfg.n {
            return Err(ExperimentError::Config(format!(
                "state is {}², config says {}²",
                grid.n, cfg.n
            )));
        }
        let truth = cfg.flow.def().truth(&cfg, &grid, omega, t0)?;
        let model_params = cfg.flow.def().model_params(&cfg);
        let start = truth.omega_hat().to_vec();
        let with = Simulation::from_hat(grid.clone(), model_params, start.clone(), t0, 0)?;
        let without = Simulation::from_hat(grid.clone(), model_params, start, t0, 0)?;
        // a model that may not close this run is not used: the run goes on without
        // its closure, and the status line says why
        let refused = model.as_ref().and_then(|m| m.closes(&cfg).err());
        let model = model.filter(|_| refused.is_none());
        let sensors =
            Sensors::new(cfg.sensors, cfg.n).map_err(|e| ExperimentError::Config(e.to_string()))?;
        let worker = model.map(ClosureWorker::spawn);
        let n2 = grid.phys_len();
        let mut e = Experiment {
            closure_hat: grid.zeros_hat(),
            scratch: grid.scratch(1),
            grid,
            sensors,
            eddy: None,
            reference: None,
            truth,
            with,
            without,
            closure: vec![0.0; n2],
            ensemble: Vec::new(),
            sample_step: None,
            timing: DrawTiming::default(),
            pending: false,
            worker,
            true_closure: vec![0.0; n2],
            readings: vec![0.0; cfg.sensors * cfg.sensors],
            history: History::default(),
            steps: 0,
            last_latency_ms: None,
            calibration: Default::default(),
            status: refused.map(|e| format!("learned closure not used: {e}")),
            cfg,
        };
        e.eddy = e.eddy_model();
        e.reference = e.reference_run();
        e.record();
        Ok(e)
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }
    pub fn grid(&self) -> &Arc<Grid> {
        &self.grid
    }
    pub fn t(&self) -> f64 {
        self.truth.t()
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// Latency of the last learned closure sample (ms), measured by the worker.
    /// Live spread ÷ skill of the fresh learned ensembles (docs/science.md §7.1).
    pub fn spread_skill(&self) -> Option<LiveRatio> {
        self.calibration.spread_skill()
    }

    pub fn last_latency_ms(&self) -> Option<f64> {
        self.last_latency_ms
    }

    /// How long the learned draws have been held, and the age of the one in use.
    pub fn draw_timing(&self) -> DrawTiming {
        DrawTiming {
            age: self.sample_step.map(|s| self.steps - s),
            ..self.timing
        }
    }
    /// A message about the closure (e.g. a failed sample), for the UI.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    /// Whether a learned model is attached.
    pub fn has_model(&self) -> bool {
        self.worker.is_some()
    }
    /// The attached model's training grid, if any.
    pub(crate) fn model_grid(&self) -> Option<usize> {
        self.worker.as_ref().map(|w| w.train_grid())
    }

    /// Change settings that can change mid-run without restarting (sensors, sampler,
    /// ensemble, intervals, closure mode). Anything else needs [`Self::new`].
    pub fn update_live(&mut self, cfg: &ExperimentConfig) -> Result<(), ExperimentError> {
        cfg.validate()?;
        if !self.cfg.live_change_ok(cfg) {
            return Err(ExperimentError::Config(
                ExperimentConfig::RESTART_NEEDED.into(),
            ));
        }
        if cfg.sensors != self.cfg.sensors {
            self.sensors = Sensors::new(cfg.sensors, cfg.n)
                .map_err(|e| ExperimentError::Config(e.to_string()))?;
            self.readings = self.sensors.read(&self.true_closure);
        }
        let rebuild = cfg.closure != self.cfg.closure;
        let (sensors, ensemble) = (
            cfg.sensors != self.cfg.sensors,
            cfg.ensemble != self.cfg.ensemble,
        );
        (rebuild || sensors || ensemble).then(|| self.calibration.reset());
        let yardstick = self.cfg.yardstick_run();
        self.cfg = cfg.clone();
        if rebuild {
            self.eddy = self.eddy_model();
        }
        if self.cfg.yardstick_run() != yardstick {
            // the new yardstick starts where the runs are now
            self.reference = self.reference_run();
        }
        Ok(())
    }

    /// The yardstick run of the subgrid flow ([`ExperimentConfig::yardstick_run`]) from
    /// the with-run's state; one that cannot start is reported in the status line and
    /// left out.
    fn reference_run(&mut self) -> Option<yardstick::YardstickRun> {
        let r = yardstick::YardstickRun::new(
            &self.cfg,
            self.grid.clone(),
            self.with.omega_hat(),
            self.with.t(),
        );
        r.unwrap_or_else(|e| {
            self.status = Some(format!("no yardstick run: {e}"));
            None
        })
    }

    /// The classical closure's eddy-viscosity model, when the mode is one.
    fn eddy_model(&self) -> Option<EddyViscosity> {
        let model = self.cfg.closure.les().and_then(|c| c.eddy())?;
        Some(EddyViscosity::new(self.grid.clone(), model))
    }

    /// Advance `k` steps.
    pub fn advance(&mut self, k: u64) -> Result<(), ExperimentError> {
        for _ in 0..k {
            self.step()?;
        }
        Ok(())
    }

    fn request(&mut self) -> Result<(), ExperimentError> {
        let Some(w) = &self.worker else { return Ok(()) };
        let req = WorkerRequest {
            step: self.steps,
            grid: self.grid.clone(),
            omega: self.with.omega(),
            readings: self.readings.clone(),
            sensors: self.sensors,
            ensemble: self.cfg.ensemble,
            sampler: self.cfg.sampler,
            schedule: self.cfg.schedule(),
            nu: self.cfg.nu,
            tie: self.cfg.tie,
        };
        w.request(req).map_err(ExperimentError::Closure)?;
        self.calibration.requested(self.steps, &self.true_closure);
        self.pending = true;
        Ok(())
    }

    fn accept(&mut self, r: WorkerReply) {
        self.pending = false;
        self.last_latency_ms = Some(r.latency_ms);
        match r.result {
            Ok(ens) => {
                self.closure = ensemble_mean(&ens);
                self.calibration.accepted(r.step, &ens, &self.closure);
                self.timing.accepted(self.steps);
                self.ensemble = ens;
                self.sample_step = Some(r.step);
                self.status = None;
            }
            Err(e) => self.status = Some(format!("closure sample failed: {e}")),
        }
    }

    fn update_learned_closure(&mut self) -> Result<(), ExperimentError> {
        if self.worker.is_none() {
            self.status = Some(format!(
                "no learned model of the {} flow loaded: the {} run continues without closure",
                self.cfg.flow.def().label(),
                self.cfg.flow.def().run_name()
            ));
            self.sample_step = None;
            return Ok(());
        }
        let due = self
            .sample_step
            .is_none_or(|s| self.steps >= s + self.cfg.resample_every);
        // the first sample is always awaited (docs/science.md §7.1)
        if self.cfg.blocking || self.sample_step.is_none() {
            if due {
                if !self.pending {
                    self.request()?;
                }
                let r = self
                    .worker
                    .as_ref()
                    .and_then(|w| w.wait())
                    .ok_or_else(|| ExperimentError::Closure("closure worker stopped".into()))?;
                self.accept(r);
            }
        } else {
            if let Some(r) = self.worker.as_ref().and_then(|w| w.try_recv()) {
                self.accept(r);
            }
            if due && !self.pending {
                self.request()?;
            }
        }
        Ok(())
    }

    fn record(&mut self) {
        let truth = self.grid.to_physical(self.truth.omega_hat());
        let with = self.with.omega();
        let without = self.without.omega();
        let fresh = self.calibration.last();
        let closure_err = if self.steps > 0 && self.cfg.closure != ClosureMode::Off {
            Some(metrics::d_fro(&self.true_closure, &self.closure))
        } else {
            None
        };
        self.history.push(Sample {
            t: self.truth.t(),
            d_fro_with: metrics::d_fro(&truth, &with),
            d_fro_without: metrics::d_fro(&truth, &without),
            d_mse_with: metrics::d_mse(&truth, &with),
            d_mse_without: metrics::d_mse(&truth, &without),
            closure_d_fro: closure_err,
            fresh_d_fro: fresh.map(|f| f.d_fro_member),
            fresh_skill: fresh.map(|f| f.d_fro_mean),
            fresh_spread: fresh.map(|f| f.spread).filter(|s| s.is_finite()),
            p_z: (self.cfg.flow.def().closes_subgrid_term()
                && self.cfg.closure != ClosureMode::Off)
                .then(|| {
                    [
                        crate::les::stats::enstrophy_transfer(&self.closure, &with),
                        crate::les::stats::enstrophy_transfer(&self.true_closure, &truth),
                    ]
                }),
            energy: [
                metrics::energy(&self.grid, self.truth.omega_hat()),
                metrics::energy(&self.grid, self.with.omega_hat()),
                metrics::energy(&self.grid, self.without.omega_hat()),
            ],
            enstrophy: [
                metrics::enstrophy(&truth),
                metrics::enstrophy(&with),
                metrics::enstrophy(&without),
            ],
        });
    }

    /// Named shell spectra of ω (the published "energy spectrum") of truth, with and
    /// without closure, and in the subgrid flow the yardstick when it runs.
    pub fn spectra(&self) -> Vec<(Run, Vec<f64>)> {
        let s = |hat: &[C64]| metrics::energy_spectrum(&self.grid, hat);
        let mut out = vec![
            (Run::Truth, s(self.truth.omega_hat())),
            (Run::With, s(self.with.omega_hat())),
            (Run::Without, s(self.without.omega_hat())),
        ];
        if let (Some(r), Some(y)) = (&self.reference, self.cfg.yardstick_run()) {
            out.push((Run::Yardstick(y), s(r.omega_hat())));
        }
        out
    }

    /// The current fields. `member`: show this ensemble member as the closure instead of
    /// the ensemble mean.
    pub fn fields(&mut self, member: Option<usize>) -> Fields {
        let truth = self.grid.to_physical(self.truth.omega_hat());
        let with = self.with.omega();
        let error = with
            .iter()
            .zip(&truth)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let n2 = self.grid.phys_len();
        let closure = match member.and_then(|m| self.ensemble.get(m)) {
            Some(f) => f.clone(),
            None => self.closure.clone(),
        };
        Fields {
            n: self.grid.n,
            t: self.truth.t(),
            without: self.without.omega(),
            true_closure: self.true_closure.clone(),
            spread: if self.ensemble.len() > 1 {
                ensemble_std(&self.ensemble)
            } else {
                vec![0.0; n2]
            },
            closure,
            error,
            closure_error: self
                .calibration
                .last_error()
                .map_or_else(|| vec![0.0; n2], <[f64]>::to_vec),
            reference: self
                .reference
                .as_mut()
                .map_or_else(|| vec![0.0; n2], |r| r.omega()),
            // sensors read the closure of the published cases only
            sensors: if self.cfg.flow.def().reads_sensors() {
                self.sensors.indices().collect()
            } else {
                Vec::new()
            },
            truth,
            with,
        }
    }
}
