//! The shipped learned subgrid closures: their embedded weights decode, their cards hold
//! the evaluation tables, and inside the coupled subgrid run they stay finite for 1 000
//! steps with the energy of the filtered DNS (a smoke test, not the a-posteriori claim).

use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use closure_lab::closure::sampler::Sampler;
use closure_lab::closure::sde::Schedule;
use closure_lab::experiment::{
    ClosureMode, Experiment, ExperimentConfig, LearnedModel, Panel, Run, Yardstick, presets,
    spin_up,
};
use closure_lab::les::learn::model::{LesKind, LesModel};
use closure_lab::les::learn::shipped::{EMBEDDED, shipped};
use closure_lab::solver::Grid;

#[test]
fn shipped_subgrid_models_decode_and_their_cards_hold_the_evaluation_tables() {
    let device = Device::flex();
    let mut grids = Vec::new();
    for entry in &EMBEDDED {
        let (label, card, weights) = (entry.label, entry.card, entry.weights);
        let m = entry
            .load(&device)
            .unwrap_or_else(|e| panic!("{label} does not decode: {e}"));
        // on its own LES grid (named in its label), a smooth ω̄ with the forcing's shape
        let n = m.card.part.les_n;
        assert!(label.contains(&format!("{n}²")), "{label}: trained on {n}²");
        grids.push((n, m.card.part.kind));
        let grid = Grid::new(n).unwrap();
        let w: Vec<f64> = (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f64 / n as f64, (i / n) as f64 / n as f64);
                30.0 * (8.0 * std::f64::consts::PI * y).cos()
                    + 10.0 * (2.0 * std::f64::consts::PI * x).sin()
            })
            .collect();
        let want = if label.contains("stochastic") {
            LesKind::Stochastic
        } else {
            LesKind::Deterministic
        };
        assert_eq!(m.card.part.kind, want, "{label}");
        // the stochastic model ships its distilled flow generator with a spread
        // inflation for one and two steps (`les-apriori --fit-inflation`)
        if want == LesKind::Stochastic {
            use closure_lab::closure::sampler::Sampler;
            assert!(m.has_flow(), "{label}: no flow generator");
            for steps in [1, 2] {
                let t = closure_lab::closure::inflation::table_for(
                    &m.card.inflation,
                    Sampler::Flow,
                    steps,
                )
                .expect("a flow inflation table");
                assert_eq!((t.sampler, t.steps), (Sampler::Flow, Some(steps)));
            }
        }
        // the card's a-priori table: its own rows at every ν it was trained at, and the
        // classical ones on the same files
        let rows = &m.card.eval;
        let of = |c: &str| rows.iter().filter(|r| r.closure == c).count();
        let own = m.card.part.kind.closure_name();
        for f in &m.card.training.files {
            assert!(
                rows.iter().any(|r| r.closure == own && r.nu == f.1),
                "{label}: no row of its own at the training ν {}",
                f.1
            );
        }
        for c in ["none", "smagorinsky", "dynamic-smagorinsky"] {
            assert_eq!(of(c), of(own), "{label}: {c} is scored on the same files");
        }
        for r in rows {
            assert!(r.scores.crps.is_finite(), "{r:?}");
            let stochastic = r.closure == "learned-stochastic";
            assert_eq!(r.scores.spread_skill.is_some(), stochastic, "{r:?}");
        }
        // asked for a fidelity it was trained on, else for the highest it knows
        assert_eq!(
            m.card.best_fidelity(),
            256,
            "{label}: trained on 256² data (and 128² below 48²)"
        );
        let trained: Vec<usize> = m.card.training.files.iter().map(|f| f.2).collect();
        assert_eq!(trained.contains(&128), n != 48, "{label}: {trained:?}");
        for asked in [128, 256, 512] {
            let got = if trained.contains(&asked) { asked } else { 256 };
            assert_eq!(m.card.fidelity_for(asked), got, "{label}");
        }
        // it samples: finite, and members differ only for the stochastic closure
        let (lo, hi) = m.card.nu_range().expect("the card lists its training data");
        let s = m
            .sample(
                &closure_lab::les::learn::Draw {
                    grid: &grid,
                    omega_bar: &w,
                    nu: (lo * hi).sqrt(),
                    dns_n: m.card.best_fidelity(),
                },
                3,
                Sampler::EulerMaruyama,
                &Schedule::published(),
            )
            .unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.iter().flatten().all(|v| v.is_finite()), "{label}");
        assert_eq!(s[0] != s[1], want == LesKind::Stochastic, "{label}");
        // damaged weights are refused with a reason, never half-loaded
        let cut = &weights[..weights.len() / 2];
        let err = LesModel::from_bytes(card, cut, &device).unwrap_err();
        assert!(!err.to_string().is_empty());
        let err = LesModel::from_bytes(b"{\"format_version\": 1}", weights, &device).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }
    // every shipped LES grid has a stochastic model and the FNO that is its mean
    for &(n, _) in &grids {
        for kind in [LesKind::Stochastic, LesKind::Deterministic] {
            assert!(grids.contains(&(n, kind)), "no {kind} model for {n}²");
            assert_eq!(shipped(kind, n, &device).unwrap().card.part.les_n, n);
        }
    }
    assert!(shipped(LesKind::Stochastic, 128, &device).is_err());
}

