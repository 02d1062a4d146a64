//! The coupled experiment: oracle tracks the truth, no closure drifts, histories at the
//! configured cadence, live changes, and the learned closure on its worker thread.

use closure_lab::closure::model::ClosureModel;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use closure_lab::experiment::{
    ClosureMode, Experiment, ExperimentConfig, Panel, Run, Yardstick, spin_up,
};
use closure_lab::solver::{Case, Grid};

fn cfg(closure: ClosureMode) -> ExperimentConfig {
    ExperimentConfig {
        n: 64,
        closure,
        blocking: true,
        record_every: 10,
        ..Default::default()
    }
}

#[test]
fn oracle_tracks_truth_and_no_closure_drifts() {
    for case in [Case::G, Case::H] {
        let mut e = Experiment::new(
            ExperimentConfig {
                case,
                ..cfg(ClosureMode::Oracle)
            },
            None,
        )
        .unwrap();
        e.advance(400).unwrap();
        let h = e.history.samples();
        let last = h.last().unwrap();
        assert!(
            last.d_fro_with < 1e-10,
            "{case}: oracle run left the truth: {}",
            last.d_fro_with
        );
        assert!(last.closure_d_fro.unwrap() < 1e-12);
        // without closure the error grows
        let early = h[2].d_fro_without;
        assert!(
            last.d_fro_without > 2.0 * early && last.d_fro_without > 1e-4,
            "{case}: {early} -> {}",
            last.d_fro_without
        );
    }
}

#[test]
fn histories_follow_the_cadence() {
    let mut e = Experiment::new(
        ExperimentConfig {
            record_every: 7,
            ..cfg(ClosureMode::Off)
        },
        None,
    )
    .unwrap();
    e.advance(70).unwrap();
    let h = e.history.samples();
    assert_eq!(h.len(), 11, "initial record + one every 7 steps");
    for w in h.windows(2) {
        assert!((w[1].t - w[0].t - 7e-3).abs() < 1e-9);
    }
    assert!(
        h.iter()
            .all(|s| s.energy.iter().all(|v| v.is_finite() && *v > 0.0))
    );
}

#[test]
fn live_changes_and_restarts_do_not_panic() {
    let mut e = Experiment::new(cfg(ClosureMode::Oracle), None).unwrap();
    e.advance(20).unwrap();
    let mut c = e.config().clone();
    c.sensors = 8;
    c.ensemble = 2;
    c.closure = ClosureMode::Off;
    e.update_live(&c).unwrap();
    e.advance(20).unwrap();
    assert_eq!(e.fields(None).sensors.len(), 64);
    // a new grid needs a restart: refused live, fine as a new experiment
    c.n = 128;
    assert!(e.update_live(&c).is_err());
    let mut e2 = Experiment::new(c.clone(), None).unwrap();
    e2.advance(5).unwrap();
    assert_eq!(e2.fields(None).truth.len(), 128 * 128);
    // absurd values are refused with a message, not a panic
    for bad in [
        ExperimentConfig {
            n: 100,
            ..c.clone()
        },
        ExperimentConfig {
            sensors: 12,
            ..c.clone()
        },
        ExperimentConfig {
            nu: -1.0,
            ..c.clone()
        },
        ExperimentConfig {
            sampling_steps: 0,
            ..c.clone()
        },
        ExperimentConfig {
            ensemble: 1000,
            ..c.clone()
        },
        ExperimentConfig {
            dt: f64::NAN,
            ..c.clone()
        },
    ] {
        assert!(Experiment::new(bad, None).is_err());
    }
}

