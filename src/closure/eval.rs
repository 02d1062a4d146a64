//! A-priori evaluation of closure estimates against the true closure (docs/science.md §4,
//! §5, §7): learned models under several samplers and sensor densities, with ensembles
//! scored for calibration (spread, spread/skill, CRPS), and labelled deterministic
//! baselines — the densified sensors alone ("interpolation only") and the
//! "structure-aware mean" (deterministic part from ω + Fourier-interpolated sensor
//! residual; the deterministic part alone without sensors).

use crate::closure::model::Observed;
use std::time::Instant;

use serde::Serialize;

use super::calibration;
use super::card::EvalRow;
use super::model::{ClosureError, ClosureModel, InputSpec, Target};
use super::prior::deterministic_part;
use super::sampler::Sampler;
use super::sde::{PUBLISHED_T_MAX, PUBLISHED_T_MIN, Schedule};
use super::sensors::{Densify, Sensors, density_label};
use crate::metrics::{d_max, d_mse, d_spe};
use crate::solver::{Case, Grid};

/// One test state on the finest grid: ω and the true G and H.
pub struct TestState {
    pub n: usize,
    pub omega: Vec<f64>,
    pub g: Vec<f64>,
    pub h: Vec<f64>,
}

impl TestState {
    pub fn closure(&self, case: Case) -> &[f64] {
        match case {
            Case::G => &self.g,
            Case::H => &self.h,
        }
    }
}

/// A sampler setting to evaluate.
#[derive(Clone, Debug)]
pub struct SamplerSetting {
    pub label: String,
    pub sampler: Sampler,
    pub schedule: Schedule,
}

impl SamplerSetting {
    /// The schedule a flow generator's `steps` are carried in (only the count is used).
    pub(crate) fn flow_schedule(steps: usize) -> Schedule {
        Schedule::Uniform {
            t_max: 1.0,
            t_min: 0.0,
            steps,
        }
    }

    /// Parse `em-karras10`, `em-uniform1000`, `heun-karras3`, … (T = 0.1, t_min = 1e-3;
    /// the uniform 1000-step baseline starts at T = 1 as published), or `flow-1`,
    /// `flow-2` (a model's distilled flow generator).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (rule, rest) = s
            .split_once('-')
            .ok_or_else(|| format!("bad sampler `{s}` (e.g. em-karras10, heun-karras3)"))?;
        let sampler: Sampler = crate::names::parse("sampler", rule)?;
        if sampler == Sampler::Flow {
            let steps: usize = rest
                .parse()
                .map_err(|_| format!("bad step count in `{s}` (flow-1 or flow-2)"))?;
            if !super::flow::FLOW_STEPS.contains(&steps) {
                return Err(format!("`{s}`: a flow generator takes 1 or 2 steps"));
            }
            return Ok(SamplerSetting {
                label: s.to_string(),
                sampler,
                schedule: Self::flow_schedule(steps),
            });
        }
        let (kind, steps) = rest.split_at(
            rest.find(|c: char| c.is_ascii_digit())
                .ok_or_else(|| format!("bad sampler `{s}`: no step count"))?,
        );
        let steps: usize = steps
            .parse()
            .map_err(|_| format!("bad step count in `{s}`"))?;
        if steps == 0 {
            return Err(format!("`{s}`: need at least one step"));
        }
        if steps > super::sampler::MAX_STEPS {
            return Err(format!(
                "`{s}`: at most {} steps",
                super::sampler::MAX_STEPS
            ));
        }
        let schedule = match kind {
            "karras" => Schedule::karras(PUBLISHED_T_MAX, steps),
            "uniform" => Schedule::Uniform {
                t_max: if steps >= 1000 { 1.0 } else { PUBLISHED_T_MAX },
                t_min: PUBLISHED_T_MIN,
                steps,
            },
            _ => {
                return Err(format!(
                    "unknown schedule `{kind}` in `{s}` (karras or uniform)"
                ));
            }
        };
        Ok(SamplerSetting {
            label: s.to_string(),
            sampler,
            schedule,
        })
    }
}

/// What one row describes.
struct RowMeta<'a> {
    case: Case,
    model: &'a str,
    condition: String,
    n: usize,
    sensors: usize,
    sampler: &'a str,
    nfe: usize,
    ms: f64,
}

