//! Compute devices for the learned closure on wgpu: burn sharing a wgpu device made by
//! someone else (the app's window), or on a device of its own (benchmarks, checks). Below
//! both the app and the CLI, so neither imports the other for it.

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
pub(crate) fn headless_burn_wgpu() -> Result<(burn::tensor::Device, String), String> {
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
