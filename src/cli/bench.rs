//! `closure-lab bench`: speed measurements (targets live here, never in timed tests).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::solver::{GrfParams, Grid, Params, Scheme, Simulation, grf};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand, Debug)]
pub enum BenchWhat {
    /// Steps per second of the truth run (stochastic, published settings) for each grid,
    /// scheme and thread count, and the ratio of a step's time to its FFTs alone, both
    /// measured in the same run.
    Solver {
        /// Print one JSON object per line (keys n, scheme, threads, steps_per_s, fft_ratio).
        #[arg(long)]
        json: bool,
        /// Grid sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![64usize, 128, 256])]
        sizes: Vec<usize>,
        /// Seconds per timed repetition (best of 3 is reported).
        #[arg(long, default_value_t = 0.4)]
        seconds: f64,
    },
}

#[derive(Serialize)]
struct SolverRow {
    n: usize,
    scheme: Scheme,
    threads: usize,
    steps_per_s: f64,
    fft_ratio: f64,
    ms_per_step: f64,
    fft_ms_per_step: f64,
}

pub fn bench(a: BenchArgs) -> Result<()> {
    match a.what {
        BenchWhat::Solver {
            json,
            sizes,
            seconds,
        } => bench_solver(json, &sizes, seconds),
    }
}

/// Best-of-3 seconds per call of `f`, each repetition running for about `seconds`.
fn time_per_call(seconds: f64, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut calls = 0u64;
        while t0.elapsed().as_secs_f64() < seconds || calls < 3 {
            f()?;
            calls += 1;
        }
        best = best.min(t0.elapsed().as_secs_f64() / calls as f64);
    }
    Ok(best)
}

fn bench_solver(json: bool, sizes: &[usize], seconds: f64) -> Result<()> {
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut thread_counts = vec![1];
    if all > 1 {
        thread_counts.push(all);
    }
    if !json {
        println!("truth run, stochastic forcing on, published parameters; best of 3 × {seconds} s");
        println!(
            "{:>5} {:>10} {:>8} {:>12} {:>10} {:>12} {:>10}",
            "N", "scheme", "threads", "steps/s", "ms/step", "FFT ms/step", "step/FFT"
        );
    }
    for &n in sizes {
        let grid = Arc::new(Grid::new(n)?);
        let omega0 = grf::grf(&grid, GrfParams::default(), 1);
        for scheme in [Scheme::Reference, Scheme::Imex] {
            for &threads in &thread_counts {
                let params = Params {
                    scheme,
                    threads,
                    ..Default::default()
                };
                let mut sim = Simulation::new(grid.clone(), params, &omega0, 0.0, 1)?;
                sim.advance(20)?;
                let step = time_per_call(seconds, || Ok(sim.step()?))?;
                // The same transforms alone: per explicit evaluation 4 inverse + 1 forward.
                // In-place transforms leave their input scrambled but bounded (repeated
                // inverse = scaled reflection; the forward restores a true spectrum), so
                // no copies are timed.
                let mut s = grid.scratch(threads);
                let mut spec = sim.omega_hat().to_vec();
                let mut phys = grid.zeros();
                let ffts = time_per_call(seconds, || {
                    for _ in 0..scheme.stages() {
                        for _ in 0..4 {
                            grid.fft.inverse_inplace(&mut spec, &mut phys, &mut s);
                        }
                        grid.fft.forward_inplace(&mut phys, &mut spec, &mut s);
                    }
                    Ok(())
                })?;
                let row = SolverRow {
                    n,
                    scheme,
                    threads,
                    steps_per_s: 1.0 / step,
                    fft_ratio: step / ffts,
                    ms_per_step: step * 1e3,
                    fft_ms_per_step: ffts * 1e3,
                };
                if json {
                    println!("{}", serde_json::to_string(&row)?);
                } else {
                    println!(
                        "{:>5} {:>10} {:>8} {:>12.0} {:>10.4} {:>12.4} {:>10.2}",
                        n,
                        scheme.to_string(),
                        threads,
                        row.steps_per_s,
                        row.ms_per_step,
                        row.fft_ms_per_step,
                        row.fft_ratio
                    );
                }
            }
        }
    }
    Ok(())
}
