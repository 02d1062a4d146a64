//! The deterministic part of each closure, computed from ω alone (docs/science.md §2):
//! `νΔω` for G (with the run's viscous symbol, so the published mean-mode convention
//! carries over) and `−(u·∇ω)_dealiased` for H. A closure model can learn the full term
//! or only the residual around this part ([`super::model::Target`]).

use crate::solver::advection::{AdvectionWork, advection_hat};
use crate::solver::viscosity::{Convention, viscous_symbol};
use crate::solver::{Case, Grid};

/// The deterministic part of `case`'s closure for vorticity `omega` (physical, N²).
pub fn deterministic_part(case: Case, grid: &Grid, omega: &[f64], nu: f64) -> Vec<f64> {
    let omega_hat = grid.to_spectral(omega);
    let mut out_hat = grid.zeros_hat();
    match case {
        Case::G => {
            let visc = viscous_symbol(grid, nu, Convention::Published);
            for ((o, w), v) in out_hat.iter_mut().zip(&omega_hat).zip(&visc) {
                *o = -*v * w;
            }
        }
        Case::H => {
            let mut work = AdvectionWork::new(grid, false);
            let mut scratch = grid.scratch(1);
            advection_hat(grid, &omega_hat, &mut out_hat, &mut work, &mut scratch);
            for o in out_hat.iter_mut() {
                *o = -*o;
            }
        }
    }
    grid.to_physical(&out_hat)
}
