//! The CLI as a user runs it: `run` writes the promised files; bad `--init` files give the
//! specific error and a non-zero exit, never a panic.

use std::path::Path;
use std::process::Command;

use npyz::WriterBuilder;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_closure-lab"))
}

fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    data: &[T],
) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut f)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn run_writes_omega_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run", "--n", "32", "--t-end", "0.05", "--seed", "3", "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, omega) = closure_lab::cli::npy::read_field(&dir.path().join("omega.npy")).unwrap();
    assert_eq!(n, 32);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["steps"], 50);
    assert!((summary["t"].as_f64().unwrap() - 0.05).abs() < 1e-9);
    let max = omega.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!((summary["max_abs_omega"].as_f64().unwrap() - max).abs() < 1e-12);
    for key in ["energy", "enstrophy", "wall_s"] {
        assert!(summary[key].as_f64().unwrap() > 0.0, "{key}");
    }

    // --init round trip: restarting from the written field with 0 steps returns it
    let dir2 = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["run", "--n", "32", "--t-end", "0", "--no-noise", "--init"])
        .arg(dir.path().join("omega.npy"))
        .arg("--out")
        .arg(dir2.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, again) = closure_lab::cli::npy::read_field(&dir2.path().join("omega.npy")).unwrap();
    let diff = omega
        .iter()
        .zip(&again)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-13);
}

fn run_init(path: &Path, n: usize) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["run", "--n", &n.to_string(), "--t-end", "0.01", "--init"])
        .arg(path)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "panic: {err}");
    (out.status.success(), err)
}

#[test]
fn bad_init_files_give_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    write_npy(&p("cube.npy"), &[4, 4, 4], &vec![0.0f64; 64]);
    write_npy(&p("rect.npy"), &[16, 32], &vec![0.0f64; 512]);
    write_npy(&p("npot.npy"), &[24, 24], &vec![0.0f64; 576]);
    write_npy(&p("int.npy"), &[16, 16], &vec![1i32; 256]);
    let mut nan = vec![0.0f32; 256];
    nan[17] = f32::NAN;
    write_npy(&p("nan.npy"), &[16, 16], &nan);
    let mut huge = vec![0.0f64; 256];
    huge[3] = 1e300;
    write_npy(&p("huge.npy"), &[16, 16], &huge);
    write_npy(&p("ok16.npy"), &[16, 16], &vec![0.5f32; 256]);
    std::fs::write(p("garbage.npy"), b"definitely not numpy").unwrap();
    let mut trunc = std::fs::read(p("ok16.npy")).unwrap();
    trunc.truncate(trunc.len() - 100);
    std::fs::write(p("trunc.npy"), trunc).unwrap();
    let cases: [(&str, usize, &str); 10] = [
        ("cube.npy", 16, "expected a 2-D array"),
        ("rect.npy", 16, "not square"),
        ("npot.npy", 16, "not a power of two"),
        ("int.npy", 16, "dtype"),
        ("nan.npy", 16, "NaN"),
        ("huge.npy", 16, "its square would overflow"),
        ("garbage.npy", 16, "not a valid .npy"),
        ("trunc.npy", 16, "truncated"),
        ("missing.npy", 16, "cannot open"),
        ("ok16.npy", 32, "16×16 but --n is 32"),
    ];
    for (name, n, want) in cases {
        let (ok, err) = run_init(&p(name), n);
        assert!(!ok, "{name} should fail");
        assert!(err.contains(want), "{name}: expected `{want}` in: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{name}: one line please: {err}"
        );
    }
    // a float32 field of the right size is accepted
    let (ok, err) = run_init(&p("ok16.npy"), 16);
    assert!(ok, "{err}");
}

