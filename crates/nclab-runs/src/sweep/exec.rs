//! Running the cells of a sweep: each cell is a child process
//! `nclab train OUT/<cell>.toml --out OUT/<cell> [--resume] --quiet`, `jobs` of them side by
//! side, the machine's threads split evenly between them. A failing cell is reported and the
//! others go on.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;

use super::plan::{read_summary, summary_status, CellState, PlannedCell};
use crate::run_dir::{write_atomic, Status};

/// How the cells are run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The `nclab` executable that trains each cell.
    pub exe: PathBuf,
    /// Cells run side by side.
    pub jobs: usize,
    /// Threads of the whole machine, split between the jobs.
    pub threads: usize,
    /// Run the cells of the first level of this dimension first, then the second's, ...
    /// (`seed`: one whole seed of every condition before the next seed). The grid's order
    /// otherwise, and in the reports.
    pub by: Option<String>,
}

/// The order in which to run `todo` (indices into `cells`): grouped by the level of dimension
/// `by` when given (stable within a level), else as listed.
pub fn run_order(cells: &[PlannedCell], mut todo: Vec<usize>, by: Option<&str>) -> Vec<usize> {
    if let Some(dim) = by {
        let level = |i: &usize| {
            cells[*i]
                .cell
                .levels
                .iter()
                .find(|(name, _)| name == dim)
                .map_or(0, |l| l.1)
        };
        todo.sort_by_key(level);
    }
    todo
}

/// The environment variables through which a cell's thread count reaches libtorch (OpenMP,
/// MKL) and rayon. A config whose `threads` key is set keeps its own count.
pub const THREAD_VARS: [&str; 3] = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"];

/// Threads per job: `max(1, floor(threads / jobs))`.
pub fn threads_per_job(threads: usize, jobs: usize) -> usize {
    (threads / jobs.max(1)).max(1)
}

/// What became of a cell in this sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Trained to the end in this sweep.
    Finished,
    /// Diverged in this sweep (`summary.json` status `diverged`).
    Diverged,
    /// Not run: already done, diverged earlier, or blocked (its state says which).
    Skipped(CellState),
    /// The training process failed; the text holds the end of its log.
    Failed(String),
}

impl Outcome {
    /// The word shown in the summary table.
    pub fn word(&self) -> String {
        match self {
            Outcome::Finished => "finished".into(),
            Outcome::Diverged => "diverged".into(),
            Outcome::Skipped(CellState::Done) => "done".into(),
            Outcome::Skipped(CellState::Blocked(_)) => "blocked".into(),
            Outcome::Skipped(s) => format!("{s} (earlier)"),
            Outcome::Failed(_) => "FAILED".into(),
        }
    }

    /// Whether the sweep counts the cell as failed (non-zero exit at the end).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed(_) | Outcome::Skipped(CellState::Blocked(_))
        )
    }
}

/// One cell's result.
#[derive(Clone, Debug)]
pub struct CellReport {
    pub name: String,
    pub outcome: Outcome,
    /// Its `summary.json`, when there is one.
    pub summary: Option<serde_json::Value>,
    /// Seconds this sweep spent on the cell (0 when skipped).
    pub seconds: f64,
}

/// Writes the resolved config of every cell that will run to `OUT/<cell>.toml` (atomically).
pub fn write_cell_configs(cells: &[PlannedCell]) -> anyhow::Result<()> {
    for c in cells.iter().filter(|c| c.state.runs()) {
        if let Some(parent) = c.config_path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_atomic(&c.config_path, c.cell.config.to_toml_string().as_bytes())?;
    }
    Ok(())
}

/// Runs every cell whose state is new or resume, `opts.jobs` at a time, and reports every
/// cell in grid order. Progress lines go to stderr.
pub fn run_cells(cells: &[PlannedCell], opts: &RunOptions) -> anyhow::Result<Vec<CellReport>> {
    write_cell_configs(cells)?;
    let todo: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].state.runs())
        .collect();
    let todo = run_order(cells, todo, opts.by.as_deref());
    let per_job = threads_per_job(opts.threads, opts.jobs);
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<CellReport>>> = Mutex::new(vec![None; cells.len()]);
    let workers = opts.jobs.clamp(1, todo.len().max(1));
    let pace = Mutex::new(Pace::default());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if crate::interrupt::requested().is_some() {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = todo.get(k) else { break };
                let cell = &cells[i];
                eprintln!(
                    "[{}/{}] {} ({}, {per_job} thread{})",
                    k + 1,
                    todo.len(),
                    cell.cell.name,
                    cell.state,
                    if per_job == 1 { "" } else { "s" }
                );
                let report = run_one(cell, &opts.exe, per_job);
                let left =
                    pace.lock()
                        .expect("no worker panics")
                        .add(report.seconds, todo.len(), workers);
                eprintln!(
                    "[{}/{}] {}: {} after {:.0} s{left}",
                    k + 1,
                    todo.len(),
                    cell.cell.name,
                    report.outcome.word(),
                    report.seconds
                );
                if let Outcome::Failed(why) = &report.outcome {
                    for line in why.lines() {
                        eprintln!("    {line}");
                    }
                }
                reports.lock().expect("no worker panics")[i] = Some(report);
            });
        }
    });
    let reports = reports.into_inner().expect("no worker panics");
    Ok(cells
        .iter()
        .zip(reports)
        .map(|(c, r)| {
            r.unwrap_or_else(|| CellReport {
                name: c.cell.name.clone(),
                outcome: Outcome::Skipped(c.state.clone()),
                summary: read_summary(&c.dir),
                seconds: 0.0,
            })
        })
        .collect())
}

