"""Storing log entries: a batch is one ``INSERT … SELECT`` into the newest log segment,
from ``observabilipy_entries(?)`` (the Rust extension's reader) or ``jsonb_each(?)``,
with ids reserved for it first (see ``sqlite_segments``).

The rows cross into SQLite as one JSON text, so the statement runs start to end without
the GIL instead of handing it back and forth for every row (which a busy producer
thread would starve).

Most batches take the fast path: msgspec writes the entries as they are, in one call
(a batch from the Rust backend's queue is that JSON already: ``runtime.buffer``), and
the reader and the schema's constraints check what they must. Reserving the
batch's ids, the insert after the segment's last row and recording its span run as
one list of statements (``sqlite_steps``: with the Rust extension, the GIL released
once for all of them). A batch that cannot go that way (odd text or attributes, a wide
integer, an entry over the size limit, a value the schema refuses) goes entry by entry
through ``core.entries.normalize``, the one rule for every way into storage; what it
rejects is returned, the rest stored.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import apsw
import orjson

from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage import sqlite_spans as spans
from observabilipy.adapters.storage.sqlite_steps import Run, Values, run_steps
from observabilipy.core.backend import native as native_backend
from observabilipy.core.encoding.attributes import MAX_DEPTH, may_need_care
from observabilipy.core.entries import (
    ENTRY_JSON,
    MAX_ENTRY_BYTES,
    EntryRejectedError,
    Row,
    normalize,
)
from observabilipy.core.models import LogEntry
from observabilipy.encoders import native_json_needs_care

# Normalized rows, each with its id first.
_INSERT: Final = """
    INSERT INTO {table} (id, ts, level, logger, message, attributes)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5
    FROM jsonb_each(?)
"""
# The fast path: entries encoded by msgspec in one C call (LogEntry is an array:
# timestamp, level, message, attributes, logger), ids following the reserved base
# (:base; given through {id} and {given}, or left to SQLite: see _APPENDS), levels
# mapped in SQL. An unknown level, text that is not a string or attributes that are not
# an object become NULL, and a timestamp out of range fails its CHECK, so the statement
# fails and the batch goes through the rule: see insert_entries.
_INSERT_ENTRIES: Final = """
    INSERT INTO {table} ({id}ts, level, logger, message, attributes)
    SELECT {given}value ->> 0,
        CASE value ->> 1 WHEN 'info' THEN 20 WHEN 'debug' THEN 10 WHEN 'warning' THEN 30
            WHEN 'error' THEN 40 WHEN 'critical' THEN 50 END,
        iif(json_type(value, '$[4]') = 'text', value ->> 4, NULL),
        iif(json_type(value, '$[2]') = 'text', value ->> 2, NULL),
        iif(json_type(value, '$[3]') = 'object', value -> 3, NULL)
    FROM jsonb_each(:payload)
"""
# The same, with the Rust extension loaded on the connection: its table-valued function
# reads the batch into columns, so SQLite parses no JSON (a third of the insert's cost
# through jsonb_each). An entry it cannot read, or that the rule would rewrite (longer
# than :max_bytes, a wide integer), fails the statement as a constraint does: the
# batch is checked in the same pass that reads it.
_INSERT_ENTRIES_NATIVE: Final = """
    INSERT INTO {table} ({id}ts, level, logger, message, attributes)
    SELECT {given}ts, level, logger, message, attributes
    FROM observabilipy_entries(:payload, :max_bytes)
