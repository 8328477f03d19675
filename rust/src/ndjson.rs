//! Stored log rows as NDJSON: one JSON object a line, in the shape `GET /logs` serves.
//!
//! `{"id":42,"timestamp":"2026-11-26T07:23:08.123456Z","level":"info","message":"paid",
//! "logger":"checkout","attributes":{"order_id":7}}`; `id` only when the row has one.

use crate::fmt::{micros_suffix, second_prefix, write_i64, write_json_string};
use crate::json_valid::is_object;

/// Where a piece of text sits in [`LogRows`]' one buffer.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// A row's id: none, a 64-bit integer, or the decimal digits of a larger one.
#[derive(Clone, Copy, Debug)]
pub enum RowId<'a> {
    None,
    Int(i64),
    Digits(&'a [u8]),
}

#[derive(Clone, Copy, Debug)]
enum Id {
    None,
    Int(i64),
    Digits(Span),
}

#[derive(Debug)]
struct Row {
    id: Id,
    micros: i64,
    level: Span,
    message: Span,
    logger: Span,
    attributes: Span,
}

/// Log rows with all their text in one buffer: what the writer reads.
///
/// Timestamps arrive as microseconds already checked by [`crate::fmt::float_micros`]
/// or [`crate::fmt::int_micros`]; `attributes` is JSON text, written as it is.
#[derive(Debug, Default)]
pub struct LogRows {
    text: Vec<u8>,
    rows: Vec<Row>,
}

impl LogRows {
    /// Room for `rows` rows, about `text` bytes of their text.
    #[must_use]
    pub fn with_capacity(rows: usize, text: usize) -> Self {
        Self {
            text: Vec::with_capacity(text),
            rows: Vec::with_capacity(rows),
        }
    }

    /// Forget every row, keeping the memory for the next rows.
    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// Bytes of memory held, pushed or not.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.text.capacity() + self.rows.capacity() * std::mem::size_of::<Row>()
    }

    fn keep(&mut self, text: &str) -> Span {
        self.keep_bytes(text.as_bytes())
    }

    fn keep_bytes(&mut self, text: &[u8]) -> Span {
        let start = self.text.len();
        self.text.extend_from_slice(text);
        Span {
            start,
            end: self.text.len(),
        }
    }

    fn get(&self, span: Span) -> &[u8] {
        &self.text[span.start..span.end]
    }

    /// Add one row.
    pub fn push(
        &mut self,
        id: RowId<'_>,
        micros: i64,
        level: &str,
        message: &str,
        logger: &str,
        attributes: &str,
    ) {
        let id = match id {
            RowId::None => Id::None,
            RowId::Int(id) => Id::Int(id),
            RowId::Digits(digits) => Id::Digits(self.keep_bytes(digits)),
        };
        let row = Row {
            id,
            micros,
            level: self.keep(level),
            message: self.keep(message),
            logger: self.keep(logger),
            attributes: self.keep(attributes),
        };
        self.rows.push(row);
    }

    /// How many rows have been pushed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row has been pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows as NDJSON, one line each.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Append the rows as NDJSON, one line each, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Each line adds 95 bytes of keys, quotes and timestamp to its text, id aside.
        out.reserve(self.text.len() + self.rows.len() * 104);
        let mut lines = LineWriter::default();
        for row in &self.rows {
            let id = match row.id {
                Id::None => RowId::None,
                Id::Int(id) => RowId::Int(id),
                Id::Digits(digits) => RowId::Digits(self.get(digits)),
            };
            lines.write(
                out,
                id,
                row.micros,
                [row.level, row.message, row.logger].map(|span| self.get(span)),
                self.get(row.attributes),
            );
        }
    }
}

/// Writes NDJSON lines one at a time, formatting each second of their timestamps once
/// (the rows of one read often share their second).
#[derive(Debug, Default)]
pub struct LineWriter {
    second: Option<(i64, [u8; 19])>,
}

impl LineWriter {
    /// Append one line: `texts` are the level, message and logger (UTF-8, escaped
    /// here), `attributes` JSON text written as it is when it is one JSON object, and
    /// as `{"_unparsed": <the text>}` when not.
    pub fn write(
        &mut self,
        out: &mut Vec<u8>,
        id: RowId<'_>,
        micros: i64,
        texts: [&[u8]; 3],
        attributes: &[u8],
    ) {
        match id {
            RowId::None => out.push(b'{'),
            RowId::Int(id) => {
                out.extend_from_slice(b"{\"id\":");
                write_i64(out, id);
                out.push(b',');
            }
            RowId::Digits(digits) => {
                out.extend_from_slice(b"{\"id\":");
                out.extend_from_slice(digits);
                out.push(b',');
            }
        }
        let second = micros.div_euclid(1_000_000);
        let prefix = match self.second {
            Some((cached, prefix)) if cached == second => prefix,
            _ => {
                let prefix = second_prefix(second);
                self.second = Some((second, prefix));
                prefix
            }
        };
        let [level, message, logger] = texts;
        out.extend_from_slice(b"\"timestamp\":\"");
        out.extend_from_slice(&prefix);
        out.extend_from_slice(&micros_suffix(micros));
        out.extend_from_slice(b"\",\"level\":");
        write_json_string(out, level);
        out.extend_from_slice(b",\"message\":");
        write_json_string(out, message);
        out.extend_from_slice(b",\"logger\":");
        write_json_string(out, logger);
        out.extend_from_slice(b",\"attributes\":");
        if is_object(attributes) {
            out.extend_from_slice(attributes);
        } else {
            // Text another tool stored that is not a JSON object: kept whole, as text.
            out.extend_from_slice(b"{\"_unparsed\":");
            write_json_string(out, attributes);
            out.push(b'}');
        }
        out.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_without_id_start_at_the_timestamp() {
        let mut rows = LogRows::default();
        rows.push(RowId::None, -1, "info", "m\u{1}", "", "{}");
        rows.push(
            RowId::Digits(b"18446744073709551616"),
            0,
            "debug",
            "",
            "l",
            "[]",
        );
        assert_eq!(
            rows.encode(),
            b"{\"timestamp\":\"1969-12-31T23:59:59.999999Z\",\"level\":\"info\",\
              \"message\":\"m\\u0001\",\"logger\":\"\",\"attributes\":{}}\n\
              {\"id\":18446744073709551616,\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\
              \"level\":\"debug\",\"message\":\"\",\"logger\":\"l\",\"attributes\":{\"_unparsed\":\"[]\"}}\n"
        );
    }
}
