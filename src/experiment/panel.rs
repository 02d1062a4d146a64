//! The field views of a coupled run, named by one enum that the experiment, the
//! renderer, the CLI and the settings all use (docs/design.md, convention 14): adding a
//! panel is adding a variant, and the compiler lists every place that must follow.

use serde::{Deserialize, Serialize};

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
    /// Vorticity of the Smagorinsky LES that runs beside the others in the subgrid flow
    /// as a classical yardstick (zeros where there is none). Not in [`Panel::ALL`]: the
    /// app does not show it; `render --panels` can.
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
    /// The panels the app shows, in display order (two rows: four, then three).
    pub const ALL: [Panel; 7] = [
        Panel::Truth,
        Panel::With,
        Panel::Without,
        Panel::Error,
        Panel::TrueClosure,
        Panel::Closure,
        Panel::Spread,
    ];

    /// Panels in the first display row.
    pub const FIRST_ROW: usize = 4;

    /// The stable identifier (`true-closure`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The title shown above the panel and in exported images; `term` names the closure
    /// term (G, H or Π: see `ExperimentConfig::term`).
    pub fn title(self, term: &str) -> String {
        match self {
            Panel::Truth if term == "Π" => "filtered DNS ω".into(),
            Panel::Truth => "truth ω".into(),
            Panel::With if term == "Π" => "LES ω, with closure".into(),
            Panel::With => "model ω, with closure".into(),
            Panel::Without if term == "Π" => "LES ω, no closure".into(),
            Panel::Without => "model ω, no closure".into(),
            Panel::Error => "|ω_with − ω_truth|".into(),
            Panel::TrueClosure => format!("true {term}"),
            Panel::Closure if term == "Π" => "modelled Π".into(),
            Panel::Closure => format!("sampled {term} (ensemble mean)"),
            Panel::Spread => "ensemble spread (std)".into(),
            Panel::Reference => "LES ω, Smagorinsky".into(),
        }
    }

    /// Physical unit of the field (ω in 1/s, closures in 1/s²).
    pub fn unit(self) -> &'static str {
        match self {
            Panel::Truth | Panel::With | Panel::Without | Panel::Error | Panel::Reference => "1/s",
            Panel::TrueClosure | Panel::Closure | Panel::Spread => "1/s²",
        }
    }

    pub fn kind(self) -> PanelKind {
        match self {
            Panel::Truth | Panel::With | Panel::Without | Panel::Reference => PanelKind::Vorticity,
            Panel::Error | Panel::Spread => PanelKind::NonNegative,
            Panel::TrueClosure | Panel::Closure => PanelKind::Closure,
        }
    }

    /// Whether the sensor positions are drawn over this panel.
    pub fn shows_sensors(self) -> bool {
        matches!(self, Panel::Truth | Panel::TrueClosure)
    }

    /// Parse a CLI/settings name, with an error that lists the valid names.
    pub fn parse(s: &str) -> Result<Panel, String> {
        crate::names::parse("panel", s)
    }
}
