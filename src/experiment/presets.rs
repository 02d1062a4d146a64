//! Presets with stable identifiers for the CLI (`paper-g`, `paper-h`, `decaying`,
//! `teaching`, `les`). A preset sets the experiment and says how far to spin the truth up.

use super::{ClosureMode, ExperimentConfig, Flow};
use crate::solver::{Case, Scheme};

#[derive(Clone, Debug)]
pub struct Preset {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Spin the truth up from a GRF to this time before the three runs start.
    pub spin_up: f64,
    pub config: ExperimentConfig,
}

pub fn all() -> Vec<Preset> {
    let base = ExperimentConfig::default();
    vec![
        Preset {
            id: "paper-g",
            title: "Published G case, 30→50 s",
            description: "Stochastic viscous diffusion G = νΔω + 2σξ: truth spun up to t = 30 s, then the model run with the learned G (fresh sample every 5 steps) and without it.",
            spin_up: 30.0,
            config: ExperimentConfig {
                case: Case::G,
                closure: ClosureMode::Learned,
                ..base.clone()
            },
        },
        Preset {
            id: "paper-h",
            title: "Published H case, 30→50 s",
            description: "Stochastic convection H = −u·∇ω + σξ: the model run has no advection at all and lives on its closure.",
            spin_up: 30.0,
            config: ExperimentConfig {
                case: Case::H,
                closure: ClosureMode::Learned,
                ..base.clone()
            },
        },
        Preset {
            id: "decaying",
            title: "Decaying turbulence",
            description: "No forcing and no noise: a GRF vortex field decays; the G closure is then pure viscosity.",
            spin_up: 0.0,
            config: ExperimentConfig {
                case: Case::G,
                sigma: 0.0,
                forcing: 0.0,
                closure: ClosureMode::Learned,
                ..base.clone()
            },
        },
        Preset {
            id: "teaching",
            title: "Teaching: what a closure does",
            description: "The oracle closure (the true missing term, read off the truth) against no closure: with it the model run tracks the truth exactly; without it, it drifts away.",
            spin_up: 30.0,
            config: ExperimentConfig {
                case: Case::G,
                closure: ClosureMode::Oracle,
                ..base.clone()
            },
        },
        Preset {
            id: "les",
            title: "Subgrid (LES): Kolmogorov flow",
            description: "A 256² Kolmogorov-flow DNS, shown filtered to 64², against 64² large-eddy runs: with a subgrid closure (the learned stochastic or deterministic one, Smagorinsky, dynamic Smagorinsky, Leith, or the oracle: the true Π) and without. The closure is the subgrid term Π the coarse grid cannot resolve.",
            spin_up: 4.0,
            config: {
                let flow = crate::les::LesFlow::default();
                ExperimentConfig {
                    flow: Flow::Kolmogorov,
                    n: flow.les_n,
                    dns_n: flow.dns_n,
                    nu: flow.nu,
                    dt: flow.dt,
                    scheme: Scheme::Imex,
                    closure: ClosureMode::Learned,
                    ensemble: 4,
                    resample_every: 10,
                    sensors: 4,
                    ..base
                }
            },
        },
    ]
}

pub fn by_id(id: &str) -> Option<Preset> {
    all().into_iter().find(|p| p.id == id)
}

/// [`by_id`], or an error that lists the presets.
pub fn find(id: &str) -> Result<Preset, String> {
    by_id(id).ok_or_else(|| {
        let ids: Vec<&str> = all().iter().map(|p| p.id).collect();
        format!("unknown preset `{id}` ({})", ids.join(", "))
    })
}
