//! Closure Lab: 2-D Navier–Stokes with a learned stochastic closure.
//!
//! Data flows one way: [`solver`] → [`closure`] → experiment → app / [`cli`].
pub mod alloc;
pub mod app;
pub mod atomic;
pub mod cli;
pub mod closure;
pub mod experiment;
pub mod les;
pub mod message;
pub mod metrics;
pub mod names;
pub mod render;
pub mod resume;
pub mod solver;
