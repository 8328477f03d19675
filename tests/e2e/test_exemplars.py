"""Exemplars end to end: an app's request spans become exemplars on its latency
histogram, and a real Prometheus with exemplar storage returns them."""

import time

import httpx

from tests.e2e import prometheus
from tests.e2e.conftest import granian_app
from tests.e2e.test_workers import needs_prometheus


@needs_prometheus
def test_prometheus_stores_the_trace_ids_of_request_spans(tmp_path):
    with granian_app(tmp_path, "traced") as url:
        port = int(url.rsplit(":", 1)[1])
        since = time.time()
        storage = "--enable-feature=exemplar-storage"
        with prometheus.scraping(tmp_path, port, "/observability/metrics", storage) as prom:
            assert prom.wait_for('up{job="observabilipy"}', 1.0) == 1.0
            traces: set[str] = set()
            found: list[dict] = []
            deadline = time.monotonic() + 60
            while not found and time.monotonic() < deadline:
                for _ in range(20):
                    traces.add(httpx.get(f"{url}/x", timeout=10).text)
                time.sleep(1)
                found = prom.exemplars("app_request_seconds_bucket", since)
            assert found, "Prometheus stored no exemplar"
            assert {e["labels"]["trace_id"] for e in found} <= traces
            assert all(len(e["labels"]["span_id"]) == 16 for e in found)
