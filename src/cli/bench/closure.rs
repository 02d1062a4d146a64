//! `closure-lab bench closure`: milliseconds per closure draw of the embedded model and,
//! as the reference timed in the same run, the published architecture, per sampler,
//! grid, ensemble batch and thread count; then the shipped subgrid Π model (plain and
//! with the exact drain) on its LES grid.

use crate::closure::model::Observed;
use crate::les::learn::Draw;
use anyhow::Result;
use serde::Serialize;

use super::{BenchDevice, bench_device, emit, thread_counts, time_per_call};
use crate::solver::{GrfParams, Grid, grf};

#[derive(Serialize)]
struct ClosureRow {
    /// `cpu` or `wgpu`
    device: &'static str,
    /// `shipped` (the embedded G model), `shipped-h` (the H model's flow generator),
    /// `teacher-shaped` (a flow generator of the score network's shape) or
    /// `published-arch` (the published network's shapes): the references, random
    /// weights, measured in the same run
    model: &'static str,
    n: usize,
    batch: usize,
    threads: usize,
    sampler: String,
    nfe: usize,
    ms_per_sample: f64,
    ms_per_eval: f64,
}

impl ClosureRow {
    /// The row of `t` seconds per call of a `[n, batch, threads]` draw.
    fn new(
        on: BenchDevice,
        model: &'static str,
        sampler: &str,
        nfe: usize,
        [n, batch, threads]: [usize; 3],
        t: f64,
    ) -> Self {
        ClosureRow {
            device: on.name(),
            model,
            n,
            batch,
            threads,
            sampler: sampler.to_string(),
            nfe,
            ms_per_sample: t * 1e3 / batch as f64,
            ms_per_eval: t * 1e3 / nfe as f64,
        }
    }

    fn emit(&self, json: bool) -> Result<()> {
        let r = self;
        emit(json, r, || {
            format!(
                "{:>5} {:>6} {:>8} {:>15} {:>14} {:>5} {:>12.2} {:>10.2}",
                r.n, r.batch, r.threads, r.model, r.sampler, r.nfe, r.ms_per_sample, r.ms_per_eval
            )
        })
    }
}

pub(super) fn bench_closure(
    json: bool,
    sizes: &[usize],
    batches: &[usize],
    seconds: f64,
    on: BenchDevice,
) -> Result<()> {
    use crate::closure::eval::SamplerSetting;
    use crate::closure::sampler::Sampler;
    use crate::closure::sde::Schedule;
    use crate::closure::sensors::Sensors;

    let thread_counts = thread_counts();
    let (device, backend) = bench_device(on)?;
    let mut models = closure_bench_models(&device)?;
    let settings = [
        ("em-karras10", Sampler::EulerMaruyama, Schedule::published()),
        ("heun-karras3", Sampler::Heun, Schedule::karras(0.1, 3)),
        ("flow-1", Sampler::Flow, SamplerSetting::flow_schedule(1)),
        ("flow-2", Sampler::Flow, SamplerSetting::flow_schedule(2)),
    ];
    if !json {
        say!(
            "shipped = embedded model `{}` (shipped-h: the H model's flow generator); \
             teacher-shaped = its flow generator of the score \
             network's shape, published-arch = the published network's shapes (references, \
             random weights, same run); {backend}; best of 3 × {seconds} s",
            models[0].1.card.name
        );
        say!(
            "{:>5} {:>6} {:>8} {:>15} {:>14} {:>5} {:>12} {:>10}",
            "N",
            "batch",
            "threads",
            "model",
            "sampler",
            "NFE",
            "ms/sample",
            "ms/eval"
        );
    }
    for &n in sizes {
        let grid = Grid::new(n)?;
        let omega = grf::grf(&grid, GrfParams::default(), 3);
        let sensors = Sensors::new(models[0].1.card.part.inputs.sensors, n)?;
        let readings = vec![0.01; sensors.s * sensors.s];
        let query = Observed {
            grid: &grid,
            omega: &omega,
            readings: &readings,
            sensors: &sensors,
        };
        for &batch in batches {
            for &threads in &thread_counts {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()?;
                for (label, sampler, schedule) in &settings {
                    for (which, model) in models.iter_mut() {
                        // the teacher-shaped model differs from the shipped one only in
                        // its flow generator; the H model's score network is G's shape
                        let flow_only = ["teacher-shaped", "shipped-h"].contains(which);
                        if flow_only && *sampler != Sampler::Flow {
                            continue;
                        }
                        let t = pool.install(|| {
                            // warm-up (first call builds the DFT basis)
                            model.sample(&query, batch, *sampler, schedule)?;
                            time_per_call(seconds, || {
                                model.sample(&query, batch, *sampler, schedule)?;
                                Ok(())
                            })
                        })?;
                        let row = ClosureRow::new(
                            on,
                            which,
                            label,
                            sampler.nfe(schedule.steps()),
                            [n, batch, threads],
                            t,
                        );
                        row.emit(json)?;
                    }
                }
            }
        }
    }
    bench_subgrid(json, sizes, batches, seconds, on, &device, &thread_counts)
}

