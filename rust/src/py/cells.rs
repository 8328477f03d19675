//! Counter and gauge cells: one series' value in Rust (the histogram's is in
//! `histogram`).
//!
//! `inc()` is one atomic add (exact under any number of threads, with or without the
//! GIL), and a scrape reads a whole family's series in one call instead of one Python
//! call per series. A cell is the whole series: it converts or refuses odd values
//! itself, naming its metric, as `core.cells`' pure-Python cells do; the families hold
//! cells, they do not subclass them.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyIterator, PyList, PyString, PyTuple};
use pyo3::{ffi, Borrowed};

use super::changes::{mark, Changes};
use super::exemplars::Slot;

/// `inc()`'s argument: left out (one), or whatever was given, `None` included.
pub enum Amount<'py> {
    One,
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Amount<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Self::Given(obj.to_owned()))
    }
}

/// `value` as a float, as `core.cells.number` converts it: plain `float` and `int`
/// as they are, `str` and `bytes` refused, anything else through `float()`'s protocol.
pub fn number(metric: &str, what: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(float) = value.cast_exact::<PyFloat>() {
        return Ok(float.value());
    }
    let refused = || -> PyResult<PyErr> {
        let (type_name, repr) = (value.get_type().name()?, value.repr()?);
        Ok(PyTypeError::new_err(format!(
            "'{metric}' {what} needs a number, got {type_name} {repr}"
        )))
    };
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(refused()?);
    }
    // An int beyond the float range raises OverflowError, as float(int) does.
    value.extract::<f64>().or_else(|error| {
        let py = value.py();
        if error.is_instance_of::<PyTypeError>(py) || error.is_instance_of::<PyValueError>(py) {
            Err(refused()?)
        } else {
            Err(error)
        }
    })
}

/// A counter series' value: whole increments of one, plus every other amount.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct CounterCell {
    name: String,
    ones: AtomicU64,
    /// The `f64` bits of the sum of amounts other than 1 (updated by compare-and-swap).
    extra: AtomicU64,
    pub exemplar: Slot,
    /// The family's change bits, marked after each update (see `changes`).
    changes: Option<Py<Changes>>,
}

impl CounterCell {
    fn add(&self, amount: f64) {
        // Sequentially consistent, as the change bits need (see `changes`): on x86 a
        // read-modify-write costs the same in any order.
        let _ = self
            .extra
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some((f64::from_bits(bits) + amount).to_bits())
            });
    }

    pub fn value(&self) -> f64 {
        // Python's `int + float`: the count is converted first (exactly, below 2**53).
        #[allow(clippy::cast_precision_loss)]
        let ones = self.ones.load(Ordering::SeqCst) as f64;
        ones + f64::from_bits(self.extra.load(Ordering::SeqCst))
    }

    /// `amount` as the number to add, or the error for it.
    fn amount(&self, amount: &Bound<'_, PyAny>) -> PyResult<f64> {
        let plain = if amount.is_exact_instance_of::<PyInt>() {
            // Python's float(int), rounding half to even; beyond u64, `number` decides.
            #[allow(clippy::cast_precision_loss)]
            amount.extract::<u64>().ok().map(|n| n as f64)
        } else {
            None
        };
        let number = match plain {
            Some(number) => number,
            None => number(&self.name, "inc()", amount)?,
        };
        if number >= 0.0 && number.is_finite() {
            return Ok(number);
        }
        let repr = amount.repr()?;
        Err(PyValueError::new_err(format!(
            "counter '{}' can only grow by a finite amount >= 0, got {repr}",
            self.name
        )))
    }
}

#[pymethods]
impl CounterCell {
    /// Zero, for the counter named `name` (its errors name it), marking `changes`
    /// after each update.
    #[new]
    #[pyo3(signature = (name, changes = None))]
    fn new(name: String, changes: Option<Py<Changes>>) -> Self {
        Self {
            name,
            ones: AtomicU64::new(0),
            extra: AtomicU64::new(0.0_f64.to_bits()),
            exemplar: Slot::default(),
            changes,
        }
    }

