"""Retention: whole segments dropped by age and row count, per-level rows deleted in
bounded steps, its figures reported; the file stops growing."""

import os
import time

import apsw

from observabilipy import Engine, LogEntry, Retention, SQLiteMetricsStorage
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
from observabilipy.core.registry import Registry
from observabilipy.runtime.retention import RetentionRuns, apply


def in_segments(path, groups: list[list[LogEntry]], rows: int = 1000) -> SQLiteLogStorage:
    """A storage whose groups of entries land in segments of their own (each group at
    most ``rows`` long)."""
    storage = SQLiteLogStorage(str(path), segmenting=segments.Segmenting(rows=rows))
    for group in groups:
        with storage.lock, storage.connection:
            number = segments.current(storage.connection).number
            segments.add_segment(
                storage.connection,
                number + 1,
                segments.last_id(storage.connection) + 1,
                time.time(),
            )
        storage.write_many(group)
    return storage


def segment_numbers(storage: SQLiteLogStorage) -> list[int]:
    return [segment.number for segment in segments.segments(storage.connection)]


def test_age_rule_drops_a_segment_once_its_newest_row_is_too_old(tmp_path):
    """max_age=100: the segment of rows 500 and 400 s old goes whole; the one holding a
    row 50 s old stays whole, its 300 s old row too (a segment is the unit)."""
    now = 1_000_000.0
    storage = in_segments(
        tmp_path / "a.db",
        [
            [LogEntry(now - 500, "info", "500"), LogEntry(now - 400, "info", "400")],
            [LogEntry(now - 300, "info", "300"), LogEntry(now - 50, "info", "50")],
            [LogEntry(now - 5, "info", "5")],
        ],
    )
    removed = apply(storage.connection, Retention(max_age=100), now)
    assert (removed.rows, removed.segments) == (2, 2)  # the empty first segment went too
    assert [e.message for e in storage.read()] == ["300", "50", "5"]
    assert apply(storage.connection, Retention(max_age=100), now).rows == 0


def test_per_level_rule_touches_only_that_level(tmp_path):
    """max_age_by_level={"debug": 60} ages out old debug entries, not old errors, in
    every segment."""
    now = 1_000_000.0
    storage = in_segments(
        tmp_path / "l.db",
        [
            [LogEntry(now - 600, "debug", "old debug"), LogEntry(now - 600, "error", "old error")],
            [LogEntry(now - 500, "debug", "older debug"), LogEntry(now - 5, "debug", "new debug")],
        ],
    )
    removed = apply(storage.connection, Retention(max_age_by_level={"DEBUG": 60}), now)
    assert removed.rows == 2
    assert [e.message for e in storage.read()] == ["old error", "new debug"]


def test_row_rule_drops_whole_segments_beyond_the_newest_rows(tmp_path):
    """max_rows=4000 sizes segments at 1000 ids; of 25 full segments, the 21 whose
    every row is beyond the newest 4000 go, each whole, and their pages are counted."""
    retention = Retention(max_rows=4000, budget=10)
    assert retention.segmenting.rows == 1000
    storage = SQLiteLogStorage(str(tmp_path / "r.db"), segmenting=retention.segmenting)
    for start in range(0, 25_000, 1000):
        storage.write_many(LogEntry(float(i), "info", str(i)) for i in range(start, start + 1000))
    assert len(segment_numbers(storage)) == 25
    removed = apply(storage.connection, retention, time.time())
    assert (removed.rows, removed.segments, removed.behind) == (21_000, 21, 0)
    assert removed.bytes > 21_000 * 20  # every row's text, at the least
    rows = storage.query()
    assert (len(rows), rows[0][3]) == (4000, "21000")
    assert storage.last_id() == 25_000  # cursors keep growing after drops


