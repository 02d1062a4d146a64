//! Q-Wiener stochastic forcing σξ, redrawn every time step (docs/science.md §1).
//!
//! Per Fourier mode k: `c_k` = sum of κ independent standard complex normals (real and
//! imaginary parts each N(0,1), so `c_k = √κ·(a + ib)` with a, b ~ N(0,1) has exactly the
//! same law), times `√q_k · N² / √dt` with `√q_k = exp(−α|2πk|²/2)`; ξ is the real part of
//! the inverse 2-D FFT. With σ = 5e-5, α = 0.005, κ = 10, dt = 1e-3 the per-point standard
//! deviation of σξ is `σ/√dt·√(κ Σ_k q_k)` ≈ 0.0200.
//!
//! Modes with `|k|² > 400` are not drawn: there `√q_k < 7e-18`, so their contribution is
//! below f64 round-off of the field. The modes are drawn in a fixed order that does not
//! depend on N, so one seed gives the same noise field on every grid with N ≥ 42.

use std::f64::consts::PI;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::fft::C64;
use super::grid::Grid;
use super::viscosity::Convention;

/// Largest |k|² drawn.
pub const K2_MAX: i64 = 400;

/// Parameters of the Q-Wiener process.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NoiseParams {
    /// Amplitude σ (published 5e-5). Zero switches the noise off.
    pub sigma: f64,
    /// Spectral decay α of √q_k = exp(−α|2πk|²/2) (published 0.005).
    pub alpha: f64,
    /// Number of complex normals summed per mode, κ (published 10).
    pub kappa: f64,
}

impl Default for NoiseParams {
    fn default() -> Self {
        NoiseParams {
            sigma: 5e-5,
            alpha: 0.005,
            kappa: 10.0,
        }
    }
}

impl NoiseParams {
    /// `√q_k` for integer wavenumber (kx, ky).
    pub fn sqrt_q(&self, kx: f64, ky: f64) -> f64 {
        (-self.alpha * 4.0 * PI * PI * (kx * kx + ky * ky) / 2.0).exp()
    }

    /// Analytic per-point standard deviation of σξ on an `n`-grid with step `dt`:
    /// `σ/√dt · √(κ Σ_k q_k)` over the modes the grid represents.
    pub fn pointwise_std(&self, n: usize, dt: f64, convention: Convention) -> f64 {
        let half = (n / 2) as i64;
        let mut sum = 0.0;
        for kx in -half..half {
            for ky in -half..half {
                if kx * kx + ky * ky > K2_MAX
                    || (convention == Convention::ZeroMean && kx == 0 && ky == 0)
                {
                    continue;
                }
                sum += self.sqrt_q(kx as f64, ky as f64).powi(2);
            }
        }
        self.sigma / dt.sqrt() * (self.kappa * sum).sqrt()
    }
}

/// Generator of σξ̂ draws (seeded, reproducible).
pub struct QWiener {
    params: NoiseParams,
    /// (full-grid index ix, jy, mirrored ix, jy, √q) of each drawn mode, in draw order;
    /// `None` entries are drawn but not representable on this grid (kept for a stream
    /// that does not depend on N) or excluded by the convention.
    modes: Vec<Option<[usize; 4]>>,
    weights: Vec<f64>,
    rng: ChaCha8Rng,
}

impl QWiener {
    pub fn new(grid: &Grid, params: NoiseParams, convention: Convention, seed: u64) -> Self {
        let n = grid.n as i64;
        let r = (K2_MAX as f64).sqrt() as i64;
        let (mut modes, mut weights) = (Vec::new(), Vec::new());
        let wrap = |k: i64| k.rem_euclid(n) as usize;
        for kx in -r..=r {
            for ky in -r..=r {
                if kx * kx + ky * ky > K2_MAX {
                    continue;
                }
                let representable = kx >= -n / 2 && kx < n / 2 && ky >= -n / 2 && ky < n / 2;
                let excluded = convention == Convention::ZeroMean && kx == 0 && ky == 0;
                modes.push(
                    (representable && !excluded)
                        .then(|| [wrap(kx), wrap(ky), wrap(-kx), wrap(-ky)]),
                );
                weights.push(params.sqrt_q(kx as f64, ky as f64));
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        QWiener {
            params,
            modes,
            weights,
            rng,
        }
    }

    pub fn params(&self) -> &NoiseParams {
        &self.params
    }

    /// Draw the next σξ̂ (spectral, same normalisation as [`super::fft::Fft2`]) into `out`.
    pub fn draw(&mut self, grid: &Grid, dt: f64, out: &mut [C64]) {
        let mut sparse = Vec::new();
        self.draw_sparse(grid, dt, &mut sparse);
        out.fill(C64::default());
        for (k, v) in sparse {
            out[k] += v;
        }
    }

    /// Draw the next σξ̂ as `(spectral index, contribution)` pairs (an index may repeat;
    /// contributions add). Only ~1300 modes are non-zero, so the stepper adds them
    /// without touching the rest of the spectrum.
    pub(crate) fn draw_sparse(&mut self, grid: &Grid, dt: f64, out: &mut Vec<(usize, C64)>) {
        out.clear();
        let n = grid.n;
        let nh = grid.nh;
        let nn = (n * n) as f64;
        let scale = self.params.sigma * self.params.kappa.sqrt() * nn / dt.sqrt();
        for (m, w) in self.modes.iter().zip(&self.weights) {
            let a: f64 = StandardNormal.sample(&mut self.rng);
            let b: f64 = StandardNormal.sample(&mut self.rng);
            let Some([ix, jy, mx, my]) = *m else { continue };
            // Re(ifft2(c)) has half-spectrum ½(c_k + conj(c_{−k})).
            let c = C64::new(a, b) * (0.5 * scale * w);
            if jy < nh {
                out.push((jy * n + ix, c));
            }
            if my < nh {
                out.push((my * n + mx, c.conj()));
            }
        }
    }
}
