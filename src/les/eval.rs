//! `les-eval`: every closure of the subgrid case scored a-priori and a-posteriori against
//! a filtered DNS (docs/science.md §8).
//!
//! Per ν: a DNS is spun up from a perturbed laminar state (most of it on a half-size
//! grid, then on the DNS grid), filtered, and one coarse run per closure starts from that
//! filtered state. DNS and coarse runs then step together for `t_run`; after a
//! transient, every `sample_every` the scores accumulate:
//! * a-priori, on the filtered DNS state: each closure's Π against the true Π
//!   (correlation, relative L2, enstrophy transfer, backscatter fraction);
//! * a-posteriori, on each coarse run's own state: time-mean E(k) and Z(k) against the
//!   filtered DNS (normalised spectral RMSE over the resolved shells), the ω̄ PDF
//!   (Wasserstein-1 divided by the filtered DNS's rms), mean energy and enstrophy, blow-ups.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use crate::closure::sampler::draw_key;
use crate::metrics;
use crate::solver::{C64, Grid, SolverError};

use super::closure::LesClosure;
use super::filter::{Filter, cutoff_wavenumber};
use super::learn::learned::Learned;
use super::scored::Scored;
use super::{FilteredDns, LesFlow, NU_CHOICES, stats};
use super::{LesError, check_cancel};

/// What `les-eval` runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LesEvalOptions {
    pub nus: Vec<f64>,
    pub dns_n: usize,
    pub filter: Filter,
    /// Spin-up time before the runs start (¾ of it on the half-size grid).
    pub spin_up: f64,
    /// Length of the coarse runs.
    pub t_run: f64,
    /// Time between samples of the scores.
    pub sample_every: f64,
    /// Samples start after this much of the run (the runs start identical).
    pub transient: f64,
    /// Seed of the first run (the initial perturbation and the learned closures' draws).
    pub seed: u64,
    /// Runs per ν, seeds `seed`, `seed + 1`, …: a chaotic run's score moves with its
    /// seed, so claims rest on several ([`super::compare`]).
    #[serde(default = "one")]
    pub seeds: usize,
    /// LES grid (points per side); the cutoff sits at its dealiasing limit.
    #[serde(default = "les_n_default")]
    pub les_n: usize,
    /// Time step of the DNS and the LES runs (a closure's scores must not depend on it).
    #[serde(default = "dt_default")]
    pub dt: f64,
}

fn dt_default() -> f64 {
    LesFlow::default().dt
}

fn one() -> usize {
    1
}

fn les_n_default() -> usize {
    LesFlow::default().les_n
}

/// Most seeds one `les-eval` runs per ν.
pub const MAX_SEEDS: usize = 1000;

impl Default for LesEvalOptions {
    fn default() -> Self {
        LesEvalOptions {
            nus: NU_CHOICES.to_vec(),
            dns_n: 256,
            filter: Filter::Cutoff,
            spin_up: 4.0,
            t_run: 4.0,
            sample_every: 0.05,
            transient: 0.5,
            seed: 0,
            seeds: 1,
            les_n: les_n_default(),
            dt: dt_default(),
        }
    }
}

impl LesEvalOptions {
    /// The flow of one ν.
    pub fn flow(&self, nu: f64) -> LesFlow {
        LesFlow {
            nu,
            dns_n: self.dns_n,
            les_n: self.les_n,
            filter: self.filter,
            dt: self.dt,
            ..Default::default()
        }
    }

    /// Every (seed, ν) run, seeds outermost.
    pub fn runs(&self) -> Vec<(u64, f64)> {
        (0..self.seeds as u64)
            .flat_map(|i| self.nus.iter().map(move |&nu| (self.seed + i, nu)))
            .collect()
    }

    /// Work units of one ν for progress bars: DNS-grid steps, a half-size spin-up step
    /// counting a quarter.
    pub(crate) fn steps_per_nu(&self) -> u64 {
        let flow = self.flow(self.nus.first().copied().unwrap_or(NU_CHOICES[0]));
        super::spin_up_total(&flow, self.spin_up) + (self.t_run / flow.dt).round() as u64
    }

