//! `closure-lab les-eval`: the subgrid (LES) case's closures scored a-priori and
//! a-posteriori against a filtered DNS, per ν (table on stdout, optional JSON).

use super::les_compare::summarize_only;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::Args;

use crate::les::Filter;
use crate::les::eval::{LesEvalOptions, LesRow, LesSpectra};
use crate::les::learn::drain::MeanTie;
use crate::les::learn::learned::Learned;
use crate::les::store::RunStore;

#[derive(Args, Debug)]
pub struct LesEvalArgs {
    /// Viscosities (default: the three the app offers).
    #[arg(long, value_delimiter = ',')]
    pub nu: Vec<f64>,
    /// DNS grid (128, 256, 512); at least twice the LES grid.
    #[arg(long, default_value_t = 256)]
    pub dns_n: usize,
    /// LES grid (points per side, e.g. 32, 48, 64): the filter cuts at its dealiasing
    /// limit. Learned closures must have been trained on it.
    #[arg(long, default_value_t = 64)]
    pub les_n: usize,
    /// Filter: cutoff or gaussian.
    #[arg(long, default_value = "cutoff", value_parser = |s: &str| crate::names::parse::<Filter>("filter", s))]
    pub filter: Filter,
    /// Spin-up time of the DNS before the runs start.
    #[arg(long, default_value_t = 4.0)]
    pub spin_up: f64,
    /// Time step of the DNS and the LES runs (default 2.5·10⁻⁴; halve it to check that
    /// the scores do not depend on it).
    #[arg(long, default_value_t = 2.5e-4)]
    pub dt: f64,
    /// Length of the coarse runs (time units; a large eddy turns over in ≈ 0.25).
    #[arg(long, default_value_t = 4.0)]
    pub t_run: f64,
    /// Seed of the initial perturbation (of the first run with --seeds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Runs per ν with seeds --seed, --seed + 1, …; with more than one the table is the
    /// mean ± standard error over seeds and each closure's difference to no closure and
    /// to the deterministic FNO paired by seed, with its 95 % interval.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Keep each finished (seed, ν) run's rows in this folder and skip the runs already
    /// there (a long comparison resumes; shards are --seed/--seeds ranges into one folder).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Only summarise: read the rows of these JSON files (from --json, or a --run
    /// folder's files) and print the table over seeds; nothing is run.
    #[arg(long, value_delimiter = ',')]
    pub summarize: Vec<PathBuf>,
    /// With --summarize: pair its rows by closure, model and seed with these rows (the
    /// same runs under another setting: a halved dt, another filter) and print each
    /// score's shift of the mean in the baseline's standard errors and the paired
    /// difference with its 95 % interval.
    #[arg(long, value_delimiter = ',', requires = "summarize")]
    pub against: Vec<PathBuf>,
    /// Also write the rows as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the summary over seeds (means, standard errors, paired intervals) as
    /// JSON to this file.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Instead of scoring closures, check the DNS grid's resolution against this finer
    /// grid (same start, filtered comparison; the DNS steps only, run for --t-run).
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Write figures into this folder: E(k), Z(k) and the ω̄ PDF per ν (PNG).
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Also write the time-mean spectra and ω̄ quantiles per ν as JSON to this file.
    #[arg(long)]
    pub spectra: Option<PathBuf>,
    /// Learned subgrid closures to run beside the classical ones (`.bpk` + card from
    /// `les-train`; comma-separated). Each is asked for the fidelity of `--dns-n`.
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<PathBuf>,
    /// Members a learned closure draws per scored state for its a-priori CRPS and
    /// spread/skill (the run itself uses one).
    #[arg(long, default_value_t = 8)]
    pub ensemble: usize,
    /// How a learned closure draws Π: `em-karras10` (published), `heun-karras3`, or
    /// `flow-1`/`flow-2` (the model's distilled flow generator).
    #[arg(long, default_value = "em-karras10")]
    pub sampler: String,
    /// Steps between fresh draws of a learned closure's Π (held in between); a list runs
    /// every learned closure once per interval (`1,10`: named `KIND` and `KIND+held10`,
    /// paired by seed).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub resample_every: Vec<u64>,
    /// Correlation time (time units) of the flow generator's latent between draws, an
    /// AR(1) in time; 0: a fresh latent every draw (white). A list runs every stochastic
    /// closure once per value (`0,0.05`: `KIND` and `KIND+ar0.05`, paired by seed).
    /// Needs `--sampler flow-1|flow-2`.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub latent_memory: Vec<f64>,
    /// A deterministic learned model (`les-train --kind deterministic`) whose mean gives
    /// every stochastic closure's members their components along ω̄ and ψ̄: each
    /// stochastic model also runs as `KIND+exact-drain`, whose members all drain the
    /// mean's enstrophy and energy (docs/science.md §10).
    #[arg(long)]
    pub drain_mean: Option<PathBuf>,
    /// How the stochastic closures are tied to --drain-mean, one variant each:
    /// `exact-drain` (members keep their own part outside span{ω̄, ψ̄}) and/or
    /// `fluctuations` (the mean plus the difference of two draws, projected off the plane:
    /// `KIND+fluctuations`).
    #[arg(long, value_delimiter = ',', default_value = "exact-drain", value_parser = |s: &str| crate::names::parse::<MeanTie>("tie", s))]
    pub tie: Vec<MeanTie>,
}

