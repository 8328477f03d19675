//! Prometheus remote write 1.0: a `WriteRequest` of one sample per series, protobuf
//! encoded and snappy compressed (the block format), as the specification requires.

use prost::Message;

use crate::proto::prometheus::{
    metric_metadata::MetricType, Label, MetricMetadata, Sample, TimeSeries, WriteRequest,
};

/// One series: its labels (`__name__` among them), value, and time in milliseconds.
pub struct Series {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: i64,
}

/// A family's metadata: name, type (`counter`, `gauge`, `histogram`, `summary`), help.
pub struct Metadata {
    pub family: String,
    pub kind: String,
    pub help: String,
}

/// The snappy-compressed `WriteRequest` for `series`, each one's labels sorted by name
/// (the specification requires it).
#[must_use]
pub fn encode(series: Vec<Series>, metadata: Vec<Metadata>) -> Vec<u8> {
    let timeseries = series
        .into_iter()
        .map(|mut one| {
            one.labels.sort_by(|a, b| a.0.cmp(&b.0));
            TimeSeries {
                labels: one
                    .labels
                    .into_iter()
                    .map(|(name, value)| Label { name, value })
                    .collect(),
                samples: vec![Sample {
                    value: one.value,
                    timestamp: one.timestamp_ms,
                }],
                exemplars: Vec::new(),
            }
        })
        .collect();
    let metadata = metadata
        .into_iter()
        .map(|family| MetricMetadata {
            r#type: kind(&family.kind) as i32,
            metric_family_name: family.family,
            help: family.help,
            unit: String::new(),
        })
        .collect();
    let request = WriteRequest {
        timeseries,
        metadata,
    };
    compress(&request.encode_to_vec())
}

fn kind(kind: &str) -> MetricType {
    match kind {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        _ => MetricType::Unknown,
    }
}

/// Snappy's block format (not the framed one), as remote write and Loki use it.
#[must_use]
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    // Only an input beyond snappy's 4 GiB block limit fails; batches are far smaller.
    snap::raw::Encoder::new()
        .compress_vec(bytes)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_with_sorted_labels() {
        let body = encode(
            vec![Series {
                labels: vec![
                    ("job".into(), "app".into()),
                    ("__name__".into(), "jobs_total".into()),
                    ("Zone".into(), "a".into()),
                ],
                value: 3.5,
                timestamp_ms: 1_700_000_000_000,
            }],
            vec![Metadata {
                family: "jobs".into(),
                kind: "counter".into(),
                help: "Jobs".into(),
            }],
        );
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let request = WriteRequest::decode(raw.as_slice()).unwrap();
        let names: Vec<_> = request.timeseries[0]
            .labels
            .iter()
            .map(|label| label.name.as_str())
            .collect();
        assert_eq!(names, ["Zone", "__name__", "job"]);
        assert_eq!(
            request.timeseries[0].samples[0].value.to_bits(),
            3.5_f64.to_bits()
        );
        assert_eq!(request.metadata[0].r#type, MetricType::Counter as i32);
    }
}
