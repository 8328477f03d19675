//! Exemplars: a series' latest traced observation, as OpenMetrics exposes it.
//!
//! An exemplar is given with a call (`inc(1, exemplar={"trace_id": ...})`) or taken
//! from the source `core.exemplars` registers (the active OpenTelemetry span). Asking
//! the source means calling Python, so each cell asks at most once per interval: the
//! hot path pays one flag read when no source is set, and a clock read when one is.
//! The label rule is `core.exemplars.check_labels`' own: valid label names, `str`
//! values, at most 128 characters in all.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(not(target_os = "linux"))]
use std::sync::OnceLock;
use std::sync::{Mutex, PoisonError};
#[cfg(not(target_os = "linux"))]
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::prometheus::is_label_name;

/// OpenMetrics' limit on an exemplar's label names and values together, in characters.
const MAX_CHARACTERS: usize = 128;

/// One exemplar: its label pairs (a tuple of `(str, str)` tuples), value and time.
pub struct Exemplar {
    pub labels: Py<PyTuple>,
    pub value: f64,
    pub timestamp: f64,
}

impl Exemplar {
    /// `(labels, value, timestamp)`, as `core.exemplars.Exemplar` is.
    pub fn to_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (self.labels.clone_ref(py), self.value, self.timestamp).into_pyobject(py)
    }
}

/// The source to ask while set: a callable giving a dict of labels or None.
static SOURCE: Mutex<Option<Py<PyAny>>> = Mutex::new(None);
static SOURCE_SET: AtomicBool = AtomicBool::new(false);
/// Nanoseconds between two questions to the source from one cell.
static INTERVAL: AtomicU64 = AtomicU64::new(1_000_000_000);
#[cfg(not(target_os = "linux"))]
static START: OnceLock<Instant> = OnceLock::new();

/// Set (or with None, unset) the source of exemplars for calls that give none, asked
/// at most once every `interval` seconds per series.
#[pyfunction]
#[pyo3(signature = (source, interval = 1.0))]
pub fn set_exemplar_source(source: Option<Py<PyAny>>, interval: f64) -> PyResult<()> {
    if !(interval.is_finite() && interval >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "exemplar interval must be a finite number of seconds >= 0, got {interval}"
        )));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    INTERVAL.store((interval * 1e9) as u64, Ordering::Relaxed);
    let set = source.is_some();
    *SOURCE.lock().unwrap_or_else(PoisonError::into_inner) = source;
    SOURCE_SET.store(set, Ordering::Relaxed);
    Ok(())
}

/// Whether a source is set (one relaxed load: the cost of exemplars to every call).
#[inline]
pub fn source_set() -> bool {
    SOURCE_SET.load(Ordering::Relaxed)
}

/// Monotonic nanoseconds from a clock read in a few nanoseconds: on Linux the coarse
/// clock (a millisecond or so of resolution, plenty for an interval of a second),
/// which costs a tenth of a precise read on a path that is otherwise one atomic add.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one libc call: the standard library has no coarse clock
fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant Linux has.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &raw mut now) };
    #[allow(clippy::cast_sign_loss)]
    let nanos = (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64);
    nanos
}

#[cfg(not(target_os = "linux"))]
fn monotonic_ns() -> u64 {
    let start = START.get_or_init(Instant::now);
    #[allow(clippy::cast_possible_truncation)]
    let nanos = start.elapsed().as_nanos() as u64;
    nanos
}

