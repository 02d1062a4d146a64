//! Property-based fuzzing of every input reader (proptest; cargo-fuzz needs a nightly
//! toolchain these machines do not have): the `.npy` reader, the model card + weights
//! loader, the PyTorch state-dict importer, the HDF5 reader (both layouts), the subgrid
//! shard merge and the settings sanitiser. Each reader must return a value or
//! an error for any input — never panic — and the sanitiser must turn any numbers into a
//! configuration that validates.
//!
//! CI runs 48 cases per target; a campaign is `FUZZ_SECONDS=600 cargo test --release fuzz::
//! -- --nocapture` (fresh seeds per round; `FUZZ_CASES` per round, `FUZZ_SEED` to vary).

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use closure_lab::closure::model::ClosureModel;
use closure_lab::experiment::{ClosureMode, ExperimentConfig, Flow};

/// Run `test` on `FUZZ_CASES` inputs (default 48), again with fresh seeds until
/// `FUZZ_SECONDS` have passed (default 0: one round); prints the cases run.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: &S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (cases, seconds) = (env("FUZZ_CASES", 48) as u32, env("FUZZ_SECONDS", 0));
    let start = std::time::Instant::now();
    let mut round = 0u64;
    loop {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        seed[8..16].copy_from_slice(&env("FUZZ_SEED", 0).to_le_bytes());
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(strategy, &test) {
            panic!("{name}: {e}");
        }
        round += 1;
        if start.elapsed().as_secs() >= seconds {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {} cases in {:.0} s",
        round * cases as u64,
        start.elapsed().as_secs_f64()
    );
}

/// A valid input with some bytes overwritten, some cut off, or some inserted.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..16),
        0..=len,
        proptest::collection::vec(any::<u8>(), 0..8),
        0..len,
    )
        .prop_map(move |(flips, keep, insert, at)| {
            let mut v = valid.clone();
            for (i, b) in flips {
                if i < v.len() {
                    v[i] = b;
                }
            }
            v.truncate(keep.max(1));
            let at = at.min(v.len());
            v.splice(at..at, insert);
            v
        })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

fn valid_npy(dir: &Path) -> Vec<u8> {
    let p = dir.join("valid.npy");
    let mut f = std::fs::File::create(&p).unwrap();
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[8, 8])
        .writer(&mut f)
        .begin_nd()
        .unwrap();
    w.extend((0..64).map(|i| i as f64 * 0.5)).unwrap();
    w.finish().unwrap();
    std::fs::read(&p).unwrap()
}

#[test]
fn npy_reader_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let valid = valid_npy(dir.path());
    let path = dir.path().join("case.npy");
    let strategy = prop_oneof![mutated(valid), bytes()];
    fuzz("npy", &strategy, |data| {
        std::fs::write(&path, &data).unwrap();
        if let Ok((n, field)) = closure_lab::cli::npy::read_field(&path) {
            prop_assert_eq!(field.len(), n * n);
            prop_assert!(field.iter().all(|v| v.is_finite()));
        }
        Ok(())
    });
}

#[test]
fn model_card_and_weights_loader_never_panics() {
    let card = std::fs::read("assets/closure_g.json").unwrap();
    let weights = std::fs::read("assets/closure_g.bpk").unwrap();
    let device = burn::tensor::Device::flex();
    // the card's text mutated, with the real weights; the weights cut or flipped, with
    // the real card
    let strategy = prop_oneof![
        mutated(card.clone()).prop_map(|c| (c, true)),
        mutated(weights.clone()).prop_map(|w| (w, false)),
    ];
    fuzz("card", &strategy, |(data, is_card)| {
        let (c, w) = if is_card {
            (&data[..], &weights[..])
        } else {
            (&card[..], &data[..])
        };
        let _ = ClosureModel::from_bytes(c, w, &device);
        Ok(())
    });
}

