"""What ``observabilipy bench`` measures, each the way ``benchmarks/`` measures it.

Every function runs a bounded amount of work and returns plain numbers; the same
paths have pytest-benchmark twins (``test_bench_instruments``, ``test_bench_engine``,
``test_bench_rust_encoders``) whose medians these figures agree with, as
``benchmarks/test_bench_agreement.py`` checks.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict
from itertools import repeat
from pathlib import Path
from statistics import median
from typing import Any

import apsw

from observabilipy.adapters.frameworks.endpoints import Endpoints, LogsRequest
from observabilipy.bench.plan import Settings
from observabilipy.core.registry import Registry
from observabilipy.encoders import encode_text
from observabilipy.runtime.engine import Engine

CALLS = 1_000


def per_call(run: Callable[[], None], budget: float) -> float:
    """Median seconds per call of ``run`` (which makes ``CALLS`` calls), over as many
    rounds as fit in ``budget`` seconds (at least five), as pytest-benchmark calibrates
    its rounds to a time budget: a handful of rounds would see one phase of a shared
    machine, where the same loop's speed swings by up to 2x from second to second."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return median(times) / CALLS


def machine_pace() -> float:
    """Median seconds of a fixed loop of pure Python: how fast this machine runs at the
    moment (on shared cores it swings by up to 2x within seconds)."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i
        times.append(time.perf_counter() - start)
    return median(times)


class DoNothing(logging.Handler):
    """The stdlib anchor's handler, as in ``test_bench_engine``: a record is made,
    filtered and handed over under the handler's lock, then nothing more."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


def hot_paths(directory: Path, budget: float) -> dict[str, float]:
    """Nanoseconds per call: log call, counter inc, histogram observe; their anchors
    (stdlib logging into a handler that does nothing; prometheus_client if installed),
    each for ``budget`` seconds. Each loop is written out, as in the benchmarks, so no
    forwarding cost is added."""
    result: dict[str, float] = {}
    with Engine(directory / "hot.db", buffer_size=10_000_000) as engine:
        log = engine.logger("bench")
        counter = engine.counter("bench_total", "Bench")
        histogram = engine.histogram("bench_seconds", "Bench")

        def log_calls() -> None:
            for _ in repeat(None, CALLS):
                log.info("msg", a=1, b="x")

        result["log_call_ns"] = per_call(log_calls, budget)
        result.update(_instruments("", counter, histogram, budget))
    result.update(_anchors(budget))
    return {name: seconds * 1e9 for name, seconds in result.items()}


def _anchors(budget: float) -> dict[str, float]:
    stdlib = logging.getLogger("observabilipy-bench")
    handler = DoNothing()
    stdlib.addHandler(handler)
    stdlib.setLevel(logging.INFO)
    stdlib.propagate = False

    def stdlib_calls() -> None:
        for _ in repeat(None, CALLS):
            stdlib.info("msg", extra={"a": 1, "b": "x"})

    try:
        result = {"stdlib_log_call_ns": per_call(stdlib_calls, budget)}
    finally:
        stdlib.removeHandler(handler)
    try:
        import prometheus_client
    except ImportError:  # an anchor only when installed
        return result
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("bench", "Bench", registry=registry)
    histogram = prometheus_client.Histogram("bench_seconds", "Bench", registry=registry)
    result.update(_instruments("prometheus_client_", counter, histogram, budget))
    return result


