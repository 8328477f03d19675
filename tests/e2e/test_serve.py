"""`observabilipy serve` end to end: Granian workers on 127.0.0.1, real HTTP, SIGTERM."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import apsw
import httpx

from observabilipy import SQLiteLogStorage
from observabilipy.adapters.storage import sqlite_arrays, sqlite_state
from observabilipy.cli import SHUTDOWN_TIMEOUT
from observabilipy.core.aggregate import Catalog


def stored_messages(path: Path) -> list[str]:
    storage = SQLiteLogStorage(str(path), readonly=True)
    try:
        return [row[3] for row in storage.query()]
    finally:
        storage.close()


def test_push_read_scrape_and_sigterm(serve, tmp_path):
    """Two workers take a pushed line, serve it back and /metrics; SIGTERM exits 0, line kept."""
    db = tmp_path / "obs.db"
    server = serve("--db", str(db), "--workers", "2")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        pushed = client.post("/logs", content=b'{"message":"hello","logger":"e2e"}\n')
        assert pushed.status_code == 200, pushed.text
        assert pushed.json() == {"accepted": 1}
        read = client.get("/logs")
        assert read.status_code == 200
        assert read.headers["content-type"].startswith("application/x-ndjson")
        [line] = read.text.splitlines()
        assert '"message":"hello","logger":"e2e"' in line
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE observabilipy_rows_written_total counter" in metrics.text
    assert server.terminate() == 0
    assert stored_messages(db) == ["hello"]
    # Each worker closed its engine on the lifespan shutdown: none is left marked alive
    # (a worker that exited first may already be folded into the retired totals, row 0).
    connection = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        alive = connection.execute("SELECT count(*) FROM processes WHERE exited = 0").fetchall()
        catalog = Catalog()
        sqlite_state.load_catalog(connection, catalog)
        series = catalog.index[("observabilipy_rows_written_total", ())]
        rows_written = sum(
            part.values[series]
            for part in sqlite_arrays.read_values(connection, catalog, 0.0)
            if series < len(part.present) and part.present[series]
        )
    finally:
        connection.close()
    assert alive == [(0,)]
    assert rows_written == 1.0  # the pushed line went through the engine, which counts it


def test_database_defaults_to_the_working_directory(serve, tmp_path):
    """Without --db the server records into ./observabilipy.db."""
    server = serve(cwd=tmp_path)
    response = httpx.post(f"{server.url}/logs", content=b'{"message":"here"}', timeout=10)
    assert response.status_code == 200, response.text
    assert server.terminate() == 0
    assert stored_messages(tmp_path / "observabilipy.db") == ["here"]


def test_token_guards_every_endpoint(serve, tmp_path):
    """With --token, each endpoint answers 401 without the bearer header and 200 with it."""
    good = {"Authorization": "Bearer s3cret"}
    server = serve("--db", str(tmp_path / "obs.db"), "--token", "s3cret", headers=good)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for method, path, body in (
            ("GET", "/healthz", None),
            ("GET", "/metrics", None),
            ("GET", "/logs", None),
            ("POST", "/logs", b'{"message":"guarded"}'),
        ):
            refused = client.request(method, path, content=body)
            assert refused.status_code == 401, (method, path)
            wrong = client.request(
                method, path, content=body, headers={"Authorization": "Bearer x"}
            )
            assert wrong.status_code == 401, (method, path)
            allowed = client.request(method, path, content=body, headers=good)
            assert allowed.status_code == 200, (method, path, allowed.text)
    assert server.terminate() == 0
    assert stored_messages(tmp_path / "obs.db") == ["guarded"]


def test_sigterm_ends_an_open_follow_stream_cleanly(serve, tmp_path):
    """A GET /logs?follow=1 client does not hold the server: on SIGTERM the stream ends
    (a complete chunked response, not a cut connection) and the server exits well before
    Granian would kill its worker."""
    db = tmp_path / "obs.db"
    server = serve("--db", str(db))
    assert httpx.post(f"{server.url}/logs", content=b'{"message":"kept"}').status_code == 200
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=60)) as client,
        client.stream("GET", f"{server.url}/logs?follow=1") as stream,
    ):
        lines = stream.iter_lines()
        assert '"message":"kept"' in next(lines)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        rest = list(lines)  # ends only when the server ends the response
        assert all(line == "" for line in rest)  # at most keep-alive lines
        assert server.terminate() == 0
    assert time.monotonic() - started < SHUTDOWN_TIMEOUT / 2
    assert stored_messages(db) == ["kept"]


def test_an_address_in_use_is_a_clear_error(tmp_path):
    """A taken port stops serve at once with status 1 and a one-line reason."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "observabilipy", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # checked before any database was created
