"""The writer's two ways into a real SQLite file agree: SQLite parsing the batch as JSON
(``jsonb_each``), and the Rust extension's ``observabilipy_entries`` reading it into
columns. Same rows stored, same entries rejected, whatever the entries hold."""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observabilipy import LogEntry
from observabilipy.adapters.storage import sqlite_insert
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage, load_sqlite_extension
from observabilipy.adapters.storage.sqlite_insert import insert_entries
from observabilipy.adapters.storage.sqlite_segments import DEFAULT_SEGMENTING as DEFAULT
from observabilipy.core.backend import native as native_backend
from observabilipy.runtime.buffer import entry_queue
from tests.backends import rust

texts = st.text(max_size=12) | st.sampled_from(['"', "\\", "\n\t\x01", "é😀", "\u2028", "\ud800"])
values = st.none() | st.booleans() | st.integers() | st.floats() | texts
attributes = st.dictionaries(st.text(max_size=5), values | st.lists(values, max_size=3), max_size=3)
entries = st.builds(
    LogEntry,
    timestamp=st.floats(allow_nan=True) | st.integers(-(10**12), 10**12) | st.just("soon"),
    level=st.sampled_from(["debug", "info", "warning", "error", "critical", "trace", 20]),
    message=texts | st.integers(),
    attributes=attributes | st.just([1]) | st.none(),
    logger=texts,
)


def stored(storage: SQLiteLogStorage) -> list[tuple[Any, ...]]:
    rows = storage.connection.execute(
        "SELECT id, ts, level, logger, message, attributes FROM logs ORDER BY id"
    ).fetchall()
    # NaN never equals itself; neither path may store one, but compare them as text.
    return [tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]


def insert(storage: SQLiteLogStorage, batch: Sequence[LogEntry], native: bool) -> list[str]:
    with storage.connection:
        _, rejected = insert_entries(storage.connection, batch, native=native)
    return [reason for _, reason in rejected]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[SQLiteLogStorage, SQLiteLogStorage]:
    native = SQLiteLogStorage(str(tmp_path / "native.db"))
    if not load_sqlite_extension(native.connection, rust().sqlite_extension):
        pytest.fail("this apsw cannot load the observabilipy SQLite extension")
    return native, SQLiteLogStorage(str(tmp_path / "json.db"))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(entries, max_size=6), min_size=1, max_size=3))
def test_both_paths_store_and_reject_the_same(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage], batches: list[list[LogEntry]]
) -> None:
    native, json = pair
    for storage in pair:
        with storage.connection:
            storage.connection.execute("DELETE FROM logs")
    for batch in batches:
        assert insert(native, batch, True) == insert(json, batch, False)
    assert stored(native) == stored(json)


@pytest.mark.skipif(native_backend is None, reason="the native queue is the Rust backend's")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(entries, max_size=6), min_size=1, max_size=3))
def test_batches_from_the_native_queue_store_and_reject_what_lists_do(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[LogEntry]]
) -> None:
    """The engine's queue on the Rust backend hands the writer its entries as JSON
    (those it does not write kept as objects): by either path, the rows stored and
    the entries rejected are those of the same entries as a list."""
    folder = tmp_path_factory.mktemp("paths")
    files = [SQLiteLogStorage(str(folder / f"{name}.db")) for name in ("a", "b", "c", "d")]
    listed, queued = (files[0], files[1]), (files[2], files[3])
    for storage in (listed[0], queued[0]):
        assert load_sqlite_extension(storage.connection, rust().sqlite_extension)
    queue = entry_queue()
    for batch in batches:
        for entry in batch:
            queue.append(entry)
        taken = queue.take(len(batch), True)
        for native, (from_list, from_queue) in (
            (True, (listed[0], queued[0])),
            (False, (listed[1], queued[1])),
        ):
            assert insert(from_queue, taken, native) == insert(from_list, batch, native)
    for from_list, from_queue in zip(listed, queued, strict=True):
        assert stored(from_queue) == stored(from_list)


