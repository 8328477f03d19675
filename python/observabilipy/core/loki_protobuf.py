"""Loki's protobuf push format (what Alloy's ``loki.write`` and Promtail send).

The body is a snappy block (not the framed format) holding a ``logproto.PushRequest``:

    PushRequest   { repeated Stream streams = 1; }
    Stream        { string labels = 1; repeated Entry entries = 2; }   // labels: {a="b"}
    Entry         { Timestamp timestamp = 1; string line = 2; repeated Pair metadata = 3; }
    Timestamp     { int64 seconds = 1; int32 nanos = 2; }
    Pair          { string name = 1; string value = 2; }

With the Rust extension in use, the body is decoded there (prost and snap, without the
GIL); the pure-Python decoders below are the Python backend's, with the same limits and
the same exception (``InputError``, in their own words).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from observabilipy.core.backend import native
from observabilipy.core.ingest import InputError, loki_entry
from observabilipy.core.models import LogEntry

_LABEL: Final = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE: Final = re.compile(r"\\(.)")


def snappy_decompress(data: bytes, limit: int) -> bytes:
    """Decompress one snappy block; InputError if it is malformed or inflates past ``limit``."""
    try:
        size, position = _varint(data, 0)
        if size > limit:
            raise InputError(f"snappy body inflates to {size} bytes, over the {limit}-byte limit")
        out = bytearray()
        while position < len(data):
            tag = data[position]
            position += 1
            kind = tag & 3
            if kind == 0:  # literal
                length = (tag >> 2) + 1
                if length > 60:
                    extra = length - 60
                    length = int.from_bytes(data[position : position + extra], "little") + 1
                    position += extra
                if position + length > len(data):
                    raise InputError("snappy literal runs past the end of the body")
                out += data[position : position + length]
                position += length
                continue
            if kind == 1:
                length = 4 + ((tag >> 2) & 7)
                offset = ((tag >> 5) << 8) | data[position]
                position += 1
            else:
                width = 2 if kind == 2 else 4
                length = (tag >> 2) + 1
                offset = int.from_bytes(data[position : position + width], "little")
                position += width
            if offset == 0 or offset > len(out):
                raise InputError("snappy copy refers before the start of the output")
            start = len(out) - offset
            if offset >= length:
                out += out[start : start + length]
            else:  # overlapping copy: the pattern repeats
                for index in range(length):
                    out.append(out[start + index])
            if len(out) > size:
                break
    except IndexError:
        raise InputError("snappy body is truncated") from None
    if len(out) != size:
        raise InputError(f"snappy body inflates to {len(out)} bytes, not the {size} it declares")
    return bytes(out)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise InputError("protobuf varint is too long")


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            yield number, value
        elif wire == 2:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise InputError("protobuf field runs past the end of its message")
            yield number, data[position : position + length]
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise InputError(f"protobuf wire type {wire} is not supported")


def parse_labels(text: str) -> dict[str, str]:
    """``{job="web", level="warn"}`` as a dict."""
    inner = text.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise InputError(f'stream labels must look like {{name="value"}}, got {text!r}')
    inner = inner[1:-1].strip()
    labels: dict[str, str] = {}
    position = 0
    while position < len(inner):
        match = _LABEL.match(inner, position)
        if match is None:
            raise InputError(f"cannot read stream labels {text!r}")
        labels[match.group(1)] = _UNESCAPE.sub(
            lambda m: "\n" if m.group(1) == "n" else m.group(1), match.group(2)
        )
        position = match.end()
    return labels


def _text(value: int | bytes, what: str) -> str:
    if not isinstance(value, bytes):
        raise InputError(f"{what} must be a string")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InputError(f"{what} is not valid UTF-8") from None


def parse_push_protobuf(body: bytes, limit: int) -> list[LogEntry]:
    """Entries from a snappy-compressed protobuf PushRequest."""
    if native is not None:
        return _decoded_natively(body, limit)
    request = snappy_decompress(body, limit)
    entries: list[LogEntry] = []
    try:
        streams = (s for number, s in _fields(request) if number == 1 and isinstance(s, bytes))
        for index, stream in enumerate(streams):
            labels: dict[str, str] = {}
            raw_entries = []
            for field, value in _fields(stream):
                if field == 1:
                    labels = parse_labels(_text(value, "stream labels"))
                elif field == 2 and isinstance(value, bytes):
                    raw_entries.append(value)
            entries.extend(
                _entry(labels, raw, f"streams[{index}].entries[{position}]")
                for position, raw in enumerate(raw_entries)
            )
    except IndexError:
        raise InputError("protobuf body is truncated") from None
    return entries


def _entry(labels: dict[str, str], raw: bytes, where: str) -> LogEntry:
    seconds = nanos = 0
    line = ""
    metadata: dict[str, str] = {}
    for field, value in _fields(raw):
        if field == 1 and isinstance(value, bytes):
            for part, number in _fields(value):
                if part == 1 and isinstance(number, int):
                    seconds = number - (1 << 64) if number >= 1 << 63 else number
                elif part == 2 and isinstance(number, int):
                    nanos = number
        elif field == 2:
            line = _text(value, "log line")
        elif field == 3 and isinstance(value, bytes):
            pair = dict(_fields(value))
            metadata[_text(pair.get(1, b""), "metadata name")] = _text(
                pair.get(2, b""), "metadata value"
            )
    return loki_entry(labels, seconds * 1_000_000_000 + nanos, line, metadata, where)


def _decoded_natively(body: bytes, limit: int) -> list[LogEntry]:
    try:
        streams = native.decode_loki_push(body, limit) if native is not None else []
    except ValueError as error:
        raise InputError(str(error)) from None
    entries: list[LogEntry] = []
    for index, (labels_text, raw_entries) in enumerate(streams):
        labels = parse_labels(labels_text) if raw_entries else {}
        entries.extend(
            loki_entry(labels, nanos, line, dict(metadata), f"streams[{index}].entries[{at}]")
            for at, (nanos, line, metadata) in enumerate(raw_entries)
        )
    return entries
