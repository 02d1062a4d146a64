//! Training and test data of the subgrid case: filtered-DNS trajectories with their true
//! Π, written to HDF5 (`closure-lab data --case les`), resumable, split over machines by
//! `--shard i/n` and joined again by `closure-lab data merge`.
//!
//! # File layout (documented in docs/science.md §8)
//! * `omega_bar`, `pi`: f32 `[trajectory, N, N, snapshot]` on the LES grid — the filtered
//!   vorticity ω̄ of a DNS state and the true Π of that same state (the published data's
//!   axis order);
//! * `t`: f64 `[snapshot]` times; `trajectory`: u64 `[trajectory]`, the global index of each
//!   stored trajectory (its seed is `seed + index`);
//! * scalars `nu`, `dns_n` (the fidelity: the DNS grid), `les_n`, `dt`, `drag`,
//!   `amplitude`, `k_f`; `spec_json`: the full [`LesDataSpec`] as UTF-8 bytes (what merge
//!   and resume compare).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hdf5_metno as hdf5;
use ndarray::{Array3, Ix3, s};
use serde::{Deserialize, Serialize};

use super::{FilteredDns, LesFlow};
use crate::closure::dataset::{DataError, ferr};
use crate::solver::Grid;

/// DNS grids subgrid data may come from: the window's DNS grids and 64², the cheap
/// fidelity of a 32² LES (twice its grid; its Π is biased against a finer DNS's, which is
/// what multi-fidelity training is for).
pub const DNS_GRIDS: [usize; 4] = [64, 128, 256, 512];

/// One shard of a job: trajectories `k` with `k % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard like 0/4 (index/count, index < count)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count || count > 10_000 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What a data job generates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LesDataSpec {
    pub flow: LesFlow,
    /// Trajectories of the whole job (all shards).
    pub trajectories: usize,
    /// Spin-up time before the first snapshot.
    pub spin_up: f64,
    /// Recording time after the spin-up.
    pub duration: f64,
    pub every: f64,
    pub seed: u64,
    /// This process's part of the job (None: all of it).
    pub shard: Option<Shard>,
}

/// The stored fields of one trajectory (snapshot-major, `[m][i * n + j]`).
#[derive(Clone, Debug, PartialEq)]
pub struct LesTrajectory {
    pub index: usize,
    pub n: usize,
    pub omega_bar: Vec<f32>,
    pub pi: Vec<f32>,
}

impl LesDataSpec {
    /// Snapshot times relative to the end of the spin-up.
    pub fn times(&self) -> Vec<f64> {
        let count = (self.duration / self.every).round() as usize + 1;
        (0..count).map(|m| m as f64 * self.every).collect()
    }

    /// Global indices this shard generates.
    pub fn indices(&self) -> Vec<usize> {
        (0..self.trajectories)
            .filter(|k| self.shard.is_none_or(|s| k % s.count == s.index))
            .collect()
    }

    /// The spec without its shard (what all shards of one job share).
    pub fn job(&self) -> LesDataSpec {
        LesDataSpec {
            shard: None,
            ..self.clone()
        }
    }

    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |m: String| Err(DataError::Layout(m));
        self.flow
            .validate()
            .map_err(|e| DataError::Layout(e.to_string()))?;
        let most = crate::closure::data::MAX_TRAJECTORIES;
        if !(1..=most).contains(&self.trajectories) {
            return bad(format!(
                "--trajectories must be 1…{most}, got {}",
                self.trajectories
            ));
        }
        let times = [self.spin_up, self.duration, self.every];
        if times.iter().any(|t| !t.is_finite() || *t < 0.0 || *t > 1e4) || self.every <= 0.0 {
            return bad("times must be finite, ≥ 0 and ≤ 10⁴ (the interval > 0)".into());
        }
        let r = self.every / self.flow.dt;
        if (r - r.round()).abs() > 1e-6 || r < 0.5 {
            return bad(format!(
                "the snapshot interval must be a multiple of dt = {}",
                self.flow.dt
            ));
        }
        if self.indices().is_empty() {
            return bad("this shard holds no trajectory".into());
        }
        Ok(())
    }
}

