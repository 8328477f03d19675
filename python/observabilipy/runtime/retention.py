"""Retention: drop whole log segments beyond the rules, age out per-level rows and
history in bounded steps, and give the space back.

Row-count and age rules never delete rows one by one: the log table is kept in
segments (``sqlite_segments``) sized from the rules, about a quarter of the rule each,
and a segment goes whole (one ``DROP TABLE``, whatever it holds) once every row in it is
beyond the rule. The file so holds the rule plus at most one segment (and the batch
written before the next check, which follows every batch). Per-level rules still delete rows inside
segments, in steps of ``step_rows``; the whole run stops after ``budget`` seconds, so
the writer is never away from its buffer for long.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import apsw

from observabilipy.adapters.storage import sqlite_outbox, sqlite_spans
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite_schema import immediate, scalar
from observabilipy.core.levels import STDLIB_NUMBERS, parse_level
from observabilipy.core.registry import Registry
from observabilipy.runtime.health import RECENT
from observabilipy.runtime.stderr import say

#: Segments a rule spans: the file holds at most a quarter of the rule beyond it.
SEGMENTS_PER_RULE: Final = 4
#: Fewest ids per segment: a new segment changes the schema, which every connection
#: then reads again, so tiny rules do not rotate on every batch.
MIN_SEGMENT_ROWS: Final = 1000


@dataclass(frozen=True)
class Retention:
    """What to keep. ``None`` keeps everything for that rule.

    Segments beyond ``max_rows`` and ``max_age`` are dropped as soon as the writer
    finds them (after every batch); ``interval`` paces the rest: per-level rules, history and
    vacuum. ``budget`` bounds the seconds one run may take.
    """

    max_age: float | None = None  # seconds, all levels
    max_rows: int | None = None
    max_age_by_level: Mapping[str, float] = field(default_factory=dict)  # e.g. {"debug": 3600}
    history_max_age: float | None = 7 * 24 * 3600.0
    interval: float = 10.0
    step_rows: int = 5000
    budget: float = 0.2
    #: Rows an exporter has not shipped stay past the rules until the file holds more
    #: than this many bytes of data; then the oldest expired segments go anyway, their
    #: unshipped rows counted. None: they stay however large the file grows.
    hard_cap_bytes: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("max_age", self.max_age), ("history_max_age", self.history_max_age)):
            if value is not None and not value > 0:
                raise ValueError(f"retention {name} must be > 0 seconds, got {value!r}")
        if self.max_rows is not None and (not isinstance(self.max_rows, int) or self.max_rows < 1):
            raise ValueError(f"retention max_rows must be a positive int, got {self.max_rows!r}")
        for level, age in self.max_age_by_level.items():
            parse_level(level)
            if not age > 0:
                raise ValueError(f"retention for level {level!r} must be > 0 seconds, got {age!r}")
        cap = self.hard_cap_bytes
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
            raise ValueError(f"retention hard_cap_bytes must be a positive int, got {cap!r}")
        if not self.interval > 0 or self.step_rows < 1 or not self.budget > 0:
            raise ValueError("retention interval, step_rows and budget must be positive")

    def rules(self) -> dict[str, Any]:
        """What is kept, as ``GET /healthz`` shows it (None: no limit)."""
        return {
            "max_age": self.max_age,
            "max_rows": self.max_rows,
            "max_age_by_level": dict(self.max_age_by_level),
            "history_max_age": self.history_max_age,
            "hard_cap_bytes": self.hard_cap_bytes,
        }

    @property
    def segmenting(self) -> segments.Segmenting:
        """Segments sized from the rules: a quarter of each."""
        default = segments.DEFAULT_SEGMENTING
        rows, seconds = default.rows, default.seconds
        if self.max_rows is not None:
            rows = min(rows, max(MIN_SEGMENT_ROWS, self.max_rows // SEGMENTS_PER_RULE))
        if self.max_age is not None:
            seconds = min(seconds, self.max_age / SEGMENTS_PER_RULE)
        return segments.Segmenting(rows, seconds)


class Removed(NamedTuple):
    """What one retention run removed, and what it cost."""

    rows: int = 0
    segments: int = 0
    bytes: int = 0  # pages freed, in bytes (handed back to the file system or reused)
    seconds: float = 0.0
    behind: int = 0  # segments still beyond the rules when the run stopped
    unshipped: int = 0  # rows dropped before every exporter had shipped them


def drop_expired(
    connection: apsw.Connection, retention: Retention, now: float, budget: float | None = None
) -> Removed:
    """Drop every segment beyond the row and age rules, oldest first, each in a
    transaction of its own, until none is left or ``budget`` seconds are spent."""
    rules = (retention.max_rows, retention.max_age, retention.max_age_by_level or None)
    if rules == (None, None, None):  # nothing ever expires: the common case, per batch
        return Removed()
    start = time.monotonic()
    deadline = start + (retention.budget if budget is None else budget)
    rows = dropped = pages = unshipped = 0
    while (segment := _expired(connection, retention, now)) is not None:
        if dropped and time.monotonic() >= deadline:
            break
        free = _free_pages(connection)
        with immediate(connection):
            if _expired(connection, retention, now) == segment:  # still, after the lock
                unshipped += _owed(connection, segment, count=True)
                rows += segments.drop_segment(connection, segment, now)
                dropped += 1
        pages += max(0, _free_pages(connection) - free)
    behind = _count_expired(connection, retention, now) if dropped else 0
    seconds = time.monotonic() - start
    return Removed(rows, dropped, pages * _page_size(connection), seconds, behind, unshipped)


def apply(connection: apsw.Connection, retention: Retention, now: float) -> Removed:
    """A whole run: expired segments, then per-level rules and history in bounded steps,
    then a bounded incremental vacuum."""
    start = time.monotonic()
    deadline = start + retention.budget
    dropped = drop_expired(connection, retention, now)
    free = _free_pages(connection)
    rows = dropped.rows
    for level, age in retention.max_age_by_level.items():
        number = STDLIB_NUMBERS[parse_level(level)]
        for segment in segments.segments(connection):
            rows += _delete_rows(connection, segment, number, now - age, retention, deadline)
    if retention.history_max_age is not None:
        with connection:
            connection.execute(
                "DELETE FROM metric_history WHERE rowid IN (SELECT rowid FROM metric_history "
                "WHERE ts < ? LIMIT ?)",
                (now - retention.history_max_age, retention.step_rows),
            )
    freed = dropped.bytes + max(0, _free_pages(connection) - free) * _page_size(connection)
    _vacuum(connection)
    seconds = time.monotonic() - start
    return Removed(rows, dropped.segments, freed, seconds, dropped.behind, dropped.unshipped)


def _delete_rows(
    connection: apsw.Connection,
    segment: segments.Segment,
    level: int,
    before: float,
    retention: Retention,
    deadline: float,
) -> int:
    """Delete one level's rows older than ``before`` from a segment, ``step_rows`` per
    transaction; at least one step per run, so a small budget still progresses."""
    name = segments.table(segment.number)
    removed = 0
    while True:
        with connection:
            try:
                connection.execute(
                    f"DELETE FROM {name} WHERE id IN (SELECT id FROM {name} WHERE level = ?1 "
                    f"AND ts < ?2 AND id <= {sqlite_spans.ceiling_sql('?2')} ORDER BY id LIMIT ?3)",
                    (level, before, retention.step_rows),
                )
            except apsw.SQLError:  # dropped meanwhile by another process's retention
                return removed
            step = int(connection.changes())
        removed += step
        if step < retention.step_rows or time.monotonic() >= deadline:
            return removed


def _expired(
    connection: apsw.Connection, retention: Retention, now: float
) -> segments.Segment | None:
    """The oldest segment if every row in it is beyond the rules, else None."""
    found = segments.segments(connection)
    if _beyond(connection, retention, now, found, 0) and _may_drop(connection, retention, found[0]):
        return found[0]
    return None


def _count_expired(connection: apsw.Connection, retention: Retention, now: float) -> int:
    found = segments.segments(connection)
    count = 0
    while count < len(found) and _beyond(connection, retention, now, found, count):
        if not _may_drop(connection, retention, found[count]):
            break
        count += 1
    return count


def _may_drop(connection: apsw.Connection, retention: Retention, segment: segments.Segment) -> bool:
    """Whether a segment beyond the rules may go: every exporter shipped it, or the file
    is over its hard cap."""
    return not _owed(connection, segment) or _over_cap(connection, retention)


def _owed(connection: apsw.Connection, segment: segments.Segment, count: bool = False) -> int:
    """Whether (or with ``count``, how many) rows of ``segment`` an exporter has not
    shipped yet: one look at the exporters' table, one index probe of the segment."""
    after = sqlite_outbox.oldest_cursor(connection)
    if after is None:
        return 0
    name = segments.table(segment.number)
    what = "count(*)" if count else "1"
    return int(scalar(connection, f"SELECT {what} FROM {name} WHERE id > ? LIMIT 1", (after,)) or 0)


