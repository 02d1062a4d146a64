//! Opening the window: eframe's options (wgpu renderer whose device burn can share,
//! window size, where settings persist) and the app's start-up options.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::ClosureLabApp;
use super::settings::{Backend, Settings};

/// How the app was started.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Save a PNG of the window after this many simulation steps, then exit.
    pub screenshot: Option<(PathBuf, u64)>,
    /// Start with this preset (overrides the stored settings).
    pub preset: Option<crate::experiment::presets::PresetId>,
    /// Benchmark: play for this many frames once the runs start, print frame times,
    /// simulation rate and sampler latency, exit.
    pub bench_frames: Option<u64>,
    /// Overrides of the preset's grid and ensemble size.
    pub n: Option<usize>,
    pub ensemble: Option<usize>,
    /// Override of the sampler (kind and steps) and of waiting for each draw.
    pub sampler: Option<(crate::closure::sampler::Sampler, usize)>,
    pub dont_wait: bool,
    /// Window size in points (default 1500 × 940).
    pub size: Option<[f32; 2]>,
    /// Where the closure runs, instead of the stored setting.
    pub backend: Option<Backend>,
}

impl AppOptions {
    /// Screenshot and benchmark runs: automated, from default settings, never persisted.
    pub(crate) fn automated(&self) -> bool {
        self.screenshot.is_some() || self.bench_frames.is_some()
    }
}

/// Whether a display server is reachable (X11 or Wayland).
pub(crate) fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// Called once at start-up by the CLI. The windowing libraries complain on every start when `XDG_RUNTIME_DIR` is missing or
/// not a private folder of this user; give them a private one for this process then.
pub(crate) fn ensure_runtime_dir() -> Option<tempfile::TempDir> {
    let ok = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .is_some_and(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&p).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o077 == 0)
        });
    if ok {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("closure-lab-runtime")
        .tempdir()
        .ok()?;
    // SAFETY: called first thing in `cli::main`, before any thread is started.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
    Some(dir)
}

/// Nice value given to a software rasteriser's threads: a thread at nice 10 gets about a
/// tenth of a core that a normal thread also wants, and all of a core nobody else wants.
pub const RASTERISER_NICE: i32 = 10;

/// Lower the scheduling priority of this process's threads whose name starts with
/// `prefix` to nice `nice` (never raising one already lower); returns how many were
/// lowered. A software rasteriser (Mesa's llvmpipe/lavapipe, threads `llvmpipe-N`)
/// draws every frame on the cores the simulation and the closure need; there the
/// simulation must win (docs/design.md: a slow renderer lowers the frame rate, never the
/// simulation rate). Linux names threads in /proc/self/task; elsewhere nothing happens.
pub fn lower_thread_priority(prefix: &str, nice: i32) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|c| c.trim_end().starts_with(prefix))
        })
        .filter_map(|task| task.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&tid| lower_to(tid, nice))
        .count()
}

/// Set thread `tid` of this process to nice `nice` unless it is there or lower already;
/// whether it was changed.
#[cfg(target_os = "linux")]
fn lower_to(tid: u32, nice: i32) -> bool {
    let tid = tid as libc::id_t;
    // SAFETY: plain system calls on a thread id of this process; a thread that ended
    // meanwhile makes them fail, which reads as "not changed". getpriority may return
    // −1 as a value, so errno is cleared first to tell it from a failure.
    unsafe {
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        let failed = *libc::__errno_location() != 0;
        !(failed || now >= nice) && libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_to(_tid: u32, _nice: i32) -> bool {
    false
}

/// Whether the window is drawn by a software rasteriser (no GPU).
fn software_adapter(cc: &eframe::CreationContext) -> bool {
    cc.wgpu_render_state
        .as_ref()
        .is_some_and(|rs| rs.adapter.get_info().device_type == wgpu::DeviceType::Cpu)
}

/// The adapter line of the about window; `yielded`: rasteriser threads lowered at start.
fn adapter_note(cc: &eframe::CreationContext, yielded: usize) -> String {
    match &cc.wgpu_render_state {
        Some(rs) => {
            let i = rs.adapter.get_info();
            let soft = i.device_type == wgpu::DeviceType::Cpu;
            format!(
                "wgpu adapter: {} ({:?}{})",
                i.name,
                i.backend,
                match (soft, yielded) {
                    (false, _) => String::new(),
                    (true, 0) => ", software rasteriser".into(),
                    (true, k) => format!(
                        ", software rasteriser: its {k} threads yield the cores to the simulation"
                    ),
                }
            )
        }
        None => "no wgpu adapter (OpenGL fallback)".into(),
    }
}

/// Open the window. Returns an error (one line) when it cannot.
pub fn run(options: AppOptions) -> Result<(), String> {
    let automated = options.automated();
    let mut native = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(options.size.unwrap_or([1500.0, 940.0]))
            .with_title("Closure Lab"),
        ..Default::default()
    };
    // screenshots and benchmarks start from defaults (window size included) in a
    // throw-away store, and never touch the user's settings
    let scratch = if automated {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch folder: {e}"))?;
        native.persistence_path = Some(dir.path().join("app.ron"));
        Some(dir)
    } else {
        None
    };
    // burn (cubecl) needs the adapter's features and limits on the device it runs on; ask
    // eframe to create its device that way so the closure can share it
    use eframe::egui_wgpu::{WgpuSetup, WgpuSetupCreateNew};
    native.wgpu_options.wgpu_setup = WgpuSetup::CreateNew(WgpuSetupCreateNew {
        device_descriptor: Arc::new(crate::closure::device::shared_device_descriptor),
        ..WgpuSetupCreateNew::without_display_handle()
    });
    let failed = Arc::new(std::sync::Mutex::new(None::<String>));
    let failed_in_app = failed.clone();
    eframe::run_native(
        "closure-lab",
        native,
        Box::new(move |cc| {
            // small text (notes, keys, ticks) no smaller than 11 px at zoom 1 (Ctrl +/−
            // zooms the whole window)
            cc.egui_ctx.global_style_mut(|s| {
                s.text_styles.insert(
                    eframe::egui::TextStyle::Small,
                    eframe::egui::FontId::proportional(11.0),
                );
            });
            let (settings, note) = if automated {
                (Settings::default(), None)
            } else {
                let stored = cc.storage.and_then(|s| s.get_string(Settings::KEY));
                Settings::from_stored(stored.as_deref())
            };
            // drawn in software, the frames yield the cores to the simulation
            let yielded = if software_adapter(cc) {
                lower_thread_priority("llvmpipe", RASTERISER_NICE)
            } else {
                0
            };
            let app = ClosureLabApp::new(settings, options, adapter_note(cc, yielded))
                .with_failure_slot(failed_in_app)
                .with_message(note);
            Ok(Box::new(match &cc.wgpu_render_state {
                Some(rs) => app.with_wgpu(rs),
                None => app,
            }))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))?;
    drop(scratch);
    let failure = failed.lock().ok().and_then(|mut f| f.take());
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
