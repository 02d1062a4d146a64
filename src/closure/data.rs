//! Generating truth trajectories with their closure terms (`closure-lab data`).
//!
//! Each trajectory: GRF start (seed = base + index) on the DNS grid, the full stochastic
//! equation with the published settings, snapshots of ω and of the step's true G and H at
//! `t_start, t_start + every, …, t_end`, strided to the storage grid. Trajectories run in
//! parallel (rayon) and each finished one is written to a part file at once, so an
//! interrupted run resumes where it stopped.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::dataset::{DataError, Trajectory, strided, write_h5};
use crate::solver::{Case, GrfParams, Grid, Params, Simulation, grf};

/// Most trajectories one `data` job makes (either case).
pub const MAX_TRAJECTORIES: usize = 100_000;

/// What to generate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DataSpec {
    pub trajectories: usize,
    /// DNS grid.
    pub n: usize,
    /// Storage grid (every `n / store_n`-th point).
    pub store_n: usize,
    pub t_start: f64,
    pub t_end: f64,
    pub every: f64,
    pub seed: u64,
    pub params: Params,
}

impl DataSpec {
    /// Snapshot times.
    pub fn times(&self) -> Vec<f64> {
        let count = ((self.t_end - self.t_start) / self.every).round() as usize + 1;
        (0..count)
            .map(|m| self.t_start + m as f64 * self.every)
            .collect()
    }

    /// Solver steps per trajectory.
    pub(crate) fn steps_per_trajectory(&self) -> u64 {
        (self.t_end / self.params.dt).round() as u64 + 1
    }

    pub fn validate(&self) -> Result<(), DataError> {
        const MAX_N: usize = 4096;
        const MAX_TRAJECTORY_BYTES: f64 = 2.0 * (1u64 << 30) as f64;
        let bad = |m: String| Err(DataError::Layout(m));
        if !(1..=MAX_TRAJECTORIES).contains(&self.trajectories) {
            return bad(format!(
                "--trajectories must be 1…{MAX_TRAJECTORIES}, got {}",
                self.trajectories
            ));
        }
        if !(self.every > 0.0 && self.t_start >= 0.0 && self.t_end >= self.t_start) {
            return bad(format!(
                "bad window {}..{} every {}",
                self.t_start, self.t_end, self.every
            ));
        }
        if !(self.t_end.is_finite() && self.t_end <= 1e4) {
            return bad(format!(
                "--t-end must be finite and ≤ 10⁴, got {}",
                self.t_end
            ));
        }
        if self.every < 0.5 * self.params.dt {
            return bad(format!(
                "the snapshot interval {} is shorter than dt = {}",
                self.every, self.params.dt
            ));
        }
        let snaps = (self.t_end - self.t_start) / self.every + 1.0;
        if snaps > 100_000.0 {
            return bad(format!(
                "{snaps:.0} snapshots per trajectory; at most 100000 (raise --every)"
            ));
        }
        let off_grid = |x: f64| {
            let r = x / self.params.dt;
            (r - r.round()).abs() > 1e-6
        };
        if off_grid(self.every) || off_grid(self.t_start) {
            return bad(format!(
                "snapshot times must be multiples of dt = {}",
                self.params.dt
            ));
        }
        if !self.n.is_power_of_two() || !self.store_n.is_power_of_two() || self.store_n > self.n {
            return bad(format!(
                "grids must be powers of two with store-n ≤ n (got n = {}, store-n = {})",
                self.n, self.store_n
            ));
        }
        if !(8..=MAX_N).contains(&self.n) {
            // ≈ 16 arrays of N² doubles per simulation (state, workspace, transforms)
            let gib = 16.0 * 8.0 * (self.n as f64).powi(2) / (1u64 << 30) as f64;
            return bad(format!(
                "--n must be 8…{MAX_N} (a {0}² simulation needs about {gib:.1} GiB per core), got {0}",
                self.n
            ));
        }
        // one trajectory in flight per core, held at the storage grid: 3 fields of f32
        let held = 3.0 * 4.0 * (self.store_n as f64).powi(2) * snaps;
        if held > MAX_TRAJECTORY_BYTES {
            return bad(format!(
                "one trajectory would hold {:.1} GiB (3 fields × {snaps:.0} snapshots of {}²); \
                 at most {:.0} GiB (raise --every or lower --store-n)",
                held / (1u64 << 30) as f64,
                self.store_n,
                MAX_TRAJECTORY_BYTES / (1u64 << 30) as f64
            ));
        }
        Ok(())
    }
}

