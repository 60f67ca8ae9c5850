//! Loading run directories (docs/run-directory.md): discovery, `config.toml`, `metrics.csv`,
//! `summary.json`. Every error names the file and, where it applies, the line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::{flatten, DatasetName, MAX_EPOCHS};
use crate::csv_text::Record;
use crate::predictions::{self, TestPredictions};
use crate::run_dir::{self, Status};
use nclab_core::hierarchy::Hierarchy;

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
    /// A table without columns or rows (a run that diverged before its first analysis epoch).
    pub fn empty() -> MetricsTable {
        MetricsTable {
            columns: Vec::new(),
            epochs: Vec::new(),
            rows: Vec::new(),
        }
    }

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
/// final metrics: the epoch at which training error first reached 0 (`tpt_epoch`), the first
/// epoch from which it stayed 0 (`stable_tpt_epoch`, see [`Run::stable_tpt_epoch`]), the
/// run's wall time and the share of it outside the training steps.
pub const SUMMARY_VALUES: &[&str] = &[
    "tpt_epoch",
    "stable_tpt_epoch",
    "wall_time_s",
    "overhead_share",
];

/// `metrics_layers.csv`: per analysis epoch and tapped layer, collapse metrics of that layer's
/// features (docs/metrics.md, "Layerwise collapse").
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTable {
    /// Metric columns after `epoch`, `layer` and `depth`.
    pub columns: Vec<String>,
    pub rows: Vec<LayerRow>,
}

/// One row of `metrics_layers.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub epoch: f64,
    pub layer: String,
    pub depth: f64,
    /// Values of [`LayerTable::columns`], `None` for an empty cell.
    pub values: Vec<Option<f64>>,
}

impl LayerTable {
    /// `(epoch, depth, value)` of `metric` over the rows where it was computed and is finite.
    pub fn series(&self, metric: &str) -> Vec<(f64, f64, f64)> {
        let Some(c) = self.columns.iter().position(|n| n == metric) else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter_map(|r| {
                let v = r.values[c]?;
                v.is_finite().then_some((r.epoch, r.depth, v))
            })
            .collect()
    }
}

