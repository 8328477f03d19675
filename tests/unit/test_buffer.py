"""The buffer between producers and the writer: bounded, never blocking by default, exact."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from observabilipy import LogEntry, Logger
from observabilipy.core.backend import native
from observabilipy.runtime.buffer import Buffer, Deque, Policy, Queue, entry_queue

# Every test runs on each queue a buffer may keep: the deque, and on the Rust backend
# the engine's native queue (which keeps items that are not log entries as objects).
QUEUES = [Deque, *([entry_queue] if native is not None else [])]


@pytest.fixture(params=QUEUES, ids=lambda make: make.__name__)
def new_buffer(request: pytest.FixtureRequest) -> Callable[..., Buffer[Any]]:
    """``Buffer(...)`` keeping its items in the queue of this run."""
    make: Callable[[], Queue[Any]] = request.param

    def new(capacity: int = 100_000, policy: Policy = "backpressure", block_timeout: float = 1.0):
        return Buffer(capacity, policy, block_timeout, make())

    return new


def test_appends_are_taken_oldest_first(new_buffer):
    """take() hands out items in append order, up to the limit asked for."""
    buffer: Buffer[int] = new_buffer(10)
    for i in range(5):
        assert buffer.append(i)
    assert list(buffer.take(3)) == [0, 1, 2]
    assert list(buffer.take(10)) == [3, 4]
    assert list(buffer.take(10)) == []


def test_drop_newest_refuses_appends_when_full_and_counts_them(new_buffer):
    """A full drop_newest buffer keeps what it has; each refused append is counted."""
    buffer: Buffer[int] = new_buffer(3, "drop_newest")
    results = [buffer.append(i) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert list(buffer.take(10)) == [0, 1, 2]
    assert (buffer.appended, buffer.taken, buffer.dropped) == (5, 3, 2)


def test_drop_oldest_keeps_the_newest_and_counts_the_rest(new_buffer):
    """A full drop_oldest buffer evicts from the head; each eviction is counted."""
    buffer: Buffer[int] = new_buffer(3, "drop_oldest")
    for i in range(5):
        buffer.append(i)
    assert list(buffer.take(10)) == [2, 3, 4]
    assert (buffer.appended, buffer.taken, buffer.dropped) == (5, 3, 2)


def test_block_waits_for_space_then_appends(new_buffer):
    """A full blocking buffer waits until the consumer takes something."""
    buffer: Buffer[int] = new_buffer(1, "block", block_timeout=5.0)
    buffer.append(0)
    threading.Timer(0.1, buffer.take, args=(1,)).start()
    start = time.monotonic()
    assert buffer.append(1)
    assert 0.05 < time.monotonic() - start < 4
    assert list(buffer.take(1)) == [1]
    assert buffer.dropped == 0


def test_block_gives_up_after_the_timeout_and_counts_a_drop(new_buffer):
    """When no space comes within the timeout, the append is dropped and counted."""
    buffer: Buffer[int] = new_buffer(1, "block", block_timeout=0.05)
    buffer.append(0)
    start = time.monotonic()
    assert not buffer.append(1)
    assert time.monotonic() - start >= 0.05
    assert buffer.dropped == 1


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest", "block"])
def test_accounting_is_exact_under_many_producers(policy, new_buffer):
    """appended == taken + dropped with 8 producers and a concurrent consumer."""
    buffer: Buffer[int] = new_buffer(1000, policy, block_timeout=0.001)
    taken: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or len(buffer):
            taken.extend(buffer.take(100))
            time.sleep(0.0005)

    def produce(worker: int) -> None:
        for i in range(20_000):
            buffer.append(worker * 1_000_000 + i)

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    done.set()
    consumer.join()
    assert buffer.appended == 160_000
    assert buffer.appended == buffer.taken + buffer.dropped
    assert len(taken) == buffer.taken == len(set(taken))
    for worker in range(8):  # each producer's items arrive in order
        mine = [item for item in taken if item // 1_000_000 == worker]
        assert mine == sorted(mine)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0,), "capacity"),
        ((10, "spill"), "unknown buffer policy 'spill'"),
        ((10, "block", -1), "timeout"),
    ],
)
def test_bad_settings_are_refused(args, message, new_buffer):
    """Zero capacity, an unknown policy or a negative timeout raise ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        new_buffer(*args)


def test_a_logger_appends_through_the_lane_until_a_batch_waits(new_buffer):
    """Below the batch size a logger appends to the queue itself; from there on the
    buffer sees each append: the writer is woken, and every entry is counted."""
    buffer: Buffer[LogEntry] = new_buffer(10, "drop_newest")
    buffer.batch_size = 3
    log = Logger("lane", buffer.append, lane=buffer.lane()).bind(shop="eu")
    for i in range(3):
        log.info("entry", i=i)
    assert not buffer.wakeup.is_set()
    log.info("entry", i=3)  # through append: a batch is waiting
    assert buffer.wakeup.is_set()
    for i in range(4, 12):
        log.info("entry", i=i)
    taken = buffer.take(100)
    assert [entry.attributes for entry in taken] == [{"shop": "eu", "i": i} for i in range(10)]
    assert (buffer.appended, buffer.taken, buffer.dropped) == (12, 10, 2)


def test_the_lane_never_holds_more_than_the_capacity(new_buffer):
    """A capacity below the batch size bounds the lane: the policy sees the rest."""
    buffer: Buffer[int] = new_buffer(2, "drop_newest")
    buffer.batch_size = 100
    assert buffer.lane() == (buffer._items, 2)


def test_a_reset_keeps_the_queue_loggers_append_to(new_buffer):
    """A forked child's reset empties the queue in place: a logger made before the
    fork still appends where the writer takes from."""
    buffer: Buffer[LogEntry] = new_buffer(10)
    buffer.batch_size = 5
    log = Logger("lane", buffer.append, lane=buffer.lane())
    log.info("before")
    buffer.reset()
    log.info("after")
    assert [entry.message for entry in buffer.take(10)] == ["after"]


def test_after_a_reset_appends_past_the_batch_size_wake_the_new_event(new_buffer):
    """A forked child's buffer has a fresh wakeup: a logger's appends set that one."""
    buffer: Buffer[LogEntry] = new_buffer(10)
    buffer.batch_size = 2
    log = Logger("lane", buffer.append, lane=buffer.lane())
    buffer.reset()
    for i in range(3):
        log.info("entry", i=i)
    assert buffer.wakeup.is_set()
    assert (buffer.appended, buffer.dropped) == (3, 0)
