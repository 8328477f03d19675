"""The SQLite file's layout: versioned by ``PRAGMA user_version``, migrated forward only."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, Final

import apsw

#: Marks the file as ours ("OBSP"), so a foreign database is named, not overwritten.
APPLICATION_ID: Final = 0x4F425350

#: Each entry moves the schema from version ``index`` to ``index + 1``.
Migration = str | Callable[[apsw.Connection], None]
MIGRATIONS: Final[tuple[Migration, ...]] = (
    """
    CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor: never reused, only grows
        ts REAL NOT NULL,                      -- seconds since the epoch, UTC
        level INTEGER NOT NULL,                -- stdlib number: 10 debug ... 50 critical
        logger TEXT NOT NULL,
        message TEXT NOT NULL,
        attributes TEXT NOT NULL               -- a JSON object
    );
    CREATE INDEX logs_ts ON logs (ts);
    -- Warnings and worse are few and wanted fast; indexing every row costs ingest speed.
    CREATE INDEX logs_problems ON logs (level, id) WHERE level >= 30;

    CREATE TABLE processes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- 0 holds the totals of retired processes
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started REAL NOT NULL,
        heartbeat REAL NOT NULL,
        exited INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO processes (id, pid, host, started, heartbeat, exited)
        VALUES (0, 0, '', 0, 0, 1);

    CREATE TABLE metric_families (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        help TEXT NOT NULL,
        aggregate TEXT NOT NULL                -- how gauges combine across processes
    );

    -- The latest value of every series of every process.
    CREATE TABLE metric_state (
        process INTEGER NOT NULL,
        family TEXT NOT NULL,
        sample TEXT NOT NULL,
        labels TEXT NOT NULL,                  -- JSON array of [name, value] pairs
        value REAL NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (process, sample, labels)
    ) WITHOUT ROWID;

    -- Snapshots kept as history, read back as MetricSample rows.
    CREATE TABLE metric_history (
        ts REAL NOT NULL,
        sample TEXT NOT NULL,
        labels TEXT NOT NULL,                  -- JSON object
        value REAL NOT NULL,
        process INTEGER NOT NULL
    );
    CREATE INDEX metric_history_ts ON metric_history (ts);
    """,
    # Version 2: the schema enforces what readers rely on. Rows an older version let in
    # are kept, brought within the rules (timestamps into years 1-9999, levels the
    # readers named critical stored as critical); the id sequence carries over.
    """
    CREATE TABLE logs_checked (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL CHECK (ts >= -62135596800.0 AND ts < 253402300800.0),
        level INTEGER NOT NULL CHECK (level IN (10, 20, 30, 40, 50)),
        logger TEXT NOT NULL,
        message TEXT NOT NULL,
        attributes TEXT NOT NULL               -- a JSON object
    );
    INSERT INTO logs_checked (id, ts, level, logger, message, attributes)
        SELECT id,
            CASE WHEN typeof(ts) NOT IN ('real', 'integer') THEN 0.0
                WHEN ts < -62135596800.0 THEN -62135596800.0
                WHEN ts >= 253402300800.0 THEN 253402300799.999
                ELSE ts END,
            CASE WHEN level IN (10, 20, 30, 40) THEN level ELSE 50 END,
            logger, message, attributes
        FROM logs ORDER BY id;
    DELETE FROM sqlite_sequence WHERE name = 'logs_checked';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'logs_checked', seq FROM sqlite_sequence WHERE name = 'logs';
    DROP TABLE logs;
    ALTER TABLE logs_checked RENAME TO logs;
    CREATE INDEX logs_ts ON logs (ts);
    CREATE INDEX logs_problems ON logs (level, id) WHERE level >= 30;
    """,
    # Version 3: the log table in segments (see sqlite_segments).
    lambda connection: _to_segments(connection),
    # Version 4: exporters' cursors and leases (see sqlite_outbox).
    lambda connection: _to_outbox(connection),
    # Version 5: metric series named once, values as arrays over their ids (see
    # sqlite_state).
    lambda connection: _to_series(connection),
    # Version 6: reads by time bounded by spans of ids, not an index on every row (see
    # sqlite_spans).
    lambda connection: _to_spans(connection),
    # Version 7: each process's count of writes to its metric arrays, kept by triggers,
    # so a scrape reads again only the arrays that moved (see sqlite_arrays).
    lambda connection: _to_written(connection),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
#: The first version with the log table in segments; read-only readers of older files
#: read its one table as it is (``sqlite_segments.read_unsegmented``).
SEGMENTED_VERSION: Final = 3
#: The first version with spans bounding reads by time; read-only readers of older
#: files see one span over everything (``sqlite_spans.read_without_spans``) and scan
#: with their segments' ts indexes.
SPANS_VERSION: Final = 6

_LEVEL_NAME: Final = (
    "CASE level WHEN 10 THEN 'debug' WHEN 20 THEN 'info' "
    "WHEN 30 THEN 'warning' WHEN 40 THEN 'error' ELSE 'critical' END"
)
#: Stored log rows as readers take them: id, timestamp, level name, message, logger,
#: attributes JSON (levels named as the Rust extension names them, blobs another tool
#: stored read as text, as the Rust extension reads them).
SELECT_ROWS: Final = (
    f"SELECT id, ts, {_LEVEL_NAME}, CAST(message AS TEXT), CAST(logger AS TEXT), "
    "CAST(attributes AS TEXT) FROM logs"
)
# The same rows with their text as bytes: SQLite keeps whatever a writer stored as
# text, and apsw fails a fetch whose text is not UTF-8.
_SELECT_ROWS_AS_BYTES: Final = (
    f"SELECT id, ts, {_LEVEL_NAME}, CAST(message AS BLOB), CAST(logger AS BLOB), "
    "CAST(attributes AS BLOB) FROM logs"
)


def select_rows(
    connection: apsw.Connection, where: str, params: tuple[Any, ...]
) -> Generator[tuple[Any, ...]]:
    """Stored log rows ``SELECT_ROWS`` picks with ``where`` (ordered by id), text that
    is not UTF-8 (a file another tool wrote) read with U+FFFD as the Rust reader reads
    it. Close the iterator to let go of the rows before reading them all."""
    last = None
    # One snapshot, so rows read again as bytes are the rows read so far.
    with connection:
        found = connection.execute(f"{SELECT_ROWS} {where}", params)
        try:
            for row in found:
                last = row[0]
                yield row
            return
        except UnicodeDecodeError:
            pass
        finally:
            found.close()
        found = connection.execute(f"{_SELECT_ROWS_AS_BYTES} {where}", params)
        try:
            for id_, ts, level, message, logger, attributes in found:
                if last is None or id_ > last:
                    yield (id_, ts, level, _text(message), _text(logger), _text(attributes))
        finally:
            found.close()


def _text(stored: bytes) -> str:
    return stored.decode(errors="replace")


def scalar(
    connection: apsw.Connection, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
) -> Any:
    """The first column of the first row (None when there is no row)."""
    for row in connection.execute(sql, params):
        return row[0]
    return None


class StorageError(RuntimeError):
    """The database file cannot be used; the message names the file and why."""


def check(connection: apsw.Connection, path: str) -> int:
    """The file's schema version (0 for a new file); ``StorageError`` if we cannot use it."""
    try:
        application_id = int(scalar(connection, "PRAGMA application_id"))
        version = int(scalar(connection, "PRAGMA user_version"))
    except apsw.NotADBError as error:
        raise StorageError(f"{path} is not a SQLite database (corrupt?): {error}") from error
    if application_id not in (0, APPLICATION_ID):
        raise StorageError(f"{path} belongs to another application (id {application_id:#x})")
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} has schema version {version}, newer than this observabilipy "
            f"understands ({SCHEMA_VERSION}): upgrade observabilipy"
        )
    return version


