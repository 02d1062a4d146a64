//! `closure-lab render`: headless frames of a preset at fixed simulation times → GIF, MP4
//! or a PNG folder (no window, no GPU).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use crate::experiment::{Experiment, ExperimentConfig, Panel, presets};
use crate::render::record::Movie;
use crate::render::{Colormap, PanelRanges, Range, panel_style, panel_title};

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// paper-g, paper-h, decaying, teaching or les.
    #[arg(long, default_value = "paper-g", value_parser = presets::PresetId::parse)]
    pub preset: presets::PresetId,
    /// First frame time (the truth is spun up to it first).
    #[arg(long)]
    pub from: Option<f64>,
    /// Last frame time.
    #[arg(long)]
    pub to: Option<f64>,
    /// Simulation time between frames.
    #[arg(long, default_value_t = 0.5)]
    pub every: f64,
    /// Panels side by side: truth, with, without, error, true-closure, closure, spread,
    /// closure-error, reference (the Smagorinsky LES of the les preset).
    #[arg(long, value_delimiter = ',', default_value = "truth,with,without", value_parser = Panel::parse)]
    pub panels: Vec<Panel>,
    /// Grid of the runs shown (default: the preset's, 64).
    #[arg(long)]
    pub n: Option<usize>,
    /// Pixels per grid point.
    #[arg(long, default_value_t = 4)]
    pub scale: usize,
    /// Each panel with its colorbar, unit and title (the exported panel image).
    #[arg(long)]
    pub colorbars: bool,
    #[arg(long, default_value_t = 10.0)]
    pub fps: f64,
    /// A model file (`PATH.bpk` + `PATH.json`) instead of the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// An experiment setting on top of the preset's, KEY=VALUE (repeat it; the keys of a
    /// spec saved by the app: nu, sensors, closure, sampler, ensemble, …).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// FILE.gif, FILE.mp4 or DIR/ (numbered PNGs); FILE.png: one still of the first
    /// panel one step after --from, with title, time and colorbar.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn render(a: RenderArgs) -> Result<()> {
    let preset = presets::get(a.preset);
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
    crate::experiment::spec::apply(&mut cfg, &a.set).map_err(anyhow::Error::msg)?;
    if let Some(n) = a.n {
        cfg.n = n;
    }
    check_interval(&cfg, from, to, a.every)?;
    cfg.blocking = true;
    cfg.validate()?;
    let model = super::closure_model(&mut cfg, a.model.as_deref())?;
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
    write_movie(&a, &mut exp, (from, to), &bar, &stop)
}

/// Most frames of one movie.
pub const MAX_FRAMES: f64 = 10_000.0;

/// Bounds on the simulated interval before anything runs: the start and the length in
/// time units (the subgrid flow steps a 256² DNS, ≈ 20 s per time unit on two cores, so
/// it gets a shorter leash), frames at least one step apart, at most [`MAX_FRAMES`].
fn check_interval(cfg: &ExperimentConfig, from: f64, to: f64, every: f64) -> Result<()> {
    let longest = cfg.flow.def().longest_render();
    if from > longest || to - from > longest {
        bail!(
            "--from and --to − --from must be at most {longest} time units for this preset \
             (got --from {from}, --to {to})"
        );
    }
    if every < cfg.dt {
        bail!(
            "--every ({every}) is shorter than the time step ({})",
            cfg.dt
        );
    }
    let frames = (to - from) / every + 1.0;
    if frames > MAX_FRAMES {
        bail!(
            "{frames:.0} frames asked for: at most {MAX_FRAMES} (raise --every or shorten --from … --to)"
        );
    }
    Ok(())
}

/// The first panel now as a clean image with title, time and colorbar.
fn write_still(a: &RenderArgs, exp: &mut Experiment) -> Result<()> {
    let f = exp.fields(None);
    let p = a.panels[0];
    // the window's default scale and title: a spec saved in the window renders the
    // panel it showed
    let ranges = PanelRanges::new(&f, Range::omega(&f));
    let style = panel_style(p, &ranges, Colormap::RedBlue, Colormap::Viridis);
    let title = crate::render::panel::still_title(
        &panel_title(p, &exp.config().panels(), &style),
        p.unit(),
        f.t,
    );
    let (img, _) = crate::render::panel::panel_image(
        f.panel(p),
        f.n,
        style.range,
        style.cmap,
        a.scale,
        &title,
    );
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

/// Frames every `--every` seconds of simulation time from `from` to `to`, coloured on
/// scales that cover the whole interval ([`Movie`]).
fn write_movie(
    a: &RenderArgs,
    exp: &mut Experiment,
    (from, to): (f64, f64),
    bar: &indicatif::ProgressBar,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let frames = ((to - from) / a.every).round() as u64 + 1;
    let steps_per_frame = (a.every / exp.config().dt).round().max(1.0) as u64;
    bar.set_message("frames");
    bar.set_length(frames);
    bar.set_position(0);
    let mut movie = Movie::new(
        &a.out,
        a.fps,
        &a.panels,
        exp.config().panels(),
        (Colormap::RedBlue, Colormap::Viridis),
        a.scale,
        true,
        a.colorbars,
    )?;
    let interrupted = || -> Result<()> {
        // the recorder's temporary file goes with it
        bail!("interrupted: nothing written to {}", a.out.display())
    };
    for k in 0..frames {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return interrupted();
        }
        if k > 0 {
            exp.advance(steps_per_frame)?;
        }
        movie.push(&exp.fields(None))?;
        bar.inc(1);
    }
    bar.set_message("encoding");
    bar.set_position(0);
    let t_enc = Instant::now();
    // encoding takes milliseconds per frame: it finishes even when interrupted
    let out = movie.finish(|_, _| bar.inc(1))?;
    let encode_s = t_enc.elapsed().as_secs_f64();
    bar.finish_and_clear();
    say!(
        "wrote {} ({frames} frames, t = {from}…{to} every {} s, colour scales over all frames; {:.1} ms per frame to compose and encode)",
        out.display(),
        a.every,
        encode_s * 1e3 / frames as f64
    );
    Ok(())
}
