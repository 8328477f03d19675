//! One pass over JSON text that msgspec wrote for a batch of log entries, answering
//! whether the batch needs the careful path before it is stored: an integer that may
//! lie beyond 64 bits (msgspec writes integers of any size; the storage rule turns
//! those into text), nesting deeper than the rule keeps, or an element of the
//! top-level array longer than the entry limit.
//!
//! The answer may be yes when the careful path then changes nothing (a 19-digit
//! integer that still fits): it only costs time. It is never no when either holds.

/// Digits in a row from which an integer may not fit in 64 bits: `-(2**63) - 1` has
/// nineteen, `2**64` twenty.
pub(crate) const WIDE_DIGITS: usize = 19;

/// Whether `json` holds a run of [`WIDE_DIGITS`] digits outside its strings, nests
/// deeper than `max_depth`, or is an array with an element longer than `max_element`
/// bytes.
#[must_use]
pub fn needs_care(json: &[u8], max_element: usize, max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut digits = 0usize;
    let mut element_start = 0usize;
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        if byte.is_ascii_digit() {
            digits += 1;
            if digits >= WIDE_DIGITS {
                return true;
            }
            at += 1;
            continue;
        }
        digits = 0;
        match byte {
            // Most of a batch is inside strings: jump over them.
            b'"' => at = string_end(json, at + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
                if depth == 1 {
                    element_start = at + 1;
                }
            }
            b']' | b'}' => {
                if depth == 1 && at - element_start > max_element {
                    return true;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => {
                if at - element_start > max_element {
                    return true;
                }
                element_start = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    false
}

/// The index of the quote closing the string whose contents start at `from` (the
/// end of `json` when it is not closed).
pub(crate) fn string_end(json: &[u8], mut from: usize) -> usize {
    while let Some(at) = find_special(json, from, false) {
        if json[at] == b'"' {
            return at;
        }
        from = at + 2; // past the escape and the byte it escapes
    }
    json.len()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = ONES * 0x80;

/// The high bit of each byte of `word` below `limit` (at most 0x80), exact for the
/// lowest such byte (a borrow may mark bytes above it, never below).
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// The first quote or backslash in `json` from `at` (or byte below 0x20, with
/// `controls`), eight bytes at a time: strings are most of a batch.
pub(crate) fn find_special(json: &[u8], mut at: usize, controls: bool) -> Option<usize> {
    let first = at;
    while let Some(chunk) = json.get(at..at + 8) {
        let found = special_bytes(chunk, controls);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at < json.len() && json.len() >= first + 8 {
        // The last eight bytes, overlapping bytes this call found plain: a borrow only
        // marks bytes above a special one, so the lowest mark is still exact.
        let from = json.len() - 8;
        let found = special_bytes(&json[from..], controls);
        return (found != 0).then(|| from + (found.trailing_zeros() / 8) as usize);
    }
    let rest = json.get(at..)?;
    rest.iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || (controls && byte < 0x20))
        .map(|found| at + found)
}

/// The high bit of each quote, backslash (or control byte) among eight bytes, exact for
/// the lowest.
fn special_bytes(eight: &[u8], controls: bool) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(eight);
    let word = u64::from_le_bytes(word);
    let mut found = bytes_below(word ^ (ONES * u64::from(b'"')), 1)
        | bytes_below(word ^ (ONES * u64::from(b'\\')), 1);
    if controls {
        found |= bytes_below(word, 0x20);
    }
    found
}

#[cfg(test)]
mod tests {
    const DEEP: usize = 254;

    fn needs_care(json: &[u8], max_element: usize) -> bool {
        super::needs_care(json, max_element, DEEP)
    }

    #[test]
    fn the_scan_finds_the_first_special_byte_from_any_start() {
        let special =
            |byte: u8, controls: bool| byte == b'"' || byte == b'\\' || (controls && byte < 0x20);
        for length in 0..26 {
            for (first, second) in [(0, 1), (2, 9), (7, 8), (8, 15), (12, 20), (16, 25)] {
                let mut json = vec![b'a'; length];
                for (at, byte) in [(first, b'"'), (second, 0x01)] {
                    if at < length {
                        json[at] = byte;
                    }
                }
                for from in 0..=length {
                    for controls in [false, true] {
                        let expected = (from..length).find(|&at| special(json[at], controls));
                        let found = super::find_special(&json, from, controls);
                        assert_eq!(found, expected, "{json:?} from {from}, {controls}");
                    }
                }
            }
        }
    }

    #[test]
    fn small_integers_and_short_elements_pass() {
        assert!(!needs_care(
            br#"[[1.5,"info","m",{"n":123456789012345678},""]]"#,
            100
        ));
        assert!(!needs_care(b"[]", 0));
        assert!(!needs_care(b"{}", 0));
    }

    #[test]
    fn long_digit_runs_outside_strings_need_care() {
        assert!(needs_care(br#"[[1,{"n":18446744073709551616}]]"#, 1000));
        assert!(needs_care(br#"[[1,{"n":-9223372036854775809}]]"#, 1000));
        assert!(needs_care(b"[1234567890123456789]", 1000));
    }

    #[test]
    fn digits_inside_strings_do_not() {
        assert!(!needs_care(br#"["12345678901234567890123"]"#, 1000));
        assert!(!needs_care(br#"["a\"12345678901234567890123"]"#, 1000));
        assert!(needs_care(br#"["a\\",12345678901234567890123]"#, 1000));
    }

    #[test]
    fn nesting_past_the_depth_needs_care() {
        let deep = |levels: usize| {
            let mut json = "[".repeat(levels);
            json.push_str(&"]".repeat(levels));
            json.into_bytes()
        };
        assert!(!needs_care(&deep(DEEP), 1 << 20));
        assert!(needs_care(&deep(DEEP + 1), 1 << 20));
        assert!(!needs_care(br#"["[[[[[[[[[[[[[["]"#, 1000));
    }

    #[test]
    fn an_element_over_the_limit_needs_care() {
        let element = br#"[1.0,"info","message",{},""]"#;
        let mut batch = b"[".to_vec();
        batch.extend_from_slice(element);
        batch.push(b',');
        batch.extend_from_slice(element);
        batch.push(b']');
        assert!(!needs_care(&batch, element.len()));
        assert!(needs_care(&batch, element.len() - 1));
        // The last element is measured too.
        let short = br#"[[1],[1.0,"info","message",{},""]]"#;
        assert!(needs_care(short, 5));
    }
}
