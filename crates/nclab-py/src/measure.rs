//! `nclab.measure` and `nclab.Accumulator`: the neural-collapse metrics of `nclab measure`,
//! on arrays in memory, computed with the GIL released.

use nclab_core::labels::{measured_classes, to_classes, ClassSources};
use nclab_core::metrics::heldout::heldout;
use nclab_core::metrics::measurement::{Measurement, Rows};
use nclab_core::metrics::scatter::Classifier;
use nclab_core::metrics::{Accumulator as Passes, CollapseInput, Measured, TreeMatrices};
use nclab_core::tensor::MatrixView;
use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{floats, integers, Count, Floats};
use crate::errors;
use crate::hierarchy::Hierarchy;

/// Metric rows as a Python dict: `n`, `d`, `k` as ints, metrics as floats, `None` where a
/// metric is not defined (`nclab_runs::numbers`' rule).
fn to_dict<'py>(py: Python<'py>, rows: Rows) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in rows {
        match (name.as_str(), value) {
            ("n" | "d" | "k", Some(v)) => dict.set_item(name, v as u64)?,
            // Undefined (NaN, an infinity) is None, as it is null in the CLI's JSON.
            (_, v) => dict.set_item(name, v.filter(|v| v.is_finite()))?,
        }
    }
    Ok(dict)
}

/// The classifier `(W, b)` checked against `k` classes of dimension `d`.
fn classifier(
    weights: Option<&Floats<'_>>,
    bias: Option<&PyReadonlyArray1<'_, f64>>,
    k: usize,
    d: usize,
) -> PyResult<Option<Classifier>> {
    let Some(w) = weights else {
        if bias.is_some() {
            return Err(PyValueError::new_err("bias given without weights"));
        }
        return Ok(None);
    };
    let bias = bias.map(|b| floats(b, "bias")).transpose()?;
    Classifier::new(w.view("weights")?, bias, k, d)
        .map(Some)
        .map_err(errors::core)
}

/// The hierarchy's matrices for data with `k` classes.
fn tree(
    hierarchy: Option<&Bound<'_, Hierarchy>>,
    k: usize,
    coarse_depth: Option<usize>,
) -> PyResult<Option<TreeMatrices>> {
    if coarse_depth.is_some() && hierarchy.is_none() {
        return Err(PyValueError::new_err("coarse_depth needs a hierarchy"));
    }
    hierarchy
        .map(|h| TreeMatrices::for_data(&h.get().tree, k, coarse_depth.unwrap_or(1)))
        .transpose()
        .map_err(errors::core)
}

/// See `nclab.measure` (python/nclab/__init__.py) for the documentation.
/// The features as an `N x d` view and their `N` labels, or an error when the counts differ.
fn rows_and_labels<'a>(
    features: &'a Floats<'_>,
    labels: &'a PyReadonlyArray1<'_, i64>,
) -> PyResult<(MatrixView<'a>, &'a [i64])> {
    let h = features.view("features")?;
    let raw = integers(labels, "labels")?;
    if raw.len() != h.n {
        return Err(PyValueError::new_err(format!(
            "features have {} rows but labels have {} entries",
            h.n,
            raw.len()
        )));
    }
    Ok((h, raw))
}

