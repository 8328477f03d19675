"""OTLP/HTTP with protobuf bodies, to an OpenTelemetry Collector (or any OTLP receiver):
log rows to ``<endpoint>/v1/logs``, metric totals to ``<endpoint>/v1/metrics``, as the
OpenTelemetry SDK's two exporters split them.

Log rows keep their time (0, OTLP's "unknown", before 1970), level (as severity number
and text), message (the body), logger (the instrumentation scope) and attributes
(typed, nested ones included).
Totals are cumulative from when the exporter was made: counters as monotonic sums,
gauges, histograms with explicit bounds, summaries as count and sum. The codecs are
the Rust extension's (prost, generated from OpenTelemetry's own .proto files).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, Final, TypedDict, Unpack

from observabilipy.adapters.exporters.http import auth_headers, check_url, post, tls_context
from observabilipy.adapters.exporters.remote_write import needs_native
from observabilipy.core.backend import native
from observabilipy.core.levels import OTEL_SEVERITY
from observabilipy.core.models import MetricFamily
from observabilipy.core.ports import Batch

DEFAULT_ENDPOINT: Final = "http://localhost:4318"
SCOPE: Final = "observabilipy"
Labels = tuple[tuple[str, str], ...]


class OtlpOptions(TypedDict, total=False):
    """What both OTLP exporters take besides the endpoint."""

    service: str | None
    resource: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    bearer_token: str | None
    ca_file: str | None
    timeout: float
    name: str | None


class _Otlp:
    """What both OTLP exporters share: the endpoint, headers, resource, TLS.

    ``endpoint`` defaults to ``$OTEL_EXPORTER_OTLP_ENDPOINT``, else
    ``http://localhost:4318``; ``service`` is the resource's ``service.name`` (default
    ``$OTEL_SERVICE_NAME``); ``resource`` adds attributes; ``headers`` and
    ``bearer_token`` authenticate; ``ca_file`` trusts another CA for https.
    """

    signal = ""

    def __init__(self, endpoint: str | None = None, **options: Unpack[OtlpOptions]) -> None:
        kind = type(self).__name__
        needs_native(kind)
        base = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT
        self.url = check_url(f"{base.rstrip('/')}/v1/{self.signal}", kind)
        timeout = options.get("timeout", 10.0)
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"{kind} timeout must be > 0 seconds, got {timeout!r}")
        self.timeout = float(timeout)
        service = options.get("service") or os.environ.get("OTEL_SERVICE_NAME")
        self.resource = {"service.name": service or "unknown_service"}
        self.resource.update(options.get("resource") or {})
        self.headers = {
            "Content-Type": "application/x-protobuf",
            **(options.get("headers") or {}),
            **auth_headers(kind, bearer_token=options.get("bearer_token")),
        }
        ca_file = options.get("ca_file")
        self._context = tls_context(ca_file) if self.url.startswith("https:") else None
        self.name = options.get("name") or f"otlp:{self.url}"

    def _post(self, body: bytes) -> None:
        post(self.url, body, self.headers, timeout=self.timeout, context=self._context)

    def close(self) -> None:
        """Nothing held between requests."""


class OtlpLogExporter(_Otlp):
    """Ships stored log rows to ``<endpoint>/v1/logs`` (options: see ``_Otlp``)."""

    signal = "logs"

    def send(self, batch: Batch) -> None:
        self._post(self.body(batch.ndjson))

    def body(self, ndjson: bytes) -> bytes:
        """The ``ExportLogsServiceRequest`` for a batch's ``GET /logs`` lines (built by
        the Rust extension without the GIL)."""
        assert native is not None  # checked at construction
        resource = list(self.resource.items())
        body: bytes = native.encode_otlp_logs(resource, ndjson, OTEL_SEVERITY)
        return body


class OtlpMetricExporter(_Otlp):
    """Pushes the engine's totals to ``<endpoint>/v1/metrics`` every ``interval``
    seconds (15 by default), from one process of those sharing the database (options:
    see ``_Otlp``)."""

    signal = "metrics"

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        interval: float = 15.0,
        **options: Unpack[OtlpOptions],
    ) -> None:
        super().__init__(endpoint, **options)
        if not isinstance(interval, int | float) or not interval > 0:
            raise ValueError(f"OtlpMetricExporter interval must be > 0 seconds, got {interval!r}")
        self.interval = float(interval)
        self.start_ns = time.time_ns()  # cumulative points count from here

    def push(self, families: list[MetricFamily]) -> None:
        self._post(self.body(families))

    def body(self, families: list[MetricFamily], now_ns: int | None = None) -> bytes:
        """The ``ExportMetricsServiceRequest`` for ``families``."""
        assert native is not None  # checked at construction
        points = [(f.name, f.help, f.kind, otlp_points(f)) for f in families]
        now = time.time_ns() if now_ns is None else now_ns
        resource = list(self.resource.items())
        body: bytes = native.encode_otlp_metrics(resource, SCOPE, self.start_ns, now, points)
        return body


def otlp_points(family: MetricFamily) -> list[Any]:
    """A family's samples as OTLP points: ``(labels, value)`` for counters and gauges,
    ``(labels, count, sum, bounds, per-bucket counts)`` for histograms, ``(labels,
    count, sum)`` for summaries."""
    if family.kind in ("counter", "gauge"):
        return [(list(labels), value) for _, labels, value in family.samples]
    series: dict[Labels, dict[str, Any]] = {}
    for sample, labels, value in family.samples:
        suffix = sample[len(family.name) :]
        if suffix == "_bucket":
            le = next(v for k, v in labels if k == "le")
            own = tuple(pair for pair in labels if pair[0] != "le")
            series.setdefault(own, {}).setdefault("buckets", []).append((float(le), value))
        else:
            series.setdefault(labels, {})[suffix] = value
    points: list[Any] = []
    for labels, parts in series.items():
        count, total = int(parts.get("_count", 0)), float(parts.get("_sum", 0.0))
        if family.kind == "summary":
            points.append((list(labels), count, total))
            continue
        cumulative = sorted(parts.get("buckets", []))
        bounds = [bound for bound, _ in cumulative if bound != float("inf")]
        counts, before = [], 0.0
        for _, running in cumulative:
            counts.append(int(running - before))
            before = running
        points.append((list(labels), count, total, bounds, counts))
    return points
