"""Serving under Granian: /metrics against prometheus_client's app, /logs out and in.

Each server is a real Granian process (one worker, 127.0.0.1) started for the group and
stopped after it. Load is one keep-alive client making sequential requests, bounded in
rounds. Groups:

- ``GET /metrics, 10,000 series``: one request per round, gzip accepted as Prometheus
  does. Anchors, under the same Granian: ``generate_latest`` over the same series
  gzipped at level 1 (``prometheus_client_level1``: the level of our zlib-rs encoder),
  and prometheus_client's own ``make_asgi_app``, which gzips at level 9 (what its
  users get). Every side runs the same ``ROUNDS``. ``..., no gzip`` asks for identity:
  the rendering alone, without deflating the 566 KB body; ``ours_cached`` there shows
  what moving the body costs on its own.
  ``ours_cached`` reuses a rendering for up to a second (``metrics_cache=1.0``).
  Ours keeps counter families' rendered lines between scrapes and rewrites only the
  values that changed, so these groups show scrapes of unchanged series.
- ``GET /metrics, 10,000 series, a tenth changed before each scrape`` (and ``, no
  gzip``): both apps increment every tenth series (a different tenth each time, so
  every part of the exposition changes) inside each timed request, then render. The
  anchor is the level-1 app (identity: ``generate_latest`` alone).
- ``GET /logs streaming``: 100,000 of 200,000 stored entries read back in one streamed
  response; ``extra_info`` has MB/s. The anchor is the ceiling: a raw ASGI app under
  the same Granian streaming the same bytes, read into memory at start.
  prometheus_client has no equivalent: it stores no logs.
- ``POST /logs ingestion``: 20,000 NDJSON lines per request; ``extra_info`` has lines/s.
  Reported for information: no outside library offers an equivalent endpoint; the
  writer's own ceiling is in ``test_bench_engine``'s ``ingest 300k`` group.
- ``GET /healthz while eight 15 MiB POSTs are in flight``: the same probe on the idle
  server (the anchor) and while eight clients post large bodies; ``max_ms`` too.
"""

import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 50
"""Rounds per /metrics benchmark, the same on every side."""
LOG_ROWS = 100_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def granian(target: str, *, factory: bool = True, env: dict[str, str] | None = None) -> Any:
    """Start Granian on a free port; returns (process, base URL). Waits until it answers."""
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "error"]
    command += ["--factory", target] if factory else [target]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/metrics", timeout=10)
            return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{target} did not start")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    started = [
        (name, *granian(f"benchmarks.servers:{name}"))
        for name in (
            "ours",
            "ours_cached",
            "prometheus_client_app",
            "prometheus_client_level1_app",
            "ours_changing",
            "prometheus_client_level1_changing",
        )
    ]
    try:
        yield {name: url for name, _, url in started}
    finally:
        for _, process, _ in started:
            process.terminate()
            process.wait(timeout=30)


def pedantic(benchmark: BenchmarkFixture, run: Callable[[], None], rounds: int) -> None:
    cast(Callable[..., Any], benchmark.pedantic)(run, rounds=rounds, iterations=1, warmup_rounds=1)