/// One training run read from its directory.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// `config.toml` flattened to dotted keys (`loss.kind`), values as TOML text (`"ce"`, `0.1`).
    pub config: BTreeMap<String, String>,
    pub metrics: MetricsTable,
    /// `summary.json`, when present (a run still going has none).
    pub summary: Option<serde_json::Value>,
    /// `metrics_layers.csv`, when present.
    pub layers: Option<LayerTable>,
    /// `test_predictions.csv`, when present, checked against the run's final test metrics.
    pub predictions: Option<TestPredictions>,
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

    /// The number of classes of the run's data: from `data.name` when it names a dataset nclab
    /// knows (`data.classes` for `synthetic`); `None` otherwise (a run written from Python may
    /// name a dataset of its own, or none).
    pub fn data_classes(&self) -> Option<usize> {
        let name: DatasetName = self.config_str("data.name")?.parse().ok()?;
        name.num_classes()
            .or_else(|| self.config_str("data.classes")?.parse().ok())
    }

    /// The run's `hierarchy` spec, with a relative file path resolved against the run
    /// directory when the file is there (the Python Tracker writes `hierarchy =
    /// "hierarchy.json"` beside `config.toml`); otherwise the spec as written (a built-in
    /// name, an absolute path, or a path relative to where training ran).
    pub fn hierarchy_spec(&self) -> Option<String> {
        let spec = self.config_str("hierarchy")?;
        let path = Path::new(spec.trim());
        if path.is_relative() && self.dir.join(path).is_file() {
            return Some(self.dir.join(path).display().to_string());
        }
        Some(spec)
    }

    /// The run's final value of `name`: for [`SUMMARY_VALUES`] the number in `summary.json`
    /// (`None` when it is null, e.g. a run that never reached TPT), else the last
    /// `metrics.csv` row's.
    pub fn final_value(&self, name: &str) -> Option<f64> {
        if name == "tpt_epoch" {
            self.tpt_epoch()
        } else if name == "stable_tpt_epoch" {
            self.stable_tpt_epoch()
        } else if SUMMARY_VALUES.contains(&name) {
            self.summary.as_ref()?.get(name)?.as_f64()
        } else {
            self.metrics.final_value(name)
        }
    }

    /// The TPT epoch: the first epoch with zero training error. `summary.json`'s `tpt_epoch`
    /// when it has the key (`null`: never); otherwise from `metrics.csv`: the first analysis
    /// epoch with `train_acc == 1` (later than the trainer's value when analyses are spaced,
    /// never earlier).
    pub fn tpt_epoch(&self) -> Option<f64> {
        if let Some(v) = self.summary.as_ref().and_then(|s| s.get("tpt_epoch")) {
            return v.as_f64();
        }
        let c = self.metrics.column("train_acc")?;
        self.metrics
            .epochs
            .iter()
            .zip(&self.metrics.rows)
            .find(|(_, row)| row[c] == Some(1.0))
            .map(|(e, _)| *e)
    }

    /// The stable TPT epoch: the first epoch from which every later check found zero training
    /// error. `summary.json`'s `stable_tpt_epoch` when it has the key (newer runs; `null`:
    /// never stable); otherwise from `metrics.csv`: the first analysis epoch of the final
    /// streak of rows with `train_acc == 1` (`None` when the last row has training errors or
    /// there is no `train_acc`). The analysis epochs are a subset of the trainer's checks, so
    /// the second form can be later than the trainer's value, never earlier.
    pub fn stable_tpt_epoch(&self) -> Option<f64> {
        if let Some(v) = self
            .summary
            .as_ref()
            .and_then(|s| s.get("stable_tpt_epoch"))
        {
            return v.as_f64();
        }
        stable_tpt_from_rows(&self.metrics)
    }

    /// Whether [`Run::stable_tpt_epoch`] is dated from the analysis epochs (a run of an older
    /// nclab, whose `summary.json` has no `stable_tpt_epoch`) and found one.
    pub fn stable_tpt_from_analyses(&self) -> bool {
        let recorded = self
            .summary
            .as_ref()
            .is_some_and(|s| s.get("stable_tpt_epoch").is_some());
        !recorded && self.stable_tpt_epoch().is_some()
    }

    /// `status` of `summary.json` (checked by [`load_run`]), `running` without one (or null).
    pub fn status(&self) -> Status {
        status_of(self.summary.as_ref())
    }

    /// How far the run got when it stopped before its end (`summary.json` says `running` or
    /// `interrupted`, or there is none): `status interrupted, last analysis at epoch 2 of 6`;
    /// `None` for a finished or diverged run.
    pub fn unfinished(&self) -> Option<String> {
        let status = self.status();
        if !matches!(status, Status::Running | Status::Interrupted) {
            return None;
        }
        let status = match &self.summary {
            None => "no summary.json".to_string(),
            Some(s) if s.get("status").is_none_or(|v| v.is_null()) => {
                "no status in summary.json".to_string()
            }
            Some(_) => format!("status {status}"),
        };
        let Some(last) = self.metrics.epochs.last() else {
            return Some(format!("{status}, no analysis yet"));
        };
        let of = self
            .config
            .get("optim.epochs")
            .map_or(String::new(), |n| format!(" of {n}"));
        Some(format!("{status}, last analysis at epoch {last}{of}"))
    }

    /// Whether `summary.json` says the run diverged.
    pub fn diverged(&self) -> bool {
        self.status() == Status::Diverged
    }

    /// The sweep cell this run is, `<dimension>=<level>` parts joined by `_`
    /// (`loss=hxe-0.6_seed=0`): the last component of the config's `name` when it has that
    /// form (a sweep names each run `<grid>/<cell>`), else the directory's name when it does;
    /// `None` for a run not from a sweep.
    pub fn sweep_cell(&self) -> Option<String> {
        let from_name = self
            .config_str("name")
            .and_then(|n| n.rsplit('/').next().map(str::to_string));
        let from_dir = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        [from_name, from_dir]
            .into_iter()
            .flatten()
            .find(|n| parse_cell(n).is_some())
    }

    /// The epochs (counted from 1) at which the learning rate decays: `optim.schedule` and
    /// `optim.epochs` of the config through [`crate::config::Schedule::decay_epochs`] (empty for
    /// schedules without decays, or when the config lacks them).
    pub fn decay_epochs(&self) -> Vec<usize> {
        let schedule = self
            .config_str("optim.schedule")
            .and_then(|s| s.parse::<crate::config::Schedule>().ok());
        let epochs = self
            .config_str("optim.epochs")
            .and_then(|s| s.parse::<usize>().ok());
        match (schedule, epochs) {
            (Some(s), Some(e)) => s.decay_epochs(e),
            _ => Vec::new(),
        }
    }
}

