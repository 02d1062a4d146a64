//! Integration tests (one binary: each extra test binary links burn + eframe again).
// the allocator the binary uses (see src/main.rs)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod app;
mod app_spec;
mod cli;
mod closure;
mod data_safety;
mod experiment;
mod flow;
mod fuzz;
mod gelu;
mod hostile_options;
mod inflation;
mod interrupted;
mod les;
mod les_learn;
mod les_seeds;
mod les_shipped;
mod metrics;
mod render;
mod solver;
mod spec;
mod support;
mod torch_import;

/// burn's CPU random numbers are one process-wide stream. A test that seeds it (directly
/// or through `train`) restarts every other test's draws there; a test whose statistics
/// need an unbroken stream, or that seeds it, holds this lock while it draws.
pub fn global_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

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
