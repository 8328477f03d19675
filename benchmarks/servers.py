"""ASGI apps for the server benchmarks, started under Granian by ``test_bench_server``.

``granian --interface asgi --factory benchmarks.servers:<name>``: the ``/metrics``
factories build 10,000 labelled counter series, ours in an in-memory Engine, the anchors
in a prometheus_client registry: served by its own ``make_asgi_app`` (gzip at
``gzip.compress``'s default level 9, what its users get), and by a minimal ASGI app
gzipping ``generate_latest`` at level 1, the level of our zlib-rs encoder. The
``/logs`` factories serve a file of stored entries: ours, and a raw stream of the
same NDJSON bytes read once at start (the ceiling: Granian moving bytes, no query).
"""

import gzip
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import prometheus_client

from observabilipy import Engine

SERIES = 10_000
_keep: list[Any] = []  # the engine must outlive the factory call


def _paths() -> list[tuple[str, str]]:
    return [
        (f"/api/items/{i // 5}", ("200", "201", "404", "500", "503")[i % 5]) for i in range(SERIES)
    ]


def _our_app(**options: Any) -> Any:
    return _our_series(**options)[0]


def _our_series(**options: Any) -> tuple[Any, Any]:
    engine = Engine(max_series=SERIES)  # past the default limit of 2,000 a family
    counter = engine.counter("http_requests_total", "Requests", labels=["path", "code"])
    for path, code in _paths():
        counter.labels(path, code).inc()
    _keep.append(engine)
    return engine.asgi_app(**options), counter


def ours() -> Any:
    """observabilipy's app, rendering every scrape."""
    return _our_app()


def ours_cached() -> Any:
    """observabilipy's app reusing a rendering for one second."""
    return _our_app(metrics_cache=1.0)


def _prometheus_registry() -> Any:
    return _prometheus_series()[0]


def _prometheus_series() -> tuple[Any, Any]:
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "http_requests", "Requests", ["path", "code"], registry=registry
    )
    for path, code in _paths():
        counter.labels(path, code).inc()
    return registry, counter


def prometheus_client_app() -> Any:
    """prometheus_client's own ASGI app over the same series, without _created."""
    return prometheus_client.make_asgi_app(_prometheus_registry())


Scope = MutableMapping[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def prometheus_client_level1_app() -> Any:
    """``generate_latest`` over the same series, gzipped at level 1 like ours."""
    return _level1_app(_prometheus_registry())


def _level1_app(registry: Any) -> Any:
    async def app(scope: Scope, receive: Any, send: Send) -> None:
        body = prometheus_client.generate_latest(registry)
        headers = [(b"content-type", prometheus_client.CONTENT_TYPE_LATEST.encode())]
        if b"gzip" in dict(scope["headers"]).get(b"accept-encoding", b""):
            body = gzip.compress(body, compresslevel=1)
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


#: Series incremented before each scrape by the ``_changing`` apps: every tenth one,
#: a different tenth each time, so every part of the exposition changes.
CHANGED_SHARE = 10


def _changing(app: Any, counter: Any) -> Any:
    """``app`` with a tenth of the series incremented before each ``/metrics`` answer:
    what a busy service's scrapes see. The same increments on both sides, inside the
    timed request."""
    paths = _paths()
    turns = [0]

    async def changing(scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            for path, code in paths[turns[0] % CHANGED_SHARE :: CHANGED_SHARE]:
                counter.labels(path, code).inc()
            turns[0] += 1
        await app(scope, receive, send)

    return changing


def ours_changing() -> Any:
    """observabilipy's app, a tenth of its series changing between scrapes."""
    return _changing(*_our_series())


def prometheus_client_level1_changing() -> Any:
    """The level-1 anchor, the same tenth of its series changing between scrapes."""
    registry, counter = _prometheus_series()
    return _changing(_level1_app(registry), counter)


def logs_app() -> Any:
    """The app over a file of stored entries (its path in OBSERVABILIPY_BENCH_DB)."""
    engine = Engine(os.environ["OBSERVABILIPY_BENCH_DB"])
    _keep.append(engine)
    return engine.asgi_app(max_body=64 * 1024 * 1024)


def raw_logs_app() -> Any:
    """The ceiling: ``GET /logs`` answered with the NDJSON ours sends for
    ``limit=$OBSERVABILIPY_BENCH_ROWS``, read once at start and streamed in the same
    512 KiB chunks."""
    rows = int(os.environ["OBSERVABILIPY_BENCH_ROWS"])
    chunks: list[bytes] = []
    with Engine(os.environ["OBSERVABILIPY_BENCH_DB"]) as engine:
        after = 0
        while after < rows:
            chunk = engine.read_ndjson(after=after, limit=rows - after)
            if not chunk.rows:
                break
            chunks.append(chunk.body)
            after = chunk.cursor or after + chunk.rows
    headers = [(b"content-type", b"application/x-ndjson")]

    async def app(scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for body in chunks if scope["path"] == "/logs" else []:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app
