//! `nclab.evaluate` (the mistake metrics of `nclab evaluate`) and `_reference_loss` (nclab's
//! f64 reference losses and their gradients, the yardstick of `nclab.torch`'s modules).

use nclab_core::labels::to_classes;
use nclab_core::losses::{Loss, LossSpec};
use nclab_core::metrics::mistakes::{MistakeEvaluator, MistakeMetrics, Ranking, ScoreKind};
use numpy::{PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{integers, Count, Floats};
use crate::errors;
use crate::hierarchy::Hierarchy;

/// Class indices of `labels` for `k` classes, checked to match the `n` rows of the scores.
pub fn class_indices(
    labels: &PyReadonlyArray1<'_, i64>,
    n: usize,
    k: usize,
) -> PyResult<Vec<usize>> {
    let raw = integers(labels, "labels")?;
    if raw.len() != n {
        return Err(PyValueError::new_err(format!(
            "logits have {n} rows but labels have {} entries",
            raw.len()
        )));
    }
    Ok(to_classes(raw, k, "labels")
        .map_err(errors::core)?
        .into_iter()
        .map(|v| v as usize)
        .collect())
}

fn metrics_dict<'py>(py: Python<'py>, m: &MistakeMetrics) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, v) in m.entries() {
        dict.set_item(name, (!v.is_nan()).then_some(v))?;
    }
    Ok(dict)
}

/// See `nclab.evaluate` (python/nclab/__init__.py) for the documentation.
#[pyfunction]
#[pyo3(signature = (logits, labels, hierarchy, k=vec![Count(1), Count(5)], crm=false, probabilities=false))]
pub fn evaluate<'py>(
    py: Python<'py>,
    logits: Floats<'py>,
    labels: PyReadonlyArray1<'py, i64>,
    hierarchy: Bound<'py, Hierarchy>,
    k: Vec<Count>,
    crm: bool,
    probabilities: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let scores = logits.view("logits")?;
    let tree = &hierarchy.get().tree;
    if scores.d != tree.num_classes() {
        return Err(PyValueError::new_err(format!(
            "logits have {} columns but the hierarchy {:?} has {} classes",
            scores.d,
            tree.source(),
            tree.num_classes()
        )));
    }
    let y = class_indices(&labels, scores.n, scores.d)?;
    let kind = if probabilities {
        ScoreKind::Probabilities
    } else {
        ScoreKind::Logits
    };
    // As `nclab evaluate`: the K x K distances only up to the bound (K <= 8192).
    tree.check_matrix_size().map_err(errors::core)?;
    let k: Vec<usize> = k.into_iter().map(|c| c.0).collect();
    let evaluator = MistakeEvaluator::new(tree, &k).map_err(errors::core)?;
    let (plain, reranked, floor) = py
        .detach(|| {
            let plain = evaluator.evaluate(scores, kind, &y, Ranking::Scores)?;
            let reranked = crm
                .then(|| evaluator.evaluate(scores, kind, &y, Ranking::Crm))
                .transpose()?;
            Ok((plain, reranked, evaluator.hdist_floor(&y)?))
        })
        .map_err(errors::core)?;
    let dict = metrics_dict(py, &plain)?;
    let floors = PyDict::new(py);
    for (k, v) in evaluator.ks().iter().zip(floor) {
        floors.set_item(format!("hdist@{k}"), v)?;
    }
    dict.set_item("floor", floors)?;
    if let Some(c) = reranked {
        dict.set_item("crm", metrics_dict(py, &c)?)?;
    }
    Ok(dict)
}

/// The batch mean of nclab's f64 reference loss `spec` (`ce`, `mse[:KAPPA[:WEIGHT]]`,
/// `soft:BETA`, `hxe:ALPHA[:none|nodes]`) and its gradient with respect to the logits.
#[pyfunction]
pub fn _reference_loss<'py>(
    py: Python<'py>,
    spec: &str,
    hierarchy: Bound<'py, Hierarchy>,
    logits: Floats<'py>,
    labels: PyReadonlyArray1<'py, i64>,
) -> PyResult<(f64, Bound<'py, PyArray2<f64>>)> {
    let spec: LossSpec = spec.parse().map_err(errors::core)?;
    let z = logits.view("logits")?;
    let y = class_indices(&labels, z.n, z.d)?;
    let loss = Loss::new(spec, &hierarchy.get().tree);
    let mut grad = vec![0.0; z.n * z.d];
    let value = loss
        .batch_mean(z, &y, Some(&mut grad))
        .map_err(errors::core)?;
    let grad = numpy::ndarray::Array2::from_shape_vec((z.n, z.d), grad)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((value, PyArray2::from_owned_array(py, grad)))
}

/// The mistake columns of a run directory's `metrics.csv` (`top1_error`, `top5_error`,
/// `mistake_severity`, `hdist@1`, `hdist@5`), as `nclab train` writes them.
#[pyfunction]
pub fn _run_mistake_columns<'py>(
    py: Python<'py>,
    logits: Floats<'py>,
    labels: PyReadonlyArray1<'py, i64>,
    hierarchy: Bound<'py, Hierarchy>,
) -> PyResult<Vec<(String, Option<f64>)>> {
    let scores = logits.view("logits")?;
    let y = class_indices(&labels, scores.n, scores.d)?;
    let evaluator = MistakeEvaluator::top1_top5(&hierarchy.get().tree).map_err(errors::core)?;
    let m = py
        .detach(|| evaluator.evaluate(scores, ScoreKind::Logits, &y, Ranking::Scores))
        .map_err(errors::core)?;
    Ok(m.run_columns())
}
