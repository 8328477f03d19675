"""observabilipy: metrics and structured logs for any Python service, from day one."""

from observabilipy.adapters.storage.memory import (
    InMemoryLogStorage,
    InMemoryMetricsStorage,
    RingBufferLogStorage,
    RingBufferMetricsStorage,
)
from observabilipy.core.instruments import DEFAULT_BUCKETS, Counter, Gauge, Histogram
from observabilipy.core.levels import LEVELS, parse_level
from observabilipy.core.logger import Logger
from observabilipy.core.models import LogEntry, MetricFamily, MetricSample
from observabilipy.core.ports import LogStoragePort, MetricsStoragePort
from observabilipy.core.registry import Registry

__all__ = [
    "DEFAULT_BUCKETS",
    "LEVELS",
    "Counter",
    "Gauge",
    "Histogram",
    "InMemoryLogStorage",
    "InMemoryMetricsStorage",
    "LogEntry",
    "LogStoragePort",
    "Logger",
    "MetricFamily",
    "MetricSample",
    "MetricsStoragePort",
    "Registry",
    "RingBufferLogStorage",
    "RingBufferMetricsStorage",
    "parse_level",
]
