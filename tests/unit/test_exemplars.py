"""Exemplars: given with a call or taken from the active OpenTelemetry span, kept per
series (per bucket for histograms), written by OpenMetrics only, alike on both backends."""

import math
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from observabilipy.adapters.opentelemetry import install_if_importable, span_labels
from observabilipy.core import exemplars
from observabilipy.core.cells import PyCounterCell, PyHistogramCell
from observabilipy.core.models import MetricFamily
from observabilipy.core.registry import Registry
from observabilipy.encoders import encode_openmetrics, encode_text
from tests.backends import PYTHON, outcome, rust

TRACE = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
EXEMPLAR_LINE = re.compile(
    r' # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\} (\S+) (\d+\.\d{3})$'
)


@pytest.fixture(autouse=True)
def no_source():
    """Each test starts without an exemplar source and leaves the default one behind."""
    exemplars.set_source(None)
    yield
    exemplars.set_source(None)
    install_if_importable()


def lines(registry: Registry, name: str) -> list[str]:
    text = encode_openmetrics(registry.collect()).decode()
    return [line for line in text.splitlines() if line.startswith(name)]


def test_a_counter_increment_carries_its_exemplar_in_openmetrics_only():
    registry = Registry()
    jobs = registry.counter("jobs", "Jobs", labelnames=["queue"])
    jobs.labels("a").inc(2, exemplar=TRACE)
    jobs.labels("b").inc()
    a, b = lines(registry, "jobs_total")
    match = EXEMPLAR_LINE.search(a)
    assert a.startswith('jobs_total{queue="a"} 2 # ')
    assert match
    assert match.group(1) == "2"
    assert b == 'jobs_total{queue="b"} 1'
    assert b"#" not in encode_text(registry.collect()).replace(b"# HELP", b"").replace(
        b"# TYPE", b""
    )


def test_a_histogram_exemplar_sits_on_the_bucket_of_its_value():
    registry = Registry()
    latency = registry.histogram("latency_seconds", "Latency", buckets=[0.1, 1])
    latency.observe(0.5, exemplar=TRACE)
    latency.observe(0.05)
    bucket_lines = lines(registry, "latency_seconds_bucket")
    with_exemplar = [line for line in bucket_lines if " # " in line]
    assert with_exemplar == [next(line for line in bucket_lines if 'le="1.0"' in line)]
    assert EXEMPLAR_LINE.search(with_exemplar[0]).group(1) == "0.5"  # type: ignore[union-attr]
    assert latency.exemplars()[1][:2] == ((("trace_id", TRACE["trace_id"]),), 0.5)  # type: ignore[index]


def test_prometheus_client_parser_reads_the_exemplars():
    registry = Registry()
    registry.counter("jobs", "Jobs").inc(1, exemplar=TRACE)
    registry.histogram("latency_seconds", "Latency", buckets=[1]).observe(0.25, exemplar=TRACE)
    text = encode_openmetrics(registry.collect()).decode()
    found = {
        (sample.name, sample.exemplar.labels["trace_id"], sample.exemplar.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.exemplar
    }
    assert found == {
        ("jobs_total", TRACE["trace_id"], 1.0),
        ("latency_seconds_bucket", TRACE["trace_id"], 0.25),
    }


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"1bad": "x"}, ValueError, "invalid exemplar label name '1bad'"),
        ({"trace_id": 5}, TypeError, "must be a str, got int"),
        ({"trace_id": "x" * 121}, ValueError, "129 characters, more than OpenMetrics' 128"),
        ([("trace_id", "x")], TypeError, "must be a dict"),
    ],
)
@pytest.mark.parametrize("cells", ["backend", "python"])
def test_bad_exemplars_are_refused_before_anything_is_recorded(given, error, message, cells):
    registry = Registry()
    counter: Any = registry.counter("jobs", "Jobs")
    histogram: Any = registry.histogram("latency", "Latency", buckets=[1])
    if cells == "python":
        counter, histogram = PyCounterCell("jobs"), PyHistogramCell("latency", [1.0])
    calls: list[Callable[..., None]] = [counter.inc, histogram.observe]
    for call in calls:
        with pytest.raises(error, match=re.escape(message)):
            call(1, exemplar=given)
    assert counter.get() == 0
    assert histogram.state() == ([0, 0], 0.0)


def test_the_active_sampled_span_is_the_exemplar_when_a_call_gives_none():
    tracer = TracerProvider().get_tracer("tests")
    exemplars.set_source(span_labels, 0.0)  # ask on every call
    registry = Registry()
    counter = registry.counter("jobs", "Jobs")
    histogram = registry.histogram("latency", "Latency", buckets=[1])
    counter.inc()  # no span: nothing to keep
    assert counter_exemplar(registry) is None
    with tracer.start_as_current_span("work") as span:
        counter.inc()
        histogram.observe(0.5)
    context = span.get_span_context()
    expected = (("trace_id", f"{context.trace_id:032x}"), ("span_id", f"{context.span_id:016x}"))
    assert counter_exemplar(registry)[0] == expected
    assert histogram.exemplars()[0][0] == expected  # type: ignore[index]


