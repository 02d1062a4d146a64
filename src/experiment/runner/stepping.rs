//! The simulation thread's loop: commands in, steps at the set pace, snapshots out; and
//! the spin-up of the truth on a thread of its own, cached per initial state.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Launch, Observer, RunnerCommand, RunnerMessage, Shared, Snapshot, SpinProgress, lock};
use crate::experiment::{Experiment, spin_up};

/// Longest stretch of stepping between two looks at the command queue and publications.
const BATCH: Duration = Duration::from_millis(16);
/// Shortest interval between two snapshots while playing.
const PUBLISH_EVERY: Duration = Duration::from_millis(15);

/// What makes a spun-up state reusable: everything the truth's first `spin_to` seconds
/// depend on (the config's start key and `spin_to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SpinKey([u64; 9], u64);

impl SpinKey {
    fn of(l: &Launch) -> Self {
        SpinKey(l.cfg.start_key(), l.spin_to.to_bits())
    }
}

type SpinResult = Result<(Vec<f64>, f64), String>;

/// A spin-up on a thread of its own.
struct Spin {
    key: SpinKey,
    rx: Receiver<SpinResult>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    progress: SpinProgress,
}

impl Spin {
    fn spawn(l: &Launch) -> Self {
        let cfg = l.cfg.clone();
        let t_end = l.spin_to;
        let total = crate::experiment::spin_up_total(&cfg, t_end);
        let done = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let (d, c) = (done.clone(), cancel.clone());
        let progress = SpinProgress {
            done: 0,
            total,
            n: cfg.flow.def().truth_grid(&cfg),
            t_end,
        };
        std::thread::spawn(move || {
            let report = |k: u64, _total: u64| d.store(k, Ordering::Relaxed);
            let r = spin_up(&cfg, t_end, &report, &c).map_err(|e| e.to_string());
            let _ = tx.send(r);
        });
        Spin {
            key: SpinKey::of(l),
            rx,
            cancel,
            done,
            progress,
        }
    }
}

impl Drop for Spin {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The simulation thread's state.
pub(super) struct Loop {
    rx: Receiver<RunnerCommand>,
    shared: Arc<Mutex<Shared>>,
    steps: Arc<AtomicU64>,
    exp: Option<Experiment>,
    playing: bool,
    speed: f64,
    pause_at: Option<u64>,
    /// Pace reference: wall time and experiment steps when the pace was last reset.
    pace: (Instant, u64),
    spin: Option<Spin>,
    /// What to start once the running spin-up is done.
    wanted: Option<Launch>,
    cache: Option<(SpinKey, Vec<f64>, f64)>,
    observer: Option<Box<dyn Observer>>,
    generation: u64,
    /// History samples already published.
    seen: u64,
    dirty: bool,
    last_publish: Instant,
}

impl Loop {
    pub(super) fn new(
        rx: Receiver<RunnerCommand>,
        shared: Arc<Mutex<Shared>>,
        steps: Arc<AtomicU64>,
    ) -> Self {
        Loop {
            rx,
            shared,
            steps,
            exp: None,
            playing: false,
            speed: 600.0,
            pause_at: None,
            pace: (Instant::now(), 0),
            spin: None,
            wanted: None,
            cache: None,
            observer: None,
            generation: 0,
            seen: 0,
            dirty: false,
            last_publish: Instant::now(),
        }
    }

    pub(super) fn run(mut self) {
        loop {
            let first = match self.wait_time() {
                None => match self.rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => break,
                },
                Some(d) => match self.rx.recv_timeout(d) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            if let Some(c) = first {
                self.handle(c);
            }
            loop {
                match self.rx.try_recv() {
                    Ok(c) => self.handle(c),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return self.close(),
                }
            }
            self.poll_spin();
            self.step_due();
            self.publish_if_due();
        }
        self.close();
    }

