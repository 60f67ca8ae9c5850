//! `nclab sweep GRID.toml [--jobs N] [--threads N] [--dry-run] [--emit slurm] [--out DIR]`

use std::path::PathBuf;

use anyhow::{bail, Context};
use nclab_runs::numbers::count;
use nclab_runs::run_dir::{RunLock, LOCK};
use nclab_runs::sweep::exec::{self, RunOptions};
use nclab_runs::sweep::plan::{CellState, PlannedCell};
use nclab_runs::sweep::slurm::{self, SlurmOptions};
use nclab_runs::sweep::{load_plan, table};

use super::output::{outln, print_out};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "The grid file format and the study's grids are described in docs/study.md. \
                  Finished cells are skipped and interrupted ones resumed, so a sweep can be \
                  stopped and started again."
)]
pub struct Args {
    /// The grid file: a base config plus [axes] and [[variants.NAME]] (docs/study.md).
    pub grid: PathBuf,
    /// The sweep folder holding each cell's run directory (default: runs/<grid file stem>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Cells trained side by side (with --emit slurm: the most array tasks at once).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Threads of the machine split between the jobs (default: all available).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run the cells grouped by the levels of this dimension, in its order (e.g. `--by seed`:
    /// every condition of the first seed, then of the second, ...); the grid's order otherwise.
    #[arg(long, value_name = "DIMENSION")]
    pub by: Option<String>,
    /// List the cells, their overrides and states (new, resume, done) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a batch script instead of running: `slurm` writes OUT/sweep.sbatch, a job array
    /// with one task per cell, and the cells' resolved configs beside it.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// With --emit slurm: CPUs (and threads) of each task.
    #[arg(long, default_value_t = 4)]
    pub cpus_per_task: usize,
    /// With --emit slurm: GPUs of each task (`#SBATCH --gres=gpu:N`); a task given GPUs fails
    /// when the trainer ran on the CPU.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpus: usize,
    /// With --emit slurm: seconds before the time limit at which Slurm signals a task, which
    /// then stops at its last whole epoch and requeues itself (`--signal=B:USR1@SECONDS`).
    #[arg(long, value_name = "SECONDS", default_value_t = slurm::DEFAULT_GRACE_S)]
    pub grace: u32,
    /// With --emit slurm: an extra #SBATCH option, as written after `#SBATCH` (repeatable),
    /// e.g. --sbatch=--partition=gpu --sbatch=--time=12:00:00.
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    Slurm,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if args.threads == Some(0) || args.cpus_per_task == 0 {
        bail!("--threads and --cpus-per-task must be at least 1");
    }
    let (grid, out, cells) = load_plan(&args.grid, args.out.as_deref())?;
    let exe = std::env::current_exe().context("cannot find the nclab executable")?;

    if args.dry_run {
        outln!(
            "sweep {}: {} in {} ({})",
            grid.name,
            count(cells.len(), "cell"),
            out.display(),
            table::state_counts(&cells)
        )?;
        print_out(&table::plan_table(&cells))?;
        print_warnings(&cells);
        return Ok(());
    }
    if let Some(Emit::Slurm) = args.emit {
        return emit_slurm(&args, &grid.name, &out, exe, &cells);
    }
    if args.gpus > 0 || args.grace != slurm::DEFAULT_GRACE_S || !args.sbatch.is_empty() {
        bail!("--gpus, --grace and --sbatch are options of --emit slurm");
    }

    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let _lock = RunLock::take(&out.join(LOCK), "nclab sweep", None)?;
    nclab_runs::interrupt::install();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let jobs = args.jobs.unwrap_or(1);
    nclab_runs::errln!(
        "sweep {}: {} in {} ({}); {jobs} at a time, {} each",
        grid.name,
        count(cells.len(), "cell"),
        out.display(),
        table::state_counts(&cells),
        count(exec::threads_per_job(threads, jobs), "thread")
    );
    print_warnings(&cells);
    for c in &cells {
        if let CellState::Blocked(why) = &c.state {
            nclab_runs::errln!("blocked {}: {why}", c.cell.name);
        }
    }
    let started = std::time::Instant::now();
    if let Some(dim) = &args.by {
        let known: Vec<&str> = cells
            .first()
            .map(|c| c.cell.levels.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        if !known.contains(&dim.as_str()) {
            bail!(
                "--by {dim}: the grid has no such dimension (its dimensions: {})",
                known.join(", ")
            );
        }
    }
    let reports = exec::run_cells(
        &cells,
        &RunOptions {
            exe,
            jobs,
            threads,
            by: args.by.clone(),
        },
    )?;
    finish(&reports, &cells, jobs, started)
}

/// After the cells ran: the summary table, the throughput of the new cells, and an error when
/// the sweep was interrupted or a cell failed.
fn finish(
    reports: &[exec::CellReport],
    cells: &[PlannedCell],
    jobs: usize,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    print_out(&table::summary_table(reports))?;
    // Cells resumed here also count the images of their earlier part: left out.
    let fresh: Vec<_> = reports
        .iter()
        .zip(cells)
        .filter(|(_, c)| c.state == CellState::New)
        .map(|(r, _)| r.clone())
        .collect();
    if let Some(line) = table::throughput_line(&fresh, jobs, started.elapsed().as_secs_f64()) {
        nclab_runs::errln!("{line}");
    }
    if let Some(sig) = nclab_runs::interrupt::requested() {
        bail!(
            "the sweep was stopped by {}; its runs kept their last whole epoch: run the same \
             command again to resume them",
            nclab_runs::interrupt::name(sig)
        );
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.outcome.is_failure())
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} failed or are blocked: {}",
            failed.len(),
            count(reports.len(), "cell"),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Prints the warnings of the cells' configs ([`nclab_runs::config::Config::warnings`]) on
/// standard error, each once with the cells it concerns.
fn print_warnings(cells: &[PlannedCell]) {
    let mut seen: Vec<(String, Vec<&str>)> = Vec::new();
    for c in cells {
        for w in c.cell.config.warnings() {
            match seen.iter_mut().find(|(text, _)| *text == w) {
                Some((_, names)) => names.push(&c.cell.name),
                None => seen.push((w, vec![&c.cell.name])),
            }
        }
    }
    for (text, names) in seen {
        nclab_runs::errln!("warning ({}): {text}", names.join(", "));
    }
}

/// `--emit slurm`: the script and the cells' configs, with absolute paths (the tasks run in
/// this directory); warns when `--cpus-per-task` disagrees with the cells' `threads`.
fn emit_slurm(
    args: &Args,
    name: &str,
    out: &std::path::Path,
    exe: PathBuf,
    cells: &[PlannedCell],
) -> anyhow::Result<()> {
    let chdir = std::env::current_dir().context("cannot read the current directory")?;
    let out = std::path::absolute(out)
        .with_context(|| format!("cannot make {} absolute", out.display()))?;
    let path = slurm::emit(
        cells,
        &SlurmOptions {
            name: name.to_string(),
            out: out.clone(),
            chdir,
            exe,
            cpus_per_task: args.cpus_per_task,
            max_parallel: args.jobs,
            gpus: args.gpus,
            grace_s: args.grace,
            extra: args.sbatch.clone(),
        },
    )?;
    print_warnings(cells);
    if let Some(warning) = slurm::threads_warning(cells, args.cpus_per_task) {
        nclab_runs::errln!("warning: {warning}");
    }
    outln!(
        "wrote {} ({}) and the cells' configs in {}; submit with: sbatch {}",
        path.display(),
        count(cells.len(), "array task"),
        out.display(),
        path.display()
    )
}
