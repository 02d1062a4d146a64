//! Settings of a coupled experiment, validated against [`super::limits`].

use serde::{Deserialize, Serialize};

use super::Flow;
use super::limits;
use crate::closure::sampler::Sampler;
use crate::closure::sde::Schedule;
use crate::closure::sensors::{Densify, Sensors};
use crate::les::learn::drain::MeanTie;
use crate::solver::noise::NoiseParams;
use crate::solver::{Case, Params, Scheme, Terms};

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
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ClosureMode {
    Off,
    #[default]
    Learned,
    /// The true closure of the truth run (what a perfect closure would do).
    Oracle,
    /// Classical eddy-viscosity closures of the subgrid (LES) flow.
    Smagorinsky,
    DynamicSmagorinsky,
    Leith,
}

impl ClosureMode {
    /// The LES closure this mode is in the subgrid flow.
    pub fn les(self) -> Option<crate::les::LesClosure> {
        use crate::les::LesClosure as L;
        match self {
            ClosureMode::Off => Some(L::None),
            ClosureMode::Oracle => Some(L::Oracle),
            ClosureMode::Smagorinsky => Some(L::Smagorinsky),
            ClosureMode::DynamicSmagorinsky => Some(L::DynamicSmagorinsky),
            ClosureMode::Leith => Some(L::Leith),
            ClosureMode::Learned => None,
        }
    }

    /// The mode in words (titles, readouts).
    pub fn label(self) -> &'static str {
        match self {
            ClosureMode::Off => "off",
            ClosureMode::Learned => "learned",
            ClosureMode::Oracle => "oracle",
            ClosureMode::Smagorinsky => "Smagorinsky",
            ClosureMode::DynamicSmagorinsky => "dynamic Smagorinsky",
            ClosureMode::Leith => "Leith",
        }
    }

    /// The modes a run of `flow` may use, in the order they are offered: the learned
    /// closure, the classical ones where they exist (the subgrid flow), the oracle, off.
    pub fn offered(flow: Flow) -> Vec<ClosureMode> {
        use strum::IntoEnumIterator;
        let classical = ClosureMode::iter().filter(|m| m.is_classical());
        std::iter::once(ClosureMode::Learned)
            .chain(classical.filter(move |_| flow.def().has_classical_closures()))
            .chain([ClosureMode::Oracle, ClosureMode::Off])
            .collect()
    }

    /// Whether the mode is a classical eddy-viscosity closure (subgrid flow only): its
    /// LES closure has an eddy-viscosity model.
    pub fn is_classical(self) -> bool {
        self.les().is_some_and(|c| c.eddy().is_some())
    }
}

/// The run beside the subgrid flow's LES runs whose spectrum and energy are the
/// yardstick of the chosen closure: a classical one or the learned deterministic one.
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
pub enum Yardstick {
    /// A Smagorinsky LES (the classical yardstick).
    #[default]
    Smagorinsky,
    /// An LES closed by the shipped deterministic FNO of the run's LES grid, Π evaluated
    /// afresh every step (the conditional mean the stochastic closure is measured
    /// against).
    Fno,
}

impl Yardstick {
    /// The yardstick in words (legends, titles).
    pub fn label(self) -> &'static str {
        match self {
            Yardstick::Smagorinsky => "Smagorinsky",
            Yardstick::Fno => "deterministic FNO",
        }
    }
}

/// Settings of a coupled experiment. Every value is checked by [`Self::validate`]; ranges
/// and defaults come from [`super::limits`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentConfig {
    /// Grid of the runs shown (the LES grid in the subgrid flow).
    pub n: usize,
    pub flow: Flow,
    /// DNS grid of the subgrid flow (unused in the published one).
    pub dns_n: usize,
    /// Closure case of the published flow (unused in the subgrid one).
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
    /// Subgrid flow, stochastic learned closure: how its members are tied to the shipped
    /// deterministic FNO (`none`, `exact-drain`: each member takes its components along ω̄
    /// and ψ̄ from the FNO; `fluctuations`: the FNO plus the difference of two draws
    /// projected off that plane; docs/science.md §10.1).
    #[serde(with = "tie_or_none")]
    pub tie: Option<MeanTie>,
    /// Subgrid flow: what runs beside the LES runs as a yardstick (see
    /// [`Self::yardstick_run`] for when it runs and what it falls back to).
    pub yardstick: Yardstick,
}

/// `tie` as a name, `none` for untied.
mod tie_or_none {
    use super::MeanTie;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Option<MeanTie>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.map_or("none".to_string(), |t| t.to_string()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<MeanTie>, D::Error> {
        let name = String::deserialize(d)?;
        if name == "none" {
            return Ok(None);
        }
        crate::names::parse::<MeanTie>("tie (or none)", &name)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            n: limits::GRID.default,
            flow: Flow::default(),
            dns_n: limits::DNS_GRID.default,
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
            // the fastest calibrated generator: the shipped models' one-step flow
            sampler: Sampler::Flow,
            sampling_steps: 1,
            t_start: limits::T_START.default,
            ensemble: limits::ENSEMBLE.default,
            resample_every: limits::RESAMPLE_EVERY.default,
            record_every: limits::RECORD_EVERY.default,
            threads: limits::THREADS.default,
            // the published interval is the science: wait for each draw unless asked not to
            blocking: true,
            tie: None,
            yardstick: Yardstick::Smagorinsky,
        }
    }
}

