//! Experiments as files in the window: File ▸ Save experiment… writes the preset and
//! every setting as a spec the CLI runs; File ▸ Open experiment… runs a spec.

use std::process::Command;
use std::time::{Duration, Instant};

use closure_lab::app::settings::Settings;
use closure_lab::app::{AppOptions, ClosureLabApp};
use closure_lab::experiment::presets::PresetId;
use closure_lab::experiment::spec;
use egui_kittest::Harness;

fn harness(preset: PresetId) -> Harness<'static, ClosureLabApp> {
    Harness::builder()
        .with_size([1500.0, 940.0])
        .allow_missing_glyphs()
        .build_eframe(move |_cc| {
            ClosureLabApp::new(
                Settings::default(),
                AppOptions {
                    preset: Some(preset),
                    ..Default::default()
                },
                "test harness".into(),
            )
        })
}

#[test]
fn an_experiment_saved_in_the_window_runs_headless_and_opens_again() {
    use eframe::egui::{Key, Modifiers};
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(PresetId::Decaying);
    let t0 = Instant::now();
    while h.state().session().snapshot().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "the runs never started"
        );
        h.step();
    }
    {
        let s = &mut h.state_mut().settings;
        s.export_dir = dir.path().display().to_string();
        s.save_dialog = false;
        s.experiment.sensors = 8;
        s.experiment.seed = 3;
        s.experiment.ensemble = 2;
    }
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    let file = dir.path().join("closure-lab-decaying.toml");
    let t0 = Instant::now();
    while !file.exists() {
        assert!(t0.elapsed() < Duration::from_secs(30), "no spec saved");
        h.step();
    }
    let text = std::fs::read_to_string(&file).unwrap();
    // the file holds the window's experiment exactly
    let (preset, cfg) = spec::read(&text).unwrap();
    assert_eq!(preset, PresetId::Decaying);
    assert_eq!(cfg, h.state().settings.experiment);
    // the CLI resolves it: render keeps every setting, and runs it
    let bin = env!("CARGO_BIN_EXE_closure-lab");
    let f = file.to_str().unwrap();
    let o = Command::new(bin)
        .args(["render", "--config", f, "--print-config"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for s in spec::settings(&cfg) {
        assert!(
            printed.contains(&format!("\"{s}\"")),
            "{s} missing from {printed}"
        );
    }
    let gif = dir.path().join("m.gif");
    let o = Command::new(bin)
        .args([
            "render", "--config", f, "--from", "0", "--to", "0.02", "--every", "0.01",
        ])
        .args(["--out", gif.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(gif.exists() && dir.path().join("m.gif.spec.toml").exists());
    // open a changed copy: the window runs it
    let changed = text.replace("\"sensors=8\"", "\"sensors=4\"");
    assert_ne!(changed, text);
    let copy = dir.path().join("changed.toml");
    std::fs::write(&copy, changed).unwrap();
    h.state_mut().open_experiment(&copy);
    assert_eq!(h.state().settings.experiment.sensors, 4);
    assert_eq!(h.state().settings.experiment.seed, 3);
    // a bad spec is a message; the experiment stays
    std::fs::write(&copy, "[render]\nset = [\"sensors=banana\"]\n").unwrap();
    h.state_mut().open_experiment(&copy);
    assert_eq!(h.state().settings.experiment.sensors, 4);
    let last = h.state().messages().last().cloned().unwrap_or_default();
    assert!(last.contains("sensors=banana"), "{last}");
    h.run_steps(3);
}

#[test]
fn specs_round_trip_every_preset_and_name_bad_settings() {
    for id in <PresetId as strum::IntoEnumIterator>::iter() {
        let mut cfg = closure_lab::experiment::presets::get(id).config;
        cfg.seed = 11;
        let (back_id, back) = spec::read(&spec::write(id, &cfg)).unwrap();
        assert_eq!((back_id, &back), (id, &cfg), "{id}");
    }
    let mut cfg = closure_lab::experiment::presets::get(PresetId::PaperG).config;
    let cases = [
        ("nope=1", "unknown setting `nope`"),
        ("sensors", "is not KEY=VALUE"),
        ("closure=banana", "setting `closure=banana`"),
        ("nu=-1", "ν"),
    ];
    for (set, want) in cases {
        let e = spec::apply(&mut cfg, &[set.to_string()]).unwrap_err();
        assert!(e.contains(want), "{set}: {e}");
    }
    spec::apply(
        &mut cfg,
        &["sampler=euler-maruyama".into(), "sampling-steps=10".into()],
    )
    .unwrap();
    assert_eq!(cfg.sampling_steps, 10);
    // the tie of the subgrid closure by name, and the session-14 boolean it replaced
    use closure_lab::les::learn::drain::MeanTie;
    spec::apply(&mut cfg, &["tie=fluctuations".into()]).unwrap();
    assert_eq!(cfg.tie, Some(MeanTie::Fluctuations));
    spec::apply(&mut cfg, &["exact-drain=true".into()]).unwrap();
    assert_eq!(cfg.tie, Some(MeanTie::ExactDrain));
    spec::apply(&mut cfg, &["exact-drain = false".into()]).unwrap();
    assert_eq!(cfg.tie, None);
    let e = spec::apply(&mut cfg, &["tie=loose".into()]).unwrap_err();
    assert!(e.contains("fluctuations"), "{e}");
}

/// A teacher sets a view up in the window, saves it, and renders it headless: the still
/// `render --config` writes is the panel the window showed, pixel for pixel.
#[test]
fn a_saved_experiment_renders_the_panels_the_window_showed() {
    use closure_lab::app::commands::Command as AppCommand;
    use closure_lab::app::export::PanelAction;
    use closure_lab::experiment::Panel;
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(PresetId::Decaying);
    {
        let s = &mut h.state_mut().settings;
        s.export_dir = dir.path().display().to_string();
        s.save_dialog = false;
        // the user's own experiment: another seed and viscosity
        s.experiment.seed = 5;
        s.experiment.nu = 2e-3;
    }
    h.state_mut().apply(AppCommand::Reset);
    let wait = |h: &mut Harness<'static, ClosureLabApp>,
                what: &str,
                f: &dyn Fn(&ClosureLabApp) -> bool| {
        let t0 = Instant::now();
        while !f(h.state()) {
            assert!(t0.elapsed() < Duration::from_secs(300), "{what}");
            h.step();
        }
    };
    let started = |a: &ClosureLabApp| {
        a.session()
            .snapshot()
            .is_some_and(|s| s.config.seed == 5 && s.config.nu == 2e-3)
    };
    wait(&mut h, "the runs never started", &started);
    h.state_mut().apply(AppCommand::Step);
    wait(&mut h, "no step", &|a| {
        a.session().snapshot().is_some_and(|s| s.t > 0.0)
    });
    let t = h.state().session().snapshot().unwrap().t;
    h.state_mut().apply(AppCommand::SaveExperiment);
    let spec_file = dir.path().join("closure-lab-decaying.toml");
    let scale = h.state().settings.export_scale;
    let bin = env!("CARGO_BIN_EXE_closure-lab");
    for (panel, name) in [(Panel::Truth, "truth"), (Panel::Without, "without")] {
        h.state_mut()
            .apply(AppCommand::PanelImage(panel, PanelAction::Save));
        let shown = dir
            .path()
            .join(format!("closure-lab-{}-t{t:.2}-{scale}x.png", panel.id()));
        wait(&mut h, "no panel image", &|_| {
            shown.exists() && spec_file.exists()
        });
        let still = dir.path().join(format!("{name}.png"));
        let o = Command::new(bin)
            .args(["render", "--config", spec_file.to_str().unwrap()])
            .args([
                "--from",
                "0",
                "--panels",
                name,
                "--scale",
                &scale.to_string(),
            ])
            .args(["--out", still.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let a = image::open(&shown).unwrap().to_rgba8();
        let b = image::open(&still).unwrap().to_rgba8();
        assert_eq!(a.dimensions(), b.dimensions(), "{name}");
        let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
        assert_eq!(differ, 0, "{name}: {differ} pixels differ");
    }
}
