"""The engine's endpoints as a plain ASGI 3 app: mount it anywhere, or serve it alone.

Blocking work (SQLite, encoding) runs in worker threads so the event loop keeps
serving, except /metrics renders quick enough to cost less than the hop; long log
responses go out in chunks, so memory stays flat whatever their size. The ASGI
plumbing (headers, bodies, disconnects, signals) is in ``asgi_http``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import apsw
import msgspec

from observabilipy.adapters.frameworks.asgi_http import (
    HTTPError,
    Receive,
    Scope,
    Send,
    accepts_gzip,
    also_on_stop_signals,
    gunzip,
    header,
    read_body,
    respond,
)
from observabilipy.adapters.frameworks.asgi_logs import LAST_ID, Request, Streamer
from observabilipy.adapters.storage.sqlite import CHUNK_BYTES
from observabilipy.adapters.storage.sqlite_schema import StorageError
from observabilipy.core.encoding.negotiate import negotiate
from observabilipy.core.ingest import InputError, iter_ndjson, parse_loki_push, parse_when
from observabilipy.core.levels import parse_level
from observabilipy.core.loki_protobuf import parse_push_protobuf
from observabilipy.core.models import LogEntry
from observabilipy.encoders import (
    encode_openmetrics,
    encode_openmetrics_gzip,
    encode_text,
    encode_text_gzip,
)

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine

JSON: Final = b"application/json"
# Handing a render to a thread and back costs about 0.4 ms, a fifth of a 10k-series
# scrape. A render that took less than this last time runs on the event loop, as
# prometheus_client's app always renders; slower ones (large registries), and any that
# may wait on the file (an engine other processes can share), run on a thread, so
# /logs is served meanwhile.
INLINE_RENDER: Final = 0.005
QUERY_PARAMETERS: Final = frozenset(
    {"after", "limit", "since", "until", "level", "logger", "follow"}
)
ROUTES: Final = {
    "/metrics": ("GET", "HEAD"),
    "/logs": ("GET", "POST"),
    "/loki/api/v1/push": ("POST",),
    "/healthz": ("GET", "HEAD"),
}


class ObservabilityApp:
    """GET /metrics, GET and POST /logs, POST /loki/api/v1/push, GET /healthz."""

    def __init__(
        self,
        engine: Engine,
        *,
        token: str | None = None,
        max_body: int = 16 * 1024 * 1024,
        max_limit: int = 100_000,
        poll_interval: float = 0.25,
        keepalive: float = 15.0,
        metrics_cache: float = 0.0,
        close_engine_on_shutdown: bool = False,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.engine = engine
        self.token = token
        self.max_body = max_body
        self.max_limit = max_limit
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        # Seconds a rendered /metrics body may be served again; 0 renders every scrape.
        # Scrapers poll every few seconds, so a second's reuse costs them nothing.
        self.metrics_cache = metrics_cache
        self._rendered: dict[tuple[str, bool], tuple[float, bytes]] = {}
        self._render_took = float("inf")  # seconds, the last render; unknown at first
        self.close_engine_on_shutdown = close_engine_on_shutdown
        self._stopping = asyncio.Event()  # the server was told to stop: end follow streams
        self._streamer = Streamer(engine, self._stopping, poll_interval, keepalive, chunk_bytes)
        # Parsing bodies has threads of its own: eight large POSTs cannot take every
        # thread that reads /logs or renders /metrics.
        self._ingest_threads = ThreadPoolExecutor(2, thread_name_prefix="observabilipy-ingest")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                also_on_stop_signals(asyncio.get_running_loop(), self._stopping.set)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.close_engine_on_shutdown:
                    await asyncio.to_thread(self.engine.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        path = path.rstrip("/") or "/"
        try:
            allowed = ROUTES.get(path)
            if allowed is None:
                raise HTTPError(404, f"no such endpoint: {scope['path']}")
            if self.token is not None and not self._authorized(scope):
                raise HTTPError(401, "a valid 'Authorization: Bearer <token>' header is required")
            method = scope["method"]
            if method not in allowed:
                raise HTTPError(405, f"{method} is not allowed on {path}", allow=list(allowed))
            if path == "/metrics":
                await self._metrics(scope, send)
            elif path == "/healthz":
                await self._health(scope, send)
            elif method == "GET":
                await self._read_logs(scope, receive, send)
            else:
                await self._ingest(scope, receive, send, loki=path != "/logs")
        except (apsw.Error, StorageError) as error:  # the storage, not the request: retry
            body = msgspec.json.encode({"error": f"storage unavailable: {error}"})
            await respond(send, 503, body, JSON, [(b"retry-after", b"1")])
        except HTTPError as error:
            headers = []
            if "allow" in error.extra:
                headers.append((b"allow", ", ".join(error.extra.pop("allow")).encode()))
            if error.status == 401:
                headers.append((b"www-authenticate", b"Bearer"))
            body = msgspec.json.encode({"error": error.message, **error.extra})
            await respond(send, error.status, body, JSON, headers)

    def _authorized(self, scope: Scope) -> bool:
        # Compared as bytes: the header's own, and the token's UTF-8 (any text works).
        given = (header(scope, b"authorization") or "").encode("latin-1")
        return hmac.compare_digest(given, b"Bearer " + str(self.token).encode())

    # -- endpoints -------------------------------------------------------------------
    async def _metrics(self, scope: Scope, send: Send) -> None:
        fmt, content_type = negotiate(header(scope, b"accept"))
        zipped = accepts_gzip(header(scope, b"accept-encoding"))
        key = (fmt, zipped)
        cached = self._rendered.get(key)
        if cached is not None and cached[0] > time.monotonic():
            body = cached[1]
        else:
            if self._render_took < INLINE_RENDER and not self.engine.collect_waits:
                body = self._render(fmt, zipped)
            else:
                body = await asyncio.to_thread(self._render, fmt, zipped)
            if self.metrics_cache > 0:
                self._rendered[key] = (time.monotonic() + self.metrics_cache, body)
        headers = [(b"vary", b"accept, accept-encoding")]
        if zipped:
            headers.append((b"content-encoding", b"gzip"))
        if scope["method"] == "HEAD":
            body = b""
        await respond(send, 200, body, content_type.encode(), headers)

    def _render(self, fmt: str, zipped: bool) -> bytes:
        if fmt == "openmetrics":
            encode = encode_openmetrics_gzip if zipped else encode_openmetrics
        else:
            encode = encode_text_gzip if zipped else encode_text
        started = time.perf_counter()
        try:
            return encode(self.engine.collect(exposition=True))
        finally:
            self._render_took = time.perf_counter() - started

    async def _health(self, scope: Scope, send: Send) -> None:
        state = await asyncio.to_thread(self.engine.health)
        body = b"" if scope["method"] == "HEAD" else msgspec.json.encode(state)
        await respond(send, 200 if state["status"] == "ok" else 503, body, JSON)

    def _query(self, scope: Scope) -> dict[str, Any]:
        raw = scope.get("query_string", b"").decode("latin-1")
        params = dict(parse_qsl(raw, keep_blank_values=True))  # a repeated key: the last wins
        unknown = sorted(params.keys() - QUERY_PARAMETERS)
        if unknown:
            raise HTTPError(
                400,
                f"unknown query parameter {unknown[0]!r}: GET /logs takes "
                f"{', '.join(sorted(QUERY_PARAMETERS))}",
            )
        out: dict[str, Any] = {}
        now = time.time()
        try:
            if "after" in params:
                out["after"] = _int(params["after"], "after", 0, LAST_ID)
            if "limit" in params:
                out["limit"] = _int(params["limit"], "limit", 1, None)
                if out["limit"] > self.max_limit:
                    raise InputError(f"limit must be at most {self.max_limit}, got {out['limit']}")
            for name in ("since", "until"):
                if name in params:
                    try:
                        out[name] = parse_when(params[name], now)
                    except InputError as error:
                        raise InputError(f"{name}: {error}") from None
            if "level" in params:
                out["level"] = parse_level(params["level"])
            if "logger" in params:
                out["logger"] = params["logger"]
            follow = params.get("follow", "0").lower()
            if follow not in ("0", "1", "true", "false", ""):
                raise InputError(f"follow must be 1 or 0, got {params['follow']!r}")
            out["follow"] = follow in ("1", "true")
        except (InputError, ValueError) as error:
            raise HTTPError(400, str(error)) from None
        return out

    async def _read_logs(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = self._query(scope)
        request = Request(
            filters=query,
            cursor=query.pop("after", None),
            limit=query.pop("limit", None),
            follow=query.pop("follow"),
        )
        await self._streamer.stream(request, receive, send)

    async def _ingest(self, scope: Scope, receive: Receive, send: Send, *, loki: bool) -> None:
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise HTTPError(413, f"body of {declared} bytes is over the {self.max_body}-byte limit")
        encoding = (header(scope, b"content-encoding") or "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise HTTPError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or none")
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        body = await read_body(receive, self.max_body)

        def store() -> tuple[int, int]:
            """Inflate, parse and store on an ingest thread: nothing of it on the loop,
            and parsing overlaps the writer's inserts."""
            data = gunzip(body, self.max_body) if encoding == "gzip" else body
            if not loki:
                batches: Iterable[list[LogEntry]] = iter_ndjson(data, time.time())
            elif content_type == "application/x-protobuf":  # Alloy's loki.write, Promtail
                batches = _later(parse_push_protobuf, data, self.max_body)
            else:
                batches = _later(parse_loki_push, data)
            return self.engine.ingest(batches)

        try:
            loop = asyncio.get_running_loop()
            stored, rejected = await loop.run_in_executor(self._ingest_threads, store)
        except InputError as error:
            extra = {} if error.line is None else {"line": error.line}
            raise HTTPError(400, str(error), **extra) from None
        if loki:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        answer: dict[str, int] = {"accepted": stored}
        if rejected:
            answer["rejected"] = rejected
        await respond(send, 200, msgspec.json.encode(answer), JSON)


def _later(parse: Callable[..., list[LogEntry]], *args: Any) -> Iterator[list[LogEntry]]:
    """A parser's result as one batch, produced when the writer asks for it."""
    yield parse(*args)


def _int(text: str, name: str, minimum: int, maximum: int | None) -> int:
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        value = int(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        raise InputError(f"{name} must be an integer, got {shown!r}")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum}, got {value}")
    return value
