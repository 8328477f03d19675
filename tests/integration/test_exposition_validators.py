"""Our exposition as the real validators see it: promtool and prometheus_client's parsers."""

import math
import shutil
import subprocess

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from observabilipy import Registry
from observabilipy.core.encoding.prometheus import encode_openmetrics, encode_text


def every_kind() -> Registry:
    """A registry holding every instrument kind, labelled and not, with awkward values."""
    registry = Registry()
    registry.counter("requests_total", "Requests served").inc(3, exemplar={"trace_id": "a1"})
    orders = registry.counter("orders", "Orders placed", labels=["method", "note"])
    orders.labels("card", 'say "hi"\\\n').inc()
    orders.labels("cash", "ünï").inc(2.5)
    registry.gauge("queue_depth", "Jobs waiting").set(-2)
    temps = registry.gauge("temperature_celsius", 'Help with \\ and "quotes"', labels=["room"])
    temps.labels("hall").set(1e6)
    temps.labels("attic").set(1.5e-7)
    latency = registry.histogram("checkout_seconds", "Checkout time", buckets=[0.025, 1])
    latency.observe(0.01)
    latency.observe(5.0, exemplar={"trace_id": "b2", "span_id": "c 3ü"})
    sizes = registry.histogram("payload_bytes", "Payload sizes", labels=["route"])
    sizes.labels(route="/a").observe(0.3)
    sizes.labels(route="/b").observe(100)
    waits = registry.summary("wait_seconds", "Time waited", labelnames=["queue"])
    waits.labels("mail").observe(0.25)
    waits.labels("mail").observe(0.5)
    registry.info("build", "Build facts").info({"version": "1.2.3"})
    registry.enum("phase", "Phase", states=["starting", "serving"]).state("serving")
    return registry


EXPECTED = {
    ("requests_total", ()): 3.0,
    ("orders_total", (("method", "card"), ("note", 'say "hi"\\\n'))): 1.0,
    ("orders_total", (("method", "cash"), ("note", "ünï"))): 2.5,
    ("queue_depth", ()): -2.0,
    ("temperature_celsius", (("room", "hall"),)): 1e6,
    ("temperature_celsius", (("room", "attic"),)): 1.5e-7,
    ("checkout_seconds_bucket", (("le", "0.025"),)): 1.0,
    ("checkout_seconds_bucket", (("le", "1.0"),)): 1.0,
    ("checkout_seconds_bucket", (("le", "+Inf"),)): 2.0,
    ("checkout_seconds_count", ()): 2.0,
    ("checkout_seconds_sum", ()): 5.01,
    ("payload_bytes_count", (("route", "/a"),)): 1.0,
    ("payload_bytes_sum", (("route", "/b"),)): 100.0,
    ("payload_bytes_bucket", (("le", "0.5"), ("route", "/a"))): 1.0,
    ("payload_bytes_bucket", (("le", "10.0"), ("route", "/b"))): 0.0,
    ("wait_seconds_count", (("queue", "mail"),)): 2.0,
    ("wait_seconds_sum", (("queue", "mail"),)): 0.75,
    ("build_info", (("version", "1.2.3"),)): 1.0,
    ("phase", (("phase", "starting"),)): 0.0,
    ("phase", (("phase", "serving"),)): 1.0,
}


def parsed_values(families) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


@pytest.mark.parametrize(
    ("encode", "parse"),
    [(encode_text, parse_text), (encode_openmetrics, parse_openmetrics)],
    ids=["text", "openmetrics"],
)
def test_parsers_read_back_the_recorded_values(encode, parse):
    """prometheus_client's parser reads every recorded value back, in both formats."""
    values = parsed_values(parse(encode(every_kind().collect()).decode()))
    for key, expected in EXPECTED.items():
        sorted_key = (key[0], tuple(sorted(key[1])))
        assert math.isclose(values[sorted_key], expected), key


def test_openmetrics_families_and_types_parse_as_declared():
    """The OpenMetrics parser sees one family per metric with the declared type."""
    families = list(parse_openmetrics(encode_openmetrics(every_kind().collect()).decode()))
    assert [(f.name, f.type) for f in families] == [
        ("requests", "counter"),
        ("orders", "counter"),
        ("queue_depth", "gauge"),
        ("temperature_celsius", "gauge"),
        ("checkout_seconds", "histogram"),
        ("payload_bytes", "histogram"),
        ("wait_seconds", "summary"),
        ("build_info", "gauge"),
        ("phase", "gauge"),
    ]
    assert families[3].documentation == 'Help with \\ and "quotes"'


promtool = shutil.which("promtool")


@pytest.mark.skipif(promtool is None, reason="promtool not installed (.ci/run installs it)")
def test_promtool_check_metrics_passes():
    """`promtool check metrics` (text format 0.0.4) accepts every instrument kind, lint-clean."""
    assert promtool is not None
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=encode_text(every_kind().collect()),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == b""


def stamp(line: str) -> str:
    """A sample line with a timestamp after its value (before an exemplar)."""
    if line.startswith("#"):
        return line
    sample, exemplar_mark, exemplar = line.partition(" # {")
    return f"{sample} 1700000000{exemplar_mark}{exemplar}"


def prometheus_openmetrics_import(tmp_path, exposition: bytes) -> subprocess.CompletedProcess:
    """Feed OpenMetrics to Prometheus's own parser (promtool's block import).

    `promtool check metrics` reads only the text format, so OpenMetrics goes through
    `tsdb create-blocks-from openmetrics`, which needs a timestamp on every sample:
    one is added to each sample line (before its exemplar), nothing else is changed.
    """
    assert promtool is not None
    stamped = [stamp(line) for line in exposition.decode().splitlines()]
    source = tmp_path / "exposition.om"
    source.write_text("\n".join(stamped) + "\n")
    return subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp_path / "b")],
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(promtool is None, reason="promtool not installed (.ci/run installs it)")
def test_prometheus_openmetrics_parser_accepts_every_kind(tmp_path):
    """Prometheus's OpenMetrics parser imports every sample of every instrument kind."""
    result = prometheus_openmetrics_import(tmp_path, encode_openmetrics(every_kind().collect()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert b" 50 " in result.stdout  # NUM SAMPLES: every sample line was read


@pytest.mark.skipif(promtool is None, reason="promtool not installed (.ci/run installs it)")
def test_prometheus_openmetrics_parser_can_fail(tmp_path):
    """The import rejects a broken label, so its pass above means something."""
    result = prometheus_openmetrics_import(tmp_path, b'# TYPE x gauge\nx{a="1} 1\n# EOF\n')
    assert result.returncode != 0


@pytest.mark.skipif(promtool is None, reason="promtool not installed (.ci/run installs it)")
def test_promtool_rejects_what_we_would_never_emit():
    """The check itself can fail: duplicated series are reported, so a pass means something."""
    assert promtool is not None
    bad = b"# TYPE x gauge\nx 1\nx 2\n"
    result = subprocess.run(
        [promtool, "check", "metrics"], input=bad, capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0
