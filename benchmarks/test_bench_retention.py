"""Retention at speed: ingest while retention drops segments, and a soak.

- ``ingest 300k, retention deleting``: the ``ingest 300k`` run (300,000 entries logged
  as fast as one thread can, then ``flush()``) into an Engine with
  ``Retention(max_rows=50_000)``, which drops about 250,000 of them during the run,
  against the same run with no retention rule, in the same group. ``extra_info`` has
  the rows left and the segments dropped.
- The soak (``test_soak_*``) feeds an Engine 100,000 entries a second for
  ``OBSERVABILIPY_SOAK`` seconds (600 by default) under ``max_rows=200_000``, then
  under ``max_age=30``, sampling rows held, file size and memory every 5 s. It runs
  only when ``OBSERVABILIPY_SOAK`` is set: it takes that long.
"""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any, cast

import apsw
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import Engine, Retention
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite_schema import scalar

INGEST = 300_000
SOAK_RATE = 100_000  # entries a second


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def ingest(benchmark: BenchmarkFixture, path: Path, retention: Retention | None) -> None:
    results: list[tuple[int, int, int, float]] = []
    durations: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        with Engine(fresh(path), buffer_size=INGEST, retention=retention) as engine:
            log = engine.logger("ingest")
            for i in range(INGEST):
                log.info("request handled", status=200, path="/api/items", i=i)
            assert engine.flush(300)
            durations.append(time.perf_counter() - start)
            # Ids held, from the oldest segment on (no entry is rejected here): O(1).
            connection = engine.logs.connection
            held = segments.last_id(connection) - segments.segments(connection)[0].first_id + 1
            counted = {
                sample[0]: sample[2] for family in engine.collect() for sample in family.samples
            }
            dropped = counted.get("observabilipy_retention_segments_dropped_total", 0.0)
            results.append((engine.logs.last_id(), engine.buffer.dropped, held, dropped))

    cast(Callable[..., Any], benchmark.pedantic)(run, rounds=3, iterations=1)
    assert all(last == INGEST and lost == 0 for last, lost, _, _ in results)
    benchmark.extra_info["entries_per_second"] = INGEST / median(durations)
    benchmark.extra_info["rows_left"] = results[-1][2]
    benchmark.extra_info["segments_dropped"] = results[-1][3]
    if retention is not None and retention.max_rows is not None:
        # The rule, one segment beyond it, and the batch written since the last check.
        limit = retention.max_rows + retention.segmenting.rows + 50_000
        assert all(held <= limit for _, _, held, _ in results), results


@pytest.mark.benchmark(group="ingest 300k, retention deleting")
def test_ingest_without_retention(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    ingest(benchmark, tmp_path / "plain.db", None)


@pytest.mark.benchmark(group="ingest 300k, retention deleting")
def test_ingest_with_retention_deleting(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    ingest(benchmark, tmp_path / "kept.db", Retention(max_rows=50_000))


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def soak(path: Path, retention: Retention, seconds: float) -> list[dict[str, float]]:
    """Feed ``SOAK_RATE`` entries a second for ``seconds``; a sample every 5 s."""
    samples: list[dict[str, float]] = []  # t, rows, bytes, rss
    with Engine(fresh(path), retention=retention) as engine:
        log = engine.logger("soak")
        stop = threading.Event()

        def sample() -> None:
            reader = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
            start = time.monotonic()
            while not stop.wait(5.0):
                held = float(scalar(reader, "SELECT count(*) FROM logs"))
                size = sum(
                    os.path.getsize(f"{path}{suffix}")
                    for suffix in ("", "-wal")
                    if os.path.exists(f"{path}{suffix}")
                )
                samples.append(
                    {
                        "t": time.monotonic() - start,
                        "rows": held,
                        "bytes": size,
                        "rss": _rss_bytes(),
                    }
                )
            reader.close()

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * SOAK_RATE)
            for i in range(sent, due):
                log.info("request handled", status=200, path="/api/items", i=i)
            sent = max(sent, due)
            time.sleep(0.005)
        stop.set()
        sampler.join()
        assert engine.flush(60)
        assert engine.buffer.dropped == 0
        assert engine.accounting()["stored"] == sent
    return samples


def check_flat(samples: list[dict[str, float]], limit_rows: float) -> None:
    third = samples[len(samples) // 3]
    later = [s for s in samples if s["t"] >= 60]
    assert max(s["rows"] for s in samples) <= limit_rows, samples
    assert max(s["bytes"] for s in later) <= 1.5 * third["bytes"], samples
    assert max(s["rss"] for s in later) <= 1.5 * third["rss"], samples


SOAK = os.environ.get("OBSERVABILIPY_SOAK")


@pytest.mark.skipif(not SOAK, reason="set OBSERVABILIPY_SOAK=<seconds> to run the soak")
def test_soak_max_rows(tmp_path: Path) -> None:
    retention = Retention(max_rows=200_000)
    samples = soak(tmp_path / "rows.db", retention, float(SOAK or 0) or 600)
    # The rule, one segment beyond it, and one batch (the writer's largest: 50,000).
    check_flat(samples, 200_000 + retention.segmenting.rows + 50_000)
    print("soak max_rows", samples)


@pytest.mark.skipif(not SOAK, reason="set OBSERVABILIPY_SOAK=<seconds> to run the soak")
def test_soak_max_age(tmp_path: Path) -> None:
    retention = Retention(max_age=30)
    samples = soak(tmp_path / "age.db", retention, float(SOAK or 0) or 600)
    check_flat(samples, SOAK_RATE * (30 + retention.segmenting.seconds + 2))
    print("soak max_age", samples)