#[test]
fn learned_closure_runs_on_the_worker_and_beats_no_closure() {
    let model = ClosureModel::embedded(&burn::tensor::Device::flex()).unwrap();
    // resample every step so that the recorded closure is the one drawn for this state
    let c = ExperimentConfig {
        ensemble: 3,
        resample_every: 1,
        ..cfg(ClosureMode::Learned)
    };
    // start in the statistically steady regime the model was trained on (t ≥ 20 s)
    let (w, t) = spin_up(&c, 20.0, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    let mut e = Experiment::from_state(
        c.clone(),
        Arc::new(Grid::new(64).unwrap()),
        &w,
        t,
        Some(model.into()),
    )
    .unwrap();
    e.advance(100).unwrap();
    let last = e.history.last().unwrap().clone();
    assert!(e.last_latency_ms().is_some());
    assert!(
        last.fresh_spread.is_some_and(|s| s > 0.0),
        "an ensemble of 3 has spread"
    );
    // fresh ensembles are scored against the truth of their own step
    let fresh = last.fresh_d_fro.unwrap();
    assert!(fresh.is_finite() && fresh < 0.2, "fresh error {fresh}");
    // waiting for each sample, the runs stay together and the shipped model's live
    // spread/skill is its a-priori one (≈ 1; an ensemble of 3 expects √(3/4) ≈ 0.87)
    let r = e.spread_skill().unwrap().value;
    assert!((0.6..1.4).contains(&r), "live spread/skill {r}");
    let cd = last.closure_d_fro.unwrap();
    eprintln!(
        "closure D_Fro {cd}, ω D_Fro with {} without {}",
        last.d_fro_with, last.d_fro_without
    );
    assert!(cd.is_finite() && cd < 0.2, "closure error {cd}");
    assert!(
        last.d_fro_with < last.d_fro_without,
        "{} vs {}",
        last.d_fro_with,
        last.d_fro_without
    );
    // change ensemble and sensors mid-run
    let mut c2 = e.config().clone();
    c2.ensemble = 1;
    c2.sensors = 8;
    e.update_live(&c2).unwrap();
    e.advance(20).unwrap();
    assert_eq!(
        e.fields(None).spread.iter().fold(0.0f64, |m, v| m.max(*v)),
        0.0
    );
}

/// Every setting at its minimum and its maximum (the others at their defaults) runs
/// through the experiment: no panic, no non-finite field. The limits are the ones the
/// sliders and the settings sanitiser read.
#[test]
fn every_setting_at_its_limits_runs_finite() {
    use closure_lab::experiment::limits as l;
    let model = |case| {
        ClosureModel::embedded_for(case, &burn::tensor::Device::flex())
            .ok()
            .map(Into::into)
    };
    let base = cfg(ClosureMode::Learned);
    assert_eq!(base.sanitized(), base, "the defaults are inside the limits");
    assert_eq!(
        l::SIGMA.default,
        closure_lab::solver::NoiseParams::default().sigma
    );
    type Set = fn(&mut ExperimentConfig, bool);
    let walk: [(&str, Set); 11] = [
        ("grid", |c, hi| c.n = if hi { 256 } else { 64 }),
        ("sensors", |c, hi| c.sensors = if hi { 32 } else { 4 }),
        ("nu", |c, hi| c.nu = if hi { l::NU.max } else { l::NU.min }),
        ("dt", |c, hi| c.dt = if hi { l::DT.max } else { l::DT.min }),
        ("sigma", |c, hi| {
            c.sigma = if hi { l::SIGMA.max } else { l::SIGMA.min }
        }),
        ("forcing", |c, hi| {
            c.forcing = if hi { l::FORCING.max } else { l::FORCING.min }
        }),
        ("sampling steps", |c, hi| {
            // the score samplers' range (a flow generator takes 1 or 2)
            c.sampler = closure_lab::closure::sampler::Sampler::EulerMaruyama;
            c.sampling_steps = if hi {
                l::SAMPLING_STEPS.max
            } else {
                l::SAMPLING_STEPS.min
            }
        }),
        ("T", |c, hi| {
            c.t_start = if hi { l::T_START.max } else { l::T_START.min }
        }),
        ("ensemble", |c, hi| {
            c.ensemble = if hi { l::ENSEMBLE.max } else { l::ENSEMBLE.min }
        }),
        ("resample", |c, hi| {
            c.resample_every = if hi {
                l::RESAMPLE_EVERY.max
            } else {
                l::RESAMPLE_EVERY.min
            }
        }),
        ("record", |c, hi| {
            c.record_every = if hi {
                l::RECORD_EVERY.max
            } else {
                l::RECORD_EVERY.min
            }
        }),
    ];
    for (name, set) in walk {
        for hi in [false, true] {
            let mut c = base.clone();
            set(&mut c, hi);
            c.validate()
                .unwrap_or_else(|e| panic!("{name} at its {} is refused: {e}", hi as u8));
            assert_eq!(c.sanitized(), c, "{name}: sanitising keeps a valid value");
            let mut e = Experiment::new(c.clone(), model(c.case)).unwrap();
            e.advance(3).unwrap();
            let f = e.fields(None);
            for p in Panel::ALL {
                assert!(
                    f.panel(p).iter().all(|v| v.is_finite()),
                    "{name} at {}: panel {p} not finite",
                    if hi { "max" } else { "min" }
                );
            }
        }
    }
    // values outside land inside, and NaN becomes the default
    let wild = ExperimentConfig {
        n: 100,
        sensors: 12,
        nu: f64::NAN,
        dt: 1.0,
        ensemble: 1000,
        sampling_steps: 0,
        t_start: -1.0,
        ..base.clone()
    };
    assert!(wild.validate().is_err());
    let tame = wild.sanitized();
    tame.validate().unwrap();
    assert_eq!(tame.nu, l::NU.default);
    assert_eq!((tame.ensemble, tame.sampling_steps), (l::ENSEMBLE.max, 1));
}

#[test]
fn panels_round_trip_through_names_settings_and_json() {
    use closure_lab::app::settings::Settings;
    for p in Panel::ALL {
        assert_eq!(Panel::parse(p.id()).unwrap(), p);
        assert_eq!(p.to_string(), p.id());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", p.id()));
        assert_eq!(serde_json::from_str::<Panel>(&json).unwrap(), p);
    }
    // every variant is shown by the app (ALL) except the subgrid yardstick, and has a
    // title in every closure mode and ensemble size, and a unit
    use closure_lab::experiment::{Flow, PanelContext};
    use strum::VariantNames;
    for name in Panel::VARIANTS {
        let p = Panel::parse(name).unwrap();
        assert_eq!(Panel::ALL.contains(&p), p != Panel::Reference, "{p}");
        for flow in [Flow::Published, Flow::Kolmogorov] {
            for closure in [ClosureMode::Learned, ClosureMode::Oracle, ClosureMode::Off] {
                for ensemble in [1, 4] {
                    let cx = PanelContext {
                        flow,
                        term: flow.def().term(closure_lab::solver::Case::G),
                        closure,
                        ensemble,
                        yardstick: (flow == Flow::Kolmogorov).then_some(Yardstick::Fno),
                    };
                    assert!(!p.title(&cx).is_empty(), "{p} {closure} {ensemble}");
                    // the subgrid flow's runs are LES of a filtered DNS
                    let les = p.title(&cx).contains("LES") || p.title(&cx).contains("filtered");
                    if matches!(p, Panel::Truth | Panel::With | Panel::Without) {
                        assert_eq!(les, flow == Flow::Kolmogorov, "{p}: {}", p.title(&cx));
                    }
                }
            }
        }
        assert!(!p.unit().is_empty());
    }
    let err = Panel::parse("vorticity").unwrap_err();
    assert!(
        err.contains("true-closure") && err.contains("vorticity"),
        "{err}"
    );
    let s = Settings {
        record_panels: vec![Panel::Spread, Panel::TrueClosure],
        export_panel: Panel::Error,
        ..Default::default()
    };
    let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    // settings written before panels were an enum (string ids) still load
    let old = r#"{"record_panels": ["truth", "true-closure"], "export_panel": "with"}"#;
    let old: Settings = serde_json::from_str(old).unwrap();
    assert_eq!(old.record_panels, vec![Panel::Truth, Panel::TrueClosure]);
    assert_eq!(old.export_panel, Panel::With);
}

#[test]
fn the_simulation_thread_paces_itself_and_stops_when_dropped() {
    use closure_lab::experiment::runner::{Launch, Runner, RunnerCommand};
    use std::time::{Duration, Instant};
    let runner = Runner::spawn();
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !ok() {
            assert!(t0.elapsed() < Duration::from_secs(60), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    runner.send(RunnerCommand::Restart(Launch {
        cfg: ExperimentConfig {
            blocking: false,
            ..cfg(ClosureMode::Oracle)
        },
        spin_to: 0.0,
        model: None,
    }));
    wait("a snapshot", &|| runner.snapshot().is_some());
    // paused: single steps only
    runner.send(RunnerCommand::Step(7));
    wait("seven steps", &|| {
        runner.snapshot().is_some_and(|s| s.steps == 7)
    });
    // playing at 200 steps/s for ~0.5 s takes about 100 steps, not thousands
    runner.send(RunnerCommand::Speed(200.0));
    runner.send(RunnerCommand::Play(true));
    std::thread::sleep(Duration::from_millis(500));
    let taken = runner.steps() - 7;
    assert!(
        (40..=160).contains(&taken),
        "{taken} steps at 200/s in 0.5 s"
    );
    // pause mark
    runner.send(RunnerCommand::Speed(f64::INFINITY));
    runner.send(RunnerCommand::PauseAt(Some(1000)));
    wait("pause at 1000", &|| {
        runner.snapshot().is_some_and(|s| s.steps == 1000) && runner.playing() == Some(false)
    });
    let (_, samples) = runner.take_samples();
    assert_eq!(
        samples.len(),
        101,
        "one metric sample every 10 steps, and the first"
    );
    let alive = runner.alive();
    drop(runner);
    assert!(!alive.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn subgrid_flow_runs_every_closure_and_the_oracle_follows_the_filtered_dns() {
    use closure_lab::experiment::presets;
    let mut base = presets::get(presets::PresetId::Les).config;
    base.dns_n = 128;
    base.blocking = true;
    // the classical yardstick (the FNO one: tests/les_shipped.rs)
    base.yardstick = Yardstick::Smagorinsky;
    let never = AtomicBool::new(false);
    let (omega, t0) = spin_up(&base, 1.0, &|_, _| {}, &never).unwrap();
    assert_eq!(
        omega.len(),
        128 * 128,
        "the spin-up state is on the DNS grid"
    );
    let mut last = Vec::new();
    for mode in [
        ClosureMode::Off,
        ClosureMode::Smagorinsky,
        ClosureMode::DynamicSmagorinsky,
        ClosureMode::Leith,
        ClosureMode::Oracle,
    ] {
        let cfg = ExperimentConfig {
            closure: mode,
            ..base.clone()
        };
        let mut e = Experiment::at(cfg, &omega, t0, None).unwrap();
        e.advance(400).unwrap();
        let f = e.fields(None);
        assert_eq!(f.n, 64, "the runs shown are on the LES grid");
        for p in Panel::ALL {
            assert!(
                f.panel(p).iter().all(|v| v.is_finite()),
                "{mode}: {p} not finite"
            );
        }
        let s = e.history.samples().last().unwrap().clone();
        // the run with the closure is the run without it only when the closure is off
        let same = f.with == f.without;
        assert_eq!(
            same,
            mode == ClosureMode::Off,
            "{mode}: with == without is {same}"
        );
        // the Smagorinsky yardstick joins the spectra unless it is the chosen closure
        let names: Vec<Run> = e.spectra().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names.contains(&Run::Yardstick(Yardstick::Smagorinsky)),
            mode != ClosureMode::Smagorinsky,
            "{mode}: {names:?}"
        );
        if mode == ClosureMode::Leith {
            plot_colours_follow_the_run(&e);
        }
        last.push((mode, s.d_fro_with));
    }
    let err = |m: ClosureMode| last.iter().find(|(k, _)| *k == m).unwrap().1;
    // the oracle differs from the filtered DNS only by Π being frozen over an ETDRK4 step
    assert!(
        err(ClosureMode::Oracle) < 0.1 * err(ClosureMode::Off),
        "oracle {:e} vs none {:e}",
        err(ClosureMode::Oracle),
        err(ClosureMode::Off)
    );
    // a learned closure does not exist for this flow: the run says so and goes on
    let mut e = Experiment::at(
        ExperimentConfig {
            closure: ClosureMode::Learned,
            ..base.clone()
        },
        &omega,
        t0,
        None,
    )
    .unwrap();
    e.advance(5).unwrap();
    assert!(e.status().is_some_and(|s| s.contains("subgrid")));
    // classical closures belong to the subgrid flow only
    let wrong = ExperimentConfig {
        closure: ClosureMode::Smagorinsky,
        ..cfg(ClosureMode::Off)
    };
    assert!(
        wrong
            .validate()
            .unwrap_err()
            .to_string()
            .contains("subgrid")
    );
}

/// Every plot draws a run in that run's one colour; different runs differ; the runs of
/// the time plots reach the spectrum too (the subgrid flow has all four runs).
fn plot_colours_follow_the_run(e: &Experiment) {
    use closure_lab::app::plots::{PlotId, run_colour, series};
    use std::collections::{HashMap, HashSet};
    let spectra = e.spectra();
    let all = series(&e.history, Some(&spectra), true);
    let mut colour: HashMap<Run, eframe::egui::Color32> = HashMap::new();
    let mut plots: HashMap<Run, HashSet<PlotId>> = HashMap::new();
    for s in &all {
        let Some(r) = s.run else { continue };
        assert!(!s.points.is_empty(), "{}: no points", s.name);
        let c = *colour.entry(r).or_insert(s.colour);
        assert_eq!(c, s.colour, "{:?} drawn in two colours ({})", r, s.name);
        assert_eq!(c, run_colour(r));
        plots.entry(r).or_default().insert(s.plot);
    }
    let distinct: HashSet<_> = colour.values().collect();
    assert_eq!(distinct.len(), colour.len(), "two runs share a colour");
    assert_eq!(
        colour.len(),
        4,
        "truth, with, without and the Smagorinsky yardstick"
    );
    for r in [Run::With, Run::Without] {
        assert_eq!(
            plots[&r].len(),
            3,
            "{r:?} in the error, energy and spectrum plots"
        );
    }
}

/// Every preset id names one preset, parses back from its name, and round-trips through
/// the stored settings; a stored name that no longer exists loads the default preset
/// (not a failed settings file).
#[test]
fn every_preset_id_round_trips_through_names_and_settings() {
    use closure_lab::app::settings::Settings;
    use closure_lab::experiment::presets::{self, PresetId};
    use strum::IntoEnumIterator;
    let all = presets::all();
    assert_eq!(all.len(), PresetId::iter().count());
    for id in PresetId::iter() {
        let p = presets::get(id);
        assert_eq!(p.id, id);
        assert!(!p.title.is_empty() && !p.description.is_empty(), "{id}");
        p.config.validate().unwrap();
        assert_eq!(PresetId::parse(&id.to_string()).unwrap(), id);
        let s = Settings {
            preset: id,
            experiment: p.config.clone(),
            ..Default::default()
        };
        let stored = ron::to_string(&s).unwrap();
        assert!(stored.contains(&format!("\"{id}\"")), "stored by name");
        let (back, note) = Settings::from_stored(Some(&stored));
        assert!(note.is_none(), "{id}: {note:?}");
        assert_eq!(back.preset, id);
    }
    let old = ron::to_string(&Settings::default())
        .unwrap()
        .replace("\"paper-g\"", "\"retired-preset\"");
    let (back, note) = Settings::from_stored(Some(&old));
    assert_eq!(back.preset, PresetId::default());
    assert!(note.is_none(), "{note:?}");
    assert!(PresetId::parse("nope").unwrap_err().contains("paper-g"));
}

/// The closure modes the app offers in a flow are exactly those a run of that flow
/// accepts (a classical closure added without its flow rule would show up here).
#[test]
fn offered_closure_modes_are_the_valid_ones() {
    use closure_lab::experiment::presets::{self, PresetId};
    use strum::IntoEnumIterator;
    for base in [
        presets::get(PresetId::PaperG).config,
        presets::get(PresetId::Les).config,
    ] {
        let offered = ClosureMode::offered(base.flow);
        for mode in ClosureMode::iter() {
            let cfg = ExperimentConfig {
                closure: mode,
                ..base.clone()
            };
            assert_eq!(
                cfg.validate().is_ok(),
                offered.contains(&mode),
                "{:?} flow, {mode}",
                base.flow
            );
        }
    }
}

/// A classical closure is registered in the LES layer (`LesClosure` with its eddy model)
/// and as an app closure mode (`ClosureMode::les`): this fails when one is missing.
#[test]
fn every_les_closure_is_exactly_one_app_closure_mode() {
    use closure_lab::les::LesClosure;
    use strum::IntoEnumIterator;
    for c in LesClosure::iter() {
        let modes: Vec<ClosureMode> = ClosureMode::iter().filter(|m| m.les() == Some(c)).collect();
        assert_eq!(modes.len(), 1, "{c}: modes {modes:?}");
        assert_eq!(c.eddy().is_some(), modes[0].is_classical(), "{c}");
        assert!(!modes[0].label().is_empty());
    }
    for m in ClosureMode::iter().filter(|m| m.is_classical()) {
        assert!(
            m.les().and_then(|c| c.eddy()).is_some(),
            "{m} has no eddy model"
        );
    }
}

/// Every flow id names one flow object that answers for that id, has a preset, starts
/// on its own truth grid and ships a learned closure of its own (a flow registered in
/// one place and not the others fails here).
#[test]
fn every_flow_is_one_object_with_a_preset_a_start_and_a_shipped_model() {
    use closure_lab::experiment::presets::{self, PresetId};
    use closure_lab::experiment::{Flow, LearnedModel};
    use strum::IntoEnumIterator;
    let device = burn::tensor::Device::flex();
    let mut labels = std::collections::HashSet::new();
    for flow in Flow::iter() {
        let def = flow.def();
        assert_eq!(def.id(), flow);
        assert!(labels.insert(def.label()), "{flow}: label shared");
        assert_eq!(flow.to_string().parse::<Flow>().unwrap(), flow);
        let preset = PresetId::iter()
            .map(presets::get)
            .find(|p| p.config.flow == flow)
            .unwrap_or_else(|| panic!("{flow} has no preset"));
        let cfg = preset.config;
        def.check(&cfg).unwrap();
        let w0 = def.initial_state(&cfg).unwrap();
        let g = def.truth_grid(&cfg);
        assert_eq!(w0.len(), g * g, "{flow}");
        assert!(def.grid_choice().values.contains(&cfg.n), "{flow}");
        let model = LearnedModel::embedded(&cfg, &device).unwrap();
        assert_eq!(model.flow(), flow);
        assert!(def.spin_up_total(&cfg, 1.0) > 0);
    }
}

/// One rule says which model may close which run: the app's pickers offer a model for
/// exactly the runs it may close, and an experiment given another model runs without it
/// and says why in its status line.
#[test]
fn a_model_closes_exactly_the_runs_of_its_picker_and_no_others() {
    use closure_lab::app::settings::Slot;
    use closure_lab::experiment::LearnedModel;
    use closure_lab::experiment::presets::{self, PresetId};
    use strum::IntoEnumIterator;
    let device = burn::tensor::Device::flex();
    let models: Vec<LearnedModel> = LearnedModel::shipped(&device)
        .into_iter()
        .map(|(s, m)| m.unwrap_or_else(|e| panic!("{}: {e}", s.label)))
        .collect();
    let mut refused = 0;
    for id in PresetId::iter() {
        let mut cfg = presets::get(id).config;
        for case in [Case::G, Case::H] {
            cfg.case = case;
            for m in &models {
                let same_slot = Slot::of(&cfg) == Slot::of_model(m);
                assert_eq!(m.closes(&cfg).is_ok(), same_slot, "{id} {case}");
                refused += !same_slot as usize;
            }
        }
    }
    assert!(refused > 0);
    let g = LearnedModel::from(ClosureModel::embedded_for(Case::G, &device).unwrap());
    let h_run = ExperimentConfig {
        case: Case::H,
        ..cfg(ClosureMode::Learned)
    };
    let e = Experiment::new(h_run, Some(g)).unwrap();
    let status = e.status().unwrap_or_default();
    assert!(
        status.contains("not used") && status.contains("case G"),
        "{status}"
    );
}

/// Every shipped model has an id of its own and a label of its own, and is found by
/// either (settings store the id; earlier releases stored the label).
#[test]
fn shipped_models_have_unique_ids_found_by_id_or_label() {
    use closure_lab::experiment::Shipped;
    let all = Shipped::all();
    assert!(all.len() >= 10);
    for (i, s) in all.iter().enumerate() {
        assert!(
            all[..i].iter().all(|t| t.id != s.id && t.label != s.label),
            "{s:?} repeats"
        );
        assert!(
            !s.id.contains(' ') && s.id.is_ascii(),
            "{s:?}: an id is one ASCII word"
        );
        assert_eq!(Shipped::find(s.id), Some(*s));
        assert_eq!(Shipped::find(s.label), Some(*s));
    }
    assert_eq!(Shipped::find("no such model"), None);
}
