//! Text forms shared by the writers: floats, integers, timestamps and JSON strings.
//!
//! Each matches the pure-Python reference byte for byte: floats as Go's
//! `strconv.FormatFloat(v, 'g', -1, 64)` (`floats.py`), timestamps as `ndjson.py`'s
//! `format_timestamp`, JSON strings as orjson writes them.

use crate::errors::Error;
use crate::json_scan::find_special;

/// Shortest round-trip decimal digits of a finite, non-zero `|value|`.
struct Digits {
    buf: [u8; 17],
    len: usize,
    /// Decimal exponent of the first digit: `1.5e-05` is digits `15`, exponent -5.
    exp: i32,
}

impl Digits {
    fn of(value: f64) -> Self {
        // Ryu prints the shortest digits that read back to the same float, the closest
        // of them, ties to even: the digits Python's repr (and so `floats.py`) uses.
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(value.abs()).as_bytes();
        let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
        let (mantissa, exponent) = (&text[..e], text.get(e + 1..).unwrap_or_default());
        let point = mantissa.iter().position(|&b| b == b'.');
        let mut digits = Digits {
            buf: [0; 17],
            len: 0,
            exp: 0,
        };
        // Position of the decimal point after the first mantissa digit, as a power of ten.
        let mut exp = i32::try_from(point.unwrap_or(mantissa.len())).unwrap_or(0) - 1;
        for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
            if digits.len == 0 && b == b'0' {
                exp -= 1; // a leading zero, as in 0.001
            } else if digits.len < digits.buf.len() {
                digits.buf[digits.len] = b;
                digits.len += 1;
            }
        }
        while digits.len > 1 && digits.buf[digits.len - 1] == b'0' {
            digits.len -= 1;
        }
        let (negative, magnitude) = match exponent {
            [b'-', rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        let magnitude = magnitude
            .iter()
            .fold(0_i32, |acc, &b| acc * 10 + i32::from(b - b'0'));
        digits.exp = exp + if negative { -magnitude } else { magnitude };
        digits
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// `d.ddd` then `e`, the exponent's sign and at least two of its digits.
    fn write_exponent_form(&self, out: &mut Vec<u8>) {
        let digits = self.as_bytes();
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(if self.exp < 0 { b"e-" } else { b"e+" });
        let exp = self.exp.unsigned_abs();
        if exp < 10 {
            out.push(b'0');
        }
        write_u64(out, u64::from(exp));
    }

    /// Plain decimal notation, with `.0` when `point_zero` and the value is whole.
    fn write_fixed_form(&self, out: &mut Vec<u8>, point_zero: bool) {
        let digits = self.as_bytes();
        if self.exp < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(
                b'0',
                self.exp.unsigned_abs() as usize - 1,
            ));
            out.extend_from_slice(digits);
            return;
        }
        let whole = self.exp.unsigned_abs() as usize + 1;
        if digits.len() > whole {
            out.extend_from_slice(&digits[..whole]);
            out.push(b'.');
            out.extend_from_slice(&digits[whole..]);
        } else {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', whole - digits.len()));
            if point_zero {
                out.extend_from_slice(b".0");
            }
        }
    }
}

/// `00` to `99`, two bytes each: digits are written two at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
    5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// The two digits of `value` (below 100).
fn digit_pair(value: u64) -> [u8; 2] {
    // Below 100, so the index is in the table and the narrowing exact.
    #[allow(clippy::cast_possible_truncation)]
    let at = value as usize * 2;
    [DIGIT_PAIRS[at], DIGIT_PAIRS[at + 1]]
}

/// Decimal digits of `value`.
pub fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut buf = [0_u8; 20];
    let mut start = buf.len();
    while value >= 100 {
        start -= 2;
        buf[start..start + 2].copy_from_slice(&digit_pair(value % 100));
        value /= 100;
    }
    if value >= 10 {
        start -= 2;
        buf[start..start + 2].copy_from_slice(&digit_pair(value));
    } else {
        start -= 1;
        // Below 10, so the narrowing is exact.
        #[allow(clippy::cast_possible_truncation)]
        let digit = value as u8;
        buf[start] = b'0' + digit;
    }
    out.extend_from_slice(&buf[start..]);
}

/// Decimal digits of `value`, with `-` when negative.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_u64(out, value.unsigned_abs());
}

/// A sample value as Go prints it: `NaN`, `+Inf`, `-0`, `0.1`, `1e+06`, `1.5e-05`.
pub fn write_value(out: &mut Vec<u8>, value: f64) {
    let magnitude = value.abs();
    if value.fract() == 0.0 && magnitude < 1e6 {
        // Whole numbers below a million are most samples (counts): print them directly.
        if value.is_sign_negative() {
            out.push(b'-');
        }
        // Whole and below 1e6, so the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        write_u64(out, magnitude as u64);
    } else if value.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        if value < 0.0 {
            out.push(b'-');
        }
        let digits = Digits::of(value);
        if (-4..6).contains(&digits.exp) {
            digits.write_fixed_form(out, false);
        } else {
            digits.write_exponent_form(out);
        }
    }
}

/// A finite float as msgspec writes it in JSON, the form log batches carry: Python's
/// shortest digits, plain from 1e-5 to below 1e16 (`0.00001`, `1.0`), else `1e16`,
/// `1.5e-7`. False, with nothing written, for NaN and the infinities.
pub fn write_json_float(out: &mut Vec<u8>, value: f64) -> bool {
    if !value.is_finite() {
        return false;
    }
    if value.is_sign_negative() {
        out.push(b'-');
    }
    if value == 0.0 {
        out.extend_from_slice(b"0.0");
        return true;
    }
    let digits = Digits::of(value);
    if (-5..16).contains(&digits.exp) {
        digits.write_fixed_form(out, true);
    } else {
        let mantissa = digits.as_bytes();
        out.push(mantissa[0]);
        if mantissa.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&mantissa[1..]);
        }
        out.push(b'e');
        if digits.exp < 0 {
            out.push(b'-');
        }
        write_u64(out, u64::from(digits.exp.unsigned_abs()));
    }
    true
}