    /// Add `amount` (default 1), a finite number >= 0, with an optional exemplar.
    #[pyo3(signature = (amount = Amount::One, exemplar = None))]
    fn inc(
        &self,
        py: Python<'_>,
        amount: Amount<'_>,
        exemplar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let number = match amount {
            Amount::One => 1.0,
            Amount::Given(amount) => match amount.cast_exact::<PyFloat>() {
                Ok(float) if float.value() >= 0.0 && float.value().is_finite() => float.value(),
                _ => self.amount(&amount)?,
            },
        };
        let labels = self.exemplar.labels(&self.name, exemplar, py)?;
        // Exactly one, as Python's `amount == 1`.
        #[allow(clippy::float_cmp)]
        if number == 1.0 {
            self.ones.fetch_add(1, Ordering::SeqCst);
        } else {
            self.add(number);
        }
        mark(self.changes.as_ref());
        if let Some(labels) = labels {
            self.exemplar.keep(0, 1, labels, number);
        }
        Ok(())
    }

    /// The current total.
    fn get(&self) -> f64 {
        self.value()
    }

    /// The latest exemplar as `(labels, value, timestamp)`, or None.
    fn exemplar<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.exemplar.latest(py, 0)
    }

    /// Back to zero, without exemplar (a forked child's counters restart).
    fn reset(&self) {
        self.ones.store(0, Ordering::SeqCst);
        self.extra.store(0.0_f64.to_bits(), Ordering::SeqCst);
        self.exemplar.clear();
        mark(self.changes.as_ref());
    }
}

/// `[(sample, labels, value), ...]` for a counter family's series: their label pairs
/// and their cells, in matching order, read in step as far as both go (a family's
/// lists may gain a pair before its cell). One call for the whole family.
/// Each series' exemplar goes into `exemplars` (when given) by `(sample, labels)`.
#[pyfunction]
#[pyo3(signature = (sample, labels, cells, exemplars = None))]
pub fn counter_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
    exemplars: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = sample.py();
    family_samples(sample, labels, cells, |pairs, cell| {
        let cell = cell.cast::<CounterCell>()?.get();
        if let Some(exemplars) = exemplars {
            if let Some(exemplar) = cell.exemplar.latest(py, 0)? {
                exemplars.set_item((sample, pairs), exemplar)?;
            }
        }
        Ok(cell.value())
    })
}

/// One family's samples: a `(sample, labels, value)` tuple per series, each value read
/// from its cell by `read`.
fn family_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
    read: impl Fn(&Bound<'py, PyAny>, &Bound<'py, PyAny>) -> PyResult<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let py = sample.py();
    let samples = labels
        .iter()
        .zip(cells.iter())
        .map(|(labels, cell)| {
            let value = PyFloat::new(py, read(&labels, &cell)?);
            PyTuple::new(py, [sample.as_any(), &labels, value.as_any()])
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, samples)
}

/// A counter or gauge family's series left in their cells, for an encoder to read as
/// it writes: what a scrape needs, without a `(name, labels, value)` tuple per series.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct CounterSeries {
    pub sample: Py<PyString>,
    pub labels: Py<PyList>,
    pub cells: Py<PyList>,
    /// The family's change bits, when every cell in `cells` marks them.
    pub changes: Option<Py<Changes>>,
}

#[pymethods]
impl CounterSeries {
    /// `changes`: the bits every cell of `cells` marks (its family's), if they do.
    #[new]
    #[pyo3(signature = (sample, labels, cells, changes = None))]
    fn new(
        sample: Bound<'_, PyString>,
        labels: Bound<'_, PyList>,
        cells: Bound<'_, PyList>,
        changes: Option<Py<Changes>>,
    ) -> Self {
        Self {
            sample: sample.unbind(),
            labels: labels.unbind(),
            cells: cells.unbind(),
            changes,
        }
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.labels.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.samples(py)?.try_iter()
    }

    /// The latest exemplar of each series that has one, keyed as `counter_samples`
    /// keys them: `(sample, labels)`.
    fn exemplars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let found = PyDict::new(py);
        let sample = self.sample.bind(py);
        for (labels, cell) in self.labels.bind(py).iter().zip(self.cells.bind(py).iter()) {
            let Ok(counter) = cell.cast::<CounterCell>() else {
                continue; // a gauge's: gauges keep no exemplar
            };
            if let Some(exemplar) = counter.get().exemplar.latest(py, 0)? {
                found.set_item((sample, labels), exemplar)?;
            }
        }
        Ok(found)
    }

    /// The samples as `counter_samples` or `gauge_samples` gives them (for anything
    /// but an encoder).
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (sample, labels, cells) = (
            self.sample.bind(py),
            self.labels.bind(py),
            self.cells.bind(py),
        );
        family_samples(sample, labels, cells, |_, cell| {
            cell_value(cell.as_borrowed())
        })
    }
}