#[pyfunction]
#[pyo3(signature = (
    features, labels, weights=None, bias=None, *, predictions=None, hierarchy=None,
    coarse_depth=None, num_classes=None, eval_features=None, eval_labels=None,
    ood_features=None, weight_decay=None,
))]
#[allow(clippy::too_many_arguments)]
pub fn measure<'py>(
    py: Python<'py>,
    features: Floats<'py>,
    labels: PyReadonlyArray1<'py, i64>,
    weights: Option<Floats<'py>>,
    bias: Option<PyReadonlyArray1<'py, f64>>,
    predictions: Option<PyReadonlyArray1<'py, i64>>,
    hierarchy: Option<Bound<'py, Hierarchy>>,
    coarse_depth: Option<Count>,
    num_classes: Option<Count>,
    eval_features: Option<Floats<'py>>,
    eval_labels: Option<PyReadonlyArray1<'py, i64>>,
    ood_features: Option<Floats<'py>>,
    weight_decay: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (h, raw) = rows_and_labels(&features, &labels)?;
    let w = weights.as_ref().map(|w| w.view("weights")).transpose()?;
    if let Some(w) = w {
        Classifier::check_columns(w, h.d).map_err(errors::core)?;
    }
    let (coarse_depth, num_classes) = (coarse_depth.map(|c| c.0), num_classes.map(|k| k.0));
    let (y, k) = measured_classes(
        raw,
        num_classes,
        w.map(|w| w.n),
        &ClassSources {
            labels: "labels",
            weights: "weights",
            weights_option: "weights",
            num_classes_option: "num_classes",
        },
    )
    .map_err(errors::core)?;
    let b = bias.as_ref().map(|b| floats(b, "bias")).transpose()?;
    if b.is_some() && w.is_none() {
        return Err(PyValueError::new_err("bias given without weights"));
    }
    let predictions = predictions
        .as_ref()
        .map(|p| to_classes(integers(p, "predictions")?, k, "predictions").map_err(errors::core))
        .transpose()?;
    let tree = tree(hierarchy.as_ref(), k, coarse_depth)?;
    let heldout = match (&eval_features, &eval_labels) {
        (Some(f), Some(l)) => {
            let (f, raw) = (f.view("eval_features")?, integers(l, "eval_labels")?);
            if raw.len() != f.n {
                return Err(PyValueError::new_err(format!(
                    "eval_features have {} rows but eval_labels have {} entries",
                    f.n,
                    raw.len()
                )));
            }
            Some((f, to_classes(raw, k, "eval_labels").map_err(errors::core)?))
        }
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "give eval_features and eval_labels together",
            ))
        }
    };
    if weight_decay.is_some() && w.is_none() {
        return Err(PyValueError::new_err(
            "weight_decay (the MSE decomposition) needs the weights",
        ));
    }
    let ood = ood_features
        .as_ref()
        .map(|o| o.view("ood_features"))
        .transpose()?;
    let measurement = Measurement {
        input: CollapseInput {
            features: h,
            labels: &y,
            num_classes: k,
            weights: w,
            bias: b,
            predictions: predictions.as_deref(),
        },
        tree: tree.as_ref(),
        heldout: heldout.as_ref().map(|(f, l)| (*f, l.as_slice())),
        ood,
        mse_weight_decay: weight_decay,
    };
    let rows = py.detach(|| measurement.run()).map_err(|e| {
        errors::core_naming(
            e,
            &[
                ("held-out data: features", "eval_features"),
                ("held-out data", "eval_features, eval_labels"),
                ("out-of-distribution features", "ood_features"),
            ],
        )
    })?;
    to_dict(py, rows)
}

/// The address of the first element the extension reads of `array` (for the test that
/// contiguous arrays are not copied on their way in).
#[pyfunction]
pub fn _data_address(array: Floats<'_>) -> usize {
    array.address()
}

/// Where an accumulator stands.
enum Stage {
    Passes(Box<Passes>),
    Done(Box<Measured>),
}

/// See `nclab.Accumulator` (python/nclab/__init__.py) for the documentation.
#[pyclass(module = "nclab._nclab", name = "Accumulator")]
pub struct Accumulator {
    stage: Option<Stage>,
    k: usize,
    d: usize,
    /// Pass 2 was given the network's predictions.
    predictions: Option<bool>,
}

impl Accumulator {
    fn passes(&mut self) -> PyResult<&mut Passes> {
        match &mut self.stage {
            Some(Stage::Passes(p)) => Ok(p),
            _ => Err(PyValueError::new_err(
                "result() has been called: the accumulator is finished (start a new one)",
            )),
        }
    }
}

#[pymethods]
impl Accumulator {
    #[new]
    fn new(num_classes: usize, dim: usize) -> PyResult<Self> {
        if num_classes < 2 || dim == 0 {
            return Err(PyValueError::new_err(format!(
                "an accumulator needs at least 2 classes and 1 dimension, got num_classes={num_classes}, dim={dim}"
            )));
        }
        Ok(Accumulator {
            stage: Some(Stage::Passes(Box::new(
                Passes::new(num_classes, dim).map_err(errors::core)?,
            ))),
            k: num_classes,
            d: dim,
            predictions: None,
        })
    }

    #[getter]
    fn num_classes(&self) -> usize {
        self.k
    }

    #[getter]
    fn dim(&self) -> usize {
        self.d
    }

    /// 1 during pass 1, 2 during pass 2, 3 once finished.
    #[getter]
    fn current_pass(&self) -> u8 {
        match &self.stage {
            Some(Stage::Passes(p)) if p.in_second_pass() => 2,
            Some(Stage::Passes(_)) => 1,
            _ => 3,
        }
    }

