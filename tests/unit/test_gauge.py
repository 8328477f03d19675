"""Gauges: set, inc, dec, exact under threads."""

import math
import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from observabilipy import Registry
from observabilipy.core.cells import gauge_samples


def test_gauge_sets_and_moves():
    """set, inc and dec move the value as asked; NaN and infinities are allowed."""
    gauge = Registry().gauge("queue_depth", "Jobs waiting")
    gauge.set(3)
    gauge.inc()
    gauge.dec(0.5)
    assert gauge.get() == 3.5
    gauge.set(math.inf)
    assert gauge.get() == math.inf
    gauge.set(math.nan)
    assert math.isnan(gauge.get())


def test_gauge_inc_dec_is_exact_under_threads():
    """4 threads doing +1/-1 pairs and +1s end at the exact total."""
    gauge = Registry().gauge("in_flight", "In flight")

    def work() -> None:
        for _ in range(100_000):
            gauge.inc()
            gauge.dec()
            gauge.inc(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gauge.get() == 400_000


@pytest.mark.parametrize("value", ["3", None, [1]])
def test_gauge_refuses_non_numbers(value):
    """A non-number set raises TypeError and keeps the old value."""
    gauge = Registry().gauge("queue_depth", "Jobs waiting")
    gauge.set(2)
    with pytest.raises(TypeError, match="queue_depth"):
        gauge.set(value)
    assert gauge.get() == 2


def test_labelled_gauge_needs_labels():
    """set() on a labelled gauge family says to call labels() first."""
    gauge = Registry().gauge("temperature", "Temp", labels=["room"])
    with pytest.raises(ValueError, match=r"labels\(\.\.\.\) first"):
        gauge.set(1)
    gauge.labels(room="hall").set(21.5)
    assert gauge.labels("hall").get() == 21.5


def test_gauge_time_sets_the_duration():
    """gauge.time() sets the gauge to the seconds a block took."""
    gauge = Registry().gauge("last_run_seconds", "Last run")
    with gauge.time():
        pass
    assert 0 <= gauge.get() < 1


def test_set_to_current_time_uses_the_clock():
    """set_to_current_time() stores what the clock says."""
    gauge = Registry().gauge("last_seen", "Last seen")
    gauge.set_to_current_time(lambda: 1234.5)
    assert gauge.get() == 1234.5


def test_labelled_gauge_refuses_every_use_of_the_family_itself():
    """get, inc and dec on the family (not a child) refuse too; nothing changes."""
    gauge = Registry().gauge("temperature", "Temp", labels=["room"])
    for use in (gauge.get, gauge.inc, gauge.dec, lambda: gauge.set(2.0)):
        with pytest.raises(ValueError, match=r"'temperature' has labels"):
            use()
    assert gauge.children() == []


def test_gauge_amounts_of_other_numeric_types_are_converted():
    """bool, Decimal, Fraction and float subclasses move a gauge as the numbers they are."""

    class Celsius(float):
        pass

    gauge = Registry().gauge("level", "Level")
    half: Any = Fraction(1, 2)
    gauge.set(Decimal("2.5"))  # type: ignore[arg-type]
    gauge.inc(True)
    gauge.dec(half)
    gauge.inc(Celsius(1.0))
    assert gauge.get() == 4.0
    with pytest.raises(OverflowError):
        gauge.set(10**400)
    assert gauge.get() == 4.0


def test_a_gauge_family_snapshot_reads_every_cell():
    """gauge_samples (Rust or Python, whichever is in use) agrees with get()."""
    gauge = Registry().gauge("depth", "Depth", labels=["queue"])
    for i in range(20):
        gauge.labels(f"q{i}").set(i / 4)
    labels, cells = gauge.cells()
    assert gauge_samples("depth", labels, cells) == [
        ("depth", (("queue", f"q{i}"),), i / 4) for i in range(20)
    ]
    # Read in step as far as both go: a family's lists may gain a pair before its cell.
    assert len(gauge_samples("depth", labels[:-1], cells)) == 19
