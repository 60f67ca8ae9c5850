//! nclab's errors as Python exceptions: files that cannot be read or written raise `OSError`,
//! every other bad input `ValueError`, with the message the CLI prints.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::PyErr;

/// A core error as a Python exception.
pub fn core(e: nclab_core::Error) -> PyErr {
    match e {
        nclab_core::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A core error as a Python exception, its message naming the input it blames by the
/// argument that gave it (`held-out data (eval_features, eval_labels): ...`): `roles` as
/// `nclab_core::error::with_input_names` takes them.
pub fn core_naming(e: nclab_core::Error, roles: &[(&str, &str)]) -> PyErr {
    match nclab_core::error::with_input_names(&e.to_string(), roles) {
        Some(message) if !matches!(e, nclab_core::Error::Io { .. }) => {
            PyValueError::new_err(message)
        }
        _ => core(e),
    }
}

/// An error of nclab-runs (with its context chain) as a Python exception: `OSError` when an
/// operating-system error is at its root.
pub fn runs(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    let io = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some()
            || matches!(
                c.downcast_ref::<nclab_core::Error>(),
                Some(nclab_core::Error::Io { .. })
            )
    });
    if io {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}
