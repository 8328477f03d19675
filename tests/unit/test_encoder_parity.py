"""The Rust and pure-Python encoders: the same bytes for every vector and every input."""

import gzip
import math
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy.core.encoding.attributes import encode_attributes
from observabilipy.core.models import MetricFamily
from observabilipy.encoders import Encoders
from tests.backends import PYTHON, outcome, rust
from tests.vector_data import VECTORS, exposition_cases, ndjson_cases

EXPOSITION = exposition_cases()
NDJSON = ndjson_cases()


@pytest.fixture(params=["python", "rust"])
def encoders(request: pytest.FixtureRequest) -> Encoders:
    """Each backend's encoders in turn."""
    return PYTHON if request.param == "python" else rust()


@pytest.mark.parametrize("case", sorted(EXPOSITION))
def test_text_vectors_encode_to_their_bytes(encoders, case):
    """Each exposition vector encodes to exactly <case>.prom."""
    expected = (VECTORS / "exposition" / f"{case}.prom").read_bytes()
    assert encoders.encode_text(EXPOSITION[case]) == expected


@pytest.mark.parametrize("case", sorted(EXPOSITION))
def test_openmetrics_vectors_encode_to_their_bytes(encoders, case):
    """Each exposition vector encodes to exactly <case>.om."""
    expected = (VECTORS / "exposition" / f"{case}.om").read_bytes()
    assert encoders.encode_openmetrics(EXPOSITION[case]) == expected


@pytest.mark.parametrize("case", sorted(NDJSON))
def test_ndjson_vectors_encode_to_their_bytes(encoders, case):
    """Each NDJSON vector encodes to exactly <case>.ndjson."""
    expected = (VECTORS / "ndjson" / f"{case}.ndjson").read_bytes()
    assert encoders.encode_log_rows(NDJSON[case]) == expected


def test_generators_are_read_like_lists(encoders):
    """Families and rows given as one-shot iterators encode as the same lists do."""
    families = EXPOSITION["counter_labels"]
    rows = NDJSON["basic"]
    assert encoders.encode_text(iter(families)) == encoders.encode_text(families)
    assert encoders.encode_log_rows(row for row in rows) == encoders.encode_log_rows(rows)


def test_repeated_scrapes_of_the_same_series_stay_identical(encoders):
    """Encoding the same families again, or equal copies of them, gives the same bytes."""
    families = EXPOSITION["escaping"] + EXPOSITION["counter_labels"]
    copies = [
        MetricFamily(
            f.name, f.kind, f.help, [(n, tuple((a, b) for a, b in ls), v) for n, ls, v in f.samples]
        )
        for f in families
    ]
    first = encoders.encode_openmetrics(families)
    assert encoders.encode_openmetrics(families) == first
    assert encoders.encode_openmetrics(copies) == first


def test_scrapes_that_change_between_calls_stay_exact():
    """Series added, removed, reordered or rebuilt between scrapes never get stale labels."""
    pairs = [(("path", f"/p{i}"), ("code", str(200 + i % 3))) for i in range(40)]
    rebuilt = [tuple((k, v + "x") for k, v in labels) for labels in pairs]

    def scrape(label_sets):
        samples = [("t_total", labels, float(i)) for i, labels in enumerate(label_sets)]
        return [MetricFamily("t", "counter", "T", samples)]

    scrapes = [pairs, pairs, [*pairs[:10], (("path", "new"),), *pairs[10:]], pairs[::-1]]
    scrapes += [pairs[5:], rebuilt, pairs, [tuple(map(tuple, ls)) for ls in pairs]] * 3
    scrapes += [[(("path", f"/fresh{n}"), ("code", str(n)))] * 3 for n in range(20)]
    native = rust()
    for label_sets in scrapes:
        families = scrape(label_sets)
        assert native.encode_text(families) == PYTHON.encode_text(families)


