//! Pseudo-spectral 2-D stochastic Navier–Stokes on the unit torus (docs/science.md §1–2).
//!
//! `∂ω/∂t + u·∇ω = νΔω + f + σξ`, `u = (∂ψ/∂y, −∂ψ/∂x)`, `−Δψ = ω` on [0,1)².
//!
//! [`Simulation`] advances one run — the truth, or a coarse model run of the G or H closure
//! case that receives its missing term from outside. Grid and FFT plans ([`Grid`]) are
//! shared between runs; each run owns a preallocated workspace, so a step never allocates.
//! This module depends on nothing else in the crate.

pub mod advection;
pub mod fft;
pub mod forcing;
pub mod grf;
pub mod grid;
pub mod noise;
mod params;
pub mod stepper;
pub mod viscosity;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use fft::C64;
pub use forcing::ForcingShape;
pub use grf::GrfParams;
pub use grid::Grid;
pub use noise::NoiseParams;
pub use params::{PARALLEL_MIN_N, Params, Terms};
pub use stepper::Scheme;
pub use viscosity::Convention;

use advection::{AdvectionWork, advection_hat};
use fft::FftScratch;
use noise::QWiener;
use stepper::{EtdCoeffs, ReferenceCoeffs};

/// Errors of the solver library.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    #[error("grid size {0} is not supported (need an even N ≥ 8)")]
    BadGrid(usize),
    #[error("field has {got} values, the {n}×{n} grid needs {}", n * n)]
    BadFieldLength { got: usize, n: usize },
    #[error("bad parameter: {0}")]
    BadParam(String),
    /// A long run was stopped by its caller (Ctrl-C, a new experiment).
    #[error("interrupted")]
    Interrupted,
    #[error(
        "the solution blew up at t = {t:.4} (step {step}): non-finite vorticity; CFL number was {cfl:.2} — reduce dt or raise ν"
    )]
    BlowUp { t: f64, step: u64, cfl: f64 },
    #[error(
        "the closure term given at t = {t:.4} (step {step}) was not finite; the step was not taken"
    )]
    ClosureNotFinite { t: f64, step: u64 },
}

/// The two published closure cases (docs/science.md §2).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(ascii_case_insensitive)]
pub enum Case {
    /// Stochastic viscous diffusion, `G = νΔω + 2σξ`.
    G,
    /// Stochastic convection, `H = −(u·∇ω)_dealiased + σξ`.
    H,
}

enum Coeffs {
    Reference(ReferenceCoeffs),
    Etd(EtdCoeffs),
}

/// Preallocated buffers of one run.
struct Workspace {
    scratch: FftScratch,
    adv: AdvectionWork,
    /// dealiased N̂ of the last advection evaluation
    n_hat: Vec<C64>,
    /// frozen explicit forcing of the current step
    frozen: Vec<C64>,
    /// this step's σξ̂ (sparse, and dense when closures are recorded)
    noise_sparse: Vec<(usize, C64)>,
    noise: Vec<C64>,
    /// a closure supplied as a physical field, transformed
    closure: Vec<C64>,
    /// ETDRK4 stage buffers: a, b, c, Nv, Na, Nb, Nc
    stages: Vec<Vec<C64>>,
}

/// The true closure terms of the last step (recorded when enabled on a truth run).
struct ClosureRecord {
    g_hat: Vec<C64>,
    h_hat: Vec<C64>,
}

/// One run: state (spectral vorticity, time), parameters and workspace.
pub struct Simulation {
    grid: Arc<Grid>,
    params: Params,
    omega_hat: Vec<C64>,
    t: f64,
    steps: u64,
    f_hat: Vec<C64>,
    /// viscous symbol ν·lapv
    visc: Vec<f64>,
    coeffs: Coeffs,
    noise: Option<QWiener>,
    ws: Workspace,
    record: Option<ClosureRecord>,
    last_cfl: f64,
    /// `ws.n_hat` already holds the advection of the current state ([`Simulation::prepare_step`]).
    prepared: bool,
}

