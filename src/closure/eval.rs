//! A-priori evaluation of closure estimates against the true closure (docs/science.md §4–5):
//! learned models under several samplers, and labelled baselines — the densified sensors
//! alone, the deterministic part from ω alone, and the structure-aware estimate
//! (deterministic part + Fourier-interpolated sensor residual).

use std::time::Instant;

use super::model::{ClosureError, ClosureModel, EvalRow, InputSpec, Target};
use super::prior::deterministic_part;
use super::sampler::Sampler;
use super::sde::Schedule;
use super::sensors::{Densify, Sensors};
use crate::metrics::{d_fro, d_max, d_mse, d_spe};
use crate::solver::{Case, Grid};

/// One test state on the finest grid: ω and the true G and H.
pub struct TestState {
    pub n: usize,
    pub omega: Vec<f64>,
    pub g: Vec<f64>,
    pub h: Vec<f64>,
}

impl TestState {
    fn closure(&self, case: Case) -> &[f64] {
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
    /// Parse `em-karras10`, `em-uniform1000`, `heun-karras3`, … (T = 0.1, t_min = 1e-3;
    /// the uniform 1000-step baseline starts at T = 1 as published).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (rule, rest) = s
            .split_once('-')
            .ok_or_else(|| format!("bad sampler `{s}` (e.g. em-karras10, heun-karras3)"))?;
        let sampler: Sampler = crate::names::parse("sampler", rule)?;
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
        let schedule = match kind {
            "karras" => Schedule::Karras {
                t_max: 0.1,
                t_min: 1e-3,
                steps,
                rho: 7.0,
            },
            "uniform" => Schedule::Uniform {
                t_max: if steps >= 1000 { 1.0 } else { 0.1 },
                t_min: 1e-3,
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

fn row(
    case: Case,
    condition: &str,
    n: usize,
    sampler: &str,
    nfe: usize,
    pairs: &[(Vec<f64>, &[f64])],
    ms: f64,
) -> EvalRow {
    let k = pairs.len().max(1) as f64;
    let mut r = EvalRow {
        case: case.to_string(),
        condition: condition.to_string(),
        n,
        sampler: sampler.to_string(),
        nfe,
        d_fro: 0.0,
        d_spe: 0.0,
        d_max: 0.0,
        d_mse: 0.0,
        ms_per_sample: ms,
    };
    for (est, truth) in pairs {
        r.d_fro += d_fro(truth, est) / k;
        r.d_spe += d_spe(truth, est, n) / k;
        r.d_max += d_max(truth, est) / k;
        r.d_mse += d_mse(truth, est) / k;
    }
    r
}

/// Baseline rows for `case` on grid `n` with `s × s` sensors.
pub fn baseline_rows(
    states: &[TestState],
    case: Case,
    n: usize,
    s: usize,
    nu: f64,
) -> Result<Vec<EvalRow>, ClosureError> {
    let grid = Grid::new(n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let sensors = Sensors::new(s, n)?;
    let mut out = Vec::new();
    let fields: Vec<(Vec<f64>, Vec<f64>)> = states
        .iter()
        .map(|st| {
            (
                super::dataset::strided(&st.omega, st.n, n),
                super::dataset::strided(st.closure(case), st.n, n),
            )
        })
        .collect();
    for how in [Densify::Bicubic, Densify::Box] {
        let pairs: Vec<(Vec<f64>, &[f64])> = fields
            .iter()
            .map(|(_, c)| (sensors.densify(&sensors.read(c), how), c.as_slice()))
            .collect();
        out.push(row(
            case,
            &format!("interpolation only ({how}, {s}×{s})"),
            n,
            "-",
            0,
            &pairs,
            0.0,
        ));
    }
    let pairs: Vec<(Vec<f64>, &[f64])> = fields
        .iter()
        .map(|(w, c)| (deterministic_part(case, &grid, w, nu), c.as_slice()))
        .collect();
    out.push(row(
        case,
        "deterministic part from ω only",
        n,
        "-",
        0,
        &pairs,
        0.0,
    ));
    let spec = InputSpec {
        case,
        target: Target::Residual,
        densify: Densify::Fourier,
        sensors: s,
        nu,
    };
    let pairs: Vec<(Vec<f64>, &[f64])> = fields
        .iter()
        .map(|(w, c)| {
            let inp = spec.inputs(&grid, w, &sensors.read(c), &sensors);
            (inp.mean.unwrap_or_default(), c.as_slice())
        })
        .collect();
    out.push(row(
        case,
        &format!("deterministic part + Fourier residual ({s}×{s})"),
        n,
        "-",
        0,
        &pairs,
        0.0,
    ));
    Ok(out)
}

/// Rows of a learned model on grid `n` for each sampler setting (one sample per state).
pub fn model_rows(
    model: &mut ClosureModel,
    label: &str,
    states: &[TestState],
    n: usize,
    settings: &[SamplerSetting],
) -> Result<Vec<EvalRow>, ClosureError> {
    let spec = model.card.inputs;
    let grid = Grid::new(n).map_err(|e| ClosureError::Input(e.to_string()))?;
    let sensors = Sensors::new(spec.sensors, n)?;
    let condition = format!(
        "{label}: ω + {0}×{0} sensors ({1})",
        spec.sensors, spec.densify
    );
    let mut out = Vec::new();
    for set in settings {
        let mut pairs = Vec::new();
        let t0 = Instant::now();
        for st in states {
            let w = super::dataset::strided(&st.omega, st.n, n);
            let c = super::dataset::strided(st.closure(spec.case), st.n, n);
            let est = model.sample(
                &grid,
                &w,
                &sensors.read(&c),
                &sensors,
                1,
                set.sampler,
                &set.schedule,
            )?;
            pairs.push((est.into_iter().next().unwrap_or_default(), c));
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3 / states.len().max(1) as f64;
        let refs: Vec<(Vec<f64>, &[f64])> = pairs
            .iter()
            .map(|(e, c)| (e.clone(), c.as_slice()))
            .collect();
        out.push(row(
            spec.case,
            &condition,
            n,
            &set.label,
            set.sampler.nfe(set.schedule.steps()),
            &refs,
            ms,
        ));
    }
    Ok(out)
}

/// Markdown table of rows.
pub fn markdown(rows: &[EvalRow]) -> String {
    let mut s = String::from(
        "| case | condition | N | sampler | NFE | D_Fro | D_Spe | D_Max | D_MSE | ms/sample |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.3e} | {} |\n",
            r.case,
            r.condition,
            r.n,
            r.sampler,
            r.nfe,
            r.d_fro,
            r.d_spe,
            r.d_max,
            r.d_mse,
            if r.nfe == 0 {
                "-".to_string()
            } else {
                format!("{:.1}", r.ms_per_sample)
            }
        ));
    }
    s
}