/// Refuse latent memories that are not times, or that a sampler without a latent would
/// ignore.
pub(crate) fn check_memory(
    memory: &[f64],
    sampler: &crate::closure::eval::SamplerSetting,
) -> Result<()> {
    if memory.is_empty() || memory.len() > 8 {
        anyhow::bail!("--latent-memory takes 1…8 correlation times");
    }
    if let Some(m) = memory.iter().find(|m| !(0.0..=100.0).contains(*m)) {
        anyhow::bail!("--latent-memory must be 0…100 time units, got {m}");
    }
    if memory.iter().any(|&m| m > 0.0) && sampler.sampler != crate::closure::sampler::Sampler::Flow
    {
        anyhow::bail!(
            "--latent-memory correlates a flow generator's latent: use --sampler flow-1 or flow-2"
        );
    }
    Ok(())
}

/// The learned closures of `les-eval`/`les-forecast`: each model, and with `drain_mean`
/// also each stochastic one's variants tied to it, one per `ties` (`replace`: instead of
/// the plain one).
pub(crate) fn learned_closures(
    models: &[PathBuf],
    drain_mean: Option<&std::path::Path>,
    ties: &[MeanTie],
    replace: bool,
    make: impl Fn(String, crate::les::learn::model::LesModel) -> crate::les::learn::learned::Learned,
) -> Result<Vec<crate::les::learn::learned::Learned>> {
    use crate::les::learn::model::LesModel;
    let device = burn::tensor::Device::flex();
    let mean = match drain_mean {
        Some(p) => {
            let m = LesModel::load(p, &device)?;
            m.check_drain_mean()
                .with_context(|| format!("--drain-mean {}", p.display()))?;
            Some(m)
        }
        None => None,
    };
    let mut out = Vec::new();
    for p in models {
        let l = make(super::file_stem(p), LesModel::load(p, &device)?);
        let mut variants = Vec::new();
        if let Some(m) = &mean {
            for &tie in ties {
                variants.extend(l.tied_to(m, tie)?);
            }
        }
        if variants.is_empty() || !replace {
            out.push(l);
        }
        out.extend(variants);
    }
    Ok(out)
}

impl LesEvalArgs {
    /// The runs' settings, checked ([`LesEvalOptions::validate`]).
    fn options(&self) -> Result<LesEvalOptions> {
        let defaults = LesEvalOptions::default();
        let opts = LesEvalOptions {
            nus: if self.nu.is_empty() {
                defaults.nus.clone()
            } else {
                self.nu.clone()
            },
            dns_n: self.dns_n,
            filter: self.filter,
            spin_up: self.spin_up,
            t_run: self.t_run,
            seed: self.seed,
            seeds: self.seeds,
            les_n: self.les_n,
            dt: self.dt,
            ..defaults
        };
        opts.validate()?;
        Ok(opts)
    }

    /// The learned closures to run, each in every variant asked for (draw interval,
    /// latent memory, tie to a mean), checked against the LES grid.
    fn learned(&self, opts: &LesEvalOptions) -> Result<Vec<Learned>> {
        if self.resample_every.is_empty() || self.resample_every.len() > 8 {
            anyhow::bail!("--resample-every takes 1…8 intervals");
        }
        if let Some(k) = self
            .resample_every
            .iter()
            .find(|k| !(1..=10_000).contains(*k))
        {
            anyhow::bail!("--resample-every must be 1…10000, got {k}");
        }
        if !(1..=64).contains(&self.ensemble) {
            anyhow::bail!("--ensemble must be 1…64, got {}", self.ensemble);
        }
        if self.drain_mean.is_some() && self.model.is_empty() {
            anyhow::bail!("--drain-mean corrects the stochastic models of --model; none given");
        }
        let sampler = crate::closure::eval::SamplerSetting::parse(&self.sampler)
            .map_err(anyhow::Error::msg)?;
        if self.tie.is_empty() || self.tie.len() > 2 {
            anyhow::bail!("--tie takes exact-drain and/or fluctuations");
        }
        let learned = learned_closures(
            &self.model,
            self.drain_mean.as_deref(),
            &self.tie,
            false,
            |label, model| Learned {
                label,
                model,
                every: 1,
                ensemble: self.ensemble,
                seed: self.seed,
                sampler: sampler.clone(),
                memory: 0.0,
            },
        )?;
        check_memory(&self.latent_memory, &sampler)?;
        let learned: Vec<Learned> = learned
            .iter()
            .flat_map(|l| l.variants(&self.resample_every, &self.latent_memory))
            .collect();
        for l in &learned {
            l.check_grid(opts.les_n)?;
        }
        Ok(learned)
    }
}

