//! How each panel is coloured — one rule for the window, recordings and the CLI: the
//! three ω panels share one symmetric range in the diverging map; error and spread span
//! [0, max] in the sequential map; the true and sampled closures share their own
//! symmetric range.

use super::{Colormap, Range};
use crate::experiment::{Fields, Panel, PanelKind};

/// The shared colour ranges of one frame.
#[derive(Clone, Copy, Debug)]
pub struct PanelRanges {
    pub omega: Range,
    pub closure: Range,
}

impl PanelRanges {
    /// `omega` as chosen by the caller (auto, quantile, locked); the closures' range is
    /// the symmetric 99.5 % quantile over the true and the sampled closure.
    pub fn new(f: &Fields, omega: Range) -> Self {
        PanelRanges {
            omega,
            closure: Range::symmetric_quantile(&[&f.true_closure, &f.closure], 0.995),
        }
    }
}

/// Range and colour map of `panel` showing `field`.
pub fn panel_style(
    panel: Panel,
    field: &[f64],
    ranges: &PanelRanges,
    diverging: Colormap,
    sequential: Colormap,
) -> (Range, Colormap) {
    match panel.kind() {
        PanelKind::Vorticity => (ranges.omega, diverging),
        PanelKind::NonNegative => (Range::positive(&[field]), sequential),
        PanelKind::Closure => (ranges.closure, diverging),
    }
}
