"""Types of the Rust extension module ``observabilipy._native``.

The encoders here match the pure-Python ones in ``observabilipy.core.encoding`` byte for
byte, errors included; ``observabilipy.encoders`` chooses between the two. The library
is also a SQLite extension (``sqlite3_observabilipy_init``, see ``sqlite_ext.rs``).
"""

from collections.abc import Iterable, Iterator
from typing import Any, Self, final

from typing_extensions import disjoint_base

from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.models import MetricFamily

__all__ = [
    "CounterCell",
    "CounterSeries",
    "GaugeCell",
    "HistogramCell",
    "__version__",
    "counter_samples",
    "encode_log_rows",
    "encode_openmetrics",
    "encode_openmetrics_gzip",
    "encode_text",
    "encode_text_gzip",
    "gauge_samples",
    "histogram_samples",
    "json_needs_care",
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

def encode_log_rows(rows: Iterable[LogRow]) -> bytes:
    """NDJSON for stored rows whose attributes are already JSON text (the SQLite path)."""

@disjoint_base
class CounterCell:
    """A counter series' value in atomics; ``core.values.CounterValue`` subclasses it."""

    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    def inc(self, amount: float = ...) -> None:
        """Add ``amount`` (default 1); other than finite ``int``/``float`` >= 0, ``_add``."""

    def get(self) -> float:
        """The current total."""

    def _add_checked(self, amount: float) -> None: ...
    def _reset(self) -> None: ...
    def _set_refusing(self) -> None: ...
    def _add(self, amount: object) -> None:
        """Called back by ``inc`` for other amounts: the subclass converts or refuses."""

    def _refuse(self) -> None:
        """Called back on a labelled family's own cell: the subclass raises."""

@final
class CounterSeries:
    """A counter family's series left in their cells, for the encoder to read as it writes."""

    def __new__(cls, sample: str, labels: list[Any], cells: list[CounterCell]) -> Self: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[str, Any, float]]: ...
    def samples(self) -> list[tuple[str, Any, float]]:
        """The samples as ``counter_samples`` gives them (for anything but an encoder)."""

@disjoint_base
class GaugeCell:
    """A gauge series' value in an atomic; ``core.values.GaugeValue`` subclasses it."""

    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""

    def inc(self, amount: float = ...) -> None:
        """Add ``amount`` (default 1)."""

    def dec(self, amount: float = ...) -> None:
        """Subtract ``amount`` (default 1)."""

    def get(self) -> float:
        """The current value."""

    def _set_refusing(self) -> None: ...
    def _number(self, what: str, value: object) -> float:
        """Called back for values other than plain numbers: the subclass converts or
        refuses."""

    def _refuse(self) -> None:
        """Called back on a labelled family's own cell: the subclass raises."""

@disjoint_base
class HistogramCell:
    """A histogram series' counts and sum; ``core.values.HistogramValue`` subclasses it."""

    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    def observe(self, value: float) -> None:
        """Record one observation (odd values go to the subclass's ``_observation``,
        which returns their bucket and number)."""

    def _observation(self, value: object) -> tuple[int, float]:
        """Called back for odd values: the subclass returns their bucket and number."""

    def _state(self) -> tuple[list[int], float]: ...
    def _set_bounds(self, upper: list[float]) -> None: ...
    def _reset(self) -> None: ...
    def _set_refusing(self) -> None: ...
    def _is_refusing(self) -> bool: ...

def gauge_samples(
    sample: str, labels: list[Any], cells: list[GaugeCell]
) -> list[tuple[str, Any, float]]:
    """``[(sample, labels, value), ...]`` for a gauge family's label pairs and cells."""

def histogram_samples(
    name: str, labels: list[Any], bucket_labels: list[list[Any]], cells: list[HistogramCell]
) -> list[tuple[str, Any, float]]:
    """A histogram family's bucket, count and sum samples, series by series."""

def counter_samples(
    sample: str, labels: list[Any], cells: list[CounterCell]
) -> list[tuple[str, Any, float]]:
    """``[(sample, labels, value), ...]`` for a counter family's label pairs and cells."""
