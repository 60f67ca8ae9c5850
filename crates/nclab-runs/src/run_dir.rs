//! The run directory of docs/run-directory.md: its creation (a non-empty directory is refused
//! unless the run resumes), `config.toml`, the per-analysis-epoch rows of `metrics.csv` and
//! `metrics.jsonl`, and `summary.json`. Every whole-file write goes to a temporary file that is
//! then renamed, so a killed run never leaves a half-written file behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{csv_text, numbers};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub const CONFIG: &str = "config.toml";
pub const METRICS_CSV: &str = "metrics.csv";
pub const METRICS_JSONL: &str = "metrics.jsonl";
/// Per-layer collapse at analysis epochs (with `analysis.layers`).
pub const METRICS_LAYERS_CSV: &str = "metrics_layers.csv";

pub const SUMMARY: &str = "summary.json";
pub const FINAL: &str = "final.safetensors";
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// One row of `metrics.csv`: ordered `(column, value)` pairs, `None` = not computed.
pub type Row = Vec<(String, Option<f64>)>;

/// The `config.toml` of the run directory `dir` as a table. One that sets nothing is refused:
/// every writer of a run directory (the trainer, the Python Tracker) writes its settings
/// there, so an empty file was truncated or put there by hand, and reading it as the defaults
/// would resume or report the run as one with settings it never had.
pub fn read_config(dir: &Path) -> anyhow::Result<toml::Table> {
    let path = dir.join(CONFIG);
    if !path.is_file() {
        bail!(
            "{} holds no {CONFIG} (is it a run directory?)",
            dir.display()
        );
    }
    let text = nclab_core::io::read_text(&path)?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: not valid TOML: {e}", path.display()))?;
    if table.is_empty() {
        bail!(
            "{}: sets nothing (a run's {CONFIG} holds the settings it was started with; was it \
             truncated?)",
            path.display()
        );
    }
    Ok(table)
}

/// The `summary.json` of the run directory `dir` as a JSON object; `None` when there is none
/// yet. A leading byte-order mark is passed over, as the CSV and TOML readers do.
pub fn read_summary(dir: &Path) -> anyhow::Result<Option<serde_json::Value>> {
    let path = dir.join(SUMMARY);
    if !path.is_file() {
        return Ok(None);
    }
    let text = nclab_core::io::read_text(&path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let value = serde_json::from_str::<UniqueKeys>(text)
        .map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", path.display()))?
        .0;
    if !value.is_object() {
        bail!("{}: expected a JSON object", path.display());
    }
    Ok(Some(value))
}

/// A JSON value in which no object names a key twice. serde_json keeps the last of two equal
/// keys, so `{"status": "finished", "status": "running"}` would read as running without a
/// word; a summary written by nclab never repeats a key, so a repeated one is refused, with
/// its line and column.
struct UniqueKeys(serde_json::Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
            let UniqueKeys(v) = map.next_value()?;
            obj.insert(key, v);
        }
        Ok(obj.into())
    }
}

/// The lock file of a run directory (and, in a sweep folder, of the sweep).
pub const LOCK: &str = ".nclab.lock";

/// An exclusive advisory lock on a file (`flock`), held as long as this value lives; the
/// file holds the holder's pid and what it is, for the message a second writer gets.
#[derive(Debug)]
pub struct RunLock {
    file: fs::File,
    path: PathBuf,
    /// The directory the lock's taker created, removed by [`RunLock::abandon`].
    created_dir: Option<PathBuf>,
}

impl RunLock {
    /// Takes the lock at `path` for `what` (`nclab train`, `nclab sweep`), or fails naming
    /// the process that holds it.
    pub fn take(path: &Path, what: &str, created_dir: Option<PathBuf>) -> anyhow::Result<RunLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open the lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(path).unwrap_or_default();
                let holder = holder.trim();
                bail!(
                    "{} is in use by {} ({}); wait for it to end or stop it first",
                    path.parent().unwrap_or(path).display(),
                    if holder.is_empty() {
                        "another process"
                    } else {
                        holder
                    },
                    path.display()
                );
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        file.set_len(0)?;
        writeln!(file, "{what}, pid {}", std::process::id())?;
        Ok(RunLock {
            file,
            path: path.to_path_buf(),
            created_dir,
        })
    }

    /// For a start that failed before anything else was written: removes the lock file, and
    /// the directory when the start created it (and it is then empty).
    pub fn abandon(self) {
        let _ = fs::remove_file(&self.path);
        if let Some(dir) = &self.created_dir {
            let _ = fs::remove_dir(dir);
        }
        drop(self.file);
    }
}

