//! Training on libtorch: models, losses and the SGD optimiser (`models`, `losses`, `optim`),
//! and the training engine around them: the config, the run directory, the training loop with
//! its analyses, checkpoints and progress output.

pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod dataset;
pub mod epoch;
pub mod losses;
pub mod malloc;
pub mod models;
pub mod optim;
pub mod progress;
pub mod run_dir;
pub mod trainer;
