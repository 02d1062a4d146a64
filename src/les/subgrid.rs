//! The true subgrid term of a DNS state, matched to the coarse solver
//! (docs/science.md §8): `Π = T[N_DNS(ω)] − N_LES(Tω)`, with N the dealiased advection
//! `u·∇ω` each grid's solver computes. A coarse run that subtracts this Π every step
//! reproduces the filtered DNS (to round-off with the cutoff filter and the reference
//! scheme, whose step evaluates N once, at the start).

use std::sync::Arc;

use crate::solver::advection::{AdvectionWork, advection_hat};
use crate::solver::fft::FftScratch;
use crate::solver::{C64, Grid, SolverError};

use super::filter::{Filter, Restriction};

/// Workspace computing ω̄ = Tω and Π from DNS states.
pub struct SubgridTerm {
    dns: Arc<Grid>,
    les: Arc<Grid>,
    restrict: Restriction,
    dns_adv: AdvectionWork,
    les_adv: AdvectionWork,
    dns_scratch: FftScratch,
    les_scratch: FftScratch,
    n_dns: Vec<C64>,
    n_les: Vec<C64>,
}

impl SubgridTerm {
    pub fn new(dns: Arc<Grid>, les: Arc<Grid>, filter: Filter) -> Result<Self, SolverError> {
        let restrict = Restriction::new(&dns, &les, filter)?;
        Ok(SubgridTerm {
            restrict,
            dns_adv: AdvectionWork::new(&dns, false),
            les_adv: AdvectionWork::new(&les, false),
            dns_scratch: dns.scratch(1),
            les_scratch: les.scratch(1),
            n_dns: dns.zeros_hat(),
            n_les: les.zeros_hat(),
            dns,
            les,
        })
    }

    pub fn les_grid(&self) -> &Arc<Grid> {
        &self.les
    }
    /// The filter T (DNS → LES grid).
    pub(crate) fn restriction(&self) -> &Restriction {
        &self.restrict
    }

    /// `bar = Tω` and `pi = T[N_DNS(ω)] − N_LES(Tω)` for the DNS state `omega_hat`.
    pub(crate) fn compute(&mut self, omega_hat: &[C64], bar: &mut [C64], pi: &mut [C64]) {
        advection_hat(
            &self.dns,
            omega_hat,
            &mut self.n_dns,
            &mut self.dns_adv,
            &mut self.dns_scratch,
        );
        self.restrict.apply(omega_hat, bar);
        let n_dns = std::mem::take(&mut self.n_dns);
        self.pi_given_bar(bar, &n_dns, pi);
        self.n_dns = n_dns;
    }

    /// `pi = T[N_DNS] − N_LES(bar)` given the DNS advection `n_dns_hat` of a state and that
    /// state's filtered vorticity `bar` (e.g. the advection a reference-scheme DNS step
    /// just evaluated at its start state, whose ω̄ is already known).
    pub(crate) fn pi_given_bar(&mut self, bar: &[C64], n_dns_hat: &[C64], pi: &mut [C64]) {
        self.restrict.apply(n_dns_hat, pi);
        advection_hat(
            &self.les,
            bar,
            &mut self.n_les,
            &mut self.les_adv,
            &mut self.les_scratch,
        );
        for (p, n) in pi.iter_mut().zip(&self.n_les) {
            *p -= n;
        }
    }
}