/// Simulate trajectory `k`: spin-up, then (ω̄, Π) of the same state every `every`.
pub(crate) fn simulate(
    spec: &LesDataSpec,
    k: usize,
    progress: &AtomicU64,
    cancel: &AtomicBool,
) -> Result<LesTrajectory, DataError> {
    let err = |e: crate::solver::SolverError| DataError::Layout(format!("trajectory {k}: {e}"));
    let flow = spec.flow;
    let (w, t0) = super::spin_up(
        &flow,
        spec.spin_up,
        spec.seed + k as u64,
        &|_, _| {},
        cancel,
    )
    .map_err(err)?;
    let mut dns = FilteredDns::new(flow, &w, t0).map_err(err)?;
    let lg = dns.les_grid().clone();
    let times = spec.times();
    let every = (spec.every / flow.dt).round() as u64;
    let nn = lg.phys_len();
    let mut tr = LesTrajectory {
        index: k,
        n: lg.n,
        omega_bar: vec![0.0; nn * times.len()],
        pi: vec![0.0; nn * times.len()],
    };
    for m in 0..times.len() {
        // the state of snapshot m is where this step starts: Π belongs to it
        dns.step().map_err(err)?;
        store(
            &lg,
            dns.prev_bar_hat(),
            &mut tr.omega_bar[m * nn..(m + 1) * nn],
        );
        store(&lg, dns.pi_hat(), &mut tr.pi[m * nn..(m + 1) * nn]);
        if m + 1 < times.len() {
            for _ in 1..every {
                dns.step().map_err(err)?;
            }
        }
        progress.fetch_add(every, Ordering::Relaxed);
        super::check_cancel(cancel).map_err(err)?;
    }
    Ok(tr)
}

fn store(g: &Grid, hat: &[crate::solver::C64], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(g.to_physical(hat)) {
        *o = v as f32;
    }
}

impl crate::closure::parts::Part for LesTrajectory {
    /// ω̄ then Π, each snapshot-major.
    fn fields(&self) -> Vec<&[f32]> {
        vec![&self.omega_bar, &self.pi]
    }
}

/// Generate this shard of the job into `out`, resuming from part files. Returns how many
/// trajectories were resumed. `on_progress(done, total)` counts DNS steps of recording.
pub fn generate(
    spec: &LesDataSpec,
    out: &Path,
    on_progress: &(dyn Fn(u64, u64) + Sync),
    cancel: &AtomicBool,
) -> Result<usize, DataError> {
    spec.validate()?;
    let snaps = spec.times().len();
    let n = spec.flow.les_n;
    let len = n * n * snaps;
    let parts = crate::closure::parts::Parts::open(out, spec, 2 * len)?;
    let per = (spec.duration / spec.flow.dt).round() as u64 + 1;
    let indices = spec.indices();
    let (trajs, resumed) = parts.run(
        &indices,
        per,
        on_progress,
        |k, progress| simulate(spec, k, progress, cancel),
        |k, mut vals| {
            let pi = vals.split_off(len);
            LesTrajectory {
                index: k,
                n,
                omega_bar: vals,
                pi,
            }
        },
    )?;
    write(out, spec, &trajs)?;
    parts.finish(&indices);
    Ok(resumed)
}

