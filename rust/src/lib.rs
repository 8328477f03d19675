//! `observabilipy._native`: the Rust half of the encoders.
//!
//! This file only registers the module; each submodule owns its exports. The writers
//! (`prometheus`, `ndjson`, `fmt`) and `gzip` (response bodies deflated on several
//! threads) are pure Rust; `py` is the glue to Python and `sqlite_ext` a SQLite
//! extension reading stored logs as NDJSON (with `sqlite_batch`, the writer's batches
//! as rows).

use pyo3::prelude::*;

pub mod batch;
pub mod chunk;
pub mod errors;
pub mod fmt;
pub mod fsum;
pub mod gzip;
pub mod json_scan;
pub mod json_valid;
pub mod loki;
pub mod ndjson;
pub mod otlp;
pub mod prometheus;
pub mod proto;
mod py;
pub mod remote_write;
// The modules that speak C: SQLite's extension interface (and, in `py`, one libc
// clock call in `exemplars`, list items read without reference counting in `cells`
// and `objects`, and the log call's fast-call methods in `level_call`).
#[allow(unsafe_code)]
pub mod sqlite_batch;
#[allow(unsafe_code)]
pub mod sqlite_ext;
#[allow(unsafe_code)]
pub mod sqlite_steps;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
