//! Counter families read into lines kept for the next text exposition (see
//! `rendered`): every cell is read at every call, and only lines whose label tuples
//! are new are rendered.

use std::ops::Range;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::super::cells::{counter_values, CounterSeries};
use super::super::objects::item_addresses;
use super::super::rendered::{immutable, Held, CHUNK};
use super::Reader;
use crate::chunk::Chunk;
use crate::prometheus::Format;

impl Reader<'_> {
    /// Read a counter family's series as [`Self::counter_series`] does, into lines kept
    /// for the next call (see `rendered`): every cell is read, and only lines whose
    /// label tuples are new are rendered.
    pub(super) fn kept_counter_series(
        &mut self,
        series: &CounterSeries,
        name: &[u8],
        name_object: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = name_object.py();
        let (labels, cells) = (series.labels.bind(py), series.cells.bind(py));
        let count = labels.len().min(cells.len());
        let Some(mut entry) = self.rendered.as_mut().map(|kept| kept.take(labels, name)) else {
            return Ok(());
        };
        let mut old = std::mem::take(&mut entry.chunks).into_iter();
        let (mut values, mut addresses) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
        let mut start = 0;
        loop {
            let kept = old.next();
            let tuples = kept.as_ref().map_or(&[][..], |held| &held.tuples[..]);
            let range = start..count.min(start + CHUNK);
            values.clear();
            counter_values(cells, range.clone(), &mut values)?;
            addresses.clear();
            item_addresses(labels, range, &mut addresses);
            // Lists can only shrink if Python code ran (rendering the run before).
            let read = values.len().min(addresses.len());
            values.truncate(read);
            addresses.truncate(read);
            let same = tuples.len() == values.len()
                && tuples
                    .iter()
                    .zip(&addresses)
                    .all(|(kept, &address)| kept.as_ptr() as usize == address);
            if values.is_empty() {
                break;
            }
            let range = start..start + values.len();
            start = range.end;
            let held = match kept {
                Some(held) if same => {
                    if held.chunk.shows(&values) {
                        held
                    } else {
                        let chunk = Arc::new(held.chunk.with_values(&values));
                        Held { chunk, ..held }
                    }
                }
                _ => self.render_chunk(labels, range, &values, (name, name_object))?,
            };
            self.surrogates |= held.chunk.surrogates();
            self.exposition.push_chunk(Arc::clone(&held.chunk));
            entry.chunks.push(held);
        }
        if let Some(kept) = self.rendered.as_mut() {
            kept.put(labels, entry);
        }
        Ok(())
    }

    /// Render the series in `range` (showing `values`) as lines of their own.
    fn render_chunk(
        &mut self,
        labels: &Bound<'_, PyList>,
        range: Range<usize>,
        values: &[f64],
        name: (&[u8], &Bound<'_, PyAny>),
    ) -> PyResult<Held> {
        let exposition = std::mem::take(&mut *self.exposition);
        let surrogates = std::mem::replace(&mut self.surrogates, false);
        let mut tuples = Vec::with_capacity(range.len());
        let read = self.push_lines(labels, range.clone(), values, name, &mut tuples);
        let lines = std::mem::replace(&mut *self.exposition, exposition);
        let line_surrogates = std::mem::replace(&mut self.surrogates, surrogates);
        read?;
        let mut text = Vec::new();
        lines.encode_into(&mut text, Format::Text);
        if tuples.len() != range.len() {
            tuples.clear(); // some tuple could change: never reused
        }
        let chunk = Arc::new(Chunk::new(text, values, line_surrogates));
        Ok(Held { tuples, chunk })
    }

    fn push_lines(
        &mut self,
        labels: &Bound<'_, PyList>,
        range: Range<usize>,
        values: &[f64],
        (name, name_object): (&[u8], &Bound<'_, PyAny>),
        tuples: &mut Vec<Py<PyAny>>,
    ) -> PyResult<()> {
        for (i, &value) in range.zip(values) {
            let labels = labels.get_item(i)?;
            let labelled = self.sample_labels(&labels, name_object)?;
            self.exposition.push_sample(name, labelled, value);
            if immutable(&labels) {
                tuples.push(labels.unbind());
            }
        }
        Ok(())
    }
}
