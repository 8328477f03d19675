//! The arrays each process keeps its metric values in (see `core.aggregate`): values
//! at the series ids every process sharing the file agrees on, so combining processes
//! is adding arrays. These are the loops Python would otherwise run once per series.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::buffer::PyBuffer;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyIterator, PyList, PyString, PyTuple};

use super::cells::{cell_values, CounterSeries};
use super::histogram::{read_cell, HistogramSeries};
use super::objects::item_addresses;

/// `changed` (when each value last changed) with `now` wherever `values` or `present`
/// differ from `before` and `before_present`; shorter arrays hold zeros past their end.
#[pyfunction]
pub fn mark_changed<'py>(
    py: Python<'py>,
    now: f64,
    changed: &Bound<'py, PyAny>,
    before: &Bound<'py, PyAny>,
    before_present: &[u8],
    values: &Bound<'py, PyAny>,
    present: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let values = f64s(py, values)?;
    let before = f64s(py, before)?;
    let mut changed = f64s(py, changed)?;
    changed.resize(values.len(), 0.0);
    for (id, value) in values.iter().enumerate() {
        let was = before.get(id).copied().unwrap_or(0.0);
        let was_present = before_present.get(id).copied().unwrap_or(0);
        // `!=` as Python compares floats: NaN differs from itself, -0.0 equals 0.0.
        #[allow(clippy::float_cmp)]
        let differs = *value != was;
        if differs || present.get(id).copied().unwrap_or(0) != was_present {
            changed[id] = now;
        }
    }
    floats(py, &changed)
}

/// The arrays `parts` added element by element, in order, each padded with zeros to
/// `size` (a fixed order, so the same parts always give the same totals), and one byte
/// per id: 1 where any of `present` has a 1 (those are bytes of 0 or 1).
#[pyfunction]
pub fn add_floats<'py>(
    py: Python<'py>,
    parts: Vec<Bound<'py, PyAny>>,
    present: Vec<Bound<'py, PyBytes>>,
    size: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let mut totals = vec![0f64; size];
    for part in parts {
        let part = f64s(py, &part)?;
        for (total, value) in totals.iter_mut().zip(part) {
            *total += value;
        }
    }
    let mut flags = vec![0u8; size];
    for part in present {
        for (flag, one) in flags.iter_mut().zip(part.as_bytes()) {
            *flag |= one;
        }
    }
    Ok((floats(py, &totals)?, PyBytes::new(py, &flags)))
}

/// A float64 buffer's values (an `array('d')`); an empty one may point anywhere, so it
/// is not asked for its buffer.
fn f64s(py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if buffer.len()? == 0 {
        return Ok(Vec::new());
    }
    PyBuffer::<f64>::get(buffer)?.to_vec(py)
}

fn floats<'py>(py: Python<'py>, values: &[f64]) -> PyResult<Bound<'py, PyBytes>> {
    // Written in place: collecting `flat_map` into a Vec took longer than the adding.
    PyBytes::new_with(py, 8 * values.len(), |bytes| {
        for (to, value) in bytes.chunks_exact_mut(8).zip(values) {
            to.copy_from_slice(&value.to_ne_bytes());
        }
        Ok(())
    })
}

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
}

/// A sample met: its labels object's address (kept alive in `kept`), its name (a
/// Python reference: counting it up costs no atomic operation), its id.
struct Met {
    labels: usize,
    name: Py<PyString>,
    id: usize,
}

