"""Log entries as NDJSON: one JSON object a line, in the shape ``GET /logs`` serves.

``{"id":42,"timestamp":"2026-11-26T07:23:08.123456Z","level":"info","message":"paid",
"logger":"checkout","attributes":{"order_id":7}}`` — RFC 3339 UTC with microseconds,
the canonical lowercase level; ``id`` only when the entry has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

import orjson

from observabilipy.core.encoding.attributes import (
    UNPARSED,
    encode_attributes,
    safe_text,
    stored_attributes,
)
from observabilipy.core.models import LogEntry

#: A stored log row: id (or None), timestamp, level, message, logger, attributes JSON.
LogRow = tuple[int | None, float, str, str, str, str]

_EPOCH: Final = dt.datetime(1970, 1, 1)
_last_second: tuple[int, bytes] = (0, b"1970-01-01T00:00:00")


def format_timestamp(timestamp: float) -> bytes:
    """RFC 3339 UTC with microseconds, rounded half to even: ``2026-11-26T07:23:08.123456Z``."""
    global _last_second
    try:
        micros = round(timestamp * 1_000_000)
    except (ValueError, OverflowError):
        raise ValueError(f"timestamp {timestamp!r} is not a finite number") from None
    seconds, fraction = divmod(micros, 1_000_000)
    cached_seconds, prefix = _last_second  # one read: the pair is swapped whole
    if seconds != cached_seconds:
        try:
            moment = _EPOCH + dt.timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"timestamp {timestamp!r} is outside years 1-9999") from None
        prefix = moment.strftime("%Y-%m-%dT%H:%M:%S").encode()
        if len(prefix) != 19:  # strftime pads years below 1000 differently per platform
            prefix = f"{moment.year:04d}{moment.strftime('-%m-%dT%H:%M:%S')}".encode()
        _last_second = (seconds, prefix)
    return b"%s.%06dZ" % (prefix, fraction)


def _json_string(value: str, field: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, got {type(value).__name__}")
    try:
        return orjson.dumps(value)
    except TypeError:  # lone surrogates
        return orjson.dumps(safe_text(value))


def _attributes_json(text: str) -> bytes:
    encoded = text.encode()  # lone surrogates: UnicodeEncodeError (never from a file)
    if stored_attributes(text) is not None:
        return encoded
    return b'{"%s":%s}' % (UNPARSED.encode(), _json_string(text, "attributes"))


def _line(row: LogRow) -> bytes:
    id_, timestamp, level, message, logger, attributes = row
    if type(timestamp) is not float and type(timestamp) is not int:
        raise TypeError(f"timestamp must be a number, got {type(timestamp).__name__}")
    if type(attributes) is not str:
        raise TypeError(f"attributes must be JSON text, got {type(attributes).__name__}")
    body = b'"timestamp":"%s","level":%s,"message":%s,"logger":%s,"attributes":%s}\n' % (
        format_timestamp(timestamp),
        _json_string(level, "level"),
        _json_string(message, "message"),
        _json_string(logger, "logger"),
        _attributes_json(attributes),
    )
    if id_ is None:
        return b"{" + body
    if type(id_) is not int:
        raise TypeError(f"id must be an int, got {type(id_).__name__}")
    return b'{"id":%d,%s' % (id_, body)


def encode_log_rows(rows: Iterable[LogRow]) -> bytes:
    """NDJSON for stored rows whose attributes are already JSON text (the SQLite path)."""
    return b"".join([_line(row) for row in rows])


def encode_log_rows_within(rows: Iterable[LogRow], budget: int) -> tuple[int, int, bytes, bool]:
    """NDJSON for rows in order while the lines so far hold under ``budget`` bytes (the
    first row always): (rows written, id of the last, body, whether rows were left out).
    The rule of the SQLite extension's ``observabilipy_ndjson``, byte for byte."""
    lines: list[bytes] = []
    size = 0
    last = 0
    for row in rows:
        if lines and size >= budget:
            return len(lines), last, b"".join(lines), True
        line = _line(row)
        lines.append(line)
        size += len(line)
        last = row[0] or 0
    return len(lines), last, b"".join(lines), False


def encode_log_entries(entries: Iterable[LogEntry]) -> bytes:
    """NDJSON for entries not yet stored (no ``id``), e.g. for a file that Alloy tails."""
    return b"".join(
        [
            _line(
                (
                    None,
                    entry.timestamp,
                    entry.level,
                    entry.message,
                    entry.logger,
                    encode_attributes(entry.attributes),
                )
            )
            for entry in entries
        ]
    )
