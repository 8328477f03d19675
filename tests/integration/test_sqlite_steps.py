"""A list of statements run as one step (``sqlite_steps``): the Rust runner, with the
GIL released once, and the apsw one give the same values, stop at the same place and
fail with the same errors, leaving the same file behind."""

import threading
from pathlib import Path
from typing import Any

import apsw
import pytest

from observabilipy.adapters.storage.sqlite import load_sqlite_extension
from observabilipy.adapters.storage.sqlite_steps import Run, run_steps
from observabilipy.core import backend
from tests.backends import rust

SETUP = "CREATE TABLE t (id INTEGER PRIMARY KEY, x NOT NULL, y TEXT, z BLOB)"
STEPS = [
    "INSERT INTO t (x, y, z) VALUES (:a, :text, :blob) RETURNING id AS first, x * 2 AS doubled",
    "INSERT INTO t (x, y) SELECT :doubled + value, 'n' FROM json_each('[1, 2, 3]')",
    "SELECT count(*) AS rows, sum(x) AS total, max(y) AS top, :first AS again, 0.5 AS half, "
    "NULL AS absent FROM t",
    "SELECT :rows > :limit AS stop, 'later' AS never",
    "SELECT 'after the stop' AS late",
]


def connection_at(path: Path, native: bool) -> apsw.Connection:
    connection = apsw.Connection(str(path))
    connection.execute(SETUP)
    if native and not load_sqlite_extension(connection, rust().sqlite_extension):
        pytest.fail("this apsw cannot load the observabilipy SQLite extension")
    return connection


def both(tmp_path: Path, steps: list[str], params: dict[str, Any]) -> tuple[Run, Run, list[Any]]:
    """The run through Rust and through apsw on two files alike, and each file's rows."""
    if backend.native is None:
        pytest.skip("the Rust runner needs the Rust extension")
    runs, contents = [], []
    for native in (True, False):
        connection = connection_at(tmp_path / f"{native}.db", native)
        with connection:
            runs.append(run_steps(connection, steps, params, native=native))
        contents.append(connection.execute("SELECT * FROM t ORDER BY id").fetchall())
        connection.close()
    assert contents[0] == contents[1]
    return runs[0], runs[1], contents[0]


def described(run: Run) -> tuple[Any, ...]:
    error = None if run.error is None else (type(run.error), str(run.error))
    return run.values, run.done, error


def test_values_flow_from_step_to_step_and_a_stop_ends_the_run(tmp_path):
    params = {"a": 20, "text": "é", "blob": b"\x00\x01", "limit": 3}
    native, python, rows = both(tmp_path, STEPS, params)
    assert described(native) == described(python)
    assert native.values == {
        "first": 1,
        "doubled": 40,
        "rows": 4,
        "total": 20 + 41 + 42 + 43,
        "top": "é",
        "again": 1,
        "half": 0.5,
        "absent": None,
        "stop": 1,
        "never": "later",
    }
    assert native.done == 4
    assert rows[0] == (1, 20, "é", b"\x00\x01")


def test_without_a_stop_every_step_runs(tmp_path):
    native, python, _ = both(tmp_path, STEPS, {"a": 1, "text": None, "blob": None, "limit": 9})
    assert described(native) == described(python)
    assert native.done == len(STEPS)
    assert native.values["late"] == "after the stop"


@pytest.mark.parametrize(
    ("params", "failing"),
    [
        ({"a": None, "text": "t", "blob": None, "limit": 1}, apsw.ConstraintError),
        ({"a": 1, "text": "t", "blob": None}, apsw.RangeError),  # :limit has no value
    ],
)
def test_a_failing_step_ends_the_run_with_apsws_error(tmp_path, params, failing):
    native, python, _ = both(tmp_path, STEPS, params)
    assert described(native) == described(python)
    assert isinstance(native.error, failing)


def test_a_statement_sqlite_cannot_prepare_fails_as_apsw_says(tmp_path):
    native, python, _ = both(tmp_path, ["SELECT 1 AS one", "SELEKT 2"], {})
    assert described(native) == described(python)
    assert isinstance(native.error, apsw.SQLError)
    assert native.values == {"one": 1}
    assert native.done == 1


def test_the_rust_runner_refuses_a_step_of_two_statements(tmp_path):
    """SQLite prepares a text's first statement only: the second would be skipped."""
    if backend.native is None:
        pytest.skip("the Rust runner needs the Rust extension")
    connection = connection_at(tmp_path / "two.db", native=True)
    run = run_steps(connection, ["INSERT INTO t (x) VALUES (1); DELETE FROM t"], {}, native=True)
    assert isinstance(run.error, apsw.MisuseError)
    assert "one statement per step" in str(run.error)
    assert connection.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    whitespace = run_steps(connection, ["SELECT 1 AS one;  \n"], {}, native=True)
    assert (whitespace.values, whitespace.error) == ({"one": 1}, None)


def test_a_lock_held_elsewhere_is_a_busy_error_after_the_timeout(tmp_path):
    """Busy waits run with the GIL released: another thread keeps running meanwhile."""
    if backend.native is None:
        pytest.skip("the Rust runner needs the Rust extension")
    path = tmp_path / "busy.db"
    connection = connection_at(path, native=True)
    connection.set_busy_timeout(300)
    holder = apsw.Connection(str(path))
    holder.execute("BEGIN IMMEDIATE")
    ticks = 0
    stop = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        run = run_steps(connection, ["INSERT INTO t (x) VALUES (1)"], {}, native=True)
    finally:
        stop.set()
        thread.join()
        holder.execute("ROLLBACK")
    assert isinstance(run.error, apsw.BusyError)
    assert run.done == 0
    assert ticks > 1000
