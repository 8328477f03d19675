"""A list of statements run as one step: how the writer stores a batch.

apsw hands the GIL back while SQLite runs a statement and takes it again after. While
the producer thread runs Python, taking it again waits up to the interpreter's switch
interval (5 ms), so a batch stored in several statements spent most of its time
waiting for the very thread it serves. With the Rust extension loaded on the
connection, ``run_steps`` runs the whole list with the GIL released once
(``_native.run_steps``); without it, through apsw one statement at a time: the same
SQL, the same result.

Each step is one statement (the Rust runner refuses a text holding two). It binds its
named parameters (``:name``; every one must have a value) from ``params`` and from the
columns of the first row earlier statements returned, by column name; its rows are
read to the end. A first row whose ``stop`` column is true ends the run there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import apsw

from observabilipy.core.backend import native as _native

Values = dict[str, Any]


class Run(NamedTuple):
    """What a run returned: the columns by name, how many statements ran to their end,
    and the error of the one that failed (the ones before it took effect)."""

    values: Values
    done: int
    error: apsw.Error | None


def run_steps(
    connection: apsw.Connection, steps: Sequence[str], params: dict[str, Any], *, native: bool
) -> Run:
    """Run ``steps`` on ``connection`` (the caller's thread alone uses it); ``native``:
    the Rust extension is loaded on it."""
    if native and _native is not None:
        found, done, failed = _native.run_steps(connection.sqlite3pointer(), list(steps), params)
        return Run(found, done, None if failed is None else _error(*failed))
    values: Values = {}
    for done, sql in enumerate(steps):
        try:
            cursor = connection.execute(sql, {**params, **values})
            try:
                names = [column[0] for column in cursor.description]
            except apsw.ExecutionCompleteError:  # done already: no rows
                names = []
            rows = cursor.fetchall()
        except apsw.Error as error:
            return Run(values, done, error)
        except KeyError as missing:  # apsw's word for a parameter without a value
            unbound = apsw.RangeError(f"no value for the parameter :{missing.args[0]}")
            return Run(values, done, unbound)
        if rows:
            values.update(zip(names, rows[0], strict=True))
            if values.get("stop"):
                return Run(values, done + 1, None)
    return Run(values, len(steps), None)


def _error(code: int, message: str) -> apsw.Error:
    """apsw's exception for SQLite's (extended) error ``code``, with SQLite's message."""
    error = apsw.exception_for(code)
    error.args = (message,)
    assert isinstance(error, apsw.Error)
    return error
