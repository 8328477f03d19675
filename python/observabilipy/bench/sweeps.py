"""How throughput and latency move with one setting at a time: batch size, producer
threads and processes, stored rows, worker processes sharing a file.

``observabilipy bench`` runs the short sweeps (batch size, threads) for its plots;
``benchmarks/curves.py`` runs every sweep at the sizes ``docs/benchmarks.md`` shows.
Each point is one bounded run; "latency" is what a caller waits: nanoseconds per log
call in the producer's thread, seconds per scrape, seconds per read.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from statistics import median
from typing import Any

from observabilipy.bench.measure import fresh, read_rate, together
from observabilipy.bench.plan import Settings
from observabilipy.encoders import encode_text
from observabilipy.runtime.engine import Engine


def _log(engine: Engine, count: int) -> float:
    """Seconds ``count`` log calls took in this thread."""
    log = engine.logger("sweep")
    start = time.perf_counter()
    for i in range(count):
        log.info("request handled", status=200, path="/api/items", i=i)
    return time.perf_counter() - start


def batch_sizes(
    path: Path, count: int, sizes: Sequence[int], settings: Settings
) -> list[dict[str, Any]]:
    """For each batch size: ``count`` entries logged by one thread, then ``flush()``;
    entries/s end to end and nanoseconds per log call while the writer works."""
    points = []
    for size in sizes:
        options = {**asdict(settings), "buffer_size": max(count, settings.buffer_size)}
        with Engine(fresh(path), **{**options, "batch_size": size}) as engine:
            start = time.perf_counter()
            logged = _log(engine, count)
            assert engine.flush(300)
            seconds = time.perf_counter() - start
        points.append(
            {
                "batch_size": size,
                "entries_per_second": count / seconds,
                "call_ns": logged / count * 1e9,
            }
        )
    return points


def producer_threads(
    path: Path, count: int, threads: Sequence[int], settings: Settings
) -> list[dict[str, Any]]:
    """For each thread count: ``count`` entries in all, shared by that many threads
    started together, then ``flush()``; entries/s end to end and the median thread's
    nanoseconds per log call."""
    return [_threads_point(path, count, n, settings) for n in threads]


def _threads_point(path: Path, count: int, threads: int, settings: Settings) -> dict[str, Any]:
    options = {**asdict(settings), "buffer_size": max(count, settings.buffer_size)}
    each, spent = count // threads, [0.0] * threads
    ready = threading.Barrier(threads)
    with Engine(fresh(path), **options) as engine:

        def work(index: int) -> None:
            ready.wait()
            spent[index] = _log(engine, each)

        start = time.perf_counter()
        together(work, threads)
        assert engine.flush(300)
        seconds = time.perf_counter() - start
    return {
        "threads": threads,
        "entries_per_second": each * threads / seconds,
        "call_ns": median(spent) / each * 1e9,
    }


def _produce(path: str, count: int, go: Any, results: Any) -> None:
    """One producer process: an engine on the shared file, ``count`` entries once
    ``go`` is set, flushed; reports when it finished (``time.monotonic`` is one clock
    for every process of the machine)."""
    with Engine(path, buffer_size=max(count, 100_000)) as engine:
        go.wait()
        logged = _log(engine, count)
        assert engine.flush(300)
        results.put((time.monotonic(), logged / count * 1e9))


def producer_processes(path: Path, count: int, processes: Sequence[int]) -> list[dict[str, Any]]:
    """For each process count: ``count`` entries in all, shared by that many processes
    writing one file, each with its own engine; entries/s from the start signal to the
    last flush (interpreter start-up left out)."""
    context = multiprocessing.get_context("spawn")
    points = []
    for n in processes:
        fresh(path)
        with Engine(path):  # the schema, made once before the producers race for it
            pass
        go, results = context.Event(), context.Queue()
        each = count // n
        workers = [
            context.Process(target=_produce, args=(str(path), each, go, results)) for _ in range(n)
        ]
        for worker in workers:
            worker.start()
        time.sleep(0.5 + 0.5 * n)  # every interpreter imported and its engine open
        start = time.monotonic()
        go.set()
        done = [results.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join()
        seconds = max(end for end, _ in done) - start
        points.append(
            {
                "processes": n,
                "entries_per_second": each * n / seconds,
                "call_ns": median(ns for _, ns in done),
            }
        )
    return points


def stored_rows(
    path: Path, sizes: Sequence[int], probe: Callable[[], float] | None = None
) -> list[dict[str, Any]]:
    """For each size, growing one file: stored rows read back whole as ``GET /logs``
    NDJSON; rows/s and the file's size (and ``probe()`` around each read, as
    ``speed``: the machine's pace at the moment)."""
    fresh(path)
    points, stored = [], 0
    for size in sorted(sizes):
        with Engine(path, buffer_size=100_000) as engine:
            log = engine.logger("rows")
            for i in range(stored, size):
                log.info("request handled", status=200, path="/api/items", i=i)
            assert engine.flush(600)
        stored = size
        before = probe() if probe else 0.0
        rate = read_rate(path)
        speed = (before + probe()) / 2 if probe else 0.0
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal")]
        points.append(
            {
                "rows": size,
                **rate,
                "seconds": size / rate["rows_per_second"],
                "file_bytes": sum(file.stat().st_size for file in files if file.exists()),
                "speed": speed,
            }
        )
    return points


def _worker(path: str, series: int, ready: Any, stop: Any) -> None:
    """A worker process holding ``series`` series in the shared file until ``stop``."""
    with Engine(path, max_series=max(series, 2_000)) as engine:
        _same_series(engine, series)
        engine.flush(300)  # its values stored, as a running worker's snapshots keep them
        ready.set()
        stop.wait(600)


def _same_series(engine: Engine, series: int) -> None:
    counter = engine.counter("http_requests_total", "Requests", labels=["path", "code"])
    for i in range(series):
        counter.labels(f"/api/items/{i // 5}", str(200 + i % 5)).inc()


def shared_scrape(
    path: Path, series: int, workers: Sequence[int], rounds: int
) -> list[dict[str, Any]]:
    """For each worker count: that many processes hold the same ``series`` series in
    one file; seconds per scrape through one of them (its values written, the others'
    read, the totals encoded), as ``GET /metrics`` does without HTTP."""
    context = multiprocessing.get_context("spawn")
    points = []
    for n in workers:
        fresh(path)
        with Engine(path):
            pass
        stop = context.Event()
        others = []
        for _ in range(n - 1):
            ready = context.Event()
            process = context.Process(target=_worker, args=(str(path), series, ready, stop))
            process.start()
            others.append((process, ready))
        try:
            for _, ready in others:
                assert ready.wait(300), "a worker did not start"
            with Engine(path, max_series=max(series, 2_000)) as engine:
                _same_series(engine, series)
                # As GET /metrics collects for text: no exemplars (text 0.0.4 has none).
                body = encode_text(engine.collect(exposition=True, exemplars=False))
                collects, encodes = [], []
                for _ in range(rounds):
                    start = time.perf_counter()
                    families = engine.collect(exposition=True, exemplars=False)
                    collected = time.perf_counter()
                    body = encode_text(families)
                    collects.append(collected - start)
                    encodes.append(time.perf_counter() - collected)
        finally:
            stop.set()
            for process, _ in others:
                process.join(60)
        totals = [c + e for c, e in zip(collects, encodes, strict=True)]
        points.append(
            {
                "workers": n,
                "seconds": median(totals),
                "collect_seconds": median(collects),
                "encode_seconds": median(encodes),
                "body_bytes": len(body),
            }
        )
    return points
