"""``observabilipy_ndjson`` (the Rust SQLite extension) against ``encode_log_rows``.

Rows go into a real SQLite file as any writer could leave them; both readers must give
the same bytes, chunk by chunk, whatever the filters.
"""

import json
from pathlib import Path
from typing import Any

import apsw
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observabilipy import encoders
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage, load_sqlite_extension
from observabilipy.adapters.storage.sqlite_ndjson import Chunk
from tests.backends import PYTHON, rust

INSERT = "INSERT INTO logs (ts, level, logger, message, attributes) VALUES (?, ?, ?, ?, ?)"
Row = tuple[float | int, int, str, str, str]


def readers(path: Path) -> tuple[SQLiteLogStorage, SQLiteLogStorage]:
    """Two storages on one file: SQLite assembling the NDJSON, and Python doing it."""
    native = SQLiteLogStorage(str(path))
    if not load_sqlite_extension(native.connection, rust().sqlite_extension):
        pytest.fail("this apsw cannot load the observabilipy SQLite extension")
    native.native_ndjson = True
    python = SQLiteLogStorage(str(path))
    python.native_ndjson = False
    return native, python


def store(storage: SQLiteLogStorage, rows: list[Row]) -> None:
    with storage.connection:
        storage.connection.executemany(INSERT, rows)


ROWS: list[Row] = [
    (1_764_141_788.123456, 20, "checkout", "paid", '{"order_id":7}'),
    (1_764_141_788.5, 10, "", "", "{}"),
    (0.0000005, 30, "a\nb", 'quote " and \\ back', '{"k":[1,2.5,null,true]}'),
    (-1.0000015, 40, "ünïcødé", "emoji 🎉 and \x00\x01\x1f\x7f", '{"s":"\\u0000"}'),
    (1_764_141_788, 50, "int timestamp", "tab\there\r\x08\x0c", '{"big":123456789012345678901}'),
    (253_402_300_799.5, 50, "year 9999", "last second", "{}"),
    (-62_135_596_800.0, 20, "year 1", "first second", "{}"),
]


def test_the_extension_loads_with_the_rust_backend(tmp_path: Path) -> None:
    storage = SQLiteLogStorage(str(tmp_path / "logs.db"))
    assert storage.native_ndjson is (encoders.backend == "rust")


def test_a_library_that_cannot_load_leaves_the_python_reader(tmp_path: Path) -> None:
    storage = SQLiteLogStorage(str(tmp_path / "logs.db"))
    assert not load_sqlite_extension(storage.connection, str(tmp_path / "missing.so"))
    assert not load_sqlite_extension(storage.connection, None)
    storage.native_ndjson = False
    store(storage, ROWS[:1])
    assert storage.read_ndjson() == (1, 1, PYTHON.encode_log_rows(storage.query()), False)


def test_both_readers_give_the_same_bytes(tmp_path: Path) -> None:
    native, python = readers(tmp_path / "logs.db")
    store(native, ROWS)
    expected = PYTHON.encode_log_rows(python.query())
    assert native.read_ndjson(limit=100) == (len(ROWS), len(ROWS), expected, False)
    assert python.read_ndjson(limit=100) == (len(ROWS), len(ROWS), expected, False)
    assert b'"message":"emoji \xf0\x9f\x8e\x89 and \\u0000\\u0001\\u001f\x7f"' in expected


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"after": 2},
        {"level": "warning"},
        {"logger": "checkout"},
        {"since": 0.0, "until": 1_764_141_788.4},
        {"after": 100},
    ],
)
def test_filters_and_chunks_agree(tmp_path: Path, filters: dict[str, Any]) -> None:
    native, python = readers(tmp_path / "logs.db")
    store(native, ROWS * 5)
    after = filters.pop("after", None)
    whole = PYTHON.encode_log_rows(python.query(after=after, **filters))
    for limit in (1, 3, 1000):
        cursor, bodies = after, []
        while True:
            got = native.read_ndjson(after=cursor, limit=limit, **filters)
            assert got == python.read_ndjson(after=cursor, limit=limit, **filters)
            count, cursor_after, body, more = got
            assert not more
            if count == 0:
                assert (cursor_after, body) == (cursor, b"")  # no rows: the cursor stays
                break
            assert count <= limit
            cursor = cursor_after
            bodies.append(body)
        assert b"".join(bodies) == whole


