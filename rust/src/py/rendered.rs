//! Counter families' sample lines kept from one text exposition to the next.
//!
//! A family's label list is the same object from scrape to scrape until a series is
//! removed (which makes a new list), and its label tuples cannot change; so are the
//! catalog's lists of names and label tuples that a file's summed series are read
//! through. So each family's lines are kept in [`Chunk`]s of [`CHUNK`] series, keyed
//! by the list's address and the family's name, with the objects they were rendered
//! from (label tuples, and sample names where they vary). At each scrape every value
//! is read again: a chunk whose objects are the same is reused when its values are
//! the same, rewritten around the changed values otherwise, and rendered anew when its
//! objects differ. Entries hold their list and objects, so no other object can take
//! their addresses while they are kept.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, TryLockError};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::changes::Changes;
use crate::chunk::Chunk;

/// Series per chunk: small enough that a changed value rewrites and deflates about
/// 30 KB, large enough that a chunk's own cost is nothing beside its lines.
pub const CHUNK: usize = 512;

/// An entry not used by this many calls in a row is dropped (its family is gone, or
/// its list was replaced).
const KEEP_CALLS: u64 = 8;

/// One chunk's lines and the objects they show; none when one of them could change
/// (not a tuple of `(str, str)` tuples, or not a str), so the chunk is never reused.
pub struct Held {
    pub objects: Vec<Py<PyAny>>,
    pub chunk: Arc<Chunk>,
}

/// A family's kept lines: its name and its chunks, in order.
pub struct Entry {
    _labels: Py<PyList>,
    pub name: Vec<u8>,
    pub chunks: Vec<Held>,
    seen: u64,
    /// The family's change bits and the number of the take after which the chunks'
    /// values were last read (see `changes`), when it has them.
    pub read_at: Option<(Py<Changes>, u64)>,
    /// The object whose series the chunks were last read from, when it cannot change
    /// (a `SummedSeries`): the same object again shows the same lines.
    pub read_from: Option<Py<PyAny>>,
    /// How many series the chunks show, when every chunk may be reused: the list only
    /// grows at its end, so the same count through the same list is the same series.
    pub series: Option<usize>,
}

#[derive(Default)]
pub struct Rendered {
    /// By list address and a hash of the family's name (checked against the entry's).
    entries: HashMap<(usize, u64), Entry>,
    calls: u64,
}

static RENDERED: LazyLock<Mutex<Rendered>> = LazyLock::new(Mutex::default);

impl Rendered {
    /// The kept lines, unless another thread is using them (it then renders afresh).
    pub fn lock() -> Option<MutexGuard<'static, Self>> {
        unless_busy(&RENDERED)
    }

    /// The entry for the family `name` read through `labels`, taken out until
    /// [`Rendered::put`] gives it back: new if there is none.
    pub fn take(&mut self, labels: &Bound<'_, PyList>, name: &[u8]) -> Entry {
        match self.entries.remove(&key(labels, name)) {
            Some(entry) if entry.name == name => entry,
            _ => Entry {
                _labels: labels.clone().unbind(),
                name: name.to_vec(),
                chunks: Vec::new(),
                seen: 0,
                read_at: None,
                read_from: None,
                series: None,
            },
        }
    }

    /// Keep `entry` for the family `name` read through `labels`.
    pub fn put(&mut self, labels: &Bound<'_, PyList>, name: &[u8], mut entry: Entry) {
        entry.seen = self.calls;
        self.entries.insert(key(labels, name), entry);
    }

    /// End a call: entries unused for [`KEEP_CALLS`] calls are dropped.
    pub fn end_call(&mut self) {
        self.calls += 1;
        let calls = self.calls;
        self.entries
            .retain(|_, entry| entry.seen + KEEP_CALLS >= calls);
    }
}

/// `mutex` locked, unless another thread holds it (what it guards is then made
/// afresh); a panic while it was held left nothing half-kept worth refusing.
pub fn unless_busy<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

fn key(labels: &Bound<'_, PyList>, name: &[u8]) -> (usize, u64) {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    (labels.as_ptr() as usize, hasher.finish())
}

/// Whether `labels` is a tuple of `(str, str)` tuples, all exact types: an object that
/// cannot change, so its rendering may be kept.
pub fn immutable(labels: &Bound<'_, PyAny>) -> bool {
    let Ok(tuple) = labels.cast_exact::<PyTuple>() else {
        return false;
    };
    tuple.iter().all(|pair| {
        pair.cast_exact::<PyTuple>().is_ok_and(|pair| {
            pair.len() == 2
                && pair
                    .iter()
                    .all(|text| text.is_exact_instance_of::<PyString>())
        })
    })
}
