//! `closure-lab train`: fit a closure model by denoising score matching.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::names;

use crate::closure::layers::Activation;
use crate::closure::model::{InputSpec, SampleRanges, Target};
use crate::closure::score::ScoreNetConfig;
use crate::closure::sensors::Densify;
use crate::closure::train::{TrainConfig, train as run_training};
use crate::solver::Case;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data (HDF5, published layout; the last --val-trajectories are held out).
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder: config, checkpoints (resumed if present).
    #[arg(long)]
    pub run: PathBuf,
    /// Where to write the final model (`PATH.bpk` + `PATH.json` card).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "g", value_parser = |s: &str| names::parse::<Case>("closure case", s))]
    pub case: Case,
    /// `residual` (learn the closure around its deterministic part) or `full` (published).
    #[arg(long, default_value = "residual", value_parser = |s: &str| names::parse::<Target>("target", s))]
    pub target: Target,
    #[arg(long, default_value = "bicubic", value_parser = |s: &str| names::parse::<Densify>("densifier", s))]
    pub densify: Densify,
    /// Sensors per side.
    #[arg(long, default_value_t = 16)]
    pub sensors: usize,
    #[arg(long, default_value_t = 64)]
    pub grid: usize,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 10)]
    pub lr_halve_every: usize,
    #[arg(long, default_value_t = 0.999)]
    pub ema: f64,
    /// Smallest training diffusion time ε.
    #[arg(long, default_value_t = 1e-3)]
    pub t_eps: f64,
    /// Largest training diffusion time (published 2; the sampler never goes past 0.1).
    #[arg(long, default_value_t = 0.12)]
    pub t_max: f64,
    #[arg(long, default_value_t = 20)]
    pub width: usize,
    #[arg(long, default_value_t = 8)]
    pub modes: usize,
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Fourier layers of the noisy-sample pipeline (default: --layers).
    #[arg(long)]
    pub x_layers: Option<usize>,
    /// Hidden width of the final pointwise projection (published 128).
    #[arg(long, default_value_t = 128)]
    pub projection: usize,
    /// Nonlinearity (published gelu; relu is ≈30× cheaper on the CPU backend).
    #[arg(long, default_value = "gelu", value_parser = |s: &str| names::parse::<Activation>("activation", s))]
    pub activation: Activation,
    #[arg(long, default_value_t = 2)]
    pub val_trajectories: usize,
    #[arg(long, default_value_t = 16)]
    pub val_samples: usize,
    /// Use at most this many training samples (0 = all).
    #[arg(long, default_value_t = 0)]
    pub max_samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// EDM output preconditioning with σ_d = the training targets' standard deviation
    /// (measured); off = the published `F/σ(t)` output.
    #[arg(long)]
    pub edm: bool,
    /// ν of the data (for the deterministic part of G).
    #[arg(long, default_value_t = 1e-3)]
    pub nu: f64,
    /// One model for every sensor density (none, 4, 8, 16, 32): the density is drawn per
    /// sample and fed to the network; each density's residual is scaled to unit rms
    /// (needs --target residual).
    #[arg(long)]
    pub all_densities: bool,
    /// Diffusion-time ranges the model samples over, `EM_MAX,EM_MIN,HEUN_MAX,HEUN_MIN`
    /// (recorded in the card; samplers keep their steps and rule). Default: the published
    /// 0.1 … 1e-3 for both.
    #[arg(long, value_delimiter = ',')]
    pub sample_range: Option<Vec<f64>>,
}

pub fn train(a: TrainArgs) -> Result<()> {
    super::refuse_overwriting_inputs(&[&a.data], &[], &[], &[&a.out])?;
    crate::alloc::keep_freed_pages();
    if let Some(v) = &a.sample_range {
        anyhow::ensure!(
            v.len() == 4,
            "--sample-range takes 4 numbers EM_MAX,EM_MIN,HEUN_MAX,HEUN_MIN, got {}",
            v.len()
        );
    }
    let cfg = TrainConfig {
        data: a.data.clone(),
        inputs: InputSpec {
            case: a.case,
            target: a.target,
            densify: a.densify,
            sensors: a.sensors,
            nu: a.nu,
            density_scale: None,
            t_range: a.sample_range.as_ref().map(|v| SampleRanges {
                em: [v[0], v[1]],
                heun: [v[2], v[3]],
            }),
        },
        net: ScoreNetConfig::new()
            .with_width(a.width)
            .with_modes(a.modes)
            .with_layers(a.layers)
            .with_projection(a.projection)
            .with_x_layers(a.x_layers)
            .with_activation(Some(a.activation))
            .with_densities(
                a.all_densities
                    .then_some(crate::closure::sensors::DENSITIES.len()),
            )
            .with_sigma_data(if a.edm { -1.0 } else { 0.0 }),
        grid: a.grid,
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        lr_halve_every: a.lr_halve_every,
        ema_decay: a.ema,
        t_eps: a.t_eps,
        t_max: a.t_max,
        val_trajectories: a.val_trajectories,
        val_samples: a.val_samples,
        max_samples: a.max_samples,
        seed: a.seed,
        whitening: None,
    };
    let mut report = super::progress::FitReport::new(Box::new(|epoch, loss, v| {
        format!(
            "epoch {epoch:>3}: mean loss {loss:.4}, validation D_Fro {:.4}",
            v.score
        )
    }));
    let mut on_progress = |p: &crate::closure::fit::Progress| report.report(p);
    let model = run_training(&cfg, &a.run, &mut on_progress)?;
    report.finish();
    model.save(&a.out)?;
    say!(
        "wrote {} (+ .json card): {} epochs, {} samples, validation D_Fro {:.4}, {:.0} s",
        a.out.display(),
        model.card.training.epochs,
        model.card.training.samples,
        model.card.training.final_val_d_fro,
        model.card.training.wall_s
    );
    Ok(())
}
