//! Training on libtorch: models, losses and the SGD optimiser.

pub mod losses;
pub mod models;
pub mod optim;
