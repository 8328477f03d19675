"""Prometheus remote write of the engine's totals into real receivers: Prometheus with
its remote write receiver, and VictoriaMetrics; their query APIs return our exact
counter and histogram totals, labelled with job and instance."""

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from observabilipy import Engine, RemoteWriteExporter, Shipping
from observabilipy.core.backend import native
from tests.e2e import prometheus
from tests.e2e.conftest import free_port, wait_until_up

victoria_metrics = shutil.which("victoria-metrics")
pytestmark = pytest.mark.skipif(native is None, reason="remote write's codecs are Rust's")


def query(base: str, expression: str) -> float | None:
    try:
        answer = httpx.get(f"{base}/api/v1/query", params={"query": expression}, timeout=5).json()
    except (httpx.TransportError, ValueError):
        return None
    result = answer.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


def push_and_read_back(tmp_path, write_url: str, read_base: str) -> dict[str, float | None]:
    """An engine pushing every 0.5 s; what the receiver's query API answers."""
    remote = RemoteWriteExporter(write_url, interval=0.5, job="shop", instance="a:1")
    with Engine(tmp_path / "app.db", exporters=[remote], shipping=Shipping(interval=0.1)) as e:
        e.counter("orders_total", "Orders", labelnames=["method"]).labels("card").inc(7)
        latency = e.histogram("checkout_seconds", "Checkout", buckets=[0.1, 1])
        for value in (0.05, 0.5, 3):
            latency.observe(value)
        queries = {
            "orders": 'orders_total{job="shop",instance="a:1",method="card"}',
            "count": 'checkout_seconds_count{job="shop"}',
            "bucket": 'checkout_seconds_bucket{job="shop",le="1.0"}',
            "sum": 'checkout_seconds_sum{job="shop"}',
        }
        found: dict[str, float | None] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = {name: query(read_base, q) for name, q in queries.items()}
            if all(value is not None for value in found.values()):
                break
            time.sleep(0.5)
    return found


EXPECTED = {"orders": 7.0, "count": 3.0, "bucket": 2.0, "sum": 3.55}


@pytest.mark.skipif(prometheus.binary is None, reason="prometheus not installed (.ci/run does)")
def test_prometheus_receives_the_exact_totals(tmp_path):
    assert prometheus.binary is not None
    port = free_port()
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 1s\n")
    command = [
        prometheus.binary,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-remote-write-receiver",
    ]
    with running(command):
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/-/ready")
        found = push_and_read_back(tmp_path, f"{base}/api/v1/write", base)
    assert found == EXPECTED


@pytest.mark.skipif(
    victoria_metrics is None, reason="victoria-metrics not installed (.ci/run does)"
)
def test_victoria_metrics_receives_the_exact_totals(tmp_path):
    assert victoria_metrics is not None
    port = free_port()
    command = [
        victoria_metrics,
        f"-storageDataPath={tmp_path / 'vm'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-search.latencyOffset=0s",  # read back what was just written
    ]
    with running(command):
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health")
        found = push_and_read_back(tmp_path, f"{base}/api/v1/write", base)
    assert found == EXPECTED


@contextlib.contextmanager
def running(command: list[str]) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
