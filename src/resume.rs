//! Resuming only what matches: a job that leaves part files or checkpoints records the
//! settings that produced them in a manifest; a later run with different settings is
//! refused with the first setting that differs (`seed: 0 → 5`).

use std::path::Path;

use serde_json::Value;

/// The first setting in which two JSON values differ, as `name: old → new`.
pub(crate) fn first_difference(old: &Value, new: &Value, path: &str) -> Option<String> {
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
        (Value::Number(a), Value::Number(b)) if a != b && same_float(a, b) => None,
        _ if old != new => {
            let name = if path.is_empty() { "value" } else { path };
            Some(format!("{name}: {old} → {new}"))
        }
        _ => None,
    }
}

/// Two recorded numbers that are one setting: equal to 12 significant digits. A float
/// read back from a manifest can differ from the one just computed in its last bit
/// (serde_json's default parser is not exactly round-trip: `0.19999999999999998` came
/// back as `0.2`, and `--t-end 0.3 --t-start 0.1` was refused as another job).
fn same_float(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_f64() || b.is_f64() => {
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        _ => false,
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
pub(crate) fn check_or_record(path: &Path, settings: &Value) -> Result<(), String> {
    check(path, settings)?;
    record(path, settings)
}

/// A content fingerprint of an input file for a resume manifest: its size and a CRC-32 of
/// its first 64 KiB (an HDF5 file's header and index) and of 16 blocks of 4 KiB spread
/// evenly over the rest. A file replaced or rewritten under the same path changes it
/// (almost surely); reading it costs at most 128 KiB.
pub(crate) fn fingerprint(path: &Path) -> Result<String, String> {
    use std::io::{Read, Seek, SeekFrom};
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(err)?;
    let size = f.metadata().map_err(err)?.len();
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 << 10];
    let head = f.read(&mut buf).map_err(err)?;
    h.update(&buf[..head]);
    if size > buf.len() as u64 {
        let block = 4 << 10;
        for i in 0..16u64 {
            let at = buf.len() as u64 + (size - buf.len() as u64) * i / 16;
            f.seek(SeekFrom::Start(at)).map_err(err)?;
            let got = f.read(&mut buf[..block]).map_err(err)?;
            h.update(&buf[..got]);
        }
    }
    Ok(format!("{size} bytes, crc32 {:08x}", h.finalize()))
}

/// The part-file folder of a job writing `out`: `<out>.parts/`, made or reopened. A
/// folder of another job is refused with the first setting that differs; one this
/// program did not make (no `spec.json` but other files) is refused too — it is not ours
/// to fill or delete.
pub(crate) fn open_parts(out: &Path, settings: &Value) -> Result<std::path::PathBuf, String> {
    let dir = std::path::PathBuf::from(format!("{}.parts", out.display()));
    let spec = dir.join("spec.json");
    if dir.exists() && !spec.exists() {
        let foreign = !dir.is_dir()
            || std::fs::read_dir(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .next()
                .is_some();
        if foreign {
            return Err(format!(
                "{} exists but holds no spec.json: not the parts of a `closure-lab data` job; \
                 move it away or choose another --out",
                dir.display()
            ));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    check_or_record(&spec, settings)?;
    Ok(dir)
}

/// Remove a finished job's part files and its `spec.json`, then the folder if that
/// leaves it empty: anything else in it stays.
pub(crate) fn remove_parts(dir: &Path, parts: impl IntoIterator<Item = std::path::PathBuf>) {
    for p in parts {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(dir.join("spec.json"));
    let _ = std::fs::remove_dir(dir);
}
