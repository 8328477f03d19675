"""The log table in segments: ``logs_seg_<n>`` tables in id order, read as one.

Retention drops a whole segment at once (``DROP TABLE``: its pages return to the file
in one step, however many rows it held) instead of deleting row by row, which costs
about as much as inserting. Reads stay one stream ordered by id: the ``logs`` view is
every segment's rows ``UNION ALL``, which SQLite merges in id order with each reader's
range pushed into every segment. Writers insert into the newest segment directly,
with ids reserved in ``log_state`` in the same transaction, so ids only grow across
segments and processes. ``INSTEAD OF`` triggers let other tools insert into and
delete from ``logs`` as before.

The view and the triggers are rebuilt whenever the segments change; every statement
here runs inside its caller's write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

import apsw

from observabilipy.adapters.storage import sqlite_spans as spans
from observabilipy.adapters.storage.sqlite_schema import scalar

_COLUMNS: Final = "id, ts, level, logger, message, attributes"
#: One segment's table and indexes; ``{n}`` is its number.
SEGMENT_DDL: Final = """
    CREATE TABLE logs_seg_{n} (
        id INTEGER PRIMARY KEY,                -- the cursor: reserved in log_state
        ts REAL NOT NULL CHECK (ts >= -62135596800.0 AND ts < 253402300800.0),
        -- Not `level IN (...)`: SQLite evaluates that list per row, which cost as much
        -- as the rest of an insert. Segments made earlier keep it; the rule is the same.
        level INTEGER NOT NULL
            CHECK (level = 10 OR level = 20 OR level = 30 OR level = 40 OR level = 50),
        logger TEXT NOT NULL,
        message TEXT NOT NULL,
        attributes TEXT NOT NULL               -- a JSON object
    );
    -- No index on ts: reads by time are bounded by log_spans (see sqlite_spans).
    -- Warnings and worse are few and wanted fast; indexing every row costs ingest speed.
    CREATE INDEX logs_seg_{n}_problems ON logs_seg_{n} (level, id) WHERE level >= 30;
"""


@dataclass(frozen=True)
class Segmenting:
    """When the newest segment is full: it holds ``rows`` ids, or is ``seconds`` old."""

    rows: int = 1_000_000
    seconds: float = 86_400.0


DEFAULT_SEGMENTING: Final = Segmenting()


class Segment(NamedTuple):
    number: int
    first_id: int  # ids of its rows are at least this
    created: float  # epoch seconds


def segments(connection: apsw.Connection) -> list[Segment]:
    """Every segment, oldest first."""
    return [
        Segment(int(n), int(first), float(created))
        for n, first, created in connection.execute(
            "SELECT n, first_id, created FROM log_segments ORDER BY n"
        )
    ]


def table(number: int) -> str:
    return f"logs_seg_{int(number)}"


def last_id(connection: apsw.Connection) -> int:
    """The newest id ever given (0 before the first row): rows stored later get more."""
    return int(scalar(connection, "SELECT last_id FROM log_state") or 0)


#: Reserve ``:wanted`` ids: ``first``..``last``, ``base`` the one before. As the
#: transaction's first write it takes the file's write lock, so no other writer
#: reserves the same ids or changes the segments before the transaction ends.
RESERVE: Final = """
    UPDATE log_state SET last_id = last_id + :wanted
    RETURNING last_id - :wanted AS base, last_id - :wanted + 1 AS first, last_id AS last
"""
#: The newest segment (``segment``, ``segment_first``), and the rule for when rows from
#: ``:base + 1`` on must start a new one instead (``rotate``): it holds ``:rows`` ids or
#: is ``:seconds`` old at ``:now``, and is not empty. ``room``: the ids the segment
#: they go into has left. ``stop``: not all ``:wanted`` rows can go into segment
#: ``:expected`` as it is.
NEWEST: Final = """
    SELECT n AS segment, first_id AS segment_first, rotate,
        iif(rotate, :rows, first_id + :rows - :base - 1) AS room,
        rotate OR n != :expected OR first_id + :rows - :base - 1 < :wanted AS stop
    FROM (SELECT n, first_id, first_id < :base + 1
            AND (:base + 1 - first_id >= :rows OR :now - created >= :seconds) AS rotate
        FROM log_segments ORDER BY n DESC LIMIT 1)
