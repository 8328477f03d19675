"""The Loki push body: the Rust builder (run without the GIL) and the pure-Python one
give the same request for the same `GET /logs` lines, in both modes."""

import gzip

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy.adapters.exporters.loki import python_body
from observabilipy.encoders import PYTHON
from tests.backends import rust

FIXED = {"service_name": "shop", "env": "prod"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
rows = st.lists(
    st.tuples(
        st.floats(-62135596800, 253402300799, allow_nan=False),
        st.sampled_from(["debug", "info", "warning", "error", "critical"]),
        st.text(),
        st.sampled_from(["", "cart", "pay"]),
        st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    ),
    min_size=1,
    max_size=6,
)


def ndjson(entries) -> bytes:
    stored = [
        (i + 1, ts, level, message, logger, orjson.dumps(attributes).decode())
        for i, (ts, level, message, logger, attributes) in enumerate(entries)
    ]
    return PYTHON.encode_log_rows(stored)


def decoded(body: bytes):
    return orjson.loads(gzip.decompress(body))


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans())
def test_rust_and_python_build_the_same_push(entries, whole_line):
    rust()  # skips the test when the extension is not built
    from observabilipy import _native

    lines = ndjson(entries)
    got = decoded(_native.encode_loki_push(lines, list(FIXED.items()), whole_line, False))
    expected = decoded(python_body(lines, FIXED, "line" if whole_line else "structured"))
    assert got == expected


def test_a_known_push():
    lines = ndjson([(1.5, "warning", "low <b>", "cart", {"a.b": 1.25, "n": None, "x": {"k": [1]}})])
    expected = {
        "streams": [
            {
                "stream": {
                    "service_name": "shop",
                    "env": "prod",
                    "level": "warning",
                    "logger": "cart",
                },
                "values": [
                    ["1500000000", "low <b>", {"a_b": "1.25", "n": "null", "x": '{"k":[1]}'}]
                ],
            }
        ]
    }
    assert decoded(python_body(lines, FIXED, "structured")) == expected


@settings(max_examples=100, deadline=None)
@given(rows, st.booleans())
def test_a_protobuf_push_carries_what_the_json_one_does(entries, whole_line):
    """Decoded by our own ingest (the same prost messages), the protobuf push holds the
    JSON push's streams, lines, times and metadata."""
    rust()
    from observabilipy import _native

    lines = ndjson(entries)
    labels = list(FIXED.items())
    json_push = decoded(_native.encode_loki_push(lines, labels, whole_line, False))
    streams = _native.decode_loki_push(
        _native.encode_loki_push(lines, labels, whole_line, True), 1 << 24
    )
    as_json = [
        [[str(nanos), line, *([dict(metadata)] if metadata else [])] for nanos, line, metadata in e]
        for _, e in streams
    ]
    assert as_json == [stream["values"] for stream in json_push["streams"]]
    assert len(streams) == len(json_push["streams"])


def test_lines_that_are_not_get_logs_lines_are_refused_by_name():
    rust()
    from observabilipy import _native

    for lines in (b"not json\n", b'{"level": "info"}\n', b"\xff\xfe\n"):
        for protobuf in (True, False):
            with pytest.raises(ValueError, match="not GET /logs lines: line 0"):
                _native.encode_loki_push(lines, [], False, protobuf)
