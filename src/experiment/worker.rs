//! The closure worker: a thread that owns the learned model and answers sampling requests,
//! so that neither the simulation nor the UI waits for the network (docs/design.md,
//! convention 9). Requests that pile up are coalesced: only the newest is served.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use super::learned::LearnedModel;
use crate::closure::sampler::Sampler;
use crate::closure::sde::Schedule;
use crate::closure::sensors::Sensors;
use crate::solver::Grid;

/// One sampling job: the model run's state at `step` and the sensor readings.
pub struct WorkerRequest {
    pub step: u64,
    pub grid: Arc<Grid>,
    pub omega: Vec<f64>,
    pub readings: Vec<f64>,
    pub sensors: Sensors,
    pub ensemble: usize,
    pub sampler: Sampler,
    pub schedule: Schedule,
    /// Viscosity a subgrid model is conditioned on.
    pub nu: f64,
    /// Subgrid model: how the members are tied to the FNO ([`super::ExperimentConfig::tie`]).
    pub tie: Option<crate::les::learn::drain::MeanTie>,
}

/// The answer: an ensemble of closure fields for the request's step.
pub struct WorkerReply {
    pub step: u64,
    pub latency_ms: f64,
    pub result: Result<Vec<Vec<f64>>, String>,
}

/// Handle to the worker thread (stops when dropped).
pub struct ClosureWorker {
    tx: Option<Sender<WorkerRequest>>,
    rx: Receiver<WorkerReply>,
    handle: Option<JoinHandle<()>>,
    train_grid: usize,
}

impl ClosureWorker {
    pub fn spawn(mut model: LearnedModel) -> Self {
        let train_grid = model.train_grid();
        let (tx, req_rx) = channel::<WorkerRequest>();
        let (reply_tx, rx) = channel::<WorkerReply>();
        let handle = std::thread::Builder::new()
            .name("closure-worker".into())
            .spawn(move || {
                while let Ok(mut req) = req_rx.recv() {
                    // coalesce: serve only the newest pending request
                    while let Ok(newer) = req_rx.try_recv() {
                        req = newer;
                    }
                    let t0 = Instant::now();
                    let result = model.sample(&req);
                    let reply = WorkerReply {
                        step: req.step,
                        latency_ms: t0.elapsed().as_secs_f64() * 1e3,
                        result,
                    };
                    if reply_tx.send(reply).is_err() {
                        break;
                    }
                }
            })
            .ok();
        ClosureWorker {
            tx: Some(tx),
            rx,
            handle,
            train_grid,
        }
    }

    /// The grid the model was trained on.
    pub fn train_grid(&self) -> usize {
        self.train_grid
    }

    pub fn request(&self, req: WorkerRequest) -> Result<(), String> {
        match (&self.tx, &self.handle) {
            (Some(tx), Some(_)) => tx
                .send(req)
                .map_err(|_| "closure worker has stopped".to_string()),
            _ => Err("closure worker could not be started".into()),
        }
    }

    /// A finished reply, if any.
    pub(crate) fn try_recv(&self) -> Option<WorkerReply> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// Block until the next reply.
    pub fn wait(&self) -> Option<WorkerReply> {
        self.rx.recv().ok()
    }
}

impl Drop for ClosureWorker {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
