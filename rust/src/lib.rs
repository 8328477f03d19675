//! `observabilipy._native`: the Rust half of the encoders.
//!
//! This file only registers the module; each submodule owns its exports.

use pyo3::prelude::*;

mod py;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
