//! Prometheus text 0.0.4 and OpenMetrics 1.0.0, from metric families held as plain data.
//!
//! Both formats share the sample lines; they differ in the family name a counter's
//! `# HELP`/`# TYPE` carry, in HELP escaping, and in OpenMetrics' closing `# EOF`.
//! Text is handled as bytes: a string with lone surrogates arrives in its
//! `surrogatepass` encoding and goes out unchanged, so the caller can raise the error
//! Python's final `.encode()` raises, at the same position.

use std::ops::Range;
use std::sync::Arc;

use crate::chunk::Chunk;
use crate::fmt::write_value;

mod names;
mod runs;
pub use names::{is_label_name, is_metric_name, Format, Kind};
pub use runs::{Runs, RunsKey};

/// Where a piece of text sits in [`Exposition`]'s one buffer.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug)]
struct Family {
    name: Span,
    kind: Kind,
    help: Span,
    samples_start: usize,
    /// Its lines kept from an earlier exposition, in `Exposition::chunks`: written
    /// after its header, before its samples (a family has one or the other).
    chunks: Range<usize>,
}

#[derive(Debug)]
struct Sample {
    name: Span,
    /// The rendered label pairs, `a="x",b="y"`; `None` for a sample without a label set.
    labels: Option<Span>,
    value: f64,
    /// The rendered exemplar, ` # {a="x"} 1 1700000000.000` (OpenMetrics only).
    exemplar: Option<Span>,
}

/// Metric families, in order, with all their text in one buffer: what the writers read.
///
/// Built by pushing, in document order: a family, then for each of its samples the
/// sample's labels followed by the sample itself. Labels are escaped as they are
/// pushed, so a label set rendered once can be pushed again whole. Names are not
/// checked here; the caller checks them ([`is_metric_name`], [`is_label_name`]) as it
/// pushes, so it can report the first problem in the same order as the Python encoders.
#[derive(Debug, Default)]
pub struct Exposition {
    text: Vec<u8>,
    /// Where the labels pushed for the next sample start in `text`.
    labels_start: usize,
    families: Vec<Family>,
    samples: Vec<Sample>,
    /// Bytes of sample names written more than once but kept once.
    shared_names: usize,
    chunks: Vec<Arc<Chunk>>,
    chunk_bytes: usize,
}

impl Exposition {
    /// Forget everything pushed, keeping the memory for the next exposition.
    pub fn clear(&mut self) {
        self.text.clear();
        self.labels_start = 0;
        self.families.clear();
        self.samples.clear();
        self.shared_names = 0;
        self.chunks.clear();
        self.chunk_bytes = 0;
    }

