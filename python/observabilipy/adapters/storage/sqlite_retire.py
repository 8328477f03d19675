"""Folding processes that exited into the totals of process 0, and capping those totals.

A process that exited keeps its counters' and histograms' last totals (a total never
goes back), added into process 0's arrays; its gauges stop counting. Process 0's series
past a family's limit are folded into the family's overflow series, so a file's scrape
cost follows its live series rather than every label set exited processes ever used.
Each step reads, adds and writes under ``BEGIN IMMEDIATE``: no other process in between.
"""

from __future__ import annotations

import os
import socket
from array import array
from typing import Final

import apsw

from observabilipy.adapters.storage.sqlite_arrays import read_values, write_values
from observabilipy.adapters.storage.sqlite_schema import immediate
from observabilipy.adapters.storage.sqlite_state import family_meta, load_catalog, name_series
from observabilipy.core.aggregate import Catalog, Labels, Values, add_values, no_values


def retire_dead(connection: apsw.Connection, dead_before: float, me: int) -> int:
    """Fold processes that exited (or stopped beating here) into process 0."""
    host = socket.gethostname()
    candidates: list[tuple[int, int, str, int, float]] = connection.execute(  # type: ignore[assignment]
        "SELECT id, pid, host, exited, heartbeat FROM processes WHERE id NOT IN (0, ?)", (me,)
    ).fetchall()
    retired = 0
    for process, pid, on_host, exited, heartbeat in candidates:
        if not exited and not (heartbeat < dead_before and on_host == host and _gone(pid)):
            continue
        with immediate(connection):  # read, add, write: no other process in between
            _retire(connection, process)
            connection.execute("DELETE FROM metric_values WHERE process = ?", (process,))
            connection.execute("DELETE FROM processes WHERE id = ?", (process,))
        retired += 1
    return retired


def _retire(connection: apsw.Connection, process: int) -> None:
    catalog = Catalog()
    load_catalog(connection, catalog)
    stored = {part.process: part for part in read_values(connection, catalog, 0.0)}
    if process not in stored:
        return
    kinds = {name: meta[0] for name, meta in family_meta(connection).items()}
    totals = stored.get(0) or no_values(0, 0)
    write_values(connection, add_values(catalog, totals, stored[process], kinds))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_OVERFLOW: Final = (("otel_metric_overflow", "true"),)


def cap_retired(connection: apsw.Connection, max_series: int) -> int:
    """Fold the retired totals' series past ``max_series`` a family into its overflow
    series (the least recently changed first), so a file's scrape cost follows its live
    series rather than every label set exited processes ever used. Totals are kept.
    Returns the series folded."""
    with immediate(connection):  # read, fold, write: no other process in between
        return _cap(connection, max_series)


def _cap(connection: apsw.Connection, max_series: int) -> int:
    catalog = Catalog()
    load_catalog(connection, catalog)
    stored = [part for part in read_values(connection, catalog, 0.0) if part.process == 0]
    if not stored:
        return 0
    kinds = {name: meta[0] for name, meta in family_meta(connection).items()}
    crowded: dict[str, dict[Labels, list[int]]] = {}
    for family, ids in catalog.ids_of.items():
        if kinds.get(family, "gauge") == "gauge":
            continue
        sets: dict[Labels, list[int]] = {}
        for series_id in ids:
            if series_id < len(stored[0].present) and stored[0].present[series_id]:
                sets.setdefault(_without_le(catalog.labels[series_id]), []).append(series_id)
        sets.pop(_OVERFLOW, None)
        if len(sets) > max_series:
            crowded[family] = sets
    if not crowded:
        return 0
    folded, totals = 0, stored[0]
    for family, sets in crowded.items():
        totals, count = _fold(connection, catalog, totals, family, sets, max_series)
        folded += count
    write_values(connection, totals)
    return folded


def _fold(
    connection: apsw.Connection,
    catalog: Catalog,
    totals: Values,
    family: str,
    sets: dict[Labels, list[int]],
    max_series: int,
) -> tuple[Values, int]:
    def last_change(labels: Labels) -> float:
        return max(totals.changed[i] for i in sets[labels])

    folding = sorted(sets, key=last_change, reverse=True)[max_series:]
    targets = {
        (catalog.sample[i], _OVERFLOW + _le_of(catalog.labels[i]))
        for labels in folding
        for i in sets[labels]
    }
    missing = [(family, s, labels) for s, labels in targets if (s, labels) not in catalog.index]
    if missing:
        name_series(connection, catalog, missing)
    size = catalog.size
    values = array("d", totals.values) + array("d", bytes(8 * (size - len(totals.values))))
    changed = array("d", totals.changed) + array("d", bytes(8 * (size - len(totals.changed))))
    present = bytearray(totals.present) + bytearray(size - len(totals.present))
    for labels in folding:
        for i in sets[labels]:
            target = catalog.index[(catalog.sample[i], _OVERFLOW + _le_of(catalog.labels[i]))]
            values[target] += values[i]
            changed[target] = max(changed[target], changed[i])
            present[target] = 1
            values[i], present[i] = 0.0, 0
    return totals._replace(present=bytes(present), values=values, changed=changed), len(folding)


def _without_le(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != "le")


def _le_of(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] == "le")
