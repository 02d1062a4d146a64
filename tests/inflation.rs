//! Spread inflation per sampler kind and step count: a card holds a table per (kind,
//! steps) fitted, sampling applies its kind's table at the nearest step count (a kind
//! without tables falls back to Euler–Maruyama's), and a table that does not fit the
//! network is refused by name.

use burn::prelude::*;
use closure_lab::closure::eval::SamplerSetting;
use closure_lab::closure::inflation::{
    Inflation, fitted_steps, insert_table, insert_tables, table_at, table_for,
};
use closure_lab::closure::model::{ClosureModel, EMBEDDED_G};
use closure_lab::closure::sampler::Sampler;
use closure_lab::closure::sensors::{DENSITIES, Sensors};
use closure_lab::solver::Grid;

/// A table of `sampler` at `steps` multiplying every shell's deviations by `c`.
fn uniform(sampler: Sampler, steps: usize, c: f64) -> Inflation {
    Inflation {
        factor: vec![vec![c; 64]; DENSITIES.len()],
        fitted_on: format!("test: {c} everywhere"),
        sampler,
        steps: Some(steps),
        nu: None,
    }
}
use Sampler::{EulerMaruyama as Em, Heun};

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
                        &closure_lab::closure::model::Observed {
                            grid: &grid,
                            omega: &omega,
                            readings: &readings,
                            sensors: &sensors,
                        },
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
    model.card.inflation.clear();
    let (em0, heun0) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(em0 > 0.0 && heun0 > 0.0);
    let near = |got: f64, want: f64| (got / want - 1.0).abs() < 0.25;
    // a Heun table acts on Heun only
    model.card.inflation = vec![uniform(Heun, 3, 2.0)];
    let (em1, heun1) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(near(heun1, 2.0 * heun0), "Heun: {heun1} vs raw {heun0}");
    assert!(near(em1, em0), "EM moved by the Heun table: {em1} vs {em0}");
    // an EM table acts on EM, and on Heun only where Heun has none
    model.card.inflation = vec![uniform(Em, 10, 2.0), uniform(Heun, 3, 1.0)];
    let (em2, heun2) = (draw(&mut model, &em), draw(&mut model, &heun));
    assert!(near(em2, 2.0 * em0), "EM: {em2} vs raw {em0}");
    assert!(
        near(heun2, heun0),
        "Heun with its own table of ones: {heun2}"
    );
    model.card.inflation = vec![uniform(Em, 10, 2.0)];
    let heun3 = draw(&mut model, &heun);
    assert!(
        near(heun3, 2.0 * heun0),
        "Heun falls back to EM's table: {heun3}"
    );
    // the table of the sampled step count, not another one of the kind
    model.card.inflation = vec![uniform(Em, 20, 1.0), uniform(Em, 10, 2.0)];
    let em3 = draw(&mut model, &em);
    assert!(
        near(em3, 2.0 * em0),
        "EM-10 with a 10- and a 20-step table: {em3}"
    );
}

#[test]
fn the_table_of_the_nearest_step_count_of_the_kind_is_chosen() {
    let mut tables = Vec::new();
    for (kind, steps) in [(Heun, 6), (Em, 20), (Heun, 3), (Em, 10)] {
        insert_table(&mut tables, uniform(kind, steps, 1.0));
    }
    // refitting one replaces it, and the list stays sorted: EM first, by steps
    insert_table(&mut tables, uniform(Em, 10, 1.5));
    let keys: Vec<_> = tables
        .iter()
        .map(|t| (t.sampler, t.steps.unwrap()))
        .collect();
    assert_eq!(keys, [(Em, 10), (Em, 20), (Heun, 3), (Heun, 6)]);
    assert_eq!(tables[0].factor[0][0], 1.5);
    let pick = |kind, steps| table_for(&tables, kind, steps).map(|t| (t.sampler, t.steps.unwrap()));
    // nearest in ratio: 14/10 = 1.4 vs 20/14 = 1.43; 15 is nearer 20
    assert_eq!(pick(Em, 14), Some((Em, 10)));
    assert_eq!(pick(Em, 15), Some((Em, 20)));
    assert_eq!(pick(Em, 1), Some((Em, 10)));
    assert_eq!(pick(Em, 1000), Some((Em, 20)));
    assert_eq!(pick(Heun, 4), Some((Heun, 3)));
    assert_eq!(pick(Heun, 5), Some((Heun, 6)));
    assert_eq!(fitted_steps(&tables, Heun), [3, 6]);
    // a kind without tables takes Euler–Maruyama's; no tables, none
    let em_only: Vec<_> = tables.iter().filter(|t| t.sampler == Em).cloned().collect();
    assert_eq!(
        table_for(&em_only, Heun, 3).map(|t| t.steps),
        Some(Some(10))
    );
    assert!(table_for(&[], Em, 10).is_none());
}

