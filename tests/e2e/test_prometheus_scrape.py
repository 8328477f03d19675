"""A real Prometheus scraping `observabilipy serve`: totals across workers, both formats valid."""

import shutil
import subprocess
import time

import httpx
import pytest

from observabilipy import Engine
from tests.e2e.conftest import free_port
from tests.integration.test_exposition_validators import prometheus_openmetrics_import

prometheus = shutil.which("prometheus")
promtool = shutil.which("promtool")


def seed(db) -> None:
    """Another process's metrics, left in the file as an app would leave them."""
    with Engine(db) as engine:
        engine.counter("jobs_total", "Jobs done", labels=["queue"]).labels("mail").inc(7)
        engine.histogram("job_seconds", "Job time", buckets=[1, 5]).observe(2.5)
        engine.gauge("queue_depth", "Waiting jobs").set(4)  # gone once its process exits


@pytest.mark.skipif(prometheus is None, reason="prometheus not installed (.ci/run installs it)")
def test_prometheus_reads_the_totals_back(serve, tmp_path):
    """Prometheus scrapes two workers' /metrics and its query API returns the stored totals."""
    assert prometheus is not None
    db = tmp_path / "app.db"
    seed(db)
    server = serve("--db", str(db), "--workers", "2")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: observabilipy\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.port}']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        values: dict[str, float] = {}
        deadline = time.monotonic() + 90
        queries = {
            "jobs": 'jobs_total{queue="mail"}',
            "count": "job_seconds_count",
            "bucket": 'job_seconds_bucket{le="5.0"}',
            "up": 'up{job="observabilipy"}',
        }
        while time.monotonic() < deadline and len(values) < len(queries):
            for name, query in queries.items():
                try:
                    answer = httpx.get(
                        f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=5
                    ).json()
                except (httpx.TransportError, ValueError):  # still starting up
                    break
                result = answer.get("data", {}).get("result", [])
                if result:
                    values[name] = float(result[0]["value"][1])
            time.sleep(0.5)
        assert values == {"jobs": 7.0, "count": 1.0, "bucket": 1.0, "up": 1.0}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(promtool is None, reason="promtool not installed (.ci/run installs it)")
def test_served_exposition_passes_promtool_in_both_formats(serve, tmp_path):
    """What the server sends, text and OpenMetrics, passes Prometheus's own checks."""
    assert promtool is not None
    db = tmp_path / "app.db"
    seed(db)
    server = serve("--db", str(db))
    text = httpx.get(f"{server.url}/metrics", timeout=10)
    om = httpx.get(
        f"{server.url}/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=10
    )
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text.content, capture_output=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    imported = prometheus_openmetrics_import(tmp_path, om.content)
    assert imported.returncode == 0, imported.stdout + imported.stderr
