//! The real app driven through egui_kittest (no mocks of the experiment), and a real
//! window screenshot under Xvfb with Mesa's software Vulkan.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use closure_lab::app::settings::{ModelId, RecordFormat, Settings};
use closure_lab::app::{AppOptions, ClosureLabApp};
use closure_lab::experiment::{ClosureMode, Panel};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn harness(preset: &str) -> Harness<'static, ClosureLabApp> {
    let preset = preset.to_string();
    // kittest loads a single text font without ∇, ₁₀ …; the real window uses egui's full
    // default set (see the Xvfb screenshot test), so allow boxes here
    Harness::builder()
        .with_size([1500.0, 940.0])
        .allow_missing_glyphs()
        .build_eframe(move |_cc| {
            ClosureLabApp::new(
                Settings::default(),
                AppOptions {
                    preset: Some(
                        closure_lab::experiment::presets::PresetId::parse(&preset).unwrap(),
                    ),
                    ..Default::default()
                },
                "test harness".into(),
            )
        })
}

fn wait_until(
    h: &mut Harness<'static, ClosureLabApp>,
    what: &str,
    cond: impl Fn(&ClosureLabApp) -> bool,
) {
    let t0 = Instant::now();
    while !cond(h.state()) {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "timed out: {what} (case in settings {:?}, snapshot {:?}, spin {:?})",
            h.state().settings.experiment.case,
            h.state()
                .session()
                .snapshot()
                .map(|s| (s.config.case, s.steps, s.t)),
            h.state().session().spin(),
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for_experiment(h: &mut Harness<'static, ClosureLabApp>) {
    wait_until(h, "the runs start", |a| a.session().snapshot().is_some());
}

/// Steps of the running experiment as last published to the window.
fn steps(a: &ClosureLabApp) -> u64 {
    a.session().snapshot().map_or(0, |s| s.steps)
}

/// Wait until the simulation thread has published what it has done (it is paused).
fn settle(h: &mut Harness<'static, ClosureLabApp>) {
    wait_until(h, "the simulation thread settles", |a| {
        a.session().runner().playing() == Some(false) && steps(a) == a.session().steps()
    });
}

#[test]
fn play_pause_reset_and_controls_reach_the_experiment() {
    let mut h = harness("decaying");
    wait_for_experiment(&mut h);
    assert!(!h.state().playing());
    h.get_by_label("Play").click();
    h.run_steps(3);
    assert!(h.state().playing());
    wait_until(&mut h, "playing advances the simulation", |a| steps(a) > 0);
    h.get_by_label("Pause").click();
    h.run_steps(2);
    settle(&mut h);
    let paused_at = steps(h.state());
    std::thread::sleep(Duration::from_millis(100));
    h.run_steps(3);
    assert_eq!(steps(h.state()), paused_at, "paused means no steps");
    // a control change reaches the running experiment (live, no restart)
    h.get_by_label("oracle").click();
    wait_until(&mut h, "the closure mode reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.closure == ClosureMode::Oracle)
    });
    assert_eq!(
        steps(h.state()),
        paused_at,
        "a live change does not restart"
    );
    // single step and reset
    h.get_by_label("Step").click();
    wait_until(&mut h, "one step", |a| steps(a) == paused_at + 1);
    h.get_by_label("Reset").click();
    wait_until(&mut h, "reset to step 0", |a| {
        a.session().snapshot().is_some_and(|s| s.steps == 0)
    });
}

#[test]
fn simulation_keeps_stepping_while_the_ui_is_blocked_and_stops_on_close() {
    let mut h = harness("decaying");
    wait_for_experiment(&mut h);
    // the closure's own pace is not the point here: the runs go on with held draws
    h.state_mut().settings.experiment.blocking = false;
    h.run_steps(2);
    h.get_by_label("Play").click();
    h.run_steps(2);
    wait_until(&mut h, "playing", |a| a.session().steps() > 0);
    // the UI thread (this one) runs no frame while it waits: the steps still go on (how
    // fast depends on the machine's load, so it may wait up to 20 s for 10 of them)
    let before = h.state().session().steps();
    let t0 = Instant::now();
    let mut after = before;
    while after <= before + 10 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
        after = h.state().session().steps();
    }
    assert!(
        after > before + 10,
        "the simulation must not wait for the UI: {before} -> {after} steps in {:?} without a frame",
        t0.elapsed()
    );
    let alive = h.state().session().runner().alive();
    assert!(alive.load(std::sync::atomic::Ordering::SeqCst));
    let t0 = Instant::now();
    drop(h);
    assert!(
        !alive.load(std::sync::atomic::Ordering::SeqCst),
        "the simulation thread stops when the app closes"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "and it stops promptly"
    );
}

