"""Parsing what clients send: NDJSON lines, Loki pushes and time values."""

import pytest

from observabilipy import LogEntry
from observabilipy.core.ingest import InputError, parse_loki_push, parse_ndjson, parse_time


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
