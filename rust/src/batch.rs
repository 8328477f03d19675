//! Reading a batch of log entries as msgspec writes them for the writer, one entry at a
//! time: a JSON array of `[timestamp, level, message, attributes, logger]` arrays.
//!
//! This is what the `observabilipy_entries` table-valued function (`sqlite_batch`)
//! reads, so that SQLite inserts a batch without parsing JSON itself. It only takes
//! what the fast path hands it: an entry of any other shape (a timestamp that is not a
//! number, text that is not a string, attributes that are not an object) is an error,
//! and the writer then stores that batch entry by entry through the storage rule.
//! Attributes are handed over as the JSON text they are (msgspec writes it compact).
//!
//! It also refuses what the storage rule must rewrite, so that the writer needs no
//! separate pass over the batch to find it: an entry longer than the entry limit, an
//! integer in the attributes that may lie beyond 64 bits (the rule stores those as
//! text), attributes nesting deeper than 64 brackets.

use std::ops::Range;

use crate::json_scan::{find_special, WIDE_DIGITS};

/// One entry's fields; `attributes` is a range of the batch.
#[derive(Debug, PartialEq)]
pub struct Entry {
    /// `None` for JSON `null` (msgspec writes a non-finite float so).
    pub timestamp: Option<f64>,
    /// The stdlib number of a known level name; `None` for an unknown name.
    pub level: Option<i64>,
    pub message: Text,
    pub attributes: Range<usize>,
    pub logger: Text,
}

/// A string's text: a range of the batch when it has no escapes, else unescaped.
#[derive(Debug, PartialEq)]
pub enum Text {
    Span(Range<usize>),
    Unescaped(Vec<u8>),
}

impl Text {
    /// The text, from the batch it was read from.
    #[must_use]
    pub fn bytes<'a>(&'a self, batch: &'a [u8]) -> &'a [u8] {
        match self {
            Text::Span(range) => &batch[range.clone()],
            Text::Unescaped(text) => text,
        }
    }
}

/// Where a read of the batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Before the opening bracket.
    Start,
    /// Just after an entry or the opening bracket, at this byte.
    At(usize),
    /// Past the closing bracket.
    End,
}

/// Check that a whole batch is UTF-8, once: the strings read from it then are too
/// (they start and end at quotes, and escapes only make valid characters).
///
/// # Errors
///
/// When it is not.
pub fn check_text(json: &[u8]) -> Result<(), String> {
    std::str::from_utf8(json)
        .map(drop)
        .map_err(|_| "the batch is not UTF-8".to_owned())
}

/// The entry at `position` and the position after it; `None` past the last. `json`
/// has passed [`check_text`]; an entry longer than `max_entry` bytes is an error.
///
/// # Errors
///
/// A description of what is not as the writer's encoder writes it, or of what the
/// storage rule must rewrite.
pub fn next_entry(
    json: &[u8],
    position: Position,
    max_entry: usize,
) -> Result<(Option<Entry>, Position), String> {
    let mut reader = Reader { json, at: 0 };
    match position {
        Position::End => return Ok((None, Position::End)),
        Position::Start => {
            reader.expect(b'[')?;
            if reader.peek() == Some(b']') {
                reader.at += 1;
                return reader.end().map(|()| (None, Position::End));
            }
        }
        Position::At(at) => {
            reader.at = at;
            match reader.byte()? {
                b',' => {}
                b']' => return reader.end().map(|()| (None, Position::End)),
                other => {
                    return Err(format!(
                        "expected , or ] between entries, got {:?}",
                        other as char
                    ))
                }
            }
        }
    }
    reader.skip_space();
    let start = reader.at;
    let entry = reader.entry()?;
    if reader.at - start > max_entry {
        return Err(format!("an entry is longer than {max_entry} bytes"));
    }
    Ok((Some(entry), Position::At(reader.at)))
}

