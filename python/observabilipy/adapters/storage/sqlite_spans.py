"""Which ids hold which times: ``log_spans``, one row per run of ids (a block range index).

Segments keep no index on ``ts``: keeping one cost about a third of every insert, for
reads by time that are rare beside writes. Instead each write records the span of ids
it stored and the oldest and newest time among them, widening the newest span while it
stays within one segment and ``SPAN_IDS`` ids, so a quiet service writing a row at a
time adds a span per ``SPAN_IDS`` rows, not per row. Time filters and retention turn a
time into an id bound here (``id_floor``, ``id_ceiling``) and check each row's time
within the bounds. The bounds are never too tight: every row lies in a span holding its
time, whichever way it came in (``record_span`` for our writers, the ``logs`` view's
trigger for other tools); deleting rows leaves spans wider than needed, never narrower.

Every statement here runs inside its caller's transaction.
"""

from __future__ import annotations

from typing import Final

import apsw

from observabilipy.adapters.storage.sqlite_schema import scalar

#: The most ids a span widens to: the rows a time filter may scan past at its edges.
SPAN_IDS: Final = 4096

DDL: Final = """
    CREATE TABLE log_spans (
        first_id INTEGER PRIMARY KEY,  -- ids first_id..last_id are this span's
        last_id INTEGER NOT NULL,
        min_ts REAL NOT NULL,          -- no row in the span is older
        max_ts REAL NOT NULL           -- nor newer
    );
"""


def span_sql(first: str, last: str, times: str, segment_first: str) -> str:
    """A statement recording that ids ``first``..``last`` hold the times ``times`` gives
    (a query with columns ``low`` and ``high``, NULL when no row was stored): the
    newest span widens when it lies in the same segment (starts at ``segment_first`` or
    later) and stays within ``SPAN_IDS`` ids, else a span starts. One statement, so a
    writer waits for the GIL once for it; the one rule for our writers and for the
    ``logs`` view's insert trigger."""
    return f"""
        INSERT INTO log_spans (first_id, last_id, min_ts, max_ts)
        SELECT coalesce((SELECT first_id FROM log_spans
                WHERE first_id = (SELECT max(first_id) FROM log_spans)
                    AND first_id >= {segment_first} AND {last} - first_id < {SPAN_IDS}),
                {first}),
            {last}, low, high
        FROM ({times}) WHERE low IS NOT NULL
        ON CONFLICT (first_id) DO UPDATE SET last_id = excluded.last_id,
            min_ts = min(min_ts, excluded.min_ts), max_ts = max(max_ts, excluded.max_ts)
    """


def record_sql(table: str) -> str:
    """The statement recording the rows of ``table`` (a segment whose ids start at
    ``:segment_first``) with ids ``:first``..``:last``: nothing when none was stored."""
    times = f"SELECT min(ts) AS low, max(ts) AS high FROM {table} WHERE id BETWEEN :first AND :last"
    return span_sql(":first", ":last", times, ":segment_first")


def record_span(
    connection: apsw.Connection, table: str, segment_first: int, first: int, last: int
) -> None:
    """Record the rows just stored with ids ``first``..``last`` in ``table``, a segment
    whose ids start at ``segment_first`` (nothing when none was stored)."""
    connection.execute(
        record_sql(table), {"first": first, "last": last, "segment_first": segment_first}
    )


def id_floor(connection: apsw.Connection, since: float, newest: int) -> int:
    """An id below which no row has a time at or after ``since`` (``newest``, the last id
    given, when none has)."""
    floor = scalar(
        connection, "SELECT min(first_id) - 1 FROM log_spans WHERE max_ts >= ?", (since,)
    )
    return newest if floor is None else int(floor)


def ceiling_sql(until: str) -> str:
    """An expression: an id above which no row stored so far has a time before ``until``
    (an SQL expression). Part of a statement, so a write needs no read before it (a
    read first makes a deferred transaction's write fail when another process wrote
    meanwhile, without the busy timeout)."""
    return f"(SELECT coalesce(max(last_id), 0) FROM log_spans WHERE min_ts < {until})"


def id_ceiling(connection: apsw.Connection, until: float) -> int:
    """An id above which no row stored so far has a time before ``until``."""
    return int(scalar(connection, f"SELECT {ceiling_sql('?')}", (until,)))


def newest_ts(connection: apsw.Connection, table: str, first: int, end: int | None) -> float | None:
    """The newest time (or a later one, when rows were deleted) among the rows of
    ``table``, a segment holding ids from ``first`` up to ``end`` (excluded; None: no
    end); None when it holds no row."""
    newest = scalar(
        connection,
        f"""SELECT CASE WHEN EXISTS (SELECT 1 FROM {table}) THEN coalesce(
            (SELECT max(max_ts) FROM log_spans WHERE first_id >= :first AND first_id < :end),
            (SELECT max(ts) FROM {table})) END""",
        {"first": first, "end": 2**63 - 1 if end is None else end},
    )
    return None if newest is None else float(newest)


def forget(connection: apsw.Connection, first: int, end: int) -> None:
    """Drop the spans of ids from ``first`` up to ``end`` (a segment being dropped)."""
    connection.execute("DELETE FROM log_spans WHERE first_id >= ? AND first_id < ?", (first, end))


def add_spans(connection: apsw.Connection, tables: list[str]) -> None:
    """Version 6: spans for the rows already stored, ``SPAN_IDS`` rows at a time, and the
    segments' ts indexes dropped (the spans bound every read by time from now on)."""
    connection.execute(DDL)
    for table in tables:
        start = scalar(connection, f"SELECT min(id) FROM {table}")
        while start is not None:  # steps by rows, not ids: a gap in ids costs nothing
            connection.execute(
                f"""INSERT INTO log_spans SELECT min(id), max(id), min(ts), max(ts) FROM (
                    SELECT id, ts FROM {table} WHERE id >= ? ORDER BY id LIMIT {SPAN_IDS})""",
                (start,),
            )
            last = scalar(connection, "SELECT max(last_id) FROM log_spans")
            start = scalar(connection, f"SELECT min(id) FROM {table} WHERE id > ?", (last,))
        for (index,) in connection.execute(
            f"""SELECT name FROM pragma_index_list('{table}') AS found WHERE origin = 'c'
                AND (SELECT group_concat(name) FROM pragma_index_info(found.name)) = 'ts'"""
        ).fetchall():
            connection.execute(f'DROP INDEX "{index}"')


def read_without_spans(connection: apsw.Connection) -> None:
    """Let a read-only connection read a file older than spans (the ``logs`` command
    never migrates): one span over every id and time, so no read is bounded by it."""
    connection.execute(
        """CREATE TEMP VIEW log_spans AS SELECT -1 AS first_id,
            9223372036854775807 AS last_id, -1e308 AS min_ts, 1e308 AS max_ts"""
    )
