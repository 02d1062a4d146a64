//! The distilled flow generator (closure::flow): the few-step integrator against a
//! Gaussian coupling with a known end point, reflow training on a Gaussian problem, and
//! a model with a flow generator saved, loaded and sampled bit-identically.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use closure_lab::closure::card::TrainingInfo;
use closure_lab::closure::eval::SamplerSetting;
use closure_lab::closure::flow::{FlowPart, flow_weights_path, integrate, reflow_loss};
use closure_lab::closure::layers::{Activation, TimeEmbeddingConfig};
use closure_lab::closure::model::{ClosureError, ClosureModel};
use closure_lab::closure::sampler::{Sampler, time_tensor};
use closure_lab::closure::score::ScoreNetConfig;
use closure_lab::closure::sensors::Sensors;
use closure_lab::solver::{GrfParams, Grid, grf};
use rand::SeedableRng;
use rand_distr::{Distribution as _, StandardNormal};

fn normal(rng: &mut rand_chacha::ChaCha8Rng, shape: [usize; 4], dev: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..shape.iter().product())
        .map(|_| StandardNormal.sample(rng))
        .collect();
    Tensor::<4>::from_data(TensorData::new(v, shape), dev)
}

fn mean_var(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var)
}

/// For the coupling x₁ = μ + s·z the point of the straight path at t is
/// x_t = tμ + (1 − t + ts)·z, so the exact end point is D(x_t, t) = μ + s·(x_t − tμ)/(1 − t + ts).
/// One and two Euler steps of [`integrate`] must land on x₁ to round-off.
#[test]
fn flow_steps_land_on_the_end_point_of_a_known_gaussian_coupling() {
    let dev = Device::flex();
    let (mu, s) = (0.7f64, 2.5f64);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let z = normal(&mut rng, [4, 8, 8, 1], &dev);
    let want: Vec<f32> = z
        .clone()
        .try_into_vec_as::<f32>()
        .unwrap()
        .iter()
        .map(|&z| (mu + s * z as f64) as f32)
        .collect();
    for steps in [1, 2] {
        let mut calls = Vec::new();
        let mut end = |x: Tensor<4>, t: f64| {
            calls.push(t);
            let zt = (x - t * mu) / (1.0 - t + t * s);
            zt * s + mu
        };
        let got = integrate(&mut end, z.clone(), steps)
            .try_into_vec_as::<f32>()
            .unwrap();
        let expected_times: Vec<f64> = (0..steps).map(|i| i as f64 / steps as f64).collect();
        assert_eq!(calls, expected_times, "{steps} steps evaluate at 0, 1/k, …");
        let err = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-5, "{steps} steps: max error {err}");
    }
}

