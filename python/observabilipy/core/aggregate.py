"""Totals across processes: this process's live families plus every other's stored values.

Counters and histograms add up (a process that exited keeps its last totals, so a
total never goes back). Gauges combine by their family's ``aggregate``: ``sum``,
``max``, ``min``, ``latest`` (the most recently changed value), or ``per_process``
(each process's value, told apart by a ``pid`` label).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from observabilipy.core.models import Exemplar, MetricFamily, Sample

Labels = tuple[tuple[str, str], ...]
#: family, sample name, labels, value, last change time, pid (gauges; 0 for sums)
RemoteRow = tuple[str, str, Labels, float, float, int]
Meta = tuple[str, str, str]  # kind, help, aggregate
Exemplars = dict[tuple[str, Labels], Exemplar]

_SUFFIX_ORDER: Final = {"_bucket": 0, "_count": 1, "_sum": 2}


def combine(
    local: Iterable[MetricFamily],
    local_aggregates: dict[str, str],
    remote: Iterable[RemoteRow],
    remote_meta: dict[str, Meta],
    *,
    pid: int,
    now: float,
    changed_at: dict[tuple[str, Labels], float] | None = None,
) -> list[MetricFamily]:
    """One family per name, this process's families first, in their order."""
    meta: dict[str, Meta] = {}
    # Counters and histograms: one running total per series. Other processes' rows come
    # already summed by SQLite (one row per series), so each total adds two numbers, and
    # one IEEE addition of two is exactly what math.fsum would give.
    sums: dict[str, dict[tuple[str, Labels], float]] = {}
    # Gauges: every process's value, for their aggregate to choose from.
    gauges: dict[str, dict[tuple[str, Labels], list[tuple[float, float, int]]]] = {}
    changed_at = changed_at or {}
    # Exemplars are this process's own: the latest it saw for each sample.
    exemplars: dict[str, Exemplars] = {}
    for family in local:
        meta[family.name] = (family.kind, family.help, local_aggregates.get(family.name, "sum"))
        if family.exemplars:
            exemplars[family.name] = family.exemplars
        if family.kind != "gauge":
            totals = sums.setdefault(family.name, {})
            for sample, labels, value in family.samples:
                key = (sample, labels)
                totals[key] = totals.get(key, 0.0) + value
            continue
        series = gauges.setdefault(family.name, {})
        for sample, labels, value in family.samples:
            updated = changed_at.get((sample, labels), now)
            series.setdefault((sample, labels), []).append((value, updated, pid))
    for family_name, sample, labels, value, updated, row_pid in remote:
        family_meta = meta.get(family_name)
        if family_meta is None:
            if family_name not in remote_meta:
                continue
            family_meta = meta[family_name] = remote_meta[family_name]
        if family_meta[0] != "gauge":
            totals = sums.setdefault(family_name, {})
            key = (sample, labels)
            totals[key] = totals.get(key, 0.0) + value
        else:
            series = gauges.setdefault(family_name, {})
            series.setdefault((sample, labels), []).append((value, updated, row_pid))
    return [
        _family(name, meta[name], sums.get(name, {}), gauges.get(name, {}), exemplars.get(name))
        for name in meta
    ]


def _family(
    name: str,
    meta: Meta,
    sums: dict[tuple[str, Labels], float],
    gauges: dict[tuple[str, Labels], list[tuple[float, float, int]]],
    exemplars: Exemplars | None,
) -> MetricFamily:
    kind, help_text, aggregate = meta
    samples: list[Sample] = []
    if kind != "gauge":
        samples = [(sample, labels, total) for (sample, labels), total in sums.items()]
    elif aggregate == "per_process":
        for (sample, labels), vs in gauges.items():
            samples.extend((sample, (*labels, ("pid", str(p))), v) for v, _, p in vs)
    else:
        samples = [
            (sample, labels, _gauge(aggregate, vs)) for (sample, labels), vs in gauges.items()
        ]
    if kind in ("histogram", "summary"):  # each label set's samples together
        samples.sort(key=lambda s: _histogram_order(name, s))
    return MetricFamily(name, kind, help_text, samples, exemplars or {})


def _gauge(aggregate: str, values: list[tuple[float, float, int]]) -> float:
    if aggregate == "max":
        return max(v for v, _, _ in values)
    if aggregate == "min":
        return min(v for v, _, _ in values)
    if aggregate == "latest":
        return max(values, key=lambda item: item[1])[0]
    return math.fsum(v for v, _, _ in values)


def _histogram_order(name: str, sample: Sample) -> tuple[Labels, int, float]:
    """Group each label set's buckets (by bound), then its count and sum."""
    sample_name, labels, _ = sample
    suffix = sample_name[len(name) :]
    if suffix == "_bucket":
        base = tuple(pair for pair in labels if pair[0] != "le")
        bound = next(float(v) for k, v in labels if k == "le")
        return base, 0, bound
    return labels, _SUFFIX_ORDER.get(suffix, 3), 0.0
