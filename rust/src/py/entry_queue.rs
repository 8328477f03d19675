//! The engine's queue of log entries on the Rust backend, kept as the JSON text the
//! writer inserts.
//!
//! A queue of `LogEntry` objects made the writer encode and free every entry with the
//! GIL held (about 300 ns an entry), which a busy producer thread waited out. Here a
//! log call writes its entry straight into one text (`entry_json`), each followed by
//! a comma, and the writer takes a batch as one copy: `[` the entries `]`. An entry
//! with a part the native writer leaves (a list, a date, a NaN) is kept as the object,
//! encoded by msgspec when its batch is taken, as every entry was before. Entries are
//! read back from their JSON only when a batch goes through the storage rule.
//!
//! A logger appends by itself up to the buffer's capacity (the policy applies beyond
//! it): the queue wakes the writer once it holds more than a batch (`wake_past`).
//!
//! The lock is held only while no Python code can run (the entry writer calls none),
//! so a log call from inside another's `__str__`, or a fork, never finds it held.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyType};
use pyo3::{intern, PyTraverseError, PyVisit};

use super::entry_batch::{EntryBatch, Taken};
use super::entry_json::write_entry;

/// Free capacity kept by an emptied queue; a larger one is given back.
const KEPT_BYTES: usize = 1 << 20;

/// The entries waiting.
#[derive(Default)]
struct Waiting {
    /// Each entry's JSON followed by a comma; `text[..head]` is taken already.
    text: Vec<u8>,
    head: usize,
    /// Where each waiting entry ends in `text`, past its comma. An entry kept as an
    /// object adds no text: its end is its predecessor's.
    ends: VecDeque<usize>,
    /// The entries kept as objects, oldest first.
    objects: VecDeque<Py<PyAny>>,
    /// Beyond this many entries the consumer is woken (once until its next take).
    wake_at: Option<usize>,
    wake: Option<Py<PyAny>>,
    woken: bool,
}

impl Waiting {
    /// Where the newest entry ends (the text beyond it is a write cut short).
    fn end(&self) -> usize {
        self.ends.back().copied().unwrap_or(self.head)
    }

    /// Write an entry with `write`; false (nothing kept) when it refused.
    fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let end = self.end();
        self.text.truncate(end);
        if write(&mut self.text) {
            self.text.push(b',');
            self.ends.push_back(self.text.len());
            true
        } else {
            self.text.truncate(end);
            false
        }
    }

    /// The consumer's wakeup, when the last push took the queue past `wake_at` for the
    /// first time since a take: the caller calls it once the lock is released.
    fn wake(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        if self.woken || self.wake_at.is_none_or(|at| self.ends.len() <= at) {
            return None;
        }
        self.woken = true;
        self.wake.as_ref().map(|wake| wake.clone_ref(py))
    }

    fn push_object(&mut self, entry: Py<PyAny>) {
        let end = self.end();
        self.text.truncate(end);
        self.ends.push_back(end);
        self.objects.push_back(entry);
    }

    /// Drop the taken text once it is most of the buffer (each byte moves once on
    /// average), and the memory of a large backlog once it is gone.
    fn compact(&mut self) {
        if self.ends.is_empty() {
            self.text.clear();
            self.head = 0;
            if self.text.capacity() > KEPT_BYTES {
                self.text.shrink_to(KEPT_BYTES);
            }
        } else if self.head > self.text.len() / 2 {
            let head = self.head;
            self.text.drain(..head);
            for end in &mut self.ends {
                *end -= head;
            }
            self.head = 0;
        }
    }
}

/// The buffer's queue: `append`, `popleft`, `clear`, `len` as a deque's, and `take`.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct EntryQueue {
    waiting: Mutex<Waiting>,
    /// `LogEntry`: entries of exactly this type are written natively.
    entry: Py<PyType>,
    /// msgspec's encoder of a `LogEntry`, with the attributes' text hook.
    encode: Py<PyAny>,
    /// msgspec's decoder of one `LogEntry`: entries read back for the storage rule.
    decode: Py<PyAny>,
}

impl EntryQueue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // A panic while writing leaves at most a partial entry past the last end,
        // which the next write cuts off.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn len(&self) -> usize {
        self.lock().ends.len()
    }

    /// A log call's entry, below the room its logger may fill: `Full` when the queue
    /// holds `room` already, `Refused` when a part is not of the native writer's kinds.
    pub(super) fn push_call(
        &self,
        room: usize,
        timestamp: f64,
        parts: [&Bound<'_, PyAny>; 4],
    ) -> PyResult<Pushed> {
        let [level, message, attributes, logger] = parts;
        let mut waiting = self.lock();
        if waiting.ends.len() >= room {
            return Ok(Pushed::Full);
        }
        if !waiting.push_with(|out| write_entry(out, timestamp, level, message, attributes, logger))
        {
            return Ok(Pushed::Refused);
        }
        woken(waiting, level.py())?;
        Ok(Pushed::Done)
    }

    /// An entry the native writer leaves, kept as the object: msgspec encodes it when
    /// its batch is taken, as it encoded every entry before (its JSON is not always
    /// read back the same: NaN becomes null), and the storage rule reads the object.
    pub(super) fn push_object(&self, entry: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut waiting = self.lock();
        waiting.push_object(entry.clone().unbind());
        woken(waiting, entry.py())
    }
}