/// The shipped subgrid Π models (each on its own LES grid), plain and with the exact
/// drain, with the published sampler and its flow generator: what a fresh draw every LES
/// step costs.
fn bench_subgrid(
    json: bool,
    sizes: &[usize],
    batches: &[usize],
    seconds: f64,
    on: BenchDevice,
    device: &burn::tensor::Device,
    thread_counts: &[usize],
) -> Result<()> {
    use crate::closure::eval::SamplerSetting;
    use crate::les::learn::model::LesKind;
    use crate::les::learn::shipped::shipped;
    // each shipped LES grid among the sizes asked for (models run on their own grid only)
    for &n in sizes {
        let Ok(plain) = shipped(LesKind::Stochastic, n, device) else {
            continue;
        };
        let drained =
            plain
                .clone()
                .with_exact_drain(Some(shipped(LesKind::Deterministic, n, device)?))?;
        let grid = Grid::new(n)?;
        let omega: Vec<f64> = grf::grf(&grid, GrfParams::default(), 3)
            .iter()
            .map(|w| w * 30.0)
            .collect();
        for &batch in batches {
            for &threads in thread_counts {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()?;
                for label in ["em-karras10", "flow-1"] {
                    let s = SamplerSetting::parse(label).map_err(anyhow::Error::msg)?;
                    for (which, model) in [("subgrid", &plain), ("subgrid+drain", &drained)] {
                        let draw = || {
                            model.sample(
                                &Draw {
                                    grid: &grid,
                                    omega_bar: &omega,
                                    nu: 2e-4,
                                    dns_n: 256,
                                },
                                batch,
                                s.sampler,
                                &s.schedule,
                            )
                        };
                        let t = pool.install(|| {
                            draw()?;
                            time_per_call(seconds, || {
                                draw()?;
                                Ok(())
                            })
                        })?;
                        ClosureRow::new(
                            on,
                            which,
                            label,
                            s.sampler.nfe(s.schedule.steps()),
                            [n, batch, threads],
                            t,
                        )
                        .emit(json)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The embedded G model, the H model (whose flow generator may have another shape) and,
/// as references timed in the same run, the published architecture (GELU, 4-layer noisy
/// path, 128-wide projection) and the embedded model with a flow generator of its score
/// network's own shape (the session-18 student, the reference for a smaller one), both
/// with random weights — timing does not depend on the values. A model without a flow
/// generator gets one of its own architecture.
fn closure_bench_models(
    device: &burn::tensor::Device,
) -> Result<[(&'static str, crate::closure::model::ClosureModel); 4]> {
    use crate::closure::card::TrainingInfo;
    use crate::closure::flow::FlowPart;
    use crate::closure::model::ClosureModel;
    let own_shape_flow = |mut m: ClosureModel| {
        m.card.flow = None;
        let part = FlowPart {
            net: m.card.part.net.clone().with_sigma_data(0.0),
            teacher: "untrained (timing only)".into(),
            training: TrainingInfo::default(),
        };
        let net = part.net.init(device);
        m.with_flow(part, net)
    };
    let shipped = ClosureModel::embedded(device)?;
    let teacher_shaped = own_shape_flow(shipped.clone());
    let shipped = if shipped.has_flow() {
        shipped
    } else {
        teacher_shaped.clone()
    };
    let mut card = shipped.card.clone();
    card.part.net =
        crate::closure::score::ScoreNetConfig::new().with_sigma_data(card.part.net.sigma_data);
    let published = own_shape_flow(ClosureModel::new(
        card.clone(),
        card.part.net.init(device),
        device.clone(),
    ));
    let h = ClosureModel::embedded_for(crate::solver::Case::H, device)?;
    let shipped_h = if h.has_flow() { h } else { own_shape_flow(h) };
    Ok([
        ("shipped", shipped),
        ("shipped-h", shipped_h),
        ("teacher-shaped", teacher_shaped),
        ("published-arch", published),
    ])
}
