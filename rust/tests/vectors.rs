//! The pure Rust writers against the shared vectors in `tests/vectors/`: the same
//! inputs and expected bytes the Python tests read.

use std::fs;
use std::path::PathBuf;

use _native::fmt::float_micros;
use _native::ndjson::{LogRows, RowId};
use _native::prometheus::{Exposition, Format, Kind};
use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn read_json(path: &str) -> serde_json::Map<String, Value> {
    let text = fs::read_to_string(vectors().join(path)).expect("vector file");
    let document: Value = serde_json::from_str(&text).expect("valid JSON");
    document["cases"].as_object().expect("cases").clone()
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}

/// A number written as a string, as Python's `float()` reads it (`nan`, `inf`, `-0.0`).
fn number(value: &Value) -> f64 {
    text(value).parse().expect("a float")
}

fn exposition(families: &Value) -> Exposition {
    let mut exposition = Exposition::default();
    for family in families.as_array().expect("families") {
        let kind = Kind::parse(text(&family["kind"]).as_bytes()).expect("a known kind");
        let name = text(&family["name"]).as_bytes();
        exposition.push_family(name, kind, text(&family["help"]).as_bytes());
        for sample in family["samples"].as_array().expect("samples") {
            let labels = sample[1].as_array().expect("labels");
            for pair in labels {
                exposition.push_label(text(&pair[0]).as_bytes(), text(&pair[1]).as_bytes());
            }
            let name = text(&sample[0]).as_bytes();
            exposition.push_sample(name, !labels.is_empty(), number(&sample[2]));
        }
    }
    exposition
}

#[test]
fn exposition_vectors_encode_to_their_exact_bytes() {
    let cases = read_json("exposition/families.json");
    assert!(!cases.is_empty());
    for (case, families) in &cases {
        let exposition = exposition(families);
        for (format, extension) in [(Format::Text, "prom"), (Format::OpenMetrics, "om")] {
            let expected = fs::read(vectors().join(format!("exposition/{case}.{extension}")))
                .expect("expected bytes");
            let actual = exposition.encode(format);
            assert!(
                actual == expected,
                "{case}.{extension}:\n{}",
                String::from_utf8_lossy(&actual)
            );
        }
    }
}

#[test]
fn ndjson_vectors_encode_to_their_exact_bytes() {
    let cases = read_json("ndjson/rows.json");
    assert!(!cases.is_empty());
    for (case, rows) in &cases {
        let mut logs = LogRows::default();
        for row in rows.as_array().expect("rows") {
            let id = row[0].as_i64().map_or(RowId::None, RowId::Int);
            let micros = float_micros(number(&row[1])).expect("a timestamp in range");
            logs.push(
                id,
                micros,
                text(&row[2]),
                text(&row[3]),
                text(&row[4]),
                text(&row[5]),
            );
        }
        let expected = fs::read(vectors().join(format!("ndjson/{case}.ndjson"))).expect("bytes");
        let actual = logs.encode();
        assert!(
            actual == expected,
            "{case}.ndjson:\n{}",
            String::from_utf8_lossy(&actual)
        );
    }
}