"""
# A batch whose ids follow the segment's largest goes in without them: SQLite then gives
# each row the id after the table's largest, :base + 1 onward, and skips the search of
# the table it makes per row for a given id (about a seventh of an insert). This stops
# the run before the insert when the largest is not :base (a segment's first batch, or
# ids left unused at the end of one): that batch goes in with its ids given.
_APPENDS: Final = "SELECT (SELECT max(id) FROM {table}) IS NOT :base AS stop"


def _insert_sql(table: str, *, native: bool, appending: bool) -> str:
    """The fast path's insert of a batch into ``table``: ids given from ``:base + 1``
    on, or (``appending``) left to SQLite."""
    sql, given = (
        (_INSERT_ENTRIES_NATIVE, ":base + rowid + 1, ")
        if native
        else (_INSERT_ENTRIES, ":base + key + 1, ")
    )
    if appending:
        return sql.format(table=table, id="", given="")
    return sql.format(table=table, id="id, ", given=given)


#: Batches taken from the Rust backend's queue, encoded already (``runtime.buffer``).
_ENCODED: Final = None if native_backend is None else native_backend.EntryBatch
#: What SQLite raises for a statement the data itself makes fail: never worth a retry.
DATA_ERRORS: Final = (apsw.ConstraintError, apsw.TooBigError, apsw.MismatchError)

#: An entry that could not be stored, and why.
Rejection = tuple[LogEntry | Row, str]


def encode_batch(
    entries: Sequence[LogEntry], max_bytes: int = MAX_ENTRY_BYTES, *, native: bool = False
) -> bytes | None:
    """The entries as the JSON array the fast insert reads, or None when some entry must
    go through ``normalize`` (see the module). ``native``: the insert itself checks.
    """
    needs_care = native_json_needs_care
    checked = native or needs_care is not None  # by the insert, or needs_care below
    payload: bytes | None
    try:
        if checked and _ENCODED is not None and isinstance(entries, _ENCODED):
            payload = entries.json()  # entries the native writer left are encoded now
        elif checked:
            payload = ENTRY_JSON.encode(entries)
        else:  # each entry checked by the rule's own test
            parts = list(map(ENTRY_JSON.encode, entries))
            if max(map(len, parts), default=0) > max_bytes or any(map(may_need_care, parts)):
                return None
            return b"[" + b",".join(parts) + b"]"
    except (TypeError, ValueError, RecursionError, OverflowError):  # UnicodeEncodeError too
        return None
    if native or payload is None or needs_care is None:
        return payload
    # The batch array and each entry's add two levels above its attributes.
    return None if needs_care(payload, max_bytes, MAX_DEPTH + 2) else payload


class _Slice(NamedTuple):
    """Ids reserved for a slice of a batch: ``base + 1``..``base + size``, in ``table``,
    the segment whose ids start at ``segment_first``."""

    base: int
    size: int
    table: str
    segment_first: int

    def stored(self, connection: apsw.Connection) -> None:
        """Record the slice's rows in the spans that bound reads by time."""
        spans.record_span(
            connection, self.table, self.segment_first, self.base + 1, self.base + self.size
        )


#: The newest segment each connection last wrote into: a batch's statements name its
#: table in advance, and a guess gone stale (another process started a segment) only
#: stops the run before the insert (``segments.NEWEST``'s ``stop``).
_NEWEST_SEEN: Final = weakref.WeakKeyDictionary[apsw.Connection, int]()
#: The statements of ``_insert_at_once``, and the insert's place among them.
_AT_ONCE: Final = 5
_INSERT_STEP: Final = 3


def _parameters(wanted: int, segmenting: segments.Segmenting, expected: int) -> dict[str, Any]:
    return {
        "wanted": wanted,
        "rows": segmenting.rows,
        "seconds": float(segmenting.seconds),
        "now": time.time(),
        "expected": expected,
    }


def _target(
    connection: apsw.Connection,
    wanted: int,
    segmenting: segments.Segmenting,
    native: bool,
    reserved: Values | None = None,
) -> _Slice:
    """Reserve ids for up to ``wanted`` rows, no more than the segment they go into has
    room for, starting a segment when the newest must rotate. ``reserved``: what
    ``segments.RESERVE`` and ``segments.NEWEST`` returned in a run already made."""
    if reserved is None:
        run = run_steps(
            connection,
            (segments.RESERVE, segments.NEWEST),
            _parameters(wanted, segmenting, -1),
            native=native,
        )
        if run.error is not None:
            raise run.error
        reserved = run.values
    base, number, first = reserved["base"], reserved["segment"], reserved["segment_first"]
    if reserved["rotate"]:
        number, first = number + 1, base + 1
        segments.add_segment(connection, number, first, time.time())
    _NEWEST_SEEN[connection] = number
    count = min(wanted, reserved["room"])
    if count < wanted:  # the rest go into the next segment, with ids reserved then
        segments.give_back_ids(connection, base + count)
    return _Slice(base, count, segments.table(number), first)


def insert_rows(
    connection: apsw.Connection,
    rows: Sequence[Row],
    segmenting: segments.Segmenting = segments.DEFAULT_SEGMENTING,
) -> None:
    """Insert normalized rows (the caller owns the transaction)."""
    while rows:
        target = _target(connection, len(rows), segmenting, native=False)
        base = target.base
        _insert_with_ids(
            connection,
            target.table,
            [(base + i + 1, *row) for i, row in enumerate(rows[: target.size])],
        )
        target.stored(connection)
        rows = rows[target.size :]


