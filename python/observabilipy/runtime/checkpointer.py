"""Copying the WAL back into the database file, from a thread of its own.

SQLite normally checkpoints inside the committing writer, which then spends about a
third of its time copying pages instead of inserting. Here the writer's connection
only checkpoints late (see ``writer``) and this thread runs a PASSIVE checkpoint on its
own connection, on the other core, without blocking the writer or readers: every
``interval`` seconds, and whenever the writer says it wrote a fair amount (``wake``),
so that under a burst the pages are copied while the burst is being written, not left
for the writer's late checkpoint or the last connection's close.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Final

import apsw

from observabilipy.adapters.storage.sqlite import open_connection

#: Seconds between checkpoints when the writer does not wake the thread sooner.
INTERVAL: Final = 1.0


class Checkpointer:
    """One per writer; started and stopped with it."""

    def __init__(self, path: str, *, busy_ms: int, interval: float | None = None) -> None:
        self.path = path
        self.interval = INTERVAL if interval is None else interval
        self._busy_ms = busy_ms
        self._stopped = threading.Event()
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="observabilipy-checkpointer", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Checkpoint now rather than at the next interval."""
        self._woken.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stopped.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        connection: apsw.Connection | None = None
        while True:
            self._woken.wait(self.interval)
            self._woken.clear()
            if self._stopped.is_set():
                break
            try:
                if connection is None:
                    connection = open_connection(self.path, busy_ms=self._busy_ms)
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except apsw.Error:  # e.g. the disk is full: the writer reports; try again later
                if connection is not None:
                    with contextlib.suppress(apsw.Error):
                        connection.close()
                connection = None
        if connection is not None:
            with contextlib.suppress(apsw.Error):
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                connection.close()
