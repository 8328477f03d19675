//! Series ids found for a scrape's samples by the identity of their label tuples, and
//! their values read into the arrays a process sharing a file writes (see
//! `core.aggregate`). A call that finds every family as the last call read it gives the
//! last arrays back without making them: a process whose values stand still saves at
//! a cost set by its number of families, not of series.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use super::cells::CounterSeries;
use super::histogram::HistogramSeries;
use super::series::floats;

mod families;
use families::FamilyRead;

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
    /// The families this call read, until its arrays are made.
    held: Vec<FamilyRead>,
    /// The samples given as tuples (not in cells) this call and the last: ids and the
    /// bits of their values.
    plain: Vec<(usize, u64)>,
    plain_before: Vec<(usize, u64)>,
    /// Whether this call read a family afresh (not all as the last call read them).
    moved: bool,
    /// The catalog's size at the last call that gave arrays.
    given_size: usize,
}

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
        self.held.clear();
        self.plain.clear();
        self.moved = false;
        let found = self.fill(py, families, index);
        // The next call replays this one's samples (as far as it got).
        std::mem::swap(&mut self.previous, &mut self.current);
        // Every family as the last call read it (none of them gone), the same samples
        // given as tuples, the same catalog: the last arrays, without making them.
        let same = matches!(found, Ok(true))
            && !self.moved
            && self.read.is_empty()
            && self.plain == self.plain_before
            && self.given_size == size;
        if let (true, Some((_, last_values, last_present))) = (same, &self.given) {
            let arrays = (last_values.bind(py).clone(), last_present.bind(py).clone());
            self.keep_held();
            std::mem::swap(&mut self.read, &mut self.reading);
            return Ok(Some(arrays));
        }
        let mut values = vec![0f64; size];
        let mut present = vec![0u8; size];
        // Samples given as tuples go last, where every caller lists them: after the
        // registry's families come its overflow family, collectors and the buffer's.
        let placed = found.map(|found| {
            found
                && self.put_held((&mut values, &mut present))
                && self.plain.iter().all(|&(id, bits)| {
                    match (values.get_mut(id), present.get_mut(id)) {
                        (Some(to), Some(flag)) => {
                            *to = f64::from_bits(bits);
                            *flag = 1;
                            true
                        }
                        _ => false,
                    }
                })
        });
        if !matches!(placed, Ok(true)) {
            // Bits this call took cleared changes it did not keep: read everything next.
            self.held.clear();
            self.read.clear();
            return placed.map(|_| None);
        }
        self.keep_held();
        std::mem::swap(&mut self.read, &mut self.reading);
        std::mem::swap(&mut self.plain, &mut self.plain_before);
        self.given_size = size;
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
    /// Read `families` into `held` (those in cells) and `plain` (samples given as
    /// tuples); false when a sample has no id yet.
    fn fill(
        &mut self,
        py: Python<'_>,
        families: &Bound<'_, PyAny>,
        index: &Bound<'_, PyDict>,
    ) -> PyResult<bool> {
        for family in families.try_iter()? {
            let samples = family?.getattr(intern!(py, "samples"))?;
            if let Ok(series) = samples.cast::<CounterSeries>() {
                if !self.counter_family(series.get(), index)? {
                    return Ok(false);
                }
                continue;
            }
            if let Ok(series) = samples.cast::<HistogramSeries>() {
                if !self.histogram_family(series.get(), index)? {
                    return Ok(false);
                }
                continue;
            }
            for sample in samples.try_iter()? {
                let sample = sample?;
                let sample = sample.cast::<PyTuple>()?;
                let (name, labels) = (sample.get_item(0)?, sample.get_item(1)?);
                let name = name.cast::<PyString>()?;
                let Some(id) = self.id(py, name, &labels, index)? else {
                    return Ok(false);
                };
                let value = sample.get_item(2)?.extract::<f64>()?;
                self.plain.push((id, value.to_bits()));
            }
        }
        Ok(true)
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
