"""Reading stored log rows as ``GET /logs`` NDJSON, a byte-bounded chunk at a time.

With the Rust extension loaded into the connection, SQLite assembles a chunk itself
(``observabilipy_ndjson``): no Python object per row. Without it, rows are fetched and
encoded in Python, to the same bytes and cut at the same row.
"""

from __future__ import annotations

import struct
from collections.abc import Generator, Iterable, Sequence
from typing import Any, Final, NamedTuple

import apsw

from observabilipy.adapters.storage.sqlite_schema import scalar, select_rows
from observabilipy.core.encoding.ndjson import LogRow, encode_log_rows_within
from observabilipy.encoders import sqlite_extension

# One chunk, assembled inside SQLite by the Rust extension (which names levels as
# SELECT_ROWS does), from the rows a LIMITed subquery picks, up to a byte budget: the
# aggregate says what it wrote, and _BODY then hands over the NDJSON.
_NDJSON: Final = (
    "SELECT observabilipy_ndjson(id, ts, level, message, logger, attributes, ?) "
    "FROM (SELECT * FROM logs WHERE {where} ORDER BY id LIMIT ?)"
)
# Rows with ids in a range, and the newest id, in one snapshot: GET /logs reads a long
# history as consecutive id ranges, two at a time on connections of their own.
_NDJSON_IDS: Final = (
    "SELECT observabilipy_ndjson(id, ts, level, message, logger, attributes, ?3), "
    "(SELECT last_id FROM log_state) FROM logs WHERE id > ?1 AND id <= ?2"
)
_BODY: Final = "SELECT observabilipy_ndjson_body()"
#: Bytes of NDJSON one read holds at most (plus one row, when a row alone is larger).
CHUNK_BYTES: Final = 512 * 1024
#: Bytes a row's line has beyond its message, logger and attributes, at the least.
_LINE_FRAME: Final = 64


class Chunk(NamedTuple):
    """One read of stored rows as ``GET /logs`` NDJSON."""

    rows: int
    #: The id to read on from: every row matching the read up to it has been read.
    cursor: int | None
    body: bytes
    #: True when the byte budget left rows out: read again from ``cursor`` for them.
    more: bool


def load_sqlite_extension(
    connection: apsw.Connection, library: str | None = sqlite_extension
) -> bool:
    """Load the Rust ``library`` into ``connection``: ``observabilipy_ndjson`` (reads
    here) and ``observabilipy_entries`` (the writer's batches as rows, see
    ``sqlite_insert``).

    False when the pure-Python backend is in use (no library) or this apsw cannot load
    extensions; readers then fetch rows and encode them in Python, to the same bytes,
    and the writer has SQLite parse its batches as JSON.
    """
    if library is None:
        return False
    try:
        connection.enable_load_extension(True)
        try:
            connection.load_extension(library, "sqlite3_observabilipy_init")
        finally:
            connection.enable_load_extension(False)
    except (apsw.Error, AttributeError):  # AttributeError: apsw built without the API
        return False
    return True


def read_chunk(
    connection: apsw.Connection,
    native: bool,
    where: str,
    params: Sequence[Any],
    limit: int,
    max_bytes: int,
) -> tuple[int, int, bytes, bool]:
    """Up to ``limit`` rows matching ``where`` as NDJSON, up to ``max_bytes``: (rows,
    last id, body, whether the budget left rows out)."""
    if native:
        # No more rows than could fit the budget: the aggregate skips rows past it, but
        # SQLite would still read every one the LIMIT lets through, so a long read in
        # chunks read its remaining rows again for each chunk.
        cap = min(limit, max_bytes // _LINE_FRAME + 1)
        extent = _one(connection, _NDJSON.format(where=where), (max_bytes, *params, cap))[0]
        count, last, body, more = _taken(connection, extent)
        cut = count == cap < limit
    else:
        found = select_rows(connection, f"WHERE {where} ORDER BY id LIMIT ?", (*params, limit))
        rows, cut = _fetch_within(found, max_bytes)
        count, last, body, more = encode_log_rows_within(rows, max_bytes)
    if cut and not more:  # rows not read may follow: ask SQLite, without reading them
        later = (
            f"SELECT 1 FROM (SELECT id FROM logs WHERE {where} ORDER BY id LIMIT ?) WHERE id > ?"
        )
        more = scalar(connection, later, (*params, limit, last)) is not None
    return count, last, body, more


def read_range(
    connection: apsw.Connection, native: bool, after: int, upto: int, max_bytes: int
) -> tuple[int, int, bytes, bool, int]:
    """The rows with ids in (``after``, ``upto``] as NDJSON, up to ``max_bytes``: (rows,
    last id, body, whether the budget left rows out, the newest id given)."""
    if native:
        extent, newest = _one(connection, _NDJSON_IDS, (after, upto, max_bytes))
        return (*_taken(connection, extent), newest or 0)
    with connection:  # one read transaction: the rows and the newest id agree
        found = select_rows(connection, "WHERE id > ?1 AND id <= ?2 ORDER BY id", (after, upto))
        rows, cut = _fetch_within(found, max_bytes)
        count, last, body, more = encode_log_rows_within(rows, max_bytes)
        if cut and not more:
            later = "SELECT 1 FROM logs WHERE id > ?1 AND id <= ?2"
            more = scalar(connection, later, (last, upto)) is not None
        newest = scalar(connection, "SELECT last_id FROM log_state")
    return count, last, body, more, newest or 0


def _fetch_within(found: Generator[LogRow], budget: int) -> tuple[list[LogRow], bool]:
    """Rows from ``found`` until their lines surely hold ``budget`` bytes (each line is
    at least its text plus a frame): (rows, whether rows were left unread). The cursor
    is closed before any is encoded, so SQLite lets go of a large row first."""
    rows: list[LogRow] = []
    held = 0
    try:
        for row in found:
            rows.append(row)
            held += len(row[3]) + len(row[4]) + len(row[5]) + _LINE_FRAME
            if held >= budget:
                return rows, True
    finally:
        found.close()
    return rows, False


def _one(connection: apsw.Connection, sql: str, params: Iterable[Any]) -> tuple[Any, ...]:
    try:
        return tuple(next(connection.execute(sql, tuple(params))))
    except apsw.SQLError as error:  # a stored row the encoder refuses
        raise ValueError(str(error)) from error


def _taken(connection: apsw.Connection, extent: bytes) -> tuple[int, int, bytes, bool]:
    """What an ``observabilipy_ndjson`` aggregate wrote (rows, last id, whether it left
    rows out) and its NDJSON, taken from the connection."""
    rows, last, more = struct.unpack("<qqq", extent)
    return rows, last, scalar(connection, _BODY), bool(more)