#[test]
fn preset_switch_from_the_menu() {
    let mut h = harness("decaying");
    wait_for_experiment(&mut h);
    h.get_by_label("Presets").click();
    h.run_steps(3);
    h.get_by_label("Teaching: what a closure does").click();
    h.run_steps(1);
    wait_until(&mut h, "the teaching preset starts", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.closure == ClosureMode::Oracle)
    });
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(
        h.state().settings.preset,
        closure_lab::experiment::presets::PresetId::Teaching
    );
    assert!(
        (snap.t - 30.0).abs() < 1e-6,
        "teaching starts from the truth spun up to t = 30 s, got {}",
        snap.t
    );
}

fn files_with(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

#[test]
fn in_app_recording_takes_frames_at_fixed_simulation_times() {
    use image::AnimationDecoder;
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness("teaching");
    wait_for_experiment(&mut h);
    h.state_mut().settings.export_dir = dir.path().display().to_string();
    h.state_mut().settings.record_every = 0.01;
    h.get_by_label("Record and export").click();
    h.run_steps(2);
    h.get_by_label("Record").click();
    wait_until(&mut h, "recording starts", |a| {
        a.session().recording().is_some()
    });
    // 100 steps of dt = 1e-3: frames at t0, t0 + 0.01, …, t0 + 0.1
    h.get_by_label("+100").click();
    wait_until(&mut h, "100 steps", |a| steps(a) == 100);
    // paused frames add nothing
    h.run_steps(10);
    assert_eq!(h.state().session().recording(), Some("11 frames"));
    h.get_by_label("Stop recording (11 frames)").click();
    wait_until(&mut h, "the GIF is saved", |a| {
        a.session().recording().is_none() && !files_with(dir.path(), "gif").is_empty()
    });
    let gif = files_with(dir.path(), "gif").remove(0);
    let dec = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&gif).unwrap(),
    ))
    .unwrap();
    let frames = dec.into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), 11);
    // three panels side by side under a title band
    let band = closure_lab::render::panel::title_band(256);
    assert_eq!(
        frames[0].buffer().dimensions(),
        (3 * 256 + 2 * 4, 256 + band)
    );
    // another panel set (the row under Record): error | closure, as PNG frames
    std::fs::remove_file(&gif).unwrap();
    h.state_mut().settings.record_format = RecordFormat::Png;
    h.state_mut().settings.record_panels = vec![Panel::Error, Panel::Closure];
    h.get_by_label("Record").click();
    wait_until(&mut h, "recording starts", |a| {
        a.session().recording().is_some()
    });
    h.get_by_label("Step").click();
    wait_until(&mut h, "a second frame", |a| {
        a.session()
            .recording()
            .is_some_and(|r| r.starts_with('1') || r.starts_with('2'))
    });
    h.get_by_label_contains("Stop recording").click();
    let folder = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
    };
    wait_until(&mut h, "the PNG folder is saved", |_| folder().is_some());
    let first = image::open(folder().unwrap().join("frame_00000.png")).unwrap();
    assert_eq!((first.width(), first.height()), (2 * 256 + 4, 256 + band));
}

