//! Advection `N = u·∇ω` with `u = (∂ψ/∂y, −∂ψ/∂x)`, `−Δψ = ω`, formed in physical space
//! from spectral derivatives and dealiased by the 2/3 rule applied to N̂ (as published).
//! Cost: 4 inverse + 1 forward real 2-D FFT.

use std::f64::consts::PI;

use super::fft::{C64, FftScratch};
use super::grid::Grid;

/// Buffers for one advection evaluation (allocated once).
pub struct AdvectionWork {
    /// one spectral buffer per pair of transforms: each derivative is made and
    /// transformed before the next (a smaller working set than one buffer each)
    hat: [Vec<C64>; 2],
    phys: [Vec<f64>; 4],
    /// FFT scratch of a second thread: when present, the velocity pair (u, v) and the
    /// gradient pair (∂ω/∂x, ∂ω/∂y) are made on two threads at once (`rayon::join`).
    /// Each transform is computed exactly as on one thread, so results are bit-identical.
    second: Option<FftScratch>,
}

impl AdvectionWork {
    /// Buffers for `grid`; `two_threads` splits each evaluation over two threads.
    pub fn new(grid: &Grid, two_threads: bool) -> Self {
        AdvectionWork {
            hat: std::array::from_fn(|_| grid.zeros_hat()),
            phys: std::array::from_fn(|_| grid.zeros()),
            second: two_threads.then(|| grid.scratch(1)),
        }
    }

    /// Largest |u| or |v| of the last evaluation (for CFL checks).
    pub(crate) fn max_velocity(&self) -> f64 {
        self.phys[0]
            .iter()
            .chain(&self.phys[1])
            .fold(0.0f64, |m, v| m.max(v.abs()))
    }
}

/// `n_hat = dealias · FFT(u·∂ω/∂x + v·∂ω/∂y)` for the vorticity `omega_hat`.
/// The physical velocities of this evaluation stay in `work` (see
/// [`AdvectionWork::max_velocity`]).
pub(crate) fn advection_hat(
    grid: &Grid,
    omega_hat: &[C64],
    n_hat: &mut [C64],
    work: &mut AdvectionWork,
    scratch: &mut FftScratch,
) {
    let [h0, h1] = &mut work.hat;
    let [u, v, wx, wy] = &mut work.phys;
    let two_pi = 2.0 * PI;
    let len = omega_hat.len();
    // equal-length slices let the compiler drop the bounds checks
    let (lap, kx, ky) = (&grid.lap[..len], &grid.kx[..len], &grid.ky[..len]);
    let fft = &grid.fft;
    // velocity u = ∂ψ/∂y, v = −∂ψ/∂x with ψ̂ = ω̂ / 4π²|k|²
    let velocity = |h: &mut [C64], u: &mut [f64], v: &mut [f64], s: &mut FftScratch| {
        let h = &mut h[..len];
        for k in 0..len {
            h[k] = C64::new(0.0, two_pi * ky[k]) * (omega_hat[k] / lap[k]);
        }
        fft.inverse_inplace(h, u, s);
        for k in 0..len {
            h[k] = -(C64::new(0.0, two_pi * kx[k]) * (omega_hat[k] / lap[k]));
        }
        fft.inverse_inplace(h, v, s);
    };
    // vorticity gradient
    let gradient = |h: &mut [C64], wx: &mut [f64], wy: &mut [f64], s: &mut FftScratch| {
        let h = &mut h[..len];
        for k in 0..len {
            h[k] = C64::new(0.0, two_pi * kx[k]) * omega_hat[k];
        }
        fft.inverse_inplace(h, wx, s);
        for k in 0..len {
            h[k] = C64::new(0.0, two_pi * ky[k]) * omega_hat[k];
        }
        fft.inverse_inplace(h, wy, s);
    };
    match &mut work.second {
        Some(s2) => {
            rayon::join(|| velocity(h0, u, v, scratch), || gradient(h1, wx, wy, s2));
        }
        None => {
            velocity(h0, u, v, scratch);
            gradient(h1, wx, wy, scratch);
        }
    }
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
