//! Floating windows: the keyboard shortcuts and "About this model" (equations, units,
//! the shipped models' cards).

use eframe::egui;

use super::commands::Command;
use super::compute::Named;
use crate::experiment::LearnedModel;

/// Which windows are open.
#[derive(Default)]
pub struct Windows {
    pub shortcuts: bool,
    pub about: bool,
}

impl Windows {
    pub(crate) fn ui(&mut self, ctx: &egui::Context, models: &[Named]) {
        egui::Window::new("Keyboard shortcuts")
            .open(&mut self.shortcuts)
            .show(ctx, |ui| {
                egui::Grid::new("keys").striped(true).show(ui, |ui| {
                    for c in Command::ALL {
                        if let Some(sc) = c.shortcut() {
                            ui.label(ctx.format_shortcut(&sc));
                            ui.label(c.label());
                            ui.end_row();
                        }
                    }
                });
            });
        egui::Window::new("About this model")
            .open(&mut self.about)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.label(ABOUT);
                for (label, m) in models {
                    ui.separator();
                    card_ui(ui, &label.to_string(), m);
                }
            });
    }
}

/// What a model's card says, in a few lines.
fn card_ui(ui: &mut egui::Ui, label: &str, m: &LearnedModel) {
    for (k, line) in m.card_lines().into_iter().enumerate() {
        if k == 0 {
            ui.label(format!("{label} — {line}"));
        } else {
            ui.label(line);
        }
    }
}

const ABOUT: &str = "Vorticity form of the 2-D Navier–Stokes equations on the unit torus [0,1)²:\n\
  ∂ω/∂t + u·∇ω = νΔω + f + σξ,   u = (∂ψ/∂y, −∂ψ/∂x),   −Δψ = ω\n\
ν = 1e-3 (default), f = 0.1·[sin 2π(x+y) + cos 2π(x+y)], σ = 5e-5, ξ a Q-Wiener increment redrawn every step (dt = 1e-3 s).\n\
Pseudo-spectral, 2/3 dealiasing, forward Euler + Crank–Nicolson (the published scheme).\n\n\
Closure cases: G = νΔω + 2σξ (the model run keeps advection and forcing), H = −u·∇ω + σξ (the model run keeps forcing and viscosity).\n\
The learned closure is a conditional score-based diffusion model (VE SDE, g(t) = 26^t) with a Fourier-neural-operator score network, conditioned on the model run's ω and on s×s sensor readings of the true closure; sampled by Euler–Maruyama (Karras ρ = 7 schedule) or Heun.\n\n\
Subgrid (LES) case, preset \"Subgrid (LES): Kolmogorov flow\": ∂ω/∂t + u·∇ω = νΔω − αω + A cos(8πy) with drag α = 0.2π and A = 16π² (the common 2π-box set-up rescaled), ν = 2e-4…4e-4, solved by a 256² DNS (ETDRK4, dt = 2.5e-4). The filter T keeps the modes the LES grid (n² = 32², 48², 64² (default) or 128²) resolves after dealiasing (|kₓ|, |k_y| ≤ 21 at 64²). The large-eddy run solves ∂ω̄/∂t + N_n(ω̄) = νΔω̄ − αω̄ + f − Π, where the subgrid term Π = T[u·∇ω] − N_n(ω̄) is what the coarse grid cannot compute. Classical closures model it as Π = −∇·(ν_t∇ω̄): Smagorinsky ν_t = (C_sΔ)²|S̄| (C_s = 0.17), Leith ν_t = (C_LΔ)³|∇ω̄| (C_L = 0.2), dynamic Smagorinsky (C_s² from a test filter at 2Δ, domain-averaged, ≥ 0); the oracle feeds the true Π.\n\n\
The simulation runs on its own thread at the pace set by \"steps / s\"; the window shows its newest state.\n\n\
Units: x, y in domain lengths, t in s, ω in 1/s, closures in 1/s².\n\
References: Dong, Chen & Wu, conditional diffusion closures with neural operators (2024); Song et al., score-based SDEs (2021); Li et al., Fourier neural operator (2021); Karras et al., EDM (2022).";