/// Write trajectories (in the order given) and the spec to `path`, atomically.
pub fn write(path: &Path, spec: &LesDataSpec, trajs: &[LesTrajectory]) -> Result<(), DataError> {
    let n = spec.flow.les_n;
    let times = spec.times();
    let snaps = times.len();
    let tmp = tempfile::Builder::new()
        .suffix(".h5.tmp")
        .tempfile_in(crate::atomic::parent_dir(path))
        .map_err(|e| ferr(path, e))?;
    {
        let file = hdf5::File::create(tmp.path()).map_err(|e| ferr(path, e))?;
        for name in ["omega_bar", "pi"] {
            let ds = file
                .new_dataset::<f32>()
                .shape([trajs.len(), n, n, snaps])
                .create(name)
                .map_err(|e| ferr(path, e))?;
            for (slot, tr) in trajs.iter().enumerate() {
                let f = if name == "pi" { &tr.pi } else { &tr.omega_bar };
                let a = Array3::from_shape_fn((n, n, snaps), |(i, j, m)| f[m * n * n + i * n + j]);
                ds.write_slice(a.view(), s![slot, .., .., ..])
                    .map_err(|e| ferr(path, e))?;
            }
        }
        let index: Vec<u64> = trajs.iter().map(|t| t.index as u64).collect();
        let json = serde_json::to_vec_pretty(spec).map_err(|e| ferr(path, e))?;
        let w = |r: hdf5::Result<()>| r.map_err(|e| ferr(path, e));
        w(file
            .new_dataset::<u64>()
            .shape([index.len()])
            .create("trajectory")
            .and_then(|d| d.write_raw(&index)))?;
        w(file
            .new_dataset::<f64>()
            .shape([snaps])
            .create("t")
            .and_then(|d| d.write_raw(&times)))?;
        w(file
            .new_dataset::<u8>()
            .shape([json.len()])
            .create("spec_json")
            .and_then(|d| d.write_raw(&json)))?;
        let f = &spec.flow;
        for (name, v) in [
            ("nu", f.nu),
            ("dt", f.dt),
            ("drag", f.drag),
            ("amplitude", f.amplitude),
        ] {
            w(file
                .new_dataset::<f64>()
                .create(name)
                .and_then(|d| d.write_scalar(&v)))?;
        }
        for (name, v) in [
            ("dns_n", f.dns_n as u64),
            ("les_n", f.les_n as u64),
            ("k_f", f.k_f as u64),
        ] {
            w(file
                .new_dataset::<u64>()
                .create(name)
                .and_then(|d| d.write_scalar(&v)))?;
        }
    }
    crate::atomic::persist(tmp, path).map_err(|e| ferr(path, e))
}

