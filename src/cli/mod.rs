//! The command line: `closure-lab <command>`. Each subcommand lives in its own module and
//! drives the library; `main.rs` only calls [`main`].

/// `println!` that fails with an error instead of panicking when standard output cannot
/// be written (a full disk, a closed pipe): results are the point of a command.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
            .map_err(|e| anyhow::anyhow!("cannot write to standard output ({e})"))?
    }};
}

/// `print!` likewise ([`say`]).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
            .map_err(|e| anyhow::anyhow!("cannot write to standard output ({e})"))?
    }};
}

/// `eprintln!` that never panics: a progress or error line that cannot be written to
/// standard error (a full disk) is dropped, the command goes on.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod bench;
mod calibrate;
mod data;
mod distill;
mod eval;
mod les_compare;
mod les_eval;
mod les_forecast;
mod les_train;
pub mod npy;
mod posterior;
mod progress;
mod render;
mod run;
mod soak;
pub mod spec;
mod train;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Closure Lab — 2-D Navier–Stokes with a learned stochastic closure.
#[derive(Parser, Debug)]
#[command(name = "closure-lab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Read the command's settings from the `[command]` table of this TOML spec (flags
    /// given on the command line win); see `--print-config`.
    #[arg(long, global = true, value_name = "SPEC.toml")]
    pub config: Option<std::path::PathBuf>,
    /// Print the command's fully resolved settings as a TOML spec and exit.
    #[arg(long, global = true)]
    pub print_config: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the desktop app (the default when no command is given).
    Gui(GuiArgs),
    /// Run the solver headless and write the final vorticity (.npy) and a JSON summary.
    Run(run::RunArgs),
    /// Generate truth trajectories with their closure terms G and H (HDF5, published layout).
    Data(data::DataArgs),
    /// Train a closure model by denoising score matching (CPU, resumable).
    Train(train::TrainArgs),
    /// Distil a one- or two-step flow generator from a score model (CPU, resumable).
    Distill(distill::DistillArgs),
    /// A-priori closure errors of models and baselines (Markdown table, optional JSON).
    Eval(eval::EvalArgs),
    /// Fit a density model's per-shell spread inflation on held-out trajectories.
    Calibrate(calibrate::CalibrateArgs),
    /// The subgrid (LES) case: classical closures scored a-priori and a-posteriori against
    /// a filtered Kolmogorov-flow DNS, per viscosity.
    LesEval(les_eval::LesEvalArgs),
    /// The subgrid case: train a learned closure (stochastic score model, deterministic
    /// FNO or mean + noise) conditioned on ν and data fidelity (CPU, resumable).
    LesTrain(les_train::LesTrainArgs),
    /// The subgrid case: a-priori scores (D_Fro, spread/skill, CRPS) of learned closures
    /// and the eddy-viscosity ones on held-out filtered-DNS states.
    LesApriori(les_train::LesAprioriArgs),
    /// The subgrid case: ensemble forecasts of the LES with a learned closure from
    /// filtered-DNS states; spread against error by lead time.
    LesForecast(les_forecast::LesForecastArgs),
    /// The published a-posteriori test: D_Fro of ω with/without closure from t = 30 s.
    Posterior(posterior::PosteriorArgs),
    /// Render frames of a preset headless at fixed simulation times (GIF, MP4, PNG folder).
    Render(render::RenderArgs),
    /// Benchmarks (speed targets live here, not in tests).
    Bench(bench::BenchArgs),
    /// Run the coupled experiment headless for a long time, changing its controls on a
    /// schedule; report memory over time, non-finite fields and errors.
    Soak(soak::SoakArgs),
}

