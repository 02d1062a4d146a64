//! The app's side of the simulation thread: what it last published (fields, metric
//! history) and the requests the app sends it. The window only ever reads from here.

use std::sync::Arc;

use crate::experiment::presets;
use crate::experiment::runner::{Launch, Runner, RunnerCommand, Snapshot, SpinProgress};
use crate::experiment::{ClosureMode, History};

use super::compute::Compute;
use super::settings::Settings;

pub struct Session {
    runner: Runner,
    /// The newest snapshot, taken at the start of the frame.
    snapshot: Option<Arc<Snapshot>>,
    /// Metric history of the current generation, built from the published samples.
    pub history: History,
    generation: u64,
    spin: Option<SpinProgress>,
    recording: Option<String>,
    playing: bool,
}

impl Session {
    pub fn new() -> Self {
        Session {
            runner: Runner::spawn(),
            snapshot: None,
            history: History::default(),
            generation: 0,
            spin: None,
            recording: None,
            playing: false,
        }
    }

    /// Take what the simulation thread published since the last frame; returns its
    /// messages for the user.
    pub fn poll(&mut self) -> Vec<crate::experiment::runner::RunnerMessage> {
        self.snapshot = self.runner.snapshot();
        let (generation, samples) = self.runner.take_samples();
        if generation != self.generation {
            self.generation = generation;
            self.history.clear();
        }
        for s in samples {
            self.history.push(s);
        }
        self.spin = self.runner.spin_progress();
        self.recording = self.runner.observing();
        if let Some(on) = self.runner.playing() {
            self.playing = on;
        }
        self.runner.take_messages()
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }

    pub fn spin(&self) -> Option<SpinProgress> {
        self.spin
    }

    /// The recording's progress while one runs.
    pub fn recording(&self) -> Option<&str> {
        self.recording.as_deref()
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Steps taken by the running experiment (live, not from the snapshot).
    pub fn steps(&self) -> u64 {
        self.runner.steps()
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    pub fn send(&mut self, c: RunnerCommand) {
        if let RunnerCommand::Play(on) = c {
            // the button label follows at once; the thread confirms in its next snapshot
            self.playing = on;
        }
        self.runner.send(c);
    }

    /// What the settings ask to run.
    fn launch(settings: &Settings, compute: &Compute) -> Launch {
        let cfg = settings.experiment.clone();
        let model = (cfg.closure == ClosureMode::Learned)
            .then(|| compute.learned(settings).cloned())
            .flatten();
        Launch {
            spin_to: presets::get(settings.preset).spin_up,
            cfg,
            model,
        }
    }

    /// Start from the preset's initial state again.
    pub fn restart(&mut self, settings: &Settings, compute: &Compute) {
        self.send(RunnerCommand::Restart(Self::launch(settings, compute)));
    }

    /// Apply changed settings (live where possible).
    pub(crate) fn configure(&mut self, settings: &Settings, compute: &Compute) {
        self.send(RunnerCommand::Configure(Self::launch(settings, compute)));
    }
}
