//! `--emit slurm`: an sbatch job-array script with one array task per cell, for grids that
//! outgrow one machine. Task `i` trains cell `i` with the same command as a local sweep
//! (`nclab train OUT/<cell>.toml --out OUT/<cell> [--resume] --quiet`), skips it when its
//! `summary.json` says finished or diverged, and resumes it when its run directory holds a
//! `config.toml`; so resubmitting the script continues an interrupted sweep.
//!
//! Every path in the script is absolute (`--chdir`, `--output`, the sweep folder, `nclab`).
//! Each task writes the trainer's output to its own log, `OUT/logs/<cell>.<job>_<task>.log`
//! (appended to across requeues, never shared: a second submission is another job), copied
//! to `OUT/<cell>/train.log` when the task finishes its cell. Slurm's warning signal
//! (`--signal=B:USR1@<grace>`) makes the task stop the trainer at its last whole epoch and
//! requeue itself; the requeued task resumes the cell. A duplicate task (the array submitted
//! twice) fails at once on the run directory's lock and leaves the cell's files alone.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::exec::THREAD_VARS;
use super::plan::{CellState, PlannedCell};
use crate::config::DeviceChoice;
use crate::run_dir::write_atomic;

/// The script's file name inside the sweep folder.
pub const SCRIPT: &str = "sweep.sbatch";

/// The folder of the tasks' logs inside the sweep folder (cell names always hold a `=`).
pub const LOGS: &str = "logs";

/// The default `--grace`: seconds between Slurm's warning signal and the time limit.
pub const DEFAULT_GRACE_S: u32 = 120;

/// Settings of the generated script.
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// The sweep's name (the job name is `nclab-<name>`).
    pub name: String,
    /// The sweep folder (absolute).
    pub out: PathBuf,
    /// The directory the tasks run in (`--chdir`, absolute): where `nclab sweep` ran.
    pub chdir: PathBuf,
    /// The `nclab` executable, absolute (the script lets `$NCLAB` override it).
    pub exe: PathBuf,
    /// `--cpus-per-task`; also each task's thread count.
    pub cpus_per_task: usize,
    /// At most this many tasks at once (`--array=0-(n-1)%m`), if given.
    pub max_parallel: Option<usize>,
    /// GPUs of each task (`--gres=gpu:N`); 0 for none. A task given GPUs fails when the
    /// trainer ran on the CPU.
    pub gpus: usize,
    /// Seconds before the time limit at which Slurm sends SIGUSR1 (`--signal=B:USR1@N`).
    pub grace_s: u32,
    /// Extra `#SBATCH` options, written as given (`--partition=gpu`, `--time=12:00:00`).
    pub extra: Vec<String>,
}

/// Quotes a string for bash: single quotes, each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sbatch script for `cells` (all of them, in grid order: task `i` is cell `i`).
pub fn script(cells: &[PlannedCell], opts: &SlurmOptions) -> String {
    let mut s = header(cells.len(), opts);
    s.push_str("set -u\n");
    s.push_str(&format!(
        "NCLAB_DEFAULT={}\n",
        shell_quote(&opts.exe.display().to_string())
    ));
    s.push_str("NCLAB=\"${NCLAB:-$NCLAB_DEFAULT}\"\n");
    s.push_str(&format!(
        "SWEEP_DIR={}\n",
        shell_quote(&opts.out.display().to_string())
    ));
    s.push_str(&format!("GPUS={}\n", opts.gpus));
    s.push_str("CELLS=(\n");
    for c in cells {
        s.push_str(&format!("  {}\n", shell_quote(&c.cell.name)));
    }
    s.push_str(")\n");
    s.push_str(CHECK_DEVICE);
    s.push_str(TASK_START);
    for var in THREAD_VARS {
        s.push_str(&format!(
            "export {var}=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\n",
            opts.cpus_per_task
        ));
    }
    s.push_str(TASK_TRAIN);
    s
}

/// The comment and the `#SBATCH` lines.
fn header(n: usize, opts: &SlurmOptions) -> String {
    let throttle = opts.max_parallel.map_or(String::new(), |m| format!("%{m}"));
    let out = opts.out.display();
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by `nclab sweep --emit slurm` for the sweep {:?}: one array task per cell.\n",
        opts.name
    ));
    s.push_str(&format!(
        "# Submit with `sbatch {}` (from anywhere: every path is absolute).\n",
        Path::new(&opts.out).join(SCRIPT).display()
    ));
    s.push_str(
        "# Resubmitting skips finished cells and resumes interrupted ones. A second copy of the\n\
         # array waits for the first (singleton); a task whose cell another task is training\n\
         # fails at once and leaves it alone. SIGUSR1 (sent --signal seconds before the time\n\
         # limit) stops the trainer at its last whole epoch and requeues the task, which then\n\
         # resumes its cell. Each task's trainer output: OUT/logs/<cell>.<job>_<task>.log.\n",
    );
    let mut directives = vec![
        format!("--job-name=nclab-{}", opts.name),
        format!("--array=0-{}{throttle}", n.saturating_sub(1)),
        format!("--cpus-per-task={}", opts.cpus_per_task),
        format!("--chdir={}", opts.chdir.display()),
        format!("--output={out}/slurm-%A_%a.out"),
        "--open-mode=append".into(),
        "--requeue".into(),
        format!("--signal=B:USR1@{}", opts.grace_s),
        "--dependency=singleton".into(),
    ];
    if opts.gpus > 0 {
        directives.push(format!("--gres=gpu:{}", opts.gpus));
    }
    directives.extend(opts.extra.iter().cloned());
    for d in directives {
        s.push_str(&format!("#SBATCH {d}\n"));
    }
    s
}

