"""The set of metric families a process defines, and their snapshot for exposition."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, Unpack, cast

from observabilipy.core.cells import (
    counter_samples,
    counter_series,
    gauge_samples,
    histogram_samples,
    histogram_series,
)
from observabilipy.core.exemplars import Exemplars
from observabilipy.core.instruments import (
    DEFAULT_BUCKETS,
    IN_REGISTRY,
    MAX_SERIES,
    Counter,
    Gauge,
    Histogram,
)
from observabilipy.core.models import MetricFamily, MetricSample, Sample
from observabilipy.core.names import Naming, check_metric_name, named
from observabilipy.core.states import Enum, Info, check_states
from observabilipy.core.summary import Summary, summary_samples

Instrument = Counter | Gauge | Histogram | Summary
AnyInstrument = TypeVar("AnyInstrument", Counter, Gauge, Histogram, Summary)

_OVERFLOWED = "observabilipy_series_overflowed"
_OVERFLOWED_SAMPLE = f"{_OVERFLOWED}_total"
_OVERFLOWED_HELP = "Label sets past a family's max_series, counted in its overflow series"

_SUFFIXES = {
    "counter": ("", "_total"),
    "gauge": ("",),
    "histogram": ("", "_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
}


class Registry:
    """Defines metrics once and snapshots them; defining the same metric again returns it.

    Each family holds at most ``max_series`` label sets (see ``instruments``); when one
    first overflows, ``on_overflow`` is called with it, and the label sets sent to
    overflow series are counted in ``observabilipy_series_overflowed_total``.
    """

    def __init__(
        self,
        *,
        max_series: int = MAX_SERIES,
        on_overflow: Callable[[Instrument], None] | None = None,
    ) -> None:
        self.max_series = max_series
        self.on_overflow = on_overflow
        self._families: dict[str, Instrument] = {}
        self._claimed: dict[str, Instrument] = {}  # every exposed name -> its family
        self._lock = threading.Lock()
        self._collectors: list[Callable[[], list[MetricFamily]]] = []

    def add_collector(self, collect: Callable[[], list[MetricFamily]]) -> None:
        """Add families computed at collection time (e.g. from another object's state)."""
        self._collectors.append(collect)

    @property
    def _options(self) -> dict[str, Any]:
        return {"max_series": self.max_series, "registry": IN_REGISTRY}

    def adopt(self, family: Instrument) -> None:
        """Take a family built directly (``Counter(..., registry=this)``); its name must
        be free, as prometheus_client requires."""
        if self._define(cast(Any, family)) is not family:
            raise ValueError(
                f"{family.signature()} is already defined in this registry: define it once "
                "(obs.counter() and friends return the existing one)"
            )

    def remove_collector(self, collect: Callable[[], list[MetricFamily]]) -> None:
        """Stop calling a function added by ``add_collector`` (absent ones are ignored)."""
        with contextlib.suppress(ValueError):
            self._collectors.remove(collect)

    def counter(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        **naming: Unpack[Naming],
    ) -> Counter:
        """A counter; ``orders`` and ``orders_total`` name the same family. ``naming``:
        prometheus_client's ``labelnames`` (the same as ``labels``), ``namespace``,
        ``subsystem`` and ``unit``, which build the name as it does."""
        full, labelnames = named(name, labels, naming, counter=True)
        return self._define(Counter(full, documentation, labelnames, **self._options))

    def gauge(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        aggregate: str = "sum",
        **naming: Unpack[Naming],
    ) -> Gauge:
        """A gauge; ``aggregate`` (sum, max, min, latest, per_process) combines processes."""
        full, labelnames = named(name, labels, naming)
        return self._define(Gauge(full, documentation, labelnames, aggregate, **self._options))

    def histogram(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        **naming: Unpack[Naming],
    ) -> Histogram:
        """A histogram with cumulative buckets (Prometheus' defaults unless given)."""
        full, labelnames = named(name, labels, naming)
        return self._define(Histogram(full, documentation, labelnames, buckets, **self._options))

    def summary(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        **naming: Unpack[Naming],
    ) -> Summary:
        """A summary: each series' count and sum of observations (no quantiles)."""
        full, labelnames = named(name, labels, naming)
        return self._define(Summary(full, documentation, labelnames, **self._options))

    def info(self, name: str, documentation: str = "", **naming: Unpack[Naming]) -> Info:
        """Facts about the process, exposed as ``<name>_info 1`` labelled with them."""
        full, _ = named(name, None, naming)

        def define(sample: str, help_text: str, labelnames: Sequence[str]) -> Gauge:
            return self.gauge(sample, help_text, labelnames, aggregate="latest")

        return Info(full, documentation, define)

    def enum(
        self,
        name: str,
        documentation: str = "",
        states: Sequence[str] = (),
        **naming: Unpack[Naming],
    ) -> Enum:
        """One of ``states``, exposed as one series per state labelled ``<name>``."""
        full, _ = named(name, None, naming)
        check_states(full, states)
        gauge = self.gauge(full, documentation, [full], aggregate="latest")
        return Enum(gauge, states)

    def _define(self, new: AnyInstrument) -> AnyInstrument:
        with self._lock:
            existing = self._families.get(new.name)
            if existing is not None:
                if _same_definition(existing, new):
                    return existing  # type: ignore[return-value]
                raise ValueError(
                    f"{new.signature()} conflicts with the existing {existing.signature()}"
                )
            exposed = [new.name + suffix for suffix in _SUFFIXES[new.kind]]
            for exposed_name in exposed:
                holder = self._claimed.get(exposed_name)
                if holder is not None:
                    raise ValueError(
                        f"{new.signature()} would expose {exposed_name!r}, "
                        f"which the existing {holder.signature()} already exposes"
                    )
            self._families[new.name] = new
            for exposed_name in exposed:
                self._claimed[exposed_name] = new
            new.on_overflow = self._overflowed
            return new

    def _overflowed(self, family: Instrument) -> None:
        if self.on_overflow is not None:
            self.on_overflow(family)

    def get(self, name: str) -> Instrument | None:
        """The family defined under ``name`` (a counter may be named with ``_total``)."""
        check_metric_name(name)
        family = self._families.get(name)
        if family is None and name.endswith("_total"):
            candidate = self._families.get(name.removesuffix("_total"))
            if isinstance(candidate, Counter):
                family = candidate
        return family

    def collect(self, *, exposition: bool = False) -> list[MetricFamily]:
        """A consistent snapshot of every family, in the order they were defined.

        ``exposition=True`` (for a reader that takes the families at once, and only
        that: an encoder, or the save into a file other processes share): with the
        Rust backend, counters' and gauges' samples stay in their cells as a
        ``CounterSeries``, read as the encoder writes, with no tuple per series.
        """
        with self._lock:
            families = list(self._families.values())
        collected = [snapshot(family, exposition=exposition) for family in families]
        overflowed: list[Sample] = [
            (_OVERFLOWED_SAMPLE, (("metric", family.name),), float(family.overflowed))
            for family in families
            if family.overflowed
        ]
        if overflowed:
            collected.append(MetricFamily(_OVERFLOWED, "counter", _OVERFLOWED_HELP, overflowed))
        for collect in self._collectors:
            collected.extend(collect())
        return collected

    def reset_after_fork(self) -> None:
        """In a forked child: new locks, counters and histograms back to zero."""
        self._lock = threading.Lock()
        for family in self._families.values():
            family.reset_after_fork()

    def families(self) -> list[Instrument]:
        """The live families, in the order they were defined."""
        with self._lock:
            return list(self._families.values())

    def samples(self, timestamp: float) -> list[MetricSample]:
        """The snapshot as ``MetricSample`` rows, stamped with ``timestamp``."""
        return [
            MetricSample(name, timestamp, value, dict(labels))
            for family in self.collect()
            for name, labels, value in family.samples
        ]


#: The process-wide registry: ``obs.counter()`` and metrics built directly define here,
#: and the default engine serves it (see ``runtime.default``).
DEFAULT_REGISTRY: Final = Registry()


def _same_definition(existing: Instrument, new: Instrument) -> bool:
    if type(existing) is not type(new) or existing.labelnames != new.labelnames:
        return False
    if isinstance(existing, Histogram) and isinstance(new, Histogram):
        return existing.buckets == new.buckets
    if isinstance(existing, Gauge) and isinstance(new, Gauge):
        return existing.aggregate == new.aggregate
    return True


def snapshot(family: Instrument, *, exposition: bool = False) -> MetricFamily:
    """Turn one family's live state into the plain data the encoders take."""
    samples: list[Sample] = []
    exemplars: Exemplars = {}
    if isinstance(family, Histogram):
        histogram_sets, histograms = family.cells()
        buckets = family.bucket_lists(histogram_sets)
        if exposition and histogram_series is not None:
            # As counters: the Rust encoder reads counts and exemplars from the cells.
            series = histogram_series(
                family.name, histogram_sets, buckets, histograms, family.changes
            )
            samples = cast("list[Sample]", series)
        else:
            samples = histogram_samples(family.name, histogram_sets, buckets, histograms, exemplars)
    elif isinstance(family, Summary):
        samples = summary_samples(family.name, *family.cells())
    elif isinstance(family, Counter):
        # One call for the family: a scrape of many series spends most of its time here.
        sample, (label_sets, cells) = f"{family.name}_total", family.cells()
        if exposition and counter_series is not None:
            # The Rust encoder reads values and exemplars from the cells as it writes.
            series = counter_series(sample, label_sets, cells, family.changes)
            samples = cast("list[Sample]", series)
        else:
            samples = counter_samples(sample, label_sets, cells, exemplars)
    elif exposition and counter_series is not None:  # a gauge's cells, as a counter's
        series = counter_series(family.name, *family.cells(), family.changes)
        samples = cast("list[Sample]", series)
    else:
        samples = gauge_samples(family.name, *family.cells())
    return MetricFamily(family.name, family.kind, family.documentation, samples, exemplars)