/// Requests that used to crash, eat the machine's memory or write NaN now end with one
/// readable line, a non-zero exit and no output folder.
#[test]
fn absurd_sizes_and_steps_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let cases: [(&[&str], &str); 6] = [
        (
            &["bench", "closure", "--sizes", "64", "--batches", "0"],
            "--batches",
        ),
        (&["bench", "solver", "--sizes", "100"], "--sizes"),
        (&["run", "--n", "65536", "--t-end", "0.01"], "GiB"),
        (&["run", "--n", "2147483648", "--t-end", "0.01"], "--n"),
        (
            &["run", "--n", "64", "--t-end", "1", "--dt", "10"],
            "larger than --t-end",
        ),
        // a step that blows up is caught at that step, not 16 steps later
        (
            &["run", "--n", "64", "--t-end", "150", "--dt", "3"],
            "blew up",
        ),
    ];
    for (args, want) in cases {
        let mut cmd = bin();
        cmd.args(args);
        if args[0] == "run" {
            cmd.arg("--out").arg(&out_dir);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: expected `{want}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(!out_dir.exists(), "{args:?} left {}", out_dir.display());
    }
}

/// The subgrid case's commands refuse bad settings and files with one line and leave
/// nothing behind.
#[test]
fn subgrid_commands_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.h5");
    let out_s = out.to_str().unwrap();
    let missing = dir.path().join("missing.h5");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["les-eval", "--dns-n", "2000"],
            "--dns-n must be between",
        ),
        (vec!["les-eval", "--t-run", "0.2"], "outlast the transient"),
        (vec!["les-eval", "--nu=-1"], "ν must be ≥ 0"),
        (
            vec!["les-eval", "--resolution", "128"],
            "finer than --dns-n",
        ),
        (
            vec!["data", "--case", "les", "--dns-n", "100", "--out", out_s],
            "--dns-n must be one of",
        ),
        (
            vec![
                "data",
                "--case",
                "les",
                "--trajectories",
                "0",
                "--out",
                out_s,
            ],
            "--trajectories must be",
        ),
        (
            vec!["data", "--case", "les", "--every", "0.0001", "--out", out_s],
            "multiple of dt",
        ),
        (
            vec!["data", "merge", "--out", out_s, missing.to_str().unwrap()],
            "cannot open",
        ),
    ];
    for (args, want) in cases {
        let o = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: expected `{want}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left files behind: {left:?}");
    }
}

