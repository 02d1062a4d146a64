//! `closure-lab soak`: the coupled experiment run headless for a long time while its
//! controls change on a schedule (sensors, ensemble, grid, ν, case, closure mode, flow),
//! reporting resident memory over time, non-finite fields and errors.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;

use crate::experiment::{ClosureMode, Experiment, ExperimentConfig, LearnedModel, Panel, presets};
use crate::solver::Case;

#[derive(Args, Debug)]
pub struct SoakArgs {
    /// How long to run (minutes).
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Seconds between control changes.
    #[arg(long, default_value_t = 20.0)]
    pub change_every: f64,
    /// Seconds between memory and finiteness checks.
    #[arg(long, default_value_t = 10.0)]
    pub check_every: f64,
    /// Also write the samples and the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One check.
#[derive(Serialize)]
struct Check {
    t_s: f64,
    rss_mib: f64,
    setting: String,
    /// Which pass through the schedule (0 = the first).
    pass: usize,
    steps: u64,
}

#[derive(Serialize)]
struct Report {
    minutes: f64,
    checks: Vec<Check>,
    /// RSS after the first fifth of the run: (max − min) ÷ mean (settings differ in size)
    rss_spread_after_warmup: f64,
    /// The leak measure: per setting, the median RSS of its later checks after warm-up
    /// against the median of its earlier ones, (late − early) ÷ early; the largest over
    /// settings checked at least 4 times
    rss_drift_same_setting: f64,
    /// Mean RSS of every complete pass through the schedule that starts after warm-up
    /// (a setting's RSS depends on the settings before it; a pass averages that out)
    rss_pass_means: Vec<f64>,
    /// Largest |pass mean − mean of the pass means| ÷ that mean
    rss_pass_deviation: f64,
    non_finite: usize,
    errors: Vec<String>,
    /// mimalloc's purge delay the run used (ms; the app's setting, src/alloc.rs, unless
    /// MIMALLOC_PURGE_DELAY overrides it)
    purge_delay_ms: i64,
}

/// Resident set size of this process in MiB (Linux `/proc/self/statm`).
fn rss_mib() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN);
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    pages * page / (1024.0 * 1024.0)
}

/// The schedule: each entry changes one thing from the one before (live where the
/// experiment allows, a restart otherwise).
fn schedule() -> Vec<(&'static str, ExperimentConfig)> {
    let base = ExperimentConfig {
        blocking: true,
        ensemble: 4,
        ..Default::default()
    };
    // the les preset's flow with the Smagorinsky closure (the preset opens learned)
    let les = ExperimentConfig {
        dns_n: 128,
        blocking: true,
        closure: ClosureMode::Smagorinsky,
        ..presets::get(presets::PresetId::Les).config
    };
    let step = |name, f: &dyn Fn(&mut ExperimentConfig), from: &ExperimentConfig| {
        let mut c = from.clone();
        f(&mut c);
        (name, c)
    };
    let mut out = vec![("G learned, 16×16 sensors, ensemble 4", base.clone())];
    let edits: [(&str, &dyn Fn(&mut ExperimentConfig)); 8] = [
        ("sensors 4×4", &|c| c.sensors = 4),
        ("ensemble 16", &|c| c.ensemble = 16),
        ("sensors 32×32, ensemble 2", &|c| {
            c.sensors = 32;
            c.ensemble = 2
        }),
        ("grid 128²", &|c| c.n = 128),
        ("case H", &|c| c.case = Case::H),
        ("closure oracle", &|c| c.closure = ClosureMode::Oracle),
        ("ν = 3e-3", &|c| c.nu = 3e-3),
        ("closure off", &|c| c.closure = ClosureMode::Off),
    ];
    for (name, f) in edits {
        let prev = out.last().map(|(_, c)| c.clone()).unwrap_or_default();
        out.push(step(name, f, &prev));
    }
    out.push(("LES, Smagorinsky (DNS 128²)", les.clone()));
    out.push(step(
        "LES, dynamic Smagorinsky",
        &|c| c.closure = ClosureMode::DynamicSmagorinsky,
        &les,
    ));
    out.push(step(
        "LES, oracle",
        &|c| c.closure = ClosureMode::Oracle,
        &les,
    ));
    out.push(step(
        "LES, learned stochastic, ensemble 4",
        &|c| {
            c.closure = ClosureMode::Learned;
            c.ensemble = 4
        },
        &les,
    ));
    out
}

fn start(cfg: &ExperimentConfig) -> Result<Experiment> {
    let model = match cfg.closure {
        ClosureMode::Learned => Some(LearnedModel::embedded(cfg, &burn::tensor::Device::flex())?),
        _ => None,
    };
    Ok(Experiment::new(cfg.clone(), model)?)
}

