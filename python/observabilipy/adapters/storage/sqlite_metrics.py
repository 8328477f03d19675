"""Metric history in the SQLite file: snapshots kept as ``MetricSample`` rows.

The latest values every process shares live in ``sqlite_state``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

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


def insert_history(
    connection: apsw.Connection, samples: Iterable[MetricSample], process: int
) -> None:
    """Append samples to the history in one transaction."""
    rows = [
        (s.timestamp, s.name, orjson.dumps(s.labels).decode(), s.value, process) for s in samples
    ]
    with connection:
        connection.executemany(
            "INSERT INTO metric_history (ts, sample, labels, value, process) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )


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
