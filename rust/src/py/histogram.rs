//! The histogram cell, and a histogram family's samples read in one call.
//!
//! The cell is the whole series, as the counter's in `cells` is: it converts or
//! refuses odd values itself, naming its metric.

use std::sync::{Mutex, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyIterator, PyList, PyString, PyTuple};

use super::cells::number;
use super::changes::{mark, Changes};
use super::exemplars::Slot;

/// A histogram series: per-bucket counts and the sum, changed together under one short
/// lock so a scrape never sees a count without its sum.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct HistogramCell {
    name: String,
    /// Finite upper bounds, ascending; the last count is the +Inf bucket.
    upper: Vec<f64>,
    state: Mutex<(Vec<u64>, f64)>,
    exemplars: Slot,
    /// The family's change bits, marked after each update (see `changes`).
    changes: Option<Py<Changes>>,
}

impl HistogramCell {
    /// The bucket of `value`: the first bound >= it (bounds are inclusive), as Python's
    /// `bisect_left` finds it.
    fn bucket(&self, value: f64) -> usize {
        self.upper.partition_point(|&bound| bound < value)
    }

    /// Cumulative bucket counts (the last is +Inf, equal to the count) and the sum, read
    /// together under the lock.
    fn cumulative(&self) -> (Vec<u64>, f64) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut running = 0;
        let cumulative = state
            .0
            .iter()
            .map(|count| {
                running += count;
                running
            })
            .collect();
        (cumulative, state.1)
    }

    fn record(&self, index: usize, value: f64) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (counts, sum) = &mut *state;
            if let Some(count) = counts.get_mut(index) {
                *count += 1;
                *sum += value;
            }
        }
        mark(self.changes.as_ref());
    }

    /// `value` as the number to record: plain non-NaN floats and ints a float holds
    /// exactly as they are, anything else through `number`; NaN refused.
    fn number(&self, value: &Bound<'_, PyAny>) -> PyResult<f64> {
        let plain = if let Ok(float) = value.cast_exact::<PyFloat>() {
            Some(float.value())
        } else if value.is_exact_instance_of::<PyInt>() {
            #[allow(clippy::cast_precision_loss)]
            value
                .extract::<i64>()
                .ok()
                .filter(|n| n.unsigned_abs() <= 1 << 53)
                .map(|n| n as f64)
        } else {
            None
        };
        let number = match plain {
            Some(number) => number,
            None => number(&self.name, "observe()", value)?,
        };
        if number.is_nan() {
            return Err(PyValueError::new_err(format!(
                "histogram '{}' cannot observe NaN",
                self.name
            )));
        }
        Ok(number)
    }
}

#[pymethods]
impl HistogramCell {
    /// Empty, for the histogram named `name` with finite upper bounds `upper`
    /// (ascending; the caller has checked them), marking `changes` after each update.
    #[new]
    #[pyo3(signature = (name, upper, changes = None))]
    fn new(name: String, upper: Vec<f64>, changes: Option<Py<Changes>>) -> Self {
        let buckets = upper.len() + 1;
        Self {
            name,
            upper,
            state: Mutex::new((vec![0; buckets], 0.0)),
            exemplars: Slot::default(),
            changes,
        }
    }

    /// Record one observation (a number, not NaN), with an optional exemplar.
    #[pyo3(signature = (value, exemplar = None))]
    fn observe(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        exemplar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let number = self.number(value)?;
        let labels = self.exemplars.labels(&self.name, exemplar, py)?;
        let index = self.bucket(number);
        self.record(index, number);
        if let Some(labels) = labels {
            self.exemplars
                .keep(index, self.upper.len() + 1, labels, number);
        }
        Ok(())
    }

    /// Cumulative bucket counts (the last is +Inf, equal to the count) and the sum.
    fn state(&self) -> (Vec<u64>, f64) {
        self.cumulative()
    }

    /// Each bucket's latest exemplar as `(labels, value, timestamp)`, or None.
    fn exemplars<'py>(&self, py: Python<'py>) -> PyResult<Vec<Option<Bound<'py, PyTuple>>>> {
        (0..=self.upper.len())
            .map(|index| self.exemplars.latest(py, index))
            .collect()
    }

    /// Back to empty, without exemplars (a forked child's histograms restart).
    fn reset(&self) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0.iter_mut().for_each(|count| *count = 0);
            state.1 = 0.0;
        }
        self.exemplars.clear();
        mark(self.changes.as_ref());
    }
}

