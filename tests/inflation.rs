//! Spread inflation per sampler kind: a card holds one table for Euler–Maruyama and one
//! for Heun, sampling applies the table of the kind it runs (Heun falls back to the EM
//! table), and a card whose Heun table does not fit the network is refused by name.

use burn::prelude::*;
use closure_lab::closure::eval::SamplerSetting;
use closure_lab::closure::inflation::Inflation;
use closure_lab::closure::model::{ClosureModel, EMBEDDED_G};
use closure_lab::closure::sensors::{DENSITIES, Sensors};
use closure_lab::solver::Grid;

/// A table multiplying every shell's deviations by `c`.
fn uniform(c: f64) -> Inflation {
    Inflation {
        factor: vec![vec![c; 64]; DENSITIES.len()],
        fitted_on: format!("test: {c} everywhere"),
    }
}

/// RMS deviation of the members from their mean.
fn spread(members: &[Vec<f64>]) -> f64 {
    let m = members.len() as f64;
    let n = members[0].len();
    let mut sum = 0.0;
    for i in 0..n {
        let mean = members.iter().map(|v| v[i]).sum::<f64>() / m;
        sum += members.iter().map(|v| (v[i] - mean).powi(2)).sum::<f64>();
    }
    (sum / (m * n as f64)).sqrt()
}

#[test]
fn each_sampler_kind_samples_with_its_own_inflation_table() {
    let dev = Device::flex();
    let mut model = ClosureModel::embedded(&dev).unwrap();
    let n = 64;
    let grid = Grid::new(n).unwrap();
    let field = |a: f64, b: f64| -> Vec<f64> {
        (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f64, (i / n) as f64);
                (a * x * 0.1).sin() + (b * y * 0.1).cos()
            })
            .collect()
    };
    let (omega, truth) = (field(1.0, 2.0), field(3.0, 1.0));
    let sensors = Sensors::new(8, n).unwrap();
    let readings = sensors.read(&truth);
    let (em, heun) = (
        SamplerSetting::parse("em-karras10").unwrap(),
        SamplerSetting::parse("heun-karras3").unwrap(),
    );
    // mean spread of three draws of eight members
    let draw = |model: &mut ClosureModel, set: &SamplerSetting| {
        (0..3)
            .map(|_| {
                let m = model
                    .sample(
                        &grid,
                        &omega,
                        &readings,
                        &sensors,
                        8,
                        set.sampler,
                        &set.schedule,
                    )
                    .unwrap();
                spread(&m)
            })
            .sum::<f64>()
            / 3.0
    };
    model.card.inflation = None;
    model.card.inflation_heun = None;
    let (em0, heun0) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(em0 > 0.0 && heun0 > 0.0);
    let near = |got: f64, want: f64| (got / want - 1.0).abs() < 0.25;
    // a Heun table acts on Heun only
    model.card.inflation_heun = Some(uniform(2.0));
    let (em1, heun1) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(near(heun1, 2.0 * heun0), "Heun: {heun1} vs raw {heun0}");
    assert!(near(em1, em0), "EM moved by the Heun table: {em1} vs {em0}");
    // an EM table acts on EM, and on Heun only where Heun has none
    model.card.inflation = Some(uniform(2.0));
    model.card.inflation_heun = Some(uniform(1.0));
    let (em2, heun2) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(near(em2, 2.0 * em0), "EM: {em2} vs raw {em0}");
    assert!(
        near(heun2, heun0),
        "Heun with its own table of ones: {heun2}"
    );
    model.card.inflation_heun = None;
    let heun3 = draw(&mut model, &heun);
    assert!(
        near(heun3, 2.0 * heun0),
        "Heun falls back to EM's table: {heun3}"
    );
}

#[test]
fn a_heun_table_that_does_not_fit_the_network_is_refused_by_name() {
    let dev = Device::flex();
    let (card, weights) = EMBEDDED_G;
    let mut json: serde_json::Value = serde_json::from_slice(card).unwrap();
    json["inflation_heun"] = serde_json::json!({ "factor": [[1.0, 1.0]], "fitted_on": "" });
    let bad = serde_json::to_vec(&json).unwrap();
    let err = ClosureModel::from_bytes(&bad, weights, &dev).err().unwrap();
    assert!(err.to_string().contains("inflation_heun"), "{err}");
    // a factor out of bounds too
    let mut wild = uniform(1.0);
    wild.factor[2][5] = 100.0;
    json["inflation_heun"] = serde_json::to_value(&wild).unwrap();
    let bad = serde_json::to_vec(&json).unwrap();
    let err = ClosureModel::from_bytes(&bad, weights, &dev).err().unwrap();
    assert!(err.to_string().contains("inflation_heun"), "{err}");
    // and a good one loads and is kept
    json["inflation_heun"] = serde_json::to_value(uniform(1.5)).unwrap();
    let good = serde_json::to_vec(&json).unwrap();
    let m = ClosureModel::from_bytes(&good, weights, &dev).unwrap();
    assert_eq!(m.card.inflation_heun, Some(uniform(1.5)));
}
