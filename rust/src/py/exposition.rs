//! Reading metric families: objects with `name`, `kind`, `help` and `samples`, each
//! sample a `(name, ((label, value), ...), value)` tuple.

use std::borrow::Cow;
use std::sync::MutexGuard;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::cells::{series_cell, CounterSeries};
use super::histogram::{bucket_exemplar, read_cell, HistogramSeries};
use super::labels::LabelReplay;
use super::objects::{repr, unpack};
use super::rendered::Rendered;
use super::series::SummedSeries;
use crate::errors::Error;
use crate::prometheus::{is_metric_name, Exposition, Format, Kind};

mod exemplars;
use exemplars::exemplars_of;
mod kept;
mod pairs;
mod source;

/// Read `families` into `exposition`, checking them as `prometheus.py` does, in its
/// order; exemplars only for OpenMetrics, the one format that has them. Returns
/// whether some text holds lone surrogates.
pub fn read_families(
    families: &Bound<'_, PyAny>,
    exposition: &mut Exposition,
    format: Format,
) -> PyResult<bool> {
    let mut reader = Reader {
        exposition,
        surrogates: false,
        replay: LabelReplay::lock(),
        exemplars: format == Format::OpenMetrics,
        // Text only: OpenMetrics lines carry exemplars, which change without the value.
        rendered: if format == Format::Text {
            Rendered::lock()
        } else {
            None
        },
    };
    let read = families
        .try_iter()
        .and_then(|mut families| families.try_for_each(|family| reader.family(&family?)));
    if let Some(replay) = &mut reader.replay {
        replay.end_call();
    }
    if let Some(rendered) = &mut reader.rendered {
        rendered.end_call();
    }
    read.map(|()| reader.surrogates)
}

struct Reader<'a> {
    exposition: &'a mut Exposition,
    surrogates: bool,
    replay: Option<MutexGuard<'static, LabelReplay>>,
    /// Whether to read exemplars (OpenMetrics).
    exemplars: bool,
    /// Counter families' lines kept from earlier calls (text 0.0.4).
    rendered: Option<MutexGuard<'static, Rendered>>,
}