    /// How long to wait for a command before doing something anyway (None: until one comes).
    fn wait_time(&self) -> Option<Duration> {
        if self.dirty {
            let since = self.last_publish.elapsed();
            return Some(PUBLISH_EVERY.saturating_sub(since));
        }
        if self.spin.is_some() {
            return Some(Duration::from_millis(20));
        }
        if !self.playing || self.exp.is_none() {
            return None;
        }
        let elapsed = self.pace.0.elapsed().as_secs_f64();
        let taken = self
            .steps
            .load(Ordering::Relaxed)
            .saturating_sub(self.pace.1) as f64;
        let ahead = (taken + 1.0) / self.speed - elapsed;
        Some(Duration::from_secs_f64(ahead.clamp(0.0, 0.02)))
    }

    fn message(&self, m: String) {
        lock(&self.shared).messages.push(RunnerMessage::Note(m));
    }

    /// The runs cannot start: say why.
    fn cannot_start(&self, e: impl std::fmt::Display) {
        lock(&self.shared)
            .messages
            .push(RunnerMessage::CannotStart(e.to_string()));
    }

    fn handle(&mut self, c: RunnerCommand) {
        self.dirty = true;
        match c {
            RunnerCommand::Restart(l) => self.restart(l),
            RunnerCommand::Configure(l) => self.configure(l),
            RunnerCommand::Play(on) => {
                self.set_playing(on);
                lock(&self.shared).plays_done += 1;
                self.reset_pace();
            }
            RunnerCommand::Step(k) => {
                for _ in 0..k {
                    if !self.step_once() {
                        break;
                    }
                }
            }
            RunnerCommand::PauseAt(k) => self.pause_at = k,
            RunnerCommand::Speed(s) => {
                self.speed = if s.is_finite() && s > 0.0 { s } else { 1e9 };
                self.reset_pace();
            }
            RunnerCommand::Observe(mut o) => {
                self.finish_observer();
                match &mut self.exp {
                    None => self.message("nothing to record: the runs have not started".into()),
                    Some(exp) => match o.observe(exp) {
                        Ok(()) => self.observer = Some(o),
                        Err(e) => self.message(e),
                    },
                }
            }
            RunnerCommand::StopObserving => self.finish_observer(),
        }
    }

    fn finish_observer(&mut self) {
        if let Some(o) = self.observer.take() {
            let m = match o.finish() {
                Ok(m) | Err(m) => m,
            };
            self.message(m);
        }
    }

    /// Play or pause, told to the reader at once.
    fn set_playing(&mut self, on: bool) {
        self.playing = on;
        lock(&self.shared).playing = on;
    }

    fn reset_pace(&mut self) {
        self.pace = (Instant::now(), self.steps.load(Ordering::Relaxed));
    }

    fn configure(&mut self, l: Launch) {
        let live = self.exp.as_ref().is_some_and(|exp| {
            let needs_model = l.cfg.closure == crate::experiment::ClosureMode::Learned
                && !exp.has_model()
                && l.model.is_some();
            exp.config().live_change_ok(&l.cfg) && !needs_model
        });
        if !live {
            return self.restart(l);
        }
        if let Some(exp) = &mut self.exp {
            if exp.config() != &l.cfg {
                if let Err(e) = exp.update_live(&l.cfg) {
                    self.message(e.to_string());
                }
            }
        }
    }

    fn restart(&mut self, l: Launch) {
        self.exp = None;
        self.generation += 1;
        self.seen = 0;
        self.steps.store(0, Ordering::Relaxed);
        if let Err(e) = l.cfg.validate() {
            self.cannot_start(e);
            return;
        }
        if l.spin_to <= 0.0 {
            return self.start_from(l, None);
        }
        let key = SpinKey::of(&l);
        if let Some((k, w, t)) = &self.cache {
            if *k == key {
                let state = (w.clone(), *t);
                return self.start_from(l, Some(state));
            }
        }
        if self.spin.as_ref().is_none_or(|s| s.key != key) {
            self.spin = Some(Spin::spawn(&l));
        }
        self.wanted = Some(l);
    }

    fn start_from(&mut self, l: Launch, state: Option<(Vec<f64>, f64)>) {
        let made = match state {
            None => Experiment::new(l.cfg, l.model),
            Some((w, t)) => Experiment::at(l.cfg, &w, t, l.model),
        };
        match made {
            Ok(e) => {
                self.exp = Some(e);
                self.reset_pace();
            }
            Err(e) => self.cannot_start(e),
        }
        self.dirty = true;
    }

