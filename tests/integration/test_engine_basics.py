"""The engine on a real SQLite file: record, flush, read back, close."""

import json
import time
from typing import Any

import apsw
import pytest

from observabilipy import Engine, Retention, SQLiteLogStorage, StorageError
from observabilipy.adapters.storage.sqlite_schema import SCHEMA_VERSION
from observabilipy.core.encoding.prometheus import encode_text


def test_logged_entries_are_in_the_file_when_flush_returns(tmp_path):
    """log.info then flush(): the rows are in SQLite with every field the contract names."""
    path = tmp_path / "app.db"
    with Engine(path) as engine:
        log = engine.logger("checkout")
        log.info("paid", order_id=7, amount=9.5)
        log.bind(request="r1").warning("slow", seconds=2)
        assert engine.flush()
        offline = SQLiteLogStorage(str(path))
        rows = offline.query()
    assert [(r[2], r[3], r[4], json.loads(r[5])) for r in rows] == [
        ("info", "paid", "checkout", {"order_id": 7, "amount": 9.5}),
        ("warning", "slow", "checkout", {"request": "r1", "seconds": 2}),
    ]
    assert [r[0] for r in rows] == [1, 2]
    assert abs(rows[0][1] - time.time()) < 60


def test_close_flushes_and_the_file_is_wal(tmp_path):
    """Leaving the with block writes everything; the file is in WAL mode with our schema."""
    path = tmp_path / "app.db"
    with Engine(path) as engine:
        for i in range(1000):
            engine.logger().debug("n", i=i)
    connection = apsw.Connection(str(path))
    assert connection.execute("SELECT count(*) FROM logs").fetchall() == [(1000,)]
    assert connection.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    assert connection.execute("PRAGMA user_version").fetchall() == [(SCHEMA_VERSION,)]
    assert connection.execute("PRAGMA auto_vacuum").fetchall() == [(2,)]  # incremental
    assert connection.execute("PRAGMA page_size").fetchall() == [(16384,)]
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_file_made_with_4k_pages_keeps_them(tmp_path):
    """Files from before 16 KiB pages (or made by other tools) are used as they are."""
    path = tmp_path / "old.db"
    connection = apsw.Connection(str(path))
    for statement in ["PRAGMA page_size=4096", "PRAGMA journal_mode=WAL", "CREATE TABLE t(x)"]:
        connection.execute(statement).fetchall()
    connection.execute("DROP TABLE t")
    connection.close()
    with Engine(path) as engine:
        engine.logger("old").info("still written", i=1)
        assert engine.flush()
        assert [row.message for row in engine.read_logs()] == ["still written"]
    connection = apsw.Connection(str(path))
    assert connection.execute("PRAGMA page_size").fetchall() == [(4096,)]
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_memory_engine_works_without_a_file(tmp_path):
    """Engine() keeps logs and metrics in memory, readable through the same API."""
    with Engine() as engine:
        engine.logger("m").error("boom")
        engine.counter("hits_total", "Hits").inc(2)
        assert engine.flush()
        assert [r.message for r in engine.read_logs()] == ["boom"]
        assert b"hits_total 2" in encode_text(engine.collect())
    assert list(tmp_path.iterdir()) == []


def test_queries_filter_by_cursor_time_level_logger_and_limit(tmp_path):
    """after, since/until, minimum level, logger and limit each narrow the rows."""
    with Engine(tmp_path / "app.db") as engine:
        log_a, log_b = engine.logger("a"), engine.logger("b")
        log_a.debug("1")
        log_b.info("2")
        log_a.warning("3")
        log_b.error("4")
        log_a.critical("5")
        engine.flush()
        rows = engine.read_logs()
        messages = lambda **kw: [r.message for r in engine.read_logs(**kw)]  # noqa: E731
        assert messages(after=rows[1].id) == ["3", "4", "5"]
        assert messages(level="warning") == ["3", "4", "5"]
        assert messages(level="ERROR") == ["4", "5"]
        assert messages(level=20) == ["2", "3", "4", "5"]
        assert messages(logger="b") == ["2", "4"]
        assert messages(limit=2) == ["1", "2"]
        assert messages(after=rows[0].id, limit=2, logger="a") == ["3", "5"]
        assert messages(since=rows[2].timestamp) == ["3", "4", "5"]
        assert messages(until=rows[2].timestamp) == ["1", "2"]
        with pytest.raises(ValueError, match="loud"):
            engine.read_logs(level="loud")


