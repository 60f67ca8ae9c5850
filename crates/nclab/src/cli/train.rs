//! `nclab train CONFIG [--set key=value ...] [--out DIR] [--resume] [--quiet]`

use std::path::PathBuf;

use anyhow::bail;
use nclab::train::config::Config;
use nclab::train::trainer::{self, TrainOptions};

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
    /// Stop after this epoch as if killed, leaving a resumable run (for tests).
    #[arg(long, hide = true)]
    pub stop_after_epoch: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config, &args.set)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
    let opts = TrainOptions {
        out,
        resume: args.resume,
        quiet: args.quiet,
        stop_after_epoch: args.stop_after_epoch,
    };
    let outcome = trainer::train(&config, &opts)?;
    let s = &outcome.summary;
    match s.status.as_str() {
        "diverged" => bail!(
            "training diverged at epoch {} (non-finite loss); the last good checkpoint and \
             summary.json (status \"diverged\") are in {}",
            s.diverged_at_epoch.unwrap_or(0),
            outcome.dir.display()
        ),
        "running" => eprintln!(
            "stopped after epoch {} as asked; continue with --resume --out {}",
            args.stop_after_epoch.unwrap_or(0),
            outcome.dir.display()
        ),
        _ => eprintln!(
            "finished {} epochs in {:.1} s on {} ({:.0} train images/s, {:.1}% of the time \
             outside training steps); TPT epoch: {}; results in {}",
            s.epochs,
            s.wall_time_s,
            s.device,
            s.train_images_per_s,
            100.0 * s.overhead_share,
            s.tpt_epoch
                .map_or("not reached".to_string(), |e| e.to_string()),
            outcome.dir.display()
        ),
    }
    Ok(())
}
