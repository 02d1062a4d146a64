//! Experiments as files: a TOML spec holds one table per command (`[les-eval]`,
//! `[render]`, …) whose keys are the command's flags without the dashes.
//!
//! `closure-lab <command> --config F.toml` runs the command with the file's settings; a
//! flag also given on the command line wins. The file is turned into flags and parsed by
//! the same clap definitions as the command line, so every value is checked by the one
//! parser; errors in the file name the file, the line and the key. `--print-config`
//! prints the fully resolved spec (defaults filled in) and exits, and every command that
//! writes files leaves the resolved spec with them ([`stamp`]).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{ArgAction, ArgMatches, CommandFactory};

use super::Cli;

/// The table of a spec file that says where it came from; ignored when a spec is read.
pub const PROVENANCE: &str = "provenance";

/// Arguments every command has that are not settings of the experiment.
const NOT_SETTINGS: [&str; 4] = ["help", "version", "config", "print_config"];

/// Largest spec file read (a spec is a few hundred bytes).
const MAX_SPEC_BYTES: u64 = 1 << 20;

/// Where each setting taken from a spec file stands (`--key` → `FILE line L`), so an
/// error about a value names the file's line.
#[derive(Default)]
pub struct FromFile(Vec<(String, String)>);

impl FromFile {
    /// `message` with the file and line of each flag it names that came from the file.
    pub(crate) fn locate(&self, message: &str) -> String {
        let named: Vec<String> = self
            .0
            .iter()
            .filter(|(flag, _)| {
                message.match_indices(flag.as_str()).any(|(i, _)| {
                    let next = message[i + flag.len()..].chars().next();
                    !next.is_some_and(|c| c.is_alphanumeric() || c == '-')
                })
            })
            .map(|(flag, at)| format!("{} is from {at}", flag.trim_start_matches('-')))
            .collect();
        if named.is_empty() {
            message.to_string()
        } else {
            format!("{message} ({})", named.join("; "))
        }
    }
}

/// The command line with the settings of `--config F` (if given) put in front of the
/// flags the user typed, so the typed ones win, and where each came from. Returns the
/// command line unchanged when there is no `--config`.
pub(crate) fn merged_args(args: Vec<OsString>) -> Result<(Vec<OsString>, FromFile)> {
    let cmd = Cli::command();
    // a first, lenient look: which command, which file, which flags were typed
    let loose = cmd
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&args)
        .ok();
    let unchanged = |args| Ok((args, FromFile::default()));
    let Some(loose) = loose else {
        return unchanged(args);
    };
    let (path, sub) = innermost(&loose);
    if path.is_empty() {
        return unchanged(args);
    }
    let name = path.join(".");
    let name = name.as_str();
    let Some(file) = sub.get_one::<PathBuf>("config").cloned() else {
        return unchanged(args);
    };
    let Some(command) = find(&cmd, &path) else {
        return unchanged(args);
    };
    let typed: BTreeSet<String> = command
        .get_arguments()
        .filter(|a| {
            sub.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|a| a.get_id().to_string())
        .collect();
    let text = read_spec(&file)?;
    let table = command_table(&cmd, &file, &text, &path)?;
    let mut from_file = Vec::new();
    let mut located = FromFile::default();
    for (key, value) in &table {
        let arg = command
            .get_arguments()
            .find(|a| {
                a.get_long() == Some(key.as_str()) && !NOT_SETTINGS.contains(&a.get_id().as_str())
            })
            .ok_or_else(|| {
                let known: Vec<&str> = settings(command).filter_map(|a| a.get_long()).collect();
                anyhow::anyhow!(
                    "{}: unknown key `{key}` in [{name}] (known: {})",
                    at(&file, &text, name, key),
                    known.join(", ")
                )
            })?;
        if typed.contains(arg.get_id().as_str()) {
            continue;
        }
        located
            .0
            .push((format!("--{key}"), at(&file, &text, name, key)));
        from_file.extend(
            tokens(arg, value).map_err(|e| {
                anyhow::anyhow!("{}: key `{key}`: {e}", at(&file, &text, name, key))
            })?,
        );
    }
    // the file's settings alone must parse (a required one may come typed)
    let alone = std::iter::once(OsString::from("closure-lab"))
        .chain(path.iter().map(OsString::from))
        .chain(from_file.iter().cloned());
    if let Err(e) = lenient(cmd.clone()).try_get_matches_from(alone) {
        let msg = super::parse_error_line(&e);
        let msg = msg.trim_start_matches("error: ").to_string();
        let key = table
            .keys()
            .find(|k| msg.contains(&format!("--{k}")))
            .cloned()
            .unwrap_or_default();
        bail!("{}: {msg}", at(&file, &text, name, &key));
    }
    // closure-lab <command> <file's flags> <typed flags>
    let mut position = 0;
    for part in &path {
        position = args[position..]
            .iter()
            .position(|a| a.to_str() == Some(part.as_str()))
            .map_or(args.len(), |p| position + p + 1);
    }
    let mut out: Vec<OsString> = args[..position].to_vec();
    out.extend(from_file);
    out.extend_from_slice(&args[position..]);
    Ok((out, located))
}

