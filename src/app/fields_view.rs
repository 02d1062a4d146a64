//! The central region: the seven field panels of the newest snapshot (or the spin-up's
//! progress), with colorbars and a right-click menu to save or copy one panel.

use eframe::egui;
use image::RgbaImage;

use super::commands::Command;
use super::export::PanelAction;
use super::panels::{PanelSpec, PanelTexture, field_panel_ui};
use super::settings::{RangeMode, Settings};
use crate::experiment::runner::{Snapshot, SpinProgress};
use crate::experiment::{Fields, Panel};
use crate::render::{PanelRanges, Range, panel_style, panel_title};

#[derive(Default)]
pub struct FieldsView {
    textures: [PanelTexture; Panel::ALL.len()],
    /// The frozen ω range while the range mode is "locked".
    locked: Option<Range>,
    /// Range mode the lock was taken under (a change of mode takes a new lock).
    mode: Option<RangeMode>,
}

impl FieldsView {
    /// Forget the frozen range (a new experiment, or "lock" pressed again).
    pub(crate) fn unlock(&mut self) {
        self.locked = None;
    }

    /// The shared ω range under the settings' range mode.
    fn omega_range(&mut self, f: &Fields, mode: RangeMode) -> Range {
        if self.mode != Some(mode) {
            self.mode = Some(mode);
            self.locked = None;
        }
        match mode {
            RangeMode::Auto => Range::symmetric(&[&f.truth, &f.with, &f.without]),
            RangeMode::Quantile => Range::omega(f),
            RangeMode::Locked => *self.locked.get_or_insert_with(|| Range::omega(f)),
        }
    }

    /// What each panel shows and how: drawn in the window and exported as images.
    fn specs<'a>(&mut self, snap: &'a Snapshot, s: &Settings) -> Vec<PanelSpec<'a>> {
        let f = &snap.fields;
        let ranges = PanelRanges::new(f, self.omega_range(f, s.range_mode));
        let sensors = s.show_sensors.then_some(f.sensors.as_slice());
        let cx = snap.config.panels();
        Panel::ALL
            .into_iter()
            .map(|p| {
                let style = panel_style(p, &ranges, s.diverging, s.sequential);
                PanelSpec {
                    id: p.id(),
                    title: panel_title(p, &cx, &style),
                    unit: p.unit(),
                    field: f.panel(p),
                    n: f.n,
                    range: style.range,
                    cmap: style.cmap,
                    sensors: if p.shows_sensors(&cx) { sensors } else { None },
                }
            })
            .collect()
    }

    /// One panel as a clean image: title with time and unit, the field at the export
    /// scale, colorbar with values.
    pub fn panel_image(&mut self, snap: &Snapshot, s: &Settings, panel: Panel) -> RgbaImage {
        let specs = self.specs(snap, s);
        let p = &specs[panel as usize];
        let title = crate::render::panel::still_title(&p.title, p.unit, snap.t);
        crate::render::panel::panel_image(p.field, p.n, p.range, p.cmap, s.export_scale, &title).0
    }

    pub(crate) fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: Option<&Snapshot>,
        spin: Option<SpinProgress>,
        s: &Settings,
        gpu: bool,
    ) -> Vec<Command> {
        let Some(snap) = snap else {
            waiting_ui(ui, spin);
            return Vec::new();
        };
        let side = ((ui.available_width() / 4.0 - 68.0)
            .min((ui.available_height() - 50.0) / 2.0 - 30.0))
        .max(96.0);
        let specs = self.specs(snap, s);
        let mut out = Vec::new();
        for row in [0..Panel::FIRST_ROW, Panel::FIRST_ROW..Panel::ALL.len()] {
            ui.horizontal(|ui| {
                for i in row {
                    let tex = &mut self.textures[i];
                    field_panel_ui(ui, tex, &specs[i], side, gpu).context_menu(|ui| {
                        for a in [PanelAction::Save, PanelAction::Copy] {
                            let c = Command::PanelImage(Panel::ALL[i], a);
                            if ui.button(c.label()).clicked() {
                                out.push(c);
                            }
                        }
                    });
                }
            });
        }
        out
    }
}

fn waiting_ui(ui: &mut egui::Ui, spin: Option<SpinProgress>) {
    match spin {
        Some(p) => {
            ui.label(format!(
                "Spinning the truth up from a random field to t = {:.0} s ({}×{}) …",
                p.t_end, p.n, p.n
            ));
            ui.add(egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32).show_percentage());
        }
        None => {
            ui.label("Starting … (if this stays, see the message below)");
        }
    }
}
