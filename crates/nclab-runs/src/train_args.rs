//! `nclab train CONFIG [--set key=value ...] [--out DIR] [--resume] [--quiet] [--wide]`: the
//! arguments.
//!
//! Training is the one part of nclab that needs libtorch, so it runs in its own binary,
//! `nclab-train` (crate `nclab-train`), which `nclab train` runs in its place: the other
//! commands never load libtorch and the CUDA libraries. Both binaries parse these arguments.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run's TOML config (every key has a default; see configs/).
    pub config: PathBuf,
    /// Override a config key: `--set optim.epochs=30` (dotted key, TOML value). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The run directory (default: runs/<name>). Must not exist or be empty, unless --resume.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in the directory from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// No progress bars: one plain line per analysis epoch (for log files).
    #[arg(long)]
    pub quiet: bool,
    /// Every column in the table of the analysis epochs (losses, times), not only the ones
    /// that fit an 80-column terminal.
    #[arg(long)]
    pub wide: bool,
    /// Stop after this epoch as if killed, leaving a resumable run (for tests).
    #[arg(long, hide = true)]
    pub stop_after_epoch: Option<usize>,
}
