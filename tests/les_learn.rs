//! The learned subgrid closure's parts: the ν and fidelity labels reach the score
//! network (discrete and continuous fidelity), and the deterministic and mean + noise
//! competitors learn a tiny problem.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use closure_lab::closure::score::ScoreNetConfig;
use closure_lab::les::learn::regressor::{RegressorConfig, gaussian_nll, mean_and_std, mse};
use closure_lab::les::learn::{FidelityCode, Labels};
use rand::SeedableRng;
use rand_distr::Distribution as _;

fn labels(l: Labels, rows: &[(f64, usize)], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = rows
        .iter()
        .flat_map(|&(nu, n)| l.vector(nu, n).unwrap())
        .collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), l.width()]), device)
}

#[test]
fn nu_and_fidelity_labels_reach_the_score_network() {
    let device = Device::flex();
    let n = 16;
    for code in [FidelityCode::Discrete, FidelityCode::Continuous] {
        let l = Labels { fidelity: code };
        let cfg = ScoreNetConfig::new()
            .with_width(6)
            .with_modes(3)
            .with_conditions(Some(l.width()));
        let net = cfg.init(&device);
        let basis = net.basis(n, &device);
        let x = Tensor::<4>::random([1, n, n, 1], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random([1, n, n, 1], Distribution::Normal(0.0, 1.0), &device);
        let o = Tensor::<4>::zeros([1, n, n, 1], &device);
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.2f32], [1]), &device);
        let score = |nu: f64, dns: usize| {
            let s = net.forward(
                x.clone(),
                t.clone(),
                w.clone(),
                o.clone(),
                Some(labels(l, &[(nu, dns)], &device)),
                &basis,
            );
            s.try_into_vec_as::<f32>().unwrap()
        };
        let base = score(2e-4, 128);
        let diff = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max)
        };
        assert!(
            diff(&base, &score(4e-4, 128)) > 1e-6,
            "{code}: ν is not wired"
        );
        assert!(
            diff(&base, &score(2e-4, 256)) > 1e-6,
            "{code}: fidelity is not wired"
        );
        assert_eq!(diff(&base, &score(2e-4, 128)), 0.0, "{code}: deterministic");
    }
    let discrete = Labels {
        fidelity: FidelityCode::Discrete,
    };
    assert!(discrete.vector(2e-4, 200).unwrap_err().contains("200"));
    let continuous = Labels {
        fidelity: FidelityCode::Continuous,
    };
    // a grid between the trained ones is an interpolation, not an error
    assert_eq!(
        continuous.vector(3e-4, 384).unwrap(),
        vec![0.0, 64.0 / 384.0]
    );
    assert!(continuous.vector(-1.0, 128).is_err());
}

/// Both competitors fit a tiny deterministic map ω̄ ↦ Π (a smoothed square of ω̄ whose
/// size depends on ν), with a label input: the loss falls tenfold; the mean + noise head
/// learns a small standard deviation where the target is exactly predictable.
/// Redraws every weight uniformly within the bound its initialiser drew it from (the
/// largest |value|; zero-initialised biases stay zero), from the test's own generator.
struct Redraw<'a>(&'a mut rand_chacha::ChaCha8Rng);
impl burn::module::ModuleMapper for Redraw<'_> {
    fn map_float<const D: usize>(
        &mut self,
        p: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        use rand::Rng;
        p.map(|t| {
            let grad = t.is_require_grad();
            let shape = t.shape();
            let bound = t.clone().abs().max().into_scalar::<f32>();
            let v: Vec<f32> = (0..shape.num_elements())
                .map(|_| bound * self.0.random_range(-1.0f32..=1.0))
                .collect();
            Tensor::<D>::from_data(TensorData::new(v, shape), &t.device()).set_require_grad(grad)
        })
    }
}