/// The check that a task given GPUs trained on one: a bash function of `summary.json`'s
/// path and the task's GPU count, which prints why and fails when the trainer's recorded
/// `device` is not CUDA (nothing to check without GPUs or before the trainer wrote one).
const CHECK_DEVICE: &str = r#"# A task given GPUs must have trained on one: summary.json records the trainer's device.
check_device() {
  local summary="$1" gpus="$2" device
  [ "$gpus" -gt 0 ] && [ -f "$summary" ] || return 0
  device=$(sed -n 's/.*"device": *"\([^"]*\)".*/\1/p' "$summary" 2>/dev/null | head -n 1)
  case "$device" in
    cuda*) return 0 ;;
  esac
  echo "error: this task was given $gpus GPU(s) (--gres=gpu:$gpus) but the trainer ran on" \
    "\"${device:-an unknown device}\" ($summary); use a libtorch built with CUDA and a" \
    "config whose device is \"auto\" or \"cuda\""
  return 1
}
"#;

/// The task up to the thread variables: which cell, its log, done or to resume.
const TASK_START: &str = r#"if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  echo "error: SLURM_ARRAY_TASK_ID is not set: submit this script with sbatch" >&2
  exit 2
fi
if [ "$SLURM_ARRAY_TASK_ID" -ge "${#CELLS[@]}" ]; then
  echo "error: array task $SLURM_ARRAY_TASK_ID, but the sweep has ${#CELLS[@]} cells" >&2
  exit 2
fi
CELL="${CELLS[$SLURM_ARRAY_TASK_ID]}"
OUT="$SWEEP_DIR/$CELL"
# This task's own log: a requeued task appends to it, another submission has its own.
TASK="${SLURM_ARRAY_JOB_ID:-local}_$SLURM_ARRAY_TASK_ID"
mkdir -p "$SWEEP_DIR/logs" || exit 1
LOG="$SWEEP_DIR/logs/$CELL.$TASK.log"
if [ -f "$OUT/summary.json" ] && grep -Eq '"status": *"(finished|diverged)"' "$OUT/summary.json"; then
  echo "cell $CELL: already done"
  exit 0
fi
RESUME=""
if [ -f "$OUT/config.toml" ]; then RESUME="--resume"; fi
"#;

/// The rest of the task: the trainer in the background (so that a trapped signal is
/// handled at once), stopped on SIGUSR1 (then the task requeues itself) or SIGTERM.
const TASK_TRAIN: &str = r#"STOP=""
TRAINER=""
stop_trainer() {
  STOP="$1"
  echo "cell $CELL: SIG$1: stopping the trainer at its last whole epoch"
  if [ -n "$TRAINER" ]; then kill -TERM "$TRAINER" 2>/dev/null; fi
}
trap 'stop_trainer USR1' USR1
# Slurm sends SIGTERM (scancel, preemption, the time limit) to every process of the job, the
# trainer included, which then stops by itself: a second signal would end it at once.
trap 'STOP=TERM; echo "cell $CELL: SIGTERM: waiting for the trainer to stop"' TERM
echo "cell $CELL (task $TASK): nclab train $SWEEP_DIR/$CELL.toml --out $OUT $RESUME --quiet; log: $LOG"
"$NCLAB" train "$SWEEP_DIR/$CELL.toml" --out "$OUT" $RESUME --quiet >>"$LOG" 2>&1 &
TRAINER=$!
# A trapped signal ends `wait` early (status 128+n): wait again while the trainer stops.
while :; do
  wait "$TRAINER"
  status=$?
  kill -0 "$TRAINER" 2>/dev/null || break
done
if [ -n "$STOP" ] && [ "$status" -gt 128 ]; then
  wait "$TRAINER" 2>/dev/null
  last=$?
  if [ "$last" -ne 127 ]; then status=$last; fi
