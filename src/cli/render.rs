//! `closure-lab render`: headless frames of a preset at fixed simulation times → GIF, MP4
//! or a PNG folder (no window, no GPU).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::closure::model::ClosureModel;
use crate::experiment::{ClosureMode, Experiment, Panel, presets, spin_up};
use crate::render::record::{Recorder, strip};
use crate::render::{Colormap, PanelRanges, Range, panel_style};
use crate::solver::Grid;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// paper-g, paper-h, decaying or teaching.
    #[arg(long, default_value = "paper-g")]
    pub preset: String,
    /// First frame time (the truth is spun up to it first).
    #[arg(long)]
    pub from: Option<f64>,
    /// Last frame time.
    #[arg(long)]
    pub to: Option<f64>,
    /// Simulation time between frames.
    #[arg(long, default_value_t = 0.5)]
    pub every: f64,
    /// Panels side by side: truth, with, without, error, true-closure, closure, spread.
    #[arg(long, value_delimiter = ',', default_value = "truth,with,without", value_parser = Panel::parse)]
    pub panels: Vec<Panel>,
    /// Grid.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Pixels per grid point.
    #[arg(long, default_value_t = 4)]
    pub scale: usize,
    #[arg(long, default_value_t = 10.0)]
    pub fps: f64,
    /// A model file (`PATH.bpk` + `PATH.json`) instead of the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// FILE.gif, FILE.mp4 or DIR/ (numbered PNGs); FILE.png: one still of the first
    /// panel one step after --from, with title, time and colorbar.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn render(a: RenderArgs) -> Result<()> {
    let preset = presets::find(&a.preset).map_err(anyhow::Error::msg)?;
    let from = a.from.unwrap_or(preset.spin_up);
    let to = a.to.unwrap_or(from + 20.0);
    if !(a.every > 0.0 && to >= from && from >= 0.0)
        || a.scale == 0
        || a.scale > 16
        || !(a.fps > 0.0 && a.fps <= 60.0)
    {
        bail!("need 0 ≤ --from ≤ --to, --every > 0, --scale 1…16, --fps in (0, 60]");
    }
    if a.panels.is_empty() {
        bail!("--panels is empty");
    }
    let mut cfg = preset.config.clone();
    cfg.n = a.n;
    cfg.blocking = true;
    cfg.validate()?;
    let model = if cfg.closure == ClosureMode::Learned {
        let m = match &a.model {
            Some(p) => ClosureModel::load(p)?,
            None => ClosureModel::embedded_for(cfg.case, &burn::tensor::Device::flex())?,
        };
        if m.card.inputs.case != cfg.case {
            bail!(
                "the model is for case {}, the preset needs {}",
                m.card.inputs.case,
                cfg.case
            );
        }
        Some(m)
    } else {
        None
    };
    let style = ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(1).with_style(style);
    let (omega, t0) = if from > 0.0 {
        bar.set_message(format!("spin-up to t = {from}"));
        let progress = |k: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(k);
        };
        spin_up(&cfg, from, &progress, &AtomicBool::new(false))?
    } else {
        (
            crate::solver::grf::grf(
                &Grid::new(cfg.n)?,
                crate::solver::GrfParams::default(),
                cfg.seed,
            ),
            0.0,
        )
    };
    let mut exp = Experiment::at(cfg.clone(), &omega, t0, model)?;
    let still = a
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let frames = if still {
        1
    } else {
        ((to - from) / a.every).round() as u64 + 1
    };
    let steps_per_frame = (a.every / cfg.dt).round().max(1.0) as u64;
    bar.set_message("frames");
    bar.set_length(frames);
    bar.set_position(0);
    let mut styles: Option<Vec<(Range, Colormap)>> = None;
    let mut recorder: Option<Recorder> = None;
    let mut encode_s = 0.0;
    for k in 0..frames {
        if k > 0 {
            exp.advance(steps_per_frame)?;
        } else if still {
            // one step first, so closure panels hold a sample (the title gives the time)
            exp.advance(1)?;
        }
        let f = exp.fields(None);
        let fields: Vec<&[f64]> = a.panels.iter().map(|&p| f.panel(p)).collect();
        // one colour scale for the whole movie (from the first frame), shared by ω panels
        let rs = styles.get_or_insert_with(|| {
            let ranges = PanelRanges::new(&f, Range::symmetric_quantile(&[&f.truth], 0.995));
            a.panels
                .iter()
                .zip(&fields)
                .map(|(&p, fl)| panel_style(p, fl, &ranges, Colormap::RedBlue, Colormap::Viridis))
                .collect()
        });
        let t_enc = Instant::now();
        if still {
            let (p, (r, cmap)) = (a.panels[0], rs[0]);
            let title = format!(
                "{} [{}]   t = {:.2} s   ({})",
                p.title(cfg.case),
                p.unit(),
                f.t,
                a.preset
            );
            let (img, _) =
                crate::render::panel::panel_image(fields[0], f.n, r, cmap, a.scale, &title);
            crate::render::export::save_png(&img, &a.out)?;
            bar.finish_and_clear();
            println!(
                "wrote {} ({}×{}, panel `{p}` at t = {:.2} s)",
                a.out.display(),
                img.width(),
                img.height(),
                f.t
            );
            return Ok(());
        }
        let panels: Vec<(&[f64], Range, Colormap)> = fields
            .iter()
            .zip(rs.iter())
            .map(|(fl, (r, c))| (*fl, *r, *c))
            .collect();
        let frame = strip(&panels, f.n, a.scale);
        if recorder.is_none() {
            recorder = Some(Recorder::create(
                &a.out,
                a.fps,
                (frame.width(), frame.height()),
            )?);
        }
        if let Some(r) = recorder.as_mut() {
            r.push(&frame)?;
        }
        encode_s += t_enc.elapsed().as_secs_f64();
        bar.inc(1);
    }
    let t_fin = Instant::now();
    let out = match recorder {
        Some(r) => r.finish()?,
        None => bail!("no frames"),
    };
    encode_s += t_fin.elapsed().as_secs_f64();
    bar.finish_and_clear();
    println!(
        "wrote {} ({frames} frames, t = {from}…{to} every {} s; {:.1} ms per frame to compose and encode)",
        out.display(),
        a.every,
        encode_s * 1e3 / frames as f64
    );
    Ok(())
}
