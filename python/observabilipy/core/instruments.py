"""Counters, gauges and histograms with Prometheus semantics, exact under threads.

Each metric is a family; a labelled family hands out one child per label set through
``labels()``, an unlabelled one is its own single child (the series objects are in
``series``, the cells holding their values in ``cells``).

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
from typing import Any, Final, Generic, NoReturn, TypeVar, cast

from observabilipy.core.cells import (
    LabelKey,
    LabelPairs,
    new_changes,
    new_counter_cell,
    new_gauge_cell,
    new_histogram_cell,
)
from observabilipy.core.encoding.floats import format_le
from observabilipy.core.exemplars import ExemplarLabels
from observabilipy.core.label_call import keyword_labels, missing
from observabilipy.core.models import Exemplar
from observabilipy.core.names import check_label_names, check_metric_name, check_text, label_value
from observabilipy.core.series import (
    CounterChild,
    CounterUse,
    GaugeChild,
    GaugeUse,
    HistogramChild,
    ObserveUse,
)
from observabilipy.core.timer import ExceptionCounter, InProgress, Timer

MAX_SERIES: Final = 2000
#: The label pair of a family's overflow series (OpenTelemetry's name, Prometheus form).
OVERFLOW_LABELS: Final = (("otel_metric_overflow", "true"),)

DEFAULT_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


C = TypeVar("C")  # the series type a family hands out

#: ``registry=`` left out: the default registry (``core.registry.DEFAULT_REGISTRY``).
DEFAULT: Final = object()
#: ``registry=`` from a Registry defining the family itself.
IN_REGISTRY: Final = object()


class Family(Generic[C]):
    """What every metric family shares: its definition, and its series by label values
    (each a cell, and the series object ``labels()`` hands out for it).

    A labelled family's own ``inc``/``set``/``observe``... refuse: the series are its
    children. An unlabelled family is its one series: that series' methods are bound
    onto the family, in place of the refusing ones.
    """

    kind: str = ""

    def _init_family(
        self, name: str, documentation: str, labelnames: Sequence[str], max_series: int
    ) -> None:
        if not isinstance(documentation, str):
            raise TypeError(f"help of {name!r} must be a str, not {type(documentation).__name__}")
        if not isinstance(max_series, int) or isinstance(max_series, bool) or max_series < 1:
            raise ValueError(f"max_series of {name!r} must be a positive int, got {max_series!r}")
        self.max_series = max_series
        self._overflow: C | None = None
        #: Label sets sent to the overflow series (calls with a label set not yet held).
        self.overflowed = 0
        #: Called once, with the family, when its first label set overflows.
        self.on_overflow: Callable[[Any], None] | None = None
        self.name = name
        self.documentation = check_text(f"help of {name!r}", documentation)
        self.labelnames = check_label_names(name, self.kind, labelnames)
        self._children: dict[LabelKey, C] = {}
        # Every child's label pairs and cell, in the children's order: a snapshot copies
        # these lists, several times faster than listing a dict's values.
        self._pairs: list[LabelPairs] = []
        self._cells: list[Any] = []
        #: Whether the family's values changed since an encoder last read them (the
        #: Rust cells mark it; None with the pure-Python backend).
        self.changes: object = new_changes()
        self._children_lock = threading.Lock()
        built = keyword_labels(self.labelnames, Family._wrong_call, type(self).__name__)
        if built is not None:
            built.__doc__ = Family.labels.__doc__
            self.__dict__["labels"] = built.__get__(self)

    def _finish(self, registry: object) -> None:
        """Bind an unlabelled family's one series onto it, then join ``registry``."""
        if not self.labelnames:
            self._single_cell = self._new_cell()
            self._single = self._child(self._single_cell)
            # The same lists at every snapshot, as a labelled family's are until a
            # removal: an encoder keeps a family's lines by its list.
            self._single_lists: tuple[list[LabelPairs], list[Any]] = ([()], [self._single_cell])
            for method in type(self._single).__slots__:  # type: ignore[attr-defined]
                self.__dict__[method] = getattr(self._single, method)
        self._register(registry)

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

    def labels(self, /, *values: Any, **by_name: Any) -> C:
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

    def _key(self, values: tuple[Any, ...]) -> LabelKey:
        return tuple(
            label_value(self.name, label, value)
            for label, value in zip(self.labelnames, values, strict=True)
        )

    def _add_child(self, values: tuple[Any, ...]) -> C:
        if len(values) != len(self.labelnames):
            self._wrong_labels(values, {})
        key = self._key(values)
        with self._children_lock:
            child = self._children.get(key)
            if child is None:
                if len(self._children) >= self.max_series:
                    return self._overflowing()
                cell = self._new_cell()
                child = self._children[key] = self._child(cell)
                self._pairs.append(tuple(zip(self.labelnames, key, strict=True)))
                self._cells.append(cell)
        return child

    def _overflowing(self) -> C:
        """The overflow series (made on first use; the children lock is held)."""
        self.overflowed += 1
        if self._overflow is None:
            cell = self._new_cell()
            self._overflow = self._child(cell)
            self._pairs.append(OVERFLOW_LABELS)
            self._cells.append(cell)
            if self.on_overflow is not None:
                self.on_overflow(self)
        return self._overflow

    def _wrong_labels(self, values: tuple[Any, ...], by_name: dict[str, Any]) -> NoReturn:
        given = list(by_name) if by_name else list(values)
        if not self.labelnames:
            raise ValueError(f"{self.name!r} has no labels, got {given}")
        raise ValueError(f"{self.name!r} takes labels {list(self.labelnames)}, got {given}")

    def _wrong_call(self, values: tuple[Any, ...], more: tuple[Any, ...]) -> NoReturn:
        """Raise for a built ``labels`` call: a label left out, or values too many."""
        if more:
            self._wrong_labels(values + more, {})
        left_out = [
            name for name, value in zip(self.labelnames, values, strict=True) if value is missing
        ]
        raise ValueError(f"{self.name!r} takes labels {list(self.labelnames)}, {left_out} left out")

    def _single_series(self) -> None:
        """Refuse, at once, a helper (``time()``...) on a labelled family: it would
        only fail when the block ends, in place of the block's own exception."""
        if self.labelnames:
            self._refuse()

    def _refuse(self) -> NoReturn:
        labels = list(self.labelnames)
        raise ValueError(f"{self.name!r} has labels {labels}: call .labels(...) first")

    def remove(self, *values: Any) -> None:
        """Forget one child, as prometheus_client's ``remove`` does."""
        key = self._key(values)
        with self._children_lock:
            if self._children.pop(key, None) is not None:
                at = self._pairs.index(tuple(zip(self.labelnames, key, strict=True)))
                # New lists: a snapshot may still be reading the old ones (see cells).
                self._pairs = self._pairs[:at] + self._pairs[at + 1 :]
                self._cells = self._cells[:at] + self._cells[at + 1 :]

    def clear(self) -> None:
        """Forget every child, as prometheus_client's ``clear`` does."""
        with self._children_lock:
            self._children.clear()
            self._pairs, self._cells = [], []
            self._overflow = None

    def children(self) -> list[tuple[LabelKey, C]]:
        """Every child with its label values, in the order they were first used."""
        if not self.labelnames:
            return [((), self._single)]
        with self._children_lock:
            return list(self._children.items())

    def cells(self) -> tuple[list[LabelPairs], list[Any]]:
        """Every series' ``(label, value)`` pairs and its cell, in matching order: what a
        snapshot reads (the Rust cells a family at a time). The lists themselves, not
        copies (a scrape of many series would spend much of its time copying): they
        only ever grow at their ends, a pair before its cell, and a child removed makes
        new lists. So reading both in step (``zip``, stopping at the shorter) always
        gives matching pairs and cells, whatever is added meanwhile."""
        if not self.labelnames:
            return self._single_lists
        with self._children_lock:  # the two lists of the same moment
            return self._pairs, self._cells

    def reset_after_fork(self) -> None:
        """In a forked child: tallies restart from zero (the parent reports its own)."""
        self._children_lock = threading.Lock()
        for cell in self.cells()[1]:
            cell.reset()

    def _new_cell(self) -> Any:
        raise NotImplementedError

    def _child(self, cell: Any) -> C:
        raise NotImplementedError

    def signature(self) -> str:
        """How this family was defined, for error messages about conflicts."""
        return f"{self.kind} {self.name!r} with labels {list(self.labelnames)}"