/// Measure the CFL number every this many steps (finiteness is checked every step).
const CHECK_EVERY: u64 = 16;

/// What one step does, decided before the update.
#[derive(Clone, Copy)]
struct StepTerms {
    advect: bool,
    /// The frozen forcing was assembled densely (closure or ETDRK4).
    dense: bool,
    has_noise: bool,
}

impl Simulation {
    /// A run starting from the physical vorticity `omega0` at time `t0`. `seed` seeds the
    /// stochastic forcing (truth runs with σ > 0).
    pub fn new(
        grid: Arc<Grid>,
        params: Params,
        omega0: &[f64],
        t0: f64,
        seed: u64,
    ) -> Result<Self, SolverError> {
        if omega0.len() != grid.phys_len() {
            return Err(SolverError::BadFieldLength {
                got: omega0.len(),
                n: grid.n,
            });
        }
        if let Some(i) = omega0.iter().position(|v| !v.is_finite()) {
            return Err(SolverError::BadParam(format!(
                "initial vorticity is not finite at index {i}"
            )));
        }
        let omega_hat = grid.to_spectral(omega0);
        Self::from_hat(grid, params, omega_hat, t0, seed)
    }

    /// A run starting from spectral vorticity.
    pub fn from_hat(
        grid: Arc<Grid>,
        params: Params,
        omega_hat: Vec<C64>,
        t0: f64,
        seed: u64,
    ) -> Result<Self, SolverError> {
        params.validate()?;
        if let ForcingShape::Kolmogorov { k_f } = params.shape {
            if 3 * k_f as usize > grid.n {
                return Err(SolverError::BadParam(format!(
                    "Kolmogorov forcing k_f = {k_f} is not resolved by a {0}×{0} grid",
                    grid.n
                )));
            }
        }
        if omega_hat.len() != grid.spec_len() {
            return Err(SolverError::BadFieldLength {
                got: omega_hat.len(),
                n: grid.n,
            });
        }
        let lapv = viscosity::laplacian_symbol(&grid, params.convention);
        let visc = viscosity::viscous_symbol(&grid, params.nu, params.convention);
        let full_cn = params.terms.full_viscosity;
        let coeffs = match params.scheme {
            Scheme::Reference => Coeffs::Reference(ReferenceCoeffs::new(
                &lapv,
                params.nu,
                params.drag,
                params.dt,
                full_cn,
            )),
            Scheme::Etdrk4 => {
                let w = if full_cn { 1.0 } else { 0.5 };
                let linear: Vec<f64> = visc.iter().map(|v| -w * v - params.drag).collect();
                Coeffs::Etd(EtdCoeffs::new(&linear, params.dt))
            }
        };
        let noise = (params.terms.noise && params.noise.sigma > 0.0)
            .then(|| QWiener::new(&grid, params.noise, params.convention, seed));
        let stages = match params.scheme {
            Scheme::Reference => Vec::new(),
            Scheme::Etdrk4 => (0..7).map(|_| grid.zeros_hat()).collect(),
        };
        let ws = Workspace {
            scratch: grid.scratch(1),
            adv: AdvectionWork::new(&grid, params.parallel(grid.n)),
            n_hat: grid.zeros_hat(),
            frozen: grid.zeros_hat(),
            noise_sparse: Vec::new(),
            noise: grid.zeros_hat(),
            closure: grid.zeros_hat(),
            stages,
        };
        let f_hat = forcing::forcing_hat(&grid, params.forcing, params.shape);
        Ok(Simulation {
            grid,
            params,
            omega_hat,
            t: t0,
            steps: 0,
            f_hat,
            visc,
            coeffs,
            noise,
            ws,
            record: None,
            last_cfl: 0.0,
            prepared: false,
        })
    }