/// The `<dimension>=<level>` parts of a sweep cell name (`loss=hxe-0.6_seed=0` ->
/// `[("loss", "hxe-0.6"), ("seed", "0")]`); `None` unless every `_`-separated part has that
/// form.
pub fn parse_cell(name: &str) -> Option<Vec<(String, String)>> {
    name.split('_')
        .map(|part| {
            let (d, l) = part.split_once('=')?;
            (!d.is_empty() && !l.is_empty()).then(|| (d.to_string(), l.to_string()))
        })
        .collect()
}

/// The first analysis epoch of the last streak of rows with `train_acc == 1`.
pub fn stable_tpt_from_rows(metrics: &MetricsTable) -> Option<f64> {
    let c = metrics.column("train_acc")?;
    let mut first = None;
    for (e, row) in metrics.epochs.iter().zip(&metrics.rows).rev() {
        if row[c] == Some(1.0) {
            first = Some(*e);
        } else {
            break;
        }
    }
    first
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

/// Reads one run directory: `config.toml` is required, `metrics.csv` too unless `summary.json`
/// says the run diverged (a run can diverge before its first analysis epoch: it is then
/// reported as diverged with no rows) or the run is unfinished (it may not have analysed
/// yet), `summary.json` and `metrics_layers.csv` are optional. The test predictions are read
/// apart ([`load_predictions`]), so that a bad one need not cost the run.
pub fn load_run(dir: &Path) -> Result<Run> {
    let summary = load_summary(dir)?;
    // Runs that may have no rows: a run that diverged, or one still going (or stopped)
    // before its first analysis.
    let rows_optional = status_of(summary.as_ref()) != Status::Finished;
    let metrics_path = dir.join("metrics.csv");
    let metrics = if metrics_path.is_file() {
        let text = std::fs::read_to_string(&metrics_path)
            .with_context(|| format!("{}: cannot read", metrics_path.display()))?;
        match parse_metrics_csv(&text) {
            Ok(m) => m,
            // A diverged or unfinished run may stop before its first row.
            Err(_) if rows_optional && crate::csv_text::read(&text).is_ok_and(|r| r.len() <= 1) => {
                MetricsTable::empty()
            }
            Err(msg) => bail!("{}: {msg}", metrics_path.display()),
        }
    } else if rows_optional {
        MetricsTable::empty()
    } else {
        bail!("{}: run directory has no metrics.csv", dir.display());
    };

    let config_path = dir.join(run_dir::CONFIG);
    let table = run_dir::read_config(dir)?;
    let config: BTreeMap<String, String> = flatten(&table)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    if let Some(e) = config.get("optim.epochs") {
        if !e
            .parse::<usize>()
            .is_ok_and(|e| (1..=MAX_EPOCHS).contains(&e))
        {
            bail!(
                "{}: key `optim.epochs` is {e}, expected a whole number from 1 to {MAX_EPOCHS}",
                config_path.display()
            );
        }
    }

    let layers_path = dir.join("metrics_layers.csv");
    let layers = if layers_path.is_file() {
        let text = std::fs::read_to_string(&layers_path)
            .with_context(|| format!("{}: cannot read", layers_path.display()))?;
        Some(
            parse_layers_csv(&text)
                .map_err(|msg| anyhow::anyhow!("{}: {msg}", layers_path.display()))?,
        )
    } else {
        None
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        config,
        metrics,
        summary,
        layers,
        predictions: None,
    })
}

