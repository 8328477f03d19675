"""Metric history as series over time: which stored samples make a family, and how each
process's snapshots combine into one value per time step.

Each process writes its own snapshots (``metric_history`` rows carry the process), at
its own moments. Counters, histograms and summaries are cumulative: a step's value is
the sum of every process's latest value so far in the window, so a process that wrote
in an earlier step (or exited) still counts, as it does in ``/metrics``. Gauges are not
carried forward: a step combines the values written in it, by the family's
``aggregate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: sample, labels (JSON text), process, step index, time of the row, value
HistoryRow = tuple[str, str, int, int, float, float]
#: (sample, labels JSON) -> [[time, value], ...] oldest first
Series = dict[tuple[str, str], list[list[float]]]

_SUFFIXES: Final = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
#: The sample whose label sets name a family's series, and whose size ranks them.
_PRIMARY: Final = {"counter": "_total", "histogram": "_count", "summary": "_count"}


def samples_of(name: str, kind: str) -> tuple[str, ...]:
    """The sample names a family of ``kind`` writes (a gauge: its own name)."""
    return tuple(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))


def primary_sample(name: str, kind: str) -> tuple[str, ...]:
    """The samples whose label sets are the family's series (no ``le``)."""
    suffix = _PRIMARY.get(kind)
    return samples_of(name, kind) if suffix is None else (name + suffix,)


def combine_steps(rows: Iterable[HistoryRow], *, kind: str, aggregate: str = "sum") -> Series:
    """One point per series per step that has rows, from rows ordered by step (each the
    latest of its process in that step). The point's time is the newest row's."""
    cumulative = kind != "gauge"
    latest: dict[tuple[str, str], dict[int, float]] = {}  # carried forward (cumulative)
    out: Series = {}
    step: int | None = None
    in_step: dict[tuple[str, str], tuple[float, list[float]]] = {}

    def close_step() -> None:
        for key, (when, values) in in_step.items():
            value = sum(latest[key].values()) if cumulative else _aggregate(values, aggregate)
            out.setdefault(key, []).append([when, value])
        in_step.clear()

    for sample, labels, process, index, when, value in rows:
        if index != step:
            close_step()
            step = index
        key = (sample, labels)
        seen = in_step.get(key)
        if seen is None:
            in_step[key] = (when, [value])
        else:
            seen[1].append(value)
            if when > seen[0]:
                in_step[key] = (when, seen[1])
        if cumulative:
            latest.setdefault(key, {})[process] = value
    close_step()
    return out


def _aggregate(values: list[float], aggregate: str) -> float:
    if aggregate == "max":
        return max(values)
    if aggregate == "min":
        return min(values)
    if aggregate == "sum":
        return sum(values)
    return values[-1]  # latest, per_process: the last written
