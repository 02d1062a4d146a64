//! `closure-lab les-train`: train a learned subgrid closure (stochastic score model,
//! deterministic FNO or mean + noise) on filtered-DNS files of several ν and fidelities.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::les::learn::model::LesKind;
use crate::les::learn::train::{LesTrainConfig, train};
use crate::les::learn::{FidelityCode, Labels};

#[derive(Args, Debug)]
pub struct LesTrainArgs {
    /// Data files from `closure-lab data --case les` (comma-separated; each one ν and one
    /// DNS grid).
    #[arg(long, value_delimiter = ',', required = true)]
    pub data: Vec<PathBuf>,
    /// stochastic (score model), deterministic (FNO, MSE) or mean-noise (FNO + variance).
    #[arg(long, default_value = "stochastic", value_parser = |s: &str| crate::names::parse::<LesKind>("kind", s))]
    pub kind: LesKind,
    /// How the data's fidelity enters: discrete (one-hot per DNS grid) or continuous (64/N).
    #[arg(long, default_value = "discrete", value_parser = |s: &str| crate::names::parse::<FidelityCode>("fidelity", s))]
    pub fidelity: FidelityCode,
    /// Use at most this many trajectories of each file (0: all but the held-out ones):
    /// one value, or one per `--data` file (e.g. `0,0,0,2,2,2`).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0])]
    pub per_file: Vec<usize>,
    /// Trajectories of each file held out (its last ones) for the validation loss (0:
    /// none).
    #[arg(long, default_value_t = 1)]
    pub val_per_file: usize,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 3)]
    pub lr_halve_every: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 0.005)]
    pub t_eps: f64,
    #[arg(long, default_value_t = 0.6)]
    pub t_max: f64,
    /// A deterministic model (`--kind deterministic`) whose mean the stochastic model
    /// generates the residual around (saved beside the output as `OUT.mean.bpk`).
    #[arg(long)]
    pub mean: Option<PathBuf>,
    /// Run folder (checkpoints after every epoch; a rerun resumes the same job).
    #[arg(long)]
    pub run: PathBuf,
    /// Output weights (`.bpk`, with its `.json` card beside).
    #[arg(long)]
    pub out: PathBuf,
}

