//! The arrays each process keeps its metric values in (see `core.aggregate`): values
//! at the series ids every process sharing the file agrees on, so combining processes
//! is adding arrays. These are the loops Python would otherwise run once per series.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyIterator, PyList, PyTuple};

/// `changed` (when each value last changed) with `now` wherever `values` or `present`
/// differ from `before` and `before_present`; shorter arrays hold zeros past their end.
#[pyfunction]
pub fn mark_changed<'py>(
    py: Python<'py>,
    now: f64,
    changed: &Bound<'py, PyAny>,
    before: &Bound<'py, PyAny>,
    before_present: &[u8],
    values: &Bound<'py, PyAny>,
    present: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let values = f64s(py, values)?;
    let before = f64s(py, before)?;
    let mut changed = f64s(py, changed)?;
    changed.resize(values.len(), 0.0);
    for (id, value) in values.iter().enumerate() {
        let was = before.get(id).copied().unwrap_or(0.0);
        let was_present = before_present.get(id).copied().unwrap_or(0);
        // `!=` as Python compares floats: NaN differs from itself, -0.0 equals 0.0.
        #[allow(clippy::float_cmp)]
        let differs = *value != was;
        if differs || present.get(id).copied().unwrap_or(0) != was_present {
            changed[id] = now;
        }
    }
    floats(py, &changed)
}

/// The arrays `parts` added element by element, in order, each padded with zeros to
/// `size` (a fixed order, so the same parts always give the same totals), and one byte
/// per id: 1 where any of `present` has a 1 (those are bytes of 0 or 1).
#[pyfunction]
pub fn add_floats<'py>(
    py: Python<'py>,
    parts: Vec<Bound<'py, PyAny>>,
    present: Vec<Bound<'py, PyBytes>>,
    size: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let mut totals = vec![0f64; size];
    for part in parts {
        let part = f64s(py, &part)?;
        for (total, value) in totals.iter_mut().zip(part) {
            *total += value;
        }
    }
    let mut flags = vec![0u8; size];
    for part in present {
        for (flag, one) in flags.iter_mut().zip(part.as_bytes()) {
            *flag |= one;
        }
    }
    Ok((floats(py, &totals)?, PyBytes::new(py, &flags)))
}

/// Gauges summed across processes: for each id below `size`, the exactly rounded sum
/// (as `math.fsum`, a zero sum +0.0) of the values of `parts` whose `present` is not 0
/// there, and 1 where any is not; with the ids whose sum `fsum` would find past the
/// largest float (left at 0.0, for the caller to add exactly).
#[pyfunction]
pub fn sum_gauges<'py>(
    py: Python<'py>,
    parts: &Bound<'py, PyList>,
    present: &Bound<'py, PyList>,
    size: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Vec<usize>)> {
    let parts = parts
        .iter()
        .map(|part| f64s(py, &part))
        .collect::<PyResult<Vec<_>>>()?;
    let present = present
        .iter()
        .map(|flags| flags.cast_into::<PyBytes>().map_err(PyErr::from))
        .collect::<PyResult<Vec<_>>>()?;
    let present: Vec<&[u8]> = present.iter().map(PyBytesMethods::as_bytes).collect();
    let (mut totals, mut flags, mut odd) = (vec![0f64; size], vec![0u8; size], Vec::new());
    for id in 0..size {
        let mut found = parts
            .iter()
            .zip(&present)
            .filter(|(values, flags)| {
                flags.get(id).is_some_and(|flag| *flag != 0) && id < values.len()
            })
            .map(|(values, _)| values[id])
            .peekable();
        if found.peek().is_none() {
            continue;
        }
        flags[id] = 1;
        match crate::fsum::exact_sum(found) {
            Some(total) => totals[id] = total,
            None => odd.push(id),
        }
    }
    Ok((floats(py, &totals)?, PyBytes::new(py, &flags), odd))
}

/// A float64 buffer's values (an `array('d')`); an empty one may point anywhere, so it
/// is not asked for its buffer.
fn f64s(py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if buffer.len()? == 0 {
        return Ok(Vec::new());
    }
    PyBuffer::<f64>::get(buffer)?.to_vec(py)
}

pub fn floats<'py>(py: Python<'py>, values: &[f64]) -> PyResult<Bound<'py, PyBytes>> {
    // Written in place: collecting `flat_map` into a Vec took longer than the adding.
    PyBytes::new_with(py, 8 * values.len(), |bytes| {
        for (to, value) in bytes.chunks_exact_mut(8).zip(values) {
            to.copy_from_slice(&value.to_ne_bytes());
        }
        Ok(())
    })
}

/// A summed family's series for an encoder: names and labels from the catalog's lists,
/// values from the added arrays, so a scrape builds no tuple per series (the encoder
/// reads it as it reads a `CounterSeries`). Iterating gives the `(sample, labels,
/// value)` tuples for anything but an encoder.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct SummedSeries {
    pub names: Py<PyList>,
    pub labels: Py<PyList>,
    /// The family's series that have a value, with their totals.
    pub series: Vec<(usize, f64)>,
}

#[pymethods]
impl SummedSeries {
    /// The series of `ids` (native unsigned 64-bit integers, an `array('Q')`'s bytes)
    /// that are `present`, named by `names[id]` and `labels[id]`, valued `totals[id]`
    /// (native float64 bytes, from `add_floats`).
    #[new]
    fn new(
        ids: &[u8],
        names: Bound<'_, PyList>,
        labels: Bound<'_, PyList>,
        totals: &[u8],
        present: &[u8],
    ) -> Self {
        let known = names.len().min(labels.len());
        let mut series = Vec::with_capacity(ids.len() / 8);
        for id in ids.chunks_exact(8) {
            let id = u64::from_ne_bytes(id.try_into().unwrap_or_default());
            let Some(id) = usize::try_from(id).ok().filter(|id| *id < known) else {
                continue;
            };
            if present.get(id).copied().unwrap_or(0) == 0 {
                continue;
            }
            if let Some(total) = totals.get(id * 8..id * 8 + 8) {
                series.push((id, f64::from_ne_bytes(total.try_into().unwrap_or_default())));
            }
        }
        Self {
            names: names.unbind(),
            labels: labels.unbind(),
            series,
        }
    }

    fn __len__(&self) -> usize {
        self.series.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.samples(py)?.try_iter()
    }

    /// The samples as tuples (for anything but an encoder).
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (names, labels) = (self.names.bind(py), self.labels.bind(py));
        let found = PyList::empty(py);
        for (id, total) in &self.series {
            let item = PyTuple::new(
                py,
                [
                    names.get_item(*id)?,
                    labels.get_item(*id)?,
                    PyFloat::new(py, *total).into_any(),
                ],
            )?;
            found.append(item)?;
        }
        Ok(found)
    }
}
