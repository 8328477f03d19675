"""Storage in process memory: unbounded (``InMemory*``) or keeping the newest N (``RingBuffer*``).

Appends rely on ``list.append`` and ``deque.append`` being atomic in CPython, so
writers never take a lock; reads copy a snapshot first.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, Protocol, TypeVar

from observabilipy.core.models import LogEntry, MetricSample


class _Timestamped(Protocol):
    @property
    def timestamp(self) -> float: ...


T = TypeVar("T", bound=_Timestamped)


class InMemoryStorage(Generic[T]):
    """Keeps everything written, in order."""

    def __init__(self) -> None:
        self._items: list[T] = []

    def write(self, item: T) -> None:
        """Keep one item."""
        self._items.append(item)

    def read(self, since: float = 0) -> list[T]:
        """Items at or after ``since``, oldest first."""
        snapshot = self._items.copy()
        if since <= 0:
            return snapshot
        return [item for item in snapshot if item.timestamp >= since]

    def __len__(self) -> int:
        return len(self._items)


class RingBufferStorage(Generic[T]):
    """Keeps the newest ``capacity`` items; older ones are overwritten and counted."""

    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"ring buffer capacity must be a positive int, got {capacity!r}")
        self.capacity = capacity
        self._items: deque[T] = deque(maxlen=capacity)
        self._written = 0
        self._lock = threading.Lock()

    def write(self, item: T) -> None:
        """Keep one item, evicting the oldest when full."""
        with self._lock:  # the count and the items move together
            self._items.append(item)
            self._written += 1

    def read(self, since: float = 0) -> list[T]:
        """Items at or after ``since``, oldest first."""
        snapshot = list(self._items)
        if since <= 0:
            return snapshot
        return [item for item in snapshot if item.timestamp >= since]

    @property
    def evicted(self) -> int:
        """How many items were overwritten by newer ones so far."""
        with self._lock:
            return self._written - len(self._items)

    def __len__(self) -> int:
        return len(self._items)


class InMemoryLogStorage(InMemoryStorage[LogEntry]):
    """Every log entry, in memory."""


class InMemoryMetricsStorage(InMemoryStorage[MetricSample]):
    """Every metric sample, in memory."""


class RingBufferLogStorage(RingBufferStorage[LogEntry]):
    """The newest ``capacity`` log entries."""


class RingBufferMetricsStorage(RingBufferStorage[MetricSample]):
    """The newest ``capacity`` metric samples."""
