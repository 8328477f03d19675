"""Summaries as prometheus_client keeps them without quantiles: a count and a sum per
series, changed together. Quantiles computed in one process cannot be added up across
processes; histograms give them at query time instead.

The cell is plain Python on both backends (a summary is rarely on a hot path).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

from observabilipy.core.cells import LabelPairs, number
from observabilipy.core.instruments import DEFAULT, MAX_SERIES, Family
from observabilipy.core.models import Sample
from observabilipy.core.names import check_metric_name
from observabilipy.core.series import ObserveUse
from observabilipy.core.timer import Timer


class SummaryCell:
    """One series: how many observations, and their sum."""

    __slots__ = ("_count", "_lock", "_name", "_sum")

    def __init__(self, name: str) -> None:
        self._name = name
        self._count = 0
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        """Record one observation (a number, not NaN)."""
        if type(value) is not float:
            value = number(self._name, "observe()", value)
        if math.isnan(value):
            raise ValueError(f"summary {self._name!r} cannot observe NaN")
        with self._lock:
            self._count += 1
            self._sum += value

    def get(self) -> tuple[int, float]:
        """(count, sum), read together."""
        with self._lock:
            return self._count, self._sum

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._count, self._sum = 0, 0.0


class SummaryChild(ObserveUse):
    """One summary series: ``observe(value)`` and ``get()`` (count, sum)."""

    __slots__ = ("get", "observe")

    def __init__(self, cell: SummaryCell) -> None:
        self.observe = cell.observe  # type: ignore[assignment]  # takes no exemplar
        self.get: Callable[[], tuple[int, float]] = cell.get


class Summary(Family[SummaryChild], ObserveUse):
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
        self._finish(registry)

    def _new_cell(self) -> SummaryCell:
        return SummaryCell(self.name)

    def _child(self, cell: SummaryCell) -> SummaryChild:
        return SummaryChild(cell)

    # The single series' methods replace these on an unlabelled family.
    def observe(self, value: float) -> None:  # type: ignore[override]
        """Record one observation (a number, not NaN)."""
        self._refuse()

    def get(self) -> tuple[int, float]:
        """(count, sum), read together."""
        self._refuse()

    def time(self) -> Timer:
        self._single_series()
        return super().time()


def summary_samples(
    name: str, label_sets: list[LabelPairs], cells: list[SummaryCell]
) -> list[Sample]:
    """Each series' ``_count`` then ``_sum``."""
    samples: list[Sample] = []
    # Not strict: the lists may gain a pair before its cell meanwhile (Family.cells).
    for labels, cell in zip(label_sets, cells, strict=False):
        count, total = cell.get()
        samples.append((f"{name}_count", labels, float(count)))
        samples.append((f"{name}_sum", labels, total))
    return samples