/// The run's `test_predictions.csv`, when present: read, and refused unless its rows fit the
/// run's tree ([`TestPredictions::check_against_tree`]; the classes and distances are checked
/// when the tree can still be read) and their means are the run's final test metrics (to 1e-9,
/// relative above 1; a blank final value where the file has one is refused): a file beside
/// the wrong run would otherwise pair another network's images with this one's.
pub fn load_predictions(run: &Run) -> Result<Option<TestPredictions>> {
    let path = run.dir.join(predictions::FILE);
    if !path.exists() && !path.is_symlink() {
        return Ok(None);
    }
    if !path.is_file() {
        bail!(
            "{}: not a readable file (a run's {} is its test predictions; remove it or put the \
             file there)",
            path.display(),
            predictions::FILE
        );
    }
    let text = nclab_core::io::read_text(&path)?;
    let p = TestPredictions::parse(&text)
        .map_err(|msg| anyhow::anyhow!("{}: {msg}", path.display()))?;
    // The run's tree: `flat` without its size has distance 1 between any two classes; a tree
    // that can no longer be read (a file gone) checks the rows without distances.
    let spec = run.hierarchy_spec();
    let flat = spec.as_deref().is_some_and(|s| s.trim() == "flat");
    let tree = spec
        .filter(|_| !flat)
        .and_then(|s| Hierarchy::resolve(&s, None).ok());
    let on_flat = |a: usize, b: usize| f64::from(u8::from(a != b));
    let on_tree = |a: usize, b: usize| tree.as_ref().map_or(0.0, |h| h.distance(a, b) as f64);
    let d: Option<&dyn Fn(usize, usize) -> f64> = match (&tree, flat) {
        (Some(_), _) => Some(&on_tree),
        (None, true) => Some(&on_flat),
        (None, false) => None,
    };
    p.check_against_tree(tree.as_ref().map(Hierarchy::num_classes), d)
        .map_err(|msg| anyhow::anyhow!("{}: {msg}", path.display()))?;
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let measured = predictions::METRICS
        .iter()
        .map(|&m| (m, p.values(m).map(mean)))
        .chain([
            ("test_acc", p.influence("test_acc").map(mean)),
            ("mistake_severity", p.mistake_severity()),
        ]);
    // A metric the run does not record is not compared (nor reported); one it records must
    // agree, a blank final value included.
    for (metric, got) in measured.filter(|(m, _)| run.metrics.column(m).is_some()) {
        let want = run.final_value(metric);
        let agree = match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        if !agree {
            let text = |v: Option<f64>| v.map_or("none".to_string(), |v| v.to_string());
            bail!(
                "{}: its {metric} is {}, but the run's final {metric} is {}: these are not the \
                 predictions of this run's final network (remove the file, or write it again \
                 from the run's final.safetensors with scripts/keep_final.py)",
                path.display(),
                text(got),
                text(want)
            );
        }
    }
    Ok(Some(p))
}

