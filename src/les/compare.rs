//! Closures compared over seeds: a chaotic run's score moves with its seed, so a claim
//! rests on the mean ± standard error over K seeds and, between two closures, on the
//! difference paired by seed (both closures started from the same filtered state) with
//! its 95 % Student-t interval (docs/science.md §10.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::eval::LesRow;
use super::name::ClosureName;

/// Closures every other closure is paired against, when the table holds them: no
/// closure at all, the deterministic FNO (the closure to beat), and the FNO-like mean with
/// pointwise Gaussian noise (the stochastic competitor a generative closure must beat).
pub const REFERENCES: [&str; 3] = ["none", "learned-deterministic", "mean-noise"];

/// The reference of a closure whose draws are held for k steps (`KIND+heldk`) or whose
/// flow latent is correlated in time (`KIND+arτ`): the same closure and model drawn
/// afresh, from fresh noise, every step, paired by seed.
pub const PER_STEP: &str = "per-step";

/// The reference of a closure tied to a mean (`KIND+fluctuations`, `KIND+exact-drain`):
/// the same model untied, drawn at the same interval, paired by seed.
pub const UNTIED: &str = "untied";

/// The reference of a learned closure of the second or a later model (`les-eval --model
/// A,B`): the same closure of the first model of its kind, paired by seed — B against
/// A, e.g. models trained on different data.
pub const FIRST_MODEL: &str = "first model";

/// Mean ± standard error of the finite values among `n` runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    pub mean: f64,
    /// standard error of the mean (0 for one value)
    pub se: f64,
    /// finite values the mean is over
    pub n: usize,
}

impl MeanSe {
    /// No values.
    pub fn none() -> MeanSe {
        MeanSe::of(&[])
    }

    pub fn of(values: &[f64]) -> MeanSe {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return MeanSe {
                mean: f64::NAN,
                se: f64::NAN,
                n,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let se = if n > 1 {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            (var / n as f64).sqrt()
        } else {
            0.0
        };
        MeanSe { mean, se, n }
    }
}

/// A paired difference (closure − reference) over the seeds both finished, with its 95 %
/// two-sided Student-t interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    /// seeds paired
    pub n: usize,
}

impl Paired {
    /// Differences `a[s] − b[s]` over the seeds `s` where both are finite; `None` below
    /// two pairs (no interval).
    pub fn of(a: &BTreeMap<u64, f64>, b: &BTreeMap<u64, f64>) -> Option<Paired> {
        let d: Vec<f64> = a
            .iter()
            .filter_map(|(s, x)| b.get(s).map(|y| x - y))
            .filter(|d| d.is_finite())
            .collect();
        let m = MeanSe::of(&d);
        if m.n < 2 {
            return None;
        }
        let t = StudentsT::new(0.0, 1.0, (m.n - 1) as f64)
            .ok()?
            .inverse_cdf(0.975);
        Some(Paired {
            mean: m.mean,
            lo: m.mean - t * m.se,
            hi: m.mean + t * m.se,
            n: m.n,
        })
    }

    /// The interval excludes 0.
    pub fn decided(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

/// The a-posteriori scores a claim is decided on.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    #[strum(serialize = "E(k) RMSE")]
    SpectralRmseE,
    #[strum(serialize = "Z(k) RMSE")]
    SpectralRmseZ,
    #[strum(serialize = "W1(ω̄)/rms")]
    W1Omega,
}

impl Score {
    pub const ALL: [Score; 3] = [Score::SpectralRmseE, Score::SpectralRmseZ, Score::W1Omega];

    /// Column label of a paired difference.
    pub fn short(self) -> &'static str {
        match self {
            Score::SpectralRmseE => "E",
            Score::SpectralRmseZ => "Z",
            Score::W1Omega => "W1",
        }
    }

    pub fn of(self, r: &LesRow) -> f64 {
        match self {
            Score::SpectralRmseE => r.spectral_rmse_e,
            Score::SpectralRmseZ => r.spectral_rmse_z,
            Score::W1Omega => r.w1_omega,
        }
    }
}

/// One closure at one ν (and grids) over all its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub nu: f64,
    pub dns_n: usize,
    pub les_n: usize,
    pub closure: ClosureName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub runs: usize,
    pub blowups: u32,
    /// mean ± se per score, in [`Score::ALL`] order
    pub scores: Vec<(Score, MeanSe)>,
    pub energy_ratio: MeanSe,
    pub enstrophy_ratio: MeanSe,
    /// a-priori enstrophy transfer of the closure and of the true Π
    pub p_z: MeanSe,
    pub p_z_true: MeanSe,
    /// a-posteriori enstrophy transfer of the closure on its own run (rows that have it)
    #[serde(default = "MeanSe::none")]
    pub p_z_run: MeanSe,
    /// paired differences to each reference present: (reference, score, difference)
    pub paired: Vec<(String, Score, Paired)>,
}

type Key = (u64, usize, usize, ClosureName, Option<String>);

