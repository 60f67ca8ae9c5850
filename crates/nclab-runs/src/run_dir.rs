//! The run directory of docs/run-directory.md: its creation (a non-empty directory is refused
//! unless the run resumes), `config.toml`, the per-analysis-epoch rows of `metrics.csv` and
//! `metrics.jsonl`, and `summary.json`. Every whole-file write goes to a temporary file that is
//! then renamed, so a killed run never leaves a half-written file behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::numbers;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub const CONFIG: &str = "config.toml";
pub const METRICS_CSV: &str = "metrics.csv";
pub const METRICS_JSONL: &str = "metrics.jsonl";
pub const SUMMARY: &str = "summary.json";
pub const FINAL: &str = "final.safetensors";
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// One row of `metrics.csv`: ordered `(column, value)` pairs, `None` = not computed.
pub type Row = Vec<(String, Option<f64>)>;

/// An open run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `path` for a new run; refuses an existing directory that holds anything.
    pub fn create(path: &Path) -> anyhow::Result<RunDir> {
        if path.exists() {
            let non_empty = fs::read_dir(path)
                .with_context(|| format!("cannot read run directory {}", path.display()))?
                .next()
                .is_some();
            if non_empty {
                bail!(
                    "run directory {} already exists and is not empty; pass --resume to \
                     continue it or choose another --out",
                    path.display()
                );
            }
        }
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create run directory {}", path.display()))?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// Opens the directory of an earlier run, which must hold its `config.toml`.
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
        let header: Vec<&str> = row.iter().map(|(k, _)| k.as_str()).collect();
        let mut text = String::new();
        if csv.exists() {
            let existing = fs::read_to_string(&csv)
                .with_context(|| format!("cannot read {}", csv.display()))?;
            let first = existing.lines().next().unwrap_or("");
            if first != header.join(",") {
                bail!(
                    "{}: its columns differ from this run's ({first:?})",
                    csv.display()
                );
            }
        } else {
            text.push_str(&header.join(","));
            text.push('\n');
        }
        let cells: Vec<String> = row.iter().map(|(_, v)| numbers::exact(*v)).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
        append(&csv, text.as_bytes())?;

        let mut obj = serde_json::Map::new();
        for (k, v) in row {
            obj.insert(k.clone(), numbers::json(*v));
        }
        let mut line = serde_json::to_string(&serde_json::Value::Object(obj))?;
        line.push('\n');
        append(&self.file(METRICS_JSONL), line.as_bytes())
    }

    /// The rows of `metrics.csv` up to and including `epoch`; later rows (written after the
    /// checkpoint a resumed run continues from) are dropped from both metrics files.
    pub fn truncate_rows_after(&self, epoch: usize) -> anyhow::Result<()> {
        for (name, is_csv) in [(METRICS_CSV, true), (METRICS_JSONL, false)] {
            let path = self.file(name);
            if !path.exists() {
                continue;
            }
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut kept = String::new();
            for (i, line) in text.lines().enumerate() {
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
            write_atomic(&path, kept.as_bytes())?;
        }
        Ok(())
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

fn append(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
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
    /// `finished`, `diverged` or `running` (stopped early, resumable).
    pub status: String,
    pub diverged_at_epoch: Option<usize>,
    pub epochs: usize,
    /// First analysis epoch whose training error is exactly 0.
    pub tpt_epoch: Option<usize>,
    /// Whether `tpt_epoch` is at or before the epoch of the first learning-rate decay.
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

    fn tmpdir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("nclab-rundir-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn rows_append_and_truncate() {
        let p = tmpdir("rows");
        let dir = RunDir::create(&p).unwrap();
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
        // A non-empty directory is refused.
        let err = RunDir::create(&p).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
        fs::remove_dir_all(&p).unwrap();
    }
}