#[test]
fn panel_image_saved_by_shortcut_and_copied_to_the_clipboard() {
    use eframe::egui::{self, Key, Modifiers, OutputCommand};
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness("teaching");
    wait_for_experiment(&mut h);
    {
        let s = &mut h.state_mut().settings;
        s.export_dir = dir.path().display().to_string();
        s.save_dialog = false;
        s.export_panel = Panel::With;
        s.export_scale = 4;
    }
    let pngs = || files_with(dir.path(), "png");
    h.key_press_modifiers(Modifiers::COMMAND, Key::P);
    h.run_steps(2);
    let files = pngs();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("closure-lab-with-t") && name.ends_with("-4x.png"),
        "{name}"
    );
    let saved = image::open(&files[0]).unwrap().to_rgba8();
    let n = h.state().settings.experiment.n as u32;
    assert!(saved.width() > 4 * n && saved.height() > 4 * n);
    // the same panel to the clipboard: an egui CopyImage command with the same pixels
    // (kittest runs one frame per queued event and keeps the last frame's output, so send
    // the key press alone and read that frame's output)
    h.event(egui::Event::Key {
        key: Key::C,
        pressed: true,
        modifiers: Modifiers::COMMAND | Modifiers::SHIFT,
        repeat: false,
        physical_key: None,
    });
    h.step();
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            OutputCommand::CopyImage(img) => Some(img.clone()),
            _ => None,
        });
    let copied = copied.expect("a clipboard image");
    assert_eq!(
        copied.size,
        [saved.width() as usize, saved.height() as usize]
    );
    let same = copied
        .pixels
        .iter()
        .zip(saved.pixels())
        .all(|(a, b)| a.to_array() == b.0);
    assert!(same, "clipboard and file hold the same image");
    // Ctrl+Shift+P is the window screenshot (kittest renders it), not a second panel save
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    h.run_steps(3);
    let files = pngs();
    assert_eq!(files.len(), 2, "{files:?}");
    let shot = files
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("closure-lab-window-t")
        })
        .expect("a window screenshot");
    let shot = image::open(shot).unwrap().to_rgba8();
    assert!(
        shot.width() >= 1500 && shot.height() >= 940,
        "{:?}",
        shot.dimensions()
    );
    // an unwritable export folder: one clear message, nothing written, app still running
    h.state_mut().settings.export_dir = dir.path().join("missing/deeper").display().to_string();
    h.key_press_modifiers(Modifiers::COMMAND, Key::P);
    h.run_steps(2);
    assert_eq!(pngs().len(), 2);
    h.get_by_label_contains("cannot write");
}

#[test]
fn every_region_answers_through_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness("teaching");
    wait_for_experiment(&mut h);
    {
        let s = &mut h.state_mut().settings;
        s.export_dir = dir.path().display().to_string();
        s.save_dialog = false;
    }
    // controls: the case switch reaches the experiment (a restart from the cached spin-up)
    h.get_by_label("H: −u·∇ω + σξ").click();
    wait_until(&mut h, "case H reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.case == closure_lab::solver::Case::H)
    });
    assert!(
        h.state().settings.experiment.blocking,
        "waiting is the default"
    );
    // the sampler's controls belong to the learned closure
    assert_eq!(
        h.query_all_by_label("don't wait for the closure").count(),
        0
    );
    h.get_by_label("learned").click();
    h.run_steps(2);
    h.get_by_label("don't wait for the closure").click();
    wait_until(&mut h, "not waiting for samples reaches the thread", |a| {
        a.session().snapshot().is_some_and(|s| !s.config.blocking)
    });
    // menu → window: the shortcuts list opens
    h.get_by_label("Help").click();
    h.run_steps(2);
    h.get_by_label_contains("Keyboard shortcuts").click();
    h.run_steps(4);
    // the window lists each shortcut with its command
    h.get_by_label("Advance 100 steps");
    h.key_press(eframe::egui::Key::F1);
    h.run_steps(3);
    // fields: right-click a panel, save it from the context menu
    h.get_by_label("truth ω (field)").click_secondary();
    h.run_steps(2);
    h.get_by_label("Save this panel…").click();
    h.run_steps(2);
    let saved = files_with(dir.path(), "png");
    assert_eq!(saved.len(), 1, "{saved:?}");
    // status: the message about it, cleared by ✕
    assert!(h.query_all_by_label_contains("saved /").count() > 0);
    h.get_by_label("✕").click();
    h.run_steps(2);
    assert_eq!(h.query_all_by_label_contains("saved /").count(), 0);
}
struct Xvfb(Child);
impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn gui_screenshot_under_xvfb() {
    let display = format!(":{}", 90 + std::process::id() % 9);
    let xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1600x1000x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb not found: run scripts/setup.sh (installs xvfb and Mesa's software Vulkan)");
    let _guard = Xvfb(xvfb);
    std::thread::sleep(Duration::from_millis(800));
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("window.png");
    let runtime = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_closure-lab"))
        .args([
            "gui",
            "--preset",
            "decaying",
            "--steps",
            "30",
            "--screenshot",
        ])
        .arg(&png)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gui --screenshot failed: {stderr}");
    let img = image::open(&png).expect("a PNG").to_rgba8();
    assert_eq!(
        (img.width(), img.height()),
        (1500, 940),
        "the PNG is the whole window"
    );
    let mut colours = std::collections::HashSet::new();
    for p in img.pixels().step_by(7) {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 200,
        "window looks blank: {} colours",
        colours.len()
    );
}

/// Stored settings that cannot be read, or hold absurd values, start the app with the
/// defaults or the nearest valid values and a message saying so.
#[test]
fn corrupted_or_absurd_stored_settings_start_the_app_with_a_message() {
    let (s, note) = Settings::from_stored(Some("(experiment: (n: 64, nu: oops"));
    assert_eq!(s, Settings::default());
    let note = note.expect("a message");
    assert!(
        note.contains("could not be read") && note.len() < 300,
        "{note}"
    );
    let mut absurd = Settings::default();
    absurd.experiment.n = 100_000;
    absurd.experiment.nu = f64::INFINITY;
    absurd.experiment.ensemble = 0;
    let text = ron::to_string(&absurd).unwrap();
    let (fixed, why) = Settings::from_stored(Some(&text));
    assert!(fixed.experiment.validate().is_ok());
    assert!(why.is_some_and(|w| w.contains("out of range")));
    assert_eq!(Settings::from_stored(None), (Settings::default(), None));
    // the app starts with it, shows it and runs
    let mut h = Harness::builder()
        .with_size([1500.0, 940.0])
        .allow_missing_glyphs()
        .build_eframe(move |_cc| {
            ClosureLabApp::new(fixed.clone(), AppOptions::default(), "test harness".into())
                .with_message(Some(note.clone()))
        });
    wait_for_experiment(&mut h);
    assert!(
        h.state()
            .messages()
            .iter()
            .any(|m| m.contains("could not be read"))
    );
    h.get_by_label_contains("could not be read");
}

/// The subgrid preset reached from the case row: the filtered DNS and the LES runs start,
/// play, and a closure change reaches the running experiment live.
#[test]
fn the_subgrid_preset_runs_from_the_case_row_and_takes_live_closure_changes() {
    use closure_lab::experiment::Flow;
    let mut h = harness("decaying");
    wait_for_experiment(&mut h);
    h.get_by_label("Π: subgrid (LES)").click();
    wait_until(&mut h, "the LES preset's runs start", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.flow == Flow::Kolmogorov)
    });
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.fields.n, 64, "the runs shown are on the LES grid");
    assert!(
        snap.t >= 4.0 - 1e-9,
        "spun up to the preset's t = 4, got {}",
        snap.t
    );
    h.get_by_label("Play").click();
    wait_until(&mut h, "the LES plays", |a| steps(a) > 5);
    h.get_by_label("Leith").click();
    wait_until(&mut h, "Leith reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.closure == ClosureMode::Leith)
    });
    let snap = h.state().session().snapshot().unwrap();
    assert!(
        snap.spectra
            .iter()
            .any(|(n, _)| matches!(n, closure_lab::experiment::Run::Yardstick(_)))
    );
    for p in Panel::ALL {
        assert!(snap.fields.panel(p).iter().all(|v| v.is_finite()), "{p}");
    }
    h.get_by_label("Pause").click();
    h.run_steps(2);
}

