"""Histograms: cumulative buckets, sum and count; timing that never swallows errors."""

import asyncio
import contextlib
import math
import threading
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from observabilipy import DEFAULT_BUCKETS, Registry


def test_histogram_counts_cumulatively():
    """Observing 0.01 and 5.0 with buckets [0.025, 1] gives buckets 1, 1, 2, count 2, sum 5.01."""
    histogram = Registry().histogram("checkout_seconds", "Checkout", buckets=[0.025, 1])
    histogram.observe(0.01)
    histogram.observe(5.0)
    assert histogram.state() == ([1, 1, 2], 5.01)


def test_bucket_bounds_are_inclusive():
    """A value equal to a bound falls in that bound's bucket (le means <=)."""
    histogram = Registry().histogram("size", "Size", buckets=[1, 2])
    histogram.observe(1)
    histogram.observe(2)
    histogram.observe(-math.inf)
    histogram.observe(math.inf)
    assert histogram.state()[0] == [2, 3, 4]


def test_default_buckets_are_prometheus_defaults():
    """The default bounds run 0.005 ... 10, like prometheus_client and OpenTelemetry's HTTP."""
    assert DEFAULT_BUCKETS[0] == 0.005
    assert DEFAULT_BUCKETS[-1] == 10.0
    assert len(DEFAULT_BUCKETS) == 14
    assert Registry().histogram("h", "H").buckets == DEFAULT_BUCKETS


def test_histogram_is_exact_under_threads():
    """4 threads x 50,000 observations: count and sum are exact."""
    histogram = Registry().histogram("work_seconds", "Work", buckets=[0.5])

    def work() -> None:
        for _ in range(50_000):
            histogram.observe(0.25)
            histogram.observe(1.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert histogram.state() == ([200_000, 400_000], 250_000.0)


def test_histogram_refuses_nan_and_non_numbers():
    """NaN raises ValueError, a string TypeError; neither changes the state."""
    histogram = Registry().histogram("latency", "Latency", buckets=[1])
    histogram.observe(0.5)
    with pytest.raises(ValueError, match="NaN"):
        histogram.observe(math.nan)
    with pytest.raises(TypeError, match="latency"):
        histogram.observe("0.5")  # type: ignore[arg-type]
    assert histogram.state() == ([1, 1], 0.5)


@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ([], "at least one"),
        ([1, 1], "strictly increasing"),
        ([2, 1], "strictly increasing"),
        ([1, math.nan], "finite"),
        (["a"], "must be numbers"),
        ([math.inf], "at least one"),
    ],
)
def test_bad_buckets_are_refused(buckets, message):
    """Empty, unsorted, NaN or non-numeric bounds raise ValueError."""
    with pytest.raises(ValueError, match=message):
        Registry().histogram("latency", "Latency", buckets=buckets)


def test_explicit_inf_bucket_is_the_same_as_implied():
    """A trailing +Inf bound is accepted and not doubled."""
    histogram = Registry().histogram("latency", "Latency", buckets=[1, math.inf])
    assert histogram.buckets == (1.0,)


def test_le_label_is_reserved_on_histograms():
    """Defining a histogram with an 'le' label raises ValueError naming it."""
    with pytest.raises(ValueError, match="'le'"):
        Registry().histogram("latency", "Latency", labels=["le"])


def test_time_records_when_the_block_raises_and_does_not_swallow():
    """time() as a context manager observes the duration and re-raises the error."""
    histogram = Registry().histogram("op_seconds", "Op", buckets=[60])
    with pytest.raises(KeyError), histogram.time():
        raise KeyError("boom")
    cumulative, total = histogram.state()
    assert cumulative == [1, 1]
    assert 0 <= total < 60