/// Parse the command line and run; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let (args, from_file) = match spec::merged_args(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(e) => {
            tell!("error: {}", one_line(&format!("{e:#}")));
            return std::process::ExitCode::from(2);
        }
    };
    // --print-config shows the settings even before the required ones are all given
    let printing = args.iter().any(|a| a == "--print-config");
    // one description of the commands: parsed against, and asked what a setting is
    let cli_command = Cli::command();
    let command = if printing {
        spec::lenient(cli_command.clone())
    } else {
        cli_command.clone()
    };
    let matches = match command.try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e)
            if !matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            tell!("{} (see --help)", from_file.locate(&parse_error_line(&e)));
            return std::process::ExitCode::from(2);
        }
        Err(e) => return parse_error(e),
    };
    // the resolved spec: printed on request, left with the outputs on success
    let resolved = {
        let (path, sub) = spec::innermost(&matches);
        (!path.is_empty()).then(|| {
            (
                spec::resolved(&cli_command, &path, sub),
                spec::outputs_of(&cli_command, &path, sub),
            )
        })
    };
    if printing {
        let Some((text, _)) = &resolved else {
            tell!("error: --print-config needs a command (closure-lab <command> --print-config)");
            return std::process::ExitCode::from(2);
        };
        use std::io::Write as _;
        return match std::io::stdout().lock().write_all(text.as_bytes()) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(_) => std::process::ExitCode::FAILURE,
        };
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return parse_error(e),
    };
    // wgpu, winit and the clipboard complain on every start without a private runtime dir
    let _runtime = crate::app::ensure_runtime_dir();
    if let Some(kept) = cli.command.as_ref().and_then(kept_when_interrupted)
        && let Err(e) = interrupt_says(kept)
    {
        tell!("error: {}", one_line(&format!("{e:#}")));
        return std::process::ExitCode::FAILURE;
    }
    let result = match cli.command {
        Some(Command::Gui(a)) => gui(a),
        Some(Command::Run(a)) => run::run(a),
        Some(Command::Data(a)) => data::data(a),
        Some(Command::Train(a)) => train::train(a),
        Some(Command::Distill(a)) => distill::distill(a),
        Some(Command::Eval(a)) => eval::eval(a),
        Some(Command::Calibrate(a)) => calibrate::calibrate(a),
        Some(Command::LesEval(a)) => les_eval::les_eval(a),
        Some(Command::LesTrain(a)) => les_train::les_train(a),
        Some(Command::LesApriori(a)) => les_train::les_apriori(a),
        Some(Command::LesForecast(a)) => les_forecast::les_forecast(a),
        Some(Command::Render(a)) => render::render(a),
        Some(Command::Posterior(a)) => posterior::posterior(a),
        Some(Command::Bench(a)) => bench::bench(a),
        Some(Command::Soak(a)) => soak::soak(a),
        None => {
            if crate::app::display_available() {
                gui(GuiArgs {
                    screenshot: None,
                    preset: None,
                    steps: 200,
                    bench_frames: None,
                    n: None,
                    ensemble: None,
                    sampler: None,
                    dont_wait: false,
                    size: None,
                    closure_on: None,
                })
            } else {
                print_usage()
            }
        }
    };
    let result = result.and_then(|()| match &resolved {
        Some((text, outputs)) => spec::stamp(&outputs(), text),
        None => Ok(()),
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tell!("error: {}", from_file.locate(&one_line(&format!("{e:#}"))));
            std::process::ExitCode::FAILURE
        }
    }
}

/// A command line clap cannot parse: help and version print in full; an error prints its
/// first line (the one that names the problem) and exits with 2, like clap.
fn parse_error(e: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            tell!("{} (see --help)", parse_error_line(&e));
            std::process::ExitCode::from(2)
        }
    }
}

/// The lines of a clap error before its usage block (they name the problem and the
/// missing arguments), as one line.
fn parse_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let head: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect();
    one_line(&head.join(" "))
}

pub use crate::message::one_line;

/// Arguments of `closure-lab gui`.
#[derive(clap::Args, Debug)]
pub struct GuiArgs {
    /// Run `--steps` steps, save a PNG of the window to this file and exit.
    #[arg(long)]
    pub screenshot: Option<std::path::PathBuf>,
    /// Start with a preset: paper-g, paper-h, decaying, teaching, les.
    #[arg(long, value_parser = crate::experiment::presets::PresetId::parse)]
    pub preset: Option<crate::experiment::presets::PresetId>,
    /// Steps to run before the screenshot.
    #[arg(long, default_value_t = 200)]
    pub steps: u64,
    /// Benchmark: play this many frames, print frame times and sampler latency, exit.
    #[arg(long)]
    pub bench_frames: Option<u64>,
    /// Grid (64, 128, 256) instead of the preset's.
    #[arg(long)]
    pub n: Option<usize>,
    /// Ensemble size instead of the preset's.
    #[arg(long)]
    pub ensemble: Option<usize>,
    /// Sampler instead of the preset's (`flow-1`, `em-karras10`, …; see `eval --samplers`).
    #[arg(long)]
    pub sampler: Option<String>,
    /// Don't wait for each closure draw (the runs go on with the held one).
    #[arg(long)]
    pub dont_wait: bool,
    /// Window size in points, WIDTHxHEIGHT (default 1500x940).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<[f32; 2]>,
    /// Where the learned closure runs: auto (GPU when the adapter is a real GPU), cpu, gpu.
    #[arg(long, value_parser = |s: &str| crate::names::parse::<crate::app::settings::Backend>("device", s))]
    pub closure_on: Option<crate::app::settings::Backend>,
}

