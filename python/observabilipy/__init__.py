"""observabilipy: metrics and structured logs for any Python service, from day one."""

# First: refuses to import on a free-threaded Python with the GIL off (see _gil).
import observabilipy._gil  # noqa: F401 (imported for its check)
from observabilipy.adapters.exporters.loki import LokiExporter
from observabilipy.adapters.exporters.ndjson_file import FileExporter
from observabilipy.adapters.exporters.otlp import OtlpLogExporter, OtlpMetricExporter
from observabilipy.adapters.exporters.remote_write import RemoteWriteExporter
from observabilipy.adapters.frameworks.asgi_middleware import ASGIMiddleware
from observabilipy.adapters.frameworks.wsgi import WSGIMiddleware
from observabilipy.adapters.logging import LoggingHandler, StructlogProcessor
from observabilipy.adapters.opentelemetry import install_if_importable
from observabilipy.adapters.storage.memory import (
    InMemoryLogStorage,
    InMemoryMetricsStorage,
    RingBufferLogStorage,
    RingBufferMetricsStorage,
)
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage
from observabilipy.adapters.storage.sqlite_metrics import SQLiteMetricsStorage
from observabilipy.adapters.storage.sqlite_schema import StorageError
from observabilipy.core.context import bind, bound
from observabilipy.core.exemplars import set_source as set_exemplar_source
from observabilipy.core.instruments import DEFAULT_BUCKETS, Counter, Gauge, Histogram
from observabilipy.core.levels import LEVELS, parse_level
from observabilipy.core.logger import Logger
from observabilipy.core.models import LogEntry, LogRecord, MetricFamily, MetricSample
from observabilipy.core.ports import (
    Batch,
    Exporter,
    LogStoragePort,
    MetricsExporter,
    MetricsStoragePort,
    Rejected,
    RetryLater,
)
from observabilipy.core.registry import Registry
from observabilipy.core.states import Enum, Info
from observabilipy.core.summary import Summary
from observabilipy.encoders import backend
from observabilipy.runtime.default import (
    REGISTRY,
    configure,
    counter,
    default_engine,
    enum,
    gauge,
    get_logger,
    histogram,
    info,
    summary,
)
from observabilipy.runtime.engine import Engine
from observabilipy.runtime.outbox import Shipping
from observabilipy.runtime.retention import Retention

# Exemplars from the active OpenTelemetry span when opentelemetry-api is importable.
install_if_importable()

__all__ = [
    "DEFAULT_BUCKETS",
    "LEVELS",
    "REGISTRY",
    "ASGIMiddleware",
    "Batch",
    "Counter",
    "Engine",
    "Enum",
    "Exporter",
    "FileExporter",
    "Gauge",
    "Histogram",
    "InMemoryLogStorage",
    "InMemoryMetricsStorage",
    "Info",
    "LogEntry",
    "LogRecord",
    "LogStoragePort",
    "Logger",
    "LoggingHandler",
    "LokiExporter",
    "MetricFamily",
    "MetricSample",
    "MetricsExporter",
    "MetricsStoragePort",
    "OtlpLogExporter",
    "OtlpMetricExporter",
    "Registry",
    "Rejected",
    "RemoteWriteExporter",
    "Retention",
    "RetryLater",
    "RingBufferLogStorage",
    "RingBufferMetricsStorage",
    "SQLiteLogStorage",
    "SQLiteMetricsStorage",
    "Shipping",
    "StorageError",
    "StructlogProcessor",
    "Summary",
    "WSGIMiddleware",
    "backend",
    "bind",
    "bound",
    "configure",
    "counter",
    "default_engine",
    "enum",
    "gauge",
    "get_logger",
    "histogram",
    "info",
    "parse_level",
    "set_exemplar_source",
    "summary",
]
