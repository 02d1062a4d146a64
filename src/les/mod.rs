//! The subgrid-scale (LES) case: Kolmogorov flow, a fine DNS filtered to a coarse grid,
//! the true subgrid term Π and classical closures (docs/science.md §8).
//!
//! Equation on the unit torus: `∂ω/∂t + u·∇ω = νΔω − αω + A·cos(2π k_f y)`; the coarse
//! (LES) run solves the same equation on the LES grid (32²–128²) minus a subgrid term Π. This module builds
//! on [`crate::solver`] and [`crate::metrics`], and on [`crate::closure`] for what a
//! learned closure shares with the published cases: the ensemble scores
//! (`closure::calibration`), the data-file errors and read limits (`closure::dataset`),
//! the draw keys of seeded sampling (`closure::sampler`), and in [`learn`] the networks,
//! samplers, the model card (`closure::card::Card`) and the training loop
//! (`closure::fit`). Nothing here depends on the experiment, the app or the CLI.

pub mod closure;
pub mod compare;
pub mod data;
pub mod eddy;
pub mod eval;
pub mod filter;
pub mod forecast;
pub mod learn;
pub mod name;
pub mod resolution;
mod scored;
pub mod stats;
pub mod store;
pub mod subgrid;

use std::f64::consts::TAU;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::solver::{
    C64, Convention, ForcingShape, GrfParams, Grid, NoiseParams, Params, Scheme, Simulation,
    SolverError, Terms,
};

pub use closure::{LesClosure, LesRun};

/// What goes wrong in the subgrid case's evaluations and forecasts, by kind: the solver's
/// own errors (blow-ups, bad grids, an interrupt), a setting the evaluation cannot run
/// with, a learned closure that cannot draw, or rows that cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum LesError {
    #[error(transparent)]
    Solver(#[from] SolverError),
    #[error("{0}")]
    Setting(String),
    /// A learned closure (named by its file stem) failed.
    #[error("{model}: {source}")]
    Model {
        model: String,
        #[source]
        source: crate::closure::model::ClosureError,
    },
    /// A finished run's rows could not be kept.
    #[error("{0}")]
    Store(String),
}
pub use eddy::{EddyModel, EddyViscosity};
pub use filter::{Filter, Restriction};
pub use subgrid::SubgridTerm;

/// One Kolmogorov flow and its LES set-up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LesFlow {
    /// Viscosity ν.
    pub nu: f64,
    /// Linear drag α.
    pub drag: f64,
    /// Forcing amplitude A of `A·cos(2π k_f y)`.
    pub amplitude: f64,
    /// Forcing wavenumber k_f.
    pub k_f: u32,
    /// DNS grid (points per side).
    pub dns_n: usize,
    /// LES grid (points per side).
    pub les_n: usize,
    /// Time step of both runs.
    pub dt: f64,
    pub filter: Filter,
    /// Time stepper of both runs. ETDRK4 by default: the published first-order step
    /// (forward Euler on advection) is unstable at this flow's velocities unless dt is
    /// tiny; it remains the scheme under which a coarse run fed the true Π reproduces the
    /// filtered DNS to round-off (Π enters once per step, as N does).
    pub scheme: Scheme,
    /// Threads of one DNS step (see `Params::threads`).
    pub threads: usize,
}

/// Viscosities offered for the LES case (a factor 2 apart end to end). At the smallest,
/// about half the enstrophy dissipation happens beyond the 64² cutoff.
pub const NU_CHOICES: [f64; 3] = [2e-4, 3e-4, 4e-4];

/// The coarse run's terms (docs/science.md §8): the deterministic equation with advection
/// and the full viscosity, minus a subgrid term Π supplied each step
/// (`∂ω̄/∂t + N(ω̄) = νΔω̄ − αω̄ + f − Π`; none = no closure).
pub const LES_TERMS: Terms = Terms {
    advection: true,
    noise: false,
    full_viscosity: true,
    closure_weight: -1.0,
};

impl Default for LesFlow {
    fn default() -> Self {
        LesFlow {
            nu: NU_CHOICES[0],
            // the common 2π-box set-up (drag 0.1, forcing −4cos 4y) rescaled to the unit
            // torus at equal velocity: α·2π and A·(2π)²
            drag: 0.1 * TAU,
            amplitude: 4.0 * TAU * TAU,
            k_f: 4,
            dns_n: 256,
            les_n: 64,
            dt: 2.5e-4,
            filter: Filter::Cutoff,
            scheme: Scheme::Etdrk4,
            threads: 1,
        }
    }
}

