//! `closure-lab distill`: a one- or two-step flow generator distilled from a score model
//! ([`crate::closure::flow`]), written beside the model as `OUT.flow.bpk` with the card.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::closure::distill::{
    DistillConfig, DistillProgress, StudentShape, distill as run_distill,
};

#[derive(Args, Debug)]
pub struct DistillArgs {
    /// The score model to distil (`PATH.bpk` with its card `PATH.json`).
    #[arg(long)]
    pub teacher: PathBuf,
    /// Training data: one HDF5 file in the published layout (e.g. the teacher's own), or
    /// for a subgrid model `data --case les` files (comma-separated, each one ν and DNS
    /// grid); the last --val-trajectories of each are held out for validation.
    #[arg(long, value_delimiter = ',', required = true)]
    pub data: Vec<PathBuf>,
    /// The teacher's deterministic (probability-flow ODE) sampler setting.
    #[arg(long, default_value = "heun-karras6")]
    pub teacher_sampler: String,
    /// Run folder for checkpoints (a rerun resumes; more --epochs continue).
    #[arg(long)]
    pub run: PathBuf,
    /// Output: the teacher's weights and card with the flow generator (`OUT.flow.bpk`).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 64)]
    pub grid: usize,
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,
    #[arg(long, default_value_t = 2)]
    pub lr_halve_every: usize,
    #[arg(long, default_value_t = 0.995)]
    pub ema_decay: f64,
    /// Teacher draws per snapshot (each at a sensor density drawn at random).
    #[arg(long, default_value_t = 2)]
    pub draws: usize,
    #[arg(long, default_value_t = 1)]
    pub val_trajectories: usize,
    /// Use at most this many snapshots (0 = all).
    #[arg(long, default_value_t = 0)]
    pub max_samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A student smaller than the teacher, cheaper per draw: channels of each of its FNO
    /// pipelines, fusion layer and projection (with --student-layers; trained from random
    /// weights, so give it more --epochs). Default: the teacher's architecture, started
    /// from its weights.
    #[arg(long, requires = "student_layers")]
    pub student_width: Option<usize>,
    /// Fourier layers of each of the smaller student's pipelines (with --student-width).
    #[arg(long, requires = "student_width")]
    pub student_layers: Option<usize>,
}

pub fn distill(a: DistillArgs) -> Result<()> {
    let data: Vec<&std::path::Path> = a.data.iter().map(|p| p.as_path()).collect();
    super::refuse_overwriting_inputs(&data, &[&a.teacher], &[], &[&a.out])?;
    let cfg = DistillConfig {
        teacher: a.teacher,
        data: a.data,
        teacher_sampler: a.teacher_sampler,
        grid: a.grid,
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        lr_halve_every: a.lr_halve_every,
        ema_decay: a.ema_decay,
        draws: a.draws,
        val_trajectories: a.val_trajectories,
        max_samples: a.max_samples,
        seed: a.seed,
        student: match (a.student_width, a.student_layers) {
            (Some(width), Some(layers)) => Some(StudentShape { width, layers }),
            _ => None,
        },
    };
    let mut report = super::progress::FitReport::new(Box::new(|epoch, loss, v| {
        format!(
            "epoch {epoch:>3}: mean loss {loss:.4}, validation: one-step draw vs teacher \
             relative L2 {:.4}, variance ratio {:.3}",
            v.score,
            v.variance_ratio.unwrap_or(f64::NAN)
        )
    }));
    let mut last = std::time::Instant::now();
    let mut on_progress = |p: &DistillProgress| match *p {
        DistillProgress::Pairs { done, of } => {
            let bar = report.bar();
            bar.set_prefix("teacher pairs");
            bar.set_length(of as u64);
            bar.set_position(done as u64);
            if bar.is_hidden() && (done == of || last.elapsed().as_secs() >= 60) {
                last = std::time::Instant::now();
                tell!("teacher pairs {done}/{of}");
            }
        }
        DistillProgress::Fit(f) => report.report(&f),
    };
    let subgrid = crate::les::learn::model::is_les_card(&cfg.teacher);
    let part = if subgrid {
        let model = crate::les::learn::distill::distill(&cfg, &a.run, &mut on_progress)?;
        model.save(&a.out)?;
        model.card.flow
    } else {
        let model = run_distill(&cfg, &a.run, &mut on_progress)?;
        model.save(&a.out)?;
        model.card.flow
    };
    report.finish();
    let t = &part.map(|f| f.training).unwrap_or_default();
    say!(
        "wrote {} (+ .json card, .flow.bpk): {} epochs, {} pairs, validation relative L2 {:.4}, {:.0} s",
        a.out.display(),
        t.epochs,
        t.samples,
        t.final_val_d_fro,
        t.wall_s
    );
    Ok(())
}
