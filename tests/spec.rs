//! Experiments as files: every command's `--print-config` is a spec that `--config` runs
//! to the same settings; flags win over the file; a bad file gives one line naming the
//! key; outputs carry the spec that made them.

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_closure-lab"))
}

fn ok(o: Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what} failed: {err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn print_config(args: &[&str]) -> String {
    let o = bin().args(args).arg("--print-config").output().unwrap();
    ok(o, &format!("{args:?} --print-config"))
}

#[test]
fn every_command_round_trips_through_its_printed_spec() {
    let dir = tempfile::tempdir().unwrap();
    // each command with its required settings (and one changed default)
    let commands: [&[&str]; 15] = [
        &["gui", "--steps", "7"],
        &["run", "--n", "64", "--t-end", "1", "--out", "w.npy"],
        &["data", "--out", "d.h5", "--trajectories", "3"],
        &["train", "--data", "d.h5", "--run", "r", "--out", "m.bpk"],
        &[
            "distill",
            "--teacher",
            "m.bpk",
            "--data",
            "a.h5,b.h5",
            "--run",
            "r",
            "--out",
            "o.bpk",
        ],
        &["eval", "--sensors", "0,4"],
        &[
            "calibrate",
            "--model",
            "m.bpk",
            "--data",
            "d.h5",
            "--first-trajectory",
            "0",
        ],
        &[
            "les-eval",
            "--nu",
            "2e-4,3e-4",
            "--seeds",
            "4",
            "--les-n",
            "32",
        ],
        &[
            "les-train",
            "--data",
            "d.h5",
            "--run",
            "r",
            "--out",
            "m.bpk",
            "--kind",
            "deterministic",
        ],
        &["les-apriori", "--data", "d.h5", "--stride", "3"],
        &["les-forecast", "--model", "m.bpk", "--nu", "4e-4"],
        &["posterior", "--at", "35,40"],
        &["render", "--out", "m.gif", "--preset", "les"],
        &["bench", "closure", "--sizes", "64"],
        &["soak", "--minutes", "2"],
    ];
    for args in commands {
        let printed = print_config(args);
        let name = args[0];
        let table: toml::Table = printed
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}\n{printed}"));
        assert!(
            table.contains_key(name) && table.contains_key("provenance"),
            "{printed}"
        );
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, &printed).unwrap();
        // a nested command (bench closure) is named again
        let nested: Vec<&str> = args
            .iter()
            .copied()
            .take_while(|a| !a.starts_with("--"))
            .collect();
        let again = print_config(&[&nested[..], &["--config", file.to_str().unwrap()]].concat());
        assert_eq!(printed, again, "{name}: the spec does not round-trip");
    }
    // a required setting left out is named as such
    let bare = print_config(&["data"]);
    assert!(bare.contains("# out =   (required"), "{bare}");
}

#[test]
fn flags_win_over_the_file_and_bad_files_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.toml");
    let f = file.to_str().unwrap();
    std::fs::write(
        &file,
        print_config(&["les-eval", "--seeds", "2", "--nu", "1e-3"]),
    )
    .unwrap();
    let over = print_config(&["les-eval", "--config", f, "--seeds", "5"]);
    assert!(
        over.contains("seeds = 5") && over.contains("nu = [0.001]"),
        "{over}"
    );
    let write = |body: &str| {
        std::fs::write(
            &file,
            format!("[provenance]\nprogram = \"x\"\n\n[les-eval]\nnu = [1e-3]\n{body}\n"),
        )
        .unwrap();
    };
    let cases = [
        ("bogus = 2", "line 6: unknown key `bogus`"),
        ("dns-n = \"x\"", "line 6: invalid value 'x' for '--dns-n"),
        ("dns-n = [1, 2]", "key `dns-n`: expected one value"),
        (
            "dns-n = 2000",
            "--dns-n must be between 64 and 1024, got 2000 (dns-n is from",
        ),
        (
            "seeds = 0",
            "--seeds must be 1…1000 (and the last seed a u64) (seeds is from",
        ),
        ("[les-evl]", "`les-evl` is not a command's table"),
        ("nu = [", "line 6"),
    ];
    for (body, want) in cases {
        write(body);
        let o = bin().args(["les-eval", "--config", f]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{body}: succeeded");
        assert!(err.contains(want), "{body}: expected `{want}` in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{body}: one line: {err}");
        assert!(
            err.contains(f) || want.starts_with("--"),
            "{body}: names the file: {err}"
        );
    }
    write("");
    let o = bin().args(["data", "--config", f]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("has no [data] table") && err.contains("[les-eval]"),
        "{err}"
    );
}

