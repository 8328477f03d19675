"""Counters, gauges and histograms with Prometheus semantics, exact under threads.

Each metric is a family; a labelled family hands out one child per label set through
``labels()``, an unlabelled one is its own single child (the cells are in ``values``).

A family holds at most ``max_series`` label sets (2,000 unless set, as OpenTelemetry's
SDK does): further ones share one overflow series labelled ``otel_metric_overflow="true"``,
so a label fed from user input cannot grow memory and every scrape without bound. The
overflow series carries their total; ``overflowed`` counts the label sets sent there.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeVar, cast

from observabilipy.core.encoding.floats import format_le
from observabilipy.core.names import check_label_names, check_metric_name, check_text, label_value
from observabilipy.core.values import (
    CounterValue,
    GaugeValue,
    HistogramValue,
    LabelKey,
    LabelPairs,
)

MAX_SERIES: Final = 2000
#: The label pair of a family's overflow series (OpenTelemetry's name, Prometheus form).
OVERFLOW_LABELS: Final = (("otel_metric_overflow", "true"),)

DEFAULT_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


V = TypeVar("V")  # the cell type of a family's children

#: ``registry=`` left out: the default registry (``core.registry.DEFAULT_REGISTRY``).
DEFAULT: Final = object()
#: ``registry=`` from a Registry defining the family itself.
IN_REGISTRY: Final = object()


class Family(Generic[V]):
    """What every metric family shares: its definition and its children by label values."""

    kind: str = ""

    def _init_family(
        self, name: str, documentation: str, labelnames: Sequence[str], max_series: int
    ) -> None:
        if not isinstance(documentation, str):
            raise TypeError(f"help of {name!r} must be a str, not {type(documentation).__name__}")
        if not isinstance(max_series, int) or isinstance(max_series, bool) or max_series < 1:
            raise ValueError(f"max_series of {name!r} must be a positive int, got {max_series!r}")
        self.max_series = max_series
        self._overflow: V | None = None
        #: Label sets sent to the overflow series (calls with a label set not yet held).
        self.overflowed = 0
        #: Called once, with the family, when its first label set overflows.
        self.on_overflow: Callable[[Any], None] | None = None
        self.name = name
        self.documentation = check_text(f"help of {name!r}", documentation)
        self.labelnames = check_label_names(name, self.kind, labelnames)
        self._children: dict[LabelKey, V] = {}
        # Every child's label pairs and cell, in the children's order: a snapshot copies
        # these lists, several times faster than listing a dict's values.
        self._pairs: list[LabelPairs] = []
        self._cells: list[V] = []
        self._children_lock = threading.Lock()

    def _register(self, registry: object) -> None:
        """Join ``registry`` (built directly, as prometheus_client's metrics are): a
        metric in no registry would never be exported, so that is refused."""
        if registry is IN_REGISTRY:
            return
        # Imported here: the registry module builds on this one.
        from observabilipy.core.registry import DEFAULT_REGISTRY, Registry

        if registry is DEFAULT:
            registry = DEFAULT_REGISTRY
        if not isinstance(registry, Registry):
            raise TypeError(
                f"{self.kind} {self.name!r} needs a Registry to be exported, got {registry!r}: "
                "leave registry= out for the default one (served by the default engine)"
            )
        registry.adopt(cast("Counter", self))  # whichever kind: adopt takes them all

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
                if len(self._children) >= self.max_series:
                    return self._overflowing()
                child = self._children[key] = self._new_value()
                self._pairs.append(tuple(zip(self.labelnames, key, strict=True)))
                self._cells.append(child)
        return child

    def _overflowing(self) -> V:
        """The overflow series (made on first use; the children lock is held)."""
        self.overflowed += 1
        if self._overflow is None:
            self._overflow = self._new_value()
            self._pairs.append(OVERFLOW_LABELS)
            self._cells.append(self._overflow)
            if self.on_overflow is not None:
                self.on_overflow(self)
        return self._overflow

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
            removed = self._children.pop(key, None)
            if removed is not None:
                at = next(i for i, cell in enumerate(self._cells) if cell is removed)
                del self._pairs[at], self._cells[at]

    def clear(self) -> None:
        """Forget every child, as prometheus_client's ``clear`` does."""
        with self._children_lock:
            self._children.clear()
            del self._pairs[:], self._cells[:]
            self._overflow = None

    def children(self) -> list[tuple[LabelKey, V]]:
        """Every child with its label values, in the order they were first used."""
        if not self.labelnames:
            return [((), self._self_value())]
        with self._children_lock:
            return list(self._children.items())

    def cells(self) -> tuple[list[LabelPairs], list[V]]:
        """Every child's ``(label, value)`` pairs and its cell, in matching order: what a
        snapshot reads (the Rust cells a family at a time)."""
        if not self.labelnames:
            return [()], [self._self_value()]
        with self._children_lock:  # both lists gain and lose children together
            return self._pairs.copy(), self._cells.copy()

    def reset_after_fork(self) -> None:
        """In a forked child: tallies restart from zero (the parent reports its own)."""
        self._children_lock = threading.Lock()
        values: list[Any] = list(self._children.values())
        if self._overflow is not None:
            values.append(self._overflow)
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


class Counter(Family[CounterValue], CounterValue):
    """A cumulative counter family."""

    kind = "counter"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        *,
        max_series: int = MAX_SERIES,
        registry: object = DEFAULT,
    ) -> None:
        check_metric_name(name)
        self._init_family(name.removesuffix("_total"), documentation, labelnames, max_series)
        CounterValue.__init__(self, self.name)
        if self.labelnames:
            self._set_refusing()
        self._register(registry)

    def _new_value(self) -> CounterValue:
        return CounterValue(self.name)

    def _self_value(self) -> CounterValue:
        return self

    def _refuse(self) -> None:
        labels = list(self.labelnames)
        raise ValueError(f"{self.name!r} has labels {labels}: call .labels(...) first")


