"""Scrape-time exposition, observabilipy against prometheus_client, side by side.

Each group holds one pair rendering the same metrics in the same format, one round
being one whole scrape body:

- 10,000 counter series: one family ``http_requests`` with labels ``path`` and
  ``code``, 10,000 distinct children each incremented once;
- 1,000 histograms: one family ``request_seconds`` with label ``route`` and the
  default buckets, 1,000 children each observing ``OBSERVED``.

Ours is ``encode_text(registry.collect())`` / ``encode_openmetrics(registry.collect())``
(snapshot included); prometheus_client's is ``generate_latest(registry)`` from
``prometheus_client`` / ``prometheus_client.openmetrics.exposition``, with its
``_created`` series turned off for the test so both sides render the same samples.

After benchmarking, each output is parsed back with prometheus_client's own parser
and checked sample by sample, so speed is only reported for correct output.
"""

from collections.abc import Callable, Iterable
from typing import cast

import prometheus_client
import prometheus_client.metrics
import prometheus_client.openmetrics.exposition
import prometheus_client.openmetrics.parser
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Registry
from observabilipy.core.encoding.prometheus import encode_openmetrics, encode_text

# These prometheus_client functions are untyped; give mypy their signatures.
generate_openmetrics = cast(
    Callable[[prometheus_client.CollectorRegistry], bytes],
    prometheus_client.openmetrics.exposition.generate_latest,
)
parse_openmetrics = cast(
    Callable[[str], Iterable[Metric]],
    prometheus_client.openmetrics.parser.text_string_to_metric_families,
)

CODES = ("200", "201", "404", "500", "503")
SERIES = 10_000
LABEL_PAIRS = [(f"/api/items/{i // len(CODES)}", CODES[i % len(CODES)]) for i in range(SERIES)]
"""10,000 distinct (path, code) label pairs."""

ROUTES = [f"/api/route/{i}" for i in range(1_000)]
OBSERVED = (0.003, 0.3, 4.0)
"""What every histogram child observes: three different buckets."""

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
EXPECTED_BUCKETS = {b: float(sum(v <= b for v in OBSERVED)) for b in (*BOUNDS, float("inf"))}
SAMPLES_PER_HISTOGRAM = len(EXPECTED_BUCKETS) + 2  # buckets, _count, _sum

MIN_ROUNDS = 15
"""Scrapes take tens of milliseconds: ask for enough rounds that the median is stable."""


# --- the metrics being exposed, built afresh for each benchmark -------------------------
# Function-scoped so each benchmark's heap holds only its own library's metrics: the
# cyclic GC, which runs during scrapes, then has the same amount to scan on both sides.


def build_our_counters() -> Registry:
    registry = Registry(max_series=SERIES)  # past the default limit of 2,000 a family
    requests = registry.counter("http_requests_total", "HTTP requests", labels=["path", "code"])
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()
    return registry


def build_their_counters() -> prometheus_client.CollectorRegistry:
    registry = prometheus_client.CollectorRegistry()
    requests = prometheus_client.Counter(
        "http_requests", "HTTP requests", ["path", "code"], registry=registry
    )
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()
    return registry


def build_our_histograms() -> Registry:
    registry = Registry(max_series=SERIES)
    latency = registry.histogram("request_seconds", "Request latency", labels=["route"])
    for route in ROUTES:
        child = latency.labels(route=route)
        for value in OBSERVED:
            child.observe(value)
    return registry


def build_their_histograms() -> prometheus_client.CollectorRegistry:
    registry = prometheus_client.CollectorRegistry()
    latency = prometheus_client.Histogram(
        "request_seconds", "Request latency", ["route"], registry=registry
    )
    for route in ROUTES:
        child = latency.labels(route=route)
        for value in OBSERVED:
            child.observe(value)
    return registry


@pytest.fixture
def our_counters() -> Registry:
    return build_our_counters()


@pytest.fixture
def their_counters() -> prometheus_client.CollectorRegistry:
    return build_their_counters()


@pytest.fixture
def our_histograms() -> Registry:
    return build_our_histograms()


@pytest.fixture
def their_histograms() -> prometheus_client.CollectorRegistry:
    return build_their_histograms()


# --- correctness of an exposition, checked after it was benchmarked -------------------


def assert_counter_series(families: Iterable[Metric]) -> None:
    """Exactly the 10,000 ``http_requests_total`` series, each at 1."""
    samples = [sample for family in families for sample in family.samples]
    assert len(samples) == SERIES
    assert {sample.name for sample in samples} == {"http_requests_total"}
    assert {sample.value for sample in samples} == {1.0}
    assert {(s.labels["path"], s.labels["code"]) for s in samples} == set(LABEL_PAIRS)


