"""The latest metric values of every process sharing the file.

Series are named once, in ``metric_series``, and every process keys its values by their
ids: one row per process in ``metric_values`` holds its values as arrays over those ids
(written when any changed), and each process beats its heart in ``processes``. Reading
every other process's values is then a few rows, and combining them adding arrays
(``core.aggregate``), never matching label text. Processes that exited are folded into
process 0, so counters never go back.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from array import array
from collections.abc import Iterable
from typing import Final

import apsw
import msgspec
import orjson

from observabilipy.adapters.storage.sqlite_arrays import StoredArrays, write_values
from observabilipy.adapters.storage.sqlite_schema import scalar
from observabilipy.core.aggregate import (
    Catalog,
    Labels,
    Meta,
    Series,
    Values,
    no_values,
    values_of,
)
from observabilipy.core.encoding.prometheus import KINDS
from observabilipy.core.instruments import AGGREGATES
from observabilipy.core.models import MetricFamily
from observabilipy.core.names import is_label_name, is_metric_name

# Rows arrive as one JSON array, in one statement: executemany steps once per row and
# hands the GIL over at each step, which a busy thread in the process makes wait out
# the switch interval (5 ms) every time. ``WHERE true`` lets SQLite parse ON CONFLICT.
_UPSERT_FAMILIES: Final = """
    INSERT INTO metric_families (name, kind, help, aggregate)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true
    ON CONFLICT (name) DO UPDATE
        SET kind = excluded.kind, help = excluded.help, aggregate = excluded.aggregate
"""
#: How far past the last series a process knows the next id may be. Ids a process
#: names follow one another (a gap is only where another process named the same
#: series first), so a row further out was edited into the file: it is passed over,
#: and ids are named after the last row within reach, never after it. A huge id would
#: otherwise make every process's arrays that long.
MAX_ID_GAP: Final = 4096
# The last id reachable from ``:size - 1`` in steps of at most MAX_ID_GAP.
_LAST_ID: Final = f"""
    WITH ends(id) AS (SELECT :size - 1 UNION ALL SELECT id FROM metric_series WHERE id >= :size)
    SELECT min(id) FROM ends WHERE NOT EXISTS (
        SELECT 1 FROM metric_series AS s WHERE s.id > ends.id AND s.id <= ends.id + {MAX_ID_GAP}
    )
"""
_SERIES_WHERE: Final = f"FROM metric_series WHERE id >= :size AND id <= ({_LAST_ID})"
# Every row in one JSON array, in one step: apsw hands the GIL over at each step, and a
# busy thread in the process makes each handover wait (10,000 rows: 1.5 s, not 0.08).
_SERIES_JSON: Final = f"""
    SELECT CAST(json_group_array(json_array(id, family, sample, labels) ORDER BY id) AS BLOB)
    {_SERIES_WHERE}
"""
# Row by row, as blobs, decoded here: for a file holding text that is not UTF-8 (which
# would fail apsw's decoding, and the JSON above).
_SERIES_ROWS: Final = f"""
    SELECT id, CAST(family AS BLOB), CAST(sample AS BLOB), CAST(labels AS BLOB)
    {_SERIES_WHERE} ORDER BY id
"""
# At most MAX_ID_GAP series a statement: their ids then lie where no row is.
_NAME_SERIES: Final = f"""
    INSERT INTO metric_series (id, family, sample, labels)
    SELECT ({_LAST_ID}) + key + 1, value ->> 0, value ->> 1, value ->> 2
    FROM json_each(:named) WHERE true
    ON CONFLICT (sample, labels) DO NOTHING
"""
#: What version 5 adds: series named once for every process, and each process's values
#: as arrays over their ids (see ``core.aggregate``).
DDL: Final = """
    CREATE TABLE metric_series (
        id INTEGER PRIMARY KEY,                -- never reused: values are indexed by it
        family TEXT NOT NULL,
        sample TEXT NOT NULL,
        labels TEXT NOT NULL,                  -- JSON array of [name, value] pairs
        UNIQUE (sample, labels)
    );
    CREATE TABLE metric_values (
        process INTEGER PRIMARY KEY,           -- 0: the totals of processes that exited
        present BLOB NOT NULL,                 -- one byte per series id: 1 if it has a value
        vals BLOB NOT NULL,                    -- float64 little-endian per series id
        changed BLOB NOT NULL                  -- float64: when each value last changed
    );
