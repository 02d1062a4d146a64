//! The field views of a coupled run, named by one enum that the experiment, the
//! renderer, the CLI and the settings all use (docs/design.md, convention 14): adding a
//! panel is adding a variant, and the compiler lists every place that must follow.

use serde::{Deserialize, Serialize};

use super::ClosureMode;

/// What the panels of a run show: the closure term (G, H or Π), what closes the run with
/// the closure, and the ensemble size. Titles follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanelContext {
    /// The flow (the subgrid flow's runs are LES of a filtered DNS).
    pub flow: super::Flow,
    pub term: &'static str,
    pub closure: ClosureMode,
    pub ensemble: usize,
    /// The yardstick run beside the LES runs, if one runs
    /// ([`super::ExperimentConfig::yardstick_run`]).
    pub yardstick: Option<super::Yardstick>,
}

/// One field view of [`super::Fields`]. The kebab-case name (`true-closure`) is the
/// stable identifier of the CLI (`render --panels`), the settings and file names.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Panel {
    /// Vorticity of the truth.
    Truth,
    /// Vorticity of the model run with the closure.
    With,
    /// Vorticity of the model run without closure.
    Without,
    /// |ω_with − ω_truth|.
    Error,
    /// The true closure of the step (read off the truth).
    TrueClosure,
    /// The closure applied to the model run (ensemble mean or one member).
    Closure,
    /// Per-pixel standard deviation over the closure ensemble.
    Spread,
    /// |ensemble mean − true closure| of the newest learned draw, against the true
    /// closure of the step it was drawn for (a held draw is stale against later steps).
    ClosureError,
    /// Vorticity of the yardstick LES that runs beside the others in the subgrid flow
    /// (Smagorinsky or the deterministic FNO; zeros where there is none). Not in
    /// [`Panel::ALL`]: the app does not show it; `render --panels` can.
    Reference,
}

/// How a panel is coloured: the three ω panels share one symmetric range; error and
/// spread are non-negative (sequential map from 0); closures get their own symmetric range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelKind {
    Vorticity,
    NonNegative,
    Closure,
}

impl Panel {
    /// The panels the app shows, in display order (two rows of four).
    pub const ALL: [Panel; 8] = [
        Panel::Truth,
        Panel::With,
        Panel::Without,
        Panel::Error,
        Panel::TrueClosure,
        Panel::Closure,
        Panel::Spread,
        Panel::ClosureError,
    ];

    /// Panels in the first display row.
    pub const FIRST_ROW: usize = 4;

    /// The stable identifier (`true-closure`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The title shown above the panel and in exported images. It follows what the run
    /// with the closure is closed by and the ensemble size: an oracle closure is not
    /// "sampled", one member is no "ensemble mean", and a panel with nothing to show
    /// says why ([`Self::absent`]).
    pub fn title(self, cx: &PanelContext) -> String {
        if let Some(why) = self.absent(cx) {
            return why;
        }
        let les = cx.flow.def().closes_subgrid_term();
        let term = cx.term;
        let grid = if les { "LES ω" } else { "model ω" };
        match self {
            Panel::Truth if les => "filtered DNS ω".into(),
            Panel::Truth => "truth ω".into(),
            Panel::With => match cx.closure {
                ClosureMode::Learned => format!("{grid}, learned closure"),
                ClosureMode::Off => format!("{grid}, closure off"),
                ClosureMode::Oracle => format!("{grid}, oracle closure"),
                m => format!("{grid}, {}", m.label()),
            },
            Panel::Without => format!("{grid}, no closure"),
            Panel::Error => "|ω_with − ω_truth|".into(),
            Panel::TrueClosure => format!("true {term}"),
            Panel::Closure => match cx.closure {
                ClosureMode::Learned if cx.ensemble > 1 => {
                    format!("sampled {term} (mean of {})", cx.ensemble)
                }
                ClosureMode::Learned => format!("sampled {term} (one member)"),
                ClosureMode::Oracle => format!("oracle {term} (the true {term})"),
                m => format!("{} {term}", m.label()),
            },
            Panel::Spread => format!("ensemble spread (std of {})", cx.ensemble),
            Panel::ClosureError => format!("|sampled − true {term}| at its draw"),
            Panel::Reference => match cx.yardstick {
                Some(y) => format!("LES ω, {}", y.label()),
                None => "no yardstick run".into(),
            },
        }
    }

    /// Why the panel has nothing to show in this run, as its title (`None`: it has).
    pub(crate) fn absent(self, cx: &PanelContext) -> Option<String> {
        match self {
            Panel::Closure if cx.closure == ClosureMode::Off => {
                Some("no closure (closure off)".into())
            }
            Panel::Spread if cx.closure != ClosureMode::Learned => {
                Some(format!("no ensemble ({} closure)", cx.closure.label()))
            }
            Panel::Spread if cx.ensemble < 2 => Some("no ensemble (one member)".into()),
            Panel::ClosureError if cx.closure != ClosureMode::Learned => Some(format!(
                "no draws to score ({} closure)",
                cx.closure.label()
            )),
            _ => None,
        }
    }

    /// Physical unit of the field (ω in 1/s, closures in 1/s²).
    pub fn unit(self) -> &'static str {
        match self {
            Panel::Truth | Panel::With | Panel::Without | Panel::Error | Panel::Reference => "1/s",
            Panel::TrueClosure | Panel::Closure | Panel::Spread | Panel::ClosureError => "1/s²",
        }
    }

    pub fn kind(self) -> PanelKind {
        match self {
            Panel::Truth | Panel::With | Panel::Without | Panel::Reference => PanelKind::Vorticity,
            Panel::Error | Panel::Spread | Panel::ClosureError => PanelKind::NonNegative,
            Panel::TrueClosure | Panel::Closure => PanelKind::Closure,
        }
    }

    /// Whether the sensor positions are drawn over this panel: over the field they read
    /// (the true closure), and only when a learned closure reads them.
    pub(crate) fn shows_sensors(self, cx: &PanelContext) -> bool {
        self == Panel::TrueClosure && cx.closure == ClosureMode::Learned
    }

    /// Parse a CLI/settings name, with an error that lists the valid names.
    pub fn parse(s: &str) -> Result<Panel, String> {
        crate::names::parse("panel", s)
    }
}

/// The runs of a coupled experiment, as plots and legends name and colour them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum Run {
    /// The truth (the filtered DNS in the subgrid flow).
    Truth,
    /// The model (or LES) run with the closure.
    With,
    /// The model (or LES) run without closure.
    Without,
    /// The yardstick of the subgrid flow (Smagorinsky or the deterministic FNO).
    Yardstick(super::Yardstick),
}

impl Run {
    /// The run's name in legends.
    pub fn label(self) -> &'static str {
        match self {
            Run::Truth => "truth",
            Run::With => "with closure",
            Run::Without => "without",
            Run::Yardstick(y) => y.label(),
        }
    }
}
