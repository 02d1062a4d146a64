//! Ctrl-C in the middle of every long command: the command stops with a non-zero status
//! and one readable line, and leaves behind only its documented resumable form (a data
//! job's `OUT.parts/`, a training run's checkpoint folder, `les-eval --run`'s finished
//! runs) — no partial output, no temporary file, no empty folder.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_closure-lab");

fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn interrupted_commands_leave_only_their_resumable_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("inputs");
    std::fs::create_dir(&d).unwrap();
    use crate::support::{asset, published, subgrid};
    let input = |p: std::path::PathBuf| p.display().to_string();
    let (g, les_sto, les_det) = (
        asset("closure_g.bpk"),
        asset("les_stochastic.bpk"),
        asset("les_deterministic.bpk"),
    );
    let pubh5 = input(published(&d, "pub.h5", 2, 32, 16));
    let les32 = input(subgrid(&d, "les32.h5", 32, 2, false));
    let les64 = input(subgrid(&d, "les64.h5", 64, 2, true));
    // (command line, what may stay: its documented resumable form)
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "data",
                "--trajectories",
                "2",
                "--n",
                "128",
                "--store-n",
                "16",
                "--t-start",
                "0",
                "--t-end",
                "600",
                "--every",
                "1",
                "--out",
                "d.h5",
            ],
            &["d.h5.parts"],
        ),
        (
            vec![
                "data",
                "--case",
                "les",
                "--dns-n",
                "128",
                "--les-n",
                "32",
                "--trajectories",
                "1",
                "--t-start",
                "0.05",
                "--t-end",
                "50",
                "--every",
                "0.05",
                "--out",
                "l.h5",
            ],
            &["l.h5.parts"],
        ),
        (
            vec![
                "train",
                "--data",
                &pubh5,
                "--run",
                "r",
                "--out",
                "m.bpk",
                "--epochs",
                "1000",
                "--grid",
                "16",
                "--val-trajectories",
                "1",
            ],
            &["r"],
        ),
        (
            vec![
                "les-train",
                "--data",
                &les32,
                "--run",
                "r",
                "--out",
                "m.bpk",
                "--kind",
                "deterministic",
                "--epochs",
                "1000",
            ],
            &["r"],
        ),
        (
            vec![
                "distill",
                "--teacher",
                &les_sto,
                "--data",
                &les64,
                "--run",
                "r",
                "--out",
                "m.bpk",
                "--epochs",
                "1000",
            ],
            &["r"],
        ),
        (
            vec![
                "les-eval",
                "--nu",
                "1e-3",
                "--dns-n",
                "64",
                "--les-n",
                "32",
                "--spin-up",
                "0.05",
                "--t-run",
                "500",
                "--json",
                "j.json",
                "--run",
                "runs",
            ],
            &["runs"],
        ),
        (
            vec![
                "les-forecast",
                "--model",
                &les_det,
                "--dns-n",
                "128",
                "--spin-up",
                "0.05",
                "--starts",
                "1",
                "--members",
                "2",
                "--lead",
                "500",
                "--json",
                "f.json",
            ],
            &[],
        ),
        (
            vec![
                "les-apriori",
                "--model",
                &les_sto,
                "--data",
                &les64,
                "--stride",
                "1",
                "--ensemble",
                "64",
                "--sampler",
                "em-karras1000",
                "--json",
                "a.json",
            ],
            &[],
        ),
        (
            vec![
                "eval",
                "--data",
                &pubh5,
                "--model",
                &g,
                "--samples",
                "4",
                "--ensemble",
                "64",
                "--grids",
                "16",
                "--sensors",
                "0",
                "--samplers",
                "em-karras1000",
                "--json",
                "e.json",
            ],
            &[],
        ),
        (
            vec![
                "calibrate",
                "--model",
                &g,
                "--data",
                &pubh5,
                "--first-trajectory",
                "0",
                "--ensemble",
                "64",
                "--grid",
                "16",
                "--sampler",
                "em-karras1000",
                "--json",
                "c.json",
            ],
            &[],
        ),
        (
            vec![
                "render", "--preset", "decaying", "--from", "0", "--to", "90", "--every", "0.01",
                "--out", "r.gif",
            ],
            &[],
        ),
        (
            vec![
                "render", "--preset", "decaying", "--from", "0", "--to", "90", "--every", "0.01",
                "--out", "r.mp4",
            ],
            &[],
        ),
        (
            vec!["run", "--n", "256", "--t-end", "1000", "--out", "w"],
            &[],
        ),
        (
            vec![
                "posterior",
                "--preset",
                "decaying",
                "--from",
                "0",
                "--at",
                "900",
            ],
            &[],
        ),
    ];
    let mut failures = Vec::new();
    for (args, keep) in &cases {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(w)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // let it get into its work
        std::thread::sleep(Duration::from_secs(4));
        if child.try_wait().unwrap().is_some() {
            let o = child.wait_with_output().unwrap();
            failures.push(format!(
                "{args:?} ended before the signal: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
            continue;
        }
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let t0 = Instant::now();
        while child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            failures.push(format!("{args:?}: still running 60 s after Ctrl-C"));
            continue;
        }
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.trim().lines().last().unwrap_or("").to_string();
        if o.status.success() || err.contains("panicked") || !last.contains("interrupted") {
            failures.push(format!(
                "{args:?}: status {:?}, last line `{last}`",
                o.status.code()
            ));
        }
        let left: Vec<String> = entries(w)
            .into_iter()
            .filter(|e| !keep.contains(&e.as_str()))
            .collect();
        if !left.is_empty() {
            failures.push(format!("{args:?} left {left:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
