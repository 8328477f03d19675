"""The cardinality guard: a family keeps max_series label sets; the rest share one
overflow series, so unbounded label values cost bounded memory and scrape time."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from observabilipy import Counter, Gauge, Histogram, Registry
from observabilipy.core.instruments import OVERFLOW_LABELS
from observabilipy.encoders import encode_text


def series(family) -> dict:
    return {labels: value for _, labels, value in family.samples}


def test_label_sets_past_the_limit_share_one_overflow_series():
    """Three kept, seven more counted together, each inc landing in the total."""
    overflowed: list[object] = []
    registry = Registry(max_series=3, on_overflow=overflowed.append)
    requests = registry.counter("requests_total", "Requests", labels=["path"])
    for i in range(10):
        requests.labels(f"/p{i}").inc(i + 1)
    requests.labels("/p0").inc()  # a kept series stays itself
    requests.labels("/p9").inc()  # an overflowed one keeps landing in the overflow
    [family, guard] = registry.collect()
    assert series(family) == {
        (("path", "/p0"),): 2.0,
        (("path", "/p1"),): 2.0,
        (("path", "/p2"),): 3.0,
        OVERFLOW_LABELS: sum(range(4, 11)) + 1.0,
    }
    assert overflowed == [requests]  # said once, whatever the number of label sets
    assert requests.overflowed == 8
    assert guard.name == "observabilipy_series_overflowed"
    assert guard.samples == [
        ("observabilipy_series_overflowed_total", (("metric", "requests"),), 8.0)
    ]


def test_gauges_and_histograms_overflow_alike_and_the_exposition_stays_valid():
    """Each kind has its overflow series; prometheus_client parses the text."""
    registry = Registry(max_series=2)
    depth = registry.gauge("depth", "Depth", labels=["queue"])
    latency = registry.histogram("latency_seconds", "Latency", labels=["route"], buckets=[1])
    for i in range(5):
        depth.labels(f"q{i}").set(i)
        latency.labels(f"/r{i}").observe(0.5)
    text = encode_text(registry.collect()).decode()
    assert 'depth{otel_metric_overflow="true"} 4\n' in text
    assert 'latency_seconds_count{otel_metric_overflow="true"} 3\n' in text
    assert 'latency_seconds_bucket{otel_metric_overflow="true",le="1.0"} 3\n' in text
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert len(parsed["latency_seconds"].samples) == 3 * 4


def test_a_million_label_values_hold_the_limit_and_the_total():
    """The issue's 1,000,000 label values through the API: the family holds 2,000
    series plus the overflow one, which carries the rest's total."""
    registry = Registry()
    users = registry.counter("logins_total", "Logins", labels=["user"])
    for i in range(1_000_000):
        users.labels(f"user-{i}").inc()
    [family, _] = registry.collect()
    assert len(family.samples) == 2001
    assert series(family)[OVERFLOW_LABELS] == 998_000
    assert len(encode_text(registry.collect())) < 200_000


@pytest.mark.parametrize("kind", [Counter, Gauge, Histogram])
def test_max_series_must_be_a_positive_int(kind):
    """Zero, negative or non-int limits are refused when the metric is defined."""
    with pytest.raises(ValueError, match="max_series"):
        kind("x", "X", ["a"], max_series=0)
