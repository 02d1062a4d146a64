//! The desktop app (eframe/egui on wgpu): a thin shell over [`crate::experiment`].
//! Panels show the truth, the model run with and without closure, the true and sampled
//! closure, the ensemble spread and the error; plots show the published metrics live.

pub mod commands;
pub mod export;
pub mod gpu;
pub mod panels;
pub mod presets;
pub mod settings;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::closure::model::ClosureModel;
use crate::closure::sampler::Sampler;
use crate::experiment::{ClosureMode, Experiment, ExperimentConfig, Fields, PANELS};
use crate::render::{Colormap, Range};
use crate::solver::Case;
use commands::Command;
use export::{Exporter, PanelAction};
use panels::{PanelSpec, PanelTexture, field_panel_ui};
use presets::Preset;
use settings::{Backend, RangeMode, Settings};

/// How the app was started.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Save a PNG of the window after this many simulation steps, then exit.
    pub screenshot: Option<(PathBuf, u64)>,
    /// Start with this preset (overrides the stored settings).
    pub preset: Option<String>,
    /// Benchmark: play for this many frames once the runs start, print frame times and
    /// sampler latency, exit.
    pub bench_frames: Option<u64>,
    /// Overrides of the preset's grid and ensemble size.
    pub n: Option<usize>,
    pub ensemble: Option<usize>,
    /// Window size in points (default 1500 × 940).
    pub size: Option<[f32; 2]>,
    /// Where the closure runs, instead of the stored setting.
    pub backend: Option<Backend>,
}

/// Frame-time record of `gui --bench-frames`.
#[derive(Default)]
struct FrameBench {
    ui_ms: Vec<f64>,
    interval_ms: Vec<f64>,
    last: Option<Instant>,
    start_steps: u64,
    start: Option<Instant>,
}

/// A truth spin-up running on a worker thread.
struct SpinUp {
    done: Arc<AtomicU64>,
    total: u64,
    rx: Receiver<Result<(Vec<f64>, f64), String>>,
    cancel: Arc<AtomicBool>,
    cfg: ExperimentConfig,
}

/// The app state. Everything the user sets lives in [`Settings`] (persisted); the
/// simulation itself is rebuilt from it.
pub struct ClosureLabApp {
    pub settings: Settings,
    models: Vec<ClosureModel>,
    model_note: String,
    /// Where the closure runs, and why.
    compute_note: String,
    /// Models being loaded onto the GPU in the background.
    model_rx: Option<Receiver<(Vec<ClosureModel>, String)>>,
    pub exp: Option<Experiment>,
    spin: Option<SpinUp>,
    /// Cached spun-up state: (N, seed, σ, forcing, t) → ω.
    spun: Option<((usize, u64, u64, u64), Vec<f64>, f64)>,
    pub playing: bool,
    textures: Vec<PanelTexture>,
    fields: Option<Fields>,
    messages: Vec<String>,
    show_shortcuts: bool,
    show_about: bool,
    adapter: String,
    options: AppOptions,
    screenshot_requested: bool,
    frame_ms: f32,
    sim_ms: f32,
    locked: Option<Range>,
    bench: FrameBench,
    /// In-app recording, if one is running.
    pub recording: Option<Recording>,
    exporter: Exporter,
    compute: Compute,
    /// Work for the next frame that needs the egui context.
    pending_copy: Option<egui::ColorImage>,
    want_window_shot: bool,
}

/// Where the learned closure runs: eframe's wgpu device (shared with burn, created on
/// first use: cubecl compiles kernels then) or burn's CPU backend.
#[derive(Default)]
struct Compute {
    /// eframe's instance/adapter/device/queue, when the wgpu renderer runs.
    setup: Option<(wgpu::Instance, wgpu::Adapter, wgpu::Device, wgpu::Queue)>,
    /// The adapter is a hardware GPU (not a software rasteriser).
    real_gpu: bool,
    gpu: Option<Result<burn::tensor::Device, String>>,
    /// Shader colour maps are registered with the renderer.
    shader: bool,
}

/// An in-app recording of the chosen panels side by side (by default truth | with
/// closure | without closure, the published animation), one frame every `every` seconds
/// of simulation time (pauses never show), colours fixed from the first frame.
pub struct Recording {
    rec: crate::render::record::Recorder,
    next_t: f64,
    every: f64,
    pub frames: usize,
    panels: Vec<(&'static str, Range, Colormap)>,
    scale: usize,
    path: PathBuf,
}

impl ClosureLabApp {
    /// Build the app. `adapter` describes the wgpu adapter (shown in the window).
    pub fn new(mut settings: Settings, options: AppOptions, adapter: String) -> Self {
        if let Some(p) = &options.preset {
            if let Some(preset) = presets::by_id(p) {
                settings.preset = preset.id.into();
                settings.experiment = preset.config.clone();
            }
        }
        if let Some(n) = options.n {
            settings.experiment.n = n;
        }
        if let Some(k) = options.ensemble {
            settings.experiment.ensemble = k;
        }
        if let Some(b) = options.backend {
            settings.backend = b;
        }
        settings.sanitize();
        let mut app = ClosureLabApp {
            settings,
            models: Vec::new(),
            model_note: String::new(),
            compute_note: String::new(),
            model_rx: None,
            exp: None,
            spin: None,
            spun: None,
            playing: options.screenshot.is_some() || options.bench_frames.is_some(),
            textures: (0..7).map(|_| PanelTexture::default()).collect(),
            fields: None,
            messages: Vec::new(),
            show_shortcuts: false,
            show_about: false,
            adapter,
            options,
            screenshot_requested: false,
            frame_ms: 0.0,
            sim_ms: 0.0,
            locked: None,
            bench: FrameBench::default(),
            recording: None,
            exporter: Exporter::default(),
            compute: Compute::default(),
            pending_copy: None,
            want_window_shot: false,
        };
        app.load_models();
        app.restart();
        app
    }

