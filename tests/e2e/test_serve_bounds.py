"""`serve` under hostile load stays bounded: reader memory by bytes, not rows."""

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import apsw
import httpx
import pytest

from observabilipy import Engine

MiB = 1024 * 1024


def make_file(path: Path, rows: int, size: int) -> None:
    """A file of ``rows`` stored rows of ``size`` bytes each, as any writer could leave."""
    store_messages(path, (f"{i:08d}" + "x" * (size - 8) for i in range(rows)))


def store_messages(path: Path, messages: Iterable[str]) -> None:
    """A file holding one stored row per message, as any writer could leave it."""
    Engine(path).close()
    connection = apsw.Connection(str(path))
    with connection:
        connection.executemany(
            "INSERT INTO logs (ts, level, logger, message, attributes)"
            " VALUES (?, 20, 'big', ?, '{}')",
            enumerate(messages),
        )
    connection.close()


def workers(pid: int) -> list[int]:
    """Every process below ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *workers(int(child))]
    return found


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class Peak:
    """The highest summed RSS of a server's workers, sampled every 20 ms meanwhile."""

    def __init__(self, server):
        self.pids = workers(server.proc.pid)
        assert self.pids
        self.base = sum(map(rss, self.pids))
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, sum(map(rss, self.pids)))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def warm(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(3):
            client.get("/logs", params={"limit": 2}).raise_for_status()
            client.get("/metrics").raise_for_status()


@pytest.mark.parametrize(("rows", "size"), [(6000, 20_000), (10, 16 * MiB)])
def test_reading_large_rows_holds_a_few_mib(serve, tmp_path, rows, size):
    """A whole GET /logs of 20 KB rows, and of 16 MiB rows, grows the server's memory
    by less than 64 MiB (reads were 20,000 rows each, whatever their size)."""
    db = tmp_path / "big.db"
    make_file(db, rows, size)
    server = serve("--db", str(db))
    warm(server)
    with Peak(server) as peak, httpx.stream("GET", f"{server.url}/logs", timeout=60) as response:
        received = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
    assert received == rows
    assert peak.growth < 64 * MiB, f"grew {peak.growth / MiB:.0f} MiB"


def test_stalled_readers_hold_bounded_memory(serve, tmp_path):
    """Ten clients that ask for GET /logs and never read: under 100 MiB together."""
    db = tmp_path / "big.db"
    make_file(db, 6000, 20_000)
    server = serve("--db", str(db))
    warm(server)
    sockets = []
    with Peak(server) as peak:
        try:
            for _ in range(10):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect
                sock.connect(("127.0.0.1", server.port))
                sock.sendall(b"GET /logs HTTP/1.1\r\nHost: test\r\n\r\n")
                sockets.append(sock)
            time.sleep(4)
        finally:
            for sock in sockets:
                sock.close()
    assert peak.growth < 100 * MiB, f"grew {peak.growth / MiB:.0f} MiB"
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_a_server_killed_mid_stream_leaves_the_file_whole(serve, tmp_path):
    """SIGKILL the server (every worker) while it streams bursts of large rows, reads
    cut by the budget and the reads after them in flight: the file passes its
    integrity check, and a new server streams every row once, in order."""
    db = tmp_path / "bursts.db"
    store_messages(
        db, ("m" * ((4000 if (i // 500) % 4 == 0 else 60) + i % 7) for i in range(20_000))
    )
    server = serve("--db", str(db))
    warm(server)
    with httpx.stream("GET", f"{server.url}/logs", timeout=60) as response:
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 2 * MiB:
                os.killpg(server.proc.pid, signal.SIGKILL)
                break
    server.proc.wait(timeout=30)
    assert 0 < received < 40 * MiB
    check = apsw.Connection(str(db))
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    again = serve("--db", str(db))
    with httpx.stream("GET", f"{again.url}/logs", timeout=60) as response:
        ids = [json.loads(line)["id"] for line in response.iter_lines() if line]
    assert ids == list(range(1, 20_001))