def test_chunks_across_deleted_ids_are_still_full(tmp_path: Path) -> None:
    """Ids left by retention have gaps: a chunk still holds ``limit`` rows when that many
    follow the cursor, and ends at the last row it holds."""
    native, python = readers(tmp_path / "logs.db")
    store(native, ROWS * 20)  # ids 1..140
    with native.connection:
        native.connection.execute("DELETE FROM logs WHERE id BETWEEN 10 AND 60 OR id % 7 = 0")
    cases: list[dict[str, Any]] = [{}, {"level": "warning"}]
    for filters in cases:
        first = native.read_ndjson(limit=20, **filters)
        assert first == python.read_ndjson(limit=20, **filters)
        assert first[0] == 20
        ids = [json.loads(line)["id"] for line in first[2].splitlines()]
        assert first[1] == ids[-1]
        assert not any(10 <= i <= 60 or i % 7 == 0 for i in ids)
        rest = native.read_ndjson(after=first[1], limit=1000, **filters)
        assert rest == python.read_ndjson(after=first[1], limit=1000, **filters)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused(tmp_path: Path, limit: int) -> None:
    native, python = readers(tmp_path / "logs.db")
    store(native, ROWS)
    for reader in (native, python):
        with pytest.raises(ValueError, match=f"limit must be at least 1, got {limit}"):
            reader.read_ndjson(limit=limit)


texts = st.text(st.characters(exclude_categories=["Cs"]))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[SQLiteLogStorage, SQLiteLogStorage]:
    return readers(tmp_path_factory.mktemp("ndjson") / "logs.db")


attributes = st.dictionaries(texts, st.one_of(texts, st.integers(), st.floats(allow_nan=False)))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(
                st.floats(min_value=-62_135_596_800, max_value=253_402_300_799),
                st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
            ),
            st.sampled_from([10, 20, 30, 40, 50]),
            texts,
            texts,
            attributes.map(lambda value: json.dumps(value, ensure_ascii=False)),
        ),
        max_size=20,
    )
)
def test_any_stored_row_reads_the_same(
    shared: tuple[SQLiteLogStorage, SQLiteLogStorage], rows: list[Row]
) -> None:
    native, python = shared
    with native.connection:
        native.connection.execute("DELETE FROM logs")
    store(native, rows)
    assert native.read_ndjson(limit=50) == python.read_ndjson(limit=50)


# Bytes another tool may have stored in a text column: anything, as text or as a blob.
stored_bytes = st.tuples(st.binary(max_size=12), st.booleans())
# Inside a JSON string: no quote, backslash or control byte, so the object stays whole.
string_bytes = st.lists(st.integers(0x20, 0xFF).filter(lambda b: b not in b'"\\')).map(bytes)


def bind(value: bytes, as_blob: bool) -> str:
    return "?" if as_blob else "CAST(? AS TEXT)"


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(stored_bytes, stored_bytes, string_bytes.map(lambda b: b'{"k":"%s"}' % b)),
        min_size=1,
        max_size=6,
    )
)
def test_text_that_is_not_utf8_reads_as_replacement_characters(
    shared: tuple[SQLiteLogStorage, SQLiteLogStorage],
    rows: list[tuple[tuple[bytes, bool], tuple[bytes, bool], bytes]],
) -> None:
    """A file another tool wrote may hold any bytes as text, or blobs: every reader
    serves them, with U+FFFD where they are not UTF-8, and both readers agree."""
    native, python = shared
    with native.connection:
        native.connection.execute("DELETE FROM logs")
        for (message, blob_message), (logger, blob_logger), attributes in rows:
            native.connection.execute(
                "INSERT INTO logs (ts, level, logger, message, attributes) VALUES "
                f"(0, 20, {bind(logger, blob_logger)}, {bind(message, blob_message)}, "
                "CAST(? AS TEXT))",
                (logger, message, attributes),
            )
    body = native.read_ndjson(limit=50).body
    assert body == python.read_ndjson(limit=50).body
    last = native.read_ndjson(limit=50).cursor or 0
    assert native.read_ndjson_ids(0, last) == python.read_ndjson_ids(0, last)
    lines = [orjson.loads(line) for line in body.splitlines()]
    stored = [row[3:] for row in native.query()]
    assert stored == [row[3:] for row in python.query()]
    assert [(line["message"], line["logger"]) for line in lines] == [row[:2] for row in stored]
    for (message, _), (logger, _), attributes in rows:
        decoded = (message.decode(errors="replace"), logger.decode(errors="replace"))
        assert decoded in [row[:2] for row in stored]
        assert attributes.decode(errors="replace") in [row[2] for row in stored]


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ((1e300, 20, "l", "m", "{}"), "ts"),
        ((-62_135_596_801.0, 20, "l", "m", "{}"), "ts"),
        ((0.0, 35, "l", "m", "{}"), "level"),
        ((0.0, 20, None, "m", "{}"), "logger"),
    ],
)
def test_the_schema_refuses_rows_readers_could_not_serve(tmp_path: Path, row, rule) -> None:
    """Whoever writes the file, a row the readers could not encode never gets in."""
    native, _ = readers(tmp_path / "logs.db")
    with pytest.raises(apsw.ConstraintError, match=rule):
        store(native, [row])


