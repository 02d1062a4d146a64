//! Closure Lab: 2-D Navier–Stokes with a learned stochastic closure.
pub mod cli;
pub mod metrics;
pub mod solver;
