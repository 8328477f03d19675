"""Reading the stored metric history back as series: family names, and one family's
series over a time window in steps (``GET /api/v1/names``, ``GET /api/v1/series``).

SQLite does the bounding: it ranks the family's label sets and keeps the top ``limit``,
then keeps one row per process per series per step, so what reaches Python is at most
``limit`` series (times their histogram buckets) by the steps in the window by the
processes that wrote, however many rows the window holds.
"""

from __future__ import annotations

from typing import Any, Final

import apsw
import orjson

from observabilipy.core.history import HistoryRow, combine_steps, primary_sample, samples_of

# The series: label sets without a histogram's ``le``, the largest values first.
_KEYS: Final = """
    SELECT json_remove(labels, '$.le') AS k FROM metric_history
    WHERE ts >= ?1 AND ts < ?2 AND sample IN (SELECT value FROM json_each(?3))
    GROUP BY k ORDER BY max(value) DESC, k LIMIT ?4
"""
# Per step, each process's latest row of each sample of the chosen series (SQLite takes
# the bare ``value`` from the row holding ``max(ts)``).
_STEPS: Final = """
    SELECT sample, labels, process, CAST((ts - ?1) / ?3 AS INTEGER) AS step, max(ts), value,
        json_remove(labels, '$.le')
    FROM metric_history
    WHERE ts >= ?1 AND ts < ?2 AND sample IN (SELECT value FROM json_each(?4))
        AND json_remove(labels, '$.le') IN (SELECT value FROM json_each(?5))
    GROUP BY step, sample, labels, process
    ORDER BY step
"""


def names(connection: apsw.Connection, match: str, limit: int) -> dict[str, Any]:
    """Families whose name holds ``match`` (any case), by name, at most ``limit``."""
    rows = connection.execute(
        "SELECT name, kind, help FROM metric_families WHERE instr(lower(name), lower(?1)) > 0 "
        "ORDER BY name LIMIT ?2",
        (match, limit + 1),
    ).fetchall()
    found = [{"name": name, "kind": kind, "help": text} for name, kind, text in rows[:limit]]
    return {"names": found, "truncated": len(rows) > limit}


def series(
    connection: apsw.Connection,
    name: str,
    since: float,
    until: float,
    step: float,
    limit: int,
) -> dict[str, Any] | None:
    """The family's top ``limit`` series in ``[since, until)``, a point per ``step``
    seconds that has rows; None when no process defined the family."""
    meta = connection.execute(
        "SELECT kind, help, aggregate FROM metric_families WHERE name = ?", (name,)
    ).fetchone()
    if meta is None:
        return None
    kind, help_text, aggregate = str(meta[0]), str(meta[1]), str(meta[2])
    primary = orjson.dumps(primary_sample(name, kind))
    keys = [str(row[0]) for row in connection.execute(_KEYS, (since, until, primary, limit + 1))]
    chosen = keys[:limit]
    rank = {key: index for index, key in enumerate(chosen)}
    series_rank: dict[tuple[str, str], int] = {}
    rows: list[HistoryRow] = []
    for *row, key in connection.execute(
        _STEPS, (since, until, step, orjson.dumps(samples_of(name, kind)), orjson.dumps(chosen))
    ):
        rows.append(tuple(row))
        series_rank[row[0], row[1]] = rank[key]
    points = combine_steps(rows, kind=kind, aggregate=aggregate)

    def order(key: tuple[str, str]) -> tuple[int, str, str]:
        return series_rank[key], key[0], key[1]

    return {
        "name": name,
        "kind": kind,
        "help": help_text,
        "since": since,
        "until": until,
        "step": step,
        "series": [
            {"sample": sample, "labels": orjson.loads(labels), "points": points[sample, labels]}
            for sample, labels in sorted(points, key=order)
        ],
        "truncated": len(keys) > limit,
    }
