"""A scrape through one of four worker processes sharing the totals, side by side.

The same 10,000 counter series (one family ``http_requests`` with labels ``path`` and
``code``) are incremented once in each of 4 worker processes, so every total is 4:

- ours: 3 worker processes and the benchmarking process itself share one file; a round
  is ``encode_text(engine.collect(exposition=True, exemplars=False))`` in the last,
  which writes its own values first and then adds the other three's (what ``/metrics``
  does for text under ``serve --workers 4``, gunicorn or Granian with several workers:
  text 0.0.4 has no exemplars, so it does not read them);
- prometheus_client's multiprocess mode: 4 worker processes write their files under
  ``PROMETHEUS_MULTIPROC_DIR``; a round is ``generate_latest`` over a registry holding a
  ``MultiProcessCollector``, which reads and merges the 4 files;
- ours in one process, for scale: the same series in a single engine, no file.

Each output is parsed back with prometheus_client's parser after benchmarking: every
series, each at 4 (1 for one process).
"""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import prometheus_client
import prometheus_client.multiprocess
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Engine
from observabilipy.encoders import encode_text

CODES = ("200", "201", "404", "500", "503")
SERIES = 10_000
WORKERS = 4
LABEL_PAIRS = [(f"/api/items/{i // len(CODES)}", CODES[i % len(CODES)]) for i in range(SERIES)]
GROUP = "/metrics, 10k series, 4 worker processes"

# Untyped in prometheus_client: give mypy its signature.
MultiProcessCollector = cast(
    Callable[..., object], prometheus_client.multiprocess.MultiProcessCollector
)


def fill(engine: Engine) -> None:
    requests = engine.counter("http_requests", "HTTP requests", labels=["path", "code"])
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()


def our_worker(path: str) -> None:
    """One of our workers: count, write its values to the file, wait to be told to go."""
    engine = Engine(path, max_series=SERIES)
    fill(engine)
    engine.collect()  # a shared engine writes its own values first
    print("ready", flush=True)
    sys.stdin.read()
    engine.close()


def their_worker() -> None:
    """One of prometheus_client's workers (``PROMETHEUS_MULTIPROC_DIR`` set): count."""
    requests = prometheus_client.Counter("http_requests", "HTTP requests", ["path", "code"])
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()
    print("ready", flush=True)
    sys.stdin.read()


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline() == "ready\n"
    return worker


def stop(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        worker.communicate(input="", timeout=60)
        assert worker.returncode == 0


@pytest.fixture
def our_workers(tmp_path: Path) -> Iterator[Engine]:
    path = str(tmp_path / "shared.db")
    workers = [start(["ours", path]) for _ in range(WORKERS - 1)]
    engine = Engine(path, max_series=SERIES)
    fill(engine)
    yield engine
    engine.close()
    stop(workers)


@pytest.fixture
def their_workers(tmp_path: Path) -> Iterator[prometheus_client.CollectorRegistry]:
    directory = tmp_path / "prometheus_multiproc"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    workers = [start(["theirs"], env) for _ in range(WORKERS)]
    registry = prometheus_client.CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    yield registry
    stop(workers)


def check(body: bytes, each: float) -> None:
    samples = [
        sample
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "http_requests_total"
    ]
    assert len(samples) == SERIES
    assert {sample.value for sample in samples} == {each}


@pytest.mark.benchmark(group=GROUP, warmup=True, min_rounds=15)
def test_ours_four_workers(benchmark: BenchmarkFixture, our_workers: Engine) -> None:
    body = benchmark(lambda: encode_text(our_workers.collect(exposition=True, exemplars=False)))
    check(body, float(WORKERS))


@pytest.mark.benchmark(group=GROUP, warmup=True, min_rounds=15)
def test_prometheus_client_multiprocess_four_workers(
    benchmark: BenchmarkFixture, their_workers: prometheus_client.CollectorRegistry
) -> None:
    body: Any = benchmark(prometheus_client.generate_latest, their_workers)
    check(body, float(WORKERS))


@pytest.mark.benchmark(group=GROUP, warmup=True, min_rounds=15)
def test_ours_one_process_for_scale(benchmark: BenchmarkFixture) -> None:
    engine = Engine(None, max_series=SERIES)
    fill(engine)
    body = benchmark(lambda: encode_text(engine.collect(exposition=True, exemplars=False)))
    engine.close()
    check(body, 1.0)


if __name__ == "__main__":
    if sys.argv[1] == "ours":
        our_worker(sys.argv[2])
    else:
        their_worker()
