"""The bounded buffer between producers (``log.info``) and the writer thread.

Appends are a ``deque.append`` (atomic in CPython): no lock that the writer could
hold. When the buffer is full the policy decides: drop the new entry, drop the oldest,
or block the producer up to a timeout. Every entry is accounted for: taken by the
consumer, dropped (and counted), or still waiting.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Final, Generic, Literal, TypeVar

from observabilipy.core.counting import peek

Policy = Literal["drop_newest", "drop_oldest", "block"]
POLICIES: Final = ("drop_newest", "drop_oldest", "block")

T = TypeVar("T")


class Buffer(Generic[T]):
    """A bounded FIFO with exact accounting and a choice of what to do when full."""

    def __init__(
        self, capacity: int = 100_000, policy: Policy = "drop_newest", block_timeout: float = 1.0
    ) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"buffer capacity must be a positive int, got {capacity!r}")
        if policy not in POLICIES:
            raise ValueError(f"unknown buffer policy {policy!r}: use one of {', '.join(POLICIES)}")
        if not block_timeout >= 0:
            raise ValueError(f"block timeout must be >= 0 seconds, got {block_timeout!r}")
        self.capacity = capacity
        self.policy = policy
        self.block_timeout = block_timeout
        self.batch_size = 1
        self.reset()

    def reset(self) -> None:
        """Empty, with fresh counts and locks (a forked child starts from here)."""
        self._items: deque[T] = deque()
        self._dropped: Iterator[int] = itertools.count()
        self._taken = 0  # only the single consumer changes it
        self._space = threading.Condition(threading.Lock())
        self.wakeup = threading.Event()  # set when a batch's worth is waiting

    def append(self, item: T) -> bool:
        """Add ``item``; False when the policy dropped it (or, for drop_oldest, another)."""
        items = self._items
        waiting = len(items)
        if waiting >= self.capacity and not self._make_room():
            next(self._dropped)
            return False
        items.append(item)
        if waiting >= self.batch_size and not self.wakeup.is_set():
            self.wakeup.set()
        return True

    def _make_room(self) -> bool:
        """Apply the policy to a full buffer; True when ``item`` may now be appended."""
        if self.policy == "drop_oldest":
            try:
                self._items.popleft()
            except IndexError:  # the writer emptied it meanwhile
                return True
            next(self._dropped)
            return True
        if self.policy == "block":
            self.wakeup.set()
            deadline = time.monotonic() + self.block_timeout
            with self._space:
                while len(self._items) >= self.capacity:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._space.wait(remaining):
                        return len(self._items) < self.capacity
            return True
        return False

    def take(self, limit: int) -> list[T]:
        """Remove and return up to ``limit`` items, oldest first (single consumer only)."""
        items = self._items
        batch: list[T] = []
        pop = items.popleft
        with contextlib.suppress(IndexError):  # drop_oldest emptied it meanwhile
            for _ in range(min(limit, len(items))):
                batch.append(pop())  # noqa: PERF401 - each popped item must land in batch
        self._taken += len(batch)
        if batch and self.policy == "block":
            with self._space:
                self._space.notify_all()
        return batch

    def count_dropped(self) -> None:
        """Account for a taken entry the consumer could not keep."""
        next(self._dropped)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def appended(self) -> int:
        """Every append ever attempted, dropped ones included (exact when quiet).

        Derived rather than counted: the hot path saves a tick, and the identity
        ``appended == taken + dropped + waiting`` cannot drift.
        """
        return self._taken + peek(self._dropped) + len(self._items)

    @property
    def dropped(self) -> int:
        """Entries dropped by the policy."""
        return peek(self._dropped)

    @property
    def taken(self) -> int:
        """Entries handed to the consumer."""
        return self._taken