#[test]
fn learned_subgrid_closures_run_1000_steps_in_the_coupled_run_within_the_dns_energy() {
    let device = Device::flex();
    let mut base = presets::get(presets::PresetId::Les).config;
    assert_eq!(
        base.closure,
        ClosureMode::Learned,
        "the les preset opens learned"
    );
    base.dns_n = 128;
    base.blocking = true;
    base.ensemble = 2;
    base.record_every = 20;
    // the classical yardstick: the FNO one is the next test's
    base.yardstick = Yardstick::Smagorinsky;
    let never = AtomicBool::new(false);
    let (omega, t0) = spin_up(&base, 1.0, &|_, _| {}, &never).unwrap();
    for entry in &EMBEDDED {
        let label = entry.label;
        let model = entry.load(&device).unwrap();
        let cfg = ExperimentConfig {
            n: model.card.part.les_n,
            ..base.clone()
        };
        let model: LearnedModel = model.into();
        let mut e = Experiment::at(cfg, &omega, t0, Some(model)).unwrap();
        assert!(
            e.has_model(),
            "{label}: a subgrid model is taken by the subgrid flow"
        );
        e.advance(1000).unwrap();
        assert_eq!(e.status(), None, "{label}");
        let f = e.fields(None);
        for p in Panel::ALL.iter().chain([&Panel::Reference]) {
            assert!(f.panel(*p).iter().all(|v| v.is_finite()), "{label}: {p}");
        }
        assert!(f.with != f.without, "{label}: the closure acts");
        assert!(
            f.reference.iter().any(|&v| v != 0.0),
            "{label}: the yardstick runs"
        );
        let spread: f64 = f.spread.iter().sum();
        assert_eq!(
            spread > 0.0,
            label.contains("stochastic"),
            "{label}: spread {spread}"
        );
        let h = e.history.samples();
        let truth = h.iter().map(|s| s.energy[0]);
        let (lo, hi) = (
            truth.clone().fold(f64::INFINITY, f64::min),
            truth.fold(0.0, f64::max),
        );
        for s in h {
            assert!(
                (0.5 * lo..=1.5 * hi).contains(&s.energy[1]),
                "{label}: energy {} at t = {} outside the filtered DNS's {lo}…{hi}",
                s.energy[1],
                s.t
            );
        }
    }
    // a published-case model is not taken by the subgrid flow
    let g = closure_lab::closure::model::ClosureModel::embedded(&device).unwrap();
    let e = Experiment::at(base.clone(), &omega, t0, Some(g.into())).unwrap();
    assert!(!e.has_model());
}

