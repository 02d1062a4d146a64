//! `closure-lab data`: generate truth trajectories with their closure terms (HDF5): the
//! published G/H data, or filtered-DNS ω̄ and Π of the subgrid case (`--case les`,
//! shardable, joined by `closure-lab data merge`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::closure::data::{DataSpec, generate};
use crate::les::data::{LesDataSpec, Shard};
use crate::les::{Filter, LesFlow};
use crate::solver::Params;

/// Which data `closure-lab data` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DataCase {
    /// The published G and H closure data.
    Published,
    /// The subgrid (LES) case: filtered Kolmogorov DNS, ω̄ and Π on 64².
    Les,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Join shard files of one `--case les` job (made with `--shard i/n`) into one file.
    Merge {
        /// The merged file.
        #[arg(long)]
        out: PathBuf,
        /// The shard files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: Option<DataCommand>,
    /// Which data: published (G and H) or les (subgrid case).
    #[arg(long, value_enum, default_value_t = DataCase::Published)]
    pub case: DataCase,
    /// Number of trajectories (published: 100, split 95 train / 5 test by trajectory).
    #[arg(long, default_value_t = 100)]
    pub trajectories: usize,
    /// DNS grid (published case).
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    /// DNS grid of the subgrid case (128, 256, 512): the data's fidelity.
    #[arg(long, default_value_t = 256)]
    pub dns_n: usize,
    /// LES grid of the subgrid case (points per side; the DNS at least twice as fine):
    /// ω̄ and Π are stored on it, the filter cuts at its dealiasing limit.
    #[arg(long, default_value_t = 64)]
    pub les_n: usize,
    /// Viscosity of the subgrid case.
    #[arg(long, default_value_t = crate::les::NU_CHOICES[0])]
    pub nu: f64,
    /// LES filter of the subgrid case: cutoff or gaussian.
    #[arg(long, default_value = "cutoff", value_parser = |s: &str| crate::names::parse::<Filter>("filter", s))]
    pub filter: Filter,
    /// This process's part of a subgrid job, `i/n` (trajectories k with k mod n = i), e.g.
    /// `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Grid stored in the file (every n/store-n-th point, as published; default 64).
    /// Published case only: the subgrid case stores its LES grid.
    #[arg(long)]
    pub store_n: Option<usize>,
    /// First snapshot time (published default 20; subgrid: the spin-up, default 4).
    #[arg(long)]
    pub t_start: Option<f64>,
    /// Last snapshot time (published default 40; subgrid default 8).
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Snapshot spacing (published default 0.1; subgrid default 0.05).
    #[arg(long)]
    pub every: Option<f64>,
    /// Seed of trajectory 0 (trajectory k uses seed + k).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output HDF5 file; part files in `<out>.parts/` make the run resumable.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
}

pub fn data(a: DataArgs) -> Result<()> {
    if let Some(DataCommand::Merge { out, inputs }) = &a.command {
        let ins: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
        super::refuse_overwriting_inputs(&ins, &[], &[out], &[])?;
        let n = crate::les::data::merge(inputs, out)?;
        say!(
            "wrote {} ({n} trajectories from {} shards)",
            out.display(),
            inputs.len()
        );
        return Ok(());
    }
    let Some(out) = a.out.clone() else {
        anyhow::bail!("--out is required");
    };
    super::check_outputs(&[&out])?;
    if a.case == DataCase::Les {
        if a.store_n.is_some() {
            anyhow::bail!(
                "--store-n applies to the published case; the subgrid case stores ω̄ and Π on its LES grid"
            );
        }
        return les_data(&a, &out);
    }
    let store_n = a.store_n.unwrap_or(64);
    let spec = DataSpec {
        trajectories: a.trajectories,
        n: a.n,
        store_n,
        t_start: a.t_start.unwrap_or(20.0),
        t_end: a.t_end.unwrap_or(40.0),
        every: a.every.unwrap_or(0.1),
        seed: a.seed,
        params: Params::default(),
    };
    let bar = ProgressBar::new(1).with_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}  elapsed {elapsed}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!(
        "{} trajectories at {}² → {}²",
        a.trajectories, a.n, store_n
    ));
    let on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let resumed = generate(&spec, &out, &on_progress)?;
    bar.finish_and_clear();
    say!(
        "wrote {} ({} trajectories, {} snapshots of {}², {} resumed from part files)",
        out.display(),
        a.trajectories,
        spec.times().len(),
        store_n,
        resumed
    );
    Ok(())
}

/// `data --case les`: filtered-DNS trajectories of the subgrid case.
fn les_data(a: &DataArgs, out: &std::path::Path) -> Result<()> {
    if !crate::les::data::DNS_GRIDS.contains(&a.dns_n) {
        anyhow::bail!(
            "--dns-n must be one of {:?}, got {}",
            crate::les::data::DNS_GRIDS,
            a.dns_n
        );
    }
    let spin_up = a.t_start.unwrap_or(4.0);
    let spec = LesDataSpec {
        flow: LesFlow {
            nu: a.nu,
            dns_n: a.dns_n,
            les_n: a.les_n,
            filter: a.filter,
            ..Default::default()
        },
        trajectories: a.trajectories,
        spin_up,
        duration: a.t_end.unwrap_or(8.0) - spin_up,
        every: a.every.unwrap_or(0.05),
        seed: a.seed,
        shard: a.shard,
    };
    spec.validate()?;
    let cancel = super::interruptible()?;
    let bar = super::progress_bar();
    bar.set_message(format!("DNS {}² → {}², ν = {:.1e}", a.dns_n, a.les_n, a.nu));
    let start = std::time::Instant::now();
    let on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = crate::les::data::generate(&spec, out, &on_progress, &cancel);
    bar.finish_and_clear();
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        anyhow::bail!(
            "interrupted (finished trajectories are kept in {}.parts/)",
            out.display()
        );
    }
    let resumed = result?;
    let count = spec.indices().len();
    say!(
        "wrote {} ({count} trajectories{}, {} snapshots of ω̄ and Π on {}², {resumed} resumed) in {:.0} s",
        out.display(),
        spec.shard.map_or(String::new(), |s| format!(
            " of shard {}/{}",
            s.index, s.count
        )),
        spec.times().len(),
        a.les_n,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
