//! The name a closure has in evaluation rows: the closure itself (`none`, `oracle`, a
//! classical one, or a learned kind) and, for a learned one, how its draws were made —
//! tied to a mean, held for k steps, drawn from latents correlated in time — written
//! `BASE[+TIE][+heldK][+arTAU]`. One type writes and reads that grammar; rows store it
//! as that one string (their JSON is unchanged).

use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use super::learn::drain::MeanTie;

/// Suffix of draws held for k > 1 steps (`+held10`).
const HELD: &str = "+held";
/// Suffix of a flow latent correlated in time with memory τ (`+ar0.05`).
const MEMORY: &str = "+ar";

/// A closure's name in evaluation rows (see the module).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClosureName(String);

/// What a [`ClosureName`] says.
#[derive(Clone, Debug, PartialEq)]
pub struct Parts<'a> {
    pub base: &'a str,
    pub tie: Option<MeanTie>,
    /// Steps a draw is held (none: a fresh draw every step).
    pub held: Option<u64>,
    /// Memory τ of the latent (none: independent latents).
    pub memory: Option<f64>,
}

impl ClosureName {
    /// The name of a closure from its parts.
    pub fn new(base: &str, tie: Option<MeanTie>, held: Option<u64>, memory: Option<f64>) -> Self {
        let mut s = base.to_string();
        if let Some(t) = tie {
            s.push_str(t.suffix());
        }
        if let Some(k) = held {
            s.push_str(&format!("{HELD}{k}"));
        }
        if let Some(m) = memory {
            s.push_str(&format!("{MEMORY}{m}"));
        }
        ClosureName(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name read back into its parts (a name without suffixes is all base).
    pub fn parts(&self) -> Parts<'_> {
        let mut rest = self.0.as_str();
        let mut memory = None;
        if let Some((b, m)) = rest.rsplit_once(MEMORY)
            && let Ok(m) = m.parse::<f64>()
        {
            (rest, memory) = (b, Some(m));
        }
        let mut held = None;
        if let Some((b, k)) = rest.rsplit_once(HELD)
            && let Ok(k) = k.parse::<u64>()
        {
            (rest, held) = (b, Some(k));
        }
        let mut tie = None;
        if let Some(t) = MeanTie::iter().find(|t| rest.ends_with(t.suffix())) {
            (rest, tie) = (&rest[..rest.len() - t.suffix().len()], Some(t));
        }
        Parts {
            base: rest,
            tie,
            held,
            memory,
        }
    }

    /// The closure a held or correlated variant is compared with: the same closure
    /// drawn from fresh noise every step — without its memory, else without its hold
    /// (none: it is drawn so already).
    pub fn per_step(&self) -> Option<ClosureName> {
        let p = self.parts();
        match (p.memory, p.held) {
            (Some(_), _) => Some(ClosureName::new(p.base, p.tie, p.held, None)),
            (None, Some(_)) => Some(ClosureName::new(p.base, p.tie, None, None)),
            (None, None) => None,
        }
    }

    /// The closure a variant tied to a mean is compared with: the same one untied
    /// (none: it is untied).
    pub fn untied(&self) -> Option<ClosureName> {
        let p = self.parts();
        p.tie?;
        Some(ClosureName::new(p.base, None, p.held, p.memory))
    }
}

impl From<&str> for ClosureName {
    fn from(s: &str) -> Self {
        ClosureName(s.to_string())
    }
}

impl std::fmt::Display for ClosureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ClosureName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClosureName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
