"""Types of the Rust extension module ``observabilipy._native``.

The encoders here match the pure-Python ones in ``observabilipy.core.encoding`` byte for
byte, errors included; ``observabilipy.encoders`` chooses between the two. The library
is also a SQLite extension (``sqlite3_observabilipy_init``, see ``sqlite_ext.rs``).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Self, final, overload

from typing_extensions import Buffer, disjoint_base

from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.models import Exemplar, LogEntry, MetricFamily

__all__ = [
    "Changes",
    "CounterCell",
    "CounterSeries",
    "EntryBatch",
    "EntryQueue",
    "GaugeCell",
    "HistogramCell",
    "HistogramSeries",
    "LoggerCore",
    "SeriesIndex",
    "SummedSeries",
    "__version__",
    "add_floats",
    "counter_samples",
    "decode_loki_push",
    "encode_log_rows",
    "encode_loki_push",
    "encode_openmetrics",
    "encode_openmetrics_gzip",
    "encode_otlp_logs",
    "encode_otlp_metrics",
    "encode_remote_write",
    "encode_text",
    "encode_text_gzip",
    "gauge_samples",
    "histogram_samples",
    "json_needs_care",
    "mark_changed",
    "run_steps",
    "set_exemplar_source",
    "set_logger_hooks",
    "sum_gauges",
]

__version__: str

def encode_text(families: Iterable[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4."""

def encode_openmetrics(families: Iterable[MetricFamily]) -> bytes:
    """OpenMetrics 1.0.0 text, ending with ``# EOF``."""

