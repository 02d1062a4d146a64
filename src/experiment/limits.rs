//! The documented range and default of every experiment setting — the one source of truth
//! that [`super::ExperimentConfig::validate`], the app's sliders and the settings
//! sanitiser all read (docs/design.md, convention 15).

use std::fmt::Display;
use std::ops::RangeInclusive;

/// A numeric setting: its name (as the user sees it), inclusive range and default.
#[derive(Clone, Copy, Debug)]
pub struct Limit<T> {
    pub name: &'static str,
    pub min: T,
    pub max: T,
    pub default: T,
}

impl<T: PartialOrd + Copy + Display> Limit<T> {
    /// Whether `v` lies in the range (NaN never does).
    pub fn contains(&self, v: T) -> bool {
        v >= self.min && v <= self.max
    }

    /// `Ok` inside the range, else a one-line error naming the setting.
    pub fn check(&self, v: T) -> Result<(), String> {
        if self.contains(v) {
            Ok(())
        } else {
            Err(format!(
                "{} must be in {}…{}, got {v}",
                self.name, self.min, self.max
            ))
        }
    }

    /// The nearest value in range; NaN (or anything unordered) becomes the default.
    pub(crate) fn clamp(&self, v: T) -> T {
        if v < self.min {
            self.min
        } else if v > self.max {
            self.max
        } else if self.contains(v) {
            v
        } else {
            self.default
        }
    }

    /// The range for a slider.
    pub fn range(&self) -> RangeInclusive<T> {
        self.min..=self.max
    }
}

/// A setting that takes one of a few values.
#[derive(Clone, Copy, Debug)]
pub struct Choice<T: 'static> {
    pub name: &'static str,
    pub values: &'static [T],
    pub default: T,
}

impl<T: PartialEq + Copy + Display> Choice<T> {
    pub fn check(&self, v: T) -> Result<(), String> {
        if self.values.contains(&v) {
            Ok(())
        } else {
            let list: Vec<String> = self.values.iter().map(|v| v.to_string()).collect();
            Err(format!(
                "{} must be one of {}, got {v}",
                self.name,
                list.join(", ")
            ))
        }
    }

    /// `v` when it is one of the values, else the default.
    pub(crate) fn clamp(&self, v: T) -> T {
        if self.values.contains(&v) {
            v
        } else {
            self.default
        }
    }
}

/// Grid points per side of the coupled run.
pub const GRID: Choice<usize> = Choice {
    name: "grid N",
    values: &[64, 128, 256],
    default: 64,
};
/// Sensors per side (s×s point samples of the true closure; 0 = none, ω only).
pub const SENSORS: Choice<usize> = Choice {
    name: "sensors per side",
    values: &crate::closure::sensors::DENSITIES,
    default: 16,
};
pub const NU: Limit<f64> = Limit {
    name: "ν (viscosity)",
    min: 1e-4,
    max: 1e-2,
    default: 1e-3,
};
pub const DT: Limit<f64> = Limit {
    name: "dt",
    min: 1e-5,
    max: 5e-3,
    default: 1e-3,
};
/// Amplitude σ of the truth's stochastic forcing (0 = deterministic truth).
pub const SIGMA: Limit<f64> = Limit {
    name: "noise amplitude σ",
    min: 0.0,
    max: 1e-3,
    default: 5e-5,
};
/// Amplitude A of the deterministic forcing `A·[sin 2π(x+y) + cos 2π(x+y)]`.
pub const FORCING: Limit<f64> = Limit {
    name: "forcing amplitude",
    min: -1.0,
    max: 1.0,
    default: 0.1,
};
/// Reverse-diffusion steps per closure sample.
pub const SAMPLING_STEPS: Limit<usize> = Limit {
    name: "sampling steps",
    min: 1,
    max: crate::closure::sampler::MAX_STEPS,
    default: 10,
};
/// Start time T of the reverse diffusion.
pub const T_START: Limit<f64> = Limit {
    name: "start time T",
    min: 0.01,
    max: 1.0,
    default: 0.1,
};
pub const ENSEMBLE: Limit<usize> = Limit {
    name: "ensemble size",
    min: 1,
    max: 16,
    default: 4,
};
/// Model steps between fresh closure samples (published 5).
pub const RESAMPLE_EVERY: Limit<u64> = Limit {
    name: "resample interval (steps)",
    min: 1,
    max: 100,
    default: 5,
};
/// Threads the three runs use (the truth and the run without closure side by side, and
/// each step's transforms in pairs, on grids where that wins).
pub const THREADS: Limit<usize> = Limit {
    name: "threads",
    min: 1,
    max: 64,
    default: 2,
};
/// Steps between recorded metric samples.
pub const RECORD_EVERY: Limit<u64> = Limit {
    name: "metric interval (steps)",
    min: 1,
    max: 1_000_000,
    default: 10,
};
/// LES grid of the subgrid flow (points per side of the runs shown): the filter cuts at
/// its dealiasing limit, so the coarser the grid the more of the flow the closure decides.
pub const LES_GRID: Choice<usize> = Choice {
    name: "LES grid",
    values: &[32, 48, 64, 128],
    default: 64,
};
/// DNS grid of the subgrid (LES) flow (at least twice the LES grid).
pub const DNS_GRID: Choice<usize> = Choice {
    name: "DNS grid",
    values: &[128, 256, 512],
    default: 256,
};
