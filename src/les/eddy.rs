//! Classical eddy-viscosity subgrid closures on the coarse grid (docs/science.md §8).
//!
//! Each models the subgrid vorticity flux as `−ν_t ∇ω̄`, so the modelled subgrid term is
//! `Π = −∇·(ν_t ∇ω̄)` (the LES subtracts Π: its right-hand side gains `+∇·(ν_t∇ω̄)`),
//! formed in physical space and truncated to the coarse grid's resolved modes.
//! Δ is the coarse grid spacing `1/N`.
//!
//! * Smagorinsky: `ν_t = (C_s Δ)² |S̄|`, `|S̄| = √(2 S̄ᵢⱼS̄ᵢⱼ) = √(4 ū_x² + (ū_y + v̄_x)²)`.
//! * Leith: `ν_t = (C_L Δ)³ |∇ω̄|`.
//! * Dynamic Smagorinsky (Germano–Lilly): `ν_t = C Δ² |S̄|` with one `C` for the domain
//!   from a test filter of width 2Δ (sharp cutoff at half the resolved wavenumber):
//!   `Lᵢ = (ūᵢω̄)^ − ûᵢω̂`, `Mᵢ = Δ² (|S̄|∂ᵢω̄)^ − (2Δ)² |Ŝ| ∂ᵢω̂`,
//!   `C = max(0, ⟨LᵢMᵢ⟩/⟨MᵢMᵢ⟩)`.

use std::f64::consts::TAU;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::solver::fft::FftScratch;
use crate::solver::{C64, Grid};

use super::filter::cutoff_wavenumber;

/// Smagorinsky's constant as used here (Lilly's estimate for a cutoff filter).
pub const SMAGORINSKY_CS: f64 = 0.17;
/// Leith's constant (docs/science.md §8).
pub const LEITH_CL: f64 = 0.2;

/// An eddy-viscosity model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EddyModel {
    Smagorinsky { cs: f64 },
    DynamicSmagorinsky,
    Leith { cl: f64 },
}

/// Workspace evaluating an [`EddyModel`] on one coarse grid.
pub struct EddyViscosity {
    grid: Arc<Grid>,
    model: EddyModel,
    scratch: FftScratch,
    hat: [Vec<C64>; 2],
    /// physical: ω_x, ω_y, |S̄|, ν_t, u_x
    phys: [Vec<f64>; 5],
    dynamic: Option<DynamicWork>,
    /// the dynamic coefficient C = C_s² of the last evaluation
    last_c: f64,
}

impl EddyViscosity {
    pub fn new(grid: Arc<Grid>, model: EddyModel) -> Self {
        EddyViscosity {
            scratch: grid.scratch(1),
            hat: std::array::from_fn(|_| grid.zeros_hat()),
            phys: std::array::from_fn(|_| grid.zeros()),
            dynamic: None,
            grid,
            model,
            last_c: 0.0,
        }
    }

    pub fn model(&self) -> EddyModel {
        self.model
    }

    /// The coefficient of the last evaluation: C_s² (Smagorinsky, dynamic) or C_L³ (Leith).
    pub fn coefficient(&self) -> f64 {
        self.last_c
    }

    /// The eddy viscosity ν_t (physical, N²) of the filtered vorticity `bar_hat`.
    pub fn eddy_viscosity(&mut self, bar_hat: &[C64]) -> &[f64] {
        self.evaluate(bar_hat);
        &self.phys[3]
    }

    /// The modelled subgrid term `Π = −∇·(ν_t∇ω̄)` (spectral, resolved modes only).
    pub fn subgrid_hat(&mut self, bar_hat: &[C64], out: &mut [C64]) {
        self.evaluate(bar_hat);
        let g = &*self.grid;
        let [qx, qy, _, nut, ..] = &mut self.phys;
        for ((x, y), nu) in qx.iter_mut().zip(qy.iter_mut()).zip(nut.iter()) {
            *x *= nu;
            *y *= nu;
        }
        let [hx, hy] = &mut self.hat;
        g.fft.forward(qx, hx, &mut self.scratch);
        g.fft.forward(qy, hy, &mut self.scratch);
        for s in 0..out.len() {
            let div = C64::new(0.0, TAU) * (g.kx[s] * hx[s] + g.ky[s] * hy[s]);
            out[s] = if g.dealias[s] { -div } else { C64::default() };
        }
    }

    /// Fill ω_x, ω_y, |S̄| and ν_t.
    fn evaluate(&mut self, bar_hat: &[C64]) {
        let delta = 1.0 / self.grid.n as f64;
        let [wx, wy, s, _, ux] = &mut self.phys;
        strain_and_gradient(
            &self.grid,
            bar_hat,
            wx,
            wy,
            s,
            ux,
            &mut self.hat,
            &mut self.scratch,
        );
        let c = match self.model {
            EddyModel::Smagorinsky { cs } => cs * cs,
            EddyModel::Leith { cl } => cl * cl * cl,
            EddyModel::DynamicSmagorinsky => self.dynamic_coefficient(bar_hat),
        };
        self.last_c = c;
        let [wx, wy, s, nut, ..] = &mut self.phys;
        match self.model {
            EddyModel::Leith { .. } => {
                for ((n, x), y) in nut.iter_mut().zip(wx.iter()).zip(wy.iter()) {
                    *n = c * delta.powi(3) * x.hypot(*y);
                }
            }
            _ => {
                for (n, s) in nut.iter_mut().zip(s.iter()) {
                    *n = c * delta * delta * s;
                }
            }
        }
    }

