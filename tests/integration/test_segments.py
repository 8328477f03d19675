"""The log table in segments, on real files: reads across segment boundaries while
segments are dropped, time filters, the migration from schema 2, and a kill -9 in the
middle of a drop."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import apsw
import orjson

from observabilipy import Engine, LogEntry, Retention, SQLiteMetricsStorage
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
from observabilipy.adapters.storage.sqlite_schema import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    apply_migration,
)
from observabilipy.core.encoding.prometheus import encode_text
from observabilipy.runtime.retention import apply
from tests.integration.test_log_spans import UNSPANNED


def test_cursor_reads_see_every_surviving_row_once_while_segments_are_dropped(tmp_path):
    """A reader following the cursor while a writer fills small segments and retention
    drops them under it: ids only grow (no repeat), and every row it passed that still
    exists was read (no gap)."""
    path = str(tmp_path / "c.db")
    retention = Retention(max_rows=2000)
    writer = SQLiteLogStorage(path, segmenting=retention.segmenting)
    reader = SQLiteLogStorage(path)
    done = threading.Event()

    def write() -> None:
        for batch in range(300):
            writer.write_many(LogEntry(float(batch), "info", f"{batch}.{i}") for i in range(100))
            if batch % 5 == 0:
                with writer.lock:
                    apply(writer.connection, retention, time.time())
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    seen: list[int] = []
    cursor = 0
    while True:
        finished = done.is_set()
        chunk = reader.read_ndjson(after=cursor, limit=700)
        seen += [orjson.loads(line)["id"] for line in chunk.body.splitlines()]
        cursor = chunk.cursor or cursor
        if finished and not chunk.rows:
            break
    thread.join()
    assert seen == sorted(set(seen))
    assert seen[-1] == 30_000
    surviving = [row[0] for row in reader.query()]
    assert set(surviving) <= set(seen)
    assert len(segments.segments(writer.connection)) <= 4  # rule + one segment + current


def test_time_filters_across_segments_match_a_plain_scan(tmp_path):
    """since/until over segments holding shuffled and back-dated timestamps give the same
    rows as filtering every row by hand, in id order."""
    rng = random.Random(7)
    storage = SQLiteLogStorage(str(tmp_path / "t.db"), segmenting=segments.Segmenting(rows=50))
    entries = [LogEntry(i + rng.uniform(-30, 30), "info", str(i)) for i in range(1000)]
    entries[900] = LogEntry(5.0, "info", "back-dated")  # an old time in a new segment
    for start in range(0, 1000, 37):
        storage.write_many(entries[start : start + 37])
    assert len(segments.segments(storage.connection)) == 20
    everything = storage.query()
    for since, until in [(0, None), (100, 200), (500, None), (990, None), (2000, None), (4, 6)]:
        expected = [
            row for row in everything if row[1] >= since and (until is None or row[1] < until)
        ]
        assert storage.query(since=since, until=until) == expected
        chunk = storage.read_ndjson(since=since, until=until, limit=10_000)
        assert [orjson.loads(line)["id"] for line in chunk.body.splitlines()] == [
            row[0] for row in expected
        ]


def version_2_file(path) -> None:
    """A file as schema 2 left it: logs (one deleted: the sequence is ahead of the
    rows), the metrics of a retired process, and history."""
    now = time.time()
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA page_size=16384; PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("PRAGMA journal_mode=WAL")
    with connection:
        apply_migration(connection, 0)
        apply_migration(connection, 1)
        connection.execute(f"PRAGMA user_version=2; PRAGMA application_id={APPLICATION_ID}")
    with connection:
        connection.execute(
            "INSERT INTO logs (ts, level, logger, message, attributes) VALUES "
            "(100.0, 20, 'app', 'first', '{\"k\":1}'), (101.0, 40, 'app', 'second', '{}'), "
            "(102.0, 10, 'app', 'gone', '{}')"
        )
        connection.execute("DELETE FROM logs WHERE id = 3")
        connection.execute(
            "INSERT INTO metric_families VALUES ('jobs', 'counter', 'Jobs done', 'sum')"
        )
        connection.execute(
            "INSERT INTO metric_state VALUES (0, 'jobs', 'jobs_total', '[]', 41.0, 100.0)"
        )
        connection.execute(
            "INSERT INTO metric_history VALUES (?1 - 120, 'jobs_total', '{}', 40.0, 0), "
            "(?1 - 60, 'jobs_total', '{}', 41.0, 0)",
            (now,),
        )
    connection.close()


def test_a_version_2_file_migrates_with_logs_metrics_and_history_kept(tmp_path):
    """On first open: every log row with its id, the stored counter total, the history;
    new rows go into a segment of their own, so the old rows can be dropped whole."""
    path = tmp_path / "v2.db"
    version_2_file(path)
    with Engine(path) as engine:
        jobs = engine.counter("jobs_total", "Jobs done")
        jobs.inc()
        engine.logger("app").info("third")
        assert engine.flush()
        rows = engine.read_logs()
        text = engine.logs.connection.execute("PRAGMA user_version").fetchall()
        assert [(r.id, r.message) for r in rows] == [(1, "first"), (2, "second"), (4, "third")]
        assert rows[0].attributes == {"k": 1}
        assert text == [(SCHEMA_VERSION,)]
        numbers = [s.number for s in segments.segments(engine.logs.connection)]
        assert numbers == [1, 2]
        assert b"jobs_total 42" in encode_text(engine.collect())
    history = [s.value for s in SQLiteMetricsStorage(str(path)).read() if s.name == "jobs_total"]
    assert history[:2] == [40.0, 41.0]
    storage = SQLiteLogStorage(str(path))
    removed = apply(storage.connection, Retention(max_age=1000), time.time())
    assert (removed.rows, removed.segments) == (2, 1)
    assert [row[3] for row in storage.query()] == ["third"]
    assert storage.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


_DROPPER = textwrap.dedent(
    """
    import sys, time
    from observabilipy import LogEntry, Retention
    from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
    from observabilipy.runtime.retention import apply

    retention = Retention(max_rows=1000, budget=60)
    storage = SQLiteLogStorage(sys.argv[1], segmenting=retention.segmenting)
    payload = "x" * 400
    for start in range(0, 40_000, 1000):
        storage.write_many(LogEntry(float(i), "info", payload) for i in range(start, start + 1000))
    print("ready", flush=True)
    while True:
        with storage.lock:
            apply(storage.connection, retention, time.time())
        storage.write_many(LogEntry(time.time(), "info", payload) for _ in range(1000))
    """
)


def kill_9(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


def test_a_kill_9_in_the_middle_of_segment_drops_leaves_a_sound_file(tmp_path):
    """SIGKILL at moments spread over a process dropping and refilling segments: each
    time the file opens, passes integrity_check, and takes new rows with higher ids."""
    for attempt, delay in enumerate((0.0, 0.05, 0.13, 0.31)):
        path = str(tmp_path / f"k{attempt}.db")
        process = subprocess.Popen(
            [sys.executable, "-c", _DROPPER, path], stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            time.sleep(delay)
        finally:
            kill_9(process)
        connection = apsw.Connection(path)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.close()
        storage = SQLiteLogStorage(path)
        before = storage.last_id()
        storage.write(LogEntry(1.0, "info", "after"))
        assert storage.query(after=before)[0][3] == "after"
        tables = {
            name
            for (name,) in storage.connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'logs_seg_%'"
            )
        }
        listed = {segments.table(s.number) for s in segments.segments(storage.connection)}
        assert tables == listed
        assert storage.connection.execute(UNSPANNED).fetchall() == [(0,)]
        storage.close()


def test_a_new_file_starts_with_a_segment_of_the_current_form(tmp_path):
    """A new file's first segment is made as later segments are: the log table that
    earlier versions began with checked levels with `IN (...)`, which SQLite builds as
    a table for every row inserted (an insert into it cost about half as much again),
    and counted ids with AUTOINCREMENT, which no segment needs (log_state gives ids)."""
    reference = apsw.Connection(":memory:")
    reference.execute(segments.SEGMENT_DDL.format(n=1))
    storage = SQLiteLogStorage(str(tmp_path / "new.db"))
    schema = "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = 'logs_seg_1' ORDER BY name"
    assert storage.connection.execute(schema).fetchall() == reference.execute(schema).fetchall()
    storage.write_many([LogEntry(1.0, "info", "first"), LogEntry(2.0, "error", "second")])
    assert [(row[0], row[3]) for row in storage.query()] == [(1, "first"), (2, "second")]
    assert storage.query(level="error")[0][3] == "second"
    assert storage.connection.execute(UNSPANNED).fetchall() == [(0,)]


_CREATOR = textwrap.dedent(
    """
    import sys
    from observabilipy import LogEntry
    from observabilipy.adapters.storage.sqlite import SQLiteLogStorage

    for n in range(1_000_000):
        storage = SQLiteLogStorage(f"{sys.argv[1]}/new{n}.db")
        storage.write(LogEntry(1.0, "info", "first"))
        storage.close()
        print(n, flush=True)
    """
)


def test_a_kill_9_while_new_files_are_made_leaves_each_usable(tmp_path):
    """SIGKILL while a process makes new files one after another (the migrations that
    give a new file its segment of today's form included): every file left opens,
    passes integrity_check, has that segment and takes rows."""
    reference = apsw.Connection(":memory:")
    reference.execute(segments.SEGMENT_DDL.format(n=1))
    schema = "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = 'logs_seg_1' ORDER BY name"
    for attempt, delay in enumerate((0.0, 0.02, 0.07, 0.15)):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-c", _CREATOR, str(folder)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout is not None
            process.stdout.readline()  # one file made: the next is being made
            time.sleep(delay)
        finally:
            kill_9(process)
        for path in sorted(folder.glob("new*.db")):
            storage = SQLiteLogStorage(str(path))
            connection = storage.connection
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute(schema).fetchall() == reference.execute(schema).fetchall()
            before = storage.last_id()
            storage.write(LogEntry(2.0, "info", "after"))
            assert [row[3] for row in storage.query(after=before)] == ["after"]
            storage.close()
