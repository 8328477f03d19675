//! Families read into lines kept for the next text exposition (see `rendered`): a
//! counter or histogram family's cells, or a family's totals summed over the processes
//! sharing a file. Every value is read at every call, unless the family's cells marked
//! no change since its lines were read (see `changes`), or the summed series are the
//! object read last time. Only lines whose objects (label tuples, and sample names where
//! they vary) are new are rendered.
//!
//! Lists that come with change bits are a family's own (`Family.cells`): they only grow
//! at their end, and a removal makes new ones. So when no value changed and the same
//! list holds as many series as the kept lines show, not even the label tuples are
//! looked at: a family standing still costs the same whatever its number of series.

use std::ops::Range;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::super::cells::CounterSeries;
use super::super::changes::{Changes, EXPOSITION};
use super::super::histogram::HistogramSeries;
use super::super::rendered::{immutable, Held, CHUNK};
use super::super::series::SummedSeries;
use super::source::Source;
use super::Reader;
use crate::chunk::Chunk;
use crate::prometheus::{Format, Kind};

/// What tells that a family's values stand still since its lines were last read.
#[derive(Clone, Copy)]
enum Still<'a, 'py> {
    /// Nothing: every value is read.
    Unknown,
    /// Its cells' change bits.
    Changes(&'a Py<Changes>),
    /// Its series are in an object that cannot change: the same object, the same lines.
    Object(&'a Bound<'py, PyAny>),
}

impl Reader<'_> {
    /// Read a counter or gauge family's series as [`Self::counter_series`] does, into
    /// kept lines.
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
        let still = series
            .changes
            .as_ref()
            .map_or(Still::Unknown, Still::Changes);
        self.kept(&source, labels, name, still)
    }

    /// Read a histogram family's series as [`Self::histogram_series`] does (without
    /// exemplars), into kept lines.
    pub(super) fn kept_histogram_series(
        &mut self,
        series: &HistogramSeries,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<()> {
        let py = family.0.py();
        let (objects, names) = self.histogram_names(series, family)?;
        let labels = series.labels.bind(py);
        let source = Source::Histograms {
            labels,
            buckets: series.bucket_labels.bind(py),
            cells: series.cells.bind(py),
            names: &names,
            objects: &objects,
        };
        let still = series
            .changes
            .as_ref()
            .map_or(Still::Unknown, Still::Changes);
        self.kept(&source, labels, family.1.as_bytes(), still)
    }

    /// Read summed series as [`Self::summed_series`] does (without exemplars), into
    /// kept lines.
    pub(super) fn kept_summed_series(
        &mut self,
        summed: &Bound<'_, SummedSeries>,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<()> {
        let (py, series) = (family.0.py(), summed.get());
        let (names, labels) = (series.names.bind(py), series.labels.bind(py));
        let source = Source::Summed {
            series,
            names,
            labels,
            family,
        };
        self.kept(
            &source,
            labels,
            family.1.as_bytes(),
            Still::Object(summed.as_any()),
        )
    }

    /// Push `source`'s lines, runs kept under (`list`, `key`) reused where their
    /// objects and values are the same, and keep them for the next call.
    fn kept(
        &mut self,
        source: &Source<'_, '_>,
        list: &Bound<'_, PyList>,
        key: &[u8],
        still_by: Still<'_, '_>,
    ) -> PyResult<()> {
        let Some(mut entry) = self.rendered.as_mut().map(|kept| kept.take(list, key)) else {
            return Ok(());
        };
        let (changes, object) = match still_by {
            Still::Unknown => (None, None),
            Still::Changes(changes) => (Some(changes), None),
            Still::Object(object) => (None, Some(object)),
        };
        // The object read last time (kept alive in the entry, so no other object has its
        // address), every chunk of objects that cannot change: the same lines.
        let same_object = object.is_some_and(|object| {
            entry.read_from.as_ref().is_some_and(|read| read.is(object))
                && entry.chunks.iter().all(|held| !held.objects.is_empty())
        });
        entry.read_from = object.map(|object| object.clone().unbind());
        // Taken before any value is read (see `changes`). Still: no value changed since
        // this entry's were read, so runs whose objects are the same are reused without
        // reading their cells.
        let taken = changes.map(|changes| (changes, changes.get().take(EXPOSITION)));
        let still = match (&taken, &entry.read_at) {
            (Some((changes, (false, number))), Some((read, at))) => {
                read.is(*changes) && at + 1 == *number
            }
            _ => false,
        };
        entry.read_at = taken.map(|(changes, (_, number))| (changes.clone_ref(list.py()), number));
        let (count, run) = (source.len(), source.run()?);
        // Still, and the entry's list (held, so the same object) has as many series as
        // its lines show: the same series (see the module), the same lines.
        if same_object || (still && entry.series == Some(count)) {
            for held in &entry.chunks {
                self.surrogates |= held.chunk.surrogates();
                self.exposition.push_chunk(Arc::clone(&held.chunk));
            }
            if let Some(kept) = self.rendered.as_mut() {
                kept.put(list, key, entry);
            }
            return Ok(());
        }
        let mut old = std::mem::take(&mut entry.chunks).into_iter();
        let (mut values, mut addresses) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
        let mut start = 0;
        while start < count {
            let kept = old.next();
            values.clear();
            addresses.clear();
            if let (true, Some(held)) = (still, &kept) {
                let end = count.min(start + run);
                if source.addresses(start, end, &mut addresses) && same_objects(held, &addresses) {
                    start = end;
                    self.surrogates |= held.chunk.surrogates();
                    self.exposition.push_chunk(Arc::clone(&held.chunk));
                    entry.chunks.extend(kept);
                    continue;
                }
                addresses.clear();
            }
            let read = source.read(start, count.min(start + run), &mut values, &mut addresses)?;
            if read == 0 {
                break;
            }
            let same = kept
                .as_ref()
                .is_some_and(|held| same_objects(held, &addresses));
            let held = match kept {
                Some(held) if same => {
                    if held.chunk.shows(&values) {
                        held
                    } else {
                        let chunk = Arc::new(held.chunk.with_values(&values));
                        Held { chunk, ..held }
                    }
                }
                _ => self.render_chunk(source, start..start + read, &values)?,
            };
            start += read;
            self.surrogates |= held.chunk.surrogates();
            self.exposition.push_chunk(Arc::clone(&held.chunk));
            entry.chunks.push(held);
        }
        let reusable = entry.chunks.iter().all(|held| !held.objects.is_empty());
        entry.series = (reusable && start >= count).then_some(count);
        if let Some(kept) = self.rendered.as_mut() {
            kept.put(list, key, entry);
        }
        Ok(())
    }

    /// Render the series in `series` (showing `values`) as lines of their own.
    fn render_chunk(
        &mut self,
        source: &Source<'_, '_>,
        series: Range<usize>,
        values: &[f64],
    ) -> PyResult<Held> {
        let exposition = std::mem::take(&mut *self.exposition);
        let surrogates = std::mem::replace(&mut self.surrogates, false);
        let mut objects = Vec::with_capacity(values.len() * 2);
        let read = self.push_lines(source, series, values, &mut objects);
        let lines = std::mem::replace(&mut *self.exposition, exposition);
        let line_surrogates = std::mem::replace(&mut self.surrogates, surrogates);
        read?;
        let mut text = Vec::new();
        lines.encode_into(&mut text, Format::Text);
        let chunk = Arc::new(Chunk::new(text, values, line_surrogates));
        Ok(Held { objects, chunk })
    }

    /// Push the lines of `series` showing `values`, and the objects they are rendered
    /// from into `objects`; none at all if one of them could change.
    fn push_lines(
        &mut self,
        source: &Source<'_, '_>,
        series: Range<usize>,
        values: &[f64],
        objects: &mut Vec<Py<PyAny>>,
    ) -> PyResult<()> {
        let start = series.start;
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
            Source::Histograms {
                labels,
                buckets,
                names,
                objects: name_objects,
                ..
            } => {
                let [bucket, count, sum] = name_objects;
                let mut values = values.iter();
                for i in series {
                    let (labels, pairs) = (labels.get_item(i)?, buckets.get_item(i)?);
                    objects.push(labels.clone().unbind());
                    reusable &= immutable(&labels) && pairs.is_exact_instance_of::<PyList>();
                    for pair in pairs.try_iter()? {
                        let pair = pair?;
                        let labelled = self.sample_labels(&pair, bucket.as_any())?;
                        let value = values.next().copied().unwrap_or(0.0);
                        self.exposition.push_sample(&names[0], labelled, value);
                        reusable &= immutable(&pair);
                        objects.push(pair.unbind());
                    }
                    for (name, object) in [(&names[1], count), (&names[2], sum)] {
                        let labelled = self.sample_labels(&labels, object.as_any())?;
                        let value = values.next().copied().unwrap_or(0.0);
                        self.exposition.push_sample(name, labelled, value);
                    }
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

/// Whether `held`'s lines were rendered from the objects at `addresses`.
fn same_objects(held: &Held, addresses: &[usize]) -> bool {
    held.objects.len() == addresses.len()
        && held
            .objects
            .iter()
            .zip(addresses)
            .all(|(object, &address)| object.as_ptr() as usize == address)
}
