"""The value cells behind each series: a counter's, a gauge's, a histogram's.

Hot paths avoid locks where CPython gives atomicity for free (``next()`` on an
``itertools.count``, or a Rust atomic in the extension's counter cell) and take a short
lock where several fields change together. A labelled family's own cell refuses every
use, so a forgotten ``labels(...)`` is a clear error.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from observabilipy.core.backend import native
from observabilipy.core.timer import ExceptionCounter, InProgress, Timer

# The Rust extension's cells and bulk readers, or None with the pure-Python backend.
native_counter_cell = None if native is None else native.CounterCell
native_counter_samples = None if native is None else native.counter_samples
native_counter_series = None if native is None else native.CounterSeries
native_gauge_cell = None if native is None else native.GaugeCell
native_gauge_samples = None if native is None else native.gauge_samples
native_histogram_cell = None if native is None else native.HistogramCell
native_histogram_samples = None if native is None else native.histogram_samples

LabelKey = tuple[str, ...]
LabelPairs = tuple[tuple[str, str], ...]


def _number(metric: str, what: str, value: object) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(
            f"{metric!r} {what} needs a number, got {type(value).__name__} {value!r}"
        ) from None


class PyCounterCell:
    """A counter series' value in pure Python: ``next()`` on an ``itertools.count`` is
    atomic under the GIL, so whole increments take no lock. The Rust extension's
    ``CounterCell`` is the same cell in atomics; ``CounterValue`` builds on either."""

    __slots__ = ("_extra", "_lock", "_ones")

    def __init__(self) -> None:
        self._ones: Iterator[int] = itertools.count()
        self._extra = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1); negative, NaN or infinite amounts raise."""
        if amount == 1:
            next(self._ones)  # atomic under the GIL: no lock on the common path
            return
        if type(self._ones) is _Refusing:
            self._refuse()
        self._add(amount)

    def _add(self, amount: object) -> None:
        raise NotImplementedError

    def _refuse(self) -> None:
        raise NotImplementedError

    def _add_checked(self, amount: float) -> None:
        with self._lock:
            self._extra += amount

    def get(self) -> float:
        """The current total."""
        ones = self._ones
        if type(ones) is _Refusing:
            self._refuse()
        return int(repr(ones)[6:-1]) + self._extra  # peek() inlined: snapshots call this a lot

    def _reset(self) -> None:
        if type(self._ones) is not _Refusing:
            self._ones = itertools.count()
        self._extra = 0.0
        self._lock = threading.Lock()

    def _set_refusing(self) -> None:
        self._ones = _Refusing(self._refuse)


class _Refusing:
    """Stands in for a refusing cell's count: ``next()`` raises the cell's refusal."""

    __slots__ = ("_refuse",)

    def __init__(self, refuse: Callable[[], None]) -> None:
        self._refuse = refuse

    def __next__(self) -> int:
        self._refuse()
        raise AssertionError("unreachable: _refuse raises")

    def __iter__(self) -> Iterator[int]:
        return self


def _check_lengths(labels: Sequence[object], cells: Sequence[object]) -> None:
    if len(labels) != len(cells):
        raise ValueError(f"{len(labels)} label sets for {len(cells)} cells")


def py_counter_samples(
    sample: str, labels: list[LabelPairs], cells: Sequence[PyCounterCell]
) -> list[tuple[str, LabelPairs, float]]:
    """A counter family's samples from its series' label pairs and cells, in matching
    order (``get()`` inlined)."""
    _check_lengths(labels, cells)
    return [
        (sample, pairs, int(repr(cell._ones)[6:-1]) + cell._extra)
        for pairs, cell in zip(labels, cells, strict=True)
    ]


if TYPE_CHECKING:
    CounterCell = PyCounterCell
    counter_samples = py_counter_samples
else:
    CounterCell = native_counter_cell or PyCounterCell
    counter_samples = native_counter_samples or py_counter_samples

