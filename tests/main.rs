//! Integration tests (one binary: each extra test binary links burn + eframe again).
// the allocator the binary uses (see src/main.rs)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod app;
mod cli;
mod closure;
mod experiment;
mod metrics;
mod render;
mod solver;
