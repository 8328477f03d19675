"""Counters, gauges and histograms with Prometheus semantics, exact under threads.

Each metric is a family; a labelled family hands out one child per label set through
``labels()``, an unlabelled one is its own single child. Hot paths avoid locks where
CPython gives atomicity for free (``next()`` on an ``itertools.count``) and take a
short lock where several fields change together.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Generic, TypeVar

from observabilipy.core.encoding.floats import format_le
from observabilipy.core.names import check_label_names, check_metric_name, check_text, label_value
from observabilipy.core.timer import Timer

DEFAULT_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

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


class _LabelsRequired:
    """Stands in for a labelled family's own value: every use names the fix."""

    __slots__ = ("_message",)

    def __init__(self, metric: str, names: LabelKey) -> None:
        self._message = f"{metric!r} has labels {list(names)}: call .labels(...) first"

    def __next__(self) -> int:
        raise ValueError(self._message)

    def __iter__(self) -> Iterator[int]:
        return self

    def fail(self) -> None:
        raise ValueError(self._message)


class CounterValue:
    """A counter's value: only goes up, exact whatever the number of threads."""

    __slots__ = ("_extra", "_lock", "_name", "_ones")

    def __init__(self, name: str) -> None:
        self._name = name
        self._ones: Iterator[int] = itertools.count()
        self._extra = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1); negative, NaN or infinite amounts raise."""
        if amount == 1:
            next(self._ones)  # atomic under the GIL: no lock on the common path
            return
        self._add(amount)

    def _add(self, amount: object) -> None:
        if isinstance(self._ones, _LabelsRequired):
            self._ones.fail()
        number = _number(self._name, "inc()", amount)
        if not number >= 0 or number == math.inf:
            raise ValueError(
                f"counter {self._name!r} can only grow by a finite amount >= 0, got {amount!r}"
            )
        with self._lock:
            self._extra += number

    def _reset_after_fork(self) -> None:
        if not isinstance(self._ones, _LabelsRequired):
            self._ones = itertools.count()
        self._extra = 0.0
        self._lock = threading.Lock()

    def get(self) -> float:
        """The current total."""
        ones = self._ones
        if type(ones) is _LabelsRequired:
            ones.fail()
        return int(repr(ones)[6:-1]) + self._extra  # peek() inlined: snapshots call this a lot


class GaugeValue:
    """A gauge's value: goes up and down, or is set."""

    __slots__ = ("_lock", "_name", "_unlabelled", "_value")

    def __init__(self, name: str) -> None:
        self._name = name
        self._value = 0.0
        self._lock = threading.Lock()
        self._unlabelled = True

    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        if not self._unlabelled:
            _refuse(self)
        self._value = value if type(value) is float else _number(self._name, "set()", value)

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1)."""
        if not self._unlabelled:
            _refuse(self)
        number = amount if type(amount) is float else _number(self._name, "inc()", amount)
        with self._lock:
            self._value += number

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (default 1)."""
        if not self._unlabelled:
            _refuse(self)
        number = amount if type(amount) is float else _number(self._name, "dec()", amount)
        with self._lock:
            self._value -= number

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()  # the value is a state, not a tally: it stays

    def set_to_current_time(self, clock: Callable[[], float] | None = None) -> None:
        """Set the gauge to the current Unix time in seconds."""
        self.set((clock or time.time)())

    def time(self) -> Timer:
        """Set the gauge to the duration of a block or call, in seconds."""
        return Timer(self.set)

    def get(self) -> float:
        """The current value."""
        if not self._unlabelled:
            _refuse(self)
        return self._value


