//! The menu bar: every entry is a [`Command`], shown with its shortcut.

use eframe::egui;

use super::commands::Command;
use crate::experiment::presets;

fn command_entries(ui: &mut egui::Ui, commands: &[Command], out: &mut Vec<Command>) {
    for &c in commands {
        let text = match c.shortcut() {
            Some(sc) => format!("{}  ({})", c.label(), ui.ctx().format_shortcut(&sc)),
            None => c.label().to_string(),
        };
        if ui.button(text).clicked() {
            out.push(c);
        }
    }
}

pub(crate) fn menu_ui(ui: &mut egui::Ui) -> Vec<Command> {
    let mut out = Vec::new();
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            use Command::*;
            let entries = [
                OpenExperiment,
                SaveExperiment,
                OpenModel,
                SavePanel,
                CopyPanel,
                Screenshot,
                Record,
                ResetEverything,
            ];
            command_entries(ui, &entries, &mut out)
        });
        ui.menu_button("Run", |ui| {
            use Command::*;
            command_entries(ui, &[PlayPause, Step, StepMany, Reset, NewSeed], &mut out)
        });
        ui.menu_button("Presets", |ui| {
            for p in presets::all() {
                if ui.button(&p.title).on_hover_text(&p.description).clicked() {
                    out.push(Command::SelectPreset(p.id));
                }
            }
        });
        ui.menu_button("Help", |ui| {
            command_entries(ui, &[Command::ShowShortcuts, Command::ShowAbout], &mut out)
        });
    });
    out
}

/// Commands whose keyboard shortcut was pressed this frame.
pub fn shortcuts(ctx: &egui::Context) -> Vec<Command> {
    let mut fired = Vec::new();
    ctx.input_mut(|i| {
        for c in Command::ALL {
            if let Some(sc) = c.shortcut() {
                if i.consume_shortcut(&sc) {
                    fired.push(c);
                }
            }
        }
    });
    fired
}
