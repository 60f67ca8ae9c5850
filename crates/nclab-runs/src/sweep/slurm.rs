//! `--emit slurm`: an sbatch job-array script with one array task per cell, for grids that
//! outgrow one machine. Task `i` trains cell `i` with the same command as a local sweep
//! (`nclab train OUT/<cell>.toml --out OUT/<cell> [--resume] --quiet`), skips it when its
//! `summary.json` says finished or diverged, and resumes it when its run directory holds a
//! `config.toml`; so resubmitting the script continues an interrupted sweep.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::exec::THREAD_VARS;
use super::plan::{CellState, PlannedCell};
use crate::run_dir::write_atomic;

/// The script's file name inside the sweep folder.
pub const SCRIPT: &str = "sweep.sbatch";

/// Settings of the generated script.
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// The sweep's name (the job name is `nclab-<name>`).
    pub name: String,
    /// The sweep folder, as the tasks see it from the submission directory.
    pub out: PathBuf,
    /// The `nclab` executable (the script lets `$NCLAB` override it).
    pub exe: PathBuf,
    /// `--cpus-per-task`; also each task's thread count.
    pub cpus_per_task: usize,
    /// At most this many tasks at once (`--array=0-(n-1)%m`), if given.
    pub max_parallel: Option<usize>,
    /// Extra `#SBATCH` options, written as given (`--partition=gpu`, `--time=12:00:00`).
    pub extra: Vec<String>,
}

/// Quotes a string for bash: single quotes, each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sbatch script for `cells` (all of them, in grid order: task `i` is cell `i`).
pub fn script(cells: &[PlannedCell], opts: &SlurmOptions) -> String {
    let n = cells.len();
    let throttle = opts.max_parallel.map_or(String::new(), |m| format!("%{m}"));
    let out = opts.out.display().to_string();
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by `nclab sweep --emit slurm` for the sweep {:?}: one array task per cell.\n",
        opts.name
    ));
    s.push_str("# Submit from the directory `nclab sweep` ran in (paths are relative to it):\n");
    s.push_str(&format!(
        "#   sbatch {}\n",
        Path::new(&out).join(SCRIPT).display()
    ));
    s.push_str("# Resubmitting skips finished cells and resumes interrupted ones.\n");
    s.push_str(&format!("#SBATCH --job-name=nclab-{}\n", opts.name));
    s.push_str(&format!(
        "#SBATCH --array=0-{}{throttle}\n",
        n.saturating_sub(1)
    ));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", opts.cpus_per_task));
    s.push_str(&format!("#SBATCH --output={out}/slurm-%A_%a.out\n"));
    for e in &opts.extra {
        s.push_str(&format!("#SBATCH {e}\n"));
    }
    s.push_str("set -u\n");
    s.push_str(&format!(
        "NCLAB=\"${{NCLAB:-{}}}\"\n",
        opts.exe.display().to_string().replace('"', "\\\"")
    ));
    s.push_str(&format!("SWEEP_DIR={}\n", shell_quote(&out)));
    s.push_str("CELLS=(\n");
    for c in cells {
        s.push_str(&format!("  {}\n", shell_quote(&c.cell.name)));
    }
    s.push_str(")\n");
    s.push_str(
        r#"CELL="${CELLS[$SLURM_ARRAY_TASK_ID]}"
OUT="$SWEEP_DIR/$CELL"
LOG="$SWEEP_DIR/$CELL.log"
if [ -f "$OUT/summary.json" ] && grep -Eq '"status": *"(finished|diverged)"' "$OUT/summary.json"; then
  echo "cell $CELL: already done"
  exit 0
fi
RESUME=""
if [ -f "$OUT/config.toml" ]; then RESUME="--resume"; fi
"#,
    );
    for var in THREAD_VARS {
        s.push_str(&format!(
            "export {var}=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\n",
            opts.cpus_per_task
        ));
    }
    s.push_str(
        r#"echo "cell $CELL: nclab train $SWEEP_DIR/$CELL.toml --out $OUT $RESUME --quiet"
"$NCLAB" train "$SWEEP_DIR/$CELL.toml" --out "$OUT" $RESUME --quiet >>"$LOG" 2>&1
status=$?
# The run directory exists once training has started: the log moves into it.
if [ -d "$OUT" ]; then cat "$LOG" >>"$OUT/train.log" && rm -f "$LOG"; fi
exit $status
"#,
    );
    s
}

/// Writes every cell's resolved config (`OUT/<cell>.toml`) and the script (`OUT/sweep.sbatch`,
/// executable); returns the script's path. Refuses a plan with blocked cells (their folders
/// hold another run) before writing anything.
pub fn emit(cells: &[PlannedCell], opts: &SlurmOptions) -> anyhow::Result<PathBuf> {
    let blocked: Vec<String> = cells
        .iter()
        .filter_map(|c| match &c.state {
            CellState::Blocked(why) => Some(format!("{}: {why}", c.cell.name)),
            _ => None,
        })
        .collect();
    if !blocked.is_empty() {
        bail!(
            "blocked cells, nothing written:\n  {}",
            blocked.join("\n  ")
        );
    }
    if cells.is_empty() {
        bail!("the grid has no cells");
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", opts.out.display()))?;
    for c in cells {
        write_atomic(&c.config_path, c.cell.config.to_toml_string().as_bytes())?;
    }
    let path = opts.out.join(SCRIPT);
    write_atomic(&path, script(cells, opts).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}
