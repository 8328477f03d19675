//! Label pairs: checked, rendered once and replayed for the samples that repeat them.

use std::borrow::Cow;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::super::objects::{repr, type_name, unpack};
use super::Reader;
use crate::errors::Error;
use crate::prometheus::is_label_name;

impl Reader<'_> {
    /// Check and push a sample's labels, and record them for the next call.
    pub(super) fn labels(
        &mut self,
        labels: &Bound<'_, PyAny>,
        tuple: Option<&Bound<'_, PyTuple>>,
        sample_name: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let read = self.read_labels(labels, tuple, sample_name);
        if read.is_err() {
            // Python looks the labels up in a dict before checking any pair: if they
            // are unhashable, that is the error it raises.
            labels.hash()?;
        }
        let reusable = read?;
        if let Some(replay) = &mut self.replay {
            let labels = tuple.filter(|_| reusable);
            replay.record(labels, self.exposition.rendered_labels());
        }
        Ok(())
    }

    /// Check and push each pair; returns whether the rendering may be replayed: every pair
    /// a `(str, str)` tuple, without lone surrogates.
    pub(super) fn read_labels(
        &mut self,
        labels: &Bound<'_, PyAny>,
        tuple: Option<&Bound<'_, PyTuple>>,
        sample_name: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let mut cacheable = true;
        if let Some(tuple) = tuple {
            for pair in tuple.iter() {
                cacheable &= self.label(&pair, sample_name)?;
            }
        } else {
            labels.hash()?;
            for pair in labels.try_iter()? {
                self.label(&pair?, sample_name)?;
            }
            cacheable = false;
        }
        Ok(cacheable)
    }

    /// Check and push one pair; returns whether it was a `(str, str)` tuple of valid text.
    pub(super) fn label(
        &mut self,
        pair: &Bound<'_, PyAny>,
        sample_name: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let exact = pair.is_exact_instance_of::<PyTuple>();
        let pair = unpack(pair, 2)?;
        let label = pair.get_borrowed_item(0)?;
        let label_text = label.cast::<PyString>().ok();
        let name = match label_text.as_ref().map(|text| text.to_str()) {
            Some(Ok(name)) if is_label_name(name.as_bytes()) => name,
            _ => {
                let (label, sample) = (repr(&label)?, repr(sample_name)?);
                return Err(Error::InvalidLabelName { label, sample }.into());
            }
        };
        let value = pair.get_borrowed_item(1)?;
        let Ok(value) = value.cast_exact::<PyString>() else {
            let (label, sample) = (repr(&label)?, repr(sample_name)?);
            let type_name = type_name(&value)?;
            return Err(Error::LabelValueNotText {
                label,
                sample,
                type_name,
            }
            .into());
        };
        let surrogates = self.surrogates;
        let text = self.text(&value)?;
        self.exposition.push_label(name.as_bytes(), &text);
        let exact_name = label.is_exact_instance_of::<PyString>();
        Ok(exact && exact_name && self.surrogates == surrogates)
    }

    /// A str's UTF-8 bytes. Lone surrogates, which UTF-8 cannot hold, come in their
    /// `surrogatepass` form and are noted, so the caller can fail as Python does.
    pub(super) fn text<'a>(&mut self, text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
        if let Ok(text) = text.to_str() {
            return Ok(Cow::Borrowed(text.as_bytes()));
        }
        self.surrogates = true;
        let py = text.py();
        let bytes = text.call_method1(intern!(py, "encode"), ("utf-8", "surrogatepass"))?;
        Ok(Cow::Owned(
            bytes.cast_into::<PyBytes>()?.as_bytes().to_vec(),
        ))
    }
}
