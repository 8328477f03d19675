"""NDJSON log lines: byte-exact vectors, the contract's shape, and attributes that never break."""

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observabilipy import LogEntry
from observabilipy.core.encoding.attributes import encode_attributes
from observabilipy.core.encoding.ndjson import (
    encode_log_entries,
    encode_log_rows,
    format_timestamp,
)
from tests.vector_data import VECTORS, ndjson_cases

CASES = ndjson_cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_rows_match_vector_bytes(case):
    """Each vector's rows encode to exactly the bytes in <case>.ndjson."""
    assert encode_log_rows(CASES[case]) == (VECTORS / "ndjson" / f"{case}.ndjson").read_bytes()


def test_line_has_the_contract_shape():
    """One object a line with id, RFC 3339 µs timestamp, level, message, logger, attributes."""
    line = encode_log_rows([(42, 1795677788.123456, "info", "paid", "checkout", '{"a":1}')])
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {
        "id": 42,
        "timestamp": "2026-11-26T07:23:08.123456Z",
        "level": "info",
        "message": "paid",
        "logger": "checkout",
        "attributes": {"a": 1},
    }


def test_entries_encode_without_id():
    """Entries not yet stored have no id; their attributes follow the documented rule."""
    entry = LogEntry(0.0, "warning", "w", {"n": math.nan}, "svc")
    assert encode_log_entries([entry]) == (
        b'{"timestamp":"1970-01-01T00:00:00.000000Z","level":"warning","message":"w",'
        b'"logger":"svc","attributes":{"n":null}}\n'
    )


@pytest.mark.parametrize("timestamp", [math.nan, math.inf, 1e20, -1e15])
def test_timestamps_that_cannot_be_rfc3339_are_refused(timestamp):
    """NaN, infinities and years outside 1-9999 raise ValueError naming the timestamp."""
    with pytest.raises(ValueError, match="timestamp"):
        format_timestamp(timestamp)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("1", 0.0, "info", "m", "", "{}"), "id"),
        ((1, "0", "info", "m", "", "{}"), "timestamp"),
        ((1, 0.0, "info", 5, "", "{}"), "message must be a str"),
        ((1, 0.0, "info", "m", "", {}), "attributes"),
    ],
)
def test_malformed_rows_are_refused(row, message):
    """Rows with wrongly typed fields raise TypeError naming the field."""
    with pytest.raises(TypeError, match=message):
        encode_log_rows([row])


def test_lone_surrogates_in_text_become_replacement_characters():
    """Text that is not valid Unicode is written with U+FFFD, never as invalid UTF-8."""
    line = encode_log_rows([(1, 0.0, "info", "a\ud800b", "l\udfff", "{}")])
    assert json.loads(line)["message"] == "a\ufffdb"
    assert json.loads(line)["logger"] == "l\ufffd"


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (b"caf\xc3\xa9 \xff", "Y2Fmw6kg/w=="),
        (bytearray(b"ab"), "YWI="),
        ("bad \ud800", "bad \ufffd"),
        (2**70, "1180591620717411303424"),
        (-(2**64), "-18446744073709551616"),
        (2**64 - 1, 2**64 - 1),
        (-(2**63), -(2**63)),
        pytest.param(10**5000, "<int of 16610 bits>", id="int-past-the-digit-limit"),
        ((1, "a"), [1, "a"]),
        ({3}, [3]),
        (Color.RED, "red"),
        (Point(1, 2), {"x": 1, "y": 2}),
        (dt.datetime(2026, 11, 26, 7, 23, 8, tzinfo=dt.UTC), "2026-11-26T07:23:08Z"),
        (dt.date(2026, 11, 26), "2026-11-26"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (decimal.Decimal("9.50"), "9.50"),
        ({1: "a", 2.5: "b", None: "c"}, {"1": "a", "2.5": "b", "None": "c"}),
        ({(1, 2): "tuple key"}, {"(1, 2)": "tuple key"}),
        (Unprintable(), "<unprintable Unprintable>"),
        (object, "<class 'object'>"),
    ],
)
def test_attribute_values_json_cannot_hold_follow_the_rule(value, expected):
    """Each awkward value becomes valid JSON by the documented rule, alone or beside a bad one."""
    alone = json.loads(encode_attributes({"v": value}))
    assert alone == {"v": expected}
    mixed = json.loads(encode_attributes({"v": value, "bad": "\ud800"}))
    assert mixed == {"v": expected, "bad": "\ufffd"}


def test_deep_and_cyclic_attributes_are_cut():
    """Nesting too deep to encode, and reference cycles, are cut with a marker."""
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    cyclic: list[object] = []
    cyclic.append(cyclic)
    for value in (deep, cyclic):
        text = encode_attributes({"v": value})
        assert '"<too deep>"' in text
        json.loads(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text() | st.binary(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values))
def test_any_attributes_encode_to_one_valid_json_object(attributes):
    """Whatever the attributes, the result is one JSON object, valid UTF-8, one line."""
    text = encode_attributes(attributes)
    assert "\n" not in text
    decoded = json.loads(text.encode("utf-8"))
    assert isinstance(decoded, dict)
    assert len(decoded) == len({k.encode("utf-16", "surrogatepass") for k in attributes})
