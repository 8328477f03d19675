//! OTLP/HTTP protobuf bodies: an `ExportLogsServiceRequest` for log rows and an
//! `ExportMetricsServiceRequest` for metric totals (counters as cumulative monotonic
//! sums, gauges, histograms with explicit bounds, summaries without quantiles).

use std::collections::HashMap;

use prost::Message;

use crate::loki::nanoseconds;

use crate::proto::opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::proto::opentelemetry::proto::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use crate::proto::opentelemetry::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::proto::opentelemetry::proto::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use crate::proto::opentelemetry::proto::resource::v1::Resource;

/// An attribute value: what JSON holds, as OTLP's `AnyValue`.
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    /// A JSON value as it is stored (integers beyond 64 bits are text already).
    fn from_json(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(flag) => Self::Bool(*flag),
            serde_json::Value::Number(number) => number.as_i64().map_or_else(
                || match number.as_u64() {
                    Some(big) => Self::Text(big.to_string()),
                    None => Self::Double(number.as_f64().unwrap_or(f64::NAN)),
                },
                Self::Int,
            ),
            serde_json::Value::String(text) => Self::Text(text.clone()),
            serde_json::Value::Array(items) => {
                Self::Array(items.iter().map(Self::from_json).collect())
            }
            serde_json::Value::Object(map) => Self::Map(
                map.iter()
                    .map(|(key, value)| (key.clone(), Self::from_json(value)))
                    .collect(),
            ),
        }
    }

    fn any(self) -> AnyValue {
        let value = match self {
            Self::Null => None,
            Self::Bool(flag) => Some(any_value::Value::BoolValue(flag)),
            Self::Int(number) => Some(any_value::Value::IntValue(number)),
            Self::Double(number) => Some(any_value::Value::DoubleValue(number)),
            Self::Text(text) => Some(any_value::Value::StringValue(text)),
            Self::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
                values: items.into_iter().map(Self::any).collect(),
            })),
            Self::Map(pairs) => Some(any_value::Value::KvlistValue(KeyValueList {
                values: key_values(pairs),
            })),
        };
        AnyValue { value }
    }
}

fn key_values(pairs: Vec<(String, Value)>) -> Vec<KeyValue> {
    pairs
        .into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: Some(value.any()),
            ..KeyValue::default()
        })
        .collect()
}

fn resource(attributes: Vec<(String, String)>) -> Resource {
    let attributes = attributes
        .into_iter()
        .map(|(key, text)| (key, Value::Text(text)))
        .collect();
    Resource {
        attributes: key_values(attributes),
        ..Resource::default()
    }
}

fn scope(name: String) -> InstrumentationScope {
    InstrumentationScope {
        name,
        ..InstrumentationScope::default()
    }
}

/// One log row: time, severity number and text, message, logger, attributes.
pub struct Log {
    pub time_ns: u64,
    pub severity: i32,
    pub level: String,
    pub message: String,
    pub logger: String,
    pub attributes: Vec<(String, Value)>,
}

/// The logs request for `GET /logs` lines, each level's severity number from
/// `severities`.
///
/// # Errors
/// A line that is not a `GET /logs` object, named by its position.
pub fn logs_from_ndjson(
    resource_attributes: Vec<(String, String)>,
    ndjson: &[u8],
    severities: &HashMap<String, i32, impl std::hash::BuildHasher>,
) -> Result<Vec<u8>, String> {
    let mut rows = Vec::new();
    let lines = ndjson
        .split(|byte| *byte == b'\n')
        .filter(|l| !l.is_empty());
    for (number, line) in lines.enumerate() {
        let row: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| format!("line {number}: {e}"))?;
        let text = |field: &str| {
            row.get(field)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("line {number}: no text {field:?}"))
        };
        let level = text("level")?;
        let time_ns = nanoseconds(&text("timestamp")?)
            .and_then(|nanos| u64::try_from(nanos).ok())
            .unwrap_or(0); // before 1970: OTLP's "unknown" rather than a wrapped time
        let attributes = match row.get("attributes") {
            Some(serde_json::Value::Object(map)) => map
                .iter()
                .map(|(key, value)| (key.clone(), Value::from_json(value)))
                .collect(),
            _ => Vec::new(),
        };
        rows.push(Log {
            time_ns,
            severity: severities.get(&level).copied().unwrap_or(0),
            level,
            message: text("message")?,
            logger: text("logger")?,
            attributes,
        });
    }
    Ok(logs(resource_attributes, rows))
}

