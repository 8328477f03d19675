"""ASGI apps for the server benchmarks, started under Granian by ``test_bench_server``.

``granian --interface asgi --factory benchmarks.servers:<name>``: each factory builds
10,000 labelled counter series, ours in an in-memory Engine, the anchor in a
prometheus_client registry served by its own ``make_asgi_app``.
"""

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
    engine = Engine(max_series=SERIES)  # past the default limit of 2,000 a family
    counter = engine.counter("http_requests_total", "Requests", labels=["path", "code"])
    for path, code in _paths():
        counter.labels(path, code).inc()
    _keep.append(engine)
    return engine.asgi_app(**options)


def ours() -> Any:
    """observabilipy's app, rendering every scrape."""
    return _our_app()


def ours_cached() -> Any:
    """observabilipy's app reusing a rendering for one second."""
    return _our_app(metrics_cache=1.0)


def prometheus_client_app() -> Any:
    """prometheus_client's own ASGI app over the same series, without _created."""
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "http_requests", "Requests", ["path", "code"], registry=registry
    )
    for path, code in _paths():
        counter.labels(path, code).inc()
    return prometheus_client.make_asgi_app(registry)


def logs_app() -> Any:
    """The app over a file of stored entries (its path in OBSERVABILIPY_BENCH_DB)."""
    import os

    engine = Engine(os.environ["OBSERVABILIPY_BENCH_DB"])
    _keep.append(engine)
    return engine.asgi_app(max_body=64 * 1024 * 1024)
