//! Glue between Python and the pure Rust writers.
//!
//! Each function reads Python's objects in the order the pure-Python encoder reads them,
//! failing where and as it fails, and copies their text into one owned buffer; the
//! writer then runs on that buffer, with the GIL released when the input is large, and
//! the result comes back as `bytes`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::thread::LocalKey;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use pyo3::{intern, wrap_pyfunction};

use crate::gzip;
use crate::json_scan;
use crate::ndjson::LogRows;
use crate::prometheus::{Exposition, Format};

mod bodies;
pub(crate) mod cells;
mod changes;
mod entry_batch;
mod entry_json;
mod entry_queue;
mod exemplars;
mod exposition;
mod histogram;
mod labels;
#[allow(unsafe_code)] // the C interface of the log call: see its module
mod level_call;
mod logger;
mod logs;
mod objects;
mod rendered;
pub(crate) mod series;
mod series_index;
mod wire;

/// Inputs with at least this many samples or rows are written with the GIL released:
/// below it, releasing and taking it back costs more than it frees.
const DETACH_AT: usize = 1_000;

/// Register this module's functions and constants on `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(encode_text, m)?)?;
    m.add_function(wrap_pyfunction!(encode_openmetrics, m)?)?;
    m.add_function(wrap_pyfunction!(encode_log_rows, m)?)?;
    m.add_function(wrap_pyfunction!(encode_text_gzip, m)?)?;
    m.add_function(wrap_pyfunction!(encode_openmetrics_gzip, m)?)?;
    m.add_class::<changes::Changes>()?;
    m.add_class::<cells::CounterCell>()?;
    m.add_class::<cells::CounterSeries>()?;
    m.add_class::<cells::GaugeCell>()?;
    m.add_class::<histogram::HistogramCell>()?;
    m.add_function(wrap_pyfunction!(histogram::histogram_samples, m)?)?;
    m.add_class::<histogram::HistogramSeries>()?;
    m.add_function(wrap_pyfunction!(cells::gauge_samples, m)?)?;
    m.add_function(wrap_pyfunction!(cells::counter_samples, m)?)?;
    m.add_function(wrap_pyfunction!(json_needs_care, m)?)?;
    m.add_function(wrap_pyfunction!(crate::sqlite_steps::run_steps, m)?)?;
    m.add_function(wrap_pyfunction!(exemplars::set_exemplar_source, m)?)?;
    m.add_function(wrap_pyfunction!(wire::encode_remote_write, m)?)?;
    m.add_function(wrap_pyfunction!(wire::encode_loki_push, m)?)?;
    m.add_function(wrap_pyfunction!(wire::decode_loki_push, m)?)?;
    m.add_function(wrap_pyfunction!(wire::encode_otlp_logs, m)?)?;
    m.add_function(wrap_pyfunction!(wire::encode_otlp_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(series::mark_changed, m)?)?;
    m.add_function(wrap_pyfunction!(series::add_floats, m)?)?;
    m.add_function(wrap_pyfunction!(series::sum_gauges, m)?)?;
    m.add_class::<series::SummedSeries>()?;
    m.add_class::<series_index::SeriesIndex>()?;
    m.add_class::<logger::LoggerCore>()?;
    m.add_class::<entry_queue::EntryQueue>()?;
    m.add_class::<entry_batch::EntryBatch>()?;
    level_call::add_level_methods(m.py())?;
    m.add_function(wrap_pyfunction!(logger::set_logger_hooks, m)?)?;
    Ok(())
}

/// Whether JSON text holds an integer that may lie beyond 64 bits, nests deeper than
/// `max_depth`, or is an array with an element longer than `max_element` bytes (see
/// `json_scan`).
#[pyfunction]
fn json_needs_care(py: Python<'_>, json: &[u8], max_element: usize, max_depth: usize) -> bool {
    if json.len() >= 64 * 1024 {
        py.detach(|| json_scan::needs_care(json, max_element, max_depth))
    } else {
        json_scan::needs_care(json, max_element, max_depth)
    }
}

/// Prometheus text format 0.0.4.
#[pyfunction]
fn encode_text<'py>(families: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    encode_families(families, Format::Text)
}

/// OpenMetrics 1.0.0 text, ending with `# EOF`.
#[pyfunction]
fn encode_openmetrics<'py>(families: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    encode_families(families, Format::OpenMetrics)
}

/// NDJSON for stored rows whose attributes are already JSON text (the SQLite path).
#[pyfunction]
fn encode_log_rows<'py>(rows: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let py = rows.py();
    with_buffers(&LOG_ROWS, |logs, out| {
        if let Ok(list) = rows.cast_exact::<PyList>() {
            for row in list.iter() {
                logs::read_row(&row, logs)?;
            }
        } else {
            for row in rows.try_iter()? {
                logs::read_row(&row?, logs)?;
            }
        }
        if logs.len() >= DETACH_AT {
            py.detach(|| logs.encode_into(out));
        } else {
            logs.encode_into(out);
        }
        Ok(PyBytes::new(py, out))
    })
}