impl LesFlow {
    /// The flow's parameters with the given terms, on `threads` threads.
    fn params(&self, terms: Terms, threads: usize) -> Params {
        Params {
            nu: self.nu,
            dt: self.dt,
            forcing: self.amplitude,
            shape: ForcingShape::Kolmogorov { k_f: self.k_f },
            drag: self.drag,
            noise: NoiseParams {
                sigma: 0.0,
                ..Default::default()
            },
            scheme: self.scheme,
            convention: Convention::ZeroMean,
            threads,
            terms,
        }
    }

    /// Parameters of the DNS (the deterministic equation — the flow's σ is 0 —, zero-mean
    /// vorticity).
    pub fn dns_params(&self) -> Params {
        self.params(Terms::FULL, self.threads)
    }

    /// Parameters of the coarse run.
    pub fn les_params(&self) -> Params {
        self.params(LES_TERMS, 1)
    }

    /// The laminar steady state `ω = A cos(2π k_f y) / (ν(2πk_f)² + α)`.
    pub fn laminar(&self, grid: &Grid) -> Vec<f64> {
        let k = TAU * self.k_f as f64;
        let amp = self.amplitude / (self.nu * k * k + self.drag);
        (0..grid.phys_len())
            .map(|i| amp * (k * grid.coords(i).1).cos())
            .collect()
    }

    /// A DNS start: the laminar state plus a random perturbation (seeded), which the
    /// shear instability turns into turbulence within a few time units.
    pub fn perturbed_laminar(&self, grid: &Grid, seed: u64) -> Vec<f64> {
        let mut w = self.laminar(grid);
        let hat = crate::solver::grf::grf_hat(grid, GrfParams::default(), seed);
        let noise = grid.to_physical(&hat);
        let rms = (noise.iter().map(|v| v * v).sum::<f64>() / noise.len() as f64).sqrt();
        let scale = 0.1 * crate::metrics::max_abs(&w) / rms.max(1e-300);
        for (w, n) in w.iter_mut().zip(&noise) {
            *w += scale * n;
        }
        w
    }

    /// Check sizes and parameters.
    pub fn validate(&self) -> Result<(), SolverError> {
        self.dns_params().validate()?;
        let (lo, hi) = NU_RANGE;
        if !(lo..=hi).contains(&self.nu) {
            return Err(SolverError::BadParam(format!(
                "ν of the subgrid flow must be in {lo:e}…{hi}, got {:e}",
                self.nu
            )));
        }
        if self.les_n < 16 {
            return Err(SolverError::BadParam(format!(
                "the LES grid ({}²) must be at least 16²",
                self.les_n
            )));
        }
        check_grids(self.dns_n, self.les_n).map_err(SolverError::BadParam)
    }
}

/// Viscosities the subgrid flow accepts: below, the 256²–1024² DNS the case can afford
/// no longer resolves the flow; above, the forced flow stays laminar (nothing to close).
pub const NU_RANGE: (f64, f64) = (1e-5, 0.1);

/// The one rule between the grids of a filtered DNS: the DNS at least twice as fine as
/// the LES, so the sharp filter at the LES grid's dealiasing limit cuts inside the DNS's
/// own resolved (dealiased) range and Π has scales on both sides of the cut.
pub(crate) fn grids_compatible(dns_n: usize, les_n: usize) -> bool {
    dns_n >= 2 * les_n
}

/// [`grids_compatible`] as a check with the message every caller gives.
pub(crate) fn check_grids(dns_n: usize, les_n: usize) -> Result<(), String> {
    if grids_compatible(dns_n, les_n) {
        Ok(())
    } else {
        Err(format!(
            "the DNS grid ({dns_n}²) must be at least twice the LES grid ({les_n}²)"
        ))
    }
}

/// A DNS and the machinery to filter it: ω̄ of its state and the true Π.
pub struct FilteredDns {
    pub flow: LesFlow,
    pub dns: Simulation,
    subgrid: SubgridTerm,
    /// ω̄ of the current state
    bar: Vec<C64>,
    /// ω̄ of the state the last step started from
    prev_bar: Vec<C64>,
    /// Π of the state the last step started from
    pi: Vec<C64>,
    scratch: crate::solver::fft::FftScratch,
}

impl FilteredDns {
    /// A DNS from the physical vorticity `omega0` on the DNS grid at time `t0`.
    pub fn new(flow: LesFlow, omega0: &[f64], t0: f64) -> Result<Self, SolverError> {
        flow.validate()?;
        let dns_grid = Arc::new(Grid::new(flow.dns_n)?);
        let les_grid = Arc::new(Grid::new(flow.les_n)?);
        let dns = Simulation::new(dns_grid.clone(), flow.dns_params(), omega0, t0, 0)?;
        let subgrid = SubgridTerm::new(dns_grid, les_grid.clone(), flow.filter)?;
        let mut bar = les_grid.zeros_hat();
        let mut pi = les_grid.zeros_hat();
        let mut subgrid = subgrid;
        subgrid.compute(dns.omega_hat(), &mut bar, &mut pi);
        Ok(FilteredDns {
            flow,
            dns,
            subgrid,
            scratch: les_grid.scratch(1),
            prev_bar: bar.clone(),
            bar,
            pi,
        })
    }

