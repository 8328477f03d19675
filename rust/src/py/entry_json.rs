//! One log entry as the JSON text msgspec writes for a `LogEntry`:
//! `[timestamp,"level","message",{attributes},"logger"]`, byte for byte.
//!
//! Only the plain kinds are written here: exact `str` (valid UTF-8), `int` within 64
//! bits, finite `float`, `bool` and `None` as attribute values, under `str` keys. For
//! anything else the writer says no and the caller asks msgspec (with the attributes'
//! text hook), so an entry reads the same whichever wrote it. Nothing here runs Python
//! code: no `__str__`, `__hash__` or `__eq__` of the caller's objects is called.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use crate::fmt::{write_i64, write_json_float, write_json_string};

/// Append the entry to `out`; false when a part is not of the plain kinds (`out` may
/// then hold part of it: the caller cuts it back).
pub fn write_entry(
    out: &mut Vec<u8>,
    timestamp: f64,
    level: &Bound<'_, PyAny>,
    message: &Bound<'_, PyAny>,
    attributes: &Bound<'_, PyAny>,
    logger: &Bound<'_, PyAny>,
) -> bool {
    out.push(b'[');
    if !write_json_float(out, timestamp) {
        return false;
    }
    let parts: [(&Bound<'_, PyAny>, Writer); 4] = [
        (level, write_str),
        (message, write_str),
        (attributes, write_object),
        (logger, write_str),
    ];
    for (part, write) in parts {
        out.push(b',');
        if !write(out, part) {
            return false;
        }
    }
    out.push(b']');
    true
}

/// A part's writer: false when the part is not of its plain kind.
type Writer = fn(&mut Vec<u8>, &Bound<'_, PyAny>) -> bool;

fn write_str(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> bool {
    let Ok(text) = value.cast_exact::<PyString>() else {
        return false;
    };
    // A lone surrogate has no UTF-8: msgspec raises for it, and so the rule takes it.
    let Ok(text) = text.to_str() else {
        return false;
    };
    write_json_string(out, text.as_bytes());
    true
}

fn write_object(out: &mut Vec<u8>, attributes: &Bound<'_, PyAny>) -> bool {
    let Ok(attributes) = attributes.cast_exact::<PyDict>() else {
        return false;
    };
    out.push(b'{');
    let mut first = true;
    for (key, value) in attributes.iter() {
        if !first {
            out.push(b',');
        }
        first = false;
        if !write_str(out, &key) {
            return false;
        }
        out.push(b':');
        if !write_value(out, &value) {
            return false;
        }
    }
    out.push(b'}');
    true
}

fn write_value(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> bool {
    if value.is_exact_instance_of::<PyString>() {
        write_str(out, value)
    } else if let Ok(number) = value.cast_exact::<PyInt>() {
        // Wider than 64 bits: msgspec's digits, then the storage rule's text.
        let Ok(number) = number.extract::<i64>() else {
            return false;
        };
        write_i64(out, number);
        true
    } else if let Ok(number) = value.cast_exact::<PyFloat>() {
        write_json_float(out, number.value())
    } else if let Ok(flag) = value.cast_exact::<PyBool>() {
        out.extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
        true
    } else if value.is_none() {
        out.extend_from_slice(b"null");
        true
    } else {
        false
    }
}