/// The app with every experiment control at its minimum, then at its maximum, starts,
/// plays and keeps drawing (absurd values beyond the limits are the sanitiser's test).
#[test]
fn every_control_at_its_minimum_and_maximum_keeps_the_app_running() {
    use closure_lab::experiment::limits as l;
    for hi in [false, true] {
        let mut s = Settings::default();
        // no spin-up: at the smallest dt a 30 s spin-up is 3 million steps
        s.preset = closure_lab::experiment::presets::PresetId::Decaying;
        let e = &mut s.experiment;
        let pick = |lo: f64, top: f64| if hi { top } else { lo };
        e.n = if hi { 256 } else { 64 };
        e.sensors = if hi { 32 } else { 4 };
        e.nu = pick(l::NU.min, l::NU.max);
        e.dt = pick(l::DT.min, 2e-3);
        e.sigma = pick(l::SIGMA.min, l::SIGMA.max);
        e.forcing = pick(l::FORCING.min, l::FORCING.max);
        e.sampler = closure_lab::closure::sampler::Sampler::EulerMaruyama;
        e.sampling_steps = if hi {
            l::SAMPLING_STEPS.max
        } else {
            l::SAMPLING_STEPS.min
        };
        e.t_start = pick(l::T_START.min, l::T_START.max);
        e.ensemble = if hi { l::ENSEMBLE.max } else { l::ENSEMBLE.min };
        e.resample_every = if hi {
            l::RESAMPLE_EVERY.max
        } else {
            l::RESAMPLE_EVERY.min
        };
        e.threads = if hi { 2 } else { 1 };
        // at the top, 16 members × 1000 evaluations at 256² keep both cores busy for
        // minutes per sample: the sampler settings are set but the oracle runs
        if hi {
            e.closure = ClosureMode::Oracle;
        }
        let fixed = s.clone();
        let mut h = Harness::builder()
            .with_size([1500.0, 940.0])
            .allow_missing_glyphs()
            .build_eframe(move |_cc| {
                ClosureLabApp::new(fixed.clone(), AppOptions::default(), "test harness".into())
            });
        wait_for_experiment(&mut h);
        h.get_by_label("Play").click();
        wait_until(&mut h, "the runs advance", |a| steps(a) > 3);
        h.get_by_label("Pause").click();
        h.run_steps(3);
        let snap = h.state().session().snapshot().unwrap();
        for p in Panel::ALL {
            assert!(
                snap.fields.panel(p).iter().all(|v| v.is_finite()),
                "hi={hi}: {p}"
            );
        }
        assert!(
            !h.state().messages().iter().any(|m| m.contains("blew up")),
            "hi={hi}: {:?}",
            h.state().messages()
        );
    }
}

