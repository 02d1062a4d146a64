//! Weight files: the f16 burnpack a shipped closure is stored in, full-precision
//! checkpoints, and loading either into a fresh module with an error that names what is
//! wrong (unreadable bytes, another architecture, non-finite values).

use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::Serialize;

use super::model::ClosureError;
use super::score::{ScoreNet, ScoreNetConfig};

/// Stores every float parameter as f16 (halves the shipped file).
struct ToF16;
impl ModuleMapper for ToF16 {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        p.map(|t| t.cast(DType::F16))
    }
}

/// Serialise a network's weights (f16).
pub fn weights_to_bytes(net: &ScoreNet) -> Result<Vec<u8>, ClosureError> {
    net.valid()
        .map(&mut ToF16)
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| ClosureError::Weights(e.to_string()))
}

/// Decode weights into the architecture `cfg` on `device`; every failure is an error
/// naming the problem (truncated/corrupt data, mismatched architecture, non-finite values).
pub fn weights_from_bytes(
    cfg: &ScoreNetConfig,
    bytes: &[u8],
    device: &Device,
) -> Result<ScoreNet, ClosureError> {
    let net = module_from_bytes(cfg.init(device), bytes)?;
    check_finite(&net)?;
    Ok(net)
}

/// An error when any weight of `m` is NaN or infinite.
pub(crate) fn check_finite<M: Module>(m: &M) -> Result<(), ClosureError> {
    let mut check = FiniteCheck(true);
    m.visit(&mut check);
    if !check.0 {
        return Err(ClosureError::Weights(
            "weights contain NaN or infinite values".into(),
        ));
    }
    Ok(())
}

/// Full-precision weight bytes of any module (checkpoints keep f32; shipped files use
/// [`weights_to_bytes`]).
pub(crate) fn module_bytes<M: Module>(m: &M) -> Result<Vec<u8>, ClosureError> {
    m.clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| ClosureError::Weights(e.to_string()))
}

/// Load weight bytes into a freshly initialised module of the architecture they were
/// saved from.
pub(crate) fn module_from_bytes<M: Module>(fresh: M, bytes: &[u8]) -> Result<M, ClosureError> {
    let rec = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| ClosureError::Weights(format!("not a readable weight file ({e})")))?
        .cast_to_module_dtype();
    fresh.try_load_record(rec).map_err(|e| {
        ClosureError::Weights(format!(
            "weights do not fit the architecture in the model card ({e})"
        ))
    })
}

/// Write weights at `PATH` and their card as JSON at `PATH.json`, each atomically.
pub(crate) fn save_with_card(
    weights: &Path,
    bytes: Vec<u8>,
    card: &impl Serialize,
) -> Result<(), ClosureError> {
    let json = serde_json::to_vec_pretty(card).map_err(|e| ClosureError::Card(e.to_string()))?;
    for (path, data) in [
        (weights.to_path_buf(), bytes),
        (weights.with_extension("json"), json),
    ] {
        crate::atomic::write_bytes(&path, &data)
            .map_err(|e| ClosureError::Weights(format!("cannot write {} ({e})", path.display())))?;
    }
    Ok(())
}

struct FiniteCheck(bool);
impl burn::module::ModuleVisitor for FiniteCheck {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if self.0 {
            let ok = p.val().is_finite().all().into_scalar::<bool>();
            self.0 = ok;
        }
    }
}
