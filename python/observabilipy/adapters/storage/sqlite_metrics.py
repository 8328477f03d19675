"""Metric state and history in the SQLite file, shared by every process that opens it.

Each process keeps the latest value of each of its series in ``metric_state`` (only
changed values are written) and beats its heart in ``processes``. Any process can then
read every other process's values; ``core.aggregate`` combines them with its own live
ones. Processes that exited are folded into process 0, so counters never go back.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any, Final

import apsw
import orjson

from observabilipy.adapters.storage import sqlite_history
from observabilipy.adapters.storage.sqlite import open_connection
from observabilipy.core.aggregate import Labels, RemoteRow
from observabilipy.core.models import MetricFamily, MetricSample

_UPSERT_STATE: Final = """
    INSERT INTO metric_state (process, family, sample, labels, value, updated)
    SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2 FROM jsonb_each(?3) WHERE true
    ON CONFLICT (process, sample, labels) DO UPDATE
        SET value = excluded.value, updated = excluded.updated
"""
_UPSERT_FAMILY: Final = """
    INSERT INTO metric_families (name, kind, help, aggregate) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE
        SET kind = excluded.kind, help = excluded.help, aggregate = excluded.aggregate
"""
# "IN (other processes)" rather than "!= me": the primary key then finds each other
# process's rows instead of scanning this one's too.
_REMOTE: Final = """
    SELECT s.family, s.sample, s.labels, sum(s.value), max(s.updated), 0
    FROM metric_state AS s JOIN metric_families AS f ON f.name = s.family
    WHERE s.process IN (SELECT id FROM processes WHERE id != ?1) AND f.kind != 'gauge'
    GROUP BY s.sample, s.labels
    UNION ALL
    SELECT s.family, s.sample, s.labels, s.value, s.updated, p.pid
    FROM metric_state AS s
        JOIN metric_families AS f ON f.name = s.family
        JOIN processes AS p ON p.id = s.process
    WHERE s.process IN (SELECT id FROM processes WHERE id != ?1) AND f.kind = 'gauge'
        AND p.exited = 0 AND p.heartbeat >= ?2
"""
_PARSED_LIMIT: Final = 200_000  # label sets a remote_rows cache keeps before starting over
_RETIRE: Final = """
    INSERT INTO metric_state (process, family, sample, labels, value, updated)
    SELECT 0, s.family, s.sample, s.labels, s.value, s.updated
    FROM metric_state AS s JOIN metric_families AS f ON f.name = s.family
    WHERE s.process = ?1 AND f.kind != 'gauge' AND true
    ON CONFLICT (process, sample, labels) DO UPDATE
        SET value = value + excluded.value, updated = max(updated, excluded.updated)
"""


def register_process(connection: apsw.Connection, now: float) -> int:
    """A new row for this process; its id keys every value it writes."""
    with connection:
        connection.execute(
            "INSERT INTO processes (pid, host, started, heartbeat) VALUES (?, ?, ?, ?)",
            (os.getpid(), socket.gethostname(), now, now),
        )
        process = int(connection.last_insert_rowid())
    return process


class MetricStateWriter:
    """Writes one process's snapshots: families once, then only values that changed."""

    def __init__(self, process: int) -> None:
        self.process = process
        self._families: dict[str, tuple[str, str, str]] = {}
        self._written: dict[tuple[str, Any], float] = {}
        self._labels_json: dict[Any, str] = {}

    def save(
        self,
        connection: apsw.Connection,
        families: Iterable[MetricFamily],
        aggregates: dict[str, str],
        now: float,
    ) -> int:
        """Write what changed since the last save and beat the heart; returns rows
        written. What was written is remembered only once the write succeeded."""
        new_families: list[tuple[str, str, str, str]] = []
        changed: list[tuple[str, str, str, float]] = []
        pending: dict[tuple[str, Any], float] = {}
        written, labels_json = self._written, self._labels_json
        for family in families:
            meta = (family.kind, family.help, aggregates.get(family.name, "sum"))
            if self._families.get(family.name) != meta:
                new_families.append((family.name, *meta))
            for sample, labels, value in family.samples:
                key = (sample, labels)
                if written.get(key) == value:
                    continue
                text = labels_json.get(labels)
                if text is None:
                    text = labels_json[labels] = orjson.dumps(labels).decode()
                changed.append((family.name, sample, text, value))
                pending[key] = value
        with connection:
            if new_families:
                connection.executemany(_UPSERT_FAMILY, new_families)
            if changed:
                connection.execute(_UPSERT_STATE, (self.process, now, orjson.dumps(changed)))
            connection.execute(
                "UPDATE processes SET heartbeat = ? WHERE id = ?", (now, self.process)
            )
        written.update(pending)
        for name, kind, help_text, aggregate in new_families:
            self._families[name] = (kind, help_text, aggregate)
        return len(changed)

    def forget(self) -> None:
        """Write everything again next time (a transaction holding a save was undone)."""
        self._written.clear()
        self._families.clear()

    def mark_exited(self, connection: apsw.Connection) -> None:
        with connection:
            connection.execute("UPDATE processes SET exited = 1 WHERE id = ?", (self.process,))