#[test]
fn deterministic_and_mean_noise_competitors_learn_a_tiny_problem() {
    // alone in its process: the part of the initial weights drawn from burn's one
    // process-wide stream must not be moved by other tests' draws
    crate::support::in_own_process(
        "les_learn::deterministic_and_mean_noise_competitors_learn_a_tiny_problem",
        || {
            // parameters the redraw below does not reach are initialised from burn's shared
            // stream: seed it, and keep other tests from drawing from it meanwhile
            let _g = crate::global_rng();
            let device = Device::flex().autodiff();
            device.seed(7);
            // a fixed draw of data and initial weights from a generator of the test's own (burn's
            // is shared by every test running at the time): the test judges learning, not luck
            // (seed 7; of seeds 0–15 one, 11, leaves the mean + noise head at std 0.59 after 300
            // steps, and 600 steps let its NLL diverge for others: it learns, not robustly)
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let n = 16;
            let l = Labels {
                fidelity: FidelityCode::Discrete,
            };
            let rows = [(2e-4, 128), (4e-4, 256), (3e-4, 128), (2e-4, 256)];
            let lab = labels(l, &rows, &device);
            let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
            let draws: Vec<f32> = (0..4 * n * n).map(|_| normal.sample(&mut rng)).collect();
            let omega = Tensor::<4>::from_data(TensorData::new(draws, [4, n, n, 1]), &device);
            let nu_scale: Vec<f32> = rows.iter().map(|r| (r.0 / 2e-4) as f32).collect();
            let scale = Tensor::<1>::from_data(TensorData::new(nu_scale, [4]), &device)
                .reshape([4, 1, 1, 1]);
            let target = (omega.clone().powi_scalar(2).mul_scalar(0.5) - 0.5) * scale;
            for noise in [false, true] {
                let cfg = RegressorConfig::new(l.width())
                    .with_width(8)
                    .with_modes(4)
                    .with_layers(2)
                    .with_noise(noise);
                let mut net = cfg.init(&device).map(&mut Redraw(&mut rng));
                let basis = net.basis(n, &device);
                let mut optim = AdamConfig::new().init();
                let loss_of = |net: &closure_lab::les::learn::regressor::Regressor| {
                    let out = net.forward(omega.clone(), Some(lab.clone()), &basis);
                    if noise {
                        gaussian_nll(out, target.clone())
                    } else {
                        mse(out, target.clone())
                    }
                };
                let first = loss_of(&net).into_scalar::<f32>();
                let mut last = first;
                for _ in 0..300 {
                    let loss = loss_of(&net);
                    last = loss.clone().into_scalar::<f32>();
                    let grads = GradientsParams::from_grads(loss.backward(), &net);
                    net = optim.step(3e-3, net, grads);
                }
                let err = mse(
                    mean_and_std(net.forward(omega.clone(), Some(lab.clone()), &basis)).0,
                    target.clone(),
                )
                .into_scalar::<f32>();
                let var = mse(target.clone(), target.clone().mean().reshape([1, 1, 1, 1]))
                    .into_scalar::<f32>();
                if noise {
                    let (_, std) =
                        mean_and_std(net.forward(omega.clone(), Some(lab.clone()), &basis));
                    let s = std.mean().into_scalar::<f32>();
                    assert!(s < 0.5, "mean + noise: std {s} after fitting");
                    assert!(last < first - 1.0, "NLL {first} → {last}");
                } else {
                    assert!(last < first / 10.0, "MSE {first} → {last}");
                }
                assert!(
                    err < 0.2 * var,
                    "noise={noise}: mean error {err} vs target variance {var}"
                );
            }
        },
    );
}