PAGE_SIZE: Final = 16384


def prepare(connection: apsw.Connection, path: str, *, synchronous: str, busy_ms: int) -> None:
    """Configure a connection and bring the file's schema up to date.

    Raises ``StorageError`` naming ``path`` when the file is not a database, is
    someone else's database, or was written by a newer observabilipy.
    """
    connection.set_busy_timeout(busy_ms)
    version = check(connection, path)
    if version == 0:  # must precede WAL and the first table to take effect
        # 16 KiB pages: inserts split and rebalance B-tree pages a quarter as often as
        # with SQLite's default 4 KiB (batches of entries store 10-20% faster). Before
        # auto_vacuum, which fixes the page size of an empty file.
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    if scalar(connection, "PRAGMA journal_mode") != "memory":
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    if version < SCHEMA_VERSION:
        _migrate(connection, version)


def apply_migration(connection: apsw.Connection, step: int) -> None:
    """Move the schema from version ``step`` to ``step + 1`` (within a transaction)."""
    migration = MIGRATIONS[step]
    if isinstance(migration, str):
        connection.execute(migration)
    else:
        migration(connection)


@contextmanager
def immediate(connection: apsw.Connection) -> Iterator[None]:
    """A write transaction that takes the file's write lock first, so what it reads
    cannot change under it (another process's retention or shipper)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _migrate(connection: apsw.Connection, version: int) -> None:
    # IMMEDIATE takes the write lock first, so two processes opening a new file at
    # once queue up (busy timeout) instead of deadlocking on a read-to-write upgrade.
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = int(scalar(connection, "PRAGMA user_version"))
        for step in range(current, SCHEMA_VERSION):  # another process may have migrated
            apply_migration(connection, step)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _to_segments(connection: apsw.Connection) -> None:
    """Version 3: the log table becomes segment 1, ids carrying on from its own; new
    rows go into segment 2, so retention can drop the old rows whole. A log table that
    never held a row (a new file) is replaced by a segment of today's form: its
    `level IN (...)` check made SQLite build that list as a table for every row
    inserted, a third of an insert's time."""
    from observabilipy.adapters.storage import sqlite_segments as segments

    connection.execute(
        """
        CREATE TABLE log_segments (
            n INTEGER PRIMARY KEY,             -- logs_seg_<n>, in id order
            first_id INTEGER NOT NULL,         -- its rows' ids are at least this
            created REAL NOT NULL              -- epoch seconds
        );
        CREATE TABLE log_state (last_id INTEGER NOT NULL);  -- one row: the newest id given
        INSERT INTO log_state (last_id) SELECT max(
            coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'logs'), 0),
            coalesce((SELECT max(id) FROM logs), 0));
        ALTER TABLE logs RENAME TO logs_seg_1;
        INSERT INTO log_segments (n, first_id, created) VALUES (1, 1, unixepoch('subsec'));
        """
    )
    if not segments.last_id(connection):
        connection.execute("DROP TABLE logs_seg_1")
        connection.execute(segments.SEGMENT_DDL.format(n=1))
    segments.rebuild_view(connection)
    if segments.last_id(connection):  # rows come in a segment of their own from now on
        segment = segments.current(connection)
        segments.add_segment(connection, 2, segments.last_id(connection) + 1, segment.created)


def _to_series(connection: apsw.Connection) -> None:
    from observabilipy.adapters.storage import sqlite_state

    sqlite_state.to_series(connection)


def _to_outbox(connection: apsw.Connection) -> None:
    """Version 4: the table where each exporter keeps its cursor and lease."""
    from observabilipy.adapters.storage import sqlite_outbox

    connection.execute(sqlite_outbox.DDL)


def _to_spans(connection: apsw.Connection) -> None:
    from observabilipy.adapters.storage import sqlite_segments as segments
    from observabilipy.adapters.storage import sqlite_spans

    found = segments.segments(connection)
    sqlite_spans.add_spans(connection, [segments.table(segment.number) for segment in found])
    segments.rebuild_view(connection)  # the insert trigger records spans too


def _to_written(connection: apsw.Connection) -> None:
    from observabilipy.adapters.storage import sqlite_arrays

    connection.execute(sqlite_arrays.WRITTEN_DDL)