"""


def give_back_ids(connection: apsw.Connection, last: int) -> None:
    """Make ``last`` the newest id given, returning ids reserved beyond it in this same
    transaction (no one else can have seen them)."""
    connection.execute("UPDATE log_state SET last_id = ?", (last,))


def current(connection: apsw.Connection) -> Segment:
    """The newest segment, the one rows go into."""
    row = connection.execute(
        "SELECT n, first_id, created FROM log_segments ORDER BY n DESC LIMIT 1"
    ).fetchone()
    assert row is not None, "a file with segments always has one"
    return Segment(int(row[0]), int(row[1]), float(row[2]))


def add_segment(connection: apsw.Connection, number: int, first_id: int, now: float) -> Segment:
    connection.execute(SEGMENT_DDL.format(n=number))
    connection.execute(
        "INSERT INTO log_segments (n, first_id, created) VALUES (?, ?, ?)", (number, first_id, now)
    )
    rebuild_view(connection)
    return Segment(number, first_id, now)


def drop_segment(connection: apsw.Connection, segment: Segment, now: float) -> int:
    """Drop one segment's table and rows at once: the rows it held. When it is the
    current one, an empty segment takes its place first (there is always one)."""
    if segment.number == current(connection).number:
        add_segment(connection, segment.number + 1, last_id(connection) + 1, now)
    name = table(segment.number)
    rows = int(scalar(connection, f"SELECT count(*) FROM {name}"))  # reads page headers only
    connection.execute(f"DROP TABLE {name}")
    spans.forget(connection, segment.first_id, _end(connection, segment) or last_id(connection) + 1)
    connection.execute("DELETE FROM log_segments WHERE n = ?", (segment.number,))
    rebuild_view(connection)
    return rows


def _end(connection: apsw.Connection, segment: Segment) -> int | None:
    """The first id of the segment after ``segment`` (None for the newest)."""
    end = scalar(
        connection, "SELECT min(first_id) FROM log_segments WHERE n > ?", (segment.number,)
    )
    return None if end is None else int(end)


def newest_ts(connection: apsw.Connection, segment: Segment) -> float | None:
    """The newest timestamp in a segment (or a later one, when rows were deleted from
    it), None when it is empty: read from its spans."""
    return spans.newest_ts(
        connection, table(segment.number), segment.first_id, _end(connection, segment)
    )


def rebuild_view(connection: apsw.Connection) -> None:
    """``logs`` as the union of the segments, and its triggers for other writers."""
    found = segments(connection)
    numbers = [segment.number for segment in found]
    union = " UNION ALL ".join(f"SELECT {_COLUMNS} FROM {table(n)}" for n in numbers)
    newest = table(numbers[-1])
    deletes = " ".join(f"DELETE FROM {table(n)} WHERE id = OLD.id;" for n in numbers)
    given = "(SELECT last_id FROM log_state)"
    times = "SELECT NEW.ts AS low, NEW.ts AS high"
    span = spans.span_sql(given, given, times, str(found[-1].first_id)) + ";"
    if scalar(connection, "SELECT 1 FROM sqlite_master WHERE name = 'log_spans'") is None:
        span = ""  # a file migrating from before spans (version 6 adds them, and this again)
    connection.execute(
        f"""
        DROP VIEW IF EXISTS logs;
        CREATE VIEW logs AS {union};
        CREATE TRIGGER logs_insert INSTEAD OF INSERT ON logs BEGIN
            UPDATE log_state SET last_id = max(last_id + 1, coalesce(NEW.id, 0));
            INSERT INTO {newest} ({_COLUMNS}) VALUES (
                (SELECT last_id FROM log_state),
                NEW.ts, NEW.level, NEW.logger, NEW.message, NEW.attributes);
            {span}
        END;
        CREATE TRIGGER logs_delete INSTEAD OF DELETE ON logs BEGIN {deletes} END;
        """
    )


def bounds(
    connection: apsw.Connection, since: float | None, until: float | None
) -> tuple[int, int | None]:
    """Ids bounding the rows with times at or after ``since`` and before ``until``: the
    rows lie above the first and at or below the second (None: no bound), as the spans
    show them now. A row stored later gets a higher id, above the first bound; the next
    read's bounds take it in."""
    with connection:  # one snapshot of the spans and the last id
        floor = -1 if since is None else spans.id_floor(connection, since, last_id(connection))
        ceiling = None if until is None else spans.id_ceiling(connection, until)
    return floor, ceiling


def read_unsegmented(connection: apsw.Connection) -> None:
    """Let a read-only connection read a file of an older schema as it is (the ``logs``
    command never writes, so never migrates): its one ``logs`` table, no segments, and
    the newest id from the table itself, as temporary views on this connection only."""
    connection.execute(
        """
        CREATE TEMP VIEW log_state AS SELECT coalesce(max(id), 0) AS last_id FROM main.logs;
        CREATE TEMP VIEW log_segments AS
            SELECT 0 AS n, 0 AS first_id, 0.0 AS created WHERE 0;
        """
    )