def _instruments(prefix: str, counter: Any, histogram: Any, budget: float) -> dict[str, float]:
    """Seconds per ``counter.inc()`` and per ``histogram.observe(0.3)``."""

    def counter_calls() -> None:
        for _ in repeat(None, CALLS):
            counter.inc()

    def histogram_calls() -> None:
        for _ in repeat(None, CALLS):
            histogram.observe(0.3)

    return {
        f"{prefix}counter_inc_ns": per_call(counter_calls, budget),
        f"{prefix}histogram_observe_ns": per_call(histogram_calls, budget),
    }


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def ingest(path: Path, count: int, settings: Settings) -> dict[str, float]:
    """``count`` entries logged by one thread as fast as it can, then ``flush()`` (the
    ``ingest 300k`` benchmark); then the writer alone flushing ``count`` buffered
    entries; disk bytes per entry of the file."""
    options = {**asdict(settings), "buffer_size": max(count, settings.buffer_size)}
    with Engine(fresh(path), **options) as engine:
        log = engine.logger("ingest")
        start = time.perf_counter()
        for i in range(count):
            log.info("request handled", status=200, path="/api/items", i=i)
        assert engine.flush(300)
        seconds = time.perf_counter() - start
        assert engine.accounting()["stored"] == count
    writer = Path(f"{path}.writer")
    with Engine(fresh(writer), buffer_size=count, flush_interval=3600, batch_size=10**9) as e:
        log = e.logger("ingest")
        for i in range(count):
            log.info("request handled", status=200, path="/api/items", i=i)
        start = time.perf_counter()
        assert e.flush(300)
        flush_seconds = time.perf_counter() - start
    for suffix in ("", "-wal", "-shm"):
        Path(f"{writer}{suffix}").unlink(missing_ok=True)
    return {
        "entries_per_second": count / seconds,
        "writer_rows_per_second": count / flush_seconds,
        "disk_bytes_per_entry": log_bytes_per_entry(path),
    }


def raw_apsw(path: Path, count: int) -> float:
    """Rows/s of apsw ``executemany`` of rows shaped like ours into a bare table: the
    SQLite ceiling the writer is measured against."""
    now = time.time()
    rows = [(now, 20, "ingest", "request handled", f'{{"i":{i}}}') for i in range(count)]
    connection = apsw.Connection(str(fresh(path)))
    connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (ts REAL, level INT, logger, message, attributes)")
    start = time.perf_counter()
    for first in range(0, count, 50_000):
        with connection:
            connection.executemany(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows[first : first + 50_000]
            )
    seconds = time.perf_counter() - start
    connection.close()
    fresh(path)
    return count / seconds


def paced(
    path: Path, rate: float, seconds: float, settings: Settings, threads: int = 1
) -> dict[str, Any]:
    """Log at ``rate`` entries/s in all for ``seconds`` (``threads`` producers, each a
    burst every 5 ms) into an engine that drops rather than waits when full, then flush.
    Sustained means no drop, the producers kept pace, and the backlog at the end fits
    one flush interval plus a batch."""
    with Engine(fresh(path), overflow="drop_newest", **asdict(settings)) as engine:
        log = engine.logger("paced")
        sent = [0] * threads
        start = time.perf_counter()

        def produce(index: int) -> None:
            share, done = rate / threads, 0
            while (elapsed := time.perf_counter() - start) < seconds:
                due = int(share * elapsed) - done
                for _ in repeat(None, due):
                    log.info("request handled", status=200, path="/api/items")
                done += due
                pause = 0.005 - (time.perf_counter() - start - elapsed)
                if pause > 0:
                    time.sleep(pause)
            sent[index] = done

        together(produce, threads)
        achieved = sum(sent) / (time.perf_counter() - start)
        backlog = len(engine.buffer)
        engine.flush(300)
        counts = engine.accounting()
    # A writer keeping up leaves at most a batch plus one interval's worth waiting.
    allowed = settings.batch_size + rate * (settings.flush_interval + 0.25)
    return {
        "rate": rate,
        "threads": threads,
        "achieved": achieved,
        "backlog": backlog,
        **counts,
        "sustained": counts["dropped"] == 0 and achieved >= 0.97 * rate and backlog <= allowed,
    }


