//! Field panels: a colour-mapped texture, a title with units, a colorbar with values,
//! sensor overlay and the value under the cursor.

use eframe::egui::{
    self, Color32, ColorImage, Rect, Sense, Stroke, TextureHandle, TextureOptions, Vec2, pos2, vec2,
};

use crate::render::panel::{TICKS, tick_labels};
use crate::render::{Colormap, Range, field_index_at, field_rgba, pixel_of_index};

/// A field to draw and how.
pub struct PanelSpec<'a> {
    pub id: &'static str,
    pub title: String,
    pub unit: &'static str,
    pub field: &'a [f64],
    pub n: usize,
    pub range: Range,
    pub cmap: Colormap,
    pub sensors: Option<&'a [usize]>,
}

/// Texture cache for one panel.
#[derive(Default)]
pub struct PanelTexture {
    tex: Option<TextureHandle>,
}

impl PanelTexture {
    fn upload(&mut self, ctx: &egui::Context, id: &str, spec: &PanelSpec) -> egui::TextureId {
        let rgba = field_rgba(spec.field, spec.n, spec.range, spec.cmap);
        let img = ColorImage::from_rgba_unmultiplied([spec.n, spec.n], &rgba);
        match &mut self.tex {
            Some(t) => t.set(img, TextureOptions::NEAREST),
            None => self.tex = Some(ctx.load_texture(id, img, TextureOptions::NEAREST)),
        }
        self.tex.as_ref().map(|t| t.id()).unwrap_or_default()
    }
}

/// Draw a panel of side `side` points (+ colorbar); returns the field's response (hover
/// shows the value under the cursor; right-click is free for a context menu).
/// With `gpu`, the field is colour-mapped by the WGSL shader (paint callback) instead of
/// a CPU-coloured texture.
pub(crate) fn field_panel_ui(
    ui: &mut egui::Ui,
    tex: &mut PanelTexture,
    spec: &PanelSpec,
    side: f32,
    gpu: bool,
) -> egui::Response {
    let id = (!gpu).then(|| tex.upload(ui.ctx(), spec.id, spec));
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(&spec.title).strong());
            ui.label(egui::RichText::new(format!("[{}]", spec.unit)).weak());
        });
        ui.horizontal(|ui| {
            let (rect, resp) = ui.allocate_exact_size(Vec2::splat(side), Sense::click());
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::Role::Image,
                    true,
                    format!("{} (field)", spec.title),
                )
            });
            let painter = ui.painter_at(rect);
            match id {
                Some(id) => painter.image(
                    id,
                    rect,
                    Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                    Color32::WHITE,
                ),
                None => painter.add(
                    super::gpu::FieldPaint {
                        id: spec.id,
                        n: spec.n,
                        field: spec.field.iter().map(|&v| v as f32).collect(),
                        range: spec.range,
                        cmap: spec.cmap,
                    }
                    .shape(rect),
                ),
            };
            let n = spec.n;
            let px = |p: (usize, usize)| {
                rect.min
                    + vec2(
                        (p.0 as f32 + 0.5) * side / n as f32,
                        (p.1 as f32 + 0.5) * side / n as f32,
                    )
            };
            if let Some(s) = spec.sensors {
                for &idx in s {
                    painter.circle_filled(px(pixel_of_index(idx, n)), 1.6, Color32::BLACK);
                }
            }
            if let Some(pos) = resp.hover_pos() {
                let rel = (pos - rect.min) / side;
                let (ix, iy) = ((rel.x * n as f32) as usize, (rel.y * n as f32) as usize);
                let idx = field_index_at(ix.min(n - 1), iy.min(n - 1), n);
                let v = spec.field[idx];
                let (i, j) = (idx / n, idx % n);
                resp.clone().on_hover_text(format!(
                    "x = {:.3}, y = {:.3}\n{} = {:.4} {}",
                    i as f64 / n as f64,
                    j as f64 / n as f64,
                    spec.title,
                    v,
                    spec.unit
                ));
            }
            colorbar_ui(ui, spec.range, spec.cmap, side);
            resp
        })
        .inner
    })
    .inner
}

/// Font size of colorbar labels (points at UI scale 1).
pub const COLORBAR_FONT: f32 = 11.0;

/// Width a colorbar of `range` takes: the bar and its widest label.
pub(crate) fn colorbar_width(ui: &egui::Ui, range: Range) -> f32 {
    let font = egui::FontId::proportional(COLORBAR_FONT);
    let widest = tick_labels(range)
        .into_iter()
        .map(|t| ui.fonts_mut(|f| f.layout_no_wrap(t, font.clone(), Color32::WHITE).size().x))
        .fold(0.0f32, f32::max);
    10.0 + 4.0 + widest + 2.0
}

/// A vertical colorbar with its tick values (five when it is tall enough, else three),
/// as wide as its labels need.
pub(crate) fn colorbar_ui(ui: &mut egui::Ui, range: Range, cmap: Colormap, height: f32) {
    let width = colorbar_width(ui, range);
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let bar = Rect::from_min_size(rect.min, vec2(10.0, height));
    let steps = 64;
    for k in 0..steps {
        let s = 1.0 - (k as f64 + 0.5) / steps as f64;
        let [r, g, b] = cmap.rgb(s);
        let y0 = bar.min.y + height * k as f32 / steps as f32;
        let y1 = bar.min.y + height * (k + 1) as f32 / steps as f32;
        painter.rect_filled(
            Rect::from_min_max(pos2(bar.min.x, y0), pos2(bar.max.x, y1 + 0.5)),
            0.0,
            Color32::from_rgb(r, g, b),
        );
    }
    painter.rect_stroke(
        bar,
        0.0,
        Stroke::new(0.5, ui.visuals().text_color()),
        egui::StrokeKind::Inside,
    );
    let font = egui::FontId::proportional(COLORBAR_FONT);
    let color = ui.visuals().text_color();
    let every = if height >= 160.0 { 1 } else { TICKS / 2 };
    for (k, label) in tick_labels(range).into_iter().enumerate().step_by(every) {
        let y = bar.min.y + height * k as f32 / (TICKS - 1) as f32;
        painter.text(
            pos2(bar.max.x + 4.0, y.clamp(rect.min.y + 6.0, rect.max.y - 6.0)),
            egui::Align2::LEFT_CENTER,
            label,
            font.clone(),
            color,
        );
    }
}
