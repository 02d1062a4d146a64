//! The LES filter T: from a fine (DNS) grid's spectral field to the coarse (LES) grid's
//! (docs/science.md §8).
//!
//! Both filters end in a sharp cutoff that keeps `|k_x|, |k_y|` within the coarse grid's
//! 2/3 dealiasing limit, so the filtered field lives exactly on the modes the coarse solver
//! keeps. [`Filter::Gaussian`] first multiplies by `exp(−(2π|k|)²Δ²/24)` with the filter
//! width `Δ = 2/N_LES` (two coarse grid spacings).
//!
//! Spectral arrays are unnormalised (see `solver::fft`), so a coefficient moving from an
//! `N_f` grid to an `N_c` grid is scaled by `(N_c/N_f)²`.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::solver::{C64, Grid, SolverError};

/// Which filter T is.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
pub enum Filter {
    /// Sharp spectral cutoff at the coarse grid's dealiasing limit.
    #[default]
    Cutoff,
    /// Gaussian of width Δ = 2/N_LES, then the cutoff.
    Gaussian,
}

/// Largest |k_x|, |k_y| an `n`-point grid keeps after 2/3-rule dealiasing (21 for 64²).
pub(crate) fn cutoff_wavenumber(n: usize) -> i64 {
    // the same test as `Grid::dealias`: |k| ≤ (2/3)(N/2)
    ((2.0 / 3.0) * (n / 2) as f64).floor() as i64
}

/// A precomputed filter from one grid to another (or to itself: a projection).
pub struct Restriction {
    /// (coarse index, fine index, weight including the normalisation change)
    map: Vec<(usize, usize, f64)>,
    coarse_len: usize,
    fine_len: usize,
}

impl Restriction {
    /// The filter `filter` from the `fine` grid to the `coarse` one (`coarse.n ≤ fine.n`;
    /// equal sizes give T as a projection on one grid).
    pub fn new(fine: &Grid, coarse: &Grid, filter: Filter) -> Result<Self, SolverError> {
        if coarse.n > fine.n {
            return Err(SolverError::BadParam(format!(
                "cannot filter a {0}×{0} field to a finer {1}×{1} grid",
                fine.n, coarse.n
            )));
        }
        let kc = cutoff_wavenumber(coarse.n);
        let scale = (coarse.n as f64 / fine.n as f64).powi(2);
        let delta = 2.0 / coarse.n as f64;
        let index = |n: usize, kx: i64, ky: i64| ky as usize * n + kx.rem_euclid(n as i64) as usize;
        let mut map = Vec::new();
        for ky in 0..=kc {
            for kx in -kc..=kc {
                let k2 = (kx * kx + ky * ky) as f64;
                let g = match filter {
                    Filter::Cutoff => 1.0,
                    Filter::Gaussian => (-(2.0 * PI).powi(2) * k2 * delta * delta / 24.0).exp(),
                };
                map.push((index(coarse.n, kx, ky), index(fine.n, kx, ky), g * scale));
            }
        }
        Ok(Restriction {
            map,
            coarse_len: coarse.spec_len(),
            fine_len: fine.spec_len(),
        })
    }

    /// `out = T(fine_hat)`; every coarse mode outside the cutoff is zero.
    pub fn apply(&self, fine_hat: &[C64], out: &mut [C64]) {
        debug_assert_eq!(fine_hat.len(), self.fine_len);
        debug_assert_eq!(out.len(), self.coarse_len);
        out.fill(C64::default());
        for &(c, f, w) in &self.map {
            out[c] = fine_hat[f] * w;
        }
    }

    /// `T(fine_hat)`, allocating.
    pub fn filtered(&self, fine_hat: &[C64]) -> Vec<C64> {
        let mut out = vec![C64::default(); self.coarse_len];
        self.apply(fine_hat, &mut out);
        out
    }
}

/// Zero-padding interpolation: the coarse field's modes copied onto a finer grid (all
/// modes below the coarse Nyquist wavenumber; the Nyquist modes are dropped).
pub(crate) fn embed(coarse: &Grid, coarse_hat: &[C64], fine: &Grid) -> Vec<C64> {
    let mut out = fine.zeros_hat();
    let scale = (fine.n as f64 / coarse.n as f64).powi(2);
    let half = (coarse.n / 2) as i64;
    for (s, c) in coarse_hat.iter().enumerate() {
        let (kx, ky) = (coarse.kx[s] as i64, coarse.ky[s] as i64);
        if kx.abs() < half && ky.abs() < half {
            out[ky as usize * fine.n + kx.rem_euclid(fine.n as i64) as usize] = c * scale;
        }
    }
    out
}
