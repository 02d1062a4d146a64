//! Presets with stable identifiers for the CLI (`paper-g`, `paper-h`, `decaying`,
//! `teaching`, `les`). A preset sets the experiment and says how far to spin the truth up.
//! Each is a spec file under `assets/presets/` (embedded in the binary): the settings it
//! changes from the defaults, in the `key=value` form saved experiments use.

use serde::{Deserialize, Deserializer, Serialize};
use strum::IntoEnumIterator;

use super::ExperimentConfig;

/// A preset's identifier: the one name the CLI, the settings, file names and the menus
/// use (kebab-case, `paper-g`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PresetId {
    #[default]
    PaperG,
    PaperH,
    Decaying,
    Teaching,
    Les,
}

impl PresetId {
    /// Parse a CLI/settings name, with an error that lists the presets.
    pub fn parse(s: &str) -> Result<PresetId, String> {
        crate::names::parse("preset", s)
    }

    /// Stored as its name (a string in every format, as before the enum existed).
    pub(crate) fn as_name<S: serde::Serializer>(id: &PresetId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    /// A stored name, the default preset when it is unknown (a renamed preset in old
    /// settings loads the default instead of failing the whole settings file).
    pub(crate) fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<PresetId, D::Error> {
        let s = String::deserialize(d)?;
        Ok(PresetId::parse(&s).unwrap_or_default())
    }
}

#[derive(Clone, Debug)]
pub struct Preset {
    pub id: PresetId,
    pub title: String,
    pub description: String,
    /// Spin the truth up from a GRF to this time before the three runs start.
    pub spin_up: f64,
    /// The settings the preset changes from the defaults, as `key=value`.
    pub set: Vec<String>,
    pub config: ExperimentConfig,
}

/// The spec file of preset `id`, embedded in the binary (`assets/presets/`).
pub fn file(id: PresetId) -> &'static str {
    match id {
        PresetId::PaperG => include_str!("../../assets/presets/paper-g.toml"),
        PresetId::PaperH => include_str!("../../assets/presets/paper-h.toml"),
        PresetId::Decaying => include_str!("../../assets/presets/decaying.toml"),
        PresetId::Teaching => include_str!("../../assets/presets/teaching.toml"),
        PresetId::Les => include_str!("../../assets/presets/les.toml"),
    }
}

/// A preset from its spec text: the `[preset]` table's id, title, description,
/// spin-up and `set` list applied to the default experiment (checked).
pub fn parse(text: &str) -> Result<Preset, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Table {
        id: String,
        title: String,
        description: String,
        spin_up: f64,
        #[serde(default)]
        set: Vec<String>,
    }
    #[derive(Deserialize)]
    struct File {
        preset: Table,
    }
    let f: File = toml::from_str(text).map_err(|e| format!("not a preset: {}", e.message()))?;
    let t = f.preset;
    if !(t.spin_up.is_finite() && (0.0..=1000.0).contains(&t.spin_up)) {
        return Err(format!("spin-up must be 0…1000, got {}", t.spin_up));
    }
    let mut config = ExperimentConfig::default();
    super::spec::apply(&mut config, &t.set)?;
    Ok(Preset {
        id: PresetId::parse(&t.id)?,
        title: t.title,
        description: t.description,
        spin_up: t.spin_up,
        set: t.set,
        config,
    })
}

/// The preset `id` (its embedded spec, read once).
pub fn get(id: PresetId) -> Preset {
    static ALL: std::sync::OnceLock<Vec<Preset>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        PresetId::iter()
            .map(|id| {
                let p = parse(file(id))
                    .unwrap_or_else(|e| panic!("embedded preset {id} is broken: {e}"));
                assert_eq!(p.id, id, "embedded preset file of {id} names another");
                p
            })
            .collect()
    });
    all.iter()
        .find(|p| p.id == id)
        .cloned()
        .expect("every preset id has a file")
}

/// Every preset, in menu order.
pub fn all() -> Vec<Preset> {
    PresetId::iter().map(get).collect()
}
