//! The `nclab` library: training on libtorch (models, losses, optimiser, training loop).
//! The `nclab` binary's CLI only parses arguments and calls into this library.

pub mod train;