/// A row from each state's members and truth.
fn row(meta: RowMeta, states: &[(Vec<Vec<f64>>, &[f64])]) -> EvalRow {
    let k = states.len().max(1) as f64;
    let members = states.first().map_or(0, |(m, _)| m.len());
    let scores: Vec<_> = states
        .iter()
        .map(|(m, truth)| calibration::score(m, truth))
        .collect();
    let cal = calibration::average(&scores);
    let n = meta.n;
    let mut scores = calibration::EnsembleScores::new(members, &cal);
    if members > 1
        && let Ok(grid) = Grid::new(n)
    {
        scores = scores.with_spectra(&calibration::summed_deviation_spectra(
            &grid,
            states.iter().map(|(m, t)| (m.as_slice(), *t)),
        ));
    }
    let mut r = EvalRow {
        case: meta.case.to_string(),
        condition: meta.condition,
        n,
        sampler: meta.sampler.to_string(),
        nfe: meta.nfe,
        d_spe: 0.0,
        d_max: 0.0,
        d_mse: 0.0,
        ms_per_sample: meta.ms,
        model: meta.model.to_string(),
        sensors: meta.sensors,
        scores,
    };
    for (m, truth) in states {
        let per = m.len().max(1) as f64 * k;
        for est in m {
            r.d_spe += d_spe(truth, est, n) / per;
            r.d_max += d_max(truth, est) / per;
            r.d_mse += d_mse(truth, est) / per;
        }
    }
    r
}

/// Baseline rows for `case` on grid `n` with `s × s` sensors (0 = none): "interpolation
/// only" (the densified readings; zero without sensors) and the "structure-aware mean"
/// (the deterministic part from ω plus the Fourier-interpolated sensor residual). Both
/// are deterministic: one member, CRPS = mean absolute error.
pub(crate) fn baseline_rows(
    states: &[TestState],
    case: Case,
    n: usize,
    s: usize,
    nu: f64,
) -> Result<Vec<EvalRow>, ClosureError> {
    let grid = Grid::new(n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let sensors = (s > 0).then(|| Sensors::new(s, n)).transpose()?;
    let fields: Vec<(Vec<f64>, Vec<f64>)> = states
        .iter()
        .map(|st| {
            (
                super::dataset::strided(&st.omega, st.n, n),
                super::dataset::strided(st.closure(case), st.n, n),
            )
        })
        .collect();
    let meta = |model: &'static str, condition: String| RowMeta {
        case,
        model,
        condition,
        n,
        sensors: s,
        sampler: "-",
        nfe: 0,
        ms: 0.0,
    };
    let mut out = Vec::new();
    let interp: Vec<(Vec<Vec<f64>>, &[f64])> = fields
        .iter()
        .map(|(_, c)| {
            let est = match &sensors {
                Some(sen) => sen.densify(&sen.read(c), Densify::Bicubic),
                None => vec![0.0; c.len()],
            };
            (vec![est], c.as_slice())
        })
        .collect();
    out.push(row(
        meta("interpolation only", format!("bicubic, {s}×{s} sensors")),
        &interp,
    ));
    let mean: Vec<(Vec<Vec<f64>>, &[f64])> = fields
        .iter()
        .map(|(w, c)| {
            let est = match &sensors {
                Some(sen) => {
                    let spec = InputSpec {
                        case,
                        target: Target::Residual,
                        densify: Densify::Fourier,
                        sensors: s,
                        nu,
                        density_scale: None,
                        t_range: None,
                    };
                    spec.inputs(&grid, w, &sen.read(c), sen)
                        .mean
                        .unwrap_or_default()
                }
                None => deterministic_part(case, &grid, w, nu),
            };
            (vec![est], c.as_slice())
        })
        .collect();
    out.push(row(
        meta(
            "structure-aware mean",
            format!("deterministic part + Fourier residual, {s}×{s} sensors"),
        ),
        &mean,
    ));
    Ok(out)
}

