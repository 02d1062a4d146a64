//! The subgrid closures compiled into the binary: per LES grid a stochastic model (with
//! its distilled flow generator) and the deterministic FNO that is its mean.

use burn::tensor::Device;

use std::marker::PhantomData;

use super::model::{LesCard, LesKind, LesModel, SubgridPart};
use crate::closure::model::{ClosureError, Embedded};

/// The shipped subgrid closures, the 64² ones (the `les` preset's grid) first, then the
/// 32² ones (the coarsest grid, where the closure decides most of the flow; trained by
/// `experiments/les-train-{det,sto}32.toml`, `distill-sto32.toml`) and the 48² ones
/// (`experiments/les-train-{det,sto}48.toml`, `distill-sto48.toml`: dear 256² data only).
pub static EMBEDDED: [Embedded<SubgridPart>; 6] = [
    Embedded {
        id: "les-stochastic-64",
        label: "learned (stochastic, 64²)",
        card: include_bytes!("../../../assets/les_stochastic.json"),
        weights: include_bytes!("../../../assets/les_stochastic.bpk"),
        flow: Some(include_bytes!("../../../assets/les_stochastic.flow.bpk")),
        kind: PhantomData,
    },
    Embedded {
        id: "les-deterministic-64",
        label: "learned (deterministic, 64²)",
        card: include_bytes!("../../../assets/les_deterministic.json"),
        weights: include_bytes!("../../../assets/les_deterministic.bpk"),
        flow: None,
        kind: PhantomData,
    },
    Embedded {
        id: "les-stochastic-32",
        label: "learned (stochastic, 32²)",
        card: include_bytes!("../../../assets/les_stochastic_32.json"),
        weights: include_bytes!("../../../assets/les_stochastic_32.bpk"),
        flow: Some(include_bytes!("../../../assets/les_stochastic_32.flow.bpk")),
        kind: PhantomData,
    },
    Embedded {
        id: "les-deterministic-32",
        label: "learned (deterministic, 32²)",
        card: include_bytes!("../../../assets/les_deterministic_32.json"),
        weights: include_bytes!("../../../assets/les_deterministic_32.bpk"),
        flow: None,
        kind: PhantomData,
    },
    Embedded {
        id: "les-stochastic-48",
        label: "learned (stochastic, 48²)",
        card: include_bytes!("../../../assets/les_stochastic_48.json"),
        weights: include_bytes!("../../../assets/les_stochastic_48.bpk"),
        flow: Some(include_bytes!("../../../assets/les_stochastic_48.flow.bpk")),
        kind: PhantomData,
    },
    Embedded {
        id: "les-deterministic-48",
        label: "learned (deterministic, 48²)",
        card: include_bytes!("../../../assets/les_deterministic_48.json"),
        weights: include_bytes!("../../../assets/les_deterministic_48.bpk"),
        flow: None,
        kind: PhantomData,
    },
];

/// Each entry's kind and LES grid, read from its card once.
static KINDS: std::sync::LazyLock<Vec<Option<(LesKind, usize)>>> = std::sync::LazyLock::new(|| {
    EMBEDDED
        .iter()
        .map(|e| {
            serde_json::from_slice::<LesCard>(e.card)
                .ok()
                .map(|c| (c.part.kind, c.part.les_n))
        })
        .collect()
});

/// The entry of the shipped model of `kind` trained on the `les_n`² LES grid.
fn entry(kind: LesKind, les_n: usize) -> Option<&'static Embedded<SubgridPart>> {
    let i = KINDS.iter().position(|k| *k == Some((kind, les_n)))?;
    EMBEDDED.get(i)
}

/// Whether a model of `kind` is shipped for the `les_n`² LES grid.
pub fn has(kind: LesKind, les_n: usize) -> bool {
    entry(kind, les_n).is_some()
}

/// The shipped model of `kind` trained on the `les_n`² LES grid, decoded on `device`.
pub fn shipped(kind: LesKind, les_n: usize, device: &Device) -> Result<LesModel, ClosureError> {
    let entry = entry(kind, les_n).ok_or_else(|| {
        ClosureError::Card(format!(
            "no {kind} subgrid model is shipped for the {les_n}² LES grid"
        ))
    })?;
    entry.load(device)
}
