//! Scripted runs of the real window: `gui --screenshot F --steps K` (run K steps, save the
//! window, exit) and `gui --bench-frames F` (play F frames, print frame times, the
//! simulation's rate and the sampler's latency, exit). Failures reach the process's exit
//! code through the failure slot.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;

use super::session::Session;
use crate::experiment::runner::RunnerCommand;

/// Where a scripted run reports a failure, read by [`super::launch::run`] after the window
/// closes.
pub type FailureSlot = Arc<Mutex<Option<String>>>;

#[derive(Default)]
pub struct Automation {
    screenshot: Option<(PathBuf, u64)>,
    requested: bool,
    bench: Option<FrameBench>,
    failure: FailureSlot,
}

/// Frame-time record of `gui --bench-frames`.
struct FrameBench {
    frames: u64,
    work_ms: Vec<f64>,
    interval_ms: Vec<f64>,
    last: Option<Instant>,
    start: Option<(Instant, u64)>,
}

fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let p95 = v
        .get((v.len() as f64 * 0.95) as usize)
        .copied()
        .unwrap_or(f64::NAN);
    (mean, p95, v.last().copied().unwrap_or(f64::NAN))
}

impl Automation {
    pub fn new(screenshot: Option<(PathBuf, u64)>, bench_frames: Option<u64>) -> Self {
        Automation {
            screenshot,
            bench: bench_frames.map(|frames| FrameBench {
                frames,
                work_ms: Vec::new(),
                interval_ms: Vec::new(),
                last: None,
                start: None,
            }),
            ..Default::default()
        }
    }

    pub(crate) fn set_failure_slot(&mut self, slot: FailureSlot) {
        self.failure = slot;
    }

    pub(crate) fn active(&self) -> bool {
        self.screenshot.is_some() || self.bench.is_some()
    }

    /// The commands that start a scripted run: a screenshot plays at the settings' pace
    /// (so the learned closure keeps up as it does for a user) and stops at K steps; a
    /// benchmark plays as fast as the simulation thread can.
    pub fn start(&self, session: &mut Session) {
        if let Some((_, steps)) = &self.screenshot {
            session.send(RunnerCommand::PauseAt(Some(*steps)));
        }
        if self.bench.is_some() {
            session.send(RunnerCommand::Speed(f64::INFINITY));
        }
        if self.active() {
            session.send(RunnerCommand::Play(true));
        }
    }

    fn fail(&self, e: String) {
        eprintln!("error: {e}");
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(e);
        }
    }

    /// Once the run has taken its steps and paused: save the window, then close.
    pub fn screenshot(&mut self, ctx: &egui::Context, session: &Session) {
        let Some((path, steps)) = self.screenshot.clone() else {
            return;
        };
        let ready = session
            .snapshot()
            .is_some_and(|s| s.steps >= steps && !session.playing());
        if !ready || self.requested {
            return;
        }
        self.requested = true;
        let ctx2 = ctx.clone();
        let failure = self.failure.clone();
        ctx.request_screenshot(move |img: Arc<egui::ColorImage>| {
            let [w, h] = img.size;
            let saved = super::export::to_rgba(&img)
                .ok_or_else(|| "the screenshot buffer has the wrong size".to_string())
                .and_then(|im| {
                    crate::render::export::save_png(&im, &path).map_err(|e| e.to_string())
                });
            match saved {
                Ok(()) => eprintln!("saved screenshot {w}×{h} to {}", path.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                }
            }
            ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
        });
    }

    /// Record this frame's time (`work_ms`: the app's own work); print and close after the
    /// last one.
    /// `adapter` (what draws the window) ends the line.
    pub fn bench(&mut self, ctx: &egui::Context, session: &Session, work_ms: f64, adapter: &str) {
        let Some(b) = &mut self.bench else { return };
        let Some(snap) = session.snapshot() else {
            return;
        };
        let now = Instant::now();
        match b.start {
            None => b.start = Some((now, session.steps())),
            Some(_) => {
                b.work_ms.push(work_ms);
                if let Some(l) = b.last {
                    b.interval_ms.push((now - l).as_secs_f64() * 1e3);
                }
            }
        }
        b.last = Some(now);
        if (b.work_ms.len() as u64) < b.frames {
            return;
        }
        let (wm, wp, wx) = stats(&mut b.work_ms);
        let (im, ip, ix) = stats(&mut b.interval_ms);
        let (t0, s0) = b.start.unwrap_or((now, 0));
        let rate = session.steps().saturating_sub(s0) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        let cfg = &snap.config;
        let size = ctx.content_rect().size();
        println!(
            "{} frames at {}², ensemble {}, closure {}, window {:.0}×{:.0}: app work {wm:.1} ms mean / {wp:.1} p95 / {wx:.1} max; \
             frame interval {im:.1} ms mean / {ip:.1} p95 / {ix:.1} max; simulation {rate:.0} steps/s; sampler {} ({} steps), latency {}; \
             draws held {} steps (set {}, {}), longest {}; {adapter}",
            b.work_ms.len(),
            cfg.n,
            cfg.ensemble,
            cfg.closure,
            size.x,
            size.y,
            cfg.sampler,
            cfg.sampling_steps,
            snap.latency_ms
                .map_or("—".into(), |l| format!("{l:.0} ms per ensemble")),
            snap.draw_timing.held.map_or("—".into(), |h| h.to_string()),
            cfg.resample_every,
            if cfg.blocking {
                "waiting for each draw"
            } else {
                "not waiting"
            },
            snap.draw_timing
                .max_held
                .map_or("—".into(), |h| h.to_string()),
        );
        self.bench = None;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// A scripted run cannot go on (e.g. the experiment failed to start).
    pub(crate) fn abort(&mut self, ctx: &egui::Context, why: &str) {
        if self.active() {
            self.fail(why.to_string());
            self.screenshot = None;
            self.bench = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}
