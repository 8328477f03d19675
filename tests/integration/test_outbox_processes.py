"""Processes sharing one file ship each row once per exporter; a shipper killed with
SIGKILL mid-way is taken over: every row arrives, at most one batch twice."""

import collections
import contextlib
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import orjson

from observabilipy import Engine

ROOT = Path(__file__).resolve().parents[2]


def shipper(db: Path, out: Path | str, max_rows: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ship_worker", str(db), str(out), str(max_rows)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def report(process: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = process.communicate(timeout=180)
    assert process.returncode == 0
    found: dict[str, float] = json.loads(out)
    return found


def stored(db: Path, count: int) -> None:
    with Engine(db) as engine:
        log = engine.logger("app")
        for seq in range(count):
            log.info("entry", seq=seq)


def shipped_ids(out: Path) -> list[int]:
    """The ids in every file of the sink, each line parsed (a torn line fails here)."""
    return [
        orjson.loads(line)["id"]
        for file in out.parent.glob(out.name + "*")
        for line in file.read_bytes().splitlines()
    ]


def sink_bytes(out: Path) -> int:
    total = 0
    for file in out.parent.glob(out.name + "*"):
        with contextlib.suppress(FileNotFoundError):  # rotated away meanwhile
            total += file.stat().st_size
    return total


def test_two_processes_sharing_a_file_ship_each_row_once(tmp_path):
    """Both ship the same exporter: the lease lets one at a time; 50,000 rows arrive
    once each, and the two processes' sent counters add up to 50,000."""
    db, out = tmp_path / "a.db", tmp_path / "app.ndjson"
    stored(db, 50_000)
    processes = [shipper(db, out, 500) for _ in range(2)]
    reports = [report(process) for process in processes]
    assert all(r["shipped"] for r in reports)
    assert sum(r["sent"] for r in reports) == 50_000
    assert sorted(shipped_ids(out)) == list(range(1, 50_001))


def test_a_shipper_killed_mid_way_is_taken_over_losing_nothing(tmp_path):
    """SIGKILL while shipping 200,000 rows in batches of 1,000, then a new process:
    every row is in the sink files, at most one batch of them twice."""
    db, out = tmp_path / "a.db", tmp_path / "app.ndjson"
    stored(db, 200_000)
    first = shipper(db, out, 1000)
    deadline = time.monotonic() + 60
    while sink_bytes(out) < 1_000_000:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first.kill()
    first.communicate()
    before = len(shipped_ids(out))
    assert 0 < before < 200_000  # killed mid-way
    assert report(shipper(db, out, 1000))["shipped"]
    counts = collections.Counter(shipped_ids(out))
    assert sorted(counts) == list(range(1, 200_001))  # none missing
    twice = [i for i, n in counts.items() if n > 1]
    assert len(twice) <= 1000  # at most the batch in flight
    assert max(counts.values()) <= 2


def test_a_loki_shipper_killed_mid_push_is_taken_over_losing_nothing(tmp_path, receiver):
    """The same with a network exporter: SIGKILL while pushing 50,000 rows to a Loki
    receiver in batches of 500, then a new process: every row arrives, at most one
    batch twice."""
    db = tmp_path / "a.db"
    stored(db, 50_000)
    target = f"loki={receiver.url}"
    first = shipper(db, target, 500)
    deadline = time.monotonic() + 60
    while len(receiver.pushes) < 20:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first.kill()
    first.communicate()
    assert len(receiver.pushes) < 100  # killed mid-way: 100 batches make the whole
    assert report(shipper(db, target, 500))["shipped"]
    counts = collections.Counter(
        orjson.loads(value[1])["id"]
        for _, _, body in receiver.pushes
        for stream in orjson.loads(gzip.decompress(body))["streams"]
        for value in stream["values"]
    )
    assert sorted(counts) == list(range(1, 50_001))  # none missing
    assert len([i for i, n in counts.items() if n > 1]) <= 500  # at most the batch in flight
