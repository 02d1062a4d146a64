//! The learned subgrid closure's parts: the ν and fidelity labels reach the score
//! network (discrete and continuous fidelity), and the deterministic and mean + noise
//! competitors learn a tiny problem.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use closure_lab::closure::score::ScoreNetConfig;
use closure_lab::les::learn::regressor::{RegressorConfig, gaussian_nll, mean_and_std, mse};
use closure_lab::les::learn::{FidelityCode, Labels};

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
#[test]
fn deterministic_and_mean_noise_competitors_learn_a_tiny_problem() {
    let device = Device::flex().autodiff();
    let n = 16;
    let l = Labels {
        fidelity: FidelityCode::Discrete,
    };
    let rows = [(2e-4, 128), (4e-4, 256), (3e-4, 128), (2e-4, 256)];
    let lab = labels(l, &rows, &device);
    let omega = Tensor::<4>::random([4, n, n, 1], Distribution::Normal(0.0, 1.0), &device);
    let nu_scale: Vec<f32> = rows.iter().map(|r| (r.0 / 2e-4) as f32).collect();
    let scale =
        Tensor::<1>::from_data(TensorData::new(nu_scale, [4]), &device).reshape([4, 1, 1, 1]);
    let target = (omega.clone().powi_scalar(2).mul_scalar(0.5) - 0.5) * scale;
    for noise in [false, true] {
        let cfg = RegressorConfig::new(l.width())
            .with_width(8)
            .with_modes(4)
            .with_layers(2)
            .with_noise(noise);
        let mut net = cfg.init(&device);
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
        let var =
            mse(target.clone(), target.clone().mean().reshape([1, 1, 1, 1])).into_scalar::<f32>();
        if noise {
            let (_, std) = mean_and_std(net.forward(omega.clone(), Some(lab.clone()), &basis));
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
}
