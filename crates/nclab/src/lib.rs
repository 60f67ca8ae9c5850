//! The `nclab` library: training on libtorch (models, losses, optimiser, training loop) and
//! figures and reports over run directories. The `nclab` binary's CLI only parses arguments
//! and calls into this library.

pub mod report;
pub mod train;
