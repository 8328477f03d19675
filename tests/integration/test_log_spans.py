"""Time bounds without an index on every row: the spans of ids that each write records
(``sqlite_segments.record_span``), on real files. Every way rows come in or go out
keeps each row inside a span holding its time, so time filters and retention find the
same rows a scan of every row would."""

import gzip
import random
import shutil
from bisect import bisect_right
from pathlib import Path
from typing import Any

import apsw
import orjson

from observabilipy import Engine, LogEntry, Retention
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage, load_sqlite_extension
from observabilipy.adapters.storage.sqlite_insert import insert_entries
from observabilipy.adapters.storage.sqlite_schema import SCHEMA_VERSION
from observabilipy.adapters.storage.sqlite_spans import SPAN_IDS
from observabilipy.runtime.retention import apply

VERSION_5 = Path(__file__).parents[1] / "vectors" / "files" / "schema5.db.gz"
#: Rows no span holds with their time (reads by time would miss them): none, ever.
UNSPANNED = """
    SELECT count(*) FROM logs WHERE NOT EXISTS (SELECT 1 FROM log_spans
        WHERE logs.id BETWEEN first_id AND last_id AND logs.ts BETWEEN min_ts AND max_ts)
"""
BOUNDS = [(None, None), (0, None), (1000, 1100), (1300, None), (None, 1005), (4, 6), (9e9, None)]


def version_5_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    with gzip.open(VERSION_5) as packed, path.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    return path


def spans(connection: apsw.Connection) -> list[Any]:
    return connection.execute(
        "SELECT first_id, last_id, min_ts, max_ts FROM log_spans ORDER BY first_id"
    ).fetchall()


def assert_spans_hold_every_row(connection: apsw.Connection) -> None:
    """Each row lies in a span whose times hold its own; spans do not overlap and stay
    within one segment each."""
    found = spans(connection)
    starts = [first for first, *_ in found]
    for (_, last, _, _), following in zip(found, starts[1:], strict=False):
        assert last < following
    for row_id, ts in connection.execute("SELECT id, ts FROM logs"):
        index = bisect_right(starts, row_id) - 1
        assert index >= 0, f"row {row_id} before every span"
        first, last, low, high = found[index]
        assert first <= row_id <= last, (row_id, found[index])
        assert low <= ts <= high, (row_id, ts, found[index])
    firsts = [segment.first_id for segment in segments.segments(connection)]
    for first, last, _, _ in found:
        assert bisect_right(firsts, first) == bisect_right(firsts, last), (first, last)


def assert_time_filters_match_a_scan(storage: SQLiteLogStorage) -> None:
    everything = storage.query()
    for since, until in BOUNDS:
        expected = [
            row
            for row in everything
            if (since is None or row[1] >= since) and (until is None or row[1] < until)
        ]
        assert storage.query(since=since, until=until) == expected, (since, until)
        chunk = storage.read_ndjson(since=since, until=until, limit=10_000)
        assert [orjson.loads(line)["id"] for line in chunk.body.splitlines()] == [
            row[0] for row in expected
        ], (since, until)


def test_new_segments_keep_no_index_on_timestamps(tmp_path):
    storage = SQLiteLogStorage(str(tmp_path / "n.db"), segmenting=segments.Segmenting(rows=10))
    storage.write_many(LogEntry(float(i), "info", str(i)) for i in range(25))
    assert len(segments.segments(storage.connection)) == 3
    indexed = storage.connection.execute(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%(ts)%' "
        "AND tbl_name LIKE 'logs_seg_%'"
    ).fetchall()
    assert indexed == []
    assert_spans_hold_every_row(storage.connection)


def test_slow_writers_widen_a_span_instead_of_adding_one_per_write(tmp_path):
    """One row per write, as a quiet service writes: spans of up to SPAN_IDS ids, not a
    span per row."""
    storage = SQLiteLogStorage(str(tmp_path / "s.db"))
    rows = 2 * SPAN_IDS + 5
    for i in range(rows):
        storage.write(LogEntry(float(i), "info", "tick"))
    found = spans(storage.connection)
    assert [(first, last) for first, last, _, _ in found] == [
        (1, SPAN_IDS),
        (SPAN_IDS + 1, 2 * SPAN_IDS),
        (2 * SPAN_IDS + 1, rows),
    ]
    assert found[0][2:] == (0.0, float(SPAN_IDS - 1))
    assert_spans_hold_every_row(storage.connection)


def test_every_way_in_and_out_keeps_rows_inside_their_spans(tmp_path):
    """Batches with shuffled and back-dated times (some entries rejected), rows another
    tool inserts through the ``logs`` view, per-level deletes and whole segments
    dropped: after each step every row is in its span and time filters find what a
    scan finds."""
    rng = random.Random(11)
    retention = Retention(max_rows=600, max_age_by_level={"debug": 400})
    storage = SQLiteLogStorage(str(tmp_path / "w.db"), segmenting=segments.Segmenting(rows=150))
    other = apsw.Connection(str(tmp_path / "w.db"))
    clock = 1000.0
    for _ in range(40):
        action = rng.choice(["batch", "batch", "tool", "retention"])
        if action == "batch":
            entries = [
                LogEntry(clock + rng.uniform(-50, 50), rng.choice(["debug", "info", "error"]), "m")
                for _ in range(rng.randint(1, 90))
            ]
            if rng.random() < 0.3:
                entries.append(LogEntry(3.0, "info", "back-dated"))
            with storage.lock, storage.connection:
                entries.insert(rng.randrange(len(entries)), LogEntry(1e20, "info", "rejected"))
                insert_entries(storage.connection, entries, segmenting=storage.segmenting)
            clock += 20
        elif action == "tool":
            with other:
                other.execute(
                    "INSERT INTO logs (ts, level, logger, message, attributes) "
                    "VALUES (?, 40, 'tool', 'by hand', '{}')",
                    (clock + rng.uniform(-500, 10),),
                )
        else:
            with storage.lock:
                apply(storage.connection, retention, clock)
        assert_spans_hold_every_row(storage.connection)
        assert_time_filters_match_a_scan(storage)
    other.close()