def test_threads_encoding_at_once_get_the_same_bytes(encoders):
    """Concurrent scrapes large enough to release the GIL each get the full, right output."""
    families = [
        MetricFamily(
            "jobs",
            "counter",
            "Jobs",
            [
                ("jobs_total", (("queue", f"q{i}"), ("state", "done")), float(i))
                for i in range(5000)
            ],
        )
    ]
    expected = encoders.encode_text(families)
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: encoders.encode_text(families), range(16)))
    assert outputs == [expected] * 16
    rows = [(i, 1.5 * i, "info", f"m{i}", "l", "{}") for i in range(5000)]
    expected = encoders.encode_log_rows(rows)
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: encoders.encode_log_rows(rows), range(16)))
    assert outputs == [expected] * 16


# --- hypothesis: the two backends compared on awkward input --------------------------

NASTY = [
    *'"\\\n\r\t\x00\x08\x0c\x1f\x7f\x80\xa0é{}=,',
    "\u2028",
    "\u2029",
    "\ufeff",
    "\U0001f389",
    "\U0010ffff",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\ud83d",
    "\ude00",
]
"""Characters that escaping, UTF-8 or surrogate handling could get wrong."""

nasty_text = st.lists(st.characters() | st.sampled_from(NASTY), max_size=12).map("".join)

FLOATS = [
    math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    1e-310,
    1e-7,
    9.999999999999999e-05,
    0.0001,
    999999.9999999999,
    1e6,
    1e21,
    1e22,
    1.7976931348623157e308,
    2.0**53 + 2,
    0.1,
    653066998236525.2,
]
"""Every float class: NaN, infinities, signed zeros, subnormals, edges of Go's 'g' form,
and a tie between two shortest forms (exactly ...525.25: the even digit wins)."""

floats = st.floats() | st.sampled_from(FLOATS)
values: Any = floats | st.integers(min_value=-(2**70), max_value=2**70)

metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,8}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)


@st.composite
def families(draw: st.DrawFn, names: Any = label_names, sample_values: Any = values) -> Any:
    """A family with valid names unless the strategies given say otherwise."""
    name = draw(metric_names)
    samples = [
        (
            name + draw(st.sampled_from(["", "_total", "_bucket", "_count"]) | nasty_text),
            tuple(draw(st.lists(st.tuples(names, nasty_text), max_size=3))),
            draw(sample_values),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    kind = draw(st.sampled_from(["counter", "gauge", "histogram", "summary"]))
    return MetricFamily(name, kind, draw(nasty_text), samples)


def assert_same(encode_python, encode_rust, argument):
    assert outcome(encode_rust, argument) == outcome(encode_python, argument)


@settings(max_examples=150)
@given(st.lists(families(), max_size=3))
def test_exposition_is_identical_on_any_text_and_value(family_list):
    """Nasty label values, HELP and sample names, every float and big ints: same bytes."""
    native = rust()
    assert_same(PYTHON.encode_text, native.encode_text, family_list)
    assert_same(PYTHON.encode_openmetrics, native.encode_openmetrics, family_list)


def inflated(encode_gzip):
    """``encode_gzip`` with its output inflated: to compare with the plain encoder."""
    return lambda families: gzip.decompress(encode_gzip(families))


@settings(max_examples=150)
@given(st.lists(families(), max_size=3))
def test_gzipped_exposition_inflates_to_the_plain_one(family_list):
    """Both backends' gzip encoders inflate to the plain encoders' bytes."""
    for encoders in (PYTHON, rust()):
        assert_same(PYTHON.encode_text, inflated(encoders.encode_text_gzip), family_list)
        assert_same(
            PYTHON.encode_openmetrics, inflated(encoders.encode_openmetrics_gzip), family_list
        )


def test_large_expositions_gzip_in_parts_into_one_member(encoders):
    """Expositions big enough to be cut into parts (families starting, empty and ending
    around the cuts) inflate to the plain text, from a single gzip member."""
    families = [
        MetricFamily("empty_first", "gauge", "", []),
        MetricFamily("a", "counter", "A", [("a_total", (("i", str(i)),), i) for i in range(9000)]),
        MetricFamily("empty_middle", "gauge", "B", []),
        MetricFamily("b", "gauge", "", [("b", (("i", str(i)),), -i) for i in range(9001)]),
        MetricFamily("empty_last", "gauge", "C", []),
    ]
    for plain, zipped in [
        (encoders.encode_text, encoders.encode_text_gzip),
        (encoders.encode_openmetrics, encoders.encode_openmetrics_gzip),
    ]:
        body = zipped(families)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one member, as HTTP clients read
        assert inflater.decompress(body) == plain(families)
        assert inflater.eof
        assert inflater.unused_data == b""
        assert len(body) < len(plain(families)) // 2


odd_label_names = label_names | nasty_text | st.sampled_from([1, None, b"le", ("a",)])
odd_values = values | st.sampled_from(["1", None, True, b"1", [1.0], 10**400])


@given(st.lists(families(odd_label_names, odd_values), max_size=3))
def test_exposition_refuses_bad_families_identically(family_list):
    """Invalid label names and non-float values raise the same class and message."""
    native = rust()
    assert_same(PYTHON.encode_text, native.encode_text, family_list)
    assert_same(PYTHON.encode_openmetrics, native.encode_openmetrics, family_list)
    assert_same(PYTHON.encode_text, inflated(native.encode_text_gzip), family_list)


leaves = (
    st.none()
    | st.booleans()
    | floats
    | st.integers(min_value=-(2**80), max_value=2**80)
    | nasty_text
    | st.binary(max_size=8)
)
awkward = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(nasty_text | st.integers(), children, max_size=3)
    ),
    max_leaves=8,
)
attributes_text = st.dictionaries(nasty_text, awkward, max_size=3).map(encode_attributes)

