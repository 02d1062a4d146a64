//! Integration tests (one binary: each extra test binary links burn + eframe again).
mod app;
mod cli;
mod closure;
mod experiment;
mod metrics;
mod render;
mod solver;
