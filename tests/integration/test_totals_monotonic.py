"""Totals that never step back, whichever process a scrape goes through.

Two engines on one file are two processes to it (each has its own row and values),
so one test process can play several workers, deterministically.
"""

import random
import threading
import time

import apsw

import observabilipy as obs
from tests.integration.engine_worker import holding


def total(engine: obs.Engine, name: str = "jobs") -> float:
    [family] = [f for f in engine.collect() if f.name == name]
    return sum(value for _, _, value in family.samples)


def test_alternating_scrapes_never_see_a_counter_step_back(tmp_path):
    """The issue's case: each worker shows its live count plus the others' last
    snapshot, and scrapes through alternating workers read 198 then 171. Now every
    scrape writes its own values first: never lower than the scrape before, and exact
    at the end."""
    path = tmp_path / "shared.db"
    rng = random.Random(7)
    with (
        obs.Engine(path, snapshot_interval=3600) as a,
        obs.Engine(path, snapshot_interval=3600) as b,
        obs.Engine(path, snapshot_interval=3600) as c,
    ):
        workers = [a, b, c]
        counters = [w.counter("jobs_total", "Jobs", labels=["kind"]) for w in workers]
        done = 0
        seen = 0.0
        for _ in range(300):
            i = rng.randrange(3)
            step = rng.randrange(1, 20)
            counters[i].labels("mail").inc(step)
            done += step
            shown = total(workers[rng.randrange(3)])
            assert shown >= seen, f"stepped back from {seen} to {shown}"
            seen = shown
        for worker in workers:  # each writes its snapshot, as it does every few seconds
            assert worker.flush(10)
        assert all(total(w) == done for w in workers)


def test_histogram_counts_never_step_back_either(tmp_path):
    """The same for a histogram's count and buckets, series by series."""
    path = tmp_path / "shared.db"
    with (
        obs.Engine(path, snapshot_interval=3600) as a,
        obs.Engine(path, snapshot_interval=3600) as b,
    ):
        histograms = [w.histogram("latency_seconds", "Latency", buckets=[0.1, 1]) for w in (a, b)]
        previous: dict[tuple, float] = {}
        for round_ in range(100):
            histograms[round_ % 2].observe(0.05 * (round_ % 30))
            [family] = [f for f in (a, b)[round_ % 3 % 2].collect() if f.name == "latency_seconds"]
            for sample, labels, value in family.samples:
                if sample.endswith("_sum"):
                    continue
                assert value >= previous.get((sample, labels), 0.0)
                previous[(sample, labels)] = value
        assert a.flush(10)
        assert b.flush(10)
        [family] = [f for f in a.collect() if f.name == "latency_seconds"]
        assert ("latency_seconds_count", (), 100.0) in family.samples


def test_a_scrape_while_the_file_is_held_waits_briefly_and_shows_stored_values(tmp_path):
    """Another process holds the write lock: the scrape waits about 100 ms, not the
    busy timeout, and shows what the file holds, no less than the last scrape."""
    path = tmp_path / "held.db"
    with obs.Engine(path, snapshot_interval=3600) as engine:
        assert engine.flush(10)  # the start-up snapshot is behind us
        counter = engine.counter("jobs_total", "Jobs")
        counter.inc(5)
        assert total(engine) == 5  # written by this scrape
        counter.inc(3)
        with holding(path, 10):
            start = time.monotonic()
            shown = total(engine)
            took = time.monotonic() - start
        assert shown == 5  # the file's value: never more than it holds
        assert took < 2
        assert total(engine) == 8


def test_a_scrape_with_nothing_new_writes_nothing_and_reads_the_others_latest(tmp_path):
    """A scrape through a process whose values stand still commits nothing (the file's
    ``data_version``, seen from another connection, stays put), so it reads without the
    write lock even while another process holds it, and still shows the others' newest
    values; once a value moves, the next scrape writes it first."""
    path = tmp_path / "still.db"
    with (
        obs.Engine(path, snapshot_interval=3600) as a,
        obs.Engine(path, snapshot_interval=3600) as b,
    ):
        assert a.flush(10)  # the start-up snapshots are behind us
        assert b.flush(10)
        jobs_a, jobs_b = (w.counter("jobs_total", "Jobs") for w in (a, b))
        jobs_a.inc(5)
        assert total(a) == 5
        observer = apsw.Connection(str(path))

        def version() -> int:
            return int(observer.execute("PRAGMA data_version").get)

        before = version()
        assert total(a) == 5
        assert version() == before  # nothing to write: nothing committed
        jobs_b.inc(2)
        assert total(b) == 7  # b's scrape writes its value first
        after_b = version()
        assert after_b != before
        with holding(path, 10):
            assert total(a) == 7  # the others' latest, read under another's lock
        assert version() == after_b
        jobs_a.inc()
        assert total(a) == 8
        assert version() != after_b
        observer.close()


def test_a_snapshot_racing_a_scrape_is_never_counted_twice(tmp_path):
    """The first snapshot (which registers the process) is made to fall in the middle of
    a scrape: the scrape holds the metrics lock, so the snapshot waits, and 50
    increments read 50, never 100 (the issue saw 100 once under load)."""
    with obs.Engine(tmp_path / "race.db", snapshot_interval=3600) as engine:
        counter = engine.counter("jobs_total", "Jobs")
        for _ in range(50):
            counter.inc()
        flushed = threading.Event()
        calls: list[int] = []

        def flush() -> None:
            if engine.flush(10):
                flushed.set()

        def collector() -> list:
            if not calls:  # the first scrape: let a snapshot try to run right now
                calls.append(1)
                threading.Thread(target=flush).start()
                time.sleep(0.5)
            return []

        engine.registry.add_collector(collector)
        assert total(engine) == 50
        assert flushed.wait(10)
        assert total(engine) == 50
    with obs.Engine(tmp_path / "race.db") as later:  # another process agrees
        assert total(later) == 50


def test_retired_totals_keep_the_series_limit_and_every_count(tmp_path):
    """Exited processes fold into the retired totals; label sets past max_series there
    fold into the overflow series, so the file's scrape follows live series, not every
    label set ever seen, and no count is lost."""
    path = tmp_path / "retired.db"
    for worker in range(3):  # three processes that came and went, four users each
        with obs.Engine(path) as gone:
            logins = gone.counter("logins_total", "Logins", labels=["user"])
            latency = gone.histogram("latency_seconds", "Latency", labels=["user"], buckets=[1])
            for user in range(4):
                logins.labels(f"u{worker}-{user}").inc(user + 1)
                latency.labels(f"u{worker}-{user}").observe(0.5)
    retention = obs.Retention(interval=0.1)
    with obs.Engine(path, max_series=5, retention=retention) as live:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            families = {f.name: f for f in live.collect()}
            logins_series = families["logins"].samples
            if len(logins_series) == 6:
                break
            time.sleep(0.2)
        assert len(logins_series) == 6  # five kept, one overflow
        assert sum(value for _, _, value in logins_series) == 3 * (1 + 2 + 3 + 4)
        counts = [s for s in families["latency_seconds"].samples if s[0].endswith("_count")]
        assert len(counts) == 6
        assert sum(value for _, _, value in counts) == 12
        overflow = [s for s in counts if s[1] == (("otel_metric_overflow", "true"),)]
        assert overflow[0][2] == 7
