//! `run_steps(connection, steps, params)`: run a list of SQL statements on an apsw
//! connection with the GIL released once for all of them.
//!
//! apsw releases the GIL while SQLite steps a statement and takes it back after. While
//! another thread runs Python, taking it back waits up to the interpreter's switch
//! interval (5 ms), so a writer storing a batch in several statements spent most of its
//! time waiting for the producer it serves. Here the statements run back to back.
//!
//! The rules stay in the SQL, which Python writes (`sqlite_steps.py` runs the same list
//! through apsw for the pure-Python backend). Each statement binds its named parameters
//! (`:name`) from `params` and from the columns of the first row earlier statements
//! returned, by column name; a statement's rows are stepped to the end. A first row
//! with a non-zero column `stop` ends the run there.
//!
//! The connection is reached through its `sqlite3*` (apsw's `sqlite3pointer()`) and
//! called through the function table SQLite handed the extension: the application's
//! SQLite is apsw's own copy, with its symbols hidden, so there is no other way in.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use libsqlite3_sys as ffi;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyString};

// The interface's text encoding, at the width its parameter takes.
#[allow(clippy::cast_possible_truncation)]
const UTF8: u8 = ffi::SQLITE_UTF8 as u8;

/// Set once SQLite has handed the extension its function table (`sqlite_ext`'s init):
/// before that, no function of it can be called.
static LOADED: AtomicBool = AtomicBool::new(false);

/// Record that the function table is in place.
pub fn loaded() {
    LOADED.store(true, Ordering::Release);
}

/// A parameter or column value.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

impl Value<'_> {
    /// Python's truth of the value.
    fn is_true(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Int(number) => *number != 0,
            Value::Float(number) => *number != 0.0,
            Value::Text(text) => !text.is_empty(),
            Value::Blob(bytes) => !bytes.is_empty(),
        }
    }
}

/// How a run ended: the values the statements returned, how many statements ran to
/// their end, and SQLite's (extended) error code and message when one failed.
struct Outcome {
    values: HashMap<String, Value<'static>>,
    done: usize,
    error: Option<(c_int, String)>,
}

/// Run `steps` on the connection at `connection` (see the module); returns (the values
/// the statements returned by column name, how many ran to their end, and `None` or
/// SQLite's error code and message for the statement that failed).
///
/// The caller (our Python) promises that `connection` is a live apsw connection of the
/// SQLite the extension was loaded into, which no other thread uses during the call.
#[pyfunction]
#[allow(clippy::type_complexity)]
#[allow(clippy::needless_pass_by_value)] // PyO3 extracts the list as an owned Vec
pub(crate) fn run_steps<'py>(
    py: Python<'py>,
    connection: usize,
    steps: Vec<String>,
    params: &Bound<'py, PyDict>,
) -> PyResult<(Bound<'py, PyDict>, usize, Option<(c_int, String)>)> {
    if !LOADED.load(Ordering::Acquire) {
        return Err(PyRuntimeError::new_err(
            "the SQLite extension is not loaded: no SQLite to run steps on",
        ));
    }
    // Held for the call, so the bytes given (the batch) are bound without a copy.
    let items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = params.iter().collect();
    let mut given: HashMap<String, Value<'_>> = HashMap::with_capacity(items.len());
    for (key, value) in &items {
        given.insert(key.extract::<String>()?, read_value(value)?);
    }
    let outcome = py.detach(|| {
        let db = ptr::with_exposed_provenance_mut::<ffi::sqlite3>(connection);
        // SAFETY: the caller's promise above.
        unsafe { run(db, &steps, &given) }
    });
    let values = PyDict::new(py);
    for (name, value) in outcome.values {
        match value {
            Value::Null => values.set_item(name, py.None())?,
            Value::Int(number) => values.set_item(name, number)?,
            Value::Float(number) => values.set_item(name, number)?,
            Value::Text(text) => values.set_item(name, text.as_ref())?,
            Value::Blob(bytes) => values.set_item(name, PyBytes::new(py, &bytes))?,
        }
    }
    Ok((values, outcome.done, outcome.error))
}

