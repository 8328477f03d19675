"""Log storage in one SQLite file (WAL mode) through apsw.

Entries go in through ``sqlite_insert`` (a batch per statement); reads come out as rows
or, with the Rust extension, as NDJSON assembled inside SQLite.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Final

import apsw

from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite_insert import (
    insert_rows,
    normalize_all,
)
from observabilipy.adapters.storage.sqlite_ndjson import (
    CHUNK_BYTES,
    Chunk,
    load_sqlite_extension,
    read_chunk,
    read_range,
)
from observabilipy.adapters.storage.sqlite_schema import (
    SEGMENTED_VERSION,
    SPANS_VERSION,
    StorageError,
    check,
    prepare,
    scalar,
    select_rows,
)
from observabilipy.adapters.storage.sqlite_spans import read_without_spans
from observabilipy.core.encoding.attributes import decoded_attributes
from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.levels import STDLIB_NUMBERS, parse_level
from observabilipy.core.models import LogEntry

_IDLE_READERS: Final = 4  # reader connections kept open between reads


def open_connection(
    path: str, *, synchronous: str = "NORMAL", busy_ms: int = 5000, readonly: bool = False
) -> apsw.Connection:
    """A configured connection to ``path`` with the schema up to date."""
    flags = apsw.SQLITE_OPEN_URI  # lets Engine(":memory:") share one memdb database
    flags |= apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
    if not readonly:
        flags |= apsw.SQLITE_OPEN_CREATE
    try:
        connection = apsw.Connection(path, flags=flags)
    except apsw.CantOpenError as error:
        raise StorageError(f"cannot open {path}: {error}") from error
    if readonly:
        # Nothing may be created or migrated: the file must already hold our schema.
        connection.set_busy_timeout(busy_ms)
        try:
            version = check(connection, path)
            if version == 0:
                raise StorageError(f"{path} holds no observabilipy data (no Engine wrote it)")
            if version < SEGMENTED_VERSION:
                segments.read_unsegmented(connection)
            if version < SPANS_VERSION:
                read_without_spans(connection)
        except apsw.CantOpenError as error:  # e.g. no -shm file and no right to create one
            connection.close()
            raise StorageError(f"cannot open {path}: {error}") from error
        except StorageError:
            connection.close()
            raise
    else:
        prepare(connection, path, synchronous=synchronous, busy_ms=busy_ms)
    return connection


class SQLiteLogStorage:
    """The log port over a SQLite file, plus the cursor queries the endpoints need."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "NORMAL",
        busy_ms: int = 5000,
        readonly: bool = False,
        segmenting: segments.Segmenting = segments.DEFAULT_SEGMENTING,
    ) -> None:
        """Open ``path``, creating it unless ``readonly`` (which reads a file that an
        engine in another process writes, and raises ``StorageError`` if it is not one).
        ``segmenting`` says when writes start a new log segment (see ``Retention``)."""
        self.path = path
        self.segmenting = segmenting
        self._connection = open_connection(
            path, synchronous=synchronous, busy_ms=busy_ms, readonly=readonly
        )
        self._lock = threading.RLock()  # one connection, used by one thread at a time
        #: Whether chunks of NDJSON are assembled inside SQLite (the Rust extension).
        self.native_ndjson = load_sqlite_extension(self._connection)
        self._synchronous, self._busy_ms, self._readonly = synchronous, busy_ms, readonly
        # Connections for read_ndjson_ids, which may run at once on several threads
        # (SQLite's WAL lets readers and the writer proceed together). A private
        # in-memory database has no second connection: it reads on the main one.
        self._readers: list[tuple[apsw.Connection, bool]] = []
        self._readers_lock = threading.Lock()
        self._own_readers = path not in ("", ":memory:")
        self._closed = False

    @property
    def connection(self) -> apsw.Connection:
        """The underlying connection (hold ``lock`` while using it)."""
        return self._connection

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def write(self, entry: LogEntry) -> None:
        """Store one entry, committed on return."""
        self.write_many([entry])

    def write_many(self, entries: Iterable[LogEntry]) -> int:
        """Store entries in one transaction: all of them or, when one cannot be stored
        (``EntryRejectedError``, a ValueError naming why), none."""
        rows = normalize_all(list(entries))
        if not rows:
            return 0
        with self._lock, self._connection:
            insert_rows(self._connection, rows, self.segmenting)
        return len(rows)

    def read(self, since: float = 0) -> list[LogEntry]:
        """Entries at or after ``since``, oldest first."""
        return [
            LogEntry(ts, level, message, decoded_attributes(attributes), logger)
            for _, ts, level, message, logger, attributes in self.query(since=since or None)
        ]

    def query(
        self,
        *,
        after: int | None = None,
        since: float | None = None,
        until: float | None = None,
        level: str | int | None = None,
        logger: str | None = None,
        limit: int | None = None,
    ) -> list[LogRow]:
        """Stored rows matching every filter given, in cursor order."""
        return list(self.iter_rows(after, since, until, level, logger, limit))

    def iter_rows(
        self,
        after: int | None = None,
        since: float | None = None,
        until: float | None = None,
        level: str | int | None = None,
        logger: str | None = None,
        limit: int | None = None,
        chunk: int = 5000,
    ) -> Iterator[LogRow]:
        """Like ``query`` but fetched ``chunk`` rows (at most about ``CHUNK_BYTES`` of
        text) at a time, so memory stays flat whatever the rows' size."""
        where, params = filters(after, since, until, level, logger, *self._bounds(since, until))
        sql = f"WHERE {where} ORDER BY id LIMIT ?"
        cursor = after
        remaining = limit
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            rows: list[LogRow] = []
            held = 0
            with self._lock:
                found = select_rows(
                    self._connection,
                    sql,
                    (*params[:-1], max(params[-1], -1 if cursor is None else cursor), size),
                )
                try:
                    for row in found:
                        rows.append(row)
                        held += len(row[3]) + len(row[5])
                        if held >= CHUNK_BYTES:
                            break
                finally:
                    found.close()
            yield from rows
            if held < CHUNK_BYTES and len(rows) < size:
                return
            cursor = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def read_ndjson(
        self,
        after: int | None = None,
        since: float | None = None,
        until: float | None = None,
        level: str | int | None = None,
        logger: str | None = None,
        limit: int = 5000,
        max_bytes: int = CHUNK_BYTES,
    ) -> Chunk:
        """Up to ``limit`` matching rows after the cursor as NDJSON, stopping once the
        body holds ``max_bytes`` (see ``sqlite_ndjson``)."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        where, params = filters(after, since, until, level, logger, *self._bounds(since, until))
        with self._lock:
            rows, last, body, more = read_chunk(
                self._connection, self.native_ndjson, where, params, limit, max_bytes
            )
        return Chunk(rows, last if rows else after, body, more)

    def _bounds(self, since: float | None, until: float | None) -> tuple[int, int | None]:
        """Id bounds for a time filter, so SQLite reads only the ids that may match."""
        if since is None and until is None:
            return -1, None
        with self._lock:
            return segments.bounds(self._connection, since, until)

    def read_ndjson_ids(self, after: int, upto: int, max_bytes: int = CHUNK_BYTES) -> Chunk:
        """The rows with ids in (``after``, ``upto``] as NDJSON, up to ``max_bytes``.

        The cursor is the last row's id when the budget left rows out; else ``upto``,
        or the newest id if that is lower (never below ``after``): every row up to it
        has been read, and a row stored later gets a higher id. Reads run on
        connections of their own where the database allows, so several can run at
        once, beside writes.
        """
        with self._reader() as (connection, loaded):
            rows, last, body, more, newest = read_range(
                connection, loaded and self.native_ndjson, after, upto, max_bytes
            )
        return Chunk(rows, last if more else max(after, min(upto, newest)), body, more)

    @contextlib.contextmanager
    def _reader(self) -> Iterator[tuple[apsw.Connection, bool]]:
        """A connection to read on, and whether the Rust extension is loaded into it."""
        if not self._own_readers:
            with self._lock:
                yield self._connection, self.native_ndjson
            return
        with self._readers_lock:
            if self._closed:
                raise apsw.ConnectionClosedError("the log storage is closed")
            reader = self._readers.pop() if self._readers else None
        if reader is None:
            connection = open_connection(
                self.path,
                synchronous=self._synchronous,
                busy_ms=self._busy_ms,
                readonly=self._readonly,
            )
            reader = connection, self.native_ndjson and load_sqlite_extension(connection)
        try:
            yield reader
        finally:
            with self._readers_lock:
                if not self._closed and len(self._readers) < _IDLE_READERS:
                    self._readers.append(reader)
                    reader = None
            if reader is not None:
                reader[0].close()

    def last_id(self) -> int:
        """The newest cursor, 0 when empty."""
        with self._lock:
            return segments.last_id(self._connection)

    def newest_id(self) -> int:
        """``last_id``, read on a reader connection: never behind a long read's lock."""
        with self._reader() as (connection, _):
            return segments.last_id(connection)

    def footprint(self) -> tuple[int, int]:
        """Rows held (ids from the oldest segment's first to the newest: ids of entries
        that were rejected or removed by per-level rules count too) and the bytes of the
        file and its write-ahead log. Cheap: no row is counted."""
        with self._reader() as (connection, _):
            first = connection.execute("SELECT min(first_id) FROM log_segments").fetchone()
            last = segments.last_id(connection)
            pages = int(scalar(connection, "PRAGMA page_count") or 0)
            size = int(scalar(connection, "PRAGMA page_size") or 0)
        oldest = int(first[0]) if first and first[0] is not None else last + 1
        wal = self.path + "-wal"
        extra = os.path.getsize(wal) if self._own_readers and os.path.exists(wal) else 0
        return max(0, last - oldest + 1), pages * size + extra

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for connection, _ in readers:
            connection.close()
        with self._lock:
            self._connection.close()


