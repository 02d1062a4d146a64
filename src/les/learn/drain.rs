//! A stochastic subgrid closure whose net transfer is exact by construction
//! (docs/science.md §10).
//!
//! A coarse run feels a subgrid term Π through two numbers above all: the enstrophy it
//! drains from the resolved scales, `P_Z = −⟨Π ω̄⟩`, and the energy, `P_E = −⟨Π ψ̄⟩`
//! (ψ̄ the streamfunction of ω̄). Both are inner products of Π with a field the run
//! knows, so they depend only on Π's component in the plane `span{ω̄, ψ̄}`. A member
//!
//! `Πᵢ = P∥ m + P⊥ sᵢ`
//!
//! takes that component from a deterministic mean `m` (a model trained by mean-squared
//! error, which gets the drain right) and everything else from a generated sample `sᵢ`
//! (`P∥` the orthogonal projection onto the plane, `P⊥ = 1 − P∥`). Every member then
//! drains exactly what the mean drains, whatever the generator does, and the generated
//! part keeps its spatial structure outside a two-dimensional subspace of the N² it lives
//! in.

use crate::solver::{C64, Grid};

/// How a stochastic closure's members are tied to a deterministic mean `m`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
pub enum MeanTie {
    /// `Πᵢ = P∥ m + P⊥ sᵢ`: the generated sample's own part outside the drain plane,
    /// whatever its mean.
    ExactDrain,
    /// `Πᵢ = m + P⊥ (aᵢ − bᵢ)/√2` with `aᵢ, bᵢ` two independent samples: the mean
    /// entirely from `m` (the difference of two draws has mean zero and a sample's
    /// covariance), the drain exact as above. Costs two draws per member.
    Fluctuations,
}

impl MeanTie {
    /// Suffix of the variant's closure name in evaluation rows.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            MeanTie::ExactDrain => "+exact-drain",
            MeanTie::Fluctuations => "+fluctuations",
        }
    }

    /// Samples the generator must draw for `members` members.
    pub fn draws(self, members: usize) -> usize {
        match self {
            MeanTie::ExactDrain => members,
            MeanTie::Fluctuations => 2 * members,
        }
    }

    /// The members from the generator's `draws` ([`Self::draws`] of them) and the mean
    /// `mean` of the same state, on the state's drain `plane`.
    pub fn members(self, plane: &DrainPlane, mean: &[f64], draws: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        let mut out = match self {
            MeanTie::ExactDrain => draws,
            MeanTie::Fluctuations => draws
                .chunks_exact(2)
                .map(|p| {
                    let r = std::f64::consts::FRAC_1_SQRT_2;
                    (p[0].iter().zip(&p[1]).zip(mean))
                        .map(|((a, b), m)| m + r * (a - b))
                        .collect()
                })
                .collect(),
        };
        for f in &mut out {
            plane.take_drain_from(mean, f);
        }
        out
    }
}

/// An orthonormal basis (pixel inner product) of `span{ω̄, ψ̄}` of one coarse state.
#[derive(Clone, Debug)]
pub struct DrainPlane {
    basis: Vec<Vec<f64>>,
}

impl DrainPlane {
    /// The plane of the state `omega_bar_hat` (spectral, on `grid`). A zero state has
    /// an empty plane (nothing to drain); ψ̄ parallel to ω̄ (a single shell) adds nothing.
    pub fn new(grid: &Grid, omega_bar_hat: &[C64]) -> Self {
        let mut psi_hat = grid.zeros_hat();
        grid.poisson_hat(omega_bar_hat, &mut psi_hat);
        let fields = [grid.to_physical(omega_bar_hat), grid.to_physical(&psi_hat)];
        Self::from_fields(&fields)
    }

    /// Gram–Schmidt over `fields` (twice, for round-off), dropping a field that adds less
    /// than 10⁻¹⁰ of its own norm.
    pub(crate) fn from_fields(fields: &[Vec<f64>]) -> Self {
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for f in fields {
            let norm0 = dot(f, f).sqrt();
            let mut v = f.clone();
            for _ in 0..2 {
                for b in &basis {
                    let c = dot(&v, b);
                    v.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
                }
            }
            let norm = dot(&v, &v).sqrt();
            if norm0 > 0.0 && norm > 1e-10 * norm0 && norm.is_finite() {
                v.iter_mut().for_each(|x| *x /= norm);
                basis.push(v);
            }
        }
        DrainPlane { basis }
    }

    /// Dimension of the plane (0, 1 or 2).
    pub fn dim(&self) -> usize {
        self.basis.len()
    }

    /// The coefficients of `f` along the basis.
    pub fn components(&self, f: &[f64]) -> Vec<f64> {
        self.basis.iter().map(|b| dot(f, b)).collect()
    }

    /// `member ← P∥ mean + P⊥ member`: the member's component in the plane replaced by
    /// the mean's.
    pub fn take_drain_from(&self, mean: &[f64], member: &mut [f64]) {
        for b in &self.basis {
            let c = dot(mean, b) - dot(member, b);
            member.iter_mut().zip(b).for_each(|(x, y)| *x += c * y);
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