/// One layer's row of `metrics_layers.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    pub layer: String,
    pub depth: usize,
    pub metrics: Row,
}

/// A program that writes run directories, for the messages [`RunDir::lock`] gives: its
/// `name` (what a second writer is told holds the directory) and what its user can do when
/// the directory of a new run is already used (`when_used`).
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    pub name: &'static str,
    pub when_used: &'static str,
    /// Whether the directory of one of its runs that never analysed may be taken for a new
    /// run ([`unstarted_run`]): its files are then replaced.
    pub takes_over_unstarted: bool,
}

/// `nclab train` (and the runs of `nclab sweep`).
pub const NCLAB_TRAIN: Writer = Writer {
    name: "nclab train",
    when_used: "pass --resume to continue it or choose another --out",
    takes_over_unstarted: false,
};

/// Whether the (locked) directory `path` holds a run of `writer` that stopped before its first
/// analysis, and nothing else: only `config.toml` naming `writer` as its `trainer`, saved trees
/// (`hierarchy-*.json`) and the lock. Such a run has measured nothing, so a new run may replace
/// it (a Python `Tracker` whose script failed in its first epoch, run again).
fn unstarted_run(path: &Path, writer: Writer) -> bool {
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    let mut has_config = false;
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let tree = name.starts_with("hierarchy-") && name.ends_with(".json");
        if name == CONFIG {
            has_config = true;
        } else if !(name == LOCK || tree) || !entry.path().is_file() {
            return false;
        }
    }
    has_config
        && fs::read_to_string(path.join(CONFIG))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|t| t.get("trainer").and_then(|v| v.as_str()) == Some(writer.name))
}

