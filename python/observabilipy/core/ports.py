"""The storage ports: what the engine and the endpoints need from any storage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol, runtime_checkable

from observabilipy.core.models import LogEntry, MetricFamily, MetricSample


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


class Batch(NamedTuple):
    """Log rows to ship: ids in (``after``, ``cursor``], as ``GET /logs`` NDJSON lines."""

    after: int  # the cursor before this batch
    cursor: int  # the cursor once the receiver has it (gaps in ids included)
    rows: int
    ndjson: bytes  # one line per row, exactly as GET /logs serves it


class Rejected(Exception):  # noqa: N818 - a receiver's answer, not a fault of ours
    """Raised by ``send`` when the receiver refuses a batch for good (a 4xx other than
    429): the rows are counted as rejected and skipped, never retried."""


class RetryLater(Exception):  # noqa: N818 - a receiver's answer, not a fault of ours
    """Raised by ``send`` when the receiver asks for a pause (429, ``Retry-After``):
    the batch is sent again after ``seconds``."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@runtime_checkable
class Exporter(Protocol):
    """Somewhere stored log rows ship to. ``name`` keys its cursor in the database
    file: keep it stable across restarts.

    ``send`` returns once the receiver has the batch for good (written and synced, or
    acknowledged) and raises on any failure: the batch is then sent again later
    (``RetryLater``: after the pause the receiver asked for), unless it raises
    ``Rejected``, which skips it. It runs on the engine's shipping thread, never on the
    application's.
    """

    @property
    def name(self) -> str: ...

    def send(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class MetricsExporter(Protocol):
    """Somewhere the engine's metric totals are pushed, every ``interval`` seconds, by
    one process of those sharing the database (the holder of its lease). ``push``
    raises as ``Exporter.send`` does; an exporter may be both."""

    @property
    def name(self) -> str: ...

    @property
    def interval(self) -> float: ...

    def push(self, families: list[MetricFamily]) -> None: ...

    def close(self) -> None: ...