def test_rows_out_of_cursor_order_are_refused(tmp_path: Path) -> None:
    native, _ = readers(tmp_path / "logs.db")
    store(native, ROWS[:3])
    unordered = (
        "SELECT observabilipy_ndjson(id, ts, 'info', message, logger, attributes, 1000000) "
        "FROM (SELECT * FROM logs ORDER BY id DESC)"
    )
    with pytest.raises(Exception, match="ascending id order, got 2 after 3"):
        native.connection.execute(unordered).fetchall()


def test_id_ranges_agree_and_their_cursor_stops_at_the_newest_row(tmp_path: Path) -> None:
    """read_ndjson_ids: both readers give the same bytes for any range; the cursor is the
    range's end, or the newest id given when that is lower (a deleted row's too: it never
    comes back), and never goes back."""
    native, python = readers(tmp_path / "logs.db")
    assert native.read_ndjson_ids(0, 10) == python.read_ndjson_ids(0, 10) == (0, 0, b"", False)
    store(native, ROWS * 3)  # ids 1..21
    with native.connection:
        native.connection.execute("DELETE FROM logs WHERE id IN (3, 4, 5, 21)")
    for after, upto in [(0, 2), (0, 5), (2, 5), (5, 10), (10, 40), (19, 25), (30, 40)]:
        got = native.read_ndjson_ids(after, upto)
        assert got == python.read_ndjson_ids(after, upto)
        count, cursor, body, _ = got
        ids = [json.loads(line)["id"] for line in body.splitlines()]
        assert ids == [i for i in range(after + 1, upto + 1) if i not in (3, 4, 5) and i <= 20]
        assert (count, cursor) == (len(ids), max(after, min(upto, 21)))
    whole = b"".join(native.read_ndjson_ids(a, a + 4)[2] for a in range(0, 24, 4))
    assert whole == native.read_ndjson(limit=100)[2]


def test_id_ranges_read_on_several_threads_at_once(tmp_path: Path) -> None:
    """Ranges read from many threads at once each come back whole (readers have their
    own connections), while the main connection keeps writing."""
    from concurrent.futures import ThreadPoolExecutor

    native, _ = readers(tmp_path / "logs.db")
    store(native, ROWS * 300)  # 2,100 rows
    expected = {a: native.read_ndjson_ids(a, a + 100) for a in range(0, 2100, 100)}
    with ThreadPoolExecutor(4) as pool:
        reads = {a: pool.submit(native.read_ndjson_ids, a, a + 100) for a in expected}
        store(native, ROWS)  # a write between the reads
        assert {a: read.result() for a, read in reads.items()} == expected
    native.close()


def test_a_closed_storage_reads_no_more_and_keeps_no_reader(tmp_path: Path) -> None:
    """Ranges read after close raise like the storage's other reads; a reader still
    in use at close is closed when it comes back, not kept."""
    import apsw

    native, _ = readers(tmp_path / "logs.db")
    store(native, ROWS)
    with native._reader() as (connection, _loaded):
        native.close()
        assert connection.execute("SELECT count(*) FROM logs").fetchall() == [(7,)]
    with pytest.raises(apsw.ConnectionClosedError):
        connection.execute("SELECT 1")
    with pytest.raises(apsw.ConnectionClosedError, match="closed"):
        native.read_ndjson_ids(0, 10)