#: How a gauge's values from several processes combine into the one exposed.
AGGREGATES: Final = ("sum", "max", "min", "latest", "per_process")


class Gauge(Family[GaugeValue], GaugeValue):
    """A gauge family; ``aggregate`` says how values from several processes combine."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        aggregate: str = "sum",
        *,
        max_series: int = MAX_SERIES,
        registry: object = DEFAULT,
    ) -> None:
        if aggregate not in AGGREGATES:
            raise ValueError(
                f"unknown aggregate {aggregate!r} for gauge {name!r}: use one of "
                f"{', '.join(AGGREGATES)}"
            )
        self.aggregate = aggregate
        self._init_family(check_metric_name(name), documentation, labelnames, max_series)
        if aggregate == "per_process" and "pid" in self.labelnames:
            raise ValueError(f"gauge {name!r} aggregates per_process, which adds the 'pid' label")
        GaugeValue.__init__(self, self.name)
        if self.labelnames:
            self._set_refusing()
        self._register(registry)

    def _new_value(self) -> GaugeValue:
        return GaugeValue(self.name)

    def signature(self) -> str:
        return f"{super().signature()} aggregated by {self.aggregate}"

    def _self_value(self) -> GaugeValue:
        return self


class Histogram(Family[HistogramValue], HistogramValue):
    """A histogram family with cumulative buckets, sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        *,
        max_series: int = MAX_SERIES,
        registry: object = DEFAULT,
    ) -> None:
        self._init_family(check_metric_name(name), documentation, labelnames, max_series)
        self.buckets = check_buckets(self.name, buckets)
        self._bucket_labels: dict[LabelPairs, list[LabelPairs]] = {}
        HistogramValue.__init__(self, self.name, list(self.buckets))
        if self.labelnames:
            self._set_refusing()
        self._register(registry)

    def _new_value(self) -> HistogramValue:
        return HistogramValue(self.name, list(self.buckets))

    def remove(self, *values: Any) -> None:
        super().remove(*values)
        names = self.labelnames
        self._bucket_labels.pop(tuple(zip(names, map(str, values), strict=True)), None)

    def clear(self) -> None:
        super().clear()
        self._bucket_labels.clear()

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
