//! `closure-lab bench`: speed measurements (targets live here, never in timed tests).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::solver::{GrfParams, Grid, Params, Scheme, Simulation, grf};

mod closure;
use closure::bench_closure;

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
    /// Milliseconds per closure sample of the embedded model (published 10-step
    /// Euler–Maruyama schedule and the 5-evaluation Heun sampler) per grid, ensemble batch
    /// and thread count.
    Closure {
        /// Print one JSON object per line (keys n, batch, threads, nfe, ms_per_sample).
        #[arg(long)]
        json: bool,
        #[arg(long, value_delimiter = ',', default_values_t = vec![64usize, 128, 256])]
        sizes: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 8])]
        batches: Vec<usize>,
        /// Seconds per timed repetition (best of 3 is reported).
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// burn's CPU backend, or burn wgpu on the default adapter (a GPU where there is
        /// one; Mesa's software Vulkan here, correct but slow).
        #[arg(long, value_enum, default_value = "cpu")]
        device: BenchDevice,
    },
    /// Milliseconds per training iteration (DSM loss forward, backward and an Adam step)
    /// of the published network and the shipped one, on 1 and all cores.
    Train {
        /// Print one JSON object per line (keys n, batch, threads, model,
        /// ms_per_iteration, samples_per_s, device).
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 64)]
        n: usize,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Seconds per timed repetition (best of 3 is reported).
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        #[arg(long, value_enum, default_value = "cpu")]
        device: BenchDevice,
        /// Which networks to time.
        #[arg(long, value_delimiter = ',', default_values_t = vec![TrainNet::Published, TrainNet::Shipped])]
        models: Vec<TrainNet>,
    },
}

/// The networks `bench train` can time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum TrainNet {
    /// The published architecture (GELU, 4 layers in every pipeline)
    Published,
    /// The shipped G model's architecture
    Shipped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchDevice {
    Cpu,
    Wgpu,
}

impl BenchDevice {
    fn name(self) -> &'static str {
        match self {
            BenchDevice::Cpu => "cpu",
            BenchDevice::Wgpu => "wgpu",
        }
    }
}

#[derive(Serialize)]
struct SolverRow {
    /// `truth` (one stochastic run) or `lockstep-triple` (the experiment's truth + model
    /// run with the oracle closure + model run without, one step of each)
    run: &'static str,
    n: usize,
    scheme: Scheme,
    threads: usize,
    steps_per_s: f64,
    fft_ratio: f64,
    ms_per_step: f64,
    fft_ms_per_step: f64,
    /// Steps/s over one thread's, the median of alternating repetitions (lockstep rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    speedup: Option<f64>,
}

/// Sizes, batches and seconds a benchmark accepts.
fn check_bench_args(sizes: &[usize], batches: &[usize], seconds: f64) -> Result<()> {
    if let Some(n) = sizes
        .iter()
        .find(|&&n| !(n.is_power_of_two() && (8..=1024).contains(&n)))
    {
        anyhow::bail!("--sizes: {n} is not a power of two in 8…1024");
    }
    if let Some(b) = batches.iter().find(|&&b| !(1..=256).contains(&b)) {
        anyhow::bail!("--batches: {b} is not in 1…256");
    }
    if !(seconds > 0.0 && seconds <= 600.0) {
        anyhow::bail!("--seconds must be in (0, 600], got {seconds}");
    }
    Ok(())
}

pub fn bench(a: BenchArgs) -> Result<()> {
    match &a.what {
        BenchWhat::Solver { sizes, seconds, .. } => check_bench_args(sizes, &[1], *seconds)?,
        BenchWhat::Closure {
            sizes,
            batches,
            seconds,
            ..
        } => check_bench_args(sizes, batches, *seconds)?,
        BenchWhat::Train {
            n, batch, seconds, ..
        } => check_bench_args(&[*n], &[*batch], *seconds)?,
    }
    match a.what {
        BenchWhat::Solver {
            json,
            sizes,
            seconds,
        } => bench_solver(json, &sizes, seconds),
        BenchWhat::Closure {
            json,
            sizes,
            batches,
            seconds,
            device,
        } => bench_closure(json, &sizes, &batches, seconds, device),
        BenchWhat::Train {
            json,
            n,
            batch,
            seconds,
            device,
            models,
        } => bench_train(json, n, batch, seconds, device, &models),
    }
}

/// Best-of-3 seconds per call of `f`, each repetition running for about `seconds`.
fn time_per_call(seconds: f64, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        best = best.min(time_once(seconds, &mut f)?);
    }
    Ok(best)
}

