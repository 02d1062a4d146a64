//! The command line: `closure-lab <command>`. Each subcommand lives in its own module and
//! drives the library; `main.rs` only calls [`main`].

mod bench;
mod data;
mod eval;
pub mod npy;
mod run;
mod train;

use clap::{Parser, Subcommand};

/// Closure Lab — 2-D Navier–Stokes with a learned stochastic closure.
#[derive(Parser, Debug)]
#[command(name = "closure-lab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the solver headless and write the final vorticity (.npy) and a JSON summary.
    Run(run::RunArgs),
    /// Generate truth trajectories with their closure terms G and H (HDF5, published layout).
    Data(data::DataArgs),
    /// Train a closure model by denoising score matching (CPU, resumable).
    Train(train::TrainArgs),
    /// A-priori closure errors of models and baselines (Markdown table, optional JSON).
    Eval(eval::EvalArgs),
    /// Benchmarks (speed targets live here, not in tests).
    Bench(bench::BenchArgs),
}

/// Parse the command line and run; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(a)) => run::run(a),
        Some(Command::Data(a)) => data::data(a),
        Some(Command::Train(a)) => train::train(a),
        Some(Command::Eval(a)) => eval::eval(a),
        Some(Command::Bench(a)) => bench::bench(a),
        None => {
            print_usage();
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // one readable line
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_usage() {
    println!(
        "Closure Lab {}\n\n\
         The desktop window is not part of this build yet; everything runs from the CLI:\n\
         \n  closure-lab run --n 64 --t-end 1 --out out/      solve, write out/omega.npy + summary.json\
         \n  closure-lab bench solver                         solver speed vs. its FFTs\
         \n  closure-lab --help                               all commands and options\n",
        env!("CARGO_PKG_VERSION")
    );
}