def encode_text_gzip(families: Iterable[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4 as one gzip member, encoded and deflated in parts."""

def encode_openmetrics_gzip(families: Iterable[MetricFamily]) -> bytes:
    """OpenMetrics 1.0.0 text as one gzip member, encoded and deflated in parts."""

def json_needs_care(json: bytes, max_element: int, max_depth: int) -> bool:
    """Whether JSON text holds an integer that may lie beyond 64 bits, nests deeper than
    ``max_depth``, or is an array with an element longer than ``max_element`` bytes."""

def run_steps(
    connection: int, steps: list[str], params: dict[str, object]
) -> tuple[dict[str, Any], int, tuple[int, str] | None]:
    """Run SQL statements on the apsw connection whose ``sqlite3pointer()`` is
    ``connection``, with the GIL released once: (the first rows' columns by name, the
    statements run to their end, SQLite's error code and message for one that failed).
    Needs the SQLite extension loaded first; the caller's thread alone may use the
    connection meanwhile."""

def encode_log_rows(rows: Iterable[LogRow]) -> bytes:
    """NDJSON for stored rows whose attributes are already JSON text (the SQLite path)."""

@final
class Changes:
    """A family's change bits: its cells mark them after each update, and the text
    exposition's kept lines skip reading cells while nothing changed."""

    def __new__(cls) -> Self: ...

@final
class CounterCell:
    """A counter series' value in atomics (the protocol of ``core.cells.CounterCell``)."""

    def __new__(cls, name: str, changes: Changes | None = None) -> Self: ...
    def inc(self, amount: float = ..., exemplar: Mapping[str, str] | None = None) -> None:
        """Add ``amount`` (default 1), a finite number >= 0, with an optional exemplar."""

    def get(self) -> float:
        """The current total."""

    def exemplar(self) -> Exemplar | None:
        """The latest exemplar, or None."""

    def reset(self) -> None:
        """Back to zero, without exemplar."""

@final
class CounterSeries:
    """A counter or gauge family's series left in their cells, for the encoder to read."""

    def __new__(
        cls,
        sample: str,
        labels: list[Any],
        cells: list[CounterCell] | list[GaugeCell],
        changes: Changes | None = None,
    ) -> Self: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[str, Any, float]]: ...
    def exemplars(self) -> dict[tuple[str, Any], Exemplar]:
        """The latest exemplar of each series that has one, keyed ``(sample, labels)``."""

    def samples(self) -> list[tuple[str, Any, float]]:
        """The samples as ``counter_samples`` or ``gauge_samples`` gives them (for anything
        but an encoder)."""

@final
class GaugeCell:
    """A gauge series' value in an atomic (the protocol of ``core.cells.GaugeCell``)."""

    def __new__(cls, name: str, changes: Changes | None = None) -> Self: ...
    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""

    def inc(self, amount: float = ...) -> None:
        """Add ``amount`` (default 1)."""

    def dec(self, amount: float = ...) -> None:
        """Subtract ``amount`` (default 1)."""

    def get(self) -> float:
        """The current value."""

    def reset(self) -> None:
        """Nothing to do: a gauge is a state, not a tally, so a forked child keeps it."""

@final
class HistogramCell:
    """A histogram series' counts and sum (the protocol of ``core.cells.HistogramCell``)."""

    def __new__(cls, name: str, upper: list[float], changes: Changes | None = None) -> Self: ...
    def observe(self, value: float, exemplar: Mapping[str, str] | None = None) -> None:
        """Record one observation (a number, not NaN), with an optional exemplar."""

    def state(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last is +Inf, equal to the count) and the sum."""

    def exemplars(self) -> list[Exemplar | None]:
        """Each bucket's latest exemplar, or None."""

    def reset(self) -> None:
        """Back to empty, without exemplars."""

def gauge_samples(
    sample: str, labels: list[Any], cells: list[GaugeCell]
) -> list[tuple[str, Any, float]]:
    """``[(sample, labels, value), ...]`` for a gauge family's label pairs and cells."""

@final
class HistogramSeries:
    """A histogram family's series left in their cells, for the encoder to read as it
    writes (``name`` is the family's: its samples are ``<name>_bucket``, ``_count``,
    ``_sum``)."""

    def __new__(
        cls,
        name: str,
        labels: list[Any],
        bucket_labels: list[list[Any]],
        cells: list[HistogramCell],
        changes: Changes | None = None,
    ) -> Self: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[str, Any, float]]: ...
    def exemplars(self) -> dict[tuple[str, Any], Exemplar]:
        """The latest exemplar of each bucket that has one, keyed ``(sample, labels)``."""

    def samples(self) -> list[tuple[str, Any, float]]:
        """The samples as ``histogram_samples`` gives them (for anything but an encoder)."""

def histogram_samples(
    name: str,
    labels: list[Any],
    bucket_labels: list[list[Any]],
    cells: list[HistogramCell],
    exemplars: dict[Any, Exemplar] | None = None,
) -> list[tuple[str, Any, float]]:
    """A histogram family's bucket, count and sum samples, series by series; each
    bucket's exemplar goes into ``exemplars`` when given."""

def counter_samples(
    sample: str,
    labels: list[Any],
    cells: list[CounterCell],
    exemplars: dict[Any, Exemplar] | None = None,
) -> list[tuple[str, Any, float]]:
    """``[(sample, labels, value), ...]`` for a counter family's label pairs and cells;
    each series' exemplar goes into ``exemplars`` when given."""

def set_exemplar_source(source: Callable[[], Any] | None, interval: float = 1.0) -> None:
    """Ask ``source`` for exemplar labels when a call gives none, at most once every
    ``interval`` seconds per series; None stops."""

def encode_remote_write(
    series: list[tuple[list[tuple[str, str]], float, int]],
    metadata: list[tuple[str, str, str]],
) -> bytes:
    """A snappy-compressed remote write ``WriteRequest``: series as ``(labels, value,
    timestamp_ms)``, metadata as ``(family, kind, help)``."""

def encode_otlp_logs(
    resource: list[tuple[str, str]], ndjson: bytes, severities: Mapping[str, int]
) -> bytes:
    """An OTLP ``ExportLogsServiceRequest`` for ``GET /logs`` lines, built without the GIL."""

def encode_otlp_metrics(
    resource: list[tuple[str, str]],
    scope: str,
    start_ns: int,
    time_ns: int,
    families: list[tuple[str, str, str, list[Any]]],
) -> bytes:
    """An OTLP ``ExportMetricsServiceRequest``: families as ``(name, help, kind,
    points)``."""

def encode_loki_push(
    ndjson: bytes, labels: list[tuple[str, str]], whole_line: bool, protobuf: bool
) -> bytes:
    """Loki's push request (snappy protobuf, or gzipped JSON) for ``GET /logs`` lines,
    built without the GIL."""

def decode_loki_push(
    body: bytes, limit: int
) -> list[tuple[str, list[tuple[int, str, list[tuple[str, str]]]]]]:
    """A snappy protobuf Loki push as ``(labels text, [(nanoseconds, line, metadata)])``
    per stream; ValueError saying what is wrong."""

def mark_changed(
    now: float,
    changed: Buffer,
    before: Buffer,
    before_present: bytes,
    values: Buffer,
    present: bytes,
) -> bytes:
    """``changed`` with ``now`` wherever ``values``/``present`` differ from
    ``before``/``before_present`` (shorter arrays hold zeros past their end)."""

def sum_gauges(
    parts: list[Buffer], present: list[bytes], size: int
) -> tuple[bytes, bytes, list[int]]:
    """Each id's exactly rounded sum (as ``math.fsum``; a zero sum is +0.0) of the values
    of ``parts`` whose ``present`` is not 0 there, one byte per id (1 where any is not), and
    the ids whose sum ``fsum`` would find past the largest float (left at 0.0)."""

def add_floats(parts: list[Buffer], present: list[bytes], size: int) -> tuple[bytes, bytes]:
    """Float64 arrays added element by element, in order, padded with zeros to ``size``,
    and one byte per id: 1 where any of ``present`` (bytes of 0 or 1) has a 1."""

@final
class SeriesIndex:
    """Where each sample's value goes, remembered by the identity of its name and
    labels objects (kept alive here); valid for one catalog."""

    def __init__(self) -> None: ...
    def values(
        self, families: Iterable[MetricFamily], index: dict[tuple[str, Any], int], size: int
    ) -> tuple[bytes, bytes] | None:
        """``families``' values at their series ids, as native float64 bytes and one
        byte per id (1 where a value is); None when a sample has no id below ``size``.
        ``index`` is looked up only for label tuples and names not seen before; a
        counter or gauge family whose cells marked no change since this index last read
        them shows the values of that read, its cells unread. Arrays of the same bits as
        the last call's are those objects."""

@final
class SummedSeries:
    """A summed family's series for an encoder: names and labels from the catalog's
    lists, values from the added arrays; iterates as ``(sample, labels, value)``."""

    def __new__(
        cls, ids: bytes, names: list[str], labels: list[Any], totals: bytes, present: bytes
    ) -> Self:
        """The series of ``ids`` (native unsigned 64-bit integers, ``array('Q')``)
        that are ``present``, valued ``totals[id]`` (native float64)."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[str, Any, float]]: ...
    def samples(self) -> list[tuple[str, Any, float]]:
        """The samples as tuples (for anything but an encoder)."""

def set_logger_hooks(
    entry: Callable[..., Any],
    bound: Callable[[], Mapping[str, Any]],
    format_message: Callable[[object, tuple[Any, ...]], tuple[str, Any]],
    wall_clock: Callable[[], float],
    numbers: Mapping[str, int],
) -> None:
    """Give ``LoggerCore``'s level methods what they read from ``core`` (once)."""

@final
class EntryQueue:
    """The engine's queue of log entries, kept as the JSON the writer inserts."""

    def __new__(
        cls,
        entry: type[LogEntry],
        encode: Callable[[Any], bytes],
        decode: Callable[[bytes], LogEntry],
    ) -> Self: ...
    def __len__(self) -> int: ...
    def append(self, entry: LogEntry) -> None:
        """Add an entry at the end: written natively when it is a plain ``LogEntry``."""

    def popleft(self) -> None:
        """Drop the oldest entry (the buffer's ``drop_oldest``); ``IndexError`` when empty."""

    def clear(self) -> None: ...
    def wake_past(self, count: int, wake: Callable[[], object]) -> bool:
        """Call ``wake`` when an append takes the queue past ``count`` entries (once until
        the next take), so a logger may append up to the buffer's capacity by itself:
        True."""

    def take(self, count: int, exclusive: bool = True) -> EntryBatch:
        """Remove and return up to ``count`` entries, oldest first, as one batch.
        ``exclusive`` is the deque's (whether only the taker removes entries): unused, as
        every change here is made under the lock."""

@final
class EntryBatch(Sequence[LogEntry]):
    """Entries taken from an ``EntryQueue``: a sequence of ``LogEntry`` (read back from
    their JSON when asked for) whose ``json()`` is the batch's insert text."""

    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int, /) -> LogEntry: ...
    @overload
    def __getitem__(self, index: slice, /) -> EntryBatch | list[LogEntry]:
        """A batch of the entries in a slice of steps of 1, else a list of them."""
    def __iter__(self) -> Iterator[LogEntry]: ...
    def json(self) -> bytes:
        """The entries as the JSON array the insert reads; those kept as objects are
        encoded by msgspec now (what it raises, this raises)."""

@disjoint_base
class LoggerCore:
    """A logger's state and its level methods, subclassed by ``core.logger.Logger``."""

    _minimum: int
    _context: dict[str, Any]
    _room: int
    _sink: Callable[[Any], object]
    _lane: Any
    _clock: Callable[[], float]
    name: str
    def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
    def debug(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at debug level."""

    def info(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at info level."""

    def warning(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at warning level."""

    def error(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at error level."""

    def critical(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at critical level."""
