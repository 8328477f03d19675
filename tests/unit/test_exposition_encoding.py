"""Prometheus text 0.0.4 and OpenMetrics 1.0.0: byte-exact vectors and refused input."""

import pytest

from observabilipy import Registry
from observabilipy.core.encoding.prometheus import encode_openmetrics, encode_text
from observabilipy.core.models import MetricFamily
from tests.vector_data import VECTORS, exposition_cases

CASES = exposition_cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_text_format_matches_vector_bytes(case):
    """Each vector's families encode to exactly the bytes in <case>.prom."""
    assert encode_text(CASES[case]) == (VECTORS / "exposition" / f"{case}.prom").read_bytes()


@pytest.mark.parametrize("case", sorted(CASES))
def test_openmetrics_matches_vector_bytes(case):
    """Each vector's families encode to exactly the bytes in <case>.om."""
    assert encode_openmetrics(CASES[case]) == (VECTORS / "exposition" / f"{case}.om").read_bytes()


def test_counter_family_names_differ_between_formats():
    """Text 0.0.4 puts _total on a counter's HELP/TYPE, OpenMetrics does not; never _total_total."""
    registry = Registry()
    registry.counter("jobs_total", "Jobs").inc()
    text = encode_text(registry.collect()).decode()
    om = encode_openmetrics(registry.collect()).decode()
    assert text == "# HELP jobs_total Jobs\n# TYPE jobs_total counter\njobs_total 1\n"
    assert om == "# HELP jobs Jobs\n# TYPE jobs counter\njobs_total 1\n# EOF\n"
    assert "_total_total" not in text + om


def test_families_are_never_interleaved():
    """All samples of a family follow its TYPE line before the next family starts."""
    registry = Registry()
    a = registry.counter("a", "A", labels=["x"])
    b = registry.gauge("b", "B", labels=["x"])
    for value in ("1", "2"):
        a.labels(value).inc()
        b.labels(value).set(1)
    lines = encode_text(registry.collect()).decode().splitlines()
    names = [line.split("{")[0] for line in lines if not line.startswith("#")]
    assert names == ["a_total", "a_total", "b", "b"]


@pytest.mark.parametrize(
    ("family", "error", "message"),
    [
        (MetricFamily("1bad", "gauge", "", []), ValueError, "invalid metric name"),
        (MetricFamily("ok", "untyped", "", []), ValueError, "unknown metric type"),
        (MetricFamily("ok", "gauge", "", [("other", (), 1.0)]), ValueError, "does not belong"),
        (MetricFamily("ok", "gauge", "", [("ok bad", (), 1.0)]), ValueError, "does not belong"),
        (MetricFamily("ok", "gauge", "", [("ok\n", (), 1.0)]), ValueError, "does not belong"),
        (MetricFamily("ok", "counter", "", [("ok", (), 1.0)]), ValueError, "does not belong"),
        (MetricFamily("ok", "histogram", "", [("ok_total", (), 1.0)]), ValueError, "belong"),
        (MetricFamily("ok", "gauge", "", [("ok", (("1x", "v"),), 1.0)]), ValueError, "label"),
        (MetricFamily("ok", "gauge", "", [("ok", (("l", 1),), 1.0)]), TypeError, "must be a str"),  # type: ignore[list-item]
        (MetricFamily("ok", "gauge", "", [("ok", (), "1")]), TypeError, "must be a float"),  # type: ignore[list-item]
    ],
)
def test_invalid_families_are_refused_not_emitted(family, error, message):
    """Bad names, kinds, labels or values raise instead of producing invalid exposition."""
    for encode in (encode_text, encode_openmetrics):
        with pytest.raises(error, match=message):
            encode([family])
