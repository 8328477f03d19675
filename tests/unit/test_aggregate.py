"""Combining processes' values over the series ids they share."""

import contextlib
import gzip
import math
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy.core import aggregate, backend, gauges
from observabilipy.core.aggregate import (
    Catalog,
    Series,
    Values,
    add_values,
    combine,
    no_values,
    values_of,
)
from observabilipy.core.models import MetricFamily

Labels = tuple[tuple[str, str], ...]


def process(
    catalog: Catalog,
    number: int,
    *families: MetricFamily,
    pid: int = 0,
    live: bool = True,
    now: float = 0.0,
) -> Values:
    start = no_values(number, pid or 1000 + number)._replace(live=live)
    unknown = values_of(catalog, families, start, now)
    if isinstance(unknown, list):  # name them, as the file would
        for family, sample, labels in unknown:
            if (sample, labels) not in catalog.index:
                catalog.add(catalog.size, family, sample, labels)
    return known(values_of(catalog, families, start, now))


def known(values: Values | list[Series]) -> Values:
    assert isinstance(values, Values)
    return values


def test_counters_and_histograms_sum_across_processes():
    """The same series adds up; series only another process has appear."""
    catalog = Catalog()
    mine = MetricFamily("jobs", "counter", "Jobs", [("jobs_total", (("q", "a"),), 2.0)])
    other = MetricFamily(
        "jobs",
        "counter",
        "Jobs",
        [("jobs_total", (("q", "a"),), 5.0), ("jobs_total", (("q", "b"),), 1.0)],
    )
    parts = [process(catalog, 1, mine), process(catalog, 2, other)]
    [family] = combine([mine], {}, parts, catalog, {})
    assert family.samples == [
        ("jobs_total", (("q", "a"),), 7.0),
        ("jobs_total", (("q", "b"),), 1.0),
    ]


def test_a_process_whose_arrays_predate_later_series_counts_as_absent_there():
    """Arrays shorter than the catalog hold none of the later ids."""
    catalog = Catalog()
    early = process(catalog, 1, MetricFamily("a", "counter", "", [("a_total", (), 1.0)]))
    late = MetricFamily("b", "counter", "", [("b_total", (), 4.0)])
    parts = [early, process(catalog, 2, late)]
    meta = {"a": ("counter", "", "sum"), "b": ("counter", "", "sum")}
    families = combine([], {}, parts, catalog, meta)
    assert [(f.name, f.samples) for f in families] == [
        ("a", [("a_total", (), 1.0)]),
        ("b", [("b_total", (), 4.0)]),
    ]


def test_families_only_other_processes_define_are_included():
    """A family this process never defined comes from the stored metadata."""
    catalog = Catalog()
    parts = [process(catalog, 2, MetricFamily("other", "gauge", "", [("other", (), 3.0)]))]
    meta = {"other": ("gauge", "Other", "sum")}
    [family] = combine([], {}, parts, catalog, meta)
    assert (family.name, family.kind, family.help, family.samples) == (
        "other",
        "gauge",
        "Other",
        [("other", (), 3.0)],
    )