def test_large_reads_come_in_chunks_in_order(tmp_path):
    """iter_rows pages through 12,000 rows by cursor without skipping or repeating."""
    with Engine(tmp_path / "app.db") as engine:
        log = engine.logger()
        for i in range(12_000):
            log.info("m", i=i)
        engine.flush()
        ids = [row[0] for row in engine.logs.iter_rows(chunk=5000)]
    assert ids == list(range(1, 12_001))


def test_a_corrupt_file_is_named_in_the_error(tmp_path):
    """Opening garbage raises StorageError naming the file."""
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"broken\.db"):
        Engine(path)


def test_another_applications_database_is_refused(tmp_path):
    """A SQLite file with a foreign application_id is named, not written to."""
    path = tmp_path / "other.db"
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA application_id=42; CREATE TABLE t(x)")
    connection.close()
    with pytest.raises(StorageError, match=r"other.db belongs to another application"):
        Engine(path)


def test_bad_engine_settings_are_refused(tmp_path):
    """Unknown sync modes, non-positive intervals or buffer sizes raise ValueError."""
    with pytest.raises(ValueError, match="synchronous"):
        Engine(tmp_path / "a.db", synchronous="SOMETIMES")
    with pytest.raises(ValueError, match="flush_interval"):
        Engine(tmp_path / "a.db", flush_interval=0)
    with pytest.raises(ValueError, match="capacity"):
        Engine(tmp_path / "a.db", buffer_size=0)
    with pytest.raises(ValueError, match="max_rows"):
        Retention(max_rows=0)


def test_a_full_buffer_drops_and_says_so_in_its_metrics(tmp_path):
    """With a tiny drop_newest buffer and a stalled writer, drops are counted in the
    engine's metrics."""
    with Engine(
        tmp_path / "app.db",
        buffer_size=10,
        flush_interval=60,
        batch_size=10**6,
        overflow="drop_newest",
    ) as engine:
        log = engine.logger()
        for i in range(100):
            log.info("m", i=i)
        dropped = engine.buffer.dropped
        assert dropped >= 80
        text = encode_text(engine.collect()).decode()
        assert f"observabilipy_buffer_dropped_total {dropped}" in text
        assert engine.flush()
        assert len(engine.read_logs()) + dropped == 100
        text = encode_text(engine.collect()).decode()
        assert f"observabilipy_rows_written_total {100 - dropped}" in text


def test_the_writer_stores_attributes_exactly_as_the_documented_rule_writes_them(tmp_path):
    """Batch-encoded attributes land as the same text encode_attributes gives, odd values too."""
    import datetime as dt
    import math

    from observabilipy.core.encoding.attributes import encode_attributes

    awkward: list[dict[str, Any]] = [
        {"float": 1e16, "tiny": 1e-7, "negzero": -0.0, "nan": math.nan, "big": 2**70},
        {"text": '\u2028\x7f\x1f"\\/é🎉', "bytes": b"\xff", "when": dt.date(2026, 1, 1)},
        {"surrogate": "\ud800", "tuple_key": {(1, 2): "x"}},  # forces the per-entry path
        {"nested": [1, {"x": None}], "set": {3}},
    ]
    with Engine(tmp_path / "attrs.db") as engine:
        log = engine.logger()
        for attributes in awkward:
            log.info("m", **attributes)
        assert engine.flush()
        stored = [row[5] for row in engine.logs.query()]  # the stored JSON text itself
    assert stored == [encode_attributes(a) for a in awkward]


