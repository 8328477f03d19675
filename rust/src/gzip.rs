//! Gzip for response bodies, the way pigz does it: a large body is cut into parts that
//! are deflated on several threads at once, and the parts joined into one gzip member.
//!
//! Every part but the last ends with a sync flush, which closes its deflate blocks on a
//! byte boundary without ending the stream, so the concatenation is one valid deflate
//! stream; the trailer's CRC-32 is the parts' CRCs combined. Readers that only take a
//! single gzip member (zlib's `inflate` with gzip wrapping, as many HTTP clients use)
//! read it like any other. Runs of a body kept from one scrape to the next
//! ([`Chunk`]) keep their deflated bytes, ended by a sync flush, so a body made of them
//! deflates only what changed.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::thread;

use flate2::{Compress, Compression, FlushCompress, Status};

use crate::chunk::Chunk;

/// zlib-rs's level 1 is a different algorithm from zlib's (fixed Huffman codes, one
/// hash probe): about 2.5x as fast as zlib's level 1 on exposition text, for output
/// 30-70% larger (10,000 counters: 50 KB against 29 KB, from 566 KB). A scrape's cost
/// is the CPU of the service that answers it, while 20 KB more on the wire is nothing.
const LEVEL: u32 = 1;

/// Parts smaller than this are not worth a thread: starting one costs tens of
/// microseconds, about what deflating 128 KiB of exposition text saves.
const MIN_PART: usize = 128 << 10;

/// No more threads than this per body, however many cores there are.
const MAX_THREADS: usize = 4;

/// The gzip header: no name, no time (0), no extra flags, unknown OS (255).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// How many threads a body may use: the machine's cores, at most four.
#[must_use]
pub fn threads() -> usize {
    thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS)
}

/// How many parts a body of about `length` bytes is worth cutting into, given `threads`.
#[must_use]
pub fn parts_for(length: usize, threads: usize) -> usize {
    (length / MIN_PART).clamp(1, threads.max(1))
}

/// `data` as one gzip member, deflated on several threads when it is large enough to
/// gain from them.
#[must_use]
pub fn compress(data: &[u8]) -> Vec<u8> {
    compress_on(data, threads())
}

/// `data` as one gzip member, deflated in at most `threads` parts at once.
#[must_use]
pub fn compress_on(data: &[u8], threads: usize) -> Vec<u8> {
    let count = parts_for(data.len(), threads);
    let size = data.len().div_ceil(count);
    compress_parts(count, |i| {
        Cow::Borrowed(&data[(i * size).min(data.len())..((i + 1) * size).min(data.len())])
    })
}

/// One gzip member holding `part(0)`, `part(1)`, ... `part(count - 1)` in that order.
/// Each part is made and deflated on a thread of its own (the first on this one), so the
/// work of making the text is shared out too.
pub fn compress_parts<'a, F>(count: usize, part: F) -> Vec<u8>
where
    F: Fn(usize) -> Cow<'a, [u8]> + Sync,
{
    let count = count.max(1);
    let last = count - 1;
    let part = &part;
    let deflated: Vec<Deflated> = thread::scope(|scope| {
        // A part whose thread cannot start (the process is at its thread limit) is
        // deflated here afterwards instead: slower, never an error.
        let others: Vec<_> = (1..count)
            .map(|i| {
                let job = move || deflate(&part(i), i == last);
                (i, thread::Builder::new().spawn_scoped(scope, job).ok())
            })
            .collect();
        let mut all = vec![deflate(&part(0), last == 0)];
        for (i, handle) in others {
            all.push(match handle {
                // A panic on another thread can only come from a bug here: pass it on.
                Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => deflate(&part(i), i == last),
            });
        }
        all
    });
    member(&deflated.iter().collect::<Vec<_>>())
}

/// One gzip member holding `parts` in order, the last of them ending the deflate stream.
fn member(parts: &[&Deflated]) -> Vec<u8> {
    let length: usize = parts.iter().map(|d| d.bytes.len()).sum();
    let mut out = Vec::with_capacity(HEADER.len() + length + 8);
    out.extend_from_slice(&HEADER);
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    for part in parts {
        out.extend_from_slice(&part.bytes);
        crc.combine(&crc32fast::Hasher::new_with_initial_len(
            part.crc, part.size,
        ));
        size += part.size;
    }
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2**32, as RFC 1952 says: the truncation is the format.
    #[allow(clippy::cast_possible_truncation)]
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}

