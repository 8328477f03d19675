"""Retention: by age, by row count, per level, in bounded steps; the file stops growing."""

import os
import time

import apsw

from observabilipy import Engine, LogEntry, Retention, SQLiteMetricsStorage
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
from observabilipy.runtime.retention import apply


def filled(path, entries: list[LogEntry]) -> SQLiteLogStorage:
    storage = SQLiteLogStorage(str(path))
    storage.write_many(entries)
    return storage


def test_age_rule_deletes_older_entries_only(tmp_path):
    """max_age removes entries older than now - max_age and keeps the rest."""
    now = 1_000_000.0
    storage = filled(
        tmp_path / "a.db", [LogEntry(now - age, "info", str(age)) for age in (500, 50, 5)]
    )
    assert apply(storage.connection, Retention(max_age=100), now) == 1
    assert [e.message for e in storage.read()] == ["50", "5"]


def test_per_level_rule_touches_only_that_level(tmp_path):
    """max_age_by_level={"debug": 60} ages out old debug entries, not old errors."""
    now = 1_000_000.0
    storage = filled(
        tmp_path / "l.db",
        [
            LogEntry(now - 600, "debug", "old debug"),
            LogEntry(now - 600, "error", "old error"),
            LogEntry(now - 5, "debug", "new debug"),
        ],
    )
    apply(storage.connection, Retention(max_age_by_level={"DEBUG": 60}), now)
    assert [e.message for e in storage.read()] == ["old error", "new debug"]


def test_row_rule_keeps_the_newest_rows_in_bounded_steps(tmp_path):
    """max_rows=1000 over 25,000 rows deletes 24,000, at most step_rows per transaction."""
    storage = filled(tmp_path / "r.db", [LogEntry(float(i), "info", str(i)) for i in range(25_000)])
    retention = Retention(max_rows=1000, step_rows=5000, budget=10)
    assert apply(storage.connection, retention, time.time()) == 24_000
    rows = storage.query()
    assert len(rows) == 1000
    assert rows[0][3] == "24000"
    assert storage.last_id() == 25_000  # cursors keep growing after deletes


def test_a_spent_budget_leaves_the_rest_for_the_next_run(tmp_path):
    """A tiny time budget stops after a step; later runs finish the job."""
    storage = filled(tmp_path / "b.db", [LogEntry(float(i), "info", "m") for i in range(20_000)])
    retention = Retention(max_rows=10, step_rows=1000, budget=1e-9)
    first = apply(storage.connection, retention, time.time())
    assert 0 < first < 19_990
    while apply(storage.connection, retention, time.time()):
        pass
    assert len(storage.query()) == 10


def test_ids_never_restart_after_everything_is_deleted(tmp_path):
    """Even when retention empties the table, the next entry gets a larger id."""
    storage = filled(tmp_path / "e.db", [LogEntry(1.0, "info", "old")])
    apply(storage.connection, Retention(max_age=1), 1_000_000.0)
    assert storage.query() == []
    storage.write(LogEntry(1_000_000.0, "info", "new"))
    assert storage.query()[0][0] == 2


def test_file_stops_growing_under_steady_load(tmp_path):
    """Writing 20 rounds of 5,000 entries with max_rows=5,000: the file size levels off."""
    path = tmp_path / "steady.db"
    sizes = []
    with Engine(path, retention=Retention(max_rows=5000, interval=3600, budget=10)) as engine:
        log = engine.logger()
        for round_ in range(20):
            for i in range(5000):
                log.info("steady state payload " * 4, round=round_, i=i)
            assert engine.flush()
            with engine.logs.lock:
                apply(engine.logs.connection, engine.retention, time.time())
                engine.logs.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            sizes.append(os.path.getsize(path))
        assert len(engine.read_logs()) == 5000
    assert max(sizes[10:]) <= sizes[4] * 1.1, sizes


def test_history_is_readable_as_metric_samples(tmp_path):
    """Snapshots kept as history come back through the metrics port, oldest first."""
    path = tmp_path / "h.db"
    with Engine(path, history_interval=0.05) as engine:
        counter = engine.counter("ticks_total", "Ticks")
        for _ in range(3):
            counter.inc()
            time.sleep(0.1)
            engine.flush()
    samples = [s for s in SQLiteMetricsStorage(str(path)).read() if s.name == "ticks_total"]
    assert len(samples) >= 2
    values = [s.value for s in samples]
    assert values == sorted(values)
    assert values[-1] == 3
    connection = apsw.Connection(str(path))
    assert connection.execute("SELECT count(*) FROM processes WHERE exited = 0").fetchall() == [
        (0,)
    ]


def test_the_wal_stays_bounded_under_steady_writes(tmp_path):
    """Writing ~35 MB of WAL frames, the WAL file restarts instead of growing past ~16 MB."""
    path = tmp_path / "wal.db"
    wal = tmp_path / "wal.db-wal"
    sizes = []
    with Engine(path) as engine:
        log = engine.logger()
        for round_ in range(16):
            for i in range(30_000):
                log.info("steady", round=round_, i=i)
            assert engine.flush()
            sizes.append(wal.stat().st_size)
    assert max(sizes) < 24 * 1024 * 1024, sizes  # 4,000 pages (16 MiB) plus a batch
    # Every frame passed through the WAL, yet it never held more than a part of them.
    assert path.stat().st_size > 1.5 * max(sizes), (path.stat().st_size, sizes)