/// A model conditioned on ν keeps one table per ν of its calibration set: a refit
/// replaces all of that kind and step count, a draw takes the nearest ν in ratio at the
/// nearest step count, and a table without ν (every older card) applies at every ν.
#[test]
fn the_table_of_the_nearest_viscosity_is_chosen() {
    let mut tables = vec![uniform(Em, 10, 1.0)];
    insert_table(&mut tables, uniform(Sampler::Flow, 1, 1.0));
    let per_nu = |c: f64| {
        [2e-4, 4e-4]
            .iter()
            .map(|&nu| uniform(Sampler::Flow, 1, if nu == 2e-4 { c } else { 2.0 * c }).at_nu(nu))
            .collect::<Vec<_>>()
    };
    insert_tables(&mut tables, per_nu(1.1));
    let flow: Vec<_> = tables
        .iter()
        .filter(|t| t.sampler == Sampler::Flow)
        .collect();
    assert_eq!(
        flow.len(),
        2,
        "the pooled flow table is replaced by the per-ν ones"
    );
    assert_eq!((flow[0].nu, flow[1].nu), (Some(2e-4), Some(4e-4)));
    assert!(flow.iter().all(|t| t.validate(DENSITIES.len()).is_ok()));
    let pick = |tables: &[Inflation], nu: Option<f64>| {
        table_at(tables, Sampler::Flow, 1, nu).map(|t| t.factor[0][0])
    };
    // 2.8e-4 is nearer 2e-4 in ratio (1.40 vs 1.43), 2.9e-4 nearer 4e-4
    assert_eq!(pick(&tables, Some(2e-4)), Some(1.1));
    assert_eq!(pick(&tables, Some(2.8e-4)), Some(1.1));
    assert_eq!(pick(&tables, Some(2.9e-4)), Some(2.2));
    assert_eq!(pick(&tables, Some(1e-3)), Some(2.2));
    assert_eq!(pick(&tables, None), Some(1.1), "no ν: the first");
    assert_eq!(
        table_at(&tables, Em, 10, Some(3e-4)).map(|t| t.nu),
        Some(None)
    );
    // the step count decides before ν
    insert_table(&mut tables, uniform(Sampler::Flow, 2, 3.0).at_nu(3e-4));
    assert_eq!(
        table_at(&tables, Sampler::Flow, 1, Some(3e-4)).map(|t| t.steps),
        Some(Some(1))
    );
    // a refit of the same kind and steps replaces both ν tables
    insert_tables(&mut tables, per_nu(1.3));
    assert_eq!(pick(&tables, Some(4e-4)), Some(2.6));
    assert_eq!(tables.iter().filter(|t| t.steps == Some(1)).count(), 2);
    // a card holds one table per kind and step count, or one per ν of them, never both
    let mut card = closure_lab::closure::model::ClosureModel::embedded(&Device::flex())
        .unwrap()
        .card;
    card.inflation = tables.clone();
    assert!(card.validate().is_ok(), "{:?}", card.validate());
    card.inflation.push(uniform(Sampler::Flow, 1, 1.0));
    let e = card.validate().unwrap_err();
    assert!(e.contains("a second table for flow, 1 steps"), "{e}");
    card.inflation.pop();
    card.inflation
        .push(uniform(Sampler::Flow, 1, 1.0).at_nu(4e-4));
    assert!(card.validate().unwrap_err().contains("ν = 4.0e-4"));
    let bad = uniform(Sampler::Flow, 1, 1.0).at_nu(-1.0);
    assert!(bad.validate(DENSITIES.len()).is_err());
    assert!(uniform(Em, 1, 1.0).label().ends_with("1 steps"));
    assert!(
        per_nu(1.0)[1].label().contains("ν = 4.0e-4"),
        "{}",
        per_nu(1.0)[1].label()
    );
}

