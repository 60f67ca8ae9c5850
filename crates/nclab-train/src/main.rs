//! `nclab-train`: runs `nclab train`. It is the only binary that links libtorch (and, where
//! the wheel has it, CUDA); `nclab train ...` executes it with the same arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use nclab_runs::config::Config;
use nclab_runs::run_dir::Status;
use nclab_train::trainer::{self, TrainOptions};

use nclab_runs::train_args as args;

/// Train a model from a TOML config, tracking neural collapse through training.
#[derive(Parser, Debug)]
#[command(name = "nclab train", version)]
struct Cli {
    #[command(flatten)]
    args: args::Args,
}

fn main() -> ExitCode {
    match run(Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            nclab_runs::errln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: args::Args) -> anyhow::Result<()> {
    nclab_runs::interrupt::install();
    let config = Config::load(&args.config, &args.set)?;
    for warning in config.warnings() {
        nclab_runs::errln!("warning: {warning}");
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
    let opts = TrainOptions {
        out,
        resume: args.resume,
        quiet: args.quiet,
        wide: args.wide,
        stop_after_epoch: args.stop_after_epoch,
    };
    let outcome = trainer::train(&config, &opts)?;
    let s = &outcome.summary;
    match s.status {
        Status::Diverged => bail!(
            "training diverged at epoch {} (non-finite loss); the last good checkpoint and \
             summary.json (status \"diverged\") are in {}",
            s.diverged_at_epoch.unwrap_or(0),
            outcome.dir.display()
        ),
        Status::Running => nclab_runs::errln!(
            "stopped after epoch {} as asked; continue with --resume --out {}",
            args.stop_after_epoch.unwrap_or(0),
            outcome.dir.display()
        ),
        Status::Interrupted => {
            let dir = outcome.dir.display();
            nclab_runs::errln!("continue with: nclab train {dir}/config.toml --out {dir} --resume");
            let code = nclab_runs::interrupt::requested().map_or(130, |s| 128 + s);
            std::process::exit(code);
        }
        Status::Finished => nclab_runs::errln!(
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