/// An open run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Takes the directory for a new run (`resume = false`: it must not exist, or be empty)
    /// or for continuing one (`resume = true`: it must hold its `config.toml`), with an
    /// exclusive lock held until the returned [`RunLock`] is dropped (the end of the process,
    /// whatever ends it): a second writer fails at once, naming the process that holds it.
    /// Nothing else is written; if the start fails later, [`RunLock::abandon`] removes what
    /// this call created. `writer` names the writer in these messages.
    pub fn lock(path: &Path, resume: bool, writer: Writer) -> anyhow::Result<(RunDir, RunLock)> {
        if path.as_os_str().is_empty() {
            // `Path::new("").exists()` is false, so "" would pass for a new folder and the
            // run would be written into the working directory.
            bail!("the run directory's path is empty: name a folder for the run");
        }
        let created = !path.exists();
        if resume && !path.join(CONFIG).is_file() {
            bail!(
                "cannot resume: {} holds no {CONFIG} (is it a run directory?)",
                path.display()
            );
        }
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create run directory {}", path.display()))?;
        // The lock first: a directory in use is named as such, whatever it holds.
        let lock = RunLock::take(&path.join(LOCK), writer.name, created.then(|| path.into()))?;
        if !resume && !created {
            let others = fs::read_dir(path)
                .with_context(|| format!("cannot read run directory {}", path.display()))?
                .filter_map(|e| e.ok())
                .any(|e| e.file_name() != LOCK);
            if others && writer.takes_over_unstarted && unstarted_run(path, writer) {
                // Measured nothing: its files go, the new run's replace them.
                for entry in fs::read_dir(path)?.filter_map(|e| e.ok()) {
                    if entry.file_name() != LOCK {
                        fs::remove_file(entry.path()).with_context(|| {
                            format!("cannot replace {}", entry.path().display())
                        })?;
                    }
                }
            } else if others {
                lock.abandon();
                bail!(
                    "run directory {} already exists and is not empty; {}",
                    path.display(),
                    writer.when_used
                );
            }
        }
        Ok((
            RunDir {
                path: path.to_path_buf(),
            },
            lock,
        ))
    }

    /// Opens the directory of an earlier run, which must hold its `config.toml` (to read it;
    /// no lock).
    pub fn open_existing(path: &Path) -> anyhow::Result<RunDir> {
        if !path.join(CONFIG).is_file() {
            bail!(
                "cannot resume: {} holds no {CONFIG} (is it a run directory?)",
                path.display()
            );
        }
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `bytes` to `name` atomically (temporary file in the same directory + rename).
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        write_atomic(&self.file(name), bytes)
    }

    /// Appends one analysis row to `metrics.csv` (writing the header first when the file is
    /// new) and to `metrics.jsonl`. The columns must be those of the header already written.
    pub fn append_row(&self, row: &Row) -> anyhow::Result<()> {
        let csv = self.file(METRICS_CSV);
        let header = csv_text::line(row.iter().map(|(k, _)| k));
        let mut text = String::new();
        if csv.exists() {
            let existing = fs::read_to_string(&csv)
                .with_context(|| format!("cannot read {}", csv.display()))?;
            let have = existing.lines().next().unwrap_or("");
            if have != header.trim_end_matches('\n') {
                bail!(
                    "{}: its columns differ from this run's ({have:?})",
                    csv.display()
                );
            }
        } else {
            text.push_str(&header);
        }
        text.push_str(&csv_text::line(row.iter().map(|(_, v)| numbers::exact(*v))));
        append(&csv, text.as_bytes())?;
        let mut obj = serde_json::Map::new();
        for (k, v) in row {
            obj.insert(k.clone(), numbers::json(*v));
        }
        let mut line = serde_json::to_string(&serde_json::Value::Object(obj))?;
        line.push('\n');
        append(&self.file(METRICS_JSONL), line.as_bytes())
    }

    /// Appends the rows of one analysis epoch to `metrics_layers.csv`: per layer, `epoch`,
    /// `layer` (its name), `depth` (its position from the input, from 0) and its metrics.
    pub fn append_layer_rows(&self, epoch: usize, rows: &[LayerRow]) -> anyhow::Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let path = self.file(METRICS_LAYERS_CSV);
        let mut header = vec!["epoch", "layer", "depth"];
        header.extend(first.metrics.iter().map(|(k, _)| k.as_str()));
        let header: Option<Vec<String>> =
            (!path.exists()).then_some(header.into_iter().map(String::from).collect());
        let records = rows.iter().map(|row| {
            let mut cells = vec![epoch.to_string(), row.layer.clone(), row.depth.to_string()];
            cells.extend(row.metrics.iter().map(|(_, v)| numbers::exact(*v)));
            cells
        });
        let text = csv_text::write(header.into_iter().chain(records));
        append(&path, text.as_bytes())
    }

    /// Keeps the rows of the metrics files up to and including `epoch`: later rows (written
    /// after the checkpoint a resumed run continues from) are dropped, and so is a torn last
    /// line (a write cut short by a crash or a full disk), which is never read as a row.
    /// Returns a note for each torn line cut.
    ///
    /// Line by line by design, not through [`crate::csv_text`]: it treats `metrics.jsonl` the
    /// same way, finds a torn last line by its missing end of line (a CSV reader reads such a
    /// line as a whole record: test `a_csv_reader_reads_a_torn_line_as_a_row`), and writes the
    /// kept lines back as they were, each ended by `\n` (the files nclab writes use no other
    /// line end). Of each row it reads only the first field, the epoch, which
    /// nclab writes itself as a plain number (never quoted).
    pub fn truncate_rows_after(&self, epoch: usize) -> anyhow::Result<Vec<String>> {
        let mut notes = Vec::new();
        for (name, is_csv) in [
            (METRICS_CSV, true),
            (METRICS_JSONL, false),
            (METRICS_LAYERS_CSV, true),
        ] {
            let path = self.file(name);
            if !path.exists() {
                continue;
            }
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (whole, torn) = match text.rfind('\n') {
                Some(i) => (&text[..=i], &text[i + 1..]),
                None => ("", text.as_str()),
            };
            if !torn.is_empty() {
                notes.push(format!(
                    "{}: cut a torn last line ({} bytes, no end of line): {:?}",
                    path.display(),
                    torn.len(),
                    torn.chars().take(60).collect::<String>()
                ));
            }
            let mut kept = String::new();
            for (i, line) in whole.lines().enumerate() {
                let keep = if is_csv && i == 0 {
                    true
                } else {
                    row_epoch(line, is_csv)
                        .with_context(|| format!("{} line {}", path.display(), i + 1))?
                        <= epoch
                };
                if keep {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            if kept != text {
                write_atomic(&path, kept.as_bytes())?;
            }
        }
        Ok(notes)
    }

    /// Writes `summary.json` atomically.
    pub fn write_summary(&self, summary: &Summary) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(summary)?;
        text.push('\n');
        self.write_atomic(SUMMARY, text.as_bytes())
    }
}

