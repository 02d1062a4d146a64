//! `closure-lab run`: advance the truth run headless.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::metrics;
use crate::solver::{Convention, GrfParams, Grid, NoiseParams, Params, Scheme, Simulation, grf};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Grid points per side (power of two ≥ 8).
    #[arg(long)]
    pub n: usize,
    /// Simulated time to advance, in the solver's time unit (s).
    #[arg(long)]
    pub t_end: f64,
    /// Time step.
    #[arg(long, default_value_t = 1e-3)]
    pub dt: f64,
    /// Viscosity ν.
    #[arg(long, default_value_t = 1e-3)]
    pub nu: f64,
    /// Seed of the initial field (GRF) and of the stochastic forcing.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Time stepper: `reference` (published, first order) or `imex` (ETDRK4).
    #[arg(long, default_value = "reference", value_parser = |s: &str| crate::names::parse::<Scheme>("scheme", s))]
    pub scheme: Scheme,
    /// Switch the stochastic forcing off.
    #[arg(long)]
    pub no_noise: bool,
    /// Keep the mean vorticity at zero (no viscosity and no noise on k = 0) instead of
    /// the published convention.
    #[arg(long)]
    pub zero_mean: bool,
    /// Initial vorticity (.npy, float32/float64, N×N) instead of a GRF sample.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Threads for the FFTs (default 1).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct Summary {
    n: usize,
    t: f64,
    steps: u64,
    dt: f64,
    nu: f64,
    seed: u64,
    scheme: Scheme,
    noise: bool,
    convention: Convention,
    energy: f64,
    enstrophy: f64,
    max_abs_omega: f64,
    wall_s: f64,
}

/// Largest grid `run` accepts (a 4096² run needs about 2 GiB).
const MAX_N: usize = 4096;

pub fn run(a: RunArgs) -> Result<()> {
    let outs = [a.out.join("omega.npy"), a.out.join("summary.json")];
    let ins: Vec<&std::path::Path> = a.init.iter().map(|p| p.as_path()).collect();
    super::refuse_overwriting_inputs(&ins, &[], &[&outs[0], &outs[1]], &[])?;
    if !(a.t_end.is_finite() && a.t_end >= 0.0) {
        bail!("--t-end must be a non-negative number, got {}", a.t_end);
    }
    if !a.n.is_power_of_two() || a.n < 8 {
        bail!("--n must be a power of two ≥ 8, got {}", a.n);
    }
    if a.n > MAX_N {
        // ≈ 16 arrays of N² doubles (state, workspace, transforms)
        let gib = 16.0 * 8.0 * (a.n as f64).powi(2) / (1u64 << 30) as f64;
        bail!(
            "--n {} would need about {gib:.0} GiB; the largest grid is {MAX_N}",
            a.n
        );
    }
    if !(a.dt.is_finite() && a.dt > 0.0) {
        bail!("--dt must be a positive number, got {}", a.dt);
    }
    if a.t_end > 0.0 && a.dt > a.t_end {
        bail!(
            "--dt {} is larger than --t-end {}: not one step would be taken",
            a.dt,
            a.t_end
        );
    }
    if a.t_end / a.dt > 1e9 {
        bail!(
            "--t-end / --dt is {:.1e} steps; at most 1e9",
            a.t_end / a.dt
        );
    }
    let omega0 = match &a.init {
        Some(p) => {
            let (n, f) = super::npy::read_field(p)?;
            if n != a.n {
                bail!("{}: field is {n}×{n} but --n is {}", p.display(), a.n);
            }
            Some(f)
        }
        None => None,
    };
    let grid = Arc::new(Grid::new(a.n)?);
    let omega0 = omega0.unwrap_or_else(|| grf::grf(&grid, GrfParams::default(), a.seed));
    let params = Params {
        nu: a.nu,
        dt: a.dt,
        noise: NoiseParams {
            sigma: if a.no_noise {
                0.0
            } else {
                NoiseParams::default().sigma
            },
            ..Default::default()
        },
        scheme: a.scheme,
        convention: if a.zero_mean {
            Convention::ZeroMean
        } else {
            Convention::Published
        },
        threads: a.threads.max(1),
        ..Default::default()
    };
    let mut sim = Simulation::new(grid.clone(), params, &omega0, 0.0, a.seed)?;
    let steps = (a.t_end / a.dt).round() as u64;
    let bar = ProgressBar::new(steps).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps  t = {msg}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    for i in 0..steps {
        sim.step()?;
        if i % 256 == 0 {
            bar.set_position(i);
            bar.set_message(format!("{:.3}", sim.t()));
        }
    }
    bar.finish_and_clear();
    let wall_s = t0.elapsed().as_secs_f64();
    let omega = sim.omega();
    let summary = Summary {
        n: a.n,
        t: sim.t(),
        steps,
        dt: a.dt,
        nu: a.nu,
        seed: a.seed,
        scheme: a.scheme,
        noise: !a.no_noise,
        convention: params.convention,
        energy: metrics::energy(&grid, sim.omega_hat()),
        enstrophy: metrics::enstrophy(&omega),
        max_abs_omega: metrics::max_abs(&omega),
        wall_s,
    };
    // the output folder appears only once there is something to put in it
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    super::npy::write_field(&a.out.join("omega.npy"), a.n, &omega)?;
    let json = serde_json::to_string_pretty(&summary)?;
    std::fs::write(a.out.join("summary.json"), &json)
        .with_context(|| format!("cannot write {}", a.out.join("summary.json").display()))?;
    say!("{json}");
    Ok(())
}
