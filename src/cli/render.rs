//! `closure-lab render`: headless frames of a preset at fixed simulation times → GIF, MP4
//! or a PNG folder (no window, no GPU).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use crate::experiment::{Experiment, ExperimentConfig, Fields, LearnedModel, Panel, presets};
use crate::render::record::{Recorder, strip};
use crate::render::{Colormap, PanelRanges, Range, panel_style};

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// paper-g, paper-h, decaying, teaching or les.
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
    /// Grid of the runs shown (default: the preset's, 64).
    #[arg(long)]
    pub n: Option<usize>,
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
    if let Some(n) = a.n {
        cfg.n = n;
    }
    cfg.blocking = true;
    cfg.validate()?;
    let model = super::closure_model(&mut cfg, a.model.as_deref())?;
    let with_label = closure_label(&cfg, model.as_ref());
    let stop = super::interruptible()?;
    let bar = super::progress_bar();
    let (omega, t0) = super::start_state(&cfg, from, &bar, &stop)?;
    let mut exp = Experiment::at(cfg, &omega, t0, model)?;
    let still = a
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if still {
        // one step first, so closure panels hold a sample (the title gives the time)
        exp.advance(1)?;
        bar.finish_and_clear();
        return write_still(&a, &mut exp);
    }
    write_movie(&a, &mut exp, &with_label, (from, to), &bar, &stop)
}

/// A panel's title in a movie: the run with the closure says which closure it has.
fn movie_title(p: Panel, cfg: &ExperimentConfig, with_label: &str) -> String {
    match p {
        Panel::With => format!(
            "{}, {with_label}",
            p.title(cfg.term()).replace(", with closure", "")
        ),
        _ => p.title(cfg.term()),
    }
}

/// What closes the run with the closure: the mode, or the learned model's kind.
fn closure_label(cfg: &ExperimentConfig, model: Option<&LearnedModel>) -> String {
    match model {
        Some(LearnedModel::Subgrid(m)) => m.card.kind.closure_name().replace('-', " "),
        Some(LearnedModel::Published(_)) => "learned closure".into(),
        None => format!("closure {}", cfg.closure),
    }
}

/// One colour scale per panel for a whole movie (from its first frame).
fn movie_styles(a: &RenderArgs, f: &Fields) -> Vec<(Range, Colormap)> {
    let ranges = PanelRanges::new(f, Range::symmetric_quantile(&[&f.truth], 0.995));
    a.panels
        .iter()
        .map(|&p| panel_style(p, f.panel(p), &ranges, Colormap::RedBlue, Colormap::Viridis))
        .collect()
}

/// The first panel now as a clean image with title, time and colorbar.
fn write_still(a: &RenderArgs, exp: &mut Experiment) -> Result<()> {
    let f = exp.fields(None);
    let p = a.panels[0];
    let (r, cmap) = movie_styles(a, &f)[0];
    let title = format!(
        "{} [{}]   t = {:.2} s   ({})",
        p.title(exp.config().term()),
        p.unit(),
        f.t,
        a.preset
    );
    let (img, _) = crate::render::panel::panel_image(f.panel(p), f.n, r, cmap, a.scale, &title);
    crate::render::export::save_png(&img, &a.out)?;
    say!(
        "wrote {} ({}×{}, panel `{p}` at t = {:.2} s)",
        a.out.display(),
        img.width(),
        img.height(),
        f.t
    );
    Ok(())
}

/// Frames every `--every` seconds of simulation time from `from` to `to`.
fn write_movie(
    a: &RenderArgs,
    exp: &mut Experiment,
    with_label: &str,
    (from, to): (f64, f64),
    bar: &indicatif::ProgressBar,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let frames = ((to - from) / a.every).round() as u64 + 1;
    let steps_per_frame = (a.every / exp.config().dt).round().max(1.0) as u64;
    bar.set_message("frames");
    bar.set_length(frames);
    bar.set_position(0);
    let mut styles: Option<Vec<(Range, Colormap)>> = None;
    let mut recorder: Option<Recorder> = None;
    let mut encode_s = 0.0;
    for k in 0..frames {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            // the recorder's temporary file goes with it
            bail!("interrupted: nothing written to {}", a.out.display());
        }
        if k > 0 {
            exp.advance(steps_per_frame)?;
        }
        let f = exp.fields(None);
        let rs = styles.get_or_insert_with(|| movie_styles(a, &f));
        let t_enc = Instant::now();
        let panels: Vec<(&[f64], Range, Colormap)> = a
            .panels
            .iter()
            .zip(rs.iter())
            .map(|(&p, &(r, c))| (f.panel(p), r, c))
            .collect();
        let titles: Vec<String> = a
            .panels
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let t = movie_title(p, exp.config(), with_label);
                if i == 0 {
                    format!("{t}, t = {:.2}", f.t)
                } else {
                    t
                }
            })
            .collect();
        let side = (f.n * a.scale) as u32;
        let frame = crate::render::panel::with_titles(
            &strip(&panels, f.n, a.scale),
            &titles,
            side,
            crate::render::record::GAP,
        );
        let rec = match &mut recorder {
            Some(r) => r,
            None => recorder.insert(Recorder::create(
                &a.out,
                a.fps,
                (frame.width(), frame.height()),
            )?),
        };
        rec.push(&frame)?;
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
    say!(
        "wrote {} ({frames} frames, t = {from}…{to} every {} s; {:.1} ms per frame to compose and encode)",
        out.display(),
        a.every,
        encode_s * 1e3 / frames as f64
    );
    Ok(())
}
