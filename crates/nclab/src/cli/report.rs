//! `nclab report`: figures, tables and an HTML page over run directories.

use std::path::PathBuf;

use nclab_runs::numbers::count;
use nclab_runs::report::curves::CurveOptions;
use nclab_runs::report::{generate, Options};

use super::output::outln;

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
    /// Skip run directories that cannot be read, with a warning, instead of failing (a run whose
    /// test_predictions.csv alone is unusable is kept without it).
    #[arg(long)]
    pub skip_bad: bool,
    /// Pool runs that differ in data.name, model.kind, optim.epochs, data.per_class or
    /// data.test_per_class into one condition (with a warning) instead of refusing.
    #[arg(long)]
    pub allow_mixed: bool,
    /// Report unfinished runs (summary.json says running or interrupted, or is missing) as
    /// they stand, their last analysis counted as their final values, instead of leaving them
    /// out.
    #[arg(long)]
    pub include_unfinished: bool,
    /// Also compare condition A with condition B (names as the report shows them, e.g.
    /// soft-m0.5:ls-m0.5: a loss and its control), paired by seed on every metric; the
    /// contrasts against one condition are a family of their own. Repeatable.
    #[arg(long, value_name = "A:B")]
    pub contrast: Vec<String>,
    /// Draw each run as a thin line under its condition's mean in the curve figures.
    #[arg(long)]
    pub per_seed: bool,
    /// Linear y axes everywhere (by default NC metrics, losses and errors are on log axes).
    #[arg(long)]
    pub linear_y: bool,
    /// A linear epoch axis (by default log when the analyses are log-spaced, which gives the
    /// first epochs as much width as the terminal phase).
    #[arg(long)]
    pub linear_x: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Ctrl-C stops the report between two files, and the staged files are removed.
    nclab_runs::interrupt::install();
    let mut options = Options::new(args.runs, args.out.clone());
    options.group_by = args.group_by;
    options.skip_bad = args.skip_bad;
    options.allow_mixed = args.allow_mixed;
    options.include_unfinished = args.include_unfinished;
    options.contrasts = args.contrast;
    options.curves = CurveOptions {
        log_y: !args.linear_y,
        log_x: !args.linear_x,
        per_seed: args.per_seed,
    };
    let outcome = generate(&options)?;
    for w in &outcome.warnings {
        nclab_runs::errln!("warning: {w}");
    }
    outln!(
        "{} in {}: wrote {} to {} (open {})",
        count(outcome.runs, "run"),
        count(outcome.conditions, "condition"),
        count(outcome.files.len(), "file"),
        args.out.display(),
        args.out.join("index.html").display()
    )
}
