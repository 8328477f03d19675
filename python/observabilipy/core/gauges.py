"""Gauges combined across the processes sharing a file, by their family's aggregate:
``sum`` (exactly rounded, as ``math.fsum``; in the Rust extension over whole arrays),
``max``, ``min``, ``latest`` (the most recently changed value) or ``per_process`` (each
process's value under a ``pid`` label). Only live processes count.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

from observabilipy.core.backend import native

if TYPE_CHECKING:
    from observabilipy.core.aggregate import Catalog, Values
    from observabilipy.core.models import Sample


def summed(live: list[Values], size: int) -> tuple[bytes, bytes]:
    """Each id's sum over the live processes that have a value there, as ``exact_sum``
    gives it (native float64 bytes, from the Rust extension), and whether any has one."""
    assert native is not None
    values = [part.values for part in live]
    present = [part.present for part in live]
    totals, flags, odd = native.sum_gauges(values, present, size)
    if not odd:
        return totals, flags
    patched = array("d", totals)
    for series_id in odd:  # a sum past the largest float: added exactly
        found = [part.values[series_id] for part in live if has(part, series_id)]
        patched[series_id] = exact_sum(found)
    return patched.tobytes(), flags


def has(part: Values, series_id: int) -> bool:
    """Whether ``part`` has a value at ``series_id``."""
    return series_id < min(len(part.present), len(part.values)) and part.present[series_id] != 0


def combined(
    catalog: Catalog, ids: Iterable[int], aggregate: str, live: list[Values]
) -> list[Sample]:
    """The samples of ``ids`` combined by ``aggregate``, a tuple per series."""
    samples: list[Sample] = []
    for series_id in ids:
        found = [
            (part.values[series_id], part.changed[series_id], part.pid)
            for part in live
            if has(part, series_id)
        ]
        if not found:
            continue
        sample, labels = catalog.sample[series_id], catalog.labels[series_id]
        if aggregate == "per_process":
            samples.extend((sample, (*labels, ("pid", str(pid))), v) for v, _, pid in found)
        else:
            samples.append((sample, labels, _one(aggregate, found)))
    return samples


def _one(aggregate: str, values: list[tuple[float, float, int]]) -> float:
    if aggregate == "max":
        return max(v for v, _, _ in values)
    if aggregate == "min":
        return min(v for v, _, _ in values)
    if aggregate == "latest":
        return max(values, key=lambda item: item[1])[0]
    return exact_sum([v for v, _, _ in values])


def exact_sum(values: list[float]) -> float:
    """``math.fsum``'s exactly rounded sum, without its exceptions: +inf and -inf
    together give NaN, and a sum beyond the largest float an infinity, as adding floats
    does (a scrape must not fail on values each process could hold)."""
    try:
        return math.fsum(values) + 0.0  # a zero sum is +0.0, whichever zeros summed
    except ValueError:  # +inf and -inf
        return math.nan
    except OverflowError:  # finite values whose sum, or a partial sum, overflows
        special = [value for value in values if not math.isfinite(value)]
        if special:  # an infinity or NaN among them decides, as adding floats does
            return float(sum(special))
        exact = sum(map(Fraction, values), Fraction(0))
        try:
            return float(exact)
        except OverflowError:
            return math.inf if exact > 0 else -math.inf
