//! Where the learned closure runs and the models it runs: burn on eframe's own wgpu device
//! when the adapter is a real GPU (or when asked), burn's CPU backend otherwise. Models
//! move to a GPU on a thread of their own (burn compiles its kernels for seconds on first
//! use), so the window never freezes meanwhile.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use super::settings::{Backend, ModelId, Settings, Slot};
use crate::experiment::LearnedModel;

/// A model a picker offers: its id (shown as its label) and the model.
pub type Named = (ModelId, LearnedModel);

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
    models: Vec<Named>,
    /// Model files opened in this session (loaded again when the device changes).
    files: Vec<PathBuf>,
    loading: Option<Receiver<(Vec<Named>, String)>>,
    /// A file dialog's answer (File ▸ Open model…).
    picked: Option<Receiver<Option<PathBuf>>>,
    /// Where the closure runs, and why.
    pub device_note: String,
    /// The loaded models (or why not).
    pub model_note: String,
}

impl Compute {
    /// Use eframe's renderer: shader colour maps, and its device for burn.
    pub(crate) fn attach(&mut self, rs: &eframe::egui_wgpu::RenderState) {
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
    pub(crate) fn has_wgpu(&self) -> bool {
        self.setup.is_some()
    }

    /// Whether the closure should run on the GPU with `backend` on this adapter.
    pub(crate) fn wants_gpu(&self, backend: Backend) -> bool {
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
    pub(crate) fn refresh_note(&mut self, backend: Backend) {
        self.device_note = self.device(backend).1;
    }

    /// (Re)load the embedded models on the device `backend` chooses: at once on the CPU,
    /// in the background on a GPU ([`Self::poll`] picks them up).
    pub fn load(&mut self, backend: Backend) {
        let (device, note, on_gpu) = self.device(backend);
        self.device_note = note;
        self.models.clear();
        let files = self.files.clone();
        if !on_gpu {
            (self.models, self.model_note) = load_all(&device, &files);
            self.loading = None;
            return;
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(load_all(&device, &files));
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

    pub(crate) fn loading(&self) -> bool {
        self.loading.is_some()
    }

    /// The model of `slot` with id `choice`; without it, the first of the slot trained
    /// on `grid` (when given), else the first (shipped) one of the slot.
    fn pick_in(&self, slot: Slot, choice: &ModelId, grid: Option<usize>) -> Option<&Named> {
        let of_slot = || {
            self.models
                .iter()
                .filter(move |(_, m)| Slot::of_model(m) == slot)
        };
        of_slot()
            .find(|(id, _)| id == choice)
            .or_else(|| of_slot().find(|(_, m)| Some(m.train_grid()) == grid))
            .or_else(|| of_slot().next())
    }

    /// The label and model a run with settings `s` takes: the one chosen for its picker,
    /// else (none chosen, or the chosen one is gone) the first trained on the run's grid
    /// where a flow's models know only their own grid (the subgrid flow), else the first.
    pub fn pick(&self, s: &Settings) -> Option<&Named> {
        let e = &s.experiment;
        let slot = Slot::of(e);
        let grid = (!e.flow.def().grid_is_the_users()).then_some(e.n);
        self.pick_in(slot, s.model.get(slot), grid)
    }

    /// The model of [`Self::pick`].
    pub fn learned(&self, s: &Settings) -> Option<&LearnedModel> {
        self.pick(s).map(|(_, m)| m)
    }

    /// The models of `slot`, shipped first.
    pub(crate) fn choices(&self, slot: Slot) -> Vec<ModelId> {
        self.models
            .iter()
            .filter(|(_, m)| Slot::of_model(m) == slot)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Load these model files too from now on (the files the stored settings chose).
    pub(crate) fn remember<'a>(&mut self, files: impl IntoIterator<Item = &'a std::path::Path>) {
        for f in files {
            if !self.files.iter().any(|g| g == f) {
                self.files.push(f.to_path_buf());
            }
        }
    }

    pub fn models(&self) -> &[Named] {
        &self.models
    }

    /// Ask for a model file in a native dialog (on its own thread; [`Self::poll_open`]
    /// takes the answer).
    pub(crate) fn open_dialog(&mut self) -> Result<(), String> {
        if self.picked.is_some() {
            return Err("a file dialog is already open; finish it first".into());
        }
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("open-model".into())
            .spawn(move || {
                let p = rfd::FileDialog::new()
                    .set_title(
                        "Open a closure model (.bpk beside its .json card — published case or \
                         subgrid — or a PyTorch .pth)",
                    )
                    .add_filter("closure model", &["bpk", "pth", "pt"])
                    .add_filter("PyTorch state dict of a published network", &["pth", "pt"])
                    .pick_file();
                let _ = tx.send(p);
            })
            .map_err(|e| format!("cannot open a file dialog: {e}"))?;
        self.picked = Some(rx);
        Ok(())
    }

    /// The dialog's answer, once: Some(Ok(id)) when a model was opened, Some(Err) with
    /// the reason when not.
    pub(crate) fn poll_open(
        &mut self,
        backend: Backend,
    ) -> Option<Result<(Slot, ModelId), String>> {
        let answer = self.picked.as_ref()?.try_recv().ok()?;
        self.picked = None;
        Some(match answer {
            None => Err("no model opened (dialog cancelled or unavailable)".into()),
            Some(p) => self.open(&p, backend),
        })
    }

    /// Load a model file onto the closure's device and offer it in the picker.
    pub fn open(
        &mut self,
        path: &std::path::Path,
        backend: Backend,
    ) -> Result<(Slot, ModelId), String> {
        let device = self.device(backend).0;
        let m = LearnedModel::load(path, &device)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let id = ModelId::File(path.to_path_buf());
        let slot = Slot::of_model(&m);
        self.models.retain(|(i, _)| *i != id);
        self.models.push((id.clone(), m));
        self.remember([path]);
        Ok((slot, id))
    }
}

/// The embedded models, then the files opened in this session.
fn load_all(device: &burn::tensor::Device, files: &[PathBuf]) -> (Vec<Named>, String) {
    let mut notes = Vec::new();
    let mut models = Vec::new();
    for (shipped, m) in LearnedModel::shipped(device) {
        let label = shipped.label;
        match m {
            Ok(m) => {
                notes.push(format!("{label}: {}", m.summary()));
                models.push((ModelId::Shipped(shipped.id.into()), m));
            }
            Err(e) => notes.push(format!("embedded model {label} unavailable: {e}")),
        }
    }
    for f in files {
        match LearnedModel::load(f, device) {
            Ok(m) => models.push((ModelId::File(f.clone()), m)),
            Err(e) => notes.push(format!("{}: {e}", f.display())),
        }
    }
    (models, notes.join("\n"))
}
