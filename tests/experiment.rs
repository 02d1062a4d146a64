//! The coupled experiment: oracle tracks the truth, no closure drifts, histories at the
//! configured cadence, live changes, and the learned closure on its worker thread.

use closure_lab::closure::model::ClosureModel;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use closure_lab::experiment::{ClosureMode, Experiment, ExperimentConfig, spin_up};
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
        Some(model),
    )
    .unwrap();
    e.advance(100).unwrap();
    let last = e.history.last().unwrap().clone();
    assert!(e.last_latency_ms().is_some());
    assert!(last.spread > 0.0, "an ensemble of 3 has spread");
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
