"""Batches other threads hand to the writer, committed in one transaction of its own.

HTTP ingest goes through here, not around the writer: the request's thread parses its
body and hands the batches over as they come; the writer inserts each as it arrives
(SQLite works while the next batch is parsed) and commits once the last has come, or
rolls back when the body proves bad or the request gives up. So each process keeps one
writer connection, a scrape never waits on an ingest's lock, and the engine's own
counters see what was pushed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from observabilipy.core.models import LogEntry

Batch = Sequence[LogEntry]
_END: Final[list[LogEntry]] = []  # after the last batch (compared by identity)
_POLL: Final = 0.05  # seconds between looks at the other side while waiting
#: Seconds the writer waits for a request's next batch before giving up on it.
IDLE_LIMIT: Final = 30.0


class JobCancelledError(Exception):
    """The request gave up (its body was bad, or it timed out): roll back."""


class Job:
    """One request's batches, from the thread that parses them to the writer."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Batch] = queue.Queue(maxsize=2)
        self.done = threading.Event()
        self.cancelled = False
        self.stored = 0
        self.rejected = 0
        self.error: BaseException | None = None

    # -- the request's side ------------------------------------------------------------
    def feed(self, batches: Iterable[Batch], deadline: float) -> None:
        """Hand over every batch, then the end; raises what the batches raise (the job
        is then cancelled), or the writer's error if it failed meanwhile."""
        try:
            for batch in batches:
                if batch:
                    self._put(batch, deadline)
            self._put(_END, deadline)
        except BaseException:
            self.cancelled = True
            raise

    def _put(self, batch: Batch, deadline: float) -> None:
        while True:
            if self.done.is_set():  # the writer failed the job before taking it all
                raise self.error or JobCancelledError("the writer ended the job")
            try:
                self._queue.put(batch, timeout=_POLL)
                return
            except queue.Full:
                if time.monotonic() > deadline:
                    raise TimeoutError("the writer did not take the entries in time") from None

    # -- the writer's side -------------------------------------------------------------
    def batches(self) -> Iterator[Batch]:
        """The batches as they come, until the end; ``JobCancelledError`` when the
        request gave up or stopped sending."""
        idle_since = time.monotonic()
        while True:
            try:
                batch = self._queue.get(timeout=_POLL)
            except queue.Empty:
                if self.cancelled:
                    raise JobCancelledError("the request gave up") from None
                if time.monotonic() - idle_since > IDLE_LIMIT:
                    raise JobCancelledError("the request stopped sending entries") from None
                continue
            if batch is _END:
                return
            yield batch
            idle_since = time.monotonic()

    def succeed(self, stored: int, rejected: int) -> None:
        self.stored, self.rejected = stored, rejected
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()
