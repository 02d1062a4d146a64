//! How each panel is coloured — one rule for the window, recordings and the CLI: the
//! three ω panels share one symmetric range in the diverging map; error and spread span
//! [0, max] in the sequential map; the true and sampled closures share their own
//! symmetric range. An error or spread map that is zero to round-off is drawn on the
//! scale of what it measures (so it shows as "≈ 0", not as stretched noise).

use super::{Colormap, Range};
use crate::experiment::{Fields, Panel, PanelContext, PanelKind};

/// A non-negative map (error, spread) whose largest value is below this fraction of the
/// scale it is measured against (the ω range for the error, the closure range for the
/// spread) is zero to round-off: double precision leaves ≈ 10⁻¹⁵ of the field, and a
/// real error of a run is many orders above 10⁻⁹.
pub const ROUNDOFF: f64 = 1e-9;

/// The shared colour ranges of one frame (or, merged, of a whole movie).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PanelRanges {
    pub omega: Range,
    pub closure: Range,
    /// Largest finite |ω_with − ω_truth|.
    pub error: f64,
    /// Largest finite ensemble spread.
    pub spread: f64,
    /// Largest finite error of the newest draw.
    pub closure_error: f64,
}

/// Largest finite value (0 for none).
fn max_finite(f: &[f64]) -> f64 {
    f.iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, &v| m.max(v))
}

/// The symmetric 99.5 % quantile over the true and the sampled closure; `[0, 0]` while
/// both are zero (before the first step), so a movie's merged range ignores it.
fn closure_range(f: &Fields) -> Range {
    let all_zero = f
        .true_closure
        .iter()
        .chain(&f.closure)
        .all(|v| *v == 0.0 || !v.is_finite());
    if all_zero {
        Range { lo: 0.0, hi: 0.0 }
    } else {
        Range::symmetric_quantile(&[&f.true_closure, &f.closure], 0.995)
    }
}

/// The union of two ranges.
fn wider(a: Range, b: Range) -> Range {
    Range {
        lo: a.lo.min(b.lo),
        hi: a.hi.max(b.hi),
    }
}

impl PanelRanges {
    /// `omega` as chosen by the caller (auto, quantile, locked); the closures' range is
    /// the symmetric 99.5 % quantile over the true and the sampled closure.
    pub fn new(f: &Fields, omega: Range) -> Self {
        PanelRanges {
            omega,
            closure: closure_range(f),
            error: max_finite(&f.error),
            spread: max_finite(&f.spread),
            closure_error: max_finite(&f.closure_error),
        }
    }

    /// The ranges a movie uses: the widest of its frames', so every frame is drawn on one
    /// scale and nothing clips more than a frame's own 99.5 % quantile.
    pub fn merge(self, o: PanelRanges) -> PanelRanges {
        PanelRanges {
            omega: wider(self.omega, o.omega),
            closure: wider(self.closure, o.closure),
            error: self.error.max(o.error),
            spread: self.spread.max(o.spread),
            closure_error: self.closure_error.max(o.closure_error),
        }
    }

    /// A non-negative panel's largest value and the scale it is measured against (the ω
    /// range for the error of ω, the closure range for closure spread and error); `None`
    /// for the other panels.
    fn non_negative(&self, panel: Panel) -> Option<(f64, f64)> {
        match panel {
            Panel::Error => Some((self.error, self.omega.hi)),
            Panel::Spread => Some((self.spread, self.closure.hi)),
            Panel::ClosureError => Some((self.closure_error, self.closure.hi)),
            Panel::Truth
            | Panel::With
            | Panel::Without
            | Panel::TrueClosure
            | Panel::Closure
            | Panel::Reference => None,
        }
    }

    /// Whether `panel` (an error or spread map) is zero to round-off ([`ROUNDOFF`]).
    pub(crate) fn roundoff(&self, panel: Panel) -> bool {
        self.non_negative(panel)
            .is_some_and(|(max, scale)| max <= ROUNDOFF * scale.abs())
    }
}

/// Colour range and map of a panel, and whether it shows a round-off zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PanelStyle {
    pub range: Range,
    pub cmap: Colormap,
    /// The field is zero to round-off: drawn at the bottom of the scale it is measured
    /// against; titles say "≈ 0 (round-off)".
    pub roundoff: bool,
}

/// Range and colour map of `panel` under `ranges`.
pub(crate) fn panel_style(
    panel: Panel,
    ranges: &PanelRanges,
    diverging: Colormap,
    sequential: Colormap,
) -> PanelStyle {
    let roundoff = ranges.roundoff(panel);
    let (range, cmap) = match panel.kind() {
        PanelKind::Vorticity => (ranges.omega, diverging),
        PanelKind::Closure if ranges.closure.hi > 0.0 => (ranges.closure, diverging),
        PanelKind::Closure => (Range { lo: -1.0, hi: 1.0 }, diverging),
        PanelKind::NonNegative => {
            let (max, scale) = ranges.non_negative(panel).unwrap_or((0.0, 1.0));
            let hi = if roundoff || max <= 0.0 { scale } else { max };
            let hi = if hi > 0.0 && hi.is_finite() { hi } else { 1.0 };
            (Range { lo: 0.0, hi }, sequential)
        }
    };
    PanelStyle {
        range,
        cmap,
        roundoff,
    }
}

/// A panel's title as drawn: [`Panel::title`], and "≈ 0 (round-off)" on an error or
/// spread map that is zero to round-off.
pub(crate) fn panel_title(panel: Panel, cx: &PanelContext, style: &PanelStyle) -> String {
    let title = panel.title(cx);
    if style.roundoff && panel.absent(cx).is_none() {
        format!("{title} ≈ 0 (round-off)")
    } else {
        title
    }
}
