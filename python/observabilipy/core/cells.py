"""The value cells behind each series: a counter's, a gauge's, a histogram's.

A cell is one series' whole state and its rules (odd values converted or refused,
naming the metric). Two implementations keep the same protocol: the Rust extension's
(atomics; used when it is built) and the pure-Python ones here (a short lock each).
Families hold cells; they never subclass them. ``core.backend`` says which is in use.
"""

from __future__ import annotations

import itertools
import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from observabilipy.core import exemplars
from observabilipy.core.backend import native
from observabilipy.core.exemplars import ExemplarLabels, Exemplars
from observabilipy.core.models import Exemplar

LabelKey = tuple[str, ...]
LabelPairs = tuple[tuple[str, str], ...]
Samples = list[tuple[str, LabelPairs, float]]


class CounterCell(Protocol):
    """A counter series: grows by finite amounts >= 0, exact under threads."""

    def inc(self, amount: float = 1, exemplar: ExemplarLabels | None = None) -> None: ...
    def get(self) -> float: ...
    def exemplar(self) -> Exemplar | None: ...
    def reset(self) -> None: ...


class GaugeCell(Protocol):
    """A gauge series: set, or moved up and down."""

    def set(self, value: float) -> None: ...
    def inc(self, amount: float = 1) -> None: ...
    def dec(self, amount: float = 1) -> None: ...
    def get(self) -> float: ...
    def reset(self) -> None: ...


class HistogramCell(Protocol):
    """A histogram series: per-bucket counts and the sum, changed together."""

    def observe(self, value: float, exemplar: ExemplarLabels | None = None) -> None: ...
    def state(self) -> tuple[list[int], float]: ...
    def exemplars(self) -> list[Exemplar | None]: ...
    def reset(self) -> None: ...


def number(metric: str, what: str, value: object) -> float:
    """``value`` as a float: plain numbers as they are, ``str``/``bytes`` refused,
    anything else through ``float()`` (Decimal, Fraction, numpy numbers)."""
    if type(value) is float or type(value) is int:
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
    """A counter series in pure Python: whole ones and other amounts kept apart, so
    the total adds up exactly as the Rust cell's does."""

    __slots__ = ("_exemplar", "_extra", "_lock", "_name", "_next_probe", "_ones")

    def __init__(self, name: str, changes: object = None) -> None:
        self._name = name
        self._ones = 0
        self._extra = 0.0
        self._lock = threading.Lock()
        self._exemplar: Exemplar | None = None
        self._next_probe = 0.0

    def inc(self, amount: float = 1, exemplar: ExemplarLabels | None = None) -> None:
        """Add ``amount`` (default 1), a finite number >= 0, with an optional exemplar."""
        if type(amount) is int or type(amount) is float:
            if not 0 <= amount < math.inf:
                amount = self._amount(amount)
        else:
            amount = self._amount(amount)
        labels = None
        if exemplar is not None or exemplars.source is not None:
            labels = self._exemplar_labels(exemplar)
        with self._lock:
            if amount == 1:
                self._ones += 1
            else:
                self._extra += amount
        if labels is not None:
            self._exemplar = (labels, amount, exemplars.now())

    def _amount(self, amount: object) -> float:
        value = number(self._name, "inc()", amount)
        if not 0 <= value < math.inf:
            raise ValueError(
                f"counter {self._name!r} can only grow by a finite amount >= 0, got {amount!r}"
            )
        return value

    def _exemplar_labels(self, given: ExemplarLabels | None) -> LabelPairs | None:
        if given is not None:
            return exemplars.check_labels(self._name, given)
        self._next_probe, labels = exemplars.probe(self._name, self._next_probe)
        return labels

    def get(self) -> float:
        """The current total."""
        return self._ones + self._extra

    def exemplar(self) -> Exemplar | None:
        """The latest exemplar, or None."""
        return self._exemplar

    def reset(self) -> None:
        """Back to zero, without exemplar (a forked child's counters restart)."""
        self._ones, self._extra, self._exemplar = 0, 0.0, None
        self._lock = threading.Lock()


class PyGaugeCell:
    """A gauge series in pure Python: set outright, moved under a short lock."""

    __slots__ = ("_lock", "_name", "_value")

    def __init__(self, name: str, changes: object = None) -> None:
        self._name = name
        self._value = 0.0
        self._lock = threading.Lock()

    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        self._value = value if type(value) is float else number(self._name, "set()", value)

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1)."""
        if type(amount) is not float:
            amount = number(self._name, "inc()", amount)
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (default 1)."""
        if type(amount) is not float:
            amount = number(self._name, "dec()", amount)
        with self._lock:
            self._value -= amount

    def get(self) -> float:
        """The current value."""
        return self._value

    def reset(self) -> None:
        """A new lock; the value is a state, not a tally, so a forked child keeps it."""
        self._lock = threading.Lock()