/// Seconds per call of `f`, calling it for about `seconds` (at least 3 times).
fn time_once(seconds: f64, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let t0 = Instant::now();
    let mut calls = 0u64;
    while t0.elapsed().as_secs_f64() < seconds || calls < 3 {
        f()?;
        calls += 1;
    }
    Ok(t0.elapsed().as_secs_f64() / calls as f64)
}

/// Timed repetitions of each thread count in the lockstep-triple benchmark, alternating.
const PAIRS: usize = 5;

/// 1 thread, and all cores when there is more than one.
fn thread_counts() -> Vec<usize> {
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if all > 1 { vec![1, all] } else { vec![1] }
}

fn bench_solver(json: bool, sizes: &[usize], seconds: f64) -> Result<()> {
    let thread_counts = thread_counts();
    if !json {
        say!("truth run, stochastic forcing on, published parameters; best of 3 × {seconds} s");
        say!(
            "{:>5} {:>10} {:>8} {:>12} {:>10} {:>12} {:>10}",
            "N",
            "scheme",
            "threads",
            "steps/s",
            "ms/step",
            "FFT ms/step",
            "step/FFT"
        );
    }
    for &n in sizes {
        let grid = Arc::new(Grid::new(n)?);
        let omega0 = grf::grf(&grid, GrfParams::default(), 1);
        for scheme in [Scheme::Reference, Scheme::Etdrk4] {
            for &threads in &thread_counts {
                let params = Params {
                    scheme,
                    threads,
                    ..Default::default()
                };
                let mut sim = Simulation::new(grid.clone(), params, &omega0, 0.0, 1)?;
                sim.advance(20)?;
                // stepping runs on a worker of a pool of `threads` threads, as in the app's
                // simulation thread, so a split step hands half its work to the other
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()?;
                let step = pool.install(|| time_per_call(seconds, || Ok(sim.step()?)))?;
                // The same transforms alone: per explicit evaluation 4 inverse + 1 forward.
                // In-place transforms leave their input scrambled but bounded (repeated
                // inverse = scaled reflection; the forward restores a true spectrum), so
                // no copies are timed.
                let mut s = grid.scratch(1); // the transforms as a step makes them (one thread each)
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
                    run: "truth",
                    n,
                    scheme,
                    threads,
                    steps_per_s: 1.0 / step,
                    fft_ratio: step / ffts,
                    ms_per_step: step * 1e3,
                    fft_ms_per_step: ffts * 1e3,
                    speedup: None,
                };
                if json {
                    say!("{}", serde_json::to_string(&row)?);
                } else {
                    say!(
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
    bench_triple(json, sizes, seconds)
}

/// The app's lockstep step (truth, model run with the oracle closure, model run without)
/// on 1 and all cores. These machines are shared and noisy, so the thread counts are
/// timed in alternation, [`PAIRS`] times each: steps/s is the best repetition, the
/// speed-up the median of the ratios of neighbouring repetitions.
fn bench_triple(json: bool, sizes: &[usize], seconds: f64) -> Result<()> {
    use crate::experiment::{ClosureMode, Experiment, ExperimentConfig};
    if !json {
        say!(
            "lockstep triple (truth + with oracle closure + without), reference scheme; {PAIRS} alternating repetitions of {seconds} s"
        );
        say!(
            "{:>5} {:>8} {:>12} {:>10} {:>10}",
            "N",
            "threads",
            "steps/s",
            "ms/step",
            "speed-up"
        );
    }
    let counts = thread_counts();
    for &n in sizes {
        let mut runs = Vec::new();
        for &threads in &counts {
            let cfg = ExperimentConfig {
                n,
                closure: ClosureMode::Oracle,
                threads,
                record_every: 1_000_000,
                ..Default::default()
            };
            let mut exp = Experiment::new(cfg, None)?;
            exp.advance(5)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            runs.push((exp, pool));
        }
        let mut per_call = vec![Vec::with_capacity(PAIRS); runs.len()];
        for _ in 0..PAIRS {
            for ((exp, pool), times) in runs.iter_mut().zip(&mut per_call) {
                times.push(pool.install(|| time_once(seconds, || Ok(exp.step()?)))?);
            }
        }
        for (&threads, times) in counts.iter().zip(&per_call) {
            let best = times.iter().copied().fold(f64::INFINITY, f64::min);
            let mut ratios: Vec<f64> = per_call[0].iter().zip(times).map(|(a, b)| a / b).collect();
            ratios.sort_by(f64::total_cmp);
            let row = SolverRow {
                run: "lockstep-triple",
                n,
                scheme: Scheme::Reference,
                threads,
                steps_per_s: 1.0 / best,
                fft_ratio: f64::NAN,
                ms_per_step: best * 1e3,
                fft_ms_per_step: f64::NAN,
                speedup: Some(ratios[ratios.len() / 2]),
            };
            if json {
                say!("{}", serde_json::to_string(&row)?);
            } else {
                say!(
                    "{:>5} {:>8} {:>12.0} {:>10.4} {:>10.2}",
                    n,
                    threads,
                    row.steps_per_s,
                    row.ms_per_step,
                    ratios[ratios.len() / 2]
                );
            }
        }
    }
    Ok(())
}

/// A result row: one JSON object per line, or the table line `text` makes.
fn emit<R: Serialize>(json: bool, row: &R, text: impl FnOnce() -> String) -> Result<()> {
    if json {
        say!("{}", serde_json::to_string(row)?);
    } else {
        say!("{}", text());
    }
    Ok(())
}

/// The burn device a benchmark runs on, and its description.
fn bench_device(on: BenchDevice) -> Result<(burn::tensor::Device, String)> {
    Ok(match on {
        BenchDevice::Cpu => (burn::tensor::Device::flex(), "burn flex (CPU)".to_string()),
        BenchDevice::Wgpu => {
            let (d, name) =
                crate::closure::device::headless_burn_wgpu().map_err(anyhow::Error::msg)?;
            (d, format!("burn wgpu on {name}"))
        }
    })
}

#[derive(Serialize)]
struct TrainRow<'a> {
    device: &'static str,
    /// `published` (the published network) or `shipped` (the embedded model's network)
    model: &'a str,
    n: usize,
    batch: usize,
    threads: usize,
    ms_per_iteration: f64,
    samples_per_s: f64,
}

fn bench_train(
    json: bool,
    n: usize,
    batch: usize,
    seconds: f64,
    on: BenchDevice,
    models: &[TrainNet],
) -> Result<()> {
    use crate::closure::loss::TimeRange;
    use crate::closure::model::ClosureModel;
    use crate::closure::score::ScoreNetConfig;
    use crate::closure::train::optimisation_step;
    use burn::tensor::{Distribution, Tensor};
    use rand::SeedableRng;

    // as `train` and `les-train` run (src/alloc.rs)
    crate::alloc::keep_freed_pages();
    let (plain, backend) = bench_device(on)?;
    let device = plain.clone().autodiff();
    let shipped = ClosureModel::embedded(&plain)?.card.part.net;
    let nets: Vec<(String, ScoreNetConfig)> = models
        .iter()
        .map(|&m| {
            let cfg = match m {
                TrainNet::Published => ScoreNetConfig::new().with_sigma_data(shipped.sigma_data),
                TrainNet::Shipped => shipped.clone(),
            };
            (m.to_string(), cfg)
        })
        .collect();
    let range = TimeRange {
        eps: 1e-3,
        t_max: 0.12,
    };
    let input = || Tensor::<4>::random([batch, n, n, 1], Distribution::Normal(0.0, 1.0), &device);
    if !json {
        say!(
            "one DSM iteration (loss, backward, Adam) at {n}², batch {batch}; {backend}; best of 3 × {seconds} s"
        );
        say!(
            "{:>10} {:>8} {:>14} {:>12}",
            "model",
            "threads",
            "ms/iteration",
            "samples/s"
        );
    }
    for &threads in &thread_counts() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        for (name, cfg) in &nets {
            let mut model = cfg.init(&device);
            let basis = model.basis(n, &device);
            let mut optim = burn::optim::AdamConfig::new().init();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            let t = pool.install(|| {
                time_per_call(seconds, || {
                    let batch = (input(), input(), input(), None);
                    let (m, loss) = optimisation_step(
                        model.clone(),
                        &mut optim,
                        1e-4,
                        batch,
                        range,
                        &basis,
                        &mut rng,
                    );
                    model = m;
                    anyhow::ensure!(loss.is_finite(), "the benchmark's loss is not finite");
                    Ok(())
                })
            })?;
            let row = TrainRow {
                device: on.name(),
                model: name,
                n,
                batch,
                threads,
                ms_per_iteration: t * 1e3,
                samples_per_s: batch as f64 / t,
            };
            emit(json, &row, || {
                format!(
                    "{name:>10} {threads:>8} {:>14.1} {:>12.1}",
                    row.ms_per_iteration, row.samples_per_s
                )
            })?;
        }
    }
    Ok(())
}
