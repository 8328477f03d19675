"""Parsing what clients send: NDJSON lines, Loki pushes and time values."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy import LogEntry
from observabilipy.core.ingest import (
    InputError,
    _decode,
    _entry,
    _well_formed,
    iter_ndjson,
    parse_loki_push,
    parse_ndjson,
    parse_time,
)


def test_ndjson_lines_become_entries_with_defaults():
    """Only message is required: timestamp defaults to now, level to info, logger to ''."""
    body = (
        b'{"message":"hello"}\n\n'
        b'{"message":"paid","level":"WARN","logger":"shop","timestamp":"2026-11-26T07:23:08.5Z",'
        b'"attributes":{"order":7},"id":99,"host":"web-1"}\n'
    )
    assert parse_ndjson(body, now=123.0) == [
        LogEntry(123.0, "info", "hello", {}, ""),
        LogEntry(1795677788.5, "warning", "paid", {"host": "web-1", "order": 7}, "shop"),
    ]


def test_epoch_second_timestamps_are_accepted():
    """A numeric timestamp is epoch seconds."""
    assert parse_ndjson(b'{"message":"m","timestamp":1700000000.25}', 0)[0].timestamp == (
        1700000000.25
    )


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        (b'{"message":"ok"}\n{"message":', 2, "not valid JSON"),
        (b'{"message":"ok"}\n[1,2]', 2, "expected a JSON object"),
        (b'{"level":"info"}', 1, "'message' is missing"),
        (b'{"message":5}', 1, "'message' must be a string"),
        (b'{"message":"m","level":"loud"}', 1, "unknown log level 'loud'"),
        (b'{"message":"m","timestamp":"yesterday"}', 1, "RFC 3339"),
        (b'{"message":"m","timestamp":"2026-11-26T07:23:08"}', 1, "UTC offset"),
        (b'{"message":"m","timestamp":1e300}', 1, "outside years"),
        (b'{"message":"m","timestamp":true}', 1, "'timestamp' must be"),
        (b'{"message":"m","attributes":[1]}', 1, "'attributes' must be an object"),
        (b'{"message":"m","logger":1}', 1, "'logger' must be a string"),
        (b"\n\n\xff\xfe", 3, "not valid JSON"),
    ],
)
def test_bad_lines_are_named(body, line, reason):
    """Each kind of bad line raises InputError with its line number and the problem."""
    with pytest.raises(InputError, match=reason) as info:
        parse_ndjson(body, 0)
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")


def test_loki_push_json_becomes_entries():
    """Stream labels become attributes; level and service labels set level and logger."""
    body = (
        b'{"streams":[{"stream":{"service_name":"api","level":"error"},'
        b'"values":[["1700000000500000000","boom"],["1700000001000000000","x",{"trace_id":"t"}]]}]}'
    )
    assert parse_loki_push(body) == [
        LogEntry(1700000000.5, "error", "boom", {"service_name": "api", "level": "error"}, "api"),
        LogEntry(
            1700000001.0,
            "error",
            "x",
            {"service_name": "api", "level": "error", "trace_id": "t"},
            "api",
        ),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"nope", "not valid JSON"),
        (b'{"streams":{}}', "'streams' list"),
        (b'{"streams":[{"stream":{}}]}', r"streams\[0\] needs"),
        (b'{"streams":[{"stream":{},"values":[["x","l"]]}]}', "nanoseconds"),
        (b'{"streams":[{"stream":{},"values":[["1"]]}]}', r"values\[0\] must be"),
    ],
)
def test_bad_loki_pushes_are_named(body, reason):
    """Malformed pushes raise InputError saying which part is wrong."""
    with pytest.raises(InputError, match=reason):
        parse_loki_push(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1700000000.0),
        ("1700000000.5", 1700000000.5),
        ("2026-11-26T07:23:08Z", 1795677788.0),
        ("2026-11-26T08:23:08+01:00", 1795677788.0),
    ],
)
def test_times_are_rfc3339_or_epoch_seconds(text, expected):
    """parse_time reads both forms the endpoints accept."""
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "2026-13-01T00:00:00Z", ""])
def test_bad_times_are_refused(text):
    """Unparseable or non-finite times raise InputError naming the value."""
    with pytest.raises(InputError, match="since"):
        parse_time(text, "since")


def line_by_line(body: bytes, now: float) -> list[LogEntry]:
    """The reference reading: each line decoded and checked on its own."""
    return [
        _entry(_decode(raw, number), number, now)
        for number, raw in enumerate(body.split(b"\n"), start=1)
        if raw.strip()
    ]


def outcome(parse, body: bytes) -> object:
    try:
        return parse(body, 5.0)
    except InputError as error:
        return ("InputError", str(error))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "message": st.text() | json_values,
        "timestamp": st.sampled_from(
            ["2026-11-26T07:23:08Z", "2026-11-26T07:23:08", "soon", 1.5e9, 1_700_000_000, 1e300]
        )
        | json_values,
        "level": st.sampled_from(["info", "WARN", "fatal", 40, "loud", 20.0]) | json_values,
        "logger": st.text() | json_values,
        "attributes": st.dictionaries(st.text(), json_values) | json_values,
        "id": json_values,
        "host": json_values,
    },
)
lines = st.one_of(
    fields.map(lambda obj: json.dumps(obj).encode()),
    st.sampled_from([b"", b"  ", b"{", b'{"message":"a"},{"message":"b"}', b"[1]", b"null"]),
)


@settings(max_examples=400)
@given(st.lists(lines, max_size=8), st.integers(min_value=1, max_value=4))
def test_the_whole_body_path_reads_exactly_as_line_by_line(body_lines, batch) -> None:
    """Decoding a batch of lines in one typed call gives what reading each line gives:
    the same entries, or the same error naming the same line."""
    body = b"\n".join(body_lines)
    expected = outcome(line_by_line, body)
    assert outcome(lambda b, now: parse_ndjson(b, now), body) == expected
    got = outcome(lambda b, now: [e for part in iter_ndjson(b, now, batch) for e in part], body)
    assert got == expected


def test_well_formed_lines_take_the_one_decode_path() -> None:
    """Known keys only, any accepted spelling: one typed decode reads them all."""
    chunk = [
        b'{"message":"a"}',
        b"",
        b'{"message":"b","timestamp":"2026-11-26T07:23:08Z","level":"WARN","id":3}',
        b'{"message":"c","timestamp":1700000000,"level":40,"logger":"x","attributes":{"k":1}}',
    ]
    assert _well_formed(chunk, 5.0) == [
        LogEntry(5.0, "info", "a", {}, ""),
        LogEntry(1_795_677_788.0, "warning", "b", {}, ""),
        LogEntry(1_700_000_000.0, "error", "c", {"k": 1}, "x"),
    ]
    assert _well_formed([b'{"message":"a","host":"h"}'], 5.0) is None  # kept line by line