fn read_value<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<Value<'a>> {
    if value.is_none() {
        Ok(Value::Null)
    } else if let Ok(bytes) = value.cast::<PyBytes>() {
        Ok(Value::Blob(Cow::Borrowed(bytes.as_bytes())))
    } else if let Ok(text) = value.cast::<PyString>() {
        Ok(Value::Text(Cow::Owned(text.to_str()?.to_owned())))
    } else if value.is_instance_of::<PyFloat>() {
        Ok(Value::Float(value.extract()?))
    } else if value.is_instance_of::<PyInt>() {
        Ok(Value::Int(value.extract()?))
    } else {
        Err(PyTypeError::new_err(format!(
            "a step parameter must be None, int, float, str or bytes, got {}",
            value.get_type().name()?
        )))
    }
}

/// # Safety
///
/// `db` is a live connection of the SQLite whose function table the extension holds,
/// used by no other thread meanwhile.
unsafe fn run(
    db: *mut ffi::sqlite3,
    steps: &[String],
    given: &HashMap<String, Value<'_>>,
) -> Outcome {
    let mut outcome = Outcome {
        values: HashMap::new(),
        done: 0,
        error: None,
    };
    for sql in steps {
        // SAFETY: the caller's contract.
        let result = unsafe { run_one(db, sql, given, &outcome.values) };
        match result {
            Ok(row) => {
                let stop = row
                    .iter()
                    .any(|(name, value)| name == "stop" && value.is_true());
                outcome.values.extend(row);
                outcome.done += 1;
                if stop {
                    break;
                }
            }
            Err(error) => {
                outcome.error = Some(error);
                break;
            }
        }
    }
    outcome
}

/// A prepared statement, finalized when dropped.
struct Statement(*mut ffi::sqlite3_stmt);

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: prepared by `run_one` on a live connection; finalized once.
        unsafe { ffi::sqlite3_finalize(self.0) };
    }
}

/// SQLite's code and message for the connection's last error.
unsafe fn last_error(db: *mut ffi::sqlite3) -> (c_int, String) {
    // SAFETY: a live connection; the message is copied before any other call.
    unsafe {
        let message = ffi::sqlite3_errmsg(db);
        let text = if message.is_null() {
            String::new()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        };
        (ffi::sqlite3_extended_errcode(db), text)
    }
}

/// Run one statement to its end: the columns of its first row, by name.
unsafe fn run_one(
    db: *mut ffi::sqlite3,
    sql: &str,
    given: &HashMap<String, Value<'_>>,
    returned: &HashMap<String, Value<'static>>,
) -> Result<Vec<(String, Value<'static>)>, (c_int, String)> {
    let Ok(length) = c_int::try_from(sql.len()) else {
        return Err((ffi::SQLITE_TOOBIG, "the statement is too long".to_owned()));
    };
    let mut raw = ptr::null_mut();
    let mut tail: *const c_char = ptr::null();
    // SAFETY: the caller's contract; the text and its length are valid.
    let status = unsafe {
        ffi::sqlite3_prepare_v3(
            db,
            sql.as_ptr().cast::<c_char>(),
            length,
            0,
            &raw mut raw,
            &raw mut tail,
        )
    };
    if status != ffi::SQLITE_OK {
        // SAFETY: as above.
        return Err(unsafe { last_error(db) });
    }
    if raw.is_null() {
        return Ok(Vec::new()); // only a comment or white space
    }
    let statement = Statement(raw);
    // SQLite prepares the first statement of a text: a second would be skipped unseen.
    let used = (tail as usize).saturating_sub(sql.as_ptr() as usize);
    if sql.get(used..).is_some_and(|rest| !rest.trim().is_empty()) {
        return Err((ffi::SQLITE_MISUSE, "one statement per step".to_owned()));
    }
    // SAFETY: a prepared statement; values outlive it (bound SQLITE_STATIC).
    unsafe { bind(db, &statement, given, returned)? };
    let mut row = Vec::new();
    loop {
        // SAFETY: as above.
        match unsafe { ffi::sqlite3_step(statement.0) } {
            ffi::SQLITE_ROW => {
                if row.is_empty() {
                    // SAFETY: a statement positioned on a row.
                    row = unsafe { columns(statement.0) };
                }
            }
            ffi::SQLITE_DONE => return Ok(row),
            // SAFETY: as above.
            _ => return Err(unsafe { last_error(db) }),
        }
    }
}

