//! Counter, gauge and histogram cells: one series' state in Rust.
//!
//! `inc()` is one atomic add (exact under any number of threads, with or without the
//! GIL), and a scrape reads a whole family's series in one call instead of one Python
//! call per series. `observabilipy.core.values`' `CounterValue`, `GaugeValue` and
//! `HistogramValue` subclass the cells (the histogram's is in `histogram`) and keep the rules that need words: converting
//! or refusing odd values and unlabelled use of a labelled family, which the cells hand
//! back to them (`_add`, `_number`, `_observation`, `_refuse`). The hooks are declared
//! here too (a bare cell's raise `NotImplementedError`), so `_native.pyi` states them and
//! stubtest checks it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pyo3::exceptions::{PyNotImplementedError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyIterator, PyList, PyString, PyTuple};

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

/// A counter series' value: whole increments of one, plus every other amount.
#[pyclass(module = "observabilipy._native", subclass, frozen)]
pub struct CounterCell {
    ones: AtomicU64,
    /// The `f64` bits of the sum of amounts other than 1 (updated by compare-and-swap).
    extra: AtomicU64,
    /// Set on a labelled family's own cell: every use goes to `_refuse()`.
    refusing: AtomicBool,
}

impl CounterCell {
    fn add(&self, amount: f64) {
        // Relaxed is enough: each update is a single atomic read-modify-write, and a
        // scrape needs no order between series.
        let _ = self
            .extra
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + amount).to_bits())
            });
    }

    fn value(&self) -> f64 {
        // Python's `int + float`: the count is converted first (exactly, below 2**53).
        #[allow(clippy::cast_precision_loss)]
        let ones = self.ones.load(Ordering::Relaxed) as f64;
        ones + f64::from_bits(self.extra.load(Ordering::Relaxed))
    }
}

#[pymethods]
impl CounterCell {
    /// Zero; any arguments are the subclass's own (`__init__` reads them).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Self {
            ones: AtomicU64::new(0),
            extra: AtomicU64::new(0.0_f64.to_bits()),
            refusing: AtomicBool::new(false),
        }
    }

    /// Add `amount` (default 1). Amounts other than finite non-negative `int`/`float`
    /// go to the subclass's `_add`, which converts or refuses them.
    #[pyo3(signature = (amount = Amount::One))]
    fn inc(slf: &Bound<'_, Self>, amount: Amount<'_>) -> PyResult<()> {
        let cell = slf.get();
        if cell.refusing.load(Ordering::Relaxed) {
            return slf.call_method0(intern!(slf.py(), "_refuse")).map(drop);
        }
        let Amount::Given(amount) = amount else {
            cell.ones.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        let number = if let Ok(float) = amount.cast_exact::<PyFloat>() {
            Some(float.value())
        } else if amount.is_exact_instance_of::<PyInt>() {
            // Python's float(int), rounding half to even; beyond u64 Python decides.
            #[allow(clippy::cast_precision_loss)]
            amount.extract::<u64>().ok().map(|n| n as f64)
        } else {
            None
        };
        match number {
            // Exactly one, as Python's `amount == 1`.
            Some(1.0) => {
                cell.ones.fetch_add(1, Ordering::Relaxed);
            }
            Some(number) if number >= 0.0 && number.is_finite() => cell.add(number),
            _ => {
                slf.call_method1(intern!(slf.py(), "_add"), (amount,))?;
            }
        }
        Ok(())
    }

    /// Add an amount the subclass has already checked.
    fn _add_checked(&self, amount: f64) {
        self.add(amount);
    }

    /// The current total.
    fn get(slf: &Bound<'_, Self>) -> PyResult<f64> {
        let cell = slf.get();
        if cell.refusing.load(Ordering::Relaxed) {
            slf.call_method0(intern!(slf.py(), "_refuse"))?;
        }
        Ok(cell.value())
    }

    /// Back to zero (a forked child's counters restart).
    fn _reset(&self) {
        self.ones.store(0, Ordering::Relaxed);
        self.extra.store(0.0_f64.to_bits(), Ordering::Relaxed);
    }

    /// Make every use call `_refuse()` (a labelled family's own cell).
    fn _set_refusing(&self) {
        self.refusing.store(true, Ordering::Relaxed);
    }

    /// The subclass's: convert an amount `inc` does not take as it is, or refuse it.
    #[allow(clippy::unused_self)] // a method: the subclass overrides it
    fn _add(&self, amount: &Bound<'_, PyAny>) -> PyResult<()> {
        let _ = amount; // named as the subclass's parameter is
        Err(subclass_defines("CounterCell", "_add"))
    }

    /// The subclass's: raise the error for a labelled family's own cell.
    #[allow(clippy::unused_self)] // a method: the subclass overrides it
    fn _refuse(&self) -> PyResult<()> {
        Err(subclass_defines("CounterCell", "_refuse"))
    }
}

/// The error of a hook the Python subclass defines, called on the bare cell.
pub(crate) fn subclass_defines(cell: &str, hook: &str) -> PyErr {
    PyNotImplementedError::new_err(format!("a subclass of {cell} defines {hook}()"))
}

/// `[(sample, labels, value), ...]` for a counter family's series: their label pairs
/// and their cells, in matching order. One call for the whole family.
#[pyfunction]
pub fn counter_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    family_samples(sample, labels, cells, |cell| {
        Ok(cell.cast::<CounterCell>()?.get().value())
    })
}

/// One family's samples: a `(sample, labels, value)` tuple per series, each value read
/// from its cell by `read`.
fn family_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
    read: impl Fn(&Bound<'py, PyAny>) -> PyResult<f64>,
) -> PyResult<Bound<'py, PyList>> {
    check_lengths(labels, cells)?;
    let py = sample.py();
    let samples = labels
        .iter()
        .zip(cells.iter())
        .map(|(labels, cell)| {
            let value = PyFloat::new(py, read(&cell)?);
            PyTuple::new(py, [sample.as_any(), &labels, value.as_any()])
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, samples)
}

