//! Recordings: frames of chosen panels side by side, taken at fixed simulation-time
//! spacing (so pauses never show), encoded as animated GIF (image crate), a numbered PNG
//! sequence, or MP4 (H.264 from Cisco's openh264, built from vendored source and linked
//! in, muxed by the pure-Rust `muxide`; nothing to install). Every output is written to a
//! temporary name first and renamed at the end: a failure leaves nothing behind.

use std::path::{Path, PathBuf};

use openh264::OpenH264API;
use openh264::encoder::{Encoder, EncoderConfig, FrameRate, FrameType, QpRange, RateControlMode};
use openh264::formats::{RgbSliceU8, YUVBuffer};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};

use super::export::{ExportError, upscale};
use super::{Colormap, PanelRanges, Range, field_rgba, panel_style, panel_title};
use crate::experiment::{Fields, Panel, PanelContext};

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
pub(crate) fn strip_size(k: usize, n: usize, scale: usize) -> (u32, u32) {
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
    pub(crate) fn from_path(p: &Path) -> Result<Self, ExportError> {
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

/// The H.264 settings of a recording. openh264's defaults (120 kbit/s, frames skipped
/// to hold that rate) drop whole frames of a large movie — the muxer then refuses the
/// empty sample ("video frame 1 is empty"). A recording keeps every frame at a fixed
/// quality instead (rate control off, quantiser 18–28: fields are all edges and
/// gradients, and a movie of a few hundred frames is small either way).
fn encoder_config(fps: f64) -> EncoderConfig {
    EncoderConfig::new()
        .skip_frames(false)
        .rate_control_mode(RateControlMode::Off)
        .qp(QpRange::new(18, 28))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
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
                let enc = Encoder::with_api_config(OpenH264API::from_source(), encoder_config(fps))
                    .map_err(|e| werr(out, format!("H.264 encoder: {e}")))?;
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
                let encode = |enc: &mut Encoder| {
                    enc.encode(&yuv)
                        .map(|bs| {
                            let key = matches!(bs.frame_type(), FrameType::IDR | FrameType::I);
                            (bs.to_vec(), key)
                        })
                        .map_err(|e| werr(out, format!("H.264 encoder: {e}")))
                };
                let (mut data, mut key) = encode(enc)?;
                if data.is_empty() {
                    // rate control dropped the frame despite the settings: a key frame is
                    // never dropped
                    enc.force_intra_frame();
                    (data, key) = encode(enc)?;
                }
                if data.is_empty() {
                    return Err(werr(
                        out,
                        format!("H.264 encoder gave no data for frame {}", *frames + 1),
                    ));
                }
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

/// A movie of chosen panels whose colour scales cover all of its frames, so a growing
/// error or a spreading ensemble shows as a change of colour instead of being rescaled
/// away frame by frame. Each frame's fields are kept (f32, in an anonymous temporary
/// file) and its ranges merged into the movie's; [`Movie::finish`] colours every frame
/// on the merged scales and encodes them. The output file is opened on the first frame,
/// so a bad path fails before any long run.
pub struct Movie {
    panels: Vec<Panel>,
    cx: PanelContext,
    cmaps: (Colormap, Colormap),
    scale: usize,
    titles: bool,
    colorbars: bool,
    fps: f64,
    out: PathBuf,
    n: usize,
    store: std::io::BufWriter<std::fs::File>,
    times: Vec<f64>,
    ranges: Option<PanelRanges>,
    rec: Option<Recorder>,
}

impl Movie {
    /// A movie of `panels` (diverging and sequential maps `cmaps`, `scale` pixels per grid
    /// point, a title band when `titles`; `colorbars`: each panel as the exported panel
    /// image, with its title and a colorbar) into `out` at `fps`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out: &Path,
        fps: f64,
        panels: &[Panel],
        cx: PanelContext,
        cmaps: (Colormap, Colormap),
        scale: usize,
        titles: bool,
        colorbars: bool,
    ) -> Result<Self, ExportError> {
        if panels.is_empty() {
            return Err(werr(out, "no panels chosen"));
        }
        Format::from_path(out)?;
        let file = tempfile::tempfile().map_err(|e| werr(out, e))?;
        Ok(Movie {
            panels: panels.to_vec(),
            cx,
            cmaps,
            scale,
            titles,
            colorbars,
            fps,
            out: out.to_path_buf(),
            n: 0,
            store: std::io::BufWriter::new(file),
            times: Vec::new(),
            ranges: None,
            rec: None,
        })
    }

    /// Frames taken so far.
    pub fn frames(&self) -> usize {
        self.times.len()
    }

    /// Take a frame of `f`.
    pub fn push(&mut self, f: &Fields) -> Result<(), ExportError> {
        use std::io::Write;
        if self.times.is_empty() {
            self.n = f.n;
            let size = self.frame_size();
            let rec = Recorder::create(&self.out, self.fps, size)?;
            if self.colorbars {
                // the frame size follows the colorbars' labels, known at the end: the
                // output is only tried here
                drop(rec);
            } else {
                self.rec = Some(rec);
            }
        } else if f.n != self.n {
            return Err(werr(&self.out, "grid changed during the recording"));
        }
        let r = PanelRanges::new(f, Range::symmetric_quantile(&[&f.truth], 0.995));
        self.ranges = Some(self.ranges.map_or(r, |m| m.merge(r)));
        for &p in &self.panels {
            let v: Vec<f32> = f.panel(p).iter().map(|&x| x as f32).collect();
            self.store
                .write_all(bytemuck::cast_slice(&v))
                .map_err(|e| {
                    werr(
                        &self.out,
                        format!("keeping frame {}: {e}", self.frames() + 1),
                    )
                })?;
        }
        self.times.push(f.t);
        Ok(())
    }

    /// Title band height of a frame (0 without titles).
    fn frame_size(&self) -> (u32, u32) {
        let (w, h) = strip_size(self.panels.len(), self.n, self.scale);
        let band = if self.titles {
            super::panel::title_band((self.n * self.scale) as u32)
        } else {
            0
        };
        (w, h + band)
    }

    /// Colour and encode every frame (`progress(done, total)` after each); the file is
    /// moved into place at the end.
    pub fn finish(self, mut progress: impl FnMut(usize, usize)) -> Result<PathBuf, ExportError> {
        use std::io::{Read, Seek};
        let Some(ranges) = self.ranges else {
            return Err(werr(&self.out, "no frames taken"));
        };
        let mut rec = self.rec;
        let styles: Vec<_> = self
            .panels
            .iter()
            .map(|&p| panel_style(p, &ranges, self.cmaps.0, self.cmaps.1))
            .collect();
        let mut file = self
            .store
            .into_inner()
            .map_err(|e| werr(&self.out, e.error()))?;
        file.seek(std::io::SeekFrom::Start(0))
            .map_err(|e| werr(&self.out, e))?;
        let nn = self.n * self.n;
        let mut buf = vec![0f32; nn];
        let mut fields = vec![vec![0f64; nn]; self.panels.len()];
        let total = self.times.len();
        for (k, t) in self.times.iter().enumerate() {
            for field in fields.iter_mut() {
                file.read_exact(bytemuck::cast_slice_mut(&mut buf))
                    .map_err(|e| werr(&self.out, e))?;
                for (d, &s) in field.iter_mut().zip(&buf) {
                    *d = s as f64;
                }
            }
            let panels: Vec<(&[f64], Range, Colormap)> = fields
                .iter()
                .zip(&styles)
                .map(|(f, s)| (f.as_slice(), s.range, s.cmap))
                .collect();
            let title = |i: usize, p: Panel, s: &super::PanelStyle| {
                let title = panel_title(p, &self.cx, s);
                match (i, self.colorbars) {
                    (0, true) => format!("{title} [{}]  t = {t:.2} s", p.unit()),
                    (0, false) => format!("{title}, t = {t:.2}"),
                    (_, true) => format!("{title} [{}]", p.unit()),
                    _ => title,
                }
            };
            let frame = if self.colorbars {
                let images: Vec<RgbaImage> = fields
                    .iter()
                    .zip(&self.panels)
                    .zip(&styles)
                    .enumerate()
                    .map(|(i, ((f, &p), s))| {
                        let t = title(i, p, s);
                        super::panel::panel_image(f, self.n, s.range, s.cmap, self.scale, &t).0
                    })
                    .collect();
                side_by_side(&images)
            } else if self.titles {
                let titles: Vec<String> = self
                    .panels
                    .iter()
                    .zip(&styles)
                    .enumerate()
                    .map(|(i, (&p, s))| title(i, p, s))
                    .collect();
                let side = (self.n * self.scale) as u32;
                super::panel::with_titles(&strip(&panels, self.n, self.scale), &titles, side, GAP)
            } else {
                strip(&panels, self.n, self.scale)
            };
            let rec = match &mut rec {
                Some(r) => r,
                None => rec.insert(Recorder::create(
                    &self.out,
                    self.fps,
                    (frame.width(), frame.height()),
                )?),
            };
            rec.push(&frame)?;
            progress(k + 1, total);
        }
        match rec {
            Some(r) => r.finish(),
            None => Err(werr(&self.out, "no frames taken")),
        }
    }
}

/// Images side by side, `GAP` pixels apart, top-aligned on white.
fn side_by_side(images: &[RgbaImage]) -> RgbaImage {
    let w = images.iter().map(|i| i.width()).sum::<u32>() + GAP * (images.len().max(1) as u32 - 1);
    let h = images.iter().map(|i| i.height()).max().unwrap_or(1);
    let mut out = RgbaImage::from_pixel(w, h, image::Rgba([255, 255, 255, 255]));
    let mut x = 0i64;
    for im in images {
        image::imageops::overlay(&mut out, im, x, 0);
        x += (im.width() + GAP) as i64;
    }
    out
}
