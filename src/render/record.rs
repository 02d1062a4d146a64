//! Recordings: frames of chosen panels side by side, taken at fixed simulation-time
//! spacing (so pauses never show), encoded as animated GIF (image crate), a numbered PNG
//! sequence, or MP4 (H.264 from Cisco's openh264, built from vendored source and linked
//! in, muxed by the pure-Rust `muxide`; nothing to install). Every output is written to a
//! temporary name first and renamed at the end: a failure leaves nothing behind.

use std::path::{Path, PathBuf};

use openh264::encoder::{Encoder, FrameType};
use openh264::formats::{RgbSliceU8, YUVBuffer};

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
    let panels: Vec<(&[f64], Range, Colormap)> = fields.iter().map(|f| (*f, range, cmap)).collect();
    strip(&panels, n, scale)
}

/// Panels side by side (`GAP` pixels apart), each with its own range and colour map.
pub fn strip(panels: &[(&[f64], Range, Colormap)], n: usize, scale: usize) -> RgbaImage {
    let side = (n * scale) as u32;
    let (w, h) = strip_size(panels.len(), n, scale);
    let mut img = RgbaImage::from_pixel(w, h, image::Rgba([255, 255, 255, 255]));
    for (i, (f, range, cmap)) in panels.iter().enumerate() {
        let up = upscale(&field_rgba(f, n, *range, *cmap), n, n, scale);
        image::imageops::overlay(&mut img, &up, (i as u32 * (side + GAP)) as i64, 0);
    }
    img
}

/// Size of a [`strip`] of `k` panels of an `n × n` field at `scale`.
pub fn strip_size(k: usize, n: usize, scale: usize) -> (u32, u32) {
    let side = (n * scale) as u32;
    let k = k.max(1) as u32;
    (k * side + (k - 1) * GAP, side)
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
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let movie = matches!(ext.as_deref(), Some("gif" | "mp4"));
        if p.is_dir() && movie && !s.ends_with('/') {
            // `out.gif` naming a folder is a mistake, not a request for PNG frames
            return Err(werr(
                p,
                "is a directory; name a new FILE.gif/FILE.mp4, or DIR/ (with the slash) for PNG frames",
            ));
        }
        if s.ends_with('/') || p.is_dir() {
            return Ok(Format::PngSequence);
        }
        match ext {
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

type Mp4Muxer = muxide::api::Muxer<std::io::BufWriter<std::fs::File>>;

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
        enc: Box<Encoder>,
        mux: Box<Mp4Muxer>,
        out: PathBuf,
        size: (u32, u32),
        fps: f64,
        frames: u64,
        rgb: Vec<u8>,
    },
}

impl Recorder {
    /// Start a recording to `out` at `fps` frames per second for frames of `size`.
    pub fn create(out: &Path, fps: f64, size: (u32, u32)) -> Result<Self, ExportError> {
        let fmt = Format::from_path(out)?;
        let dir = crate::atomic::parent_dir(out);
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
                let parent = crate::atomic::parent_dir(&target);
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
                // H.264 needs even sizes: an odd last row/column is dropped
                let (w, h) = (size.0 & !1, size.1 & !1);
                if w == 0 || h == 0 {
                    return Err(werr(out, "frame too small for MP4"));
                }
                let tmp = tempfile::Builder::new()
                    .suffix(".mp4.tmp")
                    .tempfile_in(dir)
                    .map_err(|e| werr(out, e))?;
                let file = tmp.reopen().map_err(|e| werr(out, e))?;
                let enc = Encoder::new().map_err(|e| werr(out, format!("H.264 encoder: {e}")))?;
                let mux = muxide::api::MuxerBuilder::new(std::io::BufWriter::new(file))
                    .video(muxide::api::VideoCodec::H264, w, h, fps)
                    .build()
                    .map_err(|e| werr(out, format!("MP4 muxer: {e}")))?;
                let rgb = vec![0; (w * h * 3) as usize];
                Ok(Recorder::Mp4 {
                    tmp,
                    enc: Box::new(enc),
                    mux: Box::new(mux),
                    out: out.to_path_buf(),
                    size,
                    fps,
                    frames: 0,
                    rgb,
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
                enc,
                mux,
                out,
                size,
                fps,
                frames,
                rgb,
                ..
            } => {
                if (img.width(), img.height()) != *size {
                    return Err(werr(out, "frame size changed during the recording"));
                }
                let (w, h) = ((size.0 & !1) as usize, (size.1 & !1) as usize);
                for y in 0..h {
                    for x in 0..w {
                        let p = img.get_pixel(x as u32, y as u32).0;
                        rgb[3 * (y * w + x)..3 * (y * w + x) + 3].copy_from_slice(&p[..3]);
                    }
                }
                let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(rgb, (w, h)));
                let bs = enc
                    .encode(&yuv)
                    .map_err(|e| werr(out, format!("H.264 encoder: {e}")))?;
                let key = matches!(bs.frame_type(), FrameType::IDR | FrameType::I);
                let data = bs.to_vec();
                mux.write_video(*frames as f64 / *fps, &data, key)
                    .map_err(|e| werr(out, format!("MP4 muxer: {e}")))?;
                *frames += 1;
                Ok(())
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
            Recorder::Mp4 { tmp, mux, out, .. } => {
                mux.finish()
                    .map_err(|e| werr(&out, format!("MP4 muxer: {e}")))?;
                crate::atomic::persist(tmp, &out).map_err(|e| werr(&out, e))?;
                Ok(out)
            }
        }
    }
}
