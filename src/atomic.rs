//! Atomic file writes: write to a temporary file in the target folder, then rename, so a
//! failed export or checkpoint never leaves a partial file behind.

use std::io::Write;
use std::path::Path;

/// The folder a file will be written into (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Move a finished temporary file into place (world-readable, like a normal file).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Write `data` to `path` atomically.
pub(crate) fn write_bytes(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(parent_dir(path))?;
    tmp.write_all(data)?;
    tmp.flush()?;
    persist(tmp, path)
}

/// Whether two paths name the same file: the same device and inode when both exist,
/// else the same absolute path.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (std::path::absolute(a), std::path::absolute(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Check, before any work, that a file can be written at `path`: it is not a folder and
/// its folder exists and takes a new file (one is made there and removed at once).
pub(crate) fn check_writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file name", path.display()));
    }
    let dir = parent_dir(path);
    tempfile::NamedTempFile::new_in(dir)
        .map(drop)
        .map_err(|e| format!("cannot write into {} ({e})", dir.display()))
}
