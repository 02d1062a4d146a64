//! The one part-file store of every data job (`closure-lab data`, either flow).
//!
//! A job writes each finished trajectory at once to `<out>.parts/traj_{k:05}.f32` (its
//! fields one after another, raw little-endian f32), so an interrupted job resumes where
//! it stopped; the folder's `spec.json` holds the job's settings and a folder of another
//! job is refused ([`crate::resume::open_parts`]). A part of the wrong length or holding a
//! non-finite value counts as missing and is made again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::dataset::DataError;

/// The part files of one job.
pub struct Parts {
    dir: PathBuf,
    /// f32 values in one part (all its fields).
    values: usize,
}

/// One trajectory as the store keeps it: its fields, in a fixed order.
pub trait Part: Sized + Send {
    /// The fields to write, in order (their lengths sum to the store's `values`).
    fn fields(&self) -> Vec<&[f32]>;
}

impl Parts {
    /// Make or reopen the parts folder of the job writing `out` with `settings`; each
    /// part holds `values` f32.
    pub fn open(
        out: &Path,
        settings: &impl serde::Serialize,
        values: usize,
    ) -> Result<Self, DataError> {
        let settings =
            serde_json::to_value(settings).map_err(|e| DataError::Layout(e.to_string()))?;
        let dir = crate::resume::open_parts(out, &settings).map_err(DataError::Layout)?;
        Ok(Parts { dir, values })
    }

    fn path(&self, k: usize) -> PathBuf {
        self.dir.join(format!("traj_{k:05}.f32"))
    }

    fn write(&self, k: usize, part: &impl Part) -> Result<(), DataError> {
        let path = self.path(k);
        let fields = part.fields();
        let len: usize = fields.iter().map(|f| f.len()).sum();
        if len != self.values {
            return Err(DataError::Layout(format!(
                "part {k} holds {len} values, the job's parts {}",
                self.values
            )));
        }
        let bytes: Vec<u8> = fields
            .iter()
            .flat_map(|f| f.iter())
            .flat_map(|v| v.to_le_bytes())
            .collect();
        crate::atomic::write_bytes(&path, &bytes).map_err(|e| super::dataset::ferr(&path, e))
    }

    /// Part `k`'s values, or `None` when it is missing, of the wrong length or holds a
    /// non-finite value.
    pub fn read(&self, k: usize) -> Option<Vec<f32>> {
        let bytes = std::fs::read(self.path(k)).ok()?;
        if bytes.len() != 4 * self.values {
            return None;
        }
        let vals: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        vals.iter().all(|v| v.is_finite()).then_some(vals)
    }

    /// Make every trajectory of `indices` whose part is not there yet (in parallel, each
    /// written as soon as it is made), then read them all back in order with `from`.
    /// `per` is the progress steps of one trajectory: `make` bumps its counter as it goes
    /// and `on_progress(done, total)` hears of it. Returns the trajectories and how many
    /// were resumed.
    pub fn run<T: Part>(
        &self,
        indices: &[usize],
        per: u64,
        on_progress: &(dyn Fn(u64, u64) + Sync),
        make: impl Fn(usize, &AtomicU64) -> Result<T, DataError> + Sync,
        from: impl Fn(usize, Vec<f32>) -> T,
    ) -> Result<(Vec<T>, usize), DataError> {
        let total = per * indices.len() as u64;
        let progress = AtomicU64::new(0);
        let todo: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&k| {
                let done = self.read(k).is_some();
                if done {
                    progress.fetch_add(per, Ordering::Relaxed);
                }
                !done
            })
            .collect();
        let resumed = indices.len() - todo.len();
        on_progress(progress.load(Ordering::Relaxed), total);
        todo.par_iter()
            .try_for_each(|&k| -> Result<(), DataError> {
                self.write(k, &make(k, &progress)?)?;
                on_progress(progress.load(Ordering::Relaxed), total);
                Ok(())
            })?;
        let all = indices
            .iter()
            .map(|&k| {
                self.read(k).map(|v| from(k, v)).ok_or_else(|| {
                    DataError::Layout(format!("part {k} missing or damaged; run again to redo it"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((all, resumed))
    }

    /// Remove the parts of `indices` and the folder's spec (the job's file is written).
    pub fn finish(self, indices: &[usize]) {
        crate::resume::remove_parts(&self.dir, indices.iter().map(|&k| self.path(k)));
    }
}