def remote_rows(
    connection: apsw.Connection,
    me: int,
    live_after: float,
    parsed: dict[str, Labels] | None = None,
) -> list[RemoteRow]:
    """Every other process's values: counters and histograms summed, live gauges each.

    ``parsed`` maps label JSON already seen to its tuple and is filled as rows come: a
    scrape reads the same label sets every time, and parsing each is most of the cost.
    """
    parsed = {} if parsed is None else parsed
    if len(parsed) > _PARSED_LIMIT:
        parsed.clear()
    rows: list[RemoteRow] = []
    for family, sample, text, value, updated, pid in connection.execute(_REMOTE, (me, live_after)):
        labels = parsed.get(text)
        if labels is None:
            labels = parsed[text] = tuple(map(tuple, orjson.loads(text)))
        rows.append((family, sample, labels, value, updated, pid))
    return rows


def family_meta(connection: apsw.Connection) -> dict[str, tuple[str, str, str]]:
    """kind, help and aggregate of every family any process defined."""
    return {
        name: (kind, help_text, aggregate)
        for name, kind, help_text, aggregate in connection.execute(
            "SELECT name, kind, help, aggregate FROM metric_families"
        )
    }


def retire_dead(connection: apsw.Connection, dead_before: float, me: int) -> int:
    """Fold processes that exited (or stopped beating here) into process 0."""
    host = socket.gethostname()
    candidates: list[tuple[int, int, str, int, float]] = connection.execute(  # type: ignore[assignment]
        "SELECT id, pid, host, exited, heartbeat FROM processes WHERE id NOT IN (0, ?)", (me,)
    ).fetchall()
    retired = 0
    for process, pid, on_host, exited, heartbeat in candidates:
        if not exited and not (heartbeat < dead_before and on_host == host and _gone(pid)):
            continue
        with connection:
            connection.execute(_RETIRE, (process,))
            connection.execute("DELETE FROM metric_state WHERE process = ?", (process,))
            connection.execute("DELETE FROM processes WHERE id = ?", (process,))
        retired += 1
    return retired


# Families whose retired totals (process 0) hold more series than a family may.
_CROWDED: Final = """
    SELECT s.family FROM metric_state AS s JOIN metric_families AS f ON f.name = s.family
    WHERE s.process = 0 AND f.kind != 'gauge'
        AND s.sample IN (s.family || '_total', s.family || '_count')
    GROUP BY s.family HAVING count(*) > ?
"""
_OVERFLOW: Final = (("otel_metric_overflow", "true"),)


def cap_retired(connection: apsw.Connection, max_series: int) -> int:
    """Fold the retired totals' series past ``max_series`` a family into its overflow
    series (the least recently updated first), so a file's scrape cost follows its live
    series rather than every label set exited processes ever used. Totals are kept.
    Returns the series folded."""
    folded = 0
    crowded = [str(row[0]) for row in connection.execute(_CROWDED, (max_series,))]
    for family in crowded:
        with connection:
            folded += _fold_family(connection, family, max_series)
    return folded


def _fold_family(connection: apsw.Connection, family: str, max_series: int) -> int:
    rows: list[tuple[str, str, float, float]] = connection.execute(  # type: ignore[assignment]
        "SELECT sample, labels, value, updated FROM metric_state WHERE process = 0 AND family = ?",
        (family,),
    ).fetchall()
    series: dict[Labels, list[tuple[str, str, Labels, float, float]]] = {}
    for sample, text, value, updated in rows:
        labels: Labels = tuple(map(tuple, orjson.loads(text)))
        key = tuple(pair for pair in labels if pair[0] != "le")
        series.setdefault(key, []).append((sample, text, labels, value, updated))
    kept = sorted(
        (key for key in series if key != _OVERFLOW),
        key=lambda key: max(row[4] for row in series[key]),
        reverse=True,
    )[:max_series]
    folding = [key for key in series if key != _OVERFLOW and key not in set(kept)]
    moved: dict[tuple[str, str], float] = {}
    latest = 0.0
    for key in folding:
        for sample, text, labels, value, updated in series[key]:
            target = _OVERFLOW + tuple(pair for pair in labels if pair[0] == "le")
            target_text = orjson.dumps(target).decode()
            moved[(sample, target_text)] = moved.get((sample, target_text), 0.0) + value
            latest = max(latest, updated)
            connection.execute(
                "DELETE FROM metric_state WHERE process = 0 AND sample = ? AND labels = ?",
                (sample, text),
            )
    connection.executemany(
        "INSERT INTO metric_state (process, family, sample, labels, value, updated) "
        "VALUES (0, ?, ?, ?, ?, ?) ON CONFLICT (process, sample, labels) DO UPDATE "
        "SET value = value + excluded.value, updated = max(updated, excluded.updated)",
        [(family, sample, text, value, latest) for (sample, text), value in moved.items()],
    )
    return len(folding)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