    /// Use eframe's wgpu renderer: shader colour maps, and burn on the same device when
    /// the adapter is a real GPU (or when the user asks for it).
    pub fn with_wgpu(mut self, rs: &eframe::egui_wgpu::RenderState) -> Self {
        gpu::GpuFields::register(rs);
        self.compute.shader = true;
        self.compute.real_gpu = !matches!(
            rs.adapter.get_info().device_type,
            wgpu::DeviceType::Cpu | wgpu::DeviceType::Other
        );
        self.compute.setup = Some((
            rs.instance.clone(),
            rs.adapter.clone(),
            rs.device.clone(),
            rs.queue.clone(),
        ));
        if self.wants_gpu() {
            self.load_models();
            self.restart();
        } else {
            // the CPU models loaded in `new` stay; only the reason shown changes
            self.compute_note = self.closure_device().1;
        }
        self
    }

    /// Whether the closure should run on the GPU with the current settings and adapter.
    fn wants_gpu(&self) -> bool {
        match self.settings.backend {
            Backend::Cpu => false,
            Backend::Auto => self.compute.real_gpu,
            Backend::Gpu => true,
        }
    }

    /// The device the closure should run on now, and a note saying which and why.
    fn closure_device(&mut self) -> (burn::tensor::Device, String, bool) {
        let want_gpu = self.wants_gpu();
        let c = &mut self.compute;
        let cpu = burn::tensor::Device::flex();
        if !want_gpu {
            let why = if self.settings.backend == Backend::Cpu {
                "chosen"
            } else if c.setup.is_some() {
                "the adapter is a software rasteriser"
            } else {
                "no wgpu renderer"
            };
            return (cpu, format!("closure on CPU (burn flex; {why})"), false);
        }
        let Some((instance, adapter, device, queue)) = &c.setup else {
            return (cpu, "closure on CPU: no wgpu device to share".into(), false);
        };
        let gpu = c
            .gpu
            .get_or_insert_with(|| gpu::burn_device(instance, adapter, device, queue));
        match gpu {
            Ok(d) => (
                d.clone(),
                "closure on the GPU (burn wgpu, eframe's device)".into(),
                true,
            ),
            Err(e) => (
                cpu,
                format!("closure on CPU: burn could not use the wgpu device ({e})"),
                false,
            ),
        }
    }

    /// (Re)load the embedded models on the chosen device: at once on the CPU; on a GPU in
    /// the background, since burn compiles its kernels on first use (seconds) and the
    /// window must not freeze meanwhile ([`Self::poll_models`] picks them up).
    fn load_models(&mut self) {
        let (device, where_, on_gpu) = self.closure_device();
        self.compute_note = where_;
        let load = move || {
            let mut notes = Vec::new();
            let mut models = Vec::new();
            for case in [Case::G, Case::H] {
                match ClosureModel::embedded_for(case, &device) {
                    Ok(m) => {
                        notes.push(format!(
                            "{} (trained on {}²)",
                            m.card.name, m.card.training.grid
                        ));
                        models.push(m);
                    }
                    Err(e) => notes.push(format!("embedded {case} model unavailable: {e}")),
                }
            }
            (models, notes.join("\n"))
        };
        self.models.clear();
        if !on_gpu {
            (self.models, self.model_note) = load();
            self.model_rx = None;
            return;
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(load());
        });
        self.model_note = "moving the closure to the GPU (burn compiles its kernels) …".into();
        self.model_rx = Some(rx);
    }

    /// Models finished loading in the background: use them.
    fn poll_models(&mut self) {
        let Some(rx) = &self.model_rx else { return };
        if let Ok((models, note)) = rx.try_recv() {
            self.models = models;
            self.model_note = note;
            self.model_rx = None;
            self.restart();
        }
    }

    fn preset(&self) -> Option<Preset> {
        presets::by_id(&self.settings.preset)
    }

    fn model_for(&self, case: Case) -> Option<ClosureModel> {
        self.models
            .iter()
            .find(|m| m.card.inputs.case == case)
            .cloned()
    }

    /// (Re)start the experiment from the preset's initial state with the current settings.
    pub fn restart(&mut self) {
        self.exp = None;
        self.fields = None;
        self.locked = None;
        let cfg = self.settings.experiment.clone();
        if let Err(e) = cfg.validate() {
            self.messages.push(e.to_string());
            return;
        }
        let spin_to = self.preset().map_or(0.0, |p| p.spin_up);
        let key = (cfg.n, cfg.seed, cfg.sigma.to_bits(), cfg.forcing.to_bits());
        if spin_to <= 0.0 {
            self.start_from(cfg, None);
        } else if let Some((k, w, t)) = &self.spun {
            if *k == key {
                let (w, t) = (w.clone(), *t);
                self.start_from(cfg, Some((w, t)));
                return;
            }
            self.spawn_spin(cfg, spin_to);
        } else {
            self.spawn_spin(cfg, spin_to);
        }
    }

    fn spawn_spin(&mut self, cfg: ExperimentConfig, t_end: f64) {
        if let Some(s) = self.spin.take() {
            s.cancel.store(true, Ordering::Relaxed);
        }
        let total = (t_end / cfg.dt).round() as u64;
        let done = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let (d, c, cf) = (done.clone(), cancel.clone(), cfg.clone());
        std::thread::spawn(move || {
            let progress = |k: u64, _total: u64| d.store(k, Ordering::Relaxed);
            let r =
                crate::experiment::spin_up(&cf, t_end, &progress, &c).map_err(|e| e.to_string());
            let _ = tx.send(r);
        });
        self.spin = Some(SpinUp {
            done,
            total,
            rx,
            cancel,
            cfg,
        });
    }

