"""Request metrics and logs for any web framework: what every middleware shares.

Metrics follow OpenTelemetry's HTTP semantic conventions in Prometheus form:

- ``http_server_request_duration_seconds``: a histogram (buckets 0.005 ... 10 s) by
  ``http_request_method``, ``http_route`` and ``http_response_status_code``;
- ``http_server_active_requests``: a gauge of requests in flight, by method.

``http_route`` is the route template the framework matched (``/users/{id}``), never
the raw path; a request no route matched has an empty one, so they share one series.
Methods outside HTTP's own become ``_OTHER``. Paths ending in ``/metrics`` or a
health probe are not observed. Each request also records one log entry (logger
``http``) with method, path, route, status, duration, client and request id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from observabilipy.core.instruments import Gauge, Histogram
from observabilipy.core.logger import Logger
from observabilipy.core.registry import Registry

DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
#: Requests to paths ending in one of these are not observed (scrapes, probes).
DEFAULT_EXCLUDE: Final = ("/metrics", "/healthz", "/health", "/livez", "/readyz")
REQUEST_ID_HEADER: Final = "x-request-id"


def method_label(method: str) -> str:
    """The method as OpenTelemetry records it: one of HTTP's own, else ``_OTHER``."""
    upper = method.upper()
    return upper if upper in KNOWN_METHODS else "_OTHER"


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RequestObserver:
    """Instruments and a logger for requests, shared by the framework middlewares."""

    registry: Registry
    logger: Logger | None  # None: no log entry per request
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    request_id_header: str = REQUEST_ID_HEADER
    duration: Histogram = field(init=False)
    active: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.duration = self.registry.histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests",
            ["http_request_method", "http_route", "http_response_status_code"],
            DURATION_BUCKETS,
        )
        self.active = self.registry.gauge(
            "http_server_active_requests",
            "Number of HTTP server requests in flight",
            ["http_request_method"],
        )
        self.request_id_header = self.request_id_header.lower()

    def observes(self, path: str) -> bool:
        """Whether a request to ``path`` is observed (not a scrape or a probe)."""
        trimmed = path.rstrip("/") or "/"
        return not trimmed.endswith(self.exclude)

    def request_id(self, headers: Iterable[tuple[str, str]]) -> str:
        """The request's id from its header, or a new one."""
        for name, value in headers:
            if name.lower() == self.request_id_header and value:
                return value[:200]
        return new_request_id()

    def finished(
        self,
        *,
        method: str,
        path: str,
        route: str,
        status: int,
        seconds: float,
        client: str,
        request_id: str,
        error: BaseException | None = None,
    ) -> None:
        """Record one finished request: its duration in the histogram, and its entry."""
        label = method_label(method)
        self.duration.labels(label, route, str(status)).observe(seconds)
        if self.logger is None:
            return
        attributes: dict[str, Any] = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration": seconds,
            "client": client,
            "request_id": request_id,
        }
        message = f"{method} {route or path} {status}"
        if error is not None:
            attributes["error"] = f"{type(error).__name__}: {error}"
            self.logger.error(message, **attributes)
        elif status >= 500:
            self.logger.error(message, **attributes)
        else:
            self.logger.info(message, **attributes)
