//! Integration tests (one binary: each extra test binary links burn + eframe again).
mod cli;
mod closure;
mod metrics;
mod solver;