def test_time_decorates_sync_functions():
    """A decorated function returns its value and is observed once per call, errors too."""
    histogram = Registry().histogram("op_seconds", "Op", buckets=[60])

    @histogram.time()
    def double(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return 2 * x

    assert double(4) == 8
    with pytest.raises(ValueError, match="negative"):
        double(-1)
    assert double.__name__ == "double"
    assert histogram.state()[0] == [2, 2]


def test_time_decorates_async_functions_and_async_with():
    """Async functions are timed across their awaits; ``async with`` works too."""
    histogram = Registry().histogram("op_seconds", "Op", buckets=[0.005, 60])

    @histogram.time()
    async def slow() -> str:
        await asyncio.sleep(0.01)
        return "done"

    async def main() -> str:
        async with histogram.time():
            await asyncio.sleep(0)
        return await slow()

    assert asyncio.iscoroutinefunction(slow)
    assert asyncio.run(main()) == "done"
    cumulative, total = histogram.state()
    assert cumulative[-1] == 2
    assert cumulative[0] <= 1  # the slow call took longer than 5 ms
    assert total >= 0.01


def test_labelled_histogram_children_are_independent():
    """Each label set keeps its own buckets; the family refuses observe()."""
    histogram = Registry().histogram("op_seconds", "Op", labels=["op"], buckets=[1])
    histogram.labels(op="a").observe(0.5)
    histogram.labels(op="b").observe(2)
    with pytest.raises(ValueError, match=r"labels\(\.\.\.\) first"):
        histogram.observe(1)
    assert [(values, child.state()) for values, child in histogram.children()] == [
        (("a",), ([1, 1], 0.5)),
        (("b",), ([0, 1], 2.0)),
    ]


def test_values_without_a_float_are_refused_and_leave_the_state_whole():
    """A value float() refuses (text, None, a complex number) raises TypeError and
    records nothing; numbers of other types (Decimal) are observed as floats."""
    import decimal

    histogram = Registry().histogram("latency", "Latency", buckets=[1])
    for value in ["0.5", None, 1j]:
        with pytest.raises(TypeError, match=r"'latency' observe\(\) needs a number"):
            histogram.observe(value)  # type: ignore[arg-type]
    histogram.observe(decimal.Decimal("0.5"))  # type: ignore[arg-type]
    histogram.observe(0.25)
    assert histogram.state() == ([2, 2], 0.75)


def test_bucket_label_pairs_are_built_once_per_series_and_forgotten_on_remove():
    """Snapshots reuse each series' bucket label tuples; remove() drops them."""
    from observabilipy.core.registry import snapshot

    histogram = Registry().histogram("lat", "Latency", labels=["route"], buckets=[1])
    histogram.labels("/a").observe(0.5)
    first, second = snapshot(histogram), snapshot(histogram)
    assert first.samples[0][1] == (("route", "/a"), ("le", "1.0"))
    assert first.samples[0][1] is second.samples[0][1]
    histogram.remove("/a")
    assert histogram._bucket_labels == {}


def test_odd_values_are_bucketed_as_the_floats_they_become():
    """Every observation is a float first (as it is summed): ints beyond a float's
    precision round before they meet the bounds, Fractions and float subclasses count.
    The same buckets with either backend."""

    class Seconds(float):
        pass

    histogram = Registry().histogram("big", "Big", buckets=[2.0**53])
    histogram.observe(2**53)  # equal to the bound: its bucket
    histogram.observe(2**53 + 1)  # rounds to the bound as a float: the same bucket
    histogram.observe(2**53 + 2)  # a float above the bound
    histogram.observe(Fraction(1, 2))  # type: ignore[arg-type]
    histogram.observe(Seconds(1.5))
    cumulative, total = histogram.state()
    assert cumulative == [4, 5]
    assert total == 2.0**53 + 2.0**53 + (2.0**53 + 2) + 0.5 + 1.5


def test_histogram_samples_agree_with_each_series_state():
    """histogram_samples (Rust or Python, whichever is in use) gives what reading each
    series' state() gives."""
    from observabilipy.core.cells import histogram_samples, py_histogram_samples

    histogram = Registry().histogram("rpc_seconds", "RPCs", labels=["method"], buckets=[0.1, 1])
    for i, method in enumerate(["get", "put", "delete"]):
        for value in [0.05 * i, 0.5, 2**60, -3, 1, math.inf]:
            histogram.labels(method).observe(value)
    labels, cells = histogram.cells()
    buckets = [histogram.bucket_labels(pairs) for pairs in labels]
    samples = histogram_samples("rpc_seconds", labels, buckets, cells)
    assert samples == py_histogram_samples("rpc_seconds", labels, buckets, cells)
    cumulative, total = cells[1].state()
    assert samples[5:10] == [
        *(("rpc_seconds_bucket", b, float(n)) for b, n in zip(buckets[1], cumulative, strict=True)),
        ("rpc_seconds_count", labels[1], 6.0),
        ("rpc_seconds_sum", labels[1], total),
    ]
    # Read in step as far as all go: a family's lists may gain a pair before its cell.
    for args in [(labels[:-1], buckets, cells), (labels, buckets[:-1], cells)]:
        assert histogram_samples("rpc_seconds", *args) == samples[:10]
    with pytest.raises(ValueError, match=r"has labels .*: call \.labels"):
        histogram.state()  # a labelled family has no series of its own


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "remove", "clear", "scrape"]), st.integers(0, 2)),
        max_size=25,
    )
)
@example([("add", 0), ("scrape", 0), ("remove", 0), ("add", 1), ("add", 2)])
def test_bucket_lists_kept_between_scrapes_follow_the_series(steps):
    """The bucket label pairs a scrape takes (kept and extended between scrapes) are
    each series' own, in order, through series added, removed and cleared between
    scrapes."""
    histogram = Registry().histogram("wait_seconds", "Wait", ["queue"], buckets=[1, 2])
    for step, key in [*steps, ("scrape", 0)]:
        if step == "add":
            histogram.labels(queue=f"q{key}").observe(key)
        elif step == "remove":
            with contextlib.suppress(KeyError):
                histogram.remove(f"q{key}")
        elif step == "clear":
            histogram.clear()
        else:
            label_sets, _ = histogram.cells()
            kept = histogram.bucket_lists(label_sets)
            assert kept == [histogram.bucket_labels(labels) for labels in label_sets]
            assert [pairs[0][:-1] for pairs in kept] == list(label_sets)