@pytest.mark.skipif(native_backend is None, reason="the native queue is the Rust backend's")
def test_a_queued_batch_with_a_huge_entry_and_text_not_utf8_stores_what_a_list_does(
    tmp_path: Path,
) -> None:
    """A 4 MB message with escapes throughout (written natively, then cut by the rule
    after it is read back), a lone surrogate (kept as the object) and bytes among plain
    entries: the rows are those of the same entries as a list, on both paths."""
    big = 'x"\\\n😀' * 800_000
    batch = [LogEntry(1700000000.0 + i, "info", f"m{i}", {"i": i}, "l") for i in range(1_000)]
    batch[10] = LogEntry(1700000000.0, "error", big, {"big": big[:10]}, "l")
    batch[20] = LogEntry(1700000000.0, "error", "a\udcff", {"raw": b"\xff\xfe"}, "l\ud800")
    for native in (True, False):
        listed = SQLiteLogStorage(str(tmp_path / f"listed-{native}.db"))
        queued = SQLiteLogStorage(str(tmp_path / f"queued-{native}.db"))
        for storage in (listed, queued) if native else ():
            assert load_sqlite_extension(storage.connection, rust().sqlite_extension)
        queue = entry_queue()
        for entry in batch:
            queue.append(entry)
        assert insert(queued, queue.take(len(batch), True), native) == []
        assert insert(listed, batch, native) == []
        rows = stored(queued)
        assert rows == stored(listed)
        assert len(rows) == 1_000
        assert big.startswith(rows[10][4][:100_000])
        assert len(rows[10][4].encode()) < len(big.encode())  # cut to the entry limit
        assert rows[20][4] == "a\ufffd"


def test_the_native_path_stores_a_plain_batch(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage],
) -> None:
    """Ordinary entries take the table-valued function itself (no fallback)."""
    native, _ = pair
    batch = [LogEntry(1700000000.5 + i, "info", f"paid {i}", {"i": i}, "shop") for i in range(3)]
    assert insert(native, batch, True) == []
    assert stored(native)[1] == (2, 1700000001.5, 20, "shop", "paid 1", '{"i":1}')
    payload = b'[[1,"info","m",{},"l"],[2,"info",5,{},"l"]]'
    with pytest.raises(apsw.ConstraintError, match="the message must be a string"):
        native.connection.execute("SELECT * FROM observabilipy_entries(?)", (payload,)).fetchall()


def test_the_function_is_not_callable_from_a_schema(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage],
) -> None:
    """A view in the file cannot reach it: only the application's own statements."""
    native, _ = pair
    native.connection.execute("CREATE VIEW sneaky AS SELECT * FROM observabilipy_entries('[]')")
    with pytest.raises(apsw.SQLError, match="unsafe use of virtual table"):
        native.connection.execute("SELECT * FROM sneaky").fetchall()


@pytest.mark.parametrize(
    "batch",
    [
        b'[[1,"info","\xff\xfe",{},"l"]]',  # not UTF-8
        b'[[1,"info","m",{"a":[1},"l"]]',  # brackets that do not match
        b'[[1,"info","m",{},"l"]',  # cut short
        b"[" + b"[" * 100_000,  # deep and unclosed
        b"\x00" * 1_000_000,  # not JSON at all
        '[[1,"info","m",{},"l"]] trailing',
    ],
)
def test_the_function_refuses_hostile_batches_as_a_constraint(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage], batch: bytes | str
) -> None:
    """Whatever it is given, the function fails the statement the way a refused row
    does (the writer then goes entry by entry), and never stores part of it."""
    native, _ = pair
    with pytest.raises(apsw.ConstraintError, match="observabilipy_entries"), native.connection:
        native.connection.execute(
            "INSERT INTO logs (ts, level, logger, message, attributes) "
            "SELECT ts, level, logger, message, attributes FROM observabilipy_entries(?)",
            (batch,),
        )
    assert stored(native) == []