def test_a_read_stops_at_its_byte_budget_and_says_so(tmp_path: Path) -> None:
    """Rows of 20 KB: a read of 50 with a 64 KB budget holds four (the one that crossed
    it included) and says more follow; both readers cut at the same row, by range and
    by filter, and reading on from the cursor gives every row once."""
    native, python = readers(tmp_path / "logs.db")
    store(native, [(float(i), 20, "big", "x" * 20_000, "{}") for i in range(50)])
    budget = 64 * 1024
    for read in (
        lambda reader, after: reader.read_ndjson(after, limit=50, max_bytes=budget),
        lambda reader, after: reader.read_ndjson_ids(after, after + 50, budget),
        lambda reader, after: reader.read_ndjson(after, limit=50, logger="big", max_bytes=budget),
    ):
        cursor, ids = 0, []
        while True:
            got = read(native, cursor)
            assert got == read(python, cursor)
            if not got.rows:
                break
            assert len(got.body) < budget + 21_000
            assert got.rows == 4 or not got.more
            ids += [json.loads(line)["id"] for line in got.body.splitlines()]
            cursor = got.cursor
        assert ids == list(range(1, 51))


def test_a_row_larger_than_the_budget_is_read_alone(tmp_path: Path) -> None:
    """A 3 MB row with a 1 KB budget: each read holds exactly one row, never none."""
    native, python = readers(tmp_path / "logs.db")
    store(native, [(1.0, 20, "", "y" * 3_000_000, "{}"), (2.0, 20, "", "small", "{}")])
    for reader in (native, python):
        first = reader.read_ndjson(limit=10, max_bytes=1024)
        assert (first.rows, first.cursor, first.more) == (1, 1, True)
        second = reader.read_ndjson(first.cursor, limit=10, max_bytes=1024)
        assert (second.rows, second.cursor, second.more) == (1, 2, False)


def test_a_budget_past_the_room_reserved_up_front_reads_the_same(tmp_path: Path) -> None:
    """A read reserves at most 1 MiB before its first line: with a 4 MiB budget, lines
    of 700 KB (escapes, non-ASCII, a 1.5 MB row) grow the body past that room, and both
    readers still give the same bytes, every row once; a 900 KB row that is not UTF-8
    reads with a replacement character in both."""
    native, python = readers(tmp_path / "logs.db")
    texts = ['"\\\n\x01' * 100_000, "é🎉" * 100_000, "x" * 700_000, "y" * 1_500_000]
    store(native, [(float(i), 20, "l", texts[i % 4], "{}") for i in range(12)])
    for ranges in (False, True):
        cursor, ids = 0, []
        while True:
            if ranges:
                got = native.read_ndjson_ids(cursor, cursor + 100, max_bytes=4 * 1024 * 1024)
                other = python.read_ndjson_ids(cursor, cursor + 100, max_bytes=4 * 1024 * 1024)
            else:
                got = native.read_ndjson(cursor, limit=100, max_bytes=4 * 1024 * 1024)
                other = python.read_ndjson(cursor, limit=100, max_bytes=4 * 1024 * 1024)
            assert got == other
            ids += [json.loads(line)["id"] for line in got.body.splitlines()]
            if not got.more:
                break
            assert got.cursor is not None
            cursor = got.cursor
        assert ids == list(range(1, 13))
    with native.connection:
        native.connection.execute(
            "INSERT INTO logs (ts, level, logger, message, attributes) "
            "VALUES (12, 20, 'l', CAST(x'61ff62' AS TEXT) || ?, '{}')",
            ("z" * 900_000,),
        )
    last = native.read_ndjson(12, limit=1, max_bytes=4 * 1024 * 1024)
    assert orjson.loads(last.body)["message"] == "a\ufffdb" + "z" * 900_000
    assert python.read_ndjson(12, limit=1, max_bytes=4 * 1024 * 1024) == last
    assert python.read_ndjson_ids(12, 13, max_bytes=4 * 1024 * 1024)[2] == last.body
    assert python.query(after=12)[0][3] == "a\ufffdb" + "z" * 900_000


