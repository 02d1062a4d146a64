//! One field as a publication-ready image without GUI chrome: a title line, the field at
//! 1×, 2× or 4× its grid resolution (crisp pixels), and a colorbar with tick values.
//! Text is rasterised with `ab_glyph` from egui's bundled Ubuntu font, so the export looks
//! the same everywhere and needs no system fonts.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgba, RgbaImage};

use super::export::upscale;
use super::{Colormap, Range, field_rgba};

/// Ticks on the colorbar (top, …, bottom).
pub const TICKS: usize = 5;

/// Geometry of a panel image, in pixels (exposed for tests and callers that annotate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PanelLayout {
    pub width: u32,
    pub height: u32,
    /// Top-left corner and side of the field.
    pub field_x: u32,
    pub field_y: u32,
    pub field_side: u32,
    /// The colorbar's rectangle.
    pub bar_x: u32,
    pub bar_w: u32,
    pub font_px: f32,
}

fn font() -> FontRef<'static> {
    // the font is compiled in; failing to parse it is a build defect, not user input
    FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT)
        .expect("the bundled Ubuntu-Light font parses")
}

/// Width in pixels of `text` at `px`.
fn text_width(f: &FontRef, px: f32, text: &str) -> f32 {
    let sf = f.as_scaled(PxScale::from(px));
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            w += sf.kern(p, id);
        }
        w += sf.h_advance(id);
        prev = Some(id);
    }
    w
}

/// Draw `text` with its baseline-left at `(x, baseline)` in `color`, alpha-blended.
fn draw_text(
    img: &mut RgbaImage,
    f: &FontRef,
    px: f32,
    x: f32,
    baseline: f32,
    text: &str,
    color: [u8; 3],
) {
    let scale = PxScale::from(px);
    let sf = f.as_scaled(scale);
    let mut caret = x;
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += sf.h_advance(id);
        prev = Some(id);
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, cov| {
            let (ix, iy) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
            if ix < 0 || iy < 0 || ix >= img.width() as i64 || iy >= img.height() as i64 {
                return;
            }
            let p = img.get_pixel_mut(ix as u32, iy as u32);
            let a = cov.clamp(0.0, 1.0);
            for k in 0..3 {
                p.0[k] = (p.0[k] as f32 * (1.0 - a) + color[k] as f32 * a).round() as u8;
            }
        });
    }
}

/// The labels of a colorbar's ticks (top to bottom), all in one format chosen from the
/// range's magnitude: fixed-point with three significant digits of the largest value
/// between 0.01 and 1000, else scientific.
pub(crate) fn tick_labels(range: Range) -> Vec<String> {
    let values = tick_values(range);
    let m = range.lo.abs().max(range.hi.abs());
    let fixed = (0.01..1000.0).contains(&m);
    let decimals = if fixed {
        (2 - m.log10().floor() as i32).clamp(0, 4) as usize
    } else {
        0
    };
    values
        .iter()
        .map(|&v| {
            if v == 0.0 || (fixed && v.abs() < 0.5 * 10f64.powi(-(decimals as i32))) {
                "0".into()
            } else if fixed {
                format!("{v:.decimals$}")
            } else {
                format!("{v:.1e}")
            }
        })
        .collect()
}

/// Values at the colorbar ticks, top (hi) to bottom (lo).
pub(crate) fn tick_values(range: Range) -> Vec<f64> {
    (0..TICKS)
        .map(|k| range.hi - (range.hi - range.lo) * k as f64 / (TICKS - 1) as f64)
        .collect()
}

/// Layout for an `n × n` field at `scale` with these tick labels.
fn layout(f: &FontRef, n: usize, scale: usize, range: Range) -> PanelLayout {
    let side = (n * scale) as u32;
    let font_px = (side as f32 / 18.0).clamp(12.0, 40.0);
    let margin = (font_px * 0.6).round() as u32;
    let title_h = (font_px * 1.5).round() as u32;
    let bar_gap = (font_px * 0.5).round() as u32;
    let bar_w = (font_px * 0.9).round() as u32;
    let label_px = font_px * 0.8;
    let labels_w = tick_labels(range)
        .iter()
        .map(|t| text_width(f, label_px, t))
        .fold(0.0f32, f32::max)
        .ceil() as u32;
    let bar_x = margin + side + bar_gap;
    PanelLayout {
        width: bar_x + bar_w + bar_gap / 2 + labels_w + margin,
        height: margin + title_h + side + margin,
        field_x: margin,
        field_y: margin + title_h,
        field_side: side,
        bar_x,
        bar_w,
        font_px,
    }
}