    #[pyo3(signature = (features, labels, predictions=None))]
    fn add(
        &mut self,
        py: Python<'_>,
        features: Floats<'_>,
        labels: PyReadonlyArray1<'_, i64>,
        predictions: Option<PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<()> {
        let k = self.k;
        let h: MatrixView<'_> = features.view("features")?;
        let y = to_classes(integers(&labels, "labels")?, k, "labels").map_err(errors::core)?;
        let p = predictions
            .as_ref()
            .map(|p| {
                to_classes(integers(p, "predictions")?, k, "predictions").map_err(errors::core)
            })
            .transpose()?;
        let passes = self.passes()?;
        let in_second = passes.in_second_pass();
        // The core checks that pass 2 has predictions for every batch or for none.
        py.detach(|| passes.add(h, &y, p.as_deref()))
            .map_err(errors::core)?;
        if in_second && !y.is_empty() {
            self.predictions = Some(p.is_some());
        }
        Ok(())
    }

    #[pyo3(signature = (weights=None, bias=None))]
    fn second_pass(
        &mut self,
        weights: Option<Floats<'_>>,
        bias: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<()> {
        let classifier = classifier(weights.as_ref(), bias.as_ref(), self.k, self.d)?;
        self.passes()?.second_pass(classifier).map_err(errors::core)
    }

    #[pyo3(signature = (weights=None, bias=None, *, hierarchy=None, coarse_depth=None))]
    fn result<'py>(
        &mut self,
        py: Python<'py>,
        weights: Option<Floats<'py>>,
        bias: Option<PyReadonlyArray1<'py, f64>>,
        hierarchy: Option<Bound<'py, Hierarchy>>,
        coarse_depth: Option<Count>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tree = tree(hierarchy.as_ref(), self.k, coarse_depth.map(|c| c.0))?;
        let late = classifier(weights.as_ref(), bias.as_ref(), self.k, self.d)?;
        if let Some(Stage::Passes(p)) = &self.stage {
            if !p.in_second_pass() {
                return Err(PyValueError::new_err(
                    "pass 2 has not begun: call second_pass() and add the data again before result()",
                ));
            }
        }
        if let Some(Stage::Passes(p)) = &self.stage {
            // Checked before the passes are taken: a failed check leaves them as they were.
            p.check_passes().map_err(errors::core)?;
            let Some(Stage::Passes(p)) = self.stage.take() else {
                unreachable!("matched above")
            };
            let measured = py.detach(|| p.finish()).map_err(errors::core)?;
            self.stage = Some(Stage::Done(Box::new(measured)));
        }
        let Some(Stage::Done(measured)) = &mut self.stage else {
            unreachable!("finished above")
        };
        if let Some(c) = late {
            if measured.classifier.as_ref() == Some(&c) {
                // The classifier of pass 2, given again.
            } else if measured.classifier.is_some() {
                return Err(PyValueError::new_err(
                    "result(weights=...) differs from the classifier given to second_pass()",
                ));
            } else if self.predictions != Some(true) {
                return Err(PyValueError::new_err(
                    "NC4 compares the network's decisions during pass 2: give the weights to \
                     second_pass() (or predictions to add()), not only to result()",
                ));
            } else {
                measured.set_classifier(c).map_err(errors::core)?;
            }
        }
        let n = measured.scatter.n;
        let mut rows: Rows = vec![
            ("n".into(), Some(n as f64)),
            ("d".into(), Some(self.d as f64)),
            ("k".into(), Some(self.k as f64)),
        ];
        let metrics = measured.metrics(tree.as_ref()).map_err(errors::core)?;
        rows.extend(metrics.into_iter().map(|(k, v)| (k.to_string(), v)));
        to_dict(py, rows)
    }

    /// The held-out metrics (`heldout_nc1`, `heldout_nc4`, `heldout_ncc_accuracy`) of
    /// `features` and `labels` against the class means of the finished passes (and the
    /// classifier given to them).
    #[pyo3(signature = (features, labels))]
    fn heldout<'py>(
        &self,
        py: Python<'py>,
        features: Floats<'py>,
        labels: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Some(Stage::Done(measured)) = &self.stage else {
            return Err(PyValueError::new_err(
                "heldout() needs the finished passes: call result() first",
            ));
        };
        let (h, raw) = rows_and_labels(&features, &labels)?;
        let y = to_classes(raw, self.k, "labels").map_err(errors::core)?;
        let c = measured.classifier.as_ref();
        let input = CollapseInput {
            features: h,
            labels: &y,
            num_classes: self.k,
            weights: c.map(|c| MatrixView::f64(&c.weights, self.k, self.d)),
            bias: c.map(|c| c.bias.as_slice()),
            predictions: None,
        };
        let held = py
            .detach(|| heldout(&measured.stats, &input))
            .map_err(errors::core)?;
        let rows = held
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        to_dict(py, rows)
    }

    fn __repr__(&self) -> String {
        format!(
            "Accumulator(num_classes={}, dim={}, pass={})",
            self.k,
            self.d,
            self.current_pass()
        )
    }
}