def test_a_spent_budget_leaves_the_rest_for_the_next_run(tmp_path):
    """A tiny time budget still drops one segment a run, says how many are left, and
    later runs finish the job."""
    retention = Retention(max_rows=1000, budget=1e-9)
    storage = SQLiteLogStorage(str(tmp_path / "b.db"), segmenting=retention.segmenting)
    for start in range(0, 20_000, 1000):
        storage.write_many(LogEntry(float(i), "info", "m") for i in range(start, start + 1000))
    first = apply(storage.connection, retention, time.time())
    assert (first.segments, first.behind) == (1, 18)
    while apply(storage.connection, retention, time.time()).segments:
        pass
    assert len(storage.query()) == 1000


def test_ids_never_restart_after_everything_is_dropped(tmp_path):
    """When every row is too old, even the segment being written goes (an empty one
    takes its place) and the next entry still gets a larger id."""
    storage = SQLiteLogStorage(str(tmp_path / "e.db"))
    storage.write_many([LogEntry(1.0, "info", "old"), LogEntry(2.0, "info", "old")])
    assert apply(storage.connection, Retention(max_age=1), 1_000_000.0).rows == 2
    assert storage.query() == []
    storage.write(LogEntry(1_000_000.0, "info", "new"))
    assert storage.query()[0][0] == 3


def test_health_says_503_while_retention_falls_behind_not_when_catching_up(tmp_path):
    """Retention that ends its run with segments still beyond the rule, no fewer than
    before, is a problem /healthz names; one that is catching up is not."""
    retention = Retention(max_rows=1000, budget=1e-9)
    storage = SQLiteLogStorage(str(tmp_path / "h.db"), segmenting=retention.segmenting)
    for start in range(0, 10_000, 1000):
        storage.write_many(LogEntry(float(i), "info", "m") for i in range(start, start + 1000))
    registry = Registry()
    runs = RetentionRuns(retention, registry)
    assert runs.problems() == []
    runs.drop(storage.connection)  # 8 beyond the rule, up from none
    assert "8 log segments beyond the rules" in " ".join(runs.problems())
    runs.drop(storage.connection)  # 7: coming down
    assert runs.problems() == []
    values = {name: value for family in registry.collect() for name, _, value in family.samples}
    assert values["observabilipy_retention_rows_removed_total"] == 2000
    assert values["observabilipy_retention_segments_dropped_total"] == 2
    assert values["observabilipy_retention_segments_behind"] == 7
    assert values["observabilipy_retention_bytes_removed_total"] > 0


def test_file_stops_growing_under_steady_load(tmp_path):
    """Writing 20 rounds of 5,000 entries with max_rows=5,000: rows held stay within the
    rule plus a segment, and the file size levels off."""
    path = tmp_path / "steady.db"
    sizes = []
    retention = Retention(max_rows=5000, budget=10)
    with Engine(path, retention=retention) as engine:
        log = engine.logger()
        for round_ in range(20):
            for i in range(5000):
                log.info("steady state payload " * 4, round=round_, i=i)
            assert engine.flush()
            with engine.logs.lock:
                apply(engine.logs.connection, engine.retention, time.time())
                engine.logs.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            sizes.append(os.path.getsize(path))
            held = len(engine.read_logs())
            assert 5000 <= held <= 5000 + retention.segmenting.rows, held
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
    """Writing ~40 MB of WAL frames, the WAL file restarts instead of growing past ~16 MB."""
    path = tmp_path / "wal.db"
    wal = tmp_path / "wal.db-wal"
    sizes = []
    with Engine(path) as engine:
        log = engine.logger()
        for round_ in range(24):
            for i in range(30_000):
                log.info("steady", round=round_, i=i)
            assert engine.flush()
            sizes.append(wal.stat().st_size)
    assert max(sizes) < 24 * 1024 * 1024, sizes  # 4,000 pages (16 MiB) plus a batch
    # Every frame passed through the WAL, yet it never held more than a part of them.
    assert path.stat().st_size > 1.5 * max(sizes), (path.stat().st_size, sizes)
