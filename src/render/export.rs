//! Image export: PNG files written atomically (temporary file in the target folder, then
//! rename), so a failure leaves nothing behind.

use std::path::Path;

use image::{ImageBuffer, Rgba, RgbaImage};

/// Errors writing images.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {msg}")]
    Write { path: String, msg: String },
}

fn werr(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Write {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// Upscale an RGBA `n × n` image by an integer factor (nearest neighbour: crisp pixels).
pub(crate) fn upscale(rgba: &[u8], w: usize, h: usize, k: usize) -> RgbaImage {
    let img: RgbaImage = ImageBuffer::from_fn((w * k) as u32, (h * k) as u32, |x, y| {
        let (sx, sy) = (x as usize / k, y as usize / k);
        let o = (sy * w + sx) * 4;
        Rgba([rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]])
    });
    img
}

/// Save an image as PNG atomically.
pub(crate) fn save_png(img: &RgbaImage, path: &Path) -> Result<(), ExportError> {
    let dir = crate::atomic::parent_dir(path);
    let tmp = tempfile::Builder::new()
        .suffix(".png.tmp")
        .tempfile_in(dir)
        .map_err(|e| werr(path, e))?;
    img.write_to(
        &mut std::io::BufWriter::new(tmp.as_file()),
        image::ImageFormat::Png,
    )
    .map_err(|e| werr(path, e))?;
    crate::atomic::persist(tmp, path).map_err(|e| werr(path, e))?;
    Ok(())
}
