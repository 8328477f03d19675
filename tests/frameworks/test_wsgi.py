"""engine.wsgi_app() answers as the ASGI app does, passes wsgiref's validator, mounts in
Flask; WSGIMiddleware gives Flask apps request metrics by route template."""

import gzip
import io
import json
import wsgiref.util
import wsgiref.validate
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.test import Client

import observabilipy as obs
from observabilipy.core.instruments import Histogram
from observabilipy.flask import instrument
from tests.asgi_client import call


@pytest.fixture
def engine(tmp_path) -> Iterator[obs.Engine]:
    with obs.Engine(tmp_path / "app.db") as engine:
        yield engine


def run_wsgi(app, method="GET", path="/", query="", body=b"", headers=None):
    """One request through wsgiref's validator: (status, headers, body)."""
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=path,
        QUERY_STRING=query,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
    )
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)
        return lambda data: None

    result = wsgiref.validate.validator(app)(environ, start_response)
    try:
        body_out = b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]
    return answer["status"], answer["headers"], body_out


REQUESTS = [
    ("POST", "/logs", "", b'{"message":"one"}\n{"message":"two","level":"warning"}', {}),
    ("POST", "/logs", "", gzip.compress(b'{"message":"zipped"}'), {"Content-Encoding": "gzip"}),
    ("POST", "/logs", "", b'{"message": 5}', {}),
    ("POST", "/loki/api/v1/push", "",
     b'{"streams":[{"stream":{"job":"x"},"values":[["1700000000000000000","hi"]]}]}',
     {"Content-Type": "application/json"}),
    ("GET", "/logs", "", b"", {}),
    ("GET", "/logs", "level=warning", b"", {}),
    ("GET", "/logs", "after=2&limit=1", b"", {}),
    ("GET", "/logs", "levle=x", b"", {}),
    ("GET", "/logs", "since=10m", b"", {}),
    ("GET", "/nope", "", b"", {}),
    ("DELETE", "/logs", "", b"", {}),
    ("GET", "/healthz", "", b"", {}),
    ("HEAD", "/metrics", "", b"", {}),
]  # fmt: skip


def test_every_answer_is_the_asgi_apps_and_passes_the_validator(engine):
    """The same requests to the WSGI app (through wsgiref.validate) and the ASGI app:
    the same status and body, whatever the endpoint or the mistake."""
    wsgi_app, asgi_app = engine.wsgi_app(), engine.asgi_app()
    for method, path, query, body, headers in REQUESTS:
        status, _, wsgi_body = run_wsgi(wsgi_app, method, path, query, body, headers)
        if method == "POST":  # store once, through WSGI; compare the answer's shape
            assert status in (200, 204, 400), (path, status, wsgi_body)
            continue
        asgi = call(asgi_app, method, path, query=query, body=body, headers=headers)
        assert (status, wsgi_body) == (asgi.status, asgi.body), (method, path, query)
    status, headers, metrics = run_wsgi(wsgi_app, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"observabilipy_rows_written_total 4" in metrics
    _, _, logs = run_wsgi(wsgi_app, "GET", "/logs")
    assert [json.loads(line)["message"] for line in logs.splitlines()] == [
        "one", "two", "zipped", "hi"
    ]  # fmt: skip


def test_a_token_guards_the_wsgi_app_too(engine):
    """401 without the bearer, 200 with it; the token may be any text."""
    app = engine.wsgi_app(token="clé")
    assert run_wsgi(app, "GET", "/healthz")[0] == 401
    authorized = {"Authorization": "Bearer clé".encode().decode("latin-1")}
    assert run_wsgi(app, "GET", "/healthz", headers=authorized)[0] == 200


def test_large_rows_stream_in_bounded_reads(engine):
    """Rows of 20 KB under a 64 KB budget: every row once, in order, chunk by chunk."""
    engine.logs.write_many(obs.LogEntry(1.0, "info", f"{i:04d}" + "z" * 20_000) for i in range(40))
    app = engine.wsgi_app(chunk_bytes=64 * 1024)
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    chunks = list(app(environ | {"PATH_INFO": "/logs"}, lambda *a: None))
    ids = [json.loads(line)["id"] for chunk in chunks for line in chunk.splitlines()]
    assert ids == list(range(1, 41))
    assert max(map(len, chunks)) < 64 * 1024 + 21_000


def flask_app(engine: obs.Engine) -> Flask:
    app = Flask(__name__)
    log = engine.logger("app")

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict:
        obs.bind(user=user_id)
        log.info("looked up")
        return {"id": user_id}

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("the app's own failure")

    instrument(app, engine)
    return app


def durations(engine: obs.Engine) -> dict[tuple[str, ...], int]:
    family = engine.registry.get("http_server_request_duration_seconds")
    assert isinstance(family, Histogram)
    return {labels: cell.state()[0][-1] for labels, cell in family.children()}


def test_flask_routes_are_series_by_template_and_requests_are_logged(engine):
    """50 ids, one series named by Flask's rule; 404s share one; the request id is
    echoed and on every entry of its request; the endpoints answer under the mount."""
    client = Client(flask_app(engine))
    for user_id in range(50):  # buffered: the response is closed, as servers close it
        assert client.get(f"/users/{user_id}", buffered=True).status_code == 200
    assert client.get("/nope", buffered=True).status_code == 404
    response = client.get("/users/7", headers={"X-Request-ID": "r-7"}, buffered=True)
    assert response.headers["X-Request-ID"] == "r-7"
    for path in ("/observability/metrics", "/observability/metrics/"):
        assert client.get(path, buffered=True).status_code == 200
    assert durations(engine) == {
        ("GET", "/users/<int:user_id>", "200"): 51,
        ("GET", "", "404"): 1,
    }
    assert engine.flush()
    rows = [(r.logger, r.message, r.attributes) for r in engine.read_logs()]
    last_app = [attrs for logger, _, attrs in rows if logger == "app"][-1]
    assert last_app == {"request_id": "r-7", "user": 7}
    access = [attrs for logger, _, attrs in rows if logger == "http"]
    assert len(access) == 52
    assert access[-1]["route"] == "/users/<int:user_id>"


def test_a_flask_apps_exception_passes_through_and_is_logged_once(engine):
    """With PROPAGATE_EXCEPTIONS the view's error reaches the caller unchanged; the
    request is a 500 in the histogram and one error entry."""
    app = flask_app(engine)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="the app's own failure"):
        Client(app).get("/boom", buffered=True)
    assert durations(engine) == {("GET", "/boom", "500"): 1}
    assert engine.flush()
    errors = [r for r in engine.read_logs() if r.level == "error"]
    assert len(errors) == 1
