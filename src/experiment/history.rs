//! Metric histories recorded by the experiment's observer every `record_every` steps.

use serde::Serialize;

/// Metrics at one recorded time.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub t: f64,
    /// D_Fro of ω against the truth, model run with / without closure.
    pub d_fro_with: f64,
    pub d_fro_without: f64,
    pub d_mse_with: f64,
    pub d_mse_without: f64,
    /// D_Fro of the closure in use against the current true closure. For the learned
    /// closure this is the held sample, stale by construction (the truth redraws noise
    /// every step).
    pub closure_d_fro: Option<f64>,
    /// The latest fresh ensemble against the true closure of the step it was drawn for:
    /// mean D_Fro of a member, D_Fro of the ensemble mean (skill), and the spread on the
    /// same scale (docs/science.md §7).
    pub fresh_d_fro: Option<f64>,
    pub fresh_skill: Option<f64>,
    pub fresh_spread: Option<f64>,
    /// Subgrid flow: the enstrophy transfer P_Z = −⟨Π ω̄⟩ of the closure applied to the
    /// run with it, and of the true Π on the filtered DNS (negative: a drain).
    pub p_z: Option<[f64; 2]>,
    /// Energy and enstrophy of truth, with, without.
    pub energy: [f64; 3],
    pub enstrophy: [f64; 3],
}

/// Recorded samples, oldest first (bounded: the oldest half is thinned when full).
#[derive(Clone, Debug, Default)]
pub struct History {
    samples: Vec<Sample>,
    /// Samples pushed since the start (never thinned), so a reader that copies new
    /// samples elsewhere knows how many it has not seen.
    pushed: u64,
}

/// Most samples kept; beyond this every second old sample is dropped.
pub const MAX_SAMPLES: usize = 20_000;

impl History {
    pub fn push(&mut self, s: Sample) {
        if self.samples.len() >= MAX_SAMPLES {
            let mut i = 0;
            self.samples.retain(|_| {
                i += 1;
                i % 2 == 0 || i > MAX_SAMPLES / 2
            });
        }
        self.samples.push(s);
        self.pushed += 1;
    }

    /// Samples pushed since the start.
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The samples pushed after the first `seen` (as many as are still kept).
    pub fn since(&self, seen: u64) -> &[Sample] {
        let new = (self.pushed.saturating_sub(seen) as usize).min(self.samples.len());
        &self.samples[self.samples.len() - new..]
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    pub fn last(&self) -> Option<&Sample> {
        self.samples.last()
    }

    /// `(t, value)` series of one metric.
    pub fn series(&self, f: impl Fn(&Sample) -> Option<f64>) -> Vec<[f64; 2]> {
        self.samples
            .iter()
            .filter_map(|s| f(s).map(|v| [s.t, v]))
            .collect()
    }

    pub fn clear(&mut self) {
        self.samples.clear();
        self.pushed = 0;
    }
}
