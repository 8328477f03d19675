"""Keeping one process's metrics in the shared file, and reading totals back.

The writer thread runs ``snapshot`` every few seconds (and on flush), ``history`` less
often, and ``final`` when the engine closes; any thread may call ``totals``.

Totals never step back, whichever worker a scrape goes through: a scrape first writes
this process's values to the file (when any changed since they were last written), then
reads everyone else's, in one transaction, and shows exactly those. Each process's
stored values only grow, and any later scrape reads the file after that commit, so it
sees at least as much of every process. A scrape with nothing to write takes no write
lock. When the
file is busy past a short wait (a large ingest committing), the scrape shows what the
file holds for every process, its own included, which is no less than any scrape
showed. A process alone in a memory-only engine shows its live values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

import apsw

from observabilipy.adapters.storage import sqlite_arrays as arrays
from observabilipy.adapters.storage import sqlite_metrics as history
from observabilipy.adapters.storage import sqlite_retire as retire
from observabilipy.adapters.storage import sqlite_state as store
from observabilipy.core.aggregate import Catalog, Values, combine
from observabilipy.core.instruments import Gauge
from observabilipy.core.models import MetricFamily
from observabilipy.core.registry import Registry

#: Milliseconds a scrape waits for the file's write lock before showing stored values.
SCRAPE_WAIT_MS: Final = 100


class MetricsSync:
    """This process's side of the multi-process metrics, on a connection of its own."""

    def __init__(
        self,
        registry: Registry,
        snapshot_interval: float,
        connect: Callable[[], apsw.Connection],
        *,
        shared: bool,
        busy_ms: int = 5000,
    ) -> None:
        """``connect`` opens the file; ``shared`` says other processes may open it too
        (False for a memory-only engine, whose scrapes need not write)."""
        self.registry = registry
        self.snapshot_interval = snapshot_interval
        self.shared = shared
        self._connect = connect
        self._busy_ms = busy_ms
        self._connection: apsw.Connection | None = None
        self._writer: store.MetricStateWriter | None = None
        # One at a time: snapshots and scrapes share the connection, what was written
        # and the series catalog.
        self._lock = threading.Lock()
        # The last text scrape's families, and what they were combined from.
        self._last_text: tuple[Catalog, object, list[Values], list[MetricFamily]] | None = None

    @property
    def process(self) -> int:
        """This process's id in the file (registered on first snapshot), -1 before."""
        return self._writer.process if self._writer is not None else -1

    def aggregates(self) -> dict[str, str]:
        return {f.name: f.aggregate for f in self.registry.families() if isinstance(f, Gauge)}

    def _connection_and_writer(self) -> tuple[apsw.Connection, store.MetricStateWriter]:
        if self._connection is None:
            self._connection = self._connect()
        if self._writer is None:
            process = store.register_process(self._connection, time.time())
            self._writer = store.MetricStateWriter(process)
        return self._connection, self._writer

    # -- the writer thread's tasks ------------------------------------------------------
    def snapshot(self, _: object = None) -> None:
        with self._lock:
            connection, writer = self._connection_and_writer()
            connection.set_busy_timeout(self._busy_ms)
            # Families as an encoder takes them: values read from the cells, with no
            # object per series for the cyclic collector to walk (about 11 passes for
            # 10,000 series every snapshot interval, in the application's process).
            families = self.registry.collect(exposition=True)
            writer.save(connection, families, self.aggregates(), time.time())

    def final(self, connection: object = None) -> None:
        self.snapshot()
        with self._lock:
            if self._writer is not None and self._connection is not None:
                self._writer.mark_exited(self._connection)

    def history(self, connection: apsw.Connection) -> None:
        now = time.time()
        samples = history.history_rows(self.registry.collect(), now)
        history.insert_history(connection, samples, self.process)

    def retire(self, connection: apsw.Connection) -> None:
        """Fold exited processes into the retired totals, and those past the series
        limit into their families' overflow series."""
        dead_before = time.time() - 10 * self.snapshot_interval - 5
        if retire.retire_dead(connection, dead_before, self.process):
            retire.cap_retired(connection, self.registry.max_series)

    # -- scrapes ------------------------------------------------------------------------
    def totals(self, *, exposition: bool = False, exemplars: bool = True) -> list[MetricFamily]:
        """Every family, combined across the processes that share the file (see the
        module for why a scrape writes first).

        ``exposition=True``: for an encoder only (see ``Registry.collect``); it only
        matters where live values are shown (a memory-only engine). ``exemplars=False``:
        counters' exemplars are not gathered from their cells (text 0.0.4 has none).
        """
        if not self.shared and "per_process" not in self.aggregates().values():
            return self.registry.collect(exposition=exposition)  # alone, forever
        with self._lock:
            connection, writer = self._connection_and_writer()
            # Counters may stay in their cells: only ids, values and exemplars are read.
            local = self.registry.collect(exposition=True)
            aggregates = self.aggregates()
            live_after = history.liveness_cutoff(self.snapshot_interval)
            connection.set_busy_timeout(SCRAPE_WAIT_MS)
            try:
                with connection:  # the write first: the reads then see the latest file
                    # The heart beats on snapshots; a scrape that changed nothing need
                    # not take the write lock (three intervals pass before gauges stop
                    # counting).
                    writer.save(
                        connection,
                        local,
                        aggregates,
                        time.time(),
                        beat_every=self.snapshot_interval,
                    )
                    file_meta = writer.learn(connection)
                    processes = [
                        writer.values,
                        *arrays.read_values(
                            connection,
                            writer.catalog,
                            live_after,
                            but=writer.process,
                            held=writer.others,
                        ),
                    ]
                    meta = file_meta if len(processes) > 1 else {}
            except apsw.BusyError:
                writer.forget()
                # The file is held (a large commit): show what it holds for everyone.
                with connection:
                    local = []
                    store.load_catalog(connection, writer.catalog)
                    processes = arrays.read_values(connection, writer.catalog, live_after)
                    meta = store.family_meta(connection)
            except BaseException:
                writer.forget()
                raise
            finally:
                connection.set_busy_timeout(self._busy_ms)
            # Under the lock: the next save may add to the catalog.
            if not exposition or exemplars:
                return combine(
                    local,
                    aggregates,
                    processes,
                    writer.catalog,
                    meta,
                    exposition=exposition,
                    exemplars=exemplars,
                )
            # For an encoder of text (no exemplars: values alone), the same arrays (the
            # same objects), catalog and families combine into the same families: the
            # last ones are given again, and the encoder's kept lines show them unread.
            basis = (writer.catalog.size, meta, aggregates, _shapes(local))
            last = self._last_text
            if (
                last is not None
                and last[0] is writer.catalog
                and last[1] == basis
                and _same_objects(last[2], processes)
            ):
                return list(last[3])
            found = combine(
                local,
                aggregates,
                processes,
                writer.catalog,
                meta,
                exposition=True,
                exemplars=False,
            )
            self._last_text = (writer.catalog, basis, processes, found)
            return list(found)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def reset_after_fork(self) -> apsw.Connection | None:
        """Start over in a forked child; returns the parent's connection, which the
        child must keep (never use, never close)."""
        parents, self._connection = self._connection, None
        self._writer = None
        self._lock = threading.Lock()
        return parents


def _shapes(families: list[MetricFamily]) -> list[tuple[str, str, str]]:
    """What ``combine`` takes from this process's families when it reads no exemplars."""
    return [(family.name, family.kind, family.help) for family in families]


def _same_objects(these: list[Values], those: list[Values]) -> bool:
    return len(these) == len(those) and all(a is b for a, b in zip(these, those, strict=True))
