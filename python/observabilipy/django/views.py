"""The endpoints as one Django view, answering as the ASGI and WSGI apps do."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from observabilipy.adapters.frameworks.endpoints import NDJSON, Endpoints, LogsRequest
from observabilipy.adapters.frameworks.responses import Answer, HTTPError
from observabilipy.django.engine import engine, options

_endpoints: Endpoints | None = None


def _get() -> Endpoints:
    global _endpoints
    current = engine()
    if _endpoints is None or _endpoints.engine is not current:
        _endpoints = Endpoints(current, token=options().get("token"))
    return _endpoints


@csrf_exempt  # pushes come from shippers, not browsers with a form
def endpoint(request: HttpRequest, name: str) -> HttpResponse | StreamingHttpResponse:
    endpoints = _get()
    method = request.method or "GET"

    def read_body() -> bytes:
        body = request.read(endpoints.max_body + 1)
        if len(body) > endpoints.max_body:
            raise HTTPError(413, f"body is over the {endpoints.max_body}-byte limit")
        return body

    answer = endpoints.handle("/" + name, method, request.META, read_body)
    if isinstance(answer, LogsRequest):
        bodies = endpoints.log_bodies(answer, 0.25, 15.0)
        return StreamingHttpResponse(bodies, content_type=NDJSON)
    return _response(answer, head=method == "HEAD")


def page_file(request: HttpRequest, asset: str) -> HttpResponse | StreamingHttpResponse:
    """One of the page's files (``static/<asset>``)."""
    return endpoint(request, "static/" + asset)


def _response(answer: Answer, *, head: bool) -> HttpResponse:
    response = HttpResponse(
        b"" if head else answer.body, status=answer.status, content_type=answer.content_type
    )
    for name, value in answer.headers:
        response[name] = value
    return response