/// The control for a model trained across densities: its mean plus *stationary Gaussian*
/// noise coloured with the same per-density shell amplitudes the model uses (no network).
/// Whatever a diffusion model adds beyond this row comes from what it learned about the
/// non-stationary, state-dependent part of the residual. None for other models.
pub(crate) fn stationary_noise_row(
    model: &ClosureModel,
    states: &[TestState],
    n: usize,
    s: usize,
    ensemble: usize,
) -> Result<Option<EvalRow>, ClosureError> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let spec = model.card.part.inputs;
    let (Some(w), Some(class)) = (&model.card.whitening, spec.density_class(s)) else {
        return Ok(None);
    };
    let grid = Grid::new(n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let sensors = Sensors::new(s, n)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut pairs = Vec::new();
    for st in states {
        let om = super::dataset::strided(&st.omega, st.n, n);
        let c = super::dataset::strided(st.closure(spec.case), st.n, n);
        let mean = spec
            .inputs(&grid, &om, &sensors.read(&c), &sensors)
            .mean
            .unwrap_or_default();
        let members: Vec<Vec<f64>> = (0..ensemble)
            .map(|_| {
                let white: Vec<f64> = (0..n * n)
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect();
                let r = w.colour(class, &grid, &white);
                mean.iter().zip(&r).map(|(a, b)| a + b).collect()
            })
            .collect();
        pairs.push((members, c));
    }
    let refs: Vec<(Vec<Vec<f64>>, &[f64])> = pairs
        .iter()
        .map(|(m, c)| (m.clone(), c.as_slice()))
        .collect();
    Ok(Some(row(
        RowMeta {
            case: spec.case,
            model: "mean + stationary noise",
            condition: format!(
                "structure-aware mean + Gaussian noise with the model's shell amplitudes, {}",
                density_label(s)
            ),
            n,
            sensors: s,
            sampler: "-",
            nfe: 0,
            ms: 0.0,
        },
        &refs,
    )))
}

/// Per state: the ensemble's members and the true closure.
pub type Draws = Vec<(Vec<Vec<f64>>, Vec<f64>)>;

/// `ensemble` members of `model` for every state on `grid` with `sensors`, each with its
/// true closure on that grid; `done` is called after each state.
pub(crate) fn draw_members(
    model: &mut ClosureModel,
    states: &[TestState],
    grid: &Grid,
    sensors: &Sensors,
    ensemble: usize,
    set: &SamplerSetting,
    done: &mut dyn FnMut(),
) -> Result<Draws, ClosureError> {
    let (n, case) = (grid.n, model.card.part.inputs.case);
    let mut out = Vec::with_capacity(states.len());
    for st in states {
        let w = super::dataset::strided(&st.omega, st.n, n);
        let c = super::dataset::strided(st.closure(case), st.n, n);
        let members = model.sample(
            &Observed {
                grid,
                omega: &w,
                readings: &sensors.read(&c),
                sensors,
            },
            ensemble,
            set.sampler,
            &set.schedule,
        )?;
        out.push((members, c));
        done();
    }
    Ok(out)
}

/// What fitting a per-density inflation table did at one density: spread/skill and worst
/// spread-spectrum shell of the raw members, and of the same members inflated (in-sample:
/// a consistency check, not a score).
#[derive(Clone, Debug, Serialize)]
pub struct DensityFit {
    pub sensors: usize,
    pub spread_skill_before: f64,
    pub spectrum_worst_before: f64,
    pub spread_skill_after: f64,
    pub spectrum_worst_after: f64,
    pub factor: Vec<f64>,
}

/// Summed (spread, error) spectra, spread/skill and worst shell of ensembles.
fn measure(grid: &Grid, draws: &Draws) -> ((Vec<f64>, Vec<f64>), f64, f64) {
    use super::calibration::{average, score, spectrum_ratio, summed_deviation_spectra};
    let sums = summed_deviation_spectra(
        grid,
        draws.iter().map(|(m, t)| (m.as_slice(), t.as_slice())),
    );
    let scores: Vec<_> = draws.iter().map(|(m, t)| score(m, t)).collect();
    let (_, worst) = spectrum_ratio(&sums.0, &sums.1);
    (sums, average(&scores).spread_skill, worst)
}

