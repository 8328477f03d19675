"""Keeping one process's metrics in the shared file, and reading totals back.

The writer thread runs ``snapshot`` every few seconds (and on flush), ``history``
less often, and ``final`` when the engine closes; any thread may call ``totals``.
"""

from __future__ import annotations

import os
import threading
import time

import apsw

from observabilipy.adapters.storage import sqlite_metrics as store
from observabilipy.core.aggregate import Labels, combine
from observabilipy.core.instruments import Gauge
from observabilipy.core.models import MetricFamily
from observabilipy.core.registry import Registry


class MetricsSync:
    """This process's side of the multi-process metrics."""

    def __init__(self, registry: Registry, snapshot_interval: float) -> None:
        self.registry = registry
        self.snapshot_interval = snapshot_interval
        self._writer: store.MetricStateWriter | None = None
        self._changed_at: dict[tuple[str, Labels], float] = {}
        self._last: dict[tuple[str, Labels], float] = {}
        self._lock = threading.Lock()
        self._remote_labels: dict[str, Labels] = {}  # label JSON -> tuple, across scrapes

    @property
    def process(self) -> int:
        """This process's id in the file (registered on first snapshot), -1 before."""
        return self._writer.process if self._writer is not None else -1

    def aggregates(self) -> dict[str, str]:
        return {f.name: f.aggregate for f in self.registry.families() if isinstance(f, Gauge)}

    def snapshot(self, connection: apsw.Connection) -> None:
        now = time.time()
        if self._writer is None:
            self._writer = store.MetricStateWriter(store.register_process(connection, now))
        families = self.registry.collect()
        self._note_changes(families, now)
        self._writer.save(connection, families, self.aggregates(), now)

    def final(self, connection: apsw.Connection) -> None:
        self.snapshot(connection)
        if self._writer is not None:
            self._writer.mark_exited(connection)

    def history(self, connection: apsw.Connection) -> None:
        now = time.time()
        samples = store.history_rows(self.registry.collect(), now)
        store.insert_history(connection, samples, self.process)

    def retire(self, connection: apsw.Connection) -> None:
        store.retire_dead(connection, time.time() - 10 * self.snapshot_interval - 5, self.process)

    def _note_changes(self, families: list[MetricFamily], now: float) -> None:
        with self._lock:
            for family in families:
                if family.kind != "gauge":
                    continue
                for sample, labels, value in family.samples:
                    key = (sample, labels)
                    if self._last.get(key) != value:
                        self._last[key] = value
                        self._changed_at[key] = now

    def totals(
        self, connection: apsw.Connection, *, exposition: bool = False
    ) -> list[MetricFamily]:
        """Every family with this process's live values and all others' stored ones.

        ``exposition=True``: for an encoder only (see ``Registry.collect``).
        """
        remote = store.remote_rows(
            connection,
            self.process,
            store.liveness_cutoff(self.snapshot_interval),
            self._remote_labels,
        )
        aggregates = self.aggregates()
        alone = not remote and "per_process" not in aggregates.values()
        local = self.registry.collect(exposition=exposition and alone)
        if alone:
            return local  # alone in the file: nothing to combine
        meta = store.family_meta(connection) if remote else {}
        now = time.time()
        changed_at: dict[tuple[str, Labels], float] = {}
        with self._lock:
            for family in local:
                if family.kind != "gauge":
                    continue
                for sample, labels, value in family.samples:
                    key = (sample, labels)
                    unchanged = self._last.get(key) == value
                    changed_at[key] = self._changed_at.get(key, now) if unchanged else now
        return combine(
            local,
            aggregates,
            remote,
            meta,
            pid=os.getpid(),
            now=now,
            changed_at=changed_at,
        )

    def reset_after_fork(self) -> None:
        self._writer = None
        self._changed_at.clear()
        self._last.clear()
        self._lock = threading.Lock()
