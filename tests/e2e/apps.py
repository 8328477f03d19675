"""An application as users write one, for ``granian --factory tests.e2e.apps:counting``:
its own request counter, and the observability endpoints mounted under a prefix."""

import os
from collections.abc import Callable
from typing import Any

from observabilipy import Engine

Handle = Callable[[dict], bytes]


def mounted(engine: Engine, handle: Handle) -> Any:
    """An app answering every request outside /observability with ``handle(scope)``,
    and serving the engine's app there (lifespan included)."""
    observability = engine.asgi_app(close_engine_on_shutdown=True)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await observability(scope, receive, send)
            return
        if scope["path"].startswith("/observability"):
            await observability({**scope, "root_path": "/observability"}, receive, send)
            return
        body = handle(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def counting() -> Any:
    """Counts every request outside /observability; serves the engine's app there."""
    engine = Engine(os.environ["OBSERVABILIPY_DB"])
    requests = engine.counter("app_requests_total", "Requests served", labels=["path"])

    def handle(scope: dict) -> bytes:
        requests.labels(scope["path"]).inc()
        return b"ok"

    return mounted(engine, handle)


def traced() -> Any:
    """Each request in an OpenTelemetry span, timed by a histogram whose exemplars come
    from the span on their own; answers with the request's trace id."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())
    tracer = trace.get_tracer("tests.e2e.apps")
    engine = Engine(os.environ["OBSERVABILIPY_DB"])
    seconds = engine.histogram("app_request_seconds", "Request time", buckets=[0.1, 1])

    def handle(scope: dict) -> bytes:
        with tracer.start_as_current_span("request") as span, seconds.time():
            return f"{span.get_span_context().trace_id:032x}".encode()

    return mounted(engine, handle)


def flask_app() -> Any:
    """A Flask app as users write one, instrumented in one line (``gunicorn
    'tests.e2e.apps:flask_app()'``)."""
    from flask import Flask

    from observabilipy.flask import instrument

    app = Flask(__name__)
    engine = Engine(os.environ["OBSERVABILIPY_DB"])

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    instrument(app, engine)
    return app


def fast_history() -> Any:
    """``counting`` with history written every quarter second, and a histogram timing
    each request: what the page's charts read, soon enough for a test. ``APP_SERIES``:
    a gauge with that many series; ``APP_HISTORY_INTERVAL``: seconds between snapshots."""
    interval = float(os.environ.get("APP_HISTORY_INTERVAL", "0.25"))
    engine = Engine(
        os.environ["OBSERVABILIPY_DB"], history_interval=interval, snapshot_interval=0.1
    )
    requests = engine.counter("app_requests_total", "Requests served", labels=["path"])
    seconds = engine.histogram("app_request_seconds", "Request time", buckets=[0.001, 0.01, 0.1])
    token = os.environ.get("OBSERVABILIPY_TOKEN") or None
    observability = engine.asgi_app(close_engine_on_shutdown=True, token=token)
    wide = engine.gauge("app_wide", "One series per key", labels=["key"])
    for key in range(int(os.environ.get("APP_SERIES", "0"))):
        wide.labels(key=f"k{key:05d}").set(key)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" or scope["path"].startswith("/observability"):
            await observability({**scope, "root_path": "/observability"}, receive, send)
            return
        with seconds.time():
            requests.labels(scope["path"]).inc()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def fastapi_mounted() -> Any:
    """A FastAPI app mounting the engine's app at /observability, as the README says,
    with the token from ``OBSERVABILIPY_TOKEN``."""
    from fastapi import FastAPI

    engine = Engine(os.environ["OBSERVABILIPY_DB"], history_interval=0.25, snapshot_interval=0.1)
    orders = engine.counter("shop_orders_total", "Orders placed", labels=["method"])
    app = FastAPI()

    @app.get("/order")
    def order() -> dict[str, bool]:
        orders.labels(method="card").inc()
        return {"ok": True}

    token = os.environ.get("OBSERVABILIPY_TOKEN") or None
    app.mount("/observability", engine.asgi_app(token=token, close_engine_on_shutdown=True))
    return app
