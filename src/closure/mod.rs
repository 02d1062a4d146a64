//! The learned stochastic closure: a conditional score-based diffusion model with a
//! Fourier-neural-operator score network (docs/science.md §2–5).
//!
//! Layers (spectral convolution, time embedding, FNO pipeline) live in [`layers`], the
//! model that composes them in [`score`]; SDE, sampler and loss are separate modules;
//! sensors, datasets, training and checkpoints each have their own.

pub mod calibration;
pub mod card;
pub mod checkpoint;
pub mod data;
pub mod dataset;
pub mod device;
pub mod distill;
pub mod draw;
pub mod eval;
pub mod fit;
pub mod flow;
pub mod gelu;
pub mod inflation;
pub mod layers;
pub mod loss;
pub mod model;
pub mod parts;
pub mod prior;
pub mod pth;
pub mod published;
pub mod sampler;
pub mod samples;
pub mod score;
pub mod sde;
pub mod sensors;
pub mod torch_import;
pub mod train;
pub mod weights;
pub mod whiten;
