//! The `nclab` library: training on libtorch (models, losses, optimiser, training loop),
//! sweeps of training runs over a grid of configs, and figures and reports over run
//! directories. The `nclab` binary's CLI only parses arguments and calls into this library.

pub mod report;
pub mod sweep;
pub mod train;