/// A run of a body: text to deflate, or text whose deflated bytes may be kept already
/// (made here if not, and kept).
pub enum Run<'a> {
    Text(&'a [u8]),
    Kept(&'a Chunk),
}

/// One gzip member holding `runs` in order. Runs not deflated yet are deflated on
/// several threads when there is enough of them to gain.
#[must_use]
pub fn compress_runs(runs: &[Run<'_>]) -> Vec<u8> {
    let todo: Vec<usize> = (0..runs.len())
        .filter(|&i| !matches!(runs[i], Run::Kept(chunk) if chunk.is_deflated()))
        .collect();
    let bytes: usize = todo.iter().map(|&i| run_text(&runs[i]).len()).sum();
    let threads = parts_for(bytes, threads());
    let mut fresh: Vec<Option<Deflated>> = (0..runs.len()).map(|_| None).collect();
    let deflate_share = |share: usize| -> Vec<(usize, Option<Deflated>)> {
        todo.iter()
            .skip(share)
            .step_by(threads)
            .map(|&i| match &runs[i] {
                Run::Text(text) => (i, Some(deflate_run(text))),
                Run::Kept(chunk) => {
                    chunk.deflated();
                    (i, None)
                }
            })
            .collect()
    };
    let done: Vec<(usize, Option<Deflated>)> = thread::scope(|scope| {
        // A share whose thread cannot start is deflated here afterwards, as in
        // `compress_parts`.
        let others: Vec<_> = (1..threads)
            .map(|share| {
                let job = move || deflate_share(share);
                (share, thread::Builder::new().spawn_scoped(scope, job).ok())
            })
            .collect();
        let mut all = deflate_share(0);
        for (share, handle) in others {
            all.extend(match handle {
                Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => deflate_share(share),
            });
        }
        all
    });
    for (i, deflated) in done {
        fresh[i] = deflated;
    }
    // The final block, empty, in fixed codes: what deflate ends an empty input with.
    let end = Deflated {
        bytes: vec![0x03, 0x00],
        crc: 0,
        size: 0,
    };
    let mut parts: Vec<&Deflated> = runs
        .iter()
        .zip(&fresh)
        .map(|(run, fresh)| match (run, fresh) {
            (_, Some(deflated)) => deflated,
            (Run::Kept(chunk), None) => chunk.deflated(),
            (Run::Text(text), None) => unreachable!("a text run of {} bytes missed", text.len()),
        })
        .collect();
    parts.push(&end);
    member(&parts)
}

fn run_text<'a>(run: &Run<'a>) -> &'a [u8] {
    match run {
        Run::Text(text) => text,
        Run::Kept(chunk) => chunk.text(),
    }
}

/// `part` as raw deflate ending in a sync flush: a run of a body that others follow.
/// A short run goes in stored blocks: setting up a compressor costs more than the
/// bytes it would save.
#[must_use]
pub fn deflate_run(part: &[u8]) -> Deflated {
    if part.len() > STORE_UP_TO {
        return deflate(part, false);
    }
    let mut bytes = Vec::with_capacity(part.len() + 5);
    // One stored block, not final: its header bits, padding to the byte, then LEN and
    // its complement.
    let length = u16::try_from(part.len()).unwrap_or(u16::MAX);
    bytes.push(0x00);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(&(!length).to_le_bytes());
    bytes.extend_from_slice(part);
    Deflated {
        bytes,
        crc: crc32fast::hash(part),
        size: part.len() as u64,
    }
}

/// Runs of at most this many bytes are stored, not compressed (one stored block).
const STORE_UP_TO: usize = 4096;

/// A part as raw deflate, with what the trailer needs to know of its input.
#[derive(Debug)]
pub struct Deflated {
    bytes: Vec<u8>,
    crc: u32,
    size: u64,
}

