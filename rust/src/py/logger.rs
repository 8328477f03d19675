//! The logger's level methods: `log.info("paid", order_id=7)` in one native call.
//!
//! `core.logger.Logger` subclasses `LoggerCore` on the Rust backend. A Python method
//! with `**attributes` costs a frame and a dozen attribute reads before it builds the
//! entry; these take the fast-call protocol and do only what the entry needs. Every
//! rule stays in Python: the level numbers, the entry type, the bound fields and the
//! message formatting come through `set_logger_hooks`, and the pure-Python methods in
//! `core.logger` are held equal to these by test.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyMapping, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::entry_queue::{EntryQueue, Pushed};

/// What the level methods take from `core`, given once by `set_logger_hooks`.
struct Hooks {
    /// `LogEntry`.
    entry: Py<PyAny>,
    /// `FIELDS.get`: the context's bound fields.
    bound: Py<PyAny>,
    /// `format_message(message, args) -> (text, extra | None)`.
    format_message: Py<PyAny>,
    /// `time.time`, read in Rust when a logger's clock is it.
    wall_clock: Py<PyAny>,
    /// The stdlib numbers of debug, info, warning, error and critical.
    numbers: [i64; 5],
    /// Their names, as entries carry them.
    names: [Py<PyString>; 5],
}

static HOOKS: PyOnceLock<Hooks> = PyOnceLock::new();

/// Give the level methods what they read from `core` (once: later calls are ignored).
#[pyfunction]
pub fn set_logger_hooks(
    py: Python<'_>,
    entry: Py<PyAny>,
    bound: Py<PyAny>,
    format_message: Py<PyAny>,
    wall_clock: Py<PyAny>,
    numbers: &Bound<'_, PyMapping>,
) -> PyResult<()> {
    let mut levels = [0; 5];
    for (number, name) in levels.iter_mut().zip(LEVELS) {
        *number = numbers.get_item(name)?.extract()?;
    }
    let names = LEVELS.map(|name| PyString::intern(py, name).unbind());
    let hooks = Hooks {
        entry,
        bound,
        format_message,
        wall_clock,
        numbers: levels,
        names,
    };
    let _ = HOOKS.set(py, hooks);
    Ok(())
}

/// The canonical level names, in the order of `Hooks::numbers`.
pub(super) const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "critical"];

/// A logger's state, which `Logger.__init__` sets through the properties below.
#[pyclass(module = "observabilipy._native", subclass)]
pub struct LoggerCore {
    #[pyo3(get, set, name = "_minimum")]
    minimum: i64,
    #[pyo3(get, set, name = "_context")]
    context: Py<PyDict>,
    #[pyo3(get, set, name = "_room")]
    room: usize,
    #[pyo3(get, set, name = "_sink")]
    sink: Py<PyAny>,
    #[pyo3(get, set)]
    name: Py<PyString>,
    lane: Py<PyAny>,
    /// The lane, when it is the engine's native queue: entries are written into it.
    queue: Option<Py<EntryQueue>>,
    /// The lane's bound `append`, looked up once.
    append: Py<PyAny>,
    clock: Py<PyAny>,
    /// Whether `clock` is `time.time`, read here instead of called.
    wall: bool,
}

#[pymethods]
impl LoggerCore {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        Self {
            minimum: 0,
            context: PyDict::new(py).unbind(),
            room: 0,
            sink: py.None(),
            name: PyString::new(py, "").unbind(),
            lane: py.None(),
            queue: None,
            append: py.None(),
            clock: py.None(),
            wall: false,
        }
    }

    // The cyclic collector sees what a logger holds: its context, sink or clock may
    // refer back to it (a bound method of an object holding the logger, say).
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.context)?;
        visit.call(&self.sink)?;
        visit.call(&self.lane)?;
        if let Some(queue) = &self.queue {
            visit.call(queue)?;
        }
        visit.call(&self.append)?;
        visit.call(&self.clock)
    }

    fn __clear__(&mut self, py: Python<'_>) {
        self.context = PyDict::new(py).unbind();
        self.sink = py.None();
        self.lane = py.None();
        self.queue = None;
        self.append = py.None();
        self.clock = py.None();
        self.wall = false;
    }

    #[getter(_lane)]
    fn lane(&self, py: Python<'_>) -> Py<PyAny> {
        self.lane.clone_ref(py)
    }

    #[setter(_lane)]
    fn set_lane(&mut self, lane: &Bound<'_, PyAny>) -> PyResult<()> {
        self.append = lane.getattr(intern!(lane.py(), "append"))?.unbind();
        self.queue = lane
            .cast::<EntryQueue>()
            .ok()
            .map(|queue| queue.clone().unbind());
        self.lane = lane.clone().unbind();
        Ok(())
    }

    #[getter(_clock)]
    fn clock(&self, py: Python<'_>) -> Py<PyAny> {
        self.clock.clone_ref(py)
    }

    #[setter(_clock)]
    fn set_clock(&mut self, clock: &Bound<'_, PyAny>) -> PyResult<()> {
        let hooks = hooks(clock.py())?;
        self.wall = clock.is(hooks.wall_clock.bind(clock.py()));
        self.clock = clock.clone().unbind();
        Ok(())
    }
}

