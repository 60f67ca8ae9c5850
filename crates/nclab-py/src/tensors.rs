//! `.safetensors` files as NumPy arrays: a run's `final.safetensors` (final features, logits
//! and classifier) or any other file nclab writes or reads, through nclab-core's reader.

use half::{bf16, f16};
use nclab_core::io::safetensors;
use nclab_core::tensor::{DType, Tensor};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{Element, PyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;
use std::path::PathBuf;

use crate::errors;

/// `{name: array}` for every tensor of a `.safetensors` file, each a NumPy array of the
/// file's shape and dtype (bfloat16, which NumPy lacks, widened to float32 exactly). The
/// file is checked as `nclab measure` checks it; the arrays are copies, so the file may be
/// changed or removed afterwards.
#[pyfunction]
pub fn load_tensors<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let file = py
        .detach(|| safetensors::read(&path))
        .map_err(errors::core)?;
    let out = PyDict::new(py);
    for (name, tensor) in &file.tensors {
        let at = || format!("{}: tensor {name:?}", path.display());
        let dims = tensor.shape().len();
        if dims > MAX_DIMS {
            return Err(PyValueError::new_err(format!(
                "{}: {dims} dimensions; a NumPy array has at most {MAX_DIMS}",
                at()
            )));
        }
        let array = to_numpy(py, tensor)
            .map_err(|e| PyValueError::new_err(format!("{}: {}", at(), e.value(py))))?;
        out.set_item(name, array)?;
    }
    Ok(out)
}

/// The most dimensions a NumPy array may have (`NPY_MAXDIMS` of the NumPy 1.x ABI that the
/// bindings build against).
const MAX_DIMS: usize = 32;

/// One tensor as an owned NumPy array of its dtype.
fn to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let bytes = t.bytes();
    match t.dtype() {
        DType::Bool => array(py, t, bytes.iter().map(|&b| b != 0).collect()),
        DType::U8 => array(py, t, bytes.to_vec()),
        DType::I8 => array::<i8>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::U16 => array::<u16>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::I16 => array::<i16>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::U32 => array::<u32>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::I32 => array::<i32>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::U64 => array::<u64>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::I64 => array::<i64>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::F16 => array::<f16>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::BF16 => {
            let bits: Vec<bf16> = bytemuck::pod_collect_to_vec(bytes);
            array(py, t, bits.into_iter().map(f32::from).collect())
        }
        DType::F32 => array::<f32>(py, t, bytemuck::pod_collect_to_vec(bytes)),
        DType::F64 => array::<f64>(py, t, bytemuck::pod_collect_to_vec(bytes)),
    }
}

fn array<'py, T: Element>(
    py: Python<'py>,
    t: &Tensor,
    data: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(t.shape()), data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    PyArrayDyn::from_owned_array(py, a).into_bound_py_any(py)
}
