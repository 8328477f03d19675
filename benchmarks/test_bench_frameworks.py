"""Framework integrations beside the libraries users would otherwise reach for.

- ``request middleware, FastAPI``: 200 requests through one FastAPI app, driven
  in-process (ASGI calls, no sockets, so the middleware's cost is not lost in the
  network's noise), bare and with each middleware: ours with and without its
  per-request log entry, starlette_exporter (route templates on), and
  prometheus-fastapi-instrumentator. The cost of a middleware is its time minus the
  bare app's, in the same run; ``extra_info`` of ours has the ratios.
- ``request middleware, Django``: the same with ``django.test.Client`` and Django's
  middleware stack, ours against django-prometheus's pair.
- ``stdlib logging.info()``: 1,000 records through the engine's handler, against
  stdlib logging formatting JSON with python-json-logger into a stream that discards
  it (what a service logging JSON to stdout pays).
"""

import asyncio
import io
import logging
import os
from collections.abc import Callable
from itertools import repeat
from typing import Any, cast

import pytest
from fastapi import FastAPI
from pytest_benchmark.fixture import BenchmarkFixture

import observabilipy as obs

REQUESTS = 200
CALLS = 1_000
_times: dict[str, float] = {}  # medians per side, for the ratios


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def drive(app: Any) -> Callable[[], None]:
    """REQUESTS GET requests through ``app``, as an ASGI server would send them (each
    round in an event loop of its own)."""

    async def one(i: int) -> None:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": f"/items/{i % 50}",
            "raw_path": f"/items/{i % 50}".encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1), "server": ("test", 80),
        }  # fmt: skip
        await app(scope, receive, send)
        assert sent[0]["status"] == 200

    async def many() -> None:
        for i in range(REQUESTS):
            await one(i)

    return lambda: asyncio.run(many())


def record(benchmark: BenchmarkFixture, side: str, run: Callable[[], None]) -> None:
    cast(Callable[..., Any], benchmark.pedantic)(run, rounds=15, iterations=1, warmup_rounds=2)
    if benchmark.stats is not None:
        _times[side] = benchmark.stats.stats.median


def cost_ratios(benchmark: BenchmarkFixture, ours: str, bare: str, others: list[str]) -> None:
    """Ours' cost over each other's, from the medians of this run."""
    if not all(side in _times for side in (ours, bare, *others)):
        return  # benchmarks disabled, or run alone
    mine = _times[ours] - _times[bare]
    for other in others:
        benchmark.extra_info[f"cost_vs_{other}"] = round(mine / (_times[other] - _times[bare]), 3)


# --- FastAPI ------------------------------------------------------------------------------
@pytest.mark.benchmark(group="request middleware, FastAPI (200 requests)")
def test_fastapi_bare(benchmark: BenchmarkFixture) -> None:
    record(benchmark, "fastapi_bare", drive(fastapi_app()))


@pytest.mark.benchmark(group="request middleware, FastAPI (200 requests)")
def test_fastapi_starlette_exporter(benchmark: BenchmarkFixture) -> None:
    from starlette_exporter import PrometheusMiddleware

    app = fastapi_app()
    app.add_middleware(PrometheusMiddleware, group_paths=True, app_name="bench")
    record(benchmark, "starlette_exporter", drive(app))


@pytest.mark.benchmark(group="request middleware, FastAPI (200 requests)")
def test_fastapi_instrumentator(benchmark: BenchmarkFixture) -> None:
    from prometheus_fastapi_instrumentator import Instrumentator

    app = fastapi_app()
    Instrumentator().instrument(app)
    record(benchmark, "instrumentator", drive(app))


@pytest.mark.benchmark(group="request middleware, FastAPI (200 requests)")
def test_fastapi_observabilipy_metrics_only(benchmark: BenchmarkFixture) -> None:
    with obs.Engine() as engine:
        app = fastapi_app()
        app.add_middleware(obs.ASGIMiddleware, engine=engine, log_requests=False)
        record(benchmark, "ours_metrics", drive(app))
    cost_ratios(benchmark, "ours_metrics", "fastapi_bare", ["starlette_exporter", "instrumentator"])


