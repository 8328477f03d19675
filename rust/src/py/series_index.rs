//! Series ids found for a scrape's samples by the identity of their label tuples, and
//! their values read into the arrays a process sharing a file writes (see
//! `core.aggregate`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::cells::{cell_values, CounterSeries};
use super::changes::{Changes, SERIES};
use super::histogram::{read_cell, HistogramSeries};
use super::objects::{item_addresses, items_are};
use super::series::floats;

/// Where each sample's value goes, remembered by the identity of its labels object and
/// its name's text: a scrape sees the same label tuples every time (the registry keeps
/// them), and comparing addresses spares hashing nested tuples. Every labels object
/// whose address is a key is kept alive here, so no other object can take its address;
/// tuples are immutable, so the same object always holds the same labels. Valid for one
/// catalog (made afresh with it); started over when it holds more than twice the
/// catalog's series, which only label tuples made anew for every scrape would cause.
#[pyclass(module = "observabilipy._native")]
#[derive(Default)]
pub struct SeriesIndex {
    by_address: ByAddress,
    kept: Vec<Py<PyAny>>,
    /// The samples of the last call, in the order met, and those of this call: a scrape
    /// meets the same series in the same order, so the n-th sample is usually last
    /// call's n-th, found by comparing addresses in order instead of hashing into
    /// `by_address` (whose scattered entries cost a cache miss each).
    previous: Vec<Met>,
    current: Vec<Met>,
    /// The counter and gauge families that call read, by the address of their change
    /// bits (kept alive in each), and those of this call.
    read: HashMap<usize, FamilyRead>,
    reading: HashMap<usize, FamilyRead>,
    /// The arrays last given: their values' bits, and the objects.
    given: Option<(Vec<u64>, Py<PyBytes>, Py<PyBytes>)>,
}

/// A counter or gauge family as a call read it. Its lists only grow at their ends (a
/// series removed makes new ones), so the series of a later call whose label tuples are
/// these objects, in this order, have these ids; and when its cells marked no change
/// since (see `changes`), they show these values again without a cell read: a process's
/// save at every scrape then reads only the families that moved.
struct FamilyRead {
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
}

/// A family's change bits and the number of this index's take of them, when it has any.
type Taken<'c> = Option<(&'c Py<Changes>, u64)>;

/// A sample met: its labels object's address (kept alive in `kept`), its name (a
/// Python reference: counting it up costs no atomic operation), its id.
struct Met {
    labels: usize,
    name: Py<PyString>,
    id: usize,
}

/// Label tuples by address, each with the ids of the sample names seen with it.
type ByAddress = HashMap<usize, Vec<(Box<str>, usize)>, BuildHasherDefault<AddressHasher>>;

/// Addresses are already spread out: one multiply mixes them well enough, and costs a
/// fraction of the default `SipHash`.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[pymethods]
impl SeriesIndex {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// `families`' values at their series ids, as `(values, present)`: native-endian
    /// float64 and one byte per id (1 where a value is). `None` when a sample has no id
    /// below `size` yet, for the caller to name it. `index` (the catalog's, by value) is
    /// looked up only for label tuples and names not seen before.
    fn values<'py>(
        &mut self,
        py: Python<'py>,
        families: &Bound<'py, PyAny>,
        index: &Bound<'py, PyDict>,
        size: usize,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        if self.kept.len() > 2 * size + 1024 {
            self.by_address.clear();
            self.kept.clear();
            self.previous.clear();
            self.read.clear();
        }
        self.current.clear();
        self.reading.clear();
        let found = self.fill(py, families, index, size);
        // The next call replays this one's samples (as far as it got).
        std::mem::swap(&mut self.previous, &mut self.current);
        let Ok(Some((values, present))) = found else {
            // Bits this call took cleared changes it did not keep: read everything next.
            self.read.clear();
            return found.map(|_| None);
        };
        std::mem::swap(&mut self.read, &mut self.reading);
        // The same bits as the last arrays: those objects, for the caller to see at once.
        if let Some((bits, last_values, last_present)) = &self.given {
            let same_bits = bits.len() == values.len()
                && bits
                    .iter()
                    .zip(&values)
                    .all(|(was, is)| *was == is.to_bits());
            if same_bits && last_present.bind(py).as_bytes() == present.as_slice() {
                return Ok(Some((
                    last_values.bind(py).clone(),
                    last_present.bind(py).clone(),
                )));
            }
        }
        let arrays = (floats(py, &values)?, PyBytes::new(py, &present));
        let bits = values.iter().map(|value| value.to_bits()).collect();
        self.given = Some((bits, arrays.0.clone().unbind(), arrays.1.clone().unbind()));
        Ok(Some(arrays))
    }
}