#: The Rust ``CounterSeries`` (a family's cells for the Rust encoder to read), or None.
counter_series: Callable[[str, list[LabelPairs], list[Any]], object] | None = native_counter_series


class CounterValue(CounterCell):
    """A counter's value: only goes up, exact whatever the number of threads."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def _add(self, amount: object) -> None:
        """Amounts other than a plain finite non-negative number: converted or refused."""
        number = _number(self._name, "inc()", amount)
        if not number >= 0 or number == math.inf:
            raise ValueError(
                f"counter {self._name!r} can only grow by a finite amount >= 0, got {amount!r}"
            )
        if number == 1:
            self.inc()
        else:
            self._add_checked(number)

    def _reset_after_fork(self) -> None:
        self._reset()

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        """Count the exceptions of type ``exception`` leaving a block or call."""
        return ExceptionCounter(self.inc, exception)


class PyGaugeCell:
    """A gauge series' value in pure Python: set outright, moved under a short lock.
    The Rust extension's ``GaugeCell`` is the same cell in an atomic; ``GaugeValue``
    builds on either."""

    __slots__ = ("_lock", "_refusing", "_value")

    def __init__(self) -> None:
        self._value = 0.0
        self._lock = threading.Lock()
        self._refusing = False

    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        if self._refusing:
            self._refuse()
        self._value = value if type(value) is float else self._number("set()", value)

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1)."""
        if self._refusing:
            self._refuse()
        if type(amount) is not float:
            amount = float(amount) if type(amount) is int else self._number("inc()", amount)
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (default 1)."""
        if self._refusing:
            self._refuse()
        if type(amount) is not float:
            amount = float(amount) if type(amount) is int else self._number("dec()", amount)
        with self._lock:
            self._value -= amount

    def get(self) -> float:
        """The current value."""
        if self._refusing:
            self._refuse()
        return self._value

    def _number(self, what: str, value: object) -> float:
        raise NotImplementedError

    def _refuse(self) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        self._lock = threading.Lock()  # the value is a state, not a tally: it stays

    def _set_refusing(self) -> None:
        self._refusing = True


def py_gauge_samples(
    sample: str, labels: list[LabelPairs], cells: Sequence[PyGaugeCell]
) -> list[tuple[str, LabelPairs, float]]:
    """A gauge family's samples from its series' label pairs and cells, in matching order."""
    _check_lengths(labels, cells)
    return [(sample, pairs, cell._value) for pairs, cell in zip(labels, cells, strict=True)]


if TYPE_CHECKING:
    GaugeCell = PyGaugeCell
    gauge_samples = py_gauge_samples
else:
    GaugeCell = native_gauge_cell or PyGaugeCell
    gauge_samples = native_gauge_samples or py_gauge_samples


class GaugeValue(GaugeCell):
    """A gauge's value: goes up and down, or is set."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def _number(self, what: str, value: object) -> float:
        return _number(self._name, what, value)

    def _refuse(self) -> None:
        _refuse(self)

    def _reset_after_fork(self) -> None:
        if isinstance(self, PyGaugeCell):
            self._reset()

    def set_to_current_time(self, clock: Callable[[], float] | None = None) -> None:
        """Set the gauge to the current Unix time in seconds."""
        self.set((clock or time.time)())

    def time(self) -> Timer:
        """Set the gauge to the duration of a block or call, in seconds."""
        return Timer(self.set)

    def track_inprogress(self) -> InProgress:
        """Up by one while a block or call runs."""
        return InProgress(self.inc, self.dec)


