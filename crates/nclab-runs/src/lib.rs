//! The parts of nclab that describe and read training runs without running them, and so
//! without libtorch: the training [`config`] (a TOML file, every key with a default), the
//! [`run_dir`] a run writes (config, metrics, summary), the arguments of `nclab train`
//! ([`train_args`]), [`sweep`]s of runs over a grid of configs, and the [`report`] (figures,
//! tables and statistics) over run directories, and [`csv_text`], how all of them read and
//! write CSV. The `nclab` command line and the trainer
//! (`nclab-train`, the only crate that links libtorch) both build on it.

pub mod config;
pub mod csv_text;
pub mod interrupt;
pub mod numbers;
pub mod predictions;
pub mod report;
pub mod run_dir;
pub mod stderr;
pub mod sweep;
pub mod train_args;