    pub fn grid(&self) -> &Arc<Grid> {
        &self.grid
    }
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// Simulation time.
    pub fn t(&self) -> f64 {
        self.t
    }
    /// Steps taken since construction.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// Spectral vorticity (layout: [`fft`]).
    pub fn omega_hat(&self) -> &[C64] {
        &self.omega_hat
    }
    /// Physical vorticity into `out` (N²).
    pub(crate) fn omega_into(&mut self, out: &mut [f64]) {
        self.grid
            .fft
            .inverse(&self.omega_hat, out, &mut self.ws.scratch);
    }
    /// Physical vorticity (allocating).
    pub fn omega(&mut self) -> Vec<f64> {
        let mut out = self.grid.zeros();
        self.omega_into(&mut out);
        out
    }
    /// Record the true closure terms G and H of every step (truth runs), so that
    /// [`Self::true_closure_hat`] can return them.
    pub fn record_closures(&mut self, on: bool) {
        self.record = on.then(|| ClosureRecord {
            g_hat: self.grid.zeros_hat(),
            h_hat: self.grid.zeros_hat(),
        });
    }

    /// The true closure of the last step: `Ĝ = −ν·4π²|k|²·ω̂ⁿ + 2σξ̂ⁿ` or
    /// `Ĥ = −N̂ⁿ + σξ̂ⁿ`, with the step's own noise draw. `None` unless recording is on.
    pub fn true_closure_hat(&self, case: Case) -> Option<&[C64]> {
        self.record.as_ref().map(|r| match case {
            Case::G => r.g_hat.as_slice(),
            Case::H => r.h_hat.as_slice(),
        })
    }

    /// The true closure of the last step as a physical field; false if not recorded.
    pub fn true_closure_into(&mut self, case: Case, out: &mut [f64]) -> bool {
        let Some(r) = &self.record else { return false };
        let hat = match case {
            Case::G => &r.g_hat,
            Case::H => &r.h_hat,
        };
        self.grid.fft.inverse(hat, out, &mut self.ws.scratch);
        true
    }

    /// `N̂`, the dealiased advection of the state the last step started from, when that
    /// step was a reference-scheme step with advection (its only evaluation); `None`
    /// before the first step or otherwise.
    pub(crate) fn last_advection_hat(&self) -> Option<&[C64]> {
        let advects = self.params.terms.advection;
        let reference = matches!(self.coeffs, Coeffs::Reference(_));
        (self.steps > 0 && advects && reference).then_some(self.ws.n_hat.as_slice())
    }

    /// Make the next step's advection evaluation now. In the reference scheme that
    /// evaluation reads only the current state, so a model run whose closure is still
    /// being computed (the oracle waits for the truth's step) can do its costly part
    /// beside it; the next step then uses it, bit-identical to making it there. Does
    /// nothing for ETDRK4 steps or runs without advection.
    pub fn prepare_step(&mut self) {
        let advects = self.params.terms.advection;
        if self.prepared || !advects || !matches!(self.coeffs, Coeffs::Reference(_)) {
            return;
        }
        let ws = &mut self.ws;
        advection_hat(
            &self.grid,
            &self.omega_hat,
            &mut ws.n_hat,
            &mut ws.adv,
            &mut ws.scratch,
        );
        self.prepared = true;
    }

    /// Advance one step with no closure.
    pub fn step(&mut self) -> Result<(), SolverError> {
        self.step_with_closure_hat(None)
    }

    /// Advance one step of a model run with the closure given as a physical field.
    pub fn step_with_closure(&mut self, closure: &[f64]) -> Result<(), SolverError> {
        if closure.len() != self.grid.phys_len() {
            return Err(SolverError::BadFieldLength {
                got: closure.len(),
                n: self.grid.n,
            });
        }
        let mut c = std::mem::take(&mut self.ws.closure);
        self.grid.fft.forward(closure, &mut c, &mut self.ws.scratch);
        let r = self.step_with_closure_hat(Some(&c));
        self.ws.closure = c;
        r
    }