/// Counter series read at a time: their values and label addresses first, then ids.
const RUN: usize = 512;

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
        }
        self.current.clear();
        let found = self.fill(py, families, index, size);
        // The next call replays this one's samples (as far as it got).
        std::mem::swap(&mut self.previous, &mut self.current);
        let Some((values, present)) = found? else {
            return Ok(None);
        };
        Ok(Some((floats(py, &values)?, PyBytes::new(py, &present))))
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
                // Counters collected for exposition: values straight from their cells, a
                // run at a time, label tuples met by address (no reference counted:
                // each would cost a cache miss), and read only when not replayed.
                let series = series.get();
                let name = series.sample.bind(py);
                let (labels, cells) = (series.labels.bind(py), series.cells.bind(py));
                let (mut run, mut addresses) = (Vec::with_capacity(RUN), Vec::with_capacity(RUN));
                let (mut start, mut same_name) = (0, 0);
                loop {
                    run.clear();
                    addresses.clear();
                    cell_values(cells, start..start + RUN, &mut run)?;
                    item_addresses(labels, start..start + RUN, &mut addresses);
                    let read = run.len().min(addresses.len());
                    for (at, (&value, &address)) in run.iter().zip(&addresses).enumerate() {
                        let found = match self.replay(name, address, &mut same_name) {
                            Some(id) => Some(id),
                            None => self.id(py, name, &labels.get_item(start + at)?, index)?,
                        };
                        let Some(id) = found.filter(|id| *id < size) else {
                            return Ok(None);
                        };
                        values[id] = value;
                        present[id] = 1;
                    }
                    if read < RUN {
                        break;
                    }
                    start += RUN;
                }
                continue;
            }
            if let Ok(series) = samples.cast::<HistogramSeries>() {
                let series = series.get();
                let [bucket, count, sum] = series.sample_names(py)?;
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
                        let found = self.id(py, name, &labels, index)?;
                        let Some(id) = found.filter(|id| *id < size) else {
                            return Ok(None);
                        };
                        values[id] = value;
                        present[id] = 1;
                    }
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

    /// The id of the sample named `name` with `labels`.
    /// The id of the next sample if it is last call's sample at the same position
    /// (labels object at `address`, a name of the same text), recorded for the next
    /// call. `same_name` is the address of a name object found equal to `name` before
    /// (names are made anew for each call, but one object serves a family's samples).
    fn replay(
        &mut self,
        name: &Bound<'_, PyString>,
        address: usize,
        same_name: &mut usize,
    ) -> Option<usize> {
        let py = name.py();
        let met = self.previous.get(self.current.len())?;
        if met.labels != address {
            return None;
        }
        let kept = met.name.as_ptr() as usize;
        if kept != name.as_ptr() as usize && kept != *same_name {
            let text = name.to_str().ok()?;
            if !met.name.bind(py).to_str().is_ok_and(|known| known == text) {
                return None;
            }
            *same_name = kept;
        }
        let id = met.id;
        self.current.push(Met {
            labels: address,
            name: name.clone().unbind(),
            id,
        });
        Some(id)
    }

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

/// A summed family's series for an encoder: names and labels from the catalog's lists,
/// values from the added arrays, so a scrape builds no tuple per series (the encoder
/// reads it as it reads a `CounterSeries`). Iterating gives the `(sample, labels,
/// value)` tuples for anything but an encoder.
#[pyclass(module = "observabilipy._native", frozen)]
pub struct SummedSeries {
    pub names: Py<PyList>,
    pub labels: Py<PyList>,
    /// The family's series that have a value, with their totals.
    pub series: Vec<(usize, f64)>,
}

#[pymethods]
impl SummedSeries {
    /// The series of `ids` (native unsigned 64-bit integers, an `array('Q')`'s bytes)
    /// that are `present`, named by `names[id]` and `labels[id]`, valued `totals[id]`
    /// (native float64 bytes, from `add_floats`).
    #[new]
    fn new(
        ids: &[u8],
        names: Bound<'_, PyList>,
        labels: Bound<'_, PyList>,
        totals: &[u8],
        present: &[u8],
    ) -> Self {
        let known = names.len().min(labels.len());
        let mut series = Vec::with_capacity(ids.len() / 8);
        for id in ids.chunks_exact(8) {
            let id = u64::from_ne_bytes(id.try_into().unwrap_or_default());
            let Some(id) = usize::try_from(id).ok().filter(|id| *id < known) else {
                continue;
            };
            if present.get(id).copied().unwrap_or(0) == 0 {
                continue;
            }
            if let Some(total) = totals.get(id * 8..id * 8 + 8) {
                series.push((id, f64::from_ne_bytes(total.try_into().unwrap_or_default())));
            }
        }
        Self {
            names: names.unbind(),
            labels: labels.unbind(),
            series,
        }
    }

    fn __len__(&self) -> usize {
        self.series.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.samples(py)?.try_iter()
    }

    /// The samples as tuples (for anything but an encoder).
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (names, labels) = (self.names.bind(py), self.labels.bind(py));
        let found = PyList::empty(py);
        for (id, total) in &self.series {
            let item = PyTuple::new(
                py,
                [
                    names.get_item(*id)?,
                    labels.get_item(*id)?,
                    PyFloat::new(py, *total).into_any(),
                ],
            )?;
            found.append(item)?;
        }
        Ok(found)
    }
}