fn parse_size(s: &str) -> Result<[f32; 2], String> {
    let bad = || format!("`{s}` is not a window size like 1500x940 (each side 200…8000)");
    let (w, h) = s.split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let side = |v: &str| {
        v.trim()
            .parse::<f32>()
            .ok()
            .filter(|v| (200.0..=8000.0).contains(v))
            .ok_or_else(bad)
    };
    Ok([side(w)?, side(h)?])
}

/// Most steps a scripted window run (`--screenshot`, `--bench-frames`) may take.
const MAX_SCRIPTED_STEPS: u64 = 1_000_000;

fn gui(a: GuiArgs) -> anyhow::Result<()> {
    if a.steps > MAX_SCRIPTED_STEPS || a.bench_frames.is_some_and(|f| f > MAX_SCRIPTED_STEPS) {
        anyhow::bail!(
            "--steps and --bench-frames must be at most {MAX_SCRIPTED_STEPS} (a scripted run \
             that long would take hours)"
        );
    }
    if !crate::app::display_available() {
        anyhow::bail!(
            "no display (DISPLAY/WAYLAND_DISPLAY unset): run under a desktop or `xvfb-run -a closure-lab gui …`, or use the CLI (`closure-lab --help`)"
        );
    }
    let sampler = match &a.sampler {
        Some(s) => {
            let s = crate::closure::eval::SamplerSetting::parse(s).map_err(anyhow::Error::msg)?;
            Some((s.sampler, s.schedule.steps()))
        }
        None => None,
    };
    let options = crate::app::AppOptions {
        sampler,
        dont_wait: a.dont_wait,
        screenshot: a.screenshot.map(|p| (p, a.steps)),
        preset: a.preset,
        bench_frames: a.bench_frames,
        n: a.n,
        ensemble: a.ensemble,
        size: a.size,
        backend: a.closure_on,
    };
    crate::app::run(options).map_err(anyhow::Error::msg)
}

fn print_usage() -> anyhow::Result<()> {
    say!(
        "Closure Lab {} — no display found, so here is the command line instead.\n\
         \n  closure-lab gui [--preset paper-g]                the desktop app (needs a display; xvfb-run works)\
         \n  closure-lab run --n 64 --t-end 1 --out out/      solve, write out/omega.npy + summary.json\
         \n  closure-lab data --trajectories 4 --out d.h5     truth trajectories with closure terms (HDF5)\
         \n  closure-lab train --data d.h5 --run r --out m.bpk   train a closure model\
         \n  closure-lab eval --data test.h5                  closure error table vs. baselines\
         \n  closure-lab les-eval                             subgrid (LES) closures vs filtered DNS\
         \n  closure-lab posterior --preset paper-g           a-posteriori D_Fro with/without closure, 30→50 s\
         \n  closure-lab render --preset paper-g --out g.gif  headless movie of truth | with | without\
         \n  closure-lab bench solver|closure                 speed measurements\
         \n  closure-lab --help                               all commands and options\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}

/// The learned model a run of `cfg` needs: the file at `path` or the embedded one of the
/// flow (and case); None when the closure is not learned. A model of another flow or
/// case is an error. A model without a flow generator, asked for one, samples with the
/// published Euler–Maruyama schedule instead (said on standard error).
pub(crate) fn closure_model(
    cfg: &mut crate::experiment::ExperimentConfig,
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<crate::experiment::LearnedModel>> {
    use crate::experiment::LearnedModel;
    if cfg.closure != crate::experiment::ClosureMode::Learned {
        return Ok(None);
    }
    let device = burn::tensor::Device::flex();
    let m = match path {
        Some(p) => LearnedModel::load(p, &device)?,
        None => LearnedModel::embedded(cfg, &device)?,
    };
    m.closes(cfg).map_err(anyhow::Error::msg)?;
    if cfg.sampler == crate::closure::sampler::Sampler::Flow && !m.has_flow() {
        tell!("note: this model has no flow generator; sampling with Euler–Maruyama, 10 steps");
        cfg.sampler = crate::closure::sampler::Sampler::EulerMaruyama;
        cfg.sampling_steps = 10;
    }
    Ok(Some(m))
}

/// A model file's name without folder and extension: how evaluation rows name a model.
pub(crate) fn file_stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into())
}

/// From now on SIGINT and SIGTERM set the returned flag instead of ending the process
/// (a second signal ends it at once); loops that check it stop with an error, so their
/// temporary files are removed on the way out.
pub(crate) fn interruptible() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(flag)
}