def test_a_huge_batch_and_a_huge_entry_go_in_whole(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage],
) -> None:
    """100,000 entries in one batch, and one entry of 4 MB with escapes throughout
    (cut to the entry limit by the storage rule, the same way on both paths)."""
    native, json = pair
    big = 'x"\\\n😀' * 800_000
    batch = [LogEntry(1700000000.0 + i, "info", f"m{i}", {"i": i}, "l") for i in range(100_000)]
    batch.append(LogEntry(1700000000.0, "error", big, {"big": big[:10]}, "l"))
    assert insert(native, batch, True) == insert(json, batch, False) == []
    rows = stored(native)
    assert len(rows) == 100_001
    assert big.startswith(rows[-1][4][:100_000])
    assert rows[:-1] == [
        (i + 1, 1700000000.0 + i, 20, "l", f"m{i}", f'{{"i":{i}}}') for i in range(100_000)
    ]
    assert rows == stored(json)


def test_the_function_refuses_what_the_rule_would_rewrite(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage],
) -> None:
    """The writer's batch check is the function's own: an entry longer than the limit
    it is given, or an integer in the attributes that may not fit in 64 bits, fails the
    statement (so the batch goes through the rule), and both paths store the same."""
    native, json = pair
    read = "SELECT message FROM observabilipy_entries(?, ?)"
    entry = b'[1,"info","m",{"n":123456789012345678},"l"]'
    assert native.connection.execute(read, (b"[" + entry + b"]", len(entry))).fetchall() == [("m",)]
    with pytest.raises(apsw.ConstraintError, match="longer than"):
        native.connection.execute(read, (b"[" + entry + b"]", len(entry) - 1)).fetchall()
    with pytest.raises(apsw.ConstraintError, match="64 bits"):
        native.connection.execute(read, (b'[[1,"info","m",{"n":[18446744073709551616]},"l"]]', 99))
    for limit in (-1, 1.5, "10", None):
        with pytest.raises(apsw.MismatchError, match="the entry limit must be an integer"):
            native.connection.execute(read, (b"[]", limit)).fetchall()
    batch = [
        LogEntry(1.0, "info", "wide", {"n": 2**64, "m": -(2**63) - 1}, "l"),
        LogEntry(2.0, "info", "long " + "x" * 200, {}, "l"),
        LogEntry(3.0, "info", "plain", {"n": 2**64 - 1}, "l"),
    ]
    with native.connection:
        assert insert_entries(native.connection, batch, max_bytes=100, native=True)[0] == 3
    with json.connection:
        assert insert_entries(json.connection, batch, max_bytes=100, native=False)[0] == 3
    assert stored(native) == stored(json)
    wide, long, plain = stored(native)
    assert wide[5] == '{"n":"18446744073709551616","m":"-9223372036854775809"}'
    assert '"_truncated"' in long[5]
    assert len(long[4]) < 100
    assert plain[5] == '{"n":18446744073709551615}'


@pytest.mark.parametrize("native_path", [True, False], ids=["function", "jsonb_each"])
def test_each_row_gets_the_id_reserved_for_it(
    pair: tuple[SQLiteLogStorage, SQLiteLogStorage], native_path: bool
) -> None:
    """A batch that follows the segment's last row goes in without ids (SQLite numbers
    it on from there); one that follows ids left unused (an entry rejected at the end
    of the batch before) gets its ids given. Either way each row has its reserved id."""
    storage = pair[0] if native_path else pair[1]
    connection = storage.connection

    def batch(*messages: str) -> list[LogEntry]:
        # A non-numeric timestamp can never be stored: the entry is rejected.
        never: Any = "soon"
        return [LogEntry(never if m == "bad" else 1.0, "info", m, {}, "l") for m in messages]

    for messages in (["a", "b", "c"], ["d", "e", "bad"], ["f", "g"], ["h"]):
        insert(storage, batch(*messages), native_path)
    ids = connection.execute("SELECT id, message FROM logs ORDER BY id").fetchall()
    assert ids == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (7, "f"), (8, "g"), (9, "h")]
    with connection:  # the last batch followed the segment's last row: all in one run
        run = sqlite_insert._insert_at_once(
            connection,
            2,
            b'[[1,"info","i",{},"l"],[1,"info","j",{},"l"]]',
            99,
            DEFAULT,
            native_path,
        )
    assert run.error is None
    assert run.done == sqlite_insert._AT_ONCE
    assert connection.execute("SELECT max(id) FROM logs").fetchall() == [(11,)]