fn load_summary(dir: &Path) -> Result<Option<serde_json::Value>> {
    let summary_path = dir.join(run_dir::SUMMARY);
    let Some(value) = run_dir::read_summary(dir)? else {
        return Ok(None);
    };
    match value.get("status") {
        None | Some(serde_json::Value::Null) => {}
        Some(v) if v.as_str().is_some_and(|s| s.parse::<Status>().is_ok()) => {}
        Some(v) => bail!(
            "{}: `status` is {v}, expected one of {}",
            summary_path.display(),
            Status::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    for key in SUMMARY_EPOCHS {
        match value.get(key) {
            None | Some(serde_json::Value::Null) => {}
            Some(v) if v.as_u64().is_some_and(|e| e <= MAX_EPOCHS as u64) => {}
            Some(v) => bail!(
                "{}: `{key}` is {v}, expected null or a whole number from 0 to {MAX_EPOCHS}",
                summary_path.display()
            ),
        }
    }
    // Training error first reaches 0 no later than it stays there, and within the run.
    let epoch = |key: &str| value.get(key).and_then(serde_json::Value::as_u64);
    if let (Some(tpt), Some(stable)) = (epoch("tpt_epoch"), epoch("stable_tpt_epoch")) {
        if tpt > stable {
            bail!(
                "{}: `tpt_epoch` ({tpt}) is after `stable_tpt_epoch` ({stable}): the first epoch \
                 with zero training error cannot come after the one from which it stays zero",
                summary_path.display()
            );
        }
    }
    if let Some(epochs) = epoch("epochs") {
        for key in ["tpt_epoch", "stable_tpt_epoch"] {
            if let Some(e) = epoch(key).filter(|&e| e > epochs) {
                bail!(
                    "{}: `{key}` ({e}) is after the run's last epoch (`epochs` = {epochs})",
                    summary_path.display()
                );
            }
        }
    }
    Ok(Some(value))
}

/// An epoch of a metrics file: a whole number from 1 to [`MAX_EPOCHS`] (the most a run may
/// have), or an error naming the line.
fn check_epoch(epoch: f64, lineno: usize) -> std::result::Result<(), String> {
    if epoch.fract() == 0.0 && (1.0..=MAX_EPOCHS as f64).contains(&epoch) {
        Ok(())
    } else {
        Err(format!(
            "line {lineno}: epoch {epoch} is not a whole number from 1 to {MAX_EPOCHS}"
        ))
    }
}

/// The `status` of a checked `summary.json` ([`load_summary`]): `running` when there is none.
fn status_of(summary: Option<&serde_json::Value>) -> Status {
    summary
        .and_then(|s| s.get("status")?.as_str()?.parse().ok())
        .unwrap_or(Status::Running)
}

/// The epoch fields of `summary.json`, each null (never) or a whole number from 0 to
/// [`MAX_EPOCHS`].
const SUMMARY_EPOCHS: [&str; 4] = [
    "epochs",
    "tpt_epoch",
    "stable_tpt_epoch",
    "diverged_at_epoch",
];

/// The most metric columns a `metrics.csv` may have: the report draws two figures of each.
const MAX_COLUMNS: usize = 1000;

/// A CSV text's header names and its data records.
type CsvTable = (Vec<String>, usize, Vec<Record>);

/// The header's names and the data records of a CSV text (blank lines left out), read by
/// [`crate::csv_text::read`]; `None` for a text without a record.
fn csv_table(text: &str) -> std::result::Result<Option<CsvTable>, String> {
    let mut records = crate::csv_text::read(text)?.into_iter();
    Ok(records
        .next()
        .map(|header| (header.fields, header.line, records.collect())))
}

/// The fields of a data record, which must have as many as the header `names`.
fn csv_fields<'a>(
    record: &'a Record,
    names: &[String],
) -> std::result::Result<Vec<&'a str>, String> {
    if record.fields.len() != names.len() {
        return Err(format!(
            "line {}: {} fields, the header has {}",
            record.line,
            record.fields.len(),
            names.len()
        ));
    }
    Ok(record.fields.iter().map(String::as_str).collect())
}

/// A CSV cell as a number (`None` when empty); the error names the line and column.
fn csv_number(cell: &str, name: &str, lineno: usize) -> std::result::Result<Option<f64>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    cell.parse::<f64>().map(Some).map_err(|_| {
        format!(
            "line {lineno}, column '{}': '{}' is not a number",
            shorten(name),
            shorten(cell)
        )
    })
}