/// Label sets and cells must pair up one to one.
pub(crate) fn check_lengths(labels: &Bound<'_, PyList>, cells: &Bound<'_, PyList>) -> PyResult<()> {
    if labels.len() == cells.len() {
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "{} label sets for {} cells",
        labels.len(),
        cells.len()
    )))
}

/// A counter family's series left in their cells, for an encoder to read as it writes:
/// what a scrape needs, without a `(name, labels, value)` tuple per series.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct CounterSeries {
    pub sample: Py<PyString>,
    pub labels: Py<PyList>,
    pub cells: Py<PyList>,
}

#[pymethods]
impl CounterSeries {
    #[new]
    fn new(
        sample: Bound<'_, PyString>,
        labels: Bound<'_, PyList>,
        cells: Bound<'_, PyList>,
    ) -> PyResult<Self> {
        check_lengths(&labels, &cells)?;
        Ok(Self {
            sample: sample.unbind(),
            labels: labels.unbind(),
            cells: cells.unbind(),
        })
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.labels.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.samples(py)?.try_iter()
    }

    /// The samples as `counter_samples` gives them (for anything but an encoder).
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        counter_samples(
            self.sample.bind(py),
            self.labels.bind(py),
            self.cells.bind(py),
        )
    }
}

/// A cell's current value, for the encoder.
pub fn cell_value(cell: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(cell.cast::<CounterCell>()?.get().value())
}

/// A gauge series' value: an `f64` in an atomic, set outright or moved by
/// compare-and-swap.
#[pyclass(module = "observabilipy._native", subclass, frozen)]
pub struct GaugeCell {
    bits: AtomicU64,
    /// Set on a labelled family's own cell: every use goes to `_refuse()`.
    refusing: AtomicBool,
}

impl GaugeCell {
    fn add(&self, amount: f64) {
        let _ = self
            .bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + amount).to_bits())
            });
    }

    fn value(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

/// A plain `float` or `int` as Python's `float()` reads it; anything else goes to the
/// subclass's `_number(what, value)`, which converts it or raises naming the gauge.
fn gauge_number(slf: &Bound<'_, GaugeCell>, what: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(float) = value.cast_exact::<PyFloat>() {
        return Ok(float.value());
    }
    if value.is_exact_instance_of::<PyInt>() {
        // OverflowError beyond the float range, as float(int) raises.
        return value.extract::<f64>();
    }
    slf.call_method1(intern!(slf.py(), "_number"), (what, value))?
        .extract::<f64>()
}

fn refuse_if_labelled(slf: &Bound<'_, GaugeCell>) -> PyResult<()> {
    if slf.get().refusing.load(Ordering::Relaxed) {
        slf.call_method0(intern!(slf.py(), "_refuse"))?;
    }
    Ok(())
}

#[pymethods]
impl GaugeCell {
    /// Zero; any arguments are the subclass's own (`__init__` reads them).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Self {
            bits: AtomicU64::new(0.0_f64.to_bits()),
            refusing: AtomicBool::new(false),
        }
    }

    /// Set the gauge to `value`.
    fn set(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        refuse_if_labelled(slf)?;
        let number = gauge_number(slf, "set()", value)?;
        slf.get().bits.store(number.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    /// Add `amount` (default 1).
    #[pyo3(signature = (amount = Amount::One))]
    fn inc(slf: &Bound<'_, Self>, amount: Amount<'_>) -> PyResult<()> {
        refuse_if_labelled(slf)?;
        let number = match amount {
            Amount::One => 1.0,
            Amount::Given(amount) => gauge_number(slf, "inc()", &amount)?,
        };
        slf.get().add(number);
        Ok(())
    }

    /// Subtract `amount` (default 1).
    #[pyo3(signature = (amount = Amount::One))]
    fn dec(slf: &Bound<'_, Self>, amount: Amount<'_>) -> PyResult<()> {
        refuse_if_labelled(slf)?;
        let number = match amount {
            Amount::One => 1.0,
            Amount::Given(amount) => gauge_number(slf, "dec()", &amount)?,
        };
        slf.get().add(-number);
        Ok(())
    }

    /// The current value.
    fn get(slf: &Bound<'_, Self>) -> PyResult<f64> {
        refuse_if_labelled(slf)?;
        Ok(slf.get().value())
    }

    /// Make every use call `_refuse()` (a labelled family's own cell).
    fn _set_refusing(&self) {
        self.refusing.store(true, Ordering::Relaxed);
    }

    /// The subclass's: a value other than a plain number as a float, or its error.
    #[allow(clippy::unused_self)] // a method: the subclass overrides it
    fn _number(&self, what: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
        let _ = (what, value); // named as the subclass's parameters are
        Err(subclass_defines("GaugeCell", "_number"))
    }

    /// The subclass's: raise the error for a labelled family's own cell.
    #[allow(clippy::unused_self)] // a method: the subclass overrides it
    fn _refuse(&self) -> PyResult<()> {
        Err(subclass_defines("GaugeCell", "_refuse"))
    }
}

/// `[(sample, labels, value), ...]` for a gauge family's series: their label pairs and
/// their cells, in matching order.
#[pyfunction]
pub fn gauge_samples<'py>(
    sample: &Bound<'py, PyString>,
    labels: &Bound<'py, PyList>,
    cells: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    family_samples(sample, labels, cells, |cell| {
        Ok(cell.cast::<GaugeCell>()?.get().value())
    })
}
