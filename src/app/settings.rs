//! The one persisted settings struct (serde defaults, so old or partial settings load).
//! Simulation data and GPU resources are never persisted. Ranges come from
//! [`crate::experiment::limits`] (the experiment) and [`limits`] below (the app): the
//! sliders and [`Settings::sanitize`] read the same constants.

use serde::{Deserialize, Serialize};

use crate::experiment::presets::PresetId;

use crate::experiment::limits::{Choice, Limit};
use crate::experiment::{ExperimentConfig, Panel};
use crate::render::Colormap;
use crate::solver::Case;

/// Ranges of the app's own settings.
pub mod limits {
    use super::{Choice, Limit};

    /// Pace of the simulation while playing, steps per second of wall time.
    pub const STEPS_PER_SECOND: Limit<f64> = Limit {
        name: "steps per second",
        min: 1.0,
        max: 100_000.0,
        default: 600.0,
    };
    /// Simulation time between recorded frames.
    /// Zoom of the whole window (Ctrl +/− change it too).
    pub const UI_SCALE: Limit<f32> = Limit {
        name: "UI scale",
        min: 0.75,
        max: 2.5,
        default: 1.0,
    };
    pub const RECORD_EVERY: Limit<f64> = Limit {
        name: "recording interval (s)",
        min: 0.001,
        max: 10.0,
        default: 0.1,
    };
    /// Image pixels per grid point of an exported panel.
    pub const EXPORT_SCALE: Choice<usize> = Choice {
        name: "export scale",
        values: &[1, 2, 4],
        default: 2,
    };
}

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
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "kebab-case")]
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

/// Container of an in-app recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RecordFormat {
    /// Animated GIF.
    #[default]
    Gif,
    /// Numbered PNG frames in a folder.
    Png,
    /// H.264 in MP4.
    Mp4,
}

impl RecordFormat {
    pub const ALL: [RecordFormat; 3] = [RecordFormat::Gif, RecordFormat::Png, RecordFormat::Mp4];
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub experiment: ExperimentConfig,
    /// The preset the runs start from (an unknown stored name loads the default).
    #[serde(
        deserialize_with = "PresetId::lenient",
        serialize_with = "PresetId::as_name"
    )]
    pub preset: PresetId,
    pub steps_per_second: f64,
    pub diverging: Colormap,
    pub sequential: Colormap,
    pub range_mode: RangeMode,
    pub show_sensors: bool,
    pub backend: Backend,
    pub export_dir: String,
    pub record_format: RecordFormat,
    /// Simulation time between recorded frames.
    pub record_every: f64,
    /// Panels recorded side by side, in display order.
    pub record_panels: Vec<Panel>,
    /// A title band over each recorded panel (the first with the time).
    pub record_titles: bool,
    /// Each recorded panel with its colorbar, unit and title.
    pub record_colorbars: bool,
    /// The closure plot also shows the held (stale) draw's error.
    pub show_held: bool,
    /// Zoom of the whole window.
    pub ui_scale: f32,
    /// Panel saved or copied by "Save/Copy panel image".
    pub export_panel: Panel,
    /// Panel image scale: 1, 2 or 4 image pixels per grid point.
    pub export_scale: usize,
    /// Ask where to save in a native dialog (otherwise: straight into `export_dir`).
    pub save_dialog: bool,
    /// Colour-map the fields with the WGSL shader when the wgpu renderer is running
    /// (otherwise CPU-coloured textures).
    pub gpu_colormap: bool,
    /// The learned model chosen per picker (none: the run's shipped one).
    pub model: ModelChoice,
}

/// A learned model as a picker names it: one compiled into the binary (by its id,
/// [`crate::experiment::Shipped`]) or a model file (by its path; `.pth`/`.pt`: an
/// imported PyTorch network). Stored as one line, `shipped: ID` or `file: PATH` (empty:
/// none chosen); the settings of earlier releases, which stored the picker's label, still
/// read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ModelId {
    /// None chosen: the run takes its shipped model ([`super::compute::Compute::pick`]).
    #[default]
    Default,
    Shipped(String),
    File(std::path::PathBuf),
}

const SHIPPED: &str = "shipped: ";
const FILE: &str = "file: ";
/// How earlier releases stored an imported PyTorch file (by its stem).
const PYTORCH: &str = "PyTorch: ";

impl From<String> for ModelId {
    fn from(s: String) -> Self {
        if let Some(name) = s.strip_prefix(SHIPPED) {
            // an id, or the label an earlier release stored
            let id = crate::experiment::Shipped::find(name).map_or(name, |m| m.id);
            ModelId::Shipped(id.into())
        } else if let Some(p) = s.strip_prefix(FILE).or_else(|| s.strip_prefix(PYTORCH)) {
            ModelId::File(p.into())
        } else {
            ModelId::Default
        }
    }
}

impl From<ModelId> for String {
    fn from(id: ModelId) -> Self {
        match id {
            ModelId::Default => String::new(),
            ModelId::Shipped(id) => format!("{SHIPPED}{id}"),
            ModelId::File(p) => format!("{FILE}{}", p.display()),
        }
    }
}

