"""The default engine: metrics and loggers defined at import time, the prometheus_client
idiom (``REQUESTS = obs.counter(...)`` at the top of a module), recorded wherever the
application later says.

Metrics live in one process-wide ``REGISTRY`` from the moment they are defined; the
engine that stores and serves them starts at ``configure(db=...)``, or at the first use
that needs one (a log call, ``default_engine()``), on ``OBSERVABILIPY_DB`` if set, else
in memory. Values counted before it starts are kept: the engine takes over the registry
as it is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Final, Unpack

from observabilipy.core.instruments import DEFAULT_BUCKETS, Counter, Gauge, Histogram
from observabilipy.core.logger import Logger
from observabilipy.core.models import LogEntry
from observabilipy.core.names import Naming
from observabilipy.core.registry import DEFAULT_REGISTRY
from observabilipy.core.states import Enum, Info
from observabilipy.core.summary import Summary
from observabilipy.runtime.engine import Engine
from observabilipy.runtime.stderr import say

#: Where the default engine records when ``configure`` names no file.
DB_VARIABLE: Final = "OBSERVABILIPY_DB"

#: Every metric defined through this module or built directly, whichever engine serves it.
REGISTRY: Final = DEFAULT_REGISTRY

_lock = threading.Lock()
_engine: Engine | None = None


def configure(db: str | os.PathLike[str] | None = None, **options: Any) -> Engine:
    """Start the default engine on ``db`` (else ``$OBSERVABILIPY_DB``, else memory),
    with ``Engine``'s other options; the metrics already defined keep their values.

    Once per process: while the default engine runs (a log call may have started it),
    configuring it again raises ``RuntimeError`` rather than leave entries behind in a
    store nobody reads. ``default_engine().close()`` ends it, and a later call starts
    a new one.
    """
    global _engine
    with _lock:
        if _engine is not None and not _engine.closed:
            raise RuntimeError(
                f"the default engine already records to {_engine.path}: call "
                "observabilipy.configure() once, before the first log call, or close the "
                "running one first (observabilipy.default_engine().close())"
            )
        if db is None:
            db = os.environ.get(DB_VARIABLE) or None
        _engine = Engine(db, registry=REGISTRY, **options)
        return _engine


def default_engine() -> Engine:
    """The default engine, started from the environment if ``configure`` was not called."""
    engine = _engine
    if engine is not None and not engine.closed:
        return engine
    with _lock:
        if _engine is not None and not _engine.closed:
            return _engine
    try:
        return configure()
    except RuntimeError:  # another thread started it meanwhile
        assert _engine is not None
        return _engine


#: Entries a log call could not hand to a default engine that failed to start.
dropped = 0


def _record(entry: LogEntry) -> None:
    """A log call's sink: never raises, even when the default engine cannot start (a
    bad ``OBSERVABILIPY_DB``); such entries are counted in ``dropped`` and said once."""
    global dropped
    engine = _engine
    if engine is None or engine.closed:
        try:
            engine = default_engine()
        except Exception as error:
            dropped += 1
            if dropped == 1:
                say(
                    f"cannot start the default engine ({type(error).__name__}: {error}); "
                    "log entries are dropped until observabilipy.configure() succeeds"
                )
            return
    engine.buffer.append(entry)


def get_logger(name: str = "", *, level: str | int = "debug") -> Logger:
    """A logger recording into the default engine (started by its first entry)."""
    return Logger(name, _record, level=level)


def counter(
    name: str,
    documentation: str = "",
    labels: Sequence[str] | None = None,
    **naming: Unpack[Naming],
) -> Counter:
    """A counter in the default registry (see ``Registry.counter``)."""
    return REGISTRY.counter(name, documentation, labels, **naming)


def gauge(
    name: str,
    documentation: str = "",
    labels: Sequence[str] | None = None,
    aggregate: str = "sum",
    **naming: Unpack[Naming],
) -> Gauge:
    """A gauge in the default registry (see ``Registry.gauge``)."""
    return REGISTRY.gauge(name, documentation, labels, aggregate, **naming)


def histogram(
    name: str,
    documentation: str = "",
    labels: Sequence[str] | None = None,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    **naming: Unpack[Naming],
) -> Histogram:
    """A histogram in the default registry (see ``Registry.histogram``)."""
    return REGISTRY.histogram(name, documentation, labels, buckets, **naming)


def summary(
    name: str,
    documentation: str = "",
    labels: Sequence[str] | None = None,
    **naming: Unpack[Naming],
) -> Summary:
    """A summary in the default registry (see ``Registry.summary``)."""
    return REGISTRY.summary(name, documentation, labels, **naming)


def info(name: str, documentation: str = "", **naming: Unpack[Naming]) -> Info:
    """Facts about the process in the default registry (see ``Registry.info``)."""
    return REGISTRY.info(name, documentation, **naming)


def enum(
    name: str, documentation: str = "", states: Sequence[str] = (), **naming: Unpack[Naming]
) -> Enum:
    """One of ``states`` in the default registry (see ``Registry.enum``)."""
    return REGISTRY.enum(name, documentation, states, **naming)


def _after_fork_in_child() -> None:
    """Counts made before a fork are the parent's to report: a child that has no running
    default engine (one that has resets its registry itself) starts from zero."""
    if _engine is None or _engine.closed:
        REGISTRY.reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