def test_retention_by_age_drops_a_segment_once_its_spans_are_old(tmp_path):
    storage = SQLiteLogStorage(str(tmp_path / "r.db"), segmenting=segments.Segmenting(rows=100))
    storage.write_many(LogEntry(1000.0 + i, "info", "m") for i in range(250))
    removed = apply(storage.connection, Retention(max_age=60), 1000.0 + 160)
    assert (removed.rows, removed.segments) == (100, 1)
    assert storage.query()[0][0] == 101
    assert spans(storage.connection)[0][0] == 101
    assert_spans_hold_every_row(storage.connection)


def test_a_segment_emptied_by_per_level_rules_is_dropped(tmp_path):
    storage = SQLiteLogStorage(str(tmp_path / "e.db"), segmenting=segments.Segmenting(rows=50))
    storage.write_many(LogEntry(1000.0 + i, "debug", "m") for i in range(50))
    storage.write_many(LogEntry(2000.0 + i, "info", "m") for i in range(50))
    retention = Retention(max_age_by_level={"debug": 10})
    assert apply(storage.connection, retention, 2100.0).rows == 50
    assert apply(storage.connection, retention, 2100.0).segments == 1  # empty, not newest
    assert [segment.first_id for segment in segments.segments(storage.connection)] == [51]


def test_a_version_5_file_migrates_with_rows_ids_and_totals_kept(tmp_path):
    path = version_5_file(tmp_path)
    before = apsw.Connection(str(path))
    rows = before.execute("SELECT * FROM logs ORDER BY id").fetchall()
    before.close()
    assert len(rows) == 452
    with Engine(path) as engine:
        connection = engine.logs.connection
        assert connection.execute("PRAGMA user_version").fetchall() == [(SCHEMA_VERSION,)]
        assert connection.execute("SELECT * FROM logs ORDER BY id").fetchall() == rows
        assert_spans_hold_every_row(connection)
        assert (
            connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%(ts)%' "
                "AND tbl_name LIKE 'logs_seg_%'"
            ).fetchall()
            == []
        )
        assert_time_filters_match_a_scan(engine.logs)
        totals = {
            (sample, labels): value
            for family in engine.collect()
            if family.name == "jobs"
            for sample, labels, value in family.samples
        }
        assert totals == {
            ("jobs_total", (("queue", "mail"),)): 3.0,
            ("jobs_total", (("queue", "sms"),)): 2.0,
        }
        engine.logger("app").info("after", k=2)
        assert engine.flush()
        assert engine.read_logs()[-1].id == 453
        assert_spans_hold_every_row(connection)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_version_5_file_reads_read_only_with_time_filters(tmp_path):
    """The ``logs`` command never migrates: an older file is read as it is."""
    path = version_5_file(tmp_path)
    storage = SQLiteLogStorage(str(path), readonly=True)
    assert storage.connection.execute("PRAGMA user_version").fetchall() == [(5,)]
    assert len(storage.query()) == 452
    assert_time_filters_match_a_scan(storage)


def test_a_read_bounded_by_spans_sees_rows_stored_after_its_bounds(tmp_path):
    """A cursor reader with ``until``: rows stored after one read, with times inside the
    filter, come in the next read."""
    storage = SQLiteLogStorage(str(tmp_path / "f.db"))
    storage.write_many(LogEntry(5000.0 + i, "info", "late") for i in range(10))
    first = storage.read_ndjson(until=100.0)
    assert first.rows == 0
    storage.write_many([LogEntry(50.0, "info", "old")])
    second = storage.read_ndjson(after=first.cursor, until=100.0)
    assert [orjson.loads(line)["message"] for line in second.body.splitlines()] == ["old"]


def test_two_writers_taking_turns_each_find_the_segment_the_other_started(tmp_path):
    """Each connection guesses the newest segment from its own last batch; when the other
    writer started a segment meanwhile, the guess stops the batch before its insert and
    the batch goes where it belongs."""
    path = str(tmp_path / "turns.db")
    writers = [SQLiteLogStorage(path, segmenting=segments.Segmenting(rows=20)) for _ in range(2)]
    native = [load_sqlite_extension(storage.connection) for storage in writers]
    for turn in range(30):
        storage = writers[turn % 2]
        batch = [LogEntry(1000.0 + turn, "info", f"{turn}.{i}") for i in range(turn % 7 + 1)]
        with storage.lock, storage.connection:
            stored, rejected = insert_entries(
                storage.connection, batch, segmenting=storage.segmenting, native=native[turn % 2]
            )
        assert (stored, rejected) == (len(batch), [])
    reader = writers[0]
    rows = reader.query()
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    firsts = [segment.first_id for segment in segments.segments(reader.connection)]
    assert len(firsts) > 3
    for segment, end in zip(firsts, [*firsts[1:], len(rows) + 1], strict=True):
        number = segments.segments(reader.connection)[bisect_right(firsts, segment) - 1].number
        held = reader.connection.execute(
            f"SELECT min(id), max(id), count(*) FROM {segments.table(number)}"
        ).fetchall()
        assert held == [(segment, end - 1, end - segment)], number
    assert_spans_hold_every_row(reader.connection)
    assert_time_filters_match_a_scan(reader)