def test_a_family_of_this_process_without_series_is_still_shown():
    catalog = Catalog()
    empty = MetricFamily("jobs", "counter", "Jobs", [])
    [family] = combine([empty], {}, [process(catalog, 1, empty)], catalog, {})
    assert (family.name, family.samples) == ("jobs", [])


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [("sum", 9.0), ("max", 5.0), ("min", 1.0), ("latest", 1.0)],
)
def test_gauges_combine_by_their_aggregate(aggregate, expected):
    """sum, max, min and latest (most recently changed) over three live processes;
    a process that is not live does not count."""
    catalog = Catalog()

    def busy(value: float) -> MetricFamily:
        return MetricFamily("busy", "gauge", "Busy", [("busy", (), value)])

    parts = [
        process(catalog, 1, busy(3.0), now=200.0),
        process(catalog, 2, busy(5.0), now=100.0),
        process(catalog, 3, busy(1.0), now=300.0),
        process(catalog, 4, busy(100.0), now=400.0, live=False),
    ]
    [family] = combine([busy(3.0)], {"busy": aggregate}, parts, catalog, {})
    assert family.samples == [("busy", (), expected)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((math.inf, -math.inf), math.nan),  # math.fsum raised ValueError
        ((1e308, 1e308), math.inf),  # math.fsum raised OverflowError
        ((-1e308, -1e308), -math.inf),
        ((1e308, 1e308, -1e308), 1e308),  # only a partial sum overflows: exact
        ((math.inf, 1.0), math.inf),
        ((math.nan, 1.0), math.nan),
        ((math.inf, 9e307, 9e307), math.inf),  # fsum overflowed, then Fraction(inf) raised
        ((9e307, 9e307, -math.inf), -math.inf),
        ((9e307, math.nan, 9e307), math.nan),
        ((0.1, 0.2, -0.3), 2.7755575615628914e-17),  # exactly rounded
    ],
)
def test_summed_gauges_never_fail_a_scrape(values, expected):
    """Values each process may hold sum as adding floats would, exactly rounded: a sum
    of gauges never raises, whatever the processes hold."""
    catalog = Catalog()

    def level(value: float) -> MetricFamily:
        return MetricFamily("level", "gauge", "Level", [("level", (), value)])

    parts = [process(catalog, n + 1, level(v)) for n, v in enumerate(values)]
    [family] = combine([level(values[0])], {"level": "sum"}, parts, catalog, {})
    [(_, _, total)] = family.samples
    assert repr(total) == repr(expected)


def test_per_process_gauges_get_a_pid_label():
    """per_process keeps each process's value apart under a pid label."""
    catalog = Catalog()
    mine = MetricFamily("busy", "gauge", "Busy", [("busy", (("w", "x"),), 3.0)])
    other = MetricFamily("busy", "gauge", "Busy", [("busy", (("w", "x"),), 5.0)])
    parts = [process(catalog, 1, mine, pid=1), process(catalog, 2, other, pid=7)]
    [family] = combine([mine], {"busy": "per_process"}, parts, catalog, {})
    assert family.samples == [
        ("busy", (("w", "x"), ("pid", "1")), 3.0),
        ("busy", (("w", "x"), ("pid", "7")), 5.0),
    ]


def test_sums_add_processes_in_their_order_whoever_combines():
    """Each scrape adds the same parts in the same order, so whichever process answers
    shows the same total (floating-point addition is not associative)."""
    catalog = Catalog()
    values = [0.1, 0.2, 0.3]
    parts = [
        process(catalog, n, MetricFamily("x", "counter", "", [("x_total", (), v)]))
        for n, v in enumerate(values, 1)
    ]
    totals = {
        combine([], {}, order, catalog, {"x": ("counter", "", "sum")})[0].samples[0][2]
        for order in (parts, parts[::-1], [parts[1], parts[2], parts[0]])
    }
    assert totals == {(0.1 + 0.2) + 0.3}


def test_series_without_an_id_are_named_rather_than_valued():
    catalog = Catalog()
    family = MetricFamily("jobs", "counter", "", [("jobs_total", (("q", "a"),), 1.0)])
    assert values_of(catalog, [family], no_values(1, 1), 0.0) == [
        ("jobs", "jobs_total", (("q", "a"),))
    ]


def test_a_value_changes_when_it_differs_from_the_last():
    catalog = Catalog()
    first = process(catalog, 1, MetricFamily("g", "gauge", "", [("g", (), 1.0)]), now=10.0)
    same = known(
        values_of(catalog, [MetricFamily("g", "gauge", "", [("g", (), 1.0)])], first, 20.0)
    )
    moved = known(
        values_of(catalog, [MetricFamily("g", "gauge", "", [("g", (), 2.0)])], same, 30.0)
    )
    assert (first.changed[1], same.changed[1], moved.changed[1]) == (10.0, 10.0, 30.0)


