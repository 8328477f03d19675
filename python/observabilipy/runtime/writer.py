"""The writer thread: drains the buffer into SQLite in batches, one transaction each.

It holds the GIL only to take entries and turn them into one JSON text; the insert
itself runs inside SQLite without it. A failing write keeps its batch and retries
with backoff (the buffer's policy deals with what arrives meanwhile); the first
failure is reported once on stderr, and writing resumes by itself when the fault
clears. Periodic tasks (retention, metric snapshots) run between batches on the
same connection, so each process has exactly one writer.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import apsw

from observabilipy.adapters.storage.sqlite import open_connection
from observabilipy.adapters.storage.sqlite_insert import insert_entries
from observabilipy.adapters.storage.sqlite_schema import scalar
from observabilipy.core.instruments import Counter, Histogram
from observabilipy.core.models import LogEntry
from observabilipy.runtime.buffer import Buffer
from observabilipy.runtime.checkpointer import Checkpointer

WAL_CHECKPOINT_BYTES: Final = 16_000_000

Task = Callable[[apsw.Connection], None]


@dataclass
class WriterStats:
    """The writer's own instruments, exposed as the engine's metrics."""

    rows_written: Counter
    write_errors: Counter
    flush_seconds: Histogram


@dataclass
class PeriodicTask:
    """Work run between batches every ``interval`` seconds, and once more at stop."""

    interval: float
    run: Task
    at_stop: Task | None = None
    on_flush: bool = False  # flush() waits for a run of it
    due: float = field(default=0.0)


class Writer:
    """One per process: the only writer connection of that process."""

    def __init__(
        self,
        path: str,
        buffer: Buffer[LogEntry],
        stats: WriterStats,
        *,
        interval: float = 0.1,
        batch_size: int = 1000,
        max_batch: int = 50_000,
        synchronous: str = "NORMAL",
        busy_ms: int = 5000,
    ) -> None:
        self.path = path
        self.buffer = buffer
        self.stats = stats
        self.interval = interval
        self.max_batch = max_batch
        self._synchronous = synchronous
        self._busy_ms = busy_ms
        buffer.batch_size = batch_size
        self.tasks: list[PeriodicTask] = []
        self._connection: apsw.Connection | None = None
        self._held: list[LogEntry] = []
        self._requested = 0  # flush requests made, and served by a completed cycle
        self._served = 0
        self._failures = 0
        self._reported = False
        self._stop = False
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._checkpointer = Checkpointer(path, busy_ms=busy_ms)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._connection = self._open()
        self._thread = threading.Thread(target=self._run, name="observabilipy-writer", daemon=True)
        self._thread.start()
        self._checkpointer.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Write what is buffered, stop the thread and close the connection."""
        self._stop = True
        self.buffer.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._checkpointer.stop(timeout)
        if self._connection is not None and (self._thread is None or not self._thread.is_alive()):
            self._connection.close()
            self._connection = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- flushing --------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait for a full cycle that starts after this call: every entry appended before
        it committed, and every task marked ``on_flush`` run.

        False when the timeout passes, or when a write attempted meanwhile failed
        (the entries are kept and retried; nothing is lost by returning).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            for task in self.tasks:
                if task.on_flush:
                    task.due = 0.0
            self._requested += 1
            mine = self._requested
            failures = self._failures
            self.buffer.wakeup.set()
            while self._served < mine:
                if self._failures > failures or not self.alive:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._progress.wait(1.0 if remaining is None else min(remaining, 1.0))
        return True

    # -- the loop --------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.0
        buffer = self.buffer
        while True:
            if backoff:
                time.sleep(backoff)
            elif (
                self._served >= self._requested
                and len(buffer) < buffer.batch_size
                and not self._stop
            ):
                buffer.wakeup.wait(self.interval)
            buffer.wakeup.clear()
            requested, stopping = self._requested, self._stop
            # Only what is waiting now: a producer outrunning us cannot keep the cycle open.
            ok = self._write_until(len(buffer) + buffer.taken) and self._run_due_tasks()
            with self._progress:
                if ok:
                    self._served = max(self._served, requested)
                self._progress.notify_all()
            backoff = 0.0 if ok else min(2.0, max(0.05, backoff * 2))
            if stopping:
                self._finish(ok)
                return

    def _finish(self, ok: bool) -> None:
        for _ in range(3):  # a failing store gets a few quick tries, not a hung exit
            if ok:
                break
            time.sleep(0.05)
            ok = self._write_until(len(self.buffer) + self.buffer.taken)
        if not ok:
            lost = len(self._held) + len(self.buffer)
            print(f"observabilipy: {lost} entries not written to {self.path}", file=sys.stderr)
        for task in self.tasks:
            if task.at_stop is not None:
                try:
                    task.at_stop(self._connect())
                except Exception as error:
                    print(f"observabilipy: final write to {self.path}: {error}", file=sys.stderr)

    def _write_until(self, target: int) -> bool:
        """Commit batches until ``target`` entries were taken; False on failure."""
        while True:
            if not self._held:
                want = min(self.max_batch, target - self.buffer.taken)
                batch = self.buffer.take(want) if want > 0 else []
                if not batch:
                    return True
                self._held = batch
            if not self._write_held():
                return False

    def _write_held(self) -> bool:
        batch = self._held
        start = time.perf_counter()
        try:
            connection = self._connect()
            with connection:
                rejected = insert_entries(connection, batch)
        except Exception as error:  # any failure keeps the batch: the thread must not die
            self._failed(error)
            return False
        self.stats.flush_seconds.observe(time.perf_counter() - start)
        self.stats.rows_written.inc(len(batch) - len(rejected))
        for entry, reason in rejected:  # cannot ever be stored: count them as dropped
            self.buffer.count_dropped()
            print(f"observabilipy: dropped {entry!r}: {reason}", file=sys.stderr)
        self._held = []
        if self._reported:
            self._reported = False
            print(f"observabilipy: writing to {self.path} resumed", file=sys.stderr)
        return True

    def _connect(self) -> apsw.Connection:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _open(self) -> apsw.Connection:
        connection = open_connection(
            self.path, synchronous=self._synchronous, busy_ms=self._busy_ms
        )
        # The checkpointer copies most pages on the other core; a late automatic checkpoint
        # here (at about 16 MiB of WAL, whatever the file's page size) only finishes the
        # job, so the WAL still restarts from its beginning.
        page_size = int(scalar(connection, "PRAGMA page_size"))
        connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
        return connection

    def _failed(self, error: BaseException) -> None:
        self.stats.write_errors.inc()
        self._report(
            f"cannot write to {self.path}: {error}; entries are kept and retried, "
            "further errors are counted in observabilipy_write_errors_total"
        )
        if self._connection is not None:  # reopen: a read-only or replaced file may heal
            with contextlib.suppress(apsw.Error):
                self._connection.close()
            self._connection = None
        with self._progress:
            self._failures += 1
            self._progress.notify_all()

    def _report(self, message: str) -> None:
        if not self._reported:
            self._reported = True
            print(f"observabilipy: {message}", file=sys.stderr)

    def _run_due_tasks(self) -> bool:
        now = time.monotonic()
        for task in self.tasks:
            if now >= task.due:
                task.due = now + task.interval
                try:
                    task.run(self._connect())
                except Exception as error:  # retried next cycle; the thread must not die
                    task.due = 0.0
                    self._failed(error)
                    return False
        return True
