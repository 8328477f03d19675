"""Copying the WAL back into the database file, from a thread of its own.

SQLite normally checkpoints inside the committing writer, which then spends about a
third of its time copying pages instead of inserting. Here the writer's connection
turns automatic checkpoints off and this thread runs a PASSIVE checkpoint every
``interval`` seconds on its own connection, on the other core, without blocking the
writer or readers.
"""

from __future__ import annotations

import contextlib
import threading

import apsw

from observabilipy.adapters.storage.sqlite import open_connection


class Checkpointer:
    """One per writer; started and stopped with it."""

    def __init__(self, path: str, *, busy_ms: int, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._busy_ms = busy_ms
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="observabilipy-checkpointer", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        connection: apsw.Connection | None = None
        while not self._stopped.wait(self.interval):
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