/// "none" sensors with the learned closure: the G model conditioned on ω alone runs,
/// samples ensembles and reports its live spread/skill, with no error.
#[test]
fn no_sensors_with_the_learned_closure_runs_and_reports_calibration() {
    let mut h = harness("paper-g");
    wait_for_experiment(&mut h);
    h.get_by_label("sensors").click();
    h.run_steps(2);
    h.get_by_label("none").click();
    h.run_steps(2);
    wait_until(&mut h, "none reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.sensors == 0)
    });
    h.get_by_label("Play").click();
    wait_until(&mut h, "fresh ensembles are scored", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.steps > 20 && s.spread_skill.is_some())
    });
    h.get_by_label("Pause").click();
    h.run_steps(2);
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.config.closure, ClosureMode::Learned);
    assert!(snap.status.is_none(), "closure status: {:?}", snap.status);
    assert!(
        snap.fields.sensors.is_empty(),
        "no sensor marks without sensors"
    );
    let r = snap.spread_skill.unwrap().value;
    assert!(r.is_finite() && r > 0.0, "spread/skill {r}");
    for p in Panel::ALL {
        assert!(snap.fields.panel(p).iter().all(|v| v.is_finite()), "{p}");
    }
}

/// File ▸ Open model… with a PyTorch state dict of the published ω-only network (the
/// test fixture): it is imported, offered in the picker as "PyTorch: …", becomes the G
/// model and the coupled run steps with it.
#[test]
fn a_pytorch_state_dict_opens_as_the_g_model_and_runs() {
    let mut h = harness("paper-g");
    wait_for_experiment(&mut h);
    let before = h.state().session().snapshot().unwrap().generation;
    let pth = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/torch/fno2d_nosparse.pth");
    h.state_mut().open_model(&pth);
    assert!(
        h.state()
            .messages()
            .iter()
            .any(|m| m.contains("opened PyTorch: fno2d_nosparse")),
        "{:?}",
        h.state().messages()
    );
    wait_until(&mut h, "the run restarts with the imported model", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.generation > before)
    });
    h.get_by_label("Play").click();
    wait_until(&mut h, "the coupled run steps", |a| {
        a.session().snapshot().is_some_and(|s| s.steps > 10)
    });
    h.get_by_label("Pause").click();
    h.run_steps(2);
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.config.closure, ClosureMode::Learned);
    assert_eq!(h.state().settings.model.g, ModelId::File(pth.clone()));
    assert_eq!(
        h.state().settings.model.g.to_string(),
        "PyTorch: fno2d_nosparse"
    );
}