"""


def register_process(connection: apsw.Connection, now: float) -> int:
    """A new row for this process; its id keys every value it writes."""
    with connection:
        connection.execute(
            "INSERT INTO processes (pid, host, started, heartbeat) VALUES (?, ?, ?, ?)",
            (os.getpid(), socket.gethostname(), now, now),
        )
        process = int(connection.last_insert_rowid())
    return process


def load_catalog(connection: apsw.Connection, catalog: Catalog) -> None:
    """Learn the series named since ``catalog`` was last brought up to date. A row no
    version of ours writes (a file edited by hand, or beyond ``MAX_ID_GAP``) is passed
    over: its id stays a gap, so values stored at it are never shown."""
    params = {"size": catalog.size}
    try:
        rows = orjson.loads(scalar(connection, _SERIES_JSON, params))
    except (apsw.SQLError, orjson.JSONDecodeError):  # blobs, or text that is not UTF-8
        rows = [
            (series_id, *map(_text, raw))
            for series_id, *raw in connection.execute(_SERIES_ROWS, params)
        ]
    for series_id, family, sample, text in rows:
        labels = _labels(text)
        if (
            labels is not None
            and isinstance(series_id, int)
            and isinstance(family, str)
            and isinstance(sample, str)
            and is_metric_name(family)
            and is_metric_name(sample)
            and sample.startswith(family)
        ):
            catalog.add(series_id, family, sys.intern(sample), labels)


def _text(blob: object) -> str | None:
    """A stored name or label set, if it is UTF-8 text."""
    try:
        return blob.decode() if isinstance(blob, bytes) else None
    except UnicodeDecodeError:
        return None


def _labels(text: object) -> Labels | None:
    """Stored label pairs, if they are what we write: a JSON array of pairs of text,
    each name a label name."""
    try:
        pairs = orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(pairs, list):
        return None
    labels = []
    for pair in pairs:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and is_label_name(pair[0])
            and isinstance(pair[1], str)
        ):
            return None
        labels.append((pair[0], pair[1]))
    return tuple(labels)


def name_series(connection: apsw.Connection, catalog: Catalog, series: list[Series]) -> None:
    """Give ``series`` ids (other processes may have named some already), then learn
    every id named since. Writes first, so the transaction holds the write lock before
    it reads."""
    named = [(family, sample, orjson.dumps(labels).decode()) for family, sample, labels in series]
    for start in range(0, len(named), MAX_ID_GAP):
        part = orjson.dumps(named[start : start + MAX_ID_GAP])
        connection.execute(_NAME_SERIES, {"named": part, "size": catalog.size})
    load_catalog(connection, catalog)


class MetricStateWriter:
    """Writes one process's snapshots: families once, values when any changed."""

    def __init__(self, process: int) -> None:
        self.process = process
        self.catalog = Catalog()
        #: What the file holds for this process once a save commits.
        self.values = no_values(process, os.getpid())
        self._families: dict[str, tuple[str, str, str]] = {}
        self._stored = False
        self._beaten = -math.inf  # when this process's heartbeat was last written
        #: The other processes' arrays as a scrape last read them.
        self.others = StoredArrays()
        self._families_written = 0
        # What ``learn`` read last: the file's data version, the catalog it brought up
        # to date (and its size then), the families written by then, the meta read.
        self._learnt: tuple[object, Catalog, int, int, dict[str, Meta]] | None = None

    def save(
        self,
        connection: apsw.Connection,
        families: Iterable[MetricFamily],
        aggregates: dict[str, str],
        now: float,
        *,
        beat_every: float = 0.0,
    ) -> bool:
        """Write the values if any changed since the last save, and beat the heart (when
        anything was written, or ``beat_every`` seconds after it last beat: a save that
        writes nothing then leaves the file's write lock alone); returns whether values
        were written. What was written is remembered only once the write succeeded."""
        families = list(families)
        beaten = self._beaten
        new_families = []
        for family in families:
            meta = (family.kind, family.help, aggregates.get(family.name, "sum"))
            if self._families.get(family.name) != meta:
                new_families.append((family.name, *meta))
        try:
            with connection:
                if new_families:
                    connection.execute(_UPSERT_FAMILIES, (orjson.dumps(new_families),))
                values = self._arrays(connection, families, now)
                # ``values_of`` gives the last values back when no bit changed.
                changed = not self._stored or values is not self.values
                if changed:
                    write_values(connection, values)
                if changed or new_families or now - self._beaten >= beat_every:
                    connection.execute(
                        "UPDATE processes SET heartbeat = ? WHERE id = ?", (now, self.process)
                    )
                    beaten = now
        except BaseException:
            self.forget()  # ids named in the undone transaction do not exist
            raise
        self.values, self._stored = values, True
        self._beaten = beaten
        for name, kind, help_text, aggregate in new_families:
            self._families[name] = (kind, help_text, aggregate)
        self._families_written += bool(new_families)
        return changed

    def learn(self, connection: apsw.Connection) -> dict[str, Meta]:
        """Bring the catalog up to date with the series other processes named, and give
        every family's meta: read again only when another connection committed since
        the last time (``PRAGMA data_version``) or this process wrote families."""
        version = scalar(connection, "PRAGMA data_version")
        learnt = self._learnt
        if (
            learnt is not None
            and learnt[0] == version
            and learnt[1] is self.catalog
            and learnt[2:4] == (self.catalog.size, self._families_written)
        ):
            return learnt[4]
        load_catalog(connection, self.catalog)
        meta = family_meta(connection)
        self._learnt = (version, self.catalog, self.catalog.size, self._families_written, meta)
        return meta

    def _arrays(
        self, connection: apsw.Connection, families: list[MetricFamily], now: float
    ) -> Values:
        values = values_of(self.catalog, families, self.values, now)
        if isinstance(values, list):  # series not named yet
            name_series(connection, self.catalog, values)
            values = values_of(self.catalog, families, self.values, now)
        if isinstance(values, list):
            # Families collected for exposition read their cells when read: a series
            # added meanwhile has no id yet. Their samples copied cannot change.
            families = [msgspec.structs.replace(f, samples=list(f.samples)) for f in families]
            values = values_of(self.catalog, families, self.values, now)
            if isinstance(values, list):
                name_series(connection, self.catalog, values)
                values = values_of(self.catalog, families, self.values, now)
        if isinstance(values, list):  # cannot be: naming gives every series an id
            raise RuntimeError(f"series without an id in {self.catalog.size}: {values[:3]}")
        return values

    def forget(self) -> None:
        """Write everything again next time (a transaction holding a save was undone:
        ids it named may not exist)."""
        self._stored = False
        self._families.clear()
        self.catalog = Catalog()
        self.others = StoredArrays()

    def mark_exited(self, connection: apsw.Connection) -> None:
        with connection:
            connection.execute("UPDATE processes SET exited = 1 WHERE id = ?", (self.process,))