/// A short soak changes controls, checks memory and finiteness, and passes; absurd
/// durations are refused.
#[test]
fn a_short_soak_runs_clean() {
    let o = bin()
        .args([
            "soak",
            "--minutes",
            "0.06",
            "--change-every",
            "0.5",
            "--check-every",
            "0.5",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("0 non-finite checks, 0 errors"), "{out}");
    // the soak runs with the app's allocator setting (mimalloc's default purge delay)
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        let delay = closure_lab::alloc::DEFAULT_PURGE_DELAY_MS;
        assert!(
            out.contains(&format!("allocator purge delay {delay} ms")),
            "{out}"
        );
    }
    assert!(err.contains("MiB"), "memory is reported: {err}");
    let o = bin().args(["soak", "--minutes", "0"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--minutes"), "{err}");
}

/// Training refuses impossible settings before it writes anything, and NaN in the data
/// with the real cause; error lines are clamped to 200 characters.
#[test]
fn training_refuses_bad_settings_and_non_finite_data() {
    use closure_lab::closure::dataset::{Trajectory, write_h5};
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let mut trajs: Vec<Trajectory> = (0..3).map(|_| Trajectory::new(64, 2)).collect();
    for (k, t) in trajs.iter_mut().enumerate() {
        for (i, v) in t.omega.iter_mut().enumerate() {
            *v = ((i + k) as f32 * 0.01).sin();
        }
    }
    write_h5(&p("ok.h5"), &trajs, &[0.0, 0.1], 1e-3).unwrap();
    trajs[0].g[77] = f32::NAN;
    write_h5(&p("nan.h5"), &trajs, &[0.0, 0.1], 1e-3).unwrap();
    let run = p("run");
    let (run_s, out_s) = (run.to_str().unwrap(), p("m.bpk"));
    let out_s = out_s.to_str().unwrap();
    let ok = p("ok.h5");
    let nan = p("nan.h5");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--data", ok.to_str().unwrap(), "--epochs", "0"],
            "--epochs must be",
        ),
        (
            vec!["--data", ok.to_str().unwrap(), "--val-trajectories", "0"],
            "--val-trajectories must be",
        ),
        (
            vec!["--data", ok.to_str().unwrap(), "--lr", "NaN"],
            "--lr must be",
        ),
        (
            vec!["--data", nan.to_str().unwrap(), "--epochs", "1"],
            "not finite",
        ),
    ];
    for (args, want) in cases {
        let o = bin()
            .arg("train")
            .args(&args)
            .args(["--run", run_s, "--out", out_s])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: expected `{want}` in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!p("m.bpk").exists(), "{args:?} wrote a model");
        assert!(!run.exists(), "{args:?} made the run folder");
    }
    // every reader of the file refuses the poisoned field, naming where it is
    let g = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/closure_g.bpk");
    let (g, nan_s) = (g.to_str().unwrap(), nan.to_str().unwrap());
    for args in [
        vec![
            "eval",
            "--data",
            nan_s,
            "--model",
            g,
            "--grids",
            "64",
            "--samples",
            "2",
        ],
        vec![
            "calibrate",
            "--model",
            g,
            "--data",
            nan_s,
            "--first-trajectory",
            "0",
        ],
        vec![
            "distill",
            "--teacher",
            g,
            "--data",
            nan_s,
            "--run",
            run_s,
            "--out",
            out_s,
        ],
    ] {
        let o = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            err.contains("not finite") && err.contains("trajectory 0"),
            "{args:?}: {err}"
        );
    }
    let long = closure_lab::message::one_line(&format!("bad card: {}", "x".repeat(15_000)));
    assert_eq!(long.chars().count(), 200);
    assert!(long.starts_with("bad card: ") && long.ends_with('…'));
    // a float printed in full is said in scientific notation; ordinary numbers stay
    let huge = closure_lab::message::one_line(&format!("got {}, {} and 2.5e-4", 1e308, 1e-300));
    assert_eq!(huge, "got 1e308, 1e-300 and 2.5e-4");
    let seed = closure_lab::message::one_line(&format!("seed {} of 12.75", u64::MAX));
    assert_eq!(seed, format!("seed {} of 12.75", u64::MAX));
}

