//! Where a kept family's lines come from (see `kept`): its series, their values and the
//! objects the lines are rendered from, a run at a time.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::super::cells::cell_values;
use super::super::histogram::push_values;
use super::super::objects::{item_address, item_addresses};
use super::super::rendered::CHUNK;
use super::super::series::SummedSeries;
use crate::prometheus::Kind;

/// Where a kept family's samples come from.
pub(super) enum Source<'a, 'py> {
    /// A counter or gauge family's cells: one sample name, one label tuple per cell.
    Cells {
        labels: &'a Bound<'py, PyList>,
        cells: &'a Bound<'py, PyList>,
        name: &'a [u8],
        name_object: &'a Bound<'py, PyAny>,
    },
    /// A histogram family's cells: per series, a line per bucket, the count, the sum.
    Histograms {
        labels: &'a Bound<'py, PyList>,
        buckets: &'a Bound<'py, PyList>,
        cells: &'a Bound<'py, PyList>,
        /// The checked `_bucket`, `_count` and `_sum` names, and their objects.
        names: &'a [Vec<u8>; 3],
        objects: &'a [Bound<'py, PyString>; 3],
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
    /// How many series there are.
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Cells { labels, cells, .. } => labels.len().min(cells.len()),
            Self::Histograms {
                labels,
                buckets,
                cells,
                ..
            } => labels.len().min(buckets.len()).min(cells.len()),
            Self::Summed { series, .. } => series.series.len(),
        }
    }

    /// Series per run: about [`CHUNK`] lines.
    pub(super) fn run(&self) -> PyResult<usize> {
        let Self::Histograms { buckets, .. } = self else {
            return Ok(CHUNK);
        };
        let lines = if buckets.is_empty() {
            2
        } else {
            buckets.get_item(0)?.len()? + 2
        };
        Ok((CHUNK / lines).max(1))
    }

    /// The addresses of the objects the lines of series `start..end` are rendered from,
    /// as [`Self::read`] gives them, without reading a value; false for a source whose
    /// values are not told apart from their objects (summed series).
    pub(super) fn addresses(&self, start: usize, end: usize, addresses: &mut Vec<usize>) -> bool {
        match self {
            Self::Cells { labels, .. } => item_addresses(labels, start..end, addresses),
            Self::Histograms {
                labels, buckets, ..
            } => {
                for i in start..end {
                    let (Some(tuple), Ok(pairs)) = (item_address(labels, i), buckets.get_item(i))
                    else {
                        break;
                    };
                    addresses.push(tuple);
                    match pairs.cast::<PyList>() {
                        Ok(pairs) => item_addresses(pairs, 0..pairs.len(), addresses),
                        Err(_) => addresses.push(0),
                    }
                }
            }
            Self::Summed { .. } => return false,
        }
        true
    }

    /// The values of the lines of series `start..end` and the addresses of the objects
    /// they are rendered from; returns how many series were read (as many as are still
    /// there).
    pub(super) fn read(
        &self,
        start: usize,
        end: usize,
        values: &mut Vec<f64>,
        addresses: &mut Vec<usize>,
    ) -> PyResult<usize> {
        match self {
            Self::Cells { labels, cells, .. } => {
                cell_values(cells, start..end, values)?;
                item_addresses(labels, start..end, addresses);
                // Lists can only shrink if Python code ran (rendering the run before).
                let read = values.len().min(addresses.len());
                values.truncate(read);
                addresses.truncate(read);
                Ok(read)
            }
            Self::Histograms {
                labels,
                buckets,
                cells,
                ..
            } => {
                for i in start..end {
                    let (Some(tuple), Ok(pairs), Ok(cell)) = (
                        item_address(labels, i),
                        buckets.get_item(i),
                        cells.get_item(i),
                    ) else {
                        return Ok(i - start);
                    };
                    push_values(&cell, &pairs, values)?;
                    addresses.push(tuple);
                    match pairs.cast::<PyList>() {
                        Ok(pairs) => item_addresses(pairs, 0..pairs.len(), addresses),
                        Err(_) => addresses.push(0), // never kept (see `push_lines`)
                    }
                }
                Ok(end - start)
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
                Ok(values.len())
            }
        }
    }
}
