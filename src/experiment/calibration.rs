//! Live calibration of the learned closure's ensemble (docs/science.md §7).
//!
//! A closure sample is drawn for the model run's state at one step and then held for
//! `resample_every` steps, while the truth draws new noise every step. So the error of
//! the held sample against the current true closure grows by construction: it is stale,
//! not model error. The honest score compares each fresh ensemble with the true closure
//! *of the step it was drawn for*; this tracker keeps that true closure until the sample
//! arrives, scores it, and keeps running sums for the live spread/skill number.

use crate::closure::calibration::{StateScores, score};

#[derive(Default)]
pub struct Calibrator {
    /// The step a sample was requested for and the true closure at that step.
    requested: Option<(u64, Vec<f64>)>,
    last: Option<StateScores>,
    /// |ensemble mean − truth| per pixel of the last scored draw.
    last_error: Option<Vec<f64>>,
    sum_spread: f64,
    sum_skill: f64,
    /// Sums of the per-draw ratio and its square (its scatter gives the ± of the mean).
    sum_ratio: f64,
    sum_ratio2: f64,
    count: usize,
}

/// The live spread/skill over the fresh ensembles since the last reset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveRatio {
    /// Mean spread ÷ mean skill.
    pub value: f64,
    /// Standard error from the scatter of the per-draw ratios (`None` below 2 draws).
    pub se: Option<f64>,
    /// Ensembles scored.
    pub draws: usize,
}

impl Calibrator {
    /// A sample was requested for the state at `step`, whose true closure is `truth`.
    pub fn requested(&mut self, step: u64, truth: &[f64]) {
        self.requested = Some((step, truth.to_vec()));
    }

    /// The ensemble drawn for `step` (its mean `mean`) arrived: score it against that
    /// step's truth.
    pub fn accepted(&mut self, step: u64, ensemble: &[Vec<f64>], mean: &[f64]) {
        let Some((s, truth)) = self.requested.take() else {
            return;
        };
        if s != step || ensemble.is_empty() {
            return;
        }
        let sc = score(ensemble, &truth);
        self.last_error = Some(
            mean.iter()
                .zip(&truth)
                .map(|(m, t)| (m - t).abs())
                .collect(),
        );
        if ensemble.len() > 1 && sc.spread.is_finite() && sc.d_fro_mean.is_finite() {
            self.sum_spread += sc.spread;
            self.sum_skill += sc.d_fro_mean;
            if sc.d_fro_mean > 0.0 {
                let r = sc.spread / sc.d_fro_mean;
                self.sum_ratio += r;
                self.sum_ratio2 += r * r;
            }
            self.count += 1;
        }
        self.last = Some(sc);
    }

    /// Forget the running sums (the sensors, ensemble or model changed).
    pub fn reset(&mut self) {
        *self = Calibrator::default();
    }

    /// |ensemble mean − truth| of the latest fresh ensemble, at the step it was drawn for.
    pub(crate) fn last_error(&self) -> Option<&[f64]> {
        self.last_error.as_deref()
    }

    /// Scores of the latest fresh ensemble.
    pub fn last(&self) -> Option<StateScores> {
        self.last
    }

    /// Mean spread ÷ mean skill over the fresh ensembles since the last reset.
    pub fn spread_skill(&self) -> Option<LiveRatio> {
        if self.count == 0 || self.sum_skill <= 0.0 {
            return None;
        }
        let n = self.count as f64;
        let se = (self.count > 1).then(|| {
            let mean = self.sum_ratio / n;
            let var = ((self.sum_ratio2 - n * mean * mean) / (n - 1.0)).max(0.0);
            (var / n).sqrt()
        });
        Some(LiveRatio {
            value: self.sum_spread / self.sum_skill,
            se,
            draws: self.count,
        })
    }
}
