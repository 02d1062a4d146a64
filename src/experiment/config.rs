//! Settings of a coupled experiment, validated against [`super::limits`].

use serde::{Deserialize, Serialize};

use super::limits;
use crate::closure::sampler::Sampler;
use crate::closure::sde::Schedule;
use crate::closure::sensors::{Densify, Sensors};
use crate::solver::noise::NoiseParams;
use crate::solver::{Case, Params, RunKind, Scheme};

/// Where the model run's closure comes from.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ClosureMode {
    Off,
    #[default]
    Learned,
    /// The true closure of the truth run (what a perfect closure would do).
    Oracle,
}

/// Settings of a coupled experiment. Every value is checked by [`Self::validate`]; ranges
/// and defaults come from [`super::limits`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentConfig {
    pub n: usize,
    pub case: Case,
    pub nu: f64,
    pub dt: f64,
    /// Noise amplitude σ of the truth (0 = decaying/deterministic truth).
    pub sigma: f64,
    pub forcing: f64,
    pub scheme: Scheme,
    pub seed: u64,
    /// Sensors per side.
    pub sensors: usize,
    pub densify: Densify,
    pub closure: ClosureMode,
    pub sampler: Sampler,
    /// Sampling steps (network evaluations for Euler–Maruyama).
    pub sampling_steps: usize,
    /// Start time T of the reverse diffusion.
    pub t_start: f64,
    pub ensemble: usize,
    /// Draw a fresh closure sample every this many steps (published 5).
    pub resample_every: u64,
    /// Record metrics every this many steps.
    pub record_every: u64,
    /// Threads of the lockstep step (1 = serial; results are the same either way).
    pub threads: usize,
    /// Wait for each closure sample (deterministic, for the CLI and tests) instead of
    /// running the sampler asynchronously (the app).
    pub blocking: bool,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            n: limits::GRID.default,
            case: Case::G,
            nu: limits::NU.default,
            dt: limits::DT.default,
            sigma: limits::SIGMA.default,
            forcing: limits::FORCING.default,
            scheme: Scheme::Reference,
            seed: 0,
            sensors: limits::SENSORS.default,
            densify: Densify::Bicubic,
            closure: ClosureMode::Learned,
            sampler: Sampler::EulerMaruyama,
            sampling_steps: limits::SAMPLING_STEPS.default,
            t_start: limits::T_START.default,
            ensemble: limits::ENSEMBLE.default,
            resample_every: limits::RESAMPLE_EVERY.default,
            record_every: limits::RECORD_EVERY.default,
            threads: limits::THREADS.default,
            blocking: false,
        }
    }
}

impl ExperimentConfig {
    /// Reject values the experiment cannot run with, naming the setting.
    pub fn validate(&self) -> Result<(), super::ExperimentError> {
        self.check().map_err(super::ExperimentError::Config)
    }

    fn check(&self) -> Result<(), String> {
        limits::GRID.check(self.n)?;
        limits::SENSORS.check(self.sensors)?;
        limits::NU.check(self.nu)?;
        limits::DT.check(self.dt)?;
        limits::SIGMA.check(self.sigma)?;
        limits::FORCING.check(self.forcing)?;
        limits::SAMPLING_STEPS.check(self.sampling_steps)?;
        limits::T_START.check(self.t_start)?;
        limits::ENSEMBLE.check(self.ensemble)?;
        limits::RESAMPLE_EVERY.check(self.resample_every)?;
        limits::RECORD_EVERY.check(self.record_every)?;
        limits::THREADS.check(self.threads)?;
        Sensors::new(self.sensors, self.n).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The nearest valid configuration (values from storage or sliders): each setting
    /// clamped into its range, unknown choices replaced by the default.
    pub fn sanitized(&self) -> Self {
        ExperimentConfig {
            n: limits::GRID.clamp(self.n),
            sensors: limits::SENSORS.clamp(self.sensors),
            nu: limits::NU.clamp(self.nu),
            dt: limits::DT.clamp(self.dt),
            sigma: limits::SIGMA.clamp(self.sigma),
            forcing: limits::FORCING.clamp(self.forcing),
            sampling_steps: limits::SAMPLING_STEPS.clamp(self.sampling_steps),
            t_start: limits::T_START.clamp(self.t_start),
            ensemble: limits::ENSEMBLE.clamp(self.ensemble),
            resample_every: limits::RESAMPLE_EVERY.clamp(self.resample_every),
            record_every: limits::RECORD_EVERY.clamp(self.record_every),
            threads: limits::THREADS.clamp(self.threads),
            ..self.clone()
        }
    }

    /// The sampler's time schedule (Karras ρ = 7 down to t = 1e-3).
    pub fn schedule(&self) -> Schedule {
        Schedule::karras(self.t_start, self.sampling_steps)
    }

    /// Solver parameters of one of the three runs.
    pub fn params(&self, kind: RunKind) -> Params {
        Params {
            nu: self.nu,
            dt: self.dt,
            forcing: self.forcing,
            noise: NoiseParams {
                sigma: self.sigma,
                ..Default::default()
            },
            scheme: self.scheme,
            kind,
            threads: self.threads,
            ..Default::default()
        }
    }

    /// Settings that can change while the runs go on (sensors, sampler, ensemble,
    /// intervals, closure mode); anything else needs a restart.
    pub fn live_change_ok(&self, other: &ExperimentConfig) -> bool {
        self.n == other.n
            && self.case == other.case
            && self.nu == other.nu
            && self.dt == other.dt
            && self.sigma == other.sigma
            && self.forcing == other.forcing
            && self.scheme == other.scheme
            && self.seed == other.seed
    }
}
