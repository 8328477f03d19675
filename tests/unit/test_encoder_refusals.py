"""Bad input: the Rust encoders raise exactly what the pure-Python ones raise: the same
exception class and, for our own checks, the same message. Where the interpreter's own
unpacking refuses a shape, the class is the same and the words are each backend's."""

import math

import pytest

from observabilipy.core.models import MetricFamily
from tests.backends import PYTHON, outcome, rust


def family(samples=(), name="ok", kind="gauge", help=""):
    return MetricFamily(name, kind, help, list(samples))


class FamilyLike:
    """Any object with a family's four attributes, its samples a one-shot iterator."""

    def __init__(self) -> None:
        self.name = "ok"
        self.kind = "gauge"
        self.help = ""
        self.samples = iter([("ok", (), 1.0)])


BAD_FAMILIES = {
    "invalid metric name": [family(name="1bad")],
    "metric name not a str": [family(name=1)],
    "unknown kind": [family(kind="untyped")],
    "unhashable kind": [family(kind=["gauge"])],
    "help not a str": [family(help=None)],
    "sample of another family": [family([("other", (), 1.0)])],
    "sample name with a space after the family": [family([("ok bad", (), 1.0)])],
    "sample name with a newline after the family": [family([("ok\n", (), 1.0)])],
    "counter sample without _total": [family([("ok", (), 1.0)], kind="counter")],
    "histogram sample named _total": [family([("ok_total", (), 1.0)], kind="histogram")],
    "invalid label name": [family([("ok", (("1x", "v"),), 1.0)])],
    "label name not a str": [family([("ok", ((1, "v"),), 1.0)])],
    "label name with a surrogate": [family([("ok", (("a\ud800", "x"),), 1.0)])],
    "label value not a str": [family([("ok", (("l", 1),), 1.0)])],
    "value a str": [family([("ok", (), "1")])],
    "value a bool": [family([("ok", (), True)])],
    "value None": [family([("ok", (), None)])],
    "value an int beyond floats": [family([("ok", (), 10**400)])],
    "sample too short": [family([("ok", ())])],
    "sample too long": [family([("ok", (), 1.0, 2)])],
    "sample not iterable": [family([5])],
    "labels a list": [family([("ok", [("a", "b")], 1.0)])],
    "label pair too short": [family([("ok", (("a",),), 1.0)])],
    "unhashable labels with an invalid name": [family([("ok", (("1bad", ["x"]),), 1.0)])],
    "sample name an int": [family([(5, (), 1.0)])],
    "sample name bytes": [family([(b"ok", (), 1.0)])],
    "surrogates in help and label value": [
        family([("ok", (("a", "\udc00x"),), 1.0)], help="h\ud800elp")
    ],
    "surrogate in a sample name": [family([("ok\ud800", (), 1.0)])],
    "families not iterable": 5,
    "family not a MetricFamily": [5],
    "second family bad after a good one": [family([("ok", (), 1.0)]), family(name="bad name")],
}


#: Cases refused by unpacking: the interpreter words it in Python, we word it in Rust.
UNPACKING = {
    "sample too short",
    "sample too long",
    "sample not iterable",
    "label pair too short",
    "row too short",
    "row not iterable",
}


def same_refusal(case, got, expected):
    return got[0] == expected[0] if case in UNPACKING else got == expected


@pytest.mark.parametrize("case", sorted(BAD_FAMILIES))
def test_bad_families_raise_the_same_error(case):
    """Each malformed family raises the same exception class and message from both."""
    families = BAD_FAMILIES[case]
    native = rust()
    for python_encode, rust_encode in [
        (PYTHON.encode_text, native.encode_text),
        (PYTHON.encode_openmetrics, native.encode_openmetrics),
        (PYTHON.encode_text, native.encode_text_gzip),
        (PYTHON.encode_openmetrics, native.encode_openmetrics_gzip),
        (PYTHON.encode_text, PYTHON.encode_text_gzip),
    ]:
        expected = outcome(python_encode, families)
        assert expected[0] != "bytes"
        assert same_refusal(case, outcome(rust_encode, families), expected)


def test_odd_but_valid_families_encode_the_same():
    """What Python accepts (list samples, exhausted label iterators, family-like objects)."""

    def families():
        return [family([["ok", iter(()), 1.0], ("ok", None, 2)]), FamilyLike()]

    expected = outcome(PYTHON.encode_text, families())
    assert expected == ("bytes", b"# TYPE ok gauge\nok{} 1\nok 2\n# TYPE ok gauge\nok 1\n")
    assert outcome(rust().encode_text, families()) == expected


def row(id=1, timestamp=0.0, level="info", message="m", logger="", attributes="{}"):
    return (id, timestamp, level, message, logger, attributes)


BAD_ROWS = {
    "id a str": row(id="1"),
    "id a bool": row(id=True),
    "timestamp a str": row(timestamp="0"),
    "timestamp a bool": row(timestamp=True),
    "timestamp NaN": row(timestamp=math.nan),
    "timestamp infinite": row(timestamp=-math.inf),
    "timestamp finite, times 1e6 not": row(timestamp=1e303),
    "timestamp after year 9999": row(timestamp=253402300800.0),
    "timestamp before year 1": row(timestamp=-62135596800.5),
    "int timestamp after year 9999": row(timestamp=253402300800),
    "int timestamp beyond 64 bits": row(timestamp=10**30),
    "level not a str": row(level=None),
    "message not a str": row(message=5),
    "logger not a str": row(logger=b"x"),
    "attributes not a str": row(attributes={}),
    "attributes with a surrogate": row(attributes='{"a":"\ud800"}'),
    "row too short": (1, 0.0),
    "row not iterable": 5,
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_raise_the_same_error(case):
    """Each malformed row raises the same exception class and message from both."""
    rows = [row(), BAD_ROWS[case]]
    expected = outcome(PYTHON.encode_log_rows, rows)
    assert expected[0] != "bytes"
    assert same_refusal(case, outcome(rust().encode_log_rows, rows), expected)


def test_odd_but_valid_rows_encode_the_same():
    """Rows as lists, huge ids, int timestamps and surrogate pairs encode alike;
    attributes that are not a JSON object go whole under ``_unparsed``."""
    rows = [
        [2**70, 253402300799, "info", "pair \ud83d\ude00 lone \udc00", "", "[]"],
        row(id=None, timestamp=-62135596800),
    ]
    expected = outcome(PYTHON.encode_log_rows, rows)
    assert expected == (
        "bytes",
        b'{"id":1180591620717411303424,"timestamp":"9999-12-31T23:59:59.000000Z",'
        b'"level":"info","message":"pair \xf0\x9f\x98\x80 lone \xef\xbf\xbd","logger":"",'
        b'"attributes":{"_unparsed":"[]"}}\n'
        b'{"timestamp":"0001-01-01T00:00:00.000000Z","level":"info","message":"m",'
        b'"logger":"","attributes":{}}\n',
    )
    assert outcome(rust().encode_log_rows, rows) == expected