impl ExperimentConfig {
    /// Reject values the experiment cannot run with, naming the setting.
    pub fn validate(&self) -> Result<(), super::ExperimentError> {
        self.check().map_err(super::ExperimentError::Config)
    }

    fn check(&self) -> Result<(), String> {
        self.flow.def().grid_choice().check(self.n)?;
        limits::SENSORS.check(self.sensors)?;
        limits::NU.check(self.nu)?;
        limits::DT.check(self.dt)?;
        limits::SIGMA.check(self.sigma)?;
        limits::FORCING.check(self.forcing)?;
        limits::SAMPLING_STEPS.check(self.sampling_steps)?;
        if self.sampler == Sampler::Flow
            && !crate::closure::flow::FLOW_STEPS.contains(&self.sampling_steps)
        {
            return Err(format!(
                "a flow generator takes 1 or 2 sampling steps, got {}",
                self.sampling_steps
            ));
        }
        limits::T_START.check(self.t_start)?;
        limits::ENSEMBLE.check(self.ensemble)?;
        limits::RESAMPLE_EVERY.check(self.resample_every)?;
        limits::RECORD_EVERY.check(self.record_every)?;
        limits::THREADS.check(self.threads)?;
        Sensors::new(self.sensors, self.n).map_err(|e| e.to_string())?;
        self.flow.def().check(self)?;
        Ok(())
    }

    /// The nearest valid configuration (values from storage or sliders): each setting
    /// clamped into its range, unknown choices replaced by the default.
    pub fn sanitized(&self) -> Self {
        let mut c = self.clamped();
        // rules between settings, per flow
        let flow = c.flow;
        flow.def().sanitize(&mut c);
        if Sensors::new(c.sensors, c.n).is_err() {
            // the densest layout this grid takes (0, none, always does)
            c.sensors = limits::SENSORS
                .values
                .iter()
                .copied()
                .filter(|&s| s <= limits::SENSORS.default && Sensors::new(s, c.n).is_ok())
                .max()
                .unwrap_or(0);
        }
        if c.sampler == Sampler::Flow {
            c.sampling_steps = c.sampling_steps.clamp(1, 2);
        }
        c
    }

    /// Each setting clamped into its own range.
    fn clamped(&self) -> Self {
        ExperimentConfig {
            n: self.flow.def().grid_choice().clamp(self.n),
            dns_n: limits::DNS_GRID.clamp(self.dns_n),
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

    /// Solver parameters of one of the published flow's runs, with the given terms.
    pub fn params(&self, terms: Terms) -> Params {
        Params {
            nu: self.nu,
            dt: self.dt,
            forcing: self.forcing,
            noise: NoiseParams {
                sigma: self.sigma,
                ..Default::default()
            },
            scheme: self.scheme,
            terms,
            threads: self.threads,
            ..Default::default()
        }
    }

    /// Name of the closure term: G, H or Π (subgrid).
    pub fn term(&self) -> &'static str {
        self.flow.def().term(self.case)
    }

    /// What the panels show (their titles follow it).
    pub fn panels(&self) -> super::PanelContext {
        super::PanelContext {
            flow: self.flow,
            term: self.term(),
            closure: self.closure,
            ensemble: self.ensemble,
            yardstick: self.yardstick_run(),
        }
    }

    /// The yardstick that runs: none in the published flow, none when the chosen closure
    /// is the yardstick itself (Smagorinsky), and Smagorinsky in place of an FNO that is
    /// not shipped for the run's LES grid (the legends and titles name what runs).
    pub fn yardstick_run(&self) -> Option<Yardstick> {
        if !self.flow.def().has_classical_closures() {
            return None;
        }
        let y = match self.yardstick {
            Yardstick::Fno
                if crate::les::learn::shipped::has(
                    crate::les::learn::model::LesKind::Deterministic,
                    self.n,
                ) =>
            {
                Yardstick::Fno
            }
            _ => Yardstick::Smagorinsky,
        };
        (y == Yardstick::Fno || self.closure != ClosureMode::Smagorinsky).then_some(y)
    }

    /// The settings the truth's state depends on from its start (its grids, flow,
    /// equation, scheme and seed), as bits: a spun-up state is reused only under the
    /// same key, and a change of any of them restarts the runs.
    pub(crate) fn start_key(&self) -> [u64; 9] {
        [
            self.n as u64,
            self.flow as u64,
            self.dns_n as u64,
            self.nu.to_bits(),
            self.dt.to_bits(),
            self.sigma.to_bits(),
            self.forcing.to_bits(),
            self.scheme as u64,
            self.seed,
        ]
    }

    /// Settings that can change while the runs go on (sensors, sampler, ensemble,
    /// intervals, closure mode); the [`Self::start_key`] and the closure case (the model
    /// runs' equation) need a restart.
    pub(crate) fn live_change_ok(&self, other: &ExperimentConfig) -> bool {
        self.start_key() == other.start_key() && self.case == other.case
    }

    /// What a change refused by [`Self::live_change_ok`] says.
    pub(crate) const RESTART_NEEDED: &str =
        "the grids, flow, case, ν, dt, noise, forcing, scheme and seed need a reset";
}
