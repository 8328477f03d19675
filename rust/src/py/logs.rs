//! Reading stored log rows: `(id | None, timestamp, level, message, logger, attributes)`.

use std::borrow::Cow;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyString};

use super::objects::{repr, type_name, unpack};
use crate::errors::Error;
use crate::fmt::{float_micros, int_micros};
use crate::ndjson::{LogRows, RowId};

/// Whether a timestamp is a float or an int (Python reads the two differently).
enum Timestamp {
    Float(f64),
    Int,
}

/// Check one row as `ndjson._line` does, in its order, and push it.
pub fn read_row(row: &Bound<'_, PyAny>, logs: &mut LogRows) -> PyResult<()> {
    let fields = unpack(row, 6)?;
    let timestamp = fields.get_borrowed_item(1)?;
    let seconds = if let Ok(timestamp) = timestamp.cast_exact::<PyFloat>() {
        Timestamp::Float(timestamp.value())
    } else if timestamp.is_exact_instance_of::<PyInt>() {
        Timestamp::Int
    } else {
        let type_name = type_name(&timestamp)?;
        return Err(Error::TimestampNotNumber { type_name }.into());
    };
    let attributes = fields.get_borrowed_item(5)?;
    let Ok(attributes) = attributes.cast_exact::<PyString>() else {
        let type_name = type_name(&attributes)?;
        return Err(Error::AttributesNotText { type_name }.into());
    };
    let micros = match seconds {
        Timestamp::Float(seconds) => float_micros(seconds)?,
        Timestamp::Int => {
            // An int beyond 64 bits is far outside years 1-9999.
            let Ok(seconds) = timestamp.extract::<i64>() else {
                let timestamp = repr(&timestamp)?;
                return Err(Error::TimestampOutOfRange { timestamp }.into());
            };
            int_micros(seconds)?
        }
    };
    let (level, message, logger) = (
        fields.get_borrowed_item(2)?,
        fields.get_borrowed_item(3)?,
        fields.get_borrowed_item(4)?,
    );
    let level = json_text(&level, "level")?;
    let message = json_text(&message, "message")?;
    let logger = json_text(&logger, "logger")?;
    // Python's `attributes.encode()`: the same UnicodeEncodeError for lone surrogates.
    let attributes = attributes.to_str()?;
    let id = fields.get_borrowed_item(0)?;
    let digits;
    let id = if id.is_none() {
        RowId::None
    } else if id.is_exact_instance_of::<PyInt>() {
        if let Ok(id) = id.extract::<i64>() {
            RowId::Int(id)
        } else {
            // Python prints ints of any size: so do we, from their own digits.
            digits = id.str()?;
            RowId::Digits(digits.to_str()?.as_bytes())
        }
    } else {
        let type_name = type_name(&id)?;
        return Err(Error::IdNotInt { type_name }.into());
    };
    logs.push(id, micros, &level, &message, &logger, attributes);
    Ok(())
}

/// A level, message or logger: a str (subclasses too), lone surrogates replaced by
/// U+FFFD as the Python side's `safe_text` does (a surrogate pair joins into one
/// character).
fn json_text<'a>(value: &'a Bound<'_, PyAny>, field: &'static str) -> PyResult<Cow<'a, str>> {
    let Ok(text) = value.cast::<PyString>() else {
        let type_name = type_name(value)?;
        return Err(Error::FieldNotText { field, type_name }.into());
    };
    if let Ok(text) = text.to_str() {
        return Ok(Cow::Borrowed(text));
    }
    let py = value.py();
    let units = text.call_method1(intern!(py, "encode"), ("utf-16-le", "surrogatepass"))?;
    let units = units.cast_into::<PyBytes>()?;
    let units = units
        .as_bytes()
        .chunks_exact(2)
        .map(|unit| u16::from_le_bytes([unit[0], unit[1]]));
    Ok(Cow::Owned(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    ))
}