/// The epoch of a `metrics.csv` line (first cell) or a `metrics.jsonl` line (`epoch` field).
fn row_epoch(line: &str, is_csv: bool) -> anyhow::Result<usize> {
    let value = if is_csv {
        line.split(',').next().unwrap_or("").to_string()
    } else {
        let v: serde_json::Value = serde_json::from_str(line)?;
        v.get("epoch").map(|e| e.to_string()).unwrap_or_default()
    };
    let e: f64 = value
        .parse()
        .with_context(|| format!("no epoch in {line:?}"))?;
    Ok(e as usize)
}

/// Writes `path` atomically (`nclab_core::io::write_atomic`, nclab's one atomic writer).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(nclab_core::io::write_atomic_bytes(path, bytes)?)
}

/// Appends `bytes` (whole lines) in one write and flushes them to disk before returning.
fn append(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_data())
        .with_context(|| format!("cannot write {}", path.display()))
}

nclab_core::named_enum! {
    /// Where a run stands: `summary.json`'s `status` (docs/run-directory.md).
    pub enum Status {
        /// Stopped early as asked (`--stop-after-epoch`), or still being written: resumable.
        Running = "running",
        Finished = "finished",
        /// The training loss became non-finite, or for a Python `Tracker` a parameter did
        /// (`diverged_at_epoch` says when).
        Diverged = "diverged",
        /// Stopped by Ctrl-C or SIGTERM at the last whole epoch (`--resume` continues it), or
        /// a Python `Tracker` closed before its last epoch.
        Interrupted = "interrupted",
    }
}

