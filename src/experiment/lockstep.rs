//! The lockstep step of an [`Experiment`]: the truth, the model run with closure and the
//! one without advance together, on one thread or two (docs/design.md, "Two cores").

use super::flow::TruthRun;
use super::{ClosureMode, Experiment, ExperimentError};
use crate::closure::sensors::Sensors;
use crate::solver::fft::{Fft2, FftScratch};
use crate::solver::{C64, SolverError};

impl Experiment {
    /// Advance all three runs by one step. With two threads (on grids of at least
    /// [`crate::solver::PARALLEL_MIN_N`]) the truth steps on one, the run without closure
    /// and the advection of the run with it on the other; the results do not depend on it.
    pub fn step(&mut self) -> Result<(), ExperimentError> {
        // truth first: its closure of this step is what the sensors read; the published
        // oracle hands it to the with-run spectrally, transformed beside the other runs
        let oracle =
            self.cfg.closure == ClosureMode::Oracle && !self.cfg.flow.def().closes_subgrid_term();
        let mut truth = TruthStep {
            truth: &mut self.truth,
            closure: &mut self.true_closure,
            sensors: &self.sensors,
            readings: &mut self.readings,
            spectral: oracle.then_some((&self.grid.fft, &mut self.closure_hat, &mut self.scratch)),
        };
        let without = &mut self.without;
        let reference = &mut self.reference;
        let parallel = self.cfg.flow.def().steps_in_parallel(&self.cfg);
        if !parallel {
            truth.step()?;
            without.step()?;
            step_reference(reference)?;
            self.step_with()?;
        } else {
            // The with-run's advection (the costly part of a reference step, independent
            // of the closure) is made first on the second thread; the published oracle's
            // with-run then finishes on the truth's thread as soon as its closure is
            // there, while the second thread steps the run without closure.
            let with = std::sync::Mutex::new(&mut self.with);
            let lock = || with.lock().unwrap_or_else(|e| e.into_inner());
            let (t, w) = rayon::join(
                || -> Result<(), SolverError> {
                    truth.step()?;
                    if let Some((_, hat, _)) = &truth.spectral {
                        lock().step_with_closure_hat(Some(hat))?;
                    }
                    Ok(())
                },
                || -> Result<(), ExperimentError> {
                    lock().prepare_step();
                    without.step()?;
                    step_reference(reference)
                },
            );
            t?;
            w?;
            if oracle {
                self.closure.copy_from_slice(&self.true_closure);
            } else {
                self.step_with()?;
            }
        }
        self.steps += 1;
        if self.steps % self.cfg.record_every == 0 {
            self.record();
        }
        Ok(())
    }

    /// The model run with the closure of the configured mode.
    fn step_with(&mut self) -> Result<(), ExperimentError> {
        match self.cfg.closure {
            ClosureMode::Off => {
                self.closure.fill(0.0);
                self.with.step()?;
            }
            ClosureMode::Oracle => {
                self.closure.copy_from_slice(&self.true_closure);
                // the truth's own spectral closure, or the physical one transformed by
                // the truth's step
                let hat = self.truth.oracle_closure_hat().unwrap_or(&self.closure_hat);
                self.with.step_with_closure_hat(Some(hat))?;
            }
            ClosureMode::Smagorinsky | ClosureMode::DynamicSmagorinsky | ClosureMode::Leith => {
                match &mut self.eddy {
                    Some(m) => {
                        m.subgrid_hat(self.with.omega_hat(), &mut self.closure_hat);
                        self.grid.fft.inverse(
                            &self.closure_hat,
                            &mut self.closure,
                            &mut self.scratch,
                        );
                        self.with.step_with_closure_hat(Some(&self.closure_hat))?;
                    }
                    None => self.with.step()?,
                }
            }
            ClosureMode::Learned => {
                self.update_learned_closure()?;
                if self.sample_step.is_some() {
                    self.with.step_with_closure(&self.closure)?;
                } else {
                    self.with.step()?;
                }
            }
        }
        Ok(())
    }
}

/// One step of the yardstick run, when there is one.
fn step_reference(
    reference: &mut Option<super::yardstick::YardstickRun>,
) -> Result<(), ExperimentError> {
    reference.as_mut().map_or(Ok(()), |r| r.step())
}

/// The truth's step and what follows from it: its true closure and the sensor readings.
struct TruthStep<'a> {
    truth: &'a mut Box<dyn TruthRun>,
    closure: &'a mut Vec<f64>,
    sensors: &'a Sensors,
    readings: &'a mut Vec<f64>,
    /// Where to transform the physical closure back to spectral (the published oracle).
    spectral: Option<(&'a Fft2, &'a mut Vec<C64>, &'a mut FftScratch)>,
}

impl TruthStep<'_> {
    fn step(&mut self) -> Result<(), SolverError> {
        self.truth.step()?;
        self.truth.closure_into(self.closure);
        *self.readings = self.sensors.read(self.closure);
        if let Some((fft, hat, scratch)) = &mut self.spectral {
            fft.forward(self.closure, hat, scratch);
        }
        Ok(())
    }
}
