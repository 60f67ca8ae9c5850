//! The `nclab` library: figures and reports over run directories (and, with the training issue,
//! training on libtorch). The `nclab` binary's CLI only parses arguments and calls into it.

pub mod report;
