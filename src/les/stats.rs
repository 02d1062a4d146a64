//! Scores of the subgrid case (docs/science.md §8): a-priori (a modelled Π against the
//! true one) and a-posteriori (long-run statistics against the filtered DNS).

use crate::metrics::energy_spectrum;
use crate::solver::{C64, Grid};

/// Shell spectra of a spectral vorticity field, one value per integer shell
/// `k = round(|k|)`: enstrophy `Z(k) = Σ ½|ω̂/N²|²` and energy `E(k) = Σ ½|ω̂/N²|²/(2π|k|)²`.
pub fn spectra(grid: &Grid, omega_hat: &[C64]) -> (Vec<f64>, Vec<f64>) {
    let z = energy_spectrum(grid, omega_hat);
    let e = z
        .iter()
        .enumerate()
        .map(|(k, z)| {
            if k == 0 {
                0.0
            } else {
                z / (std::f64::consts::TAU * k as f64).powi(2)
            }
        })
        .collect();
    (e, z)
}

/// Normalised spectral RMSE over shells `1..=kmax`:
/// `√(Σ_k (S_model(k) − S_ref(k))²) / √(Σ_k S_ref(k)²)` (0 = identical spectra, 1 = off by
/// the spectrum itself). On E(k) it weighs the large scales, on Z(k) the small ones.
pub fn spectral_rmse(model: &[f64], reference: &[f64], kmax: usize) -> f64 {
    let top = kmax.min(model.len().min(reference.len()).saturating_sub(1));
    let (mut num, mut den) = (0.0, 0.0);
    for k in 1..=top {
        num += (model[k] - reference[k]).powi(2);
        den += reference[k] * reference[k];
    }
    if den == 0.0 {
        f64::NAN
    } else {
        (num / den).sqrt()
    }
}

/// First Wasserstein distance between the empirical distributions of two samples
/// (`∫|F_a⁻¹(q) − F_b⁻¹(q)| dq`, by sorted quantiles at 1 000 levels).
pub fn wasserstein1(a: &[f64], b: &[f64]) -> f64 {
    let sorted = |v: &[f64]| {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        s
    };
    let (a, b) = (sorted(a), sorted(b));
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    const LEVELS: usize = 1000;
    let quantile = |s: &[f64], q: f64| s[((q * s.len() as f64) as usize).min(s.len() - 1)];
    (0..LEVELS)
        .map(|i| {
            let q = (i as f64 + 0.5) / LEVELS as f64;
            (quantile(&a, q) - quantile(&b, q)).abs()
        })
        .sum::<f64>()
        / LEVELS as f64
}

/// Pearson correlation of two fields.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x - ma, y - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa * bb).sqrt()
    }
}

/// Relative L2 error `‖model − truth‖ / ‖truth‖`.
pub fn rel_l2(model: &[f64], truth: &[f64]) -> f64 {
    let num: f64 = model.iter().zip(truth).map(|(m, t)| (m - t).powi(2)).sum();
    let den: f64 = truth.iter().map(|t| t * t).sum();
    (num / den).sqrt()
}

/// Subgrid enstrophy transfer `P_Z = −⟨Π ω̄⟩`: the subgrid term's contribution to the
/// resolved enstrophy tendency (negative = a net drain to the subgrid scales).
pub fn enstrophy_transfer(pi: &[f64], bar: &[f64]) -> f64 {
    -pi.iter().zip(bar).map(|(p, w)| p * w).sum::<f64>() / pi.len() as f64
}

/// Fraction of points where the subgrid term feeds resolved enstrophy (`−Π ω̄ > 0`).
pub fn backscatter_fraction(pi: &[f64], bar: &[f64]) -> f64 {
    pi.iter().zip(bar).filter(|&(p, w)| -p * w > 0.0).count() as f64 / pi.len() as f64
}

/// Root mean square.
pub fn rms(a: &[f64]) -> f64 {
    (a.iter().map(|v| v * v).sum::<f64>() / a.len() as f64).sqrt()
}

/// Probability density of `samples / scale` on `bins` equal bins over `[−range, range]`,
/// as (bin centre, density) points; samples outside the range count in the total only.
pub(crate) fn pdf(samples: &[f64], scale: f64, range: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = 2.0 * range / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in samples {
        let x = v / scale;
        if x.is_finite() && x.abs() < range {
            counts[(((x + range) / width) as usize).min(bins - 1)] += 1;
        }
    }
    let total = samples.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            (
                -range + (i as f64 + 0.5) * width,
                c as f64 / (total * width),
            )
        })
        .collect()
}