    /// Germano–Lilly least squares over the domain, clipped at 0. Expects ω_x, ω_y, |S̄|
    /// of `bar_hat` in `phys[0..3]`.
    fn dynamic_coefficient(&mut self, bar_hat: &[C64]) -> f64 {
        let g = &*self.grid;
        let delta = 1.0 / g.n as f64;
        let test = (cutoff_wavenumber(g.n) / 2) as f64;
        let keep = |s: usize| g.kx[s].abs() <= test && g.ky[s].abs() <= test;
        let d = self.dynamic.get_or_insert_with(|| DynamicWork::new(g));
        let sc = &mut self.scratch;
        let [wx, wy, s, _, ux] = &mut self.phys;
        let [ax, ay, u, v, w, tu, tv, tw, twx, twy, ts] = &mut d.f;
        // (|S̄|∂ᵢω̄)^
        for i in 0..ax.len() {
            ax[i] = s[i] * wx[i];
            ay[i] = s[i] * wy[i];
        }
        test_filter(g, ax, &mut d.hat, sc, &keep);
        test_filter(g, ay, &mut d.hat, sc, &keep);
        // (ūᵢω̄)^ into u, v
        velocity(g, bar_hat, u, v, &mut self.hat, sc);
        g.fft.inverse(bar_hat, w, sc);
        for i in 0..u.len() {
            u[i] *= w[i];
            v[i] *= w[i];
        }
        test_filter(g, u, &mut d.hat, sc, &keep);
        test_filter(g, v, &mut d.hat, sc, &keep);
        // the test-filtered state ω̂: velocity, vorticity, gradient and strain
        for (i, (t, b)) in d.hat.iter_mut().zip(bar_hat).enumerate() {
            *t = if keep(i) { *b } else { C64::default() };
        }
        velocity(g, &d.hat, tu, tv, &mut self.hat, sc);
        g.fft.inverse(&d.hat, tw, sc);
        strain_and_gradient(g, &d.hat, twx, twy, ts, ux, &mut self.hat, sc);
        let (mut lm, mut mm) = (0.0, 0.0);
        let d2 = delta * delta;
        for i in 0..u.len() {
            let (lx, ly) = (u[i] - tu[i] * tw[i], v[i] - tv[i] * tw[i]);
            let mx = d2 * ax[i] - 4.0 * d2 * ts[i] * twx[i];
            let my = d2 * ay[i] - 4.0 * d2 * ts[i] * twy[i];
            lm += lx * mx + ly * my;
            mm += mx * mx + my * my;
        }
        if mm > 0.0 { (lm / mm).max(0.0) } else { 0.0 }
    }
}

/// Buffers of the dynamic procedure (allocated on first use).
struct DynamicWork {
    f: [Vec<f64>; 11],
    hat: Vec<C64>,
}

impl DynamicWork {
    fn new(g: &Grid) -> Self {
        DynamicWork {
            f: std::array::from_fn(|_| g.zeros()),
            hat: g.zeros_hat(),
        }
    }
}

/// ω_x, ω_y and `|S| = √(4u_x² + (u_y + v_x)²)` of spectral vorticity (physical outputs).
#[allow(clippy::too_many_arguments)]
fn strain_and_gradient(
    g: &Grid,
    w: &[C64],
    wx: &mut [f64],
    wy: &mut [f64],
    s: &mut [f64],
    ux: &mut [f64],
    hat: &mut [Vec<C64>; 2],
    sc: &mut FftScratch,
) {
    let [h0, h1] = hat;
    g.ddx_hat(w, h0);
    g.fft.inverse(h0, wx, sc);
    g.ddy_hat(w, h0);
    g.fft.inverse(h0, wy, sc);
    // ψ̂ = ω̂/4π²|k|²; u_x = ψ_xy, u_y + v_x = ψ_yy − ψ_xx
    for i in 0..w.len() {
        let psi = w[i] / g.lap[i];
        let (kx, ky) = (TAU * g.kx[i], TAU * g.ky[i]);
        h0[i] = -(kx * ky) * psi;
        h1[i] = (kx * kx - ky * ky) * psi;
    }
    g.fft.inverse(h0, ux, sc);
    g.fft.inverse(h1, s, sc);
    for (s, ux) in s.iter_mut().zip(ux.iter()) {
        *s = (4.0 * ux * ux + *s * *s).sqrt();
    }
}

/// Velocity `u = ∂ψ/∂y`, `v = −∂ψ/∂x` of spectral vorticity.
fn velocity(
    g: &Grid,
    w: &[C64],
    u: &mut [f64],
    v: &mut [f64],
    hat: &mut [Vec<C64>; 2],
    sc: &mut FftScratch,
) {
    let [h0, h1] = hat;
    g.poisson_hat(w, h1);
    g.ddy_hat(h1, h0);
    g.fft.inverse(h0, u, sc);
    g.ddx_hat(h1, h0);
    for c in h0.iter_mut() {
        *c = -*c;
    }
    g.fft.inverse(h0, v, sc);
}

/// Sharp spectral test filter, in place on a physical field.
fn test_filter(
    g: &Grid,
    f: &mut [f64],
    hat: &mut [C64],
    sc: &mut FftScratch,
    keep: &impl Fn(usize) -> bool,
) {
    g.fft.forward(f, hat, sc);
    for (s, h) in hat.iter_mut().enumerate() {
        if !keep(s) {
            *h = C64::default();
        }
    }
    g.fft.inverse(hat, f, sc);
}
