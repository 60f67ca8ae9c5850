//! Where each cell of a sweep stands, read from its run directory: new, to resume, done,
//! diverged, or blocked (a directory that is not this cell's run).
//!
//! Layout under the sweep's folder `OUT` (default `runs/<sweep>`):
//! `OUT/<cell>.toml` (the cell's resolved config), `OUT/<cell>/` (its run directory, with
//! `train.log`), and `OUT/<cell>.log` while the cell runs in a local sweep (a Slurm array
//! task writes `OUT/logs/<cell>.<job>_<task>.log` instead: see `slurm`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::run_dir;

use super::grid::Cell;

/// The state of a cell before the sweep runs it.
#[derive(Clone, Debug, PartialEq)]
pub enum CellState {
    /// No run directory (or an empty one): the cell starts from scratch.
    New,
    /// A run directory with this cell's `config.toml` and no final `summary.json`: the cell
    /// continues from its checkpoint (`nclab train --resume`; from epoch 0 when it was
    /// stopped before its first checkpoint).
    Resume,
    /// `summary.json` says `finished`: skipped.
    Done,
    /// `summary.json` says `diverged`: skipped (a rerun would diverge the same way).
    Diverged,
    /// The directory holds something that is not this cell's run (another config, no
    /// config at all); the sweep does not touch it. The text says why.
    Blocked(String),
}

impl CellState {
    /// Whether the sweep starts a training process for the cell.
    pub fn runs(&self) -> bool {
        matches!(self, CellState::New | CellState::Resume)
    }
}

impl fmt::Display for CellState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CellState::New => "new",
            CellState::Resume => "resume",
            CellState::Done => "done",
            CellState::Diverged => "diverged",
            CellState::Blocked(_) => "blocked",
        })
    }
}

/// A cell with its paths and state.
#[derive(Clone, Debug)]
pub struct PlannedCell {
    pub cell: Cell,
    /// `OUT/<cell>`: the run directory.
    pub dir: PathBuf,
    /// `OUT/<cell>.toml`: the resolved config the training process reads.
    pub config_path: PathBuf,
    /// `OUT/<cell>.log`: the log while the cell runs (moved to `<dir>/train.log` after).
    pub staging_log: PathBuf,
    pub state: CellState,
}

/// Plans every cell under the sweep folder `out`.
pub fn plan(cells: Vec<Cell>, out: &Path) -> Vec<PlannedCell> {
    cells
        .into_iter()
        .map(|cell| {
            let dir = out.join(&cell.name);
            let state = cell_state(&dir, &cell.config);
            PlannedCell {
                config_path: out.join(format!("{}.toml", cell.name)),
                staging_log: out.join(format!("{}.log", cell.name)),
                dir,
                cell,
                state,
            }
        })
        .collect()
}

/// The state of the run directory `dir` for a cell whose resolved config is `config`.
pub fn cell_state(dir: &Path, config: &Config) -> CellState {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return CellState::New,
        Err(e) => return CellState::Blocked(format!("cannot read {}: {e}", dir.display())),
        Ok(entries) => entries,
    };
    // A lock file alone is left by a start that was killed before it wrote anything.
    let any = entries
        .filter_map(|e| e.ok())
        .any(|e| e.file_name() != run_dir::LOCK);
    if !any {
        return CellState::New;
    }
    if !dir.join(run_dir::CONFIG).is_file() {
        return CellState::Blocked(format!(
            "{} is not empty but holds no {} (not a run directory)",
            dir.display(),
            run_dir::CONFIG
        ));
    }
    match Config::of_run(dir) {
        Err(e) => return CellState::Blocked(format!("{e:#}")),
        Ok(old) if &old != config => {
            return CellState::Blocked(format!(
                "{} was run with another config (differs in {}); move it away or use another \
                 --out",
                dir.display(),
                config.differences(&old).join(", ")
            ));
        }
        Ok(_) => {}
    }
    match summary_status(dir) {
        Some(run_dir::Status::Finished) => CellState::Done,
        Some(run_dir::Status::Diverged) => CellState::Diverged,
        _ => CellState::Resume,
    }
}

/// The `status` field of `dir/summary.json`, if the file exists and has a known one.
pub fn summary_status(dir: &Path) -> Option<run_dir::Status> {
    let summary = read_summary(dir)?;
    summary.get("status")?.as_str()?.parse().ok()
}

/// `dir/summary.json` as JSON, if it exists and parses ([`run_dir::read_summary`]).
pub fn read_summary(dir: &Path) -> Option<serde_json::Value> {
    run_dir::read_summary(dir).ok().flatten()
}
