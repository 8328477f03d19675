//! Loki's push API both ways. Out: the JSON push body (as `adapters/exporters/loki.py`
//! builds it in Python) and the snappy protobuf one (what Alloy's `loki.write` sends)
//! from `GET /logs` lines: streams keyed by the fixed labels plus `level` and `logger`,
//! in the order they first appear. In: a protobuf push decoded for `POST
//! /loki/api/v1/push`. The work runs without the GIL.
//!
//! Loki publishes its `push.proto` in no package we can build from, so its four
//! messages are declared here for prost, field for field as Loki's wire format has
//! them (`logproto.PushRequest`, `StreamAdapter`, `EntryAdapter`, `LabelPairAdapter`).

use prost::Message;
use serde_json::{Map, Value};

use crate::remote_write::compress;

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<Stream>,
}

/// `logproto.StreamAdapter`: labels as text, `{name="value", ...}`.
#[derive(Clone, PartialEq, Message)]
pub struct Stream {
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<Entry>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPair>,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPair {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The snappy-compressed protobuf push for `ndjson`, streams as [`push_json`] makes them.
///
/// # Errors
/// A line that is not a `GET /logs` object, named by its position.
pub fn push_protobuf(
    ndjson: &[u8],
    labels: &[(String, String)],
    whole_line: bool,
) -> Result<Vec<u8>, String> {
    let json: Value = serde_json::from_slice(&push_json(ndjson, labels, whole_line)?)
        .map_err(|e| e.to_string())?;
    let streams = json["streams"].as_array().map_or(&[][..], Vec::as_slice);
    let streams = streams
        .iter()
        .map(|stream| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
            let labels = stream["stream"]
                .as_object()
                .map_or_else(String::new, |map| {
                    let pairs: Vec<String> = map
                        .iter()
                        .map(|(name, value)| format!("{name}=\"{}\"", escape(&text(value))))
                        .collect();
                    format!("{{{}}}", pairs.join(", "))
                });
            let entries = stream["values"].as_array().map_or(&[][..], Vec::as_slice);
            let entries = entries
                .iter()
                .map(|value| {
                    let nanos: i128 = value[0].as_str().unwrap_or("0").parse().unwrap_or(0);
                    let metadata = value[2].as_object().map_or_else(Vec::new, |map| {
                        map.iter()
                            .map(|(name, value)| LabelPair {
                                name: name.clone(),
                                value: text(value),
                            })
                            .collect()
                    });
                    #[allow(clippy::cast_possible_truncation)] // within years 1-9999
                    let timestamp = Timestamp {
                        seconds: nanos.div_euclid(1_000_000_000) as i64,
                        nanos: nanos.rem_euclid(1_000_000_000) as i32,
                    };
                    Entry {
                        timestamp: Some(timestamp),
                        line: text(&value[1]),
                        structured_metadata: metadata,
                    }
                })
                .collect();
            Stream {
                labels,
                entries,
                hash: 0,
            }
        })
        .collect();
    Ok(compress(&PushRequest { streams }.encode_to_vec()))
}

/// A label value inside `{name="value"}`: backslash, double quote and newline escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A snappy protobuf push, decoded: no more than `limit` bytes once inflated.
///
/// # Errors
/// What is wrong with the body, in words.
pub fn decode_push(body: &[u8], limit: usize) -> Result<PushRequest, String> {
    let size = snap::raw::decompress_len(body).map_err(|_| "snappy body is malformed")?;
    if size > limit {
        return Err(format!(
            "snappy body inflates to {size} bytes, over the {limit}-byte limit"
        ));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy body is malformed: {e}"))?;
    PushRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf body is malformed: {e}"))
}

/// The push request (JSON, not compressed) for `ndjson`, every stream labelled with
/// `labels` first; `whole_line` sends each `GET /logs` line as the log line instead of
/// the message with the attributes as structured metadata.
///
/// # Errors
/// A line that is not a `GET /logs` object, named by its position.
pub fn push_json(
    ndjson: &[u8],
    labels: &[(String, String)],
    whole_line: bool,
) -> Result<Vec<u8>, String> {
    let mut streams: Vec<((String, String), Vec<Value>)> = Vec::new();
    let lines = ndjson
        .split(|byte| *byte == b'\n')
        .filter(|l| !l.is_empty());
    for (number, line) in lines.enumerate() {
        let row: Value = serde_json::from_slice(line).map_err(|e| format!("line {number}: {e}"))?;
        let text = |field: &str| {
            row.get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("line {number}: no text {field:?}"))
        };
        let (level, logger) = (text("level")?.to_owned(), text("logger")?.to_owned());
        let nanos = nanoseconds(text("timestamp")?).ok_or(format!("line {number}: timestamp"))?;
        let mut entry = vec![Value::String(nanos.to_string())];
        if whole_line {
            let line = std::str::from_utf8(line).map_err(|e| format!("line {number}: {e}"))?;
            entry.push(Value::String(line.to_owned()));
        } else {
            entry.push(Value::String(text("message")?.to_owned()));
            if let Some(attributes) = row.get("attributes").and_then(Value::as_object) {
                if !attributes.is_empty() {
                    entry.push(Value::Object(structured(attributes)));
                }
            }
        }
        let key = (level, logger);
        match streams.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(Value::Array(entry)),
            None => streams.push((key, vec![Value::Array(entry)])),
        }
    }
    let streams: Vec<Value> = streams
        .into_iter()
        .map(|((level, logger), values)| {
            let mut stream: Map<String, Value> = labels
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            stream.insert("level".to_owned(), Value::String(level));
            if !logger.is_empty() {
                stream.insert("logger".to_owned(), Value::String(logger));
            }
            let mut object = Map::new();
            object.insert("stream".to_owned(), Value::Object(stream));
            object.insert("values".to_owned(), Value::Array(values));
            Value::Object(object)
        })
        .collect();
    let mut push = Map::new();
    push.insert("streams".to_owned(), Value::Array(streams));
    serde_json::to_vec(&Value::Object(push)).map_err(|e| e.to_string())
}

