//! The one persisted settings struct (serde defaults, so old or partial settings load).
//! Simulation data and GPU resources are never persisted.

use serde::{Deserialize, Serialize};

use crate::experiment::ExperimentConfig;
use crate::render::Colormap;

/// How the shared ω colour range is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeMode {
    /// Symmetric max|ω| of the current frame over the three ω panels.
    Auto,
    /// Symmetric 99th percentile of |ω| (robust to spikes).
    #[default]
    Quantile,
    /// Frozen at the value when locked (no flicker while recording).
    Locked,
}

/// Compute backend for the learned closure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Backend {
    /// burn on eframe's wgpu device when the adapter is a real GPU, burn's CPU backend
    /// otherwise.
    #[default]
    Auto,
    /// burn's CPU backend (flex).
    Cpu,
    /// burn on eframe's wgpu device even on a software adapter (slow there; for checks).
    Gpu,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub experiment: ExperimentConfig,
    pub preset: String,
    pub steps_per_frame: u32,
    pub diverging: Colormap,
    pub sequential: Colormap,
    pub range_mode: RangeMode,
    pub locked_range: f64,
    /// Show this ensemble member instead of the ensemble mean (None = mean).
    pub member: Option<usize>,
    pub show_sensors: bool,
    pub backend: Backend,
    pub export_dir: String,
    /// In-app recording: "gif", "png" (numbered PNGs in a folder) or "mp4".
    pub record_format: String,
    /// Simulation time between recorded frames.
    pub record_every: f64,
    /// Panels recorded side by side, in display order (ids of `experiment::PANELS`).
    pub record_panels: Vec<String>,
    /// Panel saved or copied by "Save/Copy panel image" (a panel id, e.g. "truth").
    pub export_panel: String,
    /// Panel image scale: 1, 2 or 4 image pixels per grid point.
    pub export_scale: usize,
    /// Ask where to save in a native dialog (otherwise: straight into `export_dir`).
    pub save_dialog: bool,
    /// Colour-map the fields with the WGSL shader when the wgpu renderer is running
    /// (otherwise CPU-coloured textures).
    pub gpu_colormap: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            experiment: ExperimentConfig::default(),
            preset: "paper-g".into(),
            steps_per_frame: 10,
            diverging: Colormap::RedBlue,
            sequential: Colormap::Viridis,
            range_mode: RangeMode::Quantile,
            locked_range: 2.0,
            member: None,
            show_sensors: true,
            backend: Backend::Auto,
            export_dir: ".".into(),
            record_format: "gif".into(),
            record_every: 0.1,
            record_panels: vec!["truth".into(), "with".into(), "without".into()],
            export_panel: "truth".into(),
            export_scale: 2,
            save_dialog: true,
            gpu_colormap: true,
        }
    }
}

impl Settings {
    pub const KEY: &'static str = "closure-lab-settings";

    /// Clamp values that came from storage or sliders into what the app can run.
    pub fn sanitize(&mut self) {
        let e = &mut self.experiment;
        if ![64, 128, 256].contains(&e.n) {
            e.n = 64;
        }
        if crate::closure::sensors::Sensors::new(e.sensors, e.n).is_err() {
            e.sensors = 16.min(e.n);
        }
        e.sampling_steps = e.sampling_steps.clamp(1, 1000);
        e.ensemble = e.ensemble.clamp(1, 16);
        e.resample_every = e.resample_every.clamp(1, 1000);
        e.record_every = e.record_every.clamp(1, 1000);
        if !(e.t_start.is_finite() && e.t_start > 0.002 && e.t_start <= 1.0) {
            e.t_start = 0.1;
        }
        if !(e.nu.is_finite() && e.nu > 0.0 && e.nu <= 0.05) {
            e.nu = 1e-3;
        }
        e.blocking = false;
        self.steps_per_frame = self.steps_per_frame.clamp(1, 500);
        if !(self.record_every.is_finite() && self.record_every > 0.0 && self.record_every <= 10.0)
        {
            self.record_every = 0.1;
        }
        if !["gif", "png", "mp4"].contains(&self.record_format.as_str()) {
            self.record_format = "gif".into();
        }
        self.record_panels
            .retain(|id| crate::experiment::PANELS.iter().any(|p| p.0 == id));
        if self.record_panels.is_empty() {
            self.record_panels = Settings::default().record_panels;
        }
        if ![1, 2, 4].contains(&self.export_scale) {
            self.export_scale = 2;
        }
        if !crate::experiment::PANELS
            .iter()
            .any(|p| p.0 == self.export_panel)
        {
            self.export_panel = "truth".into();
        }
        if !(self.locked_range.is_finite() && self.locked_range > 0.0) {
            self.locked_range = 2.0;
        }
    }
}
