//! `nclab sweep GRID.toml [--jobs N] [--threads N] [--dry-run] [--emit slurm] [--out DIR]`

use std::path::PathBuf;

use anyhow::{bail, Context};
use nclab_runs::run_dir::{RunLock, LOCK};
use nclab_runs::sweep::exec::{self, RunOptions};
use nclab_runs::sweep::plan::CellState;
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
    /// With --emit slurm: an extra #SBATCH option, as written after `#SBATCH` (repeatable),
    /// e.g. --sbatch=--partition=gpu --sbatch=--gres=gpu:1 --sbatch=--time=12:00:00.
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
            "sweep {}: {} cells in {} ({})",
            grid.name,
            cells.len(),
            out.display(),
            table::state_counts(&cells)
        )?;
        print_out(&table::plan_table(&cells))?;
        return Ok(());
    }
    if let Some(Emit::Slurm) = args.emit {
        let path = slurm::emit(
            &cells,
            &SlurmOptions {
                name: grid.name.clone(),
                out: out.clone(),
                exe,
                cpus_per_task: args.cpus_per_task,
                max_parallel: args.jobs,
                extra: args.sbatch.clone(),
            },
        )?;
        outln!(
            "wrote {} ({} array tasks) and the cells' configs in {}; submit with: sbatch {}",
            path.display(),
            cells.len(),
            out.display(),
            path.display()
        )?;
        return Ok(());
    }

    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let _lock = RunLock::take(&out.join(LOCK), "nclab sweep", None)?;
    nclab_runs::interrupt::install();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let jobs = args.jobs.unwrap_or(1);
    eprintln!(
        "sweep {}: {} cells in {} ({}); {jobs} at a time, {} thread(s) each",
        grid.name,
        cells.len(),
        out.display(),
        table::state_counts(&cells),
        exec::threads_per_job(threads, jobs)
    );
    for c in &cells {
        if let CellState::Blocked(why) = &c.state {
            eprintln!("blocked {}: {why}", c.cell.name);
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
    print_out(&table::summary_table(&reports))?;
    // Cells resumed here also count the images of their earlier part: left out.
    let fresh: Vec<_> = reports
        .iter()
        .zip(&cells)
        .filter(|(_, c)| c.state == CellState::New)
        .map(|(r, _)| r.clone())
        .collect();
    if let Some(line) = table::throughput_line(&fresh, jobs, started.elapsed().as_secs_f64()) {
        eprintln!("{line}");
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
            "{} of {} cells failed or are blocked: {}",
            failed.len(),
            reports.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