    pub fn validate(&self) -> Result<(), LesError> {
        let bad = |m: String| Err(LesError::Setting(m));
        if self.nus.is_empty() {
            return bad("give at least one ν".into());
        }
        if !(1e-6..=1e-2).contains(&self.dt) {
            return bad(format!("--dt must be 10⁻⁶…10⁻², got {:e}", self.dt));
        }
        if !(64..=1024).contains(&self.dns_n) {
            return bad(format!(
                "--dns-n must be between 64 and 1024, got {}",
                self.dns_n
            ));
        }
        if self.spin_up > 1000.0 || self.t_run > 1000.0 {
            return bad("--spin-up and --t-run are limited to 1000 time units".into());
        }
        for &nu in &self.nus {
            self.flow(nu).validate()?;
        }
        if !(1..=MAX_SEEDS).contains(&self.seeds)
            || self.seed.checked_add(self.seeds as u64).is_none()
        {
            return bad(format!(
                "--seeds must be 1…{MAX_SEEDS} (and the last seed a u64)"
            ));
        }
        let times = [self.spin_up, self.t_run, self.sample_every, self.transient];
        if times.iter().any(|t| !t.is_finite() || *t < 0.0) || self.sample_every <= 0.0 {
            return bad("times must be finite and ≥ 0 (sample interval > 0)".into());
        }
        if self.transient + self.sample_every > self.t_run {
            return bad(format!(
                "the run ({}) must outlast the transient ({}) by at least one sample interval",
                self.t_run, self.transient
            ));
        }
        Ok(())
    }
}

/// One row of the table: one closure at one ν.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LesRow {
    /// Seed of the run (initial perturbation and draws).
    #[serde(default)]
    pub seed: u64,
    /// `none`, a classical closure, `oracle`, or a learned kind (`learned-stochastic`,
    /// `learned-deterministic`, `mean-noise`).
    pub closure: super::name::ClosureName,
    /// Which learned model (its file stem); none for the other closures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub nu: f64,
    pub dns_n: usize,
    pub les_n: usize,
    pub filter: Filter,
    /// a-priori correlation of the modelled Π with the true Π
    pub cc: f64,
    /// a-priori relative L2 error of Π
    pub rel_l2: f64,
    /// a-priori enstrophy transfer −⟨Π ω̄⟩ of the modelled Π (true: `p_z_true`)
    pub p_z: f64,
    pub p_z_true: f64,
    /// a-posteriori enstrophy transfer −⟨Π ω̄⟩ of the closure on its own run: the Π the
    /// run applied in its last step against the run's state, time-averaged like the
    /// spectra (the drain the run actually felt; none for rows written before it existed)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_z_run: Option<f64>,
    /// a-priori fraction of points with backscatter in the modelled Π
    pub backscatter: f64,
    /// a-priori fair CRPS per pixel ÷ mean |Π| (a deterministic closure: its mean
    /// absolute error ÷ mean |Π|)
    pub crps: f64,
    /// a-priori spread ÷ D_Fro of the ensemble mean (ensemble closures only)
    pub spread_skill: Option<f64>,
    pub spectral_rmse_e: f64,
    pub spectral_rmse_z: f64,
    /// Wasserstein-1 distance of the ω̄ PDF ÷ the filtered DNS's rms ω̄
    pub w1_omega: f64,
    /// time-mean energy and enstrophy of the run (the filtered DNS's: `*_dns`)
    pub energy: f64,
    pub enstrophy: f64,
    pub energy_dns: f64,
    pub enstrophy_dns: f64,
    pub blowups: u32,
    /// the model coefficient (C_s², C_L³), time-averaged, where there is one
    pub coefficient: Option<f64>,
    pub t_run: f64,
    pub samples: usize,
}

/// Time-mean spectra of one ν, for figures: the filtered DNS and each closure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LesSpectra {
    #[serde(default)]
    pub seed: u64,
    pub nu: f64,
    /// (name, E(k), Z(k)); the first is the filtered DNS
    pub curves: Vec<(String, Vec<f64>, Vec<f64>)>,
    /// sorted ω̄ samples per curve, thinned, for PDF figures
    pub omega: Vec<(String, Vec<f64>)>,
}

/// Running sums of one run's a-posteriori statistics.
#[derive(Default)]
pub(super) struct Accum {
    pub(super) e: Vec<f64>,
    pub(super) z: Vec<f64>,
    pub(super) omega: Vec<f64>,
    pub(super) energy: f64,
    pub(super) enstrophy: f64,
    /// Σ −⟨Π ω̄⟩ of the run's applied Π against its state
    pub(super) p_z: f64,
    pub(super) samples: usize,
}

