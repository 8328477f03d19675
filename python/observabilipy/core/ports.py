"""The storage ports: what the engine and the endpoints need from any storage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from observabilipy.core.models import LogEntry, MetricSample


class LogStoragePort(Protocol):
    """Somewhere log entries are written and read back oldest first."""

    def write(self, entry: LogEntry) -> None:
        """Keep one entry."""
        ...

    def read(self, since: float = 0) -> Iterable[LogEntry]:
        """Entries whose timestamp is at or after ``since``, oldest first."""
        ...


class MetricsStoragePort(Protocol):
    """Somewhere metric samples are written and read back oldest first."""

    def write(self, sample: MetricSample) -> None:
        """Keep one sample."""
        ...

    def read(self, since: float = 0) -> Iterable[MetricSample]:
        """Samples whose timestamp is at or after ``since``, oldest first."""
        ...