/// A cell or name as an error message shows it: at most 60 characters, then "...".
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Parses the text of a `metrics_layers.csv` (`epoch,layer,depth,` then metric columns).
pub fn parse_layers_csv(text: &str) -> std::result::Result<LayerTable, String> {
    let Some((names, header_line, records)) = csv_table(text)? else {
        return Err("empty file: expected a header line 'epoch,layer,depth,...'".into());
    };
    if names.len() < 3 || names[..3] != ["epoch", "layer", "depth"] {
        return Err(format!(
            "line {header_line}: the first columns must be 'epoch,layer,depth'"
        ));
    }
    if names.len() > MAX_COLUMNS + 3 {
        return Err(format!(
            "line {header_line}: {} metric columns, more than the {MAX_COLUMNS} a report draws",
            names.len() - 3
        ));
    }
    let mut rows = Vec::new();
    for record in &records {
        let lineno = record.line;
        let cells = csv_fields(record, &names)?;
        let number = |i: usize| csv_number(cells[i], &names[i], lineno);
        let epoch = number(0)?.ok_or_else(|| format!("line {lineno}: empty 'epoch'"))?;
        check_epoch(epoch, lineno)?;
        let depth = number(2)?.ok_or_else(|| format!("line {lineno}: empty 'depth'"))?;
        let values = (3..names.len())
            .map(number)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.push(LayerRow {
            epoch,
            layer: cells[1].to_string(),
            depth,
            values,
        });
    }
    Ok(LayerTable {
        columns: names[3..].to_vec(),
        rows,
    })
}

