//! `observabilipy._native`: the Rust half of the encoders.
//!
//! This file only registers the module; each submodule owns its exports. The writers
//! (`prometheus`, `ndjson`, `fmt`) are pure Rust; `py` is the glue to Python.

use pyo3::prelude::*;

pub mod errors;
pub mod fmt;
pub mod ndjson;
pub mod prometheus;
mod py;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