def counter_exemplar(registry: Registry):
    family = next(f for f in registry.collect() if f.name == "jobs")
    return family.exemplars.get(("jobs_total", ()))


@pytest.mark.parametrize("cells", ["backend", "python"])
def test_each_series_asks_the_source_at_most_once_per_interval(cells):
    asked = []

    def source():
        asked.append(1)
        return TRACE

    exemplars.set_source(source, 3600.0)
    counter = Registry().counter("jobs", "Jobs", labelnames=["queue"])
    series = [counter.labels("a"), counter.labels("b")]
    if cells == "python":
        series = [PyCounterCell("a"), PyCounterCell("b")]  # type: ignore[list-item]
    for _ in range(100):
        for one in series:
            one.inc()
    assert len(asked) == 2  # once per series in the hour
    exemplars.set_source(None)
    series[0].inc(exemplar={"trace_id": "given"})  # a given exemplar needs no source
    assert len(asked) == 2


def test_a_source_that_raises_fails_the_call_loudly_and_records_nothing():
    def broken():
        raise RuntimeError("tracer broke")

    exemplars.set_source(broken, 0.0)
    counter = Registry().counter("jobs", "Jobs")
    with pytest.raises(RuntimeError, match="tracer broke"):
        counter.inc()
    assert counter.get() == 0


def test_the_source_and_interval_are_checked():
    with pytest.raises(ValueError, match="interval"):
        exemplars.set_source(span_labels, -1)
    with pytest.raises(ValueError, match="interval"):
        exemplars.set_source(span_labels, math.inf)
    with pytest.raises(TypeError, match="callable"):
        exemplars.set_source("span_labels")  # type: ignore[arg-type]


FAMILY_EXEMPLARS: dict[str, Any] = {
    "good": {("jobs_total", ()): ((("trace_id", 'a"b\\c\nd'),), 1.5, 1700000000.0005)},
    "int value and timestamp": {("jobs_total", ()): ((("a", "b"),), 2, 1700000000)},
    "no labels": {("jobs_total", ()): ((), 1.0, 0.0)},
    "bad label name": {("jobs_total", ()): ((("1a", "b"),), 1.0, 0.0)},
    "label value not a str": {("jobs_total", ()): ((("a", 1),), 1.0, 0.0)},
    "value a str": {("jobs_total", ()): ((("a", "b"),), "1", 0.0)},
    "timestamp infinite": {("jobs_total", ()): ((("a", "b"),), 1.0, math.inf)},
    "timestamp None": {("jobs_total", ()): ((("a", "b"),), 1.0, None)},
}


@pytest.mark.parametrize("case", sorted(FAMILY_EXEMPLARS))
def test_both_encoders_write_or_refuse_exemplars_alike(case):
    family = MetricFamily("jobs", "counter", "", [("jobs_total", (), 1.0)], FAMILY_EXEMPLARS[case])
    expected = outcome(PYTHON.encode_openmetrics, [family])
    assert outcome(rust().encode_openmetrics, [family]) == expected
    assert outcome(rust().encode_openmetrics_gzip, [family])[0] == expected[0]
    # Text 0.0.4 has no exemplars: it neither writes nor reads them.
    assert outcome(rust().encode_text, [family]) == (
        "bytes",
        b"# TYPE jobs_total counter\njobs_total 1\n",
    )
    if case == "good":
        written = expected[1]
        assert isinstance(written, bytes)
        assert written.endswith(
            b'jobs_total 1 # {trace_id="a\\"b\\\\c\\nd"} 1.5 1700000000.000\n# EOF\n'
        )


def test_the_scrape_path_writes_counter_exemplars_from_the_cells():
    """A scrape reads counters straight from their cells (Rust): exemplars included,
    gzipped or not, and never in text 0.0.4."""
    import gzip

    from observabilipy.encoders import encode_openmetrics_gzip, encode_text_gzip

    registry = Registry()
    registry.counter("jobs", "Jobs").inc(exemplar=TRACE)
    plain = encode_openmetrics(registry.collect(exposition=True)).decode()
    assert EXEMPLAR_LINE.search(plain.splitlines()[2])
    zipped = gzip.decompress(encode_openmetrics_gzip(registry.collect(exposition=True)))
    assert zipped.decode() == plain
    text = gzip.decompress(encode_text_gzip(registry.collect(exposition=True)))
    assert (
        text
        == encode_text(registry.collect())
        == b"# HELP jobs_total Jobs\n# TYPE jobs_total counter\njobs_total 1\n"
    )


def test_the_span_source_never_imports_opentelemetry() -> None:
    """Until the application imports the API no span can be active: an observation
    answers at once, rather than importing on whichever thread observes first."""
    code = (
        "import sys, observabilipy as obs\n"
        "from observabilipy.adapters.opentelemetry import span_labels\n"
        "assert span_labels() is None\n"
        "obs.Registry().histogram('took_seconds', 'Took').observe(0.1)\n"
        "assert 'opentelemetry.trace' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
