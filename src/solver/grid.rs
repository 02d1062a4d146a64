//! The N×N grid on the unit torus [0,1)² and its wavenumbers.
//!
//! Points `x_i = i/N`. Wavenumbers are integers k; physical wavenumbers are 2πk. Index
//! convention of the published solver: along either axis index `m` carries `k = m` for
//! `m < N/2` and `k = m − N` otherwise, so the Nyquist index N/2 carries k = −N/2 (this
//! matters only for derivatives of the Nyquist mode, which the published code keeps).

use std::f64::consts::PI;

use super::fft::{C64, Fft2, FftScratch};

/// Wavenumber carried by FFT index `m` on an `n`-point axis (published convention).
pub(crate) fn wavenumber(m: usize, n: usize) -> i64 {
    if m < n / 2 {
        m as i64
    } else {
        m as i64 - n as i64
    }
}

/// Grid, wavenumber tables and FFT plans. Immutable once built; share with `Arc`.
pub struct Grid {
    /// Points per side.
    pub n: usize,
    /// `N/2 + 1`, the number of stored ky columns.
    pub nh: usize,
    /// Integer kx of each spectral index (`a_hat[jy * N + ix]`).
    pub kx: Vec<f64>,
    /// Integer ky of each spectral index.
    pub ky: Vec<f64>,
    /// `|k|² = kx² + ky²` (integers, 0 at the mean mode).
    pub k2: Vec<f64>,
    /// The published Laplacian symbol `4π²|k|²` with the mean entry set to 1 (so ψ̂ = ω̂/lap
    /// never divides by zero). Used for the Poisson solve; see `Convention` for viscosity.
    pub lap: Vec<f64>,
    /// 2/3-rule mask: true where `|kx| ≤ (2/3)(N/2)` and `|ky| ≤ (2/3)(N/2)`.
    pub dealias: Vec<bool>,
    /// FFT plans for this size.
    pub fft: Fft2,
}

/// The largest wavenumber the 2/3 rule keeps on an `n × n` grid: 2/3 of the Nyquist n/2.
pub(crate) fn dealias_limit(n: usize) -> f64 {
    (2.0 / 3.0) * (n / 2) as f64
}

impl Grid {
    /// The integer wavenumber shell round(|k|) of half-spectrum coefficient `s`.
    pub fn shell(&self, s: usize) -> usize {
        self.k2[s].sqrt().round() as usize
    }

    /// Number of integer shells the half spectrum reaches: 0 … ⌈N/√2⌉.
    pub fn shells(&self) -> usize {
        (self.n as f64 / std::f64::consts::SQRT_2).ceil() as usize + 1
    }

    /// Weight of half-spectrum coefficient `s` in a sum over the full spectrum: 1 for the
    /// ky = 0 and ky = N/2 columns, 2 for the others (their conjugate partners are not
    /// stored).
    pub(crate) fn half_weight(&self, s: usize) -> f64 {
        let jy = s / self.n;
        if jy == 0 || 2 * jy == self.n {
            1.0
        } else {
            2.0
        }
    }

    /// Build the grid. `n` must be even and at least 8.
    pub fn new(n: usize) -> Result<Self, super::SolverError> {
        if n < 8 || n % 2 != 0 {
            return Err(super::SolverError::BadGrid(n));
        }
        let nh = n / 2 + 1;
        let len = nh * n;
        let (mut kx, mut ky, mut k2, mut lap, mut dealias) = (
            Vec::with_capacity(len),
            Vec::with_capacity(len),
            Vec::with_capacity(len),
            Vec::with_capacity(len),
            Vec::with_capacity(len),
        );
        let cut = dealias_limit(n);
        for jy in 0..nh {
            for ix in 0..n {
                let a = wavenumber(ix, n) as f64;
                let b = wavenumber(jy, n) as f64;
                kx.push(a);
                ky.push(b);
                let kk = a * a + b * b;
                k2.push(kk);
                lap.push(if jy == 0 && ix == 0 {
                    1.0
                } else {
                    4.0 * (PI * PI) * kk
                });
                dealias.push(a.abs() <= cut && b.abs() <= cut);
            }
        }
        Ok(Grid {
            n,
            nh,
            kx,
            ky,
            k2,
            lap,
            dealias,
            fft: Fft2::new(n),
        })
    }

    /// Number of spectral coefficients stored, `(N/2 + 1) · N`.
    pub(crate) fn spec_len(&self) -> usize {
        self.nh * self.n
    }

    /// Number of physical points, N².
    pub fn phys_len(&self) -> usize {
        self.n * self.n
    }

    /// Coordinates `(x_i, y_j) = (i/N, j/N)` of physical index `i * N + j`.
    pub fn coords(&self, idx: usize) -> (f64, f64) {
        let n = self.n as f64;
        ((idx / self.n) as f64 / n, (idx % self.n) as f64 / n)
    }

    /// A zeroed spectral array.
    pub fn zeros_hat(&self) -> Vec<C64> {
        vec![C64::default(); self.spec_len()]
    }

    /// A zeroed physical array.
    pub fn zeros(&self) -> Vec<f64> {
        vec![0.0; self.phys_len()]
    }

    /// Scratch for this grid's transforms on `threads` threads.
    pub fn scratch(&self, threads: usize) -> FftScratch {
        self.fft.scratch(threads)
    }

    /// Spectral coefficients of a physical field (allocating convenience wrapper).
    pub fn to_spectral(&self, field: &[f64]) -> Vec<C64> {
        let mut out = self.zeros_hat();
        let mut s = self.scratch(1);
        self.fft.forward(field, &mut out, &mut s);
        out
    }

    /// Physical field of spectral coefficients (allocating convenience wrapper).
    pub fn to_physical(&self, hat: &[C64]) -> Vec<f64> {
        let mut out = self.zeros();
        let mut s = self.scratch(1);
        self.fft.inverse(hat, &mut out, &mut s);
        out
    }

    /// `out = ∂/∂x` of `a_hat` in spectral space (multiply by 2πi·kx).
    pub fn ddx_hat(&self, a_hat: &[C64], out: &mut [C64]) {
        for ((o, a), k) in out.iter_mut().zip(a_hat).zip(&self.kx) {
            *o = C64::new(0.0, 2.0 * PI * k) * a;
        }
    }

    /// `out = ∂/∂y` of `a_hat` in spectral space (multiply by 2πi·ky).
    pub fn ddy_hat(&self, a_hat: &[C64], out: &mut [C64]) {
        for ((o, a), k) in out.iter_mut().zip(a_hat).zip(&self.ky) {
            *o = C64::new(0.0, 2.0 * PI * k) * a;
        }
    }

    /// Streamfunction from vorticity, `−Δψ = ω`: `ψ̂ = ω̂ / (4π²|k|²)` (mean mode divided
    /// by 1, as published).
    pub fn poisson_hat(&self, omega_hat: &[C64], psi_hat: &mut [C64]) {
        for ((p, w), l) in psi_hat.iter_mut().zip(omega_hat).zip(&self.lap) {
            *p = w / l;
        }
    }
}