/// `cli` with no argument or subcommand required, so `--print-config` lists a command's
/// settings before they are all given.
pub(crate) fn lenient(cli: clap::Command) -> clap::Command {
    cli.mut_subcommands(|c| c.subcommand_required(false).mut_args(|a| a.required(false)))
}

/// The names of the innermost (sub)command given (`["bench", "closure"]`) and its matches.
pub(crate) fn innermost(m: &ArgMatches) -> (Vec<String>, &ArgMatches) {
    let mut path = Vec::new();
    let mut at = m;
    while let Some((name, sub)) = at.subcommand() {
        path.push(name.to_string());
        at = sub;
    }
    (path, at)
}

/// The (sub)command at `path`.
fn find<'a>(cmd: &'a clap::Command, path: &[String]) -> Option<&'a clap::Command> {
    path.iter().try_fold(cmd, |c, name| c.find_subcommand(name))
}

/// The arguments of a command that are settings (not help, version, config).
fn settings(command: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    command
        .get_arguments()
        .filter(|a| !NOT_SETTINGS.contains(&a.get_id().as_str()) && a.get_long().is_some())
}

fn read_spec(file: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    if meta.len() > MAX_SPEC_BYTES {
        bail!("{} is not a spec file (over 1 MiB)", file.display());
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {} as text", file.display()))
}

/// The `[name]` table of a spec file (`[bench.closure]` for a nested command).
fn command_table(
    cli: &clap::Command,
    file: &Path,
    text: &str,
    path: &[String],
) -> Result<toml::Table> {
    let name = path.join(".");
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        anyhow::anyhow!(
            "{}{}: {}",
            file.display(),
            line.map_or(String::new(), |l| format!(" line {l}")),
            e.message()
        )
    })?;
    let commands: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for (key, value) in &doc {
        let known = commands.contains(key) || key == PROVENANCE;
        if !known || !value.is_table() {
            bail!(
                "{}: `{key}` is not a command's table (a spec holds [command] tables: {})",
                at(file, text, "", key),
                commands.join(", ")
            );
        }
    }
    let mut found = doc.get(&path[0]).cloned();
    for part in &path[1..] {
        found = found.and_then(|t| t.get(part).cloned());
    }
    match found {
        Some(toml::Value::Table(mut t)) => {
            // a nested command's table is not a setting of the outer one
            if let Some(c) = find(cli, &path[..1]) {
                t.retain(|k, v| !(v.is_table() && c.find_subcommand(k).is_some()));
            }
            Ok(t)
        }
        _ => {
            let has: Vec<&String> = doc.keys().filter(|k| *k != PROVENANCE).collect();
            bail!(
                "{} has no [{name}] table{}",
                file.display(),
                if has.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it has {})",
                        has.iter()
                            .map(|k| format!("[{k}]"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )
        }
    }
}

/// `FILE line L` of `key` inside `[table]` (the file alone when it is not found).
fn at(file: &Path, text: &str, table: &str, key: &str) -> String {
    let mut inside = table.is_empty();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            let head = l.trim_matches(|c| c == '[' || c == ']').trim();
            inside = head == table || (table.is_empty() && head == key);
            if table.is_empty() && head == key {
                return format!("{} line {}", file.display(), i + 1);
            }
            continue;
        }
        let k = l.split('=').next().unwrap_or("").trim().trim_matches('"');
        if inside && !key.is_empty() && k == key {
            return format!("{} line {}", file.display(), i + 1);
        }
    }
    file.display().to_string()
}

/// The flags that give `arg` the value `value`.
fn tokens(arg: &clap::Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let long = format!("--{}", arg.get_long().unwrap_or_default());
    let scalar = |v: &toml::Value| -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            other => Err(format!("expected a value, got {}", other.type_str())),
        }
    };
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match value {
            toml::Value::Boolean(true) => Ok(vec![long.into()]),
            toml::Value::Boolean(false) => Ok(vec![]),
            other => Err(format!("expected true or false, got {}", other.type_str())),
        },
        _ => {
            let delimited = arg.get_value_delimiter().is_some();
            let many = delimited || matches!(arg.get_action(), ArgAction::Append);
            match value {
                toml::Value::Array(items) if many => {
                    let items = items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
                    if items.is_empty() {
                        return Ok(vec![]);
                    }
                    if delimited {
                        return Ok(vec![long.into(), items.join(",").into()]);
                    }
                    // a repeated flag: --set a=1 --set b=2
                    Ok(items
                        .into_iter()
                        .flat_map(|v| [OsString::from(&long), OsString::from(v)])
                        .collect())
                }
                toml::Value::Array(_) => Err("expected one value, got a list".into()),
                v => Ok(vec![long.into(), scalar(v)?.into()]),
            }
        }
    }
}

