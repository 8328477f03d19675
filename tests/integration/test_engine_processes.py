"""Several processes sharing one file: every entry once, totals across all of them."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import apsw

from observabilipy import Engine
from observabilipy.adapters.storage.sqlite_schema import scalar
from observabilipy.core.encoding.prometheus import encode_text
from tests.integration.test_log_spans import UNSPANNED

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.engine_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> None:
    """Wait for a worker, closing its pipes, and insist it succeeded."""
    process.communicate(input="" if process.stdin else None, timeout=timeout)
    assert process.returncode == 0


def test_four_processes_write_every_entry_exactly_once(tmp_path):
    """4 processes x 100,000 entries: 400,000 rows, no duplicates, no gaps per process."""
    path = str(tmp_path / "shared.db")
    Engine(path).close()  # create the file first, as a deployed app would
    workers = [worker("log", path, "100000", str(n)) for n in range(4)]
    for process in workers:
        finish(process)
    connection = apsw.Connection(path)
    rows: list[Any] = connection.execute(
        "SELECT attributes ->> 'worker', attributes ->> 'seq' FROM logs ORDER BY id"
    ).fetchall()
    assert len(rows) == 400_000
    for tag in "0123":
        seqs = [int(seq) for w, seq in rows if w == tag]
        assert seqs == list(range(100_000))  # in order, none missing, none twice
    ids = [i for (i,) in connection.execute("SELECT id FROM logs ORDER BY id")]
    assert ids == list(range(1, 400_001))


def test_counter_totals_add_up_across_processes(tmp_path):
    """4 processes x 10,000 inc(): any process (here a fifth) reports 40,000."""
    path = str(tmp_path / "shared.db")
    Engine(path).close()
    workers = [worker("count", path, "10000") for _ in range(4)]
    for process in workers:
        finish(process)
    with Engine(path) as engine:
        engine.counter("jobs_total", "Jobs done")
        assert b"\njobs_total 40000\n" in encode_text(engine.collect())
        engine.counter("jobs_total", "Jobs done").inc(5)  # live values join the stored ones
        assert b"\njobs_total 40005\n" in encode_text(engine.collect())


def test_gauges_combine_by_their_mode_and_dead_processes_drop_out(tmp_path):
    """Two live processes' gauges sum, max or split per pid; after exit only counters stay."""
    path = str(tmp_path / "shared.db")
    Engine(path).close()
    for aggregate, expected in (("sum", ["workers_busy 5"]), ("max", ["workers_busy 3"])):
        procs = [worker("gauge", path, value, aggregate, stdin=subprocess.PIPE) for value in "23"]
        for process in procs:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n"
        with Engine(path, snapshot_interval=0.2) as engine:
            text = encode_text(engine.collect()).decode()
            lines = [line for line in text.splitlines() if line.startswith("workers_busy")]
            assert lines == expected, text
        for process in procs:
            finish(process)
    with Engine(path, snapshot_interval=0.2) as engine:
        text = encode_text(engine.collect()).decode()
    assert "workers_busy " not in text  # exited processes' gauges are gone
    assert "served_total 10" in text  # 2 + 3, twice: counters never go back


def test_per_process_gauges_carry_a_pid_label(tmp_path):
    """aggregate="per_process" shows each live process's value with its pid."""
    path = str(tmp_path / "shared.db")
    Engine(path).close()
    procs = [worker("gauge", path, v, "per_process", stdin=subprocess.PIPE) for v in "47"]
    for process in procs:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    with Engine(path) as engine:
        text = encode_text(engine.collect()).decode()
    for process, value in zip(procs, "47", strict=True):
        assert f'workers_busy{{pid="{process.pid}"}} {value}' in text
        finish(process)


