"""The bounded buffer between producers (``log.info``) and the writer thread.

Appends are a ``deque.append`` (atomic in CPython): no lock that the writer could
hold. When the buffer is full the policy decides:

- ``backpressure`` (the default): while the writer is making progress, the producer
  waits for room, up to ``block_timeout``, as stdlib logging's users expect from a
  handler that writes; while storage is failing, the new entry is dropped at once
  rather than stalling the service;
- ``block``: always wait up to ``block_timeout``;
- ``drop_newest`` / ``drop_oldest``: never wait; drop the new entry or the oldest one.

Every entry is accounted for: taken by the consumer, dropped (counted; the first drop
says so once on stderr, naming how to change the policy), or still waiting.
"""

from __future__ import annotations

import contextlib
import operator
import threading
import time
from collections import deque
from itertools import repeat
from typing import Final, Generic, Literal, TypeVar

from observabilipy.runtime.stderr import say

Policy = Literal["backpressure", "block", "drop_newest", "drop_oldest"]
POLICIES: Final = ("backpressure", "block", "drop_newest", "drop_oldest")

T = TypeVar("T")


class Buffer(Generic[T]):
    """A bounded FIFO with exact accounting and a choice of what to do when full."""

    def __init__(
        self, capacity: int = 100_000, policy: Policy = "backpressure", block_timeout: float = 1.0
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
        self._items: deque[T] = deque()
        self.reset()

    def reset(self) -> None:
        """Empty, with fresh counts and locks (a forked child starts from here). The
        queue stays the same object: loggers append to it directly (see ``lane``)."""
        self._items.clear()
        self._dropped = 0  # under _drop_lock: drops are off the fast path
        self._drop_lock = threading.Lock()
        self._taken = 0  # only the single consumer changes it
        self._space = threading.Condition(threading.Lock())
        self.wakeup = threading.Event()  # set when a batch's worth is waiting
        self._failing = False
        self.last_drop = 0.0  # time.monotonic() of the latest drop
        self._drop_reported = False

    @property
    def failing(self) -> bool:
        """Whether storage is failing: ``backpressure`` then drops instead of waiting."""
        return self._failing

    @failing.setter
    def failing(self, value: bool) -> None:
        self._failing = value
        if value:  # producers waiting for room stop waiting for a writer that cannot write
            with self._space:
                self._space.notify_all()

    def append(self, item: T) -> bool:
        """Add ``item``; False when the policy dropped it (or, for drop_oldest, another)."""
        items = self._items
        waiting = len(items)
        if waiting >= self.capacity and not self._make_room():
            self._drop()
            return False
        items.append(item)
        if waiting >= self.batch_size and not self.wakeup.is_set():
            self.wakeup.set()
        return True

    def lane(self) -> tuple[deque[T], int]:
        """The queue and how many items it may hold before ``append`` must see the
        next one: below the batch size (and the capacity) an append needs no wakeup
        and no policy, so a producer may append to the queue itself."""
        return self._items, min(self.batch_size, self.capacity)

    def _make_room(self) -> bool:
        """Apply the policy to a full buffer; True when ``item`` may now be appended."""
        if self.policy == "drop_oldest":
            try:
                self._items.popleft()
            except IndexError:  # the writer emptied it meanwhile
                return True
            self._drop()
            return True
        if self.policy == "block" or (self.policy == "backpressure" and not self._failing):
            self.wakeup.set()
            deadline = time.monotonic() + self.block_timeout
            with self._space:
                while len(self._items) >= self.capacity:
                    if self._failing and self.policy == "backpressure":
                        return False
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._space.wait(remaining):
                        return len(self._items) < self.capacity
            return True
        return False

    def _drop(self) -> None:
        with self._drop_lock:
            self._dropped += 1
        self.last_drop = time.monotonic()
        if not self._drop_reported:
            self._drop_reported = True
            why = (
                "storage is failing"
                if self._failing
                else f"waited {self.block_timeout} s for room"
                if self.policy in ("backpressure", "block")
                else "it is full"
            )
            say(
                f"dropping log entries: the buffer holds {self.capacity} and {why} "
                f"(overflow policy {self.policy!r}); Engine(buffer_size=..., "
                "overflow='backpressure'|'block'|'drop_newest'|'drop_oldest', "
                "block_timeout=...) changes this; drops are counted in "
                "observabilipy_buffer_dropped_total"
            )

    def take(self, limit: int) -> list[T]:
        """Remove and return up to ``limit`` items, oldest first (single consumer only)."""
        items = self._items
        count = min(limit, len(items))
        if self.policy != "drop_oldest":
            # Only this consumer removes items, so ``count`` are there: pop them in one
            # C loop (the writer holds the GIL here, which producers wait out).
            batch: list[T] = list(map(operator.call, repeat(items.popleft, count)))
        else:
            batch = []
            pop = items.popleft
            with contextlib.suppress(IndexError):  # a producer's drop emptied it meanwhile
                for _ in range(count):
                    batch.append(pop())  # one by one: each popped item must land in batch
        self._taken += len(batch)
        if batch and self.policy in ("block", "backpressure"):
            with self._space:
                self._space.notify_all()
        return batch

    def count_dropped(self) -> None:
        """Account for a taken entry the consumer could not keep: dropped, no longer taken."""
        self._taken -= 1
        with self._drop_lock:
            self._dropped += 1
        self.last_drop = time.monotonic()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def appended(self) -> int:
        """Every append ever attempted, dropped ones included (exact when quiet).

        Derived rather than counted: the hot path saves a tick, and the identity
        ``appended == taken + dropped + waiting`` cannot drift.
        """
        return self._taken + self._dropped + len(self._items)

    @property
    def dropped(self) -> int:
        """Entries dropped by the policy."""
        return self._dropped

    @property
    def taken(self) -> int:
        """Entries handed to the consumer."""
        return self._taken