/// Attributes as structured metadata: names made label names, values text (those that
/// are not text as their JSON).
fn structured(attributes: &Map<String, Value>) -> Map<String, Value> {
    attributes
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (metadata_name(name), Value::String(text))
        })
        .collect()
}

fn metadata_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.chars().next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => cleaned,
        _ => format!("_{cleaned}"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the `GET /logs` timestamp) as Unix nanoseconds.
#[must_use]
pub fn nanoseconds(stamp: &str) -> Option<i128> {
    let bytes = stamp.as_bytes();
    if bytes.len() != 27 || bytes[26] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let micros = number(20..26)?;
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(micros) * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protobuf_push_decodes_back_to_its_streams() {
        let lines = b"{\"id\":1,\"timestamp\":\"1969-12-31T23:59:59.500000Z\",\"level\":\"info\",\
            \"message\":\"m\",\"logger\":\"a\\\"b\",\"attributes\":{\"k\":1}}\n";
        let labels = [("service_name".to_owned(), "x".to_owned())];
        let body = push_protobuf(lines, &labels, false).unwrap();
        let push = decode_push(&body, 1 << 20).unwrap();
        assert_eq!(
            push.streams[0].labels,
            "{service_name=\"x\", level=\"info\", logger=\"a\\\"b\"}"
        );
        let entry = &push.streams[0].entries[0];
        assert_eq!(
            entry.timestamp,
            Some(Timestamp {
                seconds: -1,
                nanos: 500_000_000
            })
        );
        assert_eq!(entry.structured_metadata[0].value, "1");
        assert!(decode_push(&body, 10)
            .unwrap_err()
            .contains("over the 10-byte limit"));
        assert!(decode_push(b"\xff\xff\xff", 100).is_err());
    }

    #[test]
    fn timestamps_become_nanoseconds_across_the_whole_range() {
        assert_eq!(
            nanoseconds("1970-01-01T00:00:01.000002Z"),
            Some(1_000_002_000)
        );
        assert_eq!(
            nanoseconds("0001-01-01T00:00:00.000000Z"),
            Some(-62_135_596_800 * 1_000_000_000)
        );
        assert_eq!(
            nanoseconds("9999-12-31T23:59:59.999999Z"),
            Some(253_402_300_799_999_999_000)
        );
        assert_eq!(nanoseconds("2026-11-29"), None);
    }

    #[test]
    fn metadata_names_become_label_names() {
        assert_eq!(metadata_name("a.b"), "a_b");
        assert_eq!(metadata_name("2x"), "_2x");
        assert_eq!(metadata_name("é"), "_");
        assert_eq!(metadata_name(""), "_");
    }
}
