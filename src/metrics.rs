//! Error metrics and flow diagnostics: pure functions of fields (docs/science.md §4).
//!
//! Fields are N×N row-major slices (`a[i * N + j]`); `a` is the truth, `b` the estimate.

use crate::solver::{C64, Grid};

/// `D_MSE = (1/N²) Σ (a − b)²` (absolute mean squared error).
pub fn d_mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64
}

/// `D_Fro = ‖a − b‖_F / ‖a‖_F` (relative Frobenius error).
pub fn d_fro(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = a.iter().map(|x| x * x).sum();
    (num / den).sqrt()
}

/// `D_Max = max|a − b| / max|a|`.
pub fn d_max(a: &[f64], b: &[f64]) -> f64 {
    let num = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    let den = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    num / den
}

/// `D_Spe = ‖a − b‖₂ / ‖a‖₂`, with `‖·‖₂` the matrix spectral norm (largest singular value)
/// of the N×N field seen as a matrix.
pub fn d_spe(a: &[f64], b: &[f64], n: usize) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    spectral_norm(&diff, n) / spectral_norm(a, n)
}

/// Largest singular value of the row-major `n × n` matrix `m`, by power iteration on
/// `MᵀM` (Rayleigh quotient, stopped at a relative change below 1e-13 or 20 000 rounds).
pub fn spectral_norm(m: &[f64], n: usize) -> f64 {
    assert_eq!(m.len(), n * n, "spectral_norm: matrix is not n×n");
    // deterministic, generic start vector
    let mut v: Vec<f64> = (0..n)
        .map(|i| 1.0 + 0.37 * ((i as f64) * 0.7711).sin())
        .collect();
    let mut w = vec![0.0; n];
    let mut z = vec![0.0; n];
    let mut last = 0.0f64;
    for _ in 0..20_000 {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        // w = M v
        for (i, wi) in w.iter_mut().enumerate() {
            *wi = m[i * n..(i + 1) * n]
                .iter()
                .zip(&v)
                .map(|(a, b)| a * b)
                .sum();
        }
        // z = Mᵀ w
        z.fill(0.0);
        for (i, wi) in w.iter().enumerate() {
            for (zj, a) in z.iter_mut().zip(&m[i * n..(i + 1) * n]) {
                *zj += a * wi;
            }
        }
        let lambda: f64 = z.iter().zip(&v).map(|(a, b)| a * b).sum(); // vᵀMᵀMv
        std::mem::swap(&mut v, &mut z);
        if (lambda - last).abs() <= 1e-13 * lambda.abs() {
            return lambda.max(0.0).sqrt();
        }
        last = lambda;
    }
    last.max(0.0).sqrt()
}

/// Kinetic energy `E = ½⟨|u|²⟩ = ½ Σ_{k≠0} |ω̂_k / N²|² / (4π²|k|²)` of spectral vorticity.
pub fn energy(grid: &Grid, omega_hat: &[C64]) -> f64 {
    let n = grid.n;
    let nn = (n * n) as f64;
    let mut e = 0.0;
    for (s, w) in omega_hat.iter().enumerate() {
        if s == 0 {
            continue;
        }
        e += grid.half_weight(s) * (w / nn).norm_sqr() / grid.lap[s];
    }
    0.5 * e
}

/// Enstrophy `Z = ½⟨ω²⟩` of a physical field.
pub fn enstrophy(omega: &[f64]) -> f64 {
    0.5 * omega.iter().map(|w| w * w).sum::<f64>() / omega.len() as f64
}

/// The published "energy spectrum": `S(k) = Σ_{round(|k|) = k} ½|ω̂_k / N²|²` over integer
/// shells k = 0 … ⌈N/√2⌉ (a spectrum of ω, i.e. of enstrophy density, as in the reference
/// code). Returns one value per shell.
pub fn energy_spectrum(grid: &Grid, omega_hat: &[C64]) -> Vec<f64> {
    let n = grid.n;
    let nn = (n * n) as f64;
    let shells = grid.shells();
    let mut out = vec![0.0; shells];
    for (s, w) in omega_hat.iter().enumerate() {
        let k = grid.shell(s);
        if k < shells {
            out[k] += grid.half_weight(s) * 0.5 * (w / nn).norm_sqr();
        }
    }
    out
}

/// Arithmetic mean.
pub fn mean(a: &[f64]) -> f64 {
    a.iter().sum::<f64>() / a.len().max(1) as f64
}

/// Maximum of |ω|.
pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}