pub(crate) fn les_eval(a: LesEvalArgs) -> Result<()> {
    {
        let models: Vec<&std::path::Path> = a
            .model
            .iter()
            .chain(&a.drain_mean)
            .chain(&a.summarize)
            .chain(&a.against)
            .map(|p| p.as_path())
            .collect();
        let outs: Vec<&std::path::Path> = a
            .json
            .iter()
            .chain(&a.spectra)
            .chain(&a.summary)
            .map(|p| p.as_path())
            .collect();
        super::refuse_overwriting_inputs(&[], &models, &outs, &[])?;
    }
    if !a.summarize.is_empty() {
        return summarize_only(&a);
    }
    let opts = a.options()?;
    if let Some(fine) = a.resolution {
        return resolution(&opts, fine, a.json.as_deref());
    }
    let learned = a.learned(&opts)?;
    let store = a.run.as_deref().map(RunStore::open).transpose()?;
    let all = opts.runs();
    let (mut rows, pending) = match &store {
        Some(st) => st.split(&opts, &all)?,
        None => (Vec::new(), all.clone()),
    };
    if pending.len() < all.len() {
        say!(
            "{} of {} runs already in {}",
            all.len() - pending.len(),
            all.len(),
            a.run
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        );
    }
    let cancel = super::interruptible()?;
    let bar = super::progress_bar();
    bar.set_length(opts.steps_per_nu() * pending.len() as u64);
    bar.set_message(format!(
        "{} runs: DNS {}² → LES {}²",
        pending.len(),
        opts.dns_n,
        opts.les_n
    ));
    let start = std::time::Instant::now();
    let done = |r: &[LesRow], s: &LesSpectra| match &store {
        Some(st) => st.save(&opts, s.seed, s.nu, r),
        None => Ok(()),
    };
    let result =
        crate::les::eval::evaluate_runs(&opts, &pending, &learned, &done, &|n| bar.inc(n), &cancel);
    bar.finish_and_clear();
    if cancel.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted (finished runs are kept where --run says)");
    }
    let (new_rows, spectra) = result?;
    rows.extend(new_rows);
    // the order of the runs, whatever was stored
    let order = |r: &LesRow| all.iter().position(|&(s, nu)| s == r.seed && nu == r.nu);
    rows.sort_by_key(|r| order(r));
    say!(
        "{} runs ({} ν × {} seeds), DNS {}² → LES {}², {} time units each: {:.0} s",
        pending.len(),
        opts.nus.len(),
        opts.seeds,
        opts.dns_n,
        opts.les_n,
        opts.t_run,
        start.elapsed().as_secs_f64()
    );
    report(
        &rows,
        opts.seeds > 1,
        a.json.as_deref(),
        a.summary.as_deref(),
    )?;
    if let Some(p) = &a.spectra {
        write_json::<Vec<LesSpectra>>(p, &spectra)?;
    }
    if let Some(dir) = &a.plots {
        let first: Vec<LesSpectra> = spectra
            .into_iter()
            .filter(|s| s.seed == opts.seed)
            .collect();
        let written = figures(dir, &first, opts.dns_n, opts.les_n)?;
        say!("wrote {written} figures to {}", dir.display());
    }
    Ok(())
}

/// Print the rows (one seed) or the summary over seeds, and write what was asked for.
pub(super) fn report(
    rows: &[LesRow],
    over_seeds: bool,
    json: Option<&std::path::Path>,
    summary_json: Option<&std::path::Path>,
) -> Result<()> {
    let summary = crate::les::compare::summarize(rows);
    if over_seeds {
        say_raw!("{}", crate::les::compare::markdown(&summary));
    } else {
        say_raw!("{}", markdown(rows));
    }
    if let Some(p) = json {
        write_json(p, rows)?;
    }
    if let Some(p) = summary_json {
        write_json(p, &summary)?;
    }
    Ok(())
}

