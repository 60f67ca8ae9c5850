//! `nclab.load_dataset`: the datasets `nclab train` reads (MNIST, Fashion-MNIST, CIFAR-10/100
//! from their files under the data root, and the synthetic Gaussian mixtures), as arrays.

use std::path::PathBuf;

use nclab_core::data::{self, Inputs, Split};
use numpy::ndarray::{Array2, Array4};
use numpy::{PyArray1, PyArray2, PyArray4};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::errors;

/// A split as Python sees it: inputs (an image or vector array), int64 labels, class names.
type SplitArrays<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray1<i64>>, Vec<String>);

/// `(inputs, labels, class_names)` of one split: inputs `uint8` `N x C x H x W` for images,
/// `float32` `N x dim` for synthetic vectors; labels `int64`.
#[pyfunction]
#[pyo3(signature = (name, split="train", root=None))]
pub fn load_dataset<'py>(
    py: Python<'py>,
    name: &str,
    split: &str,
    root: Option<PathBuf>,
) -> PyResult<SplitArrays<'py>> {
    let split = match split {
        "train" => Split::Train,
        "test" => Split::Test,
        other => {
            return Err(PyValueError::new_err(format!(
                "split must be \"train\" or \"test\", got {other:?}"
            )))
        }
    };
    let root = root.unwrap_or_else(data::data_root);
    let set = py
        .detach(|| data::load(name, &root, split))
        .map_err(errors::core)?;
    let n = set.len();
    let shape_error = |e: numpy::ndarray::ShapeError| PyValueError::new_err(e.to_string());
    let inputs = match set.inputs {
        Inputs::Images {
            data,
            channels,
            height,
            width,
        } => PyArray4::from_owned_array(
            py,
            Array4::from_shape_vec((n, channels, height, width), data).map_err(shape_error)?,
        )
        .into_bound_py_any(py)?,
        Inputs::Vectors { data, dim } => PyArray2::from_owned_array(
            py,
            Array2::from_shape_vec((n, dim), data).map_err(shape_error)?,
        )
        .into_bound_py_any(py)?,
    };
    let labels: Vec<i64> = set.labels.iter().map(|&v| v as i64).collect();
    Ok((inputs, PyArray1::from_vec(py, labels), set.class_names))
}