#[test]
fn a_card_with_one_table_object_reads_as_an_euler_maruyama_table() {
    let dev = Device::flex();
    let (card, weights) = EMBEDDED_G;
    let mut json: serde_json::Value = serde_json::from_slice(card).unwrap();
    // as cards before per-sampler tables: one object, no sampler, no steps
    let mut legacy = serde_json::to_value(uniform(Em, 10, 1.25)).unwrap();
    legacy.as_object_mut().unwrap().remove("sampler");
    legacy.as_object_mut().unwrap().remove("steps");
    json["inflation"] = legacy;
    let m = ClosureModel::from_bytes(&serde_json::to_vec(&json).unwrap(), weights, &dev).unwrap();
    assert_eq!(m.card.inflation.len(), 1);
    let t = m.card.inflation_for(Heun, 7).unwrap();
    assert_eq!((t.sampler, t.steps, t.factor[1][2]), (Em, None, 1.25));
}

#[test]
fn a_table_that_does_not_fit_the_network_is_refused_by_name() {
    let dev = Device::flex();
    let (card, weights) = EMBEDDED_G;
    let mut json: serde_json::Value = serde_json::from_slice(card).unwrap();
    let load = |json: &serde_json::Value| {
        ClosureModel::from_bytes(&serde_json::to_vec(json).unwrap(), weights, &dev)
    };
    let mut few = uniform(Heun, 3, 1.0);
    few.factor.truncate(1);
    json["inflation"] = serde_json::to_value(vec![uniform(Em, 10, 1.0), few]).unwrap();
    let err = load(&json).err().unwrap().to_string();
    assert!(err.contains("inflation table 1 (heun, 3 steps)"), "{err}");
    // a factor out of bounds too
    let mut wild = uniform(Heun, 3, 1.0);
    wild.factor[2][5] = 100.0;
    json["inflation"] = serde_json::to_value(vec![wild]).unwrap();
    let err = load(&json).err().unwrap().to_string();
    assert!(err.contains("inflation table 0"), "{err}");
    // two tables for one kind and step count
    json["inflation"] =
        serde_json::to_value(vec![uniform(Heun, 3, 1.0), uniform(Heun, 3, 1.1)]).unwrap();
    let err = load(&json).err().unwrap().to_string();
    assert!(err.contains("a second table for heun, 3 steps"), "{err}");
    // and good ones load and are kept
    let good = vec![uniform(Em, 10, 1.5), uniform(Heun, 3, 1.2)];
    json["inflation"] = serde_json::to_value(&good).unwrap();
    assert_eq!(load(&json).unwrap().card.inflation, good);
}

/// What the app flags about calibration comes from the library: fitted, the nearest step
/// count of the same kind, a borrowed kind, or no tables.
#[test]
fn coverage_says_which_table_a_sampler_gets() {
    use closure_lab::closure::inflation::{Coverage, coverage};
    let tables = vec![
        uniform(Em, 10, 1.1),
        uniform(Em, 20, 1.2),
        uniform(Heun, 3, 1.3),
    ];
    assert_eq!(coverage(&tables, Em, 10), Coverage::Fitted);
    assert_eq!(
        coverage(&tables, Em, 14),
        Coverage::NearestSteps {
            used: 10,
            fitted: vec![10, 20]
        }
    );
    assert_eq!(coverage(&tables, Heun, 3), Coverage::Fitted);
    assert_eq!(
        coverage(&tables, Sampler::Flow, 1),
        Coverage::Borrowed {
            kind: Em,
            steps: Some(10)
        }
    );
    assert_eq!(coverage(&[], Em, 10), Coverage::None);
}