impl std::fmt::Display for ModelId {
    /// The picker's label: `shipped: LABEL`, `file: STEM`, or `PyTorch: STEM`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelId::Default => write!(f, "shipped (the run's own)"),
            ModelId::Shipped(id) => {
                let label = crate::experiment::Shipped::find(id).map_or(id.as_str(), |m| m.label);
                write!(f, "{SHIPPED}{label}")
            }
            ModelId::File(p) => {
                let torch = matches!(p.extension().and_then(|e| e.to_str()), Some("pth" | "pt"));
                let stem = p
                    .file_stem()
                    .map_or("model".into(), |s| s.to_string_lossy());
                write!(f, "{}{stem}", if torch { PYTORCH } else { FILE })
            }
        }
    }
}

impl ModelId {
    /// The model file, for a file.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            ModelId::File(p) => Some(p),
            _ => None,
        }
    }
}

/// The picker's choice for each closure case and for the subgrid flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelChoice {
    pub g: ModelId,
    pub h: ModelId,
    pub les: ModelId,
}

/// Which picker a model belongs to: a closure case of the published flow, or the
/// subgrid flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::Display)]
pub enum Slot {
    #[strum(to_string = "case {0}")]
    Case(Case),
    #[strum(to_string = "subgrid (LES)")]
    Subgrid,
}

impl Slot {
    /// The picker a run of `cfg` takes its model from.
    pub fn of(cfg: &crate::experiment::ExperimentConfig) -> Slot {
        if cfg.flow.def().has_cases() {
            Slot::Case(cfg.case)
        } else {
            Slot::Subgrid
        }
    }

    /// The picker a model is offered in: the slot of the runs it may close
    /// ([`crate::experiment::LearnedModel::closes`]).
    pub fn of_model(m: &crate::experiment::LearnedModel) -> Slot {
        m.case().map_or(Slot::Subgrid, Slot::Case)
    }
}

impl ModelChoice {
    pub fn get(&self, slot: Slot) -> &ModelId {
        match slot {
            Slot::Case(Case::G) => &self.g,
            Slot::Case(Case::H) => &self.h,
            Slot::Subgrid => &self.les,
        }
    }

    pub fn set(&mut self, slot: Slot, id: ModelId) {
        match slot {
            Slot::Case(Case::G) => self.g = id,
            Slot::Case(Case::H) => self.h = id,
            Slot::Subgrid => self.les = id,
        }
    }

    /// The model files chosen (opened again when the app starts).
    pub fn files(&self) -> impl Iterator<Item = &std::path::Path> {
        [&self.g, &self.h, &self.les]
            .into_iter()
            .filter_map(ModelId::file)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            experiment: ExperimentConfig::default(),
            preset: PresetId::default(),
            steps_per_second: limits::STEPS_PER_SECOND.default,
            diverging: Colormap::RedBlue,
            sequential: Colormap::Viridis,
            range_mode: RangeMode::Quantile,
            show_sensors: true,
            backend: Backend::Auto,
            export_dir: ".".into(),
            record_format: RecordFormat::Gif,
            record_every: limits::RECORD_EVERY.default,
            record_panels: vec![Panel::Truth, Panel::With, Panel::Without],
            record_titles: true,
            record_colorbars: false,
            show_held: false,
            ui_scale: limits::UI_SCALE.default,
            export_panel: Panel::Truth,
            export_scale: limits::EXPORT_SCALE.default,
            save_dialog: true,
            model: ModelChoice::default(),
            gpu_colormap: true,
        }
    }
}

impl Settings {
    pub const KEY: &'static str = "closure-lab-settings";

    /// Clamp values that came from storage or sliders into what the app can run.
    /// Settings from their stored text (eframe's RON storage), with a message for the
    /// user when the text could not be read (defaults are used) or held values out of
    /// range (the nearest valid ones are used).
    pub fn from_stored(text: Option<&str>) -> (Settings, Option<String>) {
        let Some(text) = text else {
            return (Settings::default(), None);
        };
        match ron::from_str::<Settings>(text) {
            Ok(mut s) => {
                let stored = s.clone();
                s.sanitize();
                let note = (s != stored).then(|| {
                    "some stored settings were out of range and were set to the nearest valid \
                     values"
                        .to_string()
                });
                (s, note)
            }
            Err(e) => {
                let why = crate::message::one_line(&e.to_string());
                (
                    Settings::default(),
                    Some(format!(
                        "the stored settings could not be read ({why}); defaults restored"
                    )),
                )
            }
        }
    }

    pub(crate) fn sanitize(&mut self) {
        self.experiment = self.experiment.sanitized();
        self.steps_per_second = limits::STEPS_PER_SECOND.clamp(self.steps_per_second);
        self.record_every = limits::RECORD_EVERY.clamp(self.record_every);
        self.export_scale = limits::EXPORT_SCALE.clamp(self.export_scale);
        self.ui_scale = limits::UI_SCALE.clamp(self.ui_scale);
        let mut seen = Vec::new();
        self.record_panels.retain(|p| {
            let first = !seen.contains(p);
            seen.push(*p);
            first
        });
        if self.record_panels.is_empty() {
            self.record_panels = Settings::default().record_panels;
        }
    }
}
