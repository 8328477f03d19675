"""The engine: loggers and instruments in front, one SQLite file (WAL) behind.

``log.info()`` appends to a bounded buffer and returns; a writer thread per process
commits batches. Metrics live in process memory and are snapshotted into the file,
where every process sharing it reads the others' totals.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self, Unpack

import apsw

from observabilipy.adapters.frameworks.asgi import ObservabilityApp
from observabilipy.adapters.frameworks.wsgi import ObservabilityWSGIApp
from observabilipy.adapters.logging import (
    LoggingHandler,
    StructlogProcessor,
    capture_logging,
    capture_structlog,
    release_logging,
)
from observabilipy.adapters.storage.sqlite import (
    CHUNK_BYTES,
    Chunk,
    SQLiteLogStorage,
    open_connection,
    quick_check,
)
from observabilipy.adapters.storage.sqlite_metrics import SQLiteMetricsStorage
from observabilipy.core.encoding.attributes import decoded_attributes
from observabilipy.core.entries import MAX_ENTRY_BYTES
from observabilipy.core.http import DEFAULT_EXCLUDE, REQUEST_ID_HEADER, RequestObserver
from observabilipy.core.instruments import (
    DEFAULT_BUCKETS,
    MAX_SERIES,
    Counter,
    Gauge,
    Histogram,
)
from observabilipy.core.logger import Logger
from observabilipy.core.models import LogEntry, LogRecord, MetricFamily
from observabilipy.core.names import Naming
from observabilipy.core.ports import Exporter, MetricsExporter
from observabilipy.core.registry import Instrument, Registry
from observabilipy.core.states import Enum, Info
from observabilipy.core.summary import Summary
from observabilipy.runtime.buffer import Buffer, Policy, entry_queue
from observabilipy.runtime.health import (
    RECENT,
    Facts,
    Integrity,
    check_in_background,
    reasons,
)
from observabilipy.runtime.metrics_sync import MetricsSync
from observabilipy.runtime.outbox import Shipping
from observabilipy.runtime.retention import Retention, RetentionRuns
from observabilipy.runtime.shipper import Shipper, check_exporters
from observabilipy.runtime.stderr import say
from observabilipy.runtime.writer import PeriodicTask, Writer, WriterStats

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
_ABANDONED: list[Any] = []  # a parent's connections, kept open (never closed) in a child


class Engine:
    """Records logs and metrics into ``path`` (a SQLite file; ``":memory:"`` or None
    keeps them in memory). Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        buffer_size: int = 100_000,
        overflow: Policy = "backpressure",
        block_timeout: float = 1.0,
        flush_interval: float = 0.1,
        batch_size: int = 10000,
        synchronous: str = "NORMAL",
        busy_timeout: float = 5.0,
        snapshot_interval: float = 5.0,
        history_interval: float = 60.0,
        retention: Retention | None = None,
        level: str | int = "debug",
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        max_series: int = MAX_SERIES,
        registry: Registry | None = None,
        exporters: Sequence[Exporter | MetricsExporter] = (),
        shipping: Shipping | None = None,
    ) -> None:
        check_exporters(exporters)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        for name, value in (
            ("flush_interval", flush_interval),
            ("snapshot_interval", snapshot_interval),
            ("history_interval", history_interval),
            ("busy_timeout", busy_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
        if not isinstance(max_entry_bytes, int) or max_entry_bytes < 4096:
            raise ValueError(
                f"max_entry_bytes must be an int of at least 4096, got {max_entry_bytes!r}"
            )
        self.max_entry_bytes = max_entry_bytes
        self.path = ":memory:" if path is None else os.fspath(path)
        # In memory, a named memdb database lets the writer and readers share it.
        self._database = (
            f"file:/observabilipy-{uuid.uuid4().hex}?vfs=memdb"
            if self.path == ":memory:"
            else self.path
        )
        self.level = level
        # A registry given (the default engine's) keeps its own max_series.
        self.registry = registry if registry is not None else Registry(max_series=max_series)
        if self.registry.on_overflow is None:
            self.registry.on_overflow = _say_overflow
        self.buffer: Buffer[LogEntry] = Buffer(buffer_size, overflow, block_timeout, entry_queue())
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._synchronous = synchronous.upper()
        self._busy_ms = int(busy_timeout * 1000)
        self._snapshot_interval = snapshot_interval
        self._history_interval = history_interval
        self.retention = retention or Retention()
        self._stats = WriterStats(
            self.registry.counter(
                "observabilipy_rows_written_total", "Log rows committed to storage"
            ),
            self.registry.counter(
                "observabilipy_write_errors_total", "Failed storage writes (retried)"
            ),
            self.registry.histogram(
                "observabilipy_flush_duration_seconds", "Time to commit one batch of log rows"
            ),
            self.registry.counter(
                "observabilipy_entries_rejected_total",
                "Log entries that can never be stored (an invalid timestamp or level)",
            ),
        )
        self.registry.add_collector(self._buffer_families)
        self._retention = RetentionRuns(self.retention, self.registry)
        self.logs = SQLiteLogStorage(
            self._database, busy_ms=self._busy_ms, segmenting=self.retention.segmenting
        )
        self.metrics = SQLiteMetricsStorage(self._database, busy_ms=self._busy_ms)
        self._sync = self._new_sync()
        self._closed = False
        self._close_lock = threading.Lock()
        self._integrity = Integrity("ok" if self.path == ":memory:" else "not checked")
        self._restarts = 0
        self._last_restart = 0.0
        self._writer = self._start_writer()
        self._exporters, self.shipping = tuple(exporters), shipping or Shipping()
        self._shipper = self._start_shipper()
        _ENGINES.add(self)
        atexit.register(self.close)

    def _new_sync(self) -> MetricsSync:
        return MetricsSync(
            self.registry,
            self._snapshot_interval,
            lambda: open_connection(self._database, busy_ms=self._busy_ms),
            shared=self.path != ":memory:",
            busy_ms=self._busy_ms,
        )

    def _start_writer(self) -> Writer:
        writer = Writer(
            self._database,
            self.buffer,
            self._stats,
            interval=self._flush_interval,
            batch_size=self._batch_size,
            synchronous=self._synchronous,
            busy_ms=self._busy_ms,
            max_entry_bytes=self.max_entry_bytes,
            segmenting=self.retention.segmenting,
        )
        writer.tasks = [
            PeriodicTask(self._snapshot_interval, self._sync.snapshot, self._sync.final, True),
            PeriodicTask(self._history_interval, self._sync.history),
            PeriodicTask(self.retention.interval, self._retain),
        ]
        writer.after_batch = self._retention.drop
        writer.start()
        return writer

    def _start_shipper(self) -> Shipper | None:
        """The shipping thread, when there are exporters (see ``runtime.shipper``)."""
        if not self._exporters:
            return None
        shipper = Shipper(
            self._exporters,
            self.shipping,
            self.registry,
            lambda: open_connection(self._database, busy_ms=self._busy_ms),
            self.read_ndjson_ids,
            lambda: self.logs.newest_id(),
            self.collect,
        )
        shipper.start()
        return shipper

    def ship(self, timeout: float | None = None) -> bool:
        """Flush, then wait until every exporter has shipped what was stored (from this
        process or another holding its lease). False on timeout, or without exporters
        when storage is failing; True at once when there are none."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.flush(timeout) or self._shipper is None:
            return self._shipper is None and not self._writer.failing
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._shipper.wait_for(self.logs.last_id(), left)

    def _retain(self, connection: Any) -> None:
        self._retention.run(connection)
        self._sync.retire(connection)

    def _buffer_families(self) -> list[MetricFamily]:
        buffer = self.buffer
        return [
            MetricFamily(
                "observabilipy_buffer_dropped",
                "counter",
                "Log entries dropped because the buffer was full",
                [("observabilipy_buffer_dropped_total", (), float(buffer.dropped))],
            ),
            MetricFamily(
                "observabilipy_buffer_depth",
                "gauge",
                "Log entries waiting to be written",
                [("observabilipy_buffer_depth", (), float(len(buffer)))],
            ),
        ]

    @property
    def closed(self) -> bool:
        return self._closed

    # -- recording -------------------------------------------------------------------
    def logger(self, name: str = "", *, level: str | int | None = None) -> Logger:
        """A logger whose entries carry ``name``; cheap to create, safe to share."""
        level = self.level if level is None else level
        return Logger(name, self.buffer.append, level=level, lane=self.buffer.lane())

    def counter(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        **naming: Unpack[Naming],
    ) -> Counter:
        """A counter (see ``Registry.counter``)."""
        return self.registry.counter(name, documentation, labels, **naming)

    def gauge(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        aggregate: str = "sum",
        **naming: Unpack[Naming],
    ) -> Gauge:
        """A gauge; ``aggregate`` says how processes sharing the file combine."""
        return self.registry.gauge(name, documentation, labels, aggregate, **naming)

    def histogram(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        **naming: Unpack[Naming],
    ) -> Histogram:
        """A histogram (see ``Registry.histogram``)."""
        return self.registry.histogram(name, documentation, labels, buckets, **naming)

    def summary(
        self,
        name: str,
        documentation: str = "",
        labels: Sequence[str] | None = None,
        **naming: Unpack[Naming],
    ) -> Summary:
        """A summary: count and sum per series (see ``Registry.summary``)."""
        return self.registry.summary(name, documentation, labels, **naming)

    def info(self, name: str, documentation: str = "", **naming: Unpack[Naming]) -> Info:
        """Facts about the process (see ``Registry.info``)."""
        return self.registry.info(name, documentation, **naming)

    def enum(
        self,
        name: str,
        documentation: str = "",
        states: Sequence[str] = (),
        **naming: Unpack[Naming],
    ) -> Enum:
        """One of ``states`` (see ``Registry.enum``)."""
        return self.registry.enum(name, documentation, states, **naming)

    def ingest(
        self, batches: Iterable[Sequence[LogEntry]], timeout: float = 30.0
    ) -> tuple[int, int]:
        """Store entries pushed from outside (``POST /logs``, a Loki push) in one
        transaction, committed on return: (stored, rejected).

        They go through the same writer and the same rule as logged entries, so the
        engine's counters see them. What ``batches`` raises (a parser's error) leaves
        nothing stored; storage failures raise ``apsw.Error`` or ``StorageError``.
        """
        return self._writer.commit(batches, timeout)

    # -- reading ---------------------------------------------------------------------
    def collect(self, *, exposition: bool = False, exemplars: bool = True) -> list[MetricFamily]:
        """Totals across every process sharing the file, this one's values live.

        ``exposition=True`` gives families only an encoder may read, at once: counters'
        series may stay in their cells, read as the encoder writes them.
        ``exemplars=False`` leaves out counters' exemplars where reading them costs a
        pass over every series (for text 0.0.4, which writes none).
        """
        return self._sync.totals(exposition=exposition, exemplars=exemplars)

    @property
    def collect_waits(self) -> bool:
        """Whether ``collect`` may wait on the file (it writes this process's values
        first when other processes can share it): keep it off an event loop then."""
        return self._sync.shared

    def read_logs(
        self,
        *,
        after: int | None = None,
        since: float | None = None,
        until: float | None = None,
        level: str | int | None = None,
        logger: str | None = None,
        limit: int | None = None,
    ) -> list[LogRecord]:
        """Stored entries matching every filter given, in cursor order, as ``LogRecord``
        values (``GET /logs`` reads the same rows as NDJSON bytes, without them)."""
        rows = self.logs.iter_rows(after, since, until, level, logger, limit)
        return [
            LogRecord(
                int(cursor or 0), ts, name, message, logger_name, decoded_attributes(attributes)
            )
            for cursor, ts, name, message, logger_name, attributes in rows
        ]

    def read_ndjson_ids(self, after: int, upto: int, max_bytes: int = CHUNK_BYTES) -> Chunk:
        """Stored rows with ids in (``after``, ``upto``] as ``GET /logs`` NDJSON, up to
        ``max_bytes``; several may run at once (``SQLiteLogStorage``)."""
        return self.logs.read_ndjson_ids(after, upto, max_bytes)

    def read_ndjson(
        self,
        *,
        after: int | None = None,
        since: float | None = None,
        until: float | None = None,
        level: str | int | None = None,
        logger: str | None = None,
        limit: int = 5000,
        max_bytes: int = CHUNK_BYTES,
    ) -> Chunk:
        """Up to ``limit`` stored rows (and about ``max_bytes``) as ``GET /logs`` NDJSON."""
        return self.logs.read_ndjson(after, since, until, level, logger, limit, max_bytes)

    def accounting(self) -> dict[str, int]:
        """Every entry this process recorded, by fate: ``appended == stored + dropped +
        rejected + waiting`` (waiting: still in the buffer or being written)."""
        buffer = self.buffer
        appended, dropped = buffer.appended + self._writer.committed, buffer.dropped
        stored, rejected = int(self._stats.rows_written.get()), int(self._stats.rejected.get())
        return {
            "appended": appended,
            "stored": stored,
            "dropped": dropped,
            "rejected": rejected,
            "waiting": appended - stored - dropped - rejected,
        }

    def health(self) -> dict[str, Any]:
        """The engine's state, and whether storage is healthy, as ``GET /healthz``
        reports it (see ``runtime.health``); a writer thread found dead is restarted."""
        self._ensure_writer()
        writer, counts, now = self._writer, self.accounting(), time.monotonic()
        facts = Facts(
            now=now,
            closed=self._closed,
            writer_alive=writer.alive,
            failing=writer.failing,
            idle_for=now - writer.last_progress,
            stall_limit=max(1.0, 50 * self._flush_interval),
            dropped=counts["dropped"],
            last_drop=self.buffer.last_drop,
            rejected=counts["rejected"],
            last_rejected=writer.last_rejected,
            integrity=self._integrity,
        )
        problems = reasons(facts)
        problems += self._retention.problems()
        if self._shipper is not None:
            problems += self._shipper.problems()
        if self._restarts and now - self._last_restart < RECENT:
            problems.append(f"the writer thread died and was restarted ({self._restarts} in all)")
        state = "stopped" if self._closed or not writer.alive else "running"
        try:
            last_id: int | None = None if self._closed else self.logs.newest_id()
            rows, size = (None, None) if self._closed else self.logs.footprint()
        except apsw.Error as error:
            last_id = rows = size = None
            problems.append(f"storage cannot be read: {error}")
        return {
            "status": "degraded" if problems else "ok",
            "reasons": problems,
            "storage": {
                "path": self.path,
                "writer": "failing" if writer.failing and state == "running" else state,
                "writer_restarts": self._restarts,
                "buffered": len(self.buffer),
                "dropped": counts["dropped"],
                "rejected": counts["rejected"],
                "write_errors": int(self._stats.write_errors.get()),
                "last_id": last_id,
                "integrity": self._integrity.state,
                "rows": rows,
                "file_bytes": size,
                "retention": self.retention.rules(),
            },
            "entries": counts,
            "exporters": {} if self._shipper is None else self._shipper.cursors(),
        }

    def capture_logging(self, level: str | int = "INFO", logger: str = "") -> LoggingHandler:
        """Route the standard library's ``logging`` into this engine (the root logger,
        or ``logger``), at ``level`` and above; undone when the engine closes."""
        return capture_logging(self, level, logger)

    def capture_structlog(self) -> StructlogProcessor:
        """Send every structlog event here too, keeping the configured renderer."""
        return capture_structlog(self)

    def request_observer(
        self,
        *,
        exclude: Sequence[str] = DEFAULT_EXCLUDE,
        request_id_header: str = REQUEST_ID_HEADER,
        log_requests: bool = True,
    ) -> RequestObserver:
        """What the framework middlewares record requests with: the duration histogram
        and in-flight gauge in this engine's registry, and (unless ``log_requests`` is
        False) one entry per request from logger ``http``. Paths ending in one of
        ``exclude`` are not observed; the request id comes from ``request_id_header``."""
        logger = self.logger("http") if log_requests else None
        return RequestObserver(self.registry, logger, tuple(exclude), request_id_header)

    def wsgi_app(self, *, token: str | None = None, **options: Any) -> ObservabilityWSGIApp:
        """The same endpoints for WSGI servers and frameworks (Flask, Django, gunicorn);
        see ``ObservabilityWSGIApp`` for the limits it takes."""
        return ObservabilityWSGIApp(self, token=token, **options)

    def check_integrity(self) -> threading.Thread:
        """Run SQLite's ``quick_check`` on the file in a background thread; ``health``
        reports the result (``serve`` does this at start-up). Returns the thread."""
        return check_in_background(self._integrity, lambda: quick_check(self._database), self.path)

    def _ensure_writer(self) -> None:
        """Start a new writer if the thread died (it should not: it catches everything),
        so logging resumes; what the dead one held is counted as dropped."""
        with self._close_lock:
            if self._closed or self._writer.alive:
                return
            for _ in range(len(self._writer.abandon())):
                self.buffer.count_dropped()
            self._restarts += 1
            self._last_restart = time.monotonic()
            self.buffer.failing = False
            self._writer = self._start_writer()
        say(f"the writer of {self.path} had stopped; a new one was started")

    def asgi_app(self, *, token: str | None = None, **options: Any) -> ObservabilityApp:
        """The endpoints as a plain ASGI app: ``app.mount("/observability", engine.asgi_app())``.

        ``token`` guards every endpoint with ``Authorization: Bearer <token>``; see
        ``ObservabilityApp`` for the limits it takes.
        """
        return ObservabilityApp(self, token=token, **options)

    # -- lifecycle -------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Commit everything recorded before the call, metrics included.

        True on success; False if storage is failing (entries are kept and retried)
        or ``timeout`` seconds passed.
        """
        if self._closed:
            return True
        self._ensure_writer()
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Flush, stop the writer, mark this process exited; safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        release_logging(self)
        self.registry.remove_collector(self._buffer_families)  # a registry may outlive us
        self._writer.stop()
        if self._shipper is not None:  # after the writer: it ships what was committed
            self._shipper.stop()
        self.logs.close()
        self.metrics.close()
        self._sync.close()
        dropped, rejected = self.buffer.dropped, int(self._stats.rejected.get())
        if dropped or rejected:
            say(
                f"{dropped} log entries were dropped and {rejected} rejected in this process "
                f"(of {self.buffer.appended} recorded; {self.path})"
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _after_fork_in_child(self) -> None:
        """Start over in a forked child: empty buffer, own writer, own connections."""
        if self._closed:
            return
        _ABANDONED.extend([self._writer, self.logs, self.metrics])
        self.buffer.reset()
        self.registry.reset_after_fork()
        _ABANDONED.append(self._sync.reset_after_fork())
        self._close_lock = threading.Lock()
        self.logs = SQLiteLogStorage(
            self._database, busy_ms=self._busy_ms, segmenting=self.retention.segmenting
        )
        self.metrics = SQLiteMetricsStorage(self._database, busy_ms=self._busy_ms)
        self._writer = self._start_writer()
        self._shipper = self._start_shipper()  # the parent's thread did not come along


def _say_overflow(family: Instrument) -> None:
    say(
        f"metric {family.name!r} reached its {family.max_series} series: further label sets "
        'are counted together in one series labelled otel_metric_overflow="true" (a label '
        "fed from unbounded values? Engine(max_series=...) raises the limit)"
    )


def _after_fork_in_child() -> None:
    for engine in list(_ENGINES):
        engine._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