class PyHistogramCell:
    """A histogram series in pure Python: per-bucket counts and the sum, changed
    together under a lock."""

    __slots__ = ("_counts", "_exemplars", "_lock", "_name", "_next_probe", "_sum", "_upper")

    def __init__(self, name: str, upper: list[float], changes: object = None) -> None:
        self._name = name
        self._upper = upper  # finite bounds; the last count is the +Inf bucket
        self._counts = [0] * (len(upper) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()
        self._exemplars: list[Exemplar | None] = []
        self._next_probe = 0.0

    def observe(self, value: float, exemplar: ExemplarLabels | None = None) -> None:
        """Record one observation (a number, not NaN), with an optional exemplar."""
        if type(value) is not float or value != value:
            value = number(self._name, "observe()", value)
            if value != value:
                raise ValueError(f"histogram {self._name!r} cannot observe NaN")
        labels = None
        if exemplar is not None or exemplars.source is not None:
            labels = self._exemplar_labels(exemplar)
        index = bisect_left(self._upper, value)
        with self._lock:
            self._sum += value
            self._counts[index] += 1
        if labels is not None:
            self._keep(index, (labels, value, exemplars.now()))

    def _exemplar_labels(self, given: ExemplarLabels | None) -> LabelPairs | None:
        if given is not None:
            return exemplars.check_labels(self._name, given)
        self._next_probe, labels = exemplars.probe(self._name, self._next_probe)
        return labels

    def _keep(self, index: int, exemplar: Exemplar) -> None:
        with self._lock:
            if not self._exemplars:
                self._exemplars = [None] * len(self._counts)
            self._exemplars[index] = exemplar

    def state(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last is +Inf, equal to the count) and the sum."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        return list(itertools.accumulate(counts)), total

    def exemplars(self) -> list[Exemplar | None]:
        """Each bucket's latest exemplar, or None."""
        with self._lock:
            return list(self._exemplars) or [None] * len(self._counts)

    def reset(self) -> None:
        """Back to empty, without exemplars (a forked child's histograms restart)."""
        self._counts = [0] * len(self._counts)
        self._sum = 0.0
        self._exemplars = []
        self._lock = threading.Lock()


def py_counter_samples(
    sample: str,
    labels: list[LabelPairs],
    cells: Sequence[CounterCell],
    exemplars: Exemplars | None = None,
) -> Samples:
    """A counter family's samples from its series' label pairs and cells, in matching
    order, read in step as far as both go (a family's lists may gain a pair before its
    cell: ``Family.cells``); each series' exemplar goes into ``exemplars`` (when given)."""
    if exemplars is not None:
        for pairs, cell in zip(labels, cells, strict=False):
            exemplar = cell.exemplar()
            if exemplar is not None:
                exemplars[sample, pairs] = exemplar
    return [(sample, pairs, cell.get()) for pairs, cell in zip(labels, cells, strict=False)]


def py_gauge_samples(sample: str, labels: list[LabelPairs], cells: Sequence[GaugeCell]) -> Samples:
    """A gauge family's samples from its series' label pairs and cells, in matching order,
    read in step as far as both go."""
    return [(sample, pairs, cell.get()) for pairs, cell in zip(labels, cells, strict=False)]


def py_histogram_samples(
    name: str,
    labels: list[LabelPairs],
    bucket_labels: list[list[LabelPairs]],
    cells: Sequence[HistogramCell],
    exemplars: Exemplars | None = None,
) -> Samples:
    """A histogram family's samples, series by series: its buckets (label pairs from
    ``bucket_labels``), then ``_count`` and ``_sum``; each bucket's exemplar goes into
    ``exemplars`` (when given)."""
    bucket, count, total = f"{name}_bucket", f"{name}_count", f"{name}_sum"
    samples: Samples = []
    for pairs, buckets, cell in zip(labels, bucket_labels, cells, strict=False):
        cumulative, observed = cell.state()
        samples.extend((bucket, b, float(n)) for b, n in zip(buckets, cumulative, strict=True))
        samples.append((count, pairs, float(cumulative[-1])))
        samples.append((total, pairs, observed))
        if exemplars is not None:
            for bucket_pairs, exemplar in zip(buckets, cell.exemplars(), strict=False):
                if exemplar is not None:
                    exemplars[bucket, bucket_pairs] = exemplar
    return samples


# The backend's cells and bulk readers: the Rust extension's when built.
#: A family's change bits, which its Rust cells mark (None in pure Python, whose cells
#: take and ignore them).
new_changes: Callable[[], object]
new_counter_cell: Callable[[str, object], CounterCell]
new_gauge_cell: Callable[[str, object], GaugeCell]
new_histogram_cell: Callable[[str, list[float], object], HistogramCell]
counter_samples: Callable[..., Samples]
gauge_samples: Callable[..., Samples]
histogram_samples: Callable[..., Samples]
#: The Rust ``CounterSeries`` (a counter or gauge family's cells for the Rust encoder to
#: read), or None.
counter_series: Callable[[str, list[LabelPairs], list[Any], object], object] | None
#: The Rust ``HistogramSeries`` (the same for a histogram family), or None.
histogram_series: (
    Callable[[str, list[LabelPairs], list[list[LabelPairs]], list[Any], object], object] | None
)

if TYPE_CHECKING or native is None:
    new_counter_cell, new_gauge_cell, new_histogram_cell = (
        PyCounterCell,
        PyGaugeCell,
        PyHistogramCell,
    )
    counter_samples, gauge_samples = py_counter_samples, py_gauge_samples
    histogram_samples, counter_series = py_histogram_samples, None
    histogram_series = None
    new_changes = type(None)
else:
    new_counter_cell, new_gauge_cell = native.CounterCell, native.GaugeCell
    new_changes = native.Changes
    new_histogram_cell = native.HistogramCell
    counter_samples, gauge_samples = native.counter_samples, native.gauge_samples
    histogram_samples, counter_series = native.histogram_samples, native.CounterSeries
    histogram_series = native.HistogramSeries