/// A float as Python's `repr` writes it, for error messages: `nan`, `-inf`, `1e+20`, `0.5`.
#[must_use]
pub fn python_repr(value: f64) -> String {
    let mut out = Vec::new();
    if value.is_nan() {
        out.extend_from_slice(b"nan");
    } else {
        if value.is_sign_negative() {
            out.push(b'-');
        }
        if value.is_infinite() {
            out.extend_from_slice(b"inf");
        } else if value == 0.0 {
            out.extend_from_slice(b"0.0");
        } else {
            let digits = Digits::of(value);
            if (-4..16).contains(&digits.exp) {
                digits.write_fixed_form(&mut out, true);
            } else {
                digits.write_exponent_form(&mut out);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const MICROS: i64 = 1_000_000;
/// Seconds since the epoch of 0001-01-01T00:00:00 and 9999-12-31T23:59:59.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

fn check_micros(micros: i64, repr: impl FnOnce() -> String) -> Result<i64, Error> {
    if (FIRST_SECOND..=LAST_SECOND).contains(&micros.div_euclid(MICROS)) {
        Ok(micros)
    } else {
        Err(Error::TimestampOutOfRange { timestamp: repr() })
    }
}

/// Microseconds since the epoch for a float timestamp, rounded half to even as Python's
/// `round(timestamp * 1_000_000)`.
///
/// # Errors
///
/// [`Error::TimestampNotFinite`] when the product is not finite, and
/// [`Error::TimestampOutOfRange`] outside years 1 to 9999.
pub fn float_micros(timestamp: f64) -> Result<i64, Error> {
    let scaled = timestamp * 1e6;
    if !scaled.is_finite() {
        // Python fails on the product, so a finite 1e303 counts as not finite too.
        return Err(Error::TimestampNotFinite {
            timestamp: python_repr(timestamp),
        });
    }
    let rounded = scaled.round_ties_even();
    if rounded.abs() >= 9e18 {
        return Err(Error::TimestampOutOfRange {
            timestamp: python_repr(timestamp),
        });
    }
    // Whole and well inside the i64 range, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation)]
    check_micros(rounded as i64, || python_repr(timestamp))
}

/// Microseconds since the epoch for a whole-second timestamp.
///
/// # Errors
///
/// [`Error::TimestampOutOfRange`] outside years 1 to 9999.
pub fn int_micros(timestamp: i64) -> Result<i64, Error> {
    let repr = || timestamp.to_string();
    match timestamp.checked_mul(MICROS) {
        Some(micros) => check_micros(micros, repr),
        None => Err(Error::TimestampOutOfRange { timestamp: repr() }),
    }
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn push_padded(out: &mut [u8], value: i64) {
    let mut rest = value;
    for slot in out.iter_mut().rev() {
        // The remainder is below 10, so the narrowing is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let digit = rest.rem_euclid(10) as u8;
        *slot = b'0' + digit;
        rest /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch inside years 1 to 9999.
#[must_use]
pub fn second_prefix(second: i64) -> [u8; 19] {
    let (year, month, day) = civil_from_days(second.div_euclid(86_400));
    let clock = second.rem_euclid(86_400);
    let mut text = *b"0000-00-00T00:00:00";
    push_padded(&mut text[0..4], year);
    push_padded(&mut text[5..7], month);
    push_padded(&mut text[8..10], day);
    push_padded(&mut text[11..13], clock / 3_600);
    push_padded(&mut text[14..16], clock / 60 % 60);
    push_padded(&mut text[17..19], clock % 60);
    text
}

/// `.ffffffZ`: the microseconds of a timestamp, after its [`second_prefix`].
#[must_use]
pub fn micros_suffix(micros: i64) -> [u8; 8] {
    // Below a million, so the conversion is exact.
    #[allow(clippy::cast_sign_loss)]
    let fraction = micros.rem_euclid(MICROS) as u64;
    let mut text = *b".000000Z";
    text[1..3].copy_from_slice(&digit_pair(fraction / 10_000));
    text[3..5].copy_from_slice(&digit_pair(fraction / 100 % 100));
    text[5..7].copy_from_slice(&digit_pair(fraction % 100));
    text
}

/// What each byte becomes inside a JSON string: 0 itself, `u` a `\u00XX` escape, or the
/// letter of a short escape. orjson's choices: `\b \t \n \f \r \" \\`, other control
/// characters as `\u00XX` (lowercase hex), everything else (DEL, U+2028...) as is.
const JSON_ESCAPES: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `text` as a quoted JSON string, escaped exactly as orjson escapes it. Runs without
/// an escape are found eight bytes at a time and copied whole.
pub fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    // Short texts (level and logger names, most calls) take a table lookup a byte:
    // measured, the word scan's setup costs them more than it saves.
    let mut next = if text.len() < 8 {
        text.iter().position(|&b| JSON_ESCAPES[usize::from(b)] != 0)
    } else {
        find_special(text, 0, true)
    };
    while let Some(at) = next {
        let b = text[at];
        let escape = JSON_ESCAPES[usize::from(b)];
        out.extend_from_slice(&text[start..at]);
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = at + 1;
        next = find_special(text, start, true);
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests;
