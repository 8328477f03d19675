"""The two records everything else carries: a log entry and a metric sample."""

from __future__ import annotations

from typing import Any

import msgspec


class LogEntry(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One structured log event.

    ``timestamp`` is seconds since the epoch (UTC); ``level`` one of the canonical
    lowercase names in :mod:`observabilipy.core.levels`; ``logger`` the name of the
    logger that recorded it. msgspec encodes it as a compact array (field order),
    which is how batches travel into SQLite. Entries are not tracked by the cyclic GC
    (an entry never refers back to itself), so a full buffer costs collections nothing.
    """

    timestamp: float
    level: str
    message: str
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    logger: str = ""


class LogRecord(msgspec.Struct, frozen=True):
    """A stored log entry as read back: its cursor ``id`` (resume with ``after=id``),
    then the entry's fields as stored, attributes decoded."""

    id: int
    timestamp: float
    level: str
    message: str
    logger: str
    attributes: dict[str, Any]


class MetricSample(msgspec.Struct, frozen=True):
    """One value of one series at one moment: the unit of metric history.

    ``name`` is the full sample name as exposed (``orders_total``,
    ``checkout_seconds_bucket``); ``labels`` includes ``le`` for histogram buckets.
    """

    name: str
    timestamp: float
    value: float
    labels: dict[str, str] = msgspec.field(default_factory=dict)


#: One sample of a family: full sample name, label pairs in order, value.
Sample = tuple[str, tuple[tuple[str, str], ...], float]
#: An exemplar: label pairs, value, timestamp (seconds since the epoch).
Exemplar = tuple[tuple[tuple[str, str], ...], float, float]


class MetricFamily(msgspec.Struct, frozen=True):
    """A metric family as the encoders take it: plain data, no live state.

    ``name`` is the family name (a counter's without ``_total``); ``kind`` is
    ``counter``, ``gauge``, ``histogram`` or ``summary``; samples carry their full names
    (``orders_total``, ``latency_bucket``) and histogram samples their ``le`` label.
    ``exemplars`` maps a sample's ``(name, labels)`` to its exemplar, ``(labels, value,
    timestamp)``; only OpenMetrics writes them.
    """

    name: str
    kind: str
    help: str
    samples: list[Sample]
    exemplars: dict[tuple[str, tuple[tuple[str, str], ...]], Exemplar] = msgspec.field(
        default_factory=dict
    )