unsafe fn bind(
    db: *mut ffi::sqlite3,
    statement: &Statement,
    given: &HashMap<String, Value<'_>>,
    returned: &HashMap<String, Value<'static>>,
) -> Result<(), (c_int, String)> {
    // SAFETY: a prepared statement, and values that outlive it.
    unsafe {
        for index in 1..=ffi::sqlite3_bind_parameter_count(statement.0) {
            let name = ffi::sqlite3_bind_parameter_name(statement.0, index);
            let name = if name.is_null() {
                ""
            } else {
                CStr::from_ptr(name).to_str().unwrap_or("")
            };
            let key = name.get(1..).unwrap_or("");
            let Some(value) = returned.get(key).or_else(|| given.get(key)) else {
                return Err((
                    ffi::SQLITE_RANGE,
                    format!("no value for the parameter {name}"),
                ));
            };
            let status = match value {
                Value::Null => ffi::sqlite3_bind_null(statement.0, index),
                Value::Int(number) => ffi::sqlite3_bind_int64(statement.0, index, *number),
                Value::Float(number) => ffi::sqlite3_bind_double(statement.0, index, *number),
                Value::Text(text) => ffi::sqlite3_bind_text64(
                    statement.0,
                    index,
                    text.as_ptr().cast::<c_char>(),
                    text.len() as u64,
                    ffi::SQLITE_STATIC(),
                    UTF8,
                ),
                Value::Blob(bytes) => ffi::sqlite3_bind_blob64(
                    statement.0,
                    index,
                    bytes.as_ptr().cast(),
                    bytes.len() as u64,
                    ffi::SQLITE_STATIC(),
                ),
            };
            if status != ffi::SQLITE_OK {
                return Err(last_error(db));
            }
        }
    }
    Ok(())
}

/// The current row's columns, by name, copied.
unsafe fn columns(statement: *mut ffi::sqlite3_stmt) -> Vec<(String, Value<'static>)> {
    // SAFETY: a statement positioned on a row; each value is copied before the next call.
    unsafe {
        (0..ffi::sqlite3_column_count(statement))
            .map(|index| {
                let name = ffi::sqlite3_column_name(statement, index);
                let name = if name.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(name).to_string_lossy().into_owned()
                };
                let value = match ffi::sqlite3_column_type(statement, index) {
                    ffi::SQLITE_INTEGER => Value::Int(ffi::sqlite3_column_int64(statement, index)),
                    ffi::SQLITE_FLOAT => Value::Float(ffi::sqlite3_column_double(statement, index)),
                    ffi::SQLITE_TEXT => {
                        let text = ffi::sqlite3_column_text(statement, index);
                        let bytes = column_bytes(statement, index, text);
                        Value::Text(Cow::Owned(String::from_utf8_lossy(bytes).into_owned()))
                    }
                    ffi::SQLITE_BLOB => {
                        let blob = ffi::sqlite3_column_blob(statement, index).cast::<u8>();
                        Value::Blob(Cow::Owned(column_bytes(statement, index, blob).to_vec()))
                    }
                    _ => Value::Null,
                };
                (name, value)
            })
            .collect()
    }
}

/// The bytes of a text or blob column at `start`, as long as SQLite says it is.
unsafe fn column_bytes<'a>(
    statement: *mut ffi::sqlite3_stmt,
    index: c_int,
    start: *const u8,
) -> &'a [u8] {
    // SAFETY: `start` is the column's value, valid until the next call on the statement.
    unsafe {
        let length = usize::try_from(ffi::sqlite3_column_bytes(statement, index)).unwrap_or(0);
        if start.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(start, length)
        }
    }
}
