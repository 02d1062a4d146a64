//! Calibration of an ensemble of closure samples against the truth (docs/science.md §7).
//!
//! For one state with truth `a` and members `b₁…b_M` (mean `b̄`):
//! * skill `D_Fro(a, b̄) = ‖a − b̄‖_F / ‖a‖_F`;
//! * spread `√(Σ_pixels var_i) / ‖a‖_F` with the unbiased (M − 1) variance, on the same
//!   scale as the skill; a calibrated ensemble has spread ≈ skill;
//! * the fair CRPS per pixel, `mean_i |b_i − a| − Σ_{i≠j} |b_i − b_j| / (2M(M − 1))`,
//!   averaged over pixels and divided by the mean |a| (for one member: its mean absolute
//!   error so divided);
//! * spread spectrum: the shell spectrum of the members' deviations `b_i − b̄` (unbiased)
//!   against that of the error `a − b̄`; calibrated at every scale when they agree.

use crate::metrics::{d_fro, energy_spectrum};
use crate::solver::Grid;

/// Per-pixel mean of the members.
pub fn ensemble_mean(members: &[Vec<f64>]) -> Vec<f64> {
    let k = members.len().max(1) as f64;
    let n = members.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| members.iter().map(|m| m[i]).sum::<f64>() / k)
        .collect()
}

/// Per-pixel standard deviation over the members (unbiased, M − 1).
pub(crate) fn ensemble_std(members: &[Vec<f64>]) -> Vec<f64> {
    let mean = ensemble_mean(members);
    let k = members.len().max(2) as f64;
    (0..mean.len())
        .map(|i| {
            let ss: f64 = members.iter().map(|f| (f[i] - mean[i]).powi(2)).sum();
            (ss / (k - 1.0)).sqrt()
        })
        .collect()
}

/// Spread of the ensemble relative to ‖truth‖_F (NaN for fewer than two members).
pub fn spread(members: &[Vec<f64>], truth: &[f64]) -> f64 {
    let m = members.len();
    if m < 2 {
        return f64::NAN;
    }
    let mean = ensemble_mean(members);
    let var_sum: f64 = (0..mean.len())
        .map(|i| {
            members
                .iter()
                .map(|b| (b[i] - mean[i]).powi(2))
                .sum::<f64>()
                / (m - 1) as f64
        })
        .sum();
    let norm: f64 = truth.iter().map(|a| a * a).sum::<f64>().sqrt();
    var_sum.sqrt() / norm
}

/// Fair CRPS per pixel, averaged and divided by the mean |truth|.
pub fn crps(members: &[Vec<f64>], truth: &[f64]) -> f64 {
    let m = members.len();
    if m == 0 {
        return f64::NAN;
    }
    let mut sorted = vec![0.0; m];
    let mut total = 0.0;
    for (i, &a) in truth.iter().enumerate() {
        for (s, b) in sorted.iter_mut().zip(members) {
            *s = b[i];
        }
        let skill = sorted.iter().map(|b| (b - a).abs()).sum::<f64>() / m as f64;
        let pairs = if m > 1 {
            sorted.sort_by(f64::total_cmp);
            // Σ_{i<j} |b_j − b_i| over the sorted values, each pair once
            let once: f64 = sorted
                .iter()
                .enumerate()
                .map(|(k, b)| (2.0 * k as f64 - (m - 1) as f64) * b)
                .sum();
            once / (m * (m - 1)) as f64
        } else {
            0.0
        };
        total += skill - pairs;
    }
    let scale = truth.iter().map(|a| a.abs()).sum::<f64>();
    total / scale
}

/// The scores of one state.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StateScores {
    /// mean over members of each member's D_Fro
    pub d_fro_member: f64,
    /// D_Fro of the ensemble mean (the skill)
    pub d_fro_mean: f64,
    pub spread: f64,
    pub crps: f64,
}

/// Score one state.
pub fn score(members: &[Vec<f64>], truth: &[f64]) -> StateScores {
    let k = members.len().max(1) as f64;
    StateScores {
        d_fro_member: members.iter().map(|b| d_fro(truth, b)).sum::<f64>() / k,
        d_fro_mean: d_fro(truth, &ensemble_mean(members)),
        spread: spread(members, truth),
        crps: crps(members, truth),
    }
}

/// Scores averaged over states, with `spread_skill = spread / d_fro_mean`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Calibration {
    pub d_fro_member: f64,
    pub d_fro_mean: f64,
    pub spread: f64,
    pub spread_skill: f64,
    pub crps: f64,
}

/// Average per-state scores.
pub(crate) fn average(states: &[StateScores]) -> Calibration {
    let k = states.len().max(1) as f64;
    let sum = |f: fn(&StateScores) -> f64| states.iter().map(f).sum::<f64>() / k;
    let (d_fro_mean, spread) = (sum(|s| s.d_fro_mean), sum(|s| s.spread));
    Calibration {
        d_fro_member: sum(|s| s.d_fro_member),
        d_fro_mean,
        spread,
        spread_skill: spread / d_fro_mean,
        crps: sum(|s| s.crps),
    }
}

/// Shell spectra (integer shells, as [`energy_spectrum`]) of one state's ensemble
/// deviations `b_i − b̄` (averaged over members, × M/(M − 1)) and of the error `a − b̄`.
pub fn deviation_spectra(grid: &Grid, members: &[Vec<f64>], truth: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mean = ensemble_mean(members);
    let spec = |f: &[f64]| energy_spectrum(grid, &grid.to_spectral(f));
    let err: Vec<f64> = truth.iter().zip(&mean).map(|(a, b)| a - b).collect();
    let m = members.len();
    let mut spread = vec![0.0; spec(&err).len()];
    if m > 1 {
        for b in members {
            let d: Vec<f64> = b.iter().zip(&mean).map(|(x, y)| x - y).collect();
            for (s, v) in spread.iter_mut().zip(spec(&d)) {
                *s += v / (m - 1) as f64;
            }
        }
    }
    (spread, spec(&err))
}