/// Reflow training on the coupling x₁ = μ + s·z (no dependence on the conditioning):
/// after training, one-step draws from fresh noise have the target's mean and variance
/// within a few sampling standard errors plus the fit's small error.
#[test]
fn reflow_training_learns_a_one_step_gaussian_generator() {
    let dev = Device::flex().autodiff();
    let plain = Device::flex();
    let (mu, s) = (0.5f64, 2.0f64);
    let n = 8;
    let cfg = ScoreNetConfig::new()
        .with_width(8)
        .with_modes(2)
        .with_layers(1)
        .with_head(vec![16])
        .with_projection(32)
        .with_activation(Some(Activation::Gelu))
        .with_time(TimeEmbeddingConfig::new().with_embed(16).with_scale(1.0));
    let _g = crate::global_rng();
    dev.seed(11);
    let mut net = cfg.init(&dev);
    let mut optim = AdamConfig::new().init();
    let basis = net.basis(n, &dev);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let b = 16;
    let zeros = Tensor::<4>::zeros([b, n, n, 1], &dev);
    let mut last = f64::NAN;
    for it in 0..600 {
        let z = normal(&mut rng, [b, n, n, 1], &dev);
        let x1 = z.clone() * s + mu;
        let t: Vec<f32> = (0..b)
            .map(|k| if (k + it) % 4 == 0 { 0.5 } else { 0.0 })
            .collect();
        let cond = net.condition(zeros.clone(), zeros.clone(), None, &basis);
        let loss = reflow_loss(&net, z, x1, &t, &cond, &basis);
        last = loss.clone().into_scalar::<f32>() as f64 / (n * n) as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let lr = if it < 400 { 1e-2 } else { 2e-3 };
        net = optim.step(lr, net, grads);
    }
    // the per-pixel squared error of the end point, relative to the target variance s²
    assert!(last < 0.02 * s * s, "training loss per pixel {last}");
    let net = net.valid();
    let basis = net.basis(n, &plain);
    let m = 256;
    let zeros = Tensor::<4>::zeros([1, n, n, 1], &plain);
    let cond = net.condition(zeros.clone(), zeros, None, &basis);
    let z = normal(&mut rng, [m, n, n, 1], &plain);
    for steps in [1, 2] {
        let mut end = |x: Tensor<4>, t: f64| net.raw(x, time_tensor(t, m, &plain), &cond, &basis);
        let v = integrate(&mut end, z.clone(), steps)
            .try_into_vec_as::<f32>()
            .unwrap();
        let (mean, var) = mean_var(&v);
        // sampling errors of 16 384 draws: mean ±0.016, variance ±0.044 (1σ)
        assert!(
            (mean - mu).abs() < 0.08,
            "{steps} steps: mean {mean} vs {mu}"
        );
        assert!(
            (var / (s * s) - 1.0).abs() < 0.08,
            "{steps} steps: variance {var} vs {}",
            s * s
        );
    }
}

/// The embedded G model with a flow generator of its architecture (random weights):
/// saved and loaded twice, both copies draw the same bits for the same seed; the flow
/// sampler draws something else than EM; a card naming a flow whose weights file is
/// missing, and a flow sampler on a model without one, fail with a clear error.
#[test]
fn a_model_with_a_flow_generator_round_trips_and_samples_bit_identically() {
    crate::support::in_own_process(
        "flow::a_model_with_a_flow_generator_round_trips_and_samples_bit_identically",
        || {
            // weight initialisation draws from burn's process-wide stream too
            let _g = crate::global_rng();
            let dev = Device::flex();
            // the shipped card without its flow part: a score model only
            let base = {
                let mut card: serde_json::Value =
                    serde_json::from_slice(closure_lab::closure::model::EMBEDDED_G.0).unwrap();
                card.as_object_mut().unwrap().remove("flow");
                let card = serde_json::to_vec(&card).unwrap();
                ClosureModel::from_bytes(&card, closure_lab::closure::model::EMBEDDED_G.1, &dev)
                    .unwrap()
            };
            assert!(!base.has_flow());
            let part = FlowPart {
                net: base.card.part.net.clone().with_sigma_data(0.0),
                teacher: "test".into(),
                training: TrainingInfo::default(),
            };
            let flow_net = part.net.init(&dev);
            let model = base.clone().with_flow(part, flow_net);
            let dir = tempfile::tempdir().unwrap();
            let (p1, p2) = (dir.path().join("a.bpk"), dir.path().join("b.bpk"));
            model.save(&p1).unwrap();
            assert!(
                flow_weights_path(&p1).exists(),
                "the flow weights are written beside"
            );
            let mut a = ClosureModel::load(&p1, &burn::tensor::Device::flex()).unwrap();
            a.save(&p2).unwrap();
            let mut b = ClosureModel::load(&p2, &burn::tensor::Device::flex()).unwrap();
            assert!(a.has_flow() && b.has_flow());
            let grid = Grid::new(64).unwrap();
            let omega = grf::grf(&grid, GrfParams::default(), 4);
            let sensors = Sensors::new(16, 64).unwrap();
            let readings = vec![0.01; 256];
            let flow1 = SamplerSetting::parse("flow-1").unwrap();
            assert_eq!(flow1.sampler, Sampler::Flow);
            assert_eq!(flow1.sampler.nfe(flow1.schedule.steps()), 1);
            let draw = |m: &mut ClosureModel, s: &SamplerSetting| {
                dev.seed(42);
                m.sample(
                    &closure_lab::closure::model::Observed {
                        grid: &grid,
                        omega: &omega,
                        readings: &readings,
                        sensors: &sensors,
                    },
                    3,
                    s.sampler,
                    &s.schedule,
                )
                .unwrap()
            };
            let (da, db) = (draw(&mut a, &flow1), draw(&mut b, &flow1));
            assert_eq!(da, db, "same seed, same bits");
            assert!(da.iter().flatten().all(|v| v.is_finite()));
            assert_ne!(da[0], da[1], "members differ");
            let em = SamplerSetting::parse("em-karras10").unwrap();
            assert_ne!(draw(&mut a, &em), da, "the flow draws with its own network");
            // the card names a flow whose weights are gone
            std::fs::remove_file(flow_weights_path(&p2)).unwrap();
            let err = ClosureModel::load(&p2, &burn::tensor::Device::flex())
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("b.flow.bpk"), "{err}");
            // a flow sampler on a model without one
            let plain = base;
            let err = plain
                .sample(
                    &closure_lab::closure::model::Observed {
                        grid: &grid,
                        omega: &omega,
                        readings: &readings,
                        sensors: &sensors,
                    },
                    2,
                    Sampler::Flow,
                    &flow1.schedule,
                )
                .err()
                .unwrap();
            assert!(matches!(err, ClosureError::Input(_)), "{err}");
            assert!(err.to_string().contains("no flow generator"), "{err}");
            for bad in ["flow-0", "flow-3", "flow-karras1", "flow"] {
                assert!(SamplerSetting::parse(bad).is_err(), "{bad} accepted");
            }
        },
    );
}