impl Reader<'_> {
    fn family(&mut self, family: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = family.py();
        let name_object = family.getattr(intern!(py, "name"))?;
        let name = match name_object.cast::<PyString>().map(PyStringMethods::to_str) {
            Ok(Ok(name)) if is_metric_name(name.as_bytes()) => name,
            _ => {
                let name = repr(&name_object)?;
                return Err(Error::InvalidMetricName { name }.into());
            }
        };
        let kind_object = family.getattr(intern!(py, "kind"))?;
        let kind = if let Ok(kind) = kind_object.cast::<PyString>() {
            kind.to_str()
                .ok()
                .and_then(|kind| Kind::parse(kind.as_bytes()))
        } else {
            // Python tests `kind in KINDS`, a frozenset: an unhashable kind fails there.
            kind_object.hash()?;
            None
        };
        let Some(kind) = kind else {
            let (kind, name) = (repr(&kind_object)?, repr(&name_object)?);
            return Err(Error::UnknownMetricType { kind, name }.into());
        };
        let help_object = family.getattr(intern!(py, "help"))?;
        let Ok(help) = help_object.cast::<PyString>() else {
            let name = repr(&name_object)?;
            return Err(Error::HelpNotText { name }.into());
        };
        let help = self.text(help)?;
        self.exposition.push_family(name.as_bytes(), kind, &help);
        let samples = family.getattr(intern!(py, "samples"))?;
        if let Ok(series) = samples.cast_exact::<CounterSeries>() {
            return self.counter_series(series.get(), (&name_object, name, kind));
        }
        if let Ok(series) = samples.cast_exact::<HistogramSeries>() {
            if self.rendered.is_some() {
                return self.kept_histogram_series(series.get(), (&name_object, name, kind));
            }
            return self.histogram_series(series.get(), (&name_object, name, kind));
        }
        if let Ok(series) = samples.cast_exact::<SummedSeries>() {
            if self.rendered.is_some() {
                return self.kept_summed_series(series, (&name_object, name, kind));
            }
            let exemplars = if self.exemplars {
                exemplars_of(family)?
            } else {
                None
            };
            return self.summed_series(
                series.get(),
                (&name_object, name, kind),
                exemplars.as_ref(),
            );
        }
        let exemplars = if self.exemplars {
            exemplars_of(family)?
        } else {
            None
        };
        let exemplars = exemplars.as_ref();
        if let Ok(list) = samples.cast_exact::<PyList>() {
            for sample in list.iter() {
                self.sample(&sample, (&name_object, name, kind), exemplars)?;
            }
        } else {
            for sample in samples.try_iter()? {
                self.sample(&sample?, (&name_object, name, kind), exemplars)?;
            }
        }
        Ok(())
    }

    /// Read a counter or gauge family's series straight from their cells: the labels
    /// as [`Self::sample`] reads them, one sample name for all, checked once.
    fn counter_series(
        &mut self,
        series: &CounterSeries,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<()> {
        let py = family.0.py();
        let name_object = series.sample.bind(py);
        if !matches!(family.2, Kind::Counter | Kind::Gauge) {
            let (sample, family) = (repr(name_object)?, repr(family.0)?);
            return Err(Error::ForeignSample { sample, family }.into());
        }
        let name = self.checked_name(name_object, family)?.into_owned();
        if self.rendered.is_some() {
            return self.kept_counter_series(series, &name, name_object);
        }
        let cells = series.cells.bind(py);
        for (labels, cell) in series.labels.bind(py).iter().zip(cells.iter()) {
            let labelled = self.sample_labels(&labels, name_object)?;
            let (value, counter) = series_cell(&cell)?;
            self.exposition.push_sample(&name, labelled, value);
            let Some(counter) = counter.filter(|_| self.exemplars) else {
                continue;
            };
            if let Some(exemplar) = counter.exemplar.latest(py, 0)? {
                self.exemplar(&exemplar, name_object)?;
            }
        }
        Ok(())
    }

    /// Read a histogram family's series straight from their cells, as
    /// [`Self::sample`] reads the tuples `histogram_samples` makes: each bucket, then the
    /// count and the sum; sample names checked once.
    fn histogram_series(
        &mut self,
        series: &HistogramSeries,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<()> {
        let py = family.0.py();
        let (names, checked) = self.histogram_names(series, family)?;
        let [bucket, count, sum] = &names;
        for (labels, buckets, cell) in series.series(py) {
            let (histogram, cumulative, total) = read_cell(&cell, &buckets)?;
            for (index, (pairs, running)) in buckets.try_iter()?.zip(&cumulative).enumerate() {
                let labelled = self.sample_labels(&pairs?, bucket.as_any())?;
                // Python's float(int): exact below 2**53, rounded to nearest above.
                #[allow(clippy::cast_precision_loss)]
                self.exposition
                    .push_sample(&checked[0], labelled, *running as f64);
                if self.exemplars {
                    if let Some(exemplar) = bucket_exemplar(py, histogram, index)? {
                        self.exemplar(&exemplar, bucket.as_any())?;
                    }
                }
            }
            let observed = cumulative.last().copied().unwrap_or(0);
            let labelled = self.sample_labels(&labels, count.as_any())?;
            #[allow(clippy::cast_precision_loss)]
            self.exposition
                .push_sample(&checked[1], labelled, observed as f64);
            let labelled = self.sample_labels(&labels, sum.as_any())?;
            self.exposition.push_sample(&checked[2], labelled, total);
        }
        Ok(())
    }

    /// A histogram family's `_bucket`, `_count` and `_sum` names, and the same checked
    /// to belong to `family`, as text.
    fn histogram_names<'py>(
        &mut self,
        series: &HistogramSeries,
        family: (&Bound<'py, PyAny>, &str, Kind),
    ) -> PyResult<HistogramNames<'py>> {
        let names = series.sample_names(family.0.py())?;
        let mut checked: [Vec<u8>; 3] = Default::default();
        for (text, name) in checked.iter_mut().zip(&names) {
            *text = self.checked_name(name.as_any(), family)?.into_owned();
        }
        Ok((names, checked))
    }

    /// Push a sample's labels, replayed when they are last call's same tuple; returns
    /// whether there were any.
    fn sample_labels(
        &mut self,
        labels: &Bound<'_, PyAny>,
        name_object: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        // Replayed first, by address alone: a hit does not even read the tuple.
        let replayed = self
            .replay
            .as_mut()
            .and_then(|replay| replay.replay(labels));
        if let Some(rendered) = replayed {
            self.exposition.push_rendered_labels(rendered);
            return Ok(true);
        }
        let tuple = labels.cast_exact::<PyTuple>().ok();
        let labelled = match &tuple {
            Some(tuple) => !tuple.is_empty(),
            None => labels.is_truthy()?,
        };
        if labelled {
            self.labels(labels, tuple, name_object)?;
        }
        Ok(labelled)
    }

    /// Read one sample of the family named `family` (as a Python object and as text).
    fn sample(
        &mut self,
        sample: &Bound<'_, PyAny>,
        family: (&Bound<'_, PyAny>, &str, Kind),
        exemplars: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let parts = unpack(sample, 3)?;
        let (name, labels) = (parts.get_item(0)?, parts.get_item(1)?);
        self.sample_of(&name, &labels, &parts.get_item(2)?, family, exemplars)
    }

    /// Read a summed family's series as [`Self::sample`] reads its tuples; a name is
    /// checked once for a run of samples sharing its object (the catalog interns them).
    fn summed_series(
        &mut self,
        series: &SummedSeries,
        family: (&Bound<'_, PyAny>, &str, Kind),
        exemplars: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let py = family.0.py();
        let (names, labels) = (series.names.bind(py), series.labels.bind(py));
        let mut checked: (usize, Vec<u8>) = (0, Vec::new());
        for (id, total) in &series.series {
            let (name, labels) = (names.get_item(*id)?, labels.get_item(*id)?);
            if checked.0 != name.as_ptr() as usize {
                checked = (
                    name.as_ptr() as usize,
                    self.checked_name(&name, family)?.into_owned(),
                );
            }
            let labelled = self.sample_labels(&labels, &name)?;
            self.push_value(&checked.1, labelled, *total, (&name, &labels), exemplars)?;
        }
        Ok(())
    }

    /// One sample given as its three parts.
    fn sample_of(
        &mut self,
        name_object: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        family: (&Bound<'_, PyAny>, &str, Kind),
        exemplars: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let name = self.checked_name(name_object, family)?;
        let labelled = self.sample_labels(labels, name_object)?;
        let value = if let Ok(value) = value.cast_exact::<PyFloat>() {
            value.value()
        } else if value.is_exact_instance_of::<PyInt>() {
            // Python's float(int): OverflowError beyond the float range, the same here.
            value.extract::<f64>()?
        } else {
            let (sample, value) = (repr(name_object)?, repr(value)?);
            return Err(Error::ValueNotFloat { sample, value }.into());
        };
        self.push_value(&name, labelled, value, (name_object, labels), exemplars)
    }

    /// A sample's name as text, checked to belong to `family`.
    fn checked_name<'a>(
        &mut self,
        name_object: &'a Bound<'_, PyAny>,
        family: (&Bound<'_, PyAny>, &str, Kind),
    ) -> PyResult<Cow<'a, [u8]>> {
        let py = name_object.py();
        let (family_name, prefix, kind) = family;
        let name = if let Ok(name) = name_object.cast::<PyString>() {
            self.text(name)?
        } else {
            // Not a str: Python calls its `startswith`, which raises or answers.
            let starts = name_object.call_method1(intern!(py, "startswith"), (family_name,))?;
            Cow::Owned(if starts.is_truthy()? {
                name_object.str()?.to_string_lossy().as_bytes().to_vec()
            } else {
                Vec::new()
            })
        };
        // The family name is checked ASCII, so comparing bytes compares characters.
        if !name.starts_with(prefix.as_bytes()) || !kind.allows_suffix(&name[prefix.len()..]) {
            let (sample, family) = (repr(name_object)?, repr(family_name)?);
            return Err(Error::ForeignSample { sample, family }.into());
        }
        Ok(name)
    }

    /// Push a checked sample and its exemplar, if `exemplars` has one for it.
    fn push_value(
        &mut self,
        name: &[u8],
        labelled: bool,
        value: f64,
        (name_object, labels): (&Bound<'_, PyAny>, &Bound<'_, PyAny>),
        exemplars: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.exposition.push_sample(name, labelled, value);
        if let Some(exemplars) = exemplars {
            let key = PyTuple::new(name_object.py(), [name_object, labels])?;
            if let Some(exemplar) = exemplars.get_item(key)? {
                self.exemplar(&exemplar, name_object)?;
            }
        }
        Ok(())
    }
}

/// A histogram family's three sample names, as objects and checked as text.
type HistogramNames<'py> = ([Bound<'py, PyString>; 3], [Vec<u8>; 3]);
