"""The file as a durable outbox: cursors and leases in the file, batches shipped to a
file sink in exactly the GET /logs lines, failures retried, retention holding what was
not shipped until the hard cap."""

import json
import time

import apsw
import orjson
import pytest

from observabilipy import Batch, Engine, FileExporter, LogEntry, Retention, Shipping
from observabilipy.adapters.storage import sqlite_outbox
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
from observabilipy.adapters.storage.sqlite_schema import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    apply_migration,
)
from observabilipy.core.encoding.prometheus import encode_text
from observabilipy.runtime.retention import apply
from tests.asgi_client import call

FAST = Shipping(interval=0.02, max_rows=100, max_backoff=0.05, unhealthy_after=0.2)


def sink_lines(path) -> list[bytes]:
    """Every line of the sink and its rotated files, oldest file first."""
    files = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return [line for file in [*files, path] for line in file.read_bytes().splitlines(True)]


class Refusing:
    """A receiver that is down until ``up`` is set (what a network exporter meets)."""

    def __init__(self, name: str = "refusing") -> None:
        self.name = name
        self.up = False
        self.got: list[Batch] = []

    def send(self, batch: Batch) -> None:
        if not self.up:
            raise ConnectionRefusedError("receiver down")
        self.got.append(batch)

    def close(self) -> None:
        pass


def metric(engine: Engine, name: str) -> float:
    for line in encode_text(engine.collect()).decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def test_the_sink_holds_exactly_the_get_logs_lines(tmp_path):
    """After ship(), the sink's bytes are GET /logs' bytes for the same rows, in order."""
    out = tmp_path / "app.ndjson"
    with Engine(tmp_path / "a.db", exporters=[FileExporter(out)], shipping=FAST) as engine:
        log = engine.logger("checkout")
        for seq in range(1000):
            log.info("paid", seq=seq, text='é\n"', amount=9.5)
        log.error("boom")
        assert engine.ship(30)
        served = engine.read_ndjson(limit=5000, max_bytes=10**8).body
    assert out.read_bytes() == served
    assert len(served.splitlines()) == 1001


def test_a_restart_ships_on_from_the_cursor_in_the_file(tmp_path):
    """The cursor survives close: the second engine ships only the rows after it."""
    out, db = tmp_path / "app.ndjson", tmp_path / "a.db"
    for run in range(2):
        with Engine(db, exporters=[FileExporter(out)], shipping=FAST) as engine:
            engine.logger().info("run", run=run)
            assert engine.ship(30)
    ids = [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert ids == [1, 2]
    connection = apsw.Connection(str(db))
    assert sqlite_outbox.oldest_cursor(connection) == 2


def test_close_ships_what_was_logged_before_it(tmp_path):
    """close() flushes, then ships the rest before returning."""
    out = tmp_path / "app.ndjson"
    with Engine(tmp_path / "a.db", exporters=[FileExporter(out)]) as engine:
        for seq in range(300):
            engine.logger().info("x", seq=seq)
    assert len(out.read_bytes().splitlines()) == 300


def test_a_failing_receiver_is_retried_counted_said_once_and_a_503(tmp_path, capsys):
    """Failures never reach the caller; they are counted, said once, /healthz says 503
    after unhealthy_after; once the receiver is back every row arrives once."""
    receiver = Refusing()
    with Engine(tmp_path / "a.db", exporters=[receiver], shipping=FAST) as engine:
        for seq in range(250):
            engine.logger().info("x", seq=seq)
        assert not engine.ship(0.5)
        assert metric(engine, 'observabilipy_export_failed_total{exporter="refusing"}') >= 2
        assert metric(engine, 'observabilipy_export_lag_entries{exporter="refusing"}') == 250
        response = call(engine.asgi_app(), "GET", "/healthz")
        assert response.status == 503
        assert "exporter 'refusing' has been failing" in response.body.decode()
        receiver.up = True
        assert engine.ship(10)
        assert call(engine.asgi_app(), "GET", "/healthz").status == 200
        assert metric(engine, 'observabilipy_export_sent_total{exporter="refusing"}') == 250
        assert metric(engine, 'observabilipy_export_lag_entries{exporter="refusing"}') == 0
        assert metric(engine, "observabilipy_export_last_success_timestamp_seconds") > 0
    seqs = [
        orjson.loads(line)["attributes"]["seq"]
        for b in receiver.got
        for line in b.ndjson.splitlines()
    ]
    assert seqs == list(range(250))
    assert all(b.rows <= 100 for b in receiver.got)
    err = capsys.readouterr().err
    assert err.count("exporter 'refusing' cannot ship") == 1
    assert "exporter 'refusing' is shipping again" in err


def test_batches_are_bounded_by_bytes_too(tmp_path):
    """max_bytes cuts a batch after the row that reaches it."""
    receiver = Refusing()
    receiver.up = True
    shipping = Shipping(interval=0.02, max_rows=1000, max_bytes=10_000)
    with Engine(tmp_path / "a.db", exporters=[receiver], shipping=shipping) as engine:
        for _ in range(100):
            engine.logger().info("y" * 1000)
        assert engine.ship(10)
    assert sum(b.rows for b in receiver.got) == 100
    assert max(len(b.ndjson) for b in receiver.got) < 10_000 + 1200


def test_bad_exporter_configuration_is_refused_by_name(tmp_path):
    """Not an exporter, two with one name, bad sink options: clear errors at once."""
    with pytest.raises(TypeError, match="send"):
        Engine(tmp_path / "a.db", exporters=[object()])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="two exporters are named 'r'"):
        Engine(tmp_path / "a.db", exporters=[Refusing("r"), Refusing("r")])
    with pytest.raises(ValueError, match="no directory"):
        FileExporter(tmp_path / "missing" / "app.ndjson")
    with pytest.raises(ValueError, match="keep"):
        FileExporter(tmp_path / "app.ndjson", keep=0)
    with pytest.raises(ValueError, match="max_rows"):
        Shipping(max_rows=0)


