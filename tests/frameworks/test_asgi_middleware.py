"""Request metrics and logs in FastAPI and Starlette apps, through their test clients."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import observabilipy as obs
from observabilipy.core.instruments import Histogram


@pytest.fixture
def engine(tmp_path) -> Iterator[obs.Engine]:
    with obs.Engine(tmp_path / "app.db") as engine:
        yield engine


def durations(engine: obs.Engine) -> dict[tuple[str, ...], int]:
    """Request counts by (method, route, status), from the histogram's _count samples."""
    family = engine.registry.get("http_server_request_duration_seconds")
    assert isinstance(family, Histogram)
    return {
        labels: state[0][-1] for labels, cell in family.children() if (state := cell.state())[0][-1]
    }


def fastapi_app(engine: obs.Engine) -> FastAPI:
    app = FastAPI()
    log = engine.logger("app")

    @app.get("/users/{user_id}")
    async def user(user_id: int) -> dict:
        obs.bind(user=user_id)  # for the rest of this request
        log.info("looked up")
        return {"id": user_id}

    @app.get("/sync/{n}")
    def sync(n: int) -> dict:  # runs in a worker thread
        log.info("in a thread")
        return {"n": n}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("the app's own failure")

    items = FastAPI()

    @items.get("/items/{item_id}")
    async def item(item_id: str) -> dict:
        return {"item": item_id}

    app.mount("/api", items)
    app.mount("/observability", engine.asgi_app())
    app.add_middleware(obs.ASGIMiddleware, engine=engine)
    return app


def test_fifty_ids_are_one_series_named_by_the_route_template(engine):
    """/users/{user_id} hit with 50 ids: one series, the template as http_route, never
    the raw path; a mounted sub-app's routes carry the mount's prefix."""
    client = TestClient(fastapi_app(engine))
    for user_id in range(50):
        assert client.get(f"/users/{user_id}").status_code == 200
    assert client.get("/api/items/x").status_code == 200
    assert durations(engine) == {
        ("GET", "/users/{user_id}", "200"): 50,
        ("GET", "/api/items/{item_id}", "200"): 1,
    }


def test_unmatched_paths_share_one_series_and_odd_methods_are_other(engine):
    """404s for any path collapse into one series with an empty route; PURGE is _OTHER."""
    client = TestClient(fastapi_app(engine))
    for path in ("/nope", "/also/nope", "/x/y/z"):
        assert client.get(path).status_code == 404
    client.request("PURGE", "/users/1")
    counts = durations(engine)
    assert counts[("GET", "", "404")] == 3
    assert [key for key in counts if key[0] == "_OTHER"] == [("_OTHER", "/users/{user_id}", "405")]


def test_scrapes_and_probes_are_not_observed_and_both_slash_forms_answer(engine):
    """/observability/metrics and .../metrics/ both answer 200; neither is counted."""
    client = TestClient(fastapi_app(engine))
    for path in ("/observability/metrics", "/observability/metrics/", "/observability/healthz"):
        assert client.get(path).status_code == 200, path
    assert durations(engine) == {}


def test_one_entry_per_request_and_the_request_id_on_every_line(engine):
    """The request's id comes from X-Request-ID (or is made), is echoed back, and every
    entry logged while the request runs carries it, with fields the view bound."""
    client = TestClient(fastapi_app(engine))
    given = client.get("/users/7", headers={"X-Request-ID": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    made = client.get("/sync/3")
    assert len(made.headers["x-request-id"]) == 32
    assert engine.flush()
    rows = [(r.logger, r.message, r.attributes) for r in engine.read_logs()]
    app_lines = [(message, attrs) for logger, message, attrs in rows if logger == "app"]
    assert app_lines[0] == ("looked up", {"request_id": "req-123", "user": 7})
    assert app_lines[1] == ("in a thread", {"request_id": made.headers["x-request-id"]})
    access = [attrs for logger, _, attrs in rows if logger == "http"]
    assert [(a["method"], a["route"], a["status"], a["request_id"]) for a in access] == [
        ("GET", "/users/{user_id}", 200, "req-123"),
        ("GET", "/sync/{n}", 200, made.headers["x-request-id"]),
    ]
    assert access[0]["path"] == "/users/7"
    assert access[0]["duration"] >= 0
    assert "user" not in access[1]  # bound for its own request only


def test_the_apps_own_exception_passes_through_and_is_logged_once(engine):
    """The view's RuntimeError reaches the server unchanged; the request is a 500 in the
    histogram and one error entry names it."""
    client = TestClient(fastapi_app(engine))
    with pytest.raises(RuntimeError, match="the app's own failure"):
        client.get("/boom")
    assert durations(engine) == {("GET", "/boom", "500"): 1}
    assert engine.flush()
    errors = [r for r in engine.read_logs() if r.level == "error"]
    assert len(errors) == 1
    assert errors[0].attributes["error"] == "RuntimeError: the app's own failure"


def test_starlette_routes_and_mounts_give_their_templates(engine):
    """A plain Starlette app, middleware wrapped by hand: the same templates."""

    async def hello(request):
        return PlainTextResponse("hi")

    inner = Starlette(routes=[Route("/orders/{order_id:int}", hello)])
    app = Starlette(routes=[Route("/hello/{name}", hello), Mount("/shop", inner)])
    client = TestClient(obs.ASGIMiddleware(app, engine=engine))
    client.get("/hello/ann")
    client.get("/shop/orders/5")
    assert durations(engine) == {
        ("GET", "/hello/{name}", "200"): 1,
        ("GET", "/shop/orders/{order_id}", "200"): 1,  # the convertor left out
    }


def test_requests_in_flight_are_a_gauge(engine):
    """http_server_active_requests goes up during a request and back down after."""
    seen = []
    app = FastAPI()

    @app.get("/peek")
    async def peek() -> dict:
        gauge = engine.registry.get("http_server_active_requests")
        seen.append(gauge.labels("GET").get())
        return {}

    app.add_middleware(obs.ASGIMiddleware, engine=engine)
    TestClient(app).get("/peek")
    gauge = engine.registry.get("http_server_active_requests")
    assert seen == [1.0]
    assert gauge.labels("GET").get() == 0.0


def test_a_failing_storage_never_reaches_the_app(tmp_path):
    """Another process holds the file's write lock: requests through the middleware,
    stdlib logging.info and structlog calls all return at once; the entries wait
    (or are counted as dropped), and nothing raises into the app."""
    import logging
    import time

    import structlog

    from tests.integration.engine_worker import holding

    path = tmp_path / "held.db"
    with obs.Engine(path, busy_timeout=0.05, buffer_size=50) as engine:
        engine.capture_logging("INFO")
        engine.capture_structlog()
        app = fastapi_app(engine)
        client = TestClient(app)
        try:
            with holding(path, 5):
                assert engine.flush(1) is False  # the writer has met the lock
                start = time.monotonic()
                for user_id in range(100):
                    assert client.get(f"/users/{user_id}").status_code == 200
                    logging.getLogger("lib").info("still fine")
                    structlog.get_logger("sl").info("also fine")
                took = time.monotonic() - start
        finally:
            structlog.reset_defaults()  # the logging handler goes when the engine closes
        assert took < 10
        counts = engine.accounting()
        assert counts["dropped"] > 0  # said, counted, and the service kept going
