//! Whether text is one JSON object as orjson reads it: RFC 8259 to the letter (no
//! trailing commas or leading zeros, no control bytes in strings, only the listed
//! escapes, surrogate escapes in pairs), numbers that stay finite as doubles, and at
//! most [`MAX_DEPTH`] levels of nesting (so the line holding it reads in orjson too). Stored attributes that are not one are shown
//! under `_unparsed` instead (see `ndjson`), so every NDJSON line is JSON whatever
//! another tool stored.

use crate::json_scan::find_special;

/// Levels of nesting at most: orjson reads 1,024, and a line holds its attributes one
/// level down.
pub const MAX_DEPTH: usize = 1023;

/// Whether `json` is one JSON object, with nothing but whitespace around it.
#[must_use]
pub fn is_object(json: &[u8]) -> bool {
    if !(json.is_ascii() || std::str::from_utf8(json).is_ok()) {
        return false;
    }
    if surely_flat_object(json) {
        return true;
    }
    let mut reader = Reader { json, at: 0 };
    reader.skip_blank();
    reader.peek() == Some(b'{') && reader.document() && {
        reader.skip_blank();
        reader.at == json.len()
    }
}

/// Whether `json` is an object of plain strings, numbers without exponents and
/// literals, with no blanks and no escapes: most stored attributes, read in one
/// straight pass. False says nothing: the full reader then decides.
fn surely_flat_object(json: &[u8]) -> bool {
    let plain_string_end =
        |from: usize| find_special(json, from, true).filter(|&end| json[end] == b'"');
    if json.first() != Some(&b'{') {
        return false;
    }
    let mut at = 1;
    if json.get(at) == Some(&b'}') {
        return at + 1 == json.len();
    }
    loop {
        if json.get(at) != Some(&b'"') {
            return false;
        }
        let Some(end) = plain_string_end(at + 1) else {
            return false;
        };
        if json.get(end + 1) != Some(&b':') {
            return false;
        }
        at = end + 2;
        at = match json.get(at) {
            Some(b'"') => match plain_string_end(at + 1) {
                Some(end) => end + 1,
                None => return false,
            },
            Some(b'-' | b'0'..=b'9') => match plain_number_end(json, at) {
                Some(end) => end,
                None => return false,
            },
            Some(b't') if json[at..].starts_with(b"true") => at + 4,
            Some(b'f') if json[at..].starts_with(b"false") => at + 5,
            Some(b'n') if json[at..].starts_with(b"null") => at + 4,
            _ => return false,
        };
        match json.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => return at + 1 == json.len(),
            _ => return false,
        }
    }
}

/// Where a number from `at` ends, if it has no exponent and at most 300 digits before
/// its point (so it is finite as a double).
fn plain_number_end(json: &[u8], mut at: usize) -> Option<usize> {
    let digits_from = |at: usize| json[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    at += usize::from(json[at] == b'-');
    let whole = digits_from(at);
    if whole == 0 || whole > 300 || (whole > 1 && json[at] == b'0') {
        return None;
    }
    at += whole;
    if json.get(at) == Some(&b'.') {
        let fraction = digits_from(at + 1);
        if fraction == 0 {
            return None;
        }
        at += 1 + fraction;
    }
    (!matches!(json.get(at), Some(b'e' | b'E'))).then_some(at)
}

struct Reader<'a> {
    json: &'a [u8],
    at: usize,
}

/// Which container each level is (a bit a level, set for an object): the first 64 in
/// a word, deeper ones (rare) in a vector made when first needed.
#[derive(Default)]
struct Levels {
    first: u64,
    deeper: Vec<u64>,
    depth: usize,
}

impl Levels {
    fn push(&mut self, object: bool) -> bool {
        if self.depth == MAX_DEPTH {
            return false;
        }
        let (word, bit) = (self.depth / 64, self.depth % 64);
        let bits = if word == 0 {
            &mut self.first
        } else {
            if self.deeper.len() < word {
                self.deeper.resize(word, 0);
            }
            &mut self.deeper[word - 1]
        };
        if object {
            *bits |= 1 << bit;
        } else {
            *bits &= !(1 << bit);
        }
        self.depth += 1;
        true
    }

