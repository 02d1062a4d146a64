//! Advection `N = u·∇ω` with `u = (∂ψ/∂y, −∂ψ/∂x)`, `−Δψ = ω`, formed in physical space
//! from spectral derivatives and dealiased by the 2/3 rule applied to N̂ (as published).
//! Cost: 4 inverse + 1 forward real 2-D FFT.

use std::f64::consts::PI;

use super::fft::{C64, FftScratch};
use super::grid::Grid;

/// Buffers for one advection evaluation (allocated once).
pub struct AdvectionWork {
    hat: [Vec<C64>; 4],
    phys: [Vec<f64>; 4],
}

impl AdvectionWork {
    pub fn new(grid: &Grid) -> Self {
        AdvectionWork {
            hat: std::array::from_fn(|_| grid.zeros_hat()),
            phys: std::array::from_fn(|_| grid.zeros()),
        }
    }

    /// Largest |u| or |v| of the last evaluation (for CFL checks).
    pub fn max_velocity(&self) -> f64 {
        self.phys[0]
            .iter()
            .chain(&self.phys[1])
            .fold(0.0f64, |m, v| m.max(v.abs()))
    }
}

/// `n_hat = dealias · FFT(u·∂ω/∂x + v·∂ω/∂y)` for the vorticity `omega_hat`.
/// The physical velocities of this evaluation stay in `work` (see
/// [`AdvectionWork::max_velocity`]).
pub fn advection_hat(
    grid: &Grid,
    omega_hat: &[C64],
    n_hat: &mut [C64],
    work: &mut AdvectionWork,
    scratch: &mut FftScratch,
) {
    let [uh, vh, wxh, wyh] = &mut work.hat;
    let two_pi = 2.0 * PI;
    let len = omega_hat.len();
    // equal-length slices let the compiler drop the bounds checks
    let (lap, kx, ky) = (&grid.lap[..len], &grid.kx[..len], &grid.ky[..len]);
    let (uh, vh, wxh, wyh) = (
        &mut uh[..len],
        &mut vh[..len],
        &mut wxh[..len],
        &mut wyh[..len],
    );
    for s in 0..len {
        let w = omega_hat[s];
        let psi = w / lap[s];
        let ikx = C64::new(0.0, two_pi * kx[s]);
        let iky = C64::new(0.0, two_pi * ky[s]);
        uh[s] = iky * psi;
        vh[s] = -(ikx * psi);
        wxh[s] = ikx * w;
        wyh[s] = iky * w;
    }
    let [u, v, wx, wy] = &mut work.phys;
    grid.fft.inverse_inplace(uh, u, scratch);
    grid.fft.inverse_inplace(vh, v, scratch);
    grid.fft.inverse_inplace(wxh, wx, scratch);
    grid.fft.inverse_inplace(wyh, wy, scratch);
    // the product overwrites ∂ω/∂x; u and v stay for CFL checks
    for (((p, u), v), wy) in wx.iter_mut().zip(u.iter()).zip(v.iter()).zip(wy.iter()) {
        *p = u * *p + v * wy;
    }
    grid.fft.forward_inplace(wx, n_hat, scratch);
    for (nh, keep) in n_hat.iter_mut().zip(&grid.dealias) {
        if !keep {
            *nh = C64::default();
        }
    }
}
