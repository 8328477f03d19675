"""The engine's endpoints as a WSGI app (``engine.wsgi_app()``), answering as the ASGI
app does, for Flask, Django and gunicorn; and ``WSGIMiddleware`` for request metrics.

Mount the app under a prefix with werkzeug's ``DispatcherMiddleware`` (it routes on
``PATH_INFO`` below the mount's ``SCRIPT_NAME``). ``GET /logs`` streams, a bounded read
at a time; a ``follow=1`` stream holds a worker (a thread, or a sync worker) until the
client leaves or the server stops.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from observabilipy.adapters.frameworks.endpoints import (
    NDJSON,
    STORAGE_ERRORS,
    Endpoints,
    LogsRequest,
)
from observabilipy.adapters.frameworks.responses import Answer, HTTPError, error_answer
from observabilipy.adapters.storage.sqlite import CHUNK_BYTES
from observabilipy.core.context import bind
from observabilipy.core.http import (
    method_label,
)
from observabilipy.runtime.stderr import say

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
_REASONS: Final = {
    200: "OK", 204: "No Content", 308: "Permanent Redirect", 400: "Bad Request",
    401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large",
    415: "Unsupported Media Type", 503: "Service Unavailable",
}  # fmt: skip


def status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Unknown')}"


class ObservabilityWSGIApp:
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
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.engine = engine
        self.endpoints = Endpoints(engine, token, max_body, max_limit, metrics_cache, chunk_bytes)
        self.poll_interval = poll_interval
        self.keepalive = keepalive

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", ""))
        answer = self.endpoints.handle(
            path,
            method,
            environ,
            lambda: _read_body(environ, self.endpoints.max_body),
            prefix=str(environ.get("SCRIPT_NAME", "")),
        )
        if isinstance(answer, LogsRequest):
            return self._stream(answer, start_response)
        return _respond(start_response, answer, head=method == "HEAD")

    def _stream(self, request: LogsRequest, start_response: StartResponse) -> Iterator[bytes]:
        """The rows, a bounded read at a time. The status line waits for the first read,
        so a storage error before it is an honest 503; after it, the response ends
        unfinished (the server drops the connection) and the error is said on stderr."""
        started = False
        try:
            for body in self.endpoints.log_bodies(request, self.poll_interval, self.keepalive):
                if not started:
                    started = True
                    start_response("200 OK", [("Content-Type", NDJSON)])
                yield body
        except STORAGE_ERRORS as error:
            if started:
                say(f"GET /logs failed after its response started; it ends unfinished: {error!r}")
                raise
            yield from _respond(start_response, error_answer(error), head=False)
            return
        if not started:
            start_response("200 OK", [("Content-Type", NDJSON)])


def _respond(start_response: StartResponse, answer: Answer, *, head: bool) -> list[bytes]:
    headers = list(answer.headers)
    if answer.status != 204:  # no content, so no content headers
        headers[:0] = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
        ]
    start_response(status_line(answer.status), headers)
    return [b"" if head else answer.body]


def _read_body(environ: Environ, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes, with or without a length."""
    stream = environ["wsgi.input"]
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        return bytes(stream.read(int(length)))
    chunks, size = [], 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


#: Where a framework leaves the route template it matched, for WSGIMiddleware to read
#: once the response is done (``observabilipy.flask.instrument`` sets it for Flask).
ROUTE_KEY: Final = "observabilipy.route"


def environ_route(environ: Environ) -> str:
    """The route template the framework left in the environ, or empty."""
    return str(environ.get(ROUTE_KEY) or "")


class WSGIMiddleware:
    """Request metrics and one log entry per request for any WSGI app (see
    ``core.http``). The route template is what the framework left under ``ROUTE_KEY``
    in the environ (``observabilipy.flask.instrument`` does it for Flask), or what
    ``route=`` says."""

    def __init__(
        self,
        app: WSGIApp,
        /,
        *,
        engine: Engine,
        route: Callable[[Environ], str] = environ_route,
        **options: Any,
    ) -> None:
        """``options``: ``exclude``, ``request_id_header``, ``log_requests`` (see
        ``Engine.request_observer``)."""
        self.app = app
        self.observer = engine.request_observer(**options)
        self.route = route
        self._environ_key = "HTTP_" + self.observer.request_id_header.upper().replace("-", "_")

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        if not self.observer.observes(path):
            return self.app(environ, start_response)
        return _Observed(self, environ, start_response, path)


class _Observed:
    """One request's response, observed until the server closes it."""

    def __init__(
        self,
        middleware: WSGIMiddleware,
        environ: Environ,
        start_response: StartResponse,
        path: str,
    ) -> None:
        self.middleware, self.environ, self.path = middleware, environ, path
        observer = middleware.observer
        self.method = str(environ.get("REQUEST_METHOD", "GET"))
        given = environ.get(middleware._environ_key)
        self.request_id = observer.request_id([(observer.request_id_header, str(given or ""))])
        self.status = 500  # if the app fails before it answers
        self.error: BaseException | None = None
        self.active = observer.active.labels(method_label(self.method))
        self.active.inc()
        self.started = time.perf_counter()
        self.binding = bind(request_id=self.request_id)
        self.done = False

        def observed_start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            self.status = int(status.split(" ", 1)[0])
            return start_response(status, [*headers, ("X-Request-ID", self.request_id)], *exc)

        try:
            self.response = middleware.app(environ, observed_start)
        except BaseException as error:
            self.error = error
            self.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.response
        except BaseException as error:
            self.error = error
            raise

    def close(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            closing = getattr(getattr(self, "response", None), "close", None)
            if closing is not None:
                closing()
        finally:
            self.active.dec()
            self.middleware.observer.finished(
                method=self.method,
                path=self.path,
                route=self.middleware.route(self.environ),
                status=self.status,
                seconds=time.perf_counter() - self.started,
                client=str(self.environ.get("REMOTE_ADDR", "")),
                request_id=self.request_id,
                error=self.error,
            )
            # Closed from another context than the one it began in: nothing to undo here.
            with contextlib.suppress(ValueError):
                self.binding.unbind()