/// E(k), Z(k) and ω̄-PDF figures per ν.
fn figures(
    dir: &std::path::Path,
    spectra: &[LesSpectra],
    dns_n: usize,
    les_n: usize,
) -> Result<usize> {
    use crate::les::stats;
    use crate::render::chart::Chart;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kmax = crate::les::filter::cutoff_wavenumber(les_n) as usize;
    let mut written = 0;
    for s in spectra {
        let tag = format!("nu{:.0e}", s.nu);
        for (which, label) in [(0, "E(k)"), (1, "Z(k)")] {
            let series = s
                .curves
                .iter()
                .map(|(name, e, z)| {
                    let v = if which == 0 { e } else { z };
                    let pts = (1..=kmax.min(v.len() - 1))
                        .map(|k| (k as f64, v[k]))
                        .collect();
                    (name.clone(), pts)
                })
                .collect();
            let title = format!(
                "time-mean {label}, ν = {:.0e}: filtered {dns_n}² DNS vs {les_n}² LES",
                s.nu
            );
            let file = dir.join(format!(
                "{}-spectrum-{tag}.png",
                if which == 0 { "energy" } else { "enstrophy" }
            ));
            Chart {
                title: &title,
                x_label: "k",
                y_label: label,
                log_x: true,
                series,
            }
            .save_png(&file)?;
            written += 1;
        }
        let rms = s.omega.first().map_or(1.0, |(_, v)| stats::rms(v));
        let series = s
            .omega
            .iter()
            .map(|(name, v)| (name.clone(), stats::pdf(v, rms, 6.0, 72)))
            .collect();
        let title = format!("PDF of ω̄ / rms(ω̄_DNS), ν = {:.0e}", s.nu);
        Chart {
            title: &title,
            x_label: "ω̄ / rms",
            y_label: "PDF",
            log_x: false,
            series,
        }
        .save_png(&dir.join(format!("omega-pdf-{tag}.png")))?;
        written += 1;
    }
    Ok(written)
}

fn resolution(opts: &LesEvalOptions, fine: usize, json: Option<&std::path::Path>) -> Result<()> {
    use rayon::prelude::*;
    if fine <= opts.dns_n || fine > 1024 {
        anyhow::bail!(
            "--resolution must name a grid finer than --dns-n ({}) and at most 1024",
            opts.dns_n
        );
    }
    let cancel = super::interruptible()?;
    let bar = super::progress_bar();
    bar.set_length(opts.steps_per_nu() * opts.nus.len() as u64);
    bar.set_message(format!("DNS {}² vs {fine}²", opts.dns_n));
    let rows = opts
        .nus
        .par_iter()
        .map(|&nu| crate::les::resolution::resolution_nu(opts, nu, fine, &|n| bar.inc(n), &cancel))
        .collect::<Result<Vec<_>, _>>();
    bar.finish_and_clear();
    let rows = rows?;
    say!(
        "| ν | grids | filtered-field gap at t = {:?} | E(k) RMSE | Z(k) RMSE | Π rms | P_Z | Z beyond N/3 |",
        rows[0].at
    );
    say!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let gaps: Vec<String> = r.field_gap.iter().map(|g| format!("{g:.1e}")).collect();
        say!(
            "| {:.0e} | {}² / {}² | {} | {:.1e} | {:.1e} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1e} / {:.1e} |",
            r.nu,
            r.dns_n,
            r.fine_n,
            gaps.join(", "),
            r.spectral_rmse_e,
            r.spectral_rmse_z,
            r.pi_rms[0],
            r.pi_rms[1],
            r.p_z[0],
            r.p_z[1],
            r.tail[0],
            r.tail[1]
        );
    }
    if let Some(p) = json {
        write_json(p, &rows)?;
    }
    Ok(())
}

pub(super) fn write_json<T: serde::Serialize + ?Sized>(
    path: &std::path::Path,
    value: &T,
) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    crate::atomic::write_bytes(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The table: one line per ν and closure.
pub fn markdown(rows: &[LesRow]) -> String {
    let mut s = String::from(
        "| ν | closure | cc | rel L2 | CRPS | spread/skill | P_Z (true) | backscatter | E(k) RMSE | Z(k) RMSE | W1(ω̄)/rms | energy (DNS) | enstrophy (DNS) | blow-ups | coeff |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s += &format!(
            "| {:.0e} | {}{} | {:.3} | {:.3} | {:.3} | {} | {:.3} ({:.3}) | {:.3} | {:.3} | {:.3} | {:.4} | {:.4} ({:.4}) | {:.2} ({:.2}) | {} | {} |\n",
            r.nu,
            r.closure,
            r.model
                .as_ref()
                .map_or(String::new(), |m| format!(" ({m})")),
            r.cc,
            r.rel_l2,
            r.crps,
            r.spread_skill.map_or("–".into(), |v| format!("{v:.3}")),
            r.p_z,
            r.p_z_true,
            r.backscatter,
            r.spectral_rmse_e,
            r.spectral_rmse_z,
            r.w1_omega,
            r.energy,
            r.energy_dns,
            r.enstrophy,
            r.enstrophy_dns,
            r.blowups,
            r.coefficient.map_or("–".into(), |c| format!("{c:.4}")),
        );
    }
    s
}
