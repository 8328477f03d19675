"""Counters: cumulative, exact under threads, and strict about their input."""

import math
import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from observabilipy import Registry
from observabilipy.core.cells import counter_samples
from observabilipy.encoders import encode_text


def test_counter_incremented_three_times_reads_three():
    """Three inc() calls give a total of exactly 3."""
    counter = Registry().counter("requests_total", "Requests")
    for _ in range(3):
        counter.inc()
    assert counter.get() == 3


def test_counter_adds_fractional_amounts_and_ones_together():
    """inc(amount) adds to the same total as the lock-free inc()."""
    counter = Registry().counter("bytes_total", "Bytes")
    counter.inc()
    counter.inc(2.5)
    counter.inc(0)
    counter.inc(1.0)
    assert counter.get() == 4.5


def test_counter_is_exact_under_eight_threads():
    """8 threads x 1,000,000 increments give exactly 8,000,000."""
    counter = Registry().counter("hits_total", "Hits")
    child = Registry().counter("by_worker", "Hits", labels=["w"]).labels("a")
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(500_000):
            counter.inc()
            child.inc(1)
        for _ in range(500_000):
            counter.inc()
        for _ in range(10_000):
            child.inc(2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.get() == 8_000_000
    assert child.get() == 8 * (500_000 + 20_000)


@pytest.mark.parametrize("amount", [-1, -0.5, math.nan, math.inf])
def test_counter_refuses_amounts_that_would_not_only_grow(amount):
    """Negative, NaN and infinite increments raise ValueError naming the amount."""
    counter = Registry().counter("jobs_total", "Jobs")
    counter.inc()
    with pytest.raises(ValueError, match="jobs") as info:
        counter.inc(amount)
    assert repr(amount) in str(info.value)
    assert counter.get() == 1


@pytest.mark.parametrize("amount", ["3", None, b"1", [1]])
def test_counter_refuses_amounts_that_are_not_numbers(amount):
    """A non-number increment raises TypeError and changes nothing."""
    counter = Registry().counter("jobs_total", "Jobs")
    with pytest.raises(TypeError, match="needs a number"):
        counter.inc(amount)
    assert counter.get() == 0


def test_labelled_counter_needs_labels_before_inc():
    """inc() on a labelled family says to call labels() first."""
    counter = Registry().counter("orders_total", "Orders", labels=["method"])
    with pytest.raises(ValueError, match=r"labels\(\.\.\.\) first"):
        counter.inc()
    with pytest.raises(ValueError, match=r"labels\(\.\.\.\) first"):
        counter.inc(5)
    assert counter.children() == []


def test_labelled_counter_refuses_reads_and_odd_amounts_too():
    """get() and any inc() amount on a labelled family refuse; nothing is added."""
    counter = Registry().counter("orders_total", "Orders", labels=["method"])
    refusal = r"\['method'\]: call \.labels\(\.\.\.\) first"
    with pytest.raises(ValueError, match=refusal):
        counter.get()
    amounts: list[Any] = [Fraction(1, 2), None]
    for amount in amounts:
        with pytest.raises(ValueError, match=refusal):
            counter.inc(amount)


def test_other_numeric_amounts_are_converted():
    """bool, Decimal, Fraction and float subclasses count as the numbers they are."""

    class Seconds(float):
        pass

    counter = Registry().counter("work_total", "Work")
    amounts: list[Any] = [True, Decimal("1"), Decimal("2.5"), Fraction(1, 4), Seconds(0.25), 2**70]
    for amount in amounts:
        counter.inc(amount)
    assert counter.get() == 1 + 1 + 2.5 + 0.25 + 0.25 + 2.0**70


def test_a_family_snapshot_reads_every_cell():
    """counter_samples (Rust or Python, whichever is in use) agrees with get()."""
    counter = Registry().counter("jobs_total", "Jobs", labels=["queue"])
    for i in range(50):
        counter.labels(f"q{i}").inc(i * 0.5)
        counter.labels(f"q{i}").inc()
    labels, cells = counter.cells()
    assert counter_samples("jobs_total", labels, cells) == [
        ("jobs_total", (("queue", f"q{i}"),), 1 + i * 0.5) for i in range(50)
    ]
    # Read in step as far as both go: a family's lists may gain a pair before its cell.
    assert len(counter_samples("jobs_total", labels[:-1], cells)) == 49
    assert len(counter_samples("jobs_total", labels, cells[:-1])) == 49


def test_labels_by_keyword_and_position_reach_the_same_child():
    """labels(method="card") and labels("card") are one series."""
    counter = Registry().counter("orders_total", "Orders", labels=["method", "region"])
    counter.labels(method="card", region="eu").inc()
    counter.labels("card", "eu").inc()
    counter.labels(region="eu", method="card").inc(3)
    [(values, child)] = counter.children()
    assert values == ("card", "eu")
    assert child.get() == 5


def test_integer_and_enum_label_values_become_text():
    """Integer label values (status codes) and enums are written as text."""
    import enum

    class Method(str, enum.Enum):  # noqa: UP042 - the mixin is what users write
        CARD = "card"

    counter = Registry().counter("orders_total", "Orders", labels=["method", "code"])
    counter.labels(Method.CARD, 200).inc()
    counter.labels("card", "200").inc()
    [(values, child)] = counter.children()
    assert values == ("card", "200")
    assert child.get() == 2


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("card",), {}, ValueError, r"takes labels \['method', 'region'\], \['region'\] left out"),
        ((), {"method": "card"}, ValueError, r"\['region'\] left out"),
        ((), {"method": "card", "zone": "eu"}, TypeError, "unexpected keyword argument 'zone'"),
        (("card", "eu", "x"), {}, ValueError, r"got \['card', 'eu', 'x'\]"),
        (("card",), {"method": "eu"}, TypeError, "multiple values for argument 'method'"),
    ],
)
def test_wrong_label_sets_raise_and_add_no_series(args, kwargs, error, message):
    """A missing, extra, unknown or twice-given label raises, naming it, and adds nothing."""
    counter = Registry().counter("orders_total", "Orders", labels=["method", "region"])
    with pytest.raises(error, match=message):
        counter.labels(*args, **kwargs)
    assert counter.children() == []


