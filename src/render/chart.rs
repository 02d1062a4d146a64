//! Line charts as PNG (figures of `les-eval --plots`): drawn as SVG by plotters,
//! rasterised by resvg with the font egui ships, saved atomically.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::export::{ExportError, save_png};

/// One figure: named curves of (x, y) points; y on a log axis, x log or linear.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub log_x: bool,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Okabe–Ito's colour-blind-safe colours (black is the reference series), then three
/// more so that the eight closures of a subgrid figure never share a colour.
const OKABE_ITO: [RGBColor; 9] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(204, 121, 167),
    RGBColor(117, 112, 179),
    RGBColor(140, 86, 75),
    RGBColor(128, 128, 128),
];

/// Pixel size of a chart.
pub const SIZE: (u32, u32) = (900, 620);

fn err(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Write {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

impl Chart<'_> {
    /// The chart as SVG text.
    pub(crate) fn svg(&self) -> Result<String, String> {
        let pts = || {
            self.series
                .iter()
                .flat_map(|(_, p)| p.iter().copied())
                .filter(|(x, y)| {
                    x.is_finite() && *y > 0.0 && y.is_finite() && (!self.log_x || *x > 0.0)
                })
        };
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in pts() {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 >= x1 || y0 >= y1 {
            return Err("nothing to plot".into());
        }
        let mut svg = String::new();
        if self.log_x {
            self.draw(&mut svg, (x0..x1).log_scale(), y0..y1)?;
        } else {
            self.draw(&mut svg, x0..x1, y0..y1)?;
        }
        Ok(svg)
    }

    fn draw<X>(&self, svg: &mut String, x: X, y: std::ops::Range<f64>) -> Result<(), String>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x, (y.start * 0.8..y.end * 1.25).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .label_style(("sans-serif", 16))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|x| e(&x))?;
        for (i, (name, points)) in self.series.iter().enumerate() {
            // the reference (first curve) in black, the others in the Okabe–Ito
            // colour-blind-safe set
            let colour = if i == 0 {
                BLACK
            } else {
                OKABE_ITO[(i - 1) % OKABE_ITO.len()]
            };
            let style = colour.stroke_width(if i == 0 { 3 } else { 2 });
            let kept = points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && *y > 0.0 && y.is_finite());
            chart
                .draw_series(LineSeries::new(kept, style))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
        Ok(())
    }

    /// Rasterise and save as PNG (atomically).
    pub(crate) fn save_png(&self, path: &Path) -> Result<(), ExportError> {
        let svg = self.svg().map_err(|e| err(path, e))?;
        let mut opt = resvg::usvg::Options::default();
        {
            let db = opt.fontdb_mut();
            db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
            db.set_sans_serif_family("Ubuntu");
        }
        opt.font_family = "Ubuntu".into();
        let tree = resvg::usvg::Tree::from_str(&svg, &opt).map_err(|e| err(path, e))?;
        let size = tree.size().to_int_size();
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
            .ok_or_else(|| err(path, "empty chart"))?;
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::default(),
            &mut pixmap.as_mut(),
        );
        let img = image::RgbaImage::from_raw(size.width(), size.height(), pixmap.take())
            .ok_or_else(|| err(path, "chart buffer has the wrong size"))?;
        save_png(&img, path)
    }
}