    pub fn les_grid(&self) -> &Arc<Grid> {
        self.subgrid.les_grid()
    }

    /// One DNS step. Afterwards [`Self::pi_hat`] is Π of the state the step started from
    /// — what a coarse run stepping alongside subtracts to follow the filtered DNS —
    /// [`Self::prev_bar_hat`] that state's ω̄ and [`Self::bar_hat`] the new ω̄. The
    /// advection the reference step evaluated is reused, so Π costs one coarse advection.
    pub fn step(&mut self) -> Result<(), SolverError> {
        std::mem::swap(&mut self.prev_bar, &mut self.bar);
        let reference = self.flow.scheme == Scheme::Reference;
        if !reference {
            self.subgrid
                .compute(self.dns.omega_hat(), &mut self.prev_bar, &mut self.pi);
        }
        self.dns.step()?;
        if let (true, Some(n)) = (reference, self.dns.last_advection_hat()) {
            self.subgrid.pi_given_bar(&self.prev_bar, n, &mut self.pi);
        }
        self.subgrid
            .restriction()
            .apply(self.dns.omega_hat(), &mut self.bar);
        Ok(())
    }

    /// Filtered vorticity ω̄ = Tω of the current state (coarse spectral).
    pub fn bar_hat(&self) -> &[C64] {
        &self.bar
    }

    /// ω̄ of the state the last step started from.
    pub(crate) fn prev_bar_hat(&self) -> &[C64] {
        &self.prev_bar
    }

    /// [`Self::pi_hat`] as a physical field on the LES grid.
    pub(crate) fn pi_into(&mut self, out: &mut [f64]) {
        let g = self.subgrid.les_grid();
        g.fft.inverse(&self.pi, out, &mut self.scratch);
    }

    /// The true subgrid term Π of the state the last step started from (after
    /// construction: of the initial state).
    pub fn pi_hat(&self) -> &[C64] {
        &self.pi
    }
}

/// A DNS state spun up for `flow` from a perturbed laminar state (seeded): ¾ of
/// `spin_up` on a half-size grid, then zero-padded onto the DNS grid and run for the last
/// quarter so its small scales fill in. `progress(done, total)` is called with DNS-grid
/// steps; setting `cancel` stops with an error. Returns (ω on the DNS grid, t).
pub fn spin_up(
    flow: &LesFlow,
    spin_up: f64,
    seed: u64,
    progress: &dyn Fn(u64, u64),
    cancel: &AtomicBool,
) -> Result<(Vec<f64>, f64), SolverError> {
    flow.validate()?;
    let fine = Arc::new(Grid::new(flow.dns_n)?);
    let half = Arc::new(Grid::new(flow.dns_n / 2)?);
    let w0 = flow.perturbed_laminar(&half, seed);
    let mut coarse = Simulation::new(half.clone(), flow.dns_params(), &w0, 0.0, 0)?;
    let first = (0.75 * spin_up / flow.dt).round() as u64;
    let second = (0.25 * spin_up / flow.dt).round() as u64;
    // a half-size step costs about a quarter of a full one
    let total = spin_up_total(flow, spin_up);
    for k in 0..first {
        coarse.step()?;
        check_cancel(cancel)?;
        if k % 400 == 0 {
            progress(k / 4, total);
        }
    }
    let hat = filter::embed(&half, coarse.omega_hat(), &fine);
    let mut dns = Simulation::from_hat(fine, flow.dns_params(), hat, coarse.t(), 0)?;
    for k in 0..second {
        dns.step()?;
        check_cancel(cancel)?;
        if k % 100 == 0 {
            progress(first / 4 + k, total);
        }
    }
    progress(total, total);
    let t = dns.t();
    Ok((dns.omega(), t))
}

pub(crate) fn check_cancel(cancel: &AtomicBool) -> Result<(), SolverError> {
    if cancel.load(Ordering::Relaxed) {
        Err(SolverError::Interrupted)
    } else {
        Ok(())
    }
}

/// Work units [`spin_up`] reports for `spin_up` time units (DNS-grid steps; a half-size
/// step counts a quarter).
pub(crate) fn spin_up_total(flow: &LesFlow, spin_up: f64) -> u64 {
    let steps = |t: f64| (t / flow.dt).round() as u64;
    steps(0.75 * spin_up) / 4 + steps(0.25 * spin_up)
}
