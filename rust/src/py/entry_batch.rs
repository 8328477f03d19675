//! A batch taken from the engine's queue (`entry_queue`): the entries' JSON as one
//! `bytes`, read back into `LogEntry` objects only when asked for (the storage rule).

use std::sync::Arc;

use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySlice};
use pyo3::{PyTraverseError, PyVisit};

/// What one `take` removed: the batch's JSON and where each entry ends in it.
pub(super) struct Taken {
    /// `[` the entries `]`, those kept as objects left out.
    pub(super) payload: Py<PyBytes>,
    /// Where each entry ends in `payload` (at the comma or bracket after it); an
    /// entry kept as an object ends where its predecessor does.
    pub(super) bounds: Vec<usize>,
    /// The entries kept as objects, by their place in the batch.
    pub(super) objects: Vec<(usize, Py<PyAny>)>,
    pub(super) encode: Py<PyAny>,
    pub(super) decode: Py<PyAny>,
}

/// Entries taken from an `EntryQueue`: a sequence of `LogEntry` (read back from their
/// JSON when asked for) whose `json()` is the batch's insert text.
#[pyclass(module = "observabilipy._native", frozen, sequence)]
pub struct EntryBatch {
    taken: Arc<Taken>,
    start: usize,
    stop: usize,
}

impl EntryBatch {
    pub(super) fn new(taken: Taken) -> Self {
        let stop = taken.bounds.len();
        Self {
            taken: Arc::new(taken),
            start: 0,
            stop,
        }
    }

    /// Where entry `index` of the whole take starts in the payload.
    fn begin(&self, index: usize) -> usize {
        if index == 0 {
            1
        } else {
            self.taken.bounds[index - 1] + 1
        }
    }

    /// Entry `index` of the whole take, when it is kept as an object.
    fn object(&self, index: usize) -> Option<&Py<PyAny>> {
        if self.begin(index) <= self.taken.bounds[index] {
            return None;
        }
        let objects = &self.taken.objects;
        let at = objects.binary_search_by_key(&index, |(at, _)| *at).ok()?;
        Some(&objects[at].1)
    }

    fn entry(&self, py: Python<'_>, index: usize) -> PyResult<Py<PyAny>> {
        if let Some(object) = self.object(index) {
            return Ok(object.clone_ref(py));
        }
        let taken = &self.taken;
        let payload = taken.payload.bind(py).as_bytes();
        let text = PyBytes::new(py, &payload[self.begin(index)..taken.bounds[index]]);
        Ok(taken.decode.bind(py).call1((text,))?.unbind())
    }
}

#[pymethods]
impl EntryBatch {
    fn __len__(&self) -> usize {
        self.stop - self.start
    }

    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let len = self.stop - self.start;
        if let Ok(slice) = index.cast::<PySlice>() {
            let indices = slice.indices(isize::try_from(len)?)?;
            if indices.step != 1 {
                let entries = (0..indices.slicelength)
                    .map(|k| {
                        let at = indices.start + isize::try_from(k)? * indices.step;
                        self.entry(py, self.start + usize::try_from(at)?)
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                return Ok(PyList::new(py, entries)?.into_any().unbind());
            }
            let start = self.start + usize::try_from(indices.start)?;
            let stop = start + indices.slicelength;
            let part = EntryBatch {
                taken: Arc::clone(&self.taken),
                start,
                stop,
            };
            return Ok(Py::new(py, part)?.into_any());
        }
        let Ok(at) = index.extract::<isize>() else {
            let name = index.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "batch indices must be integers or slices, not {name}"
            )));
        };
        let at = if at < 0 {
            at + isize::try_from(len)?
        } else {
            at
        };
        match usize::try_from(at) {
            Ok(at) if at < len => self.entry(py, self.start + at),
            _ => Err(PyIndexError::new_err("batch index out of range")),
        }
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let entries = (self.start..self.stop)
            .map(|index| self.entry(py, index))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, entries)?
            .into_any()
            .try_iter()?
            .into_any()
            .unbind())
    }

    /// The entries as the JSON array the insert reads; those kept as objects are
    /// encoded by msgspec now (what it raises, this raises).
    fn json(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let taken = &self.taken;
        if self.start == 0 && self.stop == taken.bounds.len() && taken.objects.is_empty() {
            return Ok(taken.payload.clone_ref(py));
        }
        let payload = taken.payload.bind(py).as_bytes();
        let mut out = Vec::with_capacity(payload.len());
        out.push(b'[');
        for index in self.start..self.stop {
            if index > self.start {
                out.push(b',');
            }
            if let Some(object) = self.object(index) {
                let encoded = taken.encode.bind(py).call1((object,))?;
                out.extend_from_slice(encoded.cast::<PyBytes>()?.as_bytes());
            } else {
                out.extend_from_slice(&payload[self.begin(index)..taken.bounds[index]]);
            }
        }
        out.push(b']');
        Ok(PyBytes::new(py, &out).unbind())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.taken.encode)?;
        visit.call(&self.taken.decode)?;
        for (_, object) in &self.taken.objects {
            visit.call(object)?;
        }
        Ok(())
    }
}
