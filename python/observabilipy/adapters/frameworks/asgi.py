"""The engine's endpoints as a plain ASGI 3 app: mount it anywhere, or serve it alone.

Blocking work (SQLite, encoding) runs in worker threads so the event loop keeps
serving, except /metrics renders quick enough to cost less than the hop; long log
responses go out in chunks, so memory stays flat whatever their size. The ASGI
plumbing (headers, bodies, disconnects, signals) is in ``asgi_http``.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from observabilipy.adapters.frameworks.asgi_http import (
    Receive,
    Scope,
    Send,
    also_on_stop_signals,
    header,
    read_body,
    respond,
)
from observabilipy.adapters.frameworks.asgi_logs import Streamer
from observabilipy.adapters.frameworks.endpoints import READS, STORAGE_ERRORS, Endpoints
from observabilipy.adapters.frameworks.responses import Answer, HTTPError, error_answer
from observabilipy.adapters.storage.sqlite import CHUNK_BYTES

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine

# Handing a render to a thread and back costs about 0.4 ms, a fifth of a 10k-series
# scrape. A render that took less than this last time runs on the event loop, as
# prometheus_client's app always renders; slower ones (large registries), and any that
# may wait on the file (an engine other processes can share), run on a thread, so
# /logs is served meanwhile.
INLINE_RENDER: Final = 0.005


class ObservabilityApp:
    """GET /metrics, GET and POST /logs, POST /loki/api/v1/push, GET /healthz, the page
    (GET /) and its JSON reads (GET /api/v1/names, GET /api/v1/series)."""

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
        self.endpoints = Endpoints(engine, token, max_body, max_limit, metrics_cache, chunk_bytes)
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
        method = scope["method"]
        endpoints = self.endpoints
        try:
            authorization = (header(scope, b"authorization") or "").encode("latin-1")
            endpoint = endpoints.route(path, method, authorization)
            if endpoint in READS:
                answer = await self._read(scope, endpoint, path, root)
            elif endpoint == "/logs" and method == "GET":
                request = endpoints.logs_request(scope.get("query_string", b"").decode("latin-1"))
                await self._streamer.stream(request, receive, send)
                return
            elif endpoint == "/metrics":
                answer = await self._metrics(scope)
            elif endpoint == "/healthz":
                answer = await asyncio.to_thread(endpoints.health)
            else:
                answer = await self._ingest(scope, receive, loki=endpoint != "/logs")
        except (HTTPError, *STORAGE_ERRORS) as error:
            answer = error_answer(error)
        body = b"" if method == "HEAD" else answer.body
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        await respond(send, answer.status, body, answer.content_type.encode(), headers)

    async def _read(self, scope: Scope, endpoint: str, path: str, root: str) -> Answer:
        query = scope.get("query_string", b"").decode("latin-1")
        args = (endpoint, path, root, query, header(scope, b"accept-encoding"))
        if endpoint.startswith("/api/"):  # reads the file: on a thread
            return await asyncio.to_thread(self.endpoints.read, *args)
        return self.endpoints.read(*args)  # the page's files, gzipped once, in memory

    async def _metrics(self, scope: Scope) -> Answer:
        accept, encoding = header(scope, b"accept"), header(scope, b"accept-encoding")
        cached = self.endpoints.cached_metrics(accept, encoding)
        if cached is not None:
            return cached
        if self.endpoints.render_took < INLINE_RENDER and not self.engine.collect_waits:
            return self.endpoints.metrics(accept, encoding)
        return await asyncio.to_thread(self.endpoints.metrics, accept, encoding)

    async def _ingest(self, scope: Scope, receive: Receive, *, loki: bool) -> Answer:
        endpoints = self.endpoints
        encoding = endpoints.check_upload(
            header(scope, b"content-length"), header(scope, b"content-encoding")
        )
        content_type = header(scope, b"content-type")
        body = await read_body(receive, endpoints.max_body)
        # Inflating, parsing and storing run on an ingest thread: nothing of it on the
        # loop, and parsing overlaps the writer's inserts.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._ingest_threads, lambda: endpoints.ingest(body, encoding, content_type, loki=loki)
        )
