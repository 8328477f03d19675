"""Every example in examples/ runs as its docstring says, and records what it says."""

import subprocess
import sys
import time

import httpx
import pytest

from observabilipy import Engine
from tests.e2e.conftest import GRANIAN, ROOT, running

GUNICORN = ("gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "2")


@pytest.mark.parametrize(
    ("command", "method", "path", "route"),
    [
        ((*GRANIAN, "examples.fastapi_app:app"), "GET", "/users/7", "/users/{user_id}"),
        ((*GRANIAN, "examples.starlette_app:app"), "POST", "/orders/card", "/orders/{method}"),
        ((*GUNICORN, "examples.flask_app:app"), "GET", "/users/7", "/users/<int:user_id>"),
        (
            (*GUNICORN, "examples.django_project.wsgi"),
            "GET",
            "/users/7/",
            "/users/<int:user_id>/",
        ),
    ],
    ids=["fastapi", "starlette", "flask", "django"],
)
def test_each_web_example_serves_and_counts_its_requests(tmp_path, command, method, path, route):
    """A request to the example's route, then its /observability/metrics: the request
    is one series named by the route template (through any worker, once the one that
    served it has written its snapshot, within snapshot_interval)."""
    series = (
        f'http_server_request_duration_seconds_count{{http_request_method="{method}",'
        f'http_route="{route}",http_response_status_code="200"}} 1'
    )
    with running(tmp_path, *command) as url:
        assert httpx.request(method, url + path, timeout=10).status_code == 200
        deadline = time.monotonic() + 15
        text = ""
        while series not in text and time.monotonic() < deadline:
            text = httpx.get(f"{url}/observability/metrics", timeout=10).text
            time.sleep(0.2)
    assert series in text


def test_the_asyncio_worker_records_into_one_file(tmp_path):
    """100 jobs: 100 log entries and 100 jobs counted, read back from the file."""
    path = tmp_path / "jobs.db"
    subprocess.run(
        [sys.executable, "-m", "examples.asyncio_worker", str(path)],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    with Engine(path) as engine:
        rows = engine.read_logs(logger="worker")
        [jobs] = [f for f in engine.collect() if f.name == "jobs"]
    assert len(rows) == 100
    assert {r.attributes["outcome"] for r in rows} == {"ok", "retried"}
    assert sum(value for _, _, value in jobs.samples) == 100
