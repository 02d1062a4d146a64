//! A user's data and results are not lost, refused or irreproducible: resume with
//! ordinary decimal times, a parts folder of someone else's, outputs that are inputs,
//! resume on changed data, zero-sample work, same seed → same bytes, damaged subgrid
//! cards, and printing to a full disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_closure-lab"))
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A failure with one readable line and no panic.
fn refused(o: &Output, want: &str, what: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "{what}: succeeded");
    assert!(err.contains(want), "{what}: expected `{want}` in: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
}

fn shipped(name: &str) -> String {
    format!("{}/assets/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `data --case les` with ordinary decimal times: 2 trajectories of a 128² DNS from
/// t = 0.1 to `t_end`, a snapshot every 0.05.
fn les_args(t_end: &str, seed: &str, out: &Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "data",
        "--case",
        "les",
        "--dns-n",
        "128",
        "--trajectories",
        "2",
        "--t-start",
        "0.1",
        "--t-end",
        t_end,
        "--every",
        "0.05",
        "--seed",
        seed,
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(out.display().to_string());
    v
}

/// A small subgrid data file (2 trajectories of a 128² DNS, 3 snapshots each).
fn les_data(dir: &Path, name: &str, seed: &str) -> PathBuf {
    let out = dir.join(name);
    let o = bin().args(les_args("0.2", seed, &out)).output().unwrap();
    assert!(o.status.success(), "data: {}", stderr(&o));
    out
}

/// The manifest of a job made with `--t-start 0.1 --t-end 0.3` holds the derived
/// duration 0.3 − 0.1 = 0.19999999999999998; read back it must still match the same job.
#[test]
fn a_manifest_of_decimal_times_matches_its_own_job() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    let (start, end) = (std::hint::black_box(0.1f64), std::hint::black_box(0.3f64));
    let settings = serde_json::json!({ "spin_up": start, "duration": end - start, "every": 0.05 });
    closure_lab::resume::record(&path, &settings).unwrap();
    closure_lab::resume::check(&path, &settings).expect("the same job resumes");
    let other = serde_json::json!({ "spin_up": start, "duration": 0.25, "every": 0.05 });
    let err = closure_lab::resume::check(&path, &other).unwrap_err();
    assert!(err.contains("duration"), "{err}");
}

/// Interrupt `data --case les` with ordinary decimal times, rerun the identical command:
/// it resumes (before: "holds the parts of a different job (duration: 0.2 →
/// 0.19999999999999998)").
#[test]
fn an_interrupted_subgrid_data_job_resumes_with_decimal_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.h5");
    let args = les_args("0.7", "0", &out);
    let child = bin()
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let spec = dir.path().join("o.h5.parts").join("spec.json");
    let t0 = std::time::Instant::now();
    while !spec.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(spec.exists(), "the job recorded its spec");
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let first = child.wait_with_output().unwrap();
    assert!(
        !first.status.success(),
        "the first run was interrupted: {}",
        stderr(&first)
    );
    assert!(
        spec.exists(),
        "the interrupted job keeps its resumable parts"
    );
    let again = run(&args);
    assert!(again.status.success(), "rerun: {}", stderr(&again));
    assert!(out.exists());
    assert!(
        !dir.path().join("o.h5.parts").exists(),
        "parts removed after success"
    );
}

