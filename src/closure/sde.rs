//! The variance-exploding SDE `dx = g(t) dW`, `g(t) = σ^t` (published σ = 26), and the
//! sampling time schedules (docs/science.md §3).

use serde::{Deserialize, Serialize};

/// The published σ of the VE SDE.
pub const PUBLISHED_SIGMA: f64 = 26.0;

/// The published sampling range and schedule: reverse diffusion from T = 0.1 down to
/// t_min = 1e-3 on a Karras schedule with ρ = 7.
pub const PUBLISHED_T_MAX: f64 = 0.1;
pub const PUBLISHED_T_MIN: f64 = 1e-3;
pub const KARRAS_RHO: f64 = 7.0;

/// VE SDE with `g(t) = σ^t` and marginal std `σ(t) = √((σ^{2t} − 1) / (2 ln σ))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VeSde {
    pub sigma: f64,
}

impl Default for VeSde {
    fn default() -> Self {
        VeSde {
            sigma: PUBLISHED_SIGMA,
        }
    }
}

impl VeSde {
    /// Diffusion coefficient `g(t) = σ^t`.
    pub fn g(&self, t: f64) -> f64 {
        self.sigma.powf(t)
    }

    /// Marginal standard deviation of `x_t − x_0`.
    pub fn marginal_std(&self, t: f64) -> f64 {
        ((self.sigma.powf(2.0 * t) - 1.0) / (2.0 * self.sigma.ln())).sqrt()
    }

    /// Marginal variance `(σ^{2t} − 1) / (2 ln σ)` of a batch of times (the same formula
    /// as [`Self::marginal_std`], on tensors, differentiable).
    pub(crate) fn marginal_var(&self, t: burn::tensor::Tensor<1>) -> burn::tensor::Tensor<1> {
        let s = self.sigma.ln();
        ((t * (2.0 * s)).exp() - 1.0).div_scalar(2.0 * s)
    }

    /// Inverse of [`Self::marginal_std`]: the time at which the marginal std is `s`.
    pub fn time_of_std(&self, s: f64) -> f64 {
        (1.0 + 2.0 * self.sigma.ln() * s * s).ln() / (2.0 * self.sigma.ln())
    }
}

/// Step schedules: decreasing times `t_0 = T > t_1 > … > t_{n−1}`, followed by a final
/// step to 0. A sampler evaluates the network at `t_0 … t_{n−1}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Schedule {
    /// `t_i = T − i/(n−1)·(T − t_min)`.
    Uniform {
        t_max: f64,
        t_min: f64,
        steps: usize,
    },
    /// The published "adaptive" schedule
    /// `t_i = (T^{1/ρ} + i/(n−1)·(t_min^{1/ρ} − T^{1/ρ}))^ρ`.
    Karras {
        t_max: f64,
        t_min: f64,
        steps: usize,
        rho: f64,
    },
}

impl Schedule {
    /// The published 10-step schedule: Karras, ρ = 7, T = 0.1, t_min = 1e-3.
    pub fn published() -> Self {
        Schedule::karras(PUBLISHED_T_MAX, 10)
    }

    /// The published ρ = 7 schedule from `t_max` down to 1e-3 in `steps` steps.
    pub(crate) fn karras(t_max: f64, steps: usize) -> Self {
        Schedule::Karras {
            t_max,
            t_min: PUBLISHED_T_MIN,
            steps,
            rho: KARRAS_RHO,
        }
    }

    /// The same rule and step count over `[t_min, t_max]` (ρ kept).
    pub(crate) fn with_range(&self, t_max: f64, t_min: f64) -> Self {
        match *self {
            Schedule::Uniform { steps, .. } => Schedule::Uniform {
                t_max,
                t_min,
                steps,
            },
            Schedule::Karras { steps, rho, .. } => Schedule::Karras {
                t_max,
                t_min,
                steps,
                rho,
            },
        }
    }

    pub fn steps(&self) -> usize {
        match *self {
            Schedule::Uniform { steps, .. } | Schedule::Karras { steps, .. } => steps,
        }
    }

    pub fn t_max(&self) -> f64 {
        match *self {
            Schedule::Uniform { t_max, .. } | Schedule::Karras { t_max, .. } => t_max,
        }
    }

    /// `t_0 … t_{n−1}` followed by 0 (length n + 1).
    pub fn times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = match *self {
            Schedule::Uniform {
                t_max,
                t_min,
                steps,
            } => (0..steps)
                .map(|i| {
                    if steps == 1 {
                        t_max
                    } else {
                        t_max - i as f64 / (steps - 1) as f64 * (t_max - t_min)
                    }
                })
                .collect(),
            Schedule::Karras {
                t_max,
                t_min,
                steps,
                rho,
            } => {
                let (a, b) = (t_max.powf(1.0 / rho), t_min.powf(1.0 / rho));
                (0..steps)
                    .map(|i| {
                        if steps == 1 {
                            t_max
                        } else {
                            (a + i as f64 / (steps - 1) as f64 * (b - a)).powf(rho)
                        }
                    })
                    .collect()
            }
        };
        t.push(0.0);
        t
    }
}
