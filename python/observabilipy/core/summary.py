"""Summaries as prometheus_client keeps them without quantiles: a count and a sum per
series, changed together. Quantiles computed in one process cannot be added up across
processes; histograms give them at query time instead.

The cell is plain Python on both backends (a summary is rarely on a hot path).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from observabilipy.core.instruments import DEFAULT, MAX_SERIES, Family
from observabilipy.core.models import Sample
from observabilipy.core.names import check_metric_name
from observabilipy.core.timer import Timer
from observabilipy.core.values import LabelPairs


class SummaryValue:
    """One series: how many observations, and their sum."""

    __slots__ = ("_count", "_lock", "_name", "_refusing", "_sum")

    def __init__(self, name: str) -> None:
        self._name = name
        self._count = 0
        self._sum = 0.0
        self._lock = threading.Lock()
        self._refusing = False

    def observe(self, amount: float) -> None:
        """Record one observation; NaN and non-numbers raise."""
        if self._refusing:
            raise ValueError(f"{self._name!r} has labels: call .labels(...) first")
        if not isinstance(amount, (int, float)):
            raise TypeError(
                f"{self._name!r} observe() needs a number, got {type(amount).__name__} {amount!r}"
            )
        if math.isnan(amount):
            raise ValueError(f"summary {self._name!r} cannot observe NaN")
        with self._lock:
            self._count += 1
            self._sum += amount

    def get(self) -> tuple[int, float]:
        """(count, sum), read together."""
        with self._lock:
            return self._count, self._sum

    def time(self) -> Timer:
        """Observe the duration of a block or call, in seconds, even when it raises."""
        return Timer(self.observe)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._count, self._sum = 0, 0.0


class Summary(Family[SummaryValue], SummaryValue):
    """A summary family: ``_count`` and ``_sum`` per series (no quantiles)."""

    kind = "summary"

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        *,
        max_series: int = MAX_SERIES,
        registry: object = DEFAULT,
    ) -> None:
        self._init_family(check_metric_name(name), documentation, labelnames, max_series)
        SummaryValue.__init__(self, self.name)
        self._refusing = bool(self.labelnames)
        self._register(registry)

    def _new_value(self) -> SummaryValue:
        return SummaryValue(self.name)

    def _self_value(self) -> SummaryValue:
        return self


def summary_samples(
    name: str, label_sets: list[LabelPairs], cells: list[SummaryValue]
) -> list[Sample]:
    """Each series' ``_count`` then ``_sum``."""
    samples: list[Sample] = []
    for labels, cell in zip(label_sets, cells, strict=True):
        count, total = cell.get()
        samples.append((f"{name}_count", labels, float(count)))
        samples.append((f"{name}_sum", labels, total))
    return samples