def test_values_that_stand_still_give_back_the_last_arrays_themselves():
    """The same bits (NaN included): the last arrays, so a save sees nothing to write;
    a NaN keeps the time it first appeared rather than changing at every scrape."""
    catalog = Catalog()
    nan = MetricFamily("g", "gauge", "", [("g", (), math.nan)])
    first = process(catalog, 1, nan, now=10.0)
    assert values_of(catalog, [nan], first, 20.0) is first
    assert first.changed[1] == 10.0
    negative_zero = known(
        values_of(catalog, [MetricFamily("g", "gauge", "", [("g", (), -0.0)])], first, 30.0)
    )
    assert negative_zero is not first
    assert math.copysign(1.0, negative_zero.values[1]) == -1.0
    assert negative_zero.changed[1] == 30.0  # NaN to -0.0 is a change


def test_arrays_given_again_are_measured_against_the_values_passed_each_time():
    """A save that was undone leaves the file's values where they were: the same arrays
    given again count as a change from those, not as nothing new."""
    from observabilipy import Registry

    source = Registry()
    source.counter("jobs", "").inc(2)
    catalog = Catalog()
    stored = process(catalog, 1, *source.collect(exposition=True), now=1.0)
    source.counter("jobs", "").inc()
    moved = known(values_of(catalog, source.collect(exposition=True), stored, 2.0))
    assert moved is not stored
    again = known(values_of(catalog, source.collect(exposition=True), stored, 3.0))
    assert again is not stored  # the file still holds ``stored``: 3 is still new
    assert list(again.values) == list(moved.values)
    assert values_of(catalog, source.collect(exposition=True), again, 4.0) is again


def test_retiring_adds_counters_and_drops_gauges():
    catalog = Catalog()
    families = [
        MetricFamily("jobs", "counter", "", [("jobs_total", (), 2.0)]),
        MetricFamily("busy", "gauge", "", [("busy", (), 4.0)]),
    ]
    exited = process(catalog, 2, *families)
    totals = process(catalog, 0, families[0])
    merged = add_values(catalog, totals, exited, {"jobs": "counter", "busy": "gauge"})
    assert (merged.values[1], merged.present) == (4.0, b"\x00\x01\x00")
    assert merged.values == array("d", [0.0, 4.0, 0.0])


def test_histogram_samples_are_grouped_per_label_set_and_ordered_by_bound():
    """Buckets by bound (+Inf last), then count and sum, one label set at a time, label
    sets in the order they were first named (``r=b`` here)."""
    catalog = Catalog()
    mine = MetricFamily(
        "lat",
        "histogram",
        "Latency",
        [
            ("lat_bucket", (("r", "b"), ("le", "1.0")), 1.0),
            ("lat_bucket", (("r", "b"), ("le", "+Inf")), 1.0),
            ("lat_count", (("r", "b"),), 1.0),
            ("lat_sum", (("r", "b"),), 0.5),
        ],
    )
    other = MetricFamily(
        "lat",
        "histogram",
        "Latency",
        [
            ("lat_sum", (("r", "a"),), 2.0),
            ("lat_bucket", (("r", "a"), ("le", "+Inf")), 1.0),
            ("lat_count", (("r", "a"),), 1.0),
            ("lat_bucket", (("r", "a"), ("le", "1.0")), 0.0),
            ("lat_bucket", (("r", "b"), ("le", "1.0")), 2.0),
        ],
    )
    parts = [process(catalog, 1, mine), process(catalog, 2, other)]
    [family] = combine([mine], {}, parts, catalog, {})
    assert [(s[0], dict(s[1]).get("r"), dict(s[1]).get("le"), s[2]) for s in family.samples] == [
        ("lat_bucket", "b", "1.0", 3.0),
        ("lat_bucket", "b", "+Inf", 1.0),
        ("lat_count", "b", None, 1.0),
        ("lat_sum", "b", None, 0.5),
        ("lat_bucket", "a", "1.0", 0.0),
        ("lat_bucket", "a", "+Inf", 1.0),
        ("lat_count", "a", None, 1.0),
        ("lat_sum", "a", None, 2.0),
    ]