def test_a_version_3_file_migrates_with_nothing_lost_and_old_readers_still_read(tmp_path):
    """A file of the previous schema: read-only readers read it as it is; an engine
    migrates it to the outbox's version with every row and id kept."""
    path = tmp_path / "v3.db"
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA journal_mode=WAL")
    with connection:
        for step in range(3):
            apply_migration(connection, step)
        connection.execute(f"PRAGMA user_version=3; PRAGMA application_id={APPLICATION_ID}")
        connection.execute(
            "INSERT INTO logs (ts, level, logger, message, attributes) VALUES "
            "(100.0, 20, 'app', 'first', '{}'), (101.0, 40, 'app', 'second', '{}')"
        )
    connection.close()
    reader = SQLiteLogStorage(str(path), readonly=True)
    assert [row[3] for row in reader.query()] == ["first", "second"]
    reader.close()
    out = tmp_path / "app.ndjson"
    with Engine(path, exporters=[FileExporter(out)], shipping=FAST) as engine:
        engine.logger("app").info("third")
        assert engine.ship(10)
        version = engine.logs.connection.execute("PRAGMA user_version").fetchall()
    assert version == [(SCHEMA_VERSION,)]
    assert [json.loads(line)["message"] for line in out.read_text().splitlines()] == [
        "first",
        "second",
        "third",
    ]


def backlog(engine: Engine, count: int) -> None:
    log = engine.logger()
    for seq in range(count):
        log.info("x" * 200, seq=seq)
    assert engine.flush()


def test_retention_keeps_unshipped_rows_until_the_hard_cap_then_counts_them(tmp_path):
    """Segments beyond max_rows stay while an exporter owes them; over hard_cap_bytes
    they go, and the rows are counted as dropped unshipped (and said, and a 503)."""
    db = tmp_path / "a.db"
    receiver = Refusing()
    retention = Retention(max_rows=1000, interval=0.05)
    with Engine(db, exporters=[receiver], shipping=FAST, retention=retention) as engine:
        backlog(engine, 5000)
        assert len(engine.read_logs()) == 5000  # all kept: none shipped
        connection = engine.logs.connection
        assert len(segments.segments(connection)) >= 4
        receiver.up = True
        assert engine.ship(10)
        for _ in range(3):
            engine.logger().info("after")  # retention runs after a batch
            assert engine.flush()
        assert len(engine.read_logs()) <= 2000 + 3  # the rule plus a segment
        assert metric(engine, "observabilipy_export_dropped_unshipped_total") == 0
    # Down again, with a cap far below what the backlog takes: the cap wins, counted.
    receiver = Refusing()
    capped = Retention(max_rows=1000, hard_cap_bytes=100_000)
    with Engine(db, exporters=[receiver], shipping=FAST, retention=capped) as engine:
        backlog(engine, 5000)
        dropped = metric(engine, "observabilipy_export_dropped_unshipped_total")
        kept = len(engine.read_logs())
        assert dropped >= 3000
        assert kept <= 2100
        status = call(engine.asgi_app(), "GET", "/healthz")
        assert status.status == 503
        assert b"dropped before being shipped" in status.body
        receiver.up = True
        assert engine.ship(10)
    shipped = [orjson.loads(line) for b in receiver.got for line in b.ndjson.splitlines()]
    assert [row["attributes"]["seq"] for row in shipped] == list(range(5000 - len(shipped), 5000))
    assert dropped + len(shipped) == 5000  # every row of the outage: shipped or counted


def test_an_exporter_registered_holds_rows_even_from_another_process_view(tmp_path):
    """A cursor row alone (an exporter configured in some process) holds retention."""
    storage = SQLiteLogStorage(str(tmp_path / "a.db"), segmenting=segments.Segmenting(rows=1000))
    with storage.lock, storage.connection:
        sqlite_outbox.register(storage.connection, "elsewhere")
    storage.write_many(LogEntry(float(i), "info", "m") for i in range(5000))
    removed = apply(storage.connection, Retention(max_rows=1000), time.time())
    assert removed.rows == 0
    assert len(storage.query()) == 5000
    with storage.lock, storage.connection:
        storage.connection.execute("UPDATE exporters SET cursor = 3000")
    removed = apply(storage.connection, Retention(max_rows=1000), time.time())
    assert removed.rows == 3000
    assert removed.unshipped == 0


def test_serve_workers_ship_to_the_file_given(tmp_path, monkeypatch):
    """``serve --ship-file`` reaches each worker's engine: entries POSTed to /logs are
    in the file, as GET /logs lines."""
    from observabilipy.cli import ENV_DB, ENV_SHIP_FILE, build_parser, serve_app

    out = tmp_path / "app.ndjson"
    args = build_parser().parse_args(["serve", "--ship-file", str(out)])
    assert args.ship_file == str(out)
    monkeypatch.setenv(ENV_DB, str(tmp_path / "a.db"))
    monkeypatch.setenv(ENV_SHIP_FILE, str(out))
    app = serve_app()
    try:
        body = b'{"message": "pushed", "level": "warning"}\n'
        assert call(app, "POST", "/logs", body=body).status == 200
        assert app.engine.ship(10)
    finally:
        app.engine.close()
    assert json.loads(out.read_text())["message"] == "pushed"
