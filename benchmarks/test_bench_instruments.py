"""Instrument hot paths, observabilipy against prometheus_client, side by side.

Every group holds one pair: the same operation on an observabilipy instrument and on
a prometheus_client one. Each benchmarked round makes ``CALLS`` (1,000) calls in a
plain loop, identical for both libraries, so **reported times are per 1,000 calls**:
a median of 45 us means 45 ns per call (loop overhead included, equally on both sides).

Every benchmark gets a fresh ``observabilipy.Registry()`` or a fresh
``prometheus_client.CollectorRegistry()`` (never the global ``REGISTRY``), counts the
rounds it ran, and afterwards checks the instrument holds exactly what those calls
recorded, so a fast but wrong implementation fails instead of winning.
"""

from itertools import repeat

import prometheus_client
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Registry

CALLS = 1_000
"""Calls per benchmarked round: reported times are per this many calls."""

VALUE = 0.3
"""What the histogram benchmarks observe: lands in the ``le="0.5"`` bucket."""


# --- counter.inc(), unlabelled ------------------------------------------------------


@pytest.mark.benchmark(group="counter inc()")
def test_counter_inc_observabilipy(benchmark: BenchmarkFixture) -> None:
    counter = Registry().counter("requests_total", "Requests")
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            counter.inc()

    benchmark(run)
    assert rounds > 0
    assert counter.get() == rounds * CALLS


@pytest.mark.benchmark(group="counter inc()")
def test_counter_inc_prometheus_client(benchmark: BenchmarkFixture) -> None:
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("requests_total", "Requests", registry=registry)
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            counter.inc()

    benchmark(run)
    assert rounds > 0
    assert registry.get_sample_value("requests_total") == rounds * CALLS


# --- counter.labels(method="card").inc(), one keyword label ---------------------------


@pytest.mark.benchmark(group="counter labels(method=...).inc()")
def test_counter_labels_inc_observabilipy(benchmark: BenchmarkFixture) -> None:
    counter = Registry().counter("checkouts_total", "Checkouts", labels=["method"])
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            counter.labels(method="card").inc()

    benchmark(run)
    assert rounds > 0
    assert counter.labels(method="card").get() == rounds * CALLS
    assert [values for values, _ in counter.children()] == [("card",)]


@pytest.mark.benchmark(group="counter labels(method=...).inc()")
def test_counter_labels_inc_prometheus_client(benchmark: BenchmarkFixture) -> None:
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "checkouts_total", "Checkouts", ["method"], registry=registry
    )
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            counter.labels(method="card").inc()

    benchmark(run)
    assert rounds > 0
    assert registry.get_sample_value("checkouts_total", {"method": "card"}) == rounds * CALLS


# --- child.inc(), the child from labels() kept ---------------------------------------


@pytest.mark.benchmark(group="counter child inc()")
def test_counter_child_inc_observabilipy(benchmark: BenchmarkFixture) -> None:
    counter = Registry().counter("checkouts_total", "Checkouts", labels=["method"])
    child = counter.labels(method="card")
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            child.inc()

    benchmark(run)
    assert rounds > 0
    assert counter.labels(method="card").get() == rounds * CALLS


@pytest.mark.benchmark(group="counter child inc()")
def test_counter_child_inc_prometheus_client(benchmark: BenchmarkFixture) -> None:
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "checkouts_total", "Checkouts", ["method"], registry=registry
    )
    child = counter.labels(method="card")
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            child.inc()

    benchmark(run)
    assert rounds > 0
    assert registry.get_sample_value("checkouts_total", {"method": "card"}) == rounds * CALLS


# --- gauge.inc() then gauge.dec(): an in-flight gauge --------------------------------


@pytest.mark.benchmark(group="gauge inc() + dec()")
def test_gauge_inc_dec_observabilipy(benchmark: BenchmarkFixture) -> None:
    gauge = Registry().gauge("in_flight", "Requests in flight")
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            gauge.inc()
            gauge.dec()

    benchmark(run)
    assert rounds > 0
    gauge.inc(rounds)
    assert gauge.get() == rounds


@pytest.mark.benchmark(group="gauge inc() + dec()")
def test_gauge_inc_dec_prometheus_client(benchmark: BenchmarkFixture) -> None:
    registry = prometheus_client.CollectorRegistry()
    gauge = prometheus_client.Gauge("in_flight", "Requests in flight", registry=registry)
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            gauge.inc()
            gauge.dec()

    benchmark(run)
    assert rounds > 0
    gauge.inc(rounds)
    assert registry.get_sample_value("in_flight") == rounds


# --- histogram.observe(0.3), default buckets -----------------------------------------


@pytest.mark.benchmark(group="histogram observe()")
def test_histogram_observe_observabilipy(benchmark: BenchmarkFixture) -> None:
    histogram = Registry().histogram("latency_seconds", "Latency")
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            histogram.observe(VALUE)

    benchmark(run)
    assert rounds > 0
    cumulative, total = histogram.state()
    bounds = [*histogram.buckets, float("inf")]
    assert cumulative == [rounds * CALLS if bound >= VALUE else 0 for bound in bounds]
    assert total == pytest.approx(rounds * CALLS * VALUE)


@pytest.mark.benchmark(group="histogram observe()")
def test_histogram_observe_prometheus_client(benchmark: BenchmarkFixture) -> None:
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram("latency_seconds", "Latency", registry=registry)
    rounds = 0

    def run() -> None:
        nonlocal rounds
        rounds += 1
        for _ in repeat(None, CALLS):
            histogram.observe(VALUE)

    benchmark(run)
    assert rounds > 0
    value = registry.get_sample_value
    assert value("latency_seconds_count") == rounds * CALLS
    assert value("latency_seconds_bucket", {"le": "0.5"}) == rounds * CALLS
    assert value("latency_seconds_bucket", {"le": "0.25"}) == 0
    assert value("latency_seconds_sum") == pytest.approx(rounds * CALLS * VALUE)