def test_histogram_series_named_after_a_scrape_join_their_label_set_in_order():
    """The order is worked out once per change of the family's series: series named
    later (a new label set, a new bucket) still come in their place."""
    catalog = Catalog()

    def lat(*samples: tuple[str, Labels, float]) -> MetricFamily:
        return MetricFamily("lat", "histogram", "Latency", list(samples))

    first = lat(
        ("lat_bucket", (("r", "b"), ("le", "+Inf")), 1.0), ("lat_count", (("r", "b"),), 1.0)
    )
    parts = [process(catalog, 1, first)]
    combine([first], {}, parts, catalog, {})
    later = lat(
        ("lat_count", (("r", "a"),), 2.0),
        ("lat_bucket", (("r", "b"), ("le", "0.5")), 1.0),
        ("lat_bucket", (("r", "a"), ("le", "+Inf")), 2.0),
    )
    parts.append(process(catalog, 2, later))
    [family] = combine([first], {}, parts, catalog, {})
    assert [(s[0], s[1]) for s in family.samples] == [
        ("lat_bucket", (("r", "b"), ("le", "0.5"))),
        ("lat_bucket", (("r", "b"), ("le", "+Inf"))),
        ("lat_count", (("r", "b"),)),
        ("lat_bucket", (("r", "a"), ("le", "+Inf"))),
        ("lat_count", (("r", "a"),)),
    ]


native_only = pytest.mark.skipif(backend.native is None, reason="needs the Rust extension")
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
arrays = st.lists(floats, max_size=12).map(lambda values: array("d", values))
flags = st.lists(st.sampled_from([0, 1]), max_size=12).map(bytes)


@native_only
@settings(max_examples=200)
@given(
    parts=st.lists(
        st.tuples(
            st.lists(
                st.one_of(
                    floats,
                    st.sampled_from([0.0, -0.0, 1e308, -1e308, 0.1, 5e-324, math.inf]),
                ),
                max_size=6,
            ),
            st.lists(st.sampled_from([0, 1, 1, 2]), max_size=7).map(bytes),
        ),
        max_size=5,
    )
)
def test_the_extension_sums_gauges_as_python_does(parts):
    """Gauges summed across processes in the extension: each id's sum is ``exact_sum``
    of the values present there (a zero sum +0.0, NaN for +inf with -inf, a sum past
    the largest float added exactly), whatever the arrays' lengths and flags."""
    live = [
        Values(n, n, True, present, array("d", values), array("d", bytes(8 * len(values))))
        for n, (values, present) in enumerate(parts)
    ]
    size = 7
    totals, flags = gauges.summed(live, size)
    ours = array("d", totals)
    for series_id in range(size):
        found = [
            part.values[series_id]
            for part in live
            if series_id < len(part.values)
            and series_id < len(part.present)
            and part.present[series_id]
        ]
        assert flags[series_id] == (1 if found else 0)
        if found:
            assert repr(ours[series_id]) == repr(gauges.exact_sum(found)), found


@native_only
@given(parts=st.lists(st.tuples(arrays, flags), max_size=5), size=st.integers(0, 14))
def test_the_extension_adds_arrays_as_python_does(parts, size):
    assert backend.native is not None
    values, present = [v for v, _ in parts], [p for _, p in parts]
    totals, flags = backend.native.add_floats(values, present, size)
    ours = array("d")
    ours.frombytes(totals)
    expected, expected_flags = aggregate.add_floats(values, present, size)
    assert [repr(v) for v in ours] == [repr(v) for v in expected]
    assert flags == expected_flags
    assert list(flags) == [int(any(p[i : i + 1] == b"\1" for p in present)) for i in range(size)]


@native_only
@given(
    now=floats, changed=arrays, before=arrays, before_present=flags, values=arrays, present=flags
)
def test_the_extension_marks_changes_as_python_does(
    now, changed, before, before_present, values, present
):
    assert backend.native is not None
    present = (present + bytes(len(values)))[: len(values)]
    ours = array("d")
    ours.frombytes(
        backend.native.mark_changed(now, changed, before, before_present, values, present)
    )
    expected = aggregate.mark_changed(now, changed, before, before_present, values, present)
    assert [repr(v) for v in ours] == [repr(v) for v in expected]


