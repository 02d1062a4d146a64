//! Ensemble forecasts of the LES with a learned closure (docs/science.md §8.2): from a
//! filtered-DNS state, `members` LES runs start identical and each draws its own Π; as
//! they step beside the DNS, the ensemble's spread of ω̄ is set against the error of its
//! mean at each lead time. A calibrated stochastic closure keeps the two equal; a
//! deterministic one has no spread at all.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::LesError;
use super::learn::learned::{Learned, LearnedRun};
use super::{FilteredDns, LesFlow, check_cancel};
use crate::closure::calibration::{StateScores, average, score};

/// What an ensemble forecast runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastOptions {
    pub flow: LesFlow,
    /// Spin-up before the first start (¾ of it on the half-size grid).
    pub spin_up: f64,
    /// Forecasts started along one DNS trajectory, `gap` time units apart.
    pub starts: usize,
    pub gap: f64,
    pub members: usize,
    /// Forecast length and the interval of the scores.
    pub lead: f64,
    pub every: f64,
    pub seed: u64,
}

impl ForecastOptions {
    pub fn validate(&self) -> Result<(), LesError> {
        self.flow.validate()?;
        let bad = |m: &str| Err(LesError::Setting(m.into()));
        let times = [self.spin_up, self.gap, self.lead, self.every];
        if times.iter().any(|t| !t.is_finite() || *t < 0.0) || self.every <= 0.0 {
            return bad("times must be finite and ≥ 0 (score interval > 0)");
        }
        if self.every > self.lead {
            return bad("the score interval must not exceed the lead time");
        }
        if times.iter().any(|t| *t > 1e3) {
            return bad("spin-up, gap and lead must each be at most 1000 time units");
        }
        if self.lead / self.every > 10_000.0 {
            return bad("at most 10000 scored lead times (raise --every)");
        }
        if !(2..=64).contains(&self.members) || !(1..=100).contains(&self.starts) {
            return bad("members must be 2…64 and starts 1…100");
        }
        Ok(())
    }

    /// DNS steps of the whole forecast, for progress bars (spin-up excluded).
    pub fn steps(&self) -> u64 {
        let s = |t: f64| (t / self.flow.dt).round() as u64;
        s(self.gap) * (self.starts as u64 - 1) + s(self.lead) * self.starts as u64
    }
}

/// Scores at one lead time, averaged over the starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastRow {
    pub lead: f64,
    /// D_Fro of the ensemble-mean ω̄ against the filtered DNS
    pub error: f64,
    /// ensemble spread of ω̄ on the same scale (√Σ unbiased variance ÷ ‖ω̄_DNS‖)
    pub spread: f64,
    pub spread_skill: f64,
    /// mean D_Fro of a member
    pub member: f64,
    /// fair CRPS per pixel ÷ mean |ω̄_DNS|
    pub crps: f64,
    pub starts: usize,
}

/// Run the forecasts of `learned` and score them against the filtered DNS.
/// `progress` receives DNS steps as they are done.
pub fn forecast(
    opts: &ForecastOptions,
    learned: &Learned,
    progress: &dyn Fn(u64),
    cancel: &AtomicBool,
) -> Result<Vec<ForecastRow>, LesError> {
    opts.validate()?;
    let flow = &opts.flow;
    let (w, t0) = super::spin_up(flow, opts.spin_up, opts.seed, &|_, _| {}, cancel)?;
    let mut dns = FilteredDns::new(flow.clone(), &w, t0)?;
    let lg = dns.les_grid().clone();
    let steps = |t: f64| (t / flow.dt).round() as u64;
    let (lead, every) = (steps(opts.lead), steps(opts.every).max(1));
    let mut per_lead: Vec<Vec<StateScores>> = vec![Vec::new(); (lead / every) as usize + 1];
    for start in 0..opts.starts {
        if start > 0 {
            for _ in 0..steps(opts.gap) {
                dns.step()?;
                progress(1);
            }
            check_cancel(cancel)?;
        }
        let t = dns.dns.t();
        let mut members = (0..opts.members)
            .map(|m| {
                let stream = crate::closure::sampler::draw_key(&[start as u64, m as u64]);
                LearnedRun::new(flow, lg.clone(), dns.bar_hat(), t, stream)
            })
            .collect::<Result<Vec<_>, _>>()?;
        for step in 0..=lead {
            if step % every == 0 {
                let truth = lg.to_physical(dns.bar_hat());
                let ens: Vec<Vec<f64>> = members.iter_mut().map(|m| m.run.sim.omega()).collect();
                per_lead[(step / every) as usize].push(score(&ens, &truth));
            }
            if step == lead {
                break;
            }
            dns.step()?;
            for m in members.iter_mut() {
                m.step(learned, flow)?;
            }
            progress(1);
            check_cancel(cancel)?;
        }
    }
    Ok(per_lead
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let c = average(s);
            ForecastRow {
                lead: (i as u64 * every) as f64 * flow.dt,
                error: c.d_fro_mean,
                spread: c.spread,
                spread_skill: c.spread_skill,
                member: c.d_fro_member,
                crps: c.crps,
                starts: s.len(),
            }
        })
        .collect())
}
