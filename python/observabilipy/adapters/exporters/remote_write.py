"""Prometheus remote write 1.0 of the engine's totals: Prometheus (with
``--web.enable-remote-write-receiver``), Mimir, Thanos Receive, VictoriaMetrics.

Every ``interval`` seconds (15 by default, Prometheus's own scrape interval) one
process of those sharing the database pushes the totals across all of them, each
series stamped with the time of the push and labelled with ``job`` and ``instance``
as a scrape would label it. The body is the specification's: a protobuf
``WriteRequest``, snappy-compressed, sent with its required headers; the codecs are the
Rust extension's (prost, snap).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Final

from observabilipy.adapters.exporters.http import auth_headers, check_url, post, tls_context
from observabilipy.core.backend import native
from observabilipy.core.models import MetricFamily

HEADERS: Final = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "observabilipy",
}
RESERVED: Final = ("__name__", "job", "instance")


def needs_native(exporter: str) -> None:
    """Refuse an exporter whose codecs are in the Rust extension when it is not in use."""
    if native is None:
        raise RuntimeError(
            f"{exporter} needs the Rust extension's protobuf codecs, and the pure-Python "
            "backend is in use (OBSERVABILIPY_BACKEND=python, or the extension is not built)"
        )


class RemoteWriteExporter:
    """Pushes the engine's totals to a remote write endpoint (``.../api/v1/write``).

    ``job`` and ``instance`` label every series (default: ``observabilipy`` and the host
    name); ``labels`` are added too. ``username``/``password`` or ``bearer_token``
    authenticate; ``ca_file`` trusts another CA for https.
    """

    def __init__(
        self,
        url: str,
        *,
        interval: float = 15.0,
        job: str = "observabilipy",
        instance: str | None = None,
        labels: Mapping[str, str] | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        needs_native("RemoteWriteExporter")
        self.url = check_url(url, "RemoteWriteExporter")
        for what, value in (("interval", interval), ("timeout", timeout)):
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"RemoteWriteExporter {what} must be > 0 seconds, got {value!r}")
        self.interval, self.timeout = float(interval), float(timeout)
        extra = dict(labels or {})
        if clash := [name for name in RESERVED if name in extra]:
            raise ValueError(f"RemoteWriteExporter sets {clash[0]!r} itself: use job=/instance=")
        self.labels = {"job": job, "instance": instance or socket.gethostname(), **extra}
        self.headers = {
            **HEADERS,
            **auth_headers("RemoteWriteExporter", username, password, bearer_token),
        }
        self._context = tls_context(ca_file) if url.startswith("https:") else None
        self.name = name or f"remote_write:{url}"

    def push(self, families: list[MetricFamily]) -> None:
        post(
            self.url, self.body(families), self.headers, timeout=self.timeout, context=self._context
        )

    def body(self, families: list[MetricFamily], now: float | None = None) -> bytes:
        """The snappy-compressed ``WriteRequest`` for ``families`` at ``now``."""
        assert native is not None  # checked at construction
        stamp = int((time.time() if now is None else now) * 1000)
        extra = list(self.labels.items())
        taken = set(self.labels)
        series = [
            ([("__name__", sample), *exported(labels, taken), *extra], value, stamp)
            for family in families
            for sample, labels, value in family.samples
        ]
        metadata = [
            (f"{f.name}_total" if f.kind == "counter" else f.name, f.kind, f.help) for f in families
        ]
        body: bytes = native.encode_remote_write(series, metadata)
        return body

    def close(self) -> None:
        """Nothing held between pushes."""


def exported(labels: tuple[tuple[str, str], ...], taken: set[str]) -> tuple[tuple[str, str], ...]:
    """A series' own labels, those the exporter sets renamed ``exported_<name>``, as a
    Prometheus scrape renames them (``honor_labels: false``)."""
    if not any(name in taken for name, _ in labels):
        return labels
    return tuple((f"exported_{n}" if n in taken else n, v) for n, v in labels)
