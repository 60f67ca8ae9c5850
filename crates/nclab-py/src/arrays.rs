//! NumPy arrays as nclab-core views, without copying.
//!
//! The Python layer (`nclab/_arrays.py`) hands over C-contiguous arrays: floating-point
//! features as float16, float32 or float64, bfloat16 as its raw 16 bits (uint16, since NumPy
//! has no bfloat16 of its own), and labels as int64. Here they are borrowed in place.

use half::{bf16, f16};
use nclab_core::tensor::{MatrixView, Rows};
use numpy::{PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A 2-D floating-point array borrowed from NumPy.
#[derive(FromPyObject)]
pub enum Floats<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
    F16(PyReadonlyArray2<'py, f16>),
    /// bfloat16 values as their bits.
    BF16(PyReadonlyArray2<'py, u16>),
}

impl<'py> Floats<'py> {
    /// The array as a row-major matrix view; `what` names it in errors.
    pub fn view(&self, what: &str) -> PyResult<MatrixView<'_>> {
        let not_contiguous = || {
            PyValueError::new_err(format!(
                "{what}: the array is not C-contiguous (internal: nclab's Python layer makes it so)"
            ))
        };
        let (shape, rows) = match self {
            Floats::F32(a) => (
                a.shape(),
                Rows::F32(a.as_slice().map_err(|_| not_contiguous())?),
            ),
            Floats::F64(a) => (
                a.shape(),
                Rows::F64(a.as_slice().map_err(|_| not_contiguous())?),
            ),
            Floats::F16(a) => (
                a.shape(),
                Rows::F16(a.as_slice().map_err(|_| not_contiguous())?),
            ),
            Floats::BF16(a) => {
                let bits = a.as_slice().map_err(|_| not_contiguous())?;
                (
                    a.shape(),
                    Rows::BF16(bytemuck::cast_slice::<u16, bf16>(bits)),
                )
            }
        };
        if !self.is_c_contiguous() {
            return Err(not_contiguous());
        }
        MatrixView::try_new(rows, shape[0], shape[1])
            .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
    }

    fn is_c_contiguous(&self) -> bool {
        match self {
            Floats::F32(a) => a.is_c_contiguous(),
            Floats::F64(a) => a.is_c_contiguous(),
            Floats::F16(a) => a.is_c_contiguous(),
            Floats::BF16(a) => a.is_c_contiguous(),
        }
    }

    /// The address of the first element (for the test that no copy is made).
    pub fn address(&self) -> usize {
        match self {
            Floats::F32(a) => a.data() as usize,
            Floats::F64(a) => a.data() as usize,
            Floats::F16(a) => a.data() as usize,
            Floats::BF16(a) => a.data() as usize,
        }
    }
}

/// A 1-D int64 array borrowed from NumPy.
pub fn integers<'a>(a: &'a PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<&'a [i64]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{what}: the array is not contiguous")))
}

/// A 1-D float64 array borrowed from NumPy.
pub fn floats<'a>(a: &'a PyReadonlyArray1<'_, f64>, what: &str) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{what}: the array is not contiguous")))
}

/// A count or depth given from Python (`num_classes`, `depth`, `epochs`): an int of at
/// least 0. Anything else is a `TypeError`, which pyo3 prefixes with the argument's name
/// (`argument 'depth': expected a whole number >= 0, got -1`); its own `usize` extraction
/// raised an `OverflowError` that named nothing.
pub struct Count(pub usize);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let value: Option<i128> = obj.extract().ok();
        match value.map(usize::try_from) {
            Some(Ok(n)) => Ok(Count(n)),
            _ => Err(PyTypeError::new_err(format!(
                "expected a whole number >= 0, got {}",
                obj.repr()
                    .map_or_else(|_| "?".to_string(), |r| r.to_string())
            ))),
        }
    }
}
