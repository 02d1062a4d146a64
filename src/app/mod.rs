//! The desktop app (eframe/egui on wgpu): a thin shell over the simulation thread
//! ([`crate::experiment::runner`]). Each region of the window is drawn by its own file
//! and returns [`Command`]s; [`ClosureLabApp::apply`] carries them out once per frame.
//! Polling and scripted runs happen in eframe's `logic()`, drawing in `ui()`; the
//! simulation itself never runs on this thread.
//!
//! Files: `launch` (window options), `compute` (closure device and models), `session`
//! (the simulation thread as the app sees it), `controls`, `fields_view`, `plots`,
//! `status`, `menu`, `windows` (regions), `recording`, `export` (images out),
//! `automation` (screenshot/benchmark runs), `commands`, `settings`, `panels` (one field
//! panel), `gpu` (shader-drawn fields).

mod automation;
pub mod commands;
mod compute;
mod controls;
pub mod export;
mod fields_view;
pub mod gpu;
mod launch;
mod menu;
pub mod panels;
pub mod plots;
mod recording;
mod sampling;
pub mod session;
pub mod settings;
mod status;
mod windows;

use std::time::Instant;

use eframe::egui;

use crate::experiment::presets;
use crate::experiment::runner::RunnerCommand;
use automation::{Automation, FailureSlot};
use commands::Command;
use compute::Compute;
use controls::ControlsContext;
use export::{Exporter, PanelAction};
use fields_view::FieldsView;
use session::Session;
use settings::Settings;
use windows::Windows;

pub use launch::{AppOptions, RASTERISER_NICE, lower_thread_priority, run};
pub(crate) use launch::{display_available, ensure_runtime_dir};

/// The app state. Everything the user sets lives in [`Settings`] (persisted); the
/// simulation lives on its own thread and is rebuilt from the settings.
pub struct ClosureLabApp {
    pub settings: Settings,
    session: Session,
    compute: Compute,
    view: FieldsView,
    windows: Windows,
    exporter: Exporter,
    automation: Automation,
    adapter: String,
    messages: Vec<String>,
    /// Commands of this frame, applied at its end.
    pending: Vec<Command>,
    /// Work for the next frame that needs the egui context.
    pending_copy: Option<egui::ColorImage>,
    want_window_shot: bool,
    rates: status::Rates,
    /// Time of this frame's `logic()` (ms), for the frame benchmark.
    logic_ms: f64,
    /// The window zoom last applied from the settings.
    applied_zoom: f32,
    /// For the simulation rate: thread steps and time at the last measurement.
    rate_mark: (Instant, u64),
}

impl ClosureLabApp {
    /// Build the app. `adapter` describes the wgpu adapter (shown in the window).
    pub fn new(mut settings: Settings, options: AppOptions, adapter: String) -> Self {
        if let Some(id) = options.preset {
            settings.preset = id;
            settings.experiment = presets::get(id).config;
        }
        if let Some(n) = options.n {
            settings.experiment.n = n;
        }
        if let Some(k) = options.ensemble {
            settings.experiment.ensemble = k;
        }
        if let Some((sampler, steps)) = options.sampler {
            settings.experiment.sampler = sampler;
            settings.experiment.sampling_steps = steps;
        }
        if options.dont_wait {
            settings.experiment.blocking = false;
        }
        if let Some(b) = options.backend {
            settings.backend = b;
        }
        settings.sanitize();
        let mut app = ClosureLabApp {
            session: Session::new(),
            compute: Compute::default(),
            view: FieldsView::default(),
            windows: Windows::default(),
            exporter: Exporter::default(),
            automation: Automation::new(options.screenshot.clone(), options.bench_frames),
            adapter,
            messages: Vec::new(),
            pending: Vec::new(),
            pending_copy: None,
            want_window_shot: false,
            rates: status::Rates::default(),
            logic_ms: 0.0,
            applied_zoom: 1.0,
            rate_mark: (Instant::now(), 0),
            settings,
        };
        // the model files the stored settings chose are opened again
        app.compute.remember(app.settings.model.files());
        app.compute.load(app.settings.backend);
        app.session
            .send(RunnerCommand::Speed(app.settings.steps_per_second));
        app.session.restart(&app.settings, &app.compute);
        app.automation.start(&mut app.session);
        app
    }

