//! The status bar: time and step, the live error, the closure's note, frame and
//! simulation rates, and the newest message.

use eframe::egui::{self, Color32, RichText};

use super::commands::Command;
use super::controls::WARN;
use crate::experiment::History;
use crate::experiment::runner::Snapshot;

/// Frame and simulation rates shown in the status bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rates {
    /// Mean time the app spends on one frame (its own work, ms).
    pub frame_ms: f32,
    /// Simulation steps per second of wall time, measured from the thread's step count.
    pub steps_per_s: f32,
}

pub(crate) fn status_ui(
    ui: &mut egui::Ui,
    snap: Option<&Snapshot>,
    history: &History,
    rates: Rates,
    message: Option<&str>,
) -> Vec<Command> {
    let mut out = Vec::new();
    ui.horizontal(|ui| {
        if let Some(s) = snap {
            ui.label(format!("t = {:.3} s   step {}", s.t, s.steps));
            if let Some(h) = history.last() {
                ui.label(format!(
                    "D_Fro(ω) with closure {:.4} · without {:.4}",
                    h.d_fro_with, h.d_fro_without
                ));
            }
            if let Some(note) = &s.status {
                ui.label(RichText::new(note).color(WARN));
            }
        }
        let pace = if rates.steps_per_s > 0.0 {
            format!("simulation {:.0} steps/s", rates.steps_per_s)
        } else {
            "simulation paused".to_string()
        };
        ui.label(format!("frame {:.1} ms · {pace}", rates.frame_ms));
        if let Some(m) = message {
            ui.label(RichText::new(m).color(Color32::from_rgb(200, 80, 60)));
            if ui.small_button("✕").clicked() {
                out.push(Command::ClearMessages);
            }
        }
    });
    out
}
