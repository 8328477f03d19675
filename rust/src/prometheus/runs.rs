//! An exposition as runs: text written for this scrape, and lines kept from earlier ones.

use std::ops::Range;
use std::sync::Arc;

use crate::chunk::Chunk;
use crate::gzip::Run;

/// An exposition as [`super::Exposition::runs`] gives it: text written for it, and lines
/// kept.
pub struct Runs<'a> {
    pub(super) text: Vec<u8>,
    pub(super) runs: Vec<(Range<usize>, Option<&'a Arc<Chunk>>)>,
}

/// What a [`Runs`] was made of, held after it is gone: the text written for it and the
/// kept chunks themselves (held, so no other chunk can take their addresses).
pub struct RunsKey {
    text: Vec<u8>,
    runs: Vec<(Range<usize>, Option<Arc<Chunk>>)>,
}

impl Runs<'_> {
    /// Each run's text, in order.
    pub fn texts(&self) -> impl Iterator<Item = &[u8]> {
        self.runs.iter().map(|(range, kept)| match kept {
            Some(chunk) => chunk.text(),
            None => &self.text[range.clone()],
        })
    }

    /// The runs for a gzip body.
    #[must_use]
    pub fn for_gzip(&self) -> Vec<Run<'_>> {
        self.runs
            .iter()
            .map(|(range, kept)| match kept {
                Some(chunk) => Run::Kept(chunk),
                None => Run::Text(&self.text[range.clone()]),
            })
            .collect()
    }

    /// What these runs are made of, to tell a later exposition made of the same.
    #[must_use]
    pub fn key(&self) -> RunsKey {
        RunsKey {
            text: self.text.clone(),
            runs: self
                .runs
                .iter()
                .map(|(range, kept)| (range.clone(), kept.map(Arc::clone)))
                .collect(),
        }
    }

    /// Whether these runs make the same text as those `key` was taken from: the same
    /// text written, cut the same way, and kept chunks of the same text in the same
    /// order (most are the same chunks, whose text never changes: only chunks made
    /// anew, for series whose labels are made anew at every collect, are compared).
    #[must_use]
    pub fn is(&self, key: &RunsKey) -> bool {
        self.text == key.text
            && self.runs.len() == key.runs.len()
            && self
                .runs
                .iter()
                .zip(&key.runs)
                .all(|((range, kept), (was, held))| {
                    range == was
                        && match (kept, held) {
                            (Some(kept), Some(held)) => {
                                Arc::ptr_eq(kept, held) || kept.text() == held.text()
                            }
                            (None, None) => true,
                            _ => false,
                        }
                })
    }
}
