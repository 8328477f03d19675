"""/healthz tells the truth: 503 with a reason while storage is not accepting writes or
entries are being lost, 200 again once that clears."""

import json
import subprocess
import sys
import time
from pathlib import Path

import apsw

from observabilipy import Engine, LogEntry, Retention
from observabilipy.runtime import health
from tests.asgi_client import call
from tests.integration.engine_worker import holding

ROOT = Path(__file__).resolve().parents[2]


def healthz(engine: Engine) -> tuple[int, dict]:
    response = call(engine.asgi_app(), "GET", "/healthz")
    return response.status, json.loads(response.body)


def test_a_healthy_engine_says_ok_with_its_counts(tmp_path):
    """200, no reasons, and the entries' fates add up."""
    with Engine(tmp_path / "a.db") as engine:
        engine.logger().info("x")
        assert engine.flush()
        status, state = healthz(engine)
    assert status == 200
    assert state["status"] == "ok"
    assert state["reasons"] == []
    assert state["entries"] == {
        "appended": 1,
        "stored": 1,
        "dropped": 0,
        "rejected": 0,
        "waiting": 0,
    }
    assert state["storage"]["writer"] == "running"


def test_a_disk_that_is_full_is_a_503_until_writes_succeed_again(tmp_path):
    """Writes past a file-size limit fail: 503 naming the error; 200 once the limit
    is lifted and the kept entries are written."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.engine_worker",
            "disk_full",
            str(tmp_path / "f.db"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["health_during"]["status"] == "degraded"
    assert any("not accepting writes" in r for r in report["health_during"]["reasons"])
    assert report["health_after"]["status"] == "ok", report["health_after"]


def test_a_corrupt_file_fails_its_integrity_check(tmp_path):
    """Pages overwritten in the middle of the file: the background quick_check finds it
    and /healthz says so."""
    path = tmp_path / "bad.db"
    with Engine(path) as engine:
        log = engine.logger()
        for i in range(20_000):
            log.info("row", i=i, pad="p" * 100)
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(size // 2)
        file.write(b"\xde\xad\xbe\xef" * 8192)
    engine = Engine(path)
    try:
        engine.check_integrity().join(60)
        status, state = healthz(engine)
    finally:
        engine.close()
    assert status == 503
    assert state["storage"]["integrity"] == "corrupt"
    assert any("integrity check" in r for r in state["reasons"])


def test_a_wedged_writer_is_a_503_until_it_moves_again(tmp_path):
    """Another process holds the write lock and the busy timeout is long: the writer
    waits inside SQLite, commits nothing, and /healthz says it has made no progress
    (at a 20 ms flush interval, after one second); once the lock goes, 200."""
    path = tmp_path / "w.db"
    with Engine(path, busy_timeout=20, flush_interval=0.02) as engine:
        with holding(path, 3) as holder:
            engine.logger().info("waiting")
            time.sleep(1.5)
            status, state = healthz(engine)
            holder.wait(30)
        assert status == 503
        assert any("no progress" in r for r in state["reasons"]), state
        assert engine.flush(30)
        assert healthz(engine)[0] == 200


def test_drops_and_rejections_are_a_503_for_a_minute(tmp_path, monkeypatch):
    """A dropped or rejected entry makes /healthz 503 for RECENT seconds, then 200."""
    monkeypatch.setattr(health, "RECENT", 1.0)
    with Engine(tmp_path / "d.db", buffer_size=1, overflow="drop_newest", flush_interval=5) as e:
        for _ in range(50):
            e.logger().info("x")
        e.buffer.append(LogEntry(1e300, "info", "never storable"))
        assert e.flush(10)
        status, state = healthz(e)
        assert status == 503
        assert any("dropped" in r for r in state["reasons"]), state
        time.sleep(1.1)
        assert healthz(e)[0] == 200
        e.buffer.append(LogEntry(1e300, "info", "never storable"))
        assert e.flush(10)
        status, state = healthz(e)
        assert status == 503
        assert any("rejected" in r for r in state["reasons"]), state


def test_a_writer_thread_that_died_is_restarted_and_said(tmp_path):
    """Its thread gone, the next health check starts a new writer, logging goes on,
    and /healthz says what happened."""
    with Engine(tmp_path / "r.db") as engine:
        engine._writer.stop()  # the thread ends, as if it had crashed
        status, state = healthz(engine)
        assert status == 503
        assert any("restarted" in r for r in state["reasons"]), state
        assert state["storage"]["writer_restarts"] == 1
        engine.logger().info("after")
        assert engine.flush(10)
        assert [r.message for r in engine.read_logs()] == ["after"]


def test_health_never_waits_for_a_held_log_read_lock(tmp_path):
    """The newest id comes from a reader connection: a long filtered read holding the
    main connection does not hold /healthz."""
    with Engine(tmp_path / "l.db") as engine:
        with engine.logs.lock:
            start = time.monotonic()
            state = engine.health()
            assert time.monotonic() - start < 1
        assert state["status"] == "ok"
        assert isinstance(apsw.sqlite_lib_version(), str)


def test_health_shows_rows_held_file_bytes_and_retention_rules(tmp_path):
    """The page's self-health reads these: rows held grow with what is stored, the
    file's bytes are the file's, the retention rules are the engine's."""
    retention = Retention(max_rows=50_000, max_age_by_level={"debug": 60})
    with Engine(tmp_path / "app.db", retention=retention) as engine:
        log = engine.logger("t")
        for index in range(100):
            log.info("m", i=index)
        assert engine.flush(10)
        storage = engine.health()["storage"]
        assert storage["rows"] == 100
        assert storage["file_bytes"] >= (tmp_path / "app.db").stat().st_size > 0
        assert storage["retention"]["max_rows"] == 50_000
        assert storage["retention"]["max_age_by_level"] == {"debug": 60}
        assert storage["retention"]["history_max_age"] == 7 * 24 * 3600.0
