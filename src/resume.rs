//! Resuming only what matches: a job that leaves part files or checkpoints records the
//! settings that produced them in a manifest; a later run with different settings is
//! refused with the first setting that differs (`seed: 0 → 5`).

use std::path::Path;

use serde_json::Value;

/// The first setting in which two JSON values differ, as `name: old → new`.
pub fn first_difference(old: &Value, new: &Value, path: &str) -> Option<String> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let name = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &name) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{name}: {va} → missing")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: missing → {}", b[k]))
        }
        _ if old != new => {
            let name = if path.is_empty() { "value" } else { path };
            Some(format!("{name}: {old} → {new}"))
        }
        _ => None,
    }
}

/// Compare `settings` with the manifest at `path`, if there is one: an error naming the
/// first difference.
pub fn check(path: &Path, settings: &Value) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let old: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: unreadable manifest ({e})", path.display()))?;
    match first_difference(&old, settings, "") {
        Some(d) => Err(format!(
            "{} holds the parts of a different job ({d}); remove it or use that setting",
            crate::atomic::parent_dir(path).display()
        )),
        None => Ok(()),
    }
}

/// Write the manifest at `path` (atomically) unless it is there.
pub fn record(path: &Path, settings: &Value) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    let text = serde_json::to_string_pretty(settings).map_err(|e| e.to_string())?;
    crate::atomic::write_bytes(path, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// [`check`], then [`record`]: for jobs whose folder exists from the start.
pub fn check_or_record(path: &Path, settings: &Value) -> Result<(), String> {
    check(path, settings)?;
    record(path, settings)
}
