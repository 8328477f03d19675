//! Counter, gauge and histogram families read for the arrays (see `SeriesIndex`): each
//! kept as read, so a family standing still is shown again without a cell read, and a
//! family read again finds its ids without a lookup.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::super::cells::{cell_values, CounterSeries};
use super::super::changes::{Changes, SERIES};
use super::super::histogram::{read_cell, HistogramSeries};
use super::super::objects::{item_addresses, items_are};
use super::SeriesIndex;

/// A counter or gauge family as a call read it. Its lists only grow at their ends (a
/// series removed makes new ones), so the series of a later call whose label tuples are
/// these objects, in this order, have these ids; and when its cells marked no change
/// since (see `changes`), they show these values again without a cell read: a process's
/// save at every scrape then reads only the families that moved.
pub(super) struct FamilyRead {
    /// The change bits (kept alive here) and the number of this index's take of them
    /// before reading.
    taken: Option<(Py<Changes>, u64)>,
    /// The sample name (a histogram's `_bucket`).
    name: Box<str>,
    /// The label tuples' addresses (kept alive in `kept`; a histogram's each followed
    /// by its buckets'), and the samples' ids and values, in order.
    labels: Vec<usize>,
    ids: Vec<usize>,
    values: Vec<f64>,
    /// A counter or gauge family's list of label tuples (held, so no other object
    /// takes its address): the same list, as long as before, holds the same tuples.
    list: Option<Py<PyList>>,
}

/// A family's change bits and the number of this index's take of them, when it has any.
type Taken<'c> = Option<(&'c Py<Changes>, u64)>;

impl SeriesIndex {
    /// Read a counter or gauge family's values (from its cells, unless it stood still)
    /// and find their ids; false when a series has none.
    pub(super) fn counter_family(
        &mut self,
        series: &CounterSeries,
        index: &Bound<'_, PyDict>,
    ) -> PyResult<bool> {
        let py = index.py();
        let name = series.sample.bind(py);
        let text = name.to_str()?;
        let (labels, cells) = (series.labels.bind(py), series.cells.bind(py));
        let count = labels.len().min(cells.len());
        let (taken, still, known) = self.take(series.changes.as_ref(), text);
        let (addresses, ids, read) = match known {
            // The same label tuples, in the same order: the same ids, and the same values.
            Some(known)
                if still
                    && known.labels.len() == count
                    && (same_list(known.list.as_ref(), labels, count)
                        || items_are(labels, &known.labels)) =>
            {
                (known.labels, known.ids, known.values)
            }
            known => {
                self.moved = true;
                let mut addresses = Vec::with_capacity(count);
                item_addresses(labels, 0..count, &mut addresses);
                // Lists only grow at their ends: the label tuples read before, in order,
                // have the ids found then (and, when still, the values read then).
                let (mut ids, mut read, same) = match known {
                    Some(known) => {
                        let same = known
                            .labels
                            .iter()
                            .zip(&addresses)
                            .take_while(|(was, is)| was == is)
                            .count();
                        let (mut ids, mut read) = (known.ids, known.values);
                        ids.truncate(same);
                        read.truncate(if still { same } else { 0 });
                        (ids, read, same)
                    }
                    None => (Vec::with_capacity(count), Vec::with_capacity(count), 0),
                };
                for at in same..count {
                    let labels = labels.get_item(at)?;
                    let Some(id) = self.id_by_address(py, (name.as_any(), text), &labels, index)?
                    else {
                        return Ok(false);
                    };
                    ids.push(id);
                }
                let first = read.len();
                cell_values(cells, first..count, &mut read)?;
                (addresses, ids, read)
            }
        };
        let read = FamilyRead {
            name: text.into(),
            labels: addresses,
            ids,
            values: read,
            taken: None,
            list: Some(labels.clone().unbind()),
        };
        self.hold(py, taken, read);
        Ok(true)
    }

