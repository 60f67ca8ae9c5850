//! Training on libtorch: models, losses and the SGD optimiser.

pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod dataset;
pub mod losses;
pub mod models;
pub mod optim;
pub mod progress;
pub mod run_dir;
pub mod trainer;
