"""`observabilipy logs` as a user runs it: a real file, a real subprocess, its output."""

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from observabilipy import Engine, LogEntry

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def run_env(**extra):
    """The environment for a CLI subprocess: UTC, no colour hints, no inherited settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "TZ", "OBSERVABILIPY_DB", "OBSERVABILIPY_TOKEN")
    }
    return {**env, "TZ": "UTC", **extra}


def cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "observabilipy", "logs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or run_env(),
        cwd=cwd,
    )


@pytest.fixture
def db(tmp_path):
    """A file written by an Engine: four entries at known times, levels and loggers."""
    path = tmp_path / "app.db"
    with Engine(path) as engine:
        engine.logs.write_many(
            [
                LogEntry(T0, "info", "paid", {"order_id": 7, "amount": 9.5}, "checkout"),
                LogEntry(T0 + 1.5, "warning", "slow", {"seconds": 2.5}, "checkout"),
                LogEntry(T0 + 60, "debug", "cache miss", {"key": "a b"}, "cache"),
                LogEntry(T0 + 3600, "error", "failed", {}, "checkout"),
            ]
        )
    return path


def test_json_prints_the_ndjson_that_get_logs_serves(db):
    """--json prints exactly one NDJSON object a line, oldest first, with cursor ids."""
    result = cli("--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{"id":1,"timestamp":"2023-11-14T22:13:20.000000Z","level":"info","message":"paid",'
        '"logger":"checkout","attributes":{"order_id":7,"amount":9.5}}',
        '{"id":2,"timestamp":"2023-11-14T22:13:21.500000Z","level":"warning","message":"slow",'
        '"logger":"checkout","attributes":{"seconds":2.5}}',
        '{"id":3,"timestamp":"2023-11-14T22:14:20.000000Z","level":"debug","message":"cache miss",'
        '"logger":"cache","attributes":{"key":"a b"}}',
        '{"id":4,"timestamp":"2023-11-14T23:13:20.000000Z","level":"error","message":"failed",'
        '"logger":"checkout","attributes":{}}',
    ]
    assert result.stderr == ""


@pytest.mark.parametrize("output", ["--json", "--table"])
def test_long_reads_come_in_chunks_and_respect_limit(tmp_path, output):
    """More entries than one read holds: every one once, in order, up to --limit."""
    path = tmp_path / "many.db"
    with Engine(path) as engine:
        engine.logs.write_many(LogEntry(T0 + i, "info", f"m{i}", {}, "app") for i in range(2500))
    args = ["--db", str(path), "--limit", "2100"] + (["--json"] if output == "--json" else [])
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2100
    if output == "--json":
        assert [json.loads(line)["id"] for line in lines] == list(range(1, 2101))
    assert "m2099" in lines[-1]
    everything = cli("--db", str(path), *args[4:])
    assert len(everything.stdout.splitlines()) == 2500


def test_table_shows_local_time_level_logger_message_and_attributes(db):
    """Without --json each entry is one readable line in local time, with no colour in a pipe."""
    result = cli("--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2023-11-14 22:13:20.000  INFO      checkout  paid  order_id=7 amount=9.5",
        "2023-11-14 22:13:21.500  WARNING   checkout  slow  seconds=2.5",
        '2023-11-14 22:14:20.000  DEBUG     cache  cache miss  key="a b"',
        "2023-11-14 23:13:20.000  ERROR     checkout  failed",
    ]
    shifted = cli("--db", str(db), "--limit", "1", env=run_env(TZ="JST-9"))
    assert shifted.stdout.startswith("2023-11-15 07:13:20.000  INFO  ")


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        (["--level", "warning"], [2, 4]),
        (["--level", "ERR"], [4]),
        (["--logger", "cache"], [3]),
        (["--limit", "2"], [1, 2]),
        (["--since", str(T0 + 1)], [2, 3, 4]),
        (["--since", "2023-11-14T22:14:20Z"], [3, 4]),
        (["--until", "2023-11-14T23:14:20+01:00"], [1, 2]),
        (["--since", str(T0 + 1), "--until", str(T0 + 3600), "--logger", "checkout"], [2]),
        (["--since", "1h"], []),
    ],
)
def test_filters_narrow_the_entries(db, args, ids):
    """--level (a minimum), --logger, --limit, --since and --until select as GET /logs does."""
    result = cli("--db", str(db), "--json", *args)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ids


def test_since_a_duration_counts_back_from_now(tmp_path):
    """--since 10m shows entries of the last ten minutes and not older ones."""
    path = tmp_path / "app.db"
    with Engine(path) as engine:
        engine.logs.write_many([LogEntry(time.time() - 3600, "info", "an hour ago", {}, "")])
        engine.logger("web").info("just now")
    result = cli("--db", str(path), "--since", "10m")
    assert result.returncode == 0, result.stderr
    assert [line[25:] for line in result.stdout.splitlines()] == ["INFO      web  just now"]


def test_bad_since_exits_2_naming_the_value(db):
    """A --since that is no duration, time or number is a usage error that quotes it."""
    result = cli("--db", str(db), "--since", "5x")
    assert result.returncode == 2
    assert "argument --since: '5x' is not a duration" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_an_error_and_is_not_created(tmp_path):
    """Reading a database that does not exist fails with status 1 and creates nothing."""
    result = cli("--db", str(tmp_path / "nope.db"))
    assert result.returncode == 1
    assert f"no database at {tmp_path / 'nope.db'}" in result.stderr
    assert list(tmp_path.iterdir()) == []
    default = cli(cwd=tmp_path)  # no --db: ./observabilipy.db, which is not there either
    assert default.returncode == 1
    assert "no database at observabilipy.db" in default.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_ours_is_refused_untouched(tmp_path):
    """A text file or an empty file is reported (status 1) and left exactly as it was."""
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    empty = tmp_path / "empty.db"
    empty.touch()
    for path, message in ((text, "is not a SQLite database"), (empty, "holds no observabilipy")):
        before = path.read_bytes()
        result = cli("--db", str(path))
        assert result.returncode == 1
        assert message in result.stderr
        assert str(path) in result.stderr
        assert "Traceback" not in result.stderr
        assert path.read_bytes() == before


def test_console_script_is_installed():
    """The `observabilipy` script sits beside the interpreter and runs the same CLI."""
    script = Path(sys.executable).parent / "observabilipy"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "logs" in result.stdout


class Follower:
    """`logs --follow` in a subprocess, its stdout read on a thread so every wait is bounded."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "observabilipy", "logs", "--follow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=run_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def take(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        return [
            self.lines.get(timeout=max(0.01, deadline - time.monotonic())) for _ in range(count)
        ]

    def nothing_more(self, wait=1.5):
        try:
            extra = self.lines.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected line: {extra!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)  # EOF once the process is gone
        for stream in (self.proc.stdout, self.proc.stderr):
            assert stream is not None
            stream.close()


def test_follow_prints_new_entries_once_each(db):
    """--follow prints what is there, then each entry written later, never one twice."""
    with Follower("--db", str(db), "--json") as follower:
        assert [json.loads(line)["id"] for line in follower.take(4)] == [1, 2, 3, 4]
        with Engine(db) as engine:
            log = engine.logger("late")
            for round_ in range(3):
                for i in range(5):
                    log.info("appended", round=round_, i=i)
                assert engine.flush()
                time.sleep(0.3)  # let some polls see partial rounds
        later = [json.loads(line) for line in follower.take(15)]
        assert [entry["id"] for entry in later] == list(range(5, 20))
        assert [(e["attributes"]["round"], e["attributes"]["i"]) for e in later] == [
            (r, i) for r in range(3) for i in range(5)
        ]
        assert follower.nothing_more()
        assert follower.proc.poll() is None  # still following


def test_follow_with_a_filter_skips_other_entries(db):
    """Entries the filter leaves out are passed over, matching ones still arrive once."""
    with Follower("--db", str(db), "--level", "error") as follower:
        assert follower.take(1)[0][25:] == "ERROR     checkout  failed"
        with Engine(db) as engine:
            log = engine.logger("late")
            for i in range(200):
                log.info("noise", i=i)
            log.error("wanted", n=1)
            assert engine.flush()
            time.sleep(1.2)  # past two polls
            log.info("noise again")
            log.critical("wanted", n=2)
        assert [line[25:] for line in follower.take(2)] == [
            "ERROR     late  wanted  n=1",
            "CRITICAL  late  wanted  n=2",
        ]
        assert follower.nothing_more()


def test_ctrl_c_ends_follow_quietly_with_status_0(db):
    """SIGINT (Ctrl-C) stops --follow with exit status 0 and nothing on stderr."""
    with Follower("--db", str(db)) as follower:
        follower.take(4)
        follower.proc.send_signal(signal.SIGINT)
        assert follower.proc.wait(timeout=10) == 0
        assert follower.proc.stderr is not None
        assert follower.proc.stderr.read() == ""


def test_follow_with_limit_stops_by_itself(db):
    """--follow --limit N exits 0 once N entries are printed, the later ones included."""
    with Follower("--db", str(db), "--json", "--limit", "6") as follower:
        follower.take(4)
        with Engine(db) as engine:
            for i in range(3):
                engine.logger().info("more", i=i)
        assert [json.loads(line)["id"] for line in follower.take(2)] == [5, 6]
        assert follower.proc.wait(timeout=10) == 0


def run_on_terminal(db, **env):
    """Run `logs` with stdout on a pseudo-terminal; returns what it printed there."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "observabilipy", "logs", "--db", str(db), "--limit", "2"],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=run_env(**env),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_levels_are_coloured_on_a_terminal_unless_no_color(db):
    """On a TTY the level carries an ANSI colour; NO_COLOR turns that off."""
    coloured = run_on_terminal(db)
    assert "\x1b[32mINFO    \x1b[0m  checkout  paid" in coloured
    assert "\x1b[33mWARNING \x1b[0m  checkout  slow" in coloured
    plain = run_on_terminal(db, NO_COLOR="1")
    assert "\x1b" not in plain
    assert "INFO      checkout  paid" in plain


@pytest.mark.parametrize("output", ["--json", "--table"])
def test_rows_larger_than_a_read_print_whole_in_order(tmp_path, output):
    """Rows of 800 KB, more than one read's budget: each prints whole, once, in order."""
    path = tmp_path / "big.db"
    with Engine(path) as engine:
        engine.logs.write_many(LogEntry(T0 + i, "info", f"{i}" + "y" * 800_000) for i in range(5))
    args = ["--db", str(path)] + (["--json"] if output == "--json" else [])
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(len(line) > 800_000 for line in lines)


def test_a_row_an_older_version_let_in_is_a_clear_error_not_a_traceback(tmp_path):
    """A version-1 file read as it is (logs never migrates a file) holding a timestamp
    out of range: one line saying what is wrong and how to fix it, exit status 1."""
    import apsw

    from observabilipy.adapters.storage.sqlite_schema import APPLICATION_ID, apply_migration

    path = tmp_path / "old.db"
    connection = apsw.Connection(str(path))
    apply_migration(connection, 0)
    connection.execute(f"PRAGMA user_version=1; PRAGMA application_id={APPLICATION_ID}")
    connection.execute(
        "INSERT INTO logs (ts, level, logger, message, attributes) VALUES (3e11, 20, '', 'x', '{}')"
    )
    connection.close()
    result = cli("--db", str(path), "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "outside years 1-9999" in result.stderr or "timestamp" in result.stderr
    assert "opening it once" in result.stderr
