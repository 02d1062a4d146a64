//! What the pickle reader checks about shapes as it reads: how deep containers nest,
//! tensor dimensions, and tensor views that would repeat storage elements.

use super::Value;

/// Deepest nesting of containers accepted. A state dict nests a handful of levels; a
/// pickle nesting deeper (a chain of lists built through the memo needs only a few bytes
/// per level) is refused as it is read, because values are cloned and dropped
/// recursively and a million levels overflow the stack.
const MAX_DEPTH: usize = 64;

/// Nesting depth of `v`, counted up to `budget + 1` (no further recursion).
fn depth(v: &Value, budget: usize) -> usize {
    if budget == 0 {
        return 1;
    }
    1 + match v {
        Value::Tuple(xs) | Value::List(xs) => {
            xs.iter().map(|x| depth(x, budget - 1)).max().unwrap_or(0)
        }
        Value::Dict(d) => d
            .iter()
            .map(|(k, x)| depth(k, budget - 1).max(depth(x, budget - 1)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// Refuse `items` as the children of a container when one nests too deep.
pub(super) fn shallow(items: &[Value]) -> Result<(), String> {
    if items.iter().any(|v| depth(v, MAX_DEPTH) >= MAX_DEPTH) {
        Err(format!("pickle nests deeper than {MAX_DEPTH} levels"))
    } else {
        Ok(())
    }
}

/// The sizes in a tensor's shape or stride tuple.
pub(super) fn dims(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(xs) | Value::List(xs) => xs
            .iter()
            .map(|x| match x {
                Value::Int(i) if *i >= 0 => Ok(*i as usize),
                _ => Err(format!("tensor {what} holds a non-size")),
            })
            .collect(),
        _ => Err(format!("tensor {what} is not a tuple")),
    }
}

/// Whether a view of `shape` with `stride` visits each storage element at most once:
/// taken from the smallest stride up, each stride must step past everything the smaller
/// ones span (dimensions of size 0 or 1 do not move).
pub(super) fn non_overlapping(shape: &[usize], stride: &[usize]) -> bool {
    let mut dims: Vec<(usize, usize)> = stride
        .iter()
        .zip(shape)
        .filter(|&(_, &d)| d > 1)
        .map(|(&s, &d)| (s, d))
        .collect();
    dims.sort_unstable();
    let mut extent = 1usize;
    for (s, d) in dims {
        if s < extent {
            return false;
        }
        match s.checked_mul(d - 1).and_then(|x| x.checked_add(extent)) {
            Some(e) => extent = e,
            None => return false,
        }
    }
    true
}