def _over_cap(connection: apsw.Connection, retention: Retention) -> bool:
    cap = retention.hard_cap_bytes
    if cap is None:
        return False
    used = int(scalar(connection, "PRAGMA page_count")) - _free_pages(connection)
    return used * _page_size(connection) > cap


def _beyond(
    connection: apsw.Connection,
    retention: Retention,
    now: float,
    found: list[segments.Segment],
    index: int,
) -> bool:
    """Whether ``found[index]`` (all before it gone) lies wholly beyond a rule: the ids
    after it already make up ``max_rows``, or its newest row is older than ``max_age``."""
    last = index + 1 == len(found)
    if retention.max_rows is not None and not last:
        kept = segments.last_id(connection) - found[index + 1].first_id + 1
        if kept >= retention.max_rows:
            return True
    if retention.max_age is None and not retention.max_age_by_level:
        return False
    newest = segments.newest_ts(connection, found[index])
    if newest is None:  # emptied by per-level rules: nothing in it to keep
        return not last
    return retention.max_age is not None and newest < now - retention.max_age


def _free_pages(connection: apsw.Connection) -> int:
    return int(scalar(connection, "PRAGMA freelist_count"))


def _page_size(connection: apsw.Connection) -> int:
    return int(scalar(connection, "PRAGMA page_size"))


