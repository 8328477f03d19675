//! Glue for the shipping codecs: remote write and OTLP bodies from plain Python values.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::otlp::{self, Family, Log, Point, Value};
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

/// An OTLP `ExportLogsServiceRequest`: `logs` as `(time_ns, severity_number, level,
/// message, logger, attributes)`, attributes a dict of JSON values.
#[pyfunction]
pub fn encode_otlp_logs<'py>(
    py: Python<'py>,
    resource: Labels,
    logs: Vec<(u64, i32, String, String, String, Bound<'py, PyDict>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let logs = logs
        .into_iter()
        .map(|(time_ns, severity, level, message, logger, attributes)| {
            Ok(Log {
                time_ns,
                severity,
                level,
                message,
                logger,
                attributes: pairs(&attributes)?,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyBytes::new(py, &otlp::logs(resource, logs)))
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

fn pairs(map: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Value)>> {
    map.iter()
        .map(|(key, value)| Ok((key.str()?.to_string(), json_value(&value)?)))
        .collect()
}

/// A JSON value (as `orjson.loads` gives it) as an OTLP attribute value; anything else
/// as its `str()`.
fn json_value(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    Ok(if value.is_none() {
        Value::Null
    } else if let Ok(flag) = value.cast::<PyBool>() {
        Value::Bool(flag.is_true())
    } else if value.is_instance_of::<PyInt>() {
        // Integers beyond 64 bits keep every digit as text.
        value
            .extract::<i64>()
            .map_or_else(|_| Value::Text(value.to_string()), Value::Int)
    } else if let Ok(float) = value.cast::<PyFloat>() {
        Value::Double(float.value())
    } else if let Ok(text) = value.cast::<PyString>() {
        Value::Text(text.to_string_lossy().into_owned())
    } else if let Ok(map) = value.cast::<PyDict>() {
        Value::Map(pairs(map)?)
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        Value::Array(
            value
                .try_iter()?
                .map(|item| json_value(&item?))
                .collect::<PyResult<_>>()?,
        )
    } else {
        Value::Text(value.str()?.to_string())
    })
}