/// The resolved settings of the command `name` as a spec: every setting with its value
/// (defaults included; settings without a value as comments), under `[name]`, after a
/// `[provenance]` table naming the program and its revision.
pub fn resolved(cli: &clap::Command, path: &[String], matches: &ArgMatches) -> String {
    let Some(command) = find(cli, path) else {
        return String::new();
    };
    let name = path.join(".");
    let mut s = provenance();
    s += &format!("\n[{name}]\n");
    for arg in settings(command) {
        let id = arg.get_id().as_str();
        let key = arg.get_long().unwrap_or(id);
        let value = match arg.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse => matches
                .get_one::<bool>(id)
                .map(|b| toml::Value::Boolean(*b)),
            _ => matches.get_raw(id).map(|raw| {
                let items: Vec<toml::Value> = raw.map(|v| typed(&v.to_string_lossy())).collect();
                let many = arg.get_value_delimiter().is_some()
                    || matches!(arg.get_action(), ArgAction::Append);
                if many || items.len() != 1 {
                    toml::Value::Array(items)
                } else {
                    items.into_iter().next().expect("one item")
                }
            }),
        };
        match value {
            Some(v) => s += &format!("{} = {}\n", key, v),
            None if arg.is_required_set() => {
                s += &format!("# {} =   (required: give it here or as --{key})\n", key)
            }
            None => s += &format!("# {} =   (not set)\n", key),
        }
    }
    s
}

/// A command-line value as the TOML value it reads as (a number where it is one).
fn typed(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    let numeric = v
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.');
    match v.parse::<f64>() {
        Ok(f) if numeric && f.is_finite() => toml::Value::Float(f),
        _ => toml::Value::String(v.to_string()),
    }
}

pub use crate::experiment::spec::provenance;

/// The outputs of a command (the values of its output flags), to be listed once it ran:
/// those that exist then.
pub(crate) fn outputs_of(
    cli: &clap::Command,
    path: &[String],
    matches: &ArgMatches,
) -> impl Fn() -> Vec<PathBuf> + use<> {
    let named = outputs(cli, path, matches);
    move || named.iter().filter(|p| p.exists()).cloned().collect()
}

/// The values of a command's output flags.
fn outputs(cli: &clap::Command, path: &[String], matches: &ArgMatches) -> Vec<PathBuf> {
    const OUTPUT_FLAGS: [&str; 9] = [
        "out",
        "json",
        "summary",
        "spectra",
        "plot",
        "plots",
        "screenshot",
        "csv",
        "run",
    ];
    let Some(command) = find(cli, path) else {
        return vec![];
    };
    settings(command)
        .filter(|a| OUTPUT_FLAGS.contains(&a.get_id().as_str()))
        .filter_map(|a| matches.get_raw(a.get_id().as_str()))
        .flat_map(|raw| raw.map(PathBuf::from).collect::<Vec<_>>())
        .collect()
}

/// Leave the resolved spec with each output: inside an HDF5 file (attribute `spec`) and
/// a model card (field `spec`), as `OUT.spec.toml` beside anything else (a folder gets
/// `spec.toml` inside).
pub(crate) fn stamp(outputs: &[PathBuf], spec: &str) -> Result<()> {
    for out in outputs {
        let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
        if out.is_dir() {
            crate::atomic::write_bytes(&out.join("spec.toml"), spec.as_bytes())
                .with_context(|| format!("cannot write the spec into {}", out.display()))?;
        } else if ext == "h5" {
            spec_attribute(out, spec)
                .with_context(|| format!("cannot store the spec in {}", out.display()))?;
        } else if ext == "bpk" && out.with_extension("json").exists() {
            stamp_card(&out.with_extension("json"), spec)?;
        } else {
            let mut name = out.file_name().unwrap_or_default().to_os_string();
            name.push(".spec.toml");
            crate::atomic::write_bytes(&out.with_file_name(name), spec.as_bytes())
                .with_context(|| format!("cannot write the spec beside {}", out.display()))?;
        }
    }
    Ok(())
}

/// Set a model card's `spec` field (the card is rewritten atomically, other fields kept).
fn stamp_card(card: &Path, spec: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(card).with_context(|| format!("cannot read {}", card.display()))?;
    let mut v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not a card", card.display()))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("spec".into(), serde_json::Value::String(spec.to_string()));
    }
    let text = serde_json::to_string_pretty(&v)?;
    crate::atomic::write_bytes(card, text.as_bytes())
        .with_context(|| format!("cannot write {}", card.display()))
}

/// Store `spec` as the string attribute `spec` of an HDF5 file's root group.
fn spec_attribute(file: &Path, spec: &str) -> Result<()> {
    use hdf5_metno as hdf5;
    let f = hdf5::File::open_rw(file)?;
    let value: hdf5::types::VarLenUnicode = spec
        .parse()
        .map_err(|e| anyhow::anyhow!("the spec is not storable text: {e:?}"))?;
    if f.attr("spec").is_ok() {
        f.delete_attr("spec")?;
    }
    f.new_attr::<hdf5::types::VarLenUnicode>()
        .create("spec")?
        .write_scalar(&value)?;
    Ok(())
}