fi
trap - USR1 TERM
if [ "$status" -eq 0 ] || [ -n "$STOP" ]; then
  # This task held the cell (a duplicate fails on the run directory's lock before).
  if ! why=$(check_device "$OUT/summary.json" "$GPUS"); then
    echo "$why" | tee -a "$LOG" >&2
    exit 1
  fi
fi
if [ "$status" -eq 0 ]; then
  cat "$LOG" >>"$OUT/train.log"
  echo "cell $CELL: finished"
  exit 0
fi
if [ "$STOP" = USR1 ]; then
  if [ -z "${SLURM_JOB_ID:-}" ]; then
    echo "cell $CELL: stopped (status $status); not under Slurm, so not requeued"
    exit "$status"
  fi
  echo "cell $CELL: stopped (status $status); requeueing job $SLURM_JOB_ID to resume it"
  scontrol requeue "$SLURM_JOB_ID" || exit "$status"
  exit 0
fi
echo "cell $CELL: the trainer ended with status $status; the end of $LOG:"
tail -n 5 "$LOG"
exit "$status"
"#;

/// Checks the options a script is written from: absolute paths that `#SBATCH` lines can
/// hold, sensible numbers, and GPUs only for cells that may use them.
pub fn check(cells: &[PlannedCell], opts: &SlurmOptions) -> anyhow::Result<()> {
    for (what, path) in [
        ("the sweep folder", &opts.out),
        ("--chdir", &opts.chdir),
        ("the nclab executable", &opts.exe),
    ] {
        if !path.is_absolute() {
            bail!("{what} must be an absolute path, not {}", path.display());
        }
    }
    for (what, path) in [("the sweep folder", &opts.out), ("--chdir", &opts.chdir)] {
        let text = path.display().to_string();
        if let Some(c) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '%' | '"' | '\''))
        {
            bail!(
                "{what} {text:?} holds {c:?}, which an #SBATCH line cannot carry; choose a \
                 folder whose path has no spaces, quotes or %"
            );
        }
    }
    if let Some(e) = opts.extra.iter().find(|e| e.chars().any(char::is_control)) {
        // A newline would end the #SBATCH line and put the rest in the script as a command.
        bail!("--sbatch {e:?} holds a line break or another control character; give one option a flag");
    }
    if opts.cpus_per_task == 0 {
        bail!("--cpus-per-task must be at least 1");
    }
    if opts.max_parallel == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if opts.grace_s == 0 || opts.grace_s > 65535 {
        bail!(
            "--grace must be between 1 and 65535 seconds, not {}",
            opts.grace_s
        );
    }
    if opts.gpus > 0 {
        if let Some(e) = opts.extra.iter().find(|e| e.starts_with("--gres")) {
            bail!(
                "--gpus {} and --sbatch={e} both ask for GPUs: give one",
                opts.gpus
            );
        }
        let cpu: Vec<&str> = cells
            .iter()
            .filter(|c| c.cell.config.device == DeviceChoice::Cpu)
            .map(|c| c.cell.name.as_str())
            .collect();
        if !cpu.is_empty() {
            bail!(
                "--gpus {}: cells with device = \"cpu\" would never use their GPU: {} (set \
                 device = \"auto\" or \"cuda\", or leave out --gpus)",
                opts.gpus,
                cpu.join(", ")
            );
        }
    }
    Ok(())
}

/// A warning when cells set `threads` (non-zero) to another number than `--cpus-per-task`:
/// the trainer uses the config's threads whatever the task was given.
pub fn threads_warning(cells: &[PlannedCell], cpus_per_task: usize) -> Option<String> {
    let mut odd: Vec<(usize, &str)> = cells
        .iter()
        .map(|c| (c.cell.config.threads, c.cell.name.as_str()))
        .filter(|(t, _)| *t != 0 && *t != cpus_per_task)
        .collect();
    if odd.is_empty() {
        return None;
    }
    odd.sort();
    let mut threads: Vec<String> = odd.iter().map(|(t, _)| t.to_string()).collect();
    threads.dedup();
    let named: Vec<&str> = odd.iter().map(|(_, n)| *n).take(4).collect();
    let more = odd.len().saturating_sub(named.len());
    Some(format!(
        "--cpus-per-task {cpus_per_task}, but {} of {} cells set threads = {} ({}{}): the \
         trainer uses the config's threads, so each task {} its CPUs; set --cpus-per-task to \
         match, or threads = 0 to use what the task is given",
        odd.len(),
        cells.len(),
        threads.join(" or "),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        if odd.iter().any(|(t, _)| *t > cpus_per_task) {
            "oversubscribes"
        } else {
            "leaves idle some of"
        }
    ))
}

/// Writes every cell's resolved config (`OUT/<cell>.toml`) and the script (`OUT/sweep.sbatch`,
/// executable); returns the script's path. Refuses bad options ([`check`]) and a plan with
/// blocked cells (their folders hold another run) before writing anything.
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
    check(cells, opts)?;
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
