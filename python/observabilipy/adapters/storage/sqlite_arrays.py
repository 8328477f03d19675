"""Each process's arrays of metric values in the file (``metric_values``): written when
any value changed, read by every scrape of a process sharing the file.

Every write to a process's row moves its ``values_written`` count in ``processes`` (a
trigger, so whichever version of the code writes), and a reader that keeps the arrays
it read (``StoredArrays``) reads again only those of processes that wrote since: an
array of 10,000 series is 170 KB of overflow pages, and most scrapes find most processes
standing still.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import apsw
import orjson

from observabilipy.core.aggregate import Catalog, Values

_SWAP: Final = sys.byteorder != "little"  # the file's arrays are little-endian everywhere

#: What version 7 adds: each process's count of writes to its arrays.
WRITTEN_DDL: Final = """
    ALTER TABLE processes ADD COLUMN values_written INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER metric_values_inserted AFTER INSERT ON metric_values BEGIN
        UPDATE processes SET values_written = values_written + 1 WHERE id = NEW.process;
    END;
    CREATE TRIGGER metric_values_updated AFTER UPDATE ON metric_values BEGIN
        UPDATE processes SET values_written = values_written + 1 WHERE id = NEW.process;
    END;
"""
_UPSERT_VALUES: Final = """
    INSERT INTO metric_values (process, present, vals, changed) VALUES (?, ?, ?, ?)
    ON CONFLICT (process) DO UPDATE
        SET present = excluded.present, vals = excluded.vals, changed = excluded.changed
"""


def _bounded(column: str, width: int) -> str:
    """A stored array, if it is a blob no longer than the catalog's ids need; -1 for a
    longer blob, read in part (``_prefix``): SQLite would read a value whole, however
    large, to cut it. NULL, unread, for a process whose arrays the reader holds."""
    return (
        f"CASE WHEN {_HELD} OR typeof(v.{column}) != 'blob' THEN NULL "
        f"WHEN octet_length(v.{column}) <= {width} * :size THEN v.{column} ELSE -1 END"
    )


# Whether the reader holds this process's arrays as of its current count (``:held``: a
# JSON object of counts by process id).
_HELD: Final = """(p.values_written IS (:held ->> ('$."' || v.process || '"')))"""
_VALUES: Final = f"""
    SELECT v.process, p.pid, p.exited = 0 AND p.heartbeat >= :live_after AND v.process != 0,
        p.values_written, {_HELD},
        {_bounded("present", 1)}, {_bounded("vals", 8)}, {_bounded("changed", 8)}
    FROM metric_values AS v JOIN processes AS p ON p.id = v.process
    WHERE v.process != :but
"""


@dataclass
class StoredArrays:
    """Processes' arrays as a reader last read them, each with the count of writes it
    was read at, over a catalog of ``size`` ids."""

    size: int = 0
    by_process: dict[int, tuple[int, Values]] = field(default_factory=dict)


def write_values(connection: apsw.Connection, values: Values) -> None:
    """Keep one process's arrays."""
    connection.execute(
        _UPSERT_VALUES,
        (values.process, values.present, _blob(values.values), _blob(values.changed)),
    )


def read_values(
    connection: apsw.Connection,
    catalog: Catalog,
    live_after: float,
    *,
    but: int = -1,
    held: StoredArrays | None = None,
) -> list[Values]:
    """Every process's stored values (but one) over ``catalog``'s ids, live if it beat
    its heart after ``live_after`` and has not exited. With ``held``, arrays are read
    only for processes that wrote since they were read into it (or for a catalog of
    another size), and ``held`` then holds what this read found."""
    size = catalog.size
    kept = {} if held is None or held.size != size else held.by_process
    counts = {str(process): count for process, (count, _) in kept.items()}
    params = {"live_after": live_after, "but": but, "size": size, "held": orjson.dumps(counts)}
    found: list[Values] = []
    read: dict[int, tuple[int, Values]] = {}
    for process, pid, live, count, same, *arrays in connection.execute(_VALUES, params):
        if same and process in kept:
            values = kept[process][1]
            if (values.pid, values.live) != (pid, bool(live)):
                values = values._replace(pid=pid, live=bool(live))
        else:
            present, vals, changed = arrays
            values = _stored(
                process,
                pid,
                bool(live),
                _prefix(connection, "present", process, present, size),
                _prefix(connection, "vals", process, vals, 8 * size),
                _prefix(connection, "changed", process, changed, 8 * size),
            )
        found.append(values)
        if isinstance(count, int):  # as the trigger keeps it (a hand-edited file aside)
            read[process] = (count, values)
    if held is not None:
        held.size, held.by_process = size, read
    return found


def _prefix(
    connection: apsw.Connection, column: str, process: int, value: object, width: int
) -> object:
    """The array as read, or the first ``width`` bytes of one too long to read whole."""
    if value != -1:
        return value
    blob = connection.blob_open("main", "metric_values", column, process, False)
    try:
        return blob.read(width)
    finally:
        blob.close()


def _stored(
    process: int, pid: int, live: bool, present: object, vals: object, changed: object
) -> Values:
    """Arrays as stored, cut to one length: a file edited by hand is read as far as
    its arrays agree (what is not a blob as empty), never failing a scrape."""
    values, times = _floats(vals), _floats(changed)
    present = present if isinstance(present, bytes) else b""
    size = len(values)
    if len(times) != size:  # as written, they agree: no copy of 8 bytes a series
        times = times[:size] + array("d", bytes(8 * max(0, size - len(times))))
    if len(present) != size:
        present = bytes(present[:size]) + bytes(max(0, size - len(present)))
    return Values(process, pid, live, present, values, times)


def _floats(blob: object) -> array[float]:
    values = array("d")
    if isinstance(blob, bytes):
        values.frombytes(blob[: len(blob) // 8 * 8])
    if _SWAP:
        values.byteswap()
    return values


def _blob(values: Sequence[float]) -> bytes:
    data = array("d", values)
    if _SWAP:
        data.byteswap()
    return data.tobytes()
