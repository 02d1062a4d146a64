//! `closure-lab calibrate`: fit a density model's per-shell spread inflation
//! ([`crate::closure::inflation`]) on held-out trajectories and store it in its card.

use std::path::PathBuf;

use crate::closure::eval::{DensityFit, SamplerSetting, fit_inflation};
use crate::closure::model::ClosureModel;
use crate::closure::sensors::{DENSITIES, density_label};
use crate::solver::Grid;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The model (`PATH.bpk` with its card `PATH.json`, trained across densities).
    #[arg(long)]
    pub model: PathBuf,
    /// Data the model was not trained on (HDF5, published layout): a calibration set made
    /// with a seed of its own (the shipped cards: `data --trajectories 8 --seed 2000
    /// --every 1`), or the training file from its validation trajectories on — never the
    /// test set.
    #[arg(long)]
    pub data: PathBuf,
    /// First trajectory of --data to use (0 for a calibration set; 22 of a
    /// 24-trajectory training file trained with --val-trajectories 2).
    #[arg(long)]
    pub first_trajectory: usize,
    /// States to fit on (spread over the trajectories).
    #[arg(long, default_value_t = 48)]
    pub samples: usize,
    /// Members per state.
    #[arg(long, default_value_t = 16)]
    pub ensemble: usize,
    /// The sampler setting to fit with (see `eval --samplers`). The card keeps one table
    /// per sampler kind and step count: this one replaces a table of the same kind and
    /// steps and leaves the others; sampling uses the kind's table at the nearest steps.
    #[arg(long, default_value = "em-karras10")]
    pub sampler: String,
    /// Grid (must divide the stored grid).
    #[arg(long, default_value_t = 64)]
    pub grid: usize,
    /// Store the factors in the model's card (`PATH.json`; weights untouched).
    #[arg(long)]
    pub write_card: bool,
    /// Also write the per-density summary and factors as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Seed of the members' random draws (as `eval --seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn calibrate(a: CalibrateArgs) -> Result<()> {
    let json: Vec<&std::path::Path> = a.json.iter().map(|p| p.as_path()).collect();
    super::refuse_overwriting_inputs(&[&a.data], &[&a.model], &json, &[])?;
    let set = SamplerSetting::parse(&a.sampler).map_err(anyhow::Error::msg)?;
    if !(2..=64).contains(&a.ensemble) {
        bail!("--ensemble must be 2…64, got {}", a.ensemble);
    }
    if a.samples == 0 || a.samples > 10_000 {
        bail!("--samples must be 1…10000, got {}", a.samples);
    }
    let mut model = ClosureModel::load(&a.model, &burn::tensor::Device::flex())
        .with_context(|| format!("loading {}", a.model.display()))?;
    if model.card.part.inputs.density_scale.is_none() {
        bail!(
            "{}: calibrate fits per-density factors; this model was trained at one density",
            a.model.display()
        );
    }
    burn::tensor::Device::flex().seed(a.seed);
    let (states, _) = super::eval::states_from_file(&a.data, a.first_trajectory, a.samples)?;
    let stored = states.first().map_or(0, |s| s.n);
    if a.grid == 0 || a.grid > stored || stored % a.grid != 0 {
        bail!("--grid {} does not divide the stored grid {stored}", a.grid);
    }
    let grid = Grid::new(a.grid)?;
    let bar = ProgressBar::new((DENSITIES.len() * states.len()) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let fitted_on = format!(
        "closure-lab calibrate --sampler {} --ensemble {}: {} states of {} from trajectory {} at {}²",
        a.sampler,
        a.ensemble,
        states.len(),
        super::file_stem(&a.data),
        a.first_trajectory,
        a.grid
    );
    let mut tick = |s: usize| {
        bar.set_message(density_label(s));
        bar.inc(1)
    };
    let (inflation, fits) = fit_inflation(
        &mut model, &states, &grid, a.ensemble, &set, fitted_on, &mut tick,
    )
    .with_context(|| format!("fitting {}", a.model.display()))?;
    bar.finish_and_clear();
    print_fits(&fits, states.len(), a.ensemble)?;
    if let Some(p) = &a.json {
        crate::atomic::write_bytes(p, serde_json::to_string_pretty(&fits)?.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if a.write_card {
        let path = model
            .card
            .write_with_inflation(&a.model, inflation)
            .map_err(anyhow::Error::msg)?;
        say!("wrote the {} inflation into {}", a.sampler, path.display());
    }
    Ok(())
}

fn print_fits(fits: &[DensityFit], states: usize, ensemble: usize) -> Result<()> {
    say!("{states} states, {ensemble} members each (in-sample: the fitting states)\n");
    say!(
        "| sensors | spread/skill before | after | worst shell before | after | factors of shells 0–12 |"
    );
    say!("|---|---|---|---|---|---|");
    for f in fits {
        let head: Vec<String> = f
            .factor
            .iter()
            .take(13)
            .map(|v| format!("{v:.2}"))
            .collect();
        say!(
            "| {} | {:.3} | {:.3} | {:.2} | {:.2} | {} |",
            density_label(f.sensors),
            f.spread_skill_before,
            f.spread_skill_after,
            f.spectrum_worst_before,
            f.spectrum_worst_after,
            head.join(" ")
        );
    }
    Ok(())
}
