"""Request metrics and one log entry per request for Django, sync and async views."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from observabilipy.core.context import bind
from observabilipy.core.http import method_label
from observabilipy.django.engine import engine, options


def django_route(request: HttpRequest) -> str:
    """The URL pattern Django matched (``/users/<int:id>/``), empty when none did."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return "/" + route.lstrip("^") if isinstance(route, str) and route else ""


class ObservabilityMiddleware:
    """Observes every request (see ``core.http``): put it first in ``MIDDLEWARE``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        settings = options().get("middleware", {})
        self.observer = engine().request_observer(**settings)
        self._meta_key = "HTTP_" + self.observer.request_id_header.upper().replace("-", "_")
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        if not self.observer.observes(request.path):
            return self.get_response(request)
        with self._observing(request) as seen:
            seen.response = self.get_response(request)
        return seen.response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        if not self.observer.observes(request.path):
            return await get_response(request)
        with self._observing(request) as seen:
            response = seen.response = await get_response(request)
        return response

    @contextlib.contextmanager
    def _observing(self, request: HttpRequest) -> Iterator[_Seen]:
        """Observe one request around the block, which sets ``response``."""
        # From META directly: request.headers builds a mapping of every header first.
        given = request.META.get(self._meta_key) or ""
        request_id = self.observer.request_id(((self.observer.request_id_header, given),))
        active = self.observer.active.labels(method_label(request.method or "GET"))
        active.inc()
        start = time.perf_counter()
        seen = _Seen()
        with bind(request_id=request_id):
            try:
                yield seen
            except BaseException as error:
                seen.error = error
                raise
            finally:
                active.dec()
                self._record(request, seen, start, request_id)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Django turns a view's exception into a 500 before it gets here: keep it, so
        the request's entry names it. Django's own handling goes on unchanged."""
        request._observabilipy_error = exception  # type: ignore[attr-defined]

    def _record(self, request: HttpRequest, seen: _Seen, start: float, request_id: str) -> None:
        response = seen.response
        if response is not None:
            response["X-Request-ID"] = request_id
        self.observer.finished(
            method=request.method or "GET",
            path=request.path,
            route=django_route(request),
            status=response.status_code if response is not None else 500,
            seconds=time.perf_counter() - start,
            client=str(request.META.get("REMOTE_ADDR", "")),
            request_id=request_id,
            error=seen.error or getattr(request, "_observabilipy_error", None),
        )


@dataclass
class _Seen:
    response: Any = None
    error: BaseException | None = None
