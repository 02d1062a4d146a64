//! Where the learned closure runs and the models it runs: burn on eframe's own wgpu device
//! when the adapter is a real GPU (or when asked), burn's CPU backend otherwise. Models
//! move to a GPU on a thread of their own (burn compiles its kernels for seconds on first
//! use), so the window never freezes meanwhile.

use std::sync::mpsc::{Receiver, channel};

use super::settings::Backend;
use crate::closure::model::ClosureModel;
use crate::solver::Case;

/// The wgpu objects of eframe's renderer, shared with burn.
type WgpuSetup = (wgpu::Instance, wgpu::Adapter, wgpu::Device, wgpu::Queue);

/// Compute devices and the embedded models loaded on the chosen one.
#[derive(Default)]
pub struct Compute {
    setup: Option<WgpuSetup>,
    /// The adapter is a hardware GPU (not a software rasteriser).
    real_gpu: bool,
    gpu: Option<Result<burn::tensor::Device, String>>,
    /// Shader colour maps are registered with the renderer.
    pub shader: bool,
    models: Vec<ClosureModel>,
    loading: Option<Receiver<(Vec<ClosureModel>, String)>>,
    /// Where the closure runs, and why.
    pub device_note: String,
    /// The loaded models (or why not).
    pub model_note: String,
}

impl Compute {
    /// Use eframe's renderer: shader colour maps, and its device for burn.
    pub fn attach(&mut self, rs: &eframe::egui_wgpu::RenderState) {
        self.shader = true;
        self.real_gpu = !matches!(
            rs.adapter.get_info().device_type,
            wgpu::DeviceType::Cpu | wgpu::DeviceType::Other
        );
        self.setup = Some((
            rs.instance.clone(),
            rs.adapter.clone(),
            rs.device.clone(),
            rs.queue.clone(),
        ));
    }

    /// Whether a wgpu device is there to offer "GPU" at all.
    pub fn has_wgpu(&self) -> bool {
        self.setup.is_some()
    }

    /// Whether the closure should run on the GPU with `backend` on this adapter.
    pub fn wants_gpu(&self, backend: Backend) -> bool {
        match backend {
            Backend::Cpu => false,
            Backend::Auto => self.real_gpu,
            Backend::Gpu => true,
        }
    }

    /// The device the closure should run on, a note saying which and why, and whether
    /// it is a GPU.
    fn device(&mut self, backend: Backend) -> (burn::tensor::Device, String, bool) {
        let cpu = burn::tensor::Device::flex();
        if !self.wants_gpu(backend) {
            let why = if backend == Backend::Cpu {
                "chosen"
            } else if self.setup.is_some() {
                "the adapter is a software rasteriser"
            } else {
                "no wgpu renderer"
            };
            return (cpu, format!("closure on CPU (burn flex; {why})"), false);
        }
        let Some((instance, adapter, device, queue)) = &self.setup else {
            return (cpu, "closure on CPU: no wgpu device to share".into(), false);
        };
        let gpu = self.gpu.get_or_insert_with(|| {
            crate::closure::device::burn_device(instance, adapter, device, queue)
        });
        match gpu {
            Ok(d) => (
                d.clone(),
                "closure on the GPU (burn wgpu, eframe's device)".into(),
                true,
            ),
            Err(e) => (
                cpu,
                format!("closure on CPU: burn could not use the wgpu device ({e})"),
                false,
            ),
        }
    }

    /// Only the note changes: the CPU models stay (start-up on a software adapter).
    pub fn refresh_note(&mut self, backend: Backend) {
        self.device_note = self.device(backend).1;
    }

    /// (Re)load the embedded models on the device `backend` chooses: at once on the CPU,
    /// in the background on a GPU ([`Self::poll`] picks them up).
    pub fn load(&mut self, backend: Backend) {
        let (device, note, on_gpu) = self.device(backend);
        self.device_note = note;
        self.models.clear();
        if !on_gpu {
            (self.models, self.model_note) = load_embedded(&device);
            self.loading = None;
            return;
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(load_embedded(&device));
        });
        self.model_note = "moving the closure to the GPU (burn compiles its kernels) …".into();
        self.loading = Some(rx);
    }

    /// True once when models finished loading in the background.
    pub fn poll(&mut self) -> bool {
        let Some(rx) = &self.loading else {
            return false;
        };
        match rx.try_recv() {
            Ok((models, note)) => {
                self.models = models;
                self.model_note = note;
                self.loading = None;
                true
            }
            Err(_) => false,
        }
    }

    pub fn loading(&self) -> bool {
        self.loading.is_some()
    }

    /// The model of `case`, if loaded.
    pub fn model_for(&self, case: Case) -> Option<&ClosureModel> {
        self.models.iter().find(|m| m.card.inputs.case == case)
    }

    pub fn models(&self) -> &[ClosureModel] {
        &self.models
    }
}

fn load_embedded(device: &burn::tensor::Device) -> (Vec<ClosureModel>, String) {
    let mut notes = Vec::new();
    let mut models = Vec::new();
    for case in [Case::G, Case::H] {
        match ClosureModel::embedded_for(case, device) {
            Ok(m) => {
                notes.push(format!(
                    "{} (trained on {}²)",
                    m.card.name, m.card.training.grid
                ));
                models.push(m);
            }
            Err(e) => notes.push(format!("embedded {case} model unavailable: {e}")),
        }
    }
    (models, notes.join("\n"))
}
