"""Types of the Rust extension module ``observabilipy._native``.

The encoders here match the pure-Python ones in ``observabilipy.core.encoding`` byte for
byte, errors included; ``observabilipy.encoders`` chooses between the two.
"""

from collections.abc import Iterable

from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.models import MetricFamily

__all__ = ["__version__", "encode_log_rows", "encode_openmetrics", "encode_text"]

__version__: str

def encode_text(families: Iterable[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4."""

def encode_openmetrics(families: Iterable[MetricFamily]) -> bytes:
    """OpenMetrics 1.0.0 text, ending with ``# EOF``."""

def encode_log_rows(rows: Iterable[LogRow]) -> bytes:
    """NDJSON for stored rows whose attributes are already JSON text (the SQLite path)."""
