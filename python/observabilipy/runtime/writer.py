"""The writer thread: drains the buffer into SQLite in batches, one transaction each.

It holds the GIL only to take entries and turn them into one JSON text; the insert
itself runs inside SQLite without it. No entry can stop it: one that can never be
stored is rejected (counted, the first named on stderr) and the rest of its batch
stored. A failing write (the storage, not the data) keeps its batch and retries with
backoff (the buffer's policy deals with what arrives meanwhile); the first failure is
reported once on stderr, and writing resumes by itself when the fault clears. Periodic
tasks (retention, metric snapshots) run between batches on the same connection, so
each process has exactly one writer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import apsw

from observabilipy.adapters.storage.sqlite import load_sqlite_extension, open_connection
from observabilipy.adapters.storage.sqlite_insert import insert_entries
from observabilipy.adapters.storage.sqlite_schema import StorageError, scalar
from observabilipy.adapters.storage.sqlite_segments import DEFAULT_SEGMENTING, Segmenting
from observabilipy.core.entries import MAX_ENTRY_BYTES
from observabilipy.core.instruments import Counter, Histogram
from observabilipy.core.models import LogEntry
from observabilipy.runtime.buffer import Buffer
from observabilipy.runtime.checkpointer import Checkpointer
from observabilipy.runtime.jobs import Batch, Job, JobCancelledError
from observabilipy.runtime.stderr import say

WAL_CHECKPOINT_BYTES: Final = 16_000_000
#: Rows written after which the checkpointer is woken rather than left to its interval
#: (about 3 MiB of WAL at 90 bytes a row): a burst's pages are then copied while it is
#: written, on the other core. Logging and storing 300k entries took about 11% less.
CHECKPOINT_ROWS: Final = 32_768
#: Failures of one batch, not raised by the storage, after which it is rejected: an
#: error no retry can mend (a bug of ours) must not hold every later entry back.
MAX_ODD_FAILURES: Final = 3

Task = Callable[[apsw.Connection], None]


@dataclass
class WriterStats:
    """The writer's own instruments, exposed as the engine's metrics."""

    rows_written: Counter
    write_errors: Counter
    flush_seconds: Histogram
    rejected: Counter


#: The writer connection's page cache (SQLite's default is 2 MiB).
WRITER_CACHE_KIB: Final = 32 * 1024


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
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        segmenting: Segmenting = DEFAULT_SEGMENTING,
    ) -> None:
        self.path = path
        self.segmenting = segmenting
        self.max_entry_bytes = max_entry_bytes
        self.buffer = buffer
        self.stats = stats
        self.interval = interval
        self.max_batch = max_batch
        self._synchronous = synchronous
        self._busy_ms = busy_ms
        buffer.batch_size = batch_size
        self.tasks: list[PeriodicTask] = []
        #: Run after every committed batch (retention's drop of expired segments, so the
        #: file never holds more than a batch beyond its rules, whatever the backlog).
        self.after_batch: Task | None = None
        self._connection: apsw.Connection | None = None
        self._native = False  # the connection has the Rust extension (see _open)
        self._held: Sequence[LogEntry] = []
        self._jobs: deque[Job] = deque()
        #: Entries committed (stored or rejected) through ``commit``, not the buffer.
        self.committed = 0
        self._requested = 0  # flush requests made, and served by a completed cycle
        self._served = 0
        self._failures = 0
        self._odd_failures = 0  # of the held batch, raised by something not the storage
        self._reported = False
        self._rejection_reported = False
        #: The storage error of the last failed write, None since one succeeded.
        self.failing: str | None = None
        self.last_rejected = 0.0  # time.monotonic() of the latest rejection
        self.last_progress = time.monotonic()  # a commit, or a round with nothing to do
        self._stop = False
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._checkpointer = Checkpointer(path, busy_ms=busy_ms)
        self._unchecked_rows = 0  # written since the checkpointer was last woken

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._connection = self._open()
        started = time.monotonic()
        for task in self.tasks:  # due at once, but behind a backlog (see _run_due_tasks)
            task.due = task.due or started
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
        self.buffer.failing = True  # nothing writes any more: appends drop, never wait

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def abandon(self) -> Sequence[LogEntry]:
        """For a writer whose thread is gone: the entries it held (never written), and
        its requests answered as not stored."""
        held, self._held = self._held, []
        while self._jobs:
            self._jobs.popleft().fail(StorageError(f"the writer of {self.path} stopped"))
        return held

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

    # -- batches from other threads ---------------------------------------------------
    def commit(self, batches: Iterable[Batch], timeout: float = 30.0) -> tuple[int, int]:
        """Store ``batches`` in one transaction on the writer thread, handing each over
        as the iterable produces it: (rows stored, entries rejected).

        What the iterable raises (a parser's ``InputError``) propagates with nothing
        stored; a storage failure raises ``apsw.Error``, and a writer that is stopped or
        does not commit within ``timeout`` seconds raises ``StorageError``.
        """
        if self._stop or not self.alive:
            raise StorageError(f"the writer of {self.path} is stopped")
        job = Job()
        deadline = time.monotonic() + timeout
        self._jobs.append(job)
        self.buffer.wakeup.set()
        try:
            job.feed(batches, deadline)
        except TimeoutError as error:
            raise StorageError(f"{self.path}: {error}") from None
        if not job.done.wait(max(0.0, deadline - time.monotonic())):
            job.cancelled = True
            raise StorageError(f"{self.path}: the writer did not commit within {timeout} s")
        if job.error is not None:
            raise job.error
        return job.stored, job.rejected

    def _run_jobs(self) -> None:
        while self._jobs:
            job = self._jobs.popleft()
            stored, rejections = 0, []
            try:
                if job.cancelled:
                    raise JobCancelledError("the request gave up before its turn")
                connection = self._connect()
                with connection:  # one transaction: all of the request, or none
                    for batch in job.batches():
                        more, refused = insert_entries(
                            connection,
                            batch,
                            self.max_entry_bytes,
                            self.segmenting,
                            native=self._native,
                        )
                        stored += more
                        rejections += refused
            except apsw.Error as error:
                self._failed(error)
                job.fail(error)
            except Exception as error:
                job.fail(error)
            else:
                self.stats.rows_written.inc(stored)
                self._rejected(rejections)
                self.committed += stored + len(rejections)
                job.succeed(stored, len(rejections))
                self._succeeded()
                self.last_progress = time.monotonic()

    # -- the loop --------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                backoff, stopped = self._cycle(backoff)
            except BaseException as error:  # this thread must not die, whatever happens
                self._failed(error)
                backoff, stopped = 0.5, self._stop
            if stopped:
                return

    def _cycle(self, backoff: float) -> tuple[float, bool]:
        """One round: wait for work, write, run due tasks; (next backoff, stopped)."""
        buffer = self.buffer
        if backoff:
            time.sleep(backoff)
        elif self._served >= self._requested and len(buffer) < buffer.batch_size and not self._stop:
            buffer.wakeup.wait(self.interval)
        buffer.wakeup.clear()
        requested, stopping = self._requested, self._stop
        # Only what is waiting now: a producer outrunning us cannot keep the cycle open.
        ok = self._write_until(len(buffer) + buffer.taken)
        self._run_jobs()
        ok = ok and self._run_due_tasks()
        with self._progress:
            if ok:
                self._served = max(self._served, requested)
            self._progress.notify_all()
        backoff = 0.0 if ok else min(2.0, max(0.05, backoff * 2))
        if ok:
            self.last_progress = time.monotonic()
        if stopping:
            self._finish(ok)
        return backoff, stopping

    def _finish(self, ok: bool) -> None:
        while self._jobs:  # requests still waiting get their answer: not stored
            self._jobs.popleft().fail(StorageError(f"the writer of {self.path} stopped"))
        for _ in range(3):  # a failing store gets a few quick tries, not a hung exit
            if ok:
                break
            time.sleep(0.05)
            ok = self._write_until(len(self.buffer) + self.buffer.taken)
        if not ok:
            lost = len(self._held) + len(self.buffer.take(len(self.buffer)))
            self._held = []
            for _ in range(lost):
                self.buffer.count_dropped()
            say(
                f"{lost} entries not written to {self.path} "
                f"(storage failing: {self.failing}); counted as dropped"
            )
        for task in self.tasks:
            if task.at_stop is not None:
                try:
                    task.at_stop(self._connect())
                except Exception as error:
                    say(f"final write to {self.path}: {error}")

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
            if self.after_batch is not None:
                try:
                    self.after_batch(self._connect())
                except Exception as error:  # retried after the next batch
                    self._failed(error)
                    return False

    def _write_held(self) -> bool:
        batch = self._held
        start = time.perf_counter()
        try:
            connection = self._connect()
            with connection:
                stored, rejected = insert_entries(
                    connection, batch, self.max_entry_bytes, self.segmenting, native=self._native
                )
        except apsw.Error as error:  # the storage failed: keep the batch, retry later
            self._failed(error)
            return False
        except Exception as error:
            self._odd_failures += 1
            if self._odd_failures < MAX_ODD_FAILURES:
                self._failed(error)
                return False
            stored, rejected = 0, [(entry, f"cannot be stored: {error!r}") for entry in batch]
        self._odd_failures = 0
        self.stats.flush_seconds.observe(time.perf_counter() - start)
        self.stats.rows_written.inc(stored)
        self._unchecked_rows += stored
        if self._unchecked_rows >= CHECKPOINT_ROWS:
            self._unchecked_rows = 0
            self._checkpointer.wake()
        self._rejected(rejected)
        self._held = []
        self._succeeded()
        self.last_progress = time.monotonic()
        return True

    def _rejected(self, rejections: Sequence[tuple[object, str]]) -> None:
        """Count entries that can never be stored; name the first once on stderr."""
        if not rejections:
            return
        self.stats.rejected.inc(len(rejections))
        self.last_rejected = time.monotonic()
        if not self._rejection_reported:
            self._rejection_reported = True
            say(
                f"rejected a log entry: {rejections[0][1]}; rejected entries are counted "
                "in observabilipy_entries_rejected_total"
            )

    def _succeeded(self) -> None:
        if self.failing is not None:
            self.failing = None
            self.buffer.failing = False
        if self._reported:
            self._reported = False
            say(f"writing to {self.path} resumed")

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
        # A batch's pages (up to max_batch rows, some MiB) fit in the cache, so a
        # transaction does not spill half-written pages to the WAL before its commit.
        connection.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._native = load_sqlite_extension(connection)
        return connection

    def _failed(self, error: BaseException) -> None:
        self.failing = f"{type(error).__name__}: {error}"
        self.buffer.failing = True
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
            say(message)

    def _run_due_tasks(self) -> bool:
        now = time.monotonic()
        # With a batch waiting, logs go first: a task may wait up to one more interval.
        backlog = len(self.buffer) >= self.buffer.batch_size
        for task in self.tasks:
            if now >= task.due and not (backlog and now < task.due + task.interval):
                task.due = now + task.interval
                try:
                    task.run(self._connect())
                except Exception as error:  # retried next cycle; the thread must not die
                    task.due = 0.0
                    self._failed(error)
                    return False
        return True
