//! `nclab._nclab`: the compiled half of the Python package `nclab`. The Python layer
//! (python/nclab) turns NumPy arrays and PyTorch tensors into the contiguous arrays these
//! functions borrow, and documents the public API.

mod arrays;
mod data;
mod errors;
mod evaluate;
mod hierarchy;
mod measure;
mod runs;
mod tensors;

use pyo3::prelude::*;

#[pymodule]
fn _nclab(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<hierarchy::Hierarchy>()?;
    m.add_class::<measure::Accumulator>()?;
    m.add_class::<runs::RunWriter>()?;
    m.add_function(wrap_pyfunction!(measure::measure, m)?)?;
    m.add_function(wrap_pyfunction!(measure::_data_address, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate::_reference_loss, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate::_run_mistake_columns, m)?)?;
    m.add_function(wrap_pyfunction!(runs::analysis_epochs, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(tensors::load_tensors, m)?)?;
    Ok(())
}