@pytest.mark.parametrize("value", [None, 1.5, True, b"x", object(), "\ud800"])
def test_label_values_must_be_text(value):
    """None, floats, bools, bytes, objects and lone surrogates are refused as label values."""
    counter = Registry().counter("orders_total", "Orders", labels=["method"])
    with pytest.raises((TypeError, ValueError), match="method"):
        counter.labels(value)
    assert counter.children() == []


def test_labels_on_an_unlabelled_counter_raise():
    """labels() on a family without labels says it has none."""
    counter = Registry().counter("orders_total", "Orders")
    with pytest.raises(ValueError, match="has no labels"):
        counter.labels("x")


def test_remove_forgets_a_series():
    """remove() drops one child; the next labels() starts from zero."""
    counter = Registry().counter("orders_total", "Orders", labels=["method"])
    counter.labels("card").inc(4)
    counter.remove("card")
    assert counter.children() == []
    assert counter.labels("card").get() == 0


def test_remove_keeps_the_other_series_in_order_in_scrapes():
    """Removing a series from the middle leaves the others, in order, with their values;
    removing an unknown one changes nothing; a series added back comes last."""
    registry = Registry()
    counter = registry.counter("orders_total", "Orders", labels=["method"])
    for amount, method in enumerate(["card", "cash", "cheque", "coupon"], start=1):
        counter.labels(method).inc(amount)
    counter.remove("cash")
    counter.remove("never-seen")
    counter.labels("cash").inc(10)
    samples = [
        (dict(labels)["method"], value) for _, labels, value in registry.collect()[0].samples
    ]
    assert samples == [("card", 1), ("cheque", 3), ("coupon", 4), ("cash", 10)]


def test_snapshots_taken_while_series_are_added_and_removed_pair_labels_with_cells():
    """Snapshots read a family's own lists, not copies: series added (a pair before its
    cell) or removed meanwhile never pair a label set with another series' value."""
    registry = Registry()
    counter = registry.counter("jobs_total", "Jobs", labels=["n"])
    histogram = registry.histogram("lat", "Latency", labels=["n"], buckets=[1.0])
    done, snapped = threading.Event(), threading.Event()

    def churn() -> None:
        for n in range(1500):
            counter.labels(str(n)).inc(n)
            histogram.labels(str(n)).observe(n)
            if n % 7 == 0:
                counter.remove(str(n // 2))
            if n % 100 == 99:  # let snapshots in among the changes, however fast this runs
                snapped.wait(5)
                snapped.clear()
        done.set()

    worker = threading.Thread(target=churn)
    worker.start()
    snapshots = 0
    while not done.is_set() or snapshots == 0:
        for family in registry.collect():
            if family.name not in ("jobs", "lat"):
                continue
            for sample, labels, value in family.samples:
                n = float(dict(labels)["n"])
                if sample in ("jobs_total", "lat_sum"):  # 0 until the series' first use
                    assert value in (0.0, n), (sample, labels, value)
        encode_text(registry.collect(exposition=True))
        snapshots += 1
        snapped.set()
    worker.join()
    assert snapshots > 1