    fn start_from(&mut self, cfg: ExperimentConfig, state: Option<(Vec<f64>, f64)>) {
        let model = if cfg.closure == ClosureMode::Learned {
            self.model_for(cfg.case)
        } else {
            None
        };
        let result = match state {
            None => Experiment::new(cfg.clone(), model),
            Some((w, t)) => Experiment::at(cfg.clone(), &w, t, model),
        };
        match result {
            Ok(e) => {
                self.exp = Some(e);
                self.refresh_fields();
            }
            Err(e) => self.messages.push(format!("cannot start: {e}")),
        }
    }

    fn poll_spin(&mut self) {
        let Some(s) = &self.spin else { return };
        if let Ok(r) = s.rx.try_recv() {
            let cfg = s.cfg.clone();
            self.spin = None;
            match r {
                Ok((w, t)) => {
                    self.spun = Some((
                        (cfg.n, cfg.seed, cfg.sigma.to_bits(), cfg.forcing.to_bits()),
                        w.clone(),
                        t,
                    ));
                    self.start_from(self.settings.experiment.clone(), Some((w, t)));
                }
                Err(e) if e.contains("cancelled") => {}
                Err(e) => self.messages.push(format!("spin-up failed: {e}")),
            }
        }
    }

    /// Apply the settings to the running experiment (live where possible, else restart).
    pub fn apply_settings(&mut self) {
        self.settings.sanitize();
        let cfg = self.settings.experiment.clone();
        let model_available = self.model_for(cfg.case).is_some();
        let Some(exp) = &mut self.exp else {
            if self.spin.is_none() {
                self.restart();
            }
            return;
        };
        let old = exp.config().clone();
        if old == cfg {
            return;
        }
        let closure_attached = exp.has_model();
        let needs_model =
            cfg.closure == ClosureMode::Learned && !closure_attached && model_available;
        if needs_model || exp.update_live(&cfg).is_err() {
            self.restart();
        }
    }

    pub fn run_command(&mut self, c: Command) {
        match c {
            Command::PlayPause => self.playing = !self.playing,
            Command::Step => self.advance(1),
            Command::StepMany => self.advance(100),
            Command::Reset => self.restart(),
            Command::NewSeed => {
                self.settings.experiment.seed = self.settings.experiment.seed.wrapping_add(1);
                self.restart();
            }
            Command::Screenshot => self.want_window_shot = true,
            Command::SavePanel => {
                self.panel_action(&self.settings.export_panel.clone(), PanelAction::Save)
            }
            Command::CopyPanel => {
                self.panel_action(&self.settings.export_panel.clone(), PanelAction::Copy)
            }
            Command::Record => self.toggle_recording(),
            Command::ToggleSensors => self.settings.show_sensors = !self.settings.show_sensors,
            Command::LockRange => {
                self.settings.range_mode = if self.settings.range_mode == RangeMode::Locked {
                    RangeMode::Quantile
                } else {
                    RangeMode::Locked
                };
                self.locked = None;
            }
            Command::ShowShortcuts => self.show_shortcuts = !self.show_shortcuts,
            Command::ShowAbout => self.show_about = !self.show_about,
            Command::ResetEverything => {
                self.settings = Settings::default();
                self.restart();
            }
        }
    }

    /// Advance the experiment by `k` steps (stops and reports on a blow-up).
    pub fn advance(&mut self, k: u64) {
        for _ in 0..k {
            if !self.step_once() {
                break;
            }
        }
        self.refresh_fields();
    }

    /// One step of the experiment plus the recording's frame when one is due.
    fn step_once(&mut self) -> bool {
        let Some(exp) = &mut self.exp else {
            return false;
        };
        if let Err(e) = exp.step() {
            self.playing = false;
            self.messages.push(format!("simulation stopped: {e}"));
            return false;
        }
        self.capture_if_due();
        true
    }