impl Accum {
    pub(super) fn add(&mut self, grid: &Grid, hat: &[C64]) {
        let (e, z) = stats::spectra(grid, hat);
        if self.e.is_empty() {
            self.e = vec![0.0; e.len()];
            self.z = vec![0.0; z.len()];
        }
        for (a, b) in self.e.iter_mut().zip(&e) {
            *a += b;
        }
        for (a, b) in self.z.iter_mut().zip(&z) {
            *a += b;
        }
        let w = grid.to_physical(hat);
        self.energy += metrics::energy(grid, hat);
        self.enstrophy += metrics::enstrophy(&w);
        self.omega.extend_from_slice(&w);
        self.samples += 1;
    }
    /// [`Self::add`] for a run closed by `pi_hat`: also its drain on the run's state
    /// (the state's physical field is the one `add` just kept).
    pub(super) fn add_closed(&mut self, grid: &Grid, hat: &[C64], pi_hat: &[C64]) {
        self.add(grid, hat);
        let w = &self.omega[self.omega.len() - grid.n * grid.n..];
        self.p_z += stats::enstrophy_transfer(&grid.to_physical(pi_hat), w);
    }

    pub(super) fn mean(&self, v: &[f64]) -> Vec<f64> {
        v.iter().map(|x| x / self.samples.max(1) as f64).collect()
    }
}

