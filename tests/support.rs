//! Small data files the command-line tests feed to the commands, made by the `data`
//! command itself (one recipe each, so every test reads the same kind of file).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_closure-lab"))
}

/// A shipped file under `assets/`.
pub fn asset(name: &str) -> String {
    format!("{}/assets/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Run `closure-lab args` in `dir`; it must succeed.
pub fn made(dir: &Path, args: &[&str]) {
    let o = bin().args(args).current_dir(dir).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Published-layout data in `dir/name`: `trajectories` of an `n`² run stored at `store`²,
/// snapshots every 0.01 from 0 to 0.05 (6 per trajectory).
pub fn published(dir: &Path, name: &str, trajectories: usize, n: usize, store: usize) -> PathBuf {
    let (t, n, s) = (trajectories.to_string(), n.to_string(), store.to_string());
    made(
        dir,
        &[
            "data",
            "--trajectories",
            &t,
            "--n",
            &n,
            "--store-n",
            &s,
            "--t-start",
            "0",
            "--t-end",
            "0.05",
            "--every",
            "0.01",
            "--out",
            name,
        ],
    );
    dir.join(name)
}

/// Subgrid data in `dir/name`: `trajectories` of a 128² DNS filtered to `les_n`², three
/// snapshots from t = 0.05 every 0.05 (two with `short`).
pub fn subgrid(dir: &Path, name: &str, les_n: usize, trajectories: usize, short: bool) -> PathBuf {
    let (t, l) = (trajectories.to_string(), les_n.to_string());
    let end = if short { "0.1" } else { "0.15" };
    made(
        dir,
        &[
            "data",
            "--case",
            "les",
            "--dns-n",
            "128",
            "--les-n",
            &l,
            "--trajectories",
            &t,
            "--t-start",
            "0.05",
            "--t-end",
            end,
            "--every",
            "0.05",
            "--out",
            name,
        ],
    );
    dir.join(name)
}

/// `train` flags of a tiny score network on 32² published-layout data (`layers` Fourier
/// layers in every pipeline; one held-out trajectory, two validation samples): a run of
/// seconds.
pub fn tiny_net(layers: &'static str) -> [&'static str; 16] {
    [
        "--width",
        "8",
        "--modes",
        "4",
        "--layers",
        layers,
        "--x-layers",
        layers,
        "--grid",
        "32",
        "--val-trajectories",
        "1",
        "--val-samples",
        "2",
        "--batch",
        "4",
    ]
}

/// Run a test's `body` in a process of its own: this test binary again, asked for the
/// one test `name` (`module::test`). burn's CPU random numbers are one process-wide
/// stream, and tests that draw without holding [`crate::global_rng`] (a window playing a
/// learned closure, an experiment's worker) move it under a test that seeds it and
/// expects the same bits twice; alone in its process nothing else draws.
pub fn in_own_process(name: &str, body: impl FnOnce()) {
    const KEY: &str = "CLOSURE_LAB_TEST_ALONE";
    if std::env::var(KEY).as_deref() == Ok(name) {
        return body();
    }
    let exe = std::env::current_exe().unwrap();
    let o = Command::new(exe)
        .args([name, "--exact", "--test-threads=1"])
        .env(KEY, name)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("1 passed"),
        "{name} in its own process:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
