//! Loading run directories (docs/run-directory.md): discovery, `config.toml`, `metrics.csv`,
//! `summary.json`. Every error names the file and, where it applies, the line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::flatten;

/// The rows of a `metrics.csv`: `epoch` first, then one column per metric; an empty cell is a
/// value that was not computed (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTable {
    /// Column names after `epoch`, in file order.
    pub columns: Vec<String>,
    /// Analysis epochs, one per row.
    pub epochs: Vec<f64>,
    /// `rows[r][c]`: the value of `columns[c]` at `epochs[r]`.
    pub rows: Vec<Vec<Option<f64>>>,
}

impl MetricsTable {
    /// Index of a metric column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The value of `name` in the last row (the final analysis epoch), if computed.
    pub fn final_value(&self, name: &str) -> Option<f64> {
        let c = self.column(name)?;
        self.rows.last()?.get(c).copied().flatten()
    }

    /// `(epoch, value)` of `name` over the rows where it was computed.
    pub fn series(&self, name: &str) -> Vec<(f64, f64)> {
        let Some(c) = self.column(name) else {
            return Vec::new();
        };
        self.epochs
            .iter()
            .zip(&self.rows)
            .filter_map(|(&e, row)| row[c].map(|v| (e, v)))
            .collect()
    }
}

/// Per-run values that `summary.json` holds and `metrics.csv` does not, reported beside the
/// final metrics: the epoch at which training error first reached 0 and the run's wall time.
pub const SUMMARY_VALUES: &[&str] = &["tpt_epoch", "wall_time_s"];

/// One training run read from its directory.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// `config.toml` flattened to dotted keys (`loss.kind`), values as TOML text (`"ce"`, `0.1`).
    pub config: BTreeMap<String, String>,
    pub metrics: MetricsTable,
    /// `summary.json`, when present (a run still going has none).
    pub summary: Option<serde_json::Value>,
}

impl Run {
    /// The run's seed: `seed` of the config, else of `summary.json`.
    pub fn seed(&self) -> Option<i64> {
        self.config
            .get("seed")
            .and_then(|s| s.parse().ok())
            .or_else(|| self.summary.as_ref()?.get("seed")?.as_i64())
    }

    /// A config value without TOML quotes (`loss.kind` -> `ce`).
    pub fn config_str(&self, key: &str) -> Option<String> {
        self.config.get(key).map(|v| unquote(v))
    }

    /// The run's final value of `name`: for [`SUMMARY_VALUES`] the number in `summary.json`
    /// (`None` when it is null, e.g. a run that never reached TPT), else the last
    /// `metrics.csv` row's.
    pub fn final_value(&self, name: &str) -> Option<f64> {
        if SUMMARY_VALUES.contains(&name) {
            self.summary.as_ref()?.get(name)?.as_f64()
        } else {
            self.metrics.final_value(name)
        }
    }

    /// `status` of `summary.json` (`finished`, `diverged`, `running`), `running` without one.
    pub fn status(&self) -> String {
        self.summary
            .as_ref()
            .and_then(|s| s.get("status")?.as_str().map(str::to_string))
            .unwrap_or_else(|| "running".to_string())
    }
}

/// Removes the quotes of a TOML basic string; other values are returned as they are.
pub fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => v.to_string(),
    }
}