class PyHistogramCell:
    """A histogram series in pure Python: per-bucket counts and the sum, changed
    together under a lock. The Rust extension's ``HistogramCell`` is the same cell;
    ``HistogramValue`` builds on either."""

    __slots__ = ("_counts", "_lock", "_refusing", "_sum", "_upper")

    def __init__(self) -> None:
        self._upper: list[float] = []  # finite bounds; the last count is the +Inf bucket
        self._counts = [0]
        self._sum = 0.0
        self._lock = threading.Lock()
        self._refusing = False

    def observe(self, value: float) -> None:
        """Record one observation; NaN raises."""
        try:
            index = bisect_left(self._upper, value)
        except TypeError:
            index = -1
        if index < 0 or value != value or self._refusing:
            index, value = self._observation(value)  # raises for these, saying why
        lock = self._lock
        lock.acquire()  # cheaper than `with` on this path; the sum goes first as it may raise
        try:
            self._sum += value
            self._counts[index] += 1
        except TypeError:
            self._observation(value)  # raises: compares but does not add
        finally:
            lock.release()

    def _observation(self, value: object) -> tuple[int, float]:
        raise NotImplementedError

    def _state(self) -> tuple[list[int], float]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        return list(itertools.accumulate(counts)), total

    def _set_bounds(self, upper: list[float]) -> None:
        self._upper = upper
        self._counts = [0] * (len(upper) + 1)

    def _reset(self) -> None:
        self._counts = [0] * len(self._counts)
        self._sum = 0.0
        self._lock = threading.Lock()

    def _set_refusing(self) -> None:
        self._refusing = True

    def _is_refusing(self) -> bool:
        return self._refusing


if TYPE_CHECKING:
    HistogramCell = PyHistogramCell
else:
    HistogramCell = native_histogram_cell or PyHistogramCell


class HistogramValue(HistogramCell):
    """A histogram's state: per-bucket counts and the sum, changed together."""

    __slots__ = ("_bounds", "_name")

    def __init__(self, name: str, upper: list[float]) -> None:
        super().__init__()
        self._name = name
        self._bounds = upper
        self._set_bounds(upper)

    def _observation(self, value: object) -> tuple[int, float]:
        """The bucket and the number to record for a value the cells' fast paths do not
        take (compared with the bounds exactly, as Python compares), or the error for
        it, checked in this order: comparable, labels, NaN, addable."""
        try:
            index = bisect_left(self._bounds, value)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(
                f"{self._name!r} observe() needs a number, got {type(value).__name__} {value!r}"
            ) from None
        if self._is_refusing():
            _refuse(self)
        if value != value:
            raise ValueError(f"histogram {self._name!r} cannot observe NaN")
        try:
            return index, 0.0 + value  # type: ignore[operator]
        except TypeError:
            raise TypeError(
                f"{self._name!r} observe() needs a float, got {type(value).__name__} {value!r}"
            ) from None

    def time(self) -> Timer:
        """Observe the duration of a block or call, in seconds, even when it raises."""
        return Timer(self.observe)

    def _reset_after_fork(self) -> None:
        self._reset()

    def state(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last is +Inf, equal to the count) and the sum."""
        if self._is_refusing():
            _refuse(self)
        return self._state()


def py_histogram_samples(
    name: str,
    labels: list[LabelPairs],
    bucket_labels: list[list[LabelPairs]],
    cells: Sequence[HistogramValue],
) -> list[tuple[str, LabelPairs, float]]:
    """A histogram family's samples, series by series: its buckets (label pairs from
    ``bucket_labels``), then ``_count`` and ``_sum``."""
    _check_lengths(labels, cells)
    _check_lengths(bucket_labels, cells)
    bucket, count, total = f"{name}_bucket", f"{name}_count", f"{name}_sum"
    samples: list[tuple[str, LabelPairs, float]] = []
    for pairs, buckets, cell in zip(labels, bucket_labels, cells, strict=True):
        cumulative, observed = cell.state()
        samples.extend((bucket, b, float(n)) for b, n in zip(buckets, cumulative, strict=True))
        samples.append((count, pairs, float(cumulative[-1])))
        samples.append((total, pairs, observed))
    return samples


histogram_samples = native_histogram_samples or py_histogram_samples


def _refuse(value: GaugeValue | HistogramValue) -> None:  # the labels are the family's
    raise ValueError(f"{value._name!r} has labels: call .labels(...) first")
