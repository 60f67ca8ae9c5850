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
    let epochs: Vec<usize> = cells.iter().map(epochs_left).collect();
    let per_job = threads_per_job(opts.threads, opts.jobs);
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<CellReport>>> = Mutex::new(vec![None; cells.len()]);
    let workers = opts.jobs.clamp(1, todo.len().max(1));
    let pace = Mutex::new(Pace {
        epochs_to_go: todo.iter().map(|&i| epochs[i]).sum(),
        cells_to_go: todo.len(),
        ..Pace::default()
    });
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if crate::interrupt::requested().is_some() {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = todo.get(k) else { break };
                let cell = &cells[i];
                crate::errln!(
                    "[{}/{}] {} ({}, {per_job} thread{})",
                    k + 1,
                    todo.len(),
                    cell.cell.name,
                    cell.state,
                    if per_job == 1 { "" } else { "s" }
                );
                let report = run_one(cell, &opts.exe, per_job);
                let trained = epochs_trained(cell, &report.outcome, epochs[i]);
                let left = pace.lock().expect("no worker panics").add(
                    report.seconds,
                    trained,
                    epochs[i],
                    workers,
                );
                crate::errln!(
                    "[{}/{}] {}: {} after {:.0} s{left}",
                    k + 1,
                    todo.len(),
                    cell.cell.name,
                    report.outcome.word(),
                    report.seconds
                );
                if let Outcome::Failed(why) = &report.outcome {
                    for line in why.lines() {
                        crate::errln!("    {line}");
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

/// The epochs a sweep has trained so far and their summed wall time, with what is left, for
/// the time left: the pace is per epoch, so that a resumed cell, which trains only the epochs
/// after its checkpoint, counts for what it trained.
#[derive(Default)]
struct Pace {
    epochs_done: usize,
    seconds: f64,
    /// The epochs of the cells not finished yet (a cell still running counts in full).
    epochs_to_go: usize,
    cells_to_go: usize,
}

impl Pace {
    /// Counts a cell that trained `trained` epochs in `seconds` and was planned for `planned`
    /// (fewer when it diverged or failed); then the time the epochs left take at the mean pace
    /// so far, run `workers` at a time (or as many as there are cells left): `; 26 left,
    /// ~17h50m at 2 at a time` (empty at the end).
    fn add(&mut self, seconds: f64, trained: usize, planned: usize, workers: usize) -> String {
        self.epochs_done += trained;
        self.seconds += seconds;
        self.epochs_to_go = self.epochs_to_go.saturating_sub(planned);
        self.cells_to_go = self.cells_to_go.saturating_sub(1);
        let left = self.cells_to_go;
        if left == 0 {
            return String::new();
        }
        let at_once = workers.clamp(1, left);
        if self.epochs_done == 0 {
            return format!("; {left} left");
        }
        let eta =
            self.seconds / self.epochs_done as f64 * self.epochs_to_go as f64 / at_once as f64;
        format!(
            "; {left} left, {} at {at_once} at a time",
            crate::numbers::eta_text(eta)
        )
    }
}

/// The epochs a cell trains when the sweep runs it: its config's `optim.epochs`, less the last
/// epoch of its checkpoint when it resumes ([`checkpoint_epoch`]; all of them without a
/// checkpoint, as `nclab train --resume` then starts over, and when it cannot be read, where
/// the cell will fail).
pub fn epochs_left(cell: &PlannedCell) -> usize {
    let total = cell.cell.config.optim.epochs;
    if cell.state != CellState::Resume {
        return total;
    }
    total.saturating_sub(checkpoint_epoch(&cell.dir).unwrap_or(0))
}

/// The last epoch of a run directory's checkpoint (`meta.epoch` of `checkpoint.safetensors`),
/// `None` without a readable one.
fn checkpoint_epoch(dir: &Path) -> Option<usize> {
    let file = nclab_core::io::safetensors::read(&dir.join("checkpoint.safetensors")).ok()?;
    let epoch = file.get("meta.epoch").ok()?.integers("meta.epoch").ok()?;
    usize::try_from(*epoch.first()?).ok()
}

/// The epochs a cell trained in this sweep: all `planned` when it finished; otherwise its
/// checkpoint's epoch now less the one it started from (0 when there is none), so that a cell
/// that diverged or failed early does not count as a whole cell done in a few seconds.
fn epochs_trained(cell: &PlannedCell, outcome: &Outcome, planned: usize) -> usize {
    if *outcome == Outcome::Finished {
        return planned;
    }
    let before = cell.cell.config.optim.epochs.saturating_sub(planned);
    checkpoint_epoch(&cell.dir).map_or(0, |now| now.saturating_sub(before))
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
    fn the_time_left_is_the_mean_pace_per_epoch_over_the_workers() {
        // 5 cells of 10 epochs, 2 at a time, the first resumed after epoch 8 (2 to train).
        let mut pace = Pace {
            epochs_to_go: 42,
            cells_to_go: 5,
            ..Pace::default()
        };
        // Its 2 epochs in 20 s: 10 s an epoch; 40 epochs left over 2 workers: 200 s.
        assert_eq!(pace.add(20.0, 2, 2, 2), "; 4 left, ~3m20s at 2 at a time");
        // 10 epochs in 300 s: 320 s over 12 epochs; 30 left over 2 workers: 400 s.
        assert_eq!(
            pace.add(300.0, 10, 10, 2),
            "; 3 left, ~6m40s at 2 at a time"
        );
        // A cell that diverged after 2 of its 10 epochs, in 80 s: 400 s over 14 epochs; its
        // other 8 are not left to train either: 20 left over 2 workers, 285.7 s.
        assert_eq!(pace.add(80.0, 2, 10, 2), "; 2 left, ~4m46s at 2 at a time");
        // 400 s over 24 epochs; 10 left, one cell: one worker, 166.7 s.
        assert_eq!(pace.add(0.0, 10, 10, 2), "; 1 left, ~2m47s at 1 at a time");
        assert_eq!(pace.add(200.0, 10, 10, 2), "");
        // A first cell that trained no epoch (stopped at once): no pace yet.
        let mut pace = Pace {
            epochs_to_go: 20,
            cells_to_go: 2,
            ..Pace::default()
        };
        assert_eq!(pace.add(1.0, 0, 10, 2), "; 1 left");
    }
}