    /// Start or stop the in-app recording.
    pub fn toggle_recording(&mut self) {
        if let Some(r) = self.recording.take() {
            let frames = r.frames;
            match r.rec.finish() {
                Ok(p) => self
                    .messages
                    .push(format!("saved {} ({frames} frames)", p.display())),
                Err(e) => self.messages.push(e.to_string()),
            }
            return;
        }
        let Some(exp) = &mut self.exp else { return };
        let f = exp.fields(None);
        let ext = match self.settings.record_format.as_str() {
            "mp4" => "mp4",
            "png" => "",
            _ => "gif",
        };
        let name = format!("closure-lab-{}-t{:.2}", self.settings.preset, f.t);
        let path = PathBuf::from(&self.settings.export_dir).join(if ext.is_empty() {
            format!("{name}/")
        } else {
            format!("{name}.{ext}")
        });
        let scale = (256 / f.n).max(1);
        let omega = Range::symmetric_quantile(&[&f.truth], 0.995);
        let s = &self.settings;
        let panels: Vec<(&'static str, Range, Colormap)> = PANELS
            .iter()
            .filter(|p| s.record_panels.iter().any(|q| q == p.0))
            .filter_map(|p| {
                let field = f.panel(p.0)?;
                let (r, c) = crate::render::record::movie_style(
                    p.0,
                    field,
                    omega,
                    s.diverging,
                    s.sequential,
                );
                Some((p.0, r, c))
            })
            .collect();
        if panels.is_empty() {
            self.messages
                .push("choose at least one panel to record (the row under Record)".into());
            return;
        }
        let size = crate::render::record::strip_size(panels.len(), f.n, scale);
        match crate::render::record::Recorder::create(&path, 10.0, size) {
            Ok(rec) => {
                self.recording = Some(Recording {
                    rec,
                    next_t: f.t,
                    every: self.settings.record_every,
                    frames: 0,
                    panels,
                    scale,
                    path,
                });
                self.capture_if_due();
            }
            Err(e) => self.messages.push(e.to_string()),
        }
    }

    fn capture_if_due(&mut self) {
        let (Some(r), Some(exp)) = (&mut self.recording, &mut self.exp) else {
            return;
        };
        if exp.t() + 1e-9 < r.next_t {
            return;
        }
        let f = exp.fields(None);
        let panels: Vec<(&[f64], Range, Colormap)> = r
            .panels
            .iter()
            .filter_map(|&(id, range, cmap)| Some((f.panel(id)?, range, cmap)))
            .collect();
        let img = crate::render::record::strip(&panels, f.n, r.scale);
        match r.rec.push(&img) {
            Ok(()) => {
                r.frames += 1;
                r.next_t += r.every;
            }
            Err(e) => {
                let msg = format!("recording to {} stopped: {e}", r.path.display());
                self.recording = None;
                self.messages.push(msg);
            }
        }
    }

    fn refresh_fields(&mut self) {
        if let Some(exp) = &mut self.exp {
            self.fields = Some(exp.fields(self.settings.member));
        }
    }

    fn omega_range(&mut self, f: &Fields) -> Range {
        let fields: [&[f64]; 3] = [&f.truth, &f.with, &f.without];
        match self.settings.range_mode {
            RangeMode::Auto => Range::symmetric(&fields),
            RangeMode::Quantile => Range::symmetric_quantile(&fields, 0.99),
            RangeMode::Locked => *self
                .locked
                .get_or_insert_with(|| Range::symmetric_quantile(&fields, 0.99)),
        }
    }

    /// Save or copy one panel as an image without GUI chrome: title (with time and
    /// unit), the field at the export scale, colorbar with values.
    pub fn panel_action(&mut self, id: &str, action: PanelAction) {
        let Some(f) = self.fields.take() else {
            self.messages.push("no fields to export yet".into());
            return;
        };
        let w_range = self.omega_range(&f);
        let scale = self.settings.export_scale;
        let made = self
            .panel_specs(&f, w_range)
            .into_iter()
            .find(|p| p.id == id)
            .map(|p| {
                let title = format!("{} [{}]   t = {:.2} s", p.title, p.unit, f.t);
                crate::render::panel::panel_image(p.field, p.n, p.range, p.cmap, scale, &title).0
            });
        let t = f.t;
        self.fields = Some(f);
        let Some(img) = made else {
            self.messages.push(format!("no panel called `{id}`"));
            return;
        };
        match action {
            PanelAction::Save => {
                let name = format!("closure-lab-{id}-t{t:.2}-{scale}x.png");
                let s = &self.settings;
                self.exporter.save(img, &name, &s.export_dir, s.save_dialog);
            }
            PanelAction::Copy => {
                self.messages.push(format!(
                    "copied the {id} panel ({}×{}) to the clipboard",
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
            self.exporter.request_window_shot(ctx);
        }
        if let Some(img) = self.exporter.take_window_shot() {
            let t = self.exp.as_ref().map_or(0.0, |e| e.t());
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

    fn shortcuts(&mut self, ctx: &egui::Context) {
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
        for c in fired {
            self.run_command(c);
        }
    }

    /// Menu entries for commands, each with its shortcut.
    fn command_menu(&mut self, ui: &mut egui::Ui, commands: &[Command]) {
        for &c in commands {
            let text = match c.shortcut() {
                Some(sc) => format!("{}  ({})", c.label(), ui.ctx().format_shortcut(&sc)),
                None => c.label().to_string(),
            };
            if ui.button(text).clicked() {
                self.run_command(c);
            }
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                self.command_menu(
                    ui,
                    &[
                        Command::SavePanel,
                        Command::CopyPanel,
                        Command::Screenshot,
                        Command::Record,
                        Command::ResetEverything,
                    ],
                )
            });
            ui.menu_button("Run", |ui| {
                self.command_menu(
                    ui,
                    &[
                        Command::PlayPause,
                        Command::Step,
                        Command::StepMany,
                        Command::Reset,
                        Command::NewSeed,
                    ],
                )
            });
            ui.menu_button("Presets", |ui| {
                for p in presets::all() {
                    if ui.button(p.title).on_hover_text(p.description).clicked() {
                        self.select_preset(&p);
                    }
                }
            });
            ui.menu_button("Help", |ui| {
                for c in [Command::ShowShortcuts, Command::ShowAbout] {
                    if ui.button(c.label()).clicked() {
                        self.run_command(c);
                    }
                }
            });
        });
    }

    pub fn select_preset(&mut self, p: &Preset) {
        self.settings.preset = p.id.into();
        let keep_n = self.settings.experiment.n;
        self.settings.experiment = p.config.clone();
        self.settings.experiment.n = keep_n;
        self.restart();
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui) {
        let before = self.settings.clone();
        ui.heading("Closure Lab");
        ui.horizontal(|ui| {
            let label = if self.playing { "Pause" } else { "Play" };
            if ui.button(label).clicked() {
                self.run_command(Command::PlayPause);
            }
            if ui.button("Step").clicked() {
                self.run_command(Command::Step);
            }
            if ui.button("+100").clicked() {
                self.run_command(Command::StepMany);
            }
            if ui.button("Reset").clicked() {
                self.run_command(Command::Reset);
            }
            if ui.button("New seed").clicked() {
                self.run_command(Command::NewSeed);
            }
        });
        ui.horizontal(|ui| {
            let label = match &self.recording {
                Some(r) => format!("Stop recording ({} frames)", r.frames),
                None => "Record".to_string(),
            };
            if ui
                .button(label)
                .on_hover_text("truth | with | without, one frame per interval of simulation time")
                .clicked()
            {
                self.run_command(Command::Record);
            }
            let s = &mut self.settings;
            egui::ComboBox::from_label("format")
                .selected_text(s.record_format.as_str())
                .show_ui(ui, |ui| {
                    for f in ["gif", "png", "mp4"] {
                        ui.selectable_value(&mut s.record_format, f.to_string(), f);
                    }
                });
            ui.add(
                egui::DragValue::new(&mut s.record_every)
                    .range(0.001..=10.0)
                    .speed(0.01)
                    .suffix(" s"),
            )
            .on_hover_text("simulation time between frames");
        });
        ui.horizontal(|ui| {
            let s = &mut self.settings;
            egui::ComboBox::from_id_salt("export-panel")
                .selected_text(s.export_panel.as_str())
                .show_ui(ui, |ui| {
                    for (id, ..) in PANELS {
                        ui.selectable_value(&mut s.export_panel, id.to_string(), id);
                    }
                })
                .response
                .on_hover_text("panel saved or copied as an image (right-click any panel, too)");
            for k in [1usize, 2, 4] {
                ui.selectable_value(&mut s.export_scale, k, format!("{k}×"))
                    .on_hover_text("image pixels per grid point");
            }
        });
        ui.horizontal(|ui| {
            for c in [Command::SavePanel, Command::CopyPanel, Command::Screenshot] {
                let short = match c {
                    Command::SavePanel => "Save panel",
                    Command::CopyPanel => "Copy panel",
                    _ => "Window shot",
                };
                if ui.button(short).on_hover_text(c.label()).clicked() {
                    self.run_command(c);
                }
            }
        });
        ui.checkbox(&mut self.settings.save_dialog, "ask where to save")
            .on_hover_text("native save dialog; untick to save straight into the export folder");
        if self.exporter.dialog_open() {
            ui.label(RichText::new("save dialog open …").italics());
        }
        ui.add_enabled_ui(self.recording.is_none(), |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label("record");
                for (id, ..) in PANELS {
                    let on = self.settings.record_panels.iter().any(|p| p == id);
                    if ui.selectable_label(on, id).clicked() {
                        let r = &mut self.settings.record_panels;
                        if on {
                            r.retain(|p| p != id);
                        } else {
                            r.push(id.to_string());
                        }
                    }
                }
            });
        });
        if let (Err(why), "mp4") = (
            crate::render::record::mp4_available(),
            self.settings.record_format.as_str(),
        ) {
            ui.label(RichText::new(why).color(Color32::from_rgb(200, 140, 0)));
        }
        let s = &mut self.settings;
        ui.add(
            egui::Slider::new(&mut s.steps_per_frame, 1..=200)
                .logarithmic(true)
                .text("steps / frame"),
        );
        ui.separator();
        let e = &mut s.experiment;
        ui.horizontal(|ui| {
            ui.label("Case");
            ui.selectable_value(&mut e.case, Case::G, "G: νΔω + 2σξ");
            ui.selectable_value(&mut e.case, Case::H, "H: −u·∇ω + σξ");
        });
        ui.horizontal(|ui| {
            ui.label("Closure");
            ui.selectable_value(&mut e.closure, ClosureMode::Learned, "learned");
            ui.selectable_value(&mut e.closure, ClosureMode::Oracle, "oracle");
            ui.selectable_value(&mut e.closure, ClosureMode::Off, "off");
        });
        egui::ComboBox::from_label("sensors")
            .selected_text(format!("{0}×{0}", e.sensors))
            .show_ui(ui, |ui| {
                for k in [4usize, 8, 16, 32] {
                    if k <= e.n {
                        ui.selectable_value(&mut e.sensors, k, format!("{k}×{k}"));
                    }
                }
            });
        ui.add(
            egui::Slider::new(&mut e.sampling_steps, 1..=1000)
                .logarithmic(true)
                .text("sampling steps"),
        );
        let nfe = e.sampler.nfe(e.sampling_steps);
        let lat = self.exp.as_ref().and_then(|x| x.last_latency_ms());
        ui.label(format!(
            "{nfe} network evaluations per sample · {}",
            lat.map_or("latency —".to_string(), |l| format!(
                "{l:.0} ms per ensemble"
            ))
        ));
        egui::ComboBox::from_label("sampler")
            .selected_text(match e.sampler {
                Sampler::EulerMaruyama => "Euler–Maruyama (SDE)",
                Sampler::Heun => "Heun (ODE)",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(
                    &mut e.sampler,
                    Sampler::EulerMaruyama,
                    "Euler–Maruyama (SDE)",
                );
                ui.selectable_value(&mut e.sampler, Sampler::Heun, "Heun (ODE)");
            });
        ui.add(
            egui::Slider::new(&mut e.t_start, 0.01..=1.0)
                .logarithmic(true)
                .text("start time T"),
        );
        ui.add(egui::Slider::new(&mut e.ensemble, 1..=16).text("ensemble"));
        ui.add(
            egui::Slider::new(&mut e.resample_every, 1..=100)
                .logarithmic(true)
                .text("resample every (steps)"),
        );
        ui.add(
            egui::Slider::new(&mut e.nu, 2e-4..=1e-2)
                .logarithmic(true)
                .text("ν")
                .custom_formatter(|v, _| format!("{v:.1e}")),
        );
        egui::ComboBox::from_label("grid N")
            .selected_text(format!("{0}×{0}", e.n))
            .show_ui(ui, |ui| {
                for k in [64usize, 128, 256] {
                    ui.selectable_value(&mut e.n, k, format!("{k}×{k}"));
                }
            });
        if e.closure == ClosureMode::Learned {
            let warn = |ui: &mut egui::Ui, t: String| {
                ui.label(RichText::new(t).color(Color32::from_rgb(200, 140, 0)));
            };
            match self.models.iter().find(|m| m.card.inputs.case == e.case) {
                Some(m) if m.card.training.grid != e.n => warn(
                    ui,
                    format!(
                        "⚠ the model was trained on {0}×{0}; running zero-shot at {1}×{1}",
                        m.card.training.grid, e.n
                    ),
                ),
                Some(_) => {}
                None if self.model_rx.is_some() => warn(
                    ui,
                    "loading the learned model onto the GPU; the model run has no closure until then"
                        .into(),
                ),
                None => warn(
                    ui,
                    format!(
                        "⚠ no learned model for case {}: the model run gets no closure",
                        e.case
                    ),
                ),
            }
        }
        ui.separator();
        egui::ComboBox::from_label("ω colour map")
            .selected_text(s.diverging.name())
            .show_ui(ui, |ui| {
                for c in Colormap::DIVERGING {
                    ui.selectable_value(&mut s.diverging, c, c.name());
                }
            });
        egui::ComboBox::from_label("spread/error map")
            .selected_text(s.sequential.name())
            .show_ui(ui, |ui| {
                for c in Colormap::SEQUENTIAL {
                    ui.selectable_value(&mut s.sequential, c, c.name());
                }
            });
        ui.horizontal(|ui| {
            ui.label("ω range");
            ui.selectable_value(&mut s.range_mode, RangeMode::Auto, "auto");
            ui.selectable_value(&mut s.range_mode, RangeMode::Quantile, "99 %");
            ui.selectable_value(&mut s.range_mode, RangeMode::Locked, "locked");
        });
        ui.checkbox(&mut s.show_sensors, "show sensors");
        ui.add_enabled(
            self.compute.shader,
            egui::Checkbox::new(&mut s.gpu_colormap, "colour maps on the GPU (WGSL shader)"),
        )
        .on_disabled_hover_text("needs the wgpu renderer");
        ui.horizontal(|ui| {
            ui.label("closure on");
            ui.selectable_value(&mut s.backend, Backend::Auto, "auto")
                .on_hover_text("GPU when the adapter is a real GPU, else CPU");
            ui.selectable_value(&mut s.backend, Backend::Cpu, "CPU");
            ui.add_enabled_ui(self.compute.setup.is_some(), |ui| {
                ui.selectable_value(&mut s.backend, Backend::Gpu, "GPU")
                    .on_hover_text("burn on eframe's wgpu device (slow on a software adapter)");
            });
        });
        ui.horizontal(|ui| {
            let label = ui.label("export folder");
            ui.text_edit_singleline(&mut s.export_dir)
                .labelled_by(label.id);
        });
        ui.separator();
        ui.label(RichText::new(&self.compute_note).small());
        ui.label(RichText::new(&self.model_note).small());
        ui.label(RichText::new(&self.adapter).small());
        if self.settings != before {
            if self.settings.range_mode != before.range_mode {
                self.locked = None;
            }
            if self.settings.backend != before.backend {
                self.load_models();
                self.restart();
            }
            self.apply_settings();
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(exp) = &self.exp {
                ui.label(format!("t = {:.3} s   step {}", exp.t(), exp.steps()));
                if let Some(h) = exp.history.last() {
                    ui.label(format!(
                        "D_Fro(ω) with closure {:.4} · without {:.4}",
                        h.d_fro_with, h.d_fro_without
                    ));
                }
                if let Some(s) = exp.status() {
                    ui.label(RichText::new(s).color(Color32::from_rgb(200, 140, 0)));
                }
            }
            ui.label(format!(
                "frame {:.1} ms · simulation {:.1} ms",
                self.frame_ms, self.sim_ms
            ));
            if let Some(m) = self.messages.last() {
                ui.label(RichText::new(m).color(Color32::from_rgb(200, 80, 60)));
                if ui.small_button("✕").clicked() {
                    self.messages.clear();
                }
            }
        });
    }

    fn plots_ui(&mut self, ui: &mut egui::Ui) {
        let Some(exp) = &self.exp else { return };
        let h = &exp.history;
        let link = egui::Id::unique("time-axis");
        let height = (ui.available_height() - 24.0).max(80.0);
        let width = (ui.available_width() / 4.0 - 8.0).max(120.0);
        let line =
            |name: &str, pts: Vec<[f64; 2]>| Line::new(name.to_string(), PlotPoints::from(pts));
        let time_plot = |id: &str| {
            Plot::new(id)
                .height(height)
                .width(width)
                .legend(Legend::default())
                .link_axis(link, [true, false])
        };
        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                ui.label("D_Fro of ω vs truth");
                time_plot("err").show(ui, |p| {
                    p.line(line("with closure", h.series(|s| Some(s.d_fro_with))));
                    p.line(line("without", h.series(|s| Some(s.d_fro_without))));
                });
            });
            ui.vertical(|ui| {
                ui.label("closure D_Fro · spread vs RMSE");
                time_plot("closure").show(ui, |p| {
                    p.line(line("closure D_Fro", h.series(|s| s.closure_d_fro)));
                    p.line(line("ens. spread", h.series(|s| Some(s.spread))));
                    p.line(line("RMSE ω", h.series(|s| Some(s.rmse_with))));
                });
            });
            ui.vertical(|ui| {
                ui.label("energy (dashed: enstrophy/100)");
                time_plot("energy").show(ui, |p| {
                    for (k, name) in ["truth", "with", "without"].iter().enumerate() {
                        p.line(line(&format!("E {name}"), h.series(|s| Some(s.energy[k]))));
                        p.line(
                            line(
                                &format!("Z/100 {name}"),
                                h.series(|s| Some(s.enstrophy[k] / 100.0)),
                            )
                            .style(egui_plot::LineStyle::dashed_loose()),
                        );
                    }
                });
            });
            ui.vertical(|ui| {
                ui.label("spectrum log₁₀ S(k) vs log₁₀ k");
                let sp = exp.spectra();
                Plot::new("spectrum")
                    .height(height)
                    .width(width)
                    .legend(Legend::default())
                    .show(ui, |p| {
                        for (k, name) in ["truth", "with", "without"].iter().enumerate() {
                            let pts: Vec<[f64; 2]> = sp[k]
                                .iter()
                                .enumerate()
                                .skip(1)
                                .filter(|(_, v)| **v > 0.0)
                                .map(|(i, v)| [(i as f64).log10(), v.log10()])
                                .collect();
                            p.line(line(name, pts));
                        }
                    });
            });
        });
    }

    fn fields_ui(&mut self, ui: &mut egui::Ui) {
        let Some(f) = self.fields.take() else {
            if let Some(s) = &self.spin {
                let frac = s.done.load(Ordering::Relaxed) as f32 / s.total.max(1) as f32;
                ui.label(format!(
                    "Spinning the truth up from a random field to t = {:.0} s ({}×{}) …",
                    s.total as f64 * s.cfg.dt,
                    s.cfg.n,
                    s.cfg.n
                ));
                ui.add(egui::ProgressBar::new(frac).show_percentage());
            } else {
                ui.label("No simulation: check the settings (see the message below).");
            }
            return;
        };
        let w_range = self.omega_range(&f);
        let side = ((ui.available_width() / 4.0 - 60.0)
            .min((ui.available_height() - 50.0) / 2.0 - 30.0))
        .max(96.0);
        let specs = self.panel_specs(&f, w_range);
        let gpu = self.compute.shader && self.settings.gpu_colormap;
        let mut action = None;
        let mut row = |ui: &mut egui::Ui, specs: &[PanelSpec], texs: &mut [PanelTexture]| {
            ui.horizontal(|ui| {
                for (spec, tex) in specs.iter().zip(texs.iter_mut()) {
                    field_panel_ui(ui, tex, spec, side, gpu).context_menu(|ui| {
                        if ui.button("Save this panel…").clicked() {
                            action = Some((spec.id, PanelAction::Save));
                        }
                        if ui.button("Copy this panel").clicked() {
                            action = Some((spec.id, PanelAction::Copy));
                        }
                    });
                }
            });
        };
        let (top, bottom) = self.textures.split_at_mut(4);
        row(ui, &specs[..4], top);
        row(ui, &specs[4..], bottom);
        drop(specs);
        self.fields = Some(f);
        if let Some((id, a)) = action {
            self.panel_action(id, a);
        }
    }

    /// The seven panels of the current fields (ids and titles from
    /// [`crate::experiment::PANELS`]): what is drawn and what panel exports contain.
    fn panel_specs<'a>(&self, f: &'a Fields, w_range: Range) -> Vec<PanelSpec<'a>> {
        let c_range = Range::symmetric_quantile(&[&f.true_closure, &f.closure], 0.995);
        let case = self.settings.experiment.case;
        let sensors = self.settings.show_sensors.then_some(f.sensors.as_slice());
        let (div, seq) = (self.settings.diverging, self.settings.sequential);
        PANELS
            .iter()
            .filter_map(|&(id, title, unit)| {
                let field = f.panel(id)?;
                let (range, cmap) = match id {
                    "truth" | "with" | "without" => (w_range, div),
                    "error" | "spread" => (Range::positive(&[field]), seq),
                    _ => (c_range, div),
                };
                let title = match id {
                    "true-closure" => format!("true {case}"),
                    "closure" if self.settings.member.is_some() => {
                        format!("sampled {case} (member)")
                    }
                    "closure" => format!("sampled {case} (ensemble mean)"),
                    _ => title.to_string(),
                };
                Some(PanelSpec {
                    id,
                    title,
                    unit,
                    field,
                    n: f.n,
                    range,
                    cmap,
                    sensors: if matches!(id, "truth" | "true-closure") {
                        sensors
                    } else {
                        None
                    },
                })
            })
            .collect()
    }

    fn windows_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.show_shortcuts;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
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
        self.show_shortcuts = open;
        let mut open = self.show_about;
        egui::Window::new("About this model")
            .open(&mut open)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.label(ABOUT);
                for m in &self.models {
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
        self.show_about = open;
    }

    fn screenshot_logic(&mut self, ctx: &egui::Context) {
        let Some((path, steps)) = self.options.screenshot.clone() else {
            return;
        };
        let ready = self.exp.as_ref().is_some_and(|e| e.steps() >= steps);
        if ready {
            self.playing = false;
        }
        if ready && !self.screenshot_requested {
            self.screenshot_requested = true;
            let ctx2 = ctx.clone();
            ctx.request_screenshot(move |img: Arc<egui::ColorImage>| {
                let [w, h] = img.size;
                let result = export::to_rgba(&img)
                    .ok_or_else(|| "screenshot buffer has the wrong size".to_string())
                    .and_then(|im| {
                        crate::render::export::save_png(&im, &path).map_err(|e| e.to_string())
                    });
                match result {
                    Ok(()) => eprintln!("saved screenshot {w}×{h} to {}", path.display()),
                    Err(e) => eprintln!("error: {e}"),
                }
                ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
            });
        }
    }

    fn bench_logic(&mut self, ctx: &egui::Context, t0: Instant) {
        let Some(frames) = self.options.bench_frames else {
            return;
        };
        let Some(exp) = &self.exp else { return };
        let b = &mut self.bench;
        let now = Instant::now();
        if b.start.is_none() {
            b.start = Some(now);
            b.start_steps = exp.steps();
        } else {
            b.ui_ms.push(t0.elapsed().as_secs_f64() * 1e3);
            if let Some(l) = b.last {
                b.interval_ms.push((now - l).as_secs_f64() * 1e3);
            }
        }
        b.last = Some(now);
        ctx.request_repaint();
        if b.ui_ms.len() as u64 >= frames {
            let stat = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                let p95 = v
                    .get((v.len() as f64 * 0.95) as usize)
                    .copied()
                    .unwrap_or(f64::NAN);
                (mean, p95, v.last().copied().unwrap_or(f64::NAN))
            };
            let (um, up, ux) = stat(&mut b.ui_ms);
            let (im, ip, ix) = stat(&mut b.interval_ms);
            let secs = b.start.map_or(0.0, |s| s.elapsed().as_secs_f64());
            let cfg = exp.config();
            println!(
                "{} frames at {}², ensemble {}, closure {:?}: app update {:.1} ms mean / {:.1} p95 / {:.1} max; \
                 frame interval {:.1} ms mean / {:.1} p95 / {:.1} max; {:.0} steps/s; sampler latency {}",
                b.ui_ms.len(),
                cfg.n,
                cfg.ensemble,
                cfg.closure,
                um,
                up,
                ux,
                im,
                ip,
                ix,
                (exp.steps() - b.start_steps) as f64 / secs.max(1e-9),
                exp.last_latency_ms()
                    .map_or("—".into(), |l| format!("{l:.0} ms per ensemble")),
            );
            self.options.bench_frames = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn step_frame(&mut self) {
        if !self.playing || self.exp.is_none() {
            return;
        }
        let t0 = Instant::now();
        let target = self.options.screenshot.as_ref().map(|(_, s)| *s);
        let mut k = 0;
        while k < self.settings.steps_per_frame {
            if let (Some(t), Some(e)) = (target, &self.exp) {
                if e.steps() >= t {
                    break;
                }
            }
            if !self.step_once() {
                break;
            }
            k += 1;
            // keep the frame responsive: at most ~20 ms of simulation per frame
            if t0.elapsed().as_secs_f32() > 0.020 {
                break;
            }
        }
        self.refresh_fields();
        self.sim_ms = t0.elapsed().as_secs_f32() * 1e3;
    }
}

