"""The SQLite file as a durable outbox: each exporter ships the rows after its cursor.

An exporter keeps its cursor (the last log id its receiver acknowledged) in the file,
ships the rows after it in bounded batches, and moves the cursor only once ``send``
returned: a crash, a restart or an outage loses nothing and sends at most the batch in
flight twice. Among processes sharing the file one ships per exporter: the holder of
its lease, renewed as it ships and taken over when the holder's process is gone (same
host) or the lease ran out (any host).
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final

import apsw

from observabilipy.adapters.storage import sqlite_outbox as table
from observabilipy.adapters.storage import sqlite_segments as segments
from observabilipy.adapters.storage.sqlite_ndjson import Chunk
from observabilipy.adapters.storage.sqlite_outbox import Holder, Lease
from observabilipy.core.ports import Batch

#: Reads rows with ids in (after, upto] as ``GET /logs`` NDJSON, up to a byte budget.
ReadIds = Callable[[int, int, int], Chunk]


def may_take(lease: Lease, me: Holder, now: float, alive: Callable[[int], bool]) -> bool:
    """Whether ``me`` may ship under ``lease``: nobody holds it, ``me`` does, it ran out,
    or its holder's process is gone (only knowable on the holder's own host)."""
    holder = lease.holder
    if not holder.token or holder.token == me.token or lease.until <= now:
        return True
    return holder.host == me.host and holder.pid != me.pid and not alive(holder.pid)


def pid_alive(pid: int) -> bool:
    """Whether a process of this host has ``pid`` and is not a zombie (a killed process
    its parent has not reaped yet keeps its pid, but ships nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (not Linux): trust kill
        return True


@cache
def host_identity() -> str:
    """Where a pid means one process: the host name, the boot (a pid of before a reboot
    is nobody) and the pid namespace (containers sharing a kernel and a volume)."""
    boot = namespace = ""
    try:
        with open("/proc/sys/kernel/random/boot_id") as source:
            boot = source.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux: the host name alone
        pass
    return f"{socket.gethostname()}|{boot}|{namespace}"


#: Largest single batch a shipper reads, whatever ``Shipping`` says (bytes).
MAX_BATCH_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True)
class Shipping:
    """How exporters ship: every ``interval`` seconds (or at once while rows are
    waiting), batches of at most ``max_rows`` rows and about ``max_bytes`` bytes.

    ``lease_seconds`` is how long another process waits for a silent shipper on
    another host (on the same host a dead shipper is taken over at once); a failing
    exporter retries after ``interval`` doubling up to ``max_backoff`` seconds, and
    ``/healthz`` says 503 once it has failed for ``unhealthy_after`` seconds. ``close``
    ships what is left for at most ``close_timeout`` seconds.
    """

    interval: float = 1.0
    max_rows: int = 5000
    max_bytes: int = 1024 * 1024
    lease_seconds: float = 30.0
    max_backoff: float = 30.0
    unhealthy_after: float = 120.0
    close_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ("interval", "lease_seconds", "max_backoff", "unhealthy_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"shipping {name} must be > 0 seconds, got {value!r}")
        if not isinstance(self.close_timeout, int | float) or self.close_timeout < 0:
            raise ValueError(f"shipping close_timeout must be >= 0, got {self.close_timeout!r}")
        for name, top in (("max_rows", 10**7), ("max_bytes", MAX_BATCH_BYTES)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise ValueError(f"shipping {name} must be an int in 1..{top}, got {value!r}")

    def backoff(self, failures: int) -> float:
        """Seconds before retry ``failures``: doubling from ``interval``, at most
        ``max_backoff``, jittered down by up to half so processes do not retry in step."""
        ceiling = min(self.max_backoff, self.interval * 2.0 ** min(failures - 1, 30))
        return ceiling * random.uniform(0.5, 1.0)


class Outbox:
    """One exporter's cursor and lease in the file, on a connection of the shipper's.

    ``claim`` before each round of shipping; ``next_batch`` then ``acknowledge`` once the
    receiver has it. Used from one thread.
    """

    def __init__(
        self,
        name: str,
        connection: apsw.Connection,
        read: ReadIds,
        shipping: Shipping,
        *,
        clock: Callable[[], float],
        alive: Callable[[int], bool] = pid_alive,
        rows: bool = True,
    ) -> None:
        self.name = name
        # A lease without rows to ship (a metrics exporter's) holds no rows back.
        self._start = 0 if rows else table.NO_ROWS
        self.holder = Holder(uuid.uuid4().hex, os.getpid(), host_identity())
        self._connection, self._read, self._shipping = connection, read, shipping
        self._clock, self._alive = clock, alive
        with connection:
            table.register(connection, name, self._start)
        lease = table.read(connection, name)
        #: The cursor as last seen in the file (by this shipper or its holder).
        self.cursor = self._start if lease is None else lease.cursor
        self.holding = False

    def claim(self) -> bool:
        """Take or renew the lease; False while another live shipper holds it."""
        now = self._clock()
        held, lease = table.claim(
            self._connection,
            self.name,
            self.holder,
            now + self._shipping.lease_seconds,
            now,
            lambda lease: may_take(lease, self.holder, now, self._alive),
            self._start,
        )
        self.cursor, self.holding = lease.cursor, held
        return held

    def next_batch(self) -> Batch | None:
        """The rows after the cursor, at most ``max_rows`` ids and about ``max_bytes``
        (one row at least); a batch of no rows moves the cursor over ids no row has
        any more. None when nothing new was stored."""
        after = self.cursor
        chunk = self._read(after, after + self._shipping.max_rows, self._shipping.max_bytes)
        if not chunk.rows:
            # Rows retention dropped unshipped leave a gap: go to the oldest row left
            # rather than across the gap a batch at a time.
            oldest = segments.segments(self._connection)
            floor = oldest[0].first_id - 1 if oldest else after
            if floor > after:
                chunk = self._read(floor, floor + self._shipping.max_rows, self._shipping.max_bytes)
                chunk = chunk._replace(cursor=max(floor, chunk.cursor or floor))
        cursor = chunk.cursor or after
        if cursor <= after:
            return None
        return Batch(after, cursor, chunk.rows, chunk.body)

    def acknowledge(self, batch: Batch) -> bool:
        """Move the cursor past ``batch`` (the receiver has it); False when the lease
        was lost meanwhile (another shipper moves on from the file's cursor)."""
        now = self._clock()
        moved = table.advance(
            self._connection,
            self.name,
            self.holder.token,
            batch.after,
            batch.cursor,
            now + self._shipping.lease_seconds,
            now,
        )
        if moved:
            self.cursor = batch.cursor
        else:
            self.holding = False
        return moved

    def release(self) -> None:
        """Let another shipper take over at once."""
        if self.holding:
            table.release(self._connection, self.name, self.holder.token)
            self.holding = False