/// One part as raw deflate, ended by a sync flush or, for the last part, the final
/// block; with the part's CRC-32.
fn deflate(part: &[u8], last: bool) -> Deflated {
    let mut deflater = Compress::new(Compression::new(LEVEL), false);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(part.len() / 8 + 64);
    loop {
        let read = usize::try_from(deflater.total_in()).unwrap_or(part.len());
        // Raw deflate on memory we own fails only on misuse of the stream.
        let status = deflater
            .compress_vec(&part[read..], &mut out, flush)
            .unwrap_or_else(|error| unreachable!("deflate refused its input: {error}"));
        // A flush is complete once deflate stops short of filling the output.
        let done = if last {
            status == Status::StreamEnd
        } else {
            deflater.total_in() == part.len() as u64 && out.len() < out.capacity()
        };
        if done {
            return Deflated {
                bytes: out,
                crc: crc32fast::hash(part),
                size: part.len() as u64,
            };
        }
        out.reserve(out.capacity().max(64));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn inflate(gzip: &[u8]) -> Vec<u8> {
        let mut decoder = GzDecoder::new(gzip);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).expect("a valid gzip member");
        // One member: nothing may follow it.
        assert!(
            decoder.into_inner().is_empty(),
            "bytes after the first member"
        );
        out
    }

    fn exposition(series: usize) -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..series {
            text.extend_from_slice(
                format!("http_requests_total{{path=\"/api/items/{i}\",code=\"200\"}} {i}\n")
                    .as_bytes(),
            );
        }
        text
    }

    #[test]
    fn round_trips_on_any_number_of_threads() {
        let data = exposition(20_000);
        for threads in [1, 2, 3, 4, 7] {
            assert_eq!(
                inflate(&compress_on(&data, threads)),
                data,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn round_trips_small_and_empty_bodies() {
        for data in [&b""[..], b"x", b"# EOF\n", &[0u8; 1000]] {
            assert_eq!(inflate(&compress_on(data, 4)), data);
        }
    }

    #[test]
    fn splits_only_bodies_large_enough() {
        let data = exposition(20_000);
        let one = compress_on(&data, 1);
        // Parts start afresh, without the previous part's window: a little larger.
        let four = compress_on(&data, 4);
        assert_ne!(one, four);
        assert!(four.len() < one.len() + one.len() / 10);
        let small = &data[..MIN_PART];
        assert_eq!(compress_on(small, 1), compress_on(small, 4));
    }

    #[test]
    fn parts_made_on_their_threads_join_in_order() {
        let parts: Vec<Vec<u8>> = (0..5).map(|i| exposition(3_000 + i)).collect();
        let gzip = compress_parts(parts.len(), |i| Cow::Owned(parts[i].clone()));
        assert_eq!(inflate(&gzip), parts.concat());
        assert_eq!(inflate(&compress_parts(0, |_| Cow::Borrowed(b"x"))), b"x");
    }

    #[test]
    fn incompressible_bodies_round_trip() {
        // xorshift: bytes deflate cannot shrink, so the output grows past its estimate.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let data: Vec<u8> = (0..600_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(inflate(&compress_on(&data, 3)), data);
    }

    #[test]
    fn header_and_trailer_are_rfc_1952() {
        let data = exposition(10);
        let gzip = compress(&data);
        assert_eq!(gzip[..10], HEADER);
        let trailer = &gzip[gzip.len() - 8..];
        assert_eq!(trailer[..4], crc32fast::hash(&data).to_le_bytes());
        assert_eq!(
            trailer[4..],
            u32::try_from(data.len()).unwrap().to_le_bytes()
        );
    }

    #[test]
    fn runs_kept_or_not_make_one_member() {
        let data = exposition(30_000);
        // Cut at line ends, so the kept run holds whole lines, one per value.
        let cut = |from: usize| from + data[from..].iter().position(|&x| x == b'\n').unwrap() + 1;
        let (first, second) = (cut(100_000), cut(600_000));
        let (a, b, c) = (&data[..first], &data[first..second], &data[second..]);
        let lines = (first..second).filter(|&at| data[at] == b'\n');
        let kept = Chunk::new(b.to_vec(), &vec![0.0; lines.count()], false);
        let empty = Chunk::new(Vec::new(), &[], false);
        // Deflated here first, then kept: the same body both times.
        for _ in 0..2 {
            let runs = [
                Run::Text(a),
                Run::Kept(&kept),
                Run::Kept(&empty),
                Run::Text(c),
            ];
            assert_eq!(inflate(&compress_runs(&runs)), data);
            assert!(kept.is_deflated());
        }
        assert_eq!(inflate(&compress_runs(&[])), b"");
        assert_eq!(inflate(&compress_runs(&[Run::Text(b"x")])), b"x");
    }
}
