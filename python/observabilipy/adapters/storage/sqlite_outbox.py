"""The outbox's table: each exporter's cursor and lease, in the file that holds the rows.

An exporter's cursor is the last log id it shipped and its receiver acknowledged; rows
after it are still owed. The lease says which shipper (one process, one engine) ships
for that exporter now, and until when. Every statement on the table is here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

import apsw

from observabilipy.adapters.storage.sqlite_schema import immediate, scalar

DDL: Final = """
    CREATE TABLE exporters (
        name TEXT PRIMARY KEY,
        cursor INTEGER NOT NULL DEFAULT 0,     -- last log id shipped and acknowledged
        holder TEXT NOT NULL DEFAULT '',       -- the shipper holding the lease ('' none)
        holder_pid INTEGER NOT NULL DEFAULT 0,
        holder_host TEXT NOT NULL DEFAULT '',  -- where the pid means something
        lease_until REAL NOT NULL DEFAULT 0,   -- epoch seconds; after it, anyone may take it
        updated REAL NOT NULL DEFAULT 0        -- epoch seconds of the last change
    ) WITHOUT ROWID;
"""


class Holder(NamedTuple):
    """Who ships: a token unique to one shipper, its process and that process's host."""

    token: str
    pid: int
    host: str


class Lease(NamedTuple):
    """An exporter's row as stored."""

    cursor: int
    holder: Holder
    until: float


#: The cursor of a lease that ships no rows (a metrics exporter's): retention ignores it.
NO_ROWS: Final = -1


def register(connection: apsw.Connection, name: str, cursor: int = 0) -> None:
    """Add ``name`` with a cursor before every row (or ``NO_ROWS``), unless it is there
    already: from then on retention keeps the rows it has not shipped."""
    connection.execute(
        "INSERT OR IGNORE INTO exporters (name, cursor) VALUES (?, ?)", (name, cursor)
    )


def read(connection: apsw.Connection, name: str) -> Lease | None:
    row = connection.execute(
        "SELECT cursor, holder, holder_pid, holder_host, lease_until FROM exporters WHERE name = ?",
        (name,),
    ).fetchone()
    if row is None:
        return None
    cursor, token, pid, host, until = row
    return Lease(int(cursor), Holder(str(token), int(pid), str(host)), float(until))


def claim(
    connection: apsw.Connection,
    name: str,
    holder: Holder,
    until: float,
    now: float,
    may_take: Callable[[Lease], bool],
    start: int = 0,
) -> tuple[bool, Lease]:
    """Take or renew the lease for ``holder`` until ``until`` when ``may_take`` allows
    it, deciding on the row as it is under the file's write lock: (whether ``holder``
    holds it now, the row as it is then)."""
    with immediate(connection):
        lease = read(connection, name)
        if lease is None:
            register(connection, name, start)
            lease = Lease(start, Holder("", 0, ""), 0.0)
        if not may_take(lease):
            return False, lease
        connection.execute(
            "UPDATE exporters SET holder = ?, holder_pid = ?, holder_host = ?, "
            "lease_until = ?, updated = ? WHERE name = ?",
            (holder.token, holder.pid, holder.host, until, now, name),
        )
    return True, Lease(lease.cursor, holder, until)


def advance(
    connection: apsw.Connection,
    name: str,
    token: str,
    old: int,
    new: int,
    until: float,
    now: float,
) -> bool:
    """Move the cursor from ``old`` to ``new`` and renew the lease, only while ``token``
    holds it and nobody moved the cursor meanwhile; False when the lease was lost."""
    with connection:
        connection.execute(
            "UPDATE exporters SET cursor = ?, lease_until = ?, updated = ? "
            "WHERE name = ? AND holder = ? AND cursor = ?",
            (new, until, now, name, token, old),
        )
        moved = int(connection.changes()) == 1
    return moved


def release(connection: apsw.Connection, name: str, token: str) -> None:
    """Give the lease up (at close), so another process takes over at once."""
    with connection:
        connection.execute(
            "UPDATE exporters SET holder = '', holder_pid = 0, holder_host = '', "
            "lease_until = 0 WHERE name = ? AND holder = ?",
            (name, token),
        )


def oldest_cursor(connection: apsw.Connection) -> int | None:
    """The lowest cursor of every exporter of the file that ships rows (None without
    one): rows after it are owed to someone."""
    found = scalar(connection, "SELECT min(cursor) FROM exporters WHERE cursor >= 0")
    return None if found is None else int(found)


__all__ = [
    "DDL",
    "NO_ROWS",
    "Holder",
    "Lease",
    "advance",
    "claim",
    "oldest_cursor",
    "read",
    "register",
    "release",
]