/// [`super::spin_up`] with its progress turned into increments.
pub(super) fn spin_up_reporting(
    flow: &LesFlow,
    opts: &LesEvalOptions,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(Vec<f64>, f64), SolverError> {
    let last = std::sync::atomic::AtomicU64::new(0);
    let report = |done: u64, _total: u64| {
        let before = last.swap(done, Ordering::Relaxed);
        progress(done.saturating_sub(before));
    };
    super::spin_up(flow, opts.spin_up, opts.seed, &report, cancel)
}

/// Score every closure (the classical ones, the oracle, none, then `learned`) at one ν.
/// `progress` receives DNS steps as they are done.
pub(crate) fn evaluate_nu(
    opts: &LesEvalOptions,
    nu: f64,
    learned: &[Learned],
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(Vec<LesRow>, LesSpectra), LesError> {
    let flow = opts.flow(nu);
    let (w, t0) = spin_up_reporting(&flow, opts, progress, cancel)?;
    let mut dns = FilteredDns::new(flow, &w, t0)?;
    let lg = dns.les_grid().clone();
    let classical = LesClosure::iter().map(|c| Scored::classical(&flow, &lg, dns.bar_hat(), t0, c));
    let learned = learned.iter().enumerate().map(|(j, l)| {
        let stream = draw_key(&[nu.to_bits(), j as u64]);
        Scored::learned(&flow, &lg, dns.bar_hat(), t0, (j, l), stream)
    });
    let mut scored = classical.chain(learned).collect::<Result<Vec<_>, _>>()?;
    let mut truth = Accum::default();
    let steps = (opts.t_run / flow.dt).round() as u64;
    let every = ((opts.sample_every / flow.dt).round() as u64).max(1);
    let first = (opts.transient / flow.dt).round() as u64;
    let mut pi_model = lg.zeros_hat();
    for step in 1..=steps {
        dns.step()?;
        for s in scored.iter_mut() {
            s.step(dns.pi_hat(), &flow);
        }
        progress(1);
        check_cancel(cancel)?;
        if step < first || step % every != 0 {
            continue;
        }
        truth.add(&lg, dns.bar_hat());
        for s in scored.iter_mut() {
            s.sample_posterior(&lg);
        }
        // a-priori on the state Π belongs to
        let bar = lg.to_physical(dns.prev_bar_hat());
        let pi_true = lg.to_physical(dns.pi_hat());
        for s in scored.iter_mut() {
            s.sample_prior(&dns, &flow, &lg, (nu, step), &bar, &pi_true, &mut pi_model)?;
        }
    }
    Ok(tables(opts, nu, &flow, &lg, &truth, &scored))
}

/// The rows and time-mean spectra of one ν's runs: each closure's sums against the
/// filtered DNS's (`truth`), divided out into scores.
fn tables(
    opts: &LesEvalOptions,
    nu: f64,
    flow: &LesFlow,
    lg: &Grid,
    truth: &Accum,
    scored: &[Scored],
) -> (Vec<LesRow>, LesSpectra) {
    let kmax = cutoff_wavenumber(lg.n) as usize;
    let (e_dns, z_dns) = (truth.mean(&truth.e), truth.mean(&truth.z));
    let rms_dns = stats::rms(&truth.omega);
    let n_truth = truth.samples.max(1) as f64;
    let mut rows = Vec::new();
    let mut curves = vec![("filtered DNS".to_string(), e_dns.clone(), z_dns.clone())];
    let mut omegas = vec![("filtered DNS".to_string(), thin_sorted(&truth.omega))];
    for s in scored {
        let (c, model) = s.name();
        let (p, a) = (&s.post, &s.prior);
        let cal = crate::closure::calibration::average(&a.scores);
        let ns = a.samples.max(1) as f64;
        let (e, z) = (p.mean(&p.e), p.mean(&p.z));
        let nan_if_empty = |v: f64| if p.samples == 0 { f64::NAN } else { v };
        rows.push(LesRow {
            seed: opts.seed,
            closure: c.clone(),
            model: model.clone(),
            nu,
            dns_n: flow.dns_n,
            les_n: flow.les_n,
            filter: flow.filter,
            cc: a.cc / ns,
            rel_l2: a.rel_l2 / ns,
            p_z: a.p_z / ns,
            p_z_true: a.p_z_true / ns,
            p_z_run: Some(nan_if_empty(p.p_z / p.samples.max(1) as f64)),
            backscatter: a.backscatter / ns,
            crps: cal.crps,
            spread_skill: s.is_ensemble().then_some(cal.spread_skill),
            spectral_rmse_e: nan_if_empty(stats::spectral_rmse(&e, &e_dns, kmax)),
            spectral_rmse_z: nan_if_empty(stats::spectral_rmse(&z, &z_dns, kmax)),
            w1_omega: stats::wasserstein1(&p.omega, &truth.omega) / rms_dns,
            energy: p.energy / p.samples.max(1) as f64,
            enstrophy: p.enstrophy / p.samples.max(1) as f64,
            energy_dns: truth.energy / n_truth,
            enstrophy_dns: truth.enstrophy / n_truth,
            blowups: s.blown as u32,
            coefficient: s.coefficient(),
            t_run: opts.t_run,
            samples: p.samples,
        });
        if p.samples > 0 {
            let name = model.map_or(c.to_string(), |m| format!("{c} ({m})"));
            curves.push((name.clone(), e, z));
            omegas.push((name, thin_sorted(&p.omega)));
        }
    }
    (
        rows,
        LesSpectra {
            seed: opts.seed,
            nu,
            curves,
            omega: omegas,
        },
    )
}

/// Sorted values, thinned to at most 20 000 quantiles (enough for a PDF figure).
fn thin_sorted(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let stride = s.len().div_ceil(20_000).max(1);
    s.into_iter().step_by(stride).collect()
}

/// All runs of `opts` (every seed at every ν), in parallel over the current rayon pool.
pub fn evaluate(
    opts: &LesEvalOptions,
    learned: &[Learned],
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(Vec<LesRow>, Vec<LesSpectra>), LesError> {
    evaluate_runs(
        opts,
        &opts.runs(),
        learned,
        &|_, _| Ok(()),
        progress,
        cancel,
    )
}

/// The (seed, ν) `runs` of `opts`, in parallel; `done` receives each run's rows and
/// spectra as it finishes (to store them: a long comparison resumes from what is done).
/// Rows come back in the order of `runs`.
pub(crate) fn evaluate_runs(
    opts: &LesEvalOptions,
    runs: &[(u64, f64)],
    learned: &[Learned],
    done: &(dyn Fn(&[LesRow], &LesSpectra) -> Result<(), LesError> + Sync),
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(Vec<LesRow>, Vec<LesSpectra>), LesError> {
    use rayon::prelude::*;
    opts.validate()?;
    let results: Vec<_> = runs
        .par_iter()
        .map(|&(seed, nu)| {
            let opts = LesEvalOptions {
                seed,
                ..opts.clone()
            };
            let learned: Vec<Learned> = learned
                .iter()
                .map(|l| Learned { seed, ..l.clone() })
                .collect();
            let (rows, spectra) = evaluate_nu(&opts, nu, &learned, progress, cancel)?;
            done(&rows, &spectra)?;
            Ok((rows, spectra))
        })
        .collect::<Result<_, LesError>>()?;
    let mut rows = Vec::new();
    let mut spectra = Vec::new();
    for (r, s) in results {
        rows.extend(r);
        spectra.push(s);
    }
    Ok((rows, spectra))
}
