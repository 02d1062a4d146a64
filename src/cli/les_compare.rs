//! `les-eval --summarize`: stored rows summarised over seeds, or (`--against`) paired
//! by closure and seed with the same runs under another setting.

use anyhow::{Context, Result};

use super::les_eval::{LesEvalArgs, report, write_json};
use crate::les::eval::LesRow;
use crate::les::store::StoredRun;

/// Only summarise (nothing runs): the table over seeds, or the shifts against
/// `--against`'s rows.
pub(super) fn summarize_only(a: &LesEvalArgs) -> Result<()> {
    let read = |paths: &[std::path::PathBuf]| -> Result<Vec<LesRow>> {
        let mut rows = Vec::new();
        for p in paths {
            rows.extend(read_rows(p)?);
        }
        Ok(rows)
    };
    let rows = read(&a.summarize)?;
    if a.against.is_empty() {
        return report(&rows, true, a.json.as_deref(), a.summary.as_deref());
    }
    let shifts = crate::les::compare::against(&rows, &read(&a.against)?);
    if shifts.is_empty() {
        anyhow::bail!("no closure of --summarize is in the --against rows");
    }
    say_raw!("{}", crate::les::compare::shifts_markdown(&shifts));
    if let Some(p) = &a.summary {
        write_json(p, &shifts)?;
    }
    Ok(())
}

pub(super) fn read_rows(p: &std::path::Path) -> Result<Vec<LesRow>> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    if let Ok(stored) = serde_json::from_str::<StoredRun>(&text) {
        return Ok(stored.rows);
    }
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a table of les-eval rows", p.display()))
}