/// The title of an exported panel image: the panel's title, its unit and the time.
pub(crate) fn still_title(title: &str, unit: &str, t: f64) -> String {
    format!("{title} [{unit}]   t = {t:.2} s")
}

/// The panel image: `title` above the field (n × n, upscaled by `scale`), colorbar right.
/// `scale` must be ≥ 1; the image is white-backed and opaque.

pub fn panel_image(
    field: &[f64],
    n: usize,
    range: Range,
    cmap: Colormap,
    scale: usize,
    title: &str,
) -> (RgbaImage, PanelLayout) {
    let f = font();
    let scale = scale.max(1);
    let l = layout(&f, n, scale, range);
    let mut img = RgbaImage::from_pixel(l.width, l.height, Rgba([255, 255, 255, 255]));
    let ink = [20, 20, 20];
    // title, baseline ~ 1.1 em below the top margin
    let margin = l.field_x as f32;
    draw_text(
        &mut img,
        &f,
        l.font_px,
        margin,
        margin + l.font_px * 1.05,
        title,
        ink,
    );
    // field
    let up = upscale(&field_rgba(field, n, range, cmap), n, n, scale);
    image::imageops::overlay(&mut img, &up, l.field_x as i64, l.field_y as i64);
    // colorbar: one row per pixel, top = hi
    let h = l.field_side;
    for y in 0..h {
        let s = 1.0 - (y as f64 + 0.5) / h as f64;
        let [r, g, b] = cmap.rgb(s);
        for x in l.bar_x..l.bar_x + l.bar_w {
            img.put_pixel(x, l.field_y + y, Rgba([r, g, b, 255]));
        }
    }
    // frame around the bar and ticks with labels
    for y in [l.field_y, l.field_y + h - 1] {
        for x in l.bar_x..l.bar_x + l.bar_w {
            img.put_pixel(x, y, Rgba([ink[0], ink[1], ink[2], 255]));
        }
    }
    for y in l.field_y..l.field_y + h {
        img.put_pixel(l.bar_x, y, Rgba([ink[0], ink[1], ink[2], 255]));
        img.put_pixel(
            l.bar_x + l.bar_w - 1,
            y,
            Rgba([ink[0], ink[1], ink[2], 255]),
        );
    }
    let label_px = l.font_px * 0.8;
    let tick_len = (l.bar_w / 3).max(2);
    let label_x = (l.bar_x + l.bar_w + (l.font_px * 0.25) as u32) as f32;
    for (k, label) in tick_labels(range).iter().enumerate() {
        let y = l.field_y + ((h - 1) as f64 * k as f64 / (TICKS - 1) as f64).round() as u32;
        for x in l.bar_x + l.bar_w - tick_len..l.bar_x + l.bar_w {
            img.put_pixel(x, y, Rgba([ink[0], ink[1], ink[2], 255]));
        }
        // centre the digits on the tick, kept inside the field's vertical extent
        let baseline = (y as f32 + label_px * 0.35)
            .clamp(l.field_y as f32 + label_px * 0.75, (l.field_y + h) as f32);
        draw_text(&mut img, &f, label_px, label_x, baseline, label, ink);
    }
    (img, l)
}

/// Font size of panel titles over panels `panel_w` pixels wide.
fn title_px(panel_w: u32) -> f32 {
    (panel_w as f32 / 16.0).clamp(11.0, 20.0)
}

/// Height of the title band [`with_titles`] adds over panels `panel_w` pixels wide.
pub fn title_band(panel_w: u32) -> u32 {
    (title_px(panel_w) * 1.6).ceil() as u32
}

/// `strip` (panels of width `panel_w`, `gap` apart) with a white band above holding each
/// panel's title, shrunk to fit its panel (movies of `render`).
pub(crate) fn with_titles(
    strip: &RgbaImage,
    titles: &[String],
    panel_w: u32,
    gap: u32,
) -> RgbaImage {
    let f = font();
    let px = title_px(panel_w);
    let band = title_band(panel_w);
    let mut img = RgbaImage::from_pixel(
        strip.width(),
        strip.height() + band,
        Rgba([255, 255, 255, 255]),
    );
    image::imageops::overlay(&mut img, strip, 0, band as i64);
    for (i, t) in titles.iter().enumerate() {
        let room = panel_w as f32 - 4.0;
        let fit = px * (room / text_width(&f, px, t)).min(1.0);
        let x = (i as u32 * (panel_w + gap)) as f32 + 2.0;
        draw_text(&mut img, &f, fit, x, px * 1.2, t, [20, 20, 20]);
    }
    img
}