#[test]
fn subgrid_model_card_and_weights_loader_never_panics() {
    use closure_lab::les::learn::model::LesModel;
    let card = std::fs::read("assets/les_stochastic.json").unwrap();
    let weights = std::fs::read("assets/les_stochastic.bpk").unwrap();
    let flow = std::fs::read("assets/les_stochastic.flow.bpk").unwrap();
    let device = burn::tensor::Device::flex();
    // the card mutated with the real weights; the weights mutated with the real card; the
    // flow generator's weights mutated on the real model
    let strategy = prop_oneof![
        mutated(card.clone()).prop_map(|c| (c, 0)),
        mutated(weights.clone()).prop_map(|w| (w, 1)),
        mutated(flow.clone()).prop_map(|f| (f, 2)),
    ];
    fuzz("les-card", &strategy, |(data, part)| {
        let (c, w) = match part {
            0 => (&data[..], &weights[..]),
            1 => (&card[..], &data[..]),
            _ => (&card[..], &weights[..]),
        };
        if let Ok(m) = LesModel::from_bytes(c, w, &device) {
            let f = if part == 2 { &data[..] } else { &flow[..] };
            let _ = m.attach_flow(f);
        }
        Ok(())
    });
}

/// The fixture's entries (name, bytes), the pickle program first.
fn torch_entries() -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let f = std::fs::File::open("tests/data/torch/fno2d_nosparse.pth").unwrap();
    let mut zip = zip::ZipArchive::new(f).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = (0..zip.len())
        .map(|i| {
            let mut e = zip.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (e.name().unwrap().into_owned(), b)
        })
        .collect();
    out.sort_by_key(|(n, _)| !n.ends_with("data.pkl"));
    out
}

#[test]
fn torch_state_dict_importer_never_panics() {
    use std::io::{Cursor, Write};
    let entries = torch_entries();
    let whole = std::fs::read("tests/data/torch/fno2d_nosparse.pth").unwrap();
    let device = burn::tensor::Device::flex();
    // the pickle program mutated inside a well-formed archive (so the reader gets past the
    // zip checksums), or the archive's bytes mutated
    let strategy = prop_oneof![
        mutated(entries[0].1.clone()).prop_map(|p| (p, true)),
        mutated(whole).prop_map(|w| (w, false)),
    ];
    fuzz("pth", &strategy, |(data, is_pickle)| {
        let archive = if is_pickle {
            let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for (i, (name, bytes)) in entries.iter().enumerate() {
                w.start_file(name.as_str(), opts).unwrap();
                w.write_all(if i == 0 { &data } else { bytes }).unwrap();
            }
            w.finish().unwrap().into_inner()
        } else {
            data
        };
        let read = closure_lab::closure::pth::read_from(Cursor::new(archive));
        if let Ok(tensors) = read {
            let _ = closure_lab::closure::torch_import::network(tensors, &device);
        }
        Ok(())
    });
}

#[test]
fn hdf5_reader_never_panics() {
    use closure_lab::closure::dataset::{Trajectory, h5_info, read_h5_trajectory, write_h5};
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.h5");
    let mut tr = Trajectory::new(8, 2);
    for (i, v) in tr.omega.iter_mut().enumerate() {
        *v = i as f32;
    }
    write_h5(&good, &[tr], &[0.0, 1.0], 1e-3).unwrap();
    let valid = std::fs::read(&good).unwrap();
    let path = dir.path().join("case.h5");
    let strategy = prop_oneof![mutated(valid), bytes()];
    fuzz("hdf5", &strategy, |data| {
        std::fs::write(&path, &data).unwrap();
        if let Ok(info) = h5_info(&path) {
            for k in 0..info.trajectories.min(2) {
                let _ = read_h5_trajectory(&path, k, None);
            }
        }
        Ok(())
    });
}