/// The logs request: one scope per logger name, in the order loggers first appear.
#[must_use]
pub fn logs(resource_attributes: Vec<(String, String)>, logs: Vec<Log>) -> Vec<u8> {
    let mut scopes: Vec<ScopeLogs> = Vec::new();
    for log in logs {
        let record = LogRecord {
            time_unix_nano: log.time_ns,
            observed_time_unix_nano: log.time_ns,
            severity_number: log.severity,
            severity_text: log.level,
            body: Some(Value::Text(log.message).any()),
            attributes: key_values(log.attributes),
            ..LogRecord::default()
        };
        let at = scopes
            .iter()
            .position(|scope| scope.scope.as_ref().is_some_and(|s| s.name == log.logger));
        match at {
            Some(at) => scopes[at].log_records.push(record),
            None => scopes.push(ScopeLogs {
                scope: Some(scope(log.logger)),
                log_records: vec![record],
                ..ScopeLogs::default()
            }),
        }
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource(resource_attributes)),
            scope_logs: scopes,
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

/// One series' point, by the kind of its family.
pub enum Point {
    Number(f64),
    Histogram {
        count: u64,
        sum: f64,
        bounds: Vec<f64>,
        counts: Vec<u64>,
    },
    Summary {
        count: u64,
        sum: f64,
    },
}

/// A family: name, help, kind (`counter`, `gauge`, `histogram`, `summary`), and each
/// series' label pairs with its point.
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: String,
    pub points: Vec<(Vec<(String, String)>, Point)>,
}

/// The metrics request, every point cumulative from `start_ns`, read at `time_ns`.
#[must_use]
pub fn metrics(
    resource_attributes: Vec<(String, String)>,
    scope_name: String,
    start_ns: u64,
    time_ns: u64,
    families: Vec<Family>,
) -> Vec<u8> {
    let metrics = families
        .into_iter()
        .map(|family| Metric {
            data: Some(data(&family.kind, family.points, start_ns, time_ns)),
            name: family.name,
            description: family.help,
            ..Metric::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(resource_attributes)),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope(scope_name)),
                metrics,
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
    .encode_to_vec()
}

fn attributes(labels: Vec<(String, String)>) -> Vec<KeyValue> {
    key_values(
        labels
            .into_iter()
            .map(|(key, text)| (key, Value::Text(text)))
            .collect(),
    )
}

fn data(
    kind: &str,
    points: Vec<(Vec<(String, String)>, Point)>,
    start_ns: u64,
    time_ns: u64,
) -> metric::Data {
    let cumulative = AggregationTemporality::Cumulative as i32;
    let numbers = |points: Vec<(Vec<(String, String)>, Point)>| -> Vec<NumberDataPoint> {
        points
            .into_iter()
            .filter_map(|(labels, point)| match point {
                Point::Number(value) => Some(NumberDataPoint {
                    attributes: attributes(labels),
                    start_time_unix_nano: start_ns,
                    time_unix_nano: time_ns,
                    value: Some(number_data_point::Value::AsDouble(value)),
                    ..NumberDataPoint::default()
                }),
                _ => None,
            })
            .collect()
    };
    match kind {
        "counter" => metric::Data::Sum(Sum {
            data_points: numbers(points),
            aggregation_temporality: cumulative,
            is_monotonic: true,
        }),
        "histogram" => metric::Data::Histogram(Histogram {
            data_points: points
                .into_iter()
                .filter_map(|(labels, point)| match point {
                    Point::Histogram {
                        count,
                        sum,
                        bounds,
                        counts,
                    } => Some(HistogramDataPoint {
                        attributes: attributes(labels),
                        start_time_unix_nano: start_ns,
                        time_unix_nano: time_ns,
                        count,
                        sum: Some(sum),
                        bucket_counts: counts,
                        explicit_bounds: bounds,
                        ..HistogramDataPoint::default()
                    }),
                    _ => None,
                })
                .collect(),
            aggregation_temporality: cumulative,
        }),
        "summary" => metric::Data::Summary(Summary {
            data_points: points
                .into_iter()
                .filter_map(|(labels, point)| match point {
                    Point::Summary { count, sum } => Some(SummaryDataPoint {
                        attributes: attributes(labels),
                        start_time_unix_nano: start_ns,
                        time_unix_nano: time_ns,
                        count,
                        sum,
                        ..SummaryDataPoint::default()
                    }),
                    _ => None,
                })
                .collect(),
        }),
        _ => metric::Data::Gauge(Gauge {
            data_points: numbers(points),
        }),
    }
}
