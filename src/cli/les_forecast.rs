//! `closure-lab les-forecast`: ensemble forecasts of the LES with a learned closure from
//! filtered-DNS states; spread against error by lead time (table, JSON, figure).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::Args;

use crate::les::LesFlow;
use crate::les::forecast::{ForecastOptions, ForecastRow, forecast};

#[derive(Args, Debug)]
pub struct LesForecastArgs {
    /// The learned closure (`.bpk` + card from `les-train`).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value_t = 3e-4)]
    pub nu: f64,
    /// DNS grid of the truth (at least twice the LES grid).
    #[arg(long, default_value_t = 256)]
    pub dns_n: usize,
    /// LES grid (the model must have been trained on it).
    #[arg(long, default_value_t = 64)]
    pub les_n: usize,
    /// Spin-up of the DNS before the first forecast.
    #[arg(long, default_value_t = 4.0)]
    pub spin_up: f64,
    /// Forecasts, started `--gap` time units apart along the DNS.
    #[arg(long, default_value_t = 4)]
    pub starts: usize,
    #[arg(long, default_value_t = 1.0)]
    pub gap: f64,
    /// LES members per forecast (each draws its own Π).
    #[arg(long, default_value_t = 8)]
    pub members: usize,
    /// Forecast length and score interval (time units).
    #[arg(long, default_value_t = 2.0)]
    pub lead: f64,
    #[arg(long, default_value_t = 0.1)]
    pub every: f64,
    /// How a learned closure draws Π: `em-karras10` (published), `heun-karras3`, or
    /// `flow-1`/`flow-2` (the model's distilled flow generator).
    #[arg(long, default_value = "em-karras10")]
    pub sampler: String,
    /// Steps between fresh draws of Π (held in between).
    #[arg(long, default_value_t = 10)]
    pub resample_every: u64,
    /// Correlation time (time units) of the flow generator's latent between draws (an
    /// AR(1) in time); 0: a fresh latent every draw. Needs `--sampler flow-1|flow-2`.
    #[arg(long, default_value_t = 0.0)]
    pub latent_memory: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Figure of spread and error against lead time (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// A deterministic model whose mean gives every member its components along ω̄ and
    /// ψ̄ (the exact-drain closure, docs/science.md §10).
    #[arg(long)]
    pub drain_mean: Option<PathBuf>,
    /// How the members are tied to --drain-mean: `exact-drain` or `fluctuations` (the
    /// mean plus the difference of two draws, projected off span{ω̄, ψ̄}).
    #[arg(long, default_value = "exact-drain", value_parser = |s: &str| crate::names::parse::<crate::les::learn::drain::MeanTie>("tie", s))]
    pub tie: crate::les::learn::drain::MeanTie,
}

pub(crate) fn les_forecast(a: LesForecastArgs) -> Result<()> {
    let outs: Vec<&std::path::Path> = a.json.iter().chain(&a.plot).map(|p| p.as_path()).collect();
    let ins: Vec<&std::path::Path> = std::iter::once(a.model.as_path())
        .chain(a.drain_mean.as_deref())
        .collect();
    super::refuse_overwriting_inputs(&[], &ins, &outs, &[])?;
    let opts = ForecastOptions {
        flow: LesFlow {
            nu: a.nu,
            dns_n: a.dns_n,
            les_n: a.les_n,
            ..Default::default()
        },
        spin_up: a.spin_up,
        starts: a.starts,
        gap: a.gap,
        members: a.members,
        lead: a.lead,
        every: a.every,
        seed: a.seed,
    };
    crate::experiment::limits::DNS_GRID
        .check(a.dns_n)
        .map_err(anyhow::Error::msg)?;
    opts.validate()?;
    if !(1..=10_000).contains(&a.resample_every) {
        anyhow::bail!("--resample-every must be 1…10000, got {}", a.resample_every);
    }
    let sampler =
        crate::closure::eval::SamplerSetting::parse(&a.sampler).map_err(anyhow::Error::msg)?;
    super::les_eval::check_memory(&[a.latent_memory], &sampler)?;
    let mut learned = super::les_eval::learned_closures(
        std::slice::from_ref(&a.model),
        a.drain_mean.as_deref(),
        &[a.tie],
        true,
        |label, model| crate::les::learn::learned::Learned {
            label,
            model,
            every: a.resample_every,
            ensemble: 1,
            seed: a.seed,
            sampler: sampler.clone(),
            memory: a.latent_memory,
        },
    )?;
    let learned = learned.remove(0);
    learned.check_grid(a.les_n)?;
    let cancel = super::interruptible()?;
    let bar = super::progress_bar();
    bar.set_length(opts.steps());
    bar.set_message(format!("{} × {} members", opts.starts, opts.members));
    let start = std::time::Instant::now();
    let result = forecast(&opts, &learned, &|n| bar.inc(n), &cancel);
    bar.finish_and_clear();
    if cancel.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    let rows = result?;
    say!("| lead | error of the mean | spread | spread/skill | member | CRPS |");
    say!("|---|---|---|---|---|---|");
    for r in &rows {
        say!(
            "| {:.2} | {:.4} | {:.4} | {:.3} | {:.4} | {:.4} |",
            r.lead,
            r.error,
            r.spread,
            r.spread_skill,
            r.member,
            r.crps
        );
    }
    say!(
        "\n{} forecasts × {} members of {} ({}), ν = {:.1e}, {}² DNS: {:.0} s",
        opts.starts,
        opts.members,
        learned.label,
        learned.closure(),
        a.nu,
        a.dns_n,
        start.elapsed().as_secs_f64()
    );
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&rows)?;
        crate::atomic::write_bytes(p, text.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &a.plot {
        plot(p, &rows, &learned.label, a.nu)?;
    }
    Ok(())
}

fn plot(path: &std::path::Path, rows: &[ForecastRow], label: &str, nu: f64) -> Result<()> {
    let series = |f: fn(&ForecastRow) -> f64| rows.iter().map(|r| (r.lead, f(r))).collect();
    // (the chart font has no combining overbar: "filtered ω" for ω̄)
    let title = format!("ensemble forecast of the filtered ω with {label}, ν = {nu:.0e}");
    crate::render::chart::Chart {
        title: &title,
        x_label: "lead time",
        y_label: "÷ norm of the filtered DNS ω",
        log_x: false,
        series: vec![
            ("error of the ensemble mean".into(), series(|r| r.error)),
            ("ensemble spread".into(), series(|r| r.spread)),
        ],
    }
    .save_png(path)?;
    Ok(())
}
