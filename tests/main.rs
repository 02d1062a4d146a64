//! Integration tests (one binary: each extra test binary links burn + eframe again).
// the allocator the binary uses (see src/main.rs)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod app;
mod cli;
mod closure;
mod experiment;
mod fuzz;
mod gelu;
mod inflation;
mod les;
mod les_learn;
mod les_shipped;
mod metrics;
mod render;
mod solver;
mod torch_import;

/// A wgpu device on the machine's adapter (Mesa's software Vulkan here; scripts/setup.sh
/// installs it), requested the way the app requests eframe's (shared with burn).
pub fn wgpu_device() -> (wgpu::Instance, wgpu::Adapter, wgpu::Device, wgpu::Queue) {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .expect("a wgpu adapter: scripts/setup.sh installs Mesa's software Vulkan (lavapipe)");
    let desc = closure_lab::closure::device::shared_device_descriptor(&adapter);
    let (device, queue) =
        pollster::block_on(adapter.request_device(&desc)).expect("the device request is granted");
    (instance, adapter, device, queue)
}