/// The subgrid score model with a flow generator of its architecture: saved, loaded and
/// saved again, both copies draw the same bits for the same seed; without one, a flow
/// draw is a clear error.
#[test]
fn a_subgrid_model_with_a_flow_generator_round_trips() {
    crate::support::in_own_process(
        "flow::a_subgrid_model_with_a_flow_generator_round_trips",
        || {
            use closure_lab::les::learn::model::LesModel;
            use closure_lab::les::learn::shipped::EMBEDDED;
            // weight initialisation draws from burn's process-wide stream too
            let _g = crate::global_rng();
            let dev = Device::flex();
            // the shipped stochastic model without its flow generator
            let base = {
                let mut card: serde_json::Value = serde_json::from_slice(EMBEDDED[0].card).unwrap();
                card.as_object_mut().unwrap().remove("flow");
                let card = serde_json::to_vec(&card).unwrap();
                LesModel::from_bytes(&card, EMBEDDED[0].weights, &dev).unwrap()
            };
            assert!(!base.has_flow() && EMBEDDED[0].load(&dev).unwrap().has_flow());
            let cfg = base.card.part.score.clone().unwrap().with_sigma_data(0.0);
            let part = FlowPart {
                net: cfg.clone(),
                teacher: "test".into(),
                training: TrainingInfo::default(),
            };
            let model = base.clone().with_flow(part, cfg.init(&dev));
            let dir = tempfile::tempdir().unwrap();
            let (p1, p2) = (dir.path().join("a.bpk"), dir.path().join("b.bpk"));
            model.save(&p1).unwrap();
            let a = LesModel::load(&p1, &dev).unwrap();
            a.save(&p2).unwrap();
            let b = LesModel::load(&p2, &dev).unwrap();
            assert!(a.has_flow() && b.has_flow());
            let grid = Grid::new(64).unwrap();
            let w: Vec<f64> = (0..64 * 64)
                .map(|i| 20.0 * (std::f64::consts::TAU * 4.0 * (i / 64) as f64 / 64.0).cos())
                .collect();
            let flow1 = SamplerSetting::parse("flow-1").unwrap();
            let query = closure_lab::les::learn::Draw {
                grid: &grid,
                omega_bar: &w,
                nu: 3e-4,
                dns_n: 256,
            };
            let draw = |m: &LesModel| {
                dev.seed(9);
                m.sample(&query, 2, flow1.sampler, &flow1.schedule).unwrap()
            };
            let (da, db) = (draw(&a), draw(&b));
            assert_eq!(da, db, "same seed, same bits");
            assert!(da.iter().flatten().all(|v| v.is_finite()));
            let err = base
                .sample(&query, 2, flow1.sampler, &flow1.schedule)
                .err()
                .unwrap();
            assert!(err.to_string().contains("no flow generator"), "{err}");
        },
    );
}