/// Parses the text of a `metrics.csv`. The error (without the path, which the caller adds)
/// names the line and column at fault.
pub fn parse_metrics_csv(text: &str) -> std::result::Result<MetricsTable, String> {
    let Some((names, header_line, records)) = csv_table(text)? else {
        return Err("empty file: expected a header line starting with 'epoch'".into());
    };
    check_metrics_header(&names, header_line)?;
    let mut epochs = Vec::new();
    let mut rows = Vec::new();
    for record in &records {
        let lineno = record.line;
        let cells = csv_fields(record, &names)?;
        let mut row = cells
            .iter()
            .zip(&names)
            .map(|(cell, name)| csv_number(cell, name, lineno))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let epoch = row
            .remove(0)
            .ok_or_else(|| format!("line {lineno}: empty 'epoch'"))?;
        check_epoch(epoch, lineno)?;
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

/// The header of a `metrics.csv`: `epoch` first, no empty and no repeated column name.
fn check_metrics_header(names: &[String], line: usize) -> std::result::Result<(), String> {
    if names.len() > MAX_COLUMNS + 1 {
        return Err(format!(
            "line {line}: {} metric columns, more than the {MAX_COLUMNS} a report draws (two \
             figures each; nclab train writes about 60)",
            names.len() - 1
        ));
    }
    if names[0] != "epoch" {
        return Err(format!(
            "line {line}: the first column must be 'epoch', found '{}'",
            shorten(&names[0])
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(format!("line {line}: column {} has an empty name", i + 1));
        }
        if names[..i].contains(n) {
            return Err(format!(
                "line {line}: column '{}' appears twice",
                shorten(n)
            ));
        }
    }
    Ok(())
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
    fn stable_tpt_is_the_start_of_the_last_streak_of_perfect_rows() {
        let t = parse_metrics_csv("epoch,train_acc\n1,0.9\n2,1\n4,0.999\n8,1\n16,1\n").unwrap();
        assert_eq!(stable_tpt_from_rows(&t), Some(8.0));
        let t = parse_metrics_csv("epoch,train_acc\n1,1\n2,0.99\n").unwrap();
        assert_eq!(stable_tpt_from_rows(&t), None);
        let t = parse_metrics_csv("epoch,train_acc\n1,1\n2,1\n").unwrap();
        assert_eq!(stable_tpt_from_rows(&t), Some(1.0));
        let t = parse_metrics_csv("epoch,nc1\n1,1\n").unwrap();
        assert_eq!(stable_tpt_from_rows(&t), None);
    }

    #[test]
    fn sweep_cells_and_layer_tables() {
        assert_eq!(
            parse_cell("loss=hxe-0.6_seed=0"),
            Some(vec![
                ("loss".into(), "hxe-0.6".into()),
                ("seed".into(), "0".into())
            ])
        );
        assert_eq!(parse_cell("ce-s0"), None);
        assert_eq!(parse_cell("loss=ce_extra"), None);
        let t = parse_layers_csv(
            "epoch,layer,depth,nc1,cdnv\n1,hidden.0,0,2.5,\n1,hidden.1,1,1.5,0.3\n",
        )
        .unwrap();
        assert_eq!(t.columns, vec!["nc1", "cdnv"]);
        assert_eq!(t.series("nc1"), vec![(1.0, 0.0, 2.5), (1.0, 1.0, 1.5)]);
        assert_eq!(t.series("cdnv"), vec![(1.0, 1.0, 0.3)]);
        assert!(parse_layers_csv("epoch,depth\n").is_err());
        let e = parse_layers_csv("epoch,layer,depth,nc1\n1,a,0,x\n").unwrap_err();
        assert_eq!(e, "line 2, column 'nc1': 'x' is not a number");
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
        // At most 1,000 metric columns (a 1.6 MB file of 200,000 would make 400,000 figures).
        let wide = format!(
            "epoch,{}\n",
            (0..1001)
                .map(|i| format!("c{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let e = parse_metrics_csv(&wide).unwrap_err();
        assert!(
            e.contains("line 1: 1001 metric columns, more than the 1000"),
            "{e}"
        );
        let e = parse_layers_csv(&wide.replacen("epoch,", "epoch,layer,depth,", 1)).unwrap_err();
        assert!(
            e.contains("line 1: 1001 metric columns, more than the 1000"),
            "{e}"
        );
        // Epochs are whole numbers a run can have (a huge one overflowed the figures' axes).
        for bad in ["0", "6.5", "1000001", "99999999999999999999"] {
            let e = parse_metrics_csv(&format!("epoch,nc1\n{bad},1\n")).unwrap_err();
            assert!(
                e.contains("line 2: epoch")
                    && e.contains("is not a whole number from 1 to 1000000"),
                "{e}"
            );
            let e = parse_layers_csv(&format!("epoch,layer,depth\n{bad},a,0\n")).unwrap_err();
            assert!(e.contains("is not a whole number from 1 to 1000000"), "{e}");
        }
        // Lines as an editor counts them, with CRLF ends and blank lines too.
        let e = parse_metrics_csv("epoch,nc1\r\n1,0.5\r\n\r\n2,abc\r\n").unwrap_err();
        assert_eq!(e, "line 4, column 'nc1': 'abc' is not a number");
        let e = parse_layers_csv("epoch,layer,depth\n\n\n1,a\n").unwrap_err();
        assert_eq!(e, "line 4: 2 fields, the header has 3");
        // The header's own line, after blank lines; long cells cut to 60 characters.
        let e = parse_metrics_csv("\n\nepoch,,nc1\n1,2,3\n").unwrap_err();
        assert_eq!(e, "line 3: column 2 has an empty name");
        let long = "9".repeat(70) + "x";
        let e = parse_metrics_csv(&format!("epoch,nc1\n1,{long}\n")).unwrap_err();
        assert_eq!(
            e,
            format!(
                "line 2, column 'nc1': '{}...' is not a number",
                "9".repeat(60)
            )
        );
    }

    #[test]
    fn quoted_fields_are_read_as_csv() {
        let t = parse_metrics_csv("\"epoch\",\"nc1\"\n1,\" 0.5\"\n").unwrap();
        assert_eq!(t.columns, vec!["nc1"]);
        assert_eq!(t.rows, vec![vec![Some(0.5)]]);
        let t = parse_layers_csv("epoch,layer,depth,nc1\n1,\"block 1, conv\",0,2\n").unwrap();
        assert_eq!(t.rows[0].layer, "block 1, conv");
    }

    /// `summary.json`'s epochs and the config's `optim.epochs` are whole numbers a run can
    /// have (4294967296 made the figures' axes overflow inside the plotting crate).
    #[test]
    fn epochs_of_summaries_and_configs_are_checked() {
        let dir = nclab_testkit::scratch("report-epochs");
        std::fs::write(dir.join("metrics.csv"), "epoch,nc1\n1,0.5\n").unwrap();
        std::fs::write(dir.join("config.toml"), "[optim]\nepochs = 4294967296\n").unwrap();
        let e = format!("{:#}", load_run(&dir).unwrap_err());
        assert!(
            e.contains("config.toml: key `optim.epochs` is 4294967296"),
            "{e}"
        );
        std::fs::write(dir.join("config.toml"), "").unwrap();
        let e = format!("{:#}", load_run(&dir).unwrap_err());
        assert!(e.contains("config.toml: sets nothing"), "{e}");
        std::fs::write(dir.join("config.toml"), "[optim]\nepochs = 3\n").unwrap();
        assert!(load_run(&dir).is_ok());
        for bad in ["4294967296", "-1", "2.5", "\"x\""] {
            let summary = format!("{{\"status\": \"finished\", \"stable_tpt_epoch\": {bad}}}");
            std::fs::write(dir.join("summary.json"), summary).unwrap();
            let e = format!("{:#}", load_run(&dir).unwrap_err());
            assert!(
                e.contains("summary.json: `stable_tpt_epoch` is")
                    && e.contains("expected null or a whole number from 0 to 1000000"),
                "{e}"
            );
        }
        std::fs::write(
            dir.join("summary.json"),
            "{\"tpt_epoch\": null, \"epochs\": 3}",
        )
        .unwrap();
        assert!(load_run(&dir).is_ok());
        // The first zero-error epoch after the stable one, or either after the last epoch.
        for (summary, says) in [
            (
                "{\"tpt_epoch\": 3, \"stable_tpt_epoch\": 2}",
                "`tpt_epoch` (3) is after `stable_tpt_epoch` (2)",
            ),
            (
                "{\"tpt_epoch\": 4, \"epochs\": 3}",
                "`tpt_epoch` (4) is after the run's last epoch (`epochs` = 3)",
            ),
            (
                "{\"stable_tpt_epoch\": 4, \"epochs\": 3}",
                "`stable_tpt_epoch` (4) is after the run's last epoch",
            ),
        ] {
            std::fs::write(dir.join("summary.json"), summary).unwrap();
            let e = format!("{:#}", load_run(&dir).unwrap_err());
            assert!(e.contains(&format!("summary.json: {says}")), "{e}");
        }
        std::fs::write(
            dir.join("summary.json"),
            "{\"tpt_epoch\": 2, \"stable_tpt_epoch\": 2, \"epochs\": 3}",
        )
        .unwrap();
        assert!(load_run(&dir).is_ok());
        // `status`, when given, is one of the four a run can have.
        for (status, ok) in [
            ("\"interrupted\"", true),
            ("null", true),
            ("\"done\"", false),
            ("1", false),
        ] {
            std::fs::write(
                dir.join("summary.json"),
                format!("{{\"status\": {status}}}"),
            )
            .unwrap();
            let loaded = load_run(&dir);
            assert_eq!(loaded.is_ok(), ok, "{status}");
            if let Err(e) = loaded {
                let e = format!("{e:#}");
                assert!(
                    e.contains(&format!("summary.json: `status` is {status}, expected one of running, finished, diverged, interrupted")),
                    "{e}"
                );
            }
        }
    }
}