    /// Use eframe's wgpu renderer: shader colour maps, and burn on the same device when
    /// the adapter is a real GPU (or when the user asks for it).
    pub(crate) fn with_wgpu(mut self, rs: &eframe::egui_wgpu::RenderState) -> Self {
        gpu::GpuFields::register(rs);
        self.compute.attach(rs);
        if self.compute.wants_gpu(self.settings.backend) {
            self.compute.load(self.settings.backend);
            self.session.restart(&self.settings, &self.compute);
        } else {
            // the CPU models loaded in `new` stay; only the reason shown changes
            self.compute.refresh_note(self.settings.backend);
        }
        self
    }

    /// Where a scripted run (screenshot, benchmark) reports failure.
    /// Start with a message for the user (e.g. about the stored settings).
    pub fn with_message(mut self, message: Option<String>) -> Self {
        self.messages.extend(message);
        self
    }

    /// The messages shown to the user (newest last).
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    pub(crate) fn with_failure_slot(mut self, slot: FailureSlot) -> Self {
        self.automation.set_failure_slot(slot);
        self
    }

    /// The simulation as published (read-only), for tests and tools.
    pub fn session(&self) -> &session::Session {
        &self.session
    }

    /// The learned model the current settings take (the picker's choice, or the one it
    /// falls back to), if there is one.
    pub fn model_in_use(&self) -> Option<&settings::ModelId> {
        self.compute.pick(&self.settings).map(|(id, _)| id)
    }

    /// Whether the simulation is playing (as last published, or just asked for).
    pub fn playing(&self) -> bool {
        self.session.playing()
    }

    /// Carry out one command (from a button, menu, shortcut or region).
    pub fn apply(&mut self, c: Command) {
        let export_panel = self.settings.export_panel;
        match c {
            Command::PlayPause => {
                let on = !self.session.playing();
                self.session.send(RunnerCommand::Play(on));
            }
            Command::Step => self.session.send(RunnerCommand::Step(1)),
            Command::StepMany => self.session.send(RunnerCommand::Step(100)),
            Command::Reset => self.restart(),
            Command::NewSeed => {
                let e = &mut self.settings.experiment;
                e.seed = e.seed.wrapping_add(1);
                self.restart();
            }
            Command::Screenshot => self.want_window_shot = true,
            Command::SavePanel => self.panel_image(export_panel, PanelAction::Save),
            Command::CopyPanel => self.panel_image(export_panel, PanelAction::Copy),
            Command::PanelImage(p, a) => self.panel_image(p, a),
            Command::Record => self.toggle_recording(),
            Command::ToggleSensors => self.settings.show_sensors = !self.settings.show_sensors,
            Command::LockRange => {
                self.settings.range_mode = match self.settings.range_mode {
                    settings::RangeMode::Locked => settings::RangeMode::Quantile,
                    _ => settings::RangeMode::Locked,
                };
                self.view.unlock();
            }
            Command::ShowShortcuts => self.windows.shortcuts = !self.windows.shortcuts,
            Command::ShowAbout => self.windows.about = !self.windows.about,
            Command::ResetEverything => {
                self.settings = Settings::default();
                self.compute.load(self.settings.backend);
                self.apply(Command::ApplySettings);
                self.restart();
            }
            Command::SelectPreset(id) => {
                let p = presets::get(id);
                // the grid carries over between presets of the published flow
                let published =
                    |c: &crate::experiment::ExperimentConfig| c.flow.def().grid_is_the_users();
                let keep_n = (published(&p.config) && published(&self.settings.experiment))
                    .then_some(self.settings.experiment.n);
                self.settings.preset = p.id;
                self.settings.experiment = p.config;
                if let Some(n) = keep_n {
                    self.settings.experiment.n = n;
                }
                self.restart();
            }
            Command::ApplySettings => {
                self.settings.sanitize();
                let pace = self.settings.steps_per_second;
                self.session.send(RunnerCommand::Speed(pace));
                self.session.configure(&self.settings, &self.compute);
            }
            Command::ReloadModels => {
                self.compute.load(self.settings.backend);
                self.restart();
            }
            Command::ClearMessages => self.messages.clear(),
            Command::OpenModel => {
                if let Err(e) = self.compute.open_dialog() {
                    self.messages.push(e);
                }
            }
            Command::SaveExperiment => {
                let s = &self.settings;
                let text = crate::experiment::spec::write(s.preset, &s.experiment);
                let name = format!("closure-lab-{}.toml", s.preset);
                self.exporter
                    .save_text(text, &name, &s.export_dir, s.save_dialog);
            }
            Command::OpenExperiment => self.exporter.open_dialog(),
        }
    }

