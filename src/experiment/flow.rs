//! The flows an experiment can run, and everything that differs between them: which
//! closures close them, how the truth starts and spins up, the model runs' terms, what
//! the window offers. Each difference is a method here with a `match` over every flow,
//! so a new flow is one more variant here and the compiler lists what it must answer.

use serde::{Deserialize, Serialize};

use super::{ClosureMode, ExperimentConfig, ExperimentError};
use crate::solver::{Case, GrfParams, Grid, Params, grf};

/// Which flow the experiment runs.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Flow {
    /// The published stochastic flow: truth and model runs on one grid, closure G or H.
    #[default]
    Published,
    /// The subgrid (LES) case: a Kolmogorov-flow DNS on `dns_n`², filtered to the `n`²
    /// grid of the model runs; the closure is the subgrid term Π (docs/science.md §8).
    Kolmogorov,
}

impl Flow {
    /// Whether the classical eddy-viscosity closures (and their Smagorinsky yardstick
    /// run) exist: only for a subgrid term.
    pub(crate) fn has_classical_closures(self) -> bool {
        match self {
            Flow::Published => false,
            Flow::Kolmogorov => true,
        }
    }

    /// Whether the closure is the subgrid term Π, whose enstrophy drain −⟨Π ω̄⟩ is read
    /// out live and may be made exact (the drain switch).
    pub(crate) fn closes_subgrid_term(self) -> bool {
        match self {
            Flow::Published => false,
            Flow::Kolmogorov => true,
        }
    }

    /// Whether a learned closure reads sensors of the true closure (shown on its panel).
    pub(crate) fn reads_sensors(self) -> bool {
        match self {
            Flow::Published => true,
            Flow::Kolmogorov => false,
        }
    }

    /// Whether the flow has the published closure cases G and H to choose between.
    pub(crate) fn has_cases(self) -> bool {
        match self {
            Flow::Published => true,
            Flow::Kolmogorov => false,
        }
    }

    /// Whether the runs' grid is the user's to choose across presets (the published
    /// models run zero-shot on 64², 128² and 256²; a subgrid model is trained on one LES
    /// grid, which its preset sets).
    pub(crate) fn grid_is_the_users(self) -> bool {
        match self {
            Flow::Published => true,
            Flow::Kolmogorov => false,
        }
    }

    /// The grids the model runs may take: the published grids, or the LES grids.
    pub(crate) fn grid_choice(self) -> super::limits::Choice<usize> {
        match self {
            Flow::Published => super::limits::GRID,
            Flow::Kolmogorov => super::limits::LES_GRID,
        }
    }

    /// Name of the closure term: G, H (the published cases) or Π.
    pub fn term(self, case: Case) -> &'static str {
        match (self, case) {
            (Flow::Kolmogorov, _) => "Π",
            (Flow::Published, Case::G) => "G",
            (Flow::Published, Case::H) => "H",
        }
    }

    /// The flow in words (messages).
    pub fn label(self) -> &'static str {
        match self {
            Flow::Published => "published",
            Flow::Kolmogorov => "subgrid (LES)",
        }
    }

    /// What the model runs are called (the coarse runs of the subgrid flow are LES).
    pub(crate) fn run_name(self) -> &'static str {
        match self {
            Flow::Published => "model",
            Flow::Kolmogorov => "LES",
        }
    }

    /// The grid the truth runs on (the DNS grid of the subgrid flow).
    pub(crate) fn truth_grid(self, cfg: &ExperimentConfig) -> usize {
        match self {
            Flow::Published => cfg.n,
            Flow::Kolmogorov => cfg.dns_n,
        }
    }

    /// Most time units one headless render may simulate (the subgrid flow steps a 256²
    /// DNS, ≈ 20 s per time unit on two cores).
    pub(crate) fn longest_render(self) -> f64 {
        match self {
            Flow::Published => 1e4,
            Flow::Kolmogorov => 50.0,
        }
    }

    /// The truth's state at t = 0 on [`Self::truth_grid`]: a GRF (seeded), or a perturbed
    /// laminar Kolmogorov flow.
    pub(crate) fn initial_state(self, cfg: &ExperimentConfig) -> Result<Vec<f64>, ExperimentError> {
        Ok(match self {
            Flow::Published => grf::grf(&Grid::new(cfg.n)?, GrfParams::default(), cfg.seed),
            Flow::Kolmogorov => {
                let flow = cfg.les_flow();
                flow.perturbed_laminar(&Grid::new(flow.dns_n)?, cfg.seed)
            }
        })
    }

    /// The model runs' equation: the published model step of the case, or the LES step.
    pub fn model_params(self, cfg: &ExperimentConfig) -> Params {
        match self {
            Flow::Published => cfg.params(cfg.case.model_terms()),
            Flow::Kolmogorov => cfg.les_flow().les_params(),
        }
    }

    /// Work units [`super::spin_up`] reports for `t_end` (its `total`).
    pub(crate) fn spin_up_total(self, cfg: &ExperimentConfig, t_end: f64) -> u64 {
        match self {
            Flow::Published => (t_end / cfg.dt).round() as u64,
            Flow::Kolmogorov => crate::les::spin_up_total(&cfg.les_flow(), t_end),
        }
    }

    /// Settings this flow cannot run with, beyond each setting's own range.
    pub fn check(self, cfg: &ExperimentConfig) -> Result<(), String> {
        match self {
            Flow::Kolmogorov => {
                super::limits::DNS_GRID.check(cfg.dns_n)?;
                crate::les::check_grids(cfg.dns_n, cfg.n)
            }
            Flow::Published if cfg.closure.is_classical() => Err(format!(
                "the {} closure is a subgrid (LES) closure: choose the Kolmogorov flow",
                cfg.closure
            )),
            Flow::Published => Ok(()),
        }
    }

    /// The nearest settings this flow runs with (after each setting was clamped): a
    /// classical closure only where there is a subgrid term, a DNS at least twice as fine
    /// as the runs shown (found by the fuzz tests).
    pub(crate) fn sanitize(self, c: &mut ExperimentConfig) {
        match self {
            Flow::Published => {
                if c.closure.is_classical() {
                    c.closure = ClosureMode::default();
                }
            }
            Flow::Kolmogorov => {
                if !crate::les::grids_compatible(c.dns_n, c.n) {
                    c.n = super::limits::LES_GRID
                        .values
                        .iter()
                        .copied()
                        .filter(|&g| crate::les::grids_compatible(c.dns_n, g))
                        .max()
                        .unwrap_or(super::limits::LES_GRID.default);
                }
            }
        }
    }
}