def scrape(benchmark: BenchmarkFixture, url: str, rounds: int, *, zipped: bool = True) -> None:
    """GET /metrics over one keep-alive connection, gzip accepted as Prometheus does
    (or not). The stdlib client keeps the client's own cost (~0.4 ms a request here,
    httpx's ~2 ms) from hiding the servers' difference; bodies are checked after."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Accept-Encoding": "gzip" if zipped else "identity"}
    bodies: list[bytes] = []

    def run() -> None:
        connection.request("GET", "/metrics", headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200
        bodies.append(body)

    try:
        pedantic(benchmark, run, rounds)
    finally:
        connection.close()
    text = gzip.decompress(bodies[-1]) if zipped else bodies[-1]
    assert text.count(b"\nhttp_requests_total{") == 10_000


@pytest.mark.benchmark(group="GET /metrics, 10,000 series")
def test_metrics_ours(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    scrape(benchmark, servers["ours"], rounds=ROUNDS)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series")
def test_metrics_ours_cached(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    scrape(benchmark, servers["ours_cached"], rounds=200)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series")
def test_metrics_prometheus_client(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    """make_asgi_app: gzip level 9."""
    scrape(benchmark, servers["prometheus_client_app"], rounds=ROUNDS)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series")
def test_metrics_prometheus_client_gzip_level_1(
    benchmark: BenchmarkFixture, servers: dict[str, str]
) -> None:
    """generate_latest gzipped at level 1, the level ours uses."""
    scrape(benchmark, servers["prometheus_client_level1_app"], rounds=ROUNDS)


CHANGING = "GET /metrics, 10,000 series, a tenth changed before each scrape"


@pytest.mark.benchmark(group=CHANGING)
def test_metrics_ours_changing(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    scrape(benchmark, servers["ours_changing"], rounds=ROUNDS)


@pytest.mark.benchmark(group=CHANGING)
def test_metrics_prometheus_client_changing_gzip_level_1(
    benchmark: BenchmarkFixture, servers: dict[str, str]
) -> None:
    scrape(benchmark, servers["prometheus_client_level1_changing"], rounds=ROUNDS)


@pytest.mark.benchmark(group=CHANGING + ", no gzip")
def test_metrics_ours_changing_identity(
    benchmark: BenchmarkFixture, servers: dict[str, str]
) -> None:
    scrape(benchmark, servers["ours_changing"], rounds=ROUNDS, zipped=False)


@pytest.mark.benchmark(group=CHANGING + ", no gzip")
def test_metrics_prometheus_client_changing_identity(
    benchmark: BenchmarkFixture, servers: dict[str, str]
) -> None:
    scrape(benchmark, servers["prometheus_client_level1_changing"], rounds=ROUNDS, zipped=False)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series, no gzip")
def test_metrics_ours_identity(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    scrape(benchmark, servers["ours"], rounds=ROUNDS, zipped=False)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series, no gzip")
def test_metrics_ours_cached_identity(benchmark: BenchmarkFixture, servers: dict[str, str]) -> None:
    """A body rendered once and served again: what moving 567 KB through the app, the
    server and the client costs, which bounds this group's ratio."""
    scrape(benchmark, servers["ours_cached"], rounds=ROUNDS, zipped=False)


@pytest.mark.benchmark(group="GET /metrics, 10,000 series, no gzip")
def test_metrics_prometheus_client_identity(
    benchmark: BenchmarkFixture, servers: dict[str, str]
) -> None:
    scrape(benchmark, servers["prometheus_client_app"], rounds=ROUNDS, zipped=False)


@pytest.fixture(scope="module")
def log_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from observabilipy import Engine

    path = tmp_path_factory.mktemp("logs") / "logs.db"
    with Engine(path) as engine:
        log = engine.logger("bench")
        for i in range(2 * LOG_ROWS):
            log.info("request handled", status=200, path="/api/items", i=i)
    return path


def log_app(factory: str, path: Path) -> Iterator[str]:
    env = {**os.environ, "OBSERVABILIPY_BENCH_DB": str(path)}
    env["OBSERVABILIPY_BENCH_ROWS"] = str(LOG_ROWS)
    process, url = granian(f"benchmarks.servers:{factory}", env=env)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def log_server(log_db: Path) -> Iterator[str]:
    yield from log_app("logs_app", log_db)


@pytest.fixture(scope="module")
def raw_log_server(log_db: Path) -> Iterator[str]:
    yield from log_app("raw_logs_app", log_db)


@pytest.mark.benchmark(group="GET /logs streaming")
def test_logs_streaming(benchmark: BenchmarkFixture, log_server: str) -> None:
    """100,000 entries in one streamed response, read a megabyte at a time with the
    stdlib client (httpx's own parsing caps out near the rates measured here)."""
    stream_logs(benchmark, log_server)


