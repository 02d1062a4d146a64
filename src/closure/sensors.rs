//! Sparse sensors of the true closure and the ways to make them dense (docs/science.md §2).
//!
//! An `s × s` sensor grid on an N×N field reads the points `(i·N/s, j·N/s)`, i, j < s.
//! Three densifiers turn the readings into an N×N conditioning field:
//! * [`Densify::Bicubic`] — the published recipe: bicubic upsampling of the s×s readings
//!   (cubic convolution, a = −0.75, corners aligned, so the field passes through every
//!   reading), then replicate-padding of the last `N/s − 1` rows and columns.
//! * [`Densify::Box`] — the published alternative: a periodic box filter of width
//!   `2·N/s − 1` over the masked field (readings at sensor points, 0 elsewhere), then a
//!   per-sample min–max rescale onto the range of the readings.
//! * [`Densify::Fourier`] — trigonometric interpolation (zero-padded DFT of the readings);
//!   exact for fields band-limited below the sensor Nyquist wavenumber s/2.

use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};

use crate::solver::C64;

/// How sensor readings become a dense field.
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
#[strum(serialize_all = "kebab-case")]
pub enum Densify {
    #[default]
    Bicubic,
    Box,
    Fourier,
}

/// Errors in sensor layouts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SensorError {
    #[error(
        "sensor grid {s}×{s} does not fit an {n}×{n} field (need s = 0 for none, or a power of two, 4 ≤ s ≤ 32, dividing N)"
    )]
    BadLayout { s: usize, n: usize },
}

/// The sensor densities a user can pick (sensors per side; 0 = none, ω only).
pub const DENSITIES: [usize; 5] = [0, 4, 8, 16, 32];

/// How a density is written: "none" or "s×s".
pub(crate) fn density_label(s: usize) -> String {
    if s == 0 {
        "none".into()
    } else {
        format!("{s}×{s}")
    }
}

/// An `s × s` sensor grid on an N×N field; `s = 0` is "no sensors": nothing is read and
/// every densifier gives the zero field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sensors {
    pub s: usize,
    pub n: usize,
}

impl Sensors {
    pub fn new(s: usize, n: usize) -> Result<Self, SensorError> {
        let grid = s.is_power_of_two() && (4..=32).contains(&s) && s <= n && n % s == 0;
        if !(s == 0 || grid) {
            return Err(SensorError::BadLayout { s, n });
        }
        Ok(Sensors { s, n })
    }

    /// Distance between sensors in grid points, N/s (N without sensors).
    pub fn stride(&self) -> usize {
        self.n / self.s.max(1)
    }