/// Wake the consumer when the push just made calls for it, outside the lock.
fn woken(mut waiting: MutexGuard<'_, Waiting>, py: Python<'_>) -> PyResult<()> {
    let wake = waiting.wake(py);
    drop(waiting);
    if let Some(wake) = wake {
        wake.call0(py)?;
    }
    Ok(())
}

/// What `push_call` did.
pub(super) enum Pushed {
    Done,
    Full,
    Refused,
}

#[pymethods]
impl EntryQueue {
    #[new]
    fn new(entry: Py<PyType>, encode: Py<PyAny>, decode: Py<PyAny>) -> Self {
        Self {
            waiting: Mutex::default(),
            entry,
            encode,
            decode,
        }
    }

    fn __len__(&self) -> usize {
        self.len()
    }

    /// Call `wake` when an append takes the queue past `count` entries (once until the
    /// next take), so a logger may append up to the buffer's capacity by itself: True.
    fn wake_past(&self, count: usize, wake: Py<PyAny>) -> bool {
        let mut waiting = self.lock();
        waiting.wake_at = Some(count);
        waiting.woken = false;
        let previous = waiting.wake.replace(wake);
        drop(waiting);
        drop(previous); // outside the lock: freeing it may run Python code
        true
    }

    /// Add an entry at the end: written natively when it is a plain `LogEntry`.
    fn append(&self, entry: &Bound<'_, PyAny>) -> PyResult<()> {
        if entry.get_type().is(self.entry.bind(entry.py())) {
            if let Some([timestamp, level, message, attributes, logger]) = fields(entry) {
                if let Ok(timestamp) = timestamp.cast_exact::<PyFloat>() {
                    let mut waiting = self.lock();
                    if waiting.push_with(|out| {
                        write_entry(
                            out,
                            timestamp.value(),
                            &level,
                            &message,
                            &attributes,
                            &logger,
                        )
                    }) {
                        return woken(waiting, entry.py());
                    }
                }
            }
        }
        self.push_object(entry)
    }

    /// Drop the oldest entry (the buffer's `drop_oldest`); `IndexError` when empty.
    fn popleft(&self) -> PyResult<()> {
        let dropped = {
            let mut waiting = self.lock();
            let Some(end) = waiting.ends.pop_front() else {
                return Err(PyIndexError::new_err("pop from an empty queue"));
            };
            let object = (end == waiting.head)
                .then(|| waiting.objects.pop_front())
                .flatten();
            waiting.head = end;
            waiting.compact();
            object
        };
        drop(dropped); // outside the lock: freeing it may run Python code
        Ok(())
    }

    fn clear(&self) {
        let objects = {
            let mut waiting = self.lock();
            waiting.ends.clear();
            waiting.woken = false;
            waiting.compact();
            std::mem::take(&mut waiting.objects)
        };
        drop(objects);
    }

    /// Remove and return up to `count` entries, oldest first, as one batch.
    /// `exclusive` is the deque's (whether only the taker removes entries): unused, as
    /// every change here is made under the lock.
    #[pyo3(signature = (count, exclusive = true))]
    fn take(&self, py: Python<'_>, count: usize, exclusive: bool) -> PyResult<EntryBatch> {
        let _ = exclusive;
        let mut waiting = self.lock();
        let count = count.min(waiting.ends.len());
        let head = waiting.head;
        let end = if count == 0 {
            head
        } else {
            waiting.ends[count - 1]
        };
        let mut bounds = Vec::with_capacity(count);
        let mut objects = Vec::new();
        let mut previous = head;
        let Waiting {
            ends,
            objects: kept,
            ..
        } = &mut *waiting;
        for (index, entry_end) in ends.drain(..count).enumerate() {
            if entry_end == previous {
                if let Some(object) = kept.pop_front() {
                    objects.push((index, object));
                }
            }
            bounds.push(entry_end - head);
            previous = entry_end;
        }
        let text = &waiting.text[head..end];
        // `[` then the entries; the last comma becomes `]`.
        let payload = PyBytes::new_with(py, text.len().max(1) + 1, |out| {
            out[0] = b'[';
            out[1..=text.len()].copy_from_slice(text);
            out[text.len().max(1)] = b']';
            Ok(())
        })?;
        waiting.head = end;
        waiting.woken = false;
        waiting.compact();
        drop(waiting);
        Ok(EntryBatch::new(Taken {
            payload: payload.unbind(),
            bounds,
            objects,
            encode: self.encode.clone_ref(py),
            decode: self.decode.clone_ref(py),
        }))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.entry)?;
        visit.call(&self.encode)?;
        visit.call(&self.decode)?;
        if let Ok(waiting) = self.waiting.try_lock() {
            if let Some(wake) = &waiting.wake {
                visit.call(wake)?;
            }
            for object in &waiting.objects {
                visit.call(object)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.clear();
    }
}

/// A `LogEntry`'s five fields, in msgspec's order.
fn fields<'py>(entry: &Bound<'py, PyAny>) -> Option<[Bound<'py, PyAny>; 5]> {
    let py = entry.py();
    Some([
        entry.getattr(intern!(py, "timestamp")).ok()?,
        entry.getattr(intern!(py, "level")).ok()?,
        entry.getattr(intern!(py, "message")).ok()?,
        entry.getattr(intern!(py, "attributes")).ok()?,
        entry.getattr(intern!(py, "logger")).ok()?,
    ])
}
