//! Planned 2-D real FFTs on an N×N periodic grid (rustfft + realfft).
//!
//! # Layouts
//! * Physical fields: `Vec<f64>` of length N², row-major, `a[i * N + j] = f(x_i, y_j)` with
//!   `x_i = i / N` (first index = x).
//! * Spectral fields: `Vec<C64>` of length `(N/2 + 1) * N`, stored **transposed**:
//!   `a_hat[jy * N + ix]` holds the coefficient of wavenumber `(kx(ix), ky(jy))`, where the
//!   real-to-complex transform runs along y (the contiguous physical axis) and the complex
//!   transform along x runs over contiguous rows.
//!
//! # Normalisation
//! The forward transform is unnormalised, `a_hat_k = Σ_x a(x) e^{-2πi k·x}` (numpy/torch
//! `rfft2` convention); the inverse divides by N². This module is the only place that
//! normalises.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

pub use rustfft::num_complex::Complex64 as C64;

/// FFT plans for one grid size. Cheap to share (`Arc` plans inside); thread-safe.
pub struct Fft2 {
    n: usize,
    nh: usize,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
    scratch_len: usize,
}

/// Preallocated buffers for [`Fft2`] transforms: one scratch row per worker thread plus a
/// row-spectrum buffer. Allocate once (per workspace) and reuse; in-place transforms never
/// allocate, the copying ones only on their first use.
pub struct FftScratch {
    threads: usize,
    /// [`BLOCK`] rows of a half spectrum (serial transforms)
    block: Vec<C64>,
    /// the whole transposed array (threaded transforms)
    rows: Vec<C64>,
    spec: Vec<C64>,
    phys: Vec<f64>,
    per_thread: Vec<Vec<C64>>,
}