@native_only
@given(
    values=st.lists(st.tuples(st.sampled_from("abc"), floats), max_size=8),
    size=st.integers(0, 6),
)
def test_the_extension_places_values_at_their_ids_as_python_does(values, size):
    """By the label tuples' identity or, the first time, by their value."""
    assert backend.native is not None
    family = MetricFamily("x", "gauge", "", [("x", (("k", k),), v) for k, v in values])
    index: dict[tuple[str, Labels], int] = {("x", (("k", k),)): n + 1 for n, k in enumerate("abc")}
    ours = backend.native.SeriesIndex().values([family], index, size)
    expected = aggregate.series_values([family], index, size)
    if expected is None:
        assert ours is None
    else:
        assert ours is not None
        decoded = array("d")
        decoded.frombytes(ours[0])
        assert ([repr(v) for v in decoded], ours[1]) == (
            [repr(v) for v in expected[0]],
            expected[1],
        )


@native_only
@given(
    calls=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["x_count", "x_sum"]), st.integers(0, 2), floats),
            max_size=8,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_one_index_agrees_with_python_call_after_call(calls):
    """The index replays last call's samples by position: series that move, appear,
    vanish, or share one labels object under two names (a histogram's count and sum)
    still land at their own ids, call after call."""
    assert backend.native is not None
    label_sets = [(("k", k),) for k in "abc"]  # one object each, kept across calls
    index: dict[tuple[str, Labels], int] = {
        (name, labels): n + 1
        for n, (name, labels) in enumerate(
            (name, labels) for name in ("x_count", "x_sum") for labels in label_sets
        )
    }
    series = backend.native.SeriesIndex()
    for samples in calls:
        family = MetricFamily(
            "x", "gauge", "", [(name, label_sets[k], v) for name, k, v in samples]
        )
        ours = series.values([family], index, 7)
        expected = aggregate.series_values([family], index, 7)
        assert ours is not None
        assert expected is not None
        decoded = array("d")
        decoded.frombytes(ours[0])
        assert ([repr(v) for v in decoded], ours[1]) == (
            [repr(v) for v in expected[0]],
            expected[1],
        )


@native_only
def test_the_identity_index_agrees_when_label_tuples_are_made_anew():
    """Tuples equal in value but new each scrape (never the registry's way) are found
    by value, and the index starts over rather than growing without bound."""
    assert backend.native is not None
    index: dict[tuple[str, Labels], int] = {("x", (("k", "a"),)): 1, ("x", (("k", "b"),)): 2}
    series = backend.native.SeriesIndex()
    for n in range(3000):
        labels = (("k", "ab"[n % 2]),)  # a new tuple each time
        family = MetricFamily("x", "gauge", "", [("x", labels, float(n))])
        raw = series.values([family], index, 3)
        assert raw is not None
        decoded = array("d")
        decoded.frombytes(raw[0])
        assert decoded[1 + n % 2] == float(n)
        assert raw[1] == (b"\x00\x01\x00" if n % 2 == 0 else b"\x00\x00\x01")


@native_only
def test_the_index_reads_a_histogram_again_once_it_moved():
    """A histogram family standing still shows the values of the last read; one
    observation, a series added, or one removed and another added unobserved, and it is
    read again, every bucket, count and sum."""
    from observabilipy import Registry

    assert backend.native is not None
    source = Registry()
    lat = source.histogram("lat", "", labels=["n"], buckets=[1.0, 10.0])
    for n in range(5):
        lat.labels(str(n)).observe(n)
    index: dict[tuple[str, Labels], int] = {}
    series = backend.native.SeriesIndex()

    def values() -> list[float]:
        plain = source.collect()
        for family in plain:
            for name, labels, _ in family.samples:
                index.setdefault((name, labels), len(index) + 1)
        ours = series.values(source.collect(exposition=True), index, len(index) + 1)
        expected = aggregate.series_values(plain, index, len(index) + 1)
        assert ours is not None
        assert expected is not None
        assert (array("d", ours[0]), ours[1]) == expected
        return list(expected[0])

    first = values()
    assert values() == first
    lat.labels("3").observe(0.5)
    moved = values()
    assert moved != first
    lat.labels("new").observe(20)
    assert values() != moved
    lat.remove("0")  # as many series, none observed: other objects, other ids
    lat.labels("fresh")
    values()


