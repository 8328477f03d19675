"""The NDJSON file sink: rotation by size and age under load loses and repeats no line,
keeps a bounded number of files, and every file parses as GET /logs lines."""

import re
import threading
import time

import orjson

from observabilipy import Batch, Engine, FileExporter, Shipping

KEYS = ["id", "timestamp", "level", "message", "logger", "attributes"]
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
QUICK = Shipping(interval=0.01, max_rows=200, max_bytes=4096)


def parsed(path) -> list[dict]:
    """Every line of every file of the sink (rotated ones first, oldest first), each
    checked against the documented line format."""
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    rows = []
    for file in [*rotated, path]:
        data = file.read_bytes()
        assert not data or data.endswith(b"\n"), file
        for line in data.splitlines():
            row = orjson.loads(line)
            assert list(row) == KEYS
            assert TIMESTAMP.fullmatch(row["timestamp"])
            assert row["level"] in ("debug", "info", "warning", "error", "critical")
            rows.append(row)
    return rows


def ship_entries(tmp_path, sink: FileExporter, count: int, pause: float = 0.0) -> None:
    """Log ``count`` entries and ship them to ``sink``, each alone after ``pause``."""
    with Engine(tmp_path / "a.db", exporters=[sink], shipping=QUICK) as engine:
        for seq in range(count):
            engine.logger().info("entry", seq=seq)
            if pause:
                assert engine.ship(10)
                time.sleep(pause)
        assert engine.ship(30)


def test_rotation_by_size_under_load_loses_and_repeats_no_line(tmp_path):
    """Two threads log 20,000 entries while the sink rotates every ~40 KB: the files
    together hold ids 1..20,000 once each, in order, no file past max_bytes."""
    out = tmp_path / "app.ndjson"
    sink = FileExporter(out, max_bytes=40_000, keep=10_000)
    shipping = Shipping(interval=0.01, max_rows=500, max_bytes=16_384)
    with Engine(tmp_path / "a.db", exporters=[sink], shipping=shipping) as engine:

        def produce(tag: str) -> None:
            log = engine.logger(tag)
            for seq in range(10_000):
                log.info("entry", seq=seq)

        threads = [threading.Thread(target=produce, args=(tag,)) for tag in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert engine.ship(60)
    rows = parsed(out)
    assert [row["id"] for row in rows] == list(range(1, 20_001))
    for tag in "ab":
        assert [r["attributes"]["seq"] for r in rows if r["logger"] == tag] == list(range(10_000))
    files = list(tmp_path.glob("app.ndjson*"))
    assert len(files) > 30
    assert all(file.stat().st_size <= 40_000 for file in files)


def test_only_keep_rotated_files_stay_holding_the_newest_lines(tmp_path):
    """keep=3: app.ndjson and .1 .. .3; together the newest lines, none twice."""
    out = tmp_path / "app.ndjson"
    ship_entries(tmp_path, FileExporter(out, max_bytes=4096, keep=3), 2000)
    assert sorted(p.name for p in tmp_path.glob("app.ndjson*")) == [
        "app.ndjson",
        "app.ndjson.1",
        "app.ndjson.2",
        "app.ndjson.3",
    ]
    ids = [row["id"] for row in parsed(out)]
    assert ids == list(range(ids[0], 2001))


def test_rotation_by_age(tmp_path):
    """max_age=0.2 s: batches shipped 0.3 s apart each start a new file."""
    out = tmp_path / "app.ndjson"
    ship_entries(tmp_path, FileExporter(out, max_age=0.2, keep=10), 3, pause=0.3)
    assert [row["id"] for row in parsed(out)] == [1, 2, 3]
    assert len(list(tmp_path.glob("app.ndjson.*"))) == 2


def test_a_line_torn_by_a_crash_is_cut_and_its_batch_written_whole(tmp_path):
    """A sink file ending in part of a line (a crash mid-write) is cut back to its last
    full line before the batch, sent again, is appended."""
    out = tmp_path / "app.ndjson"
    line = b'{"id":1,"timestamp":"2026-01-01T00:00:00.000000Z","level":"info",'
    out.write_bytes(line + b'"message":"a","logger":"","attributes":{}}\n' + line)
    sink = FileExporter(out)
    sink.send(Batch(1, 2, 1, line + b'"message":"b","logger":"","attributes":{}}\n'))
    sink.close()
    assert [row["message"] for row in parsed(out)] == ["a", "b"]


def test_a_sink_rotated_by_another_process_is_reopened(tmp_path):
    """The active file renamed away (another shipper's rotation, or logrotate): the
    next batch goes to a new file by the name, not the renamed one."""
    out = tmp_path / "app.ndjson"
    sink = FileExporter(out)
    line = b'{"id":%d,"timestamp":"2026-01-01T00:00:00.000000Z","level":"info","message":"m",'
    tail = b'"logger":"","attributes":{}}\n'
    sink.send(Batch(0, 1, 1, line % 1 + tail))
    out.rename(tmp_path / "app.ndjson.1")
    sink.send(Batch(1, 2, 1, line % 2 + tail))
    sink.close()
    assert [row["id"] for row in parsed(out)] == [1, 2]
    assert out.read_bytes().count(b"\n") == 1