    /// Open an experiment spec (a file saved by File ▸ Save experiment… or written by
    /// `--print-config` for `render`/`posterior`) and run it: what File ▸ Open
    /// experiment… does with the file picked.
    pub fn open_experiment(&mut self, path: &std::path::Path) {
        let read = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| {
                crate::experiment::spec::read(&text).map_err(|e| format!("{}: {e}", path.display()))
            });
        match read {
            Ok((preset, cfg)) => {
                self.settings.preset = preset;
                self.settings.experiment = cfg;
                self.messages
                    .push(format!("opened the experiment {}", path.display()));
                self.restart();
            }
            Err(e) => self.messages.push(e),
        }
    }

    /// Open a model file (`.bpk` + card, or a PyTorch `.pth`) without the dialog: what
    /// File ▸ Open model… does with the file picked.
    pub fn open_model(&mut self, path: &std::path::Path) {
        let answer = self.compute.open(path, self.settings.backend);
        self.opened(answer);
    }

    fn opened(&mut self, answer: Result<(settings::Slot, settings::ModelId), String>) {
        match answer {
            Ok((slot, id)) => {
                self.messages
                    .push(format!("opened {id}; it is now the {slot} model"));
                self.settings.model.set(slot, id);
                self.restart();
            }
            Err(e) => self.messages.push(e),
        }
    }

    fn restart(&mut self) {
        self.settings.sanitize();
        self.view.unlock();
        self.session.restart(&self.settings, &self.compute);
    }

    fn toggle_recording(&mut self) {
        if self.session.recording().is_some() {
            return self.session.send(RunnerCommand::StopObserving);
        }
        let Some(snap) = self.session.snapshot() else {
            return self.messages.push("nothing to record yet".into());
        };
        match recording::Recording::start(&self.settings, snap) {
            Ok(r) => self.session.send(RunnerCommand::Observe(Box::new(r))),
            Err(e) => self.messages.push(e),
        }
    }

    /// Save or copy one panel as an image without GUI chrome.
    fn panel_image(&mut self, panel: crate::experiment::Panel, action: PanelAction) {
        let Some(snap) = self.session.snapshot() else {
            return self.messages.push("no fields to export yet".into());
        };
        let img = self.view.panel_image(snap, &self.settings, panel);
        let s = &self.settings;
        match action {
            PanelAction::Save => {
                let name = format!(
                    "closure-lab-{}-t{:.2}-{}x.png",
                    panel.id(),
                    snap.t,
                    s.export_scale
                );
                self.exporter.save(img, &name, &s.export_dir, s.save_dialog);
            }
            PanelAction::Copy => {
                self.messages.push(format!(
                    "copied the {} panel ({}×{}) to the clipboard",
                    panel.id(),
                    img.width(),
                    img.height()
                ));
                self.pending_copy = Some(export::to_color_image(&img));
            }
        }
    }

    /// Images that need the egui context: clipboard copies and window screenshots.
    fn export_logic(&mut self, ctx: &egui::Context) {
        if let Some(img) = self.pending_copy.take() {
            ctx.copy_image(img);
        }
        if std::mem::take(&mut self.want_window_shot) {
            // the shot shows no tooltip wherever the pointer rests
            ctx.global_style_mut(|s| s.interaction.tooltip_delay = f32::INFINITY);
            self.exporter.request_window_shot(ctx);
        }
        if let Some(img) = self.exporter.take_window_shot() {
            if !self.automation.active() {
                let delay = egui::style::Interaction::default().tooltip_delay;
                ctx.global_style_mut(|s| s.interaction.tooltip_delay = delay);
            }
            let t = self.session.snapshot().map_or(0.0, |s| s.t);
            let name = format!("closure-lab-window-t{t:.2}.png");
            let s = &self.settings;
            self.exporter.save(img, &name, &s.export_dir, s.save_dialog);
        }
        let done = self.exporter.messages();
        if !done.is_empty() {
            ctx.request_repaint();
        }
        self.messages.extend(done);
    }

    fn measure_rate(&mut self) {
        let (t0, s0) = self.rate_mark;
        let dt = t0.elapsed().as_secs_f32();
        if dt >= 0.5 {
            let steps = self.session.steps();
            self.rates.steps_per_s = steps.saturating_sub(s0) as f32 / dt;
            self.rate_mark = (Instant::now(), steps);
        }
    }
}

