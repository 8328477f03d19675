"""The headline: Django and Flask under `gunicorn --workers 4 --max-requests 50`, with
no set-up beyond the middleware. 2,000 requests spread over workers that keep being
recycled, a real Prometheus scraping every second: the request counter never resets
and ends at exactly 2,000 (prometheus_client needs PROMETHEUS_MULTIPROC_DIR and a
child_exit hook for this, and still jumps back when workers are recycled)."""

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e import prometheus
from tests.e2e.conftest import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "django": ("examples.django_project.wsgi:application", "/users/<int:user_id>/", "/users/{}/"),
    "flask": ("tests.e2e.apps:flask_app()", "/users/<int:user_id>", "/users/{}"),
}


_clients = threading.local()


def get(url: str) -> int:
    """One request, tried again if the worker that took its connection was being recycled
    (it was then never served, so it is not counted twice). A client per thread: making
    one per request costs more than the request."""
    client = getattr(_clients, "client", None)
    if client is None:
        client = _clients.client = httpx.Client(timeout=10)
    for _ in range(20):
        try:
            return client.get(url).status_code
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.mark.skipif(prometheus.binary is None, reason="prometheus not installed")
@pytest.mark.parametrize("framework", sorted(APPS))
def test_recycled_gunicorn_workers_never_reset_the_request_counter(tmp_path, framework):
    target, route, path = APPS[framework]
    port = free_port()
    env = {**os.environ, "OBSERVABILIPY_DB": str(tmp_path / "app.db")}
    command = [sys.executable, "-m", "gunicorn", target, "--workers", "4"]
    command += ["--max-requests", "50", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    output = tmp_path / "gunicorn.out"
    with (
        output.open("wb") as out,
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        ) as server,
    ):
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/observability/healthz")
            with prometheus.scraping(tmp_path, port, "/observability/metrics") as prom:
                assert prom.wait_for('up{job="observabilipy"}', 1.0) == 1.0
                with ThreadPoolExecutor(4) as clients:  # four at a time, one per worker
                    statuses = list(
                        clients.map(lambda i: get(url + path.format(i % 97)), range(2000))
                    )
                assert statuses == [200] * 2000
                series = f'http_server_request_duration_seconds_count{{http_route="{route}"}}'
                total = f"sum({series})"
                assert prom.wait_for(total, 2000.0, timeout=90) == 2000.0, output.read_text()
                assert prom.value(f"sum(resets({series}[10m]))") == 0.0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