/// A histogram family's samples, series by series: each bucket (with its label pairs
/// from `bucket_labels`, `le` last) as `<name>_bucket`, then `<name>_count` and
/// `<name>_sum` with the series' own pairs. The same tuples as the pure-Python snapshot,
/// in one call for the family. Each bucket's exemplar goes into `exemplars` (when given)
/// by `(sample, labels)`.
#[pyfunction]
#[pyo3(signature = (name, labels, bucket_labels, cells, exemplars = None))]
pub fn histogram_samples<'py>(
    name: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    bucket_labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
    exemplars: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = name.py();
    let base = name.to_str()?;
    let [bucket, count, sum] = ["_bucket", "_count", "_sum"]
        .map(|suffix| PyString::new(py, &format!("{base}{suffix}")).into_any());
    let mut samples = Vec::with_capacity(cells.len() * 16);
    let series = labels.iter().zip(bucket_labels.iter()).zip(cells.iter());
    for ((labels, buckets), cell) in series {
        let buckets = buckets.cast::<PyList>()?;
        let (histogram, cumulative, total) = read_cell(&cell, buckets)?;
        // Python's float(int): exact below 2**53, rounded to nearest above, as `as` does.
        #[allow(clippy::cast_precision_loss)]
        for (index, (pairs, running)) in buckets.iter().zip(&cumulative).enumerate() {
            let value = PyFloat::new(py, *running as f64).into_any();
            if let Some(exemplars) = exemplars.filter(|_| histogram.exemplars.holds()) {
                if let Some(exemplar) = histogram.exemplars.latest(py, index)? {
                    exemplars.set_item((&bucket, &pairs), exemplar)?;
                }
            }
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

/// A histogram family's series left in their cells, for an encoder to read as it writes
/// (as `CounterSeries` is for counters): no tuple per bucket.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct HistogramSeries {
    /// The family's name: its samples are `<name>_bucket`, `<name>_count`, `<name>_sum`.
    pub name: Py<PyString>,
    pub labels: Py<PyList>,
    pub bucket_labels: Py<PyList>,
    pub cells: Py<PyList>,
    /// The bits every cell of `cells` marks (its family's), if they do.
    pub changes: Option<Py<Changes>>,
}

impl HistogramSeries {
    /// The sample names, `_bucket`, `_count` and `_sum`, as Python strings.
    pub fn sample_names<'py>(&self, py: Python<'py>) -> PyResult<[Bound<'py, PyString>; 3]> {
        let base = self.name.bind(py).to_str()?;
        Ok(["_bucket", "_count", "_sum"]
            .map(|suffix| PyString::new(py, &format!("{base}{suffix}"))))
    }

    /// Each series' label pairs, its buckets' label pairs and its cell, in step as far
    /// as all three go.
    pub fn series<'py>(
        &self,
        py: Python<'py>,
    ) -> impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let labels = self.labels.bind(py).clone();
        let buckets = self.bucket_labels.bind(py).clone();
        let cells = self.cells.bind(py).clone();
        labels
            .into_iter()
            .zip(buckets)
            .zip(cells)
            .map(|((labels, buckets), cell)| (labels, buckets, cell))
    }
}

/// A histogram cell's cumulative counts and sum, with its bucket label pairs checked
/// to match its buckets.
pub fn read_cell<'a>(
    cell: &'a Bound<'_, PyAny>,
    buckets: &Bound<'_, PyAny>,
) -> PyResult<(&'a HistogramCell, Vec<u64>, f64)> {
    let histogram = cell.cast::<HistogramCell>()?.get();
    let (cumulative, total) = histogram.cumulative();
    let count = buckets.len()?;
    if count != cumulative.len() {
        return Err(bucket_mismatch(count, cumulative.len()));
    }
    Ok((histogram, cumulative, total))
}

fn bucket_mismatch(label_sets: usize, buckets: usize) -> PyErr {
    PyValueError::new_err(format!(
        "{label_sets} bucket label sets for {buckets} buckets"
    ))
}

/// A histogram cell's lines as `values`: each cumulative count (the last is +Inf),
/// the count and the sum, with its bucket label pairs checked as `read_cell` checks
/// them. Nothing is allocated: a scrape of many series spent a tenth of its time
/// making and freeing one list of counts a series.
pub fn push_values(
    cell: &Bound<'_, PyAny>,
    buckets: &Bound<'_, PyAny>,
    values: &mut Vec<f64>,
) -> PyResult<()> {
    let histogram = cell.cast::<HistogramCell>()?.get();
    let count = buckets.len()?;
    let state = histogram
        .state
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if count != state.0.len() {
        return Err(bucket_mismatch(count, state.0.len()));
    }
    let mut running = 0;
    // Python's float(int): exact below 2**53, rounded to nearest above.
    #[allow(clippy::cast_precision_loss)]
    values.extend(state.0.iter().map(|&bucket| {
        running += bucket;
        running as f64
    }));
    #[allow(clippy::cast_precision_loss)]
    values.extend([running as f64, state.1]);
    Ok(())
}

/// The latest exemplar of bucket `index` of `cell`, if it keeps one.
pub fn bucket_exemplar<'py>(
    py: Python<'py>,
    cell: &HistogramCell,
    index: usize,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    cell.exemplars.latest(py, index)
}

#[pymethods]
impl HistogramSeries {
    #[new]
    #[pyo3(signature = (name, labels, bucket_labels, cells, changes = None))]
    fn new(
        name: Bound<'_, PyString>,
        labels: Bound<'_, PyList>,
        bucket_labels: Bound<'_, PyList>,
        cells: Bound<'_, PyList>,
        changes: Option<Py<Changes>>,
    ) -> Self {
        Self {
            name: name.unbind(),
            labels: labels.unbind(),
            bucket_labels: bucket_labels.unbind(),
            cells: cells.unbind(),
            changes,
        }
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let mut count = 0;
        for (_, buckets, _) in self.series(py) {
            count += buckets.len()? + 2;
        }
        Ok(count)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.samples(py)?.try_iter()
    }

    /// The latest exemplar of each bucket that has one, keyed as `histogram_samples`
    /// keys them: `(sample, labels)`.
    fn exemplars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let found = PyDict::new(py);
        self.fill(py, Some(&found))?;
        Ok(found)
    }

    /// The samples as `histogram_samples` gives them (for anything but an encoder).
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.fill(py, None)
    }
}

impl HistogramSeries {
    fn fill<'py>(
        &self,
        py: Python<'py>,
        exemplars: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        histogram_samples(
            self.name.bind(py),
            self.labels.bind(py),
            self.bucket_labels.bind(py),
            self.cells.bind(py),
            exemplars,
        )
    }
}
