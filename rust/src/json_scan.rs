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
const WIDE_DIGITS: usize = 19;

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
    while let Some(found) = json
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        let at = from + found;
        if json[at] == b'"' {
            return at;
        }
        from = at + 2; // past the escape and the byte it escapes
    }
    json.len()
}

#[cfg(test)]
mod tests {
    const DEEP: usize = 254;

    fn needs_care(json: &[u8], max_element: usize) -> bool {
        super::needs_care(json, max_element, DEEP)
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