/// `data --case les` at two viscosities (short records), then `les-train` of each kind
/// for one epoch, a resume with another seed refused, and `les-apriori` scoring the
/// three learned closures beside the eddy-viscosity ones: the whole command-line path.
#[test]
fn les_train_and_apriori_run_end_to_end_from_the_command_line() {
    use std::process::Command;
    let bin = || Command::new(env!("CARGO_BIN_EXE_closure-lab"));
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let run = |args: &[&str]| {
        let o = bin().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            err,
        )
    };
    for nu in ["2e-4", "4e-4"] {
        let (ok, _, err) = run(&[
            "data",
            "--case",
            "les",
            "--dns-n",
            "128",
            "--nu",
            nu,
            "--trajectories",
            "2",
            "--t-start",
            "0.2",
            "--t-end",
            "0.3",
            "--every",
            "0.05",
            "--out",
            &p(&format!("les_{nu}.h5")),
        ]);
        assert!(ok, "data: {err}");
    }
    let data = format!("{},{}", p("les_2e-4.h5"), p("les_4e-4.h5"));
    for kind in ["stochastic", "deterministic", "mean-noise"] {
        let (ok, out, err) = run(&[
            "les-train",
            "--data",
            &data,
            "--kind",
            kind,
            "--epochs",
            "1",
            "--batch",
            "2",
            "--run",
            &p(&format!("run_{kind}")),
            "--out",
            &p(&format!("{kind}.bpk")),
        ]);
        assert!(ok, "les-train {kind}: {err}");
        assert!(out.contains(kind) && out.contains("held-out loss"), "{out}");
        let card: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p(&format!("{kind}.json"))).unwrap()).unwrap();
        assert_eq!(card["kind"], kind);
        assert_eq!(card["training"]["files"].as_array().unwrap().len(), 2);
    }
    // a stochastic model of the residual around the deterministic one: saved with its
    // mean beside it, loaded and sampled as one closure
    let (ok, out, err) = run(&[
        "les-train",
        "--data",
        &data,
        "--kind",
        "stochastic",
        "--mean",
        &p("deterministic.bpk"),
        "--epochs",
        "1",
        "--batch",
        "2",
        "--run",
        &p("run_residual"),
        "--out",
        &p("residual.bpk"),
    ]);
    assert!(ok, "les-train --mean: {err}");
    assert!(out.contains("stochastic"), "{out}");
    assert!(dir.path().join("residual.mean.bpk").exists());
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("residual.json")).unwrap()).unwrap();
    assert_eq!(card["residual"], true);
    let (ok, _, err) = run(&[
        "les-train",
        "--data",
        &data,
        "--kind",
        "stochastic",
        "--mean",
        &p("residual.bpk"),
        "--run",
        &p("run_bad_mean"),
        "--out",
        &p("bad.bpk"),
    ]);
    assert!(
        !ok && err.contains("--mean takes a deterministic model"),
        "{err}"
    );
    // more epochs resume the same job from its checkpoint
    let (ok, out, err) = run(&[
        "les-train",
        "--data",
        &data,
        "--kind",
        "deterministic",
        "--epochs",
        "2",
        "--batch",
        "2",
        "--run",
        &p("run_deterministic"),
        "--out",
        &p("deterministic.bpk"),
    ]);
    assert!(ok, "resume: {err}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("deterministic.json")).unwrap()).unwrap();
    assert_eq!(card["training"]["epochs"], 2, "{out}");
    assert_eq!(card["training"]["val_loss"].as_array().unwrap().len(), 2);
    // the same run folder with another seed is a different job
    let (ok, _, err) = run(&[
        "les-train",
        "--data",
        &data,
        "--kind",
        "stochastic",
        "--epochs",
        "2",
        "--seed",
        "5",
        "--batch",
        "2",
        "--run",
        &p("run_stochastic"),
        "--out",
        &p("other.bpk"),
    ]);
    assert!(
        !ok && err.contains("seed") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!dir.path().join("other.bpk").exists());
    // per-file limits: one value per data file
    let (ok, _, err) = run(&[
        "les-train",
        "--data",
        &data,
        "--per-file",
        "1,1,1",
        "--run",
        &p("r3"),
        "--out",
        &p("x.bpk"),
    ]);
    assert!(
        !ok && err.contains("--per-file takes one value or one per data file"),
        "{err}"
    );
    let models = format!(
        "{},{},{},{}",
        p("stochastic.bpk"),
        p("deterministic.bpk"),
        p("mean-noise.bpk"),
        p("residual.bpk")
    );
    let (ok, out, err) = run(&[
        "les-apriori",
        "--model",
        &models,
        "--data",
        &p("les_4e-4.h5"),
        "--last",
        "1",
        "--stride",
        "2",
        "--ensemble",
        "4",
        "--json",
        &p("apriori.json"),
    ]);
    assert!(ok, "les-apriori: {err}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(p("apriori.json")).unwrap()).unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["closure"].as_str().unwrap())
        .collect();
    for want in [
        "none",
        "smagorinsky",
        "dynamic-smagorinsky",
        "learned-stochastic",
        "learned-deterministic",
        "mean-noise",
    ] {
        assert!(names.contains(&want), "{want} missing: {out}");
    }
    // the residual model is a stochastic one too: rows tell models apart by file stem
    let stems: Vec<&str> = rows.iter().filter_map(|r| r["model"].as_str()).collect();
    assert_eq!(
        stems,
        ["stochastic", "deterministic", "mean-noise", "residual"],
        "{out}"
    );
    for r in &rows {
        // the held-out trajectory's 3 snapshots, every 2nd: 2 states
        assert_eq!(r["states"], 2, "{r}");
        assert!(r["crps"].as_f64().unwrap().is_finite(), "{r}");
        let stochastic = r["ensemble"].as_u64().unwrap() > 1;
        assert_eq!(r["spread_skill"].is_null(), !stochastic, "{r}");
        assert_eq!(r["spectrum_worst"].is_null(), !stochastic, "{r}");
    }
    // a spread inflation fitted on both viscosities: one table, or with --per-nu one per ν
    for ext in ["bpk", "json"] {
        std::fs::copy(p(&format!("stochastic.{ext}")), p(&format!("fit.{ext}"))).unwrap();
    }
    let fit = |extra: &[&str]| {
        let both = format!("{},{}", p("les_2e-4.h5"), p("les_4e-4.h5"));
        let mut args = vec![
            "les-apriori",
            "--model",
            "",
            "--data",
            &both,
            "--stride",
            "2",
            "--ensemble",
            "4",
            "--sampler",
            "em-karras4",
            "--fit-inflation",
        ];
        let model = p("fit.bpk");
        args[2] = &model;
        args.extend_from_slice(extra);
        let (ok, out, err) = run(&args);
        assert!(ok, "les-apriori --fit-inflation {extra:?}: {err}");
        let card: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p("fit.json")).unwrap()).unwrap();
        let tables: Vec<(u64, Option<f64>)> = card["inflation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["steps"].as_u64().unwrap(), t["nu"].as_f64()))
            .collect();
        (out, tables)
    };
    let (out, tables) = fit(&[]);
    assert!(out.contains("(1 table)"), "{out}");
    assert_eq!(tables, [(4, None)]);
    let (out, tables) = fit(&["--per-nu"]);
    assert!(out.contains("2 tables, one per ν"), "{out}");
    assert_eq!(
        tables,
        [(4, Some(2e-4)), (4, Some(4e-4))],
        "the pooled one replaced"
    );
    closure_lab::les::learn::model::LesModel::load(
        std::path::Path::new(&p("fit.bpk")),
        &burn::tensor::Device::flex(),
    )
    .expect("a card with per-ν tables loads");
    let (ok, _, err) = run(&[
        "les-apriori",
        "--model",
        &p("fit.bpk"),
        "--data",
        &p("les_4e-4.h5"),
        "--per-nu",
    ]);
    assert!(!ok && err.contains("--fit-inflation"), "{err}");
    // the learned closure inside LES runs beside the classical ones (a-posteriori)
    let (ok, out, err) = run(&[
        "les-eval",
        "--nu",
        "4e-4",
        "--dns-n",
        "128",
        "--spin-up",
        "0.2",
        "--t-run",
        "0.6",
        "--model",
        &p("stochastic.bpk"),
        "--resample-every",
        "1,10",
        "--json",
        &p("post.json"),
    ]);
    assert!(ok, "les-eval --model: {err}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(p("post.json")).unwrap()).unwrap();
    let learned = rows
        .iter()
        .find(|r| r["closure"] == "learned-stochastic" && r["model"] == "stochastic")
        .unwrap_or_else(|| panic!("no learned row: {out}"));
    assert_eq!(learned["blowups"], 0, "{learned}");
    assert!(learned["energy"].as_f64().unwrap().is_finite(), "{learned}");
    assert!(learned["cc"].as_f64().unwrap().is_finite(), "{learned}");
    // the same model with its draws held for 10 steps, a row of its own
    let held = rows
        .iter()
        .find(|r| r["closure"] == "learned-stochastic+held10")
        .unwrap_or_else(|| panic!("no held row: {out}"));
    assert_ne!(
        held["spectral_rmse_e"], learned["spectral_rmse_e"],
        "{held}"
    );
    // every closure has its a-priori CRPS; only the ensemble one a spread/skill
    for r in &rows {
        assert!(r["crps"].as_f64().is_some_and(f64::is_finite), "{r}");
        assert_eq!(r["spread_skill"].is_number(), r["model"].is_string(), "{r}");
    }
    // ensemble forecasts: identical members at lead 0, then the stochastic closure
    // spreads them and the deterministic one cannot
    for (kind, spreads) in [("stochastic", true), ("deterministic", false)] {
        let json = p(&format!("forecast_{kind}.json"));
        let (ok, out, err) = run(&[
            "les-forecast",
            "--model",
            &p(&format!("{kind}.bpk")),
            "--nu",
            "4e-4",
            "--dns-n",
            "128",
            "--spin-up",
            "0.2",
            "--starts",
            "2",
            "--gap",
            "0.05",
            "--members",
            "3",
            "--lead",
            "0.1",
            "--every",
            "0.05",
            "--json",
            &json,
        ]);
        assert!(ok, "les-forecast {kind}: {err}");
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(rows.len(), 3, "{out}");
        for key in ["error", "spread"] {
            assert!(rows[0][key].as_f64().unwrap() < 1e-6, "lead 0 {key}: {out}");
        }
        for r in &rows[1..] {
            assert_eq!(r["starts"], 2, "{r}");
            assert!(r["error"].as_f64().unwrap() > 1e-3, "{r}");
            assert_eq!(r["spread"].as_f64().unwrap() > 1e-3, spreads, "{kind}: {r}");
        }
    }
    let (ok, _, err) = run(&[
        "les-forecast",
        "--model",
        &p("stochastic.bpk"),
        "--members",
        "1",
    ]);
    assert!(
        !ok && err.contains("members") && err.trim().lines().count() == 1,
        "{err}"
    );
    // the a-priori rows go into the model's card on request
    let (ok, _, err) = run(&[
        "les-apriori",
        "--model",
        &p("deterministic.bpk"),
        "--data",
        &p("les_4e-4.h5"),
        "--ensemble",
        "2",
        "--write-cards",
    ]);
    assert!(ok, "les-apriori --write-cards: {err}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("deterministic.json")).unwrap()).unwrap();
    let closures: Vec<&str> = card["eval"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["closure"].as_str().unwrap())
        .collect();
    assert_eq!(
        closures,
        [
            "none",
            "smagorinsky",
            "dynamic-smagorinsky",
            "leith",
            "learned-deterministic"
        ]
    );
    let (ok, _, err) = run(&["les-apriori", "--data", &p("les_4e-4.h5"), "--write-cards"]);
    assert!(!ok && err.contains("--write-cards"), "{err}");
}