impl eframe::App for ClosureLabApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let news = self.session.poll();
        let fatal = news
            .iter()
            .any(|m| matches!(m, crate::experiment::runner::RunnerMessage::CannotStart(_)));
        let news: Vec<String> = news.iter().map(ToString::to_string).collect();
        if self.automation.active() && fatal {
            self.automation.abort(ctx, &news.join("; "));
        }
        self.messages.extend(news);
        if self.compute.poll() {
            self.restart();
        }
        if let Some(answer) = self.compute.poll_open(self.settings.backend) {
            self.opened(answer);
        }
        if let Some(path) = self.exporter.take_opened() {
            self.open_experiment(&path);
        }
        for c in menu::shortcuts(ctx) {
            self.apply(c);
        }
        self.export_logic(ctx);
        if self.automation.active() {
            // a scripted window shot shows no tooltip wherever the pointer rests
            ctx.global_style_mut(|s| s.interaction.tooltip_delay = f32::INFINITY);
        }
        self.automation.screenshot(ctx, &self.session);
        self.measure_rate();
        if self.session.playing()
            || self.session.spin().is_some()
            || self.compute.loading()
            || self.automation.active()
        {
            ctx.request_repaint();
        }
        self.logic_ms = t0.elapsed().as_secs_f64() * 1e3;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        // the UI-scale setting and the keyboard zoom stay one value: a changed setting
        // zooms, a keyboard zoom moves the setting
        let zoom = ctx.zoom_factor();
        if (self.settings.ui_scale - self.applied_zoom).abs() > 1e-4 {
            ctx.set_zoom_factor(self.settings.ui_scale);
        } else if (zoom - self.applied_zoom).abs() > 1e-4 {
            self.settings.ui_scale = settings::limits::UI_SCALE.clamp(zoom);
        }
        self.applied_zoom = self.settings.ui_scale;
        let snap = self.session.snapshot();
        let mut out = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| out.extend(menu::menu_ui(ui)));
        egui::Panel::bottom("status").show(ui, |ui| {
            let h = &self.session.history;
            out.extend(status::status_ui(
                ui,
                snap,
                h,
                self.rates,
                self.messages.last().map(String::as_str),
            ))
        });
        egui::Panel::left("controls")
            .resizable(false)
            .default_size(300.0)
            .show(ui, |ui| {
                let cx = ControlsContext {
                    playing: self.session.playing(),
                    recording: self.session.recording(),
                    dialog_open: self.exporter.dialog_open(),
                    latency_ms: snap.and_then(|s| s.latency_ms),
                    draw_timing: snap.map(|s| s.draw_timing).unwrap_or_default(),
                    compute: &self.compute,
                    adapter: &self.adapter,
                };
                egui::ScrollArea::vertical().show(ui, |ui| {
                    out.extend(controls::controls_ui(ui, &mut self.settings, &cx))
                });
            });
        egui::Panel::bottom("plots")
            .resizable(true)
            .min_size(170.0)
            .default_size((ui.available_height() * 0.34).clamp(170.0, 320.0))
            .show(ui, |ui| {
                let e = &self.settings.experiment;
                // the model card's a-priori calibration at this sensor density and sampler
                let card = (e.closure == crate::experiment::ClosureMode::Learned)
                    .then(|| self.compute.learned(&self.settings))
                    .flatten()
                    .and_then(|m| m.card_spread_skill(e));
                plots::plots_ui(
                    ui,
                    &self.session.history,
                    snap,
                    card,
                    &mut self.settings.show_held,
                )
            });
        let gpu = self.compute.shader && self.settings.gpu_colormap;
        let spin = self.session.spin();
        egui::CentralPanel::default().show(ui, |ui| {
            out.extend(self.view.ui(ui, snap, spin, &self.settings, gpu))
        });
        self.windows.ui(&ctx, self.compute.models());
        self.pending.extend(out);
        for c in std::mem::take(&mut self.pending) {
            self.apply(c);
        }
        let work_ms = self.logic_ms + t0.elapsed().as_secs_f64() * 1e3;
        self.rates.frame_ms = 0.9 * self.rates.frame_ms + 0.1 * work_ms as f32;
        self.automation
            .bench(&ctx, &self.session, work_ms, &self.adapter);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.automation.active() {
            eframe::set_value(storage, Settings::KEY, &self.settings);
        }
    }
}