/// Hostile-but-fair invocations across every subcommand: each ends with a non-zero exit
/// and one readable line naming the problem, no panic, and nothing left behind.
#[test]
fn hostile_invocations_across_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.h5"), b"not hdf5").unwrap();
    std::fs::write(dir.path().join("bad.npy"), b"not npy").unwrap();
    std::fs::write(dir.path().join("bad.bpk"), b"not weights").unwrap();
    std::fs::write(dir.path().join("bad.json"), b"{\"format_version\": 1}").unwrap();
    std::fs::create_dir(dir.path().join("adir.gif")).unwrap();
    std::fs::write(dir.path().join("bad.pth"), b"not a checkpoint").unwrap();
    std::fs::rename(tiny_data(dir.path()), dir.path().join("d0.h5")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch/bad_key.pth"),
        dir.path().join("badkey.pth"),
    )
    .unwrap();
    for (from, to) in [("closure_g_16", "g16"), ("closure_g", "g")] {
        for ext in ["bpk", "json", "flow.bpk"] {
            let src = format!("{}/assets/{from}.{ext}", env!("CARGO_MANIFEST_DIR"));
            if std::path::Path::new(&src).exists() {
                std::fs::copy(src, dir.path().join(format!("{to}.{ext}"))).unwrap();
            }
        }
    }
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let cases: &[(&str, &str)] = &[
        ("run --n 7 --t-end 0.1 --out o", "power of two"),
        ("run --n 64 --t-end -1 --out o", "unexpected argument"),
        ("run --n 64 --t-end nan --out o", "--t-end must be"),
        ("run --n 64 --t-end inf --out o", "--t-end must be"),
        ("run --n 64 --t-end 0.1 --dt 0 --out o", "--dt must be"),
        ("run --n 64 --t-end 0.1 --dt nan --out o", "--dt must be"),
        ("run --n 64 --t-end 1e9 --out o", "at most 1e9"),
        (
            "run --n 64 --t-end 0.1 --init missing.npy --out o",
            "cannot open",
        ),
        (
            "run --n 64 --t-end 0.1 --init bad.npy --out o",
            "not a valid .npy",
        ),
        (
            "run --n 64 --t-end 0.1 --scheme euler --out o",
            "unknown scheme",
        ),
        ("run --n 64 --t-end 0.1", "--out"),
        ("run --n 16 --t-end 0.01 --out bad.npy/o", "bad.npy"),
        (
            "render --preset decaying --n 64 --from 0 --to 0.01 --every 0.01 --out adir.gif",
            "directory",
        ),
        (
            "data --trajectories 0 --out d.h5",
            "--trajectories must be 1…100000",
        ),
        ("data --trajectories 2 --n 100 --out d.h5", "powers of two"),
        (
            "data --trajectories 1 --t-end inf --out d.h5",
            "--t-end must be finite",
        ),
        (
            "data --trajectories 1 --every 1e-9 --out d.h5",
            "shorter than dt",
        ),
        (
            "data --trajectories 1 --t-start 0 --t-end 9000 --every 0.001 --out d.h5",
            "at most 100000",
        ),
        ("eval --data d0.h5 --grids 0", "does not divide"),
        (
            "eval --data d0.h5 --samples 1 --samplers em-karras4000000000",
            "at most 1000 steps",
        ),
        (
            "calibrate --model g.bpk --data d0.h5 --first-trajectory 0 --grid 0",
            "does not divide",
        ),
        (
            "calibrate --model g.bpk --data d0.h5 --first-trajectory 0 --sampler em-karras4000000000",
            "at most 1000 steps",
        ),
        ("posterior --at inf", "outside the run"),
        ("posterior --at 29", "outside the run"),
        ("posterior --from 1e308", "--from must be"),
        (
            "les-forecast --model g.bpk --dns-n 64",
            "DNS grid must be one of",
        ),
        (
            "les-forecast --model g.bpk --dns-n 100",
            "DNS grid must be one of",
        ),
        (
            "les-forecast --model g.bpk --lead 1e9",
            "at most 1000 time units",
        ),
        (
            "les-forecast --model g.bpk --gap 1e9",
            "at most 1000 time units",
        ),
        (
            "les-forecast --model g.bpk --spin-up 1e9",
            "at most 1000 time units",
        ),
        (
            "les-forecast --model g.bpk --lead 100 --every 1e-6",
            "at most 10000 scored",
        ),
        (
            "data --trajectories 2 --store-n 128 --n 64 --out d.h5",
            "store-n",
        ),
        ("data --trajectories 2 --every 0 --out d.h5", "bad window"),
        (
            "data --trajectories 2 --t-start 10 --t-end 5 --out d.h5",
            "bad window",
        ),
        (
            "data --trajectories 2 --t-start 0.0005 --out d.h5",
            "multiples of dt",
        ),
        ("data --case les --nu=-1 --out d.h5", "ν must be ≥ 0"),
        ("data --case les --filter box --out d.h5", "unknown filter"),
        (
            "data --case les --t-start 5 --t-end 4 --out d.h5",
            "times must be",
        ),
        (
            "data --case les --dns-n 100 --out d.h5",
            "--dns-n must be one of",
        ),
        ("data --case les --shard 2/2 --out d.h5", "not a shard"),
        (
            "data --case les --trajectories 0 --out d.h5",
            "--trajectories must be",
        ),
        ("data merge --out m.h5 bad.h5", "cannot open as HDF5"),
        ("data merge --out m.h5 missing.h5", "cannot open"),
        ("data merge --out m.h5", "required"),
        (
            "train --data bad.h5 --run r --out m.bpk",
            "cannot open as HDF5",
        ),
        ("train --data missing.h5 --run r --out m.bpk", "missing.h5"),
        (
            "train --data bad.h5 --run r --out m.bpk --case x",
            "unknown closure case",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --epochs 0",
            "--epochs must be",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --batch 0",
            "--batch must be",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --lr 0",
            "--lr must be",
        ),
        ("eval --data bad.h5", "cannot open as HDF5"),
        ("eval --samples 0", "--samples must be"),
        ("eval --ensemble 0", "--ensemble must be"),
        ("eval --ensemble 1000", "--ensemble must be"),
        ("eval --sensors 5", "--sensors takes"),
        ("eval --samplers em-foo10", "unknown schedule"),
        ("eval --samplers zz-karras10", "sampler"),
        ("eval --model bad.bpk", "bad"),
        ("eval --model bad.pth", "not a PyTorch zip checkpoint"),
        ("eval --model badkey.pth", "`conv2_x.weights1`"),
        ("eval --cases q", "unknown closure case"),
        ("eval --write-cards", "--write-cards"),
        (
            "calibrate --model g.bpk --data bad.h5",
            "--first-trajectory",
        ),
        (
            "calibrate --model g.bpk --data bad.h5 --first-trajectory 0",
            "cannot open as HDF5",
        ),
        (
            "calibrate --model g16.bpk --data bad.h5 --first-trajectory 0",
            "trained at one density",
        ),
        (
            "calibrate --model bad.bpk --data bad.h5 --first-trajectory 0",
            "bad",
        ),
        (
            "calibrate --model g.bpk --data bad.h5 --first-trajectory 0 --ensemble 1",
            "--ensemble must be 2…64",
        ),
        (
            "calibrate --model g.bpk --data bad.h5 --first-trajectory 0 --samples 0",
            "--samples must be",
        ),
        (
            "calibrate --model g.bpk --data bad.h5 --first-trajectory 0 --sampler em-foo10",
            "unknown schedule",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --sample-range 0.5,0.1",
            "--sample-range takes 4",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --sample-range 0.1,0.5,0.5,0.03",
            "t_min < t_max",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --all-densities --target full",
            "--target residual",
        ),
        (
            "train --data bad.h5 --run r --out m.bpk --t-eps 0.5 --t-max 0.1",
            "--t-eps",
        ),
        ("render --preset nope --out r.gif", "unknown preset"),
        (
            "render --preset paper-g --scale 0 --out r.gif",
            "--scale 1…16",
        ),
        ("render --preset paper-g --fps 0 --out r.gif", "--fps"),
        (
            "render --preset paper-g --every 0 --out r.gif",
            "--every > 0",
        ),
        (
            "render --preset paper-g --from 5 --to 1 --out r.gif",
            "--from ≤ --to",
        ),
        (
            "render --preset paper-g --panels bogus --out r.gif",
            "unknown panel",
        ),
        (
            "render --preset paper-g --n 100 --out r.gif",
            "grid N must be one of",
        ),
        ("render --preset paper-g --panels= --out r.gif", "panel"),
        (
            "render --preset paper-g --every 1e-9 --out r.gif",
            "shorter than the time step",
        ),
        (
            "render --preset paper-g --from 1e308 --to 1e308 --out r.gif",
            "at most 10000 time units",
        ),
        (
            "render --preset les --from inf --out r.gif",
            "at most 50 time units",
        ),
        (
            "render --preset les --from 10000 --out r.gif",
            "at most 50 time units",
        ),
        (
            "render --preset les --to 1e9 --out r.gif",
            "at most 50 time units",
        ),
        (
            "render --preset paper-g --from 30 --to 1000 --every 0.01 --out r.gif",
            "frames asked for",
        ),
        (
            "gui --screenshot x.png --steps 1000000000",
            "--steps and --bench-frames must be at most",
        ),
        ("data --case les --nu 0 --out d.h5", "must be in"),
        ("data --case les --nu 1e9 --out d.h5", "must be in"),
        ("data --case les --nu 1e-30 --out d.h5", "must be in"),
        (
            "data --case les --store-n 3 --out d.h5",
            "--store-n applies",
        ),
        // sizes are checked against memory before anything is allocated
        (
            "data --trajectories 1 --n 8192 --out d.h5",
            "needs about 8.0 GiB",
        ),
        (
            "data --trajectories 1 --n 256 --store-n 256 --t-end 10000 --every 0.1 --out d.h5",
            "would hold 73.1 GiB",
        ),
        // an output that is a folder is refused before the work, not after it
        ("data --out adir.gif", "is a folder"),
        ("data --case les --out adir.gif", "is a folder"),
        ("train --data d0.h5 --run r --out adir.gif", "is a folder"),
        ("eval --data d0.h5 --json adir.gif", "is a folder"),
        ("posterior --preset nope", "unknown preset"),
        ("bench solver --sizes 3", "--sizes"),
        ("bench closure --sizes 64 --batches 1000", "--batches"),
        ("bench nothing", "unrecognized subcommand"),
        ("les-eval --spin-up=-1", "times must be finite"),
        ("les-eval --t-run 1e9", "limited to 1000"),
        ("les-eval --filter box", "unknown filter"),
        ("les-eval --dns-n 64", "at least twice the LES grid"),
        ("les-eval --nu 0.5 --dns-n 2048", "--dns-n must be between"),
        ("soak --minutes=-1", "--minutes must be"),
        ("soak --change-every 0", "--change-every"),
        ("soak --minutes 1e9", "--minutes must be"),
        ("gui --preset nope", "unknown preset"),
        ("gui --size 10x10", "window size"),
        ("frobnicate", "unrecognized subcommand"),
    ];
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (line, want) in cases {
        let args: Vec<&str> = line.split_whitespace().collect();
        let o = bin()
            .args(&args)
            .current_dir(dir.path())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
        let now: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let problem = if o.status.success() {
            Some("succeeded")
        } else if !err.contains(want) {
            Some("wrong message")
        } else if err.contains("panicked") {
            Some("panicked")
        } else if err.lines().count() != 1 || err.chars().count() > 220 {
            Some("not one short line")
        } else if now != before
            || std::fs::read_dir(dir.path().join("adir.gif"))
                .unwrap()
                .next()
                .is_some()
        {
            Some("left files behind")
        } else {
            None
        };
        if let Some(p) = problem {
            failures.push(format!("`{line}` {p} (want `{want}`): {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `eval --seed` makes the members' draws, and so every score, reproducible; another seed
/// draws other members (the scatter a single run hides).
/// Two snapshots of one published-solver trajectory at 64² (`data`, a second of CPU).
fn tiny_data(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("tiny.h5");
    let o = bin()
        .args([
            "data",
            "--trajectories",
            "1",
            "--n",
            "64",
            "--store-n",
            "64",
        ])
        .args([
            "--t-start",
            "0.1",
            "--t-end",
            "0.2",
            "--every",
            "0.1",
            "--out",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    data
}

#[test]
fn eval_rows_repeat_under_one_seed_and_move_under_another() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_data(dir.path());
    let d = data.to_str().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/closure_g.bpk");
    let eval = |seed: &str, tag: &str| -> Vec<serde_json::Value> {
        let json = dir.path().join(format!("{tag}.json"));
        let o = bin()
            .args(["eval", "--data", d, "--model", model.to_str().unwrap()])
            .args([
                "--cases",
                "g",
                "--sensors",
                "0,8",
                "--grids",
                "64",
                "--ensemble",
                "3",
            ])
            .args([
                "--samples",
                "2",
                "--samplers",
                "heun-karras3",
                "--seed",
                seed,
            ])
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        rows.into_iter()
            .filter(|r| r["model"] == "closure_g")
            .map(|mut r| {
                r["ms_per_sample"] = serde_json::Value::Null;
                r
            })
            .collect()
    };
    let (a, b, c) = (eval("3", "a"), eval("3", "b"), eval("4", "c"));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "same seed, same rows");
    assert!(
        a.iter().zip(&c).all(|(x, y)| x["spread"] != y["spread"]),
        "another seed draws other members"
    );
}

/// `calibrate --write-card` adds or replaces the table of its sampler kind and step count
/// and keeps the others.
#[test]
fn calibrate_writes_the_table_of_its_sampler_and_steps_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_data(dir.path());
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let model = dir.path().join("g.bpk");
    std::fs::copy(assets.join("closure_g.bpk"), &model).unwrap();
    std::fs::copy(assets.join("closure_g.json"), dir.path().join("g.json")).unwrap();
    std::fs::copy(
        assets.join("closure_g.flow.bpk"),
        dir.path().join("g.flow.bpk"),
    )
    .unwrap();
    let card = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join("g.json")).unwrap()).unwrap()
    };
    let calibrate = |sampler: &str| {
        let o = bin()
            .args(["calibrate", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .args([
                "--first-trajectory",
                "0",
                "--samples",
                "2",
                "--ensemble",
                "2",
            ])
            .args(["--sampler", sampler, "--write-card"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let shipped = card();
    let key = |t: &serde_json::Value| (t["sampler"].clone(), t["steps"].clone());
    let tables = |c: &serde_json::Value| -> Vec<serde_json::Value> {
        c["inflation"].as_array().unwrap().clone()
    };
    // a step count the card has no table for: added, the others kept
    calibrate("heun-karras4");
    let added = card();
    assert_eq!(tables(&added).len(), tables(&shipped).len() + 1);
    let new: Vec<_> = tables(&added)
        .into_iter()
        .filter(|t| !tables(&shipped).contains(t))
        .collect();
    assert_eq!(new.len(), 1, "only the fitted table is new");
    assert_eq!(key(&new[0]), ("heun".into(), 4.into()));
    let fitted = new[0]["fitted_on"].as_str().unwrap();
    assert!(
        fitted.contains("heun-karras4") && fitted.contains("2 states"),
        "{fitted}"
    );
    // one it has: replaced in place, the others kept
    calibrate("em-karras10");
    let refit = card();
    assert_eq!(tables(&refit).len(), tables(&added).len());
    let changed: Vec<_> = tables(&refit)
        .into_iter()
        .filter(|t| !tables(&added).contains(t))
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(key(&changed[0]), ("euler-maruyama".into(), 10.into()));
}

/// `calibrate` and `posterior` with a learned model: the same seed gives the same numbers,
/// another seed other ones.
#[test]
fn calibrate_and_posterior_repeat_under_one_seed() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_data(dir.path());
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/closure_g.bpk");
    let calibrate = |seed: &str, tag: &str| -> Vec<u8> {
        let json = dir.path().join(format!("{tag}.json"));
        let o = bin()
            .args(["calibrate", "--model", model.to_str().unwrap(), "--data"])
            .arg(&data)
            .args([
                "--first-trajectory",
                "0",
                "--samples",
                "2",
                "--ensemble",
                "2",
            ])
            .args([
                "--grid",
                "64",
                "--sampler",
                "flow-1",
                "--seed",
                seed,
                "--json",
            ])
            .arg(&json)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(&json).unwrap()
    };
    assert_eq!(
        calibrate("5", "a"),
        calibrate("5", "b"),
        "calibrate: same seed"
    );
    assert_ne!(
        calibrate("5", "a"),
        calibrate("6", "c"),
        "calibrate: another seed"
    );
    let posterior = |seed: &str| -> Vec<String> {
        let o = bin()
            .args([
                "posterior",
                "--preset",
                "paper-g",
                "--n",
                "64",
                "--from",
                "0",
            ])
            .args(["--at", "0.05", "--sampler", "flow-1", "--seed", seed])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // the table (the header line says the wall time)
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with('|'))
            .map(String::from)
            .collect()
    };
    let first = posterior("3");
    assert!(first.len() >= 3, "{first:?}");
    assert_eq!(first, posterior("3"), "posterior: same seed");
    assert_ne!(first, posterior("4"), "posterior: another seed");
}
