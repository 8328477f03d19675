//! The formats, the metric kinds, and the rules for metric and label names.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    /// The kind named `name`, if it is one the encoders know.
    #[must_use]
    pub fn parse(name: &[u8]) -> Option<Self> {
        match name {
            b"counter" => Some(Self::Counter),
            b"gauge" => Some(Self::Gauge),
            b"histogram" => Some(Self::Histogram),
            b"summary" => Some(Self::Summary),
            _ => None,
        }
    }

    /// Whether a sample named family name + `suffix` belongs to a family of this kind.
    #[must_use]
    pub fn allows_suffix(self, suffix: &[u8]) -> bool {
        match self {
            Self::Counter => suffix == b"_total",
            Self::Gauge => suffix.is_empty(),
            Self::Histogram => matches!(suffix, b"_bucket" | b"_count" | b"_sum"),
            Self::Summary => matches!(suffix, b"_count" | b"_sum"),
        }
    }

    pub(super) fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Counter => b"counter",
            Self::Gauge => b"gauge",
            Self::Histogram => b"histogram",
            Self::Summary => b"summary",
        }
    }
}

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
#[must_use]
pub fn is_metric_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || b"_:".contains(first))
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"_:".contains(b))
        }
        None => false,
    }
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
#[must_use]
pub fn is_label_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        None => false,
    }
}
