//! Loki's JSON push body from `GET /logs` lines, as `adapters/exporters/loki.py` builds
//! it in Python: streams keyed by the fixed labels plus `level` and `logger`, in the
//! order they first appear; each entry `[nanoseconds, line, structured metadata]`.
//! Run without the GIL, so a busy exporter costs the application's threads nothing.

use serde_json::{Map, Value};

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