/// The cells a sweep has run so far and their summed wall time, for the time left.
#[derive(Default)]
struct Pace {
    done: usize,
    seconds: f64,
}

impl Pace {
    /// Counts a cell that took `seconds`; then the rest of `total` cells, run `workers` at a
    /// time at the mean pace so far: `; 26 left, ~17h50m at 2 at a time` (empty at the end).
    /// Resumed cells count at what they had left, so early figures can be short.
    fn add(&mut self, seconds: f64, total: usize, workers: usize) -> String {
        self.done += 1;
        self.seconds += seconds;
        let left = total.saturating_sub(self.done);
        if left == 0 {
            return String::new();
        }
        let eta = self.seconds / self.done as f64 * left as f64 / workers.min(left) as f64;
        format!(
            "; {left} left, {} at {} at a time",
            crate::numbers::eta_text(eta),
            workers.min(left)
        )
    }
}

/// The `nclab train` arguments of a cell (after the executable).
pub fn train_args(cell: &PlannedCell) -> Vec<String> {
    let mut args = vec![
        "train".to_string(),
        cell.config_path.display().to_string(),
        "--out".to_string(),
        cell.dir.display().to_string(),
    ];
    if cell.state == CellState::Resume {
        args.push("--resume".into());
    }
    args.push("--quiet".into());
    args
}

/// Trains one cell in a child process, its output appended to the staging log, which then
/// moves to `<dir>/train.log` (the run directory must not exist before `nclab train` makes
/// it, so the log cannot start there).
fn run_one(cell: &PlannedCell, exe: &Path, threads: usize) -> CellReport {
    let start = Instant::now();
    let result = (|| -> anyhow::Result<std::process::ExitStatus> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cell.staging_log)
            .with_context(|| format!("cannot open {}", cell.staging_log.display()))?;
        let mut cmd = Command::new(exe);
        cmd.args(train_args(cell))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for var in THREAD_VARS {
            cmd.env(var, threads.to_string());
        }
        run_child(cmd).with_context(|| format!("cannot start {}", exe.display()))
    })();
    let log_path = settle_log(cell);
    let seconds = start.elapsed().as_secs_f64();
    let summary = read_summary(&cell.dir);
    let outcome = match (&result, summary_status(&cell.dir)) {
        (_, Some(Status::Diverged)) => Outcome::Diverged,
        (Ok(st), Some(Status::Finished)) if st.success() => Outcome::Finished,
        (Ok(st), _) => Outcome::Failed(format!(
            "nclab train exited with {st}; end of {}:\n{}",
            log_path.display(),
            tail(&log_path, 8)
        )),
        (Err(e), _) => Outcome::Failed(format!("{e:#}")),
    };
    CellReport {
        name: cell.cell.name.clone(),
        outcome,
        summary,
        seconds,
    }
}

/// Runs a cell's training process in a process group of its own (so that a Ctrl-C at the
/// terminal reaches the sweep alone), passing on to that group a stop the sweep is asked for
/// (`crate::interrupt`), and waits for it to end.
fn run_child(mut cmd: Command) -> std::io::Result<std::process::ExitStatus> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn()?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if let (Some(sig), false) = (crate::interrupt::requested(), forwarded) {
            forwarded = true;
            #[cfg(unix)]
            // SAFETY: kill only sends a signal; the group is the child's own.
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), sig);
            }
            #[cfg(not(unix))]
            {
                let _ = sig;
                child.kill()?;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Appends the staging log to `<dir>/train.log` and removes it, when the run directory
/// exists; returns where the log now is.
fn settle_log(cell: &PlannedCell) -> PathBuf {
    let target = cell.dir.join("train.log");
    if !cell.dir.is_dir() {
        return cell.staging_log.clone();
    }
    let moved = (|| -> std::io::Result<()> {
        let text = fs::read(&cell.staging_log)?;
        let mut f = OpenOptions::new().create(true).append(true).open(&target)?;
        f.write_all(&text)?;
        fs::remove_file(&cell.staging_log)
    })();
    match moved {
        Ok(()) => target,
        Err(_) => cell.staging_log.clone(),
    }
}

/// The last `n` lines of a text file (empty if unreadable).
fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::Pace;

    #[test]
    fn the_time_left_is_the_mean_pace_over_the_workers() {
        let mut pace = Pace::default();
        // 5 cells, 2 at a time: after a 100 s and a 300 s cell, 3 left at 200 s each over 2
        // workers: 300 s.
        assert_eq!(pace.add(100.0, 5, 2), "; 4 left, ~3m20s at 2 at a time");
        assert_eq!(pace.add(300.0, 5, 2), "; 3 left, ~5m00s at 2 at a time");
        pace.add(200.0, 5, 2);
        // One left: one worker, 200 s.
        assert_eq!(pace.add(200.0, 5, 2), "; 1 left, ~3m20s at 1 at a time");
        assert_eq!(pace.add(200.0, 5, 2), "");
    }
}