#[test]
fn sanitised_settings_always_validate() {
    let num = || {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            0.0..1.0
        ]
    };
    let count = || prop_oneof![any::<usize>(), 0usize..600];
    let strategy = (
        (count(), count(), count(), count(), count()),
        (num(), num(), num(), num(), num()),
        (any::<bool>(), 0u8..6, any::<u64>(), any::<u64>()),
    );
    fuzz(
        "settings",
        &strategy,
        |(
            (n, dns_n, sensors, steps, ensemble),
            (nu, dt, sigma, forcing, t_start),
            (les, mode, resample, record),
        )| {
            let closure = [
                ClosureMode::Off,
                ClosureMode::Learned,
                ClosureMode::Oracle,
                ClosureMode::Smagorinsky,
                ClosureMode::DynamicSmagorinsky,
                ClosureMode::Leith,
            ][mode as usize];
            let cfg = ExperimentConfig {
                n,
                dns_n,
                sensors,
                sampling_steps: steps,
                ensemble,
                nu,
                dt,
                sigma,
                forcing,
                t_start,
                resample_every: resample,
                record_every: record,
                flow: if les {
                    Flow::Kolmogorov
                } else {
                    Flow::Published
                },
                closure,
                ..Default::default()
            };
            let fixed = cfg.sanitized();
            prop_assert!(
                fixed.validate().is_ok(),
                "{:?} → {:?}: {}",
                cfg,
                fixed,
                fixed.validate().unwrap_err()
            );
            Ok(())
        },
    );
}

/// Subgrid data files (`data --case les`), made by the command itself: two shards of one
/// tiny job. Returns (whole file, shard 0, shard 1).
fn subgrid_files(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let make = |out: &str, shard: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_closure-lab"));
        c.args(["data", "--case", "les", "--dns-n", "128", "--les-n", "32"])
            .args([
                "--trajectories",
                "2",
                "--t-start",
                "0.01",
                "--t-end",
                "0.02",
            ])
            .args(["--every", "0.01", "--out", out])
            .current_dir(dir);
        if let Some(s) = shard {
            c.args(["--shard", s]);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.join(out)).unwrap()
    };
    (
        make("whole.h5", None),
        make("s0.h5", Some("0/2")),
        make("s1.h5", Some("1/2")),
    )
}

#[test]
fn subgrid_hdf5_reader_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, _, _) = subgrid_files(dir.path());
    let path = dir.path().join("case.h5");
    let strategy = prop_oneof![mutated(whole), bytes()];
    fuzz("les-hdf5", &strategy, |data| {
        std::fs::write(&path, &data).unwrap();
        if let Ok((spec, trajs)) = closure_lab::les::data::read(&path) {
            // what reads back is what a reader may use: finite fields of the stated shape
            let n = spec.flow.les_n;
            for t in &trajs {
                prop_assert!(t.omega_bar.iter().chain(&t.pi).all(|v| v.is_finite()));
                prop_assert_eq!(t.omega_bar.len() % (n * n), 0);
                prop_assert_eq!(t.pi.len(), t.omega_bar.len());
            }
        }
        Ok(())
    });
}

#[test]
fn shard_merge_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s0, s1) = subgrid_files(dir.path());
    let (a, b, out) = (
        dir.path().join("a.h5"),
        dir.path().join("b.h5"),
        dir.path().join("merged.h5"),
    );
    std::fs::write(&b, &s1).unwrap();
    // either shard damaged (the other intact), or both given twice
    let strategy = prop_oneof![
        mutated(s0.clone()).prop_map(|d| (d, false)),
        mutated(s0).prop_map(|d| (d, true)),
    ];
    fuzz("les-merge", &strategy, |(data, swap)| {
        std::fs::write(&a, &data).unwrap();
        let _ = std::fs::remove_file(&out);
        let inputs = if swap {
            vec![b.clone(), a.clone()]
        } else {
            vec![a.clone(), b.clone()]
        };
        if closure_lab::les::data::merge(&inputs, &out).is_ok() {
            // a merge that succeeds wrote a file that reads back
            prop_assert!(closure_lab::les::data::read(&out).is_ok());
        }
        Ok(())
    });
}