@pytest.mark.benchmark(group="request middleware, FastAPI (200 requests)")
def test_fastapi_observabilipy(benchmark: BenchmarkFixture) -> None:
    """With one log entry per request too, which the others do not write."""
    with obs.Engine(buffer_size=10_000_000) as engine:
        app = fastapi_app()
        app.add_middleware(obs.ASGIMiddleware, engine=engine)
        record(benchmark, "ours", drive(app))
        family = engine.registry.get("http_server_request_duration_seconds")
        assert family is not None
    cost_ratios(benchmark, "ours", "fastapi_bare", ["starlette_exporter", "instrumentator"])


# --- Django -------------------------------------------------------------------------------
def django_client(middleware: list[str]) -> Callable[[], None]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_project.settings")
    import django

    django.setup()
    from django.test import Client, override_settings

    with override_settings(MIDDLEWARE=middleware):
        client = Client()
        client.get("/users/1/")  # the handler loads the middleware now, from these

    def run() -> None:
        for i in range(REQUESTS):
            assert client.get(f"/users/{i % 50}/").status_code == 200

    return run


@pytest.mark.benchmark(group="request middleware, Django (200 requests)")
def test_django_bare(benchmark: BenchmarkFixture) -> None:
    record(benchmark, "django_bare", django_client([]))


@pytest.mark.benchmark(group="request middleware, Django (200 requests)")
def test_django_prometheus(benchmark: BenchmarkFixture) -> None:
    run = django_client(
        [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ]
    )
    record(benchmark, "django_prometheus", run)


@pytest.mark.benchmark(group="request middleware, Django (200 requests)")
def test_django_observabilipy(benchmark: BenchmarkFixture) -> None:
    record(
        benchmark, "django_ours", django_client(["observabilipy.django.ObservabilityMiddleware"])
    )
    cost_ratios(benchmark, "django_ours", "django_bare", ["django_prometheus"])


# --- stdlib logging -----------------------------------------------------------------------
def stdlib_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


@pytest.mark.benchmark(group="stdlib logging.info() (1,000 records)")
def test_logging_into_a_handler_that_does_nothing(benchmark: BenchmarkFixture) -> None:
    """The floor: stdlib logging's own cost, which every handler pays."""

    class Nothing(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            pass

    logger = stdlib_logger("bench.nothing", Nothing())

    def run() -> None:
        for _ in repeat(None, CALLS):
            logger.info("paid %s", 7, extra={"order_id": 7})

    record(benchmark, "logging_floor", run)


@pytest.mark.benchmark(group="stdlib logging.info() (1,000 records)")
def test_logging_python_json_logger(benchmark: BenchmarkFixture) -> None:
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    logger = stdlib_logger("bench.json", handler)
    stream = handler.stream

    def run() -> None:
        for _ in repeat(None, CALLS):
            logger.info("paid %s", 7, extra={"order_id": 7})
        stream.seek(0)
        stream.truncate()

    record(benchmark, "logging_json", run)


@pytest.mark.benchmark(group="stdlib logging.info() (1,000 records)")
def test_logging_into_the_engine(benchmark: BenchmarkFixture) -> None:
    with obs.Engine(buffer_size=10_000_000) as engine:
        logger = stdlib_logger("bench.ours", obs.LoggingHandler(engine))

        def run() -> None:
            for _ in repeat(None, CALLS):
                logger.info("paid %s", 7, extra={"order_id": 7})

        record(benchmark, "logging_ours", run)
        assert engine.flush(60)
    if all(side in _times for side in ("logging_json", "logging_ours", "logging_floor")):
        benchmark.extra_info["ratio"] = round(_times["logging_ours"] / _times["logging_json"], 3)
    cost_ratios(benchmark, "logging_ours", "logging_floor", ["logging_json"])
