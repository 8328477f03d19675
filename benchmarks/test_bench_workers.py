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

A second group does the same with values moving: before each round (not timed), every
process increments the same tenth of its series (ours then writes its values, as its
snapshot does), so the scrape reads what changed.

Each output is parsed back with prometheus_client's parser after benchmarking: every
series, each at 4 (1 for one process).
"""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
ROUNDS_MOVING = 15
LABEL_PAIRS = [(f"/api/items/{i // len(CODES)}", CODES[i % len(CODES)]) for i in range(SERIES)]
GROUP = "/metrics, 10k series, 4 worker processes"
MOVING = "/metrics, 10k series, 4 worker processes, a tenth changed each round"
TENTH = LABEL_PAIRS[: SERIES // 10]

# Untyped in prometheus_client: give mypy its signature.
MultiProcessCollector = cast(
    Callable[..., object], prometheus_client.multiprocess.MultiProcessCollector
)


def fill(engine: Engine) -> None:
    requests = engine.counter("http_requests", "HTTP requests", labels=["path", "code"])
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()


def our_worker(path: str) -> None:
    """One of our workers: count, write its values to the file; then on each line read,
    count a tenth again and write them (as its snapshot does); at the end of its input,
    go."""
    engine = Engine(path, max_series=SERIES)
    fill(engine)
    engine.collect()  # a shared engine writes its own values first
    print("ready", flush=True)
    requests = engine.counter("http_requests", "HTTP requests", labels=["path", "code"])
    for _ in sys.stdin:
        move(requests)
        # Its snapshot, which waits for the file; a scrape finding it busy (all workers
        # write at once here) would leave the write to the next snapshot.
        engine._sync.snapshot()
        print("moved", flush=True)
    engine.close()


def their_worker() -> None:
    """One of prometheus_client's workers (``PROMETHEUS_MULTIPROC_DIR`` set): count; on
    each line read, count a tenth again (written to its file as it counts)."""
    requests = prometheus_client.Counter("http_requests", "HTTP requests", ["path", "code"])
    for path, code in LABEL_PAIRS:
        requests.labels(path=path, code=code).inc()
    print("ready", flush=True)
    for _ in sys.stdin:
        move(requests)
        print("moved", flush=True)


def move(requests: Any) -> None:
    for path, code in TENTH:
        requests.labels(path=path, code=code).inc()


@dataclass
class Moving:
    """Before each round: every worker (and ``here``, this process's counters) counts a
    tenth of its series again; ``rounds`` says how many times it did."""

    workers: list[subprocess.Popen[str]]
    here: tuple[Any, ...] = ()
    rounds: int = 0

    def __call__(self) -> None:
        self.rounds += 1
        for worker in self.workers:
            assert worker.stdin is not None
            worker.stdin.write("move\n")
            worker.stdin.flush()
        for requests in self.here:
            move(requests)
        for worker in self.workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "moved\n"


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


Ours = tuple[Engine, list[subprocess.Popen[str]]]
Theirs = tuple[prometheus_client.CollectorRegistry, list[subprocess.Popen[str]]]


@pytest.fixture
def our_workers(tmp_path: Path) -> Iterator[Ours]:
    path = str(tmp_path / "shared.db")
    workers = [start(["ours", path]) for _ in range(WORKERS - 1)]
    engine = Engine(path, max_series=SERIES)
    fill(engine)
    yield engine, workers
    engine.close()
    stop(workers)


@pytest.fixture
def their_workers(tmp_path: Path) -> Iterator[Theirs]:
    directory = tmp_path / "prometheus_multiproc"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    workers = [start(["theirs"], env) for _ in range(WORKERS)]
    registry = prometheus_client.CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    yield registry, workers
    stop(workers)


def check(body: bytes, each: float, tenth: float | None = None) -> None:
    """Every series at ``each``, but the moved tenth at ``tenth`` when given."""
    values = {
        (sample.labels["path"], sample.labels["code"]): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "http_requests_total"
    }
    assert len(values) == SERIES
    moved = set(TENTH) if tenth is not None else set()
    assert {values[pair] for pair in LABEL_PAIRS if pair not in moved} == {each}
    if tenth is not None:
        assert {values[pair] for pair in TENTH} == {tenth}


def pedantic(benchmark: BenchmarkFixture, setup: Moving, run: Callable[[], Any]) -> Any:
    """``run`` each round after ``setup`` (pytest-benchmark's pedantic mode is untyped)."""
    return cast(Callable[..., Any], benchmark.pedantic)(
        run, setup=setup, rounds=ROUNDS_MOVING, iterations=1
    )


@pytest.mark.benchmark(group=GROUP, warmup=True, min_rounds=15)
def test_ours_four_workers(benchmark: BenchmarkFixture, our_workers: Ours) -> None:
    engine, _ = our_workers
    body = benchmark(lambda: encode_text(engine.collect(exposition=True, exemplars=False)))
    check(body, float(WORKERS))


@pytest.mark.benchmark(group=GROUP, warmup=True, min_rounds=15)
def test_prometheus_client_multiprocess_four_workers(
    benchmark: BenchmarkFixture, their_workers: Theirs
) -> None:
    body: Any = benchmark(prometheus_client.generate_latest, their_workers[0])
    check(body, float(WORKERS))


@pytest.mark.benchmark(group=MOVING)
def test_ours_four_workers_moving(benchmark: BenchmarkFixture, our_workers: Ours) -> None:
    engine, workers = our_workers
    requests = engine.counter("http_requests", "HTTP requests", labels=["path", "code"])
    setup = Moving(workers, (requests,))
    body = pedantic(
        benchmark, setup, lambda: encode_text(engine.collect(exposition=True, exemplars=False))
    )
    check(body, float(WORKERS), float(WORKERS * (1 + setup.rounds)))


@pytest.mark.benchmark(group=MOVING)
def test_prometheus_client_multiprocess_four_workers_moving(
    benchmark: BenchmarkFixture, their_workers: Theirs
) -> None:
    registry, workers = their_workers
    setup = Moving(workers)
    body = pedantic(benchmark, setup, lambda: prometheus_client.generate_latest(registry))
    check(body, float(WORKERS), float(WORKERS * (1 + setup.rounds)))


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
