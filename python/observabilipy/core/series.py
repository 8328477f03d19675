"""What ``labels(...)`` hands out: one series, its cell's methods bound once, plus
prometheus_client's helpers (``time()``, ``count_exceptions()``, ``track_inprogress()``).

A series object holds its cell's bound methods in slots rather than subclassing the
cell, so a call costs what the cell's own does and either backend's cells fit. An
unlabelled family is its own single series: it binds the same methods onto itself.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from typing import Protocol

from observabilipy.core.cells import CounterCell, GaugeCell, HistogramCell
from observabilipy.core.exemplars import ExemplarLabels
from observabilipy.core.models import Exemplar
from observabilipy.core.timer import ExceptionCounter, InProgress, Timer


class Increment(Protocol):
    def __call__(self, amount: float = 1, exemplar: ExemplarLabels | None = None) -> None: ...


class Observe(Protocol):
    def __call__(self, value: float, exemplar: ExemplarLabels | None = None) -> None: ...


class Move(Protocol):
    def __call__(self, amount: float = 1) -> None: ...


class CounterUse:
    """prometheus_client's helpers over ``inc``."""

    __slots__ = ()
    inc: Increment

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        """Count the exceptions of type ``exception`` leaving a block or call."""
        return ExceptionCounter(self.inc, exception)


class GaugeUse:
    """prometheus_client's helpers over ``set``, ``inc`` and ``dec``."""

    __slots__ = ()
    set: Callable[[float], None]
    inc: Move
    dec: Move

    def set_to_current_time(self, now: Callable[[], float] | None = None) -> None:
        """Set the gauge to the current Unix time in seconds."""
        self.set((now or clock.time)())

    def time(self) -> Timer:
        """Set the gauge to the duration of a block or call, in seconds."""
        return Timer(self.set)

    def track_inprogress(self) -> InProgress:
        """Up by one while a block or call runs."""
        return InProgress(self.inc, self.dec)


class ObserveUse:
    """``time()`` over ``observe`` (histograms and summaries)."""

    __slots__ = ()
    observe: Observe

    def time(self) -> Timer:
        """Observe the duration of a block or call, in seconds, even when it raises."""
        return Timer(self.observe)


class CounterChild(CounterUse):
    """One counter series: ``inc(amount=1, exemplar=None)`` and ``get()``."""

    __slots__ = ("get", "inc")

    def __init__(self, cell: CounterCell) -> None:
        self.inc = cell.inc
        self.get: Callable[[], float] = cell.get


class GaugeChild(GaugeUse):
    """One gauge series: ``set``, ``inc``, ``dec`` and ``get``."""

    __slots__ = ("dec", "get", "inc", "set")

    def __init__(self, cell: GaugeCell) -> None:
        self.set = cell.set
        self.inc = cell.inc
        self.dec = cell.dec
        self.get: Callable[[], float] = cell.get


class HistogramChild(ObserveUse):
    """One histogram series: ``observe(value, exemplar=None)``, ``state()`` and
    ``exemplars()``."""

    __slots__ = ("exemplars", "observe", "state")

    def __init__(self, cell: HistogramCell) -> None:
        self.observe = cell.observe
        self.state: Callable[[], tuple[list[int], float]] = cell.state
        self.exemplars: Callable[[], list[Exemplar | None]] = cell.exemplars