    /// Physical indices `i·N + j` of the sensors, row-major over the sensor grid.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        let st = self.stride();
        (0..self.s).flat_map(move |a| (0..self.s).map(move |b| a * st * self.n + b * st))
    }

    /// The s×s readings of `field` (row-major).
    pub fn read(&self, field: &[f64]) -> Vec<f64> {
        self.indices().map(|i| field[i]).collect()
    }

    /// The dense N×N field made from `readings` (length s²).
    pub fn densify(&self, readings: &[f64], how: Densify) -> Vec<f64> {
        if self.s == 0 {
            return vec![0.0; self.n * self.n];
        }
        match how {
            Densify::Bicubic => self.bicubic(readings),
            Densify::Box => self.box_minmax(readings),
            Densify::Fourier => self.fourier(readings),
        }
    }

    fn bicubic(&self, r: &[f64]) -> Vec<f64> {
        let (s, n, st) = (self.s, self.n, self.stride());
        // 1-D weights for every output index: position p = i / stride in sample units,
        // clamped to the last sample (replicate padding).
        let taps: Vec<([usize; 4], [f64; 4])> = (0..n)
            .map(|i| {
                let p = (i as f64 / st as f64).min((s - 1) as f64);
                let i0 = p.floor() as i64;
                let t = p - i0 as f64;
                let w = cubic_weights(t);
                let idx = [-1i64, 0, 1, 2].map(|d| (i0 + d).clamp(0, s as i64 - 1) as usize);
                (idx, w)
            })
            .collect();
        // separable: rows (x) then columns (y)
        let mut tmp = vec![0.0; n * s];
        for (i, (idx, w)) in taps.iter().enumerate() {
            for b in 0..s {
                tmp[i * s + b] = (0..4).map(|k| w[k] * r[idx[k] * s + b]).sum();
            }
        }
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for (j, (idx, w)) in taps.iter().enumerate() {
                out[i * n + j] = (0..4).map(|k| w[k] * tmp[i * s + idx[k]]).sum();
            }
        }
        out
    }

    fn box_minmax(&self, r: &[f64]) -> Vec<f64> {
        let (n, st) = (self.n, self.stride());
        let mut masked = vec![0.0; n * n];
        for (v, i) in r.iter().zip(self.indices()) {
            masked[i] = *v;
        }
        let half = st as i64 - 1;
        let width = (2 * half + 1) as f64;
        let wrap = |i: i64| i.rem_euclid(n as i64) as usize;
        let mut tmp = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                tmp[i * n + j] = (-half..=half)
                    .map(|d| masked[wrap(i as i64 + d) * n + j])
                    .sum::<f64>()
                    / width;
            }
        }
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = (-half..=half)
                    .map(|d| tmp[i * n + wrap(j as i64 + d)])
                    .sum::<f64>()
                    / width;
            }
        }
        let (lo, hi) = min_max(&out);
        let (rlo, rhi) = min_max(r);
        if hi - lo > 0.0 {
            for v in &mut out {
                *v = (*v - lo) / (hi - lo) * (rhi - rlo) + rlo;
            }
        } else {
            out.fill(rlo);
        }
        out
    }

    fn fourier(&self, r: &[f64]) -> Vec<f64> {
        let (s, n) = (self.s, self.n);
        let mut planner = FftPlanner::<f64>::new();
        let fs = planner.plan_fft_forward(s);
        let inv = planner.plan_fft_inverse(n);
        // 2-D DFT of the readings (complex, small)
        let mut a: Vec<C64> = r.iter().map(|&v| C64::new(v, 0.0)).collect();
        for row in a.chunks_exact_mut(s) {
            fs.process(row);
        }
        let mut t = vec![C64::default(); s * s];
        transpose::transpose(&a, &mut t, s, s);
        for row in t.chunks_exact_mut(s) {
            fs.process(row);
        }
        transpose::transpose(&t, &mut a, s, s);
        // zero-pad to N×N; the Nyquist row/column is split evenly between ±s/2
        let mut big = vec![C64::default(); n * n];
        let map = |k: usize| -> Vec<(usize, f64)> {
            let h = s / 2;
            if k < h {
                vec![(k, 1.0)]
            } else if k > h {
                vec![(n - (s - k), 1.0)]
            } else {
                vec![(h, 0.5), (n - h, 0.5)]
            }
        };
        for kx in 0..s {
            for ky in 0..s {
                for (bx, wx) in map(kx) {
                    for (by, wy) in map(ky) {
                        big[bx * n + by] += a[kx * s + ky] * (wx * wy);
                    }
                }
            }
        }
        for row in big.chunks_exact_mut(n) {
            inv.process(row);
        }
        let mut t = vec![C64::default(); n * n];
        transpose::transpose(&big, &mut t, n, n);
        for row in t.chunks_exact_mut(n) {
            inv.process(row);
        }
        transpose::transpose(&t, &mut big, n, n);
        let scale = 1.0 / (s * s) as f64;
        big.iter().map(|c| c.re * scale).collect()
    }
}

/// Cubic-convolution weights (Keys, a = −0.75 as in PyTorch) for offset t ∈ [0,1) at
/// taps −1, 0, 1, 2.
fn cubic_weights(t: f64) -> [f64; 4] {
    let a = -0.75;
    let near = |x: f64| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0; // |x| ≤ 1
    let far = |x: f64| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a; // 1 < |x| < 2
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}
