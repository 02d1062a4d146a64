//! Physical and numerical parameters of one run, and their validation.

use serde::{Deserialize, Serialize};

use super::{Convention, ForcingShape, NoiseParams, Scheme, SolverError, Terms};

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
