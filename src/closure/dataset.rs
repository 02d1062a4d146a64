//! Closure datasets in the published HDF5 layout, and the in-memory sample set.
//!
//! HDF5 layout (readable by the paper's scripts, and theirs by us): float32 datasets
//! `sol` (ω), `diffusion` (G) and `nonlinear` (H), each shaped
//! `[trajectory, N, N, snapshot]` with `a[.., i, j, ..] = f(x_i, y_j)`; `t` (snapshot
//! times, float64) and `nu` (scalar). Snapshot `m` holds ω at `t[m]` and the closure terms
//! of the step taken from that state (with that step's noise draw).

use std::path::Path;

use hdf5_metno as hdf5;
use ndarray::{Array3, Ix3, s};

/// Errors reading or writing datasets.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error("{0}")]
    Layout(String),
}

/// A file error naming the file (every data reader and writer reports them so).
pub(crate) fn ferr(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// The three fields of one trajectory on an `n × n` grid, snapshot-major
/// (`field[m * n² + i * n + j]`).
pub struct Trajectory {
    pub n: usize,
    pub snapshots: usize,
    pub omega: Vec<f32>,
    pub g: Vec<f32>,
    pub h: Vec<f32>,
}

impl Trajectory {
    pub fn new(n: usize, snapshots: usize) -> Self {
        let len = n * n * snapshots;
        Trajectory {
            n,
            snapshots,
            omega: vec![0.0; len],
            g: vec![0.0; len],
            h: vec![0.0; len],
        }
    }

    /// Field `which` (0 = ω, 1 = G, 2 = H) of snapshot `m`.
    pub fn field(&self, which: usize, m: usize) -> &[f32] {
        let nn = self.n * self.n;
        let f = match which {
            0 => &self.omega,
            1 => &self.g,
            _ => &self.h,
        };
        &f[m * nn..(m + 1) * nn]
    }

    /// The same trajectory on a coarser grid: every `stride`-th point (no filter, as
    /// published).
    pub fn strided(&self, n_out: usize) -> Result<Trajectory, DataError> {
        if n_out == 0 || n_out > self.n || self.n % n_out != 0 {
            return Err(DataError::Layout(format!(
                "cannot stride a {0}×{0} field to {1}×{1}",
                self.n, n_out
            )));
        }
        let mut out = Trajectory::new(n_out, self.snapshots);
        let nn = self.n * self.n;
        for (src, dst) in [
            (&self.omega, &mut out.omega),
            (&self.g, &mut out.g),
            (&self.h, &mut out.h),
        ] {
            *dst = src
                .chunks_exact(nn)
                .flat_map(|f| strided(f, self.n, n_out))
                .collect();
        }
        Ok(out)
    }
}

/// Every `(n / n_out)`-th point of an `n × n` field in each direction (no filter, as the
/// published data are made); `n_out` must divide `n`.
pub fn strided<T: Copy>(field: &[T], n: usize, n_out: usize) -> Vec<T> {
    let st = n / n_out;
    (0..n_out * n_out)
        .map(|i| field[(i / n_out) * st * n + (i % n_out) * st])
        .collect()
}

/// Metadata of an HDF5 closure dataset.
#[derive(Debug, Clone)]
pub struct DatasetInfo {
    pub trajectories: usize,
    pub n: usize,
    pub snapshots: usize,
    pub t: Vec<f64>,
    pub nu: f64,
}

/// Write trajectories (all on one grid) to `path` atomically (temporary file, rename).
pub fn write_h5(path: &Path, trajs: &[Trajectory], t: &[f64], nu: f64) -> Result<(), DataError> {
    let first = trajs
        .first()
        .ok_or_else(|| DataError::Layout("no trajectories to write".into()))?;
    let (n, snaps) = (first.n, first.snapshots);
    let dir = crate::atomic::parent_dir(path);
    let tmp = tempfile::Builder::new()
        .suffix(".h5.tmp")
        .tempfile_in(dir)
        .map_err(|e| ferr(path, e))?;
    {
        let file = hdf5::File::create(tmp.path()).map_err(|e| ferr(path, e))?;
        for (name, which) in [("sol", 0), ("diffusion", 1), ("nonlinear", 2)] {
            let ds = file
                .new_dataset::<f32>()
                .shape([trajs.len(), n, n, snaps])
                .create(name)
                .map_err(|e| ferr(path, e))?;
            for (k, tr) in trajs.iter().enumerate() {
                // snapshot-major in memory → [N, N, snapshot] on disk
                let mut a = Array3::<f32>::zeros((n, n, snaps));
                for m in 0..snaps {
                    let f = tr.field(which, m);
                    for i in 0..n {
                        for j in 0..n {
                            a[[i, j, m]] = f[i * n + j];
                        }
                    }
                }
                ds.write_slice(a.view(), s![k, .., .., ..])
                    .map_err(|e| ferr(path, e))?;
            }
        }
        file.new_dataset::<f64>()
            .shape([t.len()])
            .create("t")
            .and_then(|d| d.write_raw(t))
            .map_err(|e| ferr(path, e))?;
        file.new_dataset::<f64>()
            .create("nu")
            .and_then(|d| d.write_scalar(&nu))
            .map_err(|e| ferr(path, e))?;
    }
    crate::atomic::persist(tmp, path).map_err(|e| ferr(path, e))?;
    Ok(())
}

/// Largest stored grid, snapshot count and bytes of one read this reader accepts.
pub const MAX_GRID: usize = 4096;
pub const MAX_SNAPSHOTS: usize = 100_000;
pub const MAX_READ_BYTES: usize = 4 << 30;

/// Read the metadata of a dataset, checking the layout.
pub fn h5_info(path: &Path) -> Result<DatasetInfo, DataError> {
    let file =
        hdf5::File::open(path).map_err(|e| ferr(path, format!("cannot open as HDF5 ({e})")))?;
    let sol = file
        .dataset("sol")
        .map_err(|_| ferr(path, "no `sol` dataset (expected the published layout)"))?;
    let shape = sol.shape();
    if shape.len() != 4 || shape[1] != shape[2] {
        return Err(ferr(
            path,
            format!("`sol` has shape {shape:?}, expected [trajectory, N, N, snapshot]"),
        ));
    }
    for name in ["diffusion", "nonlinear"] {
        let d = file
            .dataset(name)
            .map_err(|_| ferr(path, format!("no `{name}` dataset")))?;
        if d.shape() != shape {
            return Err(ferr(
                path,
                format!("`{name}` has shape {:?}, `sol` has {shape:?}", d.shape()),
            ));
        }
    }
    // sizes are checked before anything is read (a damaged header can declare anything)
    let (n, snaps) = (shape[1], shape[3]);
    if !(8..=MAX_GRID).contains(&n) || snaps == 0 || snaps > MAX_SNAPSHOTS || shape[0] == 0 {
        return Err(ferr(
            path,
            format!(
                "`sol` declares shape {shape:?}: need N in 8…{MAX_GRID}, 1…{MAX_SNAPSHOTS} snapshots, ≥ 1 trajectory"
            ),
        ));
    }
    let per_trajectory = 4 * n * n * snaps;
    if per_trajectory > MAX_READ_BYTES {
        return Err(ferr(
            path,
            format!(
                "one trajectory would need {:.1} GiB to read, more than the {} GiB budget",
                per_trajectory as f64 / (1u64 << 30) as f64,
                MAX_READ_BYTES >> 30
            ),
        ));
    }
    let t = match file.dataset("t") {
        Ok(d) if d.size() == snaps => d
            .read_raw::<f64>()
            .map_err(|e| ferr(path, format!("reading `t`: {e}")))?,
        Ok(d) => {
            return Err(ferr(
                path,
                format!("`t` has {} values for {snaps} snapshots", d.size()),
            ));
        }
        Err(_) => Vec::new(),
    };
    let nu = match file.dataset("nu") {
        Ok(d) if d.size() == 1 => d
            .read_scalar::<f64>()
            .map_err(|e| ferr(path, format!("reading `nu`: {e}")))?,
        Ok(_) => return Err(ferr(path, "`nu` is not a scalar")),
        Err(_) => 1e-3,
    };
    if !(nu.is_finite() && nu >= 0.0) {
        return Err(ferr(path, format!("`nu` must be ≥ 0, got {nu}")));
    }
    Ok(DatasetInfo {
        trajectories: shape[0],
        n: shape[1],
        snapshots: shape[3],
        t,
        nu,
    })
}

/// Read trajectory `k`, strided to `n_out` (None = stored grid).
pub fn read_h5_trajectory(
    path: &Path,
    k: usize,
    n_out: Option<usize>,
) -> Result<Trajectory, DataError> {
    let info = h5_info(path)?;
    if k >= info.trajectories {
        return Err(ferr(
            path,
            format!("trajectory {k} out of range ({} stored)", info.trajectories),
        ));
    }
    let file = hdf5::File::open(path).map_err(|e| ferr(path, e))?;
    let (n, snaps) = (info.n, info.snapshots);
    let mut tr = Trajectory::new(n, snaps);
    for (name, which) in [("sol", 0), ("diffusion", 1), ("nonlinear", 2)] {
        let a = file
            .dataset(name)
            .and_then(|d| d.read_slice::<f32, _, Ix3>(s![k, .., .., ..]))
            .map_err(|e| ferr(path, format!("reading `{name}`: {e}")))?;
        let dst = match which {
            0 => &mut tr.omega,
            1 => &mut tr.g,
            _ => &mut tr.h,
        };
        for i in 0..n {
            for j in 0..n {
                for m in 0..snaps {
                    let v = a[[i, j, m]];
                    if !v.is_finite() {
                        // a poisoned file scores and trains nothing: refused as read
                        return Err(ferr(
                            path,
                            format!(
                                "`{name}` of trajectory {k} is not finite ({v}) at point ({i}, {j}) of snapshot {m}"
                            ),
                        ));
                    }
                    dst[m * n * n + i * n + j] = v;
                }
            }
        }
    }
    match n_out {
        Some(m) if m != n => tr.strided(m),
        _ => Ok(tr),
    }
}