@pytest.mark.benchmark(group="GET /logs streaming")
def test_logs_streaming_raw_granian_ceiling(
    benchmark: BenchmarkFixture, raw_log_server: str
) -> None:
    """The same bytes from memory through a bare ASGI app: what Granian alone allows."""
    stream_logs(benchmark, raw_log_server)


def stream_logs(benchmark: BenchmarkFixture, url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    sizes: list[int] = []
    durations: list[float] = []
    last: list[bytes] = []

    def run() -> None:
        start = time.perf_counter()
        size = 0
        connection.request("GET", f"/logs?limit={LOG_ROWS}")
        response = connection.getresponse()
        assert response.status == 200
        while chunk := response.read1(1 << 20):
            size += len(chunk)
            last[:] = [chunk]
        durations.append(time.perf_counter() - start)
        sizes.append(size)

    try:
        pedantic(benchmark, run, rounds=5)
    finally:
        connection.close()
    assert min(sizes) > LOG_ROWS * 100
    assert json.loads(last[0].splitlines()[-1])["id"] == LOG_ROWS
    benchmark.extra_info["MB_per_second"] = sizes[0] / sorted(durations)[len(durations) // 2] / 1e6


@pytest.mark.benchmark(group="POST /logs ingestion")
def test_logs_ingestion(benchmark: BenchmarkFixture, log_server: str) -> None:
    lines = 20_000
    body = b"\n".join(
        json.dumps({"message": "pushed", "level": "info", "attributes": {"i": i}}).encode()
        for i in range(lines)
    )
    durations: list[float] = []
    with httpx.Client(timeout=120) as client:

        def run() -> None:
            start = time.perf_counter()
            response = client.post(f"{log_server}/logs", content=body)
            durations.append(time.perf_counter() - start)
            assert response.json() == {"accepted": lines}

        pedantic(benchmark, run, rounds=5)
    benchmark.extra_info["lines_per_second"] = lines / sorted(durations)[len(durations) // 2]


def healthz(benchmark: BenchmarkFixture, url: str, latencies: list[float]) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def run() -> None:
        start = time.perf_counter()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        assert response.status in (200, 503)

    try:
        pedantic(benchmark, run, rounds=40)
    finally:
        connection.close()
    benchmark.extra_info["max_ms"] = max(latencies) * 1000


@pytest.mark.benchmark(group="GET /healthz while eight 15 MiB POSTs are in flight")
def test_healthz_idle(benchmark: BenchmarkFixture, log_server: str) -> None:
    """The anchor: the same server with nothing else to do."""
    healthz(benchmark, log_server, [])


@pytest.mark.benchmark(group="GET /healthz while eight 15 MiB POSTs are in flight")
def test_healthz_during_large_posts(benchmark: BenchmarkFixture, log_server: str) -> None:
    """Eight clients keep posting 15 MiB NDJSON bodies (about 100,000 lines each) while
    /healthz is asked: parsing and inserts run off the event loop, so it still answers
    at once (it waited 8.5 s behind them once)."""
    line = json.dumps({"message": "pushed " + "x" * 120, "attributes": {"i": 1}}).encode()
    body = b"\n".join([line] * (15 * 1024 * 1024 // (len(line) + 1)))
    stop = threading.Event()
    posted: list[int] = []

    def post() -> None:
        with httpx.Client(timeout=300) as client:
            while not stop.is_set():
                response = client.post(f"{log_server}/logs", content=body)
                posted.append(response.status_code)

    posters = [threading.Thread(target=post) for _ in range(8)]
    for poster in posters:
        poster.start()
    time.sleep(1.0)  # the bodies are on their way in
    try:
        healthz(benchmark, log_server, [])
    finally:
        stop.set()
        for poster in posters:
            poster.join()
    assert posted
    assert set(posted) <= {200, 503}, posted
    benchmark.extra_info["posts_answered"] = len(posted)
