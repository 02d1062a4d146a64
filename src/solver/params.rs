//! Physical and numerical parameters of one run, and their validation.

use serde::{Deserialize, Serialize};

use super::{Case, Convention, ForcingShape, NoiseParams, Scheme, SolverError};

/// Physical and numerical parameters of one run (defaults: published settings).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Viscosity ν.
    pub nu: f64,
    /// Time step.
    pub dt: f64,
    /// Amplitude A of the deterministic forcing (shape: `shape`).
    pub forcing: f64,
    /// Spatial shape of the deterministic forcing.
    #[serde(default)]
    pub shape: ForcingShape,
    /// Linear drag α (the term `−αω`, treated implicitly with viscosity); 0 in the
    /// published cases.
    #[serde(default)]
    pub drag: f64,
    /// Stochastic forcing (truth runs only; σ = 0 turns it off).
    pub noise: NoiseParams,
    pub scheme: Scheme,
    pub convention: Convention,
    /// Which terms of the equation the run integrates.
    pub terms: Terms,
    /// Threads of one step: with 2 or more, each advection evaluation makes its four
    /// inverse transforms as two pairs on two threads (rayon), on grids of at least
    /// [`PARALLEL_MIN_N`] points per side, where that wins. Results are bit-identical.
    pub threads: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            nu: 1e-3,
            dt: 1e-3,
            forcing: 0.1,
            shape: ForcingShape::Published,
            drag: 0.0,
            noise: NoiseParams::default(),
            scheme: Scheme::Reference,
            convention: Convention::Published,
            terms: Terms::FULL,
            threads: 1,
        }
    }
}

/// Smallest grid on which a step splits its work over two threads (below it the hand-off
/// costs more than it saves on these machines; `closure-lab bench solver` measures both).
pub const PARALLEL_MIN_N: usize = 128;

impl Params {
    /// Whether a step on an `n × n` grid runs on two threads.
    pub fn parallel(&self, n: usize) -> bool {
        self.threads > 1 && n >= PARALLEL_MIN_N
    }

    /// Reject values the solver cannot run with (non-finite, non-positive dt, negative ν…).
    pub fn validate(&self) -> Result<(), SolverError> {
        let bad = |m: &str| Err(SolverError::BadParam(m.to_string()));
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return bad(&format!("dt must be a positive number, got {}", self.dt));
        }
        if !(self.nu.is_finite() && self.nu >= 0.0) {
            return bad(&format!("ν must be ≥ 0, got {}", self.nu));
        }
        if !self.forcing.is_finite() {
            return bad("forcing amplitude must be finite");
        }
        if !(self.drag.is_finite() && self.drag >= 0.0) {
            return bad(&format!("drag α must be ≥ 0, got {}", self.drag));
        }
        if let ForcingShape::Kolmogorov { k_f } = self.shape {
            if k_f == 0 {
                return bad("Kolmogorov forcing wavenumber k_f must be ≥ 1");
            }
        }
        let nz = &self.noise;
        if !(nz.sigma.is_finite()
            && nz.sigma >= 0.0
            && nz.alpha.is_finite()
            && nz.alpha > 0.0
            && nz.kappa > 0.0)
        {
            return bad("noise needs σ ≥ 0, α > 0, κ > 0");
        }
        Ok(())
    }
}

/// The terms of the vorticity equation a [`super::Simulation`] integrates: switches on the
/// equation, as jax-cfd's equation objects carry them. Which run gets which is the flow's
/// knowledge (the published cases: [`Case::model_terms`]; the subgrid flow:
/// `crate::les::LesFlow::les_params`), not the solver's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    /// The advection `u·∇ω` (off: the published H model run, which is linear).
    pub advection: bool,
    /// The stochastic forcing `σξ` (drawn where on and `σ > 0`).
    pub noise: bool,
    /// Crank–Nicolson on all of `νΔ − α`; off: only its implicit half, the explicit half
    /// being the closure's (the published G model run, `G = νΔω + 2σξ`).
    pub full_viscosity: bool,
    /// Weight of the closure term supplied each step in the explicit forcing; 0: none is
    /// read (a truth run).
    pub closure_weight: f64,
}

impl Terms {
    /// The full equation, stochastic forcing included, with no closure: a truth run.
    pub const FULL: Terms = Terms {
        advection: true,
        noise: true,
        full_viscosity: true,
        closure_weight: 0.0,
    };

    /// Whether a run with these terms reads a closure term.
    pub(crate) fn takes_closure(&self) -> bool {
        self.closure_weight != 0.0
    }
}

impl Case {
    /// The terms of the published model run of this case (docs/science.md §2): for G,
    /// advection, forcing and the implicit half of viscosity, the closure entering as
    /// `½dt·Ĝ`; for H, no advection, the full Crank–Nicolson viscosity, the closure as
    /// `dt·Ĥ`.
    pub fn model_terms(self) -> Terms {
        match self {
            Case::G => Terms {
                advection: true,
                noise: false,
                full_viscosity: false,
                closure_weight: 0.5,
            },
            Case::H => Terms {
                advection: false,
                noise: false,
                full_viscosity: true,
                closure_weight: 1.0,
            },
        }
    }
}
