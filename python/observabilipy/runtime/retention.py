"""Retention: delete old logs and history in bounded steps, and give the space back.

Each step deletes at most ``step_rows`` rows in its own transaction and the whole run
stops after ``budget`` seconds, so the writer is never away from its buffer for long.
Row-count retention keeps the newest ``max_rows`` cursors (ids), which is exact while
only whole-table rules delete rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import apsw

from observabilipy.adapters.storage.sqlite_schema import scalar
from observabilipy.core.levels import STDLIB_NUMBERS, parse_level


@dataclass(frozen=True)
class Retention:
    """What to keep. ``None`` keeps everything for that rule."""

    max_age: float | None = None  # seconds, all levels
    max_rows: int | None = None
    max_age_by_level: Mapping[str, float] = field(default_factory=dict)  # e.g. {"debug": 3600}
    history_max_age: float | None = 7 * 24 * 3600.0
    interval: float = 10.0
    step_rows: int = 5000
    budget: float = 0.2

    def __post_init__(self) -> None:
        for name, value in (("max_age", self.max_age), ("history_max_age", self.history_max_age)):
            if value is not None and not value > 0:
                raise ValueError(f"retention {name} must be > 0 seconds, got {value!r}")
        if self.max_rows is not None and (not isinstance(self.max_rows, int) or self.max_rows < 1):
            raise ValueError(f"retention max_rows must be a positive int, got {self.max_rows!r}")
        for level, age in self.max_age_by_level.items():
            parse_level(level)
            if not age > 0:
                raise ValueError(f"retention for level {level!r} must be > 0 seconds, got {age!r}")
        if not self.interval > 0 or self.step_rows < 1 or not self.budget > 0:
            raise ValueError("retention interval, step_rows and budget must be positive")


def _delete_step(
    connection: apsw.Connection, where: str, params: tuple[object, ...], n: int
) -> int:
    with connection:
        connection.execute(
            f"DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE {where} ORDER BY id LIMIT ?)",
            (*params, n),
        )
        removed = int(connection.changes())
    return removed


def apply(connection: apsw.Connection, retention: Retention, now: float) -> int:
    """Run the rules until nothing is left to delete or the budget is spent."""
    rules: list[tuple[str, tuple[object, ...]]] = []
    if retention.max_age is not None:
        rules.append(("ts < ?", (now - retention.max_age,)))
    for level, age in retention.max_age_by_level.items():
        rules.append(("level = ? AND ts < ?", (STDLIB_NUMBERS[parse_level(level)], now - age)))
    if retention.max_rows is not None:
        newest = int(scalar(connection, "SELECT max(id) FROM logs") or 0)
        rules.append(("id <= ?", (newest - retention.max_rows,)))
    deadline = time.monotonic() + retention.budget
    deleted = 0
    for where, params in rules:
        while True:  # at least one step per rule and run, so a small budget still progresses
            removed = _delete_step(connection, where, params, retention.step_rows)
            deleted += removed
            if removed < retention.step_rows or time.monotonic() >= deadline:
                break
    if retention.history_max_age is not None:
        with connection:
            connection.execute(
                "DELETE FROM metric_history WHERE rowid IN (SELECT rowid FROM metric_history "
                "WHERE ts < ? LIMIT ?)",
                (now - retention.history_max_age, retention.step_rows),
            )
    free = int(scalar(connection, "PRAGMA freelist_count"))
    if free > 256:  # hand space back to the file system a bounded chunk at a time
        connection.execute(f"PRAGMA incremental_vacuum({min(free, 4096)})").fetchall()
    return deleted
