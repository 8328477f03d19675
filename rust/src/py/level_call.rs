//! `LoggerCore`'s level methods as method descriptors taking the fast-call
//! protocol.
//!
//! `PyO3` calls a method that takes `**kwargs` through the tuple-and-dict protocol and
//! copies the dict it is given: two dicts and a tuple per log call, which measured as
//! slow as the Python method. The interpreter hands a `METH_FASTCALL | METH_KEYWORDS`
//! method its arguments as an array and the keywords' names as a tuple, so a log call
//! builds only the one dict its entry keeps. The unsafe code is the C interface alone:
//! reading the arguments the interpreter passes, and making the descriptors.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::{ffi, Borrowed, PyTypeInfo};

use super::logger::{LoggerCore, LEVELS};

/// Each method's docstring, with the signature Python reads into `__text_signature__`.
const DOCS: [&CStr; 5] = [
    c"debug($self, message, /, *args, **attributes)\n--\n\nRecord at debug level.",
    c"info($self, message, /, *args, **attributes)\n--\n\nRecord at info level.",
    c"warning($self, message, /, *args, **attributes)\n--\n\nRecord at warning level.",
    c"error($self, message, /, *args, **attributes)\n--\n\nRecord at error level.",
    c"critical($self, message, /, *args, **attributes)\n--\n\nRecord at critical level.",
];

const NAMES: [&CStr; 5] = [c"debug", c"info", c"warning", c"error", c"critical"];

/// Set `debug`, `info`, `warning`, `error` and `critical` on `LoggerCore`.
pub fn add_level_methods(py: Python<'_>) -> PyResult<()> {
    let class = LoggerCore::type_object(py);
    let methods: [ffi::PyCFunctionFastWithKeywords; 5] =
        [level::<0>, level::<1>, level::<2>, level::<3>, level::<4>];
    for ((name, doc), method) in NAMES.into_iter().zip(DOCS).zip(methods) {
        // A descriptor keeps a pointer to its definition: this one lives as long as
        // the process (one per level, made when the module is first imported).
        let definition = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: method,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: doc.as_ptr(),
        }));
        // SAFETY: the type object is alive (held by `class`) and the definition is
        // valid for the process; the call returns a new reference or NULL with an
        // exception set, which `from_owned_ptr_or_err` takes either way.
        let descriptor = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyDescr_NewMethod(class.as_type_ptr(), definition),
            )?
        };
        class.setattr(PyString::new(py, &name.to_string_lossy()), descriptor)?;
    }
    Ok(())
}

/// The C function behind one level's method.
unsafe extern "C" fn level<const LEVEL: usize>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method only with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: CPython's fast-call protocol for a method descriptor: `slf` is an
        // instance of the descriptor's type, `args` holds `nargs` positional arguments
        // followed by one value per name in `kwnames` (a tuple of str, or NULL when
        // none are given), each a reference borrowed for the call.
        let call = unsafe { Call::read(py, slf, args, nargs, kwnames) };
        call.and_then(|call| call.record(LEVEL))
    }));
    match outcome {
        Ok(Ok(())) => py.None().into_ptr(),
        Ok(Err(error)) => {
            error.restore(py);
            null_mut()
        }
        Err(_) => {
            PyRuntimeError::new_err(format!("{} panicked", LEVELS[LEVEL])).restore(py);
            null_mut()
        }
    }
}

/// One call's arguments, read from the arrays the interpreter passed.
struct Call<'a, 'py> {
    core: Borrowed<'a, 'py, PyAny>,
    values: &'a [*mut ffi::PyObject],
    positional: usize,
    names: Option<Borrowed<'a, 'py, PyTuple>>,
}

impl<'a, 'py> Call<'a, 'py> {
    /// # Safety
    /// The arguments of a `METH_FASTCALL | METH_KEYWORDS` call, as the interpreter
    /// passes them.
    unsafe fn read(
        py: Python<'py>,
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> PyResult<Self> {
        let names = unsafe { Borrowed::from_ptr_or_opt(py, kwnames) }
            .map(Borrowed::cast::<PyTuple>)
            .transpose()?;
        let positional = usize::try_from(nargs)?;
        let total = positional + names.as_ref().map_or(0, |names| names.len());
        let values = if total == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(args, total) }
        };
        let core = unsafe { Borrowed::from_ptr(py, slf) };
        Ok(Self {
            core,
            values,
            positional,
            names,
        })
    }

    fn value(&self, at: usize) -> Borrowed<'a, 'py, PyAny> {
        // SAFETY: every pointer in `values` is a reference CPython lends for the call.
        unsafe { Borrowed::from_ptr(self.core.py(), self.values[at]) }
    }

    fn record(&self, level: usize) -> PyResult<()> {
        let py = self.core.py();
        let core = self.core.cast::<LoggerCore>()?;
        if self.positional == 0 {
            let name = LEVELS[level];
            return Err(PyTypeError::new_err(format!(
                "{name}() missing 1 required positional argument: 'message'"
            )));
        }
        let args = if self.positional > 1 {
            Some(PyTuple::new(
                py,
                (1..self.positional).map(|at| self.value(at)),
            )?)
        } else {
            None
        };
        let attributes = match &self.names {
            Some(names) if !names.is_empty() => {
                let attributes = PyDict::new(py);
                for (offset, name) in names.iter().enumerate() {
                    let name = name.cast_into::<PyString>()?;
                    attributes.set_item(name, self.value(self.positional + offset))?;
                }
                Some(attributes)
            }
            _ => None,
        };
        core.borrow()
            .record(level, &self.value(0), args.as_ref(), attributes)
    }
}