    fn in_object(&self) -> bool {
        let level = self.depth - 1;
        let bits = match level / 64 {
            0 => self.first,
            word => self.deeper[word - 1],
        };
        bits & (1 << (level % 64)) != 0
    }
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.json.get(self.at).copied()
    }

    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_blank();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    /// A key and its colon, after an object's `{` or a `,` in it.
    fn key(&mut self) -> bool {
        self.eat(b'"') && self.string() && self.eat(b':')
    }

    /// One value and everything nested in it, without recursion.
    fn document(&mut self) -> bool {
        let mut levels = Levels::default();
        'value: loop {
            self.skip_blank();
            let Some(byte) = self.peek() else {
                return false;
            };
            self.at += 1;
            let complete = match byte {
                b'{' | b'[' => {
                    let object = byte == b'{';
                    if !levels.push(object) {
                        return false;
                    }
                    if self.eat(if object { b'}' } else { b']' }) {
                        levels.depth -= 1;
                        true
                    } else if object && !self.key() {
                        return false;
                    } else {
                        false
                    }
                }
                b'"' => self.string(),
                b'-' | b'0'..=b'9' => {
                    self.at -= 1;
                    self.number()
                }
                b't' => self.literal(b"rue"),
                b'f' => self.literal(b"alse"),
                b'n' => self.literal(b"ull"),
                _ => return false,
            };
            if !complete {
                if byte == b'{' || byte == b'[' {
                    continue 'value;
                }
                return false;
            }
            // After a value: close containers, or a comma for the next value.
            loop {
                if levels.depth == 0 {
                    return true;
                }
                self.skip_blank();
                let object = levels.in_object();
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        if object && !self.key() {
                            return false;
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => levels.depth -= 1,
                    Some(b']') if !object => levels.depth -= 1,
                    _ => return false,
                }
                self.at += 1;
            }
        }
    }

    fn literal(&mut self, rest: &[u8]) -> bool {
        let found = self.json[self.at..].starts_with(rest);
        self.at += rest.len();
        found
    }

    /// The rest of a string after its opening quote.
    fn string(&mut self) -> bool {
        loop {
            let Some(at) = find_special(self.json, self.at, true) else {
                return false;
            };
            match self.json[at] {
                b'"' => {
                    self.at = at + 1;
                    return true;
                }
                b'\\' => {
                    self.at = at + 1;
                    if !self.escape() {
                        return false;
                    }
                }
                _ => return false, // a control byte
            }
        }
    }

    /// An escape after its backslash; a surrogate escape must be a high one followed by
    /// a low one.
    fn escape(&mut self) -> bool {
        let Some(byte) = self.peek() else {
            return false;
        };
        self.at += 1;
        match byte {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => true,
            b'u' => match self.hex4() {
                Some(0xD800..=0xDBFF) => {
                    self.literal(b"\\u") && matches!(self.hex4(), Some(0xDC00..=0xDFFF))
                }
                Some(0xDC00..=0xDFFF) | None => false,
                Some(_) => true,
            },
            _ => false,
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.json.get(self.at..self.at + 4)?;
        self.at += 4;
        digits.iter().try_fold(0, |value, &digit| {
            Some(value * 16 + char::from(digit).to_digit(16)?)
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// A number; one that reads as an infinite double (a huge exponent or over 300
    /// digits before the point) is refused, as orjson refuses it.
    fn number(&mut self) -> bool {
        let start = self.at;
        self.at += usize::from(self.peek() == Some(b'-'));
        let whole = if self.peek() == Some(b'0') {
            self.at += 1;
            1
        } else {
            self.digits()
        };
        if whole == 0 {
            return false;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return false;
            }
        }
        let exponent = matches!(self.peek(), Some(b'e' | b'E'));
        if exponent {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return false;
            }
        }
        if exponent || whole > 300 {
            let text = std::str::from_utf8(&self.json[start..self.at]).unwrap_or("inf");
            return text.parse::<f64>().is_ok_and(f64::is_finite);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::is_object;

    #[test]
    fn objects_as_orjson_reads_them() {
        assert!(super::surely_flat_object(br#"{"a":1.5,"c":"x","d":true}"#));
        assert!(!super::surely_flat_object(br#"{"a":[1]}"#));
        for json in [
            "{}",
            " {} \n",
            r#"{"a":1}"#,
            r#"{"a" : [1 , 2.5e-3, -0, true, false, null, {"b":{}} ] }"#,
            r#"{"a":"\ud834\udd1e \/ \n \u00e9 é \u007f"}"#,
            r#"{"a":123456789012345678901234567890}"#,
            r#"{"a":1e308,"b":1e-400,"c":1E+2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":1.5,"b":-0.25,"c":"x y","d":true,"e":false,"f":null,"g":0,"h":-0}"#,
            r#"{"a":1e5}"#,
            r#"{"a":"\n"}"#,
        ] {
            assert!(is_object(json.as_bytes()), "{json}");
        }
        let deepest = format!("{{\"a\":{}{}}}", "[".repeat(1022), "]".repeat(1022));
        assert!(is_object(deepest.as_bytes()));
    }

    #[test]
    fn anything_else_is_not() {
        for json in [
            "",
            "[]",
            "1",
            r#""a""#,
            "{",
            "{}}",
            "{}x",
            "{},{}",
            r#"{"a":1,}"#,
            "{,}",
            r#"{"a"}"#,
            r#"{"a":}"#,
            "{a:1}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":1e400}"#,
            r#"{"a":NaN}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00\ud800"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"x}",
            "\u{feff}{}",
            "{\"a\":1}\0",
            r#"{"a":[1}"#,
            r#"{"a":{"b":1]}"#,
            r#"{"a":"x",}"#,
            r#"{"a":-01}"#,
            r#"{"a":1.e5}"#,
            r#"{"a":truex}"#,
            r#"{"a":1"b":2}"#,
            r#"{"a":"x"}}"#,
        ] {
            assert!(!is_object(json.as_bytes()), "{json}");
        }
        let huge = format!("{{\"a\":{}}}", "9".repeat(400));
        assert!(!is_object(huge.as_bytes()));
        let too_deep = format!("{{\"a\":{}{}}}", "[".repeat(1023), "]".repeat(1023));
        assert!(!is_object(too_deep.as_bytes()));
        assert!(!is_object(b"{\"a\":\"\xff\"}"));
    }
}
