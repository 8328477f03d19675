use super::*;

fn value(v: f64) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v);
    String::from_utf8(out).unwrap()
}

#[test]
fn values_print_as_go_prints_them() {
    let cases = [
        (3.0, "3"),
        (-0.0, "-0"),
        (1e6, "1e+06"),
        (999_999.5, "999999.5"),
        (0.0001, "0.0001"),
        (0.000_01, "1e-05"),
        (5e-324, "5e-324"),
        (1e100, "1e+100"),
        (123_456_789.0, "1.23456789e+08"),
        (-2.5, "-2.5"),
        // Exactly 653066998236525.25: of the two shortest forms, the even one.
        (653_066_998_236_525.2, "6.530669982365252e+14"),
    ];
    for (v, expected) in cases {
        assert_eq!(value(v), expected, "{v:e}");
    }
}

#[test]
fn reprs_match_python() {
    let cases = [
        (f64::NAN, "nan"),
        (f64::NEG_INFINITY, "-inf"),
        (1e20, "1e+20"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (0.0001, "0.0001"),
        (1.5e-5, "1.5e-05"),
        (-0.0, "-0.0"),
        (-1.25, "-1.25"),
    ];
    for (v, expected) in cases {
        assert_eq!(python_repr(v), expected);
    }
}

#[test]
fn json_floats_match_msgspec() {
    let cases = [
        (1e-5, "0.00001"),
        (9.99e-6, "9.99e-6"),
        (1.5e-7, "1.5e-7"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.234_567_890_123_456_7e17, "1.2345678901234566e17"),
        (-0.0, "-0.0"),
        (1_764_536_000.123_456, "1764536000.123456"),
    ];
    for (v, expected) in cases {
        let mut out = Vec::new();
        assert!(write_json_float(&mut out, v));
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
    assert!(!write_json_float(&mut Vec::new(), f64::NAN));
    assert!(!write_json_float(&mut Vec::new(), f64::INFINITY));
}

#[test]
fn timestamps_round_half_to_even_and_stay_in_years_1_to_9999() {
    assert_eq!(float_micros(0.000_000_5), Ok(0));
    assert_eq!(float_micros(0.000_002_5), Ok(2));
    assert_eq!(float_micros(-1.25), Ok(-1_250_000));
    assert!(float_micros(253_402_300_800.0).is_err());
    assert!(float_micros(1e303).is_err());
    assert!(int_micros(i64::MAX).is_err());
    assert_eq!(&second_prefix(951_782_400), b"2000-02-29T00:00:00");
    assert_eq!(&second_prefix(FIRST_SECOND), b"0001-01-01T00:00:00");
    assert_eq!(&micros_suffix(-1_250_000), b".750000Z");
}

#[test]
fn json_strings_escape_as_orjson_does() {
    let mut out = Vec::new();
    write_json_string(&mut out, "a\"\\\n\u{1}\u{7f}\u{2028}é".as_bytes());
    assert_eq!(out, "\"a\\\"\\\\\\n\\u0001\u{7f}\u{2028}é\"".as_bytes());
}

/// Byte by byte, as the table says: what the word-at-a-time writer must match.
fn escaped_slowly(text: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in text {
        match JSON_ESCAPES[usize::from(b)] {
            0 => out.push(b),
            b'u' => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            letter => out.extend_from_slice(&[b'\\', letter]),
        }
    }
    out.push(b'"');
    out
}

#[test]
fn json_strings_escape_at_every_offset_and_length() {
    for length in 0..26 {
        for offset in 0..length {
            for special in [b'"', b'\\', b'\n', 0x1f, 0x00, 0x7f, 0xc3] {
                let mut text = vec![b'x'; length];
                text[offset] = special;
                if offset + 3 < length {
                    text[offset + 3] = b'"'; // a second escape after the first
                }
                let mut out = Vec::new();
                write_json_string(&mut out, &text);
                assert_eq!(out, escaped_slowly(&text), "{length} {offset} {special}");
            }
        }
    }
}

#[test]
fn integers_print_in_full() {
    for value in [0, 7, 9, 10, 99, 100, 101, 999, 1000, 123_456, u64::MAX] {
        let mut out = Vec::new();
        write_u64(&mut out, value);
        assert_eq!(out, value.to_string().as_bytes());
    }
    for power in 0..20 {
        let value = 10_u64.pow(power);
        for value in [value - 1, value, value + 1] {
            let mut out = Vec::new();
            write_u64(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
    }
    assert_eq!(&micros_suffix(1_000_000_123_456), b".123456Z");
    assert_eq!(&micros_suffix(9_999), b".009999Z");
}
