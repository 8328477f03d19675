//! Glue between Python and the pure Rust writers.

use pyo3::prelude::*;

/// Register this module's functions and constants on `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
