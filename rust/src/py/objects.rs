//! Reading Python objects: unpacking, `repr`, type names, list items in hot loops.

use std::ops::Range;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// `value` as a tuple of `n` items, unpacked as Python unpacks it: any iterable of
/// exactly `n` items (a `ValueError` for another count, a `TypeError` when it is not
/// iterable). The wording of those errors is ours, not the interpreter's.
pub fn unpack<'py>(value: &Bound<'py, PyAny>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
    if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        if tuple.len() == n {
            return Ok(tuple.clone());
        }
    }
    let Ok(items) = value.try_iter() else {
        let type_name = type_name(value)?;
        return Err(PyTypeError::new_err(format!(
            "cannot unpack {type_name} into {n} values: not iterable"
        )));
    };
    // One more than needed tells "too many" without reading an endless iterator.
    let items = items.take(n + 1).collect::<PyResult<Vec<_>>>()?;
    if items.len() != n {
        let found = if items.len() > n {
            "more".to_owned()
        } else {
            items.len().to_string()
        };
        return Err(PyValueError::new_err(format!(
            "expected {n} values to unpack, got {found}"
        )));
    }
    PyTuple::new(value.py(), items)
}

/// `repr(value)`.
pub fn repr(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(value.repr()?.to_string_lossy().into_owned())
}

/// `type(value).__name__`.
pub fn type_name(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(value.get_type().name()?.to_string_lossy().into_owned())
}

/// The addresses of the items of `list` in `range` (as far as the list goes), to compare
/// with objects held elsewhere, as [`item_address`] gives them.
pub fn item_addresses(list: &Bound<'_, PyList>, range: Range<usize>, out: &mut Vec<usize>) {
    let end = range.end.min(list.len());
    for i in range.start..end {
        let Ok(at) = isize::try_from(i) else { return };
        #[allow(unsafe_code)]
        // SAFETY: as in `item_address`: `at` is below the length read above, and no
        // Python code runs in this loop to change it (one bounds check for the range:
        // one per item cost a third of a scrape's reads).
        let item = unsafe { ffi::PyList_GET_ITEM(list.as_ptr(), at) };
        out.push(item as usize);
    }
}

/// Whether the items of `list` are the objects at `addresses`, in order, and no more.
pub fn items_are(list: &Bound<'_, PyList>, addresses: &[usize]) -> bool {
    if list.len() != addresses.len() {
        return false;
    }
    addresses.iter().enumerate().all(|(i, address)| {
        let Ok(at) = isize::try_from(i) else {
            return false;
        };
        #[allow(unsafe_code)]
        // SAFETY: as in `item_addresses`: `at` is below the length read above, and no
        // Python code runs in this loop. The item is only compared as a number.
        let item = unsafe { ffi::PyList_GET_ITEM(list.as_ptr(), at) };
        item as usize == *address
    })
}

/// The address of item `i` of `list` (None past its end), to compare with an object
/// held elsewhere: no reference is counted, so the item itself is never touched (in a
/// loop over many thousand items, counting one costs a cache miss per item).
pub fn item_address(list: &Bound<'_, PyList>, i: usize) -> Option<usize> {
    let at = isize::try_from(i).ok().filter(|_| i < list.len())?;
    #[allow(unsafe_code)]
    // SAFETY: `at` is below the list's length, read just above with the GIL held. The
    // pointer is only returned as a number, never dereferenced.
    let item = unsafe { ffi::PyList_GET_ITEM(list.as_ptr(), at) };
    Some(item as usize)
}
