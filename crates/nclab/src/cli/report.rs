//! `nclab report`: figures, tables and an HTML page over run directories.

use std::path::PathBuf;

use super::output::outln;

use nclab_runs::report::{generate, Options};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directories, or directories searched recursively for runs (a run directory holds
    /// metrics.csv).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Group runs by this config key (e.g. loss, loss.kind, name, optim.lr) instead of by the
    /// whole config without the seed.
    #[arg(long)]
    pub group_by: Option<String>,
    /// Skip run directories that cannot be read, with a warning, instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let outcome = generate(&Options {
        inputs: args.runs,
        out: args.out.clone(),
        group_by: args.group_by,
        skip_bad: args.skip_bad,
    })?;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    outln!(
        "{} runs in {} conditions: wrote {} files to {} (open {})",
        outcome.runs,
        outcome.conditions,
        outcome.files.len(),
        args.out.display(),
        args.out.join("index.html").display()
    )
}
