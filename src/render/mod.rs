//! Field → colour: colour maps, value ranges, RGBA images, colorbars and image export.
//! Pure CPU code, used by the app (textures), the CLI (headless renders) and exports.

pub mod chart;
pub mod export;
pub mod gpu;
pub mod panel;
pub mod record;
mod style;

pub use style::{PanelRanges, PanelStyle, ROUNDOFF};
pub(crate) use style::{panel_style, panel_title};

use serde::{Deserialize, Serialize};

/// Colour maps: perceptually ordered and colour-blind safe (no jet/turbo).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Colormap {
    /// Diverging red–blue (ColorBrewer RdBu, reversed: blue negative, red positive).
    #[default]
    RedBlue,
    /// Diverging purple–orange (ColorBrewer PuOr).
    PurpleOrange,
    /// Sequential viridis.
    Viridis,
    /// Sequential cividis (designed for colour-vision deficiency).
    Cividis,
    /// Sequential inferno.
    Inferno,
}

impl Colormap {
    pub const DIVERGING: [Colormap; 2] = [Colormap::RedBlue, Colormap::PurpleOrange];
    pub const SEQUENTIAL: [Colormap; 3] = [Colormap::Viridis, Colormap::Cividis, Colormap::Inferno];

    pub fn name(self) -> &'static str {
        match self {
            Colormap::RedBlue => "red–blue",
            Colormap::PurpleOrange => "purple–orange",
            Colormap::Viridis => "viridis",
            Colormap::Cividis => "cividis",
            Colormap::Inferno => "inferno",
        }
    }

    /// Colour at `s ∈ [0, 1]`.
    pub fn rgb(self, s: f64) -> [u8; 3] {
        let s = if s.is_finite() {
            s.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let c = match self {
            Colormap::RedBlue => colorous::RED_BLUE.eval_continuous(1.0 - s),
            Colormap::PurpleOrange => colorous::PURPLE_ORANGE.eval_continuous(1.0 - s),
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(s),
            Colormap::Cividis => colorous::CIVIDIS.eval_continuous(s),
            Colormap::Inferno => colorous::INFERNO.eval_continuous(s),
        };
        [c.r, c.g, c.b]
    }

    /// A 256-entry lookup table (RGBA).
    pub(crate) fn lut(self) -> Vec<[u8; 4]> {
        (0..256)
            .map(|i| {
                let [r, g, b] = self.rgb(i as f64 / 255.0);
                [r, g, b, 255]
            })
            .collect()
    }
}

/// A value range mapped onto a colour map.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    /// Symmetric range `[−m, m]` with `m = max|v|` over all `fields` (never empty).
    pub(crate) fn symmetric(fields: &[&[f64]]) -> Range {
        let m = fields
            .iter()
            .flat_map(|f| f.iter())
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let m = if m > 0.0 { m } else { 1.0 };
        Range { lo: -m, hi: m }
    }

    /// Symmetric range from the `q`-quantile of |v| (robust to a few extreme pixels).
    pub(crate) fn symmetric_quantile(fields: &[&[f64]], q: f64) -> Range {
        let mut a: Vec<f64> = fields
            .iter()
            .flat_map(|f| f.iter())
            .filter(|v| v.is_finite())
            .map(|v| v.abs())
            .collect();
        if a.is_empty() {
            return Range { lo: -1.0, hi: 1.0 };
        }
        let k = ((a.len() - 1) as f64 * q.clamp(0.0, 1.0)) as usize;
        let (_, m, _) = a.select_nth_unstable_by(k, |x, y| x.total_cmp(y));
        let m = if *m > 0.0 { *m } else { 1.0 };
        Range { lo: -m, hi: m }
    }

    /// The ω scale a frame is shown on by default, in the window and in a still: the
    /// symmetric 99th percentile of |ω| over the truth and both model runs.
    pub fn omega(f: &crate::experiment::Fields) -> Range {
        Range::symmetric_quantile(&[&f.truth, &f.with, &f.without], 0.99)
    }

    /// `[0, max v]` for non-negative fields (spread, error).
    pub fn positive(fields: &[&[f64]]) -> Range {
        let m = fields
            .iter()
            .flat_map(|f| f.iter())
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, &v| m.max(v));
        Range {
            lo: 0.0,
            hi: if m > 0.0 { m } else { 1.0 },
        }
    }

    /// Position of `v` in the range, 0…1.
    pub fn unit(&self, v: f64) -> f64 {
        (v - self.lo) / (self.hi - self.lo)
    }
}

/// Colour an N×N field (`a[i·N + j]`, x = i/N down the rows… drawn with x to the right and
/// y up, as in the published figures) into RGBA pixels, row-major from the top.
pub fn field_rgba(field: &[f64], n: usize, range: Range, cmap: Colormap) -> Vec<u8> {
    let lut = cmap.lut();
    let mut out = vec![0u8; n * n * 4];
    for row in 0..n {
        let j = n - 1 - row; // y decreases down the image
        for i in 0..n {
            let v = field[i * n + j];
            let k = (range.unit(v) * 255.0).round().clamp(0.0, 255.0) as usize;
            let k = if v.is_finite() { k } else { 127 };
            out[(row * n + i) * 4..(row * n + i) * 4 + 4].copy_from_slice(&lut[k]);
        }
    }
    out
}

/// The field index under image pixel `(px, py)` of an `n × n` image (inverse of the
/// orientation used by [`field_rgba`]).
pub(crate) fn field_index_at(px: usize, py: usize, n: usize) -> usize {
    let i = px.min(n - 1);
    let j = n - 1 - py.min(n - 1);
    i * n + j
}

/// Image pixel `(px, py)` of field index `idx` (for overlays such as sensor positions).
pub(crate) fn pixel_of_index(idx: usize, n: usize) -> (usize, usize) {
    let (i, j) = (idx / n, idx % n);
    (i, n - 1 - j)
}
