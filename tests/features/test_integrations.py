"""Steps for integrations.feature: a FastAPI app through its test client."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

import observabilipy as obs
from observabilipy.core.instruments import Histogram

scenarios("integrations.feature")


@pytest.fixture
def engine(tmp_path) -> Iterator[obs.Engine]:
    with obs.Engine(tmp_path / "app.db") as engine:
        yield engine


@pytest.fixture
def answers() -> dict[str, object]:
    return {}


@given(
    parsers.parse('a FastAPI app with the observabilipy middleware and the endpoints at "{mount}"'),
    target_fixture="client",
)
def app_with_middleware(engine: obs.Engine, mount: str) -> TestClient:
    app = FastAPI()
    log = engine.logger("users")

    @app.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, int]:
        log.info("looked up", user=user_id)
        return {"id": user_id}

    app.mount(mount, engine.asgi_app())
    app.add_middleware(obs.ASGIMiddleware, engine=engine)
    return TestClient(app)


@when(parsers.parse('"/users/{{id}}" is requested with {count:d} different ids'))
def many_ids(client: TestClient, count: int) -> None:
    for user_id in range(count):
        assert client.get(f"/users/{user_id}").status_code == 200


@when(parsers.parse('"{first}" and "{second}" are requested'))
def two_paths(client: TestClient, answers: dict[str, object], first: str, second: str) -> None:
    answers["responses"] = [client.get(first), client.get(second)]


@when(parsers.parse('"{path}" is requested with the request id "{request_id}"'))
def with_request_id(
    client: TestClient, answers: dict[str, object], path: str, request_id: str
) -> None:
    answers["response"] = client.get(path, headers={"X-Request-ID": request_id})


def request_counts(engine: obs.Engine) -> dict[tuple[str, ...], int]:
    family = engine.registry.get("http_server_request_duration_seconds")
    if family is None:
        return {}
    assert isinstance(family, Histogram)
    return {labels: cell.state()[0][-1] for labels, cell in family.children()}


@then(
    parsers.parse('the metrics show {count:d} requests for the route "{route}" and no other series')
)
def one_series(engine: obs.Engine, count: int, route: str) -> None:
    assert request_counts(engine) == {("GET", route, "200"): count}


@then("both answer 200 in Prometheus text format")
def both_text(answers: dict[str, object]) -> None:
    for response in answers["responses"]:  # type: ignore[attr-defined]
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


@then("neither is counted as a request")
def not_counted(engine: obs.Engine) -> None:
    assert request_counts(engine) == {}


@then(parsers.parse('the response carries the request id "{request_id}"'))
def echoed(answers: dict[str, object], request_id: str) -> None:
    assert answers["response"].headers["x-request-id"] == request_id  # type: ignore[attr-defined]


@then(parsers.parse('every log entry of that request carries the request id "{request_id}"'))
def on_every_entry(engine: obs.Engine, request_id: str) -> None:
    assert engine.flush()
    rows = engine.read_logs()
    assert len(rows) == 2  # the view's entry and the request's own
    assert {row.attributes["request_id"] for row in rows} == {request_id}