/// Whether the cell whose next question is due at `next` asks now (and when next).
pub fn due(next: &AtomicU64) -> bool {
    let now = monotonic_ns();
    let at = next.load(Ordering::Relaxed);
    let then = now.saturating_add(INTERVAL.load(Ordering::Relaxed));
    now >= at
        && next
            .compare_exchange(at, then, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The source's labels for now, checked, or None (no source, or no active trace).
pub fn from_source(py: Python<'_>, metric: &str) -> PyResult<Option<Py<PyTuple>>> {
    let source = SOURCE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|source| source.clone_ref(py));
    let Some(source) = source else {
        return Ok(None);
    };
    let labels = source.bind(py).call0()?;
    if labels.is_none() {
        return Ok(None);
    }
    check_labels(metric, &labels).map(Some)
}

/// Exemplar labels given to a call: a dict of label names to `str` values, checked,
/// as a tuple of pairs.
pub fn check_labels(metric: &str, labels: &Bound<'_, PyAny>) -> PyResult<Py<PyTuple>> {
    let py = labels.py();
    let Ok(dict) = labels.cast::<PyDict>() else {
        let type_name = labels.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "exemplar of '{metric}' must be a dict of label names to str, got {type_name}"
        )));
    };
    let mut characters = 0;
    let mut pairs = Vec::with_capacity(dict.len());
    for (name, value) in dict.iter() {
        let name_text = name.cast::<PyString>().ok().and_then(|n| n.to_str().ok());
        let Some(name_text) = name_text.filter(|n| is_label_name(n.as_bytes())) else {
            let name = name.repr()?;
            return Err(PyValueError::new_err(format!(
                "invalid exemplar label name {name} on '{metric}'"
            )));
        };
        let Ok(value_text) = value.cast::<PyString>() else {
            let type_name = value.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "exemplar label '{name_text}' of '{metric}' must be a str, got {type_name}"
            )));
        };
        characters += name_text.chars().count() + value_text.to_str()?.chars().count();
        pairs.push(PyTuple::new(py, [name.as_any(), value.as_any()])?);
    }
    if characters > MAX_CHARACTERS {
        return Err(PyValueError::new_err(format!(
            "exemplar labels of '{metric}' hold {characters} characters, more than \
             OpenMetrics' {MAX_CHARACTERS}"
        )));
    }
    Ok(PyTuple::new(py, pairs)?.unbind())
}

/// Now, in seconds since the epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// Where a cell keeps its exemplars (one per bucket for a histogram, one for a
/// counter): when it next asks the source, and the latest of each, made on first use.
#[derive(Default)]
pub struct Slot {
    next: AtomicU64,
    latest: Mutex<Vec<Option<Exemplar>>>,
    held: AtomicBool,
}

impl Slot {
    /// The labels for a call: those given, else the source's when due. Given labels are
    /// checked before the call records anything.
    pub fn labels(
        &self,
        metric: &str,
        given: Option<&Bound<'_, PyAny>>,
        py: Python<'_>,
    ) -> PyResult<Option<Py<PyTuple>>> {
        match given {
            Some(labels) if !labels.is_none() => check_labels(metric, labels).map(Some),
            _ if source_set() && due(&self.next) => from_source(py, metric),
            _ => Ok(None),
        }
    }

    /// Keep `labels` and `value` as the exemplar at `index` (of `len`).
    pub fn keep(&self, index: usize, len: usize, labels: Py<PyTuple>, value: f64) {
        let exemplar = Exemplar {
            labels,
            value,
            timestamp: now(),
        };
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if latest.len() < len {
            latest.resize_with(len, || None);
        }
        if let Some(place) = latest.get_mut(index) {
            *place = Some(exemplar);
        }
        self.held.store(true, Ordering::Relaxed);
    }

    /// Whether any exemplar is kept (one relaxed load).
    pub fn holds(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// The exemplar at `index` as a `(labels, value, timestamp)` tuple, or None.
    pub fn latest<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if !self.holds() {
            return Ok(None);
        }
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest
            .get(index)
            .and_then(Option::as_ref)
            .map(|exemplar| exemplar.to_tuple(py))
            .transpose()
    }

    /// Apply `write` to the exemplar at `index`, if there is one.
    pub fn with_latest<T>(&self, index: usize, write: impl FnOnce(&Exemplar) -> T) -> Option<T> {
        if !self.holds() {
            return None;
        }
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.get(index).and_then(Option::as_ref).map(write)
    }

    pub fn clear(&self) {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.held.store(false, Ordering::Relaxed);
    }
}