impl FftScratch {
    /// Number of threads the transforms using this scratch will run on.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

impl Fft2 {
    /// Plan transforms for an `n × n` grid (`n` even, ≥ 4).
    pub fn new(n: usize) -> Self {
        let mut rp = RealFftPlanner::<f64>::new();
        let r2c = rp.plan_fft_forward(n);
        let c2r = rp.plan_fft_inverse(n);
        let mut cp = FftPlanner::<f64>::new();
        let fwd = cp.plan_fft_forward(n);
        let inv = cp.plan_fft_inverse(n);
        let scratch_len = [
            r2c.get_scratch_len(),
            c2r.get_scratch_len(),
            fwd.get_inplace_scratch_len(),
            inv.get_inplace_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
        .max(1);
        Fft2 {
            n,
            nh: n / 2 + 1,
            r2c,
            c2r,
            fwd,
            inv,
            scratch_len,
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// Scratch buffers for transforms on `threads` threads (1 = serial; more uses rayon's
    /// global pool, splitting rows into `threads` chunks).
    pub fn scratch(&self, threads: usize) -> FftScratch {
        let threads = threads.clamp(1, self.n);
        FftScratch {
            threads,
            block: vec![C64::default(); BLOCK * self.nh],
            rows: vec![C64::default(); if threads > 1 { self.n * self.nh } else { 0 }],
            // made on first use: most workspaces only transform in place
            spec: Vec::new(),
            phys: Vec::new(),
            per_thread: (0..threads)
                .map(|_| vec![C64::default(); self.scratch_len])
                .collect(),
        }
    }

    /// Forward transform. `input` (physical, N²) is used as workspace and left undefined.
    pub(crate) fn forward_inplace(&self, input: &mut [f64], out: &mut [C64], s: &mut FftScratch) {
        let (n, nh) = (self.n, self.nh);
        debug_assert_eq!(input.len(), n * n);
        debug_assert_eq!(out.len(), n * nh);
        let r2c = &self.r2c;
        // rows along y: real -> complex (lengths are fixed at planning time, so the
        // transforms cannot fail), transposed into `out`
        if s.threads <= 1 {
            // a block of rows at a time, scattered while it is still in cache
            let (block, scr) = (&mut s.block, &mut s.per_thread[0]);
            for x0 in (0..n).step_by(BLOCK) {
                let b = BLOCK.min(n - x0);
                for (row, spec) in input[x0 * n..(x0 + b) * n]
                    .chunks_exact_mut(n)
                    .zip(block.chunks_exact_mut(nh))
                {
                    let _ = r2c.process_with_scratch(row, spec, scr);
                }
                for (jy, dst) in out.chunks_exact_mut(n).enumerate() {
                    for (k, d) in dst[x0..x0 + b].iter_mut().enumerate() {
                        *d = block[k * nh + jy];
                    }
                }
            }
        } else {
            for_rows2(
                input,
                n,
                &mut s.rows,
                nh,
                &mut s.per_thread,
                |inp, outp, scr| {
                    let _ = r2c.process_with_scratch(inp, outp, scr);
                },
            );
            transpose::transpose(&s.rows, out, nh, n);
        }
        let fwd = &self.fwd;
        for_rows(out, n, &mut s.per_thread, |row, scr| {
            fwd.process_with_scratch(row, scr)
        });
    }

    /// Forward transform keeping `input` intact (copies it into scratch first).
    pub fn forward(&self, input: &[f64], out: &mut [C64], s: &mut FftScratch) {
        let mut buf = std::mem::take(&mut s.phys);
        buf.clear();
        buf.extend_from_slice(input);
        self.forward_inplace(&mut buf, out, s);
        s.phys = buf;
    }

    /// Inverse transform (includes the 1/N² normalisation). `spec` is used as workspace and
    /// left undefined. The imaginary parts of the ky = 0 and ky = N/2 bins of each row are
    /// ignored, as numpy/torch `irfft2` do.
    pub(crate) fn inverse_inplace(&self, spec: &mut [C64], out: &mut [f64], s: &mut FftScratch) {
        let (n, nh) = (self.n, self.nh);
        debug_assert_eq!(spec.len(), n * nh);
        debug_assert_eq!(out.len(), n * n);
        let inv = &self.inv;
        for_rows(spec, n, &mut s.per_thread, |row, scr| {
            inv.process_with_scratch(row, scr)
        });
        let c2r = &self.c2r;
        let scale = 1.0 / (n * n) as f64;
        let row_c2r = |inp: &mut [C64], outp: &mut [f64], scr: &mut [C64]| {
            inp[0].im = 0.0;
            inp[nh - 1].im = 0.0;
            // Lengths fixed at planning time and edge bins made real: cannot fail.
            let _ = c2r.process_with_scratch(inp, outp, scr);
            for v in outp.iter_mut() {
                *v *= scale;
            }
        };
        if s.threads <= 1 {
            // a block of columns at a time, gathered from the transposed layout
            let (block, scr) = (&mut s.block, &mut s.per_thread[0]);
            for x0 in (0..n).step_by(BLOCK) {
                let b = BLOCK.min(n - x0);
                for (jy, src) in spec.chunks_exact(n).enumerate() {
                    for (k, v) in src[x0..x0 + b].iter().enumerate() {
                        block[k * nh + jy] = *v;
                    }
                }
                for (inp, outp) in block
                    .chunks_exact_mut(nh)
                    .zip(out[x0 * n..(x0 + b) * n].chunks_exact_mut(n))
                {
                    row_c2r(inp, outp, scr);
                }
            }
        } else {
            transpose::transpose(spec, &mut s.rows, n, nh);
            for_rows2(&mut s.rows, nh, out, n, &mut s.per_thread, row_c2r);
        }
    }

    /// Inverse transform keeping `spec` intact (copies it into scratch first).
    pub fn inverse(&self, spec: &[C64], out: &mut [f64], s: &mut FftScratch) {
        let mut buf = std::mem::take(&mut s.spec);
        buf.clear();
        buf.extend_from_slice(spec);
        self.inverse_inplace(&mut buf, out, s);
        s.spec = buf;
    }
}

/// Rows transformed together in a serial transform, so that moving them across the
/// transposed layout touches whole cache lines (8 complex values = two 64-byte lines)
/// and never a second N²-sized array.
const BLOCK: usize = 8;

/// Apply `f` to each row (length `row_len`) of `data`, serially or on `scratch.len()` threads.
fn for_rows<T: Send>(
    data: &mut [T],
    row_len: usize,
    scratch: &mut [Vec<C64>],
    f: impl Fn(&mut [T], &mut [C64]) + Sync,
) {
    let threads = scratch.len();
    let rows = data.len() / row_len;
    if threads <= 1 {
        let scr = &mut scratch[0];
        for row in data.chunks_exact_mut(row_len) {
            f(row, scr);
        }
    } else {
        let per = rows.div_ceil(threads) * row_len;
        data.par_chunks_mut(per)
            .zip(scratch.par_iter_mut())
            .for_each(|(chunk, scr)| {
                for row in chunk.chunks_exact_mut(row_len) {
                    f(row, scr);
                }
            });
    }
}

/// Like [`for_rows`], over pairs of rows from two arrays with the same number of rows.
fn for_rows2<A: Send, B: Send>(
    a: &mut [A],
    a_len: usize,
    b: &mut [B],
    b_len: usize,
    scratch: &mut [Vec<C64>],
    f: impl Fn(&mut [A], &mut [B], &mut [C64]) + Sync,
) {
    let threads = scratch.len();
    let rows = a.len() / a_len;
    if threads <= 1 {
        let scr = &mut scratch[0];
        for (ra, rb) in a.chunks_exact_mut(a_len).zip(b.chunks_exact_mut(b_len)) {
            f(ra, rb, scr);
        }
    } else {
        let per = rows.div_ceil(threads);
        a.par_chunks_mut(per * a_len)
            .zip(b.par_chunks_mut(per * b_len))
            .zip(scratch.par_iter_mut())
            .for_each(|((ca, cb), scr)| {
                for (ra, rb) in ca.chunks_exact_mut(a_len).zip(cb.chunks_exact_mut(b_len)) {
                    f(ra, rb, scr);
                }
            });
    }
}