    /// Bytes of memory held, pushed or not.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.text.capacity()
            + self.families.capacity() * std::mem::size_of::<Family>()
            + self.samples.capacity() * std::mem::size_of::<Sample>()
            + self.chunks.capacity() * std::mem::size_of::<Arc<Chunk>>()
    }

    fn keep(&mut self, text: &[u8]) -> Span {
        let start = self.text.len();
        self.text.extend_from_slice(text);
        Span {
            start,
            end: self.text.len(),
        }
    }

    fn get(&self, span: Span) -> &[u8] {
        &self.text[span.start..span.end]
    }

    /// Start a family; the samples pushed next belong to it.
    pub fn push_family(&mut self, name: &[u8], kind: Kind, help: &[u8]) {
        let family = Family {
            name: self.keep(name),
            kind,
            help: self.keep(help),
            samples_start: self.samples.len(),
            chunks: self.chunks.len()..self.chunks.len(),
        };
        self.families.push(family);
        self.labels_start = self.text.len();
    }

    /// Add lines kept from an earlier exposition to the current family (which has no
    /// samples pushed).
    pub fn push_chunk(&mut self, chunk: Arc<Chunk>) {
        if let Some(family) = self.families.last_mut() {
            debug_assert_eq!(family.samples_start, self.samples.len());
            self.chunk_bytes += chunk.text().len();
            self.chunks.push(chunk);
            family.chunks.end = self.chunks.len();
        }
    }

    /// Whether lines kept from an earlier exposition make part of this one.
    #[must_use]
    pub fn has_chunks(&self) -> bool {
        !self.chunks.is_empty()
    }

    /// The exposition in `format` as runs, in order: text written now, and lines kept.
    #[must_use]
    pub fn runs(&self, format: Format) -> Runs<'_> {
        let mut text = Vec::with_capacity(self.text_len() - self.chunk_bytes);
        let mut runs = Vec::new();
        let mut start = 0;
        let mut at = 0;
        for family in &self.families {
            self.write_samples(&mut text, at..family.samples_start, format);
            at = family.samples_start;
            self.write_header(&mut text, family, format);
            for chunk in &self.chunks[family.chunks.clone()] {
                if start < text.len() {
                    runs.push((start..text.len(), None));
                }
                runs.push((0..0, Some(chunk)));
                start = text.len();
            }
        }
        self.write_samples(&mut text, at..self.samples.len(), format);
        if format == Format::OpenMetrics {
            text.extend_from_slice(b"# EOF\n");
        }
        if start < text.len() {
            runs.push((start..text.len(), None));
        }
        Runs { text, runs }
    }

    /// Add a label pair to the sample pushed next.
    pub fn push_label(&mut self, name: &[u8], value: &[u8]) {
        if self.text.len() > self.labels_start {
            self.text.push(b',');
        }
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(b"=\"");
        write_escaped(&mut self.text, value, true);
        self.text.push(b'"');
    }

    /// The labels pushed since the last sample, rendered: the text to give
    /// [`Exposition::push_rendered_labels`] for the same pairs another time.
    #[must_use]
    pub fn rendered_labels(&self) -> &[u8] {
        &self.text[self.labels_start..]
    }

    /// Add label pairs rendered before, as [`Exposition::rendered_labels`] gave them.
    pub fn push_rendered_labels(&mut self, rendered: &[u8]) {
        if self.text.len() > self.labels_start && !rendered.is_empty() {
            self.text.push(b',');
        }
        self.text.extend_from_slice(rendered);
    }

    /// Add a sample to the current family, with the labels pushed since the last sample.
    /// `labelled` writes a label set even if no label was pushed, as Python does for a
    /// non-empty but exhausted iterable.
    pub fn push_sample(&mut self, name: &[u8], labelled: bool, value: f64) {
        let labels = Span {
            start: self.labels_start,
            end: self.text.len(),
        };
        // Samples in a row mostly share a name: its text is kept once.
        let name = match self.samples.last() {
            Some(last) if self.get(last.name) == name => {
                self.shared_names += name.len();
                last.name
            }
            _ => self.keep(name),
        };
        let sample = Sample {
            name,
            labels: labelled.then_some(labels),
            value,
            exemplar: None,
        };
        self.samples.push(sample);
        self.labels_start = self.text.len();
    }

    /// Give the sample pushed last an exemplar: its label pairs (names already checked),
    /// value and timestamp in seconds (finite). OpenMetrics writes it; text 0.0.4 cannot.
    pub fn push_exemplar(&mut self, labels: &[(&[u8], &[u8])], value: f64, timestamp: f64) {
        let start = self.text.len();
        self.text.extend_from_slice(b" # {");
        for (index, (name, text)) in labels.iter().enumerate() {
            if index > 0 {
                self.text.push(b',');
            }
            self.text.extend_from_slice(name);
            self.text.extend_from_slice(b"=\"");
            write_escaped(&mut self.text, text, true);
            self.text.push(b'"');
        }
        self.text.extend_from_slice(b"} ");
        write_value(&mut self.text, value);
        // Milliseconds, as Python's `f"{timestamp:.3f}"` (both round correctly).
        self.text
            .extend_from_slice(format!(" {timestamp:.3}").as_bytes());
        let span = Span {
            start,
            end: self.text.len(),
        };
        if let Some(sample) = self.samples.last_mut() {
            sample.exemplar = Some(span);
        }
        self.labels_start = self.text.len();
    }

    /// How many samples have been pushed: a measure of the work left.
    #[must_use]
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample has been pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The exposition in `format`.
    #[must_use]
    pub fn encode(&self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out, format);
        out
    }

    /// Append the exposition in `format` to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>, format: Format) {
        out.reserve(self.text_len() + self.samples.len() * 16 + 8);
        self.encode_part_into(out, format, 0..self.samples.len());
    }

    /// `count` ranges of samples, in order, about equal in size, together covering every
    /// sample once: parts for [`Exposition::encode_part_into`]. Fewer when there are fewer
    /// samples; always at least one.
    #[must_use]
    pub fn split(&self, count: usize) -> Vec<Range<usize>> {
        let total = self.samples.len();
        let count = count.clamp(1, total.max(1));
        (0..count)
            .map(|i| total * i / count..total * (i + 1) / count)
            .collect()
    }

    /// Bytes of text pushed: about the size of the exposition, without the numbers.
    #[must_use]
    pub fn text_len(&self) -> usize {
        self.text.len() + self.shared_names + self.chunk_bytes
    }

    /// Append the samples in `part` (not empty, unless there are no samples at all) to
    /// `out`, each family's header before its first sample. The part that ends with the last sample also writes the families without
    /// samples after it and OpenMetrics' `# EOF`. The parts of [`Exposition::split`],
    /// concatenated in order, are the whole exposition.
    pub fn encode_part_into(&self, out: &mut Vec<u8>, format: Format, part: Range<usize>) {
        let is_last = part.end == self.samples.len();
        let bytes = self.text_len() * part.len() / self.samples.len().max(1);
        out.reserve(bytes + part.len() * 16 + 8);
        // Families that start before the part had their header written by an earlier one.
        let mut next = self
            .families
            .partition_point(|f| f.samples_start < part.start);
        let mut at = part.start;
        loop {
            let family = self.families.get(next);
            let stop = family.map_or(part.end, |f| f.samples_start.min(part.end));
            self.write_samples(out, at..stop, format);
            at = stop;
            match family {
                Some(f) if f.samples_start < part.end || is_last => {
                    self.write_header(out, f, format);
                    for chunk in &self.chunks[f.chunks.clone()] {
                        out.extend_from_slice(chunk.text());
                    }
                    next += 1;
                }
                _ => break,
            }
        }
        if is_last && format == Format::OpenMetrics {
            out.extend_from_slice(b"# EOF\n");
        }
    }

    fn write_samples(&self, out: &mut Vec<u8>, samples: Range<usize>, format: Format) {
        for sample in &self.samples[samples] {
            out.extend_from_slice(self.get(sample.name));
            if let Some(labels) = sample.labels {
                out.push(b'{');
                out.extend_from_slice(self.get(labels));
                out.push(b'}');
            }
            out.push(b' ');
            write_value(out, sample.value);
            if let Some(exemplar) = sample.exemplar.filter(|_| format == Format::OpenMetrics) {
                out.extend_from_slice(self.get(exemplar));
            }
            out.push(b'\n');
        }
    }

    fn write_header(&self, out: &mut Vec<u8>, family: &Family, format: Format) {
        let name = self.get(family.name);
        // Text 0.0.4 names a counter's family after its sample; OpenMetrics does not.
        let suffix: &[u8] = if format == Format::Text && family.kind == Kind::Counter {
            b"_total"
        } else {
            b""
        };
        let help = self.get(family.help);
        if !help.is_empty() {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name);
            out.extend_from_slice(suffix);
            out.push(b' ');
            write_escaped(out, help, format == Format::OpenMetrics);
            out.push(b'\n');
        }
        out.extend_from_slice(b"# TYPE ");
        out.extend_from_slice(name);
        out.extend_from_slice(suffix);
        out.push(b' ');
        out.extend_from_slice(family.kind.as_bytes());
        out.push(b'\n');
    }
}

/// `text` with backslash and newline escaped, and double quotes too when `quotes`
/// (label values in both formats, HELP in OpenMetrics).
fn write_escaped(out: &mut Vec<u8>, text: &[u8], quotes: bool) {
    let needs_escape = |b: u8| b == b'\\' || b == b'\n' || (quotes && b == b'"');
    let mut start = 0;
    while let Some(offset) = text[start..].iter().position(|&b| needs_escape(b)) {
        let at = start + offset;
        out.extend_from_slice(&text[start..at]);
        out.extend_from_slice(match text[at] {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            _ => b"\\\"",
        });
        start = at + 1;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests;
