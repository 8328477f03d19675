//! Label sets rendered by the last call, replayed when the same tuples come back.
//!
//! An instrument keeps each series' label tuple from one scrape to the next, and
//! snapshots list the series in the same order each time. So the label tuple of the
//! n-th labelled sample is usually the very object that was n-th last time, and its
//! rendering (`a="x",b="y"`) can be copied instead of reading, checking and escaping
//! each pair again (the Python encoder memoizes label sets for the same reason).
//!
//! Each record holds a reference to its tuple, so the address cannot pass to another
//! object while recorded; only tuples of `(str, str)` tuples are recorded, which cannot
//! change. Reading records in order keeps memory access sequential, and a call keeps
//! only its own records for the next call. Where the tuple is new at every call
//! (histogram buckets' are built per snapshot, families read back from storage are
//! new each time), holding it costs without paying back: after two misses in a row a
//! position stops holding its tuple, and tries again every [`PROBE`] calls.

use std::sync::{Mutex, MutexGuard, TryLockError};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// One labelled sample's record: its tuple (if the rendering may be reused), where the
/// rendering sits in the text, and how many calls in a row missed here.
struct Record {
    labels: Option<Py<PyTuple>>,
    start: usize,
    end: usize,
    misses: u8,
}

/// A position that keeps missing holds its tuple again once in this many calls.
const PROBE: u8 = 16;

/// Renderings live in one text that only grows between compactions: a record replayed
/// moves to the next call without copying its text.
pub struct LabelReplay {
    previous: Vec<Record>,
    current: Vec<Record>,
    text: Vec<u8>,
}

static REPLAY: Mutex<LabelReplay> = Mutex::new(LabelReplay {
    previous: Vec::new(),
    current: Vec::new(),
    text: Vec::new(),
});

impl LabelReplay {
    /// The records, unless another call holds them: a call re-entered from Python code
    /// run while reading (a `__repr__`), or a call on another thread without a GIL.
    pub fn lock() -> Option<MutexGuard<'static, Self>> {
        match REPLAY.try_lock() {
            Ok(replay) => Some(replay),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The rendering recorded last call for the next labelled sample, if it was for
    /// this same object; it is then recorded again for the next call. Only addresses
    /// are compared: a recorded tuple is alive, so no other object can have its address.
    pub fn replay(&mut self, labels: &Bound<'_, PyAny>) -> Option<&[u8]> {
        let position = self.current.len();
        let record = self.previous.get_mut(position)?;
        let held = record.labels.as_ref()?;
        if held.as_ptr() != labels.as_ptr() {
            return None;
        }
        // Move the reference over rather than count it up here and down later.
        let (start, end) = (record.start, record.end);
        self.current.push(Record {
            labels: record.labels.take(),
            start,
            end,
            misses: 0,
        });
        Some(&self.text[start..end])
    }

    /// Record what the next labelled sample rendered, when the replay missed; `labels`
    /// is `None` when the rendering may not be reused.
    pub fn record(&mut self, labels: Option<&Bound<'_, PyTuple>>, rendered: &[u8]) {
        let position = self.current.len();
        let misses = self
            .previous
            .get(position)
            .map_or(0, |previous| previous.misses + 1);
        let (hold, misses) = match misses {
            0 | 1 => (true, misses),
            PROBE.. => (true, 1),
            _ => (false, misses),
        };
        let (labels, rendered) = match labels.filter(|_| hold) {
            Some(labels) => (Some(labels.clone().unbind()), rendered),
            None => (None, &b""[..]),
        };
        let start = self.text.len();
        self.text.extend_from_slice(rendered);
        self.current.push(Record {
            labels,
            start,
            end: self.text.len(),
            misses,
        });
    }

    /// End a call: its records become the ones the next call replays. The text is
    /// compacted once renderings no record holds make up most of it.
    pub fn end_call(&mut self) {
        std::mem::swap(&mut self.previous, &mut self.current);
        self.current.clear();
        let live: usize = self.previous.iter().map(|r| r.end - r.start).sum();
        if self.text.len() > 2 * live + 4096 {
            let mut text = Vec::with_capacity(2 * live);
            for record in &mut self.previous {
                let start = text.len();
                text.extend_from_slice(&self.text[record.start..record.end]);
                (record.start, record.end) = (start, text.len());
            }
            self.text = text;
        }
    }
}
