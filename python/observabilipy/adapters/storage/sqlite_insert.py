"""Storing log entries: a batch is one ``INSERT … SELECT … FROM jsonb_each(?)``.

The rows cross into SQLite as one JSON text, so the statement runs start to end without
the GIL instead of handing it back and forth for every row (which a busy producer
thread would starve). jsonb_each parses that text once into SQLite's binary JSON, so
each column extracts cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import apsw
import msgspec
import orjson

from observabilipy.core.encoding.attributes import encode_attributes, text_of
from observabilipy.core.levels import STDLIB_NUMBERS, parse_level
from observabilipy.core.models import LogEntry

_INSERT: Final = """
    INSERT INTO logs (ts, level, logger, message, attributes)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
    FROM jsonb_each(?)
"""
# The writer's path: entries encoded by msgspec in one C call (LogEntry is an array:
# timestamp, level, message, attributes, logger), levels mapped in SQL.
# An unknown level or a NaN timestamp becomes NULL and fails NOT NULL: see insert_entries.
_INSERT_ENTRIES: Final = """
    INSERT INTO logs (ts, level, logger, message, attributes)
    SELECT value ->> 0,
        CASE value ->> 1 WHEN 'info' THEN 20 WHEN 'debug' THEN 10 WHEN 'warning' THEN 30
            WHEN 'error' THEN 40 WHEN 'critical' THEN 50 END,
        value ->> 4, value ->> 2, value -> 3
    FROM jsonb_each(?)
"""
_ENTRY_ENCODER: Final = msgspec.json.Encoder(enc_hook=text_of)


def check_entry(entry: LogEntry) -> int:
    """The stdlib level number of a storable entry; ValueError/TypeError names the problem."""
    timestamp = entry.timestamp
    if type(timestamp) is not float and type(timestamp) is not int:
        raise TypeError(f"log timestamp must be a number, got {timestamp!r}")
    if timestamp - timestamp != 0:
        raise ValueError(f"log timestamp must be finite, got {timestamp!r}")
    level = STDLIB_NUMBERS.get(entry.level)
    if level is None:
        level = STDLIB_NUMBERS[parse_level(entry.level)]
    if type(entry.message) is not str or type(entry.logger) is not str:
        raise TypeError(f"log message and logger must be str, got {entry!r}")
    if not isinstance(entry.attributes, dict):
        raise TypeError(f"log attributes must be a dict, got {entry.attributes!r}")
    return level


def log_row(entry: LogEntry) -> tuple[float, int, str, str, str]:
    """The row stored for ``entry``; ValueError/TypeError names what cannot be stored."""
    level = check_entry(entry)
    attributes = encode_attributes(entry.attributes)
    return entry.timestamp, level, entry.logger, entry.message, attributes


def insert_rows(connection: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert prepared rows in one statement (the caller owns the transaction)."""
    connection.execute(_INSERT, (orjson.dumps(rows),))


def insert_entries(
    connection: apsw.Connection, entries: Sequence[LogEntry]
) -> list[tuple[LogEntry, Exception]]:
    """Insert entries (the caller owns the transaction); returns those that cannot be stored.

    The whole batch goes through msgspec and SQLite without a Python step per entry;
    only when that fails (odd attributes, an invalid entry) is each entry prepared
    and checked on its own.
    """
    try:
        payload = _ENTRY_ENCODER.encode(entries)
    except (TypeError, ValueError, RecursionError):
        payload = None
    if payload is not None:
        try:
            connection.execute(_INSERT_ENTRIES, (payload,))
            return []
        except apsw.ConstraintError:
            pass  # the failed statement changed nothing; go entry by entry
    rows: list[tuple[float, int, str, str, str]] = []
    rejected: list[tuple[LogEntry, Exception]] = []
    for entry in entries:
        try:
            rows.append(log_row(entry))
        except (TypeError, ValueError) as error:
            rejected.append((entry, error))
    insert_rows(connection, rows)
    return rejected