const ABOUT: &str = "Vorticity form of the 2-D Navier–Stokes equations on the unit torus [0,1)²:\n\
  ∂ω/∂t + u·∇ω = νΔω + f + σξ,   u = (∂ψ/∂y, −∂ψ/∂x),   −Δψ = ω\n\
ν = 1e-3 (default), f = 0.1·[sin 2π(x+y) + cos 2π(x+y)], σ = 5e-5, ξ a Q-Wiener increment redrawn every step (dt = 1e-3 s).\n\
Pseudo-spectral, 2/3 dealiasing, forward Euler + Crank–Nicolson (the published scheme).\n\n\
Closure cases: G = νΔω + 2σξ (the model run keeps advection and forcing), H = −u·∇ω + σξ (the model run keeps forcing and viscosity).\n\
The learned closure is a conditional score-based diffusion model (VE SDE, g(t) = 26^t) with a Fourier-neural-operator score network, conditioned on the model run's ω and on s×s sensor readings of the true closure; sampled by Euler–Maruyama (Karras ρ = 7 schedule) or Heun.\n\n\
Units: x, y in domain lengths, t in s, ω in 1/s, closures in 1/s².\n\
References: Dong, Chen & Wu, conditional diffusion closures with neural operators (2024); Song et al., score-based SDEs (2021); Li et al., Fourier neural operator (2021); Karras et al., EDM (2022).";