class HistogramValue:
    """A histogram's state: per-bucket counts and the sum, changed together under a lock."""

    __slots__ = ("_counts", "_lock", "_name", "_sum", "_unlabelled", "_upper")

    def __init__(self, name: str, upper: list[float]) -> None:
        self._name = name
        self._upper = upper  # finite bounds; the last count is the +Inf bucket
        self._counts = [0] * (len(upper) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()
        self._unlabelled = True

    def observe(self, value: float) -> None:
        """Record one observation; NaN raises."""
        try:
            index = bisect_left(self._upper, value)
        except TypeError:
            raise TypeError(
                f"{self._name!r} observe() needs a number, got {type(value).__name__} {value!r}"
            ) from None
        if value != value or not self._unlabelled:
            self._refuse_observation(value)
        lock = self._lock
        lock.acquire()  # cheaper than `with` on this path; the sum goes first as it may raise
        try:
            self._sum += value
            self._counts[index] += 1
        except TypeError:
            raise TypeError(
                f"{self._name!r} observe() needs a float, got {type(value).__name__} {value!r}"
            ) from None
        finally:
            lock.release()

    def _refuse_observation(self, value: float) -> None:
        if not self._unlabelled:
            _refuse(self)
        raise ValueError(f"histogram {self._name!r} cannot observe NaN")

    def time(self) -> Timer:
        """Observe the duration of a block or call, in seconds, even when it raises."""
        return Timer(self.observe)

    def _reset_after_fork(self) -> None:
        self._counts = [0] * len(self._counts)
        self._sum = 0.0
        self._lock = threading.Lock()

    def state(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last is +Inf, equal to the count) and the sum."""
        if not self._unlabelled:
            _refuse(self)
        with self._lock:
            counts, total = list(self._counts), self._sum
        return list(itertools.accumulate(counts)), total


def _refuse(value: GaugeValue | HistogramValue) -> None:
    raise ValueError(f"{value._name!r} has labels: call .labels(...) first")


V = TypeVar("V", CounterValue, GaugeValue, HistogramValue)


class _Family(Generic[V]):
    """What every metric family shares: its definition and its children by label values."""

    kind: str = ""

    def _init_family(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        if not isinstance(documentation, str):
            raise TypeError(f"help of {name!r} must be a str, not {type(documentation).__name__}")
        self.name = name
        self.documentation = check_text(f"help of {name!r}", documentation)
        self.labelnames = check_label_names(name, self.kind, labelnames)
        self._children: dict[LabelKey, V] = {}
        self._pairs: dict[LabelKey, LabelPairs] = {}  # rendered once, read by every snapshot
        self._children_lock = threading.Lock()

    def labels(self, *values: Any, **by_name: Any) -> V:
        """The child for one set of label values, given by position or by name."""
        if by_name:
            if values or len(by_name) != len(self.labelnames):
                self._wrong_labels(values, by_name)
            try:
                values = tuple(map(by_name.__getitem__, self.labelnames))
            except KeyError:
                self._wrong_labels(values, by_name)
        child = self._children.get(values)
        if child is None:
            child = self._add_child(values)
        return child

    def _add_child(self, values: tuple[Any, ...]) -> V:
        if len(values) != len(self.labelnames):
            self._wrong_labels(values, {})
        key = tuple(
            label_value(self.name, label, value)
            for label, value in zip(self.labelnames, values, strict=True)
        )
        with self._children_lock:
            child = self._children.get(key)
            if child is None:
                self._pairs[key] = tuple(zip(self.labelnames, key, strict=True))
                child = self._children[key] = self._new_value()
        return child

    def _wrong_labels(self, values: tuple[Any, ...], by_name: dict[str, Any]) -> None:
        given = list(by_name) if by_name else list(values)
        if not self.labelnames:
            raise ValueError(f"{self.name!r} has no labels, got {given}")
        raise ValueError(f"{self.name!r} takes labels {list(self.labelnames)}, got {given}")

    def remove(self, *values: Any) -> None:
        """Forget one child, as prometheus_client's ``remove`` does."""
        key = tuple(
            label_value(self.name, label, value)
            for label, value in zip(self.labelnames, values, strict=True)
        )
        with self._children_lock:
            self._children.pop(key, None)
            self._pairs.pop(key, None)

    def children(self) -> list[tuple[LabelKey, V]]:
        """Every child with its label values, in the order they were first used."""
        if not self.labelnames:
            return [((), self._self_value())]
        with self._children_lock:
            return list(self._children.items())

    def series(self) -> list[tuple[LabelPairs, V]]:
        """Every child with its ``(label, value)`` pairs, for snapshots."""
        if not self.labelnames:
            return [((), self._self_value())]
        with self._children_lock:  # both dicts gain and lose keys together, in one order
            return list(zip(self._pairs.values(), self._children.values(), strict=True))

    def reset_after_fork(self) -> None:
        """In a forked child: tallies restart from zero (the parent reports its own)."""
        self._children_lock = threading.Lock()
        values: list[Any] = list(self._children.values())
        if not self.labelnames:
            values.append(self._self_value())
        for value in values:
            value._reset_after_fork()

    def _new_value(self) -> V:
        raise NotImplementedError

    def _self_value(self) -> V:
        raise NotImplementedError

    def signature(self) -> str:
        """How this family was defined, for error messages about conflicts."""
        return f"{self.kind} {self.name!r} with labels {list(self.labelnames)}"


class Counter(_Family[CounterValue], CounterValue):
    """A cumulative counter family."""

    kind = "counter"

    def __init__(self, name: str, documentation: str = "", labelnames: Sequence[str] = ()) -> None:
        check_metric_name(name)
        self._init_family(name.removesuffix("_total"), documentation, labelnames)
        CounterValue.__init__(self, self.name)
        if self.labelnames:
            self._ones = _LabelsRequired(self.name, self.labelnames)

    def _new_value(self) -> CounterValue:
        return CounterValue(self.name)

    def _self_value(self) -> CounterValue:
        return self


#: How a gauge's values from several processes combine into the one exposed.
AGGREGATES: Final = ("sum", "max", "min", "latest", "per_process")


class Gauge(_Family[GaugeValue], GaugeValue):
    """A gauge family; ``aggregate`` says how values from several processes combine."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        aggregate: str = "sum",
    ) -> None:
        if aggregate not in AGGREGATES:
            raise ValueError(
                f"unknown aggregate {aggregate!r} for gauge {name!r}: use one of "
                f"{', '.join(AGGREGATES)}"
            )
        self.aggregate = aggregate
        self._init_family(check_metric_name(name), documentation, labelnames)
        if aggregate == "per_process" and "pid" in self.labelnames:
            raise ValueError(f"gauge {name!r} aggregates per_process, which adds the 'pid' label")
        GaugeValue.__init__(self, self.name)
        self._unlabelled = not self.labelnames

    def _new_value(self) -> GaugeValue:
        return GaugeValue(self.name)

    def signature(self) -> str:
        return f"{super().signature()} aggregated by {self.aggregate}"

    def _self_value(self) -> GaugeValue:
        return self


class Histogram(_Family[HistogramValue], HistogramValue):
    """A histogram family with cumulative buckets, sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self._init_family(check_metric_name(name), documentation, labelnames)
        self.buckets = check_buckets(self.name, buckets)
        self._bucket_labels: dict[LabelPairs, list[LabelPairs]] = {}
        HistogramValue.__init__(self, self.name, list(self.buckets))
        self._unlabelled = not self.labelnames

    def _new_value(self) -> HistogramValue:
        return HistogramValue(self.name, list(self.buckets))

    def remove(self, *values: Any) -> None:
        super().remove(*values)
        names = self.labelnames
        self._bucket_labels.pop(tuple(zip(names, map(str, values), strict=True)), None)

    def bucket_labels(self, labels: LabelPairs) -> list[LabelPairs]:
        """Each bucket's label pairs (``le`` last) for one series, built once and kept:
        snapshots reuse them, and so can the encoders' memo of rendered label sets."""
        kept = self._bucket_labels.get(labels)
        if kept is None:
            bounds = [format_le(b) for b in self.buckets] + ["+Inf"]
            kept = self._bucket_labels[labels] = [(*labels, ("le", le)) for le in bounds]
        return kept

    def _self_value(self) -> HistogramValue:
        return self

    def signature(self) -> str:
        return f"{super().signature()} and buckets {list(self.buckets)}"


def check_buckets(name: str, buckets: Sequence[float]) -> tuple[float, ...]:
    """Validate histogram bounds: numbers, strictly increasing; a final +Inf is implied."""
    try:
        bounds = [float(b) for b in buckets]
    except (TypeError, ValueError):
        raise ValueError(f"buckets of {name!r} must be numbers, got {list(buckets)!r}") from None
    if bounds and bounds[-1] == math.inf:
        bounds.pop()
    if not bounds:
        raise ValueError(f"histogram {name!r} needs at least one finite bucket bound")
    if any(math.isnan(b) or math.isinf(b) for b in bounds):
        raise ValueError(f"buckets of {name!r} must be finite (+Inf is added), got {bounds}")
    if any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"buckets of {name!r} must be strictly increasing, got {bounds}")
    return tuple(bounds)