timestamps = (
    st.floats()
    | st.sampled_from([-62135596800.0, 253402300799.9999995, 0.0000005, 1e303])
    | st.integers(min_value=-(2**66), max_value=2**66)
)
ids = st.none() | st.integers(min_value=-(2**70), max_value=2**70)


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(ids, timestamps, nasty_text, nasty_text, nasty_text, attributes_text),
        max_size=4,
    )
)
def test_ndjson_is_identical_on_any_text_and_timestamp(rows):
    """Nasty text (lone surrogates too), any timestamp, any id, any attributes: same bytes."""
    assert_same(PYTHON.encode_log_rows, rust().encode_log_rows, rows)


odd_fields = nasty_text | st.sampled_from([None, 1, 1.5, True, b"x", ["x"], "{\ud800}"])


@given(
    st.lists(
        st.tuples(
            ids | odd_fields,
            timestamps | odd_fields,
            odd_fields,
            odd_fields,
            odd_fields,
            attributes_text | odd_fields,
        ),
        max_size=3,
    )
)
def test_ndjson_refuses_bad_rows_identically(rows):
    """Wrongly typed fields and unencodable attributes raise the same class and message."""
    assert_same(PYTHON.encode_log_rows, rust().encode_log_rows, rows)


@given(st.lists(floats | st.integers(min_value=-(2**64), max_value=2**64), max_size=50))
def test_every_float_prints_identically(numbers):
    """Go's shortest 'g' form comes out the same for any float or integer value."""
    family = [MetricFamily("v", "gauge", "", [("v", (), number) for number in numbers])]
    assert_same(PYTHON.encode_text, rust().encode_text, family)


@given(st.lists(timestamps, max_size=50))
def test_every_timestamp_prints_or_fails_identically(seconds):
    """RFC 3339 text, half-to-even rounding and the year range agree for any timestamp."""
    rows = [(None, timestamp, "info", "", "", "{}") for timestamp in seconds]
    assert_same(PYTHON.encode_log_rows, rust().encode_log_rows, rows)
    for row in rows:  # one at a time too, so one refusal cannot hide the others
        assert_same(PYTHON.encode_log_rows, rust().encode_log_rows, [row])