/// Read a file written by [`write`]: its spec and trajectories.
pub fn read(path: &Path) -> Result<(LesDataSpec, Vec<LesTrajectory>), DataError> {
    let file =
        hdf5::File::open(path).map_err(|e| ferr(path, format!("cannot open as HDF5 ({e})")))?;
    let spec_ds = file
        .dataset("spec_json")
        .map_err(|_| ferr(path, "no `spec_json`: not a subgrid (LES) data file"))?;
    if spec_ds.size() > 1 << 20 {
        return Err(ferr(path, "`spec_json` is larger than 1 MiB"));
    }
    let json: Vec<u8> = spec_ds
        .read_raw()
        .map_err(|e| ferr(path, format!("reading `spec_json`: {e}")))?;
    let spec: LesDataSpec =
        serde_json::from_slice(&json).map_err(|e| ferr(path, format!("bad `spec_json`: {e}")))?;
    spec.validate()
        .map_err(|e| ferr(path, format!("`spec_json`: {e}")))?;
    let index_ds = file
        .dataset("trajectory")
        .map_err(|e| ferr(path, format!("reading `trajectory`: {e}")))?;
    if index_ds.size() > spec.trajectories {
        return Err(ferr(
            path,
            format!(
                "`trajectory` holds {} indices for a job of {}",
                index_ds.size(),
                spec.trajectories
            ),
        ));
    }
    let index: Vec<u64> = index_ds
        .read_raw()
        .map_err(|e| ferr(path, format!("reading `trajectory`: {e}")))?;
    let (n, snaps) = (spec.flow.les_n, spec.times().len());
    if 4 * (n as u128) * (n as u128) * (snaps as u128)
        > crate::closure::dataset::MAX_READ_BYTES as u128
    {
        return Err(ferr(path, "one trajectory would exceed the read budget"));
    }
    let mut trajs = Vec::with_capacity(index.len());
    for (slot, &k) in index.iter().enumerate() {
        let mut fields = Vec::new();
        for name in ["omega_bar", "pi"] {
            let d = file
                .dataset(name)
                .map_err(|_| ferr(path, format!("no `{name}`")))?;
            if d.shape() != [index.len(), n, n, snaps] {
                return Err(ferr(
                    path,
                    format!(
                        "`{name}` has shape {:?}, the spec says [{}, {n}, {n}, {snaps}]",
                        d.shape(),
                        index.len()
                    ),
                ));
            }
            let a = d
                .read_slice::<f32, _, Ix3>(s![slot, .., .., ..])
                .map_err(|e| ferr(path, format!("reading `{name}`: {e}")))?;
            let mut f = vec![0.0f32; n * n * snaps];
            for ((i, j, m), v) in a.indexed_iter() {
                f[m * n * n + i * n + j] = *v;
            }
            if let Some(p) = f.iter().position(|v| !v.is_finite()) {
                return Err(ferr(
                    path,
                    format!("`{name}` of trajectory {k} is not finite at {p}"),
                ));
            }
            fields.push(f);
        }
        let pi = fields.pop().unwrap_or_default();
        let omega_bar = fields.pop().unwrap_or_default();
        trajs.push(LesTrajectory {
            index: k as usize,
            n,
            omega_bar,
            pi,
        });
    }
    Ok((spec, trajs))
}

/// Join shard files of one job into `out` (trajectories in index order). Every shard must
/// come from the same job; a trajectory held twice or by none is an error naming it.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<usize, DataError> {
    if inputs.is_empty() {
        return Err(DataError::Layout("give the shard files to merge".into()));
    }
    let mut job: Option<(LesDataSpec, PathBuf)> = None;
    let mut held: Vec<Option<(LesTrajectory, PathBuf)>> = Vec::new();
    for p in inputs {
        let (spec, trajs) = read(p)?;
        match &job {
            None => {
                held = vec![None; spec.trajectories];
                job = Some((spec.job(), p.clone()));
            }
            Some((j, first)) => {
                let (a, b) = (serde_json::to_value(j), serde_json::to_value(spec.job()));
                if let (Ok(a), Ok(b)) = (a, b) {
                    if let Some(d) = crate::resume::first_difference(&a, &b, "") {
                        return Err(ferr(
                            p,
                            format!("is from a different job than {} ({d})", first.display()),
                        ));
                    }
                }
            }
        }
        for tr in trajs {
            let k = tr.index;
            let slot = held
                .get_mut(k)
                .ok_or_else(|| ferr(p, format!("trajectory {k} is beyond the job's count")))?;
            if let Some((_, other)) = slot {
                return Err(ferr(
                    p,
                    format!(
                        "trajectory {k} is also in {} (overlapping shards)",
                        other.display()
                    ),
                ));
            }
            *slot = Some((tr, p.clone()));
        }
    }
    let Some((spec, _)) = job else {
        unreachable!("inputs is not empty")
    };
    let missing: Vec<usize> = held
        .iter()
        .enumerate()
        .filter(|(_, h)| h.is_none())
        .map(|(k, _)| k)
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(10).map(|k| k.to_string()).collect();
        return Err(DataError::Layout(format!(
            "no shard holds trajectory {}{} (of {}): a shard is missing",
            list.join(", "),
            if missing.len() > 10 { ", …" } else { "" },
            spec.trajectories
        )));
    }
    let trajs: Vec<LesTrajectory> = held.into_iter().flatten().map(|(t, _)| t).collect();
    write(out, &spec, &trajs)?;
    Ok(trajs.len())
}
