//! An experiment as a spec file: a preset and every setting of [`ExperimentConfig`] as
//! `key=value` pairs (keys in kebab-case, as `--set` takes them on `render` and
//! `posterior`). The app saves its experiment this way and opens such files; the CLI
//! runs them (`closure-lab render --config F.toml`).

use super::ExperimentConfig;
use super::presets::{self, PresetId};

/// The `[provenance]` table every spec starts with: program, version and the git
/// revision the program was built from.
pub fn provenance() -> String {
    format!(
        "[provenance]\nprogram = \"closure-lab\"\nversion = \"{}\"\ngit = \"{}\"\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("CLOSURE_LAB_GIT").unwrap_or("unknown")
    )
}

/// Every setting of `cfg` as `key=value` (kebab-case keys; strings bare).
pub fn settings(cfg: &ExperimentConfig) -> Vec<String> {
    let serde_json::Value::Object(map) = serde_json::to_value(cfg).unwrap_or_default() else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={value}", k.replace('_', "-"))
        })
        .collect()
}

/// A setting of an older release as today's: `exact-drain = true|false` (session 14) is
/// `tie = exact-drain|none`.
fn legacy<'a>(key: &'a str, value: &'a str) -> (&'a str, &'a str) {
    match (key, value) {
        ("exact-drain" | "exact_drain", "true") => ("tie", "exact-drain"),
        ("exact-drain" | "exact_drain", "false") => ("tie", "none"),
        _ => (key, value),
    }
}

/// Apply `key=value` settings to `cfg` (a value that is not a number, a boolean or JSON
/// is read as a string), then check the result. Errors name the setting.
pub fn apply(cfg: &mut ExperimentConfig, sets: &[String]) -> Result<(), String> {
    let serde_json::Value::Object(mut map) =
        serde_json::to_value(&*cfg).map_err(|e| e.to_string())?
    else {
        return Err("the experiment's settings are not a table".into());
    };
    for set in sets {
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| format!("setting `{set}` is not KEY=VALUE"))?;
        let (key, value) = legacy(key.trim(), value.trim());
        let field = key.replace('-', "_");
        if !map.contains_key(&field) {
            let known: Vec<String> = map.keys().map(|k| k.replace('_', "-")).collect();
            return Err(format!(
                "unknown setting `{}` (known: {})",
                key,
                known.join(", ")
            ));
        }
        let parsed = serde_json::from_str::<serde_json::Value>(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        let fits = |map: &serde_json::Map<String, serde_json::Value>| {
            serde_json::from_value::<ExperimentConfig>(serde_json::Value::Object(map.clone()))
        };
        map.insert(field.clone(), parsed);
        if let Err(e) = fits(&map) {
            // a value that reads as a number or JSON may still be a name
            map.insert(field, serde_json::Value::String(value.to_string()));
            if fits(&map).is_err() {
                return Err(format!("setting `{set}`: {e}"));
            }
        }
    }
    let next: ExperimentConfig =
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())?;
    next.validate().map_err(|e| e.to_string())?;
    *cfg = next;
    Ok(())
}

/// The spec the app saves: `[render]` (with an output file named after the preset) and
/// `[posterior]`, each with the preset and every setting.
pub fn write(preset: PresetId, cfg: &ExperimentConfig) -> String {
    let sets = toml_list(&settings(cfg));
    format!(
        "{}\n# Saved from the Closure Lab window. Run it headless:\n\
         #   closure-lab render --config THIS.toml      (a movie of this experiment)\n\
         #   closure-lab posterior --config THIS.toml   (its a-posteriori errors)\n\
         \n[render]\npreset = \"{preset}\"\nset = {sets}\nout = \"{preset}.gif\"\n\
         \n[posterior]\npreset = \"{preset}\"\nset = {sets}\n",
        provenance()
    )
}

/// The preset and the experiment of a spec file (its `[render]` table, else its
/// `[posterior]` table; a preset's own file, with its `[preset]` table, is a spec too),
/// checked.
pub fn read(text: &str) -> Result<(PresetId, ExperimentConfig), String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not a spec file: {}", e.message()))?;
    if doc.contains_key("preset") && !doc.contains_key("render") && !doc.contains_key("posterior") {
        let p = presets::parse(text)?;
        return Ok((p.id, p.config));
    }
    let table = ["render", "posterior"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(|v| v.as_table()))
        .ok_or("the file has no [render], [posterior] or [preset] table")?;
    let preset = match table.get("preset") {
        Some(v) => PresetId::parse(v.as_str().ok_or("preset must be a name")?)?,
        None => PresetId::default(),
    };
    let sets: Vec<String> = match table.get("set") {
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or("set holds KEY=VALUE strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("set must be a list of KEY=VALUE strings".into()),
        None => Vec::new(),
    };
    let mut cfg = presets::get(preset).config;
    apply(&mut cfg, &sets)?;
    Ok((preset, cfg))
}

fn toml_list(items: &[String]) -> String {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect()).to_string()
}
