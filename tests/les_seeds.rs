//! `les-eval` over seeds as a user runs it: a coarse LES grid, several seeds, a run folder
//! that resumes, and the summary over seeds read back from the stored runs.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_closure-lab"))
}

fn run(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn les_eval_over_seeds_on_a_coarse_grid_resumes_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("runs");
    let json = dir.path().join("rows.json");
    let (folder_s, json_s) = (folder.to_str().unwrap(), json.to_str().unwrap());
    let small = [
        "les-eval",
        "--nu",
        "1e-3",
        "--dns-n",
        "64",
        "--les-n",
        "32",
        "--spin-up",
        "0.1",
        "--t-run",
        "0.6",
        "--seed",
        "3",
        "--seeds",
        "2",
        "--run",
        folder_s,
    ];
    let first = run(&[&small[..], &["--json", json_s]].concat());
    // the summary over seeds: every closure with 2 runs, paired against none
    assert!(
        first.contains("| 1.0e-3 | 64² → 32² | none | 2 |"),
        "{first}"
    );
    assert!(first.contains("smagorinsky | 2 |"), "{first}");
    assert!(first.contains(" ΔE − none |"), "{first}");
    let runs = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path().to_str().unwrap().to_string())
            .filter(|p| p.ends_with(".json"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(runs().len(), 2, "one file per (seed, ν)");
    // the folder and the JSON carry the spec that made them
    assert!(folder.join("spec.toml").exists());
    let beside = std::fs::read_to_string(dir.path().join("rows.json.spec.toml")).unwrap();
    assert!(
        beside.contains("[les-eval]") && beside.contains("seeds = 2"),
        "{beside}"
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let seeds: std::collections::BTreeSet<u64> =
        rows.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [3, 4].into());
    assert!(rows.iter().all(|r| r["les_n"] == 32));
    // the drain each run felt: nothing without a closure, a drain with every other; the
    // oracle's run drifts from the filtered DNS (Π is held over the step's stages), so
    // the true Π against the run's state is near the a-priori drain, not equal to it
    for r in &rows {
        let (run, truth) = (
            r["p_z_run"].as_f64().unwrap(),
            r["p_z_true"].as_f64().unwrap(),
        );
        match r["closure"].as_str().unwrap() {
            "none" => assert_eq!(run, 0.0, "{r}"),
            "oracle" => assert!(run < 0.0 && (run - truth).abs() <= 0.5 * truth.abs(), "{r}"),
            _ => assert!(run < 0.0, "{r}"),
        }
    }
    // again: nothing is run, the same table comes back
    let again = run(&small);
    assert!(again.contains("2 of 2 runs already in"), "{again}");
    let table = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with('|'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&first), table(&again));
    // the stored runs summarised without running
    let summarised = run(&["les-eval", "--summarize", &runs().join(",")]);
    assert_eq!(table(&summarised), table(&first));
    // other settings into the same folder are refused, not mixed
    let o = bin()
        .args(small)
        .args(["--filter", "gaussian"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("made with other settings"),
        "{err}"
    );
}

#[test]
fn learned_closures_refuse_a_grid_or_a_mean_they_cannot_serve() {
    let root = env!("CARGO_MANIFEST_DIR");
    let stochastic = format!("{root}/assets/les_stochastic.bpk");
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["les-eval", "--les-n", "32", "--model", &stochastic],
            "trained on the 64² LES grid, not 32²",
        ),
        (
            vec![
                "les-eval",
                "--model",
                &stochastic,
                "--drain-mean",
                &stochastic,
            ],
            "it must be deterministic",
        ),
        (vec!["les-eval", "--drain-mean", &stochastic], "none given"),
    ];
    for (args, want) in cases {
        let o = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: expected `{want}` in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    }
}