@native_only
@pytest.mark.parametrize("fmt", ["text", "openmetrics"])
def test_summed_counters_encode_as_their_tuples_do(fmt):
    """For an encoder, a summed counter's series stay in the arrays; the bytes are those
    of the same samples as tuples, exemplars included."""
    from observabilipy import encoders

    encode = encoders.encode_text if fmt == "text" else encoders.encode_openmetrics
    catalog = Catalog()
    jobs = MetricFamily(
        "jobs",
        "counter",
        "Jobs",
        [("jobs_total", (("q", "a"),), 2.0), ("jobs_total", (("q", 'b"\n'),), 1.5)],
        {("jobs_total", (("q", "a"),)): ((("trace_id", "abc"),), 2.0, 1.0)},
    )
    other = MetricFamily("jobs", "counter", "Jobs", [("jobs_total", (("q", "c"),), 4.0)])
    parts = [process(catalog, 1, jobs), process(catalog, 2, other)]
    kept = combine([jobs], {}, parts, catalog, {}, exposition=True)
    plain = combine([jobs], {}, parts, catalog, {})
    assert not isinstance(kept[0].samples, list)
    assert list(kept[0].samples) == plain[0].samples
    assert encode(kept) == encode(plain)


@native_only
@pytest.mark.parametrize("fmt", ["text", "openmetrics"])
def test_summed_gauges_encode_as_their_tuples_do(fmt):
    """For an encoder, a summed gauge's series stay in the arrays, as counters' do, over
    the live processes only; the bytes are those of the same samples as tuples."""
    from observabilipy import encoders

    encode = encoders.encode_text if fmt == "text" else encoders.encode_openmetrics
    catalog = Catalog()

    def depth(*values: tuple[str, float]) -> MetricFamily:
        return MetricFamily(
            "depth", "gauge", "Depth", [("depth", (("q", q),), v) for q, v in values]
        )

    parts = [
        process(catalog, 1, depth(("a", 2.0), ("b\n", 0.5))),
        process(catalog, 2, depth(("a", 0.25), ("c", -1.0))),
        process(catalog, 3, depth(("a", 100.0), ("d", 7.0)), live=False),
    ]
    local = [depth(("a", 2.0), ("b\n", 0.5))]
    kept = combine(local, {}, parts, catalog, {}, exposition=True)
    plain = combine(local, {}, parts, catalog, {})
    assert not isinstance(kept[0].samples, list)
    assert plain[0].samples == [
        ("depth", (("q", "a"),), 2.25),
        ("depth", (("q", "b\n"),), 0.5),
        ("depth", (("q", "c"),), -1.0),
    ]
    assert list(kept[0].samples) == plain[0].samples
    assert encode(kept) == encode(plain)


@native_only
@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1_199), st.sampled_from([0.0, 1.0, 2.5, 1e21])),
        max_size=15,
    )
)
def test_summed_series_kept_between_calls_show_every_change(steps):
    """Text expositions of a file's summed series keep their lines from call to call (in
    runs of 512): values changed in either process, series named later, and histogram
    samples (names that vary within a family) show what a fresh rendering does."""
    from observabilipy import encoders
    from observabilipy.core.encoding.prometheus import encode_text as python_encode_text

    catalog = Catalog()
    counts = [{str(n): 1.0 for n in range(1_100)}, {str(n): 2.0 for n in range(0, 1_100, 3)}]
    slow = [0.0, 0.0]

    def families(p: int) -> list[MetricFamily]:
        jobs: list[tuple[str, Labels, float]] = [
            ("jobs_total", (("n", key),), value) for key, value in counts[p].items()
        ]
        buckets: list[tuple[str, Labels, float]] = [
            ("lat_bucket", (("le", "0.1"),), 1.0),
            ("lat_bucket", (("le", "+Inf"),), 1.0 + slow[p]),
            ("lat_count", (), 1.0 + slow[p]),
            ("lat_sum", (), 0.05 + slow[p]),
        ]
        return [
            MetricFamily("jobs", "counter", "Jobs", jobs),
            MetricFamily("lat", "histogram", "", buckets),
        ]

    def check() -> None:
        parts = [process(catalog, p + 1, *families(p)) for p in (0, 1)]
        kept = combine(families(0), {}, parts, catalog, {}, exposition=True, exemplars=False)
        text = python_encode_text(combine(families(0), {}, parts, catalog, {}))
        assert encoders.encode_text(kept) == text
        assert gzip.decompress(encoders.encode_text_gzip(kept)) == text

    check()
    for p, n, amount in steps:
        counts[p][str(n)] = counts[p].get(str(n), 0.0) + amount
        slow[p] += amount
        check()


