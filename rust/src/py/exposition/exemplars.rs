//! Exemplars, read for OpenMetrics only: a family's, and each sample's check.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString};

use super::super::objects::{repr, type_name, unpack};
use super::Reader;
use crate::prometheus::is_label_name;

impl Reader<'_> {
    /// Check and push the exemplar `(labels, value, timestamp)` of the sample pushed
    /// last, as `prometheus._render_exemplar` does.
    pub(super) fn exemplar(
        &mut self,
        exemplar: &Bound<'_, PyAny>,
        sample: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let parts = unpack(exemplar, 3)?;
        let mut texts = Vec::new();
        for pair in parts.get_borrowed_item(0)?.try_iter()? {
            let pair = unpack(&pair?, 2)?;
            let (label, text) = (pair.get_item(0)?, pair.get_item(1)?);
            let name = label.cast::<PyString>().ok().and_then(|l| l.to_str().ok());
            if !name.is_some_and(|name| is_label_name(name.as_bytes())) {
                let (label, sample) = (repr(&label)?, repr(sample)?);
                return Err(PyValueError::new_err(format!(
                    "invalid exemplar label name {label} on {sample}"
                )));
            }
            let Ok(text) = text.cast::<PyString>() else {
                let (label, sample, type_name) = (repr(&label)?, repr(sample)?, type_name(&text)?);
                return Err(PyTypeError::new_err(format!(
                    "exemplar label {label} of {sample} must be a str, got {type_name}"
                )));
            };
            texts.push((
                label.cast::<PyString>()?.to_str()?.to_owned(),
                self.text(text)?.into_owned(),
            ));
        }
        let value = exemplar_number(&parts.get_item(1)?, "value", sample)?;
        let timestamp_object = parts.get_item(2)?;
        let timestamp = exemplar_number(&timestamp_object, "timestamp", sample)?;
        if !timestamp.is_finite() {
            let (sample, timestamp) = (repr(sample)?, repr(&timestamp_object)?);
            return Err(PyValueError::new_err(format!(
                "exemplar timestamp of {sample} must be finite, got {timestamp}"
            )));
        }
        let pairs: Vec<(&[u8], &[u8])> = texts
            .iter()
            .map(|(n, t)| (n.as_bytes(), t.as_slice()))
            .collect();
        self.exposition.push_exemplar(&pairs, value, timestamp);
        Ok(())
    }
}

/// A family's exemplars by `(sample, labels)`, when it has any (family-like objects
/// without the attribute have none).
pub(super) fn exemplars_of<'py>(
    family: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let py = family.py();
    if !family.hasattr(intern!(py, "exemplars"))? {
        return Ok(None);
    }
    let exemplars = family.getattr(intern!(py, "exemplars"))?;
    if exemplars.is_none() {
        return Ok(None);
    }
    let exemplars = exemplars.cast_into::<PyDict>()?;
    Ok((!exemplars.is_empty()).then_some(exemplars))
}

/// An exemplar's value or timestamp: a plain `float` or `int`.
fn exemplar_number(
    number: &Bound<'_, PyAny>,
    what: &str,
    sample: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    if let Ok(float) = number.cast_exact::<PyFloat>() {
        return Ok(float.value());
    }
    if number.is_exact_instance_of::<PyInt>() {
        return number.extract::<f64>();
    }
    let (sample, number) = (repr(sample)?, repr(number)?);
    Err(PyTypeError::new_err(format!(
        "exemplar {what} of {sample} must be a float, got {number}"
    )))
}
