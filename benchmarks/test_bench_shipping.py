"""Shipping out: what it costs to get log lines to Loki, and what it costs the producer.

- ``ship 2,000 lines to Loki``: from the first log call until a Loki push receiver has
  every line (``engine.ship()`` returns once the receiver acknowledged them), against
  python-logging-loki's ``LokiHandler`` sending the same lines (one push per record,
  as it does) to the same receiver: a local HTTP server that reads each body and
  answers 204. Same lines (a message and two attributes), same count, three rounds.
- ``producer with an exporter``: 100,000 ``log.info`` calls paced at 100,000 a second
  (1,000 calls every 10 ms) into an engine whose shipping thread pushes them to that
  receiver as they are stored (default ``Shipping``), against the same calls into an
  engine without exporters, three rounds each. A round lasts about a second either
  way; what the exporter costs the producing thread is in ``extra_info["busy_ms"]``:
  the time spent inside the calls, without the pauses (median of the rounds).
"""

import logging
import time
from collections.abc import Callable, Iterator
from itertools import repeat
from pathlib import Path
from statistics import median
from typing import Any, cast

import logging_loki  # type: ignore[import-untyped]
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Engine, LokiExporter, Shipping
from tests.receiver import Receiver

LINES = 2_000
PRODUCED = 100_000
RATE = 100_000  # calls a second
CHUNK = 1_000


@pytest.fixture
def loki() -> Iterator[Receiver]:
    server = Receiver([])
    yield server
    server.shutdown()
    server.server_close()


def pedantic(benchmark: BenchmarkFixture, run: Callable[[], None], setup: Any = None) -> None:
    """Three whole runs (pytest-benchmark's pedantic mode is untyped)."""
    cast(Callable[..., Any], benchmark.pedantic)(run, setup=setup, rounds=3, iterations=1)


@pytest.mark.benchmark(group="ship 2,000 lines to Loki")
def test_ship_to_loki_observabilipy(
    benchmark: BenchmarkFixture, tmp_path: Path, loki: Receiver
) -> None:
    engines: list[Engine] = []

    def setup() -> tuple[tuple[Engine], dict[str, Any]]:
        exporter = LokiExporter(loki.url, service="bench")
        engine = Engine(
            tmp_path / f"ship-{len(engines)}.db",
            exporters=[exporter],
            shipping=Shipping(interval=0.005),
        )
        engines.append(engine)
        return (engine,), {}

    def run(engine: Engine) -> None:
        log = engine.logger("bench")
        for seq in range(LINES):
            log.info("order paid", seq=seq, amount=12.5)
        assert engine.ship(60)

    pedantic(benchmark, run, setup)  # type: ignore[arg-type]
    for engine in engines:
        engine.close()


@pytest.mark.benchmark(group="ship 2,000 lines to Loki")
def test_ship_to_loki_python_logging_loki(benchmark: BenchmarkFixture, loki: Receiver) -> None:
    handler = logging_loki.LokiHandler(url=loki.url, tags={"service_name": "bench"}, version="1")
    logger = logging.getLogger("observabilipy-bench-loki")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def run() -> None:
        for seq in range(LINES):
            logger.info("order paid", extra={"tags": {"seq": str(seq), "amount": "12.5"}})

    try:
        pedantic(benchmark, run)
    finally:
        logger.removeHandler(handler)


def produce(engine: Engine, busy: list[float]) -> None:
    """PRODUCED calls at 100,000 a second; the time spent inside them goes to ``busy``."""
    log = engine.logger("bench")
    start = time.perf_counter()
    inside = 0.0
    for chunk in range(PRODUCED // CHUNK):
        began = time.perf_counter()
        for _ in repeat(None, CHUNK):
            log.info("order paid", seq=1, amount=12.5)
        inside += time.perf_counter() - began
        pause = start + (chunk + 1) * CHUNK / RATE - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    busy.append(inside)


def record_busy(benchmark: BenchmarkFixture, busy: list[float]) -> None:
    benchmark.extra_info["busy_ms"] = round(median(busy) * 1000, 1)


@pytest.mark.benchmark(group="producer with an exporter")
def test_producer_with_a_loki_exporter(
    benchmark: BenchmarkFixture, tmp_path: Path, loki: Receiver
) -> None:
    rounds = iter(range(100))
    engines: list[Engine] = []
    busy: list[float] = []

    def setup() -> tuple[tuple[Engine, list[float]], dict[str, Any]]:
        exporter = LokiExporter(loki.url, service="bench")
        engine = Engine(tmp_path / f"p-{next(rounds)}.db", exporters=[exporter])
        engines.append(engine)
        return (engine, busy), {}

    pedantic(benchmark, produce, setup)  # type: ignore[arg-type]
    for engine in engines:
        assert engine.ship(120)
        assert engine.buffer.dropped == 0
        engine.close()
    record_busy(benchmark, busy)


@pytest.mark.benchmark(group="producer with an exporter")
def test_producer_without_exporters(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    rounds = iter(range(100))
    engines: list[Engine] = []
    busy: list[float] = []

    def setup() -> tuple[tuple[Engine, list[float]], dict[str, Any]]:
        engine = Engine(tmp_path / f"p-{next(rounds)}.db")
        engines.append(engine)
        return (engine, busy), {}

    pedantic(benchmark, produce, setup)  # type: ignore[arg-type]
    for engine in engines:
        assert engine.flush(120)
        engine.close()
    record_busy(benchmark, busy)
