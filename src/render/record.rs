//! Recordings: frames of chosen panels side by side, taken at fixed simulation-time
//! spacing (so pauses never show), encoded as animated GIF (image crate), a numbered PNG
//! sequence, or MP4 (H.264) through an `ffmpeg` found on PATH. Every output is written to
//! a temporary name first and renamed at the end: a failure leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};

use super::export::{ExportError, upscale};
use super::{Colormap, Range, field_rgba};

/// Gap between panels, pixels.
pub const GAP: u32 = 4;

/// Compose fields (each `n × n`) side by side with a shared colour range, upscaled by
/// `scale`.
pub fn compose(
    fields: &[&[f64]],
    n: usize,
    range: Range,
    cmap: Colormap,
    scale: usize,
) -> RgbaImage {
    let side = (n * scale) as u32;
    let k = fields.len().max(1) as u32;
    let mut img = RgbaImage::from_pixel(
        k * side + (k - 1) * GAP,
        side,
        image::Rgba([255, 255, 255, 255]),
    );
    for (i, f) in fields.iter().enumerate() {
        let up = upscale(&field_rgba(f, n, range, cmap), n, n, scale);
        image::imageops::overlay(&mut img, &up, (i as u32 * (side + GAP)) as i64, 0);
    }
    img
}

/// Output format, chosen from the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gif,
    Mp4,
    PngSequence,
}

impl Format {
    pub fn from_path(p: &Path) -> Result<Self, ExportError> {
        let s = p.to_string_lossy();
        if s.ends_with('/') || p.is_dir() {
            return Ok(Format::PngSequence);
        }
        match p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "gif" => Ok(Format::Gif),
            Some(e) if e == "mp4" => Ok(Format::Mp4),
            _ => Err(ExportError::Write {
                path: s.to_string(),
                msg: "unknown output kind: use FILE.gif, FILE.mp4 or DIR/".into(),
            }),
        }
    }
}

fn werr(p: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Write {
        path: p.display().to_string(),
        msg: e.to_string(),
    }
}

/// Whether MP4 can be written, or why not.
pub fn mp4_available() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let f = dir.join("ffmpeg");
        if f.is_file() {
            return Ok(f);
        }
    }
    Err("MP4 needs `ffmpeg` on PATH, and none was found: write a .gif or a PNG folder instead, or install ffmpeg".into())
}

/// An encoder receiving frames one at a time.
pub enum Recorder {
    Gif {
        tmp: tempfile::NamedTempFile,
        enc: GifEncoder<std::io::BufWriter<std::fs::File>>,
        out: PathBuf,
        delay_ms: u32,
    },
    Png {
        tmp: tempfile::TempDir,
        out: PathBuf,
        count: usize,
    },
    Mp4 {
        tmp: tempfile::NamedTempFile,
        child: std::process::Child,
        out: PathBuf,
        size: (u32, u32),
    },
}

impl Recorder {
    /// Start a recording to `out` at `fps` frames per second for frames of `size`.
    pub fn create(out: &Path, fps: f64, size: (u32, u32)) -> Result<Self, ExportError> {
        let fmt = Format::from_path(out)?;
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match fmt {
            Format::Gif => {
                let tmp = tempfile::Builder::new()
                    .suffix(".gif.tmp")
                    .tempfile_in(dir)
                    .map_err(|e| werr(out, e))?;
                let file = tmp.reopen().map_err(|e| werr(out, e))?;
                let mut enc = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 10);
                enc.set_repeat(Repeat::Infinite).map_err(|e| werr(out, e))?;
                Ok(Recorder::Gif {
                    tmp,
                    enc,
                    out: out.to_path_buf(),
                    delay_ms: (1000.0 / fps).round() as u32,
                })
            }
            Format::PngSequence => {
                let target = out.to_path_buf();
                let parent = target
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                std::fs::create_dir_all(parent).map_err(|e| werr(out, e))?;
                let tmp = tempfile::Builder::new()
                    .prefix(".frames")
                    .tempdir_in(parent)
                    .map_err(|e| werr(out, e))?;
                Ok(Recorder::Png {
                    tmp,
                    out: target,
                    count: 0,
                })
            }
            Format::Mp4 => {
                let ffmpeg = mp4_available().map_err(|m| werr(out, m))?;
                let tmp = tempfile::Builder::new()
                    .suffix(".mp4")
                    .tempfile_in(dir)
                    .map_err(|e| werr(out, e))?;
                // H.264 needs even sizes
                let (w, h) = (size.0 & !1, size.1 & !1);
                let child = Command::new(ffmpeg)
                    .args([
                        "-y",
                        "-loglevel",
                        "error",
                        "-f",
                        "rawvideo",
                        "-pix_fmt",
                        "rgba",
                        "-s",
                    ])
                    .arg(format!("{}x{}", size.0, size.1))
                    .args(["-r", &format!("{fps}"), "-i", "-", "-vf"])
                    .arg(format!("crop={w}:{h}:0:0"))
                    .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"])
                    .arg(tmp.path())
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| werr(out, format!("cannot start ffmpeg: {e}")))?;
                Ok(Recorder::Mp4 {
                    tmp,
                    child,
                    out: out.to_path_buf(),
                    size,
                })
            }
        }
    }

    /// Add one frame.
    pub fn push(&mut self, img: &RgbaImage) -> Result<(), ExportError> {
        match self {
            Recorder::Gif {
                enc, out, delay_ms, ..
            } => {
                let f =
                    Frame::from_parts(img.clone(), 0, 0, Delay::from_numer_denom_ms(*delay_ms, 1));
                enc.encode_frame(f).map_err(|e| werr(out, e))
            }
            Recorder::Png { tmp, out, count } => {
                let p = tmp.path().join(format!("frame_{:05}.png", *count));
                img.save(&p).map_err(|e| werr(out, e))?;
                *count += 1;
                Ok(())
            }
            Recorder::Mp4 {
                child, out, size, ..
            } => {
                if (img.width(), img.height()) != *size {
                    return Err(werr(out, "frame size changed during the recording"));
                }
                let stdin = child
                    .stdin
                    .as_mut()
                    .ok_or_else(|| werr(out, "ffmpeg closed its input"))?;
                stdin
                    .write_all(img.as_raw())
                    .map_err(|e| werr(out, format!("ffmpeg: {e}")))
            }
        }
    }

    /// Finish and move the result into place.
    pub fn finish(self) -> Result<PathBuf, ExportError> {
        match self {
            Recorder::Gif { tmp, enc, out, .. } => {
                drop(enc); // flushes the trailer
                crate::atomic::persist(tmp, &out).map_err(|e| werr(&out, e))?;
                Ok(out)
            }
            Recorder::Png { tmp, out, .. } => {
                if out.exists() {
                    std::fs::remove_dir_all(&out).map_err(|e| werr(&out, e))?;
                }
                let kept = tmp.keep();
                std::fs::rename(&kept, &out).map_err(|e| {
                    let _ = std::fs::remove_dir_all(&kept);
                    werr(&out, e)
                })?;
                Ok(out)
            }
            Recorder::Mp4 {
                tmp,
                mut child,
                out,
                ..
            } => {
                drop(child.stdin.take());
                let res = child.wait_with_output().map_err(|e| werr(&out, e))?;
                if !res.status.success() {
                    return Err(werr(
                        &out,
                        format!(
                            "ffmpeg failed: {}",
                            String::from_utf8_lossy(&res.stderr).trim()
                        ),
                    ));
                }
                crate::atomic::persist(tmp, &out).map_err(|e| werr(&out, e))?;
                Ok(out)
            }
        }
    }
}