/// A student smaller than its teacher (`distill --student-width W --student-layers L`):
/// trained from random weights into its own shape — every pipeline L Fourier layers of
/// W channels, a one-layer head and projection of W — written beside the teacher, whose
/// network is unchanged; the model loads and draws with it. A shape out of range, half a
/// shape, or a resumed run asked for another shape is refused in one line.
#[test]
fn a_smaller_student_is_distilled_into_its_own_shape() {
    use crate::support::{bin, made, published};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    published(d, "p.h5", 3, 32, 32);
    let tiny = crate::support::tiny_net("2");
    let teach = [
        "train", "--data", "p.h5", "--run", "tr", "--out", "t.bpk", "--epochs", "1",
    ];
    made(d, &[&teach[..], &tiny[..]].concat());
    let distill = |run: &str, shape: &[&str]| {
        let mut a = vec![
            "distill",
            "--teacher",
            "t.bpk",
            "--data",
            "p.h5",
            "--run",
            run,
            "--out",
            "s.bpk",
            "--grid",
            "32",
            "--epochs",
            "1",
            "--batch",
            "4",
            "--draws",
            "1",
            "--teacher-sampler",
            "heun-karras2",
        ];
        a.extend_from_slice(shape);
        bin().args(&a).current_dir(d).output().unwrap()
    };
    let o = distill("r", &["--student-width", "4", "--student-layers", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    let (net, flow) = (&card["net"], &card["flow"]["net"]);
    assert_eq!(
        (net["width"].as_u64(), net["layers"].as_u64()),
        (Some(8), Some(2))
    );
    assert_eq!(flow["width"].as_u64(), Some(4));
    assert_eq!(flow["layers"].as_u64(), Some(1));
    assert_eq!(flow["x_layers"].as_u64(), Some(1));
    assert_eq!(flow["projection"].as_u64(), Some(4));
    assert_eq!(flow["head"], serde_json::json!([4]));
    assert_eq!(
        flow["modes"], net["modes"],
        "the student keeps the teacher's modes"
    );
    let student = std::fs::metadata(d.join("s.flow.bpk")).unwrap().len();
    let teacher = std::fs::metadata(d.join("s.bpk")).unwrap().len();
    assert!(
        student < teacher,
        "student {student} B, teacher {teacher} B"
    );
    let m = ClosureModel::load(&d.join("s.bpk"), &burn::tensor::Device::flex()).unwrap();
    let grid = Grid::new(32).unwrap();
    let omega = grf::grf(&grid, GrfParams::default(), 4);
    let sensors = Sensors::new(m.card.part.inputs.sensors, 32).unwrap();
    let readings = vec![0.01; sensors.s * sensors.s];
    let flow1 = SamplerSetting::parse("flow-1").unwrap();
    let draws = m
        .sample(
            &closure_lab::closure::model::Observed {
                grid: &grid,
                omega: &omega,
                readings: &readings,
                sensors: &sensors,
            },
            2,
            flow1.sampler,
            &flow1.schedule,
        )
        .unwrap();
    assert!(draws.iter().flatten().all(|v| v.is_finite()));
    assert_ne!(draws[0], draws[1], "members differ");
    for (run, shape, says) in [
        (
            "r2",
            &["--student-width", "2", "--student-layers", "1"][..],
            "width must be 4…64",
        ),
        (
            "r3",
            &["--student-width", "4", "--student-layers", "9"][..],
            "layers 1…8",
        ),
        ("r4", &["--student-width", "4"][..], "--student-layers"),
        (
            "r",
            &["--student-width", "6", "--student-layers", "1"][..],
            "different job",
        ),
    ] {
        let o = distill(run, shape);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{shape:?} accepted");
        assert!(err.contains(says), "{shape:?}: {err}");
    }
    // a new generator replaces the old one's inflation tables and rows, not the others'
    let dev = Device::flex();
    let shipped = ClosureModel::embedded(&dev).unwrap();
    let is_flow = |s: &str| s.starts_with("flow");
    let count = |m: &ClosureModel| {
        let tables = |flow: bool| {
            let c = &m.card.inflation;
            c.iter()
                .filter(|f| (f.sampler == Sampler::Flow) == flow)
                .count()
        };
        let rows = |flow: bool| {
            m.card
                .eval
                .iter()
                .filter(|r| is_flow(&r.sampler) == flow)
                .count()
        };
        (tables(true), tables(false), rows(true), rows(false))
    };
    let before = count(&shipped);
    assert!(
        before.0 > 0 && before.1 > 0 && before.2 > 0 && before.3 > 0,
        "{before:?}"
    );
    use closure_lab::closure::distill::StudentShape;
    let shape = StudentShape {
        width: 16,
        layers: 1,
    };
    let part = FlowPart {
        net: StudentShape::network(Some(shape), &shipped.card.part.net),
        teacher: "test".into(),
        training: TrainingInfo::default(),
    };
    let net = part.net.init(&dev);
    let replaced = shipped.with_flow(part, net);
    assert_eq!(count(&replaced), (0, before.1, 0, before.3));
}

/// The about window's lines of every shipped model with a flow generator name that
/// generator's shape and teacher: the smaller G and H students (16 channels) and the
/// teacher-shaped subgrid ones (20).
#[test]
fn shipped_models_describe_their_flow_generator() {
    let dev = Device::flex();
    let mut seen = 0;
    for (shipped, m) in closure_lab::experiment::LearnedModel::shipped(&dev) {
        let label = shipped.label;
        let m = m.unwrap();
        if !m.has_flow() {
            continue;
        }
        seen += 1;
        let lines = m.card_lines();
        let flow = lines
            .iter()
            .find(|l| l.starts_with("one-step generator"))
            .unwrap_or_else(|| panic!("{label}: {lines:?}"));
        assert!(flow.contains("heun-karras6"), "{label}: {flow}");
        if m.published().is_some() {
            assert!(
                flow.contains("16 channels, ") && flow.contains("Fourier layer"),
                "{label}: {flow}"
            );
        } else {
            assert!(flow.contains("20 channels"), "{label}: {flow}");
        }
    }
    assert!(seen >= 5, "{seen} shipped models with a flow generator");
}

/// An ensemble's flow draw is split over two threads when the pool has them
/// (`closure::draw`); each member depends on its own latent only, so the split must
/// change no bit: the shipped G model's flow-1 and flow-2 ensembles (odd and even sizes,
/// 64² and 128²) drawn in a one-thread pool and a two-thread pool are identical.
#[test]
fn a_flow_ensemble_split_over_two_threads_draws_the_same_bits() {
    crate::support::in_own_process(
        "flow::a_flow_ensemble_split_over_two_threads_draws_the_same_bits",
        || {
            let _g = crate::global_rng();
            let dev = Device::flex();
            let model = ClosureModel::embedded(&dev).unwrap();
            for (n, members, setting) in [(64, 7, "flow-1"), (128, 4, "flow-2")] {
                let grid = Grid::new(n).unwrap();
                let omega = grf::grf(&grid, GrfParams::default(), 5);
                let sensors = Sensors::new(16, n).unwrap();
                let readings: Vec<f64> = (0..256).map(|i| 0.001 * (i % 17) as f64).collect();
                let s = SamplerSetting::parse(setting).unwrap();
                let draw = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| {
                        dev.seed(7);
                        model
                            .sample(
                                &closure_lab::closure::model::Observed {
                                    grid: &grid,
                                    omega: &omega,
                                    readings: &readings,
                                    sensors: &sensors,
                                },
                                members,
                                s.sampler,
                                &s.schedule,
                            )
                            .unwrap()
                    })
                };
                let (one, two) = (draw(1), draw(2));
                assert_eq!(one.len(), members);
                assert_ne!(one[0], one[members - 1], "members differ");
                assert_eq!(
                    one, two,
                    "{n}², {members} members, {setting}: same seed, same bits"
                );
            }
        },
    );
}