def _insert_with_ids(
    connection: apsw.Connection, table: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    connection.execute(_INSERT.format(table=table), (orjson.dumps(rows),))


def insert_entries(
    connection: apsw.Connection,
    entries: Sequence[LogEntry],
    max_bytes: int = MAX_ENTRY_BYTES,
    segmenting: segments.Segmenting = segments.DEFAULT_SEGMENTING,
    *,
    native: bool = False,
) -> tuple[int, list[Rejection]]:
    """Insert entries (the caller owns the transaction): (rows stored, rejections).
    ``native``: the connection has the Rust extension loaded (``load_sqlite_extension``).

    Storage faults (a full disk, a lock held too long) raise, with nothing of the batch
    stored; an entry that can never be stored is returned with its reason instead. A
    batch larger than the room left in the newest segment is split at its end.
    """
    stored, rejected = 0, list[Rejection]()
    while entries:
        payload = encode_batch(entries, max_bytes, native=native)
        reserved = None
        if payload is not None:
            run = _insert_at_once(connection, len(entries), payload, max_bytes, segmenting, native)
            if run.error is None and run.done == _AT_ONCE:
                return stored + len(entries), rejected
            failed_insert = run.done == _INSERT_STEP and isinstance(run.error, DATA_ERRORS)
            if run.error is not None and not failed_insert:
                raise run.error
            # Stopped before the insert (a segment to start, too little room, another
            # process started one, or ids to give: see _APPENDS), or the data made the
            # insert fail: ids are reserved.
            reserved = run.values
            if run.error is not None:
                payload = None  # go entry by entry
        target = _target(connection, len(entries), segmenting, native, reserved)
        whole = target.size == len(entries)
        part = entries[: target.size]
        more, refused = _insert_slice(
            connection,
            part,
            target,
            max_bytes,
            native,
            payload if whole or payload is None else encode_batch(part, max_bytes, native=native),
        )
        target.stored(connection)
        stored, rejected = stored + more, rejected + refused
        entries = entries[target.size :]
    return stored, rejected


def _insert_at_once(
    connection: apsw.Connection,
    wanted: int,
    payload: bytes,
    max_bytes: int,
    segmenting: segments.Segmenting,
    native: bool,
) -> Run:
    """Reserve ids, insert the batch after the newest segment's last row and record its
    span, as one run (see ``sqlite_steps``): ``_AT_ONCE`` statements done, or a stop or an
    error on the way with what the statements before returned."""
    expected = _NEWEST_SEEN.get(connection, -1)
    steps = [segments.RESERVE, segments.NEWEST]
    if expected >= 0:  # else NEWEST stops the run: there is no guess to insert into
        table = segments.table(expected)
        steps += [
            _APPENDS.format(table=table),
            _insert_sql(table, native=native, appending=True),
            spans.record_sql(table),
        ]
    run = run_steps(
        connection,
        steps,
        {**_parameters(wanted, segmenting, expected), "payload": payload, "max_bytes": max_bytes},
        native=native,
    )
    if "segment" in run.values and not run.values["stop"]:
        _NEWEST_SEEN[connection] = run.values["segment"]
    return run


def _insert_slice(
    connection: apsw.Connection,
    entries: Sequence[LogEntry],
    target: _Slice,
    max_bytes: int,
    native: bool,
    payload: bytes | None,
) -> tuple[int, list[Rejection]]:
    """Insert a slice into the ids ``target`` reserved: ``payload`` (its entries as
    ``encode_batch`` writes them) in one statement, or entry by entry through the rule
    when there is none or the data makes the statement fail."""
    base, table = target.base, target.table
    if payload is not None:
        insert = _insert_sql(table, native=native, appending=False)
        try:
            parameters = {"payload": payload, "base": base, "max_bytes": max_bytes}
            connection.execute(insert, parameters)
        except DATA_ERRORS:
            pass  # the failed statement changed nothing; go entry by entry
        else:
            return len(entries), []
    rows: list[tuple[Any, ...]] = []
    rejected: list[Rejection] = []
    for index, entry in enumerate(entries):
        try:
            rows.append((base + index + 1, *normalize(entry, max_bytes)))
        except EntryRejectedError as error:
            rejected.append((entry, str(error)))
        except Exception as error:  # an object broken beyond the rule: never stop the batch
            rejected.append((entry, f"cannot be normalized: {type(error).__name__}"))
    refused = _insert_splitting(connection, table, rows)
    return len(rows) - len(refused), rejected + refused


def _insert_splitting(
    connection: apsw.Connection, table: str, rows: Sequence[tuple[Any, ...]]
) -> list[Rejection]:
    """Insert rows (their ids first); if the data makes a statement fail, halve it until
    the rows at fault are found alone. Returns those, with SQLite's reason."""
    if not rows:
        return []
    try:
        _insert_with_ids(connection, table, rows)
    except DATA_ERRORS as error:
        if len(rows) == 1:
            return [(rows[0][1:], f"refused by the database: {error}")]
        middle = len(rows) // 2
        return _insert_splitting(connection, table, rows[:middle]) + _insert_splitting(
            connection, table, rows[middle:]
        )
    return []


def normalize_all(entries: Sequence[LogEntry], max_bytes: int = MAX_ENTRY_BYTES) -> list[Row]:
    """Every entry's row, or ``EntryRejectedError`` for the first that cannot be stored."""
    return [normalize(entry, max_bytes) for entry in entries]
