"""The engine end to end: the logging hot path, sustained ingest, the writer under load.

- ``log.info() hot path``: ``log.info("msg", a=1, b="x")`` into an Engine whose writer
  runs, against stdlib ``logging.info`` into a handler that does nothing. Per 1,000
  calls, like the instrument groups.
- ``ingest 300k``: 300,000 entries logged as fast as one thread can, then ``flush()``;
  one round is the whole run, so entries/s = 300,000 / median. The anchor is the raw
  apsw ceiling: ``executemany`` of the same rows, prepared in advance, into a bare
  table with no index. Rows, drops and disk bytes per entry go to ``extra_info``.
- ``writer under a busy producer``: 200,000 entries already buffered, written while
  another thread spins in pure Python (the GIL convoy case). The round includes
  logging them first; ``extra_info`` has the rows/s of the flush alone. The anchor is
  raw apsw inserting the same rows (built before the round, as JSON text, in one
  statement) into a bare table while the same thread spins; its ``extra_info`` has the
  rows/s of the inserts alone.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from statistics import median
from typing import Any, cast

import apsw
import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Engine

CALLS = 1_000
INGEST = 300_000


class DoNothing(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass


@pytest.mark.benchmark(group="log.info() hot path")
def test_log_info_observabilipy(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    with Engine(tmp_path / "hot.db", buffer_size=10_000_000) as engine:
        log = engine.logger("bench")

        def run() -> None:
            for _ in repeat(None, CALLS):
                log.info("msg", a=1, b="x")

        benchmark(run)
        assert engine.flush(120)
        assert engine.buffer.dropped == 0
        assert engine.logs.last_id() == engine.buffer.appended


@pytest.mark.benchmark(group="log.info() hot path")
def test_log_info_stdlib_logging(benchmark: BenchmarkFixture) -> None:
    logger = logging.getLogger("observabilipy-bench")
    handler = DoNothing()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:

        def run() -> None:
            for _ in repeat(None, CALLS):
                logger.info("msg", extra={"a": 1, "b": "x"})

        benchmark(run)
    finally:
        logger.removeHandler(handler)


def pedantic(benchmark: BenchmarkFixture, run: Callable[[], None]) -> None:
    """Three whole runs, one round each (pytest-benchmark's pedantic mode is untyped)."""
    cast(Callable[..., Any], benchmark.pedantic)(run, rounds=3, iterations=1)


def timed(durations: list[float], run: Callable[[], None]) -> Callable[[], None]:
    """``run``, appending its wall time to ``durations`` (for rates in extra_info)."""

    def wrapper() -> None:
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)

    return wrapper


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@pytest.mark.benchmark(group="ingest 300k")
def test_ingest_observabilipy(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    path = tmp_path / "ingest.db"
    results: list[tuple[int, int]] = []

    def run() -> None:
        with Engine(fresh(path), buffer_size=INGEST) as engine:
            log = engine.logger("ingest")
            for i in range(INGEST):
                log.info("request handled", status=200, path="/api/items", i=i)
            assert engine.flush(300)
            results.append((engine.logs.last_id(), engine.buffer.dropped))

    durations: list[float] = []
    pedantic(benchmark, timed(durations, run))
    assert all(result == (INGEST, 0) for result in results)
    benchmark.extra_info["entries_per_second"] = INGEST / median(durations)
    connection = apsw.Connection(str(path))  # fold the WAL in to measure the file alone
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    benchmark.extra_info["disk_bytes_per_entry"] = os.path.getsize(path) / INGEST


@pytest.mark.benchmark(group="ingest 300k")
def test_ingest_raw_apsw_ceiling(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    now = time.time()
    rows = [(now, 20, "ingest", "request handled", '{"status":200}') for _ in range(INGEST)]

    def run() -> None:
        connection = apsw.Connection(str(fresh(path)))
        connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE t (ts REAL, level INT, logger, message, attributes)")
        for start in range(0, INGEST, 50_000):
            with connection:
                connection.executemany(
                    "INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows[start : start + 50_000]
                )
        assert connection.execute("SELECT count(*) FROM t").fetchall() == [(INGEST,)]
        connection.close()

    durations: list[float] = []
    pedantic(benchmark, timed(durations, run))
    benchmark.extra_info["rows_per_second"] = INGEST / median(durations)


BUSY = 200_000


def while_spinning(durations: list[float], write: Callable[[], None]) -> None:
    """``write()`` while another thread spins in pure Python; its time to ``durations``."""
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        start = time.perf_counter()
        write()
        durations.append(time.perf_counter() - start)
    finally:
        stop.set()
        spinner.join()


@pytest.mark.benchmark(group="writer under a busy producer")
def test_writer_with_a_cpu_bound_thread(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    flush_seconds: list[float] = []

    def run() -> None:
        with Engine(fresh(path), buffer_size=BUSY, flush_interval=3600, batch_size=10**9) as e:
            log = e.logger("busy")
            for i in range(BUSY):
                log.info("entry", i=i)
            while_spinning(flush_seconds, lambda: assert_flushed(e))
            assert e.logs.last_id() == BUSY

    pedantic(benchmark, run)
    benchmark.extra_info["rows_per_second_while_spinning"] = BUSY / median(flush_seconds)


def assert_flushed(engine: Engine) -> None:
    assert engine.flush(300)


@pytest.mark.benchmark(group="writer under a busy producer")
def test_raw_apsw_with_a_cpu_bound_thread(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """The ceiling: the rows the engine stores, inserted by apsw in one transaction and
    one statement (the rows as JSON text built before the round). ``executemany`` would
    hand the GIL back and forth for every row, and with a thread spinning on the other
    core each handover waits out the interpreter's switch interval: minutes, not a
    ceiling."""
    path = tmp_path / "raw-busy.db"
    now = time.time()
    rows = orjson.dumps([(now, 20, "busy", "entry", f'{{"i":{i}}}') for i in range(BUSY)])
    insert_seconds: list[float] = []

    def run() -> None:
        connection = apsw.Connection(str(fresh(path)))
        connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE t (ts REAL, level INT, logger, message, attributes)")

        def write() -> None:
            with connection:
                connection.execute(
                    "INSERT INTO t SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
                    "value ->> 4 FROM json_each(?)",
                    (rows,),
                )

        while_spinning(insert_seconds, write)
        assert connection.execute("SELECT count(*) FROM t").fetchall() == [(BUSY,)]
        connection.close()

    pedantic(benchmark, run)
    benchmark.extra_info["rows_per_second_while_spinning"] = BUSY / median(insert_seconds)
