"""Worker processes for the engine tests (``python -m tests.integration.engine_worker``).

Each command opens an Engine on the given file, does its work and reports on stdout.
"""

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from observabilipy import Engine, Registry

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def holding(path: object, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the file's write lock for ``seconds`` (or until the block
    ends, when it is killed); the block starts once the lock is taken."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.integration.engine_worker", "hold", str(path), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        try:
            yield holder
        finally:
            holder.kill()


def log(path: str, count: int, tag: str) -> None:
    """Write ``count`` entries tagged with this worker, then flush and close."""
    with Engine(path) as engine:
        log = engine.logger("worker")
        for seq in range(count):
            log.info("entry", worker=tag, seq=seq)
        assert engine.flush(60)
    print("done", flush=True)


def count(path: str, times: int) -> None:
    """Increment one shared counter ``times`` times, then flush and close."""
    with Engine(path) as engine:
        counter = engine.counter("jobs_total", "Jobs done")
        for _ in range(times):
            counter.inc()
        assert engine.flush(60)
    print("done", flush=True)


def crash(path: str) -> None:
    """Log forever, printing the last seq whose flush() returned True; killed from outside."""
    engine = Engine(path)
    log = engine.logger("crash")
    seq = 0
    while True:
        for _ in range(500):
            log.info("entry", seq=seq)
            seq += 1
        if engine.flush(10):
            print(seq - 1, flush=True)


def scrape_loop(path: str) -> None:
    """Count and scrape forever, printing the total each scrape showed (a scrape saves
    this process's values first); killed from outside, often in the middle of a save."""
    engine = Engine(path, snapshot_interval=3600)
    counter = engine.counter("jobs_total", "Jobs done", labels=["kind"])
    children = [counter.labels(f"kind{i}") for i in range(300)]
    while True:
        for child in children:
            child.inc()
        [family] = [f for f in engine.collect() if f.name == "jobs"]
        print(sum(value for _, _, value in family.samples), flush=True)


def history_loop(path: str) -> None:
    """Count while the writer keeps the history as often as it can; killed from
    outside, often in the middle of a history insert."""
    # Every series exists before the writer starts: a point kept while they were being
    # made would hold fewer, whole as it is.
    registry = Registry()
    counter = registry.counter("jobs_total", "Jobs done", labels=["kind"])
    children = [counter.labels(f"kind{i}") for i in range(300)]
    with Engine(
        path,
        registry=registry,
        history_interval=0.001,
        flush_interval=0.001,
        snapshot_interval=3600,
    ):
        print("counting", flush=True)
        while True:
            for child in children:
                child.inc()
            time.sleep(0.001)  # room for the writer


def gauge(path: str, value: str, aggregate: str) -> None:
    """Set a gauge, flush, report, and stay alive until stdin closes."""
    engine = Engine(path, snapshot_interval=0.2)
    engine.gauge("workers_busy", "Busy workers", aggregate=aggregate).set(float(value))
    engine.counter("served_total", "Requests served").inc(float(value))
    assert engine.flush(30)
    print("ready", flush=True)
    sys.stdin.read()
    engine.close()


def hold(path: str, seconds: str) -> None:
    """Hold the write lock on the file for ``seconds``."""
    import apsw

    connection = apsw.Connection(path)
    connection.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(float(seconds))
    connection.execute("ROLLBACK")


def disk_full(path: str) -> None:
    """Write under a small file-size limit, then lift it; report what the caller saw."""
    import json
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead
    engine = Engine(path)
    log = engine.logger("disk")
    log.info("before")
    assert engine.flush(30)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
    start = time.monotonic()
    for seq in range(3000):
        log.info("x" * 500, seq=seq)  # never raises, never blocks
    logging_seconds = time.monotonic() - start
    during = engine.flush(5)
    health_during = engine.health()
    errors = engine.registry.get("observabilipy_write_errors_total").get()  # type: ignore[union-attr]
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    after = engine.flush(30)
    health_after = engine.health()
    rows = len(engine.read_logs())
    engine.close()
    print(
        json.dumps(
            {
                "during": during,
                "after": after,
                "errors": errors,
                "rows": rows,
                "logging_seconds": logging_seconds,
                "health_during": health_during,
                "health_after": health_after,
            }
        ),
        flush=True,
    )


def exit_without_close(path: str) -> None:
    """Log and return without flush() or close(): the exit handler must write it all."""
    engine = Engine(path, flush_interval=60, batch_size=10**6)
    log = engine.logger("exit")
    for seq in range(2000):
        log.info("entry", seq=seq)
    engine.counter("exits_total", "Exits").inc()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "log":
        log(args[0], int(args[1]), args[2])
    elif command == "count":
        count(args[0], int(args[1]))
    elif command == "crash":
        crash(args[0])
    elif command == "scrape_loop":
        scrape_loop(args[0])
    elif command == "history_loop":
        history_loop(args[0])
    elif command == "gauge":
        gauge(args[0], args[1], args[2])
    elif command == "disk_full":
        disk_full(args[0])
    elif command == "exit_without_close":
        exit_without_close(args[0])
    elif command == "hold":
        hold(args[0], args[1])
    else:
        raise SystemExit(f"unknown command {command!r}")