impl LoggerCore {
    /// What `core.logger`'s `_level_method` does, in its order.
    pub(super) fn record(
        &self,
        level: usize,
        message: &Bound<'_, PyAny>,
        args: Option<&Bound<'_, PyTuple>>,
        attributes: Option<Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let py = message.py();
        let hooks = hooks(py)?;
        if self.minimum > hooks.numbers[level] {
            return Ok(());
        }
        let bound = hooks.bound.bind(py).call0()?;
        let context = self.context.bind(py);
        let attributes = if bound.is_truthy()? || !context.is_empty() {
            let merged = PyDict::new(py);
            merged.update(bound.cast::<PyMapping>()?)?;
            merged.update(context.as_mapping())?;
            if let Some(attributes) = attributes {
                merged.update(attributes.as_mapping())?;
            }
            merged
        } else {
            attributes.unwrap_or_else(|| PyDict::new(py))
        };
        let mut message = message.clone();
        if args.is_some() || !message.is_exact_instance_of::<PyString>() {
            let args = args.map_or_else(|| PyTuple::empty(py), Clone::clone);
            let formatted = hooks.format_message.bind(py).call1((&message, args))?;
            let (text, extra) = formatted.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
            if !extra.is_none() {
                attributes.set_item(intern!(py, "args"), extra)?;
            }
            message = text;
        }
        let name = hooks.names[level].bind(py);
        if let Some(queue) = &self.queue {
            let queue = queue.get();
            // The wall clock's seconds go into the text without a float object.
            let (seconds, timestamp) = if self.wall {
                (Some(wall_seconds()), None)
            } else {
                let timestamp = self.clock.bind(py).call0()?;
                let seconds = timestamp
                    .cast_exact::<PyFloat>()
                    .ok()
                    .map(PyFloatMethods::value);
                (seconds, Some(timestamp))
            };
            let full = if let Some(seconds) = seconds {
                let parts = [
                    name.as_any(),
                    &message,
                    attributes.as_any(),
                    self.name.bind(py),
                ];
                match queue.push_call(self.room, seconds, parts)? {
                    Pushed::Done => return Ok(()),
                    Pushed::Refused => false,
                    Pushed::Full => true,
                }
            } else {
                queue.len() >= self.room
            };
            let timestamp =
                timestamp.unwrap_or_else(|| PyFloat::new(py, seconds.unwrap_or(0.0)).into_any());
            let entry = self.entry(hooks, timestamp, name, message, attributes)?;
            if full {
                self.sink.bind(py).call1((entry,))?;
                return Ok(());
            }
            // Room, but a part the native writer leaves (or a clock not giving floats).
            return queue.push_object(&entry);
        }
        let lane = self.lane.bind(py);
        let appended = !lane.is_none() && lane.len()? < self.room;
        let timestamp = if self.wall {
            PyFloat::new(py, wall_seconds()).into_any()
        } else {
            self.clock.bind(py).call0()?
        };
        let entry = self.entry(hooks, timestamp, name, message, attributes)?;
        if appended {
            self.append.bind(py).call1((entry,))?;
        } else {
            self.sink.bind(py).call1((entry,))?;
        }
        Ok(())
    }

    fn entry<'py>(
        &self,
        hooks: &Hooks,
        timestamp: Bound<'py, PyAny>,
        name: &Bound<'py, PyString>,
        message: Bound<'py, PyAny>,
        attributes: Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = timestamp.py();
        hooks
            .entry
            .bind(py)
            .call1((timestamp, name, message, attributes, self.name.bind(py)))
    }
}

fn hooks(py: Python<'_>) -> PyResult<&Hooks> {
    HOOKS
        .get(py)
        .ok_or_else(|| PyRuntimeError::new_err("observabilipy.core.logger was not imported"))
}

/// Seconds since the epoch as `time.time()` computes them from nanoseconds.
fn wall_seconds() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        });
    #[allow(clippy::cast_precision_loss)]
    if nanos % 1_000_000_000 == 0 {
        (nanos / 1_000_000_000) as f64
    } else {
        nanos as f64 / 1e9
    }
}
