//! `closure-lab eval`: a-priori closure error table (Markdown, optional JSON).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use std::sync::atomic::{AtomicU64, Ordering};

use crate::closure::data::{DataSpec, simulate_trajectory};
use crate::closure::dataset::{Trajectory, h5_info, read_h5_trajectory};
use crate::closure::eval::{
    SamplerSetting, TestState, baseline_rows, markdown, model_rows, stationary_noise_row,
};
use crate::closure::model::ClosureModel;
use crate::solver::{Case, Params};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Test data (HDF5, published layout, e.g. made by `closure-lab data`; any stored grid
    /// ≥ the largest --grids). Default: simulate a small test set (2 trajectories, 256²).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Models to evaluate (`PATH.bpk` with `PATH.json`, or a PyTorch state dict `.pth` of a
    /// published network); default: the embedded G and H models.
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// Grids (each must divide the stored grid).
    #[arg(long, value_delimiter = ',', default_values_t = vec![64usize, 128, 256])]
    pub grids: Vec<usize>,
    /// Sampler settings: `em-karras10` (published), `em-uniform10`, `em-uniform1000`
    /// (published baseline, slow), `heun-karras3` (5 evaluations), ...
    #[arg(long, value_delimiter = ',', default_values_t = vec!["em-karras10".to_string(), "heun-karras3".to_string()])]
    pub samplers: Vec<String>,
    /// Test states per grid (spread over the file's trajectories and snapshots).
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Use the trajectories from this index on (e.g. the held-out ones of a training file).
    #[arg(long, default_value_t = 0)]
    pub first_trajectory: usize,
    /// Cases for the baseline rows (models add their own).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["g".to_string(), "h".to_string()])]
    pub cases: Vec<String>,
    /// Sensor densities (per side; 0 = none, ω only): every model and baseline is scored
    /// at each.
    #[arg(long, value_delimiter = ',', default_values_t = vec![16usize])]
    pub sensors: Vec<usize>,
    /// Samples per state from each model (≥ 2 for spread and spread/skill).
    #[arg(long, default_value_t = 1)]
    pub ensemble: usize,
    /// Also write the rows as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Store each `--model`'s rows, with the baselines of its case, in its card
    /// (`PATH.json`; the weights are not touched).
    #[arg(long)]
    pub write_cards: bool,
    /// Seed of the members' random draws: the same binary, data and seed give the same
    /// rows (timings aside). Different seeds show how much a score scatters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Up to `per` states spread evenly over a trajectory's snapshots.
fn states_of(tr: &Trajectory, per: usize) -> Vec<TestState> {
    let step = (tr.snapshots / per.max(1)).max(1);
    (0..tr.snapshots)
        .step_by(step)
        .take(per)
        .map(|m| {
            let f = |w: usize| {
                tr.field(w, m)
                    .iter()
                    .map(|&v| v as f64)
                    .collect::<Vec<f64>>()
            };
            TestState {
                n: tr.n,
                omega: f(0),
                g: f(1),
                h: f(2),
            }
        })
        .collect()
}

fn load_states(a: &EvalArgs) -> Result<(Vec<TestState>, f64)> {
    match &a.data {
        Some(path) => states_from_file(path, a.first_trajectory, a.samples),
        None => simulate_states(a.samples),
    }
}

/// Up to `samples` states spread over trajectories `first…` of a data file, with its ν.
pub(super) fn states_from_file(
    path: &std::path::Path,
    first: usize,
    samples: usize,
) -> Result<(Vec<TestState>, f64)> {
    let info = h5_info(path)?;
    if first >= info.trajectories {
        bail!(
            "{}: --first-trajectory {first} but only {} trajectories",
            path.display(),
            info.trajectories
        );
    }
    let trajs: Vec<usize> = (first..info.trajectories).collect();
    let per = samples.div_ceil(trajs.len()).max(1);
    let mut states = Vec::new();
    for &k in &trajs {
        let tr = read_h5_trajectory(path, k, None)?;
        states.extend(states_of(&tr, per));
    }
    states.truncate(samples);
    Ok((states, info.nu))
}

/// Without `--data`: two fresh 256² truth trajectories (seeds 1000, 1001 — never used
/// for training), published settings, snapshots every 2 s from t = 20 s, simulated in
/// parallel with a progress bar.
fn simulate_states(samples: usize) -> Result<(Vec<TestState>, f64)> {
    use rayon::prelude::*;
    let per = samples.div_ceil(2).max(1);
    let spec = DataSpec {
        trajectories: 2,
        n: 256,
        store_n: 256,
        t_start: 20.0,
        t_end: 20.0 + 2.0 * (per - 1) as f64,
        every: 2.0,
        seed: 1000,
        params: Params::default(),
    };
    spec.validate()?;
    let total = spec.steps_per_trajectory() * 2;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "no --data: simulating 2 test trajectories at 256² {bar:30} {percent:>3}% eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = AtomicU64::new(0);
    let trajs: Vec<Trajectory> = std::thread::scope(|sc| {
        let work = sc.spawn(|| {
            (0..2)
                .into_par_iter()
                .map(|k| simulate_trajectory(&spec, k, &progress))
                .collect::<Result<Vec<_>, _>>()
        });
        while !work.is_finished() {
            bar.set_position(progress.load(Ordering::Relaxed));
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        work.join()
    })
    .map_err(|_| anyhow::anyhow!("test-set simulation panicked"))??;
    bar.finish_and_clear();
    let mut states: Vec<TestState> = trajs.iter().flat_map(|tr| states_of(tr, per)).collect();
    states.truncate(samples);
    Ok((states, spec.params.nu))
}

pub fn eval(a: EvalArgs) -> Result<()> {
    {
        let models: Vec<&std::path::Path> = a.model.iter().map(|p| p.as_path()).collect();
        let data: Vec<&std::path::Path> = a.data.iter().map(|p| p.as_path()).collect();
        let json: Vec<&std::path::Path> = a.json.iter().map(|p| p.as_path()).collect();
        super::refuse_overwriting_inputs(&data, &models, &json, &[])?;
    }
    let settings: Vec<SamplerSetting> = a
        .samplers
        .iter()
        .map(|s| SamplerSetting::parse(s))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let cases: Vec<Case> = a
        .cases
        .iter()
        .map(|c| crate::names::parse("closure case", c))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let mut models = Vec::new();
    if a.model.is_empty() {
        for case in [Case::G, Case::H] {
            let m = ClosureModel::embedded_for(case, &burn::tensor::Device::flex())?;
            models.push((format!("shipped {case}"), m));
        }
    }
    for p in &a.model {
        let m = ClosureModel::load(p, &burn::tensor::Device::flex())
            .with_context(|| format!("loading {}", p.display()))?;
        models.push((super::file_stem(p), m));
    }
    if a.samples == 0 || a.samples > 10_000 {
        bail!("--samples must be 1…10000, got {}", a.samples);
    }
    if a.write_cards && a.model.is_empty() {
        bail!("--write-cards stores rows in the cards of --model files; none given");
    }
    if a.ensemble == 0 || a.ensemble > 64 {
        bail!("--ensemble must be 1…64, got {}", a.ensemble);
    }
    if let Some(&s) = a
        .sensors
        .iter()
        .find(|&&s| s != 0 && !matches!(s, 4 | 8 | 16 | 32))
    {
        bail!("--sensors takes 0 (none), 4, 8, 16 or 32, got {s}");
    }
    // the models sample on burn's CPU backend, whose random numbers come from one
    // process-wide generator
    burn::tensor::Device::flex().seed(a.seed);
    let (states, nu) = load_states(&a)?;
    let stored = states.first().map(|s| s.n).unwrap_or(0);
    for &n in &a.grids {
        if n == 0 || n > stored || stored % n != 0 {
            bail!("grid {n} does not divide the stored grid {stored}");
        }
    }
    let jobs = a.grids.len() * a.sensors.len() * (cases.len() + models.len());
    let bar = ProgressBar::new(jobs as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::new();
    for &n in &a.grids {
        for &s in &a.sensors {
            for &case in &cases {
                bar.set_message(format!("baselines {case} at {n}², {s} sensors"));
                rows.extend(baseline_rows(&states, case, n, s, nu)?);
                bar.inc(1);
            }
            for (label, m) in models.iter_mut() {
                bar.set_message(format!("{label} at {n}², {s} sensors"));
                rows.extend(model_rows(m, label, &states, n, s, a.ensemble, &settings)?);
                if a.ensemble > 1 {
                    rows.extend(stationary_noise_row(m, &states, n, s, a.ensemble)?);
                }
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    rows.sort_by(|x, y| (x.case.as_str(), x.n, x.sensors).cmp(&(y.case.as_str(), y.n, y.sensors)));
    say!(
        "{} test states ({} stored), {} member(s) per state\n",
        states.len(),
        stored,
        a.ensemble,
    );
    say_raw!("{}", markdown(&rows));
    if let Some(p) = &a.json {
        crate::atomic::write_bytes(p, serde_json::to_string_pretty(&rows)?.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if a.write_cards {
        let files = models.len() - a.model.len();
        for (p, (label, m)) in a.model.iter().zip(models.iter().skip(files)) {
            let case = m.card.part.inputs.case.to_string();
            let mut card = m.card.clone();
            card.eval = rows
                .iter()
                .filter(|r| r.case == case && (r.model == *label || r.nfe == 0))
                .cloned()
                .collect();
            let path = card.write_beside(p).map_err(anyhow::Error::msg)?;
            say!("wrote {} rows into {}", card.eval.len(), path.display());
        }
    }
    Ok(())
}