#[test]
fn the_les_preset_runs_the_shipped_learned_closure_and_opens_a_subgrid_model_file() {
    use closure_lab::les::learn::drain::MeanTie;
    let mut h = harness("les");
    wait_for_experiment(&mut h);
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.config.closure, ClosureMode::Learned);
    // the members tied to the FNO as mean + fluctuations (a combo box in the controls)
    let _ = h.get_by_label("members tied to the FNO");
    h.state_mut().settings.experiment.tie = Some(MeanTie::Fluctuations);
    h.state_mut()
        .apply(closure_lab::app::commands::Command::ApplySettings);
    h.run_steps(2);
    h.get_by_label("Play").click();
    wait_until(
        &mut h,
        "the learned subgrid closure draws an ensemble",
        |a| {
            a.session()
                .snapshot()
                .is_some_and(|s| s.steps > 20 && s.fields.spread.iter().any(|&v| v > 0.0))
        },
    );
    h.get_by_label("Pause").click();
    settle(&mut h);
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.status, None, "the shipped subgrid model runs");
    assert_eq!(snap.config.tie, Some(MeanTie::Fluctuations));
    assert!(snap.fields.with != snap.fields.without);
    // a subgrid model file goes to the subgrid picker, not to a published case
    let before = snap.generation;
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/les_deterministic.bpk");
    h.state_mut().open_model(&file);
    assert!(
        h.state()
            .messages()
            .iter()
            .any(|m| m.contains("it is now the subgrid (LES) model")),
        "{:?}",
        h.state().messages()
    );
    assert_eq!(h.state().settings.model.les, ModelId::File(file.clone()));
    assert_eq!(
        h.state().settings.model.les.to_string(),
        "file: les_deterministic"
    );
    assert_eq!(h.state().settings.model.g, ModelId::Default);
    wait_until(&mut h, "the run restarts with the opened model", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.generation > before)
    });
    h.get_by_label("Play").click();
    wait_until(&mut h, "the deterministic closure acts", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.steps > 20 && s.fields.closure.iter().any(|&v| v != 0.0))
    });
    h.get_by_label("Pause").click();
    settle(&mut h);
    let snap = h.state().session().snapshot().unwrap();
    assert!(
        snap.fields.spread.iter().all(|&v| v == 0.0),
        "a deterministic closure has no spread"
    );
}

/// The sampling controls say when the step count is not the one the shipped model's
/// spread inflation was fitted at, per sampler kind, and offer to go back to it.
#[test]
fn a_step_count_the_spread_was_not_calibrated_at_is_flagged() {
    use closure_lab::closure::sampler::Sampler;
    let mut h = harness("paper-g");
    wait_for_experiment(&mut h);
    h.state_mut().settings.experiment.sampler = Sampler::EulerMaruyama;
    // the shipped cards have tables at 10 and 20 Euler–Maruyama steps, 3 and 6 Heun steps
    for steps in [10, 20] {
        h.state_mut().settings.experiment.sampling_steps = steps;
        h.run_steps(2);
        assert!(
            h.query_by_label_contains("spread calibrated").is_none(),
            "EM-{steps} has a table of its own"
        );
    }
    h.state_mut().settings.experiment.sampling_steps = 40;
    h.run_steps(2);
    h.get_by_label_contains("spread calibrated at 10, 20 steps; at 40 the 20-step table is used");
    h.get_by_label("use 20").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.experiment.sampling_steps, 20);
    h.state_mut().settings.experiment.sampler = Sampler::Heun;
    h.run_steps(2);
    h.get_by_label_contains("spread calibrated at 3, 6 steps; at 20 the 6-step table is used");
    h.get_by_label("use 6").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.experiment.sampling_steps, 6);
    assert!(h.query_by_label_contains("spread calibrated").is_none());
    // a model file with Euler–Maruyama tables only: Heun is flagged at any step count,
    // with no count to go back to
    let dir = tempfile::tempdir().unwrap();
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let model = dir.path().join("em_only.bpk");
    std::fs::copy(assets.join("closure_g.bpk"), &model).unwrap();
    std::fs::copy(
        assets.join("closure_g.flow.bpk"),
        model.with_extension("flow.bpk"),
    )
    .unwrap();
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(assets.join("closure_g.json")).unwrap()).unwrap();
    card["inflation"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["sampler"] == "euler-maruyama");
    std::fs::write(model.with_extension("json"), card.to_string()).unwrap();
    h.state_mut().open_model(&model);
    h.state_mut().settings.experiment.sampling_steps = 10;
    h.run_steps(3);
    h.get_by_label_contains(
        "spread calibrated for Euler–Maruyama only; Heun borrows the 10-step table",
    );
    assert!(h.query_by_label_contains("use ").is_none());
}

