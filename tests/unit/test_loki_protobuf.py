"""Loki's snappy + protobuf push format, decoded without third-party code."""

import pytest

from observabilipy import LogEntry
from observabilipy.core.ingest import InputError
from observabilipy.core.loki_protobuf import parse_labels, parse_push_protobuf, snappy_decompress
from tests.loki_wire import push_request, snappy_literals


def test_snappy_literals_and_copies_decode():
    """A block with a literal, a 1-byte-offset copy and an overlapping 2-byte-offset copy."""
    # 13 bytes out: literal "abcd" (tag 0x0c), copy len 4 off 4 (tag 0x01, 0x04) -> "abcd",
    # then copy len 5 off 1 (tag (5-1)<<2|2 = 0x12, offset 01 00) -> "ddddd".
    block = bytes([13, 0x0C]) + b"abcd" + bytes([0x01, 0x04, 0x12, 0x01, 0x00])
    assert snappy_decompress(block, 100) == b"abcdabcdddddd"


def test_snappy_long_literals_use_extra_length_bytes():
    """A 100-byte literal takes tag 60<<2 and one extra length byte."""
    data = bytes(range(100))
    block = bytes([100, 60 << 2, 99]) + data
    assert snappy_decompress(block, 1000) == data


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (bytes([5, 0x10]) + b"ab", "past the end"),
        (bytes([4, 0x01, 0x09]), "before the start"),
        (bytes([200, 1]), "truncated|past the end|not the"),
        (bytes([4, 0x08]) + b"abc", "3 bytes, not the 4"),
    ],
)
def test_bad_snappy_is_refused(block, message):
    """Truncated, out-of-range or mis-sized blocks raise InputError."""
    with pytest.raises(InputError, match=message):
        snappy_decompress(block, 1000)


def test_snappy_declaring_too_much_is_refused_before_inflating():
    """A preamble over the limit is refused up front."""
    with pytest.raises(InputError, match="over the 10-byte limit"):
        snappy_decompress(bytes([0x80, 0x08]), 10)


def test_push_request_becomes_entries():
    """Labels, timestamps, lines and structured metadata come through."""
    body = snappy_literals(
        push_request(
            [
                (
                    '{job="web", level="warn", note="a \\"quoted\\" word"}',
                    [
                        (1700000000, 500_000_000, "hello", {}),
                        (1700000001, 0, "bye", {"trace": "t1"}),
                    ],
                )
            ]
        )
    )
    labels = {"job": "web", "level": "warn", "note": 'a "quoted" word'}
    assert parse_push_protobuf(body, 10_000) == [
        LogEntry(1700000000.5, "warning", "hello", labels, "web"),
        LogEntry(1700000001.0, "warning", "bye", {**labels, "trace": "t1"}, "web"),
    ]


@pytest.mark.parametrize("text", ["job=web", '{job="web"', '{1job="x"}', '{job="x" level="y"}'])
def test_bad_label_strings_are_refused(text):
    """Labels not in {name="value", ...} form raise InputError."""
    with pytest.raises(InputError, match="labels"):
        parse_labels(text)


def test_hostile_pushes_are_refused_as_input_errors_by_either_decoder():
    """Garbage, a truncated message, a line that is not UTF-8, and a body declaring
    more than the limit: each an InputError (a 400), never another exception."""
    good = push_request([('{job="web"}', [(1700000000, 0, "hello", {})])])
    not_utf8 = good.replace(b"hello", b"hel\xffo")
    cases = {
        "garbage": b"\xff\xff\xff\xff",
        "truncated protobuf": snappy_literals(good[:-3]),
        "line not UTF-8": snappy_literals(not_utf8),
        "inflates past the limit": snappy_literals(b"x" * 64),
    }
    for name, body in cases.items():
        with pytest.raises(InputError):
            parse_push_protobuf(body, 32 if name == "inflates past the limit" else 10_000)
