//! The hostile table generated from the option definitions: every numeric option of every
//! command, set to a value a user should not give (NaN, ±∞, 10³⁰⁸, −1, 0, the type's
//! maximum), on a cheap valid command line, under an 8 GiB address-space limit. Each run
//! must end within its time limit without a panic; a refusal is one line. The table is
//! built from clap's definitions, so a new option is covered when it is added.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::CommandFactory;
use closure_lab::cli::Cli;

const BIN: &str = env!("CARGO_BIN_EXE_closure-lab");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Seconds a run may take: a cheap command line finishes in a few; a hostile value that
/// starts unbounded work is caught here.
const LIMIT_S: u64 = 40;

fn run(args: &[String], dir: &Path) -> (Option<i32>, String, Duration) {
    let t0 = Instant::now();
    // the address-space limit turns an unbounded allocation into a failure on any machine
    let o = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            &LIMIT_S.to_string(),
            "sh",
            "-c",
            "ulimit -v 8388608; exec \"$0\" \"$@\"",
            BIN,
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).trim().to_string(),
        t0.elapsed(),
    )
}

/// A cheap, valid command line for each command (flag → value; `""` for a switch).
fn baselines(
    pubh5: &str,
    les32: &str,
    les64: &str,
) -> Vec<(Vec<&'static str>, Vec<(String, String)>)> {
    let g = format!("{ROOT}/assets/closure_g.bpk");
    let les_det = format!("{ROOT}/assets/les_deterministic.bpk");
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    vec![
        (vec!["gui"], kv(&[("steps", "2")])),
        (
            vec!["run"],
            kv(&[("n", "32"), ("t-end", "0.01"), ("out", "w")]),
        ),
        (
            vec!["data"],
            kv(&[
                ("trajectories", "1"),
                ("n", "32"),
                ("store-n", "16"),
                ("t-start", "0"),
                ("t-end", "0.02"),
                ("every", "0.01"),
                ("out", "d.h5"),
            ]),
        ),
        (
            vec!["train"],
            kv(&[
                ("data", pubh5),
                ("run", "r"),
                ("out", "m.bpk"),
                ("epochs", "1"),
                ("grid", "16"),
            ]),
        ),
        (
            vec!["eval"],
            kv(&[
                ("data", pubh5),
                ("model", &g),
                ("samples", "1"),
                ("ensemble", "2"),
                ("grids", "16"),
                ("sensors", "0"),
                ("samplers", "flow-1"),
            ]),
        ),
        (
            vec!["calibrate"],
            kv(&[
                ("model", &g),
                ("data", pubh5),
                ("first-trajectory", "0"),
                ("samples", "1"),
                ("ensemble", "2"),
                ("grid", "16"),
            ]),
        ),
        (
            vec!["les-eval"],
            kv(&[
                ("nu", "1e-3"),
                ("dns-n", "64"),
                ("les-n", "32"),
                ("spin-up", "0.05"),
                ("t-run", "0.6"),
            ]),
        ),
        (
            vec!["les-train"],
            kv(&[
                ("data", les32),
                ("run", "r"),
                ("out", "m.bpk"),
                ("kind", "deterministic"),
                ("epochs", "1"),
            ]),
        ),
        (
            vec!["distill"],
            kv(&[
                ("teacher", &format!("{ROOT}/assets/les_stochastic.bpk")),
                ("data", les64),
                ("run", "r"),
                ("out", "d.bpk"),
                ("epochs", "1"),
                ("draws", "1"),
                ("max-samples", "2"),
                ("teacher-sampler", "heun-karras3"),
            ]),
        ),
        (
            vec!["les-apriori"],
            kv(&[
                ("data", les64),
                ("model", &les_det),
                ("stride", "1"),
                ("ensemble", "2"),
            ]),
        ),
        (
            vec!["les-forecast"],
            kv(&[
                ("model", &les_det),
                ("dns-n", "128"),
                ("spin-up", "0.05"),
                ("starts", "1"),
                ("gap", "0.05"),
                ("members", "2"),
                ("lead", "0.02"),
                ("every", "0.01"),
            ]),
        ),
        (
            vec!["posterior"],
            kv(&[
                ("preset", "decaying"),
                ("n", "64"),
                ("from", "0"),
                ("at", "0.01"),
            ]),
        ),
        (
            vec!["render"],
            kv(&[
                ("preset", "decaying"),
                ("from", "0"),
                ("to", "0.02"),
                ("every", "0.01"),
                ("out", "r.gif"),
            ]),
        ),
        (
            vec!["bench", "solver"],
            kv(&[("sizes", "16"), ("seconds", "0.01")]),
        ),
        (
            vec!["bench", "closure"],
            kv(&[("sizes", "16"), ("batches", "1"), ("seconds", "0.01")]),
        ),
        (
            vec!["soak"],
            kv(&[
                ("minutes", "0.01"),
                ("change-every", "1"),
                ("check-every", "1"),
            ]),
        ),
    ]
}

fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn hostile_values(arg: &clap::Arg) -> Vec<String> {
    use std::any::TypeId;
    let id = arg.get_value_parser().type_id();
    let is = |t: TypeId| id == t;
    if is(TypeId::of::<f64>()) || is(TypeId::of::<f32>()) {
        ["NaN", "inf", "-inf", "1e308", "-1", "0"]
            .map(String::from)
            .to_vec()
    } else if is(TypeId::of::<usize>()) || is(TypeId::of::<u64>()) {
        vec!["0".into(), u64::MAX.to_string(), "-1".into()]
    } else if is(TypeId::of::<u32>()) {
        vec!["0".into(), u32::MAX.to_string()]
    } else {
        vec![]
    }
}

#[test]
fn every_numeric_option_refuses_or_survives_hostile_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // published 32² → 16², subgrid 32² and 64² (two trajectories each)
    let pubh5 = crate::support::published(d, "pub.h5", 2, 32, 16);
    let les32 = crate::support::subgrid(d, "les32.h5", 32, 2, false);
    let les64 = crate::support::subgrid(d, "les64.h5", 64, 2, true);
    let (pubh5, les32, les64) = (
        pubh5.display().to_string(),
        les32.display().to_string(),
        les64.display().to_string(),
    );
    let cli = Cli::command();
    // a seed is any u64: its maximum is a valid seed
    let any_value = |flag: &str, v: &str| flag.contains("seed") && v != "-1";
    let mut cases = 0;
    let mut per_command: Vec<(String, usize)> = Vec::new();
    let mut failures = Vec::new();
    let t_all = Instant::now();
    for (path, base) in baselines(&pubh5, &les32, &les64) {
        per_command.push((path.join(" "), cases));
        let cmd = path
            .iter()
            .try_fold(&cli, |c, n| c.find_subcommand(n))
            .unwrap();
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            for value in hostile_values(arg) {
                if any_value(long, &value) {
                    continue;
                }
                let mut args: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                for (k, v) in base.iter().filter(|(k, _)| k != long) {
                    args.push(format!("--{k}"));
                    if !v.is_empty() {
                        args.push(v.clone());
                    }
                }
                args.push(format!("--{long}={value}"));
                let case = tempfile::tempdir_in(d).unwrap();
                let (code, err, took) = run(&args, case.path());
                cases += 1;
                let line = args.join(" ");
                match code {
                    None | Some(137) => failures.push(format!(
                        "{line}: still running after {LIMIT_S} s (or killed)"
                    )),
                    _ if err.contains("panicked") => failures.push(format!("{line}: panic: {err}")),
                    Some(0) => {}
                    Some(_) if err.lines().count() != 1 => {
                        failures.push(format!("{line}: not one line: {err}"))
                    }
                    // a number is said as a person reads it: 1e308, not 309 digits
                    Some(_) if longest_digit_run(&err) > 20 => {
                        failures.push(format!("{line}: a number dumped in full: {err}"))
                    }
                    Some(_) => {}
                }
                if took > Duration::from_secs(15) {
                    eprintln!("slow ({:.0} s): {line}", took.as_secs_f64());
                }
            }
        }
    }
    eprintln!(
        "{cases} hostile cases in {:.0} s: {}",
        t_all.elapsed().as_secs_f64(),
        per_command
            .iter()
            .enumerate()
            .map(|(i, (c, start))| {
                let end = per_command.get(i + 1).map_or(cases, |n| n.1);
                format!("{c} {}", end - start)
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(cases >= 200, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
