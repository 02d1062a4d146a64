//! Fields drawn by the WGSL colour-map shader through an egui-wgpu paint callback.

use std::collections::HashMap;

use eframe::egui;
use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, ScreenDescriptor};

use crate::render::gpu::{ColormapPipeline, FieldGpu};
use crate::render::{Colormap, Range};

/// The pipeline and one field texture per panel, kept in egui-wgpu's callback resources.
pub struct GpuFields {
    pipe: ColormapPipeline,
    panels: HashMap<&'static str, FieldGpu>,
}

impl GpuFields {
    /// Compile the shader for eframe's render target and register the resources.
    pub(crate) fn register(rs: &egui_wgpu::RenderState) {
        let pipe = ColormapPipeline::new(&rs.device, rs.target_format);
        rs.renderer.write().callback_resources.insert(GpuFields {
            pipe,
            panels: HashMap::new(),
        });
    }
}

/// One panel's field, painted by the shader into the callback's rectangle.
pub struct FieldPaint {
    pub id: &'static str,
    pub n: usize,
    pub field: Vec<f32>,
    pub range: Range,
    pub cmap: Colormap,
}

impl FieldPaint {
    pub fn shape(self, rect: egui::Rect) -> egui::Shape {
        egui::Shape::Callback(egui_wgpu::Callback::new_paint_callback(rect, self))
    }
}

impl CallbackTrait for FieldPaint {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(GpuFields { pipe, panels }) = resources.get_mut::<GpuFields>() {
            let f = panels
                .entry(self.id)
                .or_insert_with(|| FieldGpu::new(device, pipe, self.n));
            if f.n() != self.n {
                *f = FieldGpu::new(device, pipe, self.n);
            }
            f.update(queue, pipe, &self.field, self.range, self.cmap);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        if let Some(g) = resources.get::<GpuFields>() {
            if let Some(f) = g.panels.get(self.id) {
                g.pipe.draw(pass, f);
            }
        }
    }
}
