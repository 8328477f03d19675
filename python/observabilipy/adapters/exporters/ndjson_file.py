"""An exporter that appends shipped rows to a file, in exactly the ``GET /logs`` lines,
for a log agent to tail (Grafana Alloy's ``loki.source.file``, Promtail, Vector).

Rotation is by size and by age, the way logrotate names files: ``app.ndjson`` is
written, rotated files are ``app.ndjson.1`` (newest) up to ``app.ndjson.<keep>``.
Agents follow the active file by name across a rename, and a glob such as
``*.ndjson`` matches only active files: timestamped names (``app-2026-…ndjson``) would
match it too, and an agent would read each rotated file again from its start as a new
file, sending every line twice.

A batch is written whole, then fsynced, before ``send`` returns (and only then does the
cursor move): a crash loses no line and repeats at most the batch in flight. A crash
in the middle of a write leaves part of a line; the next open cuts it off, since that
batch is sent again whole.
"""

from __future__ import annotations

import os
import time
from typing import Final

from observabilipy.core.ports import Batch

DEFAULT_MAX_BYTES: Final = 100 * 1024 * 1024
_TAIL: Final = 64 * 1024  # bytes read back at a time looking for the last full line


class FileExporter:
    """Ships log rows to ``path`` as NDJSON, rotating it once it would pass
    ``max_bytes`` or is ``max_age`` seconds old (None: never by age), keeping ``keep``
    rotated files. ``name`` keys its cursor in the database (default: the path).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: float | None = 86_400.0,
        keep: int = 5,
        name: str | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise ValueError(f"FileExporter: no directory {directory!r} for {self.path!r}")
        if os.path.isdir(self.path):
            raise ValueError(f"FileExporter: {self.path!r} is a directory, not a file name")
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1024:
            raise ValueError(f"FileExporter max_bytes must be an int >= 1024, got {max_bytes!r}")
        if max_age is not None and (not isinstance(max_age, int | float) or not max_age > 0):
            raise ValueError(f"FileExporter max_age must be > 0 seconds or None, got {max_age!r}")
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise ValueError(f"FileExporter keep must be an int >= 1, got {keep!r}")
        self.name = name or f"file:{self.path}"
        self.max_bytes, self.max_age, self.keep = max_bytes, max_age, keep
        self._fd: int | None = None
        self._started = 0.0  # epoch seconds the active file began

    def send(self, batch: Batch) -> None:
        """Append ``batch``'s lines and fsync them, rotating first when due."""
        fd = self._current()
        size = os.fstat(fd).st_size
        now = time.time()
        aged = self.max_age is not None and now - self._started >= self.max_age
        if size and (size + len(batch.ndjson) > self.max_bytes or aged):
            self._rotate()
            fd = self._current()
        view = memoryview(batch.ndjson)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def rotated(self, number: int) -> str:
        """The name of rotated file ``number`` (1 is the newest)."""
        return f"{self.path}.{number}"

    def _current(self) -> int:
        """The open active file, opened again when another process (or logrotate)
        rotated or removed it since."""
        if self._fd is not None:
            try:
                same = os.path.samestat(os.stat(self.path), os.fstat(self._fd))
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
            self.close()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        _cut_torn_tail(fd)
        # The file began when the previous one was rotated: that one's last write. A
        # process restarting so keeps the age rule; without one, from now.
        try:
            self._started = os.stat(self.rotated(1)).st_mtime
        except FileNotFoundError:
            self._started = time.time()
        self._fd = fd
        return fd

    def _rotate(self) -> None:
        """app.ndjson.<keep-1> -> .<keep> (the oldest goes), ..., app.ndjson -> .1; each
        a rename, so no line is copied, lost or written twice."""
        self.close()
        held = 0  # rotated files there now, .1 up (one look each, not ``keep``)
        while held < self.keep and os.path.exists(self.rotated(held + 1)):
            held += 1
        for number in range(min(held + 1, self.keep), 1, -1):
            os.replace(self.rotated(number - 1), self.rotated(number))
        os.replace(self.path, self.rotated(1))
        _sync_directory(os.path.dirname(self.path))


def _cut_torn_tail(fd: int) -> None:
    """Truncate a file that does not end in a newline back to its last full line."""
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - _TAIL)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            os.ftruncate(fd, start + newline + 1)
            return
        end = start
    os.ftruncate(fd, 0)


def _sync_directory(directory: str) -> None:
    """Make renames durable (the directory's entries), where the platform allows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
