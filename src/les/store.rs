//! A `les-eval` run folder: one JSON file per finished (seed, ν) run, so that a long
//! evaluation resumes where it stopped and its runs can be summarised later.

use std::path::{Path, PathBuf};

use super::LesError;
use super::eval::{LesEvalOptions, LesRow};

/// One finished (seed, ν) run as a run folder keeps it: the options that made it (a run
/// is reused only under the same options) and its rows.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoredRun {
    pub options: LesEvalOptions,
    pub rows: Vec<LesRow>,
}

/// The run folder.
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    /// Open (and create) the folder.
    pub fn open(dir: &Path) -> Result<Self, LesError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| LesError::Store(format!("cannot create {}: {e}", dir.display())))?;
        Ok(RunStore {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, seed: u64, nu: f64) -> PathBuf {
        self.dir.join(format!("nu{nu:e}-seed{seed}.json"))
    }

    /// The options a stored run must have been made with: these, for one seed and ν.
    fn key(opts: &LesEvalOptions, seed: u64, nu: f64) -> LesEvalOptions {
        LesEvalOptions {
            seed,
            seeds: 1,
            nus: vec![nu],
            ..opts.clone()
        }
    }

    /// The stored rows of one run (None: not run yet); a run made with other options is
    /// an error, not a miss.
    fn load(
        &self,
        opts: &LesEvalOptions,
        seed: u64,
        nu: f64,
    ) -> Result<Option<Vec<LesRow>>, LesError> {
        let p = self.path(seed, nu);
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p)
            .map_err(|e| LesError::Store(format!("cannot read {}: {e}", p.display())))?;
        let stored: StoredRun = serde_json::from_str(&text).map_err(|e| {
            LesError::Store(format!("{} is not a stored les-eval run: {e}", p.display()))
        })?;
        if stored.options != Self::key(opts, seed, nu) {
            return Err(LesError::Store(format!(
                "{} was made with other settings; use another --run folder",
                p.display()
            )));
        }
        Ok(Some(stored.rows))
    }

    /// The rows of the runs already stored, and the (seed, ν) runs still to make.
    pub fn split(
        &self,
        opts: &LesEvalOptions,
        runs: &[(u64, f64)],
    ) -> Result<(Vec<LesRow>, Vec<(u64, f64)>), LesError> {
        let (mut rows, mut pending) = (Vec::new(), Vec::new());
        for &(seed, nu) in runs {
            match self.load(opts, seed, nu)? {
                Some(r) => rows.extend(r),
                None => pending.push((seed, nu)),
            }
        }
        Ok((rows, pending))
    }

    /// Keep one finished run.
    pub fn save(
        &self,
        opts: &LesEvalOptions,
        seed: u64,
        nu: f64,
        rows: &[LesRow],
    ) -> Result<(), LesError> {
        let stored = StoredRun {
            options: Self::key(opts, seed, nu),
            rows: rows.to_vec(),
        };
        let p = self.path(seed, nu);
        let text = serde_json::to_string_pretty(&stored)
            .map_err(|e| LesError::Store(format!("cannot encode {}: {e}", p.display())))?;
        crate::atomic::write_bytes(&p, text.as_bytes())
            .map_err(|e| LesError::Store(format!("cannot write {}: {e}", p.display())))
    }
}
