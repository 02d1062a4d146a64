//! `closure-lab posterior`: the published a-posteriori test — model runs from the true
//! state at t = 30 s to 50 s with a fresh closure sample every 5 steps, D_Fro of ω
//! against the truth at chosen times, with and without the closure.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use crate::experiment::presets;
use crate::experiment::{ClosureMode, Experiment};

#[derive(Args, Debug)]
pub struct PosteriorArgs {
    /// paper-g or paper-h (any preset works).
    #[arg(long, default_value = "paper-g", value_parser = presets::PresetId::parse)]
    pub preset: presets::PresetId,
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    #[arg(long, default_value_t = 30.0)]
    pub from: f64,
    /// Report times.
    #[arg(long, value_delimiter = ',', default_values_t = vec![35.0, 40.0, 45.0, 50.0])]
    pub at: Vec<f64>,
    #[arg(long, default_value_t = 5)]
    pub resample_every: u64,
    /// Sampling steps of the preset's sampler (default: the preset's).
    #[arg(long)]
    pub sampling_steps: Option<usize>,
    /// Sampler setting (`em-karras10`, `heun-karras3`, `flow-1`, …; see `eval
    /// --samplers`); overrides --sampling-steps.
    #[arg(long)]
    pub sampler: Option<String>,
    #[arg(long, default_value = "learned", value_parser = |s: &str| crate::names::parse::<ClosureMode>("closure mode", s))]
    pub closure: ClosureMode,
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// An experiment setting on top of the preset's and the flags above, KEY=VALUE
    /// (repeat it; the keys of a spec saved by the app). The protocol stays: one member,
    /// each draw waited for.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn posterior(a: PosteriorArgs) -> Result<()> {
    let preset = presets::get(a.preset);
    if !(a.from.is_finite() && (0.0..=1e4).contains(&a.from)) {
        anyhow::bail!("--from must be a time in 0…10⁴, got {}", a.from);
    }
    if a.at.is_empty() {
        anyhow::bail!("--at names no report time");
    }
    if let Some(t) =
        a.at.iter()
            .find(|t| !(t.is_finite() && **t > a.from && **t <= a.from + 1e3))
    {
        anyhow::bail!(
            "--at {t} is outside the run: report times must lie after --from {} and at most 1000 time units later",
            a.from
        );
    }
    let mut cfg = preset.config.clone();
    cfg.n = a.n;
    cfg.blocking = true;
    cfg.ensemble = 1;
    cfg.closure = a.closure;
    cfg.resample_every = a.resample_every;
    if let Some(k) = a.sampling_steps {
        cfg.sampling_steps = k;
    }
    if let Some(s) = &a.sampler {
        let s = crate::closure::eval::SamplerSetting::parse(s).map_err(anyhow::Error::msg)?;
        cfg.sampler = s.sampler;
        cfg.sampling_steps = s.schedule.steps();
    }
    cfg.seed = a.seed;
    crate::experiment::spec::apply(&mut cfg, &a.set).map_err(anyhow::Error::msg)?;
    cfg.blocking = true;
    cfg.ensemble = 1;
    cfg.record_every = 1_000_000;
    cfg.validate()?;
    let model = super::closure_model(&mut cfg, a.model.as_deref())?;
    let bar = super::progress_bar();
    let never = std::sync::atomic::AtomicBool::new(false);
    let (w, t0) = super::start_state(&cfg, a.from, &bar, &never)?;
    let mut exp = Experiment::at(cfg.clone(), &w, t0, model)?;
    let mut times = a.at.clone();
    times.sort_by(f64::total_cmp);
    let end = times.last().copied().unwrap_or(a.from);
    let total = ((end - a.from) / cfg.dt).round() as u64;
    bar.set_message("coupled run");
    bar.set_length(total);
    bar.set_position(0);
    let start = Instant::now();
    let mut rows = Vec::new();
    for t in times {
        let target = ((t - a.from) / cfg.dt).round() as u64;
        while exp.steps() < target {
            exp.step()?;
            if exp.steps() % 100 == 0 {
                bar.set_position(exp.steps());
            }
        }
        let f = exp.fields(None);
        rows.push((
            t,
            crate::metrics::d_fro(&f.truth, &f.with),
            crate::metrics::d_fro(&f.truth, &f.without),
        ));
    }
    bar.finish_and_clear();
    say!(
        "{} case, {}², closure {:?}, fresh sample every {} steps ({} sampler, {} network evaluations), {:.1} s wall\n",
        cfg.case,
        cfg.n,
        cfg.closure,
        cfg.resample_every,
        cfg.sampler,
        cfg.sampler.nfe(cfg.sampling_steps),
        start.elapsed().as_secs_f64()
    );
    say!("| t | D_Fro with closure | D_Fro without |\n|---|---|---|");
    for (t, w, wo) in rows {
        say!("| {t:.1} s | {w:.4} | {wo:.4} |");
    }
    Ok(())
}