/// Prometheus text format 0.0.4, gzipped: `gzip.decompress` gives `encode_text`'s bytes.
#[pyfunction]
fn encode_text_gzip<'py>(families: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    encode_families_gzip(families, Format::Text)
}

/// OpenMetrics 1.0.0 text, gzipped: `gzip.decompress` gives `encode_openmetrics`'s bytes.
#[pyfunction]
fn encode_openmetrics_gzip<'py>(families: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    encode_families_gzip(families, Format::OpenMetrics)
}

/// The exposition cut into parts, each encoded and deflated on a thread of its own.
fn encode_families_gzip<'py>(
    families: &Bound<'py, PyAny>,
    format: Format,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = families.py();
    with_buffers(&EXPOSITION, |exposition, out| {
        if exposition::read_families(families, exposition, format)? {
            exposition.encode_into(out, format);
            let text = surrogate_failure(py, out)?;
            return Ok(PyBytes::new(py, &gzip::compress(text.as_bytes())));
        }
        if exposition.has_chunks() {
            let runs = exposition.runs(format);
            return bodies::same_or(py, &runs, format, true, || {
                let compress = || gzip::compress_runs(&runs.for_gzip());
                Ok(PyBytes::new(py, &py.detach(compress)))
            });
        }
        let encode = || {
            let threads = gzip::parts_for(exposition.text_len(), gzip::threads());
            let parts = exposition.split(threads);
            gzip::compress_parts(parts.len(), |i| {
                let mut text = Vec::new();
                exposition.encode_part_into(&mut text, format, parts[i].clone());
                Cow::Owned(text)
            })
        };
        let zipped = if exposition.len() >= DETACH_AT {
            py.detach(encode)
        } else {
            encode()
        };
        Ok(PyBytes::new(py, &zipped))
    })
}

fn encode_families<'py>(
    families: &Bound<'py, PyAny>,
    format: Format,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = families.py();
    with_buffers(&EXPOSITION, |exposition, out| {
        let surrogates = exposition::read_families(families, exposition, format)?;
        if exposition.has_chunks() && !surrogates {
            // Written straight into the bytes object: most of the text is copied once.
            let runs = exposition.runs(format);
            return bodies::same_or(py, &runs, format, false, || {
                let length = runs.texts().map(<[u8]>::len).sum();
                PyBytes::new_with(py, length, |bytes| {
                    let mut at = 0;
                    for text in runs.texts() {
                        bytes[at..at + text.len()].copy_from_slice(text);
                        at += text.len();
                    }
                    Ok(())
                })
            });
        }
        if exposition.len() >= DETACH_AT {
            py.detach(|| exposition.encode_into(out, format));
        } else {
            exposition.encode_into(out, format);
        }
        if surrogates {
            return surrogate_failure(py, out);
        }
        Ok(PyBytes::new(py, out))
    })
}

/// Python fails on the whole text's `.encode()`: let it, on the same text, so the
/// `UnicodeEncodeError` names the same characters at the same position.
fn surrogate_failure<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let text =
        PyBytes::new(py, text).call_method1(intern!(py, "decode"), ("utf-8", "surrogatepass"))?;
    Ok(text.call_method0(intern!(py, "encode"))?.cast_into()?)
}

/// Buffers that outlive a call, so the next call on the thread writes into memory
/// already mapped: faulting fresh pages in from the OS costs more than the encoding.
trait Reusable: Default {
    fn clear(&mut self);
    fn capacity(&self) -> usize;
}

impl Reusable for Exposition {
    fn clear(&mut self) {
        Exposition::clear(self);
    }
    fn capacity(&self) -> usize {
        Exposition::capacity(self)
    }
}

impl Reusable for LogRows {
    fn clear(&mut self) {
        LogRows::clear(self);
    }
    fn capacity(&self) -> usize {
        LogRows::capacity(self)
    }
}

/// A thread keeps at most this many bytes of buffers between calls.
const KEEP_AT_MOST: usize = 64 << 20;

thread_local! {
    static EXPOSITION: RefCell<(Exposition, Vec<u8>)> = RefCell::default();
    static LOG_ROWS: RefCell<(LogRows, Vec<u8>)> = RefCell::default();
}

/// Run `f` with this thread's input and output buffers, empty; fresh ones if a call is
/// already using them (Python code run while reading, e.g. a `__repr__`, may call us).
fn with_buffers<T: Reusable + 'static, R>(
    key: &'static LocalKey<RefCell<(T, Vec<u8>)>>,
    f: impl FnOnce(&mut T, &mut Vec<u8>) -> R,
) -> R {
    key.with(|cell| {
        let Ok(mut buffers) = cell.try_borrow_mut() else {
            return f(&mut T::default(), &mut Vec::new());
        };
        let (input, output) = &mut *buffers;
        let result = f(input, output);
        if input.capacity() + output.capacity() > KEEP_AT_MOST {
            *buffers = <(T, Vec<u8>)>::default();
        } else {
            input.clear();
            output.clear();
        }
        result
    })
}
