"""Metric history in the SQLite file: snapshots kept as ``MetricSample`` rows.

The latest values every process shares live in ``sqlite_state``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from typing import Any, Final

import apsw
import orjson

from observabilipy.adapters.storage import sqlite_history
from observabilipy.adapters.storage.sqlite import open_connection
from observabilipy.core.models import MetricFamily, MetricSample


class SQLiteMetricsStorage:
    """The metrics port over the file's snapshot history (``MetricSample`` rows)."""

    def __init__(self, path: str, *, busy_ms: int = 5000) -> None:
        self.path = path
        self._connection = open_connection(path, busy_ms=busy_ms)
        self._lock = threading.Lock()

    def write(self, sample: MetricSample) -> None:
        """Keep one sample in the history."""
        self.write_many([sample])

    def write_many(self, samples: Iterable[MetricSample], process: int = 0) -> None:
        """Keep samples in the history, in one transaction."""
        with self._lock:
            insert_history(self._connection, samples, process)

    def read(self, since: float = 0) -> list[MetricSample]:
        """History at or after ``since``, oldest first."""
        with self._lock:
            rows: list[Any] = self._connection.execute(
                "SELECT sample, ts, value, labels FROM metric_history WHERE ts >= ? "
                "ORDER BY ts, rowid",
                (since,),
            ).fetchall()
        return [
            MetricSample(name, ts, value, orjson.loads(labels)) for name, ts, value, labels in rows
        ]

    def names(self, match: str = "", limit: int = 1000) -> dict[str, Any]:
        """Metric families whose name holds ``match`` (see ``sqlite_history.names``)."""
        with self._lock:
            return sqlite_history.names(self._connection, match, limit)

    def series(
        self, name: str, since: float, until: float, step: float, limit: int
    ) -> dict[str, Any] | None:
        """One family's history as series (see ``sqlite_history.series``)."""
        with self._lock:
            return sqlite_history.series(self._connection, name, since, until, step, limit)

    def close(self) -> None:
        with self._lock:
            self._connection.close()


# A whole snapshot in one statement: executemany steps once per row and hands the GIL
# over at each step; with a busy thread in the process every handover waits out the
# switch interval (5 ms), which stalled the writer for the length of a snapshot.
# Infinities travel as text (JSON has none) and become SQLite's own.
_INSERT_HISTORY: Final = """
    INSERT INTO metric_history (ts, sample, labels, value, process)
    SELECT value ->> 0, value ->> 1, value ->> 2,
        CASE value ->> 3 WHEN 'inf' THEN 9e999 WHEN '-inf' THEN -9e999 ELSE value ->> 3 END,
        ?2
    FROM json_each(?1)
"""


def insert_history(
    connection: apsw.Connection, samples: Iterable[MetricSample], process: int
) -> None:
    """Append samples to the history in one transaction. A NaN value has no point on
    a chart (and SQLite has no NaN): that sample is left out."""
    rows = [
        (s.timestamp, s.name, orjson.dumps(s.labels).decode(), _number(s.value))
        for s in samples
        if not math.isnan(s.value)
    ]
    if rows:
        with connection:
            connection.execute(_INSERT_HISTORY, (orjson.dumps(rows), process))


def _number(value: float) -> float | str:
    if math.isfinite(value):
        return float(value)
    return "inf" if value > 0 else "-inf"


def history_rows(families: Iterable[MetricFamily], now: float) -> list[MetricSample]:
    """A snapshot as history samples."""
    return [
        MetricSample(sample, now, value, dict(labels))
        for family in families
        for sample, labels, value in family.samples
    ]


def liveness_cutoff(snapshot_interval: float) -> float:
    """Heartbeats older than this are from processes whose gauges no longer count."""
    return time.time() - 3 * snapshot_interval - 1.0
