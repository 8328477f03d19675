//! Families read into lines kept for the next text exposition (see `rendered`): a
//! counter family's cells, or a family's totals summed over the processes sharing a
//! file. Every value is read at every call, and only lines whose objects (label tuple,
//! and sample name where it varies) are new are rendered.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::super::cells::{counter_values, CounterSeries};
use super::super::objects::{item_address, item_addresses};
use super::super::rendered::{immutable, Held, CHUNK};
use super::super::series::SummedSeries;
use super::Reader;
use crate::chunk::Chunk;
use crate::prometheus::{Format, Kind};

/// Where a kept family's samples come from.
enum Source<'a, 'py> {
    /// A counter family's cells: one sample name, one label tuple per cell.
    Cells {
        labels: &'a Bound<'py, PyList>,
        cells: &'a Bound<'py, PyList>,
        name: &'a [u8],
        name_object: &'a Bound<'py, PyAny>,
    },
    /// Totals by series id, named by the catalog's lists (a name and a tuple a series).
    Summed {
        series: &'a SummedSeries,
        names: &'a Bound<'py, PyList>,
        labels: &'a Bound<'py, PyList>,
        family: (&'a Bound<'py, PyAny>, &'a str, Kind),
    },
}

impl Source<'_, '_> {
    fn len(&self) -> usize {
        match self {
            Self::Cells { labels, cells, .. } => labels.len().min(cells.len()),
            Self::Summed { series, .. } => series.series.len(),
        }
    }

    /// The values of samples `start..end` and the addresses of the objects their lines
    /// are rendered from (as many samples as are still there).
    fn read(
        &self,
        start: usize,
        end: usize,
        values: &mut Vec<f64>,
        addresses: &mut Vec<usize>,
    ) -> PyResult<()> {
        match self {
            Self::Cells { labels, cells, .. } => {
                counter_values(cells, start..end, values)?;
                item_addresses(labels, start..end, addresses);
                // Lists can only shrink if Python code ran (rendering the run before).
                let read = values.len().min(addresses.len());
                values.truncate(read);
                addresses.truncate(read);
            }
            Self::Summed {
                series,
                names,
                labels,
                ..
            } => {
                for &(id, total) in &series.series[start..end] {
                    let (Some(name), Some(tuple)) =
                        (item_address(names, id), item_address(labels, id))
                    else {
                        break;
                    };
                    values.push(total);
                    addresses.extend([name, tuple]);
                }
            }
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// Read a counter family's series as [`Self::counter_series`] does, into kept lines.
    pub(super) fn kept_counter_series(
        &mut self,
        series: &CounterSeries,
        name: &[u8],
        name_object: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = name_object.py();
        let (labels, cells) = (series.labels.bind(py), series.cells.bind(py));
        let source = Source::Cells {
            labels,
            cells,
            name,
            name_object,
        };
        self.kept(&source, labels, name)
    }

    /// Read summed series as [`Self::summed_series`] does (without exemplars), into
    /// kept lines.
    pub(super) fn kept_summed_series(
        &mut self,
        series: &SummedSeries,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<()> {
        let py = family.0.py();
        let (names, labels) = (series.names.bind(py), series.labels.bind(py));
        let source = Source::Summed {
            series,
            names,
            labels,
            family,
        };
        self.kept(&source, labels, family.1.as_bytes())
    }

    /// Push `source`'s lines, runs kept under (`list`, `key`) reused where their
    /// objects and values are the same, and keep them for the next call.
    fn kept(
        &mut self,
        source: &Source<'_, '_>,
        list: &Bound<'_, PyList>,
        key: &[u8],
    ) -> PyResult<()> {
        let Some(mut entry) = self.rendered.as_mut().map(|kept| kept.take(list, key)) else {
            return Ok(());
        };
        let count = source.len();
        let mut old = std::mem::take(&mut entry.chunks).into_iter();
        let (mut values, mut addresses) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
        let mut start = 0;
        while start < count {
            let kept = old.next();
            values.clear();
            addresses.clear();
            source.read(start, count.min(start + CHUNK), &mut values, &mut addresses)?;
            if values.is_empty() {
                break;
            }
            let same = kept.as_ref().is_some_and(|held| {
                held.objects.len() == addresses.len()
                    && held
                        .objects
                        .iter()
                        .zip(&addresses)
                        .all(|(object, &address)| object.as_ptr() as usize == address)
            });
            let held = match kept {
                Some(held) if same => {
                    if held.chunk.shows(&values) {
                        held
                    } else {
                        let chunk = Arc::new(held.chunk.with_values(&values));
                        Held { chunk, ..held }
                    }
                }
                _ => self.render_chunk(source, start, &values)?,
            };
            start += values.len();
            self.surrogates |= held.chunk.surrogates();
            self.exposition.push_chunk(Arc::clone(&held.chunk));
            entry.chunks.push(held);
        }
        if let Some(kept) = self.rendered.as_mut() {
            kept.put(list, key, entry);
        }
        Ok(())
    }

    /// Render samples from `start` (showing `values`) as lines of their own.
    fn render_chunk(
        &mut self,
        source: &Source<'_, '_>,
        start: usize,
        values: &[f64],
    ) -> PyResult<Held> {
        let exposition = std::mem::take(&mut *self.exposition);
        let surrogates = std::mem::replace(&mut self.surrogates, false);
        let mut objects = Vec::with_capacity(values.len() * 2);
        let read = self.push_lines(source, start, values, &mut objects);
        let lines = std::mem::replace(&mut *self.exposition, exposition);
        let line_surrogates = std::mem::replace(&mut self.surrogates, surrogates);
        read?;
        let mut text = Vec::new();
        lines.encode_into(&mut text, Format::Text);
        let chunk = Arc::new(Chunk::new(text, values, line_surrogates));
        Ok(Held { objects, chunk })
    }

    /// Push the samples from `start` showing `values`, and the objects each line is
    /// rendered from into `objects`; none at all if one of them could change.
    fn push_lines(
        &mut self,
        source: &Source<'_, '_>,
        start: usize,
        values: &[f64],
        objects: &mut Vec<Py<PyAny>>,
    ) -> PyResult<()> {
        let mut reusable = true;
        match source {
            Source::Cells {
                labels,
                name,
                name_object,
                ..
            } => {
                for (i, &value) in (start..).zip(values) {
                    let labels = labels.get_item(i)?;
                    let labelled = self.sample_labels(&labels, name_object)?;
                    self.exposition.push_sample(name, labelled, value);
                    reusable &= immutable(&labels);
                    objects.push(labels.unbind());
                }
            }
            Source::Summed {
                series,
                names,
                labels,
                family,
            } => {
                let mut checked: (usize, Vec<u8>) = (0, Vec::new());
                for (&(id, _), &value) in series.series[start..].iter().zip(values) {
                    let (name, labels) = (names.get_item(id)?, labels.get_item(id)?);
                    if checked.0 != name.as_ptr() as usize {
                        checked = (
                            name.as_ptr() as usize,
                            self.checked_name(&name, *family)?.into_owned(),
                        );
                    }
                    let labelled = self.sample_labels(&labels, &name)?;
                    self.exposition.push_sample(&checked.1, labelled, value);
                    reusable &= immutable(&labels) && name.is_exact_instance_of::<PyString>();
                    objects.extend([name.unbind(), labels.unbind()]);
                }
            }
        }
        if !reusable {
            objects.clear();
        }
        Ok(())
    }
}