/// The shipped G model's distilled flow generator as the sampler: the learned closure
/// steps without error, and with the default "wait for each draw" no draw is held longer
/// than the set interval (the readout shows the achieved interval).
#[test]
fn the_flow_sampler_draws_at_the_set_interval() {
    use closure_lab::closure::sampler::Sampler;
    let mut h = harness("paper-g");
    wait_for_experiment(&mut h);
    assert!(
        h.state().settings.experiment.blocking,
        "waiting is the default"
    );
    h.get_by_label("sampler").click();
    h.run_steps(2);
    h.get_by_label("flow (1–2 steps, distilled)").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.experiment.sampler, Sampler::Flow);
    assert_eq!(h.state().settings.experiment.sampling_steps, 1);
    wait_until(&mut h, "the flow sampler reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.sampler == Sampler::Flow)
    });
    h.get_by_label("Play").click();
    wait_until(&mut h, "several draws", |a| {
        a.session().snapshot().is_some_and(|s| s.steps > 40)
    });
    h.get_by_label("Pause").click();
    h.run_steps(2);
    settle(&mut h);
    let snap = h.state().session().snapshot().unwrap();
    assert!(snap.status.is_none(), "closure status: {:?}", snap.status);
    let t = snap.draw_timing;
    assert_eq!(t.max_held, Some(snap.config.resample_every), "{t:?}");
    // the draw in use is at most one interval old: paused at a step where the next draw
    // is due (taken at the next step), its age is the interval itself
    assert!(t.age.unwrap() <= snap.config.resample_every, "{t:?}");
    h.get_by_label_contains("each draw held for 5 steps (set 5; longest 5)");
    for p in Panel::ALL {
        assert!(snap.fields.panel(p).iter().all(|v| v.is_finite()), "{p}");
    }
}

/// Titles and controls follow the closure mode and the ensemble size. Teaching (the
/// oracle closure): nothing is "sampled", the spread panel says there is no ensemble, the
/// error map is round-off, and no sampler control pretends to act. Learned with one
/// member: no panel claims an ensemble mean.
#[test]
fn panel_titles_follow_the_closure_mode_and_the_ensemble() {
    let mut h = harness("teaching");
    wait_for_experiment(&mut h);
    h.get_by_label("+100").click();
    wait_until(&mut h, "100 steps", |a| steps(a) == 100);
    h.run_steps(3);
    let count = |h: &Harness<'static, ClosureLabApp>, text: &str| {
        h.query_all_by_label_contains(text).count()
    };
    assert_eq!(count(&h, "sampled"), 0, "the oracle is not sampled");
    h.get_by_label("no ensemble (oracle closure)");
    h.get_by_label("no draws to score (oracle closure)");
    h.get_by_label("|ω_with − ω_truth| ≈ 0 (round-off)");
    h.get_by_label("oracle G (the true G)");
    for control in ["sampler", "sensors", "ensemble size"] {
        assert_eq!(
            h.query_all_by_label(control).count(),
            0,
            "no {control} control for the oracle"
        );
    }
    // the learned closure with an ensemble of one
    h.state_mut().settings.experiment.ensemble = 1;
    h.get_by_label("learned").click();
    wait_until(&mut h, "one learned member reaches the thread", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.closure == ClosureMode::Learned && s.config.ensemble == 1)
    });
    settle(&mut h);
    let before = steps(h.state());
    h.get_by_label("Step").click();
    wait_until(&mut h, "a step with the learned closure", |a| {
        steps(a) == before + 1
    });
    h.run_steps(3);
    assert_eq!(count(&h, "ensemble mean"), 0);
    assert_eq!(count(&h, "mean of"), 0);
    h.get_by_label("sampled G (one member)");
    h.get_by_label("no ensemble (one member)");
    h.get_by_label("|sampled − true G| at its draw");
    assert_eq!(count(&h, "round-off"), 0, "a learned run's error is real");
}

/// The decaying preset runs the G model (trained on the forced, noisy flow) on a flow
/// with neither: the closure controls say so.
#[test]
fn a_learned_model_outside_its_training_data_is_flagged() {
    let mut h = harness("decaying");
    wait_for_experiment(&mut h);
    h.run_steps(3);
    h.get_by_label_contains("outside the model's training data");
    for why in ["no noise", "no forcing"] {
        h.get_by_label_contains(why);
    }
    // the published setting is inside
    let mut h = harness("paper-g");
    wait_for_experiment(&mut h);
    h.run_steps(3);
    assert_eq!(
        h.query_all_by_label_contains("outside the model's training data")
            .count(),
        0
    );
}

