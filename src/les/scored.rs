//! One closure of `les-eval`'s comparison: its coarse run and what is accumulated about
//! it — a-posteriori statistics of its own state, a-priori scores of its Π on the filtered
//! DNS's state. [`super::eval::evaluate_nu`] steps and samples a list of them.

use std::sync::Arc;

use super::closure::{LesClosure, LesRun};
use super::eval::Accum;
use super::learn::learned::{Learned, LearnedRun};
use super::learn::model::LesKind;
use super::{EddyViscosity, FilteredDns, LesError, LesFlow, stats};
use crate::solver::{C64, Grid, SolverError};

/// Running sums of one closure's a-priori scores.
#[derive(Default)]
pub(super) struct Apriori {
    pub(super) cc: f64,
    pub(super) rel_l2: f64,
    pub(super) p_z: f64,
    pub(super) p_z_true: f64,
    pub(super) backscatter: f64,
    pub(super) coefficient: f64,
    /// calibration scores per scored state
    pub(super) scores: Vec<crate::closure::calibration::StateScores>,
    pub(super) samples: usize,
}

/// What closes a scored run.
enum Closing<'a> {
    /// A classical closure, none or the oracle; `model` is a second copy of its eddy
    /// model, evaluated on the DNS's state for the a-priori scores.
    Classical {
        closure: LesClosure,
        run: LesRun,
        model: Option<EddyViscosity>,
    },
    /// A learned closure; `index` (its place among the learned ones) keys its draws.
    Learned {
        index: usize,
        closure: &'a Learned,
        run: LearnedRun,
    },
}

impl Closing<'_> {
    /// The coarse run.
    fn run(&self) -> &LesRun {
        match self {
            Closing::Classical { run, .. } => run,
            Closing::Learned { run, .. } => &run.run,
        }
    }
}

/// One closure of the comparison.
pub(super) struct Scored<'a> {
    closing: Closing<'a>,
    /// The run failed a step (NaN, CFL); it is not stepped or sampled after that.
    pub(super) blown: bool,
    pub(super) post: Accum,
    pub(super) prior: Apriori,
}

impl<'a> Scored<'a> {
    /// A classical closure's run from the filtered state `bar_hat` at `t0`.
    pub(super) fn classical(
        flow: &LesFlow,
        grid: &Arc<Grid>,
        bar_hat: &[C64],
        t0: f64,
        closure: LesClosure,
    ) -> Result<Self, SolverError> {
        Ok(Self::of(Closing::Classical {
            closure,
            run: LesRun::new(flow, grid.clone(), bar_hat, t0, closure)?,
            model: closure.eddy().map(|m| EddyViscosity::new(grid.clone(), m)),
        }))
    }

    /// The `index`-th learned closure's run; its draws are the stream `stream`.
    pub(super) fn learned(
        flow: &LesFlow,
        grid: &Arc<Grid>,
        bar_hat: &[C64],
        t0: f64,
        (index, closure): (usize, &'a Learned),
        stream: u64,
    ) -> Result<Self, SolverError> {
        Ok(Self::of(Closing::Learned {
            index,
            closure,
            run: LearnedRun::new(flow, grid.clone(), bar_hat, t0, stream)?,
        }))
    }

    fn of(closing: Closing<'a>) -> Self {
        Scored {
            closing,
            blown: false,
            post: Accum::default(),
            prior: Apriori::default(),
        }
    }

    /// One step of the run (`dns_pi`: the DNS's Π, which the oracle applies); a failed
    /// step marks the run blown.
    pub(super) fn step(&mut self, dns_pi: &[C64], flow: &LesFlow) {
        if self.blown {
            return;
        }
        let ok = match &mut self.closing {
            Closing::Classical { run, .. } => run.step(Some(dns_pi)).is_ok(),
            Closing::Learned { closure, run, .. } => run.step(closure, flow).is_ok(),
        };
        self.blown = !ok;
    }

    /// Add the run's own state (and the drain its Π made on it) to the a-posteriori sums.
    pub(super) fn sample_posterior(&mut self, grid: &Grid) {
        if !self.blown {
            let run = self.closing.run();
            self.post
                .add_closed(grid, run.sim.omega_hat(), run.pi_hat());
        }
    }

    /// Score the closure's Π for the state the DNS's Π belongs to (`bar`, `pi_true`:
    /// both physical) — its members where it draws them; `key` names a learned draw
    /// with the step; `pi_model` is scratch.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sample_prior(
        &mut self,
        dns: &FilteredDns,
        flow: &LesFlow,
        grid: &Grid,
        (nu, step): (f64, u64),
        bar: &[f64],
        pi_true: &[f64],
        pi_model: &mut Vec<C64>,
    ) -> Result<(), LesError> {
        let a = &mut self.prior;
        let mut members = Vec::new();
        match &mut self.closing {
            Closing::Classical { model: Some(m), .. } => {
                m.subgrid_hat(dns.prev_bar_hat(), pi_model);
                a.coefficient += m.coefficient();
            }
            Closing::Classical {
                closure: LesClosure::Oracle,
                ..
            } => pi_model.copy_from_slice(dns.pi_hat()),
            Closing::Classical { .. } => pi_model.fill(C64::default()),
            Closing::Learned { index, closure, .. } => {
                let key = [nu.to_bits(), *index as u64, u64::MAX, step];
                let ensemble = closure.ensemble.max(1);
                members = closure.draw(flow, grid, dns.prev_bar_hat(), ensemble, &key)?;
                *pi_model = grid.to_spectral(&members[0]);
            }
        }
        let p = grid.to_physical(pi_model);
        if members.is_empty() {
            members.push(p.clone());
        }
        a.scores
            .push(crate::closure::calibration::score(&members, pi_true));
        a.cc += stats::correlation(&p, pi_true);
        a.rel_l2 += stats::rel_l2(&p, pi_true);
        a.p_z += stats::enstrophy_transfer(&p, bar);
        a.p_z_true += stats::enstrophy_transfer(pi_true, bar);
        a.backscatter += stats::backscatter_fraction(&p, bar);
        a.samples += 1;
        Ok(())
    }

    /// The closure's name in the rows, and the learned model's label.
    pub(super) fn name(&self) -> (super::name::ClosureName, Option<String>) {
        match &self.closing {
            Closing::Classical { closure, .. } => (closure.to_string().as_str().into(), None),
            Closing::Learned { closure, .. } => (closure.closure(), Some(closure.label.clone())),
        }
    }

    /// Whether the closure is an ensemble: a learned one that draws more than one
    /// distinct member (its spread/skill is reported).
    pub(super) fn is_ensemble(&self) -> bool {
        match &self.closing {
            Closing::Classical { .. } => false,
            Closing::Learned { closure, .. } => {
                closure.ensemble > 1 && closure.model.card.part.kind != LesKind::Deterministic
            }
        }
    }

    /// The eddy-viscosity model's mean coefficient (C_s², C_L³) over the scored states,
    /// for a classical closure that has one.
    pub(super) fn coefficient(&self) -> Option<f64> {
        match &self.closing {
            Closing::Classical { model: Some(_), .. } => {
                Some(self.prior.coefficient / self.prior.samples.max(1) as f64)
            }
            _ => None,
        }
    }
}