def test_reads_cut_while_reading_text_that_is_not_utf8_as_bytes_lose_nothing(
    tmp_path: Path,
) -> None:
    """A fetch that fails on text that is not UTF-8 reads the rows again as bytes; reads
    cut by a small budget in that mode give every row once, in order, as the Rust reader
    does, and leave the connection free for writes (no read transaction left open)."""
    native, python = readers(tmp_path / "logs.db")
    with native.connection:
        for i in range(40):
            text = (b"\xff" if i % 7 == 2 else b"") + f"row {i} ".encode() + b"p" * 300
            native.connection.execute(
                "INSERT INTO logs (ts, level, logger, message, attributes) "
                "VALUES (?, 20, 'l', CAST(? AS TEXT), '{}')",
                (float(i), text),
            )
    for ranges in (False, True):
        cursor, bodies = 0, []
        while True:
            if ranges:
                got = python.read_ndjson_ids(cursor, 40, max_bytes=1024)
                assert got == native.read_ndjson_ids(cursor, 40, max_bytes=1024)
            else:
                got = python.read_ndjson(cursor, limit=40, max_bytes=1024)
                assert got == native.read_ndjson(cursor, limit=40, max_bytes=1024)
            bodies.append(got.body)
            if not got.more:
                break
            cursor = got.cursor or cursor
        lines = [orjson.loads(line) for line in b"".join(bodies).splitlines()]
        assert [line["id"] for line in lines] == list(range(1, 41))
        assert lines[2]["message"].startswith("\ufffdrow 2 ")
    rows = list(python.iter_rows(chunk=3))
    assert [row[0] for row in rows] == list(range(1, 41))
    with python.connection:  # a read left open would keep this write waiting
        python.connection.execute(
            "INSERT INTO logs (ts, level, logger, message, attributes) "
            "VALUES (1, 20, 'l', 'm', '{}')"
        )
    assert python.query(after=40)[0][3] == "m"


def read_small(reader: SQLiteLogStorage, ranges: bool, cursor: int) -> Chunk:
    """A read of up to 1,000 rows (by filter, or by ids) with a 1 KB byte budget."""
    if ranges:
        return reader.read_ndjson_ids(cursor, cursor + 1000, max_bytes=1024)
    return reader.read_ndjson(cursor, limit=1000, max_bytes=1024)


@pytest.mark.parametrize("ranges", [False, True], ids=["filter", "id range"])
@pytest.mark.parametrize("rows", [17, 18, 40])
def test_a_read_of_small_rows_reads_no_more_rows_than_fit_the_budget(
    tmp_path: Path, rows: int, ranges: bool
) -> None:
    """A 1 KB budget holds at most 17 of the smallest lines (64 bytes each): a read asks
    SQLite for no more, says whether rows follow exactly as the Python reader does, and
    reading on from its cursor gives every row once."""
    native, python = readers(tmp_path / "logs.db")
    store(native, [(float(i), 20, "", "", "{}") for i in range(rows)])
    cursor = 0
    ids: list[int] = []
    while True:
        got = read_small(native, ranges, cursor)
        assert got == read_small(python, ranges, cursor)
        if not got.rows:
            break
        assert got.rows <= 17
        ids += [json.loads(line)["id"] for line in got.body.splitlines()]
        assert got.cursor is not None
        cursor = got.cursor
    assert ids == list(range(1, rows + 1))


def test_a_small_read_from_a_long_history_reads_the_pages_it_needs(tmp_path: Path) -> None:
    """20,000 matching rows after the cursor, a 1 KB budget: SQLite reads a few pages,
    not every row the limit allows (the aggregate takes no more once full, but SQLite
    would still step through each row it is given)."""
    native, _ = readers(tmp_path / "logs.db")
    store(native, [(float(i), 20, "", "", "{}") for i in range(20_000)])
    native.close()
    reader, _ = readers(tmp_path / "logs.db")
    connection = reader.connection  # filtered reads run on it

    def pages_read() -> int:
        hit = connection.status(apsw.SQLITE_DBSTATUS_CACHE_HIT, True)[0]
        return int(hit + connection.status(apsw.SQLITE_DBSTATUS_CACHE_MISS, True)[0])

    pages_read()
    got = reader.read_ndjson(0, limit=20_000, max_bytes=1024)
    assert got.cursor is not None
    assert 0 < got.rows == got.cursor <= 17
    assert got.more
    assert pages_read() < 20