impl eframe::App for ClosureLabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_spin();
        self.poll_models();
        self.shortcuts(&ctx);
        self.step_frame();
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        egui::Panel::left("controls")
            .resizable(false)
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls_ui(ui));
            });
        egui::Panel::bottom("plots")
            .resizable(true)
            .min_size(200.0)
            .default_size(240.0)
            .show(ui, |ui| self.plots_ui(ui));
        egui::CentralPanel::default().show(ui, |ui| self.fields_ui(ui));
        self.windows_ui(&ctx);
        self.export_logic(&ctx);
        self.screenshot_logic(&ctx);
        if self.playing
            || self.spin.is_some()
            || self.model_rx.is_some()
            || self.options.screenshot.is_some()
            || self.options.bench_frames.is_some()
        {
            ctx.request_repaint();
        }
        self.frame_ms = 0.9 * self.frame_ms + 0.1 * t0.elapsed().as_secs_f32() * 1e3;
        self.bench_logic(&ctx, t0);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.options.screenshot.is_none() {
            eframe::set_value(storage, Settings::KEY, &self.settings);
        }
    }
}

/// Whether a display server is reachable (X11 or Wayland).
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// Open the window. Returns an error (one line) when it cannot.
pub fn run(options: AppOptions) -> Result<(), String> {
    let screenshot_mode = options.screenshot.is_some() || options.bench_frames.is_some();
    let mut native = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(options.size.unwrap_or([1500.0, 940.0]))
            .with_title("Closure Lab"),
        ..Default::default()
    };
    // screenshots and benchmarks start from defaults (window size included) in a
    // throw-away store, and never touch the user's settings
    let scratch = if screenshot_mode {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch folder: {e}"))?;
        native.persistence_path = Some(dir.path().join("app.ron"));
        Some(dir)
    } else {
        None
    };
    // burn (cubecl) needs the adapter's features and limits on the device it runs on; ask
    // eframe to create its device that way so the closure can share it
    use eframe::egui_wgpu::{WgpuSetup, WgpuSetupCreateNew};
    native.wgpu_options.wgpu_setup = WgpuSetup::CreateNew(WgpuSetupCreateNew {
        device_descriptor: Arc::new(gpu::shared_device_descriptor),
        ..WgpuSetupCreateNew::without_display_handle()
    });
    eframe::run_native(
        "closure-lab",
        native,
        Box::new(move |cc| {
            let settings = if screenshot_mode {
                Settings::default()
            } else {
                cc.storage
                    .and_then(|s| eframe::get_value::<Settings>(s, Settings::KEY))
                    .unwrap_or_default()
            };
            let adapter = match &cc.wgpu_render_state {
                Some(rs) => {
                    let i = rs.adapter.get_info();
                    let soft = i.device_type == wgpu::DeviceType::Cpu;
                    format!(
                        "wgpu adapter: {} ({:?}{})",
                        i.name,
                        i.backend,
                        if soft { ", software rasteriser" } else { "" }
                    )
                }
                None => "no wgpu adapter (OpenGL fallback)".into(),
            };
            let app = ClosureLabApp::new(settings, options, adapter);
            Ok(Box::new(match &cc.wgpu_render_state {
                Some(rs) => app.with_wgpu(rs),
                None => app,
            }))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))?;
    drop(scratch);
    Ok(())
}
