//! The last body made of kept lines, per format and encoding. A scrape whose runs are
//! those of the last one (no value changed, no series came or went, the same text
//! written around them) is the same text: it gets the same `bytes` object back instead
//! of a copy of every line (and, gzipped, the same member instead of a new one).

use std::sync::{LazyLock, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::rendered::unless_busy;
use crate::prometheus::{Format, Runs, RunsKey};

struct Last {
    key: RunsKey,
    body: Py<PyBytes>,
}

/// Text and OpenMetrics, each identity and gzipped.
static LAST: LazyLock<Mutex<[Option<Last>; 4]>> = LazyLock::new(Mutex::default);

fn slot(format: Format, zipped: bool) -> usize {
    usize::from(format == Format::OpenMetrics) * 2 + usize::from(zipped)
}

/// The slots, unless another thread is using them (the body is then made afresh).
fn lock() -> Option<MutexGuard<'static, [Option<Last>; 4]>> {
    unless_busy(&LAST)
}

/// The last body made of the same runs in `format` (gzipped or not), or the one `make`
/// makes now, kept for the next call.
pub fn same_or<'py>(
    py: Python<'py>,
    runs: &Runs<'_>,
    format: Format,
    zipped: bool,
    make: impl FnOnce() -> PyResult<Bound<'py, PyBytes>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let at = slot(format, zipped);
    if let Some(last) = lock() {
        if let Some(last) = last[at].as_ref().filter(|last| runs.is(&last.key)) {
            return Ok(last.body.bind(py).clone());
        }
    }
    let body = make()?;
    if let Some(mut last) = lock() {
        last[at] = Some(Last {
            key: runs.key(),
            body: body.clone().unbind(),
        });
    }
    Ok(body)
}