# Text near JSON objects: as json.dumps writes them, other JSON values, and objects with
# a cut or a stray byte where a parser would stumble.
EDGES = [
    "",
    " {} ",
    "[]",
    "null",
    '"text"',
    "{",
    "{}}",
    "{} {}",
    '{"a":1,}',
    '{"a":01}',
    '{"a":1.}',
    '{"a":-0}',
    '{"a":1e400}',
    '{"a":1e-400}',
    '{"a":1E+2}',
    '{"a":' + "9" * 400 + "}",
    '{"a":NaN}',
    '{"a":"\\ud800"}',
    '{"a":"\\ud834\\udd1e"}',
    '{"a":"\\udc00\\ud800"}',
    '{"a":"\\x"}',
    '{"a":"\x01"}',
    '{"a":"\x7f"}',
    "\ufeff{}",
    '{"a":1}\x00',
    '{"a":' + "[" * 1022 + "]" * 1022 + "}",
    '{"a":' + "[" * 1023 + "]" * 1023 + "}",
    '{"a":' + "{" * 1023 + "}" * 1023 + "}",
    "{}, {}",
    "{}]",
]
objects = st.dictionaries(
    texts,
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=6,
    ),
).map(lambda value: json.dumps(value, ensure_ascii=False))


def depth(value: object) -> int:
    """Levels of nesting (a scalar has none), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        value, level = todo.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in value)
    return deepest


@st.composite
def damaged(draw: st.DrawFn) -> str:
    text = draw(objects)
    at = draw(st.integers(0, len(text)))
    if draw(st.booleans()):
        return text[:at]
    return text[:at] + draw(st.sampled_from(list('{}[],:"\\ 0-eE+.tfnu\x00\t'))) + text[at:]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stored=st.lists(
        st.one_of(
            objects,
            damaged(),
            st.sampled_from(EDGES),
            st.lists(st.integers(), max_size=3).map(json.dumps),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_attributes_that_are_not_one_object_read_whole_under_unparsed(
    shared: tuple[SQLiteLogStorage, SQLiteLogStorage], stored: list[str]
) -> None:
    """Another tool may store any text as attributes: a JSON object (as orjson reads
    it) is served as stored; anything else as ``{"_unparsed": <the text>}``. Every line
    is JSON, and both readers agree byte for byte."""
    native, python = shared
    with native.connection:
        native.connection.execute("DELETE FROM logs")
    store(native, [(0.0, 20, "l", "m", text) for text in stored])
    body = native.read_ndjson(limit=50).body
    assert body == python.read_ndjson(limit=50).body
    lines = [orjson.loads(line) for line in body.splitlines()]
    expected = []
    for text in stored:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        shown = isinstance(value, dict) and depth(value) <= 1023  # its line: 1,024
        expected.append(value if shown else {"_unparsed": text})
    assert [line["attributes"] for line in lines] == expected
    assert [entry.attributes for entry in native.read()] == expected


def test_huge_attributes_whole_or_broken_read_as_json(tmp_path: Path) -> None:
    """Two megabytes of attributes, one JSON object and the same cut short: served as
    stored and under ``_unparsed``, the same by both readers, each line JSON."""
    native, python = readers(tmp_path / "huge.db")
    whole = json.dumps({f"k{i}": "é" * 20 + str(i) for i in range(60_000)}, ensure_ascii=False)
    assert len(whole.encode()) > 2_000_000
    cut = whole[:-1]
    store(native, [(0.0, 20, "l", "m", whole), (1.0, 20, "l", "m", cut)])
    bodies = []
    for reader in (native, python):
        body, after = b"", 0
        while chunk := reader.read_ndjson(after=after, limit=50):  # a huge row: alone
            if not chunk.rows:
                break
            body, after = body + chunk.body, chunk.cursor or after
        bodies.append(body)
    assert bodies[0] == bodies[1]
    lines = [orjson.loads(line) for line in bodies[0].splitlines()]
    assert [line["attributes"] for line in lines] == [json.loads(whole), {"_unparsed": cut}]