def test_accounting_is_exact_with_many_producer_threads(tmp_path):
    """8 threads overflowing a small buffer: written + dropped == appended, exactly."""
    import threading

    with Engine(tmp_path / "acct.db", buffer_size=2000, batch_size=500) as engine:
        log = engine.logger()

        def produce(worker: int) -> None:
            for i in range(20_000):
                log.info("m", worker=worker, i=i)

        threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert engine.flush()
        written = engine.logs.last_id()
        assert engine.buffer.appended == 160_000
        assert written + engine.buffer.dropped == 160_000
        assert written == len(
            {(r.attributes["worker"], r.attributes["i"]) for r in engine.read_logs()}
        )


def test_a_file_from_a_newer_version_is_refused(tmp_path):
    """A schema version above ours raises StorageError asking for an upgrade."""
    path = tmp_path / "future.db"
    Engine(path).close()
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA user_version=99")
    connection.close()
    with pytest.raises(StorageError, match="schema version 99"):
        Engine(path)


def test_a_version_1_file_is_migrated_keeping_every_row_and_the_cursor(tmp_path):
    """Rows an older version stored outside today's rules are kept, brought within them,
    and ids never go back: the next row gets an id above every id ever used."""
    from observabilipy.adapters.storage.sqlite_schema import APPLICATION_ID, apply_migration

    path = tmp_path / "v1.db"
    connection = apsw.Connection(str(path))
    apply_migration(connection, 0)
    connection.execute(f"PRAGMA user_version=1; PRAGMA application_id={APPLICATION_ID}")
    connection.execute(
        "INSERT INTO logs (ts, level, logger, message, attributes) VALUES "
        "(3e11, 35, 'l', 'too late', '{}'), (-7e10, 20, 'l', 'too early', '{}'), "
        "(5.0, 40, 'l', 'fine', '{}'), (6.0, 20, 'l', 'deleted', '{}')"
    )
    connection.execute("DELETE FROM logs WHERE id = 4")
    connection.close()
    with Engine(path) as engine:
        engine.logger().info("new")
        assert engine.flush()
        rows = engine.read_logs()
    assert [(r.id, r.timestamp, r.level, r.message) for r in rows] == [
        (1, 253402300799.999, "critical", "too late"),
        (2, -62135596800.0, "info", "too early"),
        (3, 5.0, "error", "fine"),
        (5, rows[3].timestamp, "info", "new"),
    ]


def test_a_metric_past_its_series_limit_is_named_once_and_exported(tmp_path, capfd):
    """Engine(max_series=10): the eleventh label set and every later one land in the
    overflow series; stderr names the metric once; the file keeps the same series."""
    with Engine(tmp_path / "a.db", max_series=10) as engine:
        hits = engine.counter("hits_total", "Hits", labels=["client"])
        for i in range(1000):
            hits.labels(f"c{i}").inc()
        text = encode_text(engine.collect()).decode()
    assert text.count("hits_total{") == 11
    assert 'hits_total{otel_metric_overflow="true"} 990' in text
    assert 'observabilipy_series_overflowed_total{metric="hits"} 990' in text
    err = capfd.readouterr().err
    assert err.count("reached its 10 series") == 1
    assert "max_series" in err


def test_read_logs_keeps_a_row_whose_attributes_another_tool_broke(tmp_path):
    """Attributes stored by another tool that are not a JSON object come back whole
    under _unparsed; the rows around them read as usual."""
    with Engine(tmp_path / "broken.db") as engine:
        engine.logger().info("before", k=1)
        assert engine.flush()
        with engine.logs.lock, engine.logs.connection:
            engine.logs.connection.execute(
                "INSERT INTO logs (ts, level, logger, message, attributes) VALUES "
                "(1.0, 20, 'x', 'bad', 'not json'), (2.0, 20, 'x', 'list', '[1]')"
            )
        engine.logger().info("after")
        assert engine.flush()
        records = engine.read_logs()
    assert [(r.message, r.attributes) for r in records] == [
        ("before", {"k": 1}),
        ("bad", {"_unparsed": "not json"}),
        ("list", {"_unparsed": "[1]"}),
        ("after", {}),
    ]