def family_meta(connection: apsw.Connection) -> dict[str, tuple[str, str, str]]:
    """kind, help and aggregate of every family any process defined (a row no version
    of ours writes is passed over)."""
    return {
        name: (kind, help_text, aggregate)
        for name, kind, help_text, aggregate in connection.execute(
            "SELECT name, kind, help, aggregate FROM metric_families"
        )
        if is_metric_name(name)
        and kind in KINDS
        and isinstance(help_text, str)
        and aggregate in AGGREGATES
    }


def to_series(connection: apsw.Connection) -> None:
    """Schema version 5: ``metric_state``'s rows (one per process and series, keyed by
    label text) become named series and each process's arrays."""
    connection.execute(DDL)
    connection.execute(
        "INSERT INTO metric_series (family, sample, labels) "
        "SELECT min(family), sample, labels FROM metric_state GROUP BY sample, labels "
        "ORDER BY min(process), min(family), sample, labels"
    )
    catalog = Catalog()
    load_catalog(connection, catalog)
    processes: dict[int, list[tuple[int, float, float]]] = {}
    for process, series_id, value, updated in connection.execute(
        "SELECT s.process, m.id, s.value, s.updated FROM metric_state AS s "
        "JOIN metric_series AS m ON m.sample = s.sample AND m.labels = s.labels"
    ):
        processes.setdefault(process, []).append((series_id, value, updated))
    size = catalog.size
    for process, rows in processes.items():
        values, changed = array("d", bytes(8 * size)), array("d", bytes(8 * size))
        present = bytearray(size)
        for series_id, value, updated in rows:
            values[series_id], changed[series_id], present[series_id] = value, updated, 1
        write_values(connection, Values(process, 0, False, bytes(present), values, changed))
    connection.execute("DROP TABLE metric_state")