/// Fit a density model's per-density, per-shell spread inflation
/// ([`super::inflation`]): `ensemble` raw members (the card's tables set aside) per state
/// of `states` at every sensor density, then the factors from their summed spectra;
/// `done` is called after each state and density. The model's tables are left as they
/// were; the table comes back with what it did per density.
pub(crate) fn fit_inflation(
    model: &mut ClosureModel,
    states: &[TestState],
    grid: &Grid,
    ensemble: usize,
    set: &SamplerSetting,
    fitted_on: String,
    done: &mut dyn FnMut(usize),
) -> Result<(super::inflation::Inflation, Vec<DensityFit>), ClosureError> {
    use super::sensors::DENSITIES;
    if model.card.part.inputs.density_scale.is_none() {
        return Err(ClosureError::Input(
            "an inflation table is fitted per density; this model was trained at one".into(),
        ));
    }
    // raw members: no table applies while fitting; the model's tables are put back
    let tables = std::mem::take(&mut model.card.inflation);
    let drawn: Result<Vec<Draws>, ClosureError> = DENSITIES
        .iter()
        .map(|&s| {
            let sensors =
                Sensors::new(s, grid.n).map_err(|e| ClosureError::Input(e.to_string()))?;
            draw_members(model, states, grid, &sensors, ensemble, set, &mut || {
                done(s)
            })
        })
        .collect();
    model.card.inflation = tables;
    let mut draws = drawn?;
    let measured: Vec<_> = draws.iter().map(|d| measure(grid, d)).collect();
    let sums: Vec<_> = measured.iter().map(|(s, _, _)| s.clone()).collect();
    let table = super::inflation::Inflation::fit(
        &sums,
        ensemble,
        set.sampler,
        set.schedule.steps(),
        fitted_on,
    );
    let mut fits = Vec::new();
    for (class, (&s, d)) in DENSITIES.iter().zip(draws.iter_mut()).enumerate() {
        for (m, _) in d.iter_mut() {
            table.apply(class, grid, m);
        }
        let (_, after, worst_after) = measure(grid, d);
        let (_, before, worst_before) = &measured[class];
        fits.push(DensityFit {
            sensors: s,
            spread_skill_before: *before,
            spectrum_worst_before: *worst_before,
            spread_skill_after: after,
            spectrum_worst_after: worst_after,
            factor: table.factor[class].clone(),
        });
    }
    Ok((table, fits))
}

/// Rows of a learned model on grid `n` with `s × s` sensors for each sampler setting,
/// `ensemble` members per state (`s = 0`: no sensors, the model sees ω only).
#[allow(clippy::too_many_arguments)]
pub(crate) fn model_rows(
    model: &mut ClosureModel,
    label: &str,
    states: &[TestState],
    n: usize,
    s: usize,
    ensemble: usize,
    settings: &[SamplerSetting],
) -> Result<Vec<EvalRow>, ClosureError> {
    let spec = model.card.part.inputs;
    let grid = Grid::new(n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let sensors = Sensors::new(s, n)?;
    let trained = if spec.density_scale.is_some() {
        "trained at every density".to_string()
    } else {
        format!("trained with {}", density_label(spec.sensors))
    };
    let condition = if s == 0 {
        format!("ω only; {trained}")
    } else {
        format!("ω + {s}×{s} sensors ({}; {trained})", spec.densify)
    };
    let mut out = Vec::new();
    for set in settings {
        let t0 = Instant::now();
        let pairs = draw_members(model, states, &grid, &sensors, ensemble, set, &mut || {})?;
        let ms = t0.elapsed().as_secs_f64() * 1e3 / (states.len() * ensemble).max(1) as f64;
        let refs: Vec<(Vec<Vec<f64>>, &[f64])> = pairs
            .iter()
            .map(|(m, c)| (m.clone(), c.as_slice()))
            .collect();
        out.push(row(
            RowMeta {
                case: spec.case,
                model: label,
                condition: condition.clone(),
                n,
                sensors: s,
                sampler: &set.label,
                nfe: set.sampler.nfe(set.schedule.steps()),
                ms,
            },
            &refs,
        ));
    }
    Ok(out)
}

/// Markdown table of rows.
pub fn markdown(rows: &[EvalRow]) -> String {
    let mut s = format!(
        "| case | model | sensors | N | sampler | {} | D_Spe | D_Max | ms/sample |\n|{}\n",
        calibration::EnsembleScores::COLUMNS,
        "---|".repeat(15)
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.4} | {:.4} | {} |\n",
            r.case,
            r.model,
            density_label(r.sensors),
            r.n,
            r.sampler,
            r.scores.cells(),
            r.d_spe,
            r.d_max,
            if r.nfe == 0 {
                "-".to_string()
            } else {
                format!("{:.1}", r.ms_per_sample)
            }
        ));
    }
    s
}