/// What an interrupted command leaves, for the commands that do not stop cooperatively
/// ([`interruptible`] is theirs): they write their outputs only at the end, or keep a
/// resumable form as they go.
fn kept_when_interrupted(c: &Command) -> Option<String> {
    let resumes = |what: &str, p: &std::path::Path| {
        format!("{what} {}: the same command resumes", p.display())
    };
    match c {
        Command::Run(_)
        | Command::Eval(_)
        | Command::Calibrate(_)
        | Command::LesApriori(_)
        | Command::Posterior(_)
        | Command::Bench(_) => Some("nothing was written".into()),
        Command::Data(a) if a.command.is_none() && a.case == data::DataCase::Published => {
            let out = a.out.as_ref()?;
            Some(resumes(
                "finished trajectories are kept in",
                &std::path::PathBuf::from(format!("{}.parts/", out.display())),
            ))
        }
        Command::Train(a) => Some(resumes("the last checkpoint is in", &a.run)),
        Command::LesTrain(a) => Some(resumes("the last checkpoint is in", &a.run)),
        Command::Distill(a) => Some(resumes("the last checkpoint is in", &a.run)),
        _ => None,
    }
}

/// From now on the first SIGINT or SIGTERM prints `error: interrupted (kept)` and ends
/// the process with status 130 — what the signal would do, with the line that says what
/// is left.
fn interrupt_says(kept: String) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            use std::io::Write as _;
            // hold stderr until the end: no progress line of another thread follows
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: interrupted ({kept})");
            std::process::exit(130);
        }
    });
    Ok(())
}

/// A progress bar with a message column.
pub(crate) fn progress_bar() -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len} eta {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(1).with_style(style)
}

/// The truth spun up from its random initial field to `t_end` (the field itself when
/// `t_end` is 0), with progress on `bar`.
pub(crate) fn start_state(
    cfg: &crate::experiment::ExperimentConfig,
    t_end: f64,
    bar: &indicatif::ProgressBar,
    cancel: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<(Vec<f64>, f64)> {
    if t_end <= 0.0 {
        let grid = crate::solver::Grid::new(cfg.n)?;
        let w = crate::solver::grf::grf(&grid, crate::solver::GrfParams::default(), cfg.seed);
        return Ok((w, 0.0));
    }
    bar.set_message(format!("spin-up to t = {t_end}"));
    let progress = |k: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(k);
    };
    Ok(crate::experiment::spin_up(cfg, t_end, &progress, cancel)?)
}

/// The files a model path stands for: the weights, the card beside them and the
/// companions a card may name (a subgrid model's mean, a flow generator).
fn model_files(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    vec![
        p.to_path_buf(),
        p.with_extension("json"),
        p.with_extension("mean.bpk"),
        p.with_extension("flow.bpk"),
    ]
}

/// Refuse, before any work, a command whose output would overwrite one of its inputs
/// (`les-train --data d.h5 --out d.h5` once replaced the training data by the weights).
/// Models count with their cards and companion files, on both sides.
fn refuse_overwriting_inputs(
    inputs: &[&std::path::Path],
    models_in: &[&std::path::Path],
    outputs: &[&std::path::Path],
    models_out: &[&std::path::Path],
) -> anyhow::Result<()> {
    let ins: Vec<std::path::PathBuf> = inputs
        .iter()
        .map(|p| p.to_path_buf())
        .chain(models_in.iter().flat_map(|p| model_files(p)))
        .collect();
    let outs: Vec<std::path::PathBuf> = outputs
        .iter()
        .map(|p| p.to_path_buf())
        .chain(models_out.iter().flat_map(|p| model_files(p)))
        .collect();
    for o in &outs {
        if let Some(i) = ins.iter().find(|i| crate::atomic::same_file(i, o)) {
            anyhow::bail!(
                "the output {} would overwrite the input {}; choose another output path",
                o.display(),
                i.display()
            );
        }
    }
    let outs: Vec<&std::path::Path> = outs.iter().map(|p| p.as_path()).collect();
    check_outputs(&outs)
}

/// Refuse output paths that cannot be written (a folder named as a file, a folder the
/// user may not write) before any work, instead of failing after it. A parent folder
/// that does not exist yet is left to the command (some create theirs).
fn check_outputs(outs: &[&std::path::Path]) -> anyhow::Result<()> {
    for o in outs {
        if o.is_dir() || crate::atomic::parent_dir(o).exists() {
            crate::atomic::check_writable(o).map_err(anyhow::Error::msg)?;
        }
    }
    Ok(())
}