struct Reader<'a> {
    json: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip_space(&mut self) {
        while matches!(self.json.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.json.get(self.at).copied()
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = self.peek().ok_or("the batch ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, wanted: u8) -> Result<(), String> {
        match self.byte()? {
            byte if byte == wanted => Ok(()),
            byte => Err(format!(
                "expected {:?}, got {:?}",
                wanted as char, byte as char
            )),
        }
    }

    fn end(&mut self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(byte) => Err(format!("{:?} after the batch", byte as char)),
        }
    }

    fn entry(&mut self) -> Result<Entry, String> {
        self.expect(b'[')?;
        let timestamp = self.timestamp()?;
        self.expect(b',')?;
        let level = self.string("level")?;
        self.expect(b',')?;
        let message = self.string("message")?;
        self.expect(b',')?;
        let attributes = self.object()?;
        self.expect(b',')?;
        let logger = self.string("logger")?;
        self.expect(b']')?;
        let level = match level.bytes(self.json) {
            b"debug" => Some(10),
            b"info" => Some(20),
            b"warning" => Some(30),
            b"error" => Some(40),
            b"critical" => Some(50),
            _ => None,
        };
        Ok(Entry {
            timestamp,
            level,
            message,
            attributes,
            logger,
        })
    }

    fn timestamp(&mut self) -> Result<Option<f64>, String> {
        self.skip_space();
        let rest = &self.json[self.at..];
        if rest.starts_with(b"null") {
            self.at += 4;
            return Ok(None);
        }
        let length = rest
            .iter()
            .position(|byte| !matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(rest.len());
        let number = std::str::from_utf8(&rest[..length])
            .ok()
            .filter(|text| is_json_number(text));
        let value = number.and_then(|text| text.parse::<f64>().ok());
        let Some(value) = value else {
            return Err("the timestamp must be a number".to_owned());
        };
        self.at += length;
        Ok(Some(value))
    }

    fn string(&mut self, field: &str) -> Result<Text, String> {
        if self.peek() != Some(b'"') {
            return Err(format!("the {field} must be a string"));
        }
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        loop {
            let Some(found) = find_special(self.json, self.at, true) else {
                return Err(format!("the {field} is not closed"));
            };
            self.at = found;
            match self.json[found] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => return Err(format!("a control character in the {field}")),
            }
        }
        let span = start..self.at;
        self.at += 1;
        if !escaped {
            return Ok(Text::Span(span));
        }
        let text =
            unescape(&self.json[span]).ok_or_else(|| format!("a bad escape in the {field}"))?;
        Ok(Text::Unescaped(text))
    }

    /// The object here, as a range of the batch: brackets must match, strings are
    /// skipped whole, a run of [`WIDE_DIGITS`] digits outside them is an error; the rest
    /// is taken as the encoder wrote it.
    fn object(&mut self) -> Result<Range<usize>, String> {
        if self.peek() != Some(b'{') {
            return Err("the attributes must be an object".to_owned());
        }
        let start = self.at;
        // Open brackets as bits, innermost lowest: 1 for `[`, 0 for `{`.
        let (mut open, mut depth, mut digits) = (0u64, 0u32, 0usize);
        while let Some(&byte) = self.json.get(self.at) {
            self.at += 1;
            if byte.is_ascii_digit() {
                digits += 1;
                if digits >= WIDE_DIGITS {
                    return Err("an integer in the attributes may not fit in 64 bits".to_owned());
                }
                continue;
            }
            digits = 0;
            match byte {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    if depth == u64::BITS {
                        return Err("the attributes nest too deep".to_owned());
                    }
                    open = open << 1 | u64::from(byte == b'[');
                    depth += 1;
                }
                b'}' | b']' => {
                    if depth == 0 || (open & 1 == 1) != (byte == b']') {
                        return Err("the attributes' brackets do not match".to_owned());
                    }
                    open >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        return Ok(start..self.at);
                    }
                }
                _ => {}
            }
        }
        Err("the attributes are not closed".to_owned())
    }

    /// Past the string whose opening quote was just read.
    fn skip_string(&mut self) -> Result<(), String> {
        while let Some(found) = find_special(self.json, self.at, false) {
            if self.json[found] == b'"' {
                self.at = found + 1;
                return Ok(());
            }
            self.at = found + 2; // past the escape and the byte it escapes
        }
        Err("a string in the attributes is not closed".to_owned())
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let bytes = text.strip_prefix('-').unwrap_or(text).as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = digits(0);
    if at == 0 || (bytes[0] == b'0' && at > 1) {
        return false;
    }
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return false;
        }
        at += 1 + fraction;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == bytes.len()
}