def quick_check(path: str, busy_ms: int = 5000) -> list[str]:
    """SQLite's ``quick_check`` of the file: the problems it names, none when sound."""
    connection = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    try:
        connection.set_busy_timeout(busy_ms)
        found = [str(row[0]) for row in connection.execute("PRAGMA quick_check")]
    finally:
        connection.close()
    return [] if found == ["ok"] else found


def filters(
    after: int | None,
    since: float | None,
    until: float | None,
    level: str | int | None,
    logger: str | None,
    floor: int = -1,
    ceiling: int | None = None,
) -> tuple[str, list[Any]]:
    """A WHERE clause and its parameters for the filters, the cursor's last (ids above
    ``after`` and ``floor``, and at most ``ceiling``)."""
    if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
        raise TypeError(f"after must be an int cursor, got {after!r}")
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(float(since))
    if until is not None:
        clauses.append("ts < ?")
        params.append(float(until))
    if level is not None:
        minimum = STDLIB_NUMBERS[parse_level(level)]
        clauses.append("level >= ?")
        params.append(minimum)
        if minimum >= 30:  # the literal term lets SQLite use the partial index
            clauses.append("level >= 30")
    if logger is not None:
        clauses.append("logger = ?")
        params.append(logger)
    if ceiling is not None:
        clauses.append("id <= ?")
        params.append(ceiling)
    clauses.append("id > ?")
    params.append(max(floor, -1 if after is None else after))
    return " AND ".join(clauses), params


__all__ = [
    "CHUNK_BYTES",
    "Chunk",
    "SQLiteLogStorage",
    "StorageError",
    "filters",
    "load_sqlite_extension",
    "open_connection",
    "quick_check",
]