/// A `<out>.parts/` folder the command did not make (no spec.json, a file of the user's)
/// is refused and left as it was, for both kinds of data.
#[test]
fn a_foreign_parts_folder_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.h5");
    let parts = dir.path().join("o.h5.parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("thesis.tex"), b"years of work").unwrap();
    let out_s = out.to_str().unwrap();
    for args in [
        les_args("0.2", "0", &out),
        [
            "data",
            "--trajectories",
            "1",
            "--n",
            "32",
            "--store-n",
            "32",
            "--t-start",
            "0.1",
            "--t-end",
            "0.2",
            "--every",
            "0.1",
            "--out",
            out_s,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect(),
    ] {
        let o = run(&args);
        refused(&o, "holds no spec.json", &format!("{args:?}"));
        assert_eq!(
            std::fs::read(parts.join("thesis.tex")).unwrap(),
            b"years of work"
        );
        assert!(!out.exists());
    }
}

/// Every command that takes input and output paths refuses an output that is one of its
/// inputs, before doing anything, and the input stays as it was.
#[test]
fn an_output_that_is_an_input_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    for f in ["d.h5", "e.h5", "m.bpk", "m.json", "f.npy"] {
        std::fs::write(p(f), b"precious").unwrap();
    }
    let (d, e, m, mj, f) = (p("d.h5"), p("e.h5"), p("m.bpk"), p("m.json"), p("f.npy"));
    let dm = p("d.bpk");
    std::fs::write(&dm, b"precious").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "les-train",
            "--data",
            &d,
            "--kind",
            "stochastic",
            "--run",
            "r",
            "--out",
            &d,
        ],
        vec![
            "les-train",
            "--data",
            &e,
            "--mean",
            &m,
            "--kind",
            "stochastic",
            "--run",
            "r",
            "--out",
            &m,
        ],
        vec!["train", "--data", &d, "--run", "r", "--out", &d],
        vec![
            "distill",
            "--teacher",
            &m,
            "--data",
            &d,
            "--run",
            "r",
            "--out",
            &d,
        ],
        vec!["eval", "--data", &d, "--model", &m, "--json", &d],
        vec!["eval", "--data", &d, "--model", &m, "--json", &mj],
        vec![
            "calibrate",
            "--model",
            &m,
            "--data",
            &d,
            "--first-trajectory",
            "0",
            "--json",
            &mj,
        ],
        vec!["les-apriori", "--model", &m, "--data", &d, "--json", &d],
        vec!["les-forecast", "--model", &m, "--json", &mj],
        vec!["les-eval", "--model", &m, "--spectra", &mj],
        vec!["data", "merge", "--out", &d, &d, &e],
    ];
    for args in &cases {
        let o = run(args);
        refused(&o, "would overwrite the input", &format!("{args:?}"));
    }
    // `run --init F --out DIR` where DIR/omega.npy is F
    std::fs::rename(&f, p("omega.npy")).unwrap();
    let o = run(&[
        "run",
        "--n",
        "32",
        "--t-end",
        "0",
        "--init",
        &p("omega.npy"),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    refused(&o, "would overwrite the input", "run --init");
    for f in ["d.h5", "e.h5", "m.bpk", "m.json", "d.bpk", "omega.npy"] {
        assert_eq!(std::fs::read(p(f)).unwrap(), b"precious", "{f} changed");
    }
    assert!(!dir.path().join("r").exists());
}

/// `les-train` resumes a run only on the data it started with: the same path rewritten
/// with other content is another job. A file with no trajectories trains nothing and
/// scores nothing.
#[test]
fn subgrid_training_refuses_changed_data_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let a = les_data(dir.path(), "a.h5", "1");
    let b = les_data(dir.path(), "b.h5", "2");
    let d = p("d.h5");
    std::fs::copy(&a, &d).unwrap();
    let train = |epochs: &str| {
        run(&[
            "les-train",
            "--data",
            &d,
            "--kind",
            "deterministic",
            "--epochs",
            epochs,
            "--batch",
            "2",
            "--val-per-file",
            "1",
            "--run",
            &p("run"),
            "--out",
            &p("m.bpk"),
        ])
    };
    let o = train("1");
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(&b, &d).unwrap();
    refused(&train("2"), "data_fingerprints", "resume on changed data");
    std::fs::copy(&a, &d).unwrap();
    let o = train("2");
    assert!(
        o.status.success(),
        "the original data resumes: {}",
        stderr(&o)
    );

    // a file of the same layout holding no trajectory
    let (spec, _) = closure_lab::les::data::read(&a).unwrap();
    let empty = dir.path().join("empty.h5");
    closure_lab::les::data::write(&empty, &spec, &[]).unwrap();
    let e = empty.to_str().unwrap();
    let o = run(&[
        "les-train",
        "--data",
        e,
        "--kind",
        "deterministic",
        "--val-per-file",
        "0",
        "--run",
        &p("run_empty"),
        "--out",
        &p("empty.bpk"),
    ]);
    assert!(!o.status.success(), "trained on nothing");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(!dir.path().join("empty.bpk").exists());
    let o = run(&[
        "les-apriori",
        "--data",
        e,
        "--model",
        &shipped("les_deterministic.bpk"),
    ]);
    refused(&o, "no states to score", "les-apriori on an empty file");
    // more trajectories asked of a file than it holds (2, one held out)
    let a_s = a.to_str().unwrap();
    let o = run(&[
        "les-train",
        "--data",
        a_s,
        "--kind",
        "deterministic",
        "--per-file",
        "5",
        "--run",
        &p("run_five"),
        "--out",
        &p("five.bpk"),
    ]);
    refused(
        &o,
        "asks for 5 training trajectories",
        "les-train --per-file 5",
    );
    assert!(!dir.path().join("five.bpk").exists());
}