pub fn soak(a: SoakArgs) -> Result<()> {
    let ok = |v: f64, hi: f64| v.is_finite() && v > 0.0 && v <= hi;
    if !ok(a.minutes, 24.0 * 60.0) || !ok(a.change_every, 3600.0) || !ok(a.check_every, 3600.0) {
        bail!("--minutes must be in (0, 1440], --change-every and --check-every in (0, 3600]");
    }
    let cancel = super::interruptible()?;
    let plan = schedule();
    let end = Duration::from_secs_f64(a.minutes * 60.0);
    let t0 = Instant::now();
    let (mut next_change, mut next_check) = (Duration::ZERO, Duration::ZERO);
    let mut index = 0usize;
    let mut exp: Option<Experiment> = None;
    let mut report = Report {
        minutes: a.minutes,
        checks: Vec::new(),
        rss_spread_after_warmup: 0.0,
        rss_drift_same_setting: 0.0,
        rss_pass_means: Vec::new(),
        rss_pass_deviation: 0.0,
        non_finite: 0,
        errors: Vec::new(),
        purge_delay_ms: crate::alloc::purge_delay_ms(),
    };
    let mut setting = String::new();
    while t0.elapsed() < end {
        if cancel.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        if t0.elapsed() >= next_change {
            let (name, cfg) = &plan[index % plan.len()];
            index += 1;
            setting = name.to_string();
            let live = exp
                .as_mut()
                .filter(|e| e.config().live_change_ok(cfg))
                .map(|e| e.update_live(cfg));
            match live {
                Some(Ok(())) => {}
                _ => match start(cfg) {
                    Ok(e) => exp = Some(e),
                    Err(e) => report.errors.push(format!("{name}: {e:#}")),
                },
            }
            next_change += Duration::from_secs_f64(a.change_every);
        }
        if let Some(e) = exp.as_mut() {
            if let Err(err) = e.advance(10) {
                report.errors.push(format!("{setting}: {err}"));
                exp = None;
            }
        }
        if t0.elapsed() >= next_check {
            if let Some(e) = exp.as_mut() {
                let f = e.fields(None);
                if Panel::ALL
                    .iter()
                    .any(|&p| f.panel(p).iter().any(|v| !v.is_finite()))
                {
                    report.non_finite += 1;
                }
            }
            let c = Check {
                t_s: t0.elapsed().as_secs_f64(),
                rss_mib: rss_mib(),
                setting: setting.clone(),
                pass: index.saturating_sub(1) / plan.len(),
                steps: exp.as_ref().map_or(0, |e| e.steps()),
            };
            tell!("{:7.0} s  RSS {:7.1} MiB  {}", c.t_s, c.rss_mib, c.setting);
            report.checks.push(c);
            next_check += Duration::from_secs_f64(a.check_every);
        }
    }
    memory_statistics(&mut report, end.as_secs_f64(), plan.len());
    say!(
        "soak {:.1} min, {} control changes: largest RSS drift of one setting after warm-up (median of its later checks vs its earlier ones) {:+.1} %; mean RSS of the {} complete passes through the schedule after warm-up within ±{:.1} % of their mean; spread over all settings {:.1} % (max − min ÷ mean), {} non-finite checks, {} errors; allocator purge delay {} ms",
        a.minutes,
        index,
        100.0 * report.rss_drift_same_setting,
        report.rss_pass_means.len(),
        100.0 * report.rss_pass_deviation,
        100.0 * report.rss_spread_after_warmup,
        report.non_finite,
        report.errors.len(),
        report.purge_delay_ms
    );
    if let Some(p) = &a.json {
        crate::atomic::write_bytes(p, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if report.non_finite > 0 || !report.errors.is_empty() {
        bail!(
            "{} non-finite checks, errors: {}",
            report.non_finite,
            report.errors.join("; ")
        );
    }
    Ok(())
}

/// The soak's memory figures from its checks (a run of `end_s` seconds through a schedule
/// of `settings` settings; the first fifth is warm-up): the RSS spread after warm-up, the
/// largest drift of one setting, and the pass means.
fn memory_statistics(report: &mut Report, end_s: f64, settings: usize) {
    let warm = end_s / 5.0;
    let after: Vec<f64> = report
        .checks
        .iter()
        .filter(|c| c.t_s >= warm)
        .map(|c| c.rss_mib)
        .collect();
    if !after.is_empty() {
        let (lo, hi) = after
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        let mean = after.iter().sum::<f64>() / after.len() as f64;
        report.rss_spread_after_warmup = (hi - lo) / mean;
    }
    // per setting, the median RSS of its later checks against that of its earlier ones
    // (single checks vary by ±20 % from visit to visit with the allocator's state)
    let mut by_setting: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for c in report.checks.iter().filter(|c| c.t_s >= warm) {
        by_setting
            .entry(c.setting.as_str())
            .or_default()
            .push(c.rss_mib);
    }
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    report.rss_drift_same_setting = by_setting
        .values()
        .filter(|v| v.len() >= 4)
        .map(|v| {
            let (early, late) = v.split_at(v.len() / 2);
            (median(late) - median(early)) / median(early)
        })
        .fold(0.0f64, |m, d| if d.abs() > m.abs() { d } else { m });
    pass_means(report, warm, settings);
}

/// The mean RSS of every complete pass through the schedule (`settings` changes) that
/// starts after `warm` seconds, and their largest relative deviation from their mean.
fn pass_means(report: &mut Report, warm: f64, settings: usize) {
    use std::collections::{BTreeMap, BTreeSet};
    // per pass: its first check's time, the settings it visited, its RSS readings
    let mut passes: BTreeMap<usize, (f64, BTreeSet<&str>, Vec<f64>)> = BTreeMap::new();
    for c in &report.checks {
        let p = passes
            .entry(c.pass)
            .or_insert_with(|| (c.t_s, BTreeSet::new(), Vec::new()));
        p.1.insert(c.setting.as_str());
        p.2.push(c.rss_mib);
    }
    let last = report.checks.last().map_or(0, |c| c.pass);
    let means: Vec<f64> = passes
        .iter()
        .filter(|(pass, (start, visited, _))| {
            **pass < last && *start >= warm && visited.len() == settings
        })
        .map(|(_, (_, _, rss))| rss.iter().sum::<f64>() / rss.len() as f64)
        .collect();
    if !means.is_empty() {
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        report.rss_pass_deviation = means
            .iter()
            .map(|m| (m - mean).abs() / mean)
            .fold(0.0, f64::max);
    }
    report.rss_pass_means = means;
}
