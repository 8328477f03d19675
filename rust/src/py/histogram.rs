//! The histogram cell, and a histogram family's samples read in one call.
//!
//! `observabilipy.core.values.HistogramValue` subclasses the cell and keeps the rules
//! that need words (odd values, a labelled family's own cell), as in `cells`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::cells::check_lengths;

/// A histogram series: per-bucket counts and the sum, changed together under one short
/// lock so a scrape never sees a count without its sum.
#[pyclass(module = "observabilipy._native", subclass, frozen)]
pub struct HistogramCell {
    /// Finite upper bounds, ascending; the last count is the +Inf bucket.
    upper: OnceLock<Vec<f64>>,
    state: Mutex<(Vec<u64>, f64)>,
    /// Set on a labelled family's own cell: every use goes to the subclass.
    refusing: AtomicBool,
}

impl HistogramCell {
    /// The bucket of `value`: the first bound >= it (bounds are inclusive), as Python's
    /// `bisect_left` finds it.
    fn bucket(&self, value: f64) -> usize {
        let upper = self.upper.get().map_or(&[][..], Vec::as_slice);
        upper.partition_point(|&bound| bound < value)
    }

    /// Cumulative bucket counts (the last is +Inf, equal to the count) and the sum, read
    /// together under the lock.
    fn cumulative(&self) -> (Vec<u64>, f64) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let buckets = self.upper.get().map_or(0, Vec::len) + 1;
        let mut running = 0;
        let cumulative = (0..buckets)
            .map(|index| {
                running += state.0.get(index).copied().unwrap_or(0);
                running
            })
            .collect();
        (cumulative, state.1)
    }

    fn record(&self, index: usize, value: f64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (counts, sum) = &mut *state;
        if let Some(count) = counts.get_mut(index) {
            *count += 1;
            *sum += value;
        }
    }
}

#[pymethods]
impl HistogramCell {
    /// Empty; the subclass gives the bounds with `_set_bounds`.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Self {
            upper: OnceLock::new(),
            state: Mutex::new((Vec::new(), 0.0)),
            refusing: AtomicBool::new(false),
        }
    }

    /// Record one observation. Anything but a plain non-NaN `float` or `int`, or any use
    /// of a labelled family's own cell, goes to the subclass's `_observation`, which
    /// returns the bucket and the number to record, or raises.
    fn observe(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let cell = slf.get();
        let plain = if cell.refusing.load(Ordering::Relaxed) {
            None
        } else if let Ok(float) = value.cast_exact::<PyFloat>() {
            Some(float.value()).filter(|number| !number.is_nan())
        } else if value.is_exact_instance_of::<PyInt>() {
            // Only ints a float holds exactly: Python compares larger ones with the
            // bounds exactly, not rounded.
            #[allow(clippy::cast_precision_loss)]
            value
                .extract::<i64>()
                .ok()
                .filter(|n| n.unsigned_abs() <= 1 << 53)
                .map(|n| n as f64)
        } else {
            None
        };
        let (index, number) = match plain {
            Some(number) => (cell.bucket(number), number),
            None => slf
                .call_method1(intern!(slf.py(), "_observation"), (value,))?
                .extract::<(usize, f64)>()?,
        };
        cell.record(index, number);
        Ok(())
    }

    /// The subclass's: the bucket and number for a value `observe` does not take as
    /// it is, or its error.
    #[allow(clippy::unused_self)] // a method: the subclass overrides it
    fn _observation(&self, value: &Bound<'_, PyAny>) -> PyResult<(usize, f64)> {
        let _ = value; // named as the subclass's parameter is
        Err(super::cells::subclass_defines(
            "HistogramCell",
            "_observation",
        ))
    }

    /// Cumulative bucket counts (the last is +Inf, equal to the count) and the sum.
    fn _state(&self) -> (Vec<u64>, f64) {
        self.cumulative()
    }

    /// The finite upper bounds, ascending (once; later calls are ignored).
    fn _set_bounds(&self, upper: Vec<f64>) {
        let buckets = upper.len() + 1;
        if self.upper.set(upper).is_ok() {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 = vec![0; buckets];
        }
    }

    /// Back to empty (a forked child's histograms restart).
    fn _reset(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0.iter_mut().for_each(|count| *count = 0);
        state.1 = 0.0;
    }

    /// Make every use go to the subclass (a labelled family's own cell).
    fn _set_refusing(&self) {
        self.refusing.store(true, Ordering::Relaxed);
    }

    /// Whether this is a labelled family's own cell.
    fn _is_refusing(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }
}

/// A histogram family's samples, series by series: each bucket (with its label pairs
/// from `bucket_labels`, `le` last) as `<name>_bucket`, then `<name>_count` and
/// `<name>_sum` with the series' own pairs. The same tuples as the pure-Python snapshot,
/// in one call for the family.
#[pyfunction]
pub fn histogram_samples<'py>(
    name: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    bucket_labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    check_lengths(labels, cells)?;
    check_lengths(bucket_labels, cells)?;
    let py = name.py();
    let base = name.to_str()?;
    let [bucket, count, sum] = ["_bucket", "_count", "_sum"]
        .map(|suffix| PyString::new(py, &format!("{base}{suffix}")).into_any());
    let mut samples = Vec::with_capacity(cells.len() * 16);
    let series = labels.iter().zip(bucket_labels.iter()).zip(cells.iter());
    for ((labels, buckets), cell) in series {
        let histogram = cell.cast::<HistogramCell>()?;
        if histogram.get().refusing.load(Ordering::Relaxed) {
            // A labelled family's own cell has no series: its `state()` says so.
            histogram.call_method0(intern!(py, "state"))?;
        }
        let (cumulative, total) = histogram.get().cumulative();
        let buckets = buckets.cast::<PyList>()?;
        if buckets.len() != cumulative.len() {
            return Err(PyValueError::new_err(format!(
                "{} bucket label sets for {} buckets",
                buckets.len(),
                cumulative.len()
            )));
        }
        // Python's float(int): exact below 2**53, rounded to nearest above, as `as` does.
        #[allow(clippy::cast_precision_loss)]
        for (pairs, running) in buckets.iter().zip(&cumulative) {
            let value = PyFloat::new(py, *running as f64).into_any();
            samples.push(PyTuple::new(py, [&bucket, &pairs, &value])?);
        }
        #[allow(clippy::cast_precision_loss)]
        let observed = PyFloat::new(py, cumulative.last().copied().unwrap_or(0) as f64);
        samples.push(PyTuple::new(py, [&count, &labels, observed.as_any()])?);
        let total = PyFloat::new(py, total).into_any();
        samples.push(PyTuple::new(py, [&sum, &labels, &total])?);
    }
    PyList::new(py, samples)
}