class Counter(Family[CounterChild], CounterUse):
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
        self._finish(registry)

    def _new_cell(self) -> Any:
        return new_counter_cell(self.name, self.changes)

    def _child(self, cell: Any) -> CounterChild:
        return CounterChild(cell)

    # The single series' methods replace these on an unlabelled family.
    def inc(self, amount: float = 1, exemplar: ExemplarLabels | None = None) -> None:
        """Add ``amount`` (default 1), a finite number >= 0, with an optional exemplar
        (a dict of labels, such as ``{"trace_id": ...}``)."""
        self._refuse()

    def get(self) -> float:
        """The current total."""
        self._refuse()

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        self._single_series()
        return super().count_exceptions(exception)


#: How a gauge's values from several processes combine into the one exposed.
AGGREGATES: Final = ("sum", "max", "min", "latest", "per_process")


class Gauge(Family[GaugeChild], GaugeUse):
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
        self._finish(registry)

    def _new_cell(self) -> Any:
        return new_gauge_cell(self.name, self.changes)

    def _child(self, cell: Any) -> GaugeChild:
        return GaugeChild(cell)

    def signature(self) -> str:
        return f"{super().signature()} aggregated by {self.aggregate}"

    # The single series' methods replace these on an unlabelled family.
    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        self._refuse()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (default 1)."""
        self._refuse()

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (default 1)."""
        self._refuse()

    def get(self) -> float:
        """The current value."""
        self._refuse()

    def set_to_current_time(self, now: Callable[[], float] | None = None) -> None:
        self._single_series()
        super().set_to_current_time(now)

    def time(self) -> Timer:
        self._single_series()
        return super().time()

    def track_inprogress(self) -> InProgress:
        self._single_series()
        return super().track_inprogress()


