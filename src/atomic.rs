//! Atomic file writes: write to a temporary file in the target folder, then rename, so a
//! failed export or checkpoint never leaves a partial file behind.

use std::io::Write;
use std::path::Path;

/// The folder a file will be written into (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Move a finished temporary file into place (world-readable, like a normal file).
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Write `data` to `path` atomically.
pub fn write_bytes(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(parent_dir(path))?;
    tmp.write_all(data)?;
    tmp.flush()?;
    persist(tmp, path)
}