    /// Advance one step; `closure_hat` (spectral) is the closure term of a model run
    /// (ignored for the truth). Stops with [`SolverError::BlowUp`] at the first step whose
    /// vorticity is not finite, and with [`SolverError::ClosureNotFinite`] before a step
    /// whose closure input is not (the state is then left as it was).
    pub fn step_with_closure_hat(
        &mut self,
        closure_hat: Option<&[C64]>,
    ) -> Result<(), SolverError> {
        let closure = match (closure_hat, self.params.terms.takes_closure()) {
            (_, false) | (None, _) => None,
            (Some(c), _) if c.len() != self.omega_hat.len() => {
                return Err(SolverError::BadFieldLength {
                    got: c.len(),
                    n: self.grid.n,
                });
            }
            (Some(c), _) if c.iter().any(|z| !(z.re.is_finite() && z.im.is_finite())) => {
                return Err(SolverError::ClosureNotFinite {
                    t: self.t,
                    step: self.steps + 1,
                });
            }
            (Some(c), _) => Some(c),
        };
        let terms = self.assemble_forcing(closure);
        match &self.coeffs {
            Coeffs::Reference(_) => self.reference_update(terms),
            Coeffs::Etd(_) => self.etdrk4_update(terms),
        }
        self.prepared = false;
        self.steps += 1;
        self.t += self.params.dt;
        self.check_blowup(terms.advect)
    }

    /// Draw this step's noise and assemble the frozen explicit forcing
    /// `f̂ + σξ̂ + weight·closure` (densely only where the update needs it: the reference
    /// step without a closure reads f̂ and adds the sparse noise afterwards).
    fn assemble_forcing(&mut self, closure: Option<&[C64]>) -> StepTerms {
        let ws = &mut self.ws;
        let has_noise = match &mut self.noise {
            Some(q) => {
                q.draw_sparse(&self.grid, self.params.dt, &mut ws.noise_sparse);
                true
            }
            None => false,
        };
        let (advect, weight) = (
            self.params.terms.advection,
            self.params.terms.closure_weight,
        );
        let dense = closure.is_some() || matches!(self.coeffs, Coeffs::Etd(_));
        if dense {
            ws.frozen.copy_from_slice(&self.f_hat);
            if has_noise {
                for &(k, v) in &ws.noise_sparse {
                    ws.frozen[k] += v;
                }
            }
            if let Some(c) = closure {
                for (f, c) in ws.frozen.iter_mut().zip(c) {
                    *f += c * weight;
                }
            }
        }
        if has_noise && self.record.is_some() {
            ws.noise.fill(C64::default());
            for &(k, v) in &ws.noise_sparse {
                ws.noise[k] += v;
            }
        }
        StepTerms {
            advect,
            dense,
            has_noise,
        }
    }

    /// The published semi-implicit update (forward Euler on the explicit terms,
    /// Crank–Nicolson on viscosity; precomputed numerator/denominator factors).
    fn reference_update(&mut self, terms: StepTerms) {
        let Coeffs::Reference(rc) = &self.coeffs else {
            return;
        };
        let (grid, dt, ws) = (&*self.grid, self.params.dt, &mut self.ws);
        if terms.advect && !self.prepared {
            advection_hat(
                grid,
                &self.omega_hat,
                &mut ws.n_hat,
                &mut ws.adv,
                &mut ws.scratch,
            );
        }
        if let Some(rec) = &mut self.record {
            record_closures(
                rec,
                &self.omega_hat,
                &self.visc,
                terms.advect.then_some(&ws.n_hat[..]),
                terms.has_noise.then_some(&ws.noise[..]),
            );
        }
        let w = &mut self.omega_hat;
        let f: &[C64] = if terms.dense { &ws.frozen } else { &self.f_hat };
        let len = w.len();
        let (f, nh, num, den) = (&f[..len], &ws.n_hat[..len], &rc.num[..len], &rc.den[..len]);
        if terms.advect {
            for k in 0..len {
                w[k] = ((-dt) * nh[k] + dt * f[k] + num[k] * w[k]) / den[k];
            }
        } else {
            for k in 0..len {
                w[k] = (dt * f[k] + num[k] * w[k]) / den[k];
            }
        }
        if terms.has_noise && !terms.dense {
            for &(k, v) in &ws.noise_sparse {
                w[k] += dt * v / den[k];
            }
        }
    }