impl super::parts::Part for Trajectory {
    /// ω, G, H, each snapshot-major.
    fn fields(&self) -> Vec<&[f32]> {
        vec![&self.omega, &self.g, &self.h]
    }
}

/// Simulate trajectory `k`; `progress` is bumped by the number of steps taken.
pub(crate) fn simulate_trajectory(
    spec: &DataSpec,
    k: usize,
    progress: &AtomicU64,
) -> Result<Trajectory, DataError> {
    let grid = Arc::new(Grid::new(spec.n).map_err(|e| DataError::Layout(e.to_string()))?);
    let seed = spec.seed + k as u64;
    let w0 = grf::grf(&grid, GrfParams::default(), seed);
    let mut sim = Simulation::new(grid.clone(), spec.params, &w0, 0.0, seed)
        .map_err(|e| DataError::Layout(e.to_string()))?;
    sim.record_closures(true);
    let times = spec.times();
    let dt = spec.params.dt;
    let snap_steps: Vec<u64> = times.iter().map(|t| (t / dt).round() as u64).collect();
    // snapshots are strided as they are taken: the trajectory is held at the storage
    // grid only (a 4096² run of 201 snapshots would otherwise hold 40 GB)
    let (n, sn) = (spec.n, spec.store_n);
    let mut tr = Trajectory::new(sn, times.len());
    let nn = sn * sn;
    let mut buf = grid.zeros();
    let mut step = 0u64;
    for (m, &target) in snap_steps.iter().enumerate() {
        while step < target {
            sim.step()
                .map_err(|e| DataError::Layout(format!("trajectory {k}: {e}")))?;
            step += 1;
            if step % 64 == 0 {
                progress.fetch_add(64, Ordering::Relaxed);
            }
        }
        sim.omega_into(&mut buf);
        copy_f32(&strided(&buf, n, sn), &mut tr.omega[m * nn..(m + 1) * nn]);
        sim.step()
            .map_err(|e| DataError::Layout(format!("trajectory {k}: {e}")))?;
        step += 1;
        for (case, dst) in [(Case::G, &mut tr.g), (Case::H, &mut tr.h)] {
            sim.true_closure_into(case, &mut buf);
            copy_f32(&strided(&buf, n, sn), &mut dst[m * nn..(m + 1) * nn]);
        }
    }
    progress.fetch_add(step % 64, Ordering::Relaxed);
    Ok(tr)
}

fn copy_f32(src: &[f64], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s as f32;
    }
}

/// Generate the dataset into `out` (HDF5), resuming from part files in `<out>.parts/`.
/// `on_progress(done_steps, total_steps)` is called from worker threads.
pub fn generate(
    spec: &DataSpec,
    out: &Path,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<usize, DataError> {
    spec.validate()?;
    // part files of another job (seed, grid, times, …) are not resumed
    let snaps = spec.times().len();
    let (n, len) = (spec.store_n, spec.store_n * spec.store_n * snaps);
    let parts = super::parts::Parts::open(out, spec, 3 * len)?;
    let indices: Vec<usize> = (0..spec.trajectories).collect();
    let (trajs, resumed) = parts.run(
        &indices,
        spec.steps_per_trajectory(),
        on_progress,
        |k, progress| simulate_trajectory(spec, k, progress),
        |_, vals| {
            let mut tr = Trajectory::new(n, snaps);
            tr.omega.copy_from_slice(&vals[..len]);
            tr.g.copy_from_slice(&vals[len..2 * len]);
            tr.h.copy_from_slice(&vals[2 * len..]);
            tr
        },
    )?;
    write_h5(out, &trajs, &spec.times(), spec.params.nu)?;
    parts.finish(&indices);
    Ok(resumed)
}
