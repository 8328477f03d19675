//! Glue for the shipping codecs: remote write and OTLP bodies from plain Python values.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::collections::HashMap;

use pyo3::types::{PyBytes, PyList};

use crate::gzip;
use crate::loki;
use crate::otlp::{self, Family, Point};
use crate::remote_write::{self, Metadata, Series};

type Labels = Vec<(String, String)>;

/// A snappy-compressed remote write `WriteRequest`: `series` as `(labels, value,
/// timestamp_ms)` (`__name__` among the labels), `metadata` as `(family, kind, help)`.
#[pyfunction]
pub fn encode_remote_write(
    py: Python<'_>,
    series: Vec<(Labels, f64, i64)>,
    metadata: Vec<(String, String, String)>,
) -> Bound<'_, PyBytes> {
    let series = series
        .into_iter()
        .map(|(labels, value, timestamp_ms)| Series {
            labels,
            value,
            timestamp_ms,
        })
        .collect();
    let metadata = metadata
        .into_iter()
        .map(|(family, kind, help)| Metadata { family, kind, help })
        .collect();
    PyBytes::new(py, &remote_write::encode(series, metadata))
}

/// Loki's push request for a batch's `GET /logs` lines: snappy protobuf when
/// `protobuf`, else gzipped JSON; streams labelled with `labels` plus `level` and
/// `logger`; `whole_line` sends each line as it is instead of the message with the
/// attributes as structured metadata. Built without the GIL.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // PyO3 extracts arguments by value
pub fn encode_loki_push<'py>(
    py: Python<'py>,
    ndjson: &[u8],
    labels: Labels,
    whole_line: bool,
    protobuf: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let body = py.detach(|| {
        if protobuf {
            loki::push_protobuf(ndjson, &labels, whole_line)
        } else {
            loki::push_json(ndjson, &labels, whole_line).map(|json| gzip::compress_on(&json, 1))
        }
    });
    let body =
        body.map_err(|error| PyValueError::new_err(format!("not GET /logs lines: {error}")))?;
    Ok(PyBytes::new(py, &body))
}

/// Loki entries as `(stream labels text, [(nanoseconds, line, [(name, value), ...])])`,
/// from a snappy protobuf push of at most `limit` bytes inflated; `ValueError` saying
/// what is wrong otherwise.
#[pyfunction]
pub fn decode_loki_push(py: Python<'_>, body: &[u8], limit: usize) -> PyResult<Vec<LokiStream>> {
    let push = py
        .detach(|| loki::decode_push(body, limit))
        .map_err(PyValueError::new_err)?;
    Ok(push
        .streams
        .into_iter()
        .map(|stream| {
            let entries = stream
                .entries
                .into_iter()
                .map(|entry| {
                    let stamp = entry.timestamp.unwrap_or_default();
                    let nanos = i128::from(stamp.seconds) * 1_000_000_000 + i128::from(stamp.nanos);
                    let metadata = entry
                        .structured_metadata
                        .into_iter()
                        .map(|pair| (pair.name, pair.value))
                        .collect();
                    (nanos, entry.line, metadata)
                })
                .collect();
            (stream.labels, entries)
        })
        .collect())
}

type LokiStream = (String, Vec<(i128, String, Labels)>);

/// An OTLP `ExportLogsServiceRequest` for a batch's `GET /logs` lines: each level's
/// severity number from `severities` (the one rule is `core.levels`'), attributes
/// typed as JSON has them. Built without the GIL.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // PyO3 extracts arguments by value
pub fn encode_otlp_logs<'py>(
    py: Python<'py>,
    resource: Labels,
    ndjson: &[u8],
    severities: HashMap<String, i32>,
) -> PyResult<Bound<'py, PyBytes>> {
    let body = py.detach(|| otlp::logs_from_ndjson(resource, ndjson, &severities));
    let body =
        body.map_err(|error| PyValueError::new_err(format!("not GET /logs lines: {error}")))?;
    Ok(PyBytes::new(py, &body))
}

/// An OTLP `ExportMetricsServiceRequest`: `families` as `(name, help, kind, points)`, a
/// point `(labels, value)` for counters and gauges, `(labels, count, sum, bounds,
/// bucket_counts)` for histograms (counts per bucket, not cumulative), `(labels, count,
/// sum)` for summaries.
#[pyfunction]
pub fn encode_otlp_metrics<'py>(
    py: Python<'py>,
    resource: Labels,
    scope: String,
    start_ns: u64,
    time_ns: u64,
    families: Vec<(String, String, String, Bound<'py, PyList>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let families = families
        .into_iter()
        .map(|(name, help, kind, points)| {
            let points = points
                .iter()
                .map(|point| self::point(&kind, &point))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(Family {
                name,
                help,
                kind,
                points,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let body = otlp::metrics(resource, scope, start_ns, time_ns, families);
    Ok(PyBytes::new(py, &body))
}

fn point(kind: &str, point: &Bound<'_, PyAny>) -> PyResult<(Labels, Point)> {
    Ok(match kind {
        "counter" | "gauge" => {
            let (labels, value): (Labels, f64) = point.extract()?;
            (labels, Point::Number(value))
        }
        "histogram" => {
            let (labels, count, sum, bounds, counts): (Labels, u64, f64, Vec<f64>, Vec<u64>) =
                point.extract()?;
            if counts.len() != bounds.len() + 1 {
                return Err(PyValueError::new_err(format!(
                    "a histogram point needs one count more than its {} bounds, got {}",
                    bounds.len(),
                    counts.len()
                )));
            }
            (
                labels,
                Point::Histogram {
                    count,
                    sum,
                    bounds,
                    counts,
                },
            )
        }
        "summary" => {
            let (labels, count, sum): (Labels, u64, f64) = point.extract()?;
            (labels, Point::Summary { count, sum })
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown metric kind {kind:?}"
            )))
        }
    })
}