/// `summary.json` (docs/run-directory.md).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub name: String,
    pub seed: u64,
    pub dataset: String,
    pub model: String,
    pub loss: String,
    pub hierarchy: String,
    /// The loss's own tree (`loss.hierarchy`), absent when the loss uses `hierarchy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_hierarchy: Option<String>,
    pub status: Status,
    pub diverged_at_epoch: Option<usize>,
    pub epochs: usize,
    /// The first epoch whose training error (eval mode, whole training set) is exactly 0,
    /// checked between analysis epochs too (`analysis.tpt_check`): the start of TPT.
    pub tpt_epoch: Option<usize>,
    /// The first epoch from which every later check (TPT checks, analysis epochs) found zero
    /// training error: TPT for good (`None` when the last check found errors).
    #[serde(default)]
    pub stable_tpt_epoch: Option<usize>,
    /// Whether `tpt_epoch` comes before the first learning-rate decay (`tpt_epoch <=
    /// floor(E/3)`, the last epoch at the initial rate, for the step schedule).
    pub reached_tpt_before_first_decay: bool,
    pub wall_time_s: f64,
    /// Training images per second over the training steps only (no analysis).
    pub train_images_per_s: f64,
    /// Share of the wall time spent outside training steps (data, analysis, checkpoints,
    /// start-up): `1 - train_steps_s / wall_time_s`.
    pub overhead_share: f64,
    /// Where the wall time went: training steps, batch shuffling and gathering, analyses,
    /// checkpoints (seconds, summed over the run including resumed parts).
    pub train_steps_s: f64,
    pub data_s: f64,
    pub analysis_s: f64,
    pub checkpoint_s: f64,
    pub device: String,
    /// Every column of the last `metrics.csv` row.
    pub r#final: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_append_and_truncate() {
        let scratch = nclab_testkit::scratch("rundir-rows");
        let p = scratch.join("run");
        let (dir, lock) = RunDir::lock(&p, false, NCLAB_TRAIN).unwrap();
        for e in [1.0, 2.0, 4.0] {
            dir.append_row(&vec![
                ("epoch".into(), Some(e)),
                ("nc1".into(), Some(0.25)),
                ("nc2_tree".into(), None),
            ])
            .unwrap();
        }
        let csv = fs::read_to_string(dir.file(METRICS_CSV)).unwrap();
        assert_eq!(csv, "epoch,nc1,nc2_tree\n1,0.25,\n2,0.25,\n4,0.25,\n");
        dir.truncate_rows_after(2).unwrap();
        let csv = fs::read_to_string(dir.file(METRICS_CSV)).unwrap();
        assert_eq!(csv, "epoch,nc1,nc2_tree\n1,0.25,\n2,0.25,\n");
        let jsonl = fs::read_to_string(dir.file(METRICS_JSONL)).unwrap();
        assert_eq!(
            jsonl,
            "{\"epoch\":1,\"nc1\":0.25,\"nc2_tree\":null}\n{\"epoch\":2,\"nc1\":0.25,\"nc2_tree\":null}\n"
        );
        drop(lock);
        // An empty path is refused (it was taken as a new folder: the working directory).
        let err = RunDir::lock(Path::new(""), false, NCLAB_TRAIN).unwrap_err();
        assert!(format!("{err}").contains("path is empty"), "{err}");
        // A non-empty directory is refused for a new run.
        let err = RunDir::lock(&p, false, NCLAB_TRAIN)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not empty; pass --resume to continue it or choose another --out"),
            "{err}"
        );
    }

    #[test]
    fn a_run_config_that_sets_nothing_is_refused() {
        let dir = nclab_testkit::scratch("rundir-config");
        let e = format!("{:#}", read_config(&dir).unwrap_err());
        assert!(e.contains("holds no config.toml"), "{e}");
        for empty in ["", "\n# a comment only\n"] {
            fs::write(dir.join(CONFIG), empty).unwrap();
            let e = format!("{:#}", read_config(&dir).unwrap_err());
            assert!(e.contains("config.toml: sets nothing"), "{e:?}");
        }
        fs::write(dir.join(CONFIG), "seed = [").unwrap();
        let e = format!("{:#}", read_config(&dir).unwrap_err());
        assert!(e.contains("config.toml: not valid TOML"), "{e}");
        fs::write(dir.join(CONFIG), "seed = 3\n").unwrap();
        assert_eq!(read_config(&dir).unwrap()["seed"].as_integer(), Some(3));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_summary_is_a_json_object_with_or_without_a_byte_order_mark() {
        let dir = nclab_testkit::scratch("rundir-summary");
        assert!(read_summary(&dir).unwrap().is_none());
        fs::write(dir.join(SUMMARY), "\u{feff}{\"status\": \"finished\"}").unwrap();
        let v = read_summary(&dir).unwrap().unwrap();
        assert_eq!(v["status"], "finished");
        for (text, expected) in [
            ("[1]", "summary.json: expected a JSON object"),
            ("{\"status\":", "summary.json: not valid JSON"),
            // A repeated key would silently read as its last value.
            (
                "{\"status\": \"finished\",\n \"status\": \"running\"}",
                "summary.json: not valid JSON: the key \"status\" appears twice in one object at \
                 line 2",
            ),
            (
                "{\"final\": [{\"nc1\": 1, \"nc1\": 2}]}",
                "the key \"nc1\" appears twice in one object",
            ),
        ] {
            fs::write(dir.join(SUMMARY), text).unwrap();
            let e = format!("{:#}", read_summary(&dir).unwrap_err());
            assert!(e.contains(expected), "{e}");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_summary_reads_as_serde_json_reads_it() {
        // A real summary (nested objects, nulls, floats, integers, booleans): the same value.
        let text =
            include_str!("../../../results/protocol-fashion-mnist-mlp/loss=ce_seed=0/summary.json");
        let dir = nclab_testkit::scratch("rundir-summary-real");
        fs::write(dir.join(SUMMARY), text).unwrap();
        let plain: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(read_summary(&dir).unwrap().unwrap(), plain);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_csv_reader_reads_a_torn_line_as_a_row() {
        // Why truncate_rows_after looks for the end of line itself: the cut "3,0." is a record
        // like any other to the CSV reader.
        let records = crate::csv_text::read("epoch,nc1\n1,0.5\n3,0.").unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2].fields, vec!["3", "0."]);
    }
}
