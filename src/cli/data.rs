//! `closure-lab data`: generate truth trajectories with their closure terms (HDF5).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::closure::data::{DataSpec, generate};
use crate::solver::Params;

#[derive(Args, Debug)]
pub struct DataArgs {
    /// Number of trajectories (published: 100, split 95 train / 5 test by trajectory).
    #[arg(long, default_value_t = 100)]
    pub trajectories: usize,
    /// DNS grid.
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    /// Grid stored in the file (every n/store-n-th point, as published).
    #[arg(long, default_value_t = 64)]
    pub store_n: usize,
    /// First snapshot time.
    #[arg(long, default_value_t = 20.0)]
    pub t_start: f64,
    /// Last snapshot time.
    #[arg(long, default_value_t = 40.0)]
    pub t_end: f64,
    /// Snapshot spacing.
    #[arg(long, default_value_t = 0.1)]
    pub every: f64,
    /// Seed of trajectory 0 (trajectory k uses seed + k).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output HDF5 file; part files in `<out>.parts/` make the run resumable.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn data(a: DataArgs) -> Result<()> {
    let spec = DataSpec {
        trajectories: a.trajectories,
        n: a.n,
        store_n: a.store_n,
        t_start: a.t_start,
        t_end: a.t_end,
        every: a.every,
        seed: a.seed,
        params: Params::default(),
    };
    let bar = ProgressBar::new(1).with_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}  elapsed {elapsed}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!(
        "{} trajectories at {}² → {}²",
        a.trajectories, a.n, a.store_n
    ));
    let on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let resumed = generate(&spec, &a.out, &on_progress)?;
    bar.finish_and_clear();
    println!(
        "wrote {} ({} trajectories, {} snapshots of {}², {} resumed from part files)",
        a.out.display(),
        a.trajectories,
        spec.times().len(),
        a.store_n,
        resumed
    );
    Ok(())
}