/// A cell's value, and the cell itself when it is a counter's (for its exemplar).
pub fn series_cell<'a>(cell: &'a Bound<'_, PyAny>) -> PyResult<(f64, Option<&'a CounterCell>)> {
    if let Ok(counter) = cell.cast::<CounterCell>() {
        let counter = counter.get();
        return Ok((counter.value(), Some(counter)));
    }
    Ok((cell.cast::<GaugeCell>()?.get().value(), None))
}

/// A counter's or a gauge's cell value (a series holds one or the other).
fn cell_value(cell: Borrowed<'_, '_, PyAny>) -> PyResult<f64> {
    Ok(series_cell(&cell)?.0)
}

/// The values of the counter or gauge cells in `range` of `cells` (as far as the list
/// goes), read without counting a reference to each: in a loop over many thousand
/// cells, counting one costs a cache miss per cell.
pub fn cell_values(
    cells: &Bound<'_, PyList>,
    range: Range<usize>,
    out: &mut Vec<f64>,
) -> PyResult<()> {
    let end = range.end.min(cells.len());
    for i in range.start..end {
        let Ok(at) = isize::try_from(i) else { break };
        #[allow(unsafe_code)]
        // SAFETY: `at` is below the list's length, read above with the GIL held, so the
        // list holds a reference to the item. Nothing in this loop runs Python code (a
        // type check and two atomic loads), so nothing can change the list meanwhile.
        let cell =
            unsafe { Borrowed::from_ptr(cells.py(), ffi::PyList_GET_ITEM(cells.as_ptr(), at)) };
        out.push(cell_value(cell)?);
    }
    Ok(())
}

/// A gauge series' value: an `f64` in an atomic, set outright or moved by
/// compare-and-swap.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct GaugeCell {
    name: String,
    bits: AtomicU64,
    /// The family's change bits, marked after each update (see `changes`).
    changes: Option<Py<Changes>>,
}

impl GaugeCell {
    fn add(&self, amount: f64) {
        let _ = self
            .bits
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some((f64::from_bits(bits) + amount).to_bits())
            });
        mark(self.changes.as_ref());
    }

    fn value(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::SeqCst))
    }

    fn amount(&self, what: &str, amount: Amount<'_>) -> PyResult<f64> {
        match amount {
            Amount::One => Ok(1.0),
            Amount::Given(amount) => number(&self.name, what, &amount),
        }
    }
}

#[pymethods]
impl GaugeCell {
    /// Zero, for the gauge named `name` (its errors name it), marking `changes` after
    /// each update.
    #[new]
    #[pyo3(signature = (name, changes = None))]
    fn new(name: String, changes: Option<Py<Changes>>) -> Self {
        Self {
            name,
            bits: AtomicU64::new(0.0_f64.to_bits()),
            changes,
        }
    }

    /// Set the gauge to `value`.
    fn set(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let number = number(&self.name, "set()", value)?;
        self.bits.store(number.to_bits(), Ordering::SeqCst);
        mark(self.changes.as_ref());
        Ok(())
    }

    /// Add `amount` (default 1).
    #[pyo3(signature = (amount = Amount::One))]
    fn inc(&self, amount: Amount<'_>) -> PyResult<()> {
        self.add(self.amount("inc()", amount)?);
        Ok(())
    }

    /// Subtract `amount` (default 1).
    #[pyo3(signature = (amount = Amount::One))]
    fn dec(&self, amount: Amount<'_>) -> PyResult<()> {
        self.add(-self.amount("dec()", amount)?);
        Ok(())
    }

    /// The current value.
    fn get(&self) -> f64 {
        self.value()
    }

    /// Nothing to do: a gauge is a state, not a tally, so a forked child keeps it.
    #[allow(clippy::unused_self)] // a method: every cell has `reset`
    fn reset(&self) {}
}

/// `[(sample, labels, value), ...]` for a gauge family's series: their label pairs and
/// their cells, in matching order, read in step as far as both go.
#[pyfunction]
pub fn gauge_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    family_samples(sample, labels, cells, |_, cell| {
        Ok(cell.cast::<GaugeCell>()?.get().value())
    })
}
