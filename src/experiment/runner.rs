//! The simulation on its own thread (docs/design.md, conventions 9 and 16). A [`Runner`]
//! owns the [`Experiment`], steps it at its own pace and publishes [`Snapshot`]s; a UI
//! reads the newest snapshot whenever it repaints and talks to the runner only through
//! [`RunnerCommand`]s. So a slow repaint never slows the science, and a slow step never
//! blocks a frame. Observers (a recording, say) run on this thread after every step.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::LearnedModel;
use super::{Experiment, ExperimentConfig, Fields, Sample};

mod stepping;
use stepping::Loop;

/// What to run: the configuration, how far to spin the truth up from its random initial
/// field before the three runs start (0 = start from that field), and the learned model.
#[derive(Clone)]
pub struct Launch {
    pub cfg: ExperimentConfig,
    pub spin_to: f64,
    pub model: Option<LearnedModel>,
}

/// Something called on the simulation thread after every step (and once when attached).
pub trait Observer: Send {
    /// Look at the experiment after a step; an error detaches the observer and is shown.
    fn observe(&mut self, exp: &mut Experiment) -> Result<(), String>;
    /// A few words on its progress (e.g. "12 frames").
    fn progress(&self) -> String;
    /// Finish (e.g. move the file into place); the message says what was made.
    fn finish(self: Box<Self>) -> Result<String, String>;
}

/// Requests to the simulation thread.
pub enum RunnerCommand {
    /// Start again from the initial state (the spin-up is cached per initial state).
    Restart(Launch),
    /// New settings: applied to the running experiment when they allow it (sensors,
    /// sampler, ensemble, closure mode …), else a restart.
    Configure(Launch),
    Play(bool),
    /// Take this many steps now, playing or not.
    Step(u64),
    /// Pause once the experiment has taken this many steps.
    PauseAt(Option<u64>),
    /// Pace of a playing run, in simulation steps per second of wall time.
    Speed(f64),
    /// Attach an observer (a running one is finished first).
    Observe(Box<dyn Observer>),
    /// Detach and finish the observer.
    StopObserving,
}

/// What the simulation thread reports: the window shows each; a scripted run stops on
/// [`RunnerMessage::CannotStart`] (no runs will come).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunnerMessage {
    /// The runs could not be started (bad settings, a failed spin-up, no thread).
    CannotStart(String),
    /// Anything else worth saying (a recording saved or stopped, a blow-up, …).
    Note(String),
}

impl std::fmt::Display for RunnerMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunnerMessage::CannotStart(e) => write!(f, "cannot start: {e}"),
            RunnerMessage::Note(m) => f.write_str(m),
        }
    }
}

/// The state of the runs at one moment, for drawing and export.
pub struct Snapshot {
    pub fields: Fields,
    /// Shell spectra of truth, with and without closure, and any yardstick run.
    pub spectra: Vec<(super::Run, Vec<f64>)>,
    pub config: ExperimentConfig,
    pub steps: u64,
    pub t: f64,
    /// A note about the closure (e.g. a failed sample).
    pub status: Option<String>,
    pub latency_ms: Option<f64>,
    /// How long learned draws are held (the achieved resample interval).
    pub draw_timing: super::DrawTiming,
    /// Live spread ÷ skill of the fresh learned ensembles (docs/science.md §7).
    pub spread_skill: Option<super::LiveRatio>,
    /// Training grid of the attached learned model.
    pub model_grid: Option<usize>,
    /// Counts (re)starts: metric histories of different generations do not mix.
    pub generation: u64,
}

/// Progress of a spin-up.
#[derive(Clone, Copy, Debug)]
pub struct SpinProgress {
    pub done: u64,
    pub total: u64,
    pub n: usize,
    pub t_end: f64,
}

#[derive(Default)]
pub(super) struct Shared {
    snapshot: Option<Arc<Snapshot>>,
    /// Metric samples not yet taken by the reader, of `generation`.
    samples: Vec<Sample>,
    generation: u64,
    messages: Vec<RunnerMessage>,
    spin: Option<SpinProgress>,
    observing: Option<String>,
    playing: bool,
    /// Play/pause commands carried out so far.
    plays_done: u64,
}

/// Handle to the simulation thread; dropping it stops the thread (and finishes an
/// observer, so a recording in progress is saved).
pub struct Runner {
    tx: Option<Sender<RunnerCommand>>,
    shared: Arc<Mutex<Shared>>,
    steps: Arc<AtomicU64>,
    alive: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    /// Play/pause commands sent so far.
    plays_sent: AtomicU64,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // a panic elsewhere while holding the lock leaves plain data behind: keep using it
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runner {
    /// Start the simulation thread (idle until the first [`RunnerCommand::Restart`]).
    pub fn spawn() -> Self {
        let (tx, rx) = channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let steps = Arc::new(AtomicU64::new(0));
        let alive = Arc::new(AtomicBool::new(true));
        let state = Loop::new(rx, shared.clone(), steps.clone());
        let flag = alive.clone();
        let handle = std::thread::Builder::new()
            .name("simulation".into())
            .spawn(move || {
                let _alive = AliveGuard(flag);
                // the loop runs on a worker of its own pool, so a step split over two
                // threads hands half its work to the other worker without a cold start
                match rayon::ThreadPoolBuilder::new()
                    .thread_name(|i| format!("simulation-{i}"))
                    .build()
                {
                    Ok(pool) => pool.install(|| state.run()),
                    Err(_) => state.run(),
                }
            });
        let handle = match handle {
            Ok(h) => Some(h),
            Err(e) => {
                alive.store(false, Ordering::SeqCst);
                lock(&shared)
                    .messages
                    .push(RunnerMessage::CannotStart(format!(
                        "the simulation thread: {e}"
                    )));
                None
            }
        };
        Runner {
            tx: Some(tx),
            shared,
            steps,
            alive,
            handle,
            plays_sent: AtomicU64::new(0),
        }
    }

    pub fn send(&self, c: RunnerCommand) {
        if matches!(c, RunnerCommand::Play(_)) {
            self.plays_sent.fetch_add(1, Ordering::SeqCst);
        }
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(c).is_ok());
        if !sent {
            lock(&self.shared).messages.push(RunnerMessage::Note(
                "the simulation thread has stopped".into(),
            ));
        }
    }

    /// The newest snapshot (None while spinning up or after a failed start).
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        lock(&self.shared).snapshot.clone()
    }

    /// Metric samples recorded since the last call, and the generation they belong to.
    pub fn take_samples(&self) -> (u64, Vec<Sample>) {
        let mut s = lock(&self.shared);
        (s.generation, std::mem::take(&mut s.samples))
    }

    /// Messages for the user since the last call (errors, saved files).
    pub(crate) fn take_messages(&self) -> Vec<RunnerMessage> {
        std::mem::take(&mut lock(&self.shared).messages)
    }

    pub(crate) fn spin_progress(&self) -> Option<SpinProgress> {
        lock(&self.shared).spin
    }

    /// The observer's progress while one is attached.
    pub(crate) fn observing(&self) -> Option<String> {
        lock(&self.shared).observing.clone()
    }

    /// Whether the runs are playing; None while a play/pause command is on its way.
    pub fn playing(&self) -> Option<bool> {
        let s = lock(&self.shared);
        (s.plays_done >= self.plays_sent.load(Ordering::SeqCst)).then_some(s.playing)
    }

    /// Steps of the running experiment (read without waiting for the thread).
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    /// True while the thread runs; false once it has stopped.
    pub fn alive(&self) -> Arc<AtomicBool> {
        self.alive.clone()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct AliveGuard(Arc<AtomicBool>);
impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
