//! The small enums (case, scheme, sampler, panel …) are parsed by name through strum's
//! derives; this gives every such parse the same error, listing the valid names.

use std::str::FromStr;

use strum::VariantNames;

/// Parse `s` as a `T` by name; `what` names the setting in the error.
pub fn parse<T: FromStr + VariantNames>(what: &str, s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("unknown {what} `{s}` ({})", T::VARIANTS.join(", ")))
}