/// The `spec` string attribute of an HDF5 file.
fn h5_spec(path: &Path) -> String {
    use hdf5_metno as hdf5;
    let f = hdf5::File::open(path).unwrap();
    let v: hdf5::types::VarLenUnicode = f.attr("spec").unwrap().read_scalar().unwrap();
    v.as_str().to_string()
}

#[test]
fn data_files_and_model_cards_carry_the_spec_that_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let (data, model, run) = (p("t.h5"), p("m.bpk"), p("r"));
    let data_args = [
        "data",
        "--case",
        "les",
        "--dns-n",
        "128",
        "--les-n",
        "32",
        "--trajectories",
        "2",
        "--t-start",
        "0.1",
        "--t-end",
        "0.2",
        "--every",
        "0.05",
        "--out",
        &data,
    ];
    ok(bin().args(data_args).output().unwrap(), "data");
    let spec = h5_spec(Path::new(&data));
    let table: toml::Table = spec.parse().unwrap();
    assert_eq!(table["data"]["les-n"].as_integer(), Some(32), "{spec}");
    assert_eq!(table["data"]["out"].as_str(), Some(data.as_str()));
    assert!(
        table["provenance"]["git"]
            .as_str()
            .is_some_and(|g| !g.is_empty())
    );
    // the stored spec runs again to the same settings
    let file = p("again.toml");
    std::fs::write(&file, &spec).unwrap();
    assert_eq!(print_config(&["data", "--config", &file]), spec);
    let train = [
        "les-train",
        "--data",
        &data,
        "--kind",
        "deterministic",
        "--epochs",
        "1",
        "--run",
        &run,
        "--out",
        &model,
    ];
    ok(bin().args(train).output().unwrap(), "les-train");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("m.json")).unwrap()).unwrap();
    let spec = card["spec"].as_str().expect("the card's spec");
    assert!(
        spec.contains("[les-train]") && spec.contains("kind = \"deterministic\""),
        "{spec}"
    );
    // the card still loads as a model
    closure_lab::les::learn::model::LesModel::load(
        Path::new(&model),
        &burn::tensor::Device::flex(),
    )
    .unwrap();
}

#[test]
fn presets_are_spec_files_embedded_in_the_binary() {
    use closure_lab::experiment::presets::{self, PresetId};
    use closure_lab::experiment::spec;
    use strum::IntoEnumIterator;
    for id in PresetId::iter() {
        let p = presets::get(id);
        assert_eq!(p.id, id);
        assert!(!p.title.is_empty() && !p.description.is_empty(), "{id}");
        // the preset's file is a spec the app opens like a saved one
        assert_eq!(
            spec::read(presets::file(id)).unwrap(),
            (id, p.config.clone())
        );
        // and the spec the app saves from it reads back as the same experiment
        assert_eq!(
            spec::read(&spec::write(id, &p.config)).unwrap(),
            (id, p.config)
        );
    }
    // the subgrid preset runs on the grids of the shipped models
    let les = presets::get(PresetId::Les).config;
    let flow = closure_lab::les::LesFlow::default();
    assert_eq!(
        (les.n, les.dns_n, les.nu, les.dt),
        (flow.les_n, flow.dns_n, flow.nu, flow.dt)
    );
    // a broken preset file says what is wrong
    let paper = presets::file(PresetId::PaperG);
    for (text, says) in [
        (paper.replace("spin-up", "spinup"), "spinup"),
        (paper.replace("case=G", "case=Q"), "case=Q"),
        (paper.replace("paper-g\"", "paper-x\""), "paper-x"),
        (paper.replace("30.0", "inf"), "spin-up"),
    ] {
        let e = presets::parse(&text).unwrap_err();
        assert!(e.contains(says), "{says}: {e}");
    }
}

/// Every spec in `experiments/` still resolves: its command exists, every key is a flag
/// of it and every value parses as that flag's type (`--print-config` runs the parser;
/// ranges are the command's own check, when it runs).
#[test]
fn every_spec_in_experiments_resolves() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        // the command: the first table other than provenance; nested ones are dotted
        let (name, table) = doc
            .iter()
            .find(|(k, _)| *k != "provenance")
            .unwrap_or_else(|| panic!("{}: no command table", path.display()));
        let mut args = vec![name.clone()];
        if name == "bench" {
            let sub = table.as_table().unwrap().keys().next().unwrap();
            args.push(sub.clone());
        }
        let o = bin()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .args(["--config", path.to_str().unwrap(), "--print-config"])
            .output()
            .unwrap();
        ok(o, &path.display().to_string());
        n += 1;
    }
    assert!(n >= 30, "only {n} specs");
}