/// The les preset's yardstick is the shipped deterministic FNO of the LES grid, run as
/// `les-eval` runs the learned deterministic closure (Π from its own state every step);
/// where no FNO is shipped (128²) Smagorinsky runs and the titles say so.
#[test]
fn the_fno_yardstick_is_the_les_eval_deterministic_closure_and_falls_back_where_none_ships() {
    use closure_lab::closure::eval::SamplerSetting;
    use closure_lab::les::learn::learned::{Learned, LearnedRun};
    let mut cfg = presets::get(presets::PresetId::Les).config;
    assert_eq!(
        cfg.yardstick,
        Yardstick::Fno,
        "the les preset shows the FNO"
    );
    cfg.n = 32;
    cfg.dns_n = 128;
    cfg.closure = ClosureMode::Off;
    cfg.blocking = true;
    assert_eq!(cfg.yardstick_run(), Some(Yardstick::Fno));
    assert_eq!(
        Panel::Reference.title(&cfg.panels()),
        "LES ω, deterministic FNO"
    );
    let never = AtomicBool::new(false);
    let (omega, t0) = spin_up(&cfg, 0.5, &|_, _| {}, &never).unwrap();
    let mut e = Experiment::at(cfg.clone(), &omega, t0, None).unwrap();
    let grid = std::sync::Arc::new(Grid::new(32).unwrap());
    let start = grid.to_spectral(&e.fields(None).without);
    // the same closure through the les-eval path
    let device = Device::flex();
    let fno = Learned {
        label: "fno".into(),
        model: shipped(LesKind::Deterministic, 32, &device).unwrap(),
        every: 1,
        ensemble: 1,
        seed: 0,
        sampler: SamplerSetting::parse("em-karras10").unwrap(),
        memory: 0.0,
    };
    let flow = cfg.les_flow();
    let mut run = LearnedRun::new(&flow, grid.clone(), &start, t0, 0).unwrap();
    let steps = 60;
    e.advance(steps).unwrap();
    for _ in 0..steps {
        run.step(&fno, &flow).unwrap();
    }
    assert_eq!(e.status(), None);
    let f = e.fields(None);
    let expect = run.run.sim.omega();
    let scale = expect.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = f
        .reference
        .iter()
        .zip(&expect)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff <= 1e-9 * scale,
        "yardstick vs les-eval's FNO run: {diff:e} of {scale:e}"
    );
    let moved = f
        .reference
        .iter()
        .zip(&f.without)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(moved > 1e-6 * scale, "the FNO acts: {moved:e}");
    let names: Vec<Run> = e.spectra().iter().map(|(r, _)| *r).collect();
    assert!(names.contains(&Run::Yardstick(Yardstick::Fno)), "{names:?}");
    // switched live to Smagorinsky: a new yardstick from the runs' state
    let smag = ExperimentConfig {
        yardstick: Yardstick::Smagorinsky,
        ..cfg.clone()
    };
    e.update_live(&smag).unwrap();
    e.advance(5).unwrap();
    let names: Vec<Run> = e.spectra().iter().map(|(r, _)| *r).collect();
    assert!(
        names.contains(&Run::Yardstick(Yardstick::Smagorinsky)),
        "{names:?}"
    );
    // the FNO of 48² ships too; none is shipped for 128²: Smagorinsky runs there, and
    // the title names it
    let at48 = ExperimentConfig {
        n: 48,
        ..cfg.clone()
    };
    assert_eq!(at48.yardstick_run(), Some(Yardstick::Fno));
    let at128 = ExperimentConfig {
        n: 128,
        dns_n: 256,
        ..cfg.clone()
    };
    assert_eq!(at128.yardstick_run(), Some(Yardstick::Smagorinsky));
    assert_eq!(
        Panel::Reference.title(&at128.panels()),
        "LES ω, Smagorinsky"
    );
    // Smagorinsky chosen as the closure: no Smagorinsky yardstick, the FNO still runs
    let smag_closure = ExperimentConfig {
        closure: ClosureMode::Smagorinsky,
        ..cfg.clone()
    };
    assert_eq!(smag_closure.yardstick_run(), Some(Yardstick::Fno));
    let both = ExperimentConfig {
        yardstick: Yardstick::Smagorinsky,
        ..smag_closure
    };
    assert_eq!(both.yardstick_run(), None);
}

