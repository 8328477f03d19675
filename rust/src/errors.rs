//! Every way our own checks refuse input, and its one conversion into a Python exception.
//!
//! Messages are the pure-Python encoders' own, word for word. Fields holding a name or
//! value hold its Python `repr`, already rendered. Failures that Python itself raises
//! while we read its objects (`AttributeError`, `OverflowError`, `UnicodeEncodeError`)
//! are passed through as they are, not wrapped here; unpacking raises the exception
//! class Python's unpacking raises, in our own words (`py::objects::unpack`).

use std::fmt;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::PyErr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidMetricName {
        name: String,
    },
    UnknownMetricType {
        kind: String,
        name: String,
    },
    HelpNotText {
        name: String,
    },
    ForeignSample {
        sample: String,
        family: String,
    },
    InvalidLabelName {
        label: String,
        sample: String,
    },
    LabelValueNotText {
        label: String,
        sample: String,
        type_name: String,
    },
    ValueNotFloat {
        sample: String,
        value: String,
    },
    TimestampNotNumber {
        type_name: String,
    },
    TimestampNotFinite {
        timestamp: String,
    },
    TimestampOutOfRange {
        timestamp: String,
    },
    AttributesNotText {
        type_name: String,
    },
    FieldNotText {
        field: &'static str,
        type_name: String,
    },
    IdNotInt {
        type_name: String,
    },
}

impl Error {
    /// Whether Python raises this as `TypeError` (the rest are `ValueError`).
    fn is_type_error(&self) -> bool {
        matches!(
            self,
            Self::HelpNotText { .. }
                | Self::LabelValueNotText { .. }
                | Self::ValueNotFloat { .. }
                | Self::TimestampNotNumber { .. }
                | Self::AttributesNotText { .. }
                | Self::FieldNotText { .. }
                | Self::IdNotInt { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMetricName { name } => write!(f, "invalid metric name {name}"),
            Self::UnknownMetricType { kind, name } => {
                write!(f, "unknown metric type {kind} for {name}")
            }
            Self::HelpNotText { name } => write!(f, "help of {name} must be a str"),
            Self::ForeignSample { sample, family } => {
                write!(f, "sample {sample} does not belong to family {family}")
            }
            Self::InvalidLabelName { label, sample } => {
                write!(f, "invalid label name {label} on {sample}")
            }
            Self::LabelValueNotText {
                label,
                sample,
                type_name,
            } => write!(
                f,
                "label {label} of {sample} must be a str, got {type_name}"
            ),
            Self::ValueNotFloat { sample, value } => {
                write!(f, "value of {sample} must be a float, got {value}")
            }
            Self::TimestampNotNumber { type_name } => {
                write!(f, "timestamp must be a number, got {type_name}")
            }
            Self::TimestampNotFinite { timestamp } => {
                write!(f, "timestamp {timestamp} is not a finite number")
            }
            Self::TimestampOutOfRange { timestamp } => {
                write!(f, "timestamp {timestamp} is outside years 1-9999")
            }
            Self::AttributesNotText { type_name } => {
                write!(f, "attributes must be JSON text, got {type_name}")
            }
            Self::FieldNotText { field, type_name } => {
                write!(f, "{field} must be a str, got {type_name}")
            }
            Self::IdNotInt { type_name } => write!(f, "id must be an int, got {type_name}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for PyErr {
    fn from(error: Error) -> Self {
        if error.is_type_error() {
            PyTypeError::new_err(error.to_string())
        } else {
            PyValueError::new_err(error.to_string())
        }
    }
}
