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

The engine's queue (``entry_queue``) is a deque of ``LogEntry`` on the pure-Python
backend; on the Rust backend, ``_native.EntryQueue`` keeps each entry as the JSON the
writer inserts, written in the log call, so the writer takes a batch as one copy
instead of encoding and freeing every entry with the GIL held.
"""

from __future__ import annotations

import contextlib
import operator
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Final, Generic, Literal, Protocol, TypeVar

from observabilipy.core.backend import native
from observabilipy.core.entries import ENTRY_FROM_JSON, ENTRY_JSON
from observabilipy.core.models import LogEntry
from observabilipy.runtime.stderr import say

Policy = Literal["backpressure", "block", "drop_newest", "drop_oldest"]
POLICIES: Final = ("backpressure", "block", "drop_newest", "drop_oldest")

T = TypeVar("T")


class Queue(Protocol[T]):
    """What a buffer keeps its items in: appends by producers, ``popleft`` by a
    ``drop_oldest`` producer, everything else by the one consumer."""

    def __len__(self) -> int: ...
    def append(self, item: T, /) -> object: ...
    def popleft(self) -> object: ...
    def clear(self) -> None: ...
    def take(self, count: int, exclusive: bool) -> Sequence[T]: ...
    def wake_past(self, count: int, wake: Callable[[], object]) -> bool: ...


class Deque(deque[T]):
    """A deque that hands over a batch (the pure-Python backend's queue)."""

    def wake_past(self, count: int, wake: Callable[[], object]) -> bool:
        """False: ``Buffer.append`` wakes the consumer (a deque cannot)."""
        return False

    def take(self, count: int, exclusive: bool) -> list[T]:
        """Remove and return up to ``count`` items, oldest first. ``exclusive``: only
        the caller removes items, so ``count`` are there (up to ``len``)."""
        count = min(count, len(self))
        if exclusive:
            # Popped in one C loop (the caller holds the GIL here, which producers wait out).
            return list(map(operator.call, repeat(self.popleft, count)))
        batch: list[T] = []
        pop = self.popleft
        with contextlib.suppress(IndexError):  # a producer's drop emptied it meanwhile
            for _ in range(count):
                batch.append(pop())  # noqa: PERF401 (each popped item must land in batch)
        return batch


def entry_queue() -> Queue[LogEntry]:
    """The engine's queue of log entries: native on the Rust backend (see the module)."""
    if native is None:
        return Deque()
    queue: Queue[LogEntry] = native.EntryQueue(LogEntry, ENTRY_JSON.encode, ENTRY_FROM_JSON.decode)
    return queue


class Buffer(Generic[T]):
    """A bounded FIFO with exact accounting and a choice of what to do when full."""

    def __init__(
        self,
        capacity: int = 100_000,
        policy: Policy = "backpressure",
        block_timeout: float = 1.0,
        queue: Queue[T] | None = None,
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
        self._batch_size = 1
        self._items: Queue[T] = Deque() if queue is None else queue
        self.reset()

    @property
    def batch_size(self) -> int:
        """Entries waiting beyond which the consumer is woken."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = value
        self._self_waking = self._items.wake_past(value, self.wakeup.set)

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
        self.batch_size = self._batch_size  # the queue wakes the new event

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

    def lane(self) -> tuple[Queue[T], int]:
        """The queue and how many items it may hold before ``append`` must see the
        next one, so a producer may append to the queue itself until then. That is the
        capacity when the queue wakes the consumer itself (``wake_past``), else the
        batch size: below it an append needs no wakeup and, below the capacity, no
        policy."""
        room = self.capacity if self._self_waking else min(self.batch_size, self.capacity)
        return self._items, room

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

    def take(self, limit: int) -> Sequence[T]:
        """Remove and return up to ``limit`` items, oldest first (single consumer only)."""
        batch = self._items.take(limit, self.policy != "drop_oldest")
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
