//! GPU pieces of the app: fields drawn by the WGSL colour-map shader through an
//! egui-wgpu paint callback, and the choice of compute device for the learned closure
//! (burn on eframe's own wgpu device when the adapter is a real GPU, burn's CPU backend
//! otherwise).

use std::collections::HashMap;

use eframe::egui;
use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, ScreenDescriptor};

use crate::render::gpu::{ColormapPipeline, FieldGpu};
use crate::render::{Colormap, Range};

/// The device request that lets burn (cubecl) share a wgpu device with egui: the adapter's
/// own features and limits (cubecl asks for these on the devices it creates itself).
pub fn shared_device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    wgpu::DeviceDescriptor {
        label: Some("closure-lab device (egui + burn)"),
        required_features: adapter
            .features()
            .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::MemoryUsage,
        trace: wgpu::Trace::Off,
        // SAFETY: experimental features are only enabled, never used by this crate; it is
        // the request cubecl-wgpu makes for its own devices
        experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
    }
}

/// burn on an existing wgpu device.
pub fn burn_device(
    instance: &wgpu::Instance,
    adapter: &wgpu::Adapter,
    device: &wgpu::Device,
    queue: &wgpu::Queue,
) -> Result<burn::tensor::Device, String> {
    let setup = burn::tensor::wgpu::WgpuSetup {
        instance: instance.clone(),
        adapter: adapter.clone(),
        device: device.clone(),
        queue: queue.clone(),
        backend: adapter.get_info().backend,
    };
    burn::tensor::Device::wgpu_options()
        .setup(setup)
        .init()
        .map_err(|e| format!("{e:?}"))
}

/// burn on a wgpu device of its own (no window): the default adapter, requested like the
/// app's. For benchmarks and checks; on these machines the adapter is Mesa's lavapipe.
pub fn headless_burn_wgpu() -> Result<(burn::tensor::Device, String), String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .map_err(|e| format!("no wgpu adapter ({e})"))?;
    let (device, queue) =
        pollster::block_on(adapter.request_device(&shared_device_descriptor(&adapter)))
            .map_err(|e| format!("the wgpu device request failed ({e})"))?;
    let info = adapter.get_info();
    let name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
    Ok((burn_device(&instance, &adapter, &device, &queue)?, name))
}

/// The pipeline and one field texture per panel, kept in egui-wgpu's callback resources.
pub struct GpuFields {
    pipe: ColormapPipeline,
    panels: HashMap<&'static str, FieldGpu>,
}

impl GpuFields {
    /// Compile the shader for eframe's render target and register the resources.
    pub fn register(rs: &egui_wgpu::RenderState) {
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
