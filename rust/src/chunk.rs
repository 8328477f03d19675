//! Runs of sample lines rendered by one scrape and kept for the next.
//!
//! A counter family's label sets rarely change between scrapes, and most of its values
//! do not either. A [`Chunk`] keeps a run of its rendered lines with the value each
//! line shows: a scrape that reads the same values reuses the lines, one that reads
//! new ones rewrites only those values (copying the rest), and the run's deflated
//! bytes are kept with it for gzip bodies. The values are read afresh at every scrape,
//! so a kept line never shows a value the scrape did not read.

use std::sync::OnceLock;

use crate::fmt::write_value;
use crate::gzip::{deflate_run, Deflated};

/// Sample lines, each `name{labels} value\n`, with the values they show.
#[derive(Debug)]
pub struct Chunk {
    text: Vec<u8>,
    /// Where each line ends in `text` (just past its newline).
    ends: Vec<usize>,
    /// Each line's value, as bits: a value is the same only if it renders the same.
    values: Vec<u64>,
    /// Whether some text holds lone surrogates (the encode must then fail as Python's).
    surrogates: bool,
    deflated: OnceLock<Deflated>,
}

impl Chunk {
    /// The lines in `text`, showing `values` in order (one line per value).
    #[must_use]
    pub fn new(text: Vec<u8>, values: &[f64], surrogates: bool) -> Self {
        let ends: Vec<usize> = text
            .iter()
            .enumerate()
            .filter(|&(_, &byte)| byte == b'\n')
            .map(|(at, _)| at + 1)
            .collect();
        debug_assert_eq!(ends.len(), values.len(), "one line per value");
        Self {
            text,
            ends,
            values: values.iter().map(|value| value.to_bits()).collect(),
            surrogates,
            deflated: OnceLock::new(),
        }
    }

    /// The lines.
    #[must_use]
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Whether some text holds lone surrogates.
    #[must_use]
    pub fn surrogates(&self) -> bool {
        self.surrogates
    }

    /// Whether the lines show exactly `values`.
    #[must_use]
    pub fn shows(&self, values: &[f64]) -> bool {
        self.values.len() == values.len()
            && self
                .values
                .iter()
                .zip(values)
                .all(|(&kept, value)| kept == value.to_bits())
    }

    /// The same lines showing `values` instead (as many as there are lines): runs of
    /// unchanged lines are copied, changed values written anew.
    #[must_use]
    pub fn with_values(&self, values: &[f64]) -> Self {
        debug_assert_eq!(values.len(), self.values.len(), "one value per line");
        let mut text = Vec::with_capacity(self.text.len() + 64);
        let mut ends = Vec::with_capacity(self.ends.len());
        let mut copied = 0;
        let mut start = 0;
        for ((&end, &kept), value) in self.ends.iter().zip(&self.values).zip(values) {
            if kept != value.to_bits() {
                // The value is the line's last word: labels may hold spaces, values not.
                let line = &self.text[start..end];
                let value_at = start + line.iter().rposition(|&b| b == b' ').map_or(0, |at| at + 1);
                text.extend_from_slice(&self.text[copied..value_at]);
                write_value(&mut text, *value);
                text.push(b'\n');
                copied = end;
            }
            ends.push(end + text.len() - copied);
            start = end;
        }
        text.extend_from_slice(&self.text[copied..]);
        Self {
            text,
            ends,
            values: values.iter().map(|value| value.to_bits()).collect(),
            surrogates: self.surrogates,
            deflated: OnceLock::new(),
        }
    }

    /// The lines as raw deflate ending in a sync flush, made once and kept.
    pub fn deflated(&self) -> &Deflated {
        self.deflated.get_or_init(|| deflate_run(&self.text))
    }

    /// Whether the deflated bytes are made already.
    #[must_use]
    pub fn is_deflated(&self) -> bool {
        self.deflated.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(values: &[f64]) -> Vec<u8> {
        let mut text = Vec::new();
        for (i, value) in values.iter().enumerate() {
            text.extend_from_slice(format!("c_total{{path=\"/a b/{i}\",x=\" \"}} ").as_bytes());
            write_value(&mut text, *value);
            text.push(b'\n');
        }
        text
    }

    #[test]
    fn new_values_rewrite_their_lines_only() {
        let before = [1.0, 2.5, f64::NAN, 0.0, 1e21, -0.0, 7.0];
        let chunk = Chunk::new(lines(&before), &before, false);
        assert!(chunk.shows(&before));
        let cases: [&[f64]; 4] = [
            &[1.0, 2.5, f64::NAN, 0.0, 1e21, -0.0, 7.0],
            &[2.0, 2.5, f64::INFINITY, -0.0, 1e21, 0.0, 123_456_789.125],
            &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
            &[1.0, 2.5, f64::NAN, 0.0, 1e21, -0.0, 8.0],
        ];
        for after in cases {
            let patched = chunk.with_values(after);
            assert_eq!(patched.text(), lines(after).as_slice());
            assert!(patched.shows(after));
            // Patched again: its line ends moved with the values' lengths.
            let back = patched.with_values(&before);
            assert_eq!(back.text(), lines(&before).as_slice());
        }
        assert!(!chunk.shows(&[1.0]));
    }

    #[test]
    fn lines_without_labels_are_rewritten_too() {
        let chunk = Chunk::new(b"up 1\nup 2\n".to_vec(), &[1.0, 2.0], false);
        assert_eq!(chunk.with_values(&[3.0, 2.0]).text(), b"up 3\nup 2\n");
    }
}