/// A JSON string's contents with its escapes undone; `None` for a bad escape or a
/// lone surrogate.
fn unescape(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&byte) = raw.get(at) {
        at += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let escape = *raw.get(at)?;
        at += 1;
        let simple = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (code, used) = code_point(&raw[at..])?;
                at += used;
                let mut buffer = [0; 4];
                out.extend_from_slice(code.encode_utf8(&mut buffer).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(simple);
    }
    Some(out)
}

/// The character of a `\u` escape (`raw` starts after the `u`), a surrogate pair
/// joined, and how many bytes it used.
fn code_point(raw: &[u8]) -> Option<(char, usize)> {
    let hex = |from: usize| {
        let digits = std::str::from_utf8(raw.get(from..from + 4)?).ok()?;
        u32::from_str_radix(digits, 16)
            .ok()
            .filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let first = hex(0)?;
    if !(0xD800..0xDC00).contains(&first) {
        return char::from_u32(first).map(|code| (code, 4));
    }
    if raw.get(4..6) != Some(b"\\u") {
        return None;
    }
    let second = hex(6).filter(|second| (0xDC00..0xE000).contains(second))?;
    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)).map(|code| (code, 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(json: &[u8]) -> Result<Vec<Entry>, String> {
        check_text(json)?;
        let (mut entries, mut position) = (Vec::new(), Position::Start);
        loop {
            match next_entry(json, position, usize::MAX)? {
                (Some(entry), next) => {
                    entries.push(entry);
                    position = next;
                }
                (None, _) => return Ok(entries),
            }
        }
    }

    #[test]
    fn reads_each_field() {
        let json = br#"[[1.5,"info","paid",{"a":[1,"}"]},"shop"],[2,"trace","x\n\u00e9\ud83d\ude00",{},"l"]]"#;
        let entries = all(json).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].timestamp, Some(1.5));
        assert_eq!(entries[0].level, Some(20));
        assert_eq!(entries[0].message.bytes(json), b"paid");
        assert_eq!(&json[entries[0].attributes.clone()], br#"{"a":[1,"}"]}"#);
        assert_eq!(entries[0].logger.bytes(json), b"shop");
        assert_eq!(entries[1].timestamp, Some(2.0));
        assert_eq!(entries[1].level, None);
        assert_eq!(
            entries[1].message.bytes(json),
            "x\n\u{e9}\u{1f600}".as_bytes()
        );
    }

    #[test]
    fn reads_empty_batches_and_spaces() {
        assert_eq!(all(b"[]").unwrap(), vec![]);
        assert_eq!(all(b" [ ] ").unwrap(), vec![]);
        let entries = all(b"[ [ null , \"error\" , \"m\" , { } , \"l\" ] ]").unwrap();
        assert_eq!(entries[0].timestamp, None);
        assert_eq!(entries[0].level, Some(40));
    }

    #[test]
    fn refuses_what_the_encoder_does_not_write() {
        for json in [
            &br#"[["1","info","m",{},"l"]]"#[..],
            br#"[[1,"info",3,{},"l"]]"#,
            br#"[[1,"info","m",[],"l"]]"#,
            br#"[[1,"info","m",{},"l",5]]"#,
            br#"[[1,"info","m",{},"l"]"#,
            br#"[[1,"info","m",{},"l"]] x"#,
            br#"[[1,"info","\ud800",{},"l"]]"#,
            br#"[[1,"info","\x",{},"l"]]"#,
            br#"[[01,"info","m",{},"l"]]"#,
            br#"[[1.,"info","m",{},"l"]]"#,
            b"[[1,\"info\",\"a\x01\",{},\"l\"]]",
            b"[[1,\"info\",\"\xff\",{},\"l\"]]",
            br#"[[1,"info","m",{"a":1,"l"]]"#,
            br#"[[1,"info","m",{"a":[1},"l"]]"#,
            br#"[[1,"info","m",{"a":"x},"l"]]"#,
            br#"[[1,"info","m\"#,
            b"[",
            b"",
        ] {
            assert!(all(json).is_err(), "{}", String::from_utf8_lossy(json));
        }
    }

    fn limited(json: &[u8], max_entry: usize) -> Result<usize, String> {
        let (mut count, mut position) = (0, Position::Start);
        while let (Some(_), next) = next_entry(json, position, max_entry)? {
            count += 1;
            position = next;
        }
        Ok(count)
    }

    #[test]
    fn an_entry_over_the_limit_is_refused() {
        let entry = r#"[1.0,"info","message",{},""]"#;
        let batch = format!("[{entry},{entry}]");
        assert_eq!(limited(batch.as_bytes(), entry.len()), Ok(2));
        assert!(limited(batch.as_bytes(), entry.len() - 1).is_err());
        // The last entry is measured too.
        let batch = format!(r#"[[1,"info","m",{{}},""],{entry}]"#);
        assert!(limited(batch.as_bytes(), entry.len() - 1).is_err());
    }

    #[test]
    fn wide_integers_in_the_attributes_are_refused_not_in_strings() {
        for wide in [
            "18446744073709551616",
            "-9223372036854775809",
            "1234567890123456789",
        ] {
            let json = format!(r#"[[1,"info","m",{{"n":[{wide}]}},"l"]]"#);
            assert!(all(json.as_bytes()).is_err(), "{wide}");
        }
        for fine in [
            r#"{"n":123456789012345678}"#,
            r#"{"n":"12345678901234567890123"}"#,
            r#"{"n\"12345678901234567890":1}"#,
            r#"{"n":1.234567890123456789}"#,
        ] {
            let json = format!(r#"[[1,"info","m",{fine},"l"]]"#);
            assert!(all(json.as_bytes()).is_ok(), "{fine}");
        }
    }

    #[test]
    fn strings_end_at_their_quote_wherever_it_falls() {
        // Quotes, escapes and control characters at every offset of the 8-byte scan.
        for length in 0..20 {
            let text = "x".repeat(length);
            let json = format!(r#"[[1,"info","{text}",{{"{text}":"{text}\"{text}"}},"{text}"]]"#);
            let entries = all(json.as_bytes()).unwrap();
            assert_eq!(entries[0].message.bytes(json.as_bytes()), text.as_bytes());
            assert_eq!(entries[0].logger.bytes(json.as_bytes()), text.as_bytes());
            let json = format!("[[1,\"info\",\"{text}\u{1}{text}\",{{}},\"l\"]]");
            assert!(all(json.as_bytes()).is_err(), "{length}");
            let json = format!(r#"[[1,"info","{text}\n{text}",{{}},"l"]]"#);
            let entries = all(json.as_bytes()).unwrap();
            assert_eq!(
                entries[0].message.bytes(json.as_bytes()),
                format!("{text}\n{text}").as_bytes()
            );
        }
    }

    #[test]
    fn attributes_nest_up_to_64_brackets() {
        let nested = |depth: usize| {
            let inner = format!("{}1{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
            format!(r#"[[1,"info","m",{{"a":{inner}}},"l"]]"#)
        };
        assert!(all(nested(64).as_bytes()).is_ok());
        assert!(all(nested(65).as_bytes()).is_err());
    }

    #[test]
    fn numbers_follow_json() {
        for good in [
            "0",
            "-0",
            "1.25",
            "1e9",
            "1E+9",
            "-2.5e-3",
            "1700000000.123456",
        ] {
            assert!(is_json_number(good), "{good}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "1e+", "--1", "1.2.3"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
