//! The subgrid score model's flow generator: the same reflow distillation as the
//! published-case models ([`crate::closure::flow`]), conditioned on ω̄, ν and the
//! fidelity of the data instead of ω and sensors.

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::LesSamples;
use super::model::{LesModel, LesNet};
use crate::closure::distill::{
    DistillConfig, DistillProgress, Inputs, Job, Teacher, train_student,
};
use crate::closure::model::ClosureError;

/// Distil (or resume distilling, in `dir`) the flow generator of a stochastic subgrid
/// model on filtered-DNS states of `cfg.data` (each file one ν and DNS grid; the last
/// `val_trajectories` of each held out). Each pair is asked for a fidelity the teacher
/// was trained on, drawn at random, at its file's ν.
pub fn distill(
    cfg: &DistillConfig,
    dir: &Path,
    on_progress: &mut dyn FnMut(&DistillProgress),
) -> Result<LesModel, ClosureError> {
    let setting = cfg.check()?;
    let plain = Device::flex();
    let teacher = LesModel::load(&cfg.teacher, &plain)?;
    let LesNet::Score(net) = teacher.net() else {
        return Err(ClosureError::Input(
            "only a stochastic (score) subgrid model has a sampler to distil".into(),
        ));
    };
    let card = &teacher.card;
    let files: Vec<&Path> = cfg.data.iter().map(|p| p.as_path()).collect();
    let counts: Vec<usize> = files
        .iter()
        .map(|p| crate::les::data::read(p).map(|(s, t)| t.len().min(s.trajectories)))
        .collect::<Result<_, _>>()
        .map_err(|e| ClosureError::Input(e.to_string()))?;
    let held = cfg.val_trajectories;
    let counts_ref = &counts;
    let keep = |val: bool| move |f: usize, k: usize| (k + held >= counts_ref[f]) == val;
    let load = |val: bool| {
        LesSamples::load(&files, card.part.labels, &keep(val))
            .map_err(|e| ClosureError::Input(e.to_string()))
    };
    let (mut train, val) = (load(false)?, load(true)?);
    if cfg.max_samples > 0 && train.count() > cfg.max_samples {
        let nn = train.n * train.n;
        train.omega_bar.truncate(cfg.max_samples * nn);
        train.origin.truncate(cfg.max_samples);
    }
    if train.n != card.part.les_n {
        return Err(ClosureError::Input(format!(
            "the data are on the {}² LES grid; the teacher was trained on {}²",
            train.n, card.part.les_n
        )));
    }
    if train.count() == 0 || val.count() == 0 {
        return Err(ClosureError::Input(format!(
            "no states to distil on: {} training and {} held-out states",
            train.count(),
            val.count()
        )));
    }
    if train.omega_bar.iter().any(|v| !v.is_finite()) {
        return Err(ClosureError::Input(
            "the data hold NaN or infinite values".into(),
        ));
    }
    let mut fids: Vec<usize> = card.training.files.iter().map(|f| f.2).collect();
    fids.sort_unstable();
    fids.dedup();
    if fids.is_empty() {
        fids.push(card.best_fidelity());
    }
    let k = fids.len();
    // an item is (state, fidelity): index i·k + j
    let (train_inputs, val_inputs) = (
        state_inputs(&train, card, &fids),
        state_inputs(&val, card, &fids),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let draw_items = |count: usize, draws: usize, rng: &mut ChaCha8Rng| -> Vec<usize> {
        (0..draws)
            .flat_map(|_| 0..count)
            .map(|i| i * k + rng.random_range(0..k))
            .collect()
    };
    let schedule = match card
        .part
        .t_range
        .and_then(|r| r.for_sampler(setting.sampler))
    {
        Some([hi, lo]) => setting.schedule.with_range(hi, lo),
        None => setting.schedule,
    };
    let t = Teacher {
        net,
        schedule,
        device: plain.clone(),
    };
    let items = draw_items(train.count(), cfg.draws, &mut rng);
    let mut progress = |done, of| on_progress(&DistillProgress::Pairs { done, of });
    let train_pairs = t.pairs(train.n, &items, &train_inputs, &mut rng, &mut progress);
    let val_items: Vec<usize> = draw_items(val.count(), 1, &mut rng)
        .into_iter()
        .take(64)
        .collect();
    let val_pairs = t.pairs(val.n, &val_items, &val_inputs, &mut rng, &mut |_, _| {});
    let job = Job {
        train: train_pairs,
        val: val_pairs,
        train_inputs: &train_inputs,
        val_inputs: &val_inputs,
        trajectories: counts.iter().map(|c| c.saturating_sub(held)).sum(),
    };
    let net_cfg = card
        .part
        .score
        .clone()
        .ok_or_else(|| ClosureError::Card("a score model's card names its network".into()))?;
    // the student works on the data's grid, whatever --grid says (a published-case flag)
    let cfg = &DistillConfig {
        grid: train.n,
        ..cfg.clone()
    };
    let (student, part) = train_student(cfg, net, &net_cfg, job, dir, on_progress)?;
    Ok(teacher.clone().with_flow(part, student))
}

/// The inputs of (state, fidelity) items `i·k + j` of `s` (k fidelities): ω̄ scaled as
/// the card says, no observation field, the labels of the state's ν and fidelity `j`.
fn state_inputs<'a>(
    s: &'a LesSamples,
    card: &'a super::model::LesCard,
    fids: &'a [usize],
) -> impl Fn(&[usize], &Device) -> Inputs + 'a {
    let k = fids.len();
    move |items: &[usize], device: &Device| -> Inputs {
        let (n, nn, b) = (s.n, s.n * s.n, items.len());
        let (labels, scale) = (card.part.labels, card.part.omega_scale as f32);
        let mut w = Vec::with_capacity(b * nn);
        let mut lab = Vec::new();
        for &it in items {
            let (i, j) = (it / k, it % k);
            w.extend(s.omega_bar[i * nn..(i + 1) * nn].iter().map(|&v| v / scale));
            let (nu, _) = s.files[s.origin[i].0];
            lab.extend(
                labels
                    .vector(nu, fids[j])
                    .unwrap_or_else(|_| vec![0.0; labels.width()]),
            );
        }
        let width = labels.width();
        (
            Tensor::<4>::from_data(TensorData::new(w, [b, n, n, 1]), device),
            Tensor::<4>::zeros([b, n, n, 1], device),
            Some(Tensor::<2>::from_data(
                TensorData::new(lab, [b, width]),
                device,
            )),
        )
    }
}
