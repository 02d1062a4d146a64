//! Gaussian-random-field initial vorticity (docs/science.md §1, the published `GaussianRF`).
//!
//! Fourier amplitude `√λ_k = N²·√2·s·(4π²|k|² + τ²)^(−α/2)` with `s = τ^(α−1)`, mean mode
//! zero; coefficients are standard complex normals (real and imaginary parts N(0, ½), as
//! `torch.randn(dtype=cfloat)`), and the field is the real part of their inverse 2-D FFT.
//! So the rfft-half coefficient of the field has `E|ω̂_k|² = λ_k / 2` for k ≠ 0.

use std::f64::consts::PI;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::fft::C64;
use super::grid::{Grid, wavenumber};

/// Parameters of the GRF (published α = 2.5, τ = 7).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GrfParams {
    pub alpha: f64,
    pub tau: f64,
}

impl Default for GrfParams {
    fn default() -> Self {
        GrfParams {
            alpha: 2.5,
            tau: 7.0,
        }
    }
}

impl GrfParams {
    /// `√λ_k` for integer wavenumber (kx, ky) on an `n`-grid (0 at the mean mode).
    pub fn sqrt_eig(&self, n: usize, kx: f64, ky: f64) -> f64 {
        if kx == 0.0 && ky == 0.0 {
            return 0.0;
        }
        let s = self.tau.powf(self.alpha - 1.0);
        let nn = (n * n) as f64;
        nn * 2f64.sqrt()
            * s
            * (4.0 * PI * PI * (kx * kx + ky * ky) + self.tau * self.tau).powf(-self.alpha / 2.0)
    }
}

/// Spectral coefficients (rfft half, see [`super::fft`]) of one GRF sample.
pub fn grf_hat(grid: &Grid, params: GrfParams, seed: u64) -> Vec<C64> {
    let n = grid.n;
    let nh = grid.nh;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Infallible: the standard deviation is a positive constant.
    let normal = Normal::new(0.0, 0.5f64.sqrt()).unwrap_or_else(|_| unreachable!());
    let mut out = grid.zeros_hat();
    // Full N×N coefficient array in row-major (ix, jy) order, like torch.randn(N, N).
    for ix in 0..n {
        for jy in 0..n {
            let c = C64::new(normal.sample(&mut rng), normal.sample(&mut rng));
            let amp = params.sqrt_eig(n, wavenumber(ix, n) as f64, wavenumber(jy, n) as f64);
            let c = c * (0.5 * amp);
            let (mx, my) = ((n - ix) % n, (n - jy) % n);
            if jy < nh {
                out[jy * n + ix] += c;
            }
            if my < nh {
                out[my * n + mx] += c.conj();
            }
        }
    }
    out
}

/// One GRF sample as a physical field.
pub fn grf(grid: &Grid, params: GrfParams, seed: u64) -> Vec<f64> {
    grid.to_physical(&grf_hat(grid, params, seed))
}