/// Add one state's [`deviation_spectra`] to running sums (spread, error).
pub(crate) fn add_deviation_spectra(
    sums: &mut (Vec<f64>, Vec<f64>),
    grid: &Grid,
    members: &[Vec<f64>],
    truth: &[f64],
) {
    add_sums(sums, &deviation_spectra(grid, members, truth));
}

/// `total += sums`, shell by shell, for (spread, error) spectra (an empty `total` takes
/// `sums`).
pub(crate) fn add_sums(total: &mut (Vec<f64>, Vec<f64>), sums: &(Vec<f64>, Vec<f64>)) {
    if total.0.is_empty() {
        *total = sums.clone();
        return;
    }
    total.0.iter_mut().zip(&sums.0).for_each(|(a, b)| *a += b);
    total.1.iter_mut().zip(&sums.1).for_each(|(a, b)| *a += b);
}

/// [`deviation_spectra`] summed over states of (members, truth).
pub fn summed_deviation_spectra<'a>(
    grid: &Grid,
    states: impl IntoIterator<Item = (&'a [Vec<f64>], &'a [f64])>,
) -> (Vec<f64>, Vec<f64>) {
    let mut sums = (Vec::new(), Vec::new());
    for (m, truth) in states {
        add_deviation_spectra(&mut sums, grid, m, truth);
    }
    sums
}

/// Per shell, summed spread spectrum ÷ summed error spectrum, and the worst
/// |ratio − 1| over the shells that hold at least 1 % of the error's energy (shells with
/// less are dominated by sampling noise of the estimate).
pub fn spectrum_ratio(spread: &[f64], error: &[f64]) -> (Vec<f64>, f64) {
    let total: f64 = error.iter().sum();
    let ratio: Vec<f64> = spread
        .iter()
        .zip(error)
        .map(|(s, e)| if *e > 0.0 { s / e } else { f64::NAN })
        .collect();
    let worst = ratio
        .iter()
        .zip(error)
        .filter(|(_, e)| **e >= 0.01 * total)
        .map(|(r, _)| (r - 1.0).abs())
        .fold(0.0, f64::max);
    (ratio, worst)
}

/// The ensemble scores every a-priori row holds (the published cases' `eval` rows and
/// the subgrid `les-apriori` rows alike; docs/science.md §7), flattened into the row's
/// JSON. Fields newer than the first rows read as their defaults.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnsembleScores {
    /// Members per state.
    #[serde(default)]
    pub ensemble: usize,
    /// Mean D_Fro of single members.
    pub d_fro: f64,
    /// D_Fro of the ensemble mean (the skill).
    #[serde(default)]
    pub d_fro_mean: f64,
    /// Ensemble spread on the D_Fro scale (null for one member).
    #[serde(default)]
    pub spread: Option<f64>,
    /// spread ÷ d_fro_mean (ideal ≈ 1; null for one member).
    #[serde(default)]
    pub spread_skill: Option<f64>,
    /// Fair CRPS per pixel ÷ mean |truth| (one member: its mean absolute error ÷ mean
    /// |truth|).
    #[serde(default)]
    pub crps: f64,
    /// Spread spectrum ÷ error spectrum per integer shell (ensembles only; null where the
    /// error spectrum is empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum_ratio: Vec<Option<f64>>,
    /// Worst |spectrum ratio − 1| over the shells holding ≥ 1 % of the error energy
    /// ([`spectrum_ratio`]).
    #[serde(default)]
    pub spectrum_worst: Option<f64>,
}

impl EnsembleScores {
    /// The averaged scores of `members`-member ensembles (spread only for ensembles).
    pub fn new(members: usize, c: &Calibration) -> Self {
        let ensemble = members > 1;
        EnsembleScores {
            ensemble: members,
            d_fro: c.d_fro_member,
            d_fro_mean: c.d_fro_mean,
            spread: ensemble.then_some(c.spread),
            spread_skill: ensemble.then_some(c.spread_skill),
            crps: c.crps,
            spectrum_ratio: Vec::new(),
            spectrum_worst: None,
        }
    }

    /// Column titles of [`Self::cells`] in a Markdown table.
    pub const COLUMNS: &'static str =
        "M | D_Fro (member) | D_Fro (mean) | spread | spread/skill | CRPS | spectrum worst";

    /// The scores as Markdown cells (`–` where an ensemble score has no value).
    pub(crate) fn cells(&self) -> String {
        let opt = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |v| format!("{v:.d$}"));
        format!(
            "{} | {:.4} | {:.4} | {} | {} | {:.4} | {}",
            self.ensemble,
            self.d_fro,
            self.d_fro_mean,
            opt(self.spread, 4),
            opt(self.spread_skill, 3),
            self.crps,
            opt(self.spectrum_worst, 2)
        )
    }

    /// Add the spread-spectrum ratio of summed [`deviation_spectra`] (spread, error).
    pub(crate) fn with_spectra(mut self, (spread, error): &(Vec<f64>, Vec<f64>)) -> Self {
        let (ratio, worst) = spectrum_ratio(spread, error);
        self.spectrum_ratio = ratio
            .into_iter()
            .map(|v| v.is_finite().then_some(v))
            .collect();
        self.spectrum_worst = Some(worst);
        self
    }
}