def together(work: Callable[[int], None], threads: int) -> None:
    """``work(0)`` .. ``work(threads - 1)``, each on its own thread, until all return."""
    if threads == 1:
        work(0)
        return
    started = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def log_bytes_per_entry(path: Path | str) -> float:
    """Bytes the logs table and its indexes take per stored entry, read-only (``dbstat``
    when SQLite has it, else the whole file's used pages)."""
    connection = apsw.Connection(
        f"file:{os.fspath(path)}?mode=ro", flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    try:
        rows = _number(connection, "SELECT count(*) FROM logs")
        try:
            used = _number(
                connection,
                # logs is a view over segment tables (logs_seg_N) and their indexes,
                # with spans of ids bounding reads by time.
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'logs\\_%' ESCAPE '\\' "
                "OR name LIKE 'sqlite\\_autoindex\\_logs\\_%' ESCAPE '\\' "
                "OR name = 'log_spans'",
            )
        except apsw.SQLError:
            pages = _number(connection, "PRAGMA page_count")
            free = _number(connection, "PRAGMA freelist_count")
            used = (pages - free) * _number(connection, "PRAGMA page_size")
    finally:
        connection.close()
    return used / rows if rows else 0.0


def _number(connection: apsw.Connection, sql: str) -> float:
    value = connection.execute(sql).fetchall()[0][0]
    return float(value) if isinstance(value, int | float) else 0.0


def counter_series(series: int) -> Registry:
    """One counter family of ``series`` children, as the ``exposition text`` benchmark
    builds it (labels ``path`` and ``code``), each incremented once."""
    registry = Registry(max_series=series)
    counter = registry.counter("http_requests_total", "Requests", labels=["path", "code"])
    for i in range(series):
        counter.labels(f"/api/items/{i // 5}", str(200 + i % 5)).inc()
    return registry


class GcClock:
    """Seconds the cyclic garbage collector paused this process while open: how much
    of a measurement was the collector scanning the heap rather than the work."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.passes = 0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.passes += 1

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)


def scrape(series: int, rounds: int) -> dict[str, float]:
    """Seconds per ``encode_text(registry.collect())`` over ``series`` counter series
    (the ``exposition text`` benchmark), and the collector's share of that time."""
    registry = counter_series(series)
    encode_text(registry.collect())  # warm: label sets rendered once
    times = []
    with GcClock() as collector:
        for _ in range(rounds):
            start = time.perf_counter()
            encode_text(registry.collect())
            times.append(time.perf_counter() - start)
    return {
        "series": series,
        "seconds": median(times),
        "gc_share": collector.seconds / sum(times),
        "gc_passes": collector.passes / rounds,
    }


def series_memory(series: int) -> dict[str, Any]:
    """Bytes each counter series takes, Python objects and native cells together: the
    growth of resident memory in a fresh interpreter that builds ``series`` series and
    scrapes them once (a fresh process, because one that has freed memory reuses it
    without growing). Beside it, Python's allocations alone (tracemalloc). Where the
    resident size cannot be read, the Python figure stands in, and ``method`` says so."""
    gc.collect()
    tracemalloc.start()
    registry = counter_series(series)
    encode_text(registry.collect())
    python = max(tracemalloc.get_traced_memory()[0], 0) / series
    tracemalloc.stop()
    del registry
    code = f"from observabilipy.bench.measure import grown; print(grown({series}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    resident = float(done.stdout) / series if done.stdout.strip() != "None" else None
    return {
        "series": series,
        "bytes_per_series": python if resident is None else resident,
        "python_bytes_per_series": python,
        "method": "tracemalloc" if resident is None else "resident memory",
    }


def grown(series: int) -> int | None:
    """Resident bytes this process grows by building ``series`` series and scraping them
    once (``series_memory`` runs it in a fresh interpreter); None where unknown."""
    gc.collect()
    before = _resident()
    registry = counter_series(series)
    encode_text(registry.collect())
    gc.collect()
    after = _resident()
    del registry
    return None if before is None or after is None else after - before


def _resident() -> int | None:
    try:  # Linux: the current resident set, in pages
        pages = Path("/proc/self/statm").read_text().split()[1]
    except OSError:
        return None
    return int(pages) * os.sysconf("SC_PAGE_SIZE")


def read_rate(path: Path) -> dict[str, float]:
    """Rows/s and MB/s reading a whole file back as an unfiltered ``GET /logs`` does
    under a blocking server: the endpoints' own loop of id-range reads, one at a time
    (the ASGI app keeps two in flight, so it reads at least this fast)."""
    everything = LogsRequest(filters={}, cursor=None, limit=None, follow=False)
    with Engine(path) as engine:
        rows = size = 0
        start = time.perf_counter()
        for body in Endpoints(engine).log_bodies(everything, poll_interval=1.0, keepalive=30.0):
            rows += body.count(b"\n")
            size += len(body)
        seconds = time.perf_counter() - start
    return {"rows_per_second": rows / seconds, "megabytes_per_second": size / seconds / 1e6}