def _vacuum(connection: apsw.Connection) -> None:
    """Hand free pages back to the file system a bounded chunk at a time. New rows
    reuse free pages first, so under steady load the file stays flat either way."""
    free = _free_pages(connection)
    if free > 256:
        connection.execute(f"PRAGMA incremental_vacuum({min(free, 4096)})").fetchall()


class RetentionRuns:
    """The engine's retention: expired segments dropped after every batch, the whole
    run every ``interval``, and what they removed and cost in ``/metrics``."""

    def __init__(self, retention: Retention, registry: Registry) -> None:
        self.retention = retention
        self._rows = registry.counter(
            "observabilipy_retention_rows_removed_total", "Log rows removed by retention"
        )
        self._bytes = registry.counter(
            "observabilipy_retention_bytes_removed_total",
            "Bytes of file pages freed by retention (reused, or handed back by vacuum)",
        )
        self._segments = registry.counter(
            "observabilipy_retention_segments_dropped_total", "Whole log segments dropped"
        )
        self._seconds = registry.counter(
            "observabilipy_retention_seconds_total", "Time spent by retention on the writer"
        )
        self._behind = registry.gauge(
            "observabilipy_retention_segments_behind",
            "Log segments beyond the rules when retention last stopped",
        )
        self._unshipped = registry.counter(
            "observabilipy_export_dropped_unshipped_total",
            "Log rows retention dropped before every exporter shipped them (file over "
            "its hard cap)",
        )
        #: Segments beyond the rules after the last two runs that dropped any.
        self.behind: tuple[int, int] = (0, 0)
        self.last_unshipped = 0.0  # time.monotonic() of the last unshipped drop

    def drop(self, connection: apsw.Connection) -> None:
        self._record(drop_expired(connection, self.retention, time.time()))

    def run(self, connection: apsw.Connection) -> None:
        self._record(apply(connection, self.retention, time.time()))

    def _record(self, removed: Removed) -> None:
        self._rows.inc(removed.rows)
        self._bytes.inc(removed.bytes)
        self._segments.inc(removed.segments)
        self._seconds.inc(removed.seconds)
        if removed.segments:
            self.behind = (self.behind[1], removed.behind)
            self._behind.set(removed.behind)
        if removed.unshipped:
            if not self.last_unshipped:
                say(
                    f"retention dropped {removed.unshipped} log rows an exporter had not "
                    f"shipped: the file is over its hard cap ({self.retention.hard_cap_bytes} "
                    "bytes); further losses are counted in "
                    "observabilipy_export_dropped_unshipped_total"
                )
            self.last_unshipped = time.monotonic()
            self._unshipped.inc(removed.unshipped)

    def problems(self) -> list[str]:
        """Why ``/healthz`` should say 503: the file beyond its rules, not coming down;
        rows dropped unshipped in the last minute."""
        found = []
        before, now = self.behind
        if now and now >= before:
            found.append(
                f"retention is behind: {now} log segments beyond the rules, not coming down"
            )
        if self.last_unshipped and time.monotonic() - self.last_unshipped < RECENT:
            found.append(
                "log rows were dropped before being shipped in the last minute "
                f"({int(self._unshipped.get())} in all): the file is over its hard cap"
            )
        return found