    fn poll_spin(&mut self) {
        let Some(spin) = &mut self.spin else { return };
        spin.progress.done = spin.done.load(Ordering::Relaxed);
        let progress = spin.progress;
        let result = match spin.rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => {
                lock(&self.shared).spin = Some(progress);
                return;
            }
            Err(TryRecvError::Disconnected) => Err("the spin-up thread stopped".into()),
        };
        let key = spin.key;
        self.spin = None;
        lock(&self.shared).spin = None;
        self.dirty = true;
        match result {
            Ok((w, t)) => {
                self.cache = Some((key, w.clone(), t));
                if let Some(l) = self.wanted.take() {
                    if SpinKey::of(&l) == key {
                        self.start_from(l, Some((w, t)));
                    } else {
                        self.restart(l);
                    }
                }
            }
            Err(e) => self.cannot_start(format!("spin-up failed: {e}")),
        }
    }

    /// One step, then the observer and the pause mark; false when stepping must stop.
    fn step_once(&mut self) -> bool {
        let Some(exp) = &mut self.exp else {
            return false;
        };
        if let Err(e) = exp.step() {
            let m = format!("simulation stopped: {e}");
            self.set_playing(false);
            self.message(m);
            return false;
        }
        self.steps.store(exp.steps(), Ordering::Relaxed);
        if let Some(o) = &mut self.observer {
            if let Err(e) = o.observe(exp) {
                self.observer = None;
                lock(&self.shared).messages.push(RunnerMessage::Note(e));
            }
        }
        if self.pause_at.is_some_and(|k| exp.steps() >= k) {
            self.pause_at = None;
            self.set_playing(false);
            return false;
        }
        true
    }

    /// Steps due at the current pace, for at most one batch of wall time.
    fn step_due(&mut self) {
        if !self.playing || self.exp.is_none() {
            return;
        }
        let t0 = Instant::now();
        let due = |s: &Self| {
            let elapsed = s.pace.0.elapsed().as_secs_f64();
            s.pace.1 + (s.speed * elapsed) as u64
        };
        while self.steps.load(Ordering::Relaxed) < due(self) && t0.elapsed() < BATCH {
            self.dirty = true;
            if !self.step_once() {
                break;
            }
        }
        // slower than the pace: forget the backlog instead of rushing to catch up
        let behind = due(self).saturating_sub(self.steps.load(Ordering::Relaxed)) as f64;
        if behind > self.speed * 0.25 {
            self.reset_pace();
        }
    }

    fn publish_if_due(&mut self) {
        if self.dirty && (!self.playing || self.last_publish.elapsed() >= PUBLISH_EVERY) {
            self.publish();
        }
    }

    fn publish(&mut self) {
        self.dirty = false;
        self.last_publish = Instant::now();
        let observing = self.observer.as_ref().map(|o| o.progress());
        let (snapshot, new) = match &mut self.exp {
            Some(exp) => {
                let new = exp.history.since(self.seen).to_vec();
                self.seen = exp.history.pushed();
                let snap = Snapshot {
                    fields: exp.fields(None),
                    spectra: exp.spectra(),
                    config: exp.config().clone(),
                    steps: exp.steps(),
                    t: exp.t(),
                    status: exp.status().map(str::to_string),
                    latency_ms: exp.last_latency_ms(),
                    draw_timing: exp.draw_timing(),
                    spread_skill: exp.spread_skill(),
                    model_grid: exp.model_grid(),
                    generation: self.generation,
                };
                (Some(Arc::new(snap)), new)
            }
            None => (None, Vec::new()),
        };
        let mut s = lock(&self.shared);
        s.snapshot = snapshot;
        if s.generation != self.generation {
            s.generation = self.generation;
            s.samples.clear();
        }
        s.samples.extend(new);
        s.observing = observing;
        s.playing = self.playing;
    }

    fn close(mut self) {
        self.spin = None;
        self.finish_observer();
    }
}
