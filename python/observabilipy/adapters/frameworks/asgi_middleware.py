"""Request metrics and logs for any ASGI app: ``app.add_middleware(obs.ASGIMiddleware,
engine=engine)`` in FastAPI or Starlette, or ``ASGIMiddleware(app, engine=engine)``.

The route template comes from Starlette's router (``scope["route"]``, through every
mount); for other frameworks pass ``route=`` a function of the scope. The request's id
(from ``X-Request-ID``, else a new one) is echoed in the response and bound to every
log entry written while the request runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from observabilipy.adapters.frameworks.asgi_http import Message, Receive, Scope, Send
from observabilipy.core.context import bind
from observabilipy.core.http import (
    method_label,
)

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine

ASGIApp = Callable[[Scope, Receive, Send], Any]


def starlette_route(scope: Scope, base_root: str) -> str:
    """The template Starlette's router matched, with the prefixes of the mounts it went
    through (each adds to ``root_path``); empty when no route matched."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return ""
    return str(scope.get("root_path", ""))[len(base_root) :] + template


class ASGIMiddleware:
    """Observes every HTTP request through ``app`` (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        /,
        *,
        engine: Engine,
        route: Callable[[Scope, str], str] = starlette_route,
        **options: Any,
    ) -> None:
        """``options``: ``exclude``, ``request_id_header``, ``log_requests`` (see
        ``Engine.request_observer``)."""
        self.app = app
        self.observer = engine.request_observer(**options)
        self.route = route
        self._header = self.observer.request_id_header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        base_root = str(scope.get("root_path", ""))
        path = str(scope.get("path", ""))
        if not self.observer.observes(path):
            await self.app(scope, receive, send)
            return
        observer = self.observer
        method = str(scope.get("method", "GET"))
        request_id = observer.request_id(
            (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
            for k, v in scope.get("headers", ())
        )
        status = 500  # if the app fails before it answers
        header = (self._header, request_id.encode("latin-1", "replace"))

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        active = observer.active.labels(method_label(method))
        active.inc()
        start = time.perf_counter()
        error: BaseException | None = None
        with bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_observed)
            except BaseException as raised:
                error = raised
                raise
            finally:
                active.dec()
                client = scope.get("client") or ("", 0)
                observer.finished(
                    method=method,
                    path=path,
                    route=self.route(scope, base_root),
                    status=status,
                    seconds=time.perf_counter() - start,
                    client=str(client[0]),
                    request_id=request_id,
                    error=error,
                )