#[test]
fn the_exact_drain_gives_every_member_the_fnos_transfer_in_the_library_and_the_run() {
    use closure_lab::les::learn::drain::MeanTie;
    use closure_lab::les::stats::enstrophy_transfer;
    let device = Device::flex();
    let mut base = presets::get(presets::PresetId::Les).config;
    base.dns_n = 128;
    base.blocking = true;
    base.ensemble = 3;
    base.record_every = 10;
    base.resample_every = 1;
    let never = AtomicBool::new(false);
    let (omega, t0) = spin_up(&base, 1.0, &|_, _| {}, &never).unwrap();
    let stochastic = EMBEDDED[0].load(&device).unwrap();
    let det = shipped(LesKind::Deterministic, 64, &device).unwrap();
    assert_eq!(det.card.part.kind, LesKind::Deterministic);
    // a stochastic model is no mean
    assert!(
        stochastic
            .clone()
            .with_exact_drain(Some(stochastic.clone()))
            .is_err()
    );
    // in the library: each member's P_Z and P_E are the mean's
    let mut e = Experiment::at(base.clone(), &omega, t0, None).unwrap();
    let bar = e.fields(None).truth.clone();
    let g = Grid::new(64).unwrap();
    let bar_hat = g.to_spectral(&bar);
    let mut psi_hat = g.zeros_hat();
    g.poisson_hat(&bar_hat, &mut psi_hat);
    let psi = g.to_physical(&psi_hat);
    let flow1 = closure_lab::closure::eval::SamplerSetting::parse("flow-1").unwrap();
    let sched = flow1.schedule;
    let query = closure_lab::les::learn::Draw {
        grid: &g,
        omega_bar: &bar,
        nu: base.nu,
        dns_n: 256,
    };
    let mean = det.sample(&query, 1, Sampler::Flow, &sched).unwrap();
    let drained = stochastic
        .clone()
        .with_exact_drain(Some(det.clone()))
        .unwrap();
    let plain = stochastic.sample(&query, 3, Sampler::Flow, &sched).unwrap();
    let members = drained.sample(&query, 3, Sampler::Flow, &sched).unwrap();
    let fluct = stochastic
        .clone()
        .tied_to(Some((det.clone(), MeanTie::Fluctuations)))
        .unwrap()
        .sample(&query, 3, Sampler::Flow, &sched)
        .unwrap();
    let (pz, pe) = (
        enstrophy_transfer(&mean[0], &bar),
        enstrophy_transfer(&mean[0], &psi),
    );
    for m in &fluct {
        assert!((enstrophy_transfer(m, &bar) - pz).abs() < 1e-9 * pz.abs());
        assert!((enstrophy_transfer(m, &psi) - pe).abs() < 1e-9 * pe.abs());
    }
    for (m, p) in members.iter().zip(&plain) {
        assert!((enstrophy_transfer(m, &bar) - pz).abs() < 1e-9 * pz.abs());
        assert!((enstrophy_transfer(m, &psi) - pe).abs() < 1e-9 * pe.abs());
        assert!((enstrophy_transfer(p, &bar) - pz).abs() > 1e-3 * pz.abs());
    }
    // in the coupled run: the closure's drain follows the truth's with the exact drain,
    // and falls far short without it (the shipped model's shortfall, README)
    let ratio = |tie: Option<MeanTie>| {
        let cfg = ExperimentConfig {
            tie,
            ..base.clone()
        };
        let model: LearnedModel = stochastic.clone().into();
        let mut e = Experiment::at(cfg, &omega, t0, Some(model)).unwrap();
        e.advance(100).unwrap();
        assert_eq!(e.status(), None);
        let pz: Vec<[f64; 2]> = e.history.samples().iter().filter_map(|s| s.p_z).collect();
        assert!(pz.len() >= 5, "{} P_Z samples", pz.len());
        let sum = |i: usize| pz.iter().map(|p| p[i]).sum::<f64>();
        sum(0) / sum(1)
    };
    let with = ratio(Some(MeanTie::ExactDrain));
    let fluct = ratio(Some(MeanTie::Fluctuations));
    let without = ratio(None);
    assert!((0.5..1.5).contains(&with), "exact drain: P_Z ÷ true {with}");
    assert!(
        (0.5..1.5).contains(&fluct),
        "fluctuations: P_Z ÷ true {fluct}"
    );
    assert!(without < 0.5, "plain: P_Z ÷ true {without}");
}