class Histogram(Family[HistogramChild], ObserveUse):
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
        # (the label sets list they follow, each one's bucket label pairs): swapped
        # whole, so a scrape racing another never sees them out of step.
        self._bucket_lists: tuple[list[LabelPairs], list[list[LabelPairs]]] = ([], [])
        self._finish(registry)

    def _new_cell(self) -> Any:
        return new_histogram_cell(self.name, list(self.buckets), self.changes)

    def _child(self, cell: Any) -> HistogramChild:
        return HistogramChild(cell)

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

    def bucket_lists(self, label_sets: list[LabelPairs]) -> list[list[LabelPairs]]:
        """``bucket_labels`` of each of ``label_sets`` (the family's own list, from
        ``cells()``: it only grows at its end, and a removal replaces it), kept between
        scrapes and extended by the series added since: a scrape makes no lookup per
        series."""
        source, kept = self._bucket_lists
        if source is not label_sets or len(kept) != len(label_sets):
            start = len(kept) if source is label_sets and len(kept) < len(label_sets) else 0
            added = [self.bucket_labels(labels) for labels in label_sets[start:]]
            kept = kept[:start] + added
            self._bucket_lists = (label_sets, kept)
        return kept

    def signature(self) -> str:
        return f"{super().signature()} and buckets {list(self.buckets)}"

    # The single series' methods replace these on an unlabelled family.
    def observe(self, value: float, exemplar: ExemplarLabels | None = None) -> None:
        """Record one observation (a number, not NaN), with an optional exemplar."""
        self._refuse()

    def state(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last is +Inf, equal to the count) and the sum."""
        self._refuse()

    def exemplars(self) -> list[Exemplar | None]:
        """Each bucket's latest exemplar, or None."""
        self._refuse()

    def time(self) -> Timer:
        self._single_series()
        return super().time()


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