def test_kill_9_keeps_every_entry_whose_flush_returned(tmp_path):
    """SIGKILL mid-load: the file is intact and every entry flushed before the kill is there."""
    path = str(tmp_path / "crash.db")
    process = worker("crash", path)
    assert process.stdout is not None
    last_flushed = -1
    deadline = time.monotonic() + 60
    while last_flushed < 20_000 and time.monotonic() < deadline:
        last_flushed = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    connection = apsw.Connection(path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    seqs = {int(s) for (s,) in connection.execute("SELECT attributes ->> 'seq' FROM logs")}
    assert set(range(last_flushed + 1)) <= seqs
    assert connection.execute(UNSPANNED).fetchall() == [(0,)]  # time filters see them all
    before = int(scalar(connection, "SELECT max(id) FROM logs"))
    connection.close()
    # The next writer appends after what the killed one committed: its batches get the
    # ids they reserved, one after another, whichever way each goes in.
    with Engine(path) as engine:
        log = engine.logger("after")
        for batch in range(3):
            for i in range(5_000):
                log.info("after the kill", n=batch * 5_000 + i)
            assert engine.flush(60)
    connection = apsw.Connection(path)
    rows: list[Any] = connection.execute(
        "SELECT id, attributes ->> 'n' FROM logs WHERE logger = 'after' ORDER BY id"
    ).fetchall()
    first = int(rows[0][0])
    assert first > before
    assert rows == [(first + n, n) for n in range(15_000)]
    assert int(scalar(connection, "SELECT last_id FROM log_state")) == first + 14_999
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_kill_9_mid_scrape_never_loses_a_total_a_scrape_showed(tmp_path):
    """A process counting and scraping in a loop (each scrape saves its values first) is
    killed at random moments, most inside that save. The file stays intact, and what a
    later process shows never falls below the last total the killed one showed."""
    path = str(tmp_path / "scrapes.db")
    rng = random.Random(5)
    shown = 0.0
    for _ in range(6):
        process = worker("scrape_loop", path)
        assert process.stdout is not None
        first = float(process.stdout.readline())
        assert first >= shown  # it starts from what the killed ones saved
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate(timeout=30)
        # The last line may be cut by the kill: a shorter number only weakens the check.
        shown = max([first, *(float(line) for line in rest.split() if line)])
        connection = apsw.Connection(path)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.close()
        with Engine(path, snapshot_interval=3600) as engine:
            [family] = [f for f in engine.collect() if f.name == "jobs"]
            assert sum(value for _, _, value in family.samples) >= shown
    assert shown >= 300 * 6  # every worker scraped at least once after counting


def test_kill_9_mid_history_leaves_whole_history_points(tmp_path):
    """A process whose writer keeps the metric history as often as it can is killed at
    random moments, most inside a history insert. The file stays intact, and every
    point in time the history holds has all of the family's series: a point is
    written whole or not at all."""
    path = str(tmp_path / "history.db")
    rng = random.Random(7)
    for _ in range(6):
        process = worker("history_loop", path)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "counting"
        time.sleep(rng.uniform(0.2, 0.6))
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        connection = apsw.Connection(path)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        points = connection.execute(
            "SELECT process, ts, count(*) FROM metric_history WHERE sample = 'jobs_total' "
            "GROUP BY process, ts"
        ).fetchall()
        connection.close()
        assert {count for _, _, count in points} <= {300}
    assert len(points) > 60  # each writer kept many points, so kills land mid-insert


def test_a_forked_child_writes_only_its_own_entries(tmp_path):
    """After fork the child starts empty with its own writer: nothing is written twice."""
    path = tmp_path / "fork.db"
    with Engine(path, flush_interval=60, batch_size=10**6) as engine:
        log = engine.logger("p")
        counter = engine.counter("forks_total", "Forks")
        counter.inc(10)
        log.info("before fork")  # buffered, not yet written
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                log.info("in child")
                counter.inc()
                code = 0 if engine.flush(30) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        log.info("in parent")
        assert engine.flush(30)
        messages = sorted(row.message for row in engine.read_logs())
        totals = encode_text(engine.collect()).decode()
    assert messages == ["before fork", "in child", "in parent"]
    assert "forks_total 11" in totals  # the child counted 1, not 10 + 1


def test_offline_reader_follows_a_file_another_process_writes(tmp_path):
    """A reader in this process sees a writer process's rows by cursor, none twice."""
    path = str(tmp_path / "live.db")
    Engine(path).close()
    process = worker("log", path, "50000", "w")
    from observabilipy import SQLiteLogStorage

    reader = SQLiteLogStorage(path)
    seen: list[int] = []
    cursor: int | None = 0
    while True:
        rows = reader.query(after=cursor, limit=7000)
        seen.extend(json.loads(r[5])["seq"] for r in rows)
        if rows:
            cursor = rows[-1][0]
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.01)
    finish(process)
    assert seen == list(range(50_000))


def test_interpreter_exit_flushes_what_was_never_flushed(tmp_path):
    """A process that logs and exits without close() still has every entry and metric stored."""
    path = str(tmp_path / "exit.db")
    finish(worker("exit_without_close", path))
    connection = apsw.Connection(path)
    assert connection.execute("SELECT count(*) FROM logs").fetchall() == [(2000,)]
    with Engine(path) as engine:
        engine.counter("exits_total", "Exits")
        assert "\nexits_total 1\n" in encode_text(engine.collect()).decode()