/// A subgrid model run on another LES grid than it was trained on is flagged (the window
/// shows the warning); on its own grid it is not.
#[test]
fn a_subgrid_model_on_another_les_grid_is_flagged() {
    let device = Device::flex();
    let model: LearnedModel = EMBEDDED[1].load(&device).unwrap().into();
    assert_eq!(model.train_grid(), 64);
    let base = presets::get(presets::PresetId::Les).config;
    let grid_note = |n: usize| {
        let cfg = ExperimentConfig { n, ..base.clone() };
        model
            .out_of_distribution(&cfg)
            .into_iter()
            .any(|w| w.contains("LES grid"))
    };
    assert!(!grid_note(64));
    assert!(grid_note(32));
}

/// A flow generator's latent with memory τ is an AR(1) in time: each draw's latent keeps
/// unit variance and correlates with the previous one by ρ = exp(−Δt/τ), and the draws
/// from such latents are closer to each other than white draws are. Without memory the
/// draw carries no latent; a model without a flow generator refuses one.
#[test]
fn a_flow_latent_with_memory_is_an_ar1_in_time_and_its_draws_follow() {
    use closure_lab::closure::eval::SamplerSetting;
    use closure_lab::les::LesFlow;
    use closure_lab::les::learn::learned::Learned;
    let device = Device::flex();
    let model = shipped(LesKind::Stochastic, 64, &device).unwrap();
    let flow = LesFlow::default();
    let grid = Grid::new(64).unwrap();
    let w: Vec<f64> = (0..64 * 64)
        .map(|i| {
            let (x, y) = ((i % 64) as f64 / 64.0, (i / 64) as f64 / 64.0);
            30.0 * (8.0 * std::f64::consts::PI * y).cos()
                + 10.0 * (2.0 * std::f64::consts::PI * x).sin()
        })
        .collect();
    let w_hat = grid.to_spectral(&w);
    let with = |model: LesModel, memory: f64| Learned {
        label: "test".into(),
        model,
        every: 1,
        ensemble: 1,
        seed: 3,
        sampler: SamplerSetting::parse("flow-1").unwrap(),
        memory,
    };
    let l = with(model.clone(), 20.0 * flow.dt);
    assert_eq!(l.closure().parts().memory, Some(20.0 * flow.dt));
    let rho = l.latent_rho(flow.dt);
    assert!((rho - (-0.05f64).exp()).abs() < 1e-12, "{rho}");
    let values = |z: &burn::tensor::Tensor<4>| z.clone().into_data().try_to_vec::<f32>().unwrap();
    let (d1, z1) = l.draw_from(&flow, &grid, &w_hat, 1, &[0, 0], None).unwrap();
    let z1 = z1.expect("a latent with memory");
    let (d2, z2) = l
        .draw_from(&flow, &grid, &w_hat, 1, &[0, 1], Some(z1.clone()))
        .unwrap();
    let (a, b) = (values(&z1), values(&z2.unwrap()));
    let m = a.len() as f64;
    let var = b.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / m;
    let corr = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum::<f64>()
        / m;
    // 4096 values: sampling error of both ≈ 0.02
    assert!((var - 1.0).abs() < 0.1, "latent variance {var}");
    assert!(
        (corr - rho).abs() < 0.1,
        "lag-1 correlation {corr}, ρ = {rho}"
    );
    let dist = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
    let white = with(model.clone(), 0.0);
    let (e1, none) = white
        .draw_from(&flow, &grid, &w_hat, 1, &[0, 0], None)
        .unwrap();
    assert!(none.is_none(), "a white draw keeps no latent");
    let (e2, _) = white
        .draw_from(&flow, &grid, &w_hat, 1, &[0, 1], None)
        .unwrap();
    let (near, apart) = (dist(&d1[0], &d2[0]), dist(&e1[0], &e2[0]));
    assert!(near < 0.5 * apart, "correlated {near} vs white {apart}");
    // the FNO has no latent to correlate
    let det = with(shipped(LesKind::Deterministic, 64, &device).unwrap(), 1.0);
    assert!(
        det.draw_from(&flow, &grid, &w_hat, 1, &[0, 0], None)
            .is_err()
    );
}