impl SeriesIndex {
    fn fill(
        &mut self,
        py: Python<'_>,
        families: &Bound<'_, PyAny>,
        index: &Bound<'_, PyDict>,
        size: usize,
    ) -> PyResult<Option<(Vec<f64>, Vec<u8>)>> {
        let mut values = vec![0f64; size];
        let mut present = vec![0u8; size];
        for family in families.try_iter()? {
            let samples = family?.getattr(intern!(py, "samples"))?;
            if let Ok(series) = samples.cast::<CounterSeries>() {
                if !self.counter_family(series.get(), index, (&mut values, &mut present))? {
                    return Ok(None);
                }
                continue;
            }
            if let Ok(series) = samples.cast::<HistogramSeries>() {
                if !self.histogram_family(series.get(), index, (&mut values, &mut present))? {
                    return Ok(None);
                }
                continue;
            }
            for sample in samples.try_iter()? {
                let sample = sample?;
                let sample = sample.cast::<PyTuple>()?;
                let (name, labels) = (sample.get_item(0)?, sample.get_item(1)?);
                let name = name.cast::<PyString>()?;
                let Some(id) = self.id(py, name, &labels, index)? else {
                    return Ok(None);
                };
                if id >= size {
                    return Ok(None);
                }
                values[id] = sample.get_item(2)?.extract::<f64>()?;
                present[id] = 1;
            }
        }
        Ok(Some((values, present)))
    }

    /// Put a counter or gauge family's values (read from its cells, unless it stood
    /// still) at their ids; false when a series has no id below `values.len()`.
    fn counter_family(
        &mut self,
        series: &CounterSeries,
        index: &Bound<'_, PyDict>,
        arrays: (&mut [f64], &mut [u8]),
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
                if still && known.labels.len() == count && items_are(labels, &known.labels) =>
            {
                (known.labels, known.ids, known.values)
            }
            known => {
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
        };
        Ok(self.put(py, taken, read, arrays))
    }

    /// Put a histogram family's values (read from its cells, unless it stood still) at
    /// their ids; false when a sample has no id below `values.len()`.
    fn histogram_family(
        &mut self,
        series: &HistogramSeries,
        index: &Bound<'_, PyDict>,
        arrays: (&mut [f64], &mut [u8]),
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
        };
        let taken = taken.filter(|_| keepable);
        Ok(self.put(py, taken, read, arrays))
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

    /// Put `read`'s values at their ids, and keep it for the next call when its change
    /// bits were `taken`; false when an id is not below `values.len()`.
    fn put(
        &mut self,
        py: Python<'_>,
        taken: Taken<'_>,
        mut read: FamilyRead,
        (values, present): (&mut [f64], &mut [u8]),
    ) -> bool {
        for (&id, &value) in read.ids.iter().zip(&read.values) {
            let (Some(to), Some(flag)) = (values.get_mut(id), present.get_mut(id)) else {
                return false;
            };
            *to = value;
            *flag = 1;
        }
        if let Some((changes, number)) = taken {
            read.taken = Some((changes.clone_ref(py), number));
            self.reading.insert(changes.as_ptr() as usize, read);
        }
        true
    }

    /// The id of the sample named `name` with `labels` (None when it has none).
    fn id(
        &mut self,
        py: Python<'_>,
        name: &Bound<'_, PyString>,
        labels: &Bound<'_, PyAny>,
        index: &Bound<'_, PyDict>,
    ) -> PyResult<Option<usize>> {
        let address = labels.as_ptr() as usize;
        let text = name.to_str()?;
        let replayed = self.previous.get(self.current.len()).filter(|met| {
            // A recorded address is kept alive, so no other object can have it.
            met.labels == address
                && (met.name.as_ptr() == name.as_ptr()
                    || met.name.bind(py).to_str().is_ok_and(|known| known == text))
        });
        let id = match replayed {
            Some(met) => met.id,
            None => match self.id_by_address(py, (name.as_any(), text), labels, index)? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        self.current.push(Met {
            labels: address,
            name: name.clone().unbind(),
            id,
        });
        Ok(Some(id))
    }

    fn id_by_address(
        &mut self,
        py: Python<'_>,
        (name, text): (&Bound<'_, PyAny>, &str),
        labels: &Bound<'_, PyAny>,
        index: &Bound<'_, PyDict>,
    ) -> PyResult<Option<usize>> {
        let address = labels.as_ptr() as usize;
        if let Some(named) = self.by_address.get(&address) {
            if let Some((_, id)) = named.iter().find(|(known, _)| **known == *text) {
                return Ok(Some(*id));
            }
        }
        let key = PyTuple::new(py, [name, labels])?;
        let Some(found) = index.get_item(&key)? else {
            return Ok(None);
        };
        let id: usize = found.extract()?;
        let named = self.by_address.entry(address).or_insert_with(|| {
            self.kept.push(labels.clone().unbind());
            Vec::new()
        });
        named.push((text.into(), id));
        Ok(Some(id))
    }
}