/// The LES grid is a control of the subgrid flow: at 32² the runs shown are 32² and the
/// learned closure steps there without error.
#[test]
fn the_les_preset_at_32_steps_with_the_learned_closure() {
    let mut h = harness("les");
    wait_for_experiment(&mut h);
    h.get_by_label("LES grid").click();
    h.run_steps(2);
    h.get_by_label("32×32").click();
    h.run_steps(2);
    wait_until(&mut h, "the runs restart on the 32² LES grid", |a| {
        a.session().snapshot().is_some_and(|s| s.fields.n == 32)
    });
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.config.n, 32);
    assert_eq!(snap.config.closure, ClosureMode::Learned);
    // the picker follows the grid to the model shipped for it, which is not flagged
    h.run_steps(3);
    assert_eq!(
        h.state().model_in_use(),
        Some(&ModelId::Shipped("les-stochastic-32".into()))
    );
    assert_eq!(
        h.query_all_by_label_contains("outside the model's training data")
            .count(),
        0
    );
    h.get_by_label("Play").click();
    wait_until(&mut h, "the learned closure draws at 32²", |a| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.steps > 20 && s.fields.spread.iter().any(|&v| v > 0.0))
    });
    h.get_by_label("Pause").click();
    settle(&mut h);
    let snap = h.state().session().snapshot().unwrap();
    assert_eq!(snap.status, None, "the learned closure runs at 32²");
    assert!(snap.fields.with != snap.fields.without, "the closure acts");
    for p in Panel::ALL {
        assert!(snap.fields.panel(p).iter().all(|v| v.is_finite()), "{p}");
    }
}

/// A model is named by what it is (a shipped label or a file's path), not by the picker's
/// text: stored as one line that earlier releases' labels still read as, and a model file
/// the stored settings chose is opened again when the app starts.
#[test]
fn a_chosen_model_is_stored_by_id_and_a_chosen_file_reopens_at_start() {
    use closure_lab::app::settings::ModelChoice;
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/les_deterministic.bpk");
    for id in [
        ModelId::Default,
        ModelId::Shipped("les-stochastic-32".into()),
        ModelId::File(file.clone()),
    ] {
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(
            serde_json::from_str::<ModelId>(&json).unwrap(),
            id,
            "{json}"
        );
    }
    // what earlier releases stored: the picker's label
    let old: ModelChoice = serde_json::from_str(
        r#"{"g": "PyTorch: fno2d_nosparse", "h": "", "les": "shipped: learned (deterministic, 64²)"}"#,
    )
    .unwrap();
    assert_eq!(old.g, ModelId::File("fno2d_nosparse".into()));
    assert_eq!(old.h, ModelId::Default);
    assert_eq!(old.les, ModelId::Shipped("les-deterministic-64".into()));
    // shown by its label
    assert_eq!(old.les.to_string(), "shipped: learned (deterministic, 64²)");
    // two files of one name are two models
    assert_ne!(
        ModelId::File("a/m.bpk".into()),
        ModelId::File("b/m.bpk".into())
    );
    let mut settings = Settings::default();
    settings.model.les = ModelId::File(file.clone());
    let mut h = Harness::builder()
        .with_size([1500.0, 940.0])
        .allow_missing_glyphs()
        .build_eframe(move |_cc| {
            ClosureLabApp::new(
                settings,
                AppOptions {
                    preset: Some(closure_lab::experiment::presets::PresetId::Les),
                    ..Default::default()
                },
                "test harness".into(),
            )
        });
    wait_for_experiment(&mut h);
    assert_eq!(h.state().model_in_use(), Some(&ModelId::File(file)));
}

/// With a software rasteriser the app lowers its threads' priority so the simulation
/// keeps the cores (`app::lower_thread_priority`, called with Mesa's `llvmpipe` prefix):
/// only threads of that name are touched, to the asked nice value, and a second call
/// finds nothing left to lower.
#[test]
fn only_the_named_threads_yield_their_priority() {
    use closure_lab::app::{RASTERISER_NICE, lower_thread_priority};
    assert!((1..=19).contains(&RASTERISER_NICE));
    let tid = || unsafe { libc::gettid() } as libc::id_t;
    let nice = |t: libc::id_t| unsafe { libc::getpriority(libc::PRIO_PROCESS, t) };
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let named = std::thread::Builder::new()
        .name("yieldtest-0".into())
        .spawn(move || {
            tx.send(tid()).unwrap();
            let _ = stop_rx.recv();
        })
        .unwrap();
    let worker = rx.recv().unwrap();
    let me = tid();
    let before = nice(me);
    // (whatever nice the tests run at: a few steps lower than the thread's own)
    let target = nice(worker) + 3;
    assert!(
        target <= 19,
        "the tests run at nice {}: nothing left to lower",
        target - 3
    );
    assert_eq!(lower_thread_priority("yieldtest", target), 1);
    assert_eq!(nice(worker), target);
    assert_eq!(nice(me), before, "other threads keep theirs");
    assert_eq!(
        lower_thread_priority("yieldtest", target),
        0,
        "never raised or set twice"
    );
    assert_eq!(lower_thread_priority("yieldtest", target - 1), 0);
    assert_eq!(lower_thread_priority("no-such-thread", target), 0);
    stop_tx.send(()).unwrap();
    named.join().unwrap();
}
