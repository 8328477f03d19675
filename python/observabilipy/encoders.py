"""The backend in use: the Rust extension when it is built, else pure Python.

Besides the encoders, the Rust backend brings counter cells in atomics, a SQLite
extension that reads stored logs as NDJSON, and gzipped expositions encoded and
deflated in parts on several threads.

Both encode to the same bytes and raise the same errors (the tests hold them to it); the
Rust ones are several times faster. The choice is made once, at import, by
``core.backend`` (``OBSERVABILIPY_BACKEND``: ``auto``, ``rust`` or ``python``), and
recorded in ``backend`` (``"rust"`` or ``"python"``).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from observabilipy.core import backend as backend_module
from observabilipy.core.backend import load_native
from observabilipy.core.encoding import ndjson, prometheus
from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.models import MetricFamily

__all__ = [
    "backend",
    "encode_log_rows",
    "encode_openmetrics",
    "encode_openmetrics_gzip",
    "encode_text",
    "encode_text_gzip",
    "native_counter_series",
    "native_json_needs_care",
    "sqlite_extension",
]

Backend = Literal["rust", "python"]


def _gzip_level_1(data: bytes) -> bytes:
    # Level 1: exposition text is so repetitive that it comes out about as small as at
    # level 5 (29.1 vs 28.6 KB for 10k series), in under half the time.
    return gzip.compress(data, compresslevel=1, mtime=0)


def _python_text_gzip(families: Iterable[MetricFamily]) -> bytes:
    return _gzip_level_1(prometheus.encode_text(families))


def _python_openmetrics_gzip(families: Iterable[MetricFamily]) -> bytes:
    return _gzip_level_1(prometheus.encode_openmetrics(families))


@dataclass(frozen=True)
class Encoders:
    """One backend's encoders."""

    backend: Backend
    encode_text: Callable[[Iterable[MetricFamily]], bytes]
    encode_openmetrics: Callable[[Iterable[MetricFamily]], bytes]
    encode_log_rows: Callable[[Iterable[LogRow]], bytes]
    #: The shared library to load into SQLite for ``observabilipy_ndjson`` (Rust only).
    sqlite_extension: str | None = None
    #: A counter family's cells for the Rust encoder to read as it writes (Rust only;
    #: the cells themselves are chosen in ``core.cells``).
    counter_series: Callable[..., object] | None = None
    #: The two formats as one gzip member each. The compressed bytes differ between
    #: backends; what they inflate to does not.
    encode_text_gzip: Callable[[Iterable[MetricFamily]], bytes] = _python_text_gzip
    encode_openmetrics_gzip: Callable[[Iterable[MetricFamily]], bytes] = _python_openmetrics_gzip
    #: Checks a batch of entries msgspec wrote before it is stored (Rust only).
    json_needs_care: Callable[[bytes, int, int], bool] | None = None


PYTHON: Final = Encoders(
    "python", prometheus.encode_text, prometheus.encode_openmetrics, ndjson.encode_log_rows
)


def load(environ: Mapping[str, str]) -> Encoders:
    """The encoders ``environ``'s ``OBSERVABILIPY_BACKEND`` asks for (see
    ``core.backend``)."""
    native = load_native(environ)
    return PYTHON if native is None else of_native(native)


def of_native(native: Any) -> Encoders:
    """The Rust extension's encoders and cells."""
    return Encoders(
        "rust",
        native.encode_text,
        native.encode_openmetrics,
        native.encode_log_rows,
        native.__file__,
        native.CounterSeries,
        native.encode_text_gzip,
        native.encode_openmetrics_gzip,
        native.json_needs_care,
    )


_ENCODERS: Final = PYTHON if backend_module.native is None else of_native(backend_module.native)

backend: Final[Backend] = _ENCODERS.backend
"""Which encoders are in use: ``"rust"`` or ``"python"``."""

encode_text: Final = _ENCODERS.encode_text
"""Prometheus text format 0.0.4 for metric families."""

encode_openmetrics: Final = _ENCODERS.encode_openmetrics
"""OpenMetrics 1.0.0 text, ending with ``# EOF``, for metric families."""

encode_log_rows: Final = _ENCODERS.encode_log_rows
"""NDJSON for stored log rows whose attributes are already JSON text."""

encode_text_gzip: Final = _ENCODERS.encode_text_gzip
"""``encode_text`` as one gzip member (Rust: encoded and deflated in parts, in parallel)."""

encode_openmetrics_gzip: Final = _ENCODERS.encode_openmetrics_gzip
"""``encode_openmetrics`` as one gzip member."""

sqlite_extension: Final = _ENCODERS.sqlite_extension
"""The SQLite extension with ``observabilipy_ndjson`` (the Rust library), or None."""

native_counter_series: Final = _ENCODERS.counter_series
"""The Rust ``CounterSeries``: a counter family's cells for the Rust encoder, or None."""

native_json_needs_care: Final = _ENCODERS.json_needs_care
"""Whether a batch's JSON holds a wide integer, deep nesting or an oversized entry
(Rust), or None."""