def assert_histograms(families: Iterable[Metric]) -> None:
    """Exactly 1,000 ``request_seconds`` histograms, each holding ``OBSERVED``."""
    samples = [sample for family in families for sample in family.samples]
    assert len(samples) == len(ROUTES) * SAMPLES_PER_HISTOGRAM
    buckets: dict[str, dict[float, float]] = {route: {} for route in ROUTES}
    for sample in samples:
        route = sample.labels["route"]
        if sample.name == "request_seconds_bucket":
            buckets[route][float(sample.labels["le"])] = sample.value
        elif sample.name == "request_seconds_count":
            assert sample.value == len(OBSERVED)
        else:
            assert sample.name == "request_seconds_sum"
            assert sample.value == pytest.approx(sum(OBSERVED))
    assert all(by_bound == EXPECTED_BUCKETS for by_bound in buckets.values())


# --- Prometheus text 0.0.4, 10,000 counter series -------------------------------------


@pytest.mark.benchmark(
    group="exposition text: 10,000 counter series",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_text_10k_counter_series_observabilipy(
    benchmark: BenchmarkFixture, our_counters: Registry
) -> None:
    output: bytes = benchmark(lambda: encode_text(our_counters.collect()))
    assert_counter_series(text_string_to_metric_families(output.decode()))


@pytest.mark.benchmark(
    group="exposition text: 10,000 counter series",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_text_10k_counter_series_prometheus_client(
    benchmark: BenchmarkFixture, their_counters: prometheus_client.CollectorRegistry
) -> None:
    output: bytes = benchmark(prometheus_client.generate_latest, their_counters)
    assert_counter_series(text_string_to_metric_families(output.decode()))


# --- OpenMetrics 1.0.0, 10,000 counter series -----------------------------------------


@pytest.mark.benchmark(
    group="exposition openmetrics: 10,000 counter series",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_openmetrics_10k_counter_series_observabilipy(
    benchmark: BenchmarkFixture, our_counters: Registry
) -> None:
    output: bytes = benchmark(lambda: encode_openmetrics(our_counters.collect()))
    assert_counter_series(parse_openmetrics(output.decode()))


@pytest.mark.benchmark(
    group="exposition openmetrics: 10,000 counter series",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_openmetrics_10k_counter_series_prometheus_client(
    benchmark: BenchmarkFixture, their_counters: prometheus_client.CollectorRegistry
) -> None:
    output: bytes = benchmark(generate_openmetrics, their_counters)
    assert_counter_series(parse_openmetrics(output.decode()))


# --- Prometheus text 0.0.4, 1,000 histograms ------------------------------------------


@pytest.mark.benchmark(
    group="exposition text: 1,000 histograms",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_text_1k_histograms_observabilipy(
    benchmark: BenchmarkFixture, our_histograms: Registry
) -> None:
    output: bytes = benchmark(lambda: encode_text(our_histograms.collect()))
    assert_histograms(text_string_to_metric_families(output.decode()))


@pytest.mark.benchmark(
    group="exposition text: 1,000 histograms",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_text_1k_histograms_prometheus_client(
    benchmark: BenchmarkFixture, their_histograms: prometheus_client.CollectorRegistry
) -> None:
    output: bytes = benchmark(prometheus_client.generate_latest, their_histograms)
    assert_histograms(text_string_to_metric_families(output.decode()))


# --- OpenMetrics 1.0.0, 1,000 histograms ----------------------------------------------


@pytest.mark.benchmark(
    group="exposition openmetrics: 1,000 histograms",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_openmetrics_1k_histograms_observabilipy(
    benchmark: BenchmarkFixture, our_histograms: Registry
) -> None:
    output: bytes = benchmark(lambda: encode_openmetrics(our_histograms.collect()))
    assert_histograms(parse_openmetrics(output.decode()))


@pytest.mark.benchmark(
    group="exposition openmetrics: 1,000 histograms",
    min_rounds=MIN_ROUNDS,
    warmup=True,
    warmup_iterations=3,
)
def test_openmetrics_1k_histograms_prometheus_client(
    benchmark: BenchmarkFixture, their_histograms: prometheus_client.CollectorRegistry
) -> None:
    output: bytes = benchmark(generate_openmetrics, their_histograms)
    assert_histograms(parse_openmetrics(output.decode()))
