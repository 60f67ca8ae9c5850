//! The `nclab` library: training on libtorch (models, losses, optimiser, training loop)
//! and sweeps of training runs over a grid of configs.
//! The `nclab` binary's CLI only parses arguments and calls into this library.

pub mod sweep;
pub mod train;
