//! Floating windows: the keyboard shortcuts and "About this model" (equations, units,
//! the shipped models' cards).

use eframe::egui;

use super::commands::Command;
use crate::closure::model::ClosureModel;

/// Which windows are open.
#[derive(Default)]
pub struct Windows {
    pub shortcuts: bool,
    pub about: bool,
}

impl Windows {
    pub fn ui(&mut self, ctx: &egui::Context, models: &[ClosureModel]) {
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
                for m in models {
                    ui.separator();
                    ui.label(format!("Shipped closure: {}", m.card.name));
                    ui.label(format!("inputs: {:?}", m.card.inputs));
                    ui.label(format!(
                        "training: {} samples at {}², {} epochs, validation D_Fro {:.4}",
                        m.card.training.samples,
                        m.card.training.grid,
                        m.card.training.epochs,
                        m.card.training.final_val_d_fro
                    ));
                }
            });
    }
}

const ABOUT: &str = "Vorticity form of the 2-D Navier–Stokes equations on the unit torus [0,1)²:\n\
  ∂ω/∂t + u·∇ω = νΔω + f + σξ,   u = (∂ψ/∂y, −∂ψ/∂x),   −Δψ = ω\n\
ν = 1e-3 (default), f = 0.1·[sin 2π(x+y) + cos 2π(x+y)], σ = 5e-5, ξ a Q-Wiener increment redrawn every step (dt = 1e-3 s).\n\
Pseudo-spectral, 2/3 dealiasing, forward Euler + Crank–Nicolson (the published scheme).\n\n\
Closure cases: G = νΔω + 2σξ (the model run keeps advection and forcing), H = −u·∇ω + σξ (the model run keeps forcing and viscosity).\n\
The learned closure is a conditional score-based diffusion model (VE SDE, g(t) = 26^t) with a Fourier-neural-operator score network, conditioned on the model run's ω and on s×s sensor readings of the true closure; sampled by Euler–Maruyama (Karras ρ = 7 schedule) or Heun.\n\n\
The simulation runs on its own thread at the pace set by \"steps / s\"; the window shows its newest state.\n\n\
Units: x, y in domain lengths, t in s, ω in 1/s, closures in 1/s².\n\
References: Dong, Chen & Wu, conditional diffusion closures with neural operators (2024); Song et al., score-based SDEs (2021); Li et al., Fourier neural operator (2021); Karras et al., EDM (2022).";