@native_only
@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "inc",
                    "new",
                    "untouched",
                    "remove",
                    "swap",
                    "other",
                    "unnamed",
                    "observe",
                    "latency",
                    "collector",
                    "grow",
                    "without other",
                ]
            ),
            st.integers(0, 1_199),
            st.sampled_from(["", "another index", "plain"]),
        ),
        max_size=12,
    )
)
def test_the_index_reads_counter_cells_as_python_reads_their_samples(steps):
    """Counters collected for exposition are read from their cells, label tuples met
    by address, and a family that stood still since the index last read it is not read
    again: after increments, new and removed series, a second family with the same
    label values, a series removed and another added between two calls (as many series,
    none marked), a series added with no value moved, histogram observations and
    series, a collector's plain samples moved, the catalog grown by another process's
    series, a call without one of the families, a call that meets a series without an
    id, and reads in between by another index or of plain samples, every value lands at
    its own id and is the cell's."""
    from observabilipy import Registry

    assert backend.native is not None
    source = Registry()
    jobs = source.counter("jobs", "", labels=["n"])
    other = source.counter("other", "", labels=["n"])
    lat = source.histogram("lat", "", labels=["n"], buckets=[1.0, 10.0])
    for n in range(1_100):
        jobs.labels(str(n)).inc(n)
    other.labels("0").inc()
    for n in range(30):
        lat.labels(str(n)).observe(n)
    queued = [3.0]
    source.add_collector(lambda: [MetricFamily("queued", "gauge", "", [("queued", (), queued[0])])])
    index: dict[tuple[str, Labels], int] = {}
    series = backend.native.SeriesIndex()

    def check(without: str = "") -> None:
        plain = [family for family in source.collect() if family.name != without]
        for family in plain:
            for name, labels, _ in family.samples:
                index.setdefault((name, labels), len(index) + 1)
        size = len(index) + 1
        exposed = [f for f in source.collect(exposition=True) if f.name != without]
        ours = series.values(exposed, index, size)
        expected = aggregate.series_values(plain, index, size)
        assert ours is not None
        assert expected is not None
        decoded = array("d")
        decoded.frombytes(ours[0])
        assert (list(decoded), ours[1]) == (list(expected[0]), expected[1])

    another = backend.native.SeriesIndex()
    check()
    for step, n, between in steps:
        if step == "inc":
            jobs.labels(str(n)).inc(0.5)
        elif step == "new":
            jobs.labels(f"new {n}").inc()
        elif step == "untouched":
            jobs.labels(f"untouched {n}")
        elif step == "collector":
            queued[0] += 1
        elif step == "grow":  # another process's series
            index.setdefault(("elsewhere", (("n", str(n)),)), len(index) + 1)
        elif step == "without other":
            check(without="other")
        elif step == "remove":
            with contextlib.suppress(KeyError):
                jobs.remove(str(n))
        elif step == "swap":  # as many series, none changed: a new list all the same
            with contextlib.suppress(KeyError):
                jobs.remove(str(n))
                jobs.labels(f"swapped {n}")
        elif step == "other":
            other.labels(str(n)).inc(2)
        elif step == "observe":
            lat.labels(str(n % 30)).observe(n / 100)
        elif step == "latency":  # a histogram series: buckets, count and sum
            lat.labels(f"new {n}").observe(5)
        else:  # a series the index has no id for yet: the call finds none
            jobs.labels(str(n)).inc(0.25)
            other.labels(f"unnamed {len(index)}").inc()
            assert series.values(source.collect(exposition=True), index, len(index) + 1) is None
        if between == "another index":  # takes the same change bits
            another.values(source.collect(exposition=True), index, len(index) + 1)
        elif between == "plain":  # takes none
            series.values(source.collect(), index, len(index) + 1)
        check()