pub(crate) fn les_train(a: LesTrainArgs) -> Result<()> {
    let data: Vec<&std::path::Path> = a.data.iter().map(|p| p.as_path()).collect();
    let mean: Vec<&std::path::Path> = a.mean.iter().map(|p| p.as_path()).collect();
    super::refuse_overwriting_inputs(&data, &mean, &[], &[&a.out])?;
    // the output is checked before the work, not after hours of training
    crate::alloc::keep_freed_pages();
    let cfg = LesTrainConfig {
        data: a.data,
        per_file: a.per_file,
        val_per_file: a.val_per_file,
        kind: a.kind,
        labels: Labels {
            fidelity: a.fidelity,
        },
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        lr_halve_every: a.lr_halve_every,
        seed: a.seed,
        t_eps: a.t_eps,
        t_max: a.t_max,
        mean: a.mean,
    };
    let folder = crate::atomic::parent_dir(&a.out);
    if !folder.is_dir() {
        anyhow::bail!("--out: folder {} does not exist", folder.display());
    }
    let mut report = super::progress::FitReport::new(Box::new(|epoch, loss, v| {
        format!(
            "epoch {epoch:>3}: mean loss {loss:.4}, held-out loss {:.4}",
            v.score
        )
    }));
    let mut on_progress = |p: &crate::closure::fit::Progress| report.report(p);
    let model = train(&cfg, &a.run, &mut on_progress)?;
    report.finish();
    model.save(&a.out)?;
    let t = &model.card.training;
    say!(
        "wrote {} (+ .json card): {} {} epochs on {} samples, held-out loss {:?}, {:.0} s",
        a.out.display(),
        model.card.part.kind,
        t.epochs,
        t.samples,
        t.val_loss
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect::<Vec<_>>(),
        t.wall_s
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct LesAprioriArgs {
    /// Learned closures (`.bpk` with `.json` cards; comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<PathBuf>,
    /// Held-out test files from `closure-lab data --case les` (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub data: Vec<PathBuf>,
    /// Score every this-many-th snapshot.
    #[arg(long, default_value_t = 10)]
    pub stride: usize,
    /// Score only the last this-many trajectories of each file (those `les-train
    /// --val-per-file` held out); 0: all.
    #[arg(long, default_value_t = 0)]
    pub last: usize,
    /// Members per state.
    #[arg(long, default_value_t = 16)]
    pub ensemble: usize,
    /// Sampler setting of the score models (`em-karras10`, `heun-karras3`, …).
    #[arg(long, default_value = "em-karras10")]
    pub sampler: String,
    /// Also write the rows as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Store the rows (each model's own and the classical closures') in each
    /// `--model`'s card, as the shipped cards hold them.
    #[arg(long)]
    pub write_cards: bool,
    /// Seed of the learned closures' draws (the same seed gives the same rows).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fit each stochastic model's per-shell spread inflation for --sampler on these
    /// states and store it in its card (one table per sampler kind and step count, as
    /// `calibrate` does for the published cases). Give calibration states, never the
    /// test set: the rows printed are then in-sample.
    #[arg(long)]
    pub fit_inflation: bool,
    /// With --fit-inflation: one table per ν of the states (the nearest applies when
    /// sampling) instead of one over all of them. Measured on the shipped Π model
    /// (README): spread/skill nearer 1 at each ν, the worst spectrum shell worse.
    #[arg(long, requires = "fit_inflation")]
    pub per_nu: bool,
}

pub(crate) fn les_apriori(a: LesAprioriArgs) -> Result<()> {
    use crate::les::learn::apriori::apriori;
    use crate::les::learn::model::LesModel;
    {
        let models: Vec<&std::path::Path> = a.model.iter().map(|p| p.as_path()).collect();
        let data: Vec<&std::path::Path> = a.data.iter().map(|p| p.as_path()).collect();
        let json: Vec<&std::path::Path> = a.json.iter().map(|p| p.as_path()).collect();
        super::refuse_overwriting_inputs(&data, &models, &json, &[])?;
    }
    if !(1..=100_000).contains(&a.stride) {
        anyhow::bail!("--stride must be 1…100000, got {}", a.stride);
    }
    if !(2..=256).contains(&a.ensemble) {
        anyhow::bail!("--ensemble must be 2…256, got {}", a.ensemble);
    }
    if a.write_cards && a.fit_inflation {
        anyhow::bail!(
            "--fit-inflation is fitted on calibration states, --write-cards stores test rows: run them apart"
        );
    }
    if (a.write_cards || a.fit_inflation) && a.model.is_empty() {
        anyhow::bail!("--write-cards stores rows in the cards of --model files; none given");
    }
    let s = crate::closure::eval::SamplerSetting::parse(&a.sampler).map_err(anyhow::Error::msg)?;
    let device = burn::tensor::Device::flex();
    // the learned closures draw from burn's CPU stream: one seed, the same rows
    device.seed(a.seed);
    let mut models = a
        .model
        .iter()
        .map(|p| LesModel::load(p, &device))
        .collect::<Result<Vec<_>, _>>()?;
    // a fit measures the raw ensembles (as `calibrate` does): no table of the card applies
    let cards: Vec<_> = models.iter().map(|m| m.card.clone()).collect();
    if a.fit_inflation {
        models.iter_mut().for_each(|m| m.card.inflation.clear());
    }
    let named: Vec<(String, &LesModel)> = a
        .model
        .iter()
        .zip(&models)
        .map(|(p, m)| (super::file_stem(p), m))
        .collect();
    let tests: Vec<&std::path::Path> = a.data.iter().map(|p| p.as_path()).collect();
    let scores = apriori(
        &named,
        &tests,
        a.last,
        a.stride,
        a.ensemble,
        s.sampler,
        &s.schedule,
    )
    .map_err(anyhow::Error::msg)?;
    let rows = scores.rows;
    use crate::closure::calibration::EnsembleScores;
    say!(
        "| closure | ν | DNS | states | {} |",
        EnsembleScores::COLUMNS
    );
    say!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        say!(
            "| {}{} | {:.1e} | {} | {} | {} |",
            r.closure,
            r.model
                .as_ref()
                .map_or(String::new(), |m| format!(" ({m})")),
            r.nu,
            r.dns_n,
            r.states,
            r.scores.cells()
        );
    }
    if let Some(j) = &a.json {
        let text = serde_json::to_vec_pretty(&rows)?;
        crate::atomic::write_bytes(j, &text)
            .map_err(|e| anyhow::anyhow!("cannot write {} ({e})", j.display()))?;
    }
    if a.write_cards {
        write_cards(&a.model, &named, &rows)?;
    }
    if a.fit_inflation {
        for ((path, card), by_nu) in a.model.iter().zip(&cards).zip(&scores.spectra) {
            if card.part.kind != crate::les::learn::model::LesKind::Stochastic || by_nu.is_empty() {
                continue;
            }
            let fitted_on = format!(
                "les-apriori --fit-inflation on {} ({} members, stride {})",
                a.data
                    .iter()
                    .map(|p| super::file_stem(p))
                    .collect::<Vec<_>>()
                    .join(", "),
                a.ensemble,
                a.stride
            );
            let tables = crate::les::learn::apriori::inflation_tables(
                by_nu,
                a.ensemble,
                s.sampler,
                s.schedule.steps(),
                &fitted_on,
                a.per_nu,
            );
            let k = tables.len();
            let card_path = card
                .write_with_inflations(path, tables)
                .map_err(anyhow::Error::msg)?;
            say!(
                "wrote the {} inflation ({k} table{}) into {}",
                a.sampler,
                if a.per_nu { "s, one per ν" } else { "" },
                card_path.display()
            );
        }
    }
    Ok(())
}

/// Each model's card gets its own rows and those of the closures that are not learned.
fn write_cards(
    paths: &[PathBuf],
    named: &[(String, &crate::les::learn::model::LesModel)],
    rows: &[crate::les::learn::apriori::AprioriRow],
) -> Result<()> {
    for (path, (stem, m)) in paths.iter().zip(named) {
        let mut card = m.card.clone();
        card.eval = rows
            .iter()
            .filter(|r| r.model.as_ref().is_none_or(|s| s == stem))
            .cloned()
            .collect();
        let card_path = card.write_beside(path).map_err(anyhow::Error::msg)?;
        say!(
            "wrote {} rows into {}",
            card.eval.len(),
            card_path.display()
        );
    }
    Ok(())
}
