//! Run directories written from Python (`nclab.torch.Tracker`): the same files, in the same
//! format, with the same lock and atomic writes as `nclab train`'s, so that `nclab report`
//! reads both alike.

use std::path::PathBuf;

use nclab_core::metrics::mistakes::MistakeEvaluator;
use nclab_runs::config::AnalysisEpochs;
use nclab_runs::predictions::{self, TestPredictions};
use nclab_runs::run_dir::{RunDir, RunLock, Summary, Writer, CONFIG};
use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrays::{Count, Floats};
use crate::errors;
use crate::evaluate::class_indices;
use crate::hierarchy::Hierarchy;

/// The Python `Tracker`, for the run directory's messages.
const TRACKER: Writer = Writer {
    name: "nclab.torch.Tracker",
    when_used: "choose another run_dir, or remove this one (a Tracker starts a run; it cannot \
                continue one)",
    takes_over_unstarted: true,
};

/// An open run directory, locked against a second writer while this object lives (or until
/// `close()`).
#[pyclass(module = "nclab._nclab", name = "RunWriter")]
pub struct RunWriter {
    dir: RunDir,
    lock: Option<RunLock>,
}

impl RunWriter {
    fn open(&self) -> PyResult<&RunDir> {
        match self.lock {
            Some(_) => Ok(&self.dir),
            None => Err(PyValueError::new_err(format!(
                "{}: the run directory has been closed",
                self.dir.path.display()
            ))),
        }
    }
}

#[pymethods]
impl RunWriter {
    /// Takes `path` for a new run (it must not exist, or be empty) and writes its
    /// `config.toml` from `config_json` (a JSON object of tables and values; nulls are left
    /// out). Nothing is left behind when this fails.
    #[new]
    fn new(path: PathBuf, config_json: &str) -> PyResult<Self> {
        let config = config_toml(config_json)?;
        let (dir, lock) = RunDir::lock(&path, false, TRACKER).map_err(errors::runs)?;
        if let Err(e) = dir.write_atomic(CONFIG, config.as_bytes()) {
            lock.abandon();
            return Err(errors::runs(e));
        }
        Ok(RunWriter {
            dir,
            lock: Some(lock),
        })
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.dir.path.clone()
    }

    /// Appends one analysis row to `metrics.csv` and `metrics.jsonl` (`epoch` first; the
    /// columns must be those of the first row).
    fn append_row(&self, row: Vec<(String, Option<f64>)>) -> PyResult<()> {
        if row.first().map(|(k, _)| k.as_str()) != Some("epoch") {
            return Err(PyValueError::new_err("a metrics row starts with its epoch"));
        }
        self.open()?.append_row(&row).map_err(errors::runs)
    }

    /// Writes `summary.json` (given as JSON text, checked against the fields of
    /// docs/run-directory.md).
    fn write_summary(&self, summary_json: &str) -> PyResult<()> {
        let summary: Summary = serde_json::from_str(summary_json)
            .map_err(|e| PyValueError::new_err(format!("summary.json: {e}")))?;
        self.open()?.write_summary(&summary).map_err(errors::runs)
    }

    /// Writes `test_predictions.csv` from the final test `logits` (N x K) and `labels`, ranked
    /// on `hierarchy` as the run's mistake columns (docs/run-directory.md).
    fn write_test_predictions<'py>(
        &self,
        py: Python<'py>,
        logits: Floats<'py>,
        labels: PyReadonlyArray1<'py, i64>,
        hierarchy: Bound<'py, Hierarchy>,
    ) -> PyResult<()> {
        let dir = self.open()?;
        let scores = logits.view("logits")?;
        let y = class_indices(&labels, scores.n, scores.d)?;
        let evaluator = MistakeEvaluator::top1_top5(&hierarchy.get().tree).map_err(errors::core)?;
        let p = py
            .detach(|| TestPredictions::of_logits(&evaluator, scores, &y))
            .map_err(errors::core)?;
        p.write(&dir.file(predictions::FILE)).map_err(errors::runs)
    }

    /// Releases the lock; the directory is then complete.
    fn close(&mut self) {
        self.lock = None;
    }

    fn __repr__(&self) -> String {
        format!(
            "RunWriter({:?}, {})",
            self.dir.path,
            if self.lock.is_some() {
                "open"
            } else {
                "closed"
            }
        )
    }
}

/// A JSON object as TOML text. TOML has no null: a `None` value of a table's key is left out,
/// one inside a list is refused, naming where it is (`config['optim']['steps'][1]`).
fn config_toml(json: &str) -> PyResult<String> {
    use serde_json::Value;
    fn without_nulls(v: Value, at: &str) -> PyResult<Option<Value>> {
        Ok(match v {
            Value::Null => None,
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    if let Some(v) = without_nulls(v, &format!("{at}['{k}']"))? {
                        out.insert(k, v);
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.into_iter().enumerate() {
                    let here = format!("{at}[{i}]");
                    match without_nulls(v, &here)? {
                        Some(v) => out.push(v),
                        None => {
                            return Err(PyValueError::new_err(format!(
                                "{here}: None inside a list cannot be written to config.toml \
                                 (TOML has no null)"
                            )))
                        }
                    }
                }
                Some(Value::Array(out))
            }
            other => Some(other),
        })
    }
    let value: Value = serde_json::from_str(json)
        .map_err(|e| PyValueError::new_err(format!("the run's config: {e}")))?;
    if !value.is_object() {
        return Err(PyValueError::new_err("the run's config must be a dict"));
    }
    let value = without_nulls(value, "config")?.unwrap_or_default();
    toml::to_string(&value).map_err(|e| PyValueError::new_err(format!("the run's config: {e}")))
}

/// An `analysis.epochs` value: `"log:N"`, `"all"`, or a list of epochs.
#[derive(FromPyObject)]
pub enum EpochsSpec {
    Text(String),
    List(Vec<usize>),
}

/// The analysis epochs of `spec` in a run of `epochs` epochs (sorted, with 1 and the last),
/// as `nclab train` resolves `analysis.epochs`.
#[pyfunction]
pub fn analysis_epochs(spec: EpochsSpec, epochs: Count) -> PyResult<Vec<usize>> {
    let epochs = epochs.0;
    if epochs == 0 {
        return Err(PyValueError::new_err("a run has at least 1 epoch"));
    }
    let spec = match spec {
        EpochsSpec::Text(s) => AnalysisEpochs::Spec(s),
        EpochsSpec::List(l) => AnalysisEpochs::List(l),
    };
    spec.resolve(epochs)
        .map_err(|e| PyValueError::new_err(format!("epochs with num_epochs={epochs}: {e}")))
}
