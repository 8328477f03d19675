"""Several workers on one file, as deployments run them: a real Prometheus scraping
while load runs sees no counter reset and the exact final total; a worker killed under
load is replaced while the others keep answering, and nothing acknowledged is lost."""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from observabilipy import SQLiteLogStorage
from tests.e2e import prometheus
from tests.e2e.conftest import granian_app

ROOT = Path(__file__).resolve().parents[2]
needs_prometheus = pytest.mark.skipif(
    prometheus.binary is None, reason="prometheus not installed (.ci/run installs it)"
)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def stored_rows(db: Path) -> int:
    storage = SQLiteLogStorage(str(db), readonly=True)
    try:
        return storage.last_id()
    finally:
        storage.close()


@needs_prometheus
def test_serve_with_two_workers_never_resets_a_counter(serve, tmp_path):
    """300 pushes spread over two workers while Prometheus scrapes every second:
    resets() of the rows-written counter is 0 over the run, and the total is exact."""
    db = tmp_path / "obs.db"
    server = serve("--db", str(db), "--workers", "2")
    with prometheus.scraping(tmp_path, server.port) as prom:
        assert prom.wait_for('up{job="observabilipy"}', 1.0) == 1.0
        for i in range(300):
            response = httpx.post(f"{server.url}/logs", content=b'{"message":"%d"}' % i)
            assert response.status_code == 200
            time.sleep(0.01)
        total = "sum(observabilipy_rows_written_total)"
        assert prom.wait_for(total, 300.0, timeout=60) == 300.0
        assert prom.value("resets(observabilipy_rows_written_total[10m])") == 0.0
        scrapes = prom.value("count_over_time(observabilipy_rows_written_total[10m])")
        assert scrapes is not None
        assert scrapes >= 5


@needs_prometheus
def test_an_app_under_granian_with_two_workers_never_resets_a_counter(tmp_path):
    """The issue's case, an app counting its requests under `granian --workers 2` with
    the endpoints mounted at /observability: 300 requests, scraped every second; the
    counter never resets and ends at exactly 300."""
    with granian_app(tmp_path, "counting", workers=2) as url:
        port = int(url.rsplit(":", 1)[1])
        with prometheus.scraping(tmp_path, port, "/observability/metrics") as prom:
            assert prom.wait_for('up{job="observabilipy"}', 1.0) == 1.0
            for _ in range(300):
                assert httpx.get(f"{url}/x", timeout=10).status_code == 200
                time.sleep(0.01)
            total = 'app_requests_total{path="/x"}'
            assert prom.wait_for(total, 300.0, timeout=60) == 300.0
            assert prom.value(f"resets({total}[10m])") == 0.0


def test_a_killed_worker_is_replaced_while_the_other_answers(serve, tmp_path):
    """SIGKILL one of two workers while pushes run: /healthz keeps answering, a new
    worker appears within seconds, and every acknowledged push is in the file."""
    db = tmp_path / "obs.db"
    server = serve("--db", str(db), "--workers", "2")
    before = children(server.proc.pid)
    assert len(before) == 2
    acknowledged = 0
    stop = threading.Event()

    def push() -> None:
        nonlocal acknowledged
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(f"{server.url}/logs", content=b'{"message":"x"}\n' * 10)
                except httpx.TransportError:
                    continue  # the killed worker's connection: not acknowledged
                if response.status_code == 200:
                    acknowledged += response.json()["accepted"]

    pushers = [threading.Thread(target=push) for _ in range(2)]
    for pusher in pushers:
        pusher.start()
    try:
        time.sleep(1)
        os.kill(before[0], signal.SIGKILL)
        answered, asked = 0, 0
        deadline = time.monotonic() + 15
        replaced = False
        while time.monotonic() < deadline:
            asked += 1
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code in (200, 503):
                    answered += 1
            except httpx.TransportError:
                pass
            now = [pid for pid in children(server.proc.pid) if pid not in before]
            if now and asked > 20:
                replaced = True
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for pusher in pushers:
            pusher.join()
    assert replaced, server.log()
    assert answered >= asked - 2, (answered, asked)
    assert acknowledged > 0
    assert server.terminate() == 0
    assert stored_rows(db) >= acknowledged
