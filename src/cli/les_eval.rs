//! `closure-lab les-eval`: the subgrid (LES) case's closures scored a-priori and
//! a-posteriori against a filtered DNS, per ν (table on stdout, optional JSON).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::Args;

use crate::les::Filter;
use crate::les::eval::{LesEvalOptions, LesRow, LesSpectra, evaluate};

#[derive(Args, Debug)]
pub struct LesEvalArgs {
    /// Viscosities (default: the three the app offers).
    #[arg(long, value_delimiter = ',')]
    pub nu: Vec<f64>,
    /// DNS grid (128, 256, 512); the LES grid is 64².
    #[arg(long, default_value_t = 256)]
    pub dns_n: usize,
    /// Filter: cutoff or gaussian.
    #[arg(long, default_value = "cutoff", value_parser = |s: &str| crate::names::parse::<Filter>("filter", s))]
    pub filter: Filter,
    /// Spin-up time of the DNS before the runs start.
    #[arg(long, default_value_t = 4.0)]
    pub spin_up: f64,
    /// Length of the coarse runs (time units; a large eddy turns over in ≈ 0.25).
    #[arg(long, default_value_t = 4.0)]
    pub t_run: f64,
    /// Seed of the initial perturbation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the rows as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
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
    /// Steps between fresh draws of a learned closure's Π (held in between).
    #[arg(long, default_value_t = 10)]
    pub resample_every: u64,
}

pub fn les_eval(a: LesEvalArgs) -> Result<()> {
    {
        let models: Vec<&std::path::Path> = a.model.iter().map(|p| p.as_path()).collect();
        let outs: Vec<&std::path::Path> = a
            .json
            .iter()
            .chain(&a.spectra)
            .map(|p| p.as_path())
            .collect();
        super::refuse_overwriting_inputs(&[], &models, &outs, &[])?;
    }
    let defaults = LesEvalOptions::default();
    let opts = LesEvalOptions {
        nus: if a.nu.is_empty() {
            defaults.nus.clone()
        } else {
            a.nu.clone()
        },
        dns_n: a.dns_n,
        filter: a.filter,
        spin_up: a.spin_up,
        t_run: a.t_run,
        seed: a.seed,
        ..defaults
    };
    if !(64..=1024).contains(&opts.dns_n) {
        anyhow::bail!("--dns-n must be between 64 and 1024, got {}", opts.dns_n);
    }
    if opts.spin_up > 1000.0 || opts.t_run > 1000.0 {
        anyhow::bail!("--spin-up and --t-end are limited to 1000 time units");
    }
    opts.validate()?;
    if let Some(fine) = a.resolution {
        return resolution(&opts, fine, a.json.as_deref());
    }
    if !(1..=10_000).contains(&a.resample_every) {
        anyhow::bail!("--resample-every must be 1…10000, got {}", a.resample_every);
    }
    if !(1..=64).contains(&a.ensemble) {
        anyhow::bail!("--ensemble must be 1…64, got {}", a.ensemble);
    }
    let device = burn::tensor::Device::flex();
    let sampler =
        crate::closure::eval::SamplerSetting::parse(&a.sampler).map_err(anyhow::Error::msg)?;
    let learned = a
        .model
        .iter()
        .map(|p| {
            let model = crate::les::learn::model::LesModel::load(p, &device)?;
            Ok(crate::les::learn::learned::Learned {
                label: super::file_stem(p),
                model,
                every: a.resample_every,
                ensemble: a.ensemble,
                seed: a.seed,
                sampler: sampler.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cancel = super::interruptible()?;
    let bar = super::progress_bar();
    bar.set_length(opts.steps_per_nu() * opts.nus.len() as u64);
    bar.set_message(format!("DNS {0}² → LES 64²", opts.dns_n));
    let start = std::time::Instant::now();
    let result = evaluate(&opts, &learned, &|n| bar.inc(n), &cancel);
    bar.finish_and_clear();
    if cancel.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    let (rows, spectra) = result?;
    say_raw!("{}", markdown(&rows));
    say!(
        "\n{} ν, DNS {}², {} time units each: {:.0} s",
        opts.nus.len(),
        opts.dns_n,
        opts.t_run,
        start.elapsed().as_secs_f64()
    );
    if let Some(p) = &a.json {
        write_json(p, &rows)?;
    }
    if let Some(p) = &a.spectra {
        write_json::<Vec<LesSpectra>>(p, &spectra)?;
    }
    if let Some(dir) = &a.plots {
        let written = figures(dir, &spectra, opts.dns_n)?;
        say!("wrote {written} figures to {}", dir.display());
    }
    Ok(())
}

/// E(k), Z(k) and ω̄-PDF figures per ν.
fn figures(dir: &std::path::Path, spectra: &[LesSpectra], dns_n: usize) -> Result<usize> {
    use crate::les::stats;
    use crate::render::chart::Chart;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kmax = crate::les::filter::cutoff_wavenumber(64) as usize;
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
                "time-mean {label}, ν = {:.0e}: filtered {dns_n}² DNS vs 64² LES",
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
        .map(|&nu| crate::les::eval::resolution_nu(opts, nu, fine, &|n| bar.inc(n), &cancel))
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

fn write_json<T: serde::Serialize + ?Sized>(path: &std::path::Path, value: &T) -> Result<()> {
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