    /// One ETDRK4 step (Cox–Matthews stages with Kassam–Trefethen coefficients) over the
    /// frozen forcing and, when on, advection.
    fn etdrk4_update(&mut self, terms: StepTerms) {
        let Coeffs::Etd(ec) = &self.coeffs else {
            return;
        };
        let (grid, ws) = (&*self.grid, &mut self.ws);
        let [a, b, c, nv, na, nb, nc] = &mut ws.stages[..] else {
            unreachable!("ETDRK4 workspace has seven stage buffers")
        };
        let frozen = &ws.frozen;
        let explicit = |v: &[C64],
                        out: &mut [C64],
                        n_hat: &mut [C64],
                        adv: &mut AdvectionWork,
                        s: &mut FftScratch| {
            if terms.advect {
                advection_hat(grid, v, n_hat, adv, s);
                for k in 0..out.len() {
                    out[k] = frozen[k] - n_hat[k];
                }
            } else {
                out.copy_from_slice(frozen);
            }
        };
        let v = &mut self.omega_hat;
        explicit(v, nv, &mut ws.n_hat, &mut ws.adv, &mut ws.scratch);
        if let Some(rec) = &mut self.record {
            record_closures(
                rec,
                v,
                &self.visc,
                terms.advect.then_some(&ws.n_hat[..]),
                terms.has_noise.then_some(&ws.noise[..]),
            );
        }
        for k in 0..v.len() {
            a[k] = ec.e2[k] * v[k] + ec.q[k] * nv[k];
        }
        explicit(a, na, &mut ws.n_hat, &mut ws.adv, &mut ws.scratch);
        for k in 0..v.len() {
            b[k] = ec.e2[k] * v[k] + ec.q[k] * na[k];
        }
        explicit(b, nb, &mut ws.n_hat, &mut ws.adv, &mut ws.scratch);
        for k in 0..v.len() {
            c[k] = ec.e2[k] * a[k] + ec.q[k] * (2.0 * nb[k] - nv[k]);
        }
        explicit(c, nc, &mut ws.n_hat, &mut ws.adv, &mut ws.scratch);
        for k in 0..v.len() {
            v[k] = ec.e[k] * v[k]
                + ec.f1[k] * nv[k]
                + 2.0 * ec.f2[k] * (na[k] + nb[k])
                + ec.f3[k] * nc[k];
        }
    }

    /// Every step: stop at the first non-finite vorticity. Every [`CHECK_EVERY`] steps
    /// the CFL number is measured too (it is what the blow-up message reports).
    fn check_blowup(&mut self, advect: bool) -> Result<(), SolverError> {
        if self.steps % CHECK_EVERY == 0 {
            let (dt, n) = (self.params.dt, self.grid.n as f64);
            self.last_cfl = if advect {
                self.ws.adv.max_velocity() * dt * n
            } else {
                0.0
            };
        }
        if self
            .omega_hat
            .iter()
            .all(|c| c.re.is_finite() && c.im.is_finite())
        {
            return Ok(());
        }
        Err(SolverError::BlowUp {
            t: self.t,
            step: self.steps,
            cfl: self.last_cfl,
        })
    }

    /// Advance `steps` steps with no closure.
    pub fn advance(&mut self, steps: u64) -> Result<(), SolverError> {
        for _ in 0..steps {
            self.step()?;
        }
        Ok(())
    }
}

fn record_closures(
    rec: &mut ClosureRecord,
    omega_hat: &[C64],
    visc: &[f64],
    n_hat: Option<&[C64]>,
    noise: Option<&[C64]>,
) {
    for k in 0..omega_hat.len() {
        let s = noise.map_or(C64::default(), |n| n[k]);
        rec.g_hat[k] = -visc[k] * omega_hat[k] + 2.0 * s;
        rec.h_hat[k] = -n_hat.map_or(C64::default(), |n| n[k]) + s;
    }
}
