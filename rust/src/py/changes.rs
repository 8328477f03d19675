//! Whether a family's values changed since a reader last read them, so a scrape of a
//! family standing still can reuse its kept lines without reading every cell (cells
//! gone cold between scrapes cost a cache miss each).
//!
//! A cell's update changes its value, then sets every reader's bit (a load, and a write
//! only when a bit is clear: most updates find them set). A reader clears its bit, then
//! reads values. Every step is sequentially consistent, so in their one order either
//! the update's load comes after the reader's clear (it sets the bit again: the next
//! read sees the value), or it comes before, and then so does its value's change, which
//! the reader's later reads see. On x86 these orders cost nothing more than relaxed
//! ones: read-modify-writes are locked and loads are plain either way. A histogram's
//! counts change under its lock, which a reader takes to read them: the two critical
//! sections come one after the other, and either order gives the same either-or.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::SeqCst};

use pyo3::prelude::*;

/// The bit of the text exposition's kept lines.
pub const EXPOSITION: u8 = 1;
/// The bit of the arrays a process sharing a file writes (`SeriesIndex`).
pub const SERIES: u8 = 2;
const EVERY_READER: u8 = EXPOSITION | SERIES;

/// One family's change bits, shared by its cells.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct Changes {
    bits: AtomicU8,
    /// Takes so far, per reader bit: a reader keeping several states of one family (one
    /// per list it was read through, or one per index) can tell whether a take was its
    /// own last one.
    takes: [AtomicU64; 2],
}

impl Changes {
    /// After a value changed: every reader has something new to read.
    pub fn mark(&self) {
        if self.bits.load(SeqCst) != EVERY_READER {
            self.bits.fetch_or(EVERY_READER, SeqCst);
        }
    }

    /// Whether anything changed since the reader `bit` last took (it has not since),
    /// and this take's number.
    pub fn take(&self, bit: u8) -> (bool, u64) {
        let changed = self.bits.fetch_and(!bit, SeqCst) & bit != 0;
        let takes = &self.takes[bit.trailing_zeros() as usize];
        (changed, takes.fetch_add(1, SeqCst))
    }
}

#[pymethods]
impl Changes {
    /// Everything changed, to begin with.
    #[new]
    fn new() -> Self {
        Self {
            bits: AtomicU8::new(EVERY_READER),
            takes: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
}

/// Mark `changes`, if the cell has any.
pub fn mark(changes: Option<&Py<Changes>>) {
    if let Some(changes) = changes {
        changes.get().mark();
    }
}
