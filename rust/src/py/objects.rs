//! Reading Python objects as Python itself does, for error messages that match.

use std::ffi::CStr;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

/// Python's own unpacking of a value into 2, 3 or 6 names.
const UNPACK: &CStr = c"
def unpack2(value):
    a, b = value
    return a, b

def unpack3(value):
    a, b, c = value
    return a, b, c

def unpack6(value):
    a, b, c, d, e, f = value
    return a, b, c, d, e, f
";
static UNPACKERS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// `value` as a tuple of `n` (2, 3 or 6) items. Anything but such a tuple goes through
/// Python's own unpacking, so a wrong shape fails with its exact error, whose wording
/// varies between Python versions.
pub fn unpack<'py>(value: &Bound<'py, PyAny>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
    if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        if tuple.len() == n {
            return Ok(tuple.clone());
        }
    }
    let py = value.py();
    let unpackers = UNPACKERS.get_or_try_init(py, || -> PyResult<_> {
        let namespace = PyDict::new(py);
        py.run(UNPACK, Some(&namespace), None)?;
        Ok(namespace.unbind())
    })?;
    let name = match n {
        2 => "unpack2",
        3 => "unpack3",
        _ => "unpack6",
    };
    let unpacker = unpackers.bind(py).as_any().get_item(name)?;
    Ok(unpacker.call1((value,))?.cast_into()?)
}

/// `repr(value)`.
pub fn repr(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(value.repr()?.to_string_lossy().into_owned())
}

/// `type(value).__name__`.
pub fn type_name(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(value.get_type().name()?.to_string_lossy().into_owned())
}
