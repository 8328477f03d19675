"""In-memory and ring-buffer storage: the same port, different retention."""

import threading

import pytest

from observabilipy import (
    InMemoryLogStorage,
    InMemoryMetricsStorage,
    LogEntry,
    LogStoragePort,
    MetricSample,
    MetricsStoragePort,
    RingBufferLogStorage,
    RingBufferMetricsStorage,
)


def entry(ts: float) -> LogEntry:
    return LogEntry(ts, "info", f"at {ts}")


def sample(ts: float) -> MetricSample:
    return MetricSample("orders_total", ts, ts, {"method": "card"})


LOG_STORAGES = [InMemoryLogStorage, lambda: RingBufferLogStorage(100)]
METRIC_STORAGES = [InMemoryMetricsStorage, lambda: RingBufferMetricsStorage(100)]


@pytest.mark.parametrize("make", LOG_STORAGES)
def test_log_storage_reads_back_in_write_order_since_a_time(make):
    """read() returns everything oldest first; read(since) keeps entries at or after it."""
    storage: LogStoragePort = make()
    for ts in (1.0, 2.0, 3.0):
        storage.write(entry(ts))
    assert [e.timestamp for e in storage.read()] == [1.0, 2.0, 3.0]
    assert [e.timestamp for e in storage.read(since=2.0)] == [2.0, 3.0]
    assert list(storage.read(since=4.0)) == []


@pytest.mark.parametrize("make", METRIC_STORAGES)
def test_metric_storage_reads_back_in_write_order_since_a_time(make):
    """The metrics port behaves the same way for MetricSample rows."""
    storage: MetricsStoragePort = make()
    for ts in (1.0, 2.0):
        storage.write(sample(ts))
    assert list(storage.read()) == [sample(1.0), sample(2.0)]
    assert list(storage.read(since=1.5)) == [sample(2.0)]


def test_ring_buffer_keeps_the_newest_and_counts_the_rest():
    """A ring buffer of 3 after 5 writes holds the newest 3 and has evicted 2."""
    storage = RingBufferLogStorage(3)
    for ts in range(5):
        storage.write(entry(float(ts)))
    assert [e.timestamp for e in storage.read()] == [2.0, 3.0, 4.0]
    assert storage.evicted == 2
    assert len(storage) == 3


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True])
def test_ring_buffer_capacity_must_be_positive(capacity):
    """A zero, negative or non-int capacity is refused with ValueError."""
    with pytest.raises(ValueError, match="capacity"):
        RingBufferLogStorage(capacity)


def test_concurrent_writers_lose_nothing():
    """4 threads x 10,000 writes: all 40,000 entries are there, none twice."""
    storage = InMemoryLogStorage()
    ring = RingBufferLogStorage(50_000)

    def work(worker: int) -> None:
        for i in range(10_000):
            item = LogEntry(float(i), "info", f"{worker}-{i}")
            storage.write(item)
            ring.write(item)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in (storage, ring):
        messages = [e.message for e in store.read()]
        assert len(messages) == 40_000
        assert len(set(messages)) == 40_000
    assert ring.evicted == 0
