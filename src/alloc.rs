//! The one allocator setting the project changes.
//!
//! The binary allocates with mimalloc (`main.rs`, its v3 sources). mimalloc hands pages
//! that stay free for a second back to the OS ("purging"). A training iteration of the
//! published network takes about as long and frees and re-allocates the same tensors, so
//! iterations faulted pages back in and the kernel zeroed them: 14 % of a `perf` profile
//! of that training. Training (and its benchmark) therefore asks mimalloc never to
//! purge; the process keeps its high-water mark, which the next iteration needs anyway.
//!
//! The app and the other commands keep the default. Purging at once (delay 0) was tried
//! for the app: resident memory fell by about a quarter, but the closure sampler's
//! allocations then faulted pages back in on every call — 1.6× (one member) to 3.3× (four)
//! slower sampling (`MIMALLOC_PURGE_DELAY=0 closure-lab bench closure --sizes 64
//! --batches 1,4`) — and the soak's pass-mean RSS scattered no less (±4.7 %, ±7.4 %).

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc's `mi_option_t`: 15 in both the v2 and the v3
/// header that libmimalloc-sys 0.1.49 builds (the crate names no constant for it).
const PURGE_DELAY: mi_option_t = 15;

/// mimalloc v3's default purge delay, in milliseconds (v2's was 10).
pub const DEFAULT_PURGE_DELAY_MS: i64 = 1000;

/// Never hand freed pages back to the OS for the rest of the process.
pub fn keep_freed_pages() {
    // SAFETY: setting an option is a plain store into mimalloc's option table
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}

/// The purge delay now in force, in milliseconds (−1 = never purge).
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reading an option (initialising it from the environment on first use)
    i64::from(unsafe { mi_option_get(PURGE_DELAY) })
}