/// Whether `dir` looks like a run directory: it holds `metrics.csv`, `config.toml` or
/// `summary.json` (a run directory missing its `metrics.csv` is still found, and reported).
fn is_run_candidate(dir: &Path) -> bool {
    ["metrics.csv", "config.toml", "summary.json"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Expands the paths given on the command line into run directories: a run directory stands
/// for itself, any other directory is searched recursively (in name order; the search does not
/// descend into run directories). A path that does not exist, or holds no run, is an error.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            bail!("{}: not a directory", input.display());
        }
        let before = found.len();
        walk(input, &mut found)?;
        if found.len() == before {
            bail!(
                "{}: no run directory found (a run directory holds metrics.csv)",
                input.display()
            );
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    if is_run_candidate(dir) {
        found.push(dir.to_path_buf());
        return Ok(());
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    children.sort();
    for child in children {
        walk(&child, found)?;
    }
    Ok(())
}

/// Reads one run directory: `metrics.csv` and `config.toml` are required, `summary.json`
/// optional.
pub fn load_run(dir: &Path) -> Result<Run> {
    let metrics_path = dir.join("metrics.csv");
    if !metrics_path.is_file() {
        bail!("{}: run directory has no metrics.csv", dir.display());
    }
    let text = std::fs::read_to_string(&metrics_path)
        .with_context(|| format!("{}: cannot read", metrics_path.display()))?;
    let metrics = parse_metrics_csv(&text)
        .map_err(|msg| anyhow::anyhow!("{}: {msg}", metrics_path.display()))?;

    let config_path = dir.join("config.toml");
    if !config_path.is_file() {
        bail!("{}: run directory has no config.toml", dir.display());
    }
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{}: cannot read", config_path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not valid TOML: {e}", config_path.display()))?;
    let config: BTreeMap<String, String> = flatten(&table)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();

    let summary_path = dir.join("summary.json");
    let summary = if summary_path.is_file() {
        let text = std::fs::read_to_string(&summary_path)
            .with_context(|| format!("{}: cannot read", summary_path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", summary_path.display()))?;
        if !value.is_object() {
            bail!("{}: expected a JSON object", summary_path.display());
        }
        Some(value)
    } else {
        None
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        config,
        metrics,
        summary,
    })
}

/// Parses the text of a `metrics.csv`. The error (without the path, which the caller adds)
/// names the line and column at fault.
pub fn parse_metrics_csv(text: &str) -> std::result::Result<MetricsTable, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err("empty file: expected a header line starting with 'epoch'".into());
    };
    let names: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
    if names[0] != "epoch" {
        return Err(format!(
            "line 1: the first column must be 'epoch', found '{}'",
            names[0]
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(format!("line 1: column {} has an empty name", i + 1));
        }
        if names[..i].contains(n) {
            return Err(format!("line 1: column '{n}' appears twice"));
        }
    }
    let mut epochs = Vec::new();
    let mut rows = Vec::new();
    for (idx, line) in lines {
        let lineno = idx + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err(format!(
                "line {lineno}: {} fields, the header has {}",
                cells.len(),
                names.len()
            ));
        }
        let mut row = Vec::with_capacity(names.len() - 1);
        for (cell, name) in cells.iter().zip(&names) {
            let value = if cell.is_empty() {
                None
            } else {
                Some(cell.parse::<f64>().map_err(|_| {
                    format!("line {lineno}, column '{name}': '{cell}' is not a number")
                })?)
            };
            row.push(value);
        }
        let epoch = row
            .remove(0)
            .ok_or_else(|| format!("line {lineno}: empty 'epoch'"))?;
        if let Some(&last) = epochs.last() {
            if epoch <= last {
                return Err(format!(
                    "line {lineno}: epoch {epoch} does not follow epoch {last} (epochs must increase)"
                ));
            }
        }
        epochs.push(epoch);
        rows.push(row);
    }
    if rows.is_empty() {
        return Err("no data rows after the header".into());
    }
    Ok(MetricsTable {
        columns: names[1..].to_vec(),
        epochs,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_with_empty_cells() {
        let t = parse_metrics_csv("epoch,nc1,lnc1\n1,0.5,\n3,0.25,1e-3\n").unwrap();
        assert_eq!(t.columns, vec!["nc1", "lnc1"]);
        assert_eq!(t.epochs, vec![1.0, 3.0]);
        assert_eq!(t.rows[0], vec![Some(0.5), None]);
        assert_eq!(t.final_value("lnc1"), Some(1e-3));
        assert_eq!(t.series("lnc1"), vec![(3.0, 1e-3)]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_metrics_csv("epoch,nc1\n1,abc\n").unwrap_err();
        assert_eq!(e, "line 2, column 'nc1': 'abc' is not a number");
        let e = parse_metrics_csv("epoch,nc1\n1,0.5,7\n").unwrap_err();
        assert_eq!(e, "line 2: 3 fields, the header has 2");
        let e = parse_metrics_csv("nc1,epoch\n").unwrap_err();
        assert!(e.contains("first column must be 'epoch'"), "{e}");
        assert!(parse_metrics_csv("epoch,nc1\n")
            .unwrap_err()
            .contains("no data rows"));
        let e = parse_metrics_csv("epoch,nc1\n2,1\n2,1\n").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
    }
}