/// Every subgrid command that draws: the same command with the same seed writes the same
/// bytes (les-eval with two viscosities running in parallel), another seed other bytes.
#[test]
fn subgrid_commands_repeat_bit_for_bit_under_one_seed() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let data = les_data(dir.path(), "t.h5", "3");
    let model = shipped("les_stochastic.bpk");
    let commands: Vec<(&str, Vec<String>)> = vec![
        (
            "les-eval",
            [
                "les-eval",
                "--nu",
                "2e-4,4e-4",
                "--dns-n",
                "128",
                "--spin-up",
                "0.1",
                "--t-run",
                "0.6",
                "--ensemble",
                "2",
                "--model",
                &model,
                "--json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
        (
            "les-forecast",
            [
                "les-forecast",
                "--model",
                &model,
                "--dns-n",
                "128",
                "--spin-up",
                "0.1",
                "--starts",
                "1",
                "--members",
                "2",
                "--lead",
                "0.1",
                "--every",
                "0.05",
                "--json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
        (
            "les-apriori",
            [
                "les-apriori",
                "--model",
                &model,
                "--data",
                data.to_str().unwrap(),
                "--ensemble",
                "2",
                "--stride",
                "1",
                "--json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
    ];
    for (name, args) in commands {
        let out = |seed: &str, tag: &str| {
            let json = p(&format!("{name}_{tag}.json"));
            let mut a = args.clone();
            a.push(json.clone());
            a.extend(["--seed".to_string(), seed.to_string()]);
            let o = bin().args(&a).output().unwrap();
            assert!(o.status.success(), "{name}: {}", stderr(&o));
            std::fs::read(json).unwrap()
        };
        let (x, y) = (out("1", "a"), out("1", "b"));
        assert!(x == y, "{name}: same seed, different bytes");
        if name != "les-eval" {
            // les-eval's seed also moves the initial state; the others only the draws
            assert!(out("2", "c") != x, "{name}: the seed changes nothing");
        }
    }
}

/// Subgrid model cards are checked field by field: scales of 0, −1 and 10^±308, an
/// all-zero whitening table and inverted or zero sampling ranges are refused by every
/// command that loads one, with the field named.
#[test]
fn damaged_subgrid_cards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = shipped("les_stochastic");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{src}.json")).unwrap()).unwrap();
    let damage: Vec<(&str, Box<dyn Fn(&mut serde_json::Value)>, &str)> = vec![
        (
            "omega0",
            Box::new(|c| c["omega_scale"] = 0.0.into()),
            "omega_scale",
        ),
        (
            "pi_neg",
            Box::new(|c| c["pi_scale"] = (-1.0).into()),
            "pi_scale",
        ),
        (
            "pi_huge",
            Box::new(|c| c["pi_scale"] = 1e308.into()),
            "pi_scale",
        ),
        (
            "pi_tiny",
            Box::new(|c| c["pi_scale"] = 1e-308.into()),
            "pi_scale",
        ),
        (
            "white0",
            Box::new(|c| {
                let w = &mut c["whitening"]["amplitude"][0];
                let n = w.as_array().unwrap().len();
                *w = serde_json::Value::Array(vec![0.0.into(); n]);
            }),
            "whitening",
        ),
        (
            "t_inv",
            Box::new(|c| c["t_range"]["em"] = serde_json::json!([0.01, 0.5])),
            "t_range",
        ),
        (
            "t_zero",
            Box::new(|c| c["t_range"]["heun"] = serde_json::json!([0.0, 0.0])),
            "t_range",
        ),
    ];
    let data = les_data(dir.path(), "t.h5", "4");
    for (tag, f, field) in damage {
        let mut c = card.clone();
        f(&mut c);
        let base = dir.path().join(tag);
        std::fs::write(base.with_extension("json"), serde_json::to_vec(&c).unwrap()).unwrap();
        std::fs::copy(format!("{src}.bpk"), base.with_extension("bpk")).unwrap();
        let m = base.with_extension("bpk").display().to_string();
        for args in [
            vec![
                "les-apriori",
                "--model",
                &m,
                "--data",
                data.to_str().unwrap(),
            ],
            vec![
                "les-forecast",
                "--model",
                &m,
                "--dns-n",
                "128",
                "--starts",
                "1",
            ],
            vec![
                "les-eval", "--model", &m, "--dns-n", "128", "--t-run", "0.6",
            ],
        ] {
            refused(&run(&args), field, &format!("{tag}: {args:?}"));
        }
    }
}

/// A results table or progress line that cannot be written (standard output on a full
/// disk) is an error line and a non-zero exit, not a panic.
#[test]
fn printing_to_a_full_disk_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system
    };
    let o = bin()
        .args(["bench", "solver", "--sizes", "16", "--seconds", "0.01"])
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success(), "exit 0 with nothing written");
    assert!(err.contains("cannot write to standard output"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn one_part_store_remakes_damaged_parts_for_every_data_job() {
    use closure_lab::closure::parts::{Part, Parts};
    struct Two(Vec<f32>, Vec<f32>);
    impl Part for Two {
        fn fields(&self) -> Vec<&[f32]> {
            vec![&self.0, &self.1]
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.h5");
    let made = std::sync::Mutex::new(Vec::new());
    let make = |k: usize, p: &std::sync::atomic::AtomicU64| {
        made.lock().unwrap().push(k);
        p.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Two(vec![k as f32; 3], vec![-(k as f32); 2]))
    };
    let from = |_: usize, mut v: Vec<f32>| {
        let b = v.split_off(3);
        Two(v, b)
    };
    let parts = Parts::open(&out, &"job A", 5).unwrap();
    let (all, resumed) = parts.run(&[0, 1, 2], 1, &|_, _| {}, make, from).unwrap();
    assert_eq!(resumed, 0);
    assert_eq!(all[2].1, vec![-2.0, -2.0]);
    // a part with a NaN, a truncated part and a missing part are made again; the
    // sound one is resumed
    let p = |k: usize| dir.path().join(format!("j.h5.parts/traj_{k:05}.f32"));
    let mut bytes = std::fs::read(p(0)).unwrap();
    bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(p(0), bytes).unwrap();
    let bytes = std::fs::read(p(1)).unwrap();
    std::fs::write(p(1), &bytes[..8]).unwrap();
    made.lock().unwrap().clear();
    let parts = Parts::open(&out, &"job A", 5).unwrap();
    assert!(parts.read(0).is_none() && parts.read(1).is_none());
    let (all, resumed) = parts.run(&[0, 1, 2, 3], 1, &|_, _| {}, make, from).unwrap();
    assert_eq!(resumed, 1);
    let mut again = made.lock().unwrap().clone();
    again.sort();
    assert_eq!(again, vec![0, 1, 3]);
    assert_eq!(all[0].0, vec![0.0; 3]);
    // another job's settings are refused; finishing removes the folder
    assert!(Parts::open(&out, &"job B", 5).is_err());
    parts.finish(&[0, 1, 2, 3]);
    assert!(!dir.path().join("j.h5.parts").exists());
}

/// The one checkpoint rule (`closure::checkpoint`): a run stopped after one epoch and
/// resumed for a second writes the same model, byte for byte, as a run of two epochs
/// straight through — for the published training and the subgrid training alike.
#[test]
fn a_resumed_training_run_ends_where_a_straight_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    use crate::support;
    let les = support::subgrid(dir.path(), "s.h5", 32, 1, true);
    let pubd = support::published(dir.path(), "p.h5", 3, 32, 32);
    let (les, pubd) = (les.to_str().unwrap(), pubd.to_str().unwrap());
    let small = support::tiny_net("1");
    let jobs: Vec<(&str, Vec<&str>)> = vec![
        (
            "les",
            vec![
                "les-train",
                "--data",
                les,
                "--kind",
                "stochastic",
                "--batch",
                "2",
                "--val-per-file",
                "0",
            ],
        ),
        ("pub", [&["train", "--data", pubd][..], &small[..]].concat()),
    ];
    for (name, args) in jobs {
        let go = |run: &str, out: &str, epochs: &str| {
            let mut a = args.clone();
            let (r, o) = (p(run), p(out));
            a.extend(["--run", &r, "--out", &o, "--epochs", epochs]);
            // one thread: burn's parallel reductions in the score network's backward pass
            // sum in an order that follows the work-stealing, so two-thread runs differ in
            // the last bits (measured: two fresh runs, 2.8 M of 4.4 M bytes differ)
            let run = support::bin()
                .args(&a)
                .env("RAYON_NUM_THREADS", "1")
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{a:?}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            std::fs::read(p(out)).unwrap()
        };
        let straight = go(&format!("{name}-a"), &format!("{name}-a.bpk"), "2");
        let first = go(&format!("{name}-b"), &format!("{name}-b1.bpk"), "1");
        let resumed = go(&format!("{name}-b"), &format!("{name}-b.bpk"), "2");
        let (first, straight, resumed) = (
            without_param_ids(first),
            without_param_ids(straight),
            without_param_ids(resumed),
        );
        assert_ne!(
            first, straight,
            "{name}: one epoch already ends where two do"
        );
        assert!(
            resumed == straight,
            "{name}: the resumed run differs from the straight one"
        );
    }
}

/// Weight-file bytes with each parameter's id (a random number burn gives every new
/// parameter) zeroed: what is left is the weights and the layout.
fn without_param_ids(mut b: Vec<u8>) -> Vec<u8> {
    let key = b"param_id\x1b";
    let mut i = 0;
    while let Some(at) = b[i..].windows(key.len()).position(|w| w == key) {
        let start = i + at + key.len();
        b[start..start + 8].fill(0);
        i = start + 8;
    }
    assert!(i > 0, "no parameter ids found: the weight format changed");
    b
}
