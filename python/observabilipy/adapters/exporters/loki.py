"""Shipping log rows to Loki's push API (``/loki/api/v1/push``): snappy protobuf (what
Alloy's ``loki.write`` sends; the default with the Rust extension) or gzipped JSON.

Streams are keyed by a few labels only (``service_name``, ``level``, ``logger``, plus
any fixed ``labels`` given): Loki indexes labels, and a label per attribute would make
a stream per value. Attributes travel as Loki 3's structured metadata (``metadata=
"structured"``, the default; values that are not text are sent as their JSON), or the
whole ``GET /logs`` line is the log line (``metadata="line"``, for LogQL's ``| json``
and for Loki 2, which has no structured metadata).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

import orjson

from observabilipy.adapters.exporters.http import auth_headers, check_url, post, tls_context
from observabilipy.adapters.exporters.lines import nanoseconds
from observabilipy.core.backend import native
from observabilipy.core.ports import Batch

_NOT_LABEL: Final = re.compile(r"[^a-zA-Z0-9_]")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: What Loki itself calls a stream without a service.
UNKNOWN_SERVICE: Final = "unknown_service"


class LokiExporter:
    """Ships stored log rows to the Loki push API at ``url``.

    ``encoding`` is ``protobuf`` (snappy) or ``json`` (gzip); by default protobuf with
    the Rust extension, JSON without. ``service`` becomes the ``service_name`` label
    (default: ``$OTEL_SERVICE_NAME``, else ``unknown_service``); ``labels`` are added
    to every stream. ``tenant`` sets
    ``X-Scope-OrgID``; ``username``/``password`` (basic) or ``bearer_token`` authenticate;
    ``ca_file`` trusts another CA for https. ``name`` keys the cursor in the database.
    """

    def __init__(
        self,
        url: str,
        *,
        service: str | None = None,
        labels: Mapping[str, str] | None = None,
        metadata: Literal["structured", "line"] = "structured",
        encoding: Literal["protobuf", "json"] | None = None,
        tenant: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        self.url = check_url(url, "LokiExporter")
        if metadata not in ("structured", "line"):
            raise ValueError(
                f"LokiExporter metadata must be 'structured' or 'line', got {metadata!r}"
            )
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"LokiExporter timeout must be > 0 seconds, got {timeout!r}")
        encoding = encoding or ("json" if native is None else "protobuf")
        if encoding not in ("protobuf", "json"):
            raise ValueError(
                f"LokiExporter encoding must be 'protobuf' or 'json', got {encoding!r}"
            )
        if encoding == "protobuf" and native is None:
            raise RuntimeError(
                "LokiExporter encoding='protobuf' needs the Rust extension's codecs, and the "
                "pure-Python backend is in use: use encoding='json'"
            )
        self.encoding = encoding
        self.service = service or os.environ.get("OTEL_SERVICE_NAME") or UNKNOWN_SERVICE
        self.labels = {"service_name": self.service, **_check_labels(labels or {})}
        self.metadata = metadata
        self.timeout = float(timeout)
        # Loki's protobuf pushes are snappy by definition, with no Content-Encoding
        # (as Promtail and Alloy send them); JSON is gzipped and says so.
        self.headers = {
            **(
                {"Content-Type": "application/x-protobuf"}
                if encoding == "protobuf"
                else {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            ),
            **auth_headers("LokiExporter", username, password, bearer_token),
        }
        if tenant:
            self.headers["X-Scope-OrgID"] = tenant
        self._context = tls_context(ca_file) if url.startswith("https:") else None
        self.name = name or f"loki:{url}"

    def send(self, batch: Batch) -> None:
        post(
            self.url,
            self.body(batch.ndjson),
            self.headers,
            timeout=self.timeout,
            context=self._context,
        )

    def body(self, ndjson: bytes) -> bytes:
        """The push request for a batch's ``GET /logs`` lines (built by the Rust
        extension without the GIL when it is in use)."""
        if native is not None:
            labels = list(self.labels.items())
            whole_line, protobuf = self.metadata == "line", self.encoding == "protobuf"
            body: bytes = native.encode_loki_push(ndjson, labels, whole_line, protobuf)
            return body
        return python_body(ndjson, self.labels, self.metadata)

    def close(self) -> None:
        """Nothing held between batches."""


def python_body(ndjson: bytes, fixed: Mapping[str, str], metadata: str) -> bytes:
    """``LokiExporter.body`` in pure Python (the rule the Rust one keeps)."""
    streams: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
    for line in ndjson.splitlines():
        row = orjson.loads(line)
        labels = {**fixed, "level": row["level"]}
        if row["logger"]:
            labels["logger"] = row["logger"]
        value: list[Any] = [str(nanoseconds(row["timestamp"]))]
        if metadata == "line":
            value.append(line.decode())
        else:
            value.append(row["message"])
            if row["attributes"]:
                value.append(structured(row["attributes"]))
        streams.setdefault(tuple(labels.items()), []).append(value)
    push = {"streams": [{"stream": dict(key), "values": v} for key, v in streams.items()]}
    return gzip.compress(orjson.dumps(push), compresslevel=1)


def structured(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Attributes as structured metadata: names made label names, values text."""
    return {
        _metadata_name(name): value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in attributes.items()
    }


def _metadata_name(name: str) -> str:
    cleaned = _NOT_LABEL.sub("_", name)
    return cleaned if _LABEL_NAME.fullmatch(cleaned) else f"_{cleaned}"


def _check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            raise ValueError(f"LokiExporter label name {name!r} is not a valid Loki label")
        if not isinstance(value, str) or not value:
            raise ValueError(f"LokiExporter label {name!r} needs a non-empty str value")
        if name in ("level", "logger", "service_name"):
            raise ValueError(f"LokiExporter sets the {name!r} label itself")
    return dict(labels)