    /// Read a histogram family's values (from its cells, unless it stood still) and
    /// find their ids; false when a sample has none.
    pub(super) fn histogram_family(
        &mut self,
        series: &HistogramSeries,
        index: &Bound<'_, PyDict>,
    ) -> PyResult<bool> {
        let py = index.py();
        let [bucket, count, sum] = series.sample_names(py)?;
        let text = bucket.to_str()?;
        let (taken, still, known) = self.take(series.changes.as_ref(), text);
        // Each series' label tuple, then its buckets' (every one a list, or none is kept).
        let mut addresses = Vec::new();
        let mut keepable = true;
        for (labels, buckets, _) in series.series(py) {
            addresses.push(labels.as_ptr() as usize);
            match buckets.cast::<PyList>() {
                Ok(buckets) => item_addresses(buckets, 0..buckets.len(), &mut addresses),
                Err(_) => keepable = false,
            }
        }
        let (ids, read) = match known {
            // The same objects, in the same order: the same ids, and the same values.
            Some(known) if still && keepable && known.labels == addresses => {
                (known.ids, known.values)
            }
            _ => {
                self.moved = true;
                let (mut ids, mut read) = (Vec::new(), Vec::new());
                for (labels, buckets, cell) in series.series(py) {
                    let (_, cumulative, total) = read_cell(&cell, &buckets)?;
                    let observed = cumulative.last().copied().unwrap_or(0);
                    // Python's float(int): exact below 2**53, rounded to nearest above.
                    #[allow(clippy::cast_precision_loss)]
                    let found = buckets
                        .try_iter()?
                        .zip(cumulative.iter().map(|running| *running as f64))
                        .map(|(pairs, value)| pairs.map(|pairs| (&bucket, pairs, value)))
                        .chain([Ok((&count, labels.clone(), observed as f64))])
                        .chain([Ok((&sum, labels.clone(), total))]);
                    for sample in found {
                        let (name, labels, value) = sample?;
                        let Some(id) = self.id(py, name, &labels, index)? else {
                            return Ok(false);
                        };
                        ids.push(id);
                        read.push(value);
                    }
                }
                (ids, read)
            }
        };
        let read = FamilyRead {
            name: text.into(),
            labels: addresses,
            ids,
            values: read,
            taken: None,
            list: None,
        };
        let taken = taken.filter(|_| keepable);
        self.hold(py, taken, read);
        Ok(true)
    }

    /// Take this index's bit of `changes` (before any cell is read), and the family as
    /// the last call read it (if its sample name was `name`): whether it stood still
    /// since, that is nothing changed since this index's last take, which was the last
    /// call's (another index takes too).
    fn take<'c>(
        &mut self,
        bits: Option<&'c Py<Changes>>,
        name: &str,
    ) -> (Taken<'c>, bool, Option<FamilyRead>) {
        let taken = bits.map(|changes| (changes, changes.get().take(SERIES)));
        let known = taken
            .and_then(|(changes, _)| self.read.remove(&(changes.as_ptr() as usize)))
            .filter(|known| *known.name == *name);
        let still = match (&taken, &known) {
            (Some((_, (changed, number))), Some(known)) => {
                !changed
                    && known
                        .taken
                        .as_ref()
                        .is_some_and(|(_, at)| at + 1 == *number)
            }
            _ => false,
        };
        (
            taken.map(|(changes, (_, number))| (changes, number)),
            still,
            known,
        )
    }

    /// Hold `read` until the call's arrays are made, with its change bits' take.
    fn hold(&mut self, py: Python<'_>, taken: Taken<'_>, mut read: FamilyRead) {
        read.taken = taken.map(|(changes, number)| (changes.clone_ref(py), number));
        self.held.push(read);
    }

    /// Put the values of the families held at their ids; false when an id is not below
    /// `values.len()`.
    pub(super) fn put_held(&self, (values, present): (&mut [f64], &mut [u8])) -> bool {
        for read in &self.held {
            for (&id, &value) in read.ids.iter().zip(&read.values) {
                let (Some(to), Some(flag)) = (values.get_mut(id), present.get_mut(id)) else {
                    return false;
                };
                *to = value;
                *flag = 1;
            }
        }
        true
    }

    /// Keep the families held whose change bits were taken, for the next call.
    pub(super) fn keep_held(&mut self) {
        for read in self.held.drain(..) {
            if let Some((changes, _)) = &read.taken {
                self.reading.insert(changes.as_ptr() as usize, read);
            }
        }
    }
}

/// Whether `list` is the one held, holding `count` items: a family's lists only grow at
/// their end (a series removed makes new ones), so its items are those read before.
fn same_list(held: Option<&Py<PyList>>, list: &Bound<'_, PyList>, count: usize) -> bool {
    held.is_some_and(|held| held.is(list)) && list.len() == count
}