fn key(r: &LesRow) -> Key {
    (
        r.nu.to_bits(),
        r.dns_n,
        r.les_n,
        r.closure.clone(),
        r.model.clone(),
    )
}

/// Rows of many seeds summarised per (ν, grids, closure, model), in the order the
/// closures first appear; each paired against the [`REFERENCES`] of its own ν and grids.
pub fn summarize(rows: &[LesRow]) -> Vec<Summary> {
    let mut order: Vec<Key> = Vec::new();
    let mut groups: BTreeMap<Key, Vec<&LesRow>> = BTreeMap::new();
    for r in rows {
        let k = key(r);
        if !groups.contains_key(&k) {
            order.push(k.clone());
        }
        groups.entry(k).or_default().push(r);
    }
    let by_seed = |rs: &[&LesRow], s: Score| -> BTreeMap<u64, f64> {
        rs.iter().map(|r| (r.seed, s.of(r))).collect()
    };
    order
        .iter()
        .map(|k| {
            let rs = &groups[k];
            let col = |f: &dyn Fn(&LesRow) -> f64| -> MeanSe {
                MeanSe::of(&rs.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            let mut paired = Vec::new();
            let same_run = |q: &Key| q.0 == k.0 && q.1 == k.1 && q.2 == k.2;
            // (label, the reference's group)
            let references = REFERENCES
                .iter()
                .filter(|r| k.3 != **r)
                .map(|r| (*r, groups.iter().find(|(q, _)| same_run(q) && q.3 == *r)))
                .chain(k.3.per_step().map(|base| {
                    let found = groups
                        .iter()
                        .find(|(q, _)| same_run(q) && q.3 == base && q.4 == k.4);
                    (PER_STEP, found)
                }))
                .chain(k.3.untied().map(|base| {
                    let found = groups
                        .iter()
                        .find(|(q, _)| same_run(q) && q.3 == base && q.4 == k.4);
                    (UNTIED, found)
                }))
                .chain(k.4.as_ref().and_then(|_| {
                    // the first model in the table's order with this closure
                    let first = order.iter().find(|q| same_run(q) && q.3 == k.3)?;
                    (first.4 != k.4).then(|| (FIRST_MODEL, groups.get_key_value(first)))
                }));
            for (reference, found) in references {
                if let Some((_, refs)) = found {
                    for s in Score::ALL {
                        if let Some(p) = Paired::of(&by_seed(rs, s), &by_seed(refs, s)) {
                            paired.push((reference.to_string(), s, p));
                        }
                    }
                }
            }
            Summary {
                nu: f64::from_bits(k.0),
                dns_n: k.1,
                les_n: k.2,
                closure: k.3.clone(),
                model: k.4.clone(),
                runs: rs.len(),
                blowups: rs.iter().map(|r| r.blowups).sum(),
                scores: Score::ALL.iter().map(|&s| (s, col(&|r| s.of(r)))).collect(),
                energy_ratio: col(&|r| r.energy / r.energy_dns),
                enstrophy_ratio: col(&|r| r.enstrophy / r.enstrophy_dns),
                p_z: col(&|r| r.p_z),
                p_z_true: col(&|r| r.p_z_true),
                p_z_run: col(&|r| r.p_z_run.unwrap_or(f64::NAN)),
                paired,
            }
        })
        .collect()
}

/// The summary as a Markdown table: scores as mean ± se; one column per reference and
/// score with the paired difference `mean [lo, hi]`, `*` where the interval excludes 0.
pub fn markdown(summary: &[Summary]) -> String {
    let show = |m: &MeanSe, digits: usize| format!("{:.digits$} ± {:.digits$}", m.mean, m.se);
    let pairs: Vec<(&str, Score)> = REFERENCES
        .iter()
        .chain(&[PER_STEP, UNTIED, FIRST_MODEL])
        .flat_map(|r| Score::ALL.iter().map(move |s| (*r, *s)))
        .filter(|(r, s)| {
            summary
                .iter()
                .any(|x| x.paired.iter().any(|(q, t, _)| q == r && t == s))
        })
        .collect();
    let mut s = String::from(
        "| ν | grids | closure | runs | E(k) RMSE | Z(k) RMSE | W1(ω̄)/rms | energy ÷ DNS | P_Z a priori (true) | P_Z run | blow-ups |",
    );
    for (r, score) in &pairs {
        let r = if *r == "learned-deterministic" {
            "FNO"
        } else {
            r
        };
        s += &format!(" Δ{} − {r} |", score.short());
    }
    s += "\n|---|---|---|---|---|---|---|---|---|---|---|";
    s += &"---|".repeat(pairs.len());
    s += "\n";
    for r in summary {
        let score = |x: Score| {
            r.scores
                .iter()
                .find(|(s, _)| *s == x)
                .map_or("–".into(), |(_, m)| show(m, 3))
        };
        s += &format!(
            "| {:.1e} | {}² → {}² | {}{} | {} | {} | {} | {} | {} | {:.0} ({:.0}) | {} | {} |",
            r.nu,
            r.dns_n,
            r.les_n,
            r.closure,
            r.model
                .as_ref()
                .map_or(String::new(), |m| format!(" ({m})")),
            r.runs,
            score(Score::SpectralRmseE),
            score(Score::SpectralRmseZ),
            score(Score::W1Omega),
            show(&r.energy_ratio, 2),
            r.p_z.mean,
            r.p_z_true.mean,
            if r.p_z_run.n > 0 {
                format!("{:.0} ± {:.0}", r.p_z_run.mean, r.p_z_run.se)
            } else {
                "–".into()
            },
            r.blowups,
        );
        for (reference, sc) in &pairs {
            let cell = r
                .paired
                .iter()
                .find(|(q, t, _)| q == reference && t == sc)
                .map_or("–".into(), |(_, _, p)| {
                    format!(
                        "{:+.3} [{:+.3}, {:+.3}]{}",
                        p.mean,
                        p.lo,
                        p.hi,
                        if p.decided() { "*" } else { "" }
                    )
                });
            s += &format!(" {cell} |");
        }
        s += "\n";
    }
    s
}

/// One closure's score under two settings of the same runs (a halved dt, another
/// filter): its mean ± se under each, the shift of the mean in standard errors of the
/// baseline, and the difference paired by seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub nu: f64,
    pub les_n: usize,
    pub closure: ClosureName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub score: String,
    pub this: MeanSe,
    pub baseline: MeanSe,
    /// The mean paired difference (the seeds both have) ÷ the baseline's standard error
    /// over all its seeds: how far the setting moves the score against the seed-to-seed
    /// scatter (NaN below one pair)
    pub shift_over_se: f64,
    /// this − baseline over the seeds both have (None below two)
    pub paired: Option<Paired>,
}

/// Each closure of `rows` against the same closure, model, ν and grids in `baseline`
/// (rows of the same seeds under another setting), per score and the energy ratio.
/// Closures the baseline lacks are left out.
pub fn against(rows: &[LesRow], baseline: &[LesRow]) -> Vec<Shift> {
    type Of = fn(&LesRow) -> f64;
    let scores: Vec<(String, Of)> = vec![
        (Score::SpectralRmseE.to_string(), |r| r.spectral_rmse_e),
        (Score::SpectralRmseZ.to_string(), |r| r.spectral_rmse_z),
        (Score::W1Omega.to_string(), |r| r.w1_omega),
        ("energy ÷ DNS".into(), |r| r.energy / r.energy_dns),
    ];
    let mut order: Vec<Key> = Vec::new();
    for r in rows {
        if !order.contains(&key(r)) {
            order.push(key(r));
        }
    }
    let of = |set: &[LesRow], k: &Key, f: Of| -> BTreeMap<u64, f64> {
        set.iter()
            .filter(|r| key(r) == *k)
            .map(|r| (r.seed, f(r)))
            .collect()
    };
    let mut out = Vec::new();
    for k in &order {
        for (name, f) in &scores {
            let (a, b) = (of(rows, k, *f), of(baseline, k, *f));
            if b.is_empty() {
                continue;
            }
            let values =
                |m: &BTreeMap<u64, f64>| MeanSe::of(&m.values().copied().collect::<Vec<_>>());
            let (this, base) = (values(&a), values(&b));
            let common: Vec<f64> = a
                .iter()
                .filter_map(|(s, x)| b.get(s).map(|y| x - y))
                .collect();
            out.push(Shift {
                nu: f64::from_bits(k.0),
                les_n: k.2,
                closure: k.3.clone(),
                model: k.4.clone(),
                score: name.clone(),
                this,
                baseline: base,
                shift_over_se: MeanSe::of(&common).mean / base.se,
                paired: Paired::of(&a, &b),
            });
        }
    }
    out
}

/// [`against`] as a Markdown table (`*`: the paired interval excludes 0).
pub fn shifts_markdown(shifts: &[Shift]) -> String {
    let show = |m: &MeanSe| format!("{:.3} ± {:.3} ({})", m.mean, m.se, m.n);
    let mut s = String::from(
        "| ν | LES | closure | score | baseline (runs) | this (runs) | mean Δ ÷ se(baseline) | paired Δ (this − baseline) [95 %] |\n|---|---|---|---|---|---|---|---|\n",
    );
    for x in shifts {
        let paired = x.paired.map_or("–".into(), |p| {
            format!(
                "{:+.3} [{:+.3}, {:+.3}]{} ({})",
                p.mean,
                p.lo,
                p.hi,
                if p.decided() { "*" } else { "" },
                p.n
            )
        });
        s += &format!(
            "| {:.1e} | {}² | {}{} | {} | {} | {} | {:+.2} | {} |\n",
            x.nu,
            x.les_n,
            x.closure,
            x.model
                .as_ref()
                .map_or(String::new(), |m| format!(" ({m})")),
            x.score,
            show(&x.baseline),
            show(&x.this),
            x.shift_over_se,
            paired
        );
    }
    s
}
